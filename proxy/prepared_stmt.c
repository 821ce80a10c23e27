#include "proxy/prepared_stmt.h"

#include <stdlib.h>
#include <string.h>

void stmt_registry_init(struct stmt_registry *r) { memset(r, 0, sizeof *r); }

static void stmt_free(struct prepared_stmt *st)
{
    if (!st)
        return;
    free(st->sql);
    free(st->types);
    free(st);
}

void stmt_registry_free(struct stmt_registry *r)
{
    for (size_t i = 0; i < r->used; i++)
        stmt_free(r->slots[i]);
    free(r->slots);
    free(r->free_ids);
    memset(r, 0, sizeof *r);
}

/* A free id: a released one if any, else the next slot. 0 on failure. */
static uint32_t take_id(struct stmt_registry *r)
{
    if (r->n_free > 0)
        return r->free_ids[--r->n_free];
    if (r->used == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct prepared_stmt **s = realloc(r->slots, cap * sizeof *s);
        if (!s)
            return 0;
        r->slots = s;
        r->cap = cap;
    }
    r->slots[r->used] = NULL;
    return (uint32_t)++r->used;
}

struct prepared_stmt *stmt_registry_create(struct stmt_registry *r, const uint8_t *sql,
                                           size_t len, const struct classification *cls)
{
    struct prepared_stmt *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->sql = malloc(len ? len : 1);
    uint32_t id = st->sql ? take_id(r) : 0;
    if (id == 0) {
        stmt_free(st);
        return NULL;
    }
    memcpy(st->sql, sql, len);
    st->sql_len = len;
    st->cls = *cls;
    st->id = id;
    st->cursor_backend = -1;
    st->long_data_backend = -1;
    r->slots[id - 1] = st;
    return st;
}

struct prepared_stmt *stmt_registry_get(const struct stmt_registry *r, uint32_t id)
{
    if (id == STMT_ID_LAST_PREPARED)
        id = r->last_prepared;
    if (id == 0 || id > r->used)
        return NULL;
    return r->slots[id - 1];
}

void stmt_registry_set_last(struct stmt_registry *r, const struct prepared_stmt *st)
{
    r->last_prepared = st ? st->id : 0;
}

void stmt_registry_remove(struct stmt_registry *r, uint32_t id)
{
    struct prepared_stmt *st = stmt_registry_get(r, id);
    if (!st)
        return;
    id = st->id;
    if (r->last_prepared == id)
        r->last_prepared = 0;
    stmt_free(st);
    r->slots[id - 1] = NULL;
    if (r->n_free % 16 == 0) {
        uint32_t *f = realloc(r->free_ids, (r->n_free + 16) * sizeof *f);
        if (!f)
            return; /* the id is simply not reused */
        r->free_ids = f;
    }
    r->free_ids[r->n_free++] = id;
}

void stmt_registry_forget_backend(struct stmt_registry *r, int index)
{
    for (size_t i = 0; i < r->used; i++) {
        struct prepared_stmt *st = r->slots[i];
        if (!st)
            continue;
        st->backend_id[index] = 0;
        st->types_sent &= ~(1ull << index);
        if (st->cursor_backend == index)
            st->cursor_backend = -1;
        if (st->long_data_backend == index)
            st->long_data_backend = -1;
    }
}

static uint64_t remap_mask(uint64_t mask, const int *map, size_t n_old)
{
    uint64_t out = 0;
    for (size_t i = 0; i < n_old; i++)
        if ((mask & (1ull << i)) && map[i] >= 0)
            out |= 1ull << map[i];
    return out;
}

void stmt_registry_remap(struct stmt_registry *r, const int *map, size_t n_old)
{
    for (size_t k = 0; k < r->used; k++) {
        struct prepared_stmt *st = r->slots[k];
        if (!st)
            continue;
        uint32_t ids[CONFIG_MAX_BACKENDS] = {0};
        for (size_t i = 0; i < n_old; i++)
            if (map[i] >= 0)
                ids[map[i]] = st->backend_id[i];
        memcpy(st->backend_id, ids, sizeof ids);
        st->types_sent = remap_mask(st->types_sent, map, n_old);
        st->cursor_backend = st->cursor_backend >= 0 ? map[st->cursor_backend] : -1;
        st->long_data_backend = st->long_data_backend >= 0 ? map[st->long_data_backend] : -1;
    }
}

int prepared_stmt_set_types(struct prepared_stmt *st, const uint8_t *types, size_t len)
{
    if (len != st->types_len || !st->types) {
        uint8_t *t = realloc(st->types, len ? len : 1);
        if (!t)
            return -1;
        st->types = t;
    }
    memcpy(st->types, types, len);
    st->types_len = len;
    st->types_sent = 0;
    return 0;
}
