#include "proxy/monitor_galera.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WSREP_SYNCED 4

/* "flow control paused 12% of the last interval", or "flow control: first
 * sample" before there are two samples to compare. */
static void describe_flow_control(const struct galera_state *g, char *out, size_t cap)
{
    if (g->paused_share < 0)
        snprintf(out, cap, "flow control: first sample");
    else
        snprintf(out, cap, "flow control paused %.0f%% of the last interval",
                 g->paused_share * 100.0);
}

/* A node can be reachable and writable yet unsafe: outside the primary
 * component it refuses or loses writes, and a donor or joiner serves stale or
 * blocked reads. Only wsrep's own view says so; the reason names the value
 * that kept it out, so an operator sees why without asking the node. */
void galera_judge(struct backend_status *st)
{
    const struct galera_state *g = &st->galera;
    if (!g->ready || strcmp(g->cluster_status, "Primary") != 0) {
        st->state = BACKEND_BROKEN;
        probe_set_reason(st,
                         "Galera: not in the primary component (wsrep_cluster_status=%s, "
                         "wsrep_ready=%s): takes no traffic",
                         g->cluster_status[0] ? g->cluster_status : "?", g->ready ? "ON" : "OFF");
        return;
    }
    if (g->desync) {
        st->state = BACKEND_BROKEN;
        probe_set_reason(st,
                         "Galera: desynced (wsrep_desync=ON, wsrep_local_state %d %s): taken "
                         "out by an operator, takes no traffic until wsrep_desync=OFF and Synced",
                         g->local_state, g->state_comment[0] ? g->state_comment : "?");
        return;
    }
    if (g->local_state != WSREP_SYNCED) {
        st->state = BACKEND_BROKEN;
        probe_set_reason(st, "Galera: wsrep_local_state %d (%s): takes no traffic until Synced",
                         g->local_state, g->state_comment[0] ? g->state_comment : "?");
        return;
    }
    char fc[64];
    describe_flow_control(g, fc, sizeof fc);
    st->state = BACKEND_UP;
    probe_set_reason(st, "Galera: Synced, primary component of %d, %s, recv queue %lld%s",
                     g->cluster_size, fc, (long long)g->recv_queue,
                     st->read_only ? ", read_only=ON" : "");
}

/* The counter only grows: its growth over the time between two samples is
 * the share of that interval the cluster spent paused (a restart resets it,
 * then there is no share until the next sample). */
double galera_paused_share(const struct galera_state *prev, const struct galera_state *now)
{
    if (!prev->known || now->paused_ns < prev->paused_ns || now->sampled_s <= prev->sampled_s)
        return -1;
    double share = (double)(now->paused_ns - prev->paused_ns) / 1e9 /
                   (now->sampled_s - prev->sampled_s);
    return share > 1 ? 1 : share;
}

/* Rows come by name in no fixed order, and a node of another version may
 * leave some out: each known name fills its field, the rest keep their
 * "unknown" defaults and unknown names are ignored. */
static void take_value(struct galera_state *g, const char *name, const char *value)
{
    if (strcmp(name, "WSREP_READY") == 0)
        g->ready = strcmp(value, "ON") == 0;
    else if (strcmp(name, "WSREP_LOCAL_STATE") == 0)
        g->local_state = atoi(value);
    else if (strcmp(name, "WSREP_LOCAL_STATE_COMMENT") == 0)
        snprintf(g->state_comment, sizeof g->state_comment, "%s", value);
    else if (strcmp(name, "WSREP_CLUSTER_STATUS") == 0)
        snprintf(g->cluster_status, sizeof g->cluster_status, "%s", value);
    else if (strcmp(name, "WSREP_CLUSTER_SIZE") == 0)
        g->cluster_size = atoi(value);
    else if (strcmp(name, "WSREP_FLOW_CONTROL_PAUSED_NS") == 0)
        g->paused_ns = strtoull(value, NULL, 10);
    else if (strcmp(name, "WSREP_FLOW_CONTROL_SENT") == 0)
        g->fc_sent = strtoull(value, NULL, 10);
    else if (strcmp(name, "WSREP_LOCAL_RECV_QUEUE") == 0)
        g->recv_queue = strtoll(value, NULL, 10);
    else if (strcmp(name, "WSREP_DESYNC") == 0)
        g->desync = strcmp(value, "1") == 0;
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One round trip per check for the whole view (wsrep_desync is a variable,
 * not a status, hence the UNION): the monitor checks every node each
 * interval with blocking calls, so each extra query delays all the others. */
enum probe_result probe_galera(struct probe_conn *pc, const struct galera_state *prev,
                               struct backend_status *st)
{
    static const char sql[] =
        "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
        "WHERE VARIABLE_NAME IN ('WSREP_READY', 'WSREP_LOCAL_STATE', "
        "'WSREP_LOCAL_STATE_COMMENT', 'WSREP_CLUSTER_STATUS', 'WSREP_CLUSTER_SIZE', "
        "'WSREP_FLOW_CONTROL_PAUSED_NS', 'WSREP_FLOW_CONTROL_SENT', 'WSREP_LOCAL_RECV_QUEUE') "
        "UNION ALL SELECT 'WSREP_DESYNC', @@global.wsrep_desync";
    const char *what = "reading the wsrep status";
    if (mysql_query(pc->mysql, sql) != 0)
        return probe_query_failed(pc->mysql, st, what);
    MYSQL_RES *res = mysql_store_result(pc->mysql);
    if (!res)
        return probe_query_failed(pc->mysql, st, what);
    struct galera_state *g = &st->galera;
    memset(g, 0, sizeof *g);
    g->local_state = -1;
    g->sampled_s = monotonic_seconds();
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (row[0] && row[1])
            take_value(g, row[0], row[1]);
    mysql_free_result(res);
    g->known = true;
    g->paused_share = galera_paused_share(prev, g);
    galera_judge(st);
    return PROBE_DONE;
}
