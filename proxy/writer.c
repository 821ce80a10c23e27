#include "proxy/writer.h"

#include <inttypes.h>

#include "proxy/log.h"

bool backend_writable(const struct topology *t, size_t i)
{
    const struct backend_status *b = &t->backend[i];
    return i < t->n && b->state == BACKEND_UP && b->role == ROLE_PRIMARY && !b->read_only;
}

static int count_writable(const struct topology *t)
{
    int n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += backend_writable(t, i);
    return n;
}

/* Galera nodes are all writable by design: no warning for them. */
static bool writable_all_galera(const struct topology *t, const struct proxy_config *cfg)
{
    for (size_t i = 0; i < t->n; i++)
        if (backend_writable(t, i) && !(cfg && i < cfg->n_backends && cfg->backends[i].galera))
            return false;
    return true;
}

static const char *name_of(const struct proxy_config *cfg, int i)
{
    return cfg && i >= 0 && (size_t)i < cfg->n_backends ? cfg->backends[i].name : "none";
}

/* Logged only when something changed: a monitor interval is short. */
int writer_choose(const struct topology *prev, const struct topology *next,
                  const struct proxy_config *cfg)
{
    int current = prev ? prev->writer : -1;
    int first = -1;
    for (size_t i = 0; i < next->n && first < 0; i++)
        if (backend_writable(next, i))
            first = (int)i;
    int writable = count_writable(next);
    bool keep = current >= 0 && backend_writable(next, (size_t)current);
    int chosen = keep ? current : first;
    if (writable > 1 && !writable_all_galera(next, cfg) && (!prev || count_writable(prev) != writable))
        log_warn("writers: %d primaries report read_only=OFF; writes stay on '%s' and never go "
                 "to two at once in active-passive mode; set read_only=ON on the others",
                 writable, name_of(cfg, chosen));
    if (chosen == current)
        return chosen;
    if (chosen < 0)
        log_warn("writers: no primary is up and writable; writes fail until one is (round %" PRIu64
                 ")", next->monitor_round);
    else if (current < 0)
        log_info("writers: '%s' takes the writes (round %" PRIu64 ")", name_of(cfg, chosen),
                 next->monitor_round);
    else
        log_warn("writers: writes move from '%s' to '%s' (round %" PRIu64 ")",
                 name_of(cfg, current), name_of(cfg, chosen), next->monitor_round);
    return chosen;
}
