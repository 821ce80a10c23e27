/* config_load on valid files: every field, defaults, comments, IPv6, hashes,
 * and the shipped example files. */
#include "config_test.h"

#include "protocol/auth.h"

/* "*" + HEX(SHA1(SHA1("app_pw"))), as in mysql.user.authentication_string. */
#define APP_PW_HASH "*95BE1A04B76EE9AB97CEE8436421F2D15539B738"

#define TAIL_P "[backend.p]\nrole = primary\n[user.app]\npassword = x\n"

static void stage2_of(const char *pw, uint8_t out[SHA1_LEN])
{
    uint8_t stage1[SHA1_LEN];
    native_password_stage1(pw, strlen(pw), stage1);
    native_password_stage2(stage1, out);
}

static void test_full_file(void **state)
{
    (void)state;
    expect_valid("[proxy]\n"
                 "listen = 0.0.0.0:7000\n"
                 "threads = 8\n"
                 "[monitor]\n"
                 "user = mon\n"
                 "password = mon_secret\n"
                 "interval_ms = 250\n"
                 "connect_timeout_ms = 300\n"
                 "max_replication_lag = 2.5\n"
                 "[routing]\n"
                 "read_fallback = error\n"
                 "[backend.main]\n" /* line 12 */
                 "role = primary\n"
                 "host = db1.example.com\n"
                 "port = 3310\n"
                 "[backend.r1]\n" /* line 16 */
                 "role = replica\n"
                 "host = 10.0.0.2\n"
                 "port = 3311\n"
                 "weight = 3\n"
                 "max_replication_lag = 0.5\n"
                 "[user.app]\n" /* line 22 */
                 "password = app_pw\n"
                 "[user.report]\n" /* line 24 */
                 "password_hash = " APP_PW_HASH "\n");
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 7000);
    assert_int_equal(cfg.threads, 8);
    assert_string_equal(cfg.monitor_user, "mon");
    assert_string_equal(cfg.monitor_password, "mon_secret");
    assert_int_equal(cfg.monitor_interval_ms, 250);
    assert_int_equal(cfg.monitor_connect_timeout_ms, 300);
    assert_true(cfg.max_replication_lag == 2.5);
    assert_int_equal(cfg.read_fallback, READ_FALLBACK_ERROR);

    assert_int_equal(cfg.n_backends, 2);
    const struct backend_config *p = &cfg.backends[0], *r = &cfg.backends[1];
    assert_string_equal(p->name, "main");
    assert_int_equal(p->role, ROLE_PRIMARY);
    assert_string_equal(p->host, "db1.example.com");
    assert_int_equal(p->port, 3310);
    assert_int_equal(p->weight, 1);
    assert_true(p->max_replication_lag == 2.5);
    assert_int_equal(p->line, 12);
    assert_string_equal(r->name, "r1");
    assert_int_equal(r->role, ROLE_REPLICA);
    assert_string_equal(r->host, "10.0.0.2");
    assert_int_equal(r->port, 3311);
    assert_int_equal(r->weight, 3);
    assert_true(r->max_replication_lag == 0.5);
    assert_int_equal(r->line, 16);

    assert_int_equal(cfg.n_users, 2);
    uint8_t want[SHA1_LEN];
    stage2_of("app_pw", want);
    const struct user_config *app = &cfg.users[0], *rep = &cfg.users[1];
    assert_string_equal(app->name, "app");
    assert_true(app->has_password);
    assert_string_equal(app->password, "app_pw");
    assert_memory_equal(app->stage2, want, SHA1_LEN);
    assert_int_equal(app->line, 22);
    assert_string_equal(rep->name, "report");
    assert_false(rep->has_password);
    assert_memory_equal(rep->stage2, want, SHA1_LEN);
    assert_int_equal(rep->line, 24);
}

static void test_defaults(void **state)
{
    (void)state;
    expect_valid("[backend.p]\nrole = primary\n[backend.r]\nrole = replica\nport = 3307\n"
                 "[user.app]\npassword = app_pw\n");
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 6033);
    assert_int_equal(cfg.threads, 0);
    assert_string_equal(cfg.monitor_user, "monitor");
    assert_string_equal(cfg.monitor_password, "monitor_pw");
    assert_int_equal(cfg.monitor_interval_ms, 1000);
    assert_int_equal(cfg.monitor_connect_timeout_ms, 1000);
    assert_true(cfg.max_replication_lag == 10);
    assert_int_equal(cfg.read_fallback, READ_FALLBACK_PRIMARY);
    assert_string_equal(cfg.backends[0].host, "127.0.0.1");
    assert_int_equal(cfg.backends[0].port, 3306);
    assert_int_equal(cfg.backends[1].weight, 1);
    assert_true(cfg.backends[1].max_replication_lag == 10);
    assert_int_equal(cfg.shutdown_timeout_ms, 10000);
    assert_string_equal(cfg.heartbeat_table, "");
    assert_int_equal(cfg.recover_intervals, 2);
    assert_int_equal(cfg.down_after, 3);
    assert_false(cfg.discover_roles);
    assert_int_equal(cfg.causal_reads, CAUSAL_GLOBAL);
    assert_int_equal(cfg.causal_reads_timeout_ms, 1000);
    assert_int_equal(cfg.causal_window_ms, 1000);
    assert_int_equal(cfg.writers, WRITERS_ACTIVE_PASSIVE);
    assert_int_equal(cfg.writer_wait_ms, 10000);
    assert_true(cfg.multiplexing);
    assert_int_equal(cfg.pool_wait_timeout_ms, 10000);
    assert_int_equal(cfg.backends[0].max_connections, 0);
    assert_int_equal(errs.count, 0);
}

/* The replication and failover keys, each set away from its default. */
static void test_replication_keys(void **state)
{
    (void)state;
    expect_valid("[proxy]\nshutdown_timeout_ms = 0\n"
                 "[monitor]\nheartbeat_table = sy_db.$hb_1\nrecover_intervals = 5\n"
                 "down_after = 1\ndiscover_roles = on\n"
                 "[routing]\ncausal_reads = primary_window\ncausal_reads_timeout_ms = 600000\n"
                 "causal_window_ms = 0\nwriters = active-active\nwriter_wait_ms = 0\n"
                 "[backend.p]\nrole = primary\n[user.app]\npassword = x\n");
    assert_int_equal(cfg.shutdown_timeout_ms, 0);
    assert_string_equal(cfg.heartbeat_table, "sy_db.$hb_1");
    assert_int_equal(cfg.recover_intervals, 5);
    assert_int_equal(cfg.down_after, 1);
    assert_true(cfg.discover_roles);
    assert_int_equal(cfg.causal_reads, CAUSAL_PRIMARY_WINDOW);
    assert_int_equal(cfg.causal_reads_timeout_ms, 600000);
    assert_int_equal(cfg.causal_window_ms, 0);
    assert_int_equal(cfg.writers, WRITERS_ACTIVE_ACTIVE);
    assert_int_equal(cfg.writer_wait_ms, 0);
}

/* Upper bounds and the remaining enum values. */
static void test_replication_key_limits(void **state)
{
    (void)state;
    expect_valid("[proxy]\nshutdown_timeout_ms = 3600000\n"
                 "[monitor]\nrecover_intervals = 1000\ndown_after = 1000\ndiscover_roles = off\n"
                 "heartbeat_table = "
                 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd."
                 "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt\n"
                 "[routing]\ncausal_reads = off\ncausal_reads_timeout_ms = 1\n"
                 "causal_window_ms = 3600000\nwriters = active-passive\nwriter_wait_ms = 600000\n"
                 TAIL_P);
    assert_int_equal(cfg.shutdown_timeout_ms, 3600000);
    assert_int_equal(cfg.recover_intervals, 1000);
    assert_int_equal(cfg.down_after, 1000);
    assert_false(cfg.discover_roles);
    assert_int_equal(strlen(cfg.heartbeat_table), 64 + 1 + 64);
    assert_int_equal(cfg.causal_reads, CAUSAL_OFF);
    assert_int_equal(cfg.causal_reads_timeout_ms, 1);
    assert_int_equal(cfg.causal_window_ms, 3600000);
    assert_int_equal(cfg.writers, WRITERS_ACTIVE_PASSIVE);
    assert_int_equal(cfg.writer_wait_ms, 600000);
    expect_valid("[routing]\ncausal_reads = gtid\n" TAIL_P);
    assert_int_equal(cfg.causal_reads, CAUSAL_GTID);
    expect_valid("[routing]\ncausal_reads = universal\n" TAIL_P);
    assert_int_equal(cfg.causal_reads, CAUSAL_UNIVERSAL);
    expect_valid("[routing]\ncausal_reads = global\n" TAIL_P);
    assert_int_equal(cfg.causal_reads, CAUSAL_GLOBAL);
}

/* A standby primary, or active-active writers: several primaries load. */
/* The connection limits at both ends of their ranges. */
static void test_pool_limits(void **state)
{
    (void)state;
    expect_valid("[proxy]\npool_wait_timeout_ms = 0\n[backend.p]\nrole = primary\n"
                 "max_connections = 100000\n[backend.r]\nrole = replica\nport = 3307\n"
                 "max_connections = 1\n[user.app]\npassword = x\n");
    assert_int_equal(cfg.pool_wait_timeout_ms, 0);
    assert_int_equal(cfg.backends[0].max_connections, 100000);
    assert_int_equal(cfg.backends[1].max_connections, 1);
    expect_valid("[proxy]\npool_wait_timeout_ms = 600000\n" TAIL_P);
    assert_int_equal(cfg.pool_wait_timeout_ms, 600000);
}

static void test_two_primaries(void **state)
{
    (void)state;
    expect_valid("[backend.a]\nrole = primary\n[backend.b]\nport = 3307\nrole = primary\n"
                 "[backend.r]\nrole = replica\nport = 3308\n[user.app]\npassword = x\n");
    assert_int_equal(cfg.n_backends, 3);
    assert_int_equal(cfg.backends[0].role, ROLE_PRIMARY);
    assert_int_equal(cfg.backends[1].role, ROLE_PRIMARY);
    assert_int_equal(cfg.backends[2].role, ROLE_REPLICA);
}

/* With discover_roles the file's roles are a guess: no primary is fine. */
static void test_discover_roles_without_primary(void **state)
{
    (void)state;
    expect_valid("[backend.r1]\nrole = replica\n[backend.r2]\nrole = replica\nport = 3307\n"
                 "[user.app]\npassword = x\n[monitor]\ndiscover_roles = on\n");
    assert_true(cfg.discover_roles);
}

/* Lag limits take fractions, in [monitor] and per backend. */
static void test_fractional_lag(void **state)
{
    (void)state;
    expect_valid("[monitor]\nmax_replication_lag = 0.5\n"
                 "[backend.p]\nrole = primary\n"
                 "[backend.r1]\nrole = replica\nport = 3307\nmax_replication_lag = .25\n"
                 "[backend.r2]\nrole = replica\nport = 3308\n"
                 "[user.app]\npassword = x\n");
    assert_true(cfg.max_replication_lag == 0.5);
    assert_true(cfg.backends[1].max_replication_lag == 0.25);
    assert_true(cfg.backends[2].max_replication_lag == 0.5);
}

/* [monitor] after the backends still sets their default lag; overrides stay. */
static void test_monitor_after_backends(void **state)
{
    (void)state;
    expect_valid("[backend.p]\nrole = primary\n"
                 "[backend.r1]\nrole = replica\nport = 3307\n"
                 "[backend.r2]\nrole = replica\nport = 3308\nmax_replication_lag = 1\n"
                 "[user.app]\npassword = x\n"
                 "[monitor]\nmax_replication_lag = 4.25\n");
    assert_true(cfg.backends[1].max_replication_lag == 4.25);
    assert_true(cfg.backends[2].max_replication_lag == 1);
}

/* ; and # comments, inline after a blank; indented lines; CRLF; a BOM. */
static void test_comments_and_layout(void **state)
{
    (void)state;
    expect_valid("\xEF\xBB\xBF; leading comment\r\n"
                 "# another\r\n"
                 "[proxy]   ; section comment\r\n"
                 "listen = 127.0.0.1:6034 ; inline\r\n"
                 "  threads = 2   # hash inline\r\n"
                 "\r\n"
                 "[backend.p] # c\r\n"
                 "\trole = primary ;c\r\n"
                 "    port = 3310\r\n"
                 "[user.app]\r\n"
                 "password = a;b#c ; only the part after the blank is a comment\r\n");
    assert_int_equal(cfg.listen_port, 6034);
    assert_int_equal(cfg.threads, 2);
    assert_int_equal(cfg.backends[0].role, ROLE_PRIMARY);
    assert_int_equal(cfg.backends[0].port, 3310);
    assert_string_equal(cfg.users[0].password, "a;b#c");
}

#define TAIL "[backend.p]\nrole = primary\n[user.app]\npassword = x\n"

static void test_listen_forms(void **state)
{
    (void)state;
    expect_valid("[proxy]\nlisten = [::1]:6033\n" TAIL);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 6033);
    expect_valid("[proxy]\nlisten = [::]:7000\n" TAIL);
    assert_string_equal(cfg.listen_host, "::");
    expect_valid("[proxy]\nlisten = localhost:65535\n" TAIL);
    assert_string_equal(cfg.listen_host, "localhost");
    assert_int_equal(cfg.listen_port, 65535);
}

static void test_backend_ipv6_host(void **state)
{
    (void)state;
    expect_valid("[backend.p]\nrole = primary\nhost = ::1\n[user.app]\npassword = x\n");
    assert_string_equal(cfg.backends[0].host, "::1");
}

static void test_password_hash_lowercase(void **state)
{
    (void)state;
    expect_valid("[backend.p]\nrole = primary\n"
                 "[user.app]\npassword_hash = *95be1a04b76ee9ab97cee8436421f2d15539b738\n");
    uint8_t want[SHA1_LEN];
    stage2_of("app_pw", want);
    assert_memory_equal(cfg.users[0].stage2, want, SHA1_LEN);
    assert_false(cfg.users[0].has_password);
}

static void test_empty_password(void **state)
{
    (void)state;
    expect_valid("[backend.p]\nrole = primary\n[user.app]\npassword =\n");
    assert_true(cfg.users[0].has_password);
    assert_string_equal(cfg.users[0].password, "");
}

static void test_find_user(void **state)
{
    (void)state;
    expect_valid("[backend.p]\nrole = primary\n[user.app]\npassword = a\n"
                 "[user.application]\npassword = b\n");
    assert_int_equal(config_find_user(&cfg, "app", 3), 0);
    assert_int_equal(config_find_user(&cfg, "application", 11), 1);
    assert_int_equal(config_find_user(&cfg, "applicationX", 11), 1); /* len bounds name */
    assert_int_equal(config_find_user(&cfg, "ap", 2), -1);
    assert_int_equal(config_find_user(&cfg, "nobody", 6), -1);
}

static void load_shipped(const char *file)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", SY_CONFIG_DIR, file);
    if (config_load(p, &cfg, &errs) != 0) {
        print_errors();
        fail_msg("%s is not valid", p);
    }
}

static void test_sandbox_ini(void **state)
{
    (void)state;
    load_shipped("sandbox.ini");
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 6033);
    assert_int_equal(cfg.n_backends, 3);
    assert_int_equal(cfg.backends[0].role, ROLE_PRIMARY);
    assert_int_equal(cfg.backends[0].port, 3310);
    assert_int_equal(cfg.backends[1].role, ROLE_REPLICA);
    assert_int_equal(cfg.backends[1].port, 3311);
    assert_int_equal(cfg.backends[2].role, ROLE_REPLICA);
    assert_int_equal(cfg.backends[2].port, 3312);
    assert_int_equal(cfg.n_users, 1);
    assert_string_equal(cfg.users[0].name, "app");
    assert_string_equal(cfg.users[0].password, "app_pw");
}

static void test_example_ini(void **state)
{
    (void)state;
    load_shipped("example.ini");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_replication_keys),
        cmocka_unit_test(test_replication_key_limits),
        cmocka_unit_test(test_pool_limits),
        cmocka_unit_test(test_two_primaries),
        cmocka_unit_test(test_discover_roles_without_primary),
        cmocka_unit_test(test_fractional_lag),
        cmocka_unit_test(test_monitor_after_backends),
        cmocka_unit_test(test_comments_and_layout),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_backend_ipv6_host),
        cmocka_unit_test(test_password_hash_lowercase),
        cmocka_unit_test(test_empty_password),
        cmocka_unit_test(test_find_user),
        cmocka_unit_test(test_sandbox_ini),
        cmocka_unit_test(test_example_ini),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
