/* The monitor thread. Each round it checks every backend over a persistent
 * MariaDB Connector/C connection (blocking calls bounded by timeouts; the
 * queries are in monitor_probe.c), derives a state per backend, applies the
 * rules that span rounds, logs the changes and publishes a new snapshot.
 *
 * Rules across rounds:
 *   down_after         a failed check keeps the previous state (reason
 *                      "check failed N/M") until M checks in a row failed;
 *                      a backend with no history (first round, or never
 *                      reached) is DOWN at once, so nothing is routed to a
 *                      server the proxy never reached.
 *   recover_intervals  a LAGGING or BROKEN replica is UP again only after
 *                      that many checks in a row under its limit.
 *   galera             a Galera node (galera = on) is UP only while Synced
 *                      in the primary component (monitor_galera.c).
 *   discover_roles     role follows @@read_only (0 = primary, 1 = replica);
 *                      an unreachable backend keeps its last known role.
 *   heartbeat_table    written on the first writable primary of the round,
 *                      read on the replicas. The writer of the last snapshot
 *                      is checked first, then the other primaries, then the
 *                      replicas: the heartbeat goes where the writes go, and
 *                      a replica reads one that is milliseconds old plus its
 *                      real lag. */
#include "proxy/monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/log.h"
#include "proxy/monitor_galera.h"
#include "proxy/monitor_probe.h"

struct monitor {
    const struct proxy_config *cfg;
    struct topology_holder *holder;
    size_t n;
    struct probe_conn conn[CONFIG_MAX_BACKENDS];
    struct backend_status prev[CONFIG_MAX_BACKENDS]; /* last published states */
    enum backend_role role[CONFIG_MAX_BACKENDS];     /* last known role */
    int failed_checks[CONFIG_MAX_BACKENDS];          /* in a row */
    int good_checks[CONFIG_MAX_BACKENDS];            /* in a row under the limit, while LAGGING */
    struct topology *published;                      /* newest snapshot, our reference */
    int writer;                                      /* of the last snapshot, -1 none */
    uint64_t round;                                  /* rounds run, the current one included */
    bool heartbeat_written;                          /* this round */
    char heartbeat_error[200];                       /* last write failure, "" when fine */
    char server_version[64];                         /* last primary version seen */

    pthread_t thread;
    pthread_mutex_t lock; /* guards the wait on cond */
    pthread_cond_t cond;
    atomic_bool stop;
};

static const char *role_name(enum backend_role r)
{
    return r == ROLE_PRIMARY ? "primary" : "replica";
}

/* The role this round: the file's, or with discover_roles what @@read_only
 * says. Changes are logged loudly: they move writes. */
static enum backend_role decide_role(struct monitor *m, size_t i, bool read_only)
{
    const struct backend_config *b = &m->cfg->backends[i];
    if (!m->cfg->discover_roles)
        return b->role;
    enum backend_role r = read_only ? ROLE_REPLICA : ROLE_PRIMARY;
    if (r != m->role[i])
        log_warn("monitor: backend %s (%s:%u): role %s -> %s (@@read_only=%d)", b->name, b->host,
                 (unsigned)b->port, role_name(m->role[i]), role_name(r), read_only ? 1 : 0);
    m->role[i] = r;
    return r;
}

/* Logs heartbeat write failures once each, and the recovery. */
static void note_heartbeat_error(struct monitor *m, const struct backend_config *b,
                                 const char *err)
{
    if (strcmp(err, m->heartbeat_error) == 0)
        return;
    if (err[0])
        log_warn("monitor: cannot write heartbeat %s on %s (%s:%u): %s; replica lag comes from "
                 "Seconds_Behind_Master meanwhile",
                 m->cfg->heartbeat_table, b->name, b->host, (unsigned)b->port, err);
    else
        log_info("monitor: heartbeat %s written on %s (%s:%u)", m->cfg->heartbeat_table, b->name,
                 b->host, (unsigned)b->port);
    snprintf(m->heartbeat_error, sizeof m->heartbeat_error, "%s", err);
}

/* A primary is UP when it answers; the first writable one of the round also
 * gets the heartbeat write. */
static enum probe_result probe_primary(struct monitor *m, size_t i, struct backend_status *st)
{
    st->state = BACKEND_UP;
    probe_set_reason(st, "%s", st->read_only ? "reachable, read_only=ON" : "reachable");
    if (!m->cfg->heartbeat_table[0] || st->read_only || m->heartbeat_written)
        return PROBE_DONE;
    char err[sizeof m->heartbeat_error];
    enum probe_result r =
        probe_heartbeat_write(&m->conn[i], m->cfg->heartbeat_table, st, err, sizeof err);
    if (r != PROBE_DONE)
        return r;
    note_heartbeat_error(m, &m->cfg->backends[i], err);
    m->heartbeat_written = !err[0];
    return PROBE_DONE;
}

/* SHOW REPLICA STATUS, then, while replicating and when this round wrote a
 * heartbeat, the heartbeat's age as the lag. Without a fresh write the age
 * would count the monitor's own outage as lag. */
static enum probe_result probe_replica_lag(struct monitor *m, size_t i,
                                           struct backend_status *st)
{
    double max_lag = m->cfg->backends[i].max_replication_lag;
    enum probe_result r = probe_replica(&m->conn[i], m->cfg->monitor_user, max_lag, st);
    bool replicating = st->state == BACKEND_UP || st->state == BACKEND_LAGGING;
    if (r != PROBE_DONE || !replicating || !m->cfg->heartbeat_table[0])
        return r;
    if (!m->heartbeat_written) {
        size_t n = strlen(st->reason);
        snprintf(st->reason + n, sizeof st->reason - n, "; no heartbeat written this round");
        return PROBE_DONE;
    }
    return probe_heartbeat_read(&m->conn[i], m->cfg->heartbeat_table, max_lag, st);
}

static enum probe_result probe(struct monitor *m, size_t i, struct backend_status *st,
                               char *version, size_t version_len)
{
    struct probe_vars v;
    enum probe_result r = probe_vars(&m->conn[i], &v, st);
    if (r != PROBE_DONE)
        return r;
    st->read_only = v.read_only;
    st->tracks_last_gtid = v.tracks_last_gtid;
    st->autocommit_off = !v.autocommit;
    snprintf(version, version_len, "%s", v.version);
    st->role = decide_role(m, i, v.read_only);
    const char *pos = st->role == ROLE_PRIMARY ? v.binlog_pos : v.slave_pos;
    memcpy(st->gtid_pos, pos, sizeof st->gtid_pos);
    if (st->role != ROLE_PRIMARY)
        return probe_replica_lag(m, i, st);
    r = probe_primary(m, i, st);
    if (r == PROBE_DONE && m->cfg->backends[i].galera)
        r = probe_galera(&m->conn[i], &m->prev[i].galera, st);
    return r;
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
    double timeout = (double)probe_timeout_seconds(m->cfg->monitor_connect_timeout_ms);
    for (int attempt = 0; attempt < 2; attempt++) {
        bool reused = m->conn[i].mysql != NULL;
        double started = now_seconds();
        st->state = BACKEND_DOWN;
        st->lag_seconds = -1;
        st->read_only = false;
        st->role = m->role[i];
        st->gtid_pos[0] = '\0';
        st->reason[0] = '\0';
        memset(&st->galera, 0, sizeof st->galera);
        version[0] = '\0';
        if (!reused && probe_connect(&m->conn[i], m->cfg, &m->cfg->backends[i], st) != 0)
            return;
        enum probe_result r = probe(m, i, st, version, version_len);
        if (r == PROBE_DONE)
            return;
        probe_close(&m->conn[i]);
        if (r == PROBE_FAILED || !reused || now_seconds() - started >= timeout / 2)
            return;
    }
}

/* The round number lets a reader count rounds between a failure and what
 * followed (the writer change logs it too). */
static void log_change(const struct backend_config *b, const struct backend_status *old,
                       const struct backend_status *now, uint64_t round)
{
    enum log_level lvl = now->state == BACKEND_UP ? LOG_INFO : LOG_WARN;
    log_msg(lvl, "monitor: backend %s (%s:%u): %s -> %s: %s (round %" PRIu64 ")", b->name,
            b->host, (unsigned)b->port, backend_state_name(old->state),
            backend_state_name(now->state), now->reason, round);
}

/* down_after: a failed check keeps the previous state, and says so, until
 * enough checks in a row failed. Without history (UNKNOWN) or when already
 * DOWN there is nothing to keep. */
static void apply_down_after(struct monitor *m, size_t i, struct backend_status *st)
{
    const struct backend_status *prev = &m->prev[i];
    if (st->state != BACKEND_DOWN) {
        m->failed_checks[i] = 0;
        return;
    }
    if (m->failed_checks[i] < m->cfg->down_after)
        m->failed_checks[i]++;
    if (prev->state == BACKEND_UNKNOWN || prev->state == BACKEND_DOWN)
        return;
    if (m->failed_checks[i] >= m->cfg->down_after) {
        if (m->cfg->down_after == 1)
            return;
        size_t n = strlen(st->reason);
        snprintf(st->reason + n, sizeof st->reason - n, " (%d checks in a row)",
                 m->failed_checks[i]);
        return;
    }
    char why[sizeof st->reason];
    memcpy(why, st->reason, sizeof why);
    *st = *prev;
    probe_set_reason(st, "check failed %d/%d: %s", m->failed_checks[i], m->cfg->down_after, why);
    const struct backend_config *b = &m->cfg->backends[i];
    log_warn("monitor: backend %s (%s:%u): still %s, %s (round %" PRIu64 ")", b->name, b->host,
             (unsigned)b->port, backend_state_name(st->state), st->reason, m->round);
}

/* recover_intervals: a replica that was LAGGING stays LAGGING until enough
 * checks in a row found it under its limit, so a lag hovering around the
 * limit does not flap reads on and off. BROKEN owes the same: a replica whose
 * threads were stopped (STOP SLAVE to change MASTER_DELAY, a restart) can
 * report a lag of 0 before its IO thread has fetched what it missed. */
static void apply_recovery(struct monitor *m, size_t i, struct backend_status *st)
{
    int need = m->cfg->recover_intervals;
    enum backend_state was = m->prev[i].state;
    if (st->state != BACKEND_UP || st->role != ROLE_REPLICA ||
        (was != BACKEND_LAGGING && was != BACKEND_BROKEN)) {
        m->good_checks[i] = 0;
        return;
    }
    m->good_checks[i]++;
    size_t n = strlen(st->reason);
    if (m->good_checks[i] >= need) {
        snprintf(st->reason + n, sizeof st->reason - n, "; under the limit for %d check(s)",
                 m->good_checks[i]);
        m->good_checks[i] = 0;
        return;
    }
    st->state = BACKEND_LAGGING;
    snprintf(st->reason + n, sizeof st->reason - n, "; recovering, %d/%d checks under the limit",
             m->good_checks[i], need);
}

/* Check order: the last writer, the other last known primaries, then the
 * replicas, so that the heartbeat is written where the writes go and before
 * the replicas read it. */
static size_t check_order(const struct monitor *m, size_t order[CONFIG_MAX_BACKENDS])
{
    size_t k = 0;
    if (m->writer >= 0 && (size_t)m->writer < m->n)
        order[k++] = (size_t)m->writer;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < m->n; i++)
            if ((m->role[i] == ROLE_PRIMARY) == (pass == 0) && (int)i != m->writer)
                order[k++] = i;
    return k;
}

/* Checks backend i into st and applies the rules that span rounds. */
static void check_and_settle(struct monitor *m, size_t i, struct backend_status *st,
                             char *version, size_t version_len)
{
    check_backend(m, i, st, version, version_len);
    apply_down_after(m, i, st);
    apply_recovery(m, i, st);
    if (st->state != m->prev[i].state)
        log_change(&m->cfg->backends[i], &m->prev[i], st, m->round);
    m->prev[i] = *st;
}

/* The primary's version; while it is unreachable the last one seen, and
 * before any primary answered, whatever a reachable backend says. */
static void note_version(struct monitor *m, const struct backend_status *st,
                         const char *version, bool *primary_seen, char *any_version)
{
    if (!version[0])
        return;
    if (st->role == ROLE_PRIMARY && !*primary_seen) {
        *primary_seen = true;
        memcpy(m->server_version, version, sizeof m->server_version);
    }
    if (!any_version[0])
        memcpy(any_version, version, sizeof m->server_version);
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
    t->monitor_round = ++m->round;
    char any_version[sizeof m->server_version] = "";
    bool primary_seen = false;
    size_t order[CONFIG_MAX_BACKENDS];
    size_t count = check_order(m, order);
    m->heartbeat_written = false;
    for (size_t k = 0; k < count; k++) {
        if (atomic_load(&m->stop)) {
            free(t);
            return -1;
        }
        size_t i = order[k];
        char version[64];
        check_and_settle(m, i, &t->backend[i], version, sizeof version);
        note_version(m, &t->backend[i], version, &primary_seen, any_version);
    }
    const char *v = m->server_version[0] ? m->server_version : any_version;
    snprintf(t->server_version, sizeof t->server_version, "%s", v);
    topology_publish(m->holder, t);
    /* Through a reference of our own: t may be replaced and freed at once. */
    m->writer = topology_refresh(m->holder, &m->published)->writer;
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
        probe_close(&m->conn[i]);
    mysql_thread_end();
    return NULL;
}

static void monitor_free(struct monitor *m)
{
    for (size_t i = 0; i < m->n; i++)
        probe_close(&m->conn[i]);
    topology_release(m->published);
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
    m->writer = -1;
    atomic_init(&m->stop, false);
    for (size_t i = 0; i < m->n; i++) {
        m->prev[i].state = BACKEND_UNKNOWN;
        m->prev[i].lag_seconds = -1;
        m->prev[i].role = cfg->backends[i].role;
        m->role[i] = cfg->backends[i].role; /* with discover_roles: the first guess */
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
    log_info("monitor: checking %zu backend(s) every %d ms as user %s; DOWN after %d failed "
             "checks, UP after %d under the lag limit; lag from %s; roles %s",
             m->n, cfg->monitor_interval_ms, cfg->monitor_user, cfg->down_after,
             cfg->recover_intervals,
             cfg->heartbeat_table[0] ? cfg->heartbeat_table : "Seconds_Behind_Master",
             cfg->discover_roles ? "from @@read_only" : "from the file");
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
