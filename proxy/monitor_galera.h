/* The monitor's view of a Galera node: what wsrep says decides whether the
 * node takes traffic. Only a node that is ready, Synced (wsrep_local_state
 * 4) and in the primary component is UP; a donor, a joiner, a desynced node
 * or one cut off from the primary component is BROKEN, with the reason. */
#ifndef SY_PROXY_MONITOR_GALERA_H
#define SY_PROXY_MONITOR_GALERA_H

#include "proxy/monitor_probe.h"

/* What the node reports about its replication (information_schema.GLOBAL_STATUS). */
struct galera_view {
    bool ready;              /* wsrep_ready = ON */
    int local_state;         /* wsrep_local_state, -1 unknown */
    char state_comment[32];  /* wsrep_local_state_comment */
    char cluster_status[32]; /* wsrep_cluster_status: Primary, non-Primary, Disconnected */
    int cluster_size;        /* wsrep_cluster_size */
    bool desync;             /* @@wsrep_desync */
    double flow_control_paused; /* wsrep_flow_control_paused: share of time paused */
};

/* Judges a view: st UP with a reason naming the cluster, or BROKEN with
 * why the node takes no traffic. */
void galera_judge(const struct galera_view *v, struct backend_status *st);

/* Reads the view of an UP node over pc and judges it. PROBE_DONE, or the
 * failure of the query (st DOWN). */
enum probe_result probe_galera(struct probe_conn *pc, struct backend_status *st);

#endif
