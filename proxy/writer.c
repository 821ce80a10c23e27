#include "proxy/writer.h"

#include "proxy/log.h"

bool backend_writable(const struct topology *t, size_t i)
{
    const struct backend_status *b = &t->backend[i];
    return i < t->n && b->state == BACKEND_UP && b->role == ROLE_PRIMARY && !b->read_only;
}

int writer_choose(const struct topology *prev, const struct topology *next)
{
    int current = prev ? prev->writer : -1;
    int first = -1, writable = 0;
    for (size_t i = 0; i < next->n; i++) {
        if (!backend_writable(next, i))
            continue;
        writable++;
        if (first < 0)
            first = (int)i;
    }
    bool keep = current >= 0 && backend_writable(next, (size_t)current);
    if (writable > 1)
        log_warn("writers: %d primaries report read_only=OFF; writes stay on one of them "
                 "(backend #%d) and never go to two at once in active-passive mode; set "
                 "read_only=ON on the others",
                 writable, keep ? current : first);
    int chosen = keep ? current : first;
    if (chosen == current)
        return chosen;
    if (chosen < 0)
        log_warn("writers: no primary is up and writable; writes fail until one is");
    else if (current < 0)
        log_info("writers: backend #%d takes the writes", chosen);
    else
        log_warn("writers: writes move from backend #%d to #%d", current, chosen);
    return chosen;
}
