/* SQL classifier. One forward pass over the tokens of sql_lexer with a
 * window of the two previous tokens; a small state machine per statement.
 * Read only when the statement is a SELECT/SHOW/EXPLAIN-like read and no
 * write marker (locking clause, INTO, session functions...) appears in it.
 * Everything unknown is a write. */
#include "router/classify.h"

#include "router/sql_lexer.h"
#include "router/statement_digest.h"

static const char R_SELECT[] = "plain SELECT";
static const char R_EXPLAIN[] = "EXPLAIN SELECT";
static const char R_DESCRIBE[] = "DESCRIBE table";
static const char R_SHOW[] = "SHOW";
static const char R_SHOW_SESSION[] = "SHOW of session or server state";
static const char R_FOR_UPDATE[] = "SELECT ... FOR UPDATE";
static const char R_FOR_SHARE[] = "SELECT ... FOR SHARE";
static const char R_LOCK_SHARE[] = "SELECT ... LOCK IN SHARE MODE";
static const char R_INTO[] = "SELECT ... INTO";
static const char R_LAST_INSERT_ID[] = "LAST_INSERT_ID()";
static const char R_NAMED_LOCK[] = "named lock function";
static const char R_FOUND_ROWS[] = "FOUND_ROWS()";
static const char R_CALC_FOUND_ROWS[] = "SQL_CALC_FOUND_ROWS";
static const char R_ROW_COUNT[] = "ROW_COUNT()";
static const char R_DIAG_VAR[] = "@@warning_count / @@error_count";
static const char R_SHOW_DIAG[] = "SHOW WARNINGS / ERRORS";
static const char R_GET_DIAG[] = "GET DIAGNOSTICS";
static const char R_CONNECTION_ID[] = "CONNECTION_ID()";
static const char R_REPL_WAIT[] = "replication wait function";
static const char R_USER_VAR[] = "user variable assignment";
static const char R_SEQUENCE[] = "sequence";
static const char R_SESSION_VAR[] = "session-specific variable";
static const char R_SESSION_SET[] = "session SET";
static const char R_GLOBAL_SET[] = "global SET";
static const char R_SET[] = "SET";
static const char R_USE[] = "USE";
static const char R_BEGIN[] = "BEGIN";
static const char R_TEMP[] = "CREATE TEMPORARY TABLE";
static const char R_DROP_TEMP[] = "DROP TEMPORARY TABLE";
static const char R_XA_START[] = "XA START";
static const char R_XA_END[] = "XA COMMIT / ROLLBACK";
static const char R_LOCK[] = "LOCK TABLES";
static const char R_UNLOCK[] = "UNLOCK TABLES";
static const char R_EXPLAIN_WRITE[] = "EXPLAIN of a write";
static const char R_WRITE[] = "write statement";
static const char R_UNKNOWN[] = "unknown statement";
static const char R_KILL[] = "KILL";
static const char R_UNPARSABLE[] = "unparsable";
static const char R_HINT[] = "hint";
static const char R_MULTI_WRITE[] = "multi-statement with a write";
static const char R_MULTI_READ[] = "multi-statement of reads";
static const char R_EMPTY[] = "empty statement";
static const char R_CALL[] = "CALL";
static const char R_EXECUTE[] = "EXECUTE";
static const char R_SERVER_VAR[] = "server role or position variable";
static const char R_UNKNOWN_CHARSET[] = "unknown character set";

/* Flags that make the proxy's bookkeeping depend on the primary: a replica
 * hint does not override them. */
#define STATEFUL_FLAGS                                                                           \
    (CLS_SESSION_STATE | CLS_USE | CLS_BEGIN | CLS_READ_ONLY_TRX | CLS_TEMP_TABLE |              \
     CLS_LOCK_TABLES | CLS_UNLOCK_TABLES | CLS_NAMED_LOCK | CLS_AUTOCOMMIT | CLS_SET_GLOBAL |    \
     CLS_KILL | CLS_DROP_TEMP_TABLE | CLS_RELEASE_LOCK | CLS_RELEASE_ALL_LOCKS | CLS_XA_START | \
     CLS_XA_END | CLS_LAST_STMT_INFO | CLS_HIDDEN_STATE | CLS_CHARSET)

/* Flags that end something the session holds. A text that also creates a
 * routine, trigger or event may carry them in a body that does not run now
 * (the body's ';' splits it into "statements"): dropping them only keeps the
 * session pinned longer. */
#define RELEASING_FLAGS                                                                          \
    (CLS_UNLOCK_TABLES | CLS_DROP_TEMP_TABLE | CLS_RELEASE_LOCK | CLS_RELEASE_ALL_LOCKS |       \
     CLS_XA_END)

enum stmt_kind {
    SK_EMPTY,    /* no token yet */
    SK_LEAD,     /* only leading '(' so far */
    SK_SELECT,   /* SELECT: read unless a marker shows up */
    SK_WITH,     /* WITH: inside the CTE list */
    SK_SHOW,
    SK_EXPLAIN,  /* EXPLAIN/DESCRIBE: waiting for what is explained */
    SK_DESCRIBE, /* DESCRIBE table: read */
    SK_SET,
    SK_SET_STMT, /* SET STATEMENT ...: waiting for FOR */
    SK_BEGIN,
    SK_START,
    SK_CREATE,
    SK_LOCK,
    SK_UNLOCK,
    SK_FLUSH,
    SK_DROP,
    SK_XA,
    SK_PREPARE,
    SK_GET,
    SK_WRITE, /* decided: a write; only flags are still collected */
};

enum { SCOPE_NONE, SCOPE_SESSION, SCOPE_GLOBAL };

/* What a handler did with a token. */
enum step { STEP_ADVANCE, STEP_STARTED, STEP_RESET };

struct stmt {
    enum stmt_kind kind;
    unsigned ntok; /* tokens after the deciding keyword */
    int depth;     /* parentheses (WITH, SET) */
    int sub;       /* kind-specific state */
    bool read_kind;
    bool explain;
    const char *reason;
    const char *marker; /* first write marker inside a read-like statement */
    const char *last_info; /* first "about the previous statement" marker */
    uint32_t flags;
    unsigned locks_taken, locks_released, tables_dropped, tables_created;
    struct sql_token w0, w1; /* previous token, and the one before */
    int scope;               /* SET: carried GLOBAL/SESSION keyword */
    bool set_session, set_global, set_autocommit;
    bool routine; /* CREATE of a procedure, function, trigger or event */
    bool charset_next; /* SET: the next value names the client character set */
    bool sets_charset;
    const struct sql_charset *charset; /* sets_charset: NULL when not known */
};

struct summary {
    unsigned nstmts, nwrites, nlast;
    unsigned locks_taken, locks_released, tables_dropped, tables_created;
    bool multi, after_semicolon, saw_routine, sets_charset;
    const struct sql_charset *charset;
    uint32_t flags;
    const char *first_read, *first_write;
};

static bool kw_any(const struct sql_token *t, const char *const *words)
{
    for (; *words != NULL; words++) {
        if (sql_tok_kw(t, *words))
            return true;
    }
    return false;
}

static void stmt_reset(struct stmt *st)
{
    *st = (struct stmt){0};
    st->kind = SK_EMPTY;
    st->reason = R_UNKNOWN;
}

static void set_kind(struct stmt *st, enum stmt_kind k, bool read_kind, const char *reason)
{
    st->kind = k;
    st->read_kind = read_kind;
    st->reason = reason;
    st->ntok = 0;
    st->sub = 0;
    st->depth = 0;
}

static enum step to_write(struct stmt *st, const char *reason)
{
    set_kind(st, SK_WRITE, false, reason);
    return STEP_ADVANCE;
}

/* ---- write markers, looked for in every statement ---- */

static void mark(struct stmt *st, const char *reason)
{
    if (st->marker == NULL)
        st->marker = reason;
}

/* EXPLAIN SELECT is not about the previous statement: a plain marker there. */
static void mark_last_info(struct stmt *st, const char *reason)
{
    if (st->explain)
        mark(st, reason);
    else if (st->last_info == NULL)
        st->last_info = reason;
}

/* What a call does besides being a write marker. */
enum fn_effect { FN_PLAIN, FN_LAST_INFO, FN_TAKE_LOCK, FN_RELEASE_LOCK, FN_RELEASE_ALL };

struct fn_rule {
    const char *name;
    const char *reason;
    enum fn_effect effect;
};

/* IS_FREE_LOCK / IS_USED_LOCK take no lock: primary for the statement only. */
static const struct fn_rule fn_rules[] = {
    {"LAST_INSERT_ID", R_LAST_INSERT_ID, FN_PLAIN},
    {"GET_LOCK", R_NAMED_LOCK, FN_TAKE_LOCK},
    {"RELEASE_LOCK", R_NAMED_LOCK, FN_RELEASE_LOCK},
    {"RELEASE_ALL_LOCKS", R_NAMED_LOCK, FN_RELEASE_ALL},
    {"IS_FREE_LOCK", R_NAMED_LOCK, FN_PLAIN},
    {"IS_USED_LOCK", R_NAMED_LOCK, FN_PLAIN},
    {"FOUND_ROWS", R_FOUND_ROWS, FN_LAST_INFO},
    {"ROW_COUNT", R_ROW_COUNT, FN_LAST_INFO},
    {"NEXTVAL", R_SEQUENCE, FN_PLAIN},
    {"LASTVAL", R_SEQUENCE, FN_PLAIN},
    {"SETVAL", R_SEQUENCE, FN_PLAIN},
    {"MASTER_POS_WAIT", R_REPL_WAIT, FN_PLAIN},
    {"MASTER_GTID_WAIT", R_REPL_WAIT, FN_PLAIN},
    {"SOURCE_POS_WAIT", R_REPL_WAIT, FN_PLAIN},
    {"CONNECTION_ID", R_CONNECTION_ID, FN_PLAIN},
};

/* Apply a call's effect. EXPLAIN SELECT may evaluate constant subqueries
 * while optimising on some servers: count the locks it might take, never
 * the ones it might release. */
static void call_effect(struct stmt *st, const struct fn_rule *r)
{
    if (r->effect == FN_LAST_INFO) {
        mark_last_info(st, r->reason);
        return;
    }
    mark(st, r->reason);
    if (r->reason == R_LAST_INSERT_ID)
        st->flags |= CLS_INSERT_ID;
    if (r->effect == FN_TAKE_LOCK) {
        st->flags |= CLS_NAMED_LOCK;
        st->locks_taken++;
    }
    if (st->explain)
        return;
    if (r->effect == FN_RELEASE_LOCK) {
        st->flags |= CLS_RELEASE_LOCK;
        st->locks_released++;
    } else if (r->effect == FN_RELEASE_ALL) {
        st->flags |= CLS_RELEASE_ALL_LOCKS;
    }
}

/* '(' after a name: a call. A quoted name or one after a dot may be a stored
 * function of the same name; treating it as the built-in only costs load. */
static void scan_call(struct stmt *st)
{
    const struct sql_token *n = &st->w0;
    if (n->kind != SQL_TOK_WORD && n->kind != SQL_TOK_QUOTED && n->kind != SQL_TOK_STRING)
        return;
    for (size_t i = 0; i < sizeof fn_rules / sizeof fn_rules[0]; i++) {
        if (sql_text_eq(n->text, n->len, fn_rules[i].name)) {
            call_effect(st, &fn_rules[i]);
            return;
        }
    }
}

/* Split @@[scope.]name into its scope and name. */
static int sysvar_scope(const struct sql_token *t, const char **name, size_t *len)
{
    size_t dot = 0;
    while (dot < t->len && t->text[dot] != '.')
        dot++;
    *name = t->text;
    *len = t->len;
    if (dot == t->len)
        return SCOPE_NONE;
    *name = t->text + dot + 1;
    *len = t->len - dot - 1;
    if (sql_text_eq(t->text, dot, "SESSION") || sql_text_eq(t->text, dot, "LOCAL"))
        return SCOPE_SESSION;
    return SCOPE_GLOBAL; /* GLOBAL, or a structured (key cache) variable: global only */
}

static bool name_any(const char *name, size_t len, const char *const *words)
{
    for (; *words != NULL; words++) {
        if (sql_text_eq(name, len, *words))
            return true;
    }
    return false;
}

/* Global-only variables that tell which role a server has or how far it
 * got: asked of "the database", they mean the primary. */
static const char *const server_role_vars[] = {
    "READ_ONLY",        "SUPER_READ_ONLY", "GTID_BINLOG_POS", "GTID_CURRENT_POS",
    "GTID_SLAVE_POS",   "GTID_EXECUTED",   "GTID_BINLOG_STATE", NULL};

/* Variables whose value belongs to this connection: the diagnostics of the
 * previous statement (wherever it ran), or what it did on the primary
 * (inserts and GTIDs only happen there). */
static void scan_sysvar(struct stmt *st, const struct sql_token *t)
{
    static const char *const diag[] = {"WARNING_COUNT", "ERROR_COUNT", NULL};
    static const char *const primary[] = {"LAST_INSERT_ID", "IDENTITY", "LAST_GTID", NULL};
    static const char *const insert_id[] = {"LAST_INSERT_ID", "IDENTITY", NULL};
    const char *name;
    size_t len;
    int scope = sysvar_scope(t, &name, &len);
    if (name_any(name, len, diag))
        mark_last_info(st, R_DIAG_VAR);
    else if (name_any(name, len, primary))
        mark(st, R_SESSION_VAR);
    if (name_any(name, len, insert_id))
        st->flags |= CLS_INSERT_ID;
    else if (scope != SCOPE_SESSION && name_any(name, len, server_role_vars))
        mark(st, R_SERVER_VAR);
}

/* Hot path: switch on the length first so most words cost one compare. */
static void scan_word(struct stmt *st, const struct sql_token *t)
{
    switch (t->len) {
    case 2:
        if (sql_tok_kw(t, "IN") && sql_tok_kw(&st->w0, "LOCK"))
            mark(st, R_LOCK_SHARE);
        break;
    case 3:
        if (sql_tok_kw(t, "FOR") && sql_tok_kw(&st->w0, "VALUE") &&
            (sql_tok_kw(&st->w1, "NEXT") || sql_tok_kw(&st->w1, "PREVIOUS")))
            mark(st, R_SEQUENCE);
        break;
    case 4:
        if (sql_tok_kw(t, "INTO"))
            mark(st, R_INTO);
        break;
    case 5:
        if (sql_tok_kw(t, "SHARE") && sql_tok_kw(&st->w0, "FOR"))
            mark(st, R_FOR_SHARE);
        break;
    case 6:
        if (sql_tok_kw(t, "UPDATE") && sql_tok_kw(&st->w0, "FOR"))
            mark(st, R_FOR_UPDATE);
        break;
    case sizeof "SQL_CALC_FOUND_ROWS" - 1:
        if (sql_tok_kw(t, "SQL_CALC_FOUND_ROWS"))
            mark(st, R_CALC_FOUND_ROWS);
        break;
    default:
        break;
    }
}

static void scan_markers(struct stmt *st, const struct sql_token *t)
{
    switch (t->kind) {
    case SQL_TOK_WORD:
        scan_word(st, t);
        break;
    case SQL_TOK_SYS_VAR:
        scan_sysvar(st, t);
        break;
    case SQL_TOK_USER_VAR:
        st->flags |= CLS_READS_USER_VAR;
        if (sql_tok_kw(&st->w0, "INTO"))
            st->flags |= CLS_UNREPLAYABLE; /* SELECT ... INTO @var */
        break;
    case SQL_TOK_PUNCT:
        if (t->len == 2) { /* ":=" only assigns variables */
            mark(st, R_USER_VAR);
            if (st->kind != SK_SET)
                st->flags |= CLS_UNREPLAYABLE;
        } else if (t->text[0] == '(')
            scan_call(st);
        break;
    default:
        break;
    }
}

/* ---- first keyword ---- */

static const char *const write_words[] = {
    "INSERT",   "UPDATE",    "DELETE",   "REPLACE",  "ALTER",    "TRUNCATE", "RENAME",
    "LOAD",      "HANDLER",  "COMMIT",   "ROLLBACK",
    "SAVEPOINT", "RELEASE",  "DEALLOCATE", "DO",     "OPTIMIZE",
    "REPAIR",   "CHECK",     "CHECKSUM", "ANALYZE",  "RESET",    "PURGE",    "INSTALL",
    "UNINSTALL", "SIGNAL",   "RESIGNAL", "CHANGE",   "STOP",     "BINLOG",   "VALUES",
    "BACKUP",   "CACHE",     "SHUTDOWN", NULL};

struct first_rule {
    const char *word;
    enum stmt_kind kind;
    bool read_kind;
    const char *reason;
    uint32_t flags;
};

static const struct first_rule first_rules[] = {
    {"SELECT", SK_SELECT, true, R_SELECT, 0},
    {"WITH", SK_WITH, false, R_UNKNOWN, 0},
    {"SHOW", SK_SHOW, true, R_SHOW, 0},
    {"EXPLAIN", SK_EXPLAIN, false, R_UNKNOWN, 0},
    {"DESCRIBE", SK_EXPLAIN, false, R_UNKNOWN, 0},
    {"DESC", SK_EXPLAIN, false, R_UNKNOWN, 0},
    {"SET", SK_SET, false, R_SET, 0},
    {"USE", SK_WRITE, false, R_USE, CLS_USE | CLS_SESSION_STATE},
    {"BEGIN", SK_BEGIN, false, R_BEGIN, CLS_BEGIN},
    {"START", SK_START, false, R_WRITE, 0},
    {"CREATE", SK_CREATE, false, R_WRITE, 0},
    {"LOCK", SK_LOCK, false, R_WRITE, 0},
    {"UNLOCK", SK_UNLOCK, false, R_WRITE, 0},
    {"FLUSH", SK_FLUSH, false, R_WRITE, 0},
    {"DROP", SK_DROP, false, R_WRITE, 0},
    {"XA", SK_XA, false, R_WRITE, 0},
    {"KILL", SK_WRITE, false, R_KILL, CLS_KILL},
    {"GRANT", SK_WRITE, false, R_WRITE, CLS_GRANTS},
    {"REVOKE", SK_WRITE, false, R_WRITE, CLS_GRANTS},
    {"CALL", SK_WRITE, false, R_CALL, CLS_HIDDEN_STATE},
    {"EXECUTE", SK_WRITE, false, R_EXECUTE, CLS_HIDDEN_STATE},
    {"PREPARE", SK_PREPARE, false, R_WRITE, 0},
    {"GET", SK_GET, true, R_GET_DIAG, CLS_UNREPLAYABLE},
};

static enum step start_kind(struct stmt *st, const struct sql_token *t)
{
    if (sql_tok_punct(t, '(')) {
        st->kind = SK_LEAD;
        return STEP_STARTED;
    }
    for (size_t i = 0; i < sizeof first_rules / sizeof first_rules[0]; i++) {
        const struct first_rule *r = &first_rules[i];
        if (sql_tok_kw(t, r->word)) {
            set_kind(st, r->kind, r->read_kind, r->reason);
            st->flags |= r->flags;
            return STEP_STARTED;
        }
    }
    set_kind(st, SK_WRITE, false, kw_any(t, write_words) ? R_WRITE : R_UNKNOWN);
    return STEP_STARTED;
}

/* ---- WITH [RECURSIVE] name [(cols)] AS (body) [, ...] main-statement ---- */

enum { W_NAME, W_AFTER_NAME, W_COLS, W_AS, W_BODY, W_AFTER_BODY };

/* Track a parenthesised run; true when it closed back to depth 0. */
static bool paren_closed(struct stmt *st, const struct sql_token *t)
{
    if (sql_tok_punct(t, '('))
        st->depth++;
    else if (sql_tok_punct(t, ')'))
        st->depth--;
    return st->depth <= 0;
}

static enum step with_main(struct stmt *st, const struct sql_token *t)
{
    static const char *const dml[] = {"UPDATE", "DELETE", "INSERT", "REPLACE", NULL};
    if (sql_tok_punct(t, ','))
        st->sub = W_NAME;
    else if (sql_tok_kw(t, "SELECT") || sql_tok_punct(t, '('))
        set_kind(st, SK_SELECT, true, R_SELECT);
    else
        return to_write(st, kw_any(t, dml) ? R_WRITE : R_UNKNOWN);
    return STEP_ADVANCE;
}

static enum step feed_with(struct stmt *st, const struct sql_token *t)
{
    bool open = sql_tok_punct(t, '(');
    switch (st->sub) {
    case W_NAME:
        if (sql_tok_kw(t, "RECURSIVE"))
            return STEP_ADVANCE;
        if (t->kind != SQL_TOK_WORD && t->kind != SQL_TOK_QUOTED)
            return to_write(st, R_UNKNOWN);
        st->sub = W_AFTER_NAME;
        return STEP_ADVANCE;
    case W_AFTER_NAME:
        if (!open && !sql_tok_kw(t, "AS"))
            return to_write(st, R_UNKNOWN);
        st->depth = open ? 1 : 0;
        st->sub = open ? W_COLS : W_AS;
        return STEP_ADVANCE;
    case W_AS:
        if (!open)
            return to_write(st, R_UNKNOWN);
        st->depth = 1;
        st->sub = W_BODY;
        return STEP_ADVANCE;
    case W_COLS:
    case W_BODY:
        if (paren_closed(st, t))
            st->sub = st->sub == W_COLS ? W_AFTER_NAME : W_AFTER_BODY;
        return STEP_ADVANCE;
    default:
        return with_main(st, t);
    }
}

/* ---- SHOW ---- */

/* SHOW statements about this session or this particular server. */
static const char *const show_primary_words[] = {
    "PROCESSLIST", "STATUS",   "VARIABLES", "PROFILE", "PROFILES", "MASTER",
    "BINLOG",      "BINARY",   "REPLICA",   "SLAVE",   "RELAYLOG", "ALL",
    "EXPLAIN",     "ANALYZE",  "SESSION",   "LOCAL",   "GLOBAL",   "ENGINE",
    "ENGINES",     "OPEN",     "INNODB",    "MUTEX",   NULL};

/* SHOW WARNINGS, SHOW ERRORS, SHOW COUNT(*) WARNINGS / ERRORS. */
static const char *const show_diag_words[] = {"WARNINGS", "ERRORS", "COUNT", NULL};

enum { SH_NONE, SH_FULL, SH_CREATE };

static enum step feed_show(struct stmt *st, const struct sql_token *t)
{
    bool primary = false;
    if (st->ntok == 0) {
        primary = kw_any(t, show_primary_words);
        if (kw_any(t, show_diag_words))
            mark_last_info(st, R_SHOW_DIAG);
        st->sub = sql_tok_kw(t, "FULL") ? SH_FULL : sql_tok_kw(t, "CREATE") ? SH_CREATE : SH_NONE;
    } else if (st->ntok == 1) {
        primary = (st->sub == SH_FULL && sql_tok_kw(t, "PROCESSLIST")) ||
                  (st->sub == SH_CREATE && sql_tok_kw(t, "TEMPORARY"));
    }
    if (primary) {
        st->read_kind = false;
        st->reason = R_SHOW_SESSION;
    }
    return STEP_ADVANCE;
}

/* ---- EXPLAIN / DESCRIBE ---- */

enum { E_START, E_FORMAT_EQ, E_FORMAT_VALUE };

static enum step explain_target(struct stmt *st, const struct sql_token *t)
{
    static const char *const dml[] = {"UPDATE", "DELETE", "INSERT", "REPLACE", NULL};
    if (sql_tok_kw(t, "EXTENDED") || sql_tok_kw(t, "PARTITIONS"))
        return STEP_ADVANCE;
    if (sql_tok_kw(t, "FORMAT")) {
        st->sub = E_FORMAT_EQ;
        return STEP_ADVANCE;
    }
    if (sql_tok_kw(t, "SELECT") || sql_tok_kw(t, "WITH") || sql_tok_punct(t, '(')) {
        st->explain = true;
        return start_kind(st, t);
    }
    if (kw_any(t, dml) || sql_tok_kw(t, "ANALYZE") || sql_tok_kw(t, "FOR"))
        return to_write(st, R_EXPLAIN_WRITE);
    if (t->kind == SQL_TOK_WORD || t->kind == SQL_TOK_QUOTED) {
        set_kind(st, SK_DESCRIBE, true, R_DESCRIBE);
        return STEP_ADVANCE;
    }
    return to_write(st, R_UNKNOWN);
}

static enum step feed_explain(struct stmt *st, const struct sql_token *t)
{
    switch (st->sub) {
    case E_FORMAT_EQ:
        if (!sql_tok_punct(t, '='))
            return to_write(st, R_UNKNOWN);
        st->sub = E_FORMAT_VALUE;
        return STEP_ADVANCE;
    case E_FORMAT_VALUE:
        if (t->kind != SQL_TOK_WORD && t->kind != SQL_TOK_STRING)
            return to_write(st, R_UNKNOWN);
        st->sub = E_START;
        return STEP_ADVANCE;
    default:
        return explain_target(st, t);
    }
}

/* ---- SET ---- */

enum { S_ITEM, S_VALUE };

static void set_var(struct stmt *st, bool global, bool autocommit)
{
    if (global) {
        st->set_global = true;
    } else {
        st->set_session = true;
        st->set_autocommit |= autocommit;
    }
    st->sub = S_VALUE;
}

/* The session's default engine does not travel with CREATE TABLE through
 * replication: a replica makes the tables with its own default, so reads
 * there would meet another engine (SHOW CREATE TABLE, row order, HEAP's
 * comparisons). A session that sets it stays on the primary. */
static void note_engine_var(struct stmt *st, bool global, const char *name, size_t len)
{
    if (!global && (sql_text_eq(name, len, "DEFAULT_STORAGE_ENGINE") ||
                    sql_text_eq(name, len, "STORAGE_ENGINE")))
        st->flags |= CLS_UNREPLAYABLE;
}

/* Start of one assignment: [GLOBAL|SESSION|LOCAL] name, @@[scope.]name,
 * @user, NAMES, CHARACTER SET, CHARSET, [scope] TRANSACTION. A scope keyword
 * carries over to the following assignments, as in the server. */
static enum step set_item(struct stmt *st, const struct sql_token *t)
{
    const char *name;
    size_t len;
    if (t->kind == SQL_TOK_USER_VAR) {
        set_var(st, false, false);
    } else if (t->kind == SQL_TOK_SYS_VAR) {
        int scope = sysvar_scope(t, &name, &len);
        if (scope == SCOPE_NONE)
            scope = st->scope;
        set_var(st, scope == SCOPE_GLOBAL, sql_text_eq(name, len, "AUTOCOMMIT"));
        note_engine_var(st, scope == SCOPE_GLOBAL, name, len);
        st->charset_next = scope != SCOPE_GLOBAL && sql_text_eq(name, len, "CHARACTER_SET_CLIENT");
    } else if (t->kind != SQL_TOK_WORD || t->after_dot) {
        return to_write(st, R_UNKNOWN);
    } else if (sql_tok_kw(t, "GLOBAL") || sql_tok_kw(t, "PERSIST") || sql_tok_kw(t, "PERSIST_ONLY")) {
        st->scope = SCOPE_GLOBAL;
    } else if (sql_tok_kw(t, "SESSION") || sql_tok_kw(t, "LOCAL")) {
        st->scope = SCOPE_SESSION;
    } else if (sql_tok_kw(t, "TRANSACTION")) {
        if (st->scope != SCOPE_NONE)
            set_var(st, st->scope == SCOPE_GLOBAL, false);
        st->sub = S_VALUE; /* plain SET TRANSACTION: next transaction only */
    } else if (sql_tok_kw(t, "NAMES") || sql_tok_kw(t, "CHARSET") || sql_tok_kw(t, "CHARACTER")) {
        set_var(st, false, false);
        st->charset_next = true;
    } else {
        set_var(st, st->scope == SCOPE_GLOBAL, sql_tok_kw(t, "AUTOCOMMIT"));
        note_engine_var(st, st->scope == SCOPE_GLOBAL, t->text, t->len);
        st->charset_next =
            st->scope != SCOPE_GLOBAL && sql_tok_kw(t, "CHARACTER_SET_CLIENT");
    }
    return STEP_ADVANCE;
}

/* Built-in functions whose result depends only on their arguments. */
static const char *const pure_functions[] = {
    "CONCAT", "CONCAT_WS", "LOWER", "LCASE", "UPPER", "UCASE", "SUBSTRING", "SUBSTR", "LEFT",
    "RIGHT", "REPLACE", "TRIM", "LTRIM", "RTRIM", "LENGTH", "CHAR_LENGTH", "COALESCE", "IFNULL",
    "NULLIF", "IF", "ABS", "ROUND", "FLOOR", "CEIL", "CEILING", "GREATEST", "LEAST", "CAST",
    "CONVERT", "HEX", "UNHEX", "LPAD", "RPAD", "REPEAT", "REVERSE", "MOD", "SIGN", NULL};

/* A SET value that a replica would compute differently when the text is
 * replayed there later: a subquery, a call of a function that is not pure
 * (NOW(), RAND(), UUID(), stored functions...) or a system variable, which
 * differs between servers. Literals, user variables, operators and pure
 * functions replay to the same value. */
static bool set_value_computed(const struct stmt *st, const struct sql_token *t)
{
    if (t->kind == SQL_TOK_SYS_VAR || sql_tok_kw(t, "SELECT"))
        return true;
    return sql_tok_punct(t, '(') && st->w0.kind == SQL_TOK_WORD &&
           !kw_any(&st->w0, pure_functions);
}

/* The value of SET NAMES x, CHARACTER SET x, character_set_client = x: a
 * name the lexer knows, or (DEFAULT, an expression, an unknown name) NULL. */
static void charset_value(struct stmt *st, const struct sql_token *t)
{
    if (sql_tok_punct(t, '=') || (t->kind == SQL_TOK_PUNCT && t->len == 2) ||
        sql_tok_kw(t, "SET"))
        return; /* "=", ":=", the SET of CHARACTER SET */
    st->charset_next = false;
    st->sets_charset = true;
    st->charset = NULL;
    if (t->kind == SQL_TOK_WORD || t->kind == SQL_TOK_STRING || t->kind == SQL_TOK_QUOTED)
        st->charset = sql_charset_by_name(t->text, t->len);
}

static enum step feed_set(struct stmt *st, const struct sql_token *t)
{
    if (st->ntok == 0) {
        if (sql_tok_kw(t, "STATEMENT")) {
            set_kind(st, SK_SET_STMT, false, R_UNKNOWN);
            return STEP_ADVANCE;
        }
        if (sql_tok_kw(t, "PASSWORD") || sql_tok_kw(t, "ROLE") || sql_tok_kw(t, "DEFAULT") ||
            sql_tok_kw(t, "TRANSACTION"))
            return to_write(st, R_SET);
    }
    if (st->sub == S_ITEM)
        return set_item(st, t);
    if (st->charset_next)
        charset_value(st, t);
    if (set_value_computed(st, t))
        st->flags |= CLS_UNREPLAYABLE;
    if (sql_tok_punct(t, '('))
        st->depth++;
    else if (sql_tok_punct(t, ')') && st->depth > 0)
        st->depth--;
    else if (sql_tok_punct(t, ',') && st->depth == 0)
        st->sub = S_ITEM;
    return STEP_ADVANCE;
}

/* SET STATEMENT var=value[, ...] FOR stmt: the per-statement variables are
 * not session state; what counts is the statement after FOR. */
static enum step feed_set_stmt(struct stmt *st, const struct sql_token *t)
{
    if (st->depth == 0 && sql_tok_kw(t, "FOR")) {
        set_kind(st, SK_EMPTY, false, R_UNKNOWN);
        return STEP_RESET;
    }
    if (sql_tok_punct(t, '('))
        st->depth++;
    else if (sql_tok_punct(t, ')') && st->depth > 0)
        st->depth--;
    return STEP_ADVANCE;
}

/* ---- transaction and lock statements ---- */

static enum step feed_begin(struct stmt *st, const struct sql_token *t)
{
    if (st->ntok == 0 && sql_tok_kw(t, "NOT")) { /* BEGIN NOT ATOMIC: a compound statement */
        st->flags &= ~CLS_BEGIN;
        st->reason = R_WRITE;
    }
    return STEP_ADVANCE;
}

static enum step feed_start(struct stmt *st, const struct sql_token *t)
{
    if (st->ntok == 0 && sql_tok_kw(t, "TRANSACTION")) {
        st->flags |= CLS_BEGIN;
        st->reason = R_BEGIN;
    } else if ((st->flags & CLS_BEGIN) && sql_tok_kw(t, "ONLY") && sql_tok_kw(&st->w0, "READ")) {
        st->flags |= CLS_READ_ONLY_TRX;
    }
    return STEP_ADVANCE;
}

/* CREATE [OR REPLACE] TEMPORARY ..., and whether it creates a routine (the
 * words may also be column names: that only keeps a session pinned). */
static enum step feed_create(struct stmt *st, const struct sql_token *t)
{
    static const char *const routine_words[] = {"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT",
                                                NULL};
    st->routine |= kw_any(t, routine_words);
    bool temp = sql_tok_kw(t, "TEMPORARY") &&
                (st->ntok == 0 ||
                 (st->ntok == 2 && sql_tok_kw(&st->w0, "REPLACE") && sql_tok_kw(&st->w1, "OR")));
    if (temp) {
        st->flags |= CLS_TEMP_TABLE;
        st->reason = R_TEMP;
        st->tables_created++;
    }
    return STEP_ADVANCE;
}

static enum step feed_lock(struct stmt *st, const struct sql_token *t, bool lock)
{
    if (st->ntok == 0 && (sql_tok_kw(t, "TABLES") || sql_tok_kw(t, "TABLE"))) {
        st->flags |= lock ? CLS_LOCK_TABLES : CLS_UNLOCK_TABLES;
        st->reason = lock ? R_LOCK : R_UNLOCK;
    }
    return STEP_ADVANCE;
}

/* FLUSH TABLES ... WITH READ LOCK / FOR EXPORT hold locks until UNLOCK
 * TABLES, exactly like LOCK TABLES. */
static enum step feed_flush(struct stmt *st, const struct sql_token *t)
{
    bool ftwrl = sql_tok_kw(t, "LOCK") && sql_tok_kw(&st->w0, "READ") && sql_tok_kw(&st->w1, "WITH");
    bool export = sql_tok_kw(t, "EXPORT") && sql_tok_kw(&st->w0, "FOR");
    if (ftwrl || export) {
        st->flags |= CLS_LOCK_TABLES;
        st->reason = R_LOCK;
    }
    return STEP_ADVANCE;
}

/* DROP TEMPORARY TABLE[S] [IF EXISTS] a [, b ...]: count the names by their
 * commas (a name may be db.t, and options like WAIT n follow the last one). */
enum { D_START, D_TABLE, D_NAMES, D_NOT_TEMP };

static enum step feed_drop(struct stmt *st, const struct sql_token *t)
{
    switch (st->sub) {
    case D_START:
        st->sub = sql_tok_kw(t, "TEMPORARY") ? D_TABLE : D_NOT_TEMP;
        break;
    case D_TABLE:
        if (!sql_tok_kw(t, "TABLE") && !sql_tok_kw(t, "TABLES"))
            return to_write(st, R_WRITE);
        st->flags |= CLS_DROP_TEMP_TABLE;
        st->reason = R_DROP_TEMP;
        st->sub = D_NAMES;
        break;
    case D_NAMES:
        if (sql_tok_kw(t, "IF") || sql_tok_kw(t, "EXISTS"))
            break;
        if (st->tables_dropped == 0 || sql_tok_punct(t, ','))
            st->tables_dropped++;
        break;
    default:
        break;
    }
    return STEP_ADVANCE;
}

/* XA START|BEGIN opens an XA transaction, XA COMMIT|ROLLBACK ends it; XA
 * END / PREPARE / RECOVER are plain writes. */
static enum step feed_xa(struct stmt *st, const struct sql_token *t)
{
    if (st->ntok != 0)
        return STEP_ADVANCE;
    if (sql_tok_kw(t, "START") || sql_tok_kw(t, "BEGIN")) {
        st->flags |= CLS_XA_START;
        st->reason = R_XA_START;
    } else if (sql_tok_kw(t, "COMMIT") || sql_tok_kw(t, "ROLLBACK")) {
        st->flags |= CLS_XA_END;
        st->reason = R_XA_END;
    }
    return STEP_ADVANCE;
}

/* PREPARE name FROM 'text' prepares what the text says (its EXECUTE is
 * caught later); FROM @var prepares text the proxy never sees. */
static enum step feed_prepare(struct stmt *st, const struct sql_token *t)
{
    if (sql_tok_kw(&st->w0, "FROM") && t->kind != SQL_TOK_STRING)
        st->flags |= CLS_HIDDEN_STATE;
    return STEP_ADVANCE;
}

/* GET [CURRENT | STACKED] DIAGNOSTICS reads the diagnostics area of the
 * previous statement: it goes where that ran. The variables it assigns
 * cannot be replayed, so the session stays there afterwards. */
static enum step feed_get(struct stmt *st, const struct sql_token *t)
{
    static const char *const words[] = {"DIAGNOSTICS", "CURRENT", "STACKED", NULL};
    if (st->ntok != 0)
        return STEP_ADVANCE;
    if (!kw_any(t, words))
        return to_write(st, R_UNKNOWN);
    mark_last_info(st, R_GET_DIAG);
    return STEP_ADVANCE;
}

static enum step dispatch(struct stmt *st, const struct sql_token *t)
{
    switch (st->kind) {
    case SK_EMPTY:
    case SK_LEAD:
        return start_kind(st, t);
    case SK_WITH:
        return feed_with(st, t);
    case SK_SHOW:
        return feed_show(st, t);
    case SK_EXPLAIN:
        return feed_explain(st, t);
    case SK_SET:
        return feed_set(st, t);
    case SK_SET_STMT:
        return feed_set_stmt(st, t);
    case SK_BEGIN:
        return feed_begin(st, t);
    case SK_START:
        return feed_start(st, t);
    case SK_CREATE:
        return feed_create(st, t);
    case SK_LOCK:
    case SK_UNLOCK:
        return feed_lock(st, t, st->kind == SK_LOCK);
    case SK_FLUSH:
        return feed_flush(st, t);
    case SK_DROP:
        return feed_drop(st, t);
    case SK_XA:
        return feed_xa(st, t);
    case SK_PREPARE:
        return feed_prepare(st, t);
    case SK_GET:
        return feed_get(st, t);
    default:
        return STEP_ADVANCE;
    }
}

static void feed(struct stmt *st, const struct sql_token *t)
{
    static const struct sql_token none = {0};
    scan_markers(st, t);
    enum step s = dispatch(st, t);
    if (s == STEP_ADVANCE)
        st->ntok++;
    st->w1 = s == STEP_RESET ? none : st->w0;
    st->w0 = s == STEP_RESET ? none : *t;
}

/* ---- per statement and whole text ---- */

static void finish_set(const struct stmt *st, uint32_t *flags, const char **reason)
{
    if (st->set_global) {
        *flags |= CLS_SET_GLOBAL;
        *reason = R_GLOBAL_SET;
    } else if (st->set_session) {
        *flags |= CLS_SESSION_STATE;
        *reason = R_SESSION_SET;
    }
    if (st->set_autocommit)
        *flags |= CLS_AUTOCOMMIT;
}

/* Decide one statement and add it to the summary. */
static void stmt_finish(const struct stmt *st, struct summary *sum)
{
    const char *reason = st->reason;
    uint32_t flags = st->flags;
    bool read = st->read_kind;
    if (st->kind == SK_EMPTY)
        return;
    if (st->kind == SK_SET)
        finish_set(st, &flags, &reason);
    if ((st->kind == SK_SHOW || st->kind == SK_SET) && st->ntok == 0) {
        read = false;
        reason = R_UNKNOWN;
    }
    if (read && st->marker != NULL) {
        read = false;
        reason = st->marker;
    } else if (read && st->last_info != NULL) {
        read = false;
        reason = st->last_info;
        flags |= CLS_LAST_STMT_INFO;
        sum->nlast++;
    } else if (read && st->explain) {
        reason = R_EXPLAIN;
    }
    sum->nstmts++;
    sum->flags |= flags;
    sum->locks_taken += st->locks_taken;
    sum->locks_released += st->locks_released;
    sum->tables_dropped += st->tables_dropped;
    sum->tables_created += st->tables_created;
    sum->saw_routine |= st->routine;
    if (st->sets_charset) {
        sum->sets_charset = true;
        sum->charset = st->charset;
    }
    if (!read) {
        sum->nwrites++;
        if (sum->first_write == NULL)
            sum->first_write = reason;
    } else if (sum->first_read == NULL) {
        sum->first_read = reason;
    }
}

static uint16_t clamp16(unsigned n)
{
    return n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
}

/* Counts, and the rule for texts that create routines (see RELEASING_FLAGS). */
static void summarize_effects(const struct summary *sum, struct classification *out)
{
    out->named_locks_taken = clamp16(sum->locks_taken);
    out->temp_tables_created = clamp16(sum->tables_created);
    if (sum->saw_routine) {
        out->flags &= ~RELEASING_FLAGS; /* and a SET NAMES in a body does not run now */
        return;
    }
    if (sum->sets_charset) {
        out->flags |= CLS_CHARSET;
        out->charset = sum->charset;
    }
    out->named_locks_released = clamp16(sum->locks_released);
    out->temp_tables_dropped = clamp16(sum->tables_dropped);
}

static void summarize(const struct summary *sum, uint32_t hints, struct classification *out)
{
    out->flags = sum->flags | hints | (sum->multi ? CLS_MULTI : 0);
    /* the previous statement's backend is only right if nothing else writes */
    if (sum->nwrites > sum->nlast)
        out->flags &= ~CLS_LAST_STMT_INFO;
    if (sum->nstmts == 0) {
        out->is_read = false;
        out->reason = R_EMPTY;
        return;
    }
    out->is_read = sum->nwrites == 0;
    if (sum->multi)
        out->reason = out->is_read ? R_MULTI_READ : R_MULTI_WRITE;
    else
        out->reason = out->is_read ? sum->first_read : sum->first_write;
    if (hints & CLS_HINT_PRIMARY) {
        out->is_read = false;
        out->reason = R_HINT;
    } else if ((hints & CLS_HINT_REPLICA) && !(out->flags & STATEFUL_FLAGS) &&
               !(sum->sets_charset && !sum->saw_routine)) {
        /* (a SET NAMES is CLS_CHARSET, added below: as stateful as the rest) */
        out->is_read = true;
        out->reason = R_HINT;
    }
    summarize_effects(sum, out);
}

/* One lexing of the text under the given lexer mode. The server lexes each
 * statement of a batch in the character set the previous ones left. */
static void classify_pass(const char *sql, size_t len, unsigned mode,
                          const struct sql_charset *cs, struct classification *out,
                          unsigned *ambiguity, struct digest_writer *digest)
{
    struct sql_lexer lx;
    struct sql_token t;
    struct stmt st;
    struct summary sum = {0};
    *out = (struct classification){0};
    sql_lexer_init(&lx, sql, len, mode, cs);
    stmt_reset(&st);
    for (sql_lexer_next(&lx, &t); t.kind != SQL_TOK_EOF; sql_lexer_next(&lx, &t)) {
        if (digest && t.kind != SQL_TOK_ERROR)
            digest_writer_feed(digest, &t);
        if (t.kind == SQL_TOK_ERROR) {
            out->is_read = false;
            out->flags = sum.flags | st.flags | lx.hints | (sum.multi ? CLS_MULTI : 0);
            out->reason = R_UNPARSABLE;
            out->flags &= ~CLS_LAST_STMT_INFO; /* unknown text: the primary */
            summarize_effects(&sum, out);
            *ambiguity = lx.ambiguity;
            return;
        }
        sum.multi |= sum.after_semicolon;
        if (sql_tok_punct(&t, ';')) {
            stmt_finish(&st, &sum);
            if (st.sets_charset && st.charset != NULL)
                lx.cs = st.charset;
            stmt_reset(&st);
            sum.after_semicolon = true;
        } else {
            feed(&st, &t);
        }
    }
    stmt_finish(&st, &sum);
    *ambiguity = lx.ambiguity;
    summarize(&sum, lx.hints, out);
}

/* How far from the primary a classification may run: a replica, the
 * previous statement's backend (which may be a replica), or the primary. */
enum reach { REACH_REPLICA, REACH_LAST, REACH_PRIMARY };

static enum reach reach_of(const struct classification *c)
{
    if (c->is_read)
        return REACH_REPLICA;
    return (c->flags & CLS_LAST_STMT_INFO) ? REACH_LAST : REACH_PRIMARY;
}

/* Take the stricter reading of an alternative lexing. */
static void adopt(struct classification *out, const struct classification *alt)
{
    out->is_read = false;
    out->reason = alt->reason;
    out->flags |= alt->flags;
    if (reach_of(alt) == REACH_PRIMARY)
        out->flags &= ~CLS_LAST_STMT_INFO;
    if (alt->named_locks_taken > out->named_locks_taken)
        out->named_locks_taken = alt->named_locks_taken;
}

/* Whatever may leave the primary (a read, or a statement about the previous
 * one) must stay so under every server setting that changes how the text
 * lexes (NO_BACKSLASH_ESCAPES; versioned or MariaDB-only executable
 * comments). Interpretations that do not lex at all are ignored: a server in
 * that mode rejects the statement, so it cannot write anything. */
static void classify(const char *sql, size_t len, const struct sql_charset *cs,
                     struct classification *out, bool with_digest)
{
    unsigned amb = 0, unused;
    struct digest_writer digest;
    if (out == NULL)
        return;
    if (with_digest)
        digest_writer_init(&digest, NULL);
    classify_pass(sql, len, 0, cs, out, &amb, with_digest ? &digest : NULL);
    if (with_digest)
        out->digest = digest_writer_end(&digest, out->reason == R_UNPARSABLE);
    if (cs == NULL) {
        /* bytes >= 0x80 may be spaces or halves of characters: trust nothing */
        out->is_read = false;
        out->reason = R_UNKNOWN_CHARSET;
        out->flags &= ~CLS_LAST_STMT_INFO;
        return;
    }
    if (reach_of(out) == REACH_PRIMARY || amb == 0)
        return;
    /* SQL_AMB_x and SQL_LEX_x share bit values: try each mode made of seen ambiguities */
    for (unsigned mode = 1; mode <= (SQL_LEX_NO_BACKSLASH | SQL_LEX_EXEC_COMMENT); mode++) {
        struct classification alt;
        if ((mode & ~amb) != 0)
            continue;
        classify_pass(sql, len, mode, cs, &alt, &unused, NULL);
        if (alt.reason == R_UNPARSABLE || reach_of(&alt) <= reach_of(out))
            continue;
        adopt(out, &alt);
    }
}

void classify_query(const char *sql, size_t len, const struct sql_charset *cs,
                    struct classification *out)
{
    classify(sql, len, cs, out, false);
}

void classify_query_digest(const char *sql, size_t len, const struct sql_charset *cs,
                           struct classification *out)
{
    classify(sql, len, cs, out, true);
}
