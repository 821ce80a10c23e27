/* PROXY statements (see proxy_command.h). Called on every query, so a text
 * whose first word is not PROXY costs one token. */
#include "router/proxy_command.h"

#include "router/sql_lexer.h"

static const char E_FORMS[] = "expected PROXY SET route = primary|replica [NAME]|auto, PROXY SHOW "
                              "route or PROXY EXPLAIN <statement>";
static const char E_EXPLAIN[] = "PROXY EXPLAIN needs a statement";

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void set_invalid(struct proxy_command *out, const char *error)
{
    out->kind = PROXY_CMD_INVALID;
    out->error = error;
}

/* The rest of the text holds nothing but one optional ';'. */
static bool at_end(struct sql_lexer *lx)
{
    struct sql_token t;
    sql_lexer_next(lx, &t);
    if (sql_tok_punct(&t, ';'))
        sql_lexer_next(lx, &t);
    return t.kind == SQL_TOK_EOF;
}

static bool route_value(const struct sql_token *t, enum route_override *route)
{
    if (t->kind != SQL_TOK_WORD && t->kind != SQL_TOK_STRING)
        return false;
    if (sql_text_eq(t->text, t->len, "PRIMARY"))
        *route = ROUTE_FORCE_PRIMARY;
    else if (sql_text_eq(t->text, t->len, "REPLICA"))
        *route = ROUTE_FORCE_REPLICA;
    else if (sql_text_eq(t->text, t->len, "AUTO"))
        *route = ROUTE_AUTO;
    else
        return false;
    return true;
}

/* After "replica": an optional backend name, then the end. */
static bool replica_name(struct sql_lexer *lx, struct proxy_command *out)
{
    struct sql_lexer rest = *lx;
    if (at_end(&rest))
        return true;
    struct sql_token t;
    sql_lexer_next(lx, &t);
    bool name = t.kind == SQL_TOK_WORD || t.kind == SQL_TOK_QUOTED || t.kind == SQL_TOK_STRING;
    if (!name || t.len == 0 || !at_end(lx))
        return false;
    out->replica = t.text;
    out->replica_len = t.len;
    return true;
}

/* After PROXY SET: route = value */
static void parse_set(struct sql_lexer *lx, struct proxy_command *out)
{
    struct sql_token name, eq, value;
    sql_lexer_next(lx, &name);
    sql_lexer_next(lx, &eq);
    sql_lexer_next(lx, &value);
    bool ok = sql_tok_kw(&name, "ROUTE") && sql_tok_punct(&eq, '=') &&
              route_value(&value, &out->route);
    if (ok && out->route == ROUTE_FORCE_REPLICA)
        ok = replica_name(lx, out);
    else if (ok)
        ok = at_end(lx);
    if (ok)
        out->kind = PROXY_CMD_SET_ROUTE;
    else
        set_invalid(out, E_FORMS);
}

/* After PROXY EXPLAIN: the raw rest of the text, without surrounding
 * whitespace and one trailing ';'. Comments stay: they may be route hints. */
static void parse_explain(const char *rest, const char *end, struct proxy_command *out)
{
    while (rest < end && is_space(*rest))
        rest++;
    while (end > rest && is_space(end[-1]))
        end--;
    if (end > rest && end[-1] == ';')
        end--;
    while (end > rest && is_space(end[-1]))
        end--;
    if (end == rest) {
        set_invalid(out, E_EXPLAIN);
        return;
    }
    out->kind = PROXY_CMD_EXPLAIN;
    out->stmt = rest;
    out->stmt_len = (size_t)(end - rest);
}

static void parse_after_proxy(struct sql_lexer *lx, const char *sql, size_t len,
                              struct proxy_command *out)
{
    struct sql_token t;
    sql_lexer_next(lx, &t);
    if (sql_tok_kw(&t, "SET")) {
        parse_set(lx, out);
    } else if (sql_tok_kw(&t, "SHOW")) {
        sql_lexer_next(lx, &t);
        if (sql_tok_kw(&t, "ROUTE") && at_end(lx))
            out->kind = PROXY_CMD_SHOW_ROUTE;
        else
            set_invalid(out, E_FORMS);
    } else if (sql_tok_kw(&t, "EXPLAIN") && !lx->in_exec_comment) {
        /* inside an executable comment the rest would start within it */
        parse_explain(t.text + t.len, sql + len, out);
    } else {
        set_invalid(out, E_FORMS);
    }
}

void parse_proxy_command(const char *sql, size_t len, struct proxy_command *out)
{
    struct sql_lexer lx;
    struct sql_token t;
    if (out == NULL)
        return;
    *out = (struct proxy_command){.kind = PROXY_CMD_NONE, .route = ROUTE_AUTO};
    if (sql == NULL)
        return;
    sql_lexer_init(&lx, sql, len, 0, NULL);
    sql_lexer_next(&lx, &t);
    if (sql_tok_kw(&t, "PROXY"))
        parse_after_proxy(&lx, sql, len, out);
}
