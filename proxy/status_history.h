/* What the status page draws over time: every few seconds the admin loop
 * keeps each backend's lag and statement count, for the last minutes. */
#ifndef SY_PROXY_STATUS_HISTORY_H
#define SY_PROXY_STATUS_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

#define STATUS_HISTORY_SAMPLES 60        /* 5 minutes ... */
#define STATUS_HISTORY_INTERVAL_MS 5000  /* ... at one sample per 5 s */

struct admin;
struct admin_snapshot;

struct status_sample {
    int64_t time;                             /* unix seconds */
    size_t n_backends;
    double lag[CONFIG_MAX_BACKENDS];          /* -1 unknown */
    uint64_t statements[CONFIG_MAX_BACKENDS]; /* since start, per backend */
    uint64_t statements_local;
};

struct status_history {
    uv_timer_t timer;
    struct admin *admin;
    struct status_sample sample[STATUS_HISTORY_SAMPLES]; /* a ring, oldest at next once full */
    size_t count, next;
};

/* Sample now and every STATUS_HISTORY_INTERVAL_MS on loop. Returns 0 or -1. */
int status_history_start(struct status_history *h, uv_loop_t *loop, struct admin *a);
void status_history_stop(struct status_history *h);

/* Append one sample taken from snap (the timer's work; pure). */
void status_history_add(struct status_history *h, const struct admin_snapshot *snap,
                        int64_t now);
/* The i-th sample, oldest first (i < count). */
const struct status_sample *status_history_at(const struct status_history *h, size_t i);

#endif
