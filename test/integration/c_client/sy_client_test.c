/* sy_client_test: switchyard integration tests written against the MariaDB
 * Connector/C API (<mysql.h>), i.e. a real C client using the whole client
 * protocol: binary prepared statements, cursors, long data, multi-statements,
 * stored procedures, LOAD DATA LOCAL INFILE, change_user, reset_connection,
 * COM_STATISTICS / COM_FIELD_LIST / KILL, session state, pinning, backend
 * connections killed under a prepared statement, client auth plugins
 * (caching_sha2_password, client_ed25519) and the proxy's own PROXY statements.
 *
 * Every test checks its results and, through the proxy, WHERE each statement
 * ran (@@port: the primary or one of the replicas).
 *
 *   sy_client_test [--host H] [--port P] [--user U] [--password PW] [--db DB]
 *                  [--primary-port 3310] [--replica-ports 3311,3312]
 *                  [--direct] [--list] all | TEST...
 *
 * --direct: the connection goes straight to the primary (to validate the tests
 * themselves): where-it-ran checks for replicas are skipped and tests that need
 * the proxy (PROXY statements) print "ok NAME # skip".
 *
 * Output: one line per test, "ok NAME" or "FAIL NAME: reason"; exit status 0
 * when every test passed, 1 otherwise, 2 on a usage or setup error.
 */
#include <errno.h>
#include <mysql.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ config */

static struct {
    const char *host;
    unsigned port;
    const char *user;
    const char *password;
    const char *db;
    unsigned primary_port;
    unsigned replica_ports[8];
    int n_replicas;
    bool direct;
} cfg = {
    .host = "127.0.0.1",
    .port = 6033,
    .user = "app",
    .password = "app_pw",
    .db = "test",
    .primary_port = 3310,
    .replica_ports = {3311, 3312},
    .n_replicas = 2,
};

static const char *cur_test;
static char fail_msg[2048];
static bool failed;
static unsigned uniq_counter;

static void set_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fail(int line, const char *fmt, ...)
{
    if (failed)
        return;
    failed = true;
    int n = snprintf(fail_msg, sizeof fail_msg, "line %d: ", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fail_msg + n, sizeof fail_msg - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Every test function has an "out:" label doing its cleanup. */
#define FAIL(...)                          \
    do {                                   \
        set_fail(__LINE__, __VA_ARGS__);   \
        goto out;                          \
    } while (0)
#define CHECK(cond, ...)      \
    do {                      \
        if (!(cond))          \
            FAIL(__VA_ARGS__); \
    } while (0)
/* Run SQL (all results consumed) or fail with the server's error. */
#define Q(m, sql)                                                                              \
    do {                                                                                       \
        const char *q_sql_ = (sql);                                                            \
        if (!run_sql((m), q_sql_))                                                             \
            FAIL("%s: error %u %s", q_sql_, mysql_errno(m), mysql_error(m));                   \
    } while (0)
/* First row of a query into struct row r, or fail. */
#define QROW(m, r, sql)                                                                        \
    do {                                                                                       \
        const char *q_sql_ = (sql);                                                            \
        if (!query_row((m), q_sql_, (r)))                                                      \
            FAIL("%s: error %u %s", q_sql_, mysql_errno(m), mysql_error(m));                   \
    } while (0)
#define ST_CHECK(st, cond, what)                                                               \
    do {                                                                                       \
        if (!(cond))                                                                           \
            FAIL("%s: stmt error %u %s", (what), mysql_stmt_errno(st), mysql_stmt_error(st));  \
    } while (0)
#define MY_CHECK(m, cond, what)                                                                \
    do {                                                                                       \
        if (!(cond))                                                                           \
            FAIL("%s: error %u %s", (what), mysql_errno(m), mysql_error(m));                   \
    } while (0)

static bool is_replica_port(long p)
{
    for (int i = 0; i < cfg.n_replicas; i++)
        if ((long)cfg.replica_ports[i] == p)
            return true;
    return false;
}

/* Where-it-ran checks. Replica checks are skipped with --direct (everything is
 * the primary there); primary checks hold in both modes. */
#define WANT_REPLICA(p, what)                                                                  \
    do {                                                                                       \
        long wr_p_ = (long)(p);                                                                \
        if (!cfg.direct && !is_replica_port(wr_p_))                                            \
            FAIL("%s ran on port %ld, expected a replica", (what), wr_p_);                     \
    } while (0)
#define WANT_PRIMARY(p, what)                                                                  \
    do {                                                                                       \
        long wp_p_ = (long)(p);                                                                \
        if (wp_p_ != (long)cfg.primary_port)                                                   \
            FAIL("%s ran on port %ld, expected the primary (%u)", (what), wp_p_,               \
                 cfg.primary_port);                                                            \
    } while (0)
#define WANT_SAME(p1, p2, what)                                                                \
    do {                                                                                       \
        long ws1_ = (long)(p1), ws2_ = (long)(p2);                                             \
        if (ws1_ != ws2_)                                                                      \
            FAIL("%s: ran on port %ld, the previous statement on %ld (expected the same)",     \
                 (what), ws2_, ws1_);                                                          \
    } while (0)

/* An informational line (not a failure): "# TEST: text". */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# %s: ", cur_test);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *uniq(char *buf, size_t n, const char *prefix)
{
    snprintf(buf, n, "%s_%ld_%u_%ld", prefix, (long)getpid(), ++uniq_counter, (long)time(NULL));
    return buf;
}

/* ------------------------------------------------------------- connections */

static MYSQL *connect_ex(const char *host, unsigned port, const char *db, unsigned long flags,
                         bool local_infile, char *err, size_t errn)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errn, "mysql_init failed");
        return NULL;
    }
    unsigned int t = 10;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    t = 60;
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    if (local_infile) {
        unsigned int on = 1;
        mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &on);
    }
    if (!mysql_real_connect(m, host, cfg.user, cfg.password, db, port, NULL, flags)) {
        snprintf(err, errn, "connect to %s:%u: error %u %s", host, port, mysql_errno(m),
                 mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* A connection to the system under test (the proxy, or the primary with --direct). */
#define CONNECT(m, db, flags, local_infile)                                                    \
    do {                                                                                       \
        char c_err_[512];                                                                      \
        (m) = connect_ex(cfg.host, cfg.port, (db), (flags), (local_infile), c_err_,           \
                         sizeof c_err_);                                                       \
        if (!(m))                                                                              \
            FAIL("%s", c_err_);                                                                \
    } while (0)
/* A direct connection to the primary, to check what landed there. */
#define CONNECT_PRIMARY(m)                                                                     \
    do {                                                                                       \
        char c_err_[512];                                                                      \
        (m) = connect_ex("127.0.0.1", cfg.primary_port, "test", 0, false, c_err_,             \
                         sizeof c_err_);                                                       \
        if (!(m))                                                                              \
            FAIL("%s", c_err_);                                                                \
    } while (0)

/* Consume every result of the last statement; false on an error. */
static bool drain(MYSQL *m)
{
    for (;;) {
        MYSQL_RES *res = mysql_store_result(m);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(m) != 0)
            return false;
        int r = mysql_next_result(m);
        if (r > 0)
            return false;
        if (r < 0)
            return true;
    }
}

static bool run_sql(MYSQL *m, const char *sql)
{
    if (mysql_real_query(m, sql, strlen(sql)))
        return false;
    return drain(m);
}

#define MAXC 16
#define VLEN 512
struct row {
    int ncols;
    unsigned long long nrows;
    bool has_row;
    char v[MAXC][VLEN];
    bool null[MAXC];
    char name[MAXC][64];
};

static bool read_result(MYSQL *m, MYSQL_RES *res, struct row *r)
{
    (void)m;
    r->ncols = (int)mysql_num_fields(res);
    if (r->ncols > MAXC)
        r->ncols = MAXC;
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    for (int i = 0; i < r->ncols; i++)
        snprintf(r->name[i], sizeof r->name[i], "%s", f[i].name);
    r->nrows = mysql_num_rows(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        r->has_row = true;
        unsigned long *len = mysql_fetch_lengths(res);
        for (int i = 0; i < r->ncols; i++) {
            r->null[i] = row[i] == NULL;
            if (row[i]) {
                size_t n = len[i] < VLEN - 1 ? len[i] : VLEN - 1;
                memcpy(r->v[i], row[i], n);
                r->v[i][n] = 0;
            }
        }
    }
    return true;
}

/* First row of the first result set (all results consumed). */
static bool query_row(MYSQL *m, const char *sql, struct row *r)
{
    memset(r, 0, sizeof *r);
    if (mysql_real_query(m, sql, strlen(sql)))
        return false;
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) {
        if (mysql_field_count(m) != 0)
            return false;
    } else {
        read_result(m, res, r);
        mysql_free_result(res);
    }
    int rr = mysql_next_result(m);
    if (rr > 0)
        return false;
    if (rr == 0)
        return drain(m);
    return true;
}

static int col_index(const struct row *r, const char *name)
{
    for (int i = 0; i < r->ncols; i++)
        if (strcasecmp(r->name[i], name) == 0)
            return i;
    return -1;
}

/* @@port of a `SELECT ..., @@port` (last column). */
static long last_port(const struct row *r)
{
    if (!r->has_row || r->ncols == 0 || r->null[r->ncols - 1])
        return -1;
    return atol(r->v[r->ncols - 1]);
}

/* Run `sql` (whose last column is @@port) n times; ports[] gets where each ran. */
static bool ports_of(MYSQL *m, const char *sql, int n, long *ports)
{
    struct row r;
    for (int i = 0; i < n; i++) {
        if (!query_row(m, sql, &r))
            return false;
        ports[i] = last_port(&r);
    }
    return true;
}

/* Checks that reads rotate over the replicas: every one on a replica, and
 * (n >= 2 * replicas) every replica seen. */
#define WANT_ROTATE(m, n, what)                                                                \
    do {                                                                                       \
        long wr_ports_[32];                                                                    \
        int wr_n_ = (n);                                                               \
        if (!ports_of((m), "SELECT @@port", wr_n_, wr_ports_))                                 \
            FAIL("%s: SELECT @@port: error %u %s", (what), mysql_errno(m), mysql_error(m));    \
        if (!cfg.direct) {                                                                     \
            for (int i_ = 0; i_ < wr_n_; i_++)                                                 \
                WANT_REPLICA(wr_ports_[i_], what);                                             \
            for (int r_ = 0; r_ < cfg.n_replicas && wr_n_ >= 2 * cfg.n_replicas; r_++) {       \
                bool seen_ = false;                                                            \
                for (int i_ = 0; i_ < wr_n_; i_++)                                             \
                    seen_ |= wr_ports_[i_] == (long)cfg.replica_ports[r_];                     \
                CHECK(seen_, "%s: %d reads never reached replica port %u", (what), wr_n_,      \
                      cfg.replica_ports[r_]);                                                  \
            }                                                                                  \
        }                                                                                      \
    } while (0)
#define WANT_PINNED(m, n, what)                                                                \
    do {                                                                                       \
        long wp_ports_[32];                                                                    \
        int wp_n_ = (n);                                                                       \
        if (!ports_of((m), "SELECT @@port", wp_n_, wp_ports_))                                 \
            FAIL("%s: SELECT @@port: error %u %s", (what), mysql_errno(m), mysql_error(m));    \
        for (int i_ = 0; i_ < wp_n_; i_++)                                                     \
            WANT_PRIMARY(wp_ports_[i_], what);                                                 \
    } while (0)

/* Poll `sql` (one number) until it answers `want` `times` times in a row
 * (through the proxy: on every replica), at most 15 s. */
static bool wait_value(MYSQL *m, const char *sql, long want, int times, char *why, size_t whyn)
{
    double deadline = now_s() + 15;
    int streak = 0;
    struct row r;
    long got = -1;
    while (now_s() < deadline) {
        if (!query_row(m, sql, &r)) {
            snprintf(why, whyn, "%s: error %u %s", sql, mysql_errno(m), mysql_error(m));
            return false;
        }
        got = r.has_row && !r.null[0] ? atol(r.v[0]) : -1;
        if (got == want) {
            if (++streak >= times)
                return true;
        } else {
            streak = 0;
            sleep_ms(50);
        }
    }
    snprintf(why, whyn, "%s: answers %ld, expected %ld (replication too slow?)", sql, got, want);
    return false;
}

/* -------------------------------------------------------------------- setup */

static int setup(void)
{
    MYSQL *p = NULL, *m = NULL;
    int rc = 1;
    static const char *ddl[] = {
        "CREATE TABLE IF NOT EXISTS test.t_where ("
        " id INT AUTO_INCREMENT PRIMARY KEY, port INT, tag VARCHAR(64), KEY(tag))",
        "CREATE TABLE IF NOT EXISTS test.c_cur (id INT PRIMARY KEY, v VARCHAR(16))",
        "INSERT IGNORE INTO test.c_cur VALUES (1,'v1'),(2,'v2'),(3,'v3'),(4,'v4'),(5,'v5'),"
        "(6,'v6'),(7,'v7'),(8,'v8'),(9,'v9'),(10,'v10')",
        "CREATE TABLE IF NOT EXISTS test.c_types (id INT AUTO_INCREMENT PRIMARY KEY,"
        " tag VARCHAR(64), c_tiny TINYINT, c_utiny TINYINT UNSIGNED, c_short SMALLINT,"
        " c_ushort SMALLINT UNSIGNED, c_long INT, c_ulong INT UNSIGNED, c_ll BIGINT,"
        " c_ull BIGINT UNSIGNED, c_float FLOAT, c_double DOUBLE, c_dec DECIMAL(20,6),"
        " c_date DATE, c_time TIME(6), c_dt DATETIME(6), c_ts TIMESTAMP(6) NULL DEFAULT NULL,"
        " c_year YEAR, c_vc VARCHAR(100), c_blob BLOB, KEY(tag))",
        "CREATE TABLE IF NOT EXISTS test.c_blob (id INT AUTO_INCREMENT PRIMARY KEY,"
        " tag VARCHAR(64), b LONGBLOB, KEY(tag))",
        "CREATE TABLE IF NOT EXISTS test.c_fields (a INT NOT NULL PRIMARY KEY, b VARCHAR(10),"
        " c DATETIME(3))",
        "CREATE TABLE IF NOT EXISTS test.c_load (id INT, tag VARCHAR(64), v VARCHAR(64),"
        " KEY(tag))",
        "CREATE TABLE IF NOT EXISTS test.c_explain (id INT AUTO_INCREMENT PRIMARY KEY,"
        " tag VARCHAR(64))",
        "CREATE PROCEDURE IF NOT EXISTS test.c_two_results()"
        " BEGIN SELECT 1 AS a, @@port AS p; SELECT 2 AS b, 'x' AS c; END",
    };
    CONNECT_PRIMARY(p);
    for (size_t i = 0; i < sizeof ddl / sizeof ddl[0]; i++)
        Q(p, ddl[i]);
    /* Wait until the objects reached every backend the tests read from. */
    CONNECT(m, cfg.db, 0, false);
    char why[512];
    CHECK(wait_value(m,
                     "SELECT (SELECT COUNT(*) FROM test.c_cur) + (SELECT COUNT(*) FROM"
                     " information_schema.tables WHERE table_schema='test' AND table_name IN"
                     " ('t_where','c_types','c_blob','c_fields','c_load','c_explain')) +"
                     " (SELECT COUNT(*) FROM information_schema.routines WHERE"
                     " routine_schema='test' AND routine_name='c_two_results')",
                     17, 4, why, sizeof why),
          "%s", why);
    rc = 0;
out:
    if (p)
        mysql_close(p);
    if (m)
        mysql_close(m);
    return rc;
}

/* ======================================================= prepared statements */

/* SELECT @@port, ? : reads execute on the replicas, alternating. */
static int t_ps_read_replica(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *sql = "SELECT @@port, ?";
    ST_CHECK(st, mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "prepare");
    CHECK(mysql_stmt_param_count(st) == 1, "param_count %lu", mysql_stmt_param_count(st));
    CHECK(mysql_stmt_field_count(st) == 2, "field_count %u", mysql_stmt_field_count(st));
    int in = 0;
    MYSQL_BIND pb[1];
    memset(pb, 0, sizeof pb);
    pb[0].buffer_type = MYSQL_TYPE_LONG;
    pb[0].buffer = &in;
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    long long port = 0, val = 0;
    MYSQL_BIND rb[2];
    memset(rb, 0, sizeof rb);
    rb[0].buffer_type = MYSQL_TYPE_LONGLONG;
    rb[0].buffer = &port;
    rb[1].buffer_type = MYSQL_TYPE_LONGLONG;
    rb[1].buffer = &val;
    ST_CHECK(st, mysql_stmt_bind_result(st, rb) == 0, "bind_result");
    long ports[6];
    for (int i = 0; i < 6; i++) {
        in = 100 + i; /* new value, same bind: new-params-bound = 0 */
        ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute");
        ST_CHECK(st, mysql_stmt_store_result(st) == 0, "store_result");
        CHECK(mysql_stmt_num_rows(st) == 1, "execute %d: %llu rows", i,
              (unsigned long long)mysql_stmt_num_rows(st));
        ST_CHECK(st, mysql_stmt_fetch(st) == 0, "fetch");
        CHECK(val == in, "execute %d: ? came back as %lld, sent %d", i, val, in);
        CHECK(mysql_stmt_fetch(st) == MYSQL_NO_DATA, "more than one row");
        ports[i] = (long)port;
        WANT_REPLICA(port, "prepared SELECT");
        if (i > 0 && !cfg.direct)
            CHECK(ports[i] != ports[i - 1], "executes %d and %d both ran on %ld (no alternation)",
                  i - 1, i, ports[i]);
    }
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* INSERT through a prepared statement lands on the primary. */
static int t_ps_write_primary(void)
{
    MYSQL *m = NULL, *p = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    char tag[64], sql[256];
    uniq(tag, sizeof tag, "psw");
    CONNECT(m, cfg.db, 0, false);
    CONNECT_PRIMARY(p);
    st = mysql_stmt_init(m);
    const char *ins = "INSERT INTO test.t_where (port, tag) VALUES (@@port, ?)";
    ST_CHECK(st, mysql_stmt_prepare(st, ins, strlen(ins)) == 0, "prepare");
    unsigned long tlen = strlen(tag);
    MYSQL_BIND pb[1];
    memset(pb, 0, sizeof pb);
    pb[0].buffer_type = MYSQL_TYPE_STRING;
    pb[0].buffer = tag;
    pb[0].length = &tlen;
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    for (int i = 0; i < 3; i++) {
        ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute");
        CHECK(mysql_stmt_affected_rows(st) == 1, "affected rows %llu",
              (unsigned long long)mysql_stmt_affected_rows(st));
        CHECK(mysql_stmt_insert_id(st) > 0, "insert_id 0");
    }
    struct row r;
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*), MIN(port), MAX(port) FROM test.t_where WHERE tag='%s'", tag);
    QROW(p, &r, sql);
    CHECK(atol(r.v[0]) == 3, "%s rows on the primary, expected 3", r.v[0]);
    WANT_PRIMARY(atol(r.v[1]), "prepared INSERT");
    WANT_PRIMARY(atol(r.v[2]), "prepared INSERT");
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    if (p)
        mysql_close(p);
    return rc;
}

/* Prepared reads inside a transaction execute on the primary. */
static int t_ps_trx_primary(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *sql = "SELECT @@port";
    ST_CHECK(st, mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "prepare");
    long long port = 0;
    MYSQL_BIND rb[1];
    memset(rb, 0, sizeof rb);
    rb[0].buffer_type = MYSQL_TYPE_LONGLONG;
    rb[0].buffer = &port;
    ST_CHECK(st, mysql_stmt_bind_result(st, rb) == 0, "bind_result");
#define EXEC_PORT(what)                                                                        \
    do {                                                                                       \
        ST_CHECK(st, mysql_stmt_execute(st) == 0, what);                                       \
        ST_CHECK(st, mysql_stmt_fetch(st) == 0, what);                                         \
        CHECK(mysql_stmt_fetch(st) == MYSQL_NO_DATA, "%s: more than one row", what);           \
    } while (0)
    for (int i = 0; i < 4; i++) {
        EXEC_PORT("execute before the transaction");
        WANT_REPLICA(port, "prepared SELECT before the transaction");
    }
    MY_CHECK(m, mysql_autocommit(m, 0) == 0, "autocommit(0)");
    for (int i = 0; i < 3; i++) {
        EXEC_PORT("execute with autocommit=0");
        WANT_PRIMARY(port, "prepared SELECT with autocommit=0");
    }
    MY_CHECK(m, mysql_commit(m) == 0, "commit");
    MY_CHECK(m, mysql_autocommit(m, 1) == 0, "autocommit(1)");
    for (int i = 0; i < 2; i++) {
        EXEC_PORT("execute after autocommit=1");
        WANT_REPLICA(port, "prepared SELECT after autocommit=1");
    }
    Q(m, "START TRANSACTION");
    for (int i = 0; i < 3; i++) {
        EXEC_PORT("execute in START TRANSACTION");
        WANT_PRIMARY(port, "prepared SELECT in START TRANSACTION");
    }
    Q(m, "COMMIT");
    for (int i = 0; i < 2; i++) {
        EXEC_PORT("execute after COMMIT");
        WANT_REPLICA(port, "prepared SELECT after COMMIT");
    }
#undef EXEC_PORT
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* ---- all parameter / result types */

#define NT 18
static const char *TV_COLS = "c_tiny, c_utiny, c_short, c_ushort, c_long, c_ulong, c_ll, c_ull,"
                             " c_float, c_double, c_dec, c_date, c_time, c_dt, c_ts, c_year,"
                             " c_vc, c_blob";
static const char *TV_NAMES[NT] = {"tiny",   "utiny",  "short", "ushort", "long", "ulong",
                                   "ll",     "ull",    "float", "double", "dec",  "date",
                                   "time",   "dt",     "ts",    "year",   "vc",   "blob"};
struct tv {
    signed char tiny;
    unsigned char utiny;
    short shrt;
    unsigned short ushrt;
    int lng;
    unsigned int ulng;
    long long ll;
    unsigned long long ull;
    float flt;
    double dbl;
    char dec[64];
    MYSQL_TIME date, time, dt, ts;
    short year;
    char vc[128];
    unsigned char blob[700];
    unsigned long len[NT];
    my_bool null[NT];
    my_bool err[NT];
};

static void set_time(MYSQL_TIME *t, enum enum_mysql_timestamp_type type, unsigned y, unsigned mo,
                     unsigned d, unsigned h, unsigned mi, unsigned s, unsigned long us, bool neg)
{
    memset(t, 0, sizeof *t);
    t->year = y;
    t->month = mo;
    t->day = d;
    t->hour = h;
    t->minute = mi;
    t->second = s;
    t->second_part = us;
    t->neg = neg;
    t->time_type = type;
}

static void fill_tv(struct tv *v, int variant)
{
    memset(v, 0, sizeof *v);
    if (variant == 0) {
        v->tiny = -128;
        v->utiny = 255;
        v->shrt = -32768;
        v->ushrt = 65535;
        v->lng = -2147483647 - 1;
        v->ulng = 4294967295u;
        v->ll = -9223372036854775807LL - 1;
        v->ull = 18446744073709551615ULL;
        v->flt = 1.5f;
        v->dbl = 3.141592653589793;
        strcpy(v->dec, "-12345678901234.123456");
        set_time(&v->date, MYSQL_TIMESTAMP_DATE, 1999, 12, 31, 0, 0, 0, 0, false);
        /* -838:59:58.999999. Connector/C sends MYSQL_TIME.hour in one byte of
         * the binary TIME (hour 838 would arrive as 70): put whole days in .day */
        set_time(&v->time, MYSQL_TIMESTAMP_TIME, 0, 0, 34, 22, 59, 58, 999999, true);
        set_time(&v->dt, MYSQL_TIMESTAMP_DATETIME, 2024, 2, 29, 23, 59, 58, 123456, false);
        set_time(&v->ts, MYSQL_TIMESTAMP_DATETIME, 2030, 1, 2, 3, 4, 5, 654321, false);
        v->year = 2155;
        strcpy(v->vc, "h\xc3\xa9llo w\xc3\xb6rld");
        v->len[17] = 600;
        for (unsigned i = 0; i < 600; i++)
            v->blob[i] = (unsigned char)((i * 31u) & 0xff); /* zero bytes included */
    } else {
        v->tiny = 127;
        v->utiny = 0;
        v->shrt = 32767;
        v->ushrt = 1;
        v->lng = 2147483647;
        v->ulng = 2147483648u;
        v->ll = 9223372036854775807LL;
        v->ull = 9223372036854775808ULL;
        v->flt = -0.25f;
        v->dbl = -2.5e100;
        strcpy(v->dec, "0.000001");
        set_time(&v->date, MYSQL_TIMESTAMP_DATE, 1000, 1, 1, 0, 0, 0, 0, false);
        set_time(&v->time, MYSQL_TIMESTAMP_TIME, 0, 0, 0, 1, 2, 3, 4, false);
        set_time(&v->dt, MYSQL_TIMESTAMP_DATETIME, 1970, 1, 2, 0, 0, 0, 1, false);
        set_time(&v->ts, MYSQL_TIMESTAMP_DATETIME, 2001, 9, 9, 1, 46, 40, 0, false);
        v->year = 1901;
        memset(v->vc, 'z', 100);
        v->vc[0] = 'a';
        v->len[17] = 3; /* three zero bytes */
    }
    v->len[10] = strlen(v->dec);
    v->len[16] = strlen(v->vc);
}

static void bind1(MYSQL_BIND *b, enum enum_field_types t, void *buf, unsigned long blen, bool uns,
                  unsigned long *len, my_bool *isnull, my_bool *err)
{
    memset(b, 0, sizeof *b);
    b->buffer_type = t;
    b->buffer = buf;
    b->buffer_length = blen;
    b->is_unsigned = uns;
    b->length = len;
    b->is_null = isnull;
    b->error = err;
}

/* 18 binds over v, in TV_COLS order. */
static void bind_tv(MYSQL_BIND *b, struct tv *v)
{
#define B(i, t, buf, blen, uns) bind1(&b[i], t, buf, blen, uns, &v->len[i], &v->null[i], &v->err[i])
    B(0, MYSQL_TYPE_TINY, &v->tiny, 0, false);
    B(1, MYSQL_TYPE_TINY, &v->utiny, 0, true);
    B(2, MYSQL_TYPE_SHORT, &v->shrt, 0, false);
    B(3, MYSQL_TYPE_SHORT, &v->ushrt, 0, true);
    B(4, MYSQL_TYPE_LONG, &v->lng, 0, false);
    B(5, MYSQL_TYPE_LONG, &v->ulng, 0, true);
    B(6, MYSQL_TYPE_LONGLONG, &v->ll, 0, false);
    B(7, MYSQL_TYPE_LONGLONG, &v->ull, 0, true);
    B(8, MYSQL_TYPE_FLOAT, &v->flt, 0, false);
    B(9, MYSQL_TYPE_DOUBLE, &v->dbl, 0, false);
    B(10, MYSQL_TYPE_NEWDECIMAL, v->dec, sizeof v->dec, false);
    B(11, MYSQL_TYPE_DATE, &v->date, sizeof v->date, false);
    B(12, MYSQL_TYPE_TIME, &v->time, sizeof v->time, false);
    B(13, MYSQL_TYPE_DATETIME, &v->dt, sizeof v->dt, false);
    B(14, MYSQL_TYPE_TIMESTAMP, &v->ts, sizeof v->ts, false);
    /* YEAR: MariaDB 10.11 does not accept MYSQL_TYPE_YEAR as a parameter type
     * (reads it as a string: the following parameters shift); SHORT works. */
    B(15, MYSQL_TYPE_SHORT, &v->year, 0, false);
    B(16, MYSQL_TYPE_VAR_STRING, v->vc, sizeof v->vc, false);
    B(17, MYSQL_TYPE_BLOB, v->blob, sizeof v->blob, false);
#undef B
}

/* kind: 'd' date, 't' time (days and hours compared as total hours), 'x' datetime */
static bool time_eq(const MYSQL_TIME *a, const MYSQL_TIME *b, char kind)
{
    if (kind == 't')
        return a->day * 24 + a->hour == b->day * 24 + b->hour && a->minute == b->minute &&
               a->second == b->second && a->second_part == b->second_part &&
               (bool)a->neg == (bool)b->neg;
    if (a->year != b->year || a->month != b->month || a->day != b->day)
        return false;
    if (kind == 'd')
        return true;
    return a->hour == b->hour && a->minute == b->minute && a->second == b->second &&
           a->second_part == b->second_part && (bool)a->neg == (bool)b->neg;
}

static void fmt_time(char *buf, size_t n, const MYSQL_TIME *t)
{
    snprintf(buf, n, "%s%04u-%02u-%02u %02u:%02u:%02u.%06lu", t->neg ? "-" : "", t->year, t->month,
             t->day, t->hour, t->minute, t->second, t->second_part);
}

/* Compare expected vs fetched; all_null: every column must be NULL. */
static bool tv_equal(const struct tv *e, const struct tv *g, bool all_null, char *why, size_t n)
{
    for (int i = 0; i < NT; i++) {
        if (g->null[i] != all_null) {
            snprintf(why, n, "column %s: is_null=%d, expected %d", TV_NAMES[i], g->null[i],
                     all_null);
            return false;
        }
    }
    if (all_null)
        return true;
#define NE(i, cond, fmt, ...)                                                                  \
    if (cond) {                                                                                \
        snprintf(why, n, "column %s: " fmt, TV_NAMES[i], __VA_ARGS__);                         \
        return false;                                                                          \
    }
    NE(0, e->tiny != g->tiny, "%d != %d", g->tiny, e->tiny);
    NE(1, e->utiny != g->utiny, "%u != %u", g->utiny, e->utiny);
    NE(2, e->shrt != g->shrt, "%d != %d", g->shrt, e->shrt);
    NE(3, e->ushrt != g->ushrt, "%u != %u", g->ushrt, e->ushrt);
    NE(4, e->lng != g->lng, "%d != %d", g->lng, e->lng);
    NE(5, e->ulng != g->ulng, "%u != %u", g->ulng, e->ulng);
    NE(6, e->ll != g->ll, "%lld != %lld", g->ll, e->ll);
    NE(7, e->ull != g->ull, "%llu != %llu", g->ull, e->ull);
    NE(8, e->flt != g->flt, "%g != %g", (double)g->flt, (double)e->flt);
    NE(9, e->dbl != g->dbl, "%.17g != %.17g", g->dbl, e->dbl);
    NE(10, g->len[10] != strlen(e->dec) || memcmp(g->dec, e->dec, g->len[10]) != 0,
       "'%.*s' != '%s'", (int)g->len[10], g->dec, e->dec);
    char a[64], b[64];
    fmt_time(a, sizeof a, &g->date);
    fmt_time(b, sizeof b, &e->date);
    NE(11, !time_eq(&e->date, &g->date, 'd'), "%s != %s", a, b);
    fmt_time(a, sizeof a, &g->time);
    fmt_time(b, sizeof b, &e->time);
    NE(12, !time_eq(&e->time, &g->time, 't'), "%s != %s", a, b);
    fmt_time(a, sizeof a, &g->dt);
    fmt_time(b, sizeof b, &e->dt);
    NE(13, !time_eq(&e->dt, &g->dt, 'x'), "%s != %s", a, b);
    fmt_time(a, sizeof a, &g->ts);
    fmt_time(b, sizeof b, &e->ts);
    NE(14, !time_eq(&e->ts, &g->ts, 'x'), "%s != %s", a, b);
    NE(15, e->year != g->year, "%d != %d", g->year, e->year);
    NE(16, g->len[16] != strlen(e->vc) || memcmp(g->vc, e->vc, g->len[16]) != 0,
       "'%.*s' != '%s'", (int)g->len[16], g->vc, e->vc);
    NE(17, g->len[17] != e->len[17] || memcmp(g->blob, e->blob, e->len[17]) != 0,
       "%lu bytes (differ from the %lu sent)", g->len[17], e->len[17]);
#undef NE
    return true;
}

/* Insert rows with every type (and one all-NULL row) through a prepared
 * INSERT, read them back with a prepared SELECT on the replicas (binary result
 * rows), and on the primary inside a transaction. */
static int t_ps_types(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *ins = NULL, *sel = NULL;
    int rc = 1;
    char tag[64], sql[1024], why[512];
    uniq(tag, sizeof tag, "pst");
    CONNECT(m, cfg.db, 0, false);
    ins = mysql_stmt_init(m);
    sel = mysql_stmt_init(m);
    snprintf(sql, sizeof sql,
             "INSERT INTO test.c_types (tag, %s) VALUES (?, ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
             TV_COLS);
    ST_CHECK(ins, mysql_stmt_prepare(ins, sql, strlen(sql)) == 0, "prepare INSERT");
    CHECK(mysql_stmt_param_count(ins) == NT + 1, "param_count %lu",
          mysql_stmt_param_count(ins));
    snprintf(sql, sizeof sql, "SELECT %s, @@port FROM test.c_types WHERE tag = ? ORDER BY id",
             TV_COLS);
    ST_CHECK(sel, mysql_stmt_prepare(sel, sql, strlen(sql)) == 0, "prepare SELECT");

    static struct tv in, out_v, expect[3];
    char rowtag[3][256], cur_tag[256];
    unsigned long taglen;
    MYSQL_BIND pb[NT + 1];
    bind1(&pb[0], MYSQL_TYPE_STRING, cur_tag, sizeof cur_tag, false, &taglen, NULL, NULL);
    /* One bind_param, three executes with new values (variant 0, variant 1, all NULL). */
    fill_tv(&in, 0);
    bind_tv(&pb[1], &in);
    ST_CHECK(ins, mysql_stmt_bind_param(ins, pb) == 0, "bind_param INSERT");
    for (int v = 0; v < 3; v++) {
        snprintf(rowtag[v], sizeof rowtag[v], "%s_%d", tag, v);
        /* same binds, new contents: executes 2 and 3 send new-params-bound = 0 */
        strcpy(cur_tag, rowtag[v]);
        taglen = strlen(cur_tag);
        fill_tv(&in, v == 2 ? 0 : v);
        for (int i = 0; i < NT; i++)
            in.null[i] = v == 2;
        expect[v] = in;
        ST_CHECK(ins, mysql_stmt_execute(ins) == 0, "execute INSERT");
        CHECK(mysql_stmt_affected_rows(ins) == 1, "INSERT affected %llu rows",
              (unsigned long long)mysql_stmt_affected_rows(ins));
    }

    MYSQL_BIND sp[1], rb[NT + 1];
    unsigned long sel_taglen;
    char sel_tag[256];
    bind1(&sp[0], MYSQL_TYPE_STRING, sel_tag, sizeof sel_tag, false, &sel_taglen, NULL, NULL);
    ST_CHECK(sel, mysql_stmt_bind_param(sel, sp) == 0, "bind_param SELECT");
    long long port = 0;
    bind_tv(rb, &out_v);
    bind1(&rb[NT], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    ST_CHECK(sel, mysql_stmt_bind_result(sel, rb) == 0, "bind_result");

    for (int v = 0; v < 3; v++) {
        strcpy(sel_tag, rowtag[v]);
        sel_taglen = strlen(sel_tag);
        /* Twice per row: both replicas must have it (wait for replication). */
        int good = 0;
        double deadline = now_s() + 15;
        while (good < 2) {
            CHECK(now_s() < deadline, "row %d never showed up on a replica", v);
            ST_CHECK(sel, mysql_stmt_execute(sel) == 0, "execute SELECT");
            memset(&out_v, 0, sizeof out_v);
            int f = mysql_stmt_fetch(sel);
            if (f == MYSQL_NO_DATA) {
                good = 0;
                sleep_ms(50);
                continue;
            }
            if (f == MYSQL_DATA_TRUNCATED) {
                for (int i = 0; i < NT; i++)
                    CHECK(!out_v.err[i], "row %d: column %s truncated", v, TV_NAMES[i]);
            }
            ST_CHECK(sel, f == 0 || f == MYSQL_DATA_TRUNCATED, "fetch");
            CHECK(mysql_stmt_fetch(sel) == MYSQL_NO_DATA, "row %d: more than one row", v);
            WANT_REPLICA(port, "prepared SELECT of typed row");
            CHECK(tv_equal(&expect[v], &out_v, v == 2, why, sizeof why), "row %d via port %lld: %s",
                  v, port, why);
            good++;
        }
    }
    /* The same statement inside a transaction: primary, same values. */
    Q(m, "START TRANSACTION");
    for (int v = 0; v < 3; v++) {
        strcpy(sel_tag, rowtag[v]);
        sel_taglen = strlen(sel_tag);
        ST_CHECK(sel, mysql_stmt_execute(sel) == 0, "execute SELECT in transaction");
        memset(&out_v, 0, sizeof out_v);
        int f = mysql_stmt_fetch(sel);
        ST_CHECK(sel, f == 0, "fetch in transaction");
        CHECK(mysql_stmt_fetch(sel) == MYSQL_NO_DATA, "more than one row");
        WANT_PRIMARY(port, "prepared SELECT in a transaction");
        CHECK(tv_equal(&expect[v], &out_v, v == 2, why, sizeof why), "row %d on primary: %s", v,
              why);
    }
    Q(m, "COMMIT");
    rc = 0;
out:
    if (ins)
        mysql_stmt_close(ins);
    if (sel)
        mysql_stmt_close(sel);
    if (m)
        mysql_close(m);
    return rc;
}

/* SELECT ?,?,... (every type) , @@port: parameters of every type reach a
 * replica intact and come back; then the same with NULLs (null bitmap); the
 * statement is re-executed with new values without rebinding. */
static int t_ps_types_echo(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    char why[512];
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *sql = "SELECT ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, @@port";
    ST_CHECK(st, mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "prepare");
    static struct tv in, out_v;
    MYSQL_BIND pb[NT], rb[NT + 1];
    fill_tv(&in, 0);
    bind_tv(pb, &in);
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    long long port = 0;
    bind_tv(rb, &out_v);
    bind1(&rb[NT], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    long prev = -1;
    for (int round = 0; round < 4; round++) {
        int variant = round % 2;
        bool nulls = round == 3;
        /* change the bound buffers in place: no mysql_stmt_bind_param */
        fill_tv(&in, variant);
        for (int i = 0; i < NT; i++)
            in.null[i] = nulls;
        ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute");
        ST_CHECK(st, mysql_stmt_bind_result(st, rb) == 0, "bind_result");
        memset(&out_v, 0, sizeof out_v);
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_DATA_TRUNCATED)
            for (int i = 0; i < NT; i++)
                CHECK(!out_v.err[i], "round %d: column %s truncated", round, TV_NAMES[i]);
        ST_CHECK(st, f == 0 || f == MYSQL_DATA_TRUNCATED, "fetch");
        CHECK(mysql_stmt_fetch(st) == MYSQL_NO_DATA, "more than one row");
        WANT_REPLICA(port, "prepared SELECT ?...");
        if (!cfg.direct && prev >= 0)
            CHECK(port != prev, "executes %d and %d both ran on %lld", round - 1, round, port);
        prev = (long)port;
        CHECK(tv_equal(&in, &out_v, nulls, why, sizeof why), "round %d (port %lld): %s", round,
              port, why);
    }
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* ---- long data */

#define LD_CHUNK (300 * 1024)
#define LD_CHUNKS 5

static void ld_fill(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 7u + (i >> 8) + seed) & 0xff);
}

/* mysql_stmt_send_long_data (5 chunks, 1.5 MiB) for a BLOB of an INSERT:
 * the row lands intact on the primary. */
static int t_ps_long_data_insert(void)
{
    MYSQL *m = NULL, *p = NULL;
    MYSQL_STMT *st = NULL;
    unsigned char *data = NULL;
    MYSQL_RES *res = NULL;
    int rc = 1;
    char tag[64], sql[256];
    uniq(tag, sizeof tag, "ld");
    size_t total = (size_t)LD_CHUNK * LD_CHUNKS;
    data = malloc(total);
    CHECK(data, "malloc");
    ld_fill(data, total, 3);
    CONNECT(m, cfg.db, 0, false);
    CONNECT_PRIMARY(p);
    st = mysql_stmt_init(m);
    const char *ins = "INSERT INTO test.c_blob (tag, b) VALUES (?, ?)";
    ST_CHECK(st, mysql_stmt_prepare(st, ins, strlen(ins)) == 0, "prepare");
    unsigned long taglen = strlen(tag);
    MYSQL_BIND pb[2];
    bind1(&pb[0], MYSQL_TYPE_STRING, tag, 0, false, &taglen, NULL, NULL);
    bind1(&pb[1], MYSQL_TYPE_LONG_BLOB, NULL, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    for (int c = 0; c < LD_CHUNKS; c++)
        ST_CHECK(st, mysql_stmt_send_long_data(st, 1, (const char *)data + (size_t)c * LD_CHUNK,
                                               LD_CHUNK) == 0,
                 "send_long_data");
    ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute");
    CHECK(mysql_stmt_affected_rows(st) == 1, "affected rows %llu",
          (unsigned long long)mysql_stmt_affected_rows(st));
    snprintf(sql, sizeof sql, "SELECT b FROM test.c_blob WHERE tag='%s'", tag);
    MY_CHECK(p, mysql_query(p, sql) == 0, sql);
    res = mysql_store_result(p);
    MY_CHECK(p, res != NULL, "store_result");
    CHECK(mysql_num_rows(res) == 1, "%llu rows on the primary, expected 1",
          (unsigned long long)mysql_num_rows(res));
    MYSQL_ROW row = mysql_fetch_row(res);
    unsigned long *len = mysql_fetch_lengths(res);
    CHECK(row && row[0], "NULL blob");
    CHECK(len[0] == total, "blob of %lu bytes on the primary, sent %zu", len[0], total);
    CHECK(memcmp(row[0], data, total) == 0, "blob content differs");
    rc = 0;
out:
    if (res)
        mysql_free_result(res);
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    if (p)
        mysql_close(p);
    free(data);
    return rc;
}

/* send_long_data + execute of a read (SELECT LENGTH(?), @@port), twice (long
 * data is consumed by each execute), on the replicas. */
static int t_ps_long_data_read(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    unsigned char *data = NULL;
    int rc = 1;
    size_t total = (size_t)LD_CHUNK * LD_CHUNKS;
    data = malloc(total);
    CHECK(data, "malloc");
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *sql = "SELECT LENGTH(?), LENGTH(?), @@port";
    ST_CHECK(st, mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "prepare");
    MYSQL_BIND pb[2];
    bind1(&pb[0], MYSQL_TYPE_LONG_BLOB, NULL, 0, false, NULL, NULL, NULL);
    bind1(&pb[1], MYSQL_TYPE_LONG_BLOB, NULL, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    long long len = 0, len1 = 0, port = 0;
    MYSQL_BIND rb[3];
    bind1(&rb[0], MYSQL_TYPE_LONGLONG, &len, 0, false, NULL, NULL, NULL);
    bind1(&rb[1], MYSQL_TYPE_LONGLONG, &len1, 0, false, NULL, NULL, NULL);
    bind1(&rb[2], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_result(st, rb) == 0, "bind_result");
    long prev = -1;
    for (int round = 0; round < 3; round++) {
        size_t n = total - (size_t)round * 1000;
        ld_fill(data, n, (unsigned)round);
        for (size_t off = 0; off < n; off += LD_CHUNK) {
            size_t c = n - off < LD_CHUNK ? n - off : LD_CHUNK;
            ST_CHECK(st, mysql_stmt_send_long_data(st, 0, (const char *)data + off, c) == 0,
                     "send_long_data 0");
            if (off == 0) /* the second parameter gets the first chunk only */
                ST_CHECK(st, mysql_stmt_send_long_data(st, 1, (const char *)data + off, c) == 0,
                         "send_long_data 1");
        }
        ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute");
        ST_CHECK(st, mysql_stmt_fetch(st) == 0, "fetch");
        CHECK(mysql_stmt_fetch(st) == MYSQL_NO_DATA, "more than one row");
        CHECK(len == (long long)n, "round %d: LENGTH(?) = %lld, sent %zu bytes", round, len, n);
        CHECK(len1 == LD_CHUNK, "round %d: second LENGTH(?) = %lld, sent %d bytes", round, len1,
              LD_CHUNK);
        WANT_REPLICA(port, "SELECT LENGTH(?) with long data");
        if (!cfg.direct && prev >= 0)
            CHECK(port != prev, "two executes in a row on %lld", port);
        prev = (long)port;
    }
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    free(data);
    return rc;
}

/* ---- cursors */

static int cursor_stmt(MYSQL *m, MYSQL_STMT **out, const char *sql, unsigned long prefetch)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    *out = st;
    if (!st)
        return 1;
    unsigned long type = CURSOR_TYPE_READ_ONLY;
    if (mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &type))
        return 1;
    if (mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &prefetch))
        return 1;
    return mysql_stmt_prepare(st, sql, strlen(sql));
}

/* A read-only cursor with prefetch 2 over 10 rows: every row arrives (the
 * COM_STMT_FETCHes reach the backend holding the cursor); two cursors open at
 * once, fetched alternately. */
static int t_ps_cursor(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *a = NULL, *b = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    const char *sql = "SELECT id, v, @@port FROM test.c_cur WHERE id <= 10 ORDER BY id";
    ST_CHECK(a, cursor_stmt(m, &a, sql, 2) == 0, "prepare cursor a");
    ST_CHECK(b, cursor_stmt(m, &b, sql, 2) == 0, "prepare cursor b");
    int ida = 0, idb = 0;
    long long pa = 0, pb_ = 0;
    char va[16], vb[16];
    unsigned long la = 0, lb = 0;
    MYSQL_BIND ra[3], rbd[3];
    bind1(&ra[0], MYSQL_TYPE_LONG, &ida, 0, false, NULL, NULL, NULL);
    bind1(&ra[1], MYSQL_TYPE_STRING, va, sizeof va, false, &la, NULL, NULL);
    bind1(&ra[2], MYSQL_TYPE_LONGLONG, &pa, 0, false, NULL, NULL, NULL);
    bind1(&rbd[0], MYSQL_TYPE_LONG, &idb, 0, false, NULL, NULL, NULL);
    bind1(&rbd[1], MYSQL_TYPE_STRING, vb, sizeof vb, false, &lb, NULL, NULL);
    bind1(&rbd[2], MYSQL_TYPE_LONGLONG, &pb_, 0, false, NULL, NULL, NULL);
    ST_CHECK(a, mysql_stmt_bind_result(a, ra) == 0, "bind_result a");
    ST_CHECK(b, mysql_stmt_bind_result(b, rbd) == 0, "bind_result b");

    /* One cursor alone, twice (both replicas). */
    for (int round = 0; round < 2; round++) {
        ST_CHECK(a, mysql_stmt_execute(a) == 0, "execute cursor");
        CHECK(mysql_stmt_field_count(a) == 3, "field_count %u", mysql_stmt_field_count(a));
        long first = -1;
        for (int i = 1; i <= 10; i++) {
            int f = mysql_stmt_fetch(a);
            ST_CHECK(a, f == 0, "fetch");
            CHECK(ida == i, "round %d: row %d has id %d", round, i, ida);
            char want[16];
            snprintf(want, sizeof want, "v%d", i);
            CHECK(la == strlen(want) && memcmp(va, want, la) == 0, "row %d: v '%.*s'", i, (int)la,
                  va);
            if (first < 0)
                first = (long)pa;
            WANT_SAME(first, pa, "cursor row");
            WANT_REPLICA(pa, "cursor SELECT");
        }
        ST_CHECK(a, mysql_stmt_fetch(a) == MYSQL_NO_DATA, "fetch after the last row");
        ST_CHECK(a, mysql_stmt_free_result(a) == 0, "free_result");
    }

    /* A cursor open while text reads run in between fetches. */
    ST_CHECK(a, mysql_stmt_execute(a) == 0, "execute cursor (interleaved with text)");
    for (int i = 1; i <= 10; i++) {
        ST_CHECK(a, mysql_stmt_fetch(a) == 0, "fetch between text reads");
        CHECK(ida == i, "row %d has id %d (text reads in between)", i, ida);
        WANT_REPLICA(pa, "cursor");
        struct row tr;
        QROW(m, &tr, "SELECT @@port");
        WANT_REPLICA(last_port(&tr), "text SELECT while a cursor is open");
    }
    ST_CHECK(a, mysql_stmt_fetch(a) == MYSQL_NO_DATA, "after the last row");

    /* Two cursors open at once, fetched alternately. */
    ST_CHECK(a, mysql_stmt_execute(a) == 0, "execute cursor a");
    ST_CHECK(b, mysql_stmt_execute(b) == 0, "execute cursor b");
    for (int i = 1; i <= 10; i++) {
        ST_CHECK(a, mysql_stmt_fetch(a) == 0, "fetch a");
        ST_CHECK(b, mysql_stmt_fetch(b) == 0, "fetch b");
        CHECK(ida == i && idb == i, "interleaved row %d: ids %d and %d", i, ida, idb);
        WANT_REPLICA(pa, "cursor a");
        WANT_REPLICA(pb_, "cursor b");
    }
    ST_CHECK(a, mysql_stmt_fetch(a) == MYSQL_NO_DATA, "a after the last row");
    ST_CHECK(b, mysql_stmt_fetch(b) == MYSQL_NO_DATA, "b after the last row");

    /* The connection is usable for text queries afterwards. */
    WANT_ROTATE(m, 4, "SELECT @@port after cursors");
    rc = 0;
out:
    if (a)
        mysql_stmt_close(a);
    if (b)
        mysql_stmt_close(b);
    if (m)
        mysql_close(m);
    return rc;
}

/* A cursor inside a transaction runs on the primary. */
static int t_ps_cursor_trx(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *a = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    const char *sql = "SELECT id, @@port FROM test.c_cur ORDER BY id";
    ST_CHECK(a, cursor_stmt(m, &a, sql, 3) == 0, "prepare cursor");
    int id = 0;
    long long port = 0;
    MYSQL_BIND rb[2];
    bind1(&rb[0], MYSQL_TYPE_LONG, &id, 0, false, NULL, NULL, NULL);
    bind1(&rb[1], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    ST_CHECK(a, mysql_stmt_bind_result(a, rb) == 0, "bind_result");
    Q(m, "START TRANSACTION");
    ST_CHECK(a, mysql_stmt_execute(a) == 0, "execute");
    int n = 0;
    int f;
    while ((f = mysql_stmt_fetch(a)) == 0) {
        n++;
        CHECK(id == n, "row %d has id %d", n, id);
        WANT_PRIMARY(port, "cursor in a transaction");
    }
    ST_CHECK(a, f == MYSQL_NO_DATA, "fetch");
    CHECK(n == 10, "%d rows, expected 10", n);
    Q(m, "COMMIT");
    rc = 0;
out:
    if (a)
        mysql_stmt_close(a);
    if (m)
        mysql_close(m);
    return rc;
}

/* mysql_stmt_reset: closes an open cursor (re-execute starts over) and
 * discards long data sent before it. */
static int t_ps_reset(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *a = NULL, *st = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    const char *sql = "SELECT id, @@port FROM test.c_cur ORDER BY id";
    ST_CHECK(a, cursor_stmt(m, &a, sql, 2) == 0, "prepare cursor");
    int id = 0;
    long long port = 0;
    MYSQL_BIND rb[2];
    bind1(&rb[0], MYSQL_TYPE_LONG, &id, 0, false, NULL, NULL, NULL);
    bind1(&rb[1], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    ST_CHECK(a, mysql_stmt_bind_result(a, rb) == 0, "bind_result");
    for (int round = 0; round < 3; round++) {
        ST_CHECK(a, mysql_stmt_execute(a) == 0, "execute");
        for (int i = 1; i <= 3; i++) {
            ST_CHECK(a, mysql_stmt_fetch(a) == 0, "fetch");
            CHECK(id == i, "round %d: row %d has id %d", round, i, id);
            WANT_REPLICA(port, "cursor");
        }
        ST_CHECK(a, mysql_stmt_reset(a) == 0, "stmt_reset with an open cursor");
    }
    ST_CHECK(a, mysql_stmt_execute(a) == 0, "execute after reset");
    int n = 0, f;
    while ((f = mysql_stmt_fetch(a)) == 0)
        CHECK(id == ++n, "row %d has id %d", n, id);
    ST_CHECK(a, f == MYSQL_NO_DATA, "fetch");
    CHECK(n == 10, "%d rows after reset, expected 10", n);

    /* long data then reset: the bound buffer is used instead. */
    st = mysql_stmt_init(m);
    const char *s2 = "SELECT LENGTH(?), @@port";
    ST_CHECK(st, mysql_stmt_prepare(st, s2, strlen(s2)) == 0, "prepare");
    char abc[] = "abc";
    unsigned long abclen = 3;
    MYSQL_BIND pb[1];
    bind1(&pb[0], MYSQL_TYPE_BLOB, abc, 0, false, &abclen, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    long long len = 0;
    MYSQL_BIND rb2[2];
    bind1(&rb2[0], MYSQL_TYPE_LONGLONG, &len, 0, false, NULL, NULL, NULL);
    bind1(&rb2[1], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_result(st, rb2) == 0, "bind_result");
    char junk[1000];
    memset(junk, 'j', sizeof junk);
    ST_CHECK(st, mysql_stmt_send_long_data(st, 0, junk, sizeof junk) == 0, "send_long_data");
    ST_CHECK(st, mysql_stmt_reset(st) == 0, "stmt_reset after long data");
    for (int i = 0; i < 2; i++) {
        ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute after reset");
        ST_CHECK(st, mysql_stmt_fetch(st) == 0, "fetch");
        CHECK(mysql_stmt_fetch(st) == MYSQL_NO_DATA, "more than one row");
        CHECK(len == 3, "LENGTH(?) = %lld after reset, expected 3 (long data not discarded?)",
              len);
        WANT_REPLICA(port, "SELECT LENGTH(?)");
    }
    rc = 0;
out:
    if (a)
        mysql_stmt_close(a);
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* Prepare 200 statements (reads and writes), execute each, close them all:
 * nothing fails, and a closed statement's id is unknown to the server side
 * (a COM_STMT_EXECUTE of it answers 1243). */
static int t_ps_many_close(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *sts[200] = {0};
    MYSQL_STMT *probe = NULL;
    int rc = 1;
    char sql[256], tag[64];
    uniq(tag, sizeof tag, "many");
    CONNECT(m, cfg.db, 0, false);
    for (int i = 0; i < 200; i++) {
        sts[i] = mysql_stmt_init(m);
        CHECK(sts[i], "stmt_init %d", i);
        if (i % 10 == 9)
            snprintf(sql, sizeof sql,
                     "INSERT INTO test.t_where (port, tag) VALUES (@@port + %d - %d, '%s')", i, i,
                     tag);
        else
            snprintf(sql, sizeof sql, "SELECT %d AS n, @@port", i);
        ST_CHECK(sts[i], mysql_stmt_prepare(sts[i], sql, strlen(sql)) == 0, "prepare");
    }
    for (int i = 0; i < 200; i++) {
        ST_CHECK(sts[i], mysql_stmt_execute(sts[i]) == 0, "execute");
        if (i % 10 == 9) {
            CHECK(mysql_stmt_affected_rows(sts[i]) == 1, "INSERT %d affected %llu rows", i,
                  (unsigned long long)mysql_stmt_affected_rows(sts[i]));
            continue;
        }
        long long n = -1, port = 0;
        MYSQL_BIND rb[2];
        bind1(&rb[0], MYSQL_TYPE_LONGLONG, &n, 0, false, NULL, NULL, NULL);
        bind1(&rb[1], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
        ST_CHECK(sts[i], mysql_stmt_bind_result(sts[i], rb) == 0, "bind_result");
        ST_CHECK(sts[i], mysql_stmt_fetch(sts[i]) == 0, "fetch");
        CHECK(n == i, "statement %d answered %lld", i, n);
        WANT_REPLICA(port, "prepared SELECT");
        ST_CHECK(sts[i], mysql_stmt_free_result(sts[i]) == 0, "free_result");
    }
    unsigned long closed_id = sts[0]->stmt_id;
    for (int i = 0; i < 200; i++) {
        CHECK(mysql_stmt_close(sts[i]) == 0, "stmt_close %d: %s", i, mysql_error(m));
        sts[i] = NULL;
    }
    struct row r;
    snprintf(sql, sizeof sql, "SELECT COUNT(*), MIN(port), MAX(port) FROM test.t_where WHERE tag='%s' FOR UPDATE", tag);
    QROW(m, &r, sql);
    CHECK(atol(r.v[0]) == 20, "%s rows inserted, expected 20", r.v[0]);
    WANT_PRIMARY(atol(r.v[1]), "prepared INSERT");
    WANT_PRIMARY(atol(r.v[2]), "prepared INSERT");

    /* Executing the closed id: take a fresh statement, make it carry the old id. */
    probe = mysql_stmt_init(m);
    const char *ps = "SELECT 1";
    ST_CHECK(probe, mysql_stmt_prepare(probe, ps, strlen(ps)) == 0, "prepare probe");
    unsigned long own_id = probe->stmt_id;
    probe->stmt_id = closed_id;
    int e = mysql_stmt_execute(probe);
    unsigned err = mysql_stmt_errno(probe);
    char errs[256];
    snprintf(errs, sizeof errs, "%s", mysql_stmt_error(probe));
    probe->stmt_id = own_id;
    CHECK(e != 0, "executing closed statement id %lu succeeded", closed_id);
    CHECK(err == 1243, "executing closed statement id %lu: error %u %s (expected 1243)",
          closed_id, err, errs);
    /* the connection is still fine */
    WANT_ROTATE(m, 4, "SELECT @@port after 200 statements");
    rc = 0;
out:
    for (int i = 0; i < 200; i++)
        if (sts[i])
            mysql_stmt_close(sts[i]);
    if (probe)
        mysql_stmt_close(probe);
    if (m)
        mysql_close(m);
    return rc;
}

/* A prepare error comes back as the server's error (1064, 1146), and the
 * connection and the statement handle stay usable. */
static int t_ps_prepare_error(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *bad = "SELEC 1";
    CHECK(mysql_stmt_prepare(st, bad, strlen(bad)) != 0, "prepare of '%s' succeeded", bad);
    CHECK(mysql_stmt_errno(st) == 1064, "prepare error %u %s, expected 1064",
          mysql_stmt_errno(st), mysql_stmt_error(st));
    CHECK(strcmp(mysql_stmt_sqlstate(st), "42000") == 0, "sqlstate %s", mysql_stmt_sqlstate(st));
    const char *missing = "SELECT * FROM test.c_no_such_table_xyz WHERE id = ?";
    CHECK(mysql_stmt_prepare(st, missing, strlen(missing)) != 0, "prepare of missing table ok");
    CHECK(mysql_stmt_errno(st) == 1146, "prepare error %u %s, expected 1146",
          mysql_stmt_errno(st), mysql_stmt_error(st));
    const char *good = "SELECT @@port";
    ST_CHECK(st, mysql_stmt_prepare(st, good, strlen(good)) == 0, "prepare after errors");
    long long port = 0;
    MYSQL_BIND rb[1];
    bind1(&rb[0], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_result(st, rb) == 0, "bind_result");
    ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute");
    ST_CHECK(st, mysql_stmt_fetch(st) == 0, "fetch");
    WANT_REPLICA(port, "prepared SELECT after a prepare error");
    /* an execute-time error (duplicate key) is the server's too */
    mysql_stmt_close(st);
    st = mysql_stmt_init(m);
    const char *dup = "INSERT INTO test.c_cur (id, v) VALUES (?, 'dup')";
    ST_CHECK(st, mysql_stmt_prepare(st, dup, strlen(dup)) == 0, "prepare INSERT");
    int one = 1;
    MYSQL_BIND pb[1];
    bind1(&pb[0], MYSQL_TYPE_LONG, &one, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    CHECK(mysql_stmt_execute(st) != 0, "duplicate INSERT succeeded");
    CHECK(mysql_stmt_errno(st) == 1062, "duplicate INSERT: error %u %s, expected 1062",
          mysql_stmt_errno(st), mysql_stmt_error(st));
    WANT_ROTATE(m, 4, "SELECT @@port after errors");
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* CALL of a procedure through a prepared statement: two result sets and the
 * final OK, on the primary. */
static int t_ps_call(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *sql = "CALL test.c_two_results()";
    ST_CHECK(st, mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "prepare CALL");
    for (int round = 0; round < 2; round++) {
        ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute CALL");
        int sets = 0;
        for (;;) {
            if (mysql_stmt_field_count(st) > 0) {
                long long a = 0, b = 0;
                MYSQL_BIND rb[2];
                bind1(&rb[0], MYSQL_TYPE_LONGLONG, &a, 0, false, NULL, NULL, NULL);
                char s[16];
                unsigned long sl = 0;
                if (sets == 0)
                    bind1(&rb[1], MYSQL_TYPE_LONGLONG, &b, 0, false, NULL, NULL, NULL);
                else
                    bind1(&rb[1], MYSQL_TYPE_STRING, s, sizeof s, false, &sl, NULL, NULL);
                ST_CHECK(st, mysql_stmt_bind_result(st, rb) == 0, "bind_result");
                ST_CHECK(st, mysql_stmt_fetch(st) == 0, "fetch");
                if (sets == 0) {
                    CHECK(a == 1, "first result: %lld", a);
                    WANT_PRIMARY(b, "CALL (prepared)");
                } else {
                    CHECK(a == 2 && sl == 1 && s[0] == 'x', "second result: %lld '%.*s'", a,
                          (int)sl, s);
                }
                CHECK(mysql_stmt_fetch(st) == MYSQL_NO_DATA, "result %d: more rows", sets);
                sets++;
            }
            int nr = mysql_stmt_next_result(st);
            ST_CHECK(st, nr <= 0, "stmt_next_result");
            if (nr < 0)
                break;
        }
        CHECK(sets == 2, "round %d: %d result sets, expected 2", round, sets);
    }
    /* The procedure may have set state the proxy cannot see: pinned. */
    WANT_PINNED(m, 4, "SELECT @@port after CALL");
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* SET @v = ? through a prepared statement is session state like a text SET:
 * later reads on the replicas see it. */
static int t_ps_session_state(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *sql = "SET @ps_v = ?";
    ST_CHECK(st, mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "prepare SET");
    int v = 7;
    MYSQL_BIND pb[1];
    bind1(&pb[0], MYSQL_TYPE_LONG, &v, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    for (int round = 0; round < 2; round++) {
        v = 7 + round;
        ST_CHECK(st, mysql_stmt_execute(st) == 0, "execute SET");
        for (int i = 0; i < 4; i++) {
            QROW(m, &r, "SELECT @ps_v, @@port");
            CHECK(!r.null[0] && atol(r.v[0]) == v, "@ps_v = %s on port %ld, set to %d",
                  r.null[0] ? "NULL" : r.v[0], last_port(&r), v);
            /* replayed on the replicas, or the session pinned to the primary:
             * both are correct; the value is what matters */
            if (last_port(&r) == (long)cfg.primary_port && !cfg.direct) {
                if (i == 0 && round == 0)
                    note("reads after a prepared SET run on the primary (pinned)");
            } else {
                WANT_REPLICA(last_port(&r), "SELECT @ps_v");
            }
        }
    }
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* ---- backend connections killed under a prepared statement */

/* The proxy's backend thread id on every replica, asked through the proxy
 * until each replica answered (the proxy keeps one connection per backend and
 * session). Not CONNECTION_ID(): the proxy sends that to the primary. The
 * query finds itself in the processlist by a marker in its own text.
 * ids[i] is for cfg.replica_ports[i]. */
static bool replica_thread_ids(MYSQL *m, unsigned long long *ids, char *why, size_t whyn)
{
    struct row r;
    char marker[64], sql[256];
    uniq(marker, sizeof marker, "sy_me");
    snprintf(sql, sizeof sql,
             "SELECT ID, @@port FROM information_schema.PROCESSLIST WHERE INFO LIKE '%%%s%%'",
             marker);
    for (int i = 0; i < cfg.n_replicas; i++)
        ids[i] = 0;
    for (int tries = 0; tries < 8 * cfg.n_replicas; tries++) {
        if (!query_row(m, sql, &r)) {
            snprintf(why, whyn, "%s: error %u %s", sql, mysql_errno(m), mysql_error(m));
            return false;
        }
        if (r.nrows != 1) {
            snprintf(why, whyn, "%s: %llu rows on port %ld", sql, r.nrows, last_port(&r));
            return false;
        }
        bool all = true;
        for (int i = 0; i < cfg.n_replicas; i++) {
            if (last_port(&r) == (long)cfg.replica_ports[i])
                ids[i] = strtoull(r.v[0], NULL, 10);
            all &= ids[i] != 0;
        }
        if (all)
            return true;
    }
    snprintf(why, whyn, "%s did not reach every replica (last on port %ld)", sql, last_port(&r));
    return false;
}

/* On the replica at `port` (a direct connection as the same account): check
 * that thread `id` is one of the account's other threads, KILL it, and wait
 * until it has left the processlist. */
static bool kill_backend_thread(unsigned port, unsigned long long id, char *why, size_t whyn)
{
    MYSQL *d = NULL;
    bool ok = false;
    char sql[256];
    struct row r;
    d = connect_ex("127.0.0.1", port, "test", 0, false, why, whyn);
    if (!d)
        return false;
    /* The proxy's connections are the account's threads other than this one,
     * with the session's database; the one to kill is the one this session's
     * reads reported (other proxies may use the sandbox at the same time). */
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*), MAX(DB) FROM information_schema.PROCESSLIST WHERE USER='%s'"
             " AND ID <> CONNECTION_ID() AND ID = %llu",
             cfg.user, id);
    if (!query_row(d, sql, &r)) {
        snprintf(why, whyn, "port %u: %s: error %u %s", port, sql, mysql_errno(d),
                 mysql_error(d));
        goto done;
    }
    if (atol(r.v[0]) != 1 || r.null[1] || strcmp(r.v[1], cfg.db) != 0) {
        snprintf(why, whyn, "port %u: thread %llu is not one of %s's other threads in db %s"
                 " (count %.20s, db %.64s)", port, id, cfg.user, cfg.db, r.v[0],
                 r.null[1] ? "NULL" : r.v[1]);
        goto done;
    }
    snprintf(sql, sizeof sql, "KILL %llu", id);
    if (!run_sql(d, sql)) {
        snprintf(why, whyn, "port %u: %s: error %u %s", port, sql, mysql_errno(d),
                 mysql_error(d));
        goto done;
    }
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %llu",
             id);
    for (double deadline = now_s() + 10;;) {
        if (!query_row(d, sql, &r)) {
            snprintf(why, whyn, "port %u: %s: error %u %s", port, sql, mysql_errno(d),
                     mysql_error(d));
            goto done;
        }
        if (atol(r.v[0]) == 0)
            break;
        if (now_s() > deadline) {
            snprintf(why, whyn, "port %u: thread %llu still there 10 s after KILL", port, id);
            goto done;
        }
        sleep_ms(20);
    }
    ok = true;
done:
    mysql_close(d);
    return ok;
}

/* Execute the bound `SELECT @@port, ?` n times with in = base + i: one row, ?
 * echoed, on a replica, every replica reached. */
static bool exec_reads(MYSQL_STMT *st, int *in, const long long *port, const long long *val,
                       int base, int n, const char *what, char *why, size_t whyn)
{
    bool seen[8] = {false};
    for (int i = 0; i < n; i++) {
        *in = base + i;
        if (mysql_stmt_execute(st) != 0 || mysql_stmt_store_result(st) != 0) {
            snprintf(why, whyn, "%s: execute %d: stmt error %u %s", what, i, mysql_stmt_errno(st),
                     mysql_stmt_error(st));
            return false;
        }
        if (mysql_stmt_num_rows(st) != 1 || mysql_stmt_fetch(st) != 0) {
            snprintf(why, whyn, "%s: execute %d: %llu rows (stmt error %u %s)", what, i,
                     (unsigned long long)mysql_stmt_num_rows(st), mysql_stmt_errno(st),
                     mysql_stmt_error(st));
            return false;
        }
        if (*val != *in) {
            snprintf(why, whyn, "%s: execute %d: ? came back as %lld, sent %d", what, i, *val,
                     *in);
            return false;
        }
        if (mysql_stmt_fetch(st) != MYSQL_NO_DATA) {
            snprintf(why, whyn, "%s: execute %d: more than one row", what, i);
            return false;
        }
        if (!cfg.direct && !is_replica_port((long)*port)) {
            snprintf(why, whyn, "%s: execute %d ran on port %lld, expected a replica", what, i,
                     *port);
            return false;
        }
        for (int r = 0; r < cfg.n_replicas; r++)
            seen[r] |= *port == (long long)cfg.replica_ports[r];
    }
    for (int r = 0; r < cfg.n_replicas && !cfg.direct; r++) {
        if (!seen[r]) {
            snprintf(why, whyn, "%s: %d executes never reached replica port %u", what, n,
                     cfg.replica_ports[r]);
            return false;
        }
    }
    return true;
}

/* A prepared read keeps working after the proxy's connections to both
 * replicas were killed under it (KILL from a direct connection to each
 * replica): the proxy notices, reconnects, replays the session state (@v) and
 * prepares the statement again on the new connections; the client sees no
 * error. */
static int t_ps_reconnect(void)
{
    MYSQL *m = NULL;
    MYSQL_STMT *st = NULL;
    int rc = 1;
    struct row r;
    char why[512];
    unsigned long long before[8], after[8];
    CONNECT(m, cfg.db, 0, false);
    st = mysql_stmt_init(m);
    const char *sql = "SELECT @@port, ?";
    ST_CHECK(st, mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "prepare");
    int in = 0;
    long long port = 0, val = 0;
    MYSQL_BIND pb[1], rb[2];
    bind1(&pb[0], MYSQL_TYPE_LONG, &in, 0, false, NULL, NULL, NULL);
    bind1(&rb[0], MYSQL_TYPE_LONGLONG, &port, 0, false, NULL, NULL, NULL);
    bind1(&rb[1], MYSQL_TYPE_LONGLONG, &val, 0, false, NULL, NULL, NULL);
    ST_CHECK(st, mysql_stmt_bind_param(st, pb) == 0, "bind_param");
    ST_CHECK(st, mysql_stmt_bind_result(st, rb) == 0, "bind_result");
    CHECK(exec_reads(st, &in, &port, &val, 100, 4, "before the kill", why, sizeof why), "%s",
          why);
    Q(m, "SET @v = 1");
    for (int i = 0; i < 2 * cfg.n_replicas; i++) {
        QROW(m, &r, "SELECT @v, @@port");
        CHECK(!r.null[0] && atol(r.v[0]) == 1, "@v = %s on port %ld before the kill",
              r.null[0] ? "NULL" : r.v[0], last_port(&r));
        WANT_REPLICA(last_port(&r), "SELECT @v before the kill");
    }
    CHECK(replica_thread_ids(m, before, why, sizeof why), "%s", why);
    for (int i = 0; i < cfg.n_replicas; i++)
        CHECK(kill_backend_thread(cfg.replica_ports[i], before[i], why, sizeof why), "%s", why);
    for (int i = 0; i < cfg.n_replicas; i++)
        note("killed the proxy's thread %llu on port %u", before[i], cfg.replica_ports[i]);
    /* the same statement handle: re-prepared on the new connections */
    CHECK(exec_reads(st, &in, &port, &val, 200, 6, "after the kill", why, sizeof why), "%s",
          why);
    for (int i = 0; i < 2 * cfg.n_replicas; i++) {
        QROW(m, &r, "SELECT @v, @@port");
        CHECK(!r.null[0] && atol(r.v[0]) == 1, "@v = %s on port %ld after the kill (not replayed)",
              r.null[0] ? "NULL" : r.v[0], last_port(&r));
        WANT_REPLICA(last_port(&r), "SELECT @v after the kill");
    }
    /* the proxy did reconnect: new threads on both replicas */
    CHECK(replica_thread_ids(m, after, why, sizeof why), "after the kill: %s", why);
    for (int i = 0; i < cfg.n_replicas; i++)
        CHECK(after[i] != before[i], "port %u: still thread %llu after KILL",
              cfg.replica_ports[i], after[i]);
    CHECK(exec_reads(st, &in, &port, &val, 300, 4, "after the reconnect", why, sizeof why),
          "%s", why);
    rc = 0;
out:
    if (st)
        mysql_stmt_close(st);
    if (m)
        mysql_close(m);
    return rc;
}

/* SQL-level PREPARE / EXECUTE / DEALLOCATE PREPARE (text protocol): EXECUTE
 * must run where the statement was prepared. */
static int t_sql_prepare_execute(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, cfg.db, 0, false);
    Q(m, "PREPARE s1 FROM 'SELECT ? + 1, @@port'");
    Q(m, "SET @a = 41");
    for (int i = 0; i < 4; i++) {
        QROW(m, &r, "EXECUTE s1 USING @a");
        CHECK(atol(r.v[0]) == 42, "EXECUTE s1 answered %s", r.v[0]);
    }
    /* EXECUTE may run a SET the proxy cannot see: pinned. */
    WANT_PINNED(m, 4, "SELECT @@port between EXECUTEs");
    QROW(m, &r, "EXECUTE s1 USING 1");
    CHECK(atol(r.v[0]) == 2, "EXECUTE s1 USING 1 answered %s", r.v[0]);
    Q(m, "DEALLOCATE PREPARE s1");
    CHECK(mysql_query(m, "EXECUTE s1 USING @a") != 0, "EXECUTE after DEALLOCATE succeeded");
    CHECK(mysql_errno(m) == 1243, "EXECUTE after DEALLOCATE: error %u %s (expected 1243)",
          mysql_errno(m), mysql_error(m));
    WANT_PINNED(m, 4, "SELECT @@port after DEALLOCATE");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* mysql_select_db (COM_INIT_DB): reads on every replica use the new database. */
static int t_select_db(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, "test", 0, false);
    MY_CHECK(m, mysql_select_db(m, "sbtest") == 0, "select_db sbtest");
    for (int i = 0; i < 4; i++) {
        QROW(m, &r, "SELECT DATABASE(), @@port");
        CHECK(strcmp(r.v[0], "sbtest") == 0, "DATABASE() = %s", r.v[0]);
        WANT_REPLICA(last_port(&r), "SELECT DATABASE()");
    }
    CHECK(mysql_select_db(m, "no_such_db_xyz") != 0, "select_db of a missing database succeeded");
    CHECK(mysql_errno(m) == 1044 || mysql_errno(m) == 1049, "select_db missing: error %u %s",
          mysql_errno(m), mysql_error(m));
    for (int i = 0; i < 4; i++) {
        QROW(m, &r, "SELECT DATABASE(), @@port");
        CHECK(strcmp(r.v[0], "sbtest") == 0, "DATABASE() = %s after a failed select_db", r.v[0]);
        WANT_REPLICA(last_port(&r), "SELECT DATABASE()");
    }
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* ========================================================= multi-statements */

/* All results of a multi-statement; ports[] = last column of each result set's
 * first row; affected[] = affected rows of each OK. */
static bool multi(MYSQL *m, const char *sql, long *ports, int *nsets, int *nstmts)
{
    *nsets = 0;
    *nstmts = 0;
    if (mysql_real_query(m, sql, strlen(sql)))
        return false;
    for (;;) {
        (*nstmts)++;
        MYSQL_RES *res = mysql_store_result(m);
        if (res) {
            struct row r;
            memset(&r, 0, sizeof r);
            read_result(m, res, &r);
            mysql_free_result(res);
            ports[(*nsets)++] = last_port(&r);
        } else if (mysql_field_count(m) != 0) {
            return false;
        }
        int n = mysql_next_result(m);
        if (n > 0)
            return false;
        if (n < 0)
            return true;
    }
}

static int t_multi_read_replica(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, CLIENT_MULTI_STATEMENTS, false);
    long ports[8], seen[4];
    int ns, nt;
    for (int round = 0; round < 4; round++) {
        MY_CHECK(m, multi(m, "SELECT @@port; SELECT @@port", ports, &ns, &nt), "multi SELECT");
        CHECK(ns == 2, "%d result sets, expected 2", ns);
        WANT_REPLICA(ports[0], "multi-statement read");
        WANT_SAME(ports[0], ports[1], "second SELECT of a multi-statement");
        seen[round] = ports[0];
    }
    if (!cfg.direct)
        CHECK(seen[0] != seen[1] || seen[1] != seen[2], "multi-statement reads never rotate");
    WANT_ROTATE(m, 4, "SELECT @@port after multi-statements");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

static int t_multi_write_primary(void)
{
    MYSQL *m = NULL, *p = NULL;
    int rc = 1;
    char tag[64], sql[512];
    uniq(tag, sizeof tag, "mw");
    CONNECT(m, cfg.db, CLIENT_MULTI_STATEMENTS, false);
    CONNECT_PRIMARY(p);
    snprintf(sql, sizeof sql,
             "INSERT INTO test.t_where (port, tag) VALUES (@@port, '%s'); SELECT @@port; "
             "SELECT 7, @@port",
             tag);
    MY_CHECK(m, mysql_query(m, sql) == 0, "INSERT; SELECT");
    CHECK(mysql_field_count(m) == 0, "first result is not an OK");
    CHECK(mysql_affected_rows(m) == 1, "INSERT affected %llu", (unsigned long long)mysql_affected_rows(m));
    MY_CHECK(m, mysql_next_result(m) == 0, "next_result");
    MYSQL_RES *res = mysql_store_result(m);
    MY_CHECK(m, res != NULL, "store_result");
    struct row r;
    memset(&r, 0, sizeof r);
    read_result(m, res, &r);
    mysql_free_result(res);
    WANT_PRIMARY(last_port(&r), "SELECT after INSERT in one multi-statement");
    MY_CHECK(m, mysql_next_result(m) == 0, "next_result");
    res = mysql_store_result(m);
    MY_CHECK(m, res != NULL, "store_result");
    memset(&r, 0, sizeof r);
    read_result(m, res, &r);
    mysql_free_result(res);
    CHECK(atol(r.v[0]) == 7, "third result %s", r.v[0]);
    WANT_PRIMARY(last_port(&r), "third statement");
    CHECK(mysql_next_result(m) == -1, "more results");
    snprintf(sql, sizeof sql, "SELECT port FROM test.t_where WHERE tag='%s'", tag);
    QROW(p, &r, sql);
    CHECK(r.nrows == 1, "%llu rows on the primary", r.nrows);
    WANT_PRIMARY(atol(r.v[0]), "INSERT in a multi-statement");
    WANT_ROTATE(m, 4, "SELECT @@port afterwards");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    if (p)
        mysql_close(p);
    return rc;
}

/* SET and USE inside a multi-statement are session state too: later reads on
 * the replicas see them. */
static int t_multi_session_state(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    long ports[8];
    int ns, nt;
    struct row r;
    CONNECT(m, "test", CLIENT_MULTI_STATEMENTS, false);
    MY_CHECK(m, multi(m, "SET @m = 5; USE sbtest; SELECT @m, @@port", ports, &ns, &nt),
             "SET; USE; SELECT");
    CHECK(ns == 1 && nt == 3, "%d result sets, %d results", ns, nt);
    WANT_PRIMARY(ports[0], "SELECT in a multi-statement with SET");
    for (int i = 0; i < 4; i++) {
        QROW(m, &r, "SELECT @m, DATABASE(), @@port");
        CHECK(!r.null[0] && atol(r.v[0]) == 5, "@m = %s on port %ld after 'SET @m = 5; ...'",
              r.null[0] ? "NULL" : r.v[0], last_port(&r));
        CHECK(!r.null[1] && strcmp(r.v[1], "sbtest") == 0,
              "DATABASE() = %s on port %ld after 'USE sbtest; ...'", r.null[1] ? "NULL" : r.v[1],
              last_port(&r));
        /* replayed on the replicas, or the session pinned to the primary:
         * both are correct; the values are what matters */
        if (last_port(&r) == (long)cfg.primary_port && !cfg.direct) {
            if (i == 0)
                note("reads after SET/USE in a multi-statement run on the primary (pinned)");
        } else {
            WANT_REPLICA(last_port(&r), "SELECT @m");
        }
    }
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* COM_SET_OPTION: multi-statements off at connect, on, off again. */
static int t_multi_set_option(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    long ports[8];
    int ns, nt;
    CONNECT(m, cfg.db, 0, false);
    const char *two = "SELECT 1, @@port; SELECT 2, @@port";
    CHECK(!multi(m, two, ports, &ns, &nt), "multi-statement without the flag succeeded");
    CHECK(mysql_errno(m) == 1064, "without the flag: error %u %s (expected 1064)", mysql_errno(m),
          mysql_error(m));
    WANT_ROTATE(m, 4, "SELECT @@port after the error");
    MY_CHECK(m, mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_ON) == 0,
             "set_server_option ON");
    for (int i = 0; i < 4; i++) {
        MY_CHECK(m, multi(m, two, ports, &ns, &nt), "multi-statement after ON");
        CHECK(ns == 2, "%d result sets", ns);
        WANT_REPLICA(ports[0], "multi-statement read after ON");
        WANT_SAME(ports[0], ports[1], "second SELECT");
    }
    MY_CHECK(m, mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_OFF) == 0,
             "set_server_option OFF");
    for (int i = 0; i < 3; i++) {
        CHECK(!multi(m, two, ports, &ns, &nt), "multi-statement after OFF succeeded (try %d)", i);
        CHECK(mysql_errno(m) == 1064, "after OFF: error %u %s (expected 1064)", mysql_errno(m),
              mysql_error(m));
    }
    WANT_ROTATE(m, 4, "SELECT @@port after OFF");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* CALL of a procedure returning two result sets + the final OK. */
static int t_multi_call(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false); /* CLIENT_MULTI_RESULTS is on by default */
    for (int round = 0; round < 2; round++) {
        MY_CHECK(m, mysql_query(m, "CALL test.c_two_results()") == 0, "CALL");
        int sets = 0, oks = 0;
        for (;;) {
            MYSQL_RES *res = mysql_store_result(m);
            if (res) {
                struct row r;
                memset(&r, 0, sizeof r);
                read_result(m, res, &r);
                mysql_free_result(res);
                if (sets == 0) {
                    CHECK(atol(r.v[0]) == 1, "first result %s", r.v[0]);
                    WANT_PRIMARY(atol(r.v[1]), "CALL");
                } else {
                    CHECK(atol(r.v[0]) == 2 && strcmp(r.v[1], "x") == 0, "second result %s %s",
                          r.v[0], r.v[1]);
                }
                sets++;
            } else {
                MY_CHECK(m, mysql_field_count(m) == 0, "store_result");
                oks++;
            }
            int n = mysql_next_result(m);
            MY_CHECK(m, n <= 0, "next_result");
            if (n < 0)
                break;
        }
        CHECK(sets == 2 && oks == 1, "%d result sets and %d OKs, expected 2 and 1", sets, oks);
    }
    /* The procedure may have set state the proxy cannot see: pinned. */
    WANT_PINNED(m, 4, "SELECT @@port after CALL");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* ==================================================== LOAD DATA LOCAL INFILE */

static int t_load_data_local(void)
{
    MYSQL *m = NULL, *p = NULL;
    FILE *f = NULL;
    int rc = 1;
    char tag[64], path[128] = "", sql[512];
    uniq(tag, sizeof tag, "load");
    snprintf(path, sizeof path, "/tmp/sy_client_test_%s.csv", tag);
    f = fopen(path, "w");
    CHECK(f, "create %s: %s", path, strerror(errno));
    for (int i = 1; i <= 1000; i++)
        fprintf(f, "%d,%s,value %d\n", i, tag, i);
    int fc = fclose(f);
    f = NULL;
    CHECK(fc == 0, "write %s", path);
    CONNECT(m, cfg.db, 0, true);
    CONNECT_PRIMARY(p);
    snprintf(sql, sizeof sql,
             "LOAD DATA LOCAL INFILE '%s' INTO TABLE test.c_load FIELDS TERMINATED BY ','"
             " (id, tag, v)",
             path);
    MY_CHECK(m, mysql_query(m, sql) == 0, "LOAD DATA LOCAL INFILE");
    CHECK(mysql_affected_rows(m) == 1000, "LOAD DATA affected %llu rows",
          (unsigned long long)mysql_affected_rows(m));
    struct row r;
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*), SUM(id), MAX(v = CONCAT('value ', id)), MIN(v = CONCAT('value ', id))"
             " FROM test.c_load WHERE tag='%s'",
             tag);
    QROW(p, &r, sql);
    CHECK(atol(r.v[0]) == 1000 && atol(r.v[1]) == 500500 && atol(r.v[2]) == 1 && atol(r.v[3]) == 1,
          "on the primary: count %s sum %s", r.v[0], r.v[1]);
    /* a file that does not exist: an error, and the connection goes on */
    snprintf(sql, sizeof sql,
             "LOAD DATA LOCAL INFILE '/nonexistent/sy_%s.csv' INTO TABLE test.c_load"
             " FIELDS TERMINATED BY ','",
             tag);
    CHECK(mysql_query(m, sql) != 0, "LOAD DATA of a missing file succeeded");
    unsigned e = mysql_errno(m);
    CHECK(e != 0, "no error number");
    WANT_ROTATE(m, 4, "SELECT @@port after a failed LOAD DATA");
    Q(m, "DO 1");
    /* and a second load works */
    snprintf(sql, sizeof sql,
             "LOAD DATA LOCAL INFILE '%s' INTO TABLE test.c_load FIELDS TERMINATED BY ','"
             " (id, tag, v)",
             path);
    MY_CHECK(m, mysql_query(m, sql) == 0, "second LOAD DATA LOCAL INFILE");
    CHECK(mysql_affected_rows(m) == 1000, "second LOAD DATA affected %llu rows",
          (unsigned long long)mysql_affected_rows(m));
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM test.c_load WHERE tag='%s'", tag);
    QROW(p, &r, sql);
    CHECK(atol(r.v[0]) == 2000, "%s rows on the primary after two loads", r.v[0]);
    snprintf(sql, sizeof sql, "DELETE FROM test.c_load WHERE tag='%s'", tag);
    Q(p, sql);
    rc = 0;
out:
    if (f)
        fclose(f);
    if (path[0])
        unlink(path);
    if (m)
        mysql_close(m);
    if (p)
        mysql_close(p);
    return rc;
}

/* ============================================================ change_user */

static int t_change_user(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, "test", 0, false);
    Q(m, "SET @x = 42");
    QROW(m, &r, "SELECT @x, DATABASE(), @@port");
    CHECK(atol(r.v[0]) == 42, "@x = %s before change_user", r.v[0]);
    CHECK(strcmp(r.v[1], "test") == 0, "DATABASE() = %s before change_user", r.v[1]);
    WANT_REPLICA(last_port(&r), "SELECT @x");
    MY_CHECK(m, mysql_change_user(m, cfg.user, cfg.password, "sbtest") == 0, "change_user");
    for (int i = 0; i < 4; i++) {
        QROW(m, &r, "SELECT DATABASE(), @x, @@port");
        CHECK(!r.null[0] && strcmp(r.v[0], "sbtest") == 0, "DATABASE() = %s after change_user",
              r.null[0] ? "NULL" : r.v[0]);
        CHECK(r.null[1], "@x = %s after change_user (expected NULL)", r.v[1]);
        WANT_REPLICA(last_port(&r), "SELECT after change_user");
    }
    Q(m, "START TRANSACTION");
    QROW(m, &r, "SELECT DATABASE(), @x, @@port");
    CHECK(strcmp(r.v[0], "sbtest") == 0, "DATABASE() = %s on the primary", r.v[0]);
    CHECK(r.null[1], "@x = %s on the primary after change_user", r.v[1]);
    WANT_PRIMARY(last_port(&r), "SELECT in a transaction");
    Q(m, "COMMIT");
    /* wrong password: 1045 */
    CHECK(mysql_change_user(m, cfg.user, "wrong_password", "test") != 0,
          "change_user with a wrong password succeeded");
    CHECK(mysql_errno(m) == 1045, "change_user with a wrong password: error %u %s, expected 1045",
          mysql_errno(m), mysql_error(m));
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* ======================================================= client auth plugins */

/* Connect as cfg.user with `password`, the client starting with auth plugin
 * `plugin` (MYSQL_DEFAULT_AUTH). NULL on failure, *err_no set. */
static MYSQL *connect_plugin(const char *plugin, const char *password, unsigned *err_no,
                             char *err, size_t errn)
{
    *err_no = 0;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errn, "mysql_init failed");
        return NULL;
    }
    unsigned int t = 10;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    t = 60;
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(m, MYSQL_DEFAULT_AUTH, plugin);
    if (!mysql_real_connect(m, cfg.host, cfg.user, password, cfg.db, cfg.port, NULL, 0)) {
        *err_no = mysql_errno(m);
        snprintf(err, errn, "connect with %s: error %u %s", plugin, mysql_errno(m),
                 mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

#ifndef MYSQL_CLIENT_AUTHENTICATION_PLUGIN
#define MYSQL_CLIENT_AUTHENTICATION_PLUGIN 2 /* <mysql/client_plugin.h> */
#endif

/* The client plugin really is there (otherwise Connector/C would silently use
 * a fallback and the test would prove nothing). */
static bool have_client_plugin(const char *plugin, char *err, size_t errn)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, errn, "mysql_init failed");
        return false;
    }
    bool ok = mysql_client_find_plugin(m, plugin, MYSQL_CLIENT_AUTHENTICATION_PLUGIN) != NULL;
    if (!ok)
        snprintf(err, errn, "client plugin %s: %s", plugin, mysql_error(m));
    mysql_close(m);
    return ok;
}

/* Login with `plugin` as the client's first choice must succeed (SELECT 1
 * works, reads reach a replica); with a wrong password it fails with 1045. */
static int auth_with_plugin(const char *plugin)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    char err[512];
    unsigned e;
    m = connect_plugin(plugin, cfg.password, &e, err, sizeof err);
    CHECK(m, "%s", err);
    QROW(m, &r, "SELECT 1");
    CHECK(r.has_row && strcmp(r.v[0], "1") == 0, "SELECT 1 returned '%s'", r.v[0]);
    WANT_ROTATE(m, 4, "SELECT @@port after a login with the client plugin");
    mysql_close(m);
    m = connect_plugin(plugin, "wrong_password", &e, err, sizeof err);
    CHECK(!m, "login with %s and a wrong password succeeded", plugin);
    CHECK(e == 1045, "wrong password: %s, expected 1045", err);
    /* ... and an empty one */
    m = connect_plugin(plugin, "", &e, err, sizeof err);
    CHECK(!m, "login with %s and an empty password succeeded", plugin);
    CHECK(e == 1045, "empty password: %s, expected 1045", err);
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* caching_sha2_password as the client's plugin (the INI has the plain
 * password, so the proxy could check a caching_sha2 scramble). Note: the
 * proxy's greeting announces mysql_native_password, so Connector/C sends an
 * EMPTY first reply for caching_sha2_password and the proxy answers with an
 * auth switch to mysql_native_password: this checks that path, not the
 * proxy's caching_sha2 fast path (a 32-byte scramble in the first packet). */
static int t_auth_caching_sha2(void)
{
    int rc = 1;
    char err[512];
    CHECK(have_client_plugin("caching_sha2_password", err, sizeof err), "%s", err);
    rc = auth_with_plugin("caching_sha2_password");
out:
    return rc;
}

/* A plugin the proxy does not check (client_ed25519, else dialog): it answers
 * with an auth switch to mysql_native_password. */
static int t_auth_plugin_switch(void)
{
    int rc = 1;
    char err[512];
    const char *plugin = "client_ed25519";
    if (!have_client_plugin(plugin, err, sizeof err)) {
        note("%s; using dialog", err);
        plugin = "dialog";
        CHECK(have_client_plugin(plugin, err, sizeof err), "%s", err);
    }
    rc = auth_with_plugin(plugin);
out:
    return rc;
}

/* ======================================================= reset_connection */

static int t_reset_connection(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, cfg.db, 0, false);
    Q(m, "SET @x = 42");
    Q(m, "CREATE TEMPORARY TABLE c_tmp_reset (a INT)");
    Q(m, "INSERT INTO c_tmp_reset VALUES (1)");
    WANT_PINNED(m, 3, "SELECT with a temporary table");
    MY_CHECK(m, mysql_reset_connection(m) == 0, "reset_connection");
    QROW(m, &r, "SELECT @x, @@port");
    CHECK(r.null[0], "@x = %s after reset_connection", r.v[0]);
    CHECK(mysql_query(m, "SELECT * FROM c_tmp_reset") != 0, "temporary table survived reset");
    CHECK(mysql_errno(m) == 1146, "SELECT of the temporary table: error %u %s", mysql_errno(m),
          mysql_error(m));
    WANT_ROTATE(m, 4, "SELECT @@port after reset_connection");
    Q(m, "START TRANSACTION");
    QROW(m, &r, "SELECT @x, @@port");
    CHECK(r.null[0], "@x = %s on the primary after reset_connection", r.v[0]);
    WANT_PRIMARY(last_port(&r), "SELECT in a transaction");
    Q(m, "COMMIT");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* ============================================ other commands: stat, fields, ping, kill */

static int t_stat_ping(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    const char *s = mysql_stat(m);
    MY_CHECK(m, s != NULL, "mysql_stat");
    CHECK(strstr(s, "Uptime") != NULL, "mysql_stat: '%s'", s);
    MY_CHECK(m, mysql_ping(m) == 0, "ping");
    MY_CHECK(m, mysql_ping(m) == 0, "ping");
    s = mysql_stat(m);
    MY_CHECK(m, s != NULL, "mysql_stat again");
    CHECK(strstr(s, "Threads") != NULL, "mysql_stat: '%s'", s);
    WANT_ROTATE(m, 4, "SELECT @@port after stat/ping");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

static int t_list_fields(void)
{
    MYSQL *m = NULL;
    MYSQL_RES *res = NULL;
    int rc = 1;
    CONNECT(m, "test", 0, false);
    res = mysql_list_fields(m, "c_fields", NULL);
    MY_CHECK(m, res != NULL, "list_fields");
    CHECK(mysql_num_fields(res) == 3, "%u fields", mysql_num_fields(res));
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    CHECK(strcmp(f[0].name, "a") == 0 && strcmp(f[1].name, "b") == 0 && strcmp(f[2].name, "c") == 0,
          "fields %s %s %s", f[0].name, f[1].name, f[2].name);
    CHECK(f[0].type == MYSQL_TYPE_LONG && f[1].type == MYSQL_TYPE_VAR_STRING &&
              f[2].type == MYSQL_TYPE_DATETIME,
          "types %d %d %d", f[0].type, f[1].type, f[2].type);
    CHECK(strcmp(f[0].table, "c_fields") == 0, "table %s", f[0].table);
    mysql_free_result(res);
    res = mysql_list_fields(m, "c_fields", "b%");
    MY_CHECK(m, res != NULL, "list_fields with a wildcard");
    CHECK(mysql_num_fields(res) == 1, "%u fields for 'b%%'", mysql_num_fields(res));
    mysql_free_result(res);
    res = mysql_list_fields(m, "c_no_such_table_xyz", NULL);
    CHECK(res == NULL, "list_fields of a missing table succeeded");
    CHECK(mysql_errno(m) == 1146, "list_fields of a missing table: error %u %s", mysql_errno(m),
          mysql_error(m));
    WANT_ROTATE(m, 4, "SELECT @@port after list_fields");
    rc = 0;
out:
    if (res)
        mysql_free_result(res);
    if (m)
        mysql_close(m);
    return rc;
}

struct sleeper {
    MYSQL *m;
    const char *sql;
    int rc;
    unsigned err;
    char errmsg[256];
    long long val;
    long port; /* second column, when the query returned a row */
    double secs;
};

static void *sleeper_run(void *arg)
{
    struct sleeper *s = arg;
    double t0 = now_s();
    s->rc = mysql_query(s->m, s->sql);
    if (s->rc == 0) {
        MYSQL_RES *res = mysql_store_result(s->m);
        if (res) {
            MYSQL_ROW row = mysql_fetch_row(res);
            s->val = row && row[0] ? atoll(row[0]) : -1;
            s->port = row && mysql_num_fields(res) > 1 && row[1] ? atol(row[1]) : -1;
            mysql_free_result(res);
        } else {
            s->rc = -1;
        }
    }
    if (s->rc != 0) {
        s->err = mysql_errno(s->m);
        snprintf(s->errmsg, sizeof s->errmsg, "%s", mysql_error(s->m));
    }
    s->secs = now_s() - t0;
    return NULL;
}

/* Connection A runs `sleep_sql` (SLEEP(10)); connection B sends `kill_fmt`
 * (with A's mysql_thread_id) or mysql_kill; A's query must end early. */
static int kill_case(const char *sleep_sql, const char *kill_fmt, bool connection,
                     const char *where, bool on_primary)
{
    MYSQL *a = NULL, *b = NULL;
    int rc = 1;
    pthread_t th;
    bool started = false;
    struct sleeper s = {0};
    CONNECT(a, cfg.db, 0, false);
    CONNECT(b, cfg.db, 0, false);
    unsigned long id = mysql_thread_id(a);
    CHECK(id != 0, "mysql_thread_id is 0");
    CHECK(id != mysql_thread_id(b), "two connections have the same thread id %lu", id);
    s.m = a;
    s.sql = sleep_sql;
    CHECK(pthread_create(&th, NULL, sleeper_run, &s) == 0, "pthread_create");
    started = true;
    sleep_ms(1000);
    if (connection) {
        MY_CHECK(b, mysql_kill(b, id) == 0, "mysql_kill");
    } else {
        char sql[128];
        snprintf(sql, sizeof sql, kill_fmt, id);
        MY_CHECK(b, mysql_query(b, sql) == 0, sql);
    }
    pthread_join(th, NULL);
    started = false;
    CHECK(s.secs < 6, "%s: the killed query (%s) still took %.1f s", where, sleep_sql, s.secs);
    if (connection) {
        CHECK(s.rc != 0, "%s: killed connection's query succeeded (value %lld)", where, s.val);
    } else {
        CHECK((s.rc == 0 && s.val == 1) || s.err == 1317,
              "%s: killed query ended with rc %d value %lld error %u %s", where, s.rc, s.val,
              s.err, s.errmsg);
        if (s.rc == 0) { /* MariaDB: an interrupted SLEEP() returns 1 with the row */
            if (on_primary)
                WANT_PRIMARY(s.port, where);
            else
                WANT_REPLICA(s.port, where);
        }
        /* A goes on */
        struct row r;
        QROW(a, &r, "SELECT 5, @@port");
        CHECK(atol(r.v[0]) == 5, "A after KILL QUERY: %s", r.v[0]);
    }
    /* B goes on */
    WANT_ROTATE(b, 4, "SELECT @@port on the killer connection");
    rc = 0;
out:
    if (started)
        pthread_join(th, NULL);
    if (a)
        mysql_close(a);
    if (b)
        mysql_close(b);
    return rc;
}

static int t_kill_query_primary(void)
{
    return kill_case("/* route=primary */ SELECT SLEEP(10), @@port", "KILL QUERY %lu", false,
                     "KILL QUERY of a query on the primary", true);
}

static int t_kill_query_replica(void)
{
    return kill_case("SELECT SLEEP(10), @@port", "KILL QUERY %lu", false,
                     "KILL QUERY of a query on a replica", false);
}

static int t_kill_connection(void)
{
    return kill_case("/* route=primary */ SELECT SLEEP(10), @@port", NULL, true, "mysql_kill",
                     true);
}

/* ============================================================ session state */

static int t_session_state(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, NULL, 0, false);
    Q(m, "SET NAMES latin1");
    Q(m, "SET SESSION sql_mode='ANSI_QUOTES'");
    Q(m, "SET time_zone='+05:00'");
    Q(m, "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE");
    Q(m, "SET @x = 42");
    Q(m, "USE test");
    long ports[4];
    for (int i = 0; i < 4; i++) {
        /* MariaDB 10.11 has @@tx_isolation (no @@transaction_isolation) */
        QROW(m, &r,
             "SELECT @@character_set_client, @@sql_mode, @@time_zone, @@tx_isolation, @x,"
             " DATABASE(), @@character_set_results, @@port");
        CHECK(strcmp(r.v[0], "latin1") == 0, "character_set_client %s", r.v[0]);
        CHECK(strcmp(r.v[1], "ANSI_QUOTES") == 0, "sql_mode %s", r.v[1]);
        CHECK(strcmp(r.v[2], "+05:00") == 0, "time_zone %s", r.v[2]);
        CHECK(strcmp(r.v[3], "SERIALIZABLE") == 0, "tx_isolation %s", r.v[3]);
        CHECK(!r.null[4] && atol(r.v[4]) == 42, "@x %s", r.null[4] ? "NULL" : r.v[4]);
        CHECK(!r.null[5] && strcmp(r.v[5], "test") == 0, "DATABASE() %s",
              r.null[5] ? "NULL" : r.v[5]);
        CHECK(strcmp(r.v[6], "latin1") == 0, "character_set_results %s", r.v[6]);
        ports[i] = last_port(&r);
        WANT_REPLICA(ports[i], "SELECT of session state");
    }
    (void)ports;
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* ================================================================= pinning */

static int t_pin_temp_table(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    WANT_ROTATE(m, 4, "before CREATE TEMPORARY TABLE");
    Q(m, "CREATE TEMPORARY TABLE c_tmp_pin (a INT)");
    Q(m, "INSERT INTO c_tmp_pin VALUES (1), (2)");
    WANT_PINNED(m, 4, "SELECT with a temporary table");
    struct row r;
    QROW(m, &r, "SELECT COUNT(*), @@port FROM c_tmp_pin");
    CHECK(atol(r.v[0]) == 2, "temporary table has %s rows", r.v[0]);
    WANT_PRIMARY(last_port(&r), "SELECT from the temporary table");
    Q(m, "DROP TEMPORARY TABLE c_tmp_pin");
    WANT_ROTATE(m, 4, "after DROP TEMPORARY TABLE");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

static int t_pin_lock_tables(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    WANT_ROTATE(m, 4, "before LOCK TABLES");
    Q(m, "LOCK TABLES test.c_cur READ");
    WANT_PINNED(m, 4, "SELECT under LOCK TABLES");
    struct row r;
    QROW(m, &r, "SELECT COUNT(*), @@port FROM test.c_cur");
    WANT_PRIMARY(last_port(&r), "SELECT of the locked table");
    Q(m, "UNLOCK TABLES");
    WANT_ROTATE(m, 4, "after UNLOCK TABLES");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

static int t_pin_get_lock(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    char name[64], sql[256];
    struct row r;
    uniq(name, sizeof name, "sylock");
    CONNECT(m, cfg.db, 0, false);
    WANT_ROTATE(m, 4, "before GET_LOCK");
    snprintf(sql, sizeof sql, "SELECT GET_LOCK('%s', 1), @@port", name);
    QROW(m, &r, sql);
    CHECK(atol(r.v[0]) == 1, "GET_LOCK answered %s", r.v[0]);
    WANT_PRIMARY(last_port(&r), "GET_LOCK");
    WANT_PINNED(m, 4, "SELECT while holding a named lock");
    snprintf(sql, sizeof sql, "SELECT IS_USED_LOCK('%s') = CONNECTION_ID(), @@port", name);
    QROW(m, &r, sql);
    CHECK(atol(r.v[0]) == 1, "IS_USED_LOCK = CONNECTION_ID() answered %s", r.v[0]);
    snprintf(sql, sizeof sql, "SELECT RELEASE_LOCK('%s'), @@port", name);
    QROW(m, &r, sql);
    CHECK(atol(r.v[0]) == 1, "RELEASE_LOCK answered %s", r.v[0]);
    WANT_PRIMARY(last_port(&r), "RELEASE_LOCK");
    WANT_ROTATE(m, 4, "after RELEASE_LOCK");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

static int t_pin_xa(void)
{
    MYSQL *m = NULL, *p = NULL;
    int rc = 1;
    char xid[64], tag[64], sql[256];
    struct row r;
    uniq(xid, sizeof xid, "xa");
    uniq(tag, sizeof tag, "xa");
    CONNECT(m, cfg.db, 0, false);
    CONNECT_PRIMARY(p);
    WANT_ROTATE(m, 4, "before XA START");
    snprintf(sql, sizeof sql, "XA START '%s'", xid);
    Q(m, sql);
    WANT_PINNED(m, 3, "SELECT in an XA transaction");
    snprintf(sql, sizeof sql, "INSERT INTO test.t_where (port, tag) VALUES (@@port, '%s')", tag);
    Q(m, sql);
    snprintf(sql, sizeof sql, "SELECT COUNT(*), @@port FROM test.t_where WHERE tag='%s'", tag);
    QROW(m, &r, sql);
    CHECK(atol(r.v[0]) == 1, "own XA insert not visible: %s", r.v[0]);
    WANT_PRIMARY(last_port(&r), "SELECT in an XA transaction");
    snprintf(sql, sizeof sql, "XA END '%s'", xid);
    Q(m, sql);
    snprintf(sql, sizeof sql, "XA PREPARE '%s'", xid);
    Q(m, sql);
    snprintf(sql, sizeof sql, "XA COMMIT '%s'", xid);
    Q(m, sql);
    snprintf(sql, sizeof sql, "SELECT port FROM test.t_where WHERE tag='%s'", tag);
    QROW(p, &r, sql);
    CHECK(r.nrows == 1, "%llu rows on the primary after XA COMMIT", r.nrows);
    WANT_PRIMARY(atol(r.v[0]), "INSERT in XA");
    WANT_ROTATE(m, 4, "after XA COMMIT");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    if (p)
        mysql_close(p);
    return rc;
}

/* START TRANSACTION READ ONLY: the whole transaction on one replica. */
static int t_trx_read_only(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    for (int round = 0; round < 2; round++) {
        Q(m, "START TRANSACTION READ ONLY");
        long ports[5];
        CHECK(ports_of(m, "SELECT @@port", 5, ports), "SELECT @@port: %s", mysql_error(m));
        struct row r;
        QROW(m, &r, "SELECT COUNT(*), @@port FROM test.c_cur");
        CHECK(atol(r.v[0]) >= 10, "c_cur has %s rows", r.v[0]);
        for (int i = 0; i < 5; i++) {
            WANT_REPLICA(ports[i], "SELECT in START TRANSACTION READ ONLY");
            WANT_SAME(ports[0], ports[i], "SELECT in START TRANSACTION READ ONLY");
        }
        WANT_SAME(ports[0], last_port(&r), "SELECT in START TRANSACTION READ ONLY");
        /* a write inside is refused (by the server: 1792 read-only transaction) */
        CHECK(mysql_query(m, "INSERT INTO test.t_where (port, tag) VALUES (0, 'ro')") != 0,
              "INSERT in a READ ONLY transaction succeeded");
        Q(m, "COMMIT");
        WANT_ROTATE(m, 4, "after COMMIT of a READ ONLY transaction");
    }
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* FOUND_ROWS() right after a SELECT runs where that SELECT ran. */
static int t_found_rows(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, cfg.db, 0, false);
    for (int round = 0; round < 4; round++) {
        int lim = 2 + round;
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT id, @@port FROM test.c_cur WHERE id <= %d", lim);
        QROW(m, &r, sql);
        CHECK(r.nrows == (unsigned long long)lim, "%llu rows", r.nrows);
        long p1 = last_port(&r);
        WANT_REPLICA(p1, "SELECT");
        QROW(m, &r, "SELECT FOUND_ROWS(), @@port");
        CHECK(atol(r.v[0]) == lim, "FOUND_ROWS() = %s after a %d-row SELECT", r.v[0], lim);
        WANT_SAME(p1, last_port(&r), "SELECT FOUND_ROWS()");
        snprintf(sql, sizeof sql,
                 "SELECT SQL_CALC_FOUND_ROWS id, @@port FROM test.c_cur WHERE id <= 10 ORDER BY id"
                 " LIMIT %d",
                 lim);
        QROW(m, &r, sql);
        CHECK(r.nrows == (unsigned long long)lim, "%llu rows with LIMIT", r.nrows);
        /* SQL_CALC_FOUND_ROWS may run anywhere (switchyard sends it to the
         * primary); FOUND_ROWS() must follow it */
        p1 = last_port(&r);
        QROW(m, &r, "SELECT FOUND_ROWS(), @@port");
        CHECK(atol(r.v[0]) == 10, "FOUND_ROWS() = %s after SQL_CALC_FOUND_ROWS", r.v[0]);
        WANT_SAME(p1, last_port(&r), "SELECT FOUND_ROWS()");
    }
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* SHOW WARNINGS after a statement that warned on a replica shows its warning. */
static int t_show_warnings(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, cfg.db, 0, false);
    for (int round = 0; round < 4; round++) {
        QROW(m, &r, "SELECT CAST('abc' AS INT), @@port");
        WANT_REPLICA(last_port(&r), "SELECT CAST('abc' AS INT)");
        CHECK(mysql_warning_count(m) == 1, "warning_count %u", mysql_warning_count(m));
        QROW(m, &r, "SHOW WARNINGS");
        CHECK(r.nrows == 1, "SHOW WARNINGS: %llu rows", r.nrows);
        CHECK(atol(r.v[1]) == 1292 && strstr(r.v[2], "abc"), "SHOW WARNINGS: %s %s %s", r.v[0],
              r.v[1], r.v[2]);
        /* a clean statement that uses a table resets them (one without a table
         * does not, on MariaDB) */
        QROW(m, &r, "SELECT id, @@port FROM test.c_cur WHERE id = 1");
        CHECK(mysql_warning_count(m) == 0, "warning_count %u after a clean SELECT",
              mysql_warning_count(m));
        QROW(m, &r, "SHOW WARNINGS");
        CHECK(r.nrows == 0, "SHOW WARNINGS after a clean SELECT: %llu rows", r.nrows);
    }
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* ======================================================== PROXY statements */

static int t_proxy_route(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    struct row r;
    CONNECT(m, cfg.db, 0, false);
    QROW(m, &r, "PROXY SHOW route");
    CHECK(r.nrows == 1 && strcmp(r.v[0], "auto") == 0, "PROXY SHOW route: %llu rows, '%s'",
          r.nrows, r.v[0]);
    Q(m, "PROXY SET route = primary");
    QROW(m, &r, "PROXY SHOW route");
    CHECK(r.nrows == 1 && strcmp(r.v[0], "primary") == 0, "PROXY SHOW route: '%s'", r.v[0]);
    WANT_PINNED(m, 4, "SELECT with PROXY SET route = primary");
    Q(m, "PROXY SET route = auto");
    QROW(m, &r, "PROXY SHOW route");
    CHECK(strcmp(r.v[0], "auto") == 0, "PROXY SHOW route: '%s'", r.v[0]);
    WANT_ROTATE(m, 4, "SELECT with PROXY SET route = auto");
    Q(m, "PROXY SET route = replica");
    QROW(m, &r, "PROXY SHOW route");
    CHECK(strcmp(r.v[0], "replica") == 0, "PROXY SHOW route: '%s'", r.v[0]);
    WANT_ROTATE(m, 4, "SELECT with PROXY SET route = replica");
    /* A locking read goes to the primary; forced to a replica it runs there.
     * (Not FOR UPDATE: a read_only MariaDB refuses it with 1290 for an
     * account without SUPER/READ ONLY ADMIN; LOCK IN SHARE MODE is accepted.) */
    QROW(m, &r, "SELECT id, @@port FROM test.c_cur WHERE id = 1 LOCK IN SHARE MODE");
    WANT_REPLICA(last_port(&r), "SELECT ... LOCK IN SHARE MODE with PROXY SET route = replica");
    /* ... and FOR UPDATE reaches a replica too: 1290 (read_only) or 1792
     * (the proxy's READ ONLY replica connections) can only come from one */
    CHECK(mysql_query(m, "SELECT id, @@port FROM test.c_cur WHERE id = 1 FOR UPDATE") != 0,
          "SELECT ... FOR UPDATE with route = replica succeeded (on the primary?)");
    CHECK(mysql_errno(m) == 1290 || mysql_errno(m) == 1792,
          "SELECT ... FOR UPDATE with route = replica: error %u %s",
          mysql_errno(m), mysql_error(m));
    Q(m, "proxy set route = AUTO;");
    QROW(m, &r, "PROXY SHOW route");
    CHECK(strcmp(r.v[0], "auto") == 0, "PROXY SHOW route: '%s'", r.v[0]);
    QROW(m, &r, "SELECT id, @@port FROM test.c_cur WHERE id = 1 LOCK IN SHARE MODE");
    WANT_PRIMARY(last_port(&r), "SELECT ... LOCK IN SHARE MODE with route auto");
    QROW(m, &r, "SELECT id, @@port FROM test.c_cur WHERE id = 1 FOR UPDATE");
    WANT_PRIMARY(last_port(&r), "SELECT ... FOR UPDATE with route auto");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

#define EXPLAIN_COLS(r)                                                                        \
    int ci_ = col_index(&(r), "classification"), ri_ = col_index(&(r), "reason"),              \
        ti_ = col_index(&(r), "target"), bi_ = col_index(&(r), "backend");                     \
    CHECK(ci_ >= 0 && ri_ >= 0 && ti_ >= 0 && bi_ >= 0,                                        \
          "PROXY EXPLAIN columns: %d columns, first '%s'", (r).ncols, (r).name[0]);            \
    CHECK((r).nrows == 1, "PROXY EXPLAIN: %llu rows", (r).nrows)

static int t_proxy_explain(void)
{
    MYSQL *m = NULL, *p = NULL;
    int rc = 1;
    struct row r;
    char tag[64], sql[256];
    uniq(tag, sizeof tag, "expl");
    CONNECT(m, cfg.db, 0, false);
    CONNECT_PRIMARY(p);
    {
        QROW(m, &r, "PROXY EXPLAIN SELECT 1");
        EXPLAIN_COLS(r);
        CHECK(strcmp(r.v[ci_], "read") == 0, "SELECT 1: classification '%s'", r.v[ci_]);
        CHECK(strcmp(r.v[ti_], "replica") == 0, "SELECT 1: target '%s'", r.v[ti_]);
        CHECK(strcmp(r.v[bi_], "replica1") == 0 || strcmp(r.v[bi_], "replica2") == 0,
              "SELECT 1: backend '%s'", r.v[bi_]);
    }
    {
        QROW(m, &r, "PROXY EXPLAIN SELECT 1 FOR UPDATE");
        EXPLAIN_COLS(r);
        CHECK(strcmp(r.v[ci_], "write") == 0, "FOR UPDATE: classification '%s'", r.v[ci_]);
        CHECK(strcasestr(r.v[ri_], "FOR UPDATE") != NULL, "FOR UPDATE: reason '%s'", r.v[ri_]);
        CHECK(strcmp(r.v[ti_], "primary") == 0, "FOR UPDATE: target '%s'", r.v[ti_]);
        CHECK(strcmp(r.v[bi_], "primary") == 0, "FOR UPDATE: backend '%s'", r.v[bi_]);
    }
    {
        Q(m, "START TRANSACTION");
        QROW(m, &r, "PROXY EXPLAIN SELECT 1");
        EXPLAIN_COLS(r);
        CHECK(strcmp(r.v[ci_], "read") == 0, "in trx: classification '%s'", r.v[ci_]);
        CHECK(strcmp(r.v[ri_], "inside a transaction") == 0, "in trx: reason '%s'", r.v[ri_]);
        CHECK(strcmp(r.v[ti_], "primary") == 0, "in trx: target '%s'", r.v[ti_]);
        Q(m, "ROLLBACK");
    }
    {
        snprintf(sql, sizeof sql, "PROXY EXPLAIN INSERT INTO test.c_explain (tag) VALUES ('%s')",
                 tag);
        QROW(m, &r, sql);
        EXPLAIN_COLS(r);
        CHECK(strcmp(r.v[ci_], "write") == 0, "INSERT: classification '%s'", r.v[ci_]);
        CHECK(strcmp(r.v[ti_], "primary") == 0, "INSERT: target '%s'", r.v[ti_]);
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM test.c_explain WHERE tag='%s'", tag);
        QROW(p, &r, sql);
        CHECK(atol(r.v[0]) == 0, "PROXY EXPLAIN INSERT inserted %s rows", r.v[0]);
    }
    /* not sent to a server: the session's round-robin and state are untouched */
    WANT_ROTATE(m, 4, "SELECT after PROXY EXPLAIN");
    rc = 0;
out:
    if (m)
        mysql_close(m);
    if (p)
        mysql_close(p);
    return rc;
}

static int t_proxy_malformed(void)
{
    MYSQL *m = NULL;
    int rc = 1;
    CONNECT(m, cfg.db, 0, false);
    static const char *bad[] = {"PROXY FOO", "PROXY SET route = nowhere", "PROXY SET colour = red",
                                "PROXY SHOW", "PROXY"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(mysql_query(m, bad[i]) != 0, "'%s' succeeded", bad[i]);
        CHECK(mysql_errno(m) != 0, "'%s': no error number", bad[i]);
        WANT_ROTATE(m, 2, "SELECT after a malformed PROXY statement");
    }
    struct row r;
    QROW(m, &r, "PROXY SHOW route");
    CHECK(strcmp(r.v[0], "auto") == 0, "route '%s' after malformed statements", r.v[0]);
    rc = 0;
out:
    if (m)
        mysql_close(m);
    return rc;
}

/* ================================================================ registry */

struct test {
    const char *name;
    int (*fn)(void);
    bool proxy_only;
};

#define TEST(name, proxy_only) {#name, t_##name, proxy_only}
static const struct test TESTS[] = {
    TEST(ps_read_replica, false),
    TEST(ps_write_primary, false),
    TEST(ps_trx_primary, false),
    TEST(ps_types, false),
    TEST(ps_types_echo, false),
    TEST(ps_long_data_insert, false),
    TEST(ps_long_data_read, false),
    TEST(ps_cursor, false),
    TEST(ps_cursor_trx, false),
    TEST(ps_reset, false),
    TEST(ps_many_close, false),
    TEST(ps_prepare_error, false),
    TEST(ps_call, false),
    TEST(ps_session_state, false),
    TEST(ps_reconnect, true),
    TEST(sql_prepare_execute, false),
    TEST(select_db, false),
    TEST(multi_read_replica, false),
    TEST(multi_write_primary, false),
    TEST(multi_set_option, false),
    TEST(multi_session_state, false),
    TEST(multi_call, false),
    TEST(load_data_local, false),
    TEST(change_user, false),
    TEST(auth_caching_sha2, true),
    TEST(auth_plugin_switch, true),
    TEST(reset_connection, false),
    TEST(stat_ping, false),
    TEST(list_fields, false),
    TEST(kill_query_primary, false),
    TEST(kill_query_replica, false),
    TEST(kill_connection, false),
    TEST(session_state, false),
    TEST(pin_temp_table, false),
    TEST(pin_lock_tables, false),
    TEST(pin_get_lock, false),
    TEST(pin_xa, false),
    TEST(trx_read_only, false),
    TEST(found_rows, false),
    TEST(show_warnings, false),
    TEST(proxy_route, true),
    TEST(proxy_explain, true),
    TEST(proxy_malformed, true),
};
#define NTESTS (sizeof TESTS / sizeof TESTS[0])

static int run_test(const struct test *t)
{
    cur_test = t->name;
    failed = false;
    fail_msg[0] = 0;
    if (t->proxy_only && cfg.direct) {
        printf("ok %s # skip (needs the proxy)\n", t->name);
        fflush(stdout);
        return 0;
    }
    double t0 = now_s();
    int rc = t->fn();
    if (rc != 0 && !failed)
        set_fail(0, "failed without a message");
    if (failed)
        printf("FAIL %s: %s\n", t->name, fail_msg);
    else
        printf("ok %s (%.2f s)\n", t->name, now_s() - t0);
    fflush(stdout);
    return failed ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sy_client_test [--host H] [--port P] [--user U] [--password PW] [--db DB]\n"
            "                      [--primary-port P] [--replica-ports P1,P2] [--direct]\n"
            "                      [--list] all | TEST...\n");
}

int main(int argc, char **argv)
{
    const char *names[64];
    int nnames = 0;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define ARG(opt) (strcmp(a, opt) == 0 && i + 1 < argc)
        if (ARG("--host"))
            cfg.host = argv[++i];
        else if (ARG("--port"))
            cfg.port = (unsigned)atoi(argv[++i]);
        else if (ARG("--user"))
            cfg.user = argv[++i];
        else if (ARG("--password"))
            cfg.password = argv[++i];
        else if (ARG("--db"))
            cfg.db = argv[++i];
        else if (ARG("--primary-port"))
            cfg.primary_port = (unsigned)atoi(argv[++i]);
        else if (ARG("--replica-ports")) {
            char *s = argv[++i];
            cfg.n_replicas = 0;
            for (char *tok = strtok(s, ","); tok && cfg.n_replicas < 8; tok = strtok(NULL, ","))
                cfg.replica_ports[cfg.n_replicas++] = (unsigned)atoi(tok);
        } else if (strcmp(a, "--direct") == 0)
            cfg.direct = true;
        else if (strcmp(a, "--list") == 0)
            list = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            usage(stderr);
            return 2;
        } else if (nnames < 64)
            names[nnames++] = a;
#undef ARG
    }
    if (list) {
        for (size_t i = 0; i < NTESTS; i++)
            printf("%s\n", TESTS[i].name);
        return 0;
    }
    if (nnames == 0) {
        usage(stderr);
        return 2;
    }
    for (int n = 0; n < nnames; n++) {
        if (strcmp(names[n], "all") == 0)
            continue;
        bool found = false;
        for (size_t i = 0; i < NTESTS; i++)
            found |= strcmp(TESTS[i].name, names[n]) == 0;
        if (!found) {
            fprintf(stderr, "sy_client_test: unknown test '%s' (--list)\n", names[n]);
            return 2;
        }
    }
    if (mysql_library_init(0, NULL, NULL)) {
        fprintf(stderr, "mysql_library_init failed\n");
        return 2;
    }
    cur_test = "setup";
    if (setup() != 0) {
        printf("FAIL setup: %s\n", fail_msg);
        mysql_library_end();
        return 2;
    }
    int failures = 0;
    for (size_t i = 0; i < NTESTS; i++) {
        bool want = false;
        for (int n = 0; n < nnames; n++)
            want |= strcmp(names[n], "all") == 0 || strcmp(names[n], TESTS[i].name) == 0;
        if (want)
            failures += run_test(&TESTS[i]);
    }
    mysql_library_end();
    return failures ? 1 : 0;
}
