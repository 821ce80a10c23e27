#include "proxy/status_history.h"

#include <time.h>

#include "proxy/admin.h"
#include "proxy/admin_commands.h"

void status_history_add(struct status_history *h, const struct admin_snapshot *snap,
                        int64_t now)
{
    struct status_sample *s = &h->sample[h->next];
    s->time = now;
    s->n_backends = snap->n_backends;
    for (size_t i = 0; i < snap->n_backends; i++) {
        s->lag[i] = snap->backend[i].lag_seconds;
        s->statements[i] = snap->backend[i].statements;
    }
    s->statements_local = snap->totals.statements_local;
    h->next = (h->next + 1) % STATUS_HISTORY_SAMPLES;
    if (h->count < STATUS_HISTORY_SAMPLES)
        h->count++;
}

const struct status_sample *status_history_at(const struct status_history *h, size_t i)
{
    size_t oldest = h->count < STATUS_HISTORY_SAMPLES ? 0 : h->next;
    return &h->sample[(oldest + i) % STATUS_HISTORY_SAMPLES];
}

static void on_tick(uv_timer_t *t)
{
    struct status_history *h = t->data;
    struct admin_snapshot snap;
    if (admin_snapshot(h->admin, false, &snap) == 0)
        status_history_add(h, &snap, (int64_t)time(NULL));
    admin_snapshot_free(&snap);
}

int status_history_start(struct status_history *h, uv_loop_t *loop, struct admin *a)
{
    h->admin = a;
    h->count = h->next = 0;
    if (uv_timer_init(loop, &h->timer) != 0)
        return -1;
    h->timer.data = h;
    return uv_timer_start(&h->timer, on_tick, 0, STATUS_HISTORY_INTERVAL_MS) == 0 ? 0 : -1;
}

void status_history_stop(struct status_history *h) { uv_close((uv_handle_t *)&h->timer, NULL); }
