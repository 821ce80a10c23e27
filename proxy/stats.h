/* Counters each worker keeps for its own sessions (relaxed atomics: one
 * writer, read now and then by the admin thread, which sums the workers). */
#ifndef SY_PROXY_STATS_H
#define SY_PROXY_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"

/* Latency histogram bounds in microseconds (the last bucket is +Inf). */
#define STATS_LATENCY_BUCKETS 12
static const uint64_t stats_latency_bounds_us[STATS_LATENCY_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000, 10000000};

struct worker_stats {
    atomic_uint_fast64_t statements_primary;  /* client statements run on a primary */
    atomic_uint_fast64_t statements_replica;  /* ... on a replica */
    atomic_uint_fast64_t statements_local;    /* answered by the proxy (PING, PROXY ...) */
    atomic_uint_fast64_t reads, writes;       /* COM_QUERY / EXECUTE by classification */
    atomic_uint_fast64_t read_fallbacks;      /* reads sent to the primary: no replica eligible */
    atomic_uint_fast64_t causal_waits;        /* MASTER_GTID_WAIT sent */
    atomic_uint_fast64_t causal_timeouts;     /* ... that timed out (read went to the writer) */
    atomic_uint_fast64_t readonly_retries;    /* refused as read-only by a replica, rerun on the writer */
    atomic_uint_fast64_t writer_waits;        /* writes that found no writer and waited for one */
    atomic_uint_fast64_t writer_wait_timeouts; /* ... and none came within writer_wait_ms */
    atomic_uint_fast64_t errors_backend;      /* ERR from a server, forwarded */
    atomic_uint_fast64_t errors_proxy;        /* ERR made by the proxy (backend lost, refused...) */
    atomic_uint_fast64_t auth_failures;
    atomic_uint_fast64_t refused_firewall;
    atomic_uint_fast64_t refused_limits;
    atomic_uint_fast64_t login_timeouts;      /* closed: no login within connect_timeout */
    atomic_uint_fast64_t bytes_from_clients;
    atomic_uint_fast64_t bytes_to_clients;
    atomic_uint_fast64_t sessions_opened;
    atomic_int client_connections;            /* open now */
    atomic_uint_fast64_t latency_bucket[STATS_LATENCY_BUCKETS];
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t backend_statements[CONFIG_MAX_BACKENDS];
    atomic_uint_fast64_t backend_errors[CONFIG_MAX_BACKENDS];
    atomic_int backend_connections[CONFIG_MAX_BACKENDS]; /* open now */
    atomic_int pool_idle[CONFIG_MAX_BACKENDS];           /* of those, waiting in the pool */
    atomic_uint_fast64_t backend_logins[CONFIG_MAX_BACKENDS]; /* connections opened */
    atomic_uint_fast64_t pool_reuses[CONFIG_MAX_BACKENDS];    /* sessions served from the pool */
    atomic_uint_fast64_t pool_broken[CONFIG_MAX_BACKENDS]; /* pooled ones found dead and replaced */
    /* [backend.*] max_connections (backend_limit.h) */
    atomic_int pool_waiting[CONFIG_MAX_BACKENDS];              /* statements waiting now */
    atomic_uint_fast64_t pool_waits[CONFIG_MAX_BACKENDS];      /* statements that waited */
    atomic_uint_fast64_t pool_wait_timeouts[CONFIG_MAX_BACKENDS]; /* ... and got no connection */
    atomic_uint_fast64_t pool_wait_ms[CONFIG_MAX_BACKENDS];    /* time waited, all together */
};

static inline void stats_add(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline void stats_latency(struct worker_stats *st, uint64_t us)
{
    int b = 0;
    while (b < STATS_LATENCY_BUCKETS - 1 && us > stats_latency_bounds_us[b])
        b++;
    stats_add(&st->latency_bucket[b], 1);
    stats_add(&st->latency_sum_us, us);
}

#endif
