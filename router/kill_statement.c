#include "router/kill_statement.h"

#include "router/sql_lexer.h"

/* A whole-number token that fits a connection id. */
static bool parse_id(const struct sql_token *t, uint32_t *out)
{
    if (t->kind != SQL_TOK_WORD || t->len == 0 || t->len > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->text[i] < '0' || t->text[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(t->text[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

void parse_kill_statement(const char *sql, size_t len, struct kill_statement *out)
{
    *out = (struct kill_statement){.valid = false, .kill_connection = true};
    struct sql_lexer lx;
    struct sql_token t;
    sql_lexer_init(&lx, sql, len, 0, NULL);
    sql_lexer_next(&lx, &t);
    if (!sql_tok_kw(&t, "KILL"))
        return;
    sql_lexer_next(&lx, &t);
    if (sql_tok_kw(&t, "HARD") || sql_tok_kw(&t, "SOFT"))
        sql_lexer_next(&lx, &t);
    if (sql_tok_kw(&t, "CONNECTION")) {
        sql_lexer_next(&lx, &t);
    } else if (sql_tok_kw(&t, "QUERY")) {
        out->kill_connection = false;
        sql_lexer_next(&lx, &t);
    }
    if (!parse_id(&t, &out->id))
        return;
    sql_lexer_next(&lx, &t);
    if (sql_tok_punct(&t, ';'))
        sql_lexer_next(&lx, &t);
    out->valid = t.kind == SQL_TOK_EOF;
}
