/* galera_judge: a node takes traffic only when it is ready, Synced, in the
 * primary component and not desynced. The integration test of a rejoining
 * node can only sometimes catch the joiner reachable (its window is a few
 * tenths of a second), so every non-Synced state is judged here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/monitor_galera.h"

/* A node as a healthy cluster member reports itself. */
static void synced_node(struct backend_status *st)
{
    memset(st, 0, sizeof *st);
    st->state = BACKEND_UP;
    st->galera.known = true;
    st->galera.ready = true;
    st->galera.local_state = 4;
    snprintf(st->galera.state_comment, sizeof st->galera.state_comment, "Synced");
    snprintf(st->galera.cluster_status, sizeof st->galera.cluster_status, "Primary");
    st->galera.cluster_size = 3;
    st->galera.paused_share = -1;
}

static void test_synced_node_is_up(void **state)
{
    (void)state;
    struct backend_status st;
    synced_node(&st);
    galera_judge(&st);
    assert_int_equal(st.state, BACKEND_UP);
    assert_non_null(strstr(st.reason, "Synced, primary component of 3"));
    assert_non_null(strstr(st.reason, "flow control: first sample"));
}

static void test_joining_joined_and_donor_take_no_traffic(void **state)
{
    (void)state;
    static const struct {
        int local_state;
        const char *comment;
    } states[] = {{1, "Joining"}, {2, "Donor/Desynced"}, {3, "Joined"}, {-1, ""}};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        struct backend_status st;
        synced_node(&st);
        st.galera.local_state = states[i].local_state;
        snprintf(st.galera.state_comment, sizeof st.galera.state_comment, "%s",
                 states[i].comment);
        galera_judge(&st);
        assert_int_equal(st.state, BACKEND_BROKEN);
        assert_non_null(strstr(st.reason, "takes no traffic until Synced"));
        char expect[64];
        snprintf(expect, sizeof expect, "wsrep_local_state %d (%s)", states[i].local_state,
                 states[i].comment[0] ? states[i].comment : "?");
        assert_non_null(strstr(st.reason, expect));
    }
}

static void test_outside_primary_component_or_not_ready_takes_no_traffic(void **state)
{
    (void)state;
    struct backend_status st;
    synced_node(&st);
    snprintf(st.galera.cluster_status, sizeof st.galera.cluster_status, "non-Primary");
    galera_judge(&st);
    assert_int_equal(st.state, BACKEND_BROKEN);
    assert_non_null(strstr(st.reason, "wsrep_cluster_status=non-Primary"));

    synced_node(&st);
    st.galera.ready = false;
    galera_judge(&st);
    assert_int_equal(st.state, BACKEND_BROKEN);
    assert_non_null(strstr(st.reason, "wsrep_ready=OFF"));
}

static void test_desynced_node_takes_no_traffic_even_when_synced(void **state)
{
    (void)state;
    struct backend_status st;
    synced_node(&st);
    st.galera.desync = true;
    galera_judge(&st);
    assert_int_equal(st.state, BACKEND_BROKEN);
    assert_non_null(strstr(st.reason, "wsrep_desync=ON"));
}

static void test_paused_share_from_two_samples(void **state)
{
    (void)state;
    struct galera_state prev = {.known = true, .paused_ns = 1000000000, .sampled_s = 10.0};
    struct galera_state now = {.known = true, .paused_ns = 1500000000, .sampled_s = 12.0};
    assert_float_equal(galera_paused_share(&prev, &now), 0.25, 1e-9);
    now.paused_ns = 5000000000; /* more paused than elapsed: clamped */
    assert_float_equal(galera_paused_share(&prev, &now), 1.0, 1e-9);
    now.paused_ns = 10; /* the node restarted: its counter began again */
    assert_float_equal(galera_paused_share(&prev, &now), -1.0, 1e-9);
    prev.known = false;
    now.paused_ns = 1500000000;
    assert_float_equal(galera_paused_share(&prev, &now), -1.0, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synced_node_is_up),
        cmocka_unit_test(test_joining_joined_and_donor_take_no_traffic),
        cmocka_unit_test(test_outside_primary_component_or_not_ready_takes_no_traffic),
        cmocka_unit_test(test_desynced_node_takes_no_traffic_even_when_synced),
        cmocka_unit_test(test_paused_share_from_two_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
