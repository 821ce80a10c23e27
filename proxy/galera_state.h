/* What a Galera node said in the monitor's last round: the data behind its
 * state, its reason and the switchyard_galera_* series of /metrics. Plain
 * data, part of every topology snapshot. */
#ifndef SY_PROXY_GALERA_STATE_H
#define SY_PROXY_GALERA_STATE_H

#include <stdbool.h>
#include <stdint.h>

struct galera_state {
    bool known;                 /* the node answered the wsrep query this round */
    bool ready;                 /* wsrep_ready = ON */
    int local_state;            /* wsrep_local_state: 1 Joining, 2 Donor/Desynced, 3 Joined,
                                   4 Synced; -1 unknown */
    char state_comment[32];     /* wsrep_local_state_comment */
    char cluster_status[32];    /* wsrep_cluster_status: Primary, non-Primary, Disconnected */
    int cluster_size;           /* wsrep_cluster_size */
    bool desync;                /* @@global.wsrep_desync */
    uint64_t paused_ns;         /* wsrep_flow_control_paused_ns: cumulative since the start */
    double sampled_s;           /* monotonic clock when paused_ns was read */
    double paused_share;        /* share of the time since the last round spent paused by flow
                                   control, 0..1; -1 without an earlier round to compare */
    int64_t recv_queue;         /* wsrep_local_recv_queue: write sets waiting to be applied */
    uint64_t fc_sent;           /* wsrep_flow_control_sent: pauses this node asked for */
};

#endif
