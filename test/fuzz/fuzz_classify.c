/* libFuzzer target: arbitrary bytes through the SQL classifier, the
 * routing policy and the PROXY statement parser. Besides sanitizer findings
 * it checks invariants: a reason is always set, the result is deterministic,
 * a read never carries a flag that ties the session to the primary, and a
 * PROXY statement's text stays inside the input. The statement digest
 * holds no quoted literal, matches its hash-only form and the classifier's,
 * and is bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"
#include "router/proxy_command.h"
#include "router/replica_select.h"
#include "router/route.h"
#include "router/sql_lexer.h"
#include "router/statement_digest.h"

#define PINNING_FLAGS                                                                            \
    (CLS_SESSION_STATE | CLS_USE | CLS_BEGIN | CLS_TEMP_TABLE | CLS_LOCK_TABLES |                \
     CLS_UNLOCK_TABLES | CLS_NAMED_LOCK | CLS_AUTOCOMMIT | CLS_SET_GLOBAL | CLS_KILL |           \
     CLS_DROP_TEMP_TABLE | CLS_RELEASE_LOCK | CLS_RELEASE_ALL_LOCKS | CLS_XA_START |             \
     CLS_XA_END | CLS_LAST_STMT_INFO | CLS_HIDDEN_STATE | CLS_CHARSET)

/* The character sets whose lexing differs: 0xA0 / 0xFF spaces, double-byte
 * characters with ASCII second bytes, and unknown. */
static const struct sql_charset *charset_of(uint8_t b)
{
    static const char *const names[] = {"latin1", "cp852", "sjis", "gbk", "big5", "euckr"};
    size_t n = sizeof names / sizeof names[0];
    if (b % (n + 1) == n)
        return NULL;
    const char *name = names[b % (n + 1)];
    return sql_charset_by_name(name, strlen(name));
}

/* Anything a replica may see must not be stateful, and pins must hold. */
static void check_route(const struct classification *c)
{
    struct session_route_state s;
    session_route_state_init(&s, true);
    struct route_decision d = route_statement(c, &s);
    bool last = (c->flags & CLS_LAST_STMT_INFO) != 0;
    bool ro = d.begins_read_only_trx;
    if (d.reason == NULL || (d.target == ROUTE_REPLICA) != (c->is_read || ro) ||
        (d.target == ROUTE_LAST) != last || d.target == ROUTE_TRX_REPLICA)
        abort();
    s.override = ROUTE_FORCE_REPLICA;
    struct route_decision forced = route_statement(c, &s);
    if ((c->flags & PINNING_FLAGS & ~CLS_LAST_STMT_INFO) && !ro && forced.target != ROUTE_PRIMARY)
        abort();
    s.override = ROUTE_AUTO;
    s.in_transaction = true;
    if (route_statement(c, &s).target != ROUTE_PRIMARY)
        abort();
    /* status IN_TRANS | AUTOCOMMIT: a read-only BEGIN that ran stays open */
    session_route_state_update(&s, c, &d, true, true, 0x0003);
    if (s.read_only_trx != ro)
        abort();
}

static void check_proxy_command(const char *sql, size_t size)
{
    struct proxy_command pc;
    parse_proxy_command(sql, size, &pc);
    if (pc.kind == PROXY_CMD_INVALID && pc.error == NULL)
        abort();
    if (pc.kind == PROXY_CMD_EXPLAIN &&
        (pc.stmt_len == 0 || pc.stmt < sql || pc.stmt_len > size - (size_t)(pc.stmt - sql)))
        abort();
}

/* Weighted round-robin with weights taken from the input. */
static void check_wrr(const uint8_t *data, size_t size)
{
    int w[8] = {0};
    struct wrr_state st;
    size_t n = size < 8 ? size : 8;
    for (size_t i = 0; i < n; i++)
        w[i] = (int)(data[i] % 5) - 1;
    wrr_init(&st);
    for (int k = 0; k < 16; k++) {
        int i = wrr_pick(&st, w, n);
        if (i >= (int)n || (i >= 0 && w[i] <= 0))
            abort();
    }
}

/* Bytes below 0x80 lex alike in every character set. */
static bool is_ascii(const char *sql, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if ((unsigned char)sql[i] >= 0x80)
            return false;
    return true;
}

/* Read back, the digest text holds no string literal; the classifier's
 * digest, built from its own lexing, is the same number. */
static void check_digest(const char *sql, size_t size, const struct classification *c)
{
    static struct digest_text d;
    statement_digest_text(sql, size, &d);
    if (d.hash == 0 || d.hash != statement_digest(sql, size) || d.len >= DIGEST_TEXT_MAX ||
        d.text[d.len] != '\0')
        abort();
    if (is_ascii(sql, size) && c->digest != d.hash)
        abort();
    struct sql_lexer lx;
    struct sql_token t;
    sql_lexer_init(&lx, d.text, d.len, 0, NULL);
    do {
        sql_lexer_next(&lx, &t);
        if (t.kind == SQL_TOK_STRING)
            abort();
    } while (t.kind != SQL_TOK_EOF && t.kind != SQL_TOK_ERROR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct classification a, b;
    /* an exact-size copy so ASan catches any read past the end */
    char *sql = malloc(size ? size : 1);
    if (sql == NULL)
        return 0;
    if (size > 0)
        memcpy(sql, data, size);
    classify_query_digest(sql, size, sql_charset_default(), &a);
    classify_query(sql, size, sql_charset_default(), &b);
    struct classification other;
    classify_query(sql, size, charset_of(size ? data[0] : 0), &other);
    check_proxy_command(sql, size);
    check_digest(sql, size, &a);
    free(sql);
    if (a.reason == NULL || a.is_read != b.is_read || a.flags != b.flags || a.reason != b.reason ||
        a.named_locks_taken != b.named_locks_taken)
        abort();
    if (a.is_read && (a.flags & PINNING_FLAGS))
        abort();
    check_route(&a);
    if (other.reason == NULL || (other.is_read && (other.flags & PINNING_FLAGS)))
        abort();
    check_route(&other);
    check_wrr(data, size);
    return 0;
}
