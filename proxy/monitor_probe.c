/* The monitor's queries against one backend (see monitor_probe.h).
 *
 *   every backend:  SELECT @@read_only, @@version, @@gtid_slave_pos, @@gtid_binlog_pos
 *   replicas:       SHOW REPLICA STATUS  (SHOW SLAVE STATUS on old servers)
 *   heartbeat:      INSERT ... NOW(6) on the writable primary,
 *                   SELECT TIMESTAMPDIFF(MICROSECOND, ts, NOW(6)) on replicas
 *
 * Columns of SHOW REPLICA STATUS are found by name: MariaDB keeps the
 * Slave_/Master names, MySQL 8 renamed them to Replica_/Source. */
#include "proxy/monitor_probe.h"

#include <errno.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void probe_set_reason(struct backend_status *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->reason, sizeof st->reason, fmt, ap);
    va_end(ap);
}

static bool is_client_error(unsigned int err)
{
    /* 2000-2999: Connector/C's own errors (server gone, lost, timeout...). */
    return err >= 2000 && err < 3000;
}

unsigned int probe_timeout_seconds(int ms)
{
    if (ms <= 1000)
        return 1;
    return (unsigned int)((ms + 999) / 1000);
}

void probe_close(struct probe_conn *pc)
{
    if (pc->mysql) {
        mysql_close(pc->mysql);
        pc->mysql = NULL;
    }
}

int probe_connect(struct probe_conn *pc, const struct proxy_config *cfg,
                  const struct backend_config *b, struct backend_status *st)
{
    MYSQL *c = mysql_init(NULL);
    if (!c) {
        st->state = BACKEND_DOWN;
        probe_set_reason(st, "cannot connect: out of memory");
        return -1;
    }
    unsigned int t = probe_timeout_seconds(cfg->monitor_connect_timeout_ms);
    unsigned int proto = MYSQL_PROTOCOL_TCP;
    /* No MYSQL_READ_DEFAULT_FILE/GROUP: Connector/C reads no option file
     * unless asked to, so a stray my.cnf cannot change the monitor. TCP even
     * for "localhost", never a unix socket. */
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_PROTOCOL, &proto);
    if (!mysql_real_connect(c, b->host, cfg->monitor_user, cfg->monitor_password, NULL, b->port,
                            NULL, 0)) {
        st->state = BACKEND_DOWN;
        probe_set_reason(st, "cannot connect: %s", mysql_error(c));
        mysql_close(c);
        return -1;
    }
    pc->mysql = c;
    pc->vars_query = 0; /* another server may answer on this address now */
    return 0;
}

/* Marks st DOWN after a failed query and classifies the failure. */
enum probe_result probe_query_failed(MYSQL *c, struct backend_status *st, const char *what)
{
    unsigned int err = mysql_errno(c);
    st->state = BACKEND_DOWN;
    probe_set_reason(st, "%s failed: %s", what, mysql_error(c));
    return is_client_error(err) ? PROBE_CONN_LOST : PROBE_FAILED;
}

/* ---- variables ---- */

/* Tried in order until one is accepted (unknown variables are error 1193):
 * MariaDB, MySQL 5.6+ (one executed set for both roles), neither. Always
 * six columns. */
static const char *const vars_queries[] = {
    ("SELECT @@read_only, @@version, @@gtid_slave_pos, @@gtid_binlog_pos, "
     "@@global.session_track_system_variables, @@global.autocommit"),
    ("SELECT @@read_only, @@version, @@global.gtid_executed, @@global.gtid_executed, NULL, "
     "@@global.autocommit"),
    "SELECT @@read_only, @@version, NULL, NULL, NULL, @@global.autocommit",
};
#define N_VARS_QUERIES (int)(sizeof vars_queries / sizeof vars_queries[0])

/* A GTID position that does not fit is stored as unknown rather than cut:
 * a cut position would name a different set. */
static void copy_pos(char *dst, size_t size, const char *src, unsigned long len)
{
    if (src && len < size) {
        memcpy(dst, src, len);
        dst[len] = '\0';
    } else {
        dst[0] = '\0';
    }
}

static int run_vars_query(struct probe_conn *pc)
{
    for (; pc->vars_query < N_VARS_QUERIES; pc->vars_query++) {
        if (mysql_query(pc->mysql, vars_queries[pc->vars_query]) == 0)
            return 0;
        if (mysql_errno(pc->mysql) != ER_UNKNOWN_SYSTEM_VARIABLE)
            return -1;
    }
    pc->vars_query = 0; /* none accepted: start over on the next round */
    return -1;
}

enum probe_result probe_vars(struct probe_conn *pc, struct probe_vars *out,
                             struct backend_status *st)
{
    MYSQL *c = pc->mysql;
    if (run_vars_query(pc) != 0)
        return probe_query_failed(c, st, "SELECT @@read_only");
    MYSQL_RES *res = mysql_store_result(c);
    if (!res)
        return probe_query_failed(c, st, "SELECT @@read_only");
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || mysql_num_fields(res) < 6) {
        enum probe_result r = probe_query_failed(c, st, "SELECT @@read_only");
        if (r != PROBE_CONN_LOST)
            probe_set_reason(st, "SELECT @@read_only returned no row");
        mysql_free_result(res);
        return r;
    }
    const unsigned long *len = mysql_fetch_lengths(res);
    out->read_only = row[0] && strcmp(row[0], "0") != 0;
    snprintf(out->version, sizeof out->version, "%s", row[1] ? row[1] : "");
    copy_pos(out->slave_pos, sizeof out->slave_pos, row[2], len[2]);
    copy_pos(out->binlog_pos, sizeof out->binlog_pos, row[3], len[3]);
    out->tracks_last_gtid = row[4] && (strstr(row[4], "last_gtid") || strchr(row[4], '*'));
    out->autocommit = !row[5] || strcmp(row[5], "0") != 0;
    mysql_free_result(res);
    return PROBE_DONE;
}

/* ---- SHOW REPLICA STATUS ---- */

static int find_column(const MYSQL_FIELD *f, unsigned int nf, const char *a, const char *b)
{
    for (unsigned int k = 0; k < nf; k++)
        if (f[k].name && (strcasecmp(f[k].name, a) == 0 || strcasecmp(f[k].name, b) == 0))
            return (int)k;
    return -1;
}

/* UP or LAGGING by lag; source names where the number came from. */
static void judge_lag(struct backend_status *st, double lag, double max_lag, const char *source)
{
    st->lag_seconds = lag;
    if (lag > max_lag) {
        st->state = BACKEND_LAGGING;
        probe_set_reason(st, "lag %g s > max %g s (%s)", lag, max_lag, source);
    } else {
        st->state = BACKEND_UP;
        probe_set_reason(st, "replicating, lag %g s (%s)", lag, source);
    }
}

struct replica_columns {
    int io, sql, lag, io_err, sql_err;
    const char *lag_name;
};

/* The error to show for a stopped replica: the stopped thread's first. */
static const char *stopped_error(MYSQL_ROW row, const struct replica_columns *k, bool io_ok,
                                 bool sql_ok)
{
    const char *io_err = k->io_err >= 0 && row[k->io_err] ? row[k->io_err] : "";
    const char *sql_err = k->sql_err >= 0 && row[k->sql_err] ? row[k->sql_err] : "";
    if (!io_ok && io_err[0])
        return io_err;
    if (!sql_ok && sql_err[0])
        return sql_err;
    return io_err[0] ? io_err : sql_err;
}

/* One row of SHOW REPLICA STATUS into a state. */
static void eval_replica_row(MYSQL_ROW row, const unsigned long *len,
                             const struct replica_columns *k, double max_lag,
                             struct backend_status *st)
{
    const char *io = row[k->io] ? row[k->io] : "NULL";
    const char *sql = row[k->sql] ? row[k->sql] : "NULL";
    bool io_ok = strcmp(io, "Yes") == 0, sql_ok = strcmp(sql, "Yes") == 0;
    st->lag_seconds = -1;
    if (!io_ok || !sql_ok) {
        const char *err = stopped_error(row, k, io_ok, sql_ok);
        st->state = BACKEND_BROKEN;
        probe_set_reason(st, "replication stopped (IO=%s, SQL=%s)%s%s", io, sql,
                         err[0] ? ": " : "", err);
        return;
    }
    char *end = NULL;
    double lag = -1;
    if (row[k->lag] && len[k->lag] > 0) {
        errno = 0;
        lag = strtod(row[k->lag], &end);
        if (errno || end == row[k->lag] || lag < 0)
            lag = -1;
    }
    if (lag < 0) {
        st->state = BACKEND_BROKEN;
        probe_set_reason(st, "lag unknown (%s is NULL)", k->lag_name);
        return;
    }
    judge_lag(st, lag, max_lag, k->lag_name);
}

static int state_severity(enum backend_state s)
{
    switch (s) {
    case BACKEND_UP:
        return 0;
    case BACKEND_LAGGING:
        return 1;
    case BACKEND_BROKEN:
        return 2;
    default:
        return 3;
    }
}

/* Several rows = several channels (MySQL): the worst one counts. */
static void eval_replica_rows(MYSQL_RES *res, MYSQL_ROW row, const struct replica_columns *k,
                              double max_lag, struct backend_status *st)
{
    bool first = true;
    for (; row; row = mysql_fetch_row(res)) {
        struct backend_status one = *st;
        eval_replica_row(row, mysql_fetch_lengths(res), k, max_lag, &one);
        if (first || state_severity(one.state) > state_severity(st->state) ||
            (one.state == st->state && one.lag_seconds > st->lag_seconds)) {
            *st = one;
            first = false;
        }
    }
}

static enum probe_result eval_replica_result(MYSQL *c, MYSQL_RES *res, const char *stmt,
                                             double max_lag, struct backend_status *st)
{
    unsigned int nf = mysql_num_fields(res);
    const MYSQL_FIELD *f = mysql_fetch_fields(res);
    struct replica_columns k = {
        .io = find_column(f, nf, "Slave_IO_Running", "Replica_IO_Running"),
        .sql = find_column(f, nf, "Slave_SQL_Running", "Replica_SQL_Running"),
        .lag = find_column(f, nf, "Seconds_Behind_Master", "Seconds_Behind_Source"),
        .io_err = find_column(f, nf, "Last_IO_Error", "Last_IO_Error"),
        .sql_err = find_column(f, nf, "Last_SQL_Error", "Last_SQL_Error"),
    };
    k.lag_name = k.lag >= 0 ? f[k.lag].name : "Seconds_Behind_Master";

    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        if (mysql_errno(c))
            return probe_query_failed(c, st, stmt);
        st->state = BACKEND_BROKEN;
        probe_set_reason(st, "not configured as a replica");
    } else if (k.io < 0 || k.sql < 0 || k.lag < 0) {
        st->state = BACKEND_BROKEN;
        probe_set_reason(st, "%s has no IO/SQL running or lag column", stmt);
    } else {
        eval_replica_rows(res, row, &k, max_lag, st);
    }
    return PROBE_DONE;
}

enum probe_result probe_replica(struct probe_conn *pc, const char *monitor_user, double max_lag,
                                struct backend_status *st)
{
    MYSQL *c = pc->mysql;
    const char *stmt = "SHOW REPLICA STATUS";
    int rc = mysql_query(c, stmt);
    if (rc != 0 && mysql_errno(c) == ER_PARSE_ERROR) {
        stmt = "SHOW SLAVE STATUS"; /* servers older than MariaDB 10.5 / MySQL 8.0.22 */
        rc = mysql_query(c, stmt);
    }
    if (rc != 0) {
        unsigned int err = mysql_errno(c);
        if (err == ER_SPECIFIC_ACCESS_DENIED_ERROR || err == ER_TABLEACCESS_DENIED_ERROR ||
            err == ER_DBACCESS_DENIED_ERROR) {
            st->state = BACKEND_BROKEN;
            probe_set_reason(st,
                             "no privilege for %s (error %u): GRANT SLAVE MONITOR ON *.* TO "
                             "'%s' (MySQL: REPLICATION CLIENT)",
                             stmt, err, monitor_user);
            return PROBE_DONE;
        }
        return probe_query_failed(c, st, stmt);
    }
    MYSQL_RES *res = mysql_store_result(c);
    if (!res)
        return probe_query_failed(c, st, stmt);
    enum probe_result out = eval_replica_result(c, res, stmt, max_lag, st);
    mysql_free_result(res);
    return out;
}

/* ---- heartbeat ---- */

/* "db.t" as `db`.`t`; config.c allows only [A-Za-z0-9_$] in each part, so
 * the quotes cannot be escaped from. */
static void quote_table(const char *table, char *out, size_t size)
{
    const char *dot = strchr(table, '.');
    int db_len = dot ? (int)(dot - table) : 0;
    snprintf(out, size, "`%.*s`.`%s`", db_len, table, dot ? dot + 1 : table);
}

/* Runs a statement that returns no rows. */
static int run_sql(MYSQL *c, const char *fmt, const char *table)
{
    char name[160], sql[400];
    quote_table(table, name, sizeof name);
    snprintf(sql, sizeof sql, fmt, name);
    return mysql_query(c, sql);
}

/* ROW (or STATEMENT: NOW() travels with the event's timestamp) binlogs
 * replicate the primary's NOW(6) as a value, so a replica compares the
 * primary's clock at write time with its own at read time. */
#define HB_UPSERT "INSERT INTO %s VALUES (1, NOW(6)) ON DUPLICATE KEY UPDATE ts = NOW(6)"
#define HB_CREATE "CREATE TABLE IF NOT EXISTS %s (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL)"

enum probe_result probe_heartbeat_write(struct probe_conn *pc, const char *table,
                                        struct backend_status *st, char *err, size_t err_len)
{
    MYSQL *c = pc->mysql;
    err[0] = '\0';
    /* Upsert first: CREATE ... IF NOT EXISTS every round would put a
     * statement into the binlog each time. */
    int rc = run_sql(c, HB_UPSERT, table);
    if (rc != 0 && mysql_errno(c) == ER_NO_SUCH_TABLE) {
        rc = run_sql(c, HB_CREATE, table);
        if (rc == 0)
            rc = run_sql(c, HB_UPSERT, table);
    }
    if (rc == 0)
        return PROBE_DONE;
    if (is_client_error(mysql_errno(c)))
        return probe_query_failed(c, st, "heartbeat write");
    snprintf(err, err_len, "error %u: %s", mysql_errno(c), mysql_error(c));
    return PROBE_DONE;
}

/* Appends why the heartbeat was not usable to the reason (the lag stays
 * the one SHOW REPLICA STATUS gave). */
static void heartbeat_unusable(struct backend_status *st, const char *why)
{
    size_t n = strlen(st->reason);
    snprintf(st->reason + n, sizeof st->reason - n, "; heartbeat unreadable: %s", why);
}

/* The heartbeat's age in seconds from the first column of res, or -1 with
 * why set. A negative age (replica's clock behind) counts as 0. */
static double heartbeat_age(MYSQL_RES *res, const char **why)
{
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        *why = "row id = 1 missing";
        return -1;
    }
    if (!row[0]) {
        *why = "ts is NULL";
        return -1;
    }
    char *end;
    errno = 0;
    long long us = strtoll(row[0], &end, 10);
    if (errno || end == row[0] || *end) {
        *why = "not a number";
        return -1;
    }
    return us > 0 ? (double)us / 1e6 : 0.0;
}

enum probe_result probe_heartbeat_read(struct probe_conn *pc, const char *table, double max_lag,
                                       struct backend_status *st)
{
    MYSQL *c = pc->mysql;
    if (run_sql(c, "SELECT TIMESTAMPDIFF(MICROSECOND, ts, NOW(6)) FROM %s WHERE id = 1", table)) {
        if (is_client_error(mysql_errno(c)))
            return probe_query_failed(c, st, "heartbeat read");
        heartbeat_unusable(st, mysql_error(c));
        return PROBE_DONE;
    }
    MYSQL_RES *res = mysql_store_result(c);
    if (!res)
        return probe_query_failed(c, st, "heartbeat read");
    const char *why = NULL;
    double age = heartbeat_age(res, &why);
    mysql_free_result(res);
    if (age < 0)
        heartbeat_unusable(st, why);
    else
        judge_lag(st, age, max_lag, "heartbeat");
    return PROBE_DONE;
}
