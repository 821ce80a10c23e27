#include "proxy/monitor_galera.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WSREP_SYNCED 4

/* A node can be reachable and writable yet unsafe: outside the primary
 * component it refuses or loses writes, and a donor or joiner serves stale or
 * blocked reads. Only wsrep's own view says so; the reason names the value
 * that kept it out, so an operator sees why without asking the node. */
void galera_judge(const struct galera_view *v, struct backend_status *st)
{
    st->wsrep_local_state = v->local_state;
    if (!v->ready || strcmp(v->cluster_status, "Primary") != 0) {
        st->state = BACKEND_BROKEN;
        probe_set_reason(st,
                         "Galera: not in the primary component (wsrep_cluster_status=%s, "
                         "wsrep_ready=%s): takes no traffic",
                         v->cluster_status[0] ? v->cluster_status : "?", v->ready ? "ON" : "OFF");
        return;
    }
    if (v->local_state != WSREP_SYNCED) {
        st->state = BACKEND_BROKEN;
        probe_set_reason(st,
                         "Galera: wsrep_local_state %d (%s)%s: takes no traffic until Synced",
                         v->local_state, v->state_comment[0] ? v->state_comment : "?",
                         v->desync ? ", wsrep_desync=ON" : "");
        return;
    }
    st->state = BACKEND_UP;
    probe_set_reason(st, "Galera: Synced, primary component of %d, flow control paused %.2f%s",
                     v->cluster_size, v->flow_control_paused,
                     st->read_only ? ", read_only=ON" : "");
}

/* Rows come by name in no fixed order, and a node of another version may
 * leave some out: each known name fills its field, the rest keep their
 * "unknown" defaults and unknown names are ignored. */
static void take_value(struct galera_view *v, const char *name, const char *value)
{
    if (strcmp(name, "WSREP_READY") == 0)
        v->ready = strcmp(value, "ON") == 0;
    else if (strcmp(name, "WSREP_LOCAL_STATE") == 0)
        v->local_state = atoi(value);
    else if (strcmp(name, "WSREP_LOCAL_STATE_COMMENT") == 0)
        snprintf(v->state_comment, sizeof v->state_comment, "%s", value);
    else if (strcmp(name, "WSREP_CLUSTER_STATUS") == 0)
        snprintf(v->cluster_status, sizeof v->cluster_status, "%s", value);
    else if (strcmp(name, "WSREP_CLUSTER_SIZE") == 0)
        v->cluster_size = atoi(value);
    else if (strcmp(name, "WSREP_FLOW_CONTROL_PAUSED") == 0)
        v->flow_control_paused = atof(value);
    else if (strcmp(name, "WSREP_DESYNC") == 0)
        v->desync = strcmp(value, "1") == 0;
}

/* One round trip per check for the whole view (wsrep_desync is a variable,
 * not a status, hence the UNION): the monitor checks every node each
 * interval with blocking calls, so each extra query delays all the others. */
enum probe_result probe_galera(struct probe_conn *pc, struct backend_status *st)
{
    static const char sql[] =
        "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
        "WHERE VARIABLE_NAME IN ('WSREP_READY', 'WSREP_LOCAL_STATE', "
        "'WSREP_LOCAL_STATE_COMMENT', 'WSREP_CLUSTER_STATUS', 'WSREP_CLUSTER_SIZE', "
        "'WSREP_FLOW_CONTROL_PAUSED') "
        "UNION ALL SELECT 'WSREP_DESYNC', @@global.wsrep_desync";
    const char *what = "reading the wsrep status";
    if (mysql_query(pc->mysql, sql) != 0)
        return probe_query_failed(pc->mysql, st, what);
    MYSQL_RES *res = mysql_store_result(pc->mysql);
    if (!res)
        return probe_query_failed(pc->mysql, st, what);
    struct galera_view v = {.local_state = -1};
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (row[0] && row[1])
            take_value(&v, row[0], row[1]);
    mysql_free_result(res);
    galera_judge(&v, st);
    return PROBE_DONE;
}
