/* Smooth weighted round-robin over eligible replicas: with weights 1:1 the
 * picks alternate exactly; with 2:1 they interleave a,b,a,a,b,a... */
#ifndef SY_ROUTER_REPLICA_SELECT_H
#define SY_ROUTER_REPLICA_SELECT_H

#include <stddef.h>
#include <stdint.h>

#define WRR_MAX 64

struct wrr_state {
    int64_t current[WRR_MAX];
};

void wrr_init(struct wrr_state *st);

/* weights[i] > 0 means candidate i is eligible with that weight; 0 means not
 * eligible. n <= WRR_MAX. Returns the chosen index, or -1 if none. */
int wrr_pick(struct wrr_state *st, const int *weights, size_t n);

#endif
