#include "proxy/query_digest.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "protocol/packet.h"
#include "protocol/result_tracker.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "router/statement_digest.h"

int query_digest_init(struct query_digest *d, size_t max_rows)
{
    query_stats_init(&d->table, max_rows);
    return pthread_mutex_init(&d->lock, NULL) == 0 ? 0 : -1;
}

void query_digest_destroy(struct query_digest *d)
{
    query_stats_free(&d->table);
    pthread_mutex_destroy(&d->lock);
}

struct statement_text {
    const char *sql;
    size_t len;
    struct digest_text digest;
};

/* Only for a shape the table has not seen: the text costs a second pass. */
static const char *digest_text_of(void *ctx)
{
    struct statement_text *st = ctx;
    statement_digest_text(st->sql, st->len, &st->digest);
    return st->digest.text;
}

void query_digest_note(struct client_session *s, uint64_t us)
{
    struct statement_text st;
    uint64_t hash;
    if (s->cmd == COM_QUERY) {
        st.sql = (const char *)s->arg;
        st.len = s->arg_len;
        hash = s->cls.digest;
    } else if (s->cmd == COM_STMT_EXECUTE && s->stmt) {
        st.sql = (const char *)s->stmt->sql;
        st.len = s->stmt->sql_len;
        hash = s->stmt->cls.digest;
    } else {
        return;
    }
    if (!s->gen->cfg.query_digest)
        return;
    if (hash == 0) /* answered before the classifier saw it (PROXY statements) */
        hash = statement_digest(st.sql, st.len);
    struct query_sample q = {
        .hash = hash,
        .user = s->login.user,
        .db = s->current_db,
        .ran_on = s->outcome.ran_on,
        .reason = s->decision.reason ? s->decision.reason : "",
        .error = s->outcome.error,
        .rows = s->outcome.rows,
        .us = us,
        .now = (int64_t)time(NULL),
    };
    struct query_digest *d = &s->w->digest;
    pthread_mutex_lock(&d->lock);
    query_stats_add(&d->table, &q, digest_text_of, &st);
    pthread_mutex_unlock(&d->lock);
}

int query_digest_collect(struct proxy *p, struct query_stats_table *out)
{
    int rc = 0;
    query_stats_init(out, 0);
    for (int i = 0; i < p->n_workers; i++) {
        struct query_digest *d = &p->workers[i].digest;
        pthread_mutex_lock(&d->lock);
        if (query_stats_merge(out, &d->table) != 0)
            rc = -1;
        pthread_mutex_unlock(&d->lock);
    }
    return rc;
}

void query_digest_reset(struct proxy *p)
{
    for (int i = 0; i < p->n_workers; i++) {
        struct query_digest *d = &p->workers[i].digest;
        pthread_mutex_lock(&d->lock);
        query_stats_reset(&d->table);
        pthread_mutex_unlock(&d->lock);
    }
}
