#include "proxy/gtid_mark.h"

#include <stdio.h>

#include "protocol/gtid.h"

/* The slot of a domain, claimed when it has none yet; -1 when all are taken. */
static int domain_slot(struct gtid_mark *m, uint64_t domain)
{
    uint64_t key = domain + 1;
    for (int i = 0; i < GTID_MARK_DOMAINS; i++) {
        uint_fast64_t cur = atomic_load(&m->domain[i]);
        if (cur == 0 && atomic_compare_exchange_strong(&m->domain[i], &cur, key))
            return i;
        if (cur == key)
            return i;
    }
    return -1;
}

/* Only ever up: two workers raising the same domain at once both win or the
 * higher one does. */
static void raise_seq(struct gtid_mark *m, int i, const struct mariadb_gtid *g)
{
    uint_fast64_t cur = atomic_load(&m->seq[i]);
    while (cur < g->seq) {
        if (atomic_compare_exchange_weak(&m->seq[i], &cur, g->seq)) {
            atomic_store(&m->server[i], g->server);
            return;
        }
    }
}

int gtid_mark_raise(struct gtid_mark *m, const char *gtids)
{
    struct mariadb_gtid g[GTID_MARK_DOMAINS];
    int n = mariadb_gtid_parse(gtids, g, GTID_MARK_DOMAINS);
    if (n < 0)
        return -1;
    int rc = 0;
    for (int k = 0; k < n; k++) {
        int i = domain_slot(m, g[k].domain);
        if (i < 0) {
            atomic_store(&m->overflow, true);
            rc = -1;
            continue;
        }
        raise_seq(m, i, &g[k]);
    }
    return rc;
}

int gtid_mark_format(struct gtid_mark *m, char *out, size_t cap)
{
    if (cap == 0 || atomic_load(&m->overflow))
        return -1;
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < GTID_MARK_DOMAINS; i++) {
        uint64_t key = atomic_load(&m->domain[i]);
        uint64_t seq = atomic_load(&m->seq[i]);
        if (key == 0)
            break; /* slots are claimed in order */
        if (seq == 0)
            continue; /* claimed, not raised yet */
        int n = snprintf(out + len, cap - len, "%s%llu-%llu-%llu", len ? "," : "",
                         (unsigned long long)(key - 1),
                         (unsigned long long)atomic_load(&m->server[i]),
                         (unsigned long long)seq);
        if (n < 0 || (size_t)n >= cap - len) {
            out[0] = '\0';
            return -1;
        }
        len += (size_t)n;
    }
    return (int)len;
}
