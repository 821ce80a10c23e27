/* Connector/C first: protocol/gtid.h's SESSION_TRACK_* macros would
 * rename the constants of its enum. */
#include <mysql.h>

#include "proxy/position_fetch.h"

#include <string.h>

#include "proxy/log.h"
#include "proxy/monitor_probe.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"

/* The primary to ask: the writer the monitor chose, else the first backend
 * configured as primary. */
static int primary_index(struct proxy *p, const struct config_gen *gen, struct topology **cached)
{
    struct topology *t = topology_refresh(&p->topology, cached);
    if (t && t->config_number == gen->number && t->writer >= 0 && (size_t)t->writer < t->n)
        return t->writer;
    for (size_t i = 0; i < gen->cfg.n_backends; i++)
        if (gen->cfg.backends[i].role == ROLE_PRIMARY)
            return (int)i;
    return -1;
}

struct fetcher_conn {
    struct probe_conn pc;
    char host[sizeof(((struct backend_config *)0)->host)];
    unsigned port;
    bool mysql;
};

/* One round trip: the primary's binary log position (MariaDB), or every
 * transaction it executed (MySQL). Reconnects when the primary moved. */
static bool fetch_once(struct position_fetch *pf, struct fetcher_conn *fc,
                       struct topology **cached, char *out, bool *mysql)
{
    const struct config_gen *gen = proxy_config_gen(pf->proxy);
    int i = primary_index(pf->proxy, gen, cached);
    if (i < 0)
        return false;
    const struct backend_config *b = &gen->cfg.backends[i];
    if (fc->pc.mysql && (strcmp(fc->host, b->host) != 0 || fc->port != b->port))
        probe_close(&fc->pc);
    struct backend_status st;
    if (!fc->pc.mysql) {
        if (probe_connect(&fc->pc, &gen->cfg, b, &st) != 0) {
            log_warn("causal_reads = universal: %s", st.reason);
            return false;
        }
        snprintf(fc->host, sizeof fc->host, "%s", b->host);
        fc->port = b->port;
        fc->mysql = strstr(mysql_get_server_info(fc->pc.mysql), "MariaDB") == NULL;
    }
    const char *sql = fc->mysql ? "SELECT @@global.gtid_executed" : "SELECT @@gtid_binlog_pos";
    MYSQL_RES *res = NULL;
    MYSQL_ROW row = NULL;
    if (mysql_query(fc->pc.mysql, sql) == 0 && (res = mysql_store_result(fc->pc.mysql)))
        row = mysql_fetch_row(res);
    bool ok = row && row[0] && strlen(row[0]) < GTID_TEXT_MAX;
    if (ok)
        memcpy(out, row[0], strlen(row[0]) + 1);
    else
        log_warn("causal_reads = universal: cannot read the position of '%s': %s", b->name,
                 res ? "no usable value" : mysql_error(fc->pc.mysql));
    if (res)
        mysql_free_result(res);
    else
        probe_close(&fc->pc);
    *mysql = fc->mysql;
    return ok;
}

/* Under pf->lock: a stopping worker closes its handle only under it. */
static void wake_workers(struct proxy *p)
{
    for (int i = 0; i < p->n_workers; i++)
        if (!p->workers[i].position_closed)
            uv_async_send(&p->workers[i].position_async);
}

static void fetcher_main(void *arg)
{
    struct position_fetch *pf = arg;
    struct fetcher_conn fc = {{NULL, 0}, "", 0, false};
    struct topology *cached = NULL;
    char position[GTID_TEXT_MAX];
    mysql_thread_init();
    uv_mutex_lock(&pf->lock);
    for (;;) {
        while (!pf->stopping && pf->wanted == pf->asked)
            uv_cond_wait(&pf->wake, &pf->lock);
        if (pf->stopping)
            break;
        uint64_t t = pf->wanted;
        pf->asked = t;
        uv_mutex_unlock(&pf->lock);
        bool mysql = false;
        bool ok = fetch_once(pf, &fc, &cached, position, &mysql);
        uv_mutex_lock(&pf->lock);
        pf->answered = t;
        pf->ok = ok;
        pf->mysql = mysql;
        atomic_fetch_add(&pf->fetches, 1);
        if (ok)
            memcpy(pf->position, position, sizeof position);
        wake_workers(pf->proxy);
    }
    uv_mutex_unlock(&pf->lock);
    probe_close(&fc.pc);
    if (cached)
        topology_release(cached);
    mysql_thread_end();
}

int position_fetch_start(struct position_fetch *pf, struct proxy *p)
{
    memset(pf, 0, sizeof *pf);
    pf->proxy = p;
    if (uv_mutex_init(&pf->lock) != 0 || uv_cond_init(&pf->wake) != 0)
        return -1;
    int rc = uv_thread_create(&pf->thread, fetcher_main, pf);
    if (rc != 0) {
        log_error("cannot start the position thread: %s", uv_strerror(rc));
        return -1;
    }
    pf->running = true;
    return 0;
}

void position_fetch_stop(struct position_fetch *pf)
{
    if (!pf->running)
        return;
    uv_mutex_lock(&pf->lock);
    pf->stopping = true;
    uv_cond_signal(&pf->wake);
    uv_mutex_unlock(&pf->lock);
    uv_thread_join(&pf->thread);
    pf->running = false;
}

void position_fetch_wait(struct position_fetch *pf, struct worker *wk, struct position_waiter *w)
{
    uv_mutex_lock(&pf->lock);
    w->ticket = ++pf->wanted;
    uv_cond_signal(&pf->wake);
    uv_mutex_unlock(&pf->lock);
    w->waiting = true;
    w->prev = NULL;
    w->next = wk->position_waiters;
    if (w->next)
        w->next->prev = w;
    wk->position_waiters = w;
}

void position_fetch_cancel(struct worker *wk, struct position_waiter *w)
{
    if (!w->waiting)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        wk->position_waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->waiting = false;
}

/* One waiter at a time, from the list head again after each call: a
 * callback may run the session on and change the list. */
void position_fetch_deliver(struct position_fetch *pf, struct worker *wk)
{
    char position[GTID_TEXT_MAX];
    uv_mutex_lock(&pf->lock);
    uint64_t answered = pf->answered;
    bool ok = pf->ok, mysql = pf->mysql;
    memcpy(position, pf->position, sizeof position);
    uv_mutex_unlock(&pf->lock);
    for (;;) {
        struct position_waiter *w = wk->position_waiters;
        while (w && w->ticket > answered)
            w = w->next;
        if (!w)
            return;
        position_fetch_cancel(wk, w);
        w->done(w, ok, position, mysql);
    }
}
