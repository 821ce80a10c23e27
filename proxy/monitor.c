/* The monitor thread. Each round it checks every backend over a persistent
 * MariaDB Connector/C connection (blocking calls bounded by timeouts), derives
 * a state per backend, logs the changes and publishes a new snapshot.
 *
 *   every backend:  SELECT @@read_only, @@version
 *   replicas:       SHOW REPLICA STATUS  (SHOW SLAVE STATUS on old servers)
 *
 * Columns of SHOW REPLICA STATUS are found by name: MariaDB keeps the
 * Slave_/Master names, MySQL 8 renamed them to Replica_/Source. */
#include "proxy/monitor.h"

#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proxy/log.h"

struct monitor {
    const struct proxy_config *cfg;
    struct topology_holder *holder;
    size_t n;
    MYSQL *conn[CONFIG_MAX_BACKENDS]; /* NULL when not connected */
    struct backend_status prev[CONFIG_MAX_BACKENDS]; /* last published states */
    char server_version[64];                         /* last primary version seen */

    pthread_t thread;
    pthread_mutex_t lock; /* guards the wait on cond */
    pthread_cond_t cond;
    atomic_bool stop;
};

/* Outcome of one probe over one connection. */
enum probe_result {
    PROBE_DONE,      /* status filled in, connection still usable */
    PROBE_FAILED,    /* status is DOWN; close the connection */
    PROBE_CONN_LOST, /* client-side error (server gone, timeout): close, maybe retry */
};

static void set_reason(struct backend_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_reason(struct backend_status *st, const char *fmt, ...)
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

static unsigned int timeout_seconds(int ms)
{
    if (ms <= 1000)
        return 1;
    return (unsigned int)((ms + 999) / 1000);
}

static void close_conn(struct monitor *m, size_t i)
{
    if (m->conn[i]) {
        mysql_close(m->conn[i]);
        m->conn[i] = NULL;
    }
}

/* Opens the connection of backend i. On failure sets st to DOWN. */
static int connect_backend(struct monitor *m, size_t i, struct backend_status *st)
{
    const struct backend_config *b = &m->cfg->backends[i];
    MYSQL *c = mysql_init(NULL);
    if (!c) {
        st->state = BACKEND_DOWN;
        set_reason(st, "cannot connect: out of memory");
        return -1;
    }
    unsigned int t = timeout_seconds(m->cfg->monitor_connect_timeout_ms);
    unsigned int proto = MYSQL_PROTOCOL_TCP;
    /* No MYSQL_READ_DEFAULT_FILE/GROUP: Connector/C reads no option file
     * unless asked to, so a stray my.cnf cannot change the monitor. TCP even
     * for "localhost", never a unix socket. */
    mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(c, MYSQL_OPT_PROTOCOL, &proto);
    if (!mysql_real_connect(c, b->host, m->cfg->monitor_user, m->cfg->monitor_password, NULL,
                            b->port, NULL, 0)) {
        st->state = BACKEND_DOWN;
        set_reason(st, "cannot connect: %s", mysql_error(c));
        mysql_close(c);
        return -1;
    }
    m->conn[i] = c;
    return 0;
}

/* Marks st DOWN after a failed query and classifies the failure. */
static enum probe_result query_failed(MYSQL *c, struct backend_status *st, const char *what)
{
    unsigned int err = mysql_errno(c);
    st->state = BACKEND_DOWN;
    set_reason(st, "%s failed: %s", what, mysql_error(c));
    return is_client_error(err) ? PROBE_CONN_LOST : PROBE_FAILED;
}

static int find_column(const MYSQL_FIELD *f, unsigned int nf, const char *a, const char *b)
{
    for (unsigned int k = 0; k < nf; k++)
        if (f[k].name && (strcasecmp(f[k].name, a) == 0 || strcasecmp(f[k].name, b) == 0))
            return (int)k;
    return -1;
}

/* One row of SHOW REPLICA STATUS into a state. */
static void eval_replica_row(MYSQL_ROW row, const unsigned long *len, int c_io, int c_sql,
                             int c_lag, int c_io_err, int c_sql_err, const char *lag_name,
                             double max_lag, struct backend_status *st)
{
    const char *io = row[c_io] ? row[c_io] : "NULL";
    const char *sql = row[c_sql] ? row[c_sql] : "NULL";
    st->lag_seconds = -1;
    if (strcmp(io, "Yes") != 0 || strcmp(sql, "Yes") != 0) {
        const char *io_err = c_io_err >= 0 && row[c_io_err] ? row[c_io_err] : "";
        const char *sql_err = c_sql_err >= 0 && row[c_sql_err] ? row[c_sql_err] : "";
        const char *err = "";
        if (strcmp(io, "Yes") != 0 && io_err[0])
            err = io_err;
        else if (strcmp(sql, "Yes") != 0 && sql_err[0])
            err = sql_err;
        else if (io_err[0])
            err = io_err;
        else if (sql_err[0])
            err = sql_err;
        st->state = BACKEND_BROKEN;
        set_reason(st, "replication stopped (IO=%s, SQL=%s)%s%s", io, sql, err[0] ? ": " : "",
                   err);
        return;
    }
    char *end = NULL;
    double lag = -1;
    if (row[c_lag] && len[c_lag] > 0) {
        errno = 0;
        lag = strtod(row[c_lag], &end);
        if (errno || end == row[c_lag] || lag < 0)
            lag = -1;
    }
    if (lag < 0) {
        st->state = BACKEND_BROKEN;
        set_reason(st, "lag unknown (%s is NULL)", lag_name);
        return;
    }
    st->lag_seconds = lag;
    if (lag > max_lag) {
        st->state = BACKEND_LAGGING;
        set_reason(st, "lag %g s > max %g s", lag, max_lag);
    } else {
        st->state = BACKEND_UP;
        set_reason(st, "replicating, lag %g s", lag);
    }
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

static enum probe_result probe_replica(struct monitor *m, size_t i, MYSQL *c,
                                       struct backend_status *st)
{
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
            set_reason(st,
                       "no privilege for %s (error %u): GRANT SLAVE MONITOR ON *.* TO '%s' "
                       "(MySQL: REPLICATION CLIENT)",
                       stmt, err, m->cfg->monitor_user);
            return PROBE_DONE;
        }
        return query_failed(c, st, stmt);
    }
    MYSQL_RES *res = mysql_store_result(c);
    if (!res)
        return query_failed(c, st, stmt);

    enum probe_result out = PROBE_DONE;
    unsigned int nf = mysql_num_fields(res);
    const MYSQL_FIELD *f = mysql_fetch_fields(res);
    int c_io = find_column(f, nf, "Slave_IO_Running", "Replica_IO_Running");
    int c_sql = find_column(f, nf, "Slave_SQL_Running", "Replica_SQL_Running");
    int c_lag = find_column(f, nf, "Seconds_Behind_Master", "Seconds_Behind_Source");
    int c_io_err = find_column(f, nf, "Last_IO_Error", "Last_IO_Error");
    int c_sql_err = find_column(f, nf, "Last_SQL_Error", "Last_SQL_Error");
    const char *lag_name = c_lag >= 0 ? f[c_lag].name : "Seconds_Behind_Master";

    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        if (mysql_errno(c)) {
            out = query_failed(c, st, stmt);
        } else {
            st->state = BACKEND_BROKEN;
            set_reason(st, "not configured as a replica");
        }
    } else if (c_io < 0 || c_sql < 0 || c_lag < 0) {
        st->state = BACKEND_BROKEN;
        set_reason(st, "%s has no IO/SQL running or lag column", stmt);
    } else {
        /* Several rows = several channels (MySQL): the worst one counts. */
        double max_lag = m->cfg->backends[i].max_replication_lag;
        bool first = true;
        for (; row; row = mysql_fetch_row(res)) {
            struct backend_status one = *st;
            eval_replica_row(row, mysql_fetch_lengths(res), c_io, c_sql, c_lag, c_io_err,
                             c_sql_err, lag_name, max_lag, &one);
            if (first || state_severity(one.state) > state_severity(st->state) ||
                (one.state == st->state && one.lag_seconds > st->lag_seconds)) {
                *st = one;
                first = false;
            }
        }
    }
    mysql_free_result(res);
    return out;
}

static enum probe_result probe(struct monitor *m, size_t i, struct backend_status *st,
                               char *version, size_t version_len)
{
    MYSQL *c = m->conn[i];
    if (mysql_query(c, "SELECT @@read_only, @@version") != 0)
        return query_failed(c, st, "SELECT @@read_only");
    MYSQL_RES *res = mysql_store_result(c);
    if (!res)
        return query_failed(c, st, "SELECT @@read_only");
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || mysql_num_fields(res) < 2) {
        enum probe_result r = query_failed(c, st, "SELECT @@read_only");
        if (r != PROBE_CONN_LOST)
            set_reason(st, "SELECT @@read_only returned no row");
        mysql_free_result(res);
        return r;
    }
    st->read_only = row[0] && strcmp(row[0], "0") != 0;
    snprintf(version, version_len, "%s", row[1] ? row[1] : "");
    mysql_free_result(res);

    if (m->cfg->backends[i].role == ROLE_PRIMARY) {
        st->state = BACKEND_UP;
        set_reason(st, "%s", st->read_only ? "reachable, read_only=ON" : "reachable");
        return PROBE_DONE;
    }
    return probe_replica(m, i, c, st);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills st for backend i, (re)connecting as needed. A connection reused from
 * an earlier round that fails at once (server restarted, idle timeout: reset
 * or EOF) is replaced once before the backend is declared DOWN. One that
 * failed by timing out is not: a hung server must cost one timeout, not two. */
static void check_backend(struct monitor *m, size_t i, struct backend_status *st,
                          char *version, size_t version_len)
{
    double timeout = (double)timeout_seconds(m->cfg->monitor_connect_timeout_ms);
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = m->conn[i] != NULL;
        double started = now_seconds();
        st->state = BACKEND_DOWN;
        st->lag_seconds = -1;
        st->read_only = false;
        st->reason[0] = '\0';
        version[0] = '\0';
        if (!reused && connect_backend(m, i, st) != 0)
            return;
        enum probe_result r = probe(m, i, st, version, version_len);
        if (r == PROBE_DONE)
            return;
        close_conn(m, i);
        if (r == PROBE_FAILED || !reused || now_seconds() - started >= timeout / 2)
            return;
    }
}

static void log_change(const struct backend_config *b, const struct backend_status *old,
                       const struct backend_status *now)
{
    enum log_level lvl = now->state == BACKEND_UP ? LOG_INFO : LOG_WARN;
    log_msg(lvl, "monitor: backend %s (%s:%u): %s -> %s: %s", b->name, b->host,
            (unsigned)b->port, backend_state_name(old->state), backend_state_name(now->state),
            now->reason);
}

/* One full round. Returns 0 when a snapshot was published. */
static int run_round(struct monitor *m)
{
    struct topology *t = calloc(1, sizeof *t);
    if (!t) {
        log_error("monitor: out of memory for a topology snapshot");
        return -1;
    }
    t->n = m->n;
    char any_version[64] = "";
    bool primary_seen = false;
    for (size_t i = 0; i < m->n; i++) {
        if (atomic_load(&m->stop)) {
            free(t);
            return -1;
        }
        char version[64];
        struct backend_status *st = &t->backend[i];
        check_backend(m, i, st, version, sizeof version);
        if (version[0]) {
            if (m->cfg->backends[i].role == ROLE_PRIMARY && !primary_seen) {
                primary_seen = true;
                memcpy(m->server_version, version, sizeof m->server_version);
            }
            if (!any_version[0])
                memcpy(any_version, version, sizeof any_version);
        }
        if (st->state != m->prev[i].state)
            log_change(&m->cfg->backends[i], &m->prev[i], st);
        m->prev[i] = *st;
    }
    /* The primary's version; while it is unreachable the last one seen, and
     * before any primary answered, whatever a reachable backend says. */
    const char *v = m->server_version[0] ? m->server_version : any_version;
    snprintf(t->server_version, sizeof t->server_version, "%s", v);
    topology_publish(m->holder, t);
    return 0;
}

static void *monitor_main(void *arg)
{
    struct monitor *m = arg;
    mysql_thread_init();
    long interval_ms = m->cfg->monitor_interval_ms > 0 ? m->cfg->monitor_interval_ms : 1000;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start); /* the first round ran in monitor_start */
    pthread_mutex_lock(&m->lock);
    while (!atomic_load(&m->stop)) {
        struct timespec next = start;
        next.tv_sec += interval_ms / 1000;
        next.tv_nsec += (interval_ms % 1000) * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        while (!atomic_load(&m->stop)) {
            int rc = pthread_cond_timedwait(&m->cond, &m->lock, &next);
            if (rc == ETIMEDOUT)
                break;
        }
        if (atomic_load(&m->stop))
            break;
        pthread_mutex_unlock(&m->lock);
        clock_gettime(CLOCK_MONOTONIC, &start);
        run_round(m);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < m->n; i++)
        close_conn(m, i);
    mysql_thread_end();
    return NULL;
}

static void monitor_free(struct monitor *m)
{
    for (size_t i = 0; i < m->n; i++)
        close_conn(m, i);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int monitor_start(struct monitor **out, const struct proxy_config *cfg,
                  struct topology_holder *holder)
{
    *out = NULL;
    if (cfg->n_backends > CONFIG_MAX_BACKENDS) {
        log_error("monitor: %zu backends, at most %d supported", cfg->n_backends,
                  CONFIG_MAX_BACKENDS);
        return -1;
    }
    if (mysql_library_init(0, NULL, NULL) != 0) {
        log_error("monitor: cannot initialise the MariaDB client library");
        return -1;
    }
    struct monitor *m = calloc(1, sizeof *m);
    if (!m) {
        log_error("monitor: out of memory");
        return -1;
    }
    m->cfg = cfg;
    m->holder = holder;
    m->n = cfg->n_backends;
    atomic_init(&m->stop, false);
    for (size_t i = 0; i < m->n; i++) {
        m->prev[i].state = BACKEND_UNKNOWN;
        m->prev[i].lag_seconds = -1;
    }
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        log_error("monitor: pthread_mutex_init failed");
        free(m);
        return -1;
    }
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc == 0) {
        rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&m->cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    if (rc != 0) {
        log_error("monitor: pthread_cond_init failed: %s", strerror(rc));
        pthread_mutex_destroy(&m->lock);
        free(m);
        return -1;
    }

    if (run_round(m) != 0)
        log_warn("monitor: first round published nothing; retrying in the thread");

    rc = pthread_create(&m->thread, NULL, monitor_main, m);
    if (rc != 0) {
        log_error("monitor: cannot start the thread: %s", strerror(rc));
        monitor_free(m);
        return -1;
    }
    log_info("monitor: checking %zu backend(s) every %d ms as user %s", m->n,
             cfg->monitor_interval_ms, cfg->monitor_user);
    *out = m;
    return 0;
}

void monitor_stop(struct monitor *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    atomic_store(&m->stop, true);
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    monitor_free(m);
}
