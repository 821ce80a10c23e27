/* The monitor's view of a Galera node: what wsrep says decides whether the
 * node takes traffic. Only a node that is ready, Synced (wsrep_local_state
 * 4), in the primary component and not desynced is UP; a donor, a joiner, a
 * node an operator desynced (wsrep_desync = ON, e.g. for a backup) or one cut
 * off from the primary component is BROKEN, with the reason. Flow control is
 * measured and reported, not routed on: it pauses the whole cluster's
 * commits, and a paused node is still consistent. */
#ifndef SY_PROXY_MONITOR_GALERA_H
#define SY_PROXY_MONITOR_GALERA_H

#include "proxy/monitor_probe.h"

/* Judges st->galera: st UP with a reason naming the cluster and its flow
 * control, or BROKEN with why the node takes no traffic. */
void galera_judge(struct backend_status *st);

/* The share of the time between prev's sample and now's spent paused by flow
 * control, from the cumulative wsrep_flow_control_paused_ns; -1 without a
 * comparable earlier sample (first round, node restarted). */
double galera_paused_share(const struct galera_state *prev, const struct galera_state *now);

/* Reads the wsrep status of an UP node over pc into st->galera (prev: the
 * last round's, for the flow control share) and judges it. PROBE_DONE, or
 * the failure of the query (st DOWN). */
enum probe_result probe_galera(struct probe_conn *pc, const struct galera_state *prev,
                               struct backend_status *st);

#endif
