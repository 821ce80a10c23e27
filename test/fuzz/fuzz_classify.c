/* libFuzzer target: arbitrary bytes through the SQL classifier and the
 * routing policy. Besides sanitizer findings it checks invariants: a reason
 * is always set, the result is deterministic, and a read never carries a
 * flag that ties the session to the primary. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"
#include "router/replica_select.h"
#include "router/route.h"

#define PINNING_FLAGS                                                                            \
    (CLS_SESSION_STATE | CLS_USE | CLS_BEGIN | CLS_TEMP_TABLE | CLS_LOCK_TABLES |                \
     CLS_UNLOCK_TABLES | CLS_NAMED_LOCK | CLS_AUTOCOMMIT | CLS_SET_GLOBAL)

static void check_route(const struct classification *c)
{
    struct session_route_state s;
    session_route_state_init(&s);
    struct route_decision d = route_statement(c, &s);
    if (d.reason == NULL || (d.target == ROUTE_REPLICA) != c->is_read)
        abort();
    s.in_transaction = true;
    if (route_statement(c, &s).target != ROUTE_PRIMARY)
        abort();
    session_route_state_update(&s, c, true, true, 0x0002);
}

/* Weighted round-robin with weights taken from the input. */
static void check_wrr(const uint8_t *data, size_t size)
{
    int w[8] = {0};
    struct wrr_state st;
    size_t n = size < 8 ? size : 8;
    for (size_t i = 0; i < n; i++)
        w[i] = (int)(data[i] % 5) - 1;
    wrr_init(&st);
    for (int k = 0; k < 16; k++) {
        int i = wrr_pick(&st, w, n);
        if (i >= (int)n || (i >= 0 && w[i] <= 0))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct classification a, b;
    /* an exact-size copy so ASan catches any read past the end */
    char *sql = malloc(size ? size : 1);
    if (sql == NULL)
        return 0;
    if (size > 0)
        memcpy(sql, data, size);
    classify_query(sql, size, &a);
    classify_query(sql, size, &b);
    free(sql);
    if (a.reason == NULL || a.is_read != b.is_read || a.flags != b.flags || a.reason != b.reason)
        abort();
    if (a.is_read && (a.flags & PINNING_FLAGS))
        abort();
    check_route(&a);
    check_wrr(data, size);
    return 0;
}
