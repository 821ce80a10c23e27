/* causal_pairs: latency of insert-then-read pairs, for test/bench/causal_bench.sh.
 *
 * Each pair INSERTs a row into DB.causal_pairs on the writer connection and
 * at once SELECTs it back by id, on the same connection (-x off) or on a
 * second one (-x on, as a pooled application does). Through switchyard the
 * INSERT runs on the primary and the SELECT on a replica (or on the primary
 * when -r prefixes it with a route=primary hint comment). Prints one line of
 * key=value figures: pair and read latency p50/p99 in microseconds, how
 * many reads did not see their row (stale) and the @@port of the servers the
 * reads ran on (so a figure cannot silently come from the wrong server). Not a test: a stale read is counted, not an error.
 *
 * With -R PORT the read goes to a direct connection to the replica at PORT
 * instead, preceded in the same round trip by MASTER_GTID_WAIT for the
 * INSERT's GTID (reported by session tracking of last_gtid): what a client
 * would do itself without a proxy, the floor for a causal read on a replica.
 *
 * Written in C rather than Python so that the client adds microseconds, not
 * tens of them with jitter, to figures that differ by a proxy hop.
 *
 *   causal_pairs -h HOST -P PORT -u USER -p PASSWORD -D DB [-n PAIRS] [-w WARMUP]
 *                [-x on|off] [-s] [-r READ_PREFIX] [-R REPLICA_PORT]
 *   -s: the read is a prepared statement (COM_STMT_EXECUTE), not a text query
 *       (not with -R).
 *
 * Build: cc -O2 -o causal_pairs causal_pairs.c $(mariadb_config --cflags --libs)
 */
#define _POSIX_C_SOURCE 200809L
#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct opts {
    const char *host, *user, *password, *db, *read_prefix;
    unsigned port, replica_port;
    long pairs, warmup;
    int cross, prepared;
};

/* The reader: a text query or a prepared statement with one id parameter. */
struct reader {
    MYSQL *conn;
    MYSQL_STMT *stmt;
    unsigned long long id;
    long long count, port;
    MYSQL_BIND param, result[2];
    char sql[256];
};

#define READ_SQL "SELECT COUNT(*), @@port FROM causal_pairs WHERE id = "
#define MAX_PORTS 8

static void die(const char *what, MYSQL *conn, MYSQL_STMT *stmt)
{
    fprintf(stderr, "causal_pairs: %s: %s\n", what,
            stmt ? mysql_stmt_error(stmt) : conn ? mysql_error(conn) : "bad arguments");
    exit(1);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static MYSQL *connect_to(const struct opts *o, unsigned port, unsigned long flags)
{
    MYSQL *c = mysql_init(NULL);
    if (!c) die("mysql_init", NULL, NULL);
    if (!mysql_real_connect(c, o->host, o->user, o->password, o->db, port, NULL, flags))
        die("connect", c, NULL);
    return c;
}

/* The GTID of the writer's last statement, from the session-tracking block of its OK. */
static void last_gtid(MYSQL *writer, char *gtid, size_t size)
{
    const char *data;
    size_t len;
    /* The entries come as name, value, name, value... */
    int rc = mysql_session_track_get_first(writer, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len);
    for (int is_value = 0; rc == 0; is_value = !is_value) {
        if (is_value && len < size) {
            memcpy(gtid, data, len);
            gtid[len] = '\0';
            return;
        }
        rc = mysql_session_track_get_next(writer, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len);
    }
    die("no last_gtid in the INSERT's OK packet", writer, NULL);
}

/* Stores and frees one result of a query; returns its first row's two columns. */
static void first_row(MYSQL *conn, long long *a, long long *b)
{
    MYSQL_RES *res = mysql_store_result(conn);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (!row || !row[0]) die("select result", conn, NULL);
    *a = atoll(row[0]);
    if (b) *b = row[1] ? atoll(row[1]) : 0;
    mysql_free_result(res);
}

static void reader_init(struct reader *r, MYSQL *conn, const struct opts *o)
{
    memset(r, 0, sizeof *r);
    r->conn = conn;
    if (!o->prepared) return;
    snprintf(r->sql, sizeof r->sql, "%s" READ_SQL "?", o->read_prefix);
    r->stmt = mysql_stmt_init(conn);
    if (!r->stmt || mysql_stmt_prepare(r->stmt, r->sql, strlen(r->sql)))
        die("prepare", conn, r->stmt);
    r->param.buffer_type = MYSQL_TYPE_LONGLONG;
    r->param.buffer = &r->id;
    r->param.is_unsigned = 1;
    r->result[0].buffer_type = r->result[1].buffer_type = MYSQL_TYPE_LONGLONG;
    r->result[0].buffer = &r->count;
    r->result[1].buffer = &r->port;
    if (mysql_stmt_bind_param(r->stmt, &r->param) || mysql_stmt_bind_result(r->stmt, r->result))
        die("bind", conn, r->stmt);
}

/* Reads the row with this id: sets r->count (0 = stale) and r->port. With -R,
 * the replica first waits for GTID (at most 1 s), in the same round trip. */
static void read_row(struct reader *r, const struct opts *o, unsigned long long id,
                     const char *gtid)
{
    if (r->stmt) {
        r->id = id;
        if (mysql_stmt_execute(r->stmt) || mysql_stmt_fetch(r->stmt))
            die("execute", r->conn, r->stmt);
        mysql_stmt_free_result(r->stmt);
        return;
    }
    if (o->replica_port) {
        long long waited;
        snprintf(r->sql, sizeof r->sql, "SELECT MASTER_GTID_WAIT('%s', 1); " READ_SQL "%llu",
                 gtid, id);
        if (mysql_query(r->conn, r->sql)) die("wait and select", r->conn, NULL);
        first_row(r->conn, &waited, NULL);
        if (mysql_next_result(r->conn)) die("select after the wait", r->conn, NULL);
    } else {
        snprintf(r->sql, sizeof r->sql, "%s" READ_SQL "%llu", o->read_prefix, id);
        if (mysql_query(r->conn, r->sql)) die("select", r->conn, NULL);
    }
    first_row(r->conn, &r->count, &r->port);
}

/* Adds a port to the distinct ports seen; more than MAX_PORTS are not kept. */
static void note_port(long long *ports, int *n, long long port)
{
    for (int i = 0; i < *n; i++)
        if (ports[i] == port) return;
    if (*n < MAX_PORTS) ports[(*n)++] = port;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, long n, double p)
{
    long i = (long)(p / 100.0 * n + 0.999999) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.host = "127.0.0.1", .user = "app", .password = "", .db = "sbtest",
                       .read_prefix = "", .port = 3306, .pairs = 1000, .warmup = 50};
    int ch;
    while ((ch = getopt(argc, argv, "h:P:u:p:D:n:w:x:sr:R:")) != -1) {
        switch (ch) {
        case 'h': o->host = optarg; break;
        case 'P': o->port = (unsigned)atoi(optarg); break;
        case 'u': o->user = optarg; break;
        case 'p': o->password = optarg; break;
        case 'D': o->db = optarg; break;
        case 'n': o->pairs = atol(optarg); break;
        case 'w': o->warmup = atol(optarg); break;
        case 'x': o->cross = strcmp(optarg, "on") == 0; break;
        case 's': o->prepared = 1; break;
        case 'r': o->read_prefix = optarg; break;
        case 'R': o->replica_port = (unsigned)atoi(optarg); break;
        default: die("usage: see the comment on top of causal_pairs.c", NULL, NULL);
        }
    }
    if (o->pairs < 1 || o->warmup < 0) die("-n must be >= 1, -w >= 0", NULL, NULL);
    if (o->replica_port && o->prepared) die("-R reads with text queries only, not -s", NULL, NULL);
}

int main(int argc, char **argv)
{
    struct opts o;
    parse(argc, argv, &o);
    MYSQL *writer = connect_to(&o, o.port, 0);
    struct reader r;
    char gtid[128] = "";
    if (o.replica_port) {
        if (mysql_query(writer, "SET SESSION session_track_system_variables = 'last_gtid'"))
            die("session tracking", writer, NULL);
        reader_init(&r, connect_to(&o, o.replica_port, CLIENT_MULTI_STATEMENTS), &o);
    } else {
        reader_init(&r, o.cross ? connect_to(&o, o.port, 0) : writer, &o);
    }
    double *pair = malloc(sizeof *pair * o.pairs), *read = malloc(sizeof *read * o.pairs);
    if (!pair || !read) die("out of memory", NULL, NULL);
    long stale = 0;
    long long ports[MAX_PORTS];
    int nports = 0;
    for (long i = -o.warmup; i < o.pairs; i++) {
        double t0 = now_us();
        if (mysql_query(writer, "INSERT INTO causal_pairs (v) VALUES (1)"))
            die("insert", writer, NULL);
        unsigned long long id = mysql_insert_id(writer);
        if (o.replica_port) last_gtid(writer, gtid, sizeof gtid);
        double t1 = now_us();
        read_row(&r, &o, id, gtid);
        double t2 = now_us();
        if (i < 0) continue;
        pair[i] = t2 - t0;
        read[i] = t2 - t1;
        stale += r.count == 0;
        note_port(ports, &nports, r.port);
    }
    qsort(pair, o.pairs, sizeof *pair, cmp_double);
    qsort(read, o.pairs, sizeof *read, cmp_double);
    printf("pairs=%ld pair_p50_us=%.0f pair_p99_us=%.0f read_p50_us=%.0f read_p99_us=%.0f "
           "stale=%ld ports=", o.pairs, pct(pair, o.pairs, 50), pct(pair, o.pairs, 99),
           pct(read, o.pairs, 50), pct(read, o.pairs, 99), stale);
    for (int i = 0; i < nports; i++) printf("%s%lld", i ? "," : "", ports[i]);
    putchar('\n');
    if (r.stmt) mysql_stmt_close(r.stmt);
    if (r.conn != writer) mysql_close(r.conn);
    mysql_close(writer);
    free(pair);
    free(read);
    return 0;
}
