/* Copying the running proxy into an admin snapshot, and the admin actions
 * that change it (offline backends). */
#include "proxy/admin_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/backend_limit.h"
#include "proxy/worker.h"
#include "proxy/writer.h"

static uint64_t load64(atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void sum_worker(struct admin_totals *t, struct worker_stats *st)
{
    t->statements_primary += load64(&st->statements_primary);
    t->statements_replica += load64(&st->statements_replica);
    t->statements_local += load64(&st->statements_local);
    t->reads += load64(&st->reads);
    t->writes += load64(&st->writes);
    t->read_fallbacks += load64(&st->read_fallbacks);
    t->causal_waits += load64(&st->causal_waits);
    t->causal_timeouts += load64(&st->causal_timeouts);
    t->readonly_retries += load64(&st->readonly_retries);
    t->writer_waits += load64(&st->writer_waits);
    t->writer_wait_timeouts += load64(&st->writer_wait_timeouts);
    t->errors_backend += load64(&st->errors_backend);
    t->errors_proxy += load64(&st->errors_proxy);
    t->auth_failures += load64(&st->auth_failures);
    t->refused_firewall += load64(&st->refused_firewall);
    t->refused_limits += load64(&st->refused_limits);
    t->login_timeouts += load64(&st->login_timeouts);
    t->bytes_from_clients += load64(&st->bytes_from_clients);
    t->bytes_to_clients += load64(&st->bytes_to_clients);
    t->sessions_opened += load64(&st->sessions_opened);
    t->client_connections += atomic_load_explicit(&st->client_connections, memory_order_relaxed);
    for (int b = 0; b < STATS_LATENCY_BUCKETS; b++)
        t->latency_bucket[b] += load64(&st->latency_bucket[b]);
    t->latency_sum_us += load64(&st->latency_sum_us);
}

/* Per-backend counters, by index of the current configuration. */
static void sum_backend_counters(struct proxy *p, struct admin_snapshot *snap)
{
    for (int w = 0; w < p->n_workers; w++) {
        struct worker_stats *st = &p->workers[w].stats;
        sum_worker(&snap->totals, st);
        for (size_t i = 0; i < snap->n_backends; i++) {
            struct admin_backend *b = &snap->backend[i];
            b->statements += load64(&st->backend_statements[i]);
            b->errors += load64(&st->backend_errors[i]);
            b->connections +=
                atomic_load_explicit(&st->backend_connections[i], memory_order_relaxed);
            b->pool_idle += atomic_load_explicit(&st->pool_idle[i], memory_order_relaxed);
            b->pool_logins += load64(&st->backend_logins[i]);
            b->pool_reuses += load64(&st->pool_reuses[i]);
            b->pool_broken += load64(&st->pool_broken[i]);
            b->pool_waiting += atomic_load_explicit(&st->pool_waiting[i], memory_order_relaxed);
            b->pool_waits += load64(&st->pool_waits[i]);
            b->pool_wait_timeouts += load64(&st->pool_wait_timeouts[i]);
            b->pool_wait_ms += load64(&st->pool_wait_ms[i]);
        }
    }
    snap->totals.causal_position_fetches = load64(&p->positions.fetches);
}

static void copy_config(struct admin_backend *b, const struct backend_config *c)
{
    memcpy(b->name, c->name, sizeof b->name);
    memcpy(b->host, c->host, sizeof b->host);
    b->port = c->port;
    b->weight = c->weight;
    b->role = c->role;
    b->state = BACKEND_UNKNOWN;
    b->lag_seconds = -1;
}

/* The monitor's view. A snapshot of another configuration generation (just
 * after a reload) would describe other backends: then every state stays
 * unknown until the monitor's first round on the new ones. */
static void copy_topology(struct admin_snapshot *snap, const struct topology *t, bool trusted)
{
    snap->writer = trusted ? t->writer : -1;
    if (trusted)
        memcpy(snap->server_version, t->server_version, sizeof snap->server_version);
    for (size_t i = 0; i < snap->n_backends; i++) {
        struct admin_backend *b = &snap->backend[i];
        if (!trusted || i >= t->n) {
            strcpy(b->reason, "not checked yet since the last reload");
            continue;
        }
        const struct backend_status *s = &t->backend[i];
        b->state = s->state;
        b->role = s->role;
        b->lag_seconds = s->lag_seconds;
        b->writable = backend_writable(t, i);
        memcpy(b->gtid_pos, s->gtid_pos, sizeof b->gtid_pos);
        memcpy(b->reason, s->reason, sizeof b->reason);
        b->galera = s->galera;
    }
}

static int copy_sessions(struct proxy *p, uint64_t now_ms, struct admin_session **out,
                         size_t *n_out);

/* Offline marks, copied under the lock they are written under. */
static void copy_offline(struct proxy *p, struct admin_snapshot *snap)
{
    pthread_mutex_lock(&p->sessions.lock);
    for (size_t i = 0; i < snap->n_backends; i++) {
        for (int k = 0; k < CONFIG_MAX_BACKENDS; k++) {
            if (p->offline[k][0] && strcmp(p->offline[k], snap->backend[i].name) == 0)
                snap->backend[i].offline = true;
        }
    }
    pthread_mutex_unlock(&p->sessions.lock);
}

int admin_snapshot_take(struct proxy *p, struct topology **cached, bool sessions,
                        uint64_t now_ms, struct admin_snapshot *snap)
{
    const struct config_gen *gen = proxy_config_gen(p);
    memset(snap, 0, sizeof *snap);
    snap->cfg = &gen->cfg;
    snap->config_generation = gen->number;
    snap->version = SY_VERSION;
    snap->n_backends = gen->cfg.n_backends;
    for (size_t i = 0; i < snap->n_backends; i++) {
        copy_config(&snap->backend[i], &gen->cfg.backends[i]);
        snap->backend[i].max_connections =
            (int64_t)backend_limit_share(&gen->cfg, (int)i, p->n_workers) * p->n_workers;
    }
    const struct topology *t = topology_refresh(&p->topology, cached);
    copy_topology(snap, t, t->config_number == gen->number);
    copy_offline(p, snap);
    sum_backend_counters(p, snap);
    if (sessions)
        return copy_sessions(p, now_ms, &snap->sessions, &snap->n_sessions);
    return 0;
}

static void copy_session(struct admin_session *d, struct session_entry *e, uint64_t now_ms)
{
    d->id = e->id;
    memcpy(d->user, e->user, sizeof d->user);
    snprintf(d->client, sizeof d->client, "%s", e->client);
    d->age_seconds = now_ms > e->started_ms ? (now_ms - e->started_ms) / 1000 : 0;
    d->in_transaction = atomic_load(&e->in_transaction);
    d->pinned = atomic_load(&e->pinned);
    d->backends_mask = atomic_load(&e->backends_mask);
    memcpy(d->db, e->db, sizeof d->db);
}

/* Entries are owned by their workers and only stay valid under the lock:
 * copy them all while holding it. */
static int copy_sessions(struct proxy *p, uint64_t now_ms, struct admin_session **out,
                         size_t *n_out)
{
    size_t n = 0, cap = 0;
    struct admin_session *v = NULL;
    int rc = 0;
    pthread_mutex_lock(&p->sessions.lock);
    for (size_t b = 0; b < SESSION_REGISTRY_BUCKETS && rc == 0; b++) {
        for (struct session_entry *e = p->sessions.bucket[b]; e && rc == 0; e = e->next) {
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                struct admin_session *nv = realloc(v, ncap * sizeof *v);
                if (!nv) {
                    rc = -1;
                    break;
                }
                v = nv;
                cap = ncap;
            }
            copy_session(&v[n++], e, now_ms);
        }
    }
    pthread_mutex_unlock(&p->sessions.lock);
    *out = v;
    *n_out = n;
    return rc;
}

static bool config_has_backend(const struct proxy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        if (strcmp(cfg->backends[i].name, name) == 0)
            return true;
    }
    return false;
}

/* The routing side checks every slot (proxy_backend_offline): a slot is
 * free when its name is empty, n_offline says whether any is used. */
int admin_set_offline(struct proxy *p, const char *name, bool offline)
{
    if (!config_has_backend(&proxy_config_gen(p)->cfg, name))
        return -1;
    pthread_mutex_lock(&p->sessions.lock);
    int at = -1, free_slot = -1;
    for (int k = 0; k < CONFIG_MAX_BACKENDS; k++) {
        if (p->offline[k][0] && strcmp(p->offline[k], name) == 0)
            at = k;
        else if (!p->offline[k][0] && free_slot < 0)
            free_slot = k;
    }
    if (offline && at < 0 && free_slot >= 0) {
        snprintf(p->offline[free_slot], sizeof p->offline[free_slot], "%s", name);
        atomic_fetch_add(&p->n_offline, 1);
    } else if (!offline && at >= 0) {
        p->offline[at][0] = '\0';
        atomic_fetch_sub(&p->n_offline, 1);
    }
    pthread_mutex_unlock(&p->sessions.lock);
    return 0;
}

