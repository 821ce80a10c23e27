#include "proxy/session_registry.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void session_registry_init(struct session_registry *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
}

void session_registry_add(struct session_registry *r, struct session_entry *e)
{
    size_t b = e->id % SESSION_REGISTRY_BUCKETS;
    pthread_mutex_lock(&r->lock);
    e->next = r->bucket[b];
    r->bucket[b] = e;
    pthread_mutex_unlock(&r->lock);
}

void session_registry_remove(struct session_registry *r, struct session_entry *e)
{
    size_t b = e->id % SESSION_REGISTRY_BUCKETS;
    pthread_mutex_lock(&r->lock);
    for (struct session_entry **p = &r->bucket[b]; *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
}

void session_registry_set_db(struct session_registry *r, struct session_entry *e, const char *db)
{
    pthread_mutex_lock(&r->lock);
    snprintf(e->db, sizeof e->db, "%s", db);
    pthread_mutex_unlock(&r->lock);
}

int session_registry_count_user(struct session_registry *r, const char *user)
{
    int n = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t b = 0; b < SESSION_REGISTRY_BUCKETS; b++)
        for (struct session_entry *e = r->bucket[b]; e; e = e->next)
            n += strncmp(e->user, user, sizeof e->user) == 0;
    pthread_mutex_unlock(&r->lock);
    return n;
}

struct session_kill_target session_registry_kill(struct session_registry *r, uint32_t id,
                                                 const char *user, bool kill_connection)
{
    struct session_kill_target t = {.found = false, .busy_backend = -1};
    pthread_mutex_lock(&r->lock);
    for (struct session_entry *e = r->bucket[id % SESSION_REGISTRY_BUCKETS]; e; e = e->next) {
        if (e->id != id)
            continue;
        t.found = true;
        t.owner = !user || strncmp(e->user, user, sizeof e->user) == 0;
        if (!t.owner)
            break;
        t.worker = e->worker;
        t.busy_backend = atomic_load(&e->busy_backend);
        if (t.busy_backend >= 0)
            t.busy_thread_id = atomic_load(&e->thread_id[t.busy_backend]);
        if (kill_connection) {
            atomic_store(&e->kill_requested, true);
            if (e->client_fd >= 0)
                shutdown(e->client_fd, SHUT_RDWR);
        }
        break;
    }
    pthread_mutex_unlock(&r->lock);
    return t;
}
