#include "proxy/query_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * FNV_PRIME;
    return h;
}

static uint64_t key_of(uint64_t hash, const char *user, const char *db)
{
    return fnv(fnv(hash ^ FNV_OFFSET, user) * FNV_PRIME, db);
}

static bool row_is(const struct query_stats_row *r, uint64_t hash, const char *user,
                   const char *db)
{
    return r->hash == hash && strcmp(r->user, user) == 0 && strcmp(r->db, db) == 0;
}

void query_stats_init(struct query_stats_table *t, size_t max_rows)
{
    memset(t, 0, sizeof *t);
    t->max_rows = max_rows;
}

static void free_rows(struct query_stats_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i].text);
    free(t->rows);
    free(t->slot);
}

void query_stats_free(struct query_stats_table *t)
{
    free_rows(t);
    query_stats_init(t, t->max_rows);
}

void query_stats_reset(struct query_stats_table *t) { query_stats_free(t); }

/* The slot holding the row of that key, or the empty slot where it goes. */
static size_t find_slot(const struct query_stats_table *t, uint64_t hash, const char *user,
                        const char *db)
{
    size_t mask = t->n_slots - 1;
    size_t i = (size_t)key_of(hash, user, db) & mask;
    while (t->slot[i] != 0 && !row_is(&t->rows[t->slot[i] - 1], hash, user, db))
        i = (i + 1) & mask;
    return i;
}

/* Index every row again, in a table of n_slots (a power of two > 2n). */
static int reindex(struct query_stats_table *t, size_t n_slots)
{
    uint32_t *slot = calloc(n_slots, sizeof *slot);
    if (!slot)
        return -1;
    free(t->slot);
    t->slot = slot;
    t->n_slots = n_slots;
    for (size_t r = 0; r < t->n; r++)
        t->slot[find_slot(t, t->rows[r].hash, t->rows[r].user, t->rows[r].db)] = (uint32_t)(r + 1);
    return 0;
}

static void add_counts(struct query_stats_row *into, const struct query_stats_row *from)
{
    if (into->count == 0 || (from->count > 0 && from->min_us < into->min_us))
        into->min_us = from->min_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
    if (into->count == 0 || (from->count > 0 && from->first_seen < into->first_seen))
        into->first_seen = from->first_seen;
    if (from->last_seen >= into->last_seen) {
        into->last_seen = from->last_seen;
        into->reason = from->reason;
    }
    into->count += from->count;
    into->errors += from->errors;
    into->rows += from->rows;
    into->total_us += from->total_us;
    into->by_proxy += from->by_proxy;
    for (int b = 0; b < CONFIG_MAX_BACKENDS; b++)
        into->on_backend[b] += from->on_backend[b];
    for (int b = 0; b < STATS_LATENCY_BUCKETS; b++)
        into->latency_bucket[b] += from->latency_bucket[b];
}

static int by_count_ascending(const void *a, const void *b)
{
    const struct query_stats_row *x = a, *y = b;
    return x->count < y->count ? -1 : x->count > y->count;
}

/* The table is full: the least used eighth goes into other, so a stream of
 * new shapes costs one sort per max_rows / 8 of them. */
static int fold_least_used(struct query_stats_table *t)
{
    if (t->n > 1)
        qsort(t->rows, t->n, sizeof t->rows[0], by_count_ascending);
    size_t fold = t->n / 8 ? t->n / 8 : 1;
    for (size_t i = 0; i < fold; i++) {
        add_counts(&t->other, &t->rows[i]);
        free(t->rows[i].text);
    }
    t->folded += fold;
    t->n -= fold;
    memmove(t->rows, t->rows + fold, t->n * sizeof t->rows[0]);
    return reindex(t, t->n_slots);
}

static size_t slots_for(size_t rows)
{
    size_t n = 128;
    while (n < rows * 4)
        n *= 2;
    return n;
}

/* A new row for that key, or NULL (out of memory). */
static struct query_stats_row *new_row(struct query_stats_table *t, uint64_t hash,
                                       const char *user, const char *db, const char *text)
{
    if (t->max_rows && t->n >= t->max_rows && fold_least_used(t) != 0)
        return NULL;
    if (t->n == t->rows_cap) {
        size_t cap = t->rows_cap ? t->rows_cap * 2 : 64;
        struct query_stats_row *rows = realloc(t->rows, cap * sizeof *rows);
        if (!rows)
            return NULL;
        t->rows = rows;
        t->rows_cap = cap;
    }
    if ((t->n + 1) * 2 > t->n_slots && reindex(t, slots_for(t->n + 1)) != 0)
        return NULL;
    char *copy = strdup(text ? text : "");
    if (!copy)
        return NULL;
    struct query_stats_row *r = &t->rows[t->n];
    memset(r, 0, sizeof *r);
    r->hash = hash;
    snprintf(r->user, sizeof r->user, "%s", user);
    snprintf(r->db, sizeof r->db, "%s", db);
    r->text = copy;
    t->slot[find_slot(t, hash, user, db)] = (uint32_t)(t->n + 1);
    t->n++;
    return r;
}

static struct query_stats_row *lookup(const struct query_stats_table *t, uint64_t hash,
                                      const char *user, const char *db)
{
    if (t->n_slots == 0)
        return NULL;
    uint32_t s = t->slot[find_slot(t, hash, user, db)];
    return s ? &t->rows[s - 1] : NULL;
}

static void count_sample(struct query_stats_row *r, const struct query_sample *q)
{
    if (r->count == 0 || q->us < r->min_us)
        r->min_us = q->us;
    if (q->us > r->max_us)
        r->max_us = q->us;
    if (r->count == 0)
        r->first_seen = q->now;
    r->last_seen = q->now;
    r->reason = q->reason;
    r->count++;
    r->errors += q->error;
    r->rows += q->rows;
    r->total_us += q->us;
    if (q->ran_on >= 0 && q->ran_on < CONFIG_MAX_BACKENDS)
        r->on_backend[q->ran_on]++;
    else
        r->by_proxy++;
    int b = 0;
    while (b < STATS_LATENCY_BUCKETS - 1 && q->us > stats_latency_bounds_us[b])
        b++;
    r->latency_bucket[b]++;
}

int query_stats_add(struct query_stats_table *t, const struct query_sample *q,
                    query_text_fn text_of, void *ctx)
{
    const char *db = q->db ? q->db : "";
    struct query_stats_row *r = lookup(t, q->hash, q->user, db);
    if (!r)
        r = new_row(t, q->hash, q->user, db, q->text ? q->text : text_of(ctx));
    if (!r) {
        count_sample(&t->other, q);
        return -1;
    }
    count_sample(r, q);
    return 0;
}

int query_stats_merge(struct query_stats_table *into, const struct query_stats_table *from)
{
    int rc = 0;
    for (size_t i = 0; i < from->n; i++) {
        const struct query_stats_row *f = &from->rows[i];
        struct query_stats_row *r = lookup(into, f->hash, f->user, f->db);
        if (!r)
            r = new_row(into, f->hash, f->user, f->db, f->text);
        if (!r) {
            add_counts(&into->other, f);
            rc = -1;
            continue;
        }
        add_counts(r, f);
    }
    add_counts(&into->other, &from->other);
    into->folded += from->folded;
    return rc;
}

static uint64_t order_key(const struct query_stats_row *r, enum query_order order)
{
    return order == QUERY_ORDER_TIME     ? r->total_us
           : order == QUERY_ORDER_ERRORS ? r->errors
                                         : r->count;
}

static int largest_first(const void *a, const void *b, void *order)
{
    const struct query_stats_row *x = a, *y = b;
    enum query_order o = *(const enum query_order *)order;
    uint64_t kx = order_key(x, o), ky = order_key(y, o);
    if (kx != ky)
        return kx > ky ? -1 : 1;
    return strcmp(x->text, y->text);
}

void query_stats_sort(struct query_stats_table *t, enum query_order order)
{
    if (t->n > 1)
        qsort_r(t->rows, t->n, sizeof t->rows[0], largest_first, &order);
    free(t->slot); /* stale now; a later add indexes again */
    t->slot = NULL;
    t->n_slots = 0;
}
