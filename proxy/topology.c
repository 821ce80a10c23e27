/* Topology snapshots: the monitor publishes, workers take references.
 *
 * Invariant: whenever the mutex is free, h->version == h->current->version.
 * The holder owns one reference to current; every worker owns one reference
 * to the snapshot it caches. A snapshot is freed when its last reference is
 * released, so a worker may keep routing with an old one while a new one is
 * being published. */
#include "proxy/topology.h"
#include "proxy/writer.h"

#include <stdlib.h>
#include <string.h>

static struct topology *topology_new_unknown(size_t n)
{
    struct topology *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        t->backend[i].state = BACKEND_UNKNOWN;
        t->backend[i].lag_seconds = -1;
        t->backend[i].read_only = false;
        strcpy(t->backend[i].reason, "not checked yet");
    }
    t->server_version[0] = '\0';
    t->writer = -1;
    atomic_init(&t->refs, 1);
    t->version = 1;
    return t;
}

int topology_holder_init(struct topology_holder *h, size_t n_backends)
{
    if (!h || n_backends > CONFIG_MAX_BACKENDS)
        return -1;
    struct topology *t = topology_new_unknown(n_backends);
    if (!t)
        return -1;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(t);
        return -1;
    }
    h->current = t;
    atomic_init(&h->version, t->version);
    return 0;
}

void topology_holder_destroy(struct topology_holder *h)
{
    if (!h)
        return;
    topology_release(h->current);
    h->current = NULL;
    pthread_mutex_destroy(&h->lock);
}

void topology_publish(struct topology_holder *h, struct topology *t)
{
    atomic_store(&t->refs, 1); /* the holder's reference */
    pthread_mutex_lock(&h->lock);
    struct topology *old = h->current;
    t->config_number = h->config_number;
    t->writer = writer_choose(old && old->config_number == t->config_number ? old : NULL, t, h->cfg);
    t->version = (old ? old->version : 0) + 1;
    h->current = t;
    /* Stored before unlocking: a worker that sees the new version and takes
     * the lock always finds this snapshot (or a newer one). */
    atomic_store(&h->version, t->version);
    pthread_mutex_unlock(&h->lock);
    topology_release(old);
}

struct topology *topology_refresh(struct topology_holder *h, struct topology **cached)
{
    struct topology *c = *cached;
    if (c && atomic_load(&h->version) == c->version)
        return c;
    pthread_mutex_lock(&h->lock);
    struct topology *t = h->current;
    atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&h->lock);
    topology_release(c);
    *cached = t;
    return t;
}

void topology_release(struct topology *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

const char *backend_state_name(enum backend_state s)
{
    switch (s) {
    case BACKEND_UNKNOWN:
        return "UNKNOWN";
    case BACKEND_UP:
        return "UP";
    case BACKEND_LAGGING:
        return "LAGGING";
    case BACKEND_BROKEN:
        return "BROKEN";
    case BACKEND_DOWN:
        return "DOWN";
    }
    return "INVALID";
}
