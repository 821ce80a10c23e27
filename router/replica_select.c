/* Smooth weighted round-robin (as in nginx): every pick adds each eligible
 * weight to its running score, takes the highest score and charges it the
 * total. Picks interleave instead of bunching, and 1:1 alternates exactly. */
#include "router/replica_select.h"

void wrr_init(struct wrr_state *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < WRR_MAX; i++)
        st->current[i] = 0;
}

int wrr_pick(struct wrr_state *st, const int *weights, size_t n)
{
    int64_t total = 0;
    int best = -1;
    if (st == NULL || weights == NULL)
        return -1;
    if (n > WRR_MAX)
        n = WRR_MAX;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] <= 0) {
            st->current[i] = 0; /* an ineligible replica restarts from scratch */
            continue;
        }
        st->current[i] += weights[i];
        total += weights[i];
        if (best < 0 || st->current[i] > st->current[best])
            best = (int)i;
    }
    if (best >= 0)
        st->current[best] -= total;
    return best;
}
