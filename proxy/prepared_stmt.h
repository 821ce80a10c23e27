/* A session's prepared statements. The client sees ids the proxy owns; each
 * backend connection the statement runs on has its own id for it, prepared
 * there on first use. Ids are slot numbers + 1 and are reused after close, so
 * the table stays as small as the number of statements open at once. */
#ifndef SY_PROXY_PREPARED_STMT_H
#define SY_PROXY_PREPARED_STMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "router/classify.h"

struct prepared_stmt {
    uint32_t id;
    uint8_t *sql;
    size_t sql_len;
    struct classification cls;
    uint16_t num_params;
    uint16_t num_columns;
    uint8_t *types;      /* parameter types from the last execute that bound them */
    size_t types_len;
    uint64_t types_sent; /* backends that have seen those types */
    uint32_t backend_id[CONFIG_MAX_BACKENDS]; /* 0: not prepared on that connection */
    int cursor_backend;    /* open cursor lives there; -1 none */
    int long_data_backend; /* SEND_LONG_DATA went there; the execute must follow; -1 none */
};

/* MariaDB's id for "the statement prepared last" (Connector/C's
 * mariadb_stmt_execute_direct pipelines PREPARE and EXECUTE with it). */
#define STMT_ID_LAST_PREPARED 0xFFFFFFFFu

struct stmt_registry {
    uint32_t last_prepared; /* id of the last successful prepare; 0 none */
    struct prepared_stmt **slots;
    size_t cap;
    size_t used; /* slots handed out, including free ones below */
    uint32_t *free_ids;
    size_t n_free;
};

void stmt_registry_init(struct stmt_registry *r);
void stmt_registry_free(struct stmt_registry *r);

/* Create a statement with a fresh id. Returns NULL when out of memory. */
struct prepared_stmt *stmt_registry_create(struct stmt_registry *r, const uint8_t *sql,
                                           size_t len, const struct classification *cls);
/* id may be STMT_ID_LAST_PREPARED. */
struct prepared_stmt *stmt_registry_get(const struct stmt_registry *r, uint32_t id);
/* A prepare succeeded (st) or failed (NULL): what STMT_ID_LAST_PREPARED means. */
void stmt_registry_set_last(struct stmt_registry *r, const struct prepared_stmt *st);
/* Forget a statement and free its id. */
void stmt_registry_remove(struct stmt_registry *r, uint32_t id);
/* A backend connection closed: its statement ids are gone with it. */
void stmt_registry_forget_backend(struct stmt_registry *r, int index);
/* After a reload: backend old index i is now map[i] (-1: gone). */
void stmt_registry_remap(struct stmt_registry *r, const int *map, size_t n_old);
/* Remember the parameter types a client bound; returns -1 when out of memory. */
int prepared_stmt_set_types(struct prepared_stmt *st, const uint8_t *types, size_t len);

#endif
