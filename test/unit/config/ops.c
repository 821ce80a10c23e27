/* config_load on valid files with the operations and security keys: [proxy]
 * allow/deny and limits, [admin], [log], [tls], backend tls. */
#include "config_test.h"

#include <arpa/inet.h>

#include "config/cidr.h"
#include "protocol/auth.h"
#include "proxy/log.h"

#define TAIL "[backend.p]\nrole = primary\n[user.app]\npassword = x\n"
#define APP_PW_HASH "*95BE1A04B76EE9AB97CEE8436421F2D15539B738" /* of "app_pw" */
#define READABLE SY_CONFIG_DIR "/example.ini"

static void stage2_of(const char *pw, uint8_t out[SHA1_LEN])
{
    uint8_t stage1[SHA1_LEN];
    native_password_stage1(pw, strlen(pw), stage1);
    native_password_stage2(stage1, out);
}

static void expect_cidr(const struct cidr *c, int family, const char *addr, int prefix)
{
    uint8_t want[16] = {0};
    assert_int_equal(inet_pton(family, addr, want), 1);
    assert_int_equal(c->family, family);
    assert_int_equal(c->prefix, prefix);
    assert_memory_equal(c->addr, want, sizeof want);
}

static void test_defaults(void **state)
{
    (void)state;
    expect_valid(TAIL);
    assert_int_equal(cfg.allow.n, 0);
    assert_int_equal(cfg.deny.n, 0);
    assert_int_equal(cfg.max_connections, 0);
    assert_int_equal(cfg.client_idle_timeout, 0);
    assert_int_equal(cfg.connect_timeout, 10);
    assert_int_equal(cfg.max_allowed_packet, 64 * 1024 * 1024);
    assert_int_equal(cfg.users[0].max_connections, 0);
    assert_false(cfg.admin_enabled);
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_int_equal(cfg.log_format, LOG_FORMAT_TEXT);
    assert_int_equal(cfg.slow_ms, 0);
    assert_string_equal(cfg.tls_cert, "");
    assert_string_equal(cfg.tls_key, "");
    assert_string_equal(cfg.tls_ca, "");
    assert_false(cfg.tls_require);
    assert_int_equal(cfg.backends[0].tls, BACKEND_TLS_OFF);
}

/* The section alone (with its required password) enables the admin port
 * with loopback-only defaults. */
static void test_admin_defaults(void **state)
{
    (void)state;
    expect_valid("[admin]\npassword = adm_pw\n" TAIL);
    assert_true(cfg.admin_enabled);
    assert_string_equal(cfg.admin_listen_host, "127.0.0.1");
    assert_int_equal(cfg.admin_listen_port, 6032);
    assert_string_equal(cfg.admin_user, "admin");
    assert_true(cfg.admin_has_password);
    assert_string_equal(cfg.admin_password, "adm_pw");
    uint8_t want[SHA1_LEN];
    stage2_of("adm_pw", want);
    assert_memory_equal(cfg.admin_stage2, want, SHA1_LEN);
    assert_string_equal(cfg.admin_http_host, "");
    assert_int_equal(cfg.admin_http_port, 0);
    assert_int_equal(cfg.admin_allow.n, 2);
    expect_cidr(&cfg.admin_allow.items[0], AF_INET, "127.0.0.1", 32);
    expect_cidr(&cfg.admin_allow.items[1], AF_INET6, "::1", 128);
}

static void test_admin_hash_and_listen(void **state)
{
    (void)state;
    expect_valid("[admin]\npassword_hash = " APP_PW_HASH "\nlisten = [::1]:7032\n"
                 "http_listen = 0.0.0.0:8080\nuser = ops\nallow = 10.0.0.0/8, fd00::/8\n" TAIL);
    assert_false(cfg.admin_has_password);
    uint8_t want[SHA1_LEN];
    stage2_of("app_pw", want);
    assert_memory_equal(cfg.admin_stage2, want, SHA1_LEN);
    assert_string_equal(cfg.admin_listen_host, "::1");
    assert_int_equal(cfg.admin_listen_port, 7032);
    assert_string_equal(cfg.admin_http_host, "0.0.0.0");
    assert_int_equal(cfg.admin_http_port, 8080);
    assert_string_equal(cfg.admin_user, "ops");
    assert_int_equal(cfg.admin_allow.n, 2);
    expect_cidr(&cfg.admin_allow.items[0], AF_INET, "10.0.0.0", 8);
    expect_cidr(&cfg.admin_allow.items[1], AF_INET6, "fd00::", 8);
}

/* An explicit empty allow replaces the loopback default. */
static void test_admin_empty_allow(void **state)
{
    (void)state;
    expect_valid("[admin]\npassword = a\nallow =\n" TAIL);
    assert_int_equal(cfg.admin_allow.n, 0);
}

static void test_proxy_keys(void **state)
{
    (void)state;
    expect_valid("[proxy]\nallow = 10.0.0.0/8 ,192.168.1.7, ::1\ndeny = 10.9.0.0/16\n"
                 "max_connections = 1000000\nclient_idle_timeout = 31536000\n"
                 "connect_timeout = 2\nmax_allowed_packet = 1G\n"
                 "[backend.p]\nrole = primary\n[user.app]\npassword = x\nmax_connections = 5\n");
    assert_int_equal(cfg.allow.n, 3);
    expect_cidr(&cfg.allow.items[0], AF_INET, "10.0.0.0", 8);
    expect_cidr(&cfg.allow.items[1], AF_INET, "192.168.1.7", 32);
    expect_cidr(&cfg.allow.items[2], AF_INET6, "::1", 128);
    assert_int_equal(cfg.deny.n, 1);
    expect_cidr(&cfg.deny.items[0], AF_INET, "10.9.0.0", 16);
    assert_int_equal(cfg.max_connections, 1000000);
    assert_int_equal(cfg.client_idle_timeout, 31536000);
    assert_int_equal(cfg.connect_timeout, 2);
    assert_int_equal(cfg.max_allowed_packet, 1024 * 1024 * 1024);
    assert_int_equal(cfg.users[0].max_connections, 5);
}

static void test_log_levels(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int level;
    } levels[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[log]\nlevel = %s\n" TAIL, levels[i].text);
        expect_valid(text);
        assert_int_equal(cfg.log_level, levels[i].level);
    }
    expect_valid("[log]\nformat = text\nslow_ms = 3600000\n" TAIL);
    assert_int_equal(cfg.log_format, LOG_FORMAT_TEXT);
    assert_int_equal(cfg.slow_ms, 3600000);
}

/* [tls] may come after the backends that need its ca. */
static void test_backend_tls(void **state)
{
    (void)state;
    expect_valid("[backend.p]\nrole = primary\ntls = verify\n"
                 "[backend.r]\nrole = replica\nport = 3307\ntls = on\n"
                 "[backend.s]\nrole = replica\nport = 3308\ntls = off\n"
                 "[user.app]\npassword = x\n[tls]\nca = " READABLE "\n");
    assert_int_equal(cfg.backends[0].tls, BACKEND_TLS_VERIFY);
    assert_int_equal(cfg.backends[1].tls, BACKEND_TLS_ON);
    assert_int_equal(cfg.backends[2].tls, BACKEND_TLS_OFF);
    assert_string_equal(cfg.tls_ca, READABLE);
    assert_false(cfg.tls_require);
}

/* Every new key at once, each away from its default. */
static void test_all_keys(void **state)
{
    (void)state;
    expect_valid("[proxy]\n"
                 "allow = 10.0.0.0/8, ::ffff:192.168.0.0/112\n"
                 "deny = 10.66.0.0/16\n"
                 "max_connections = 2000\n"
                 "client_idle_timeout = 600\n"
                 "[admin]\n"
                 "listen = 127.0.0.1:7032\n"
                 "user = ops\n"
                 "password = ops_pw\n"
                 "http_listen = 127.0.0.1:8032\n"
                 "allow = 127.0.0.1, 10.1.0.0/16\n"
                 "[log]\n"
                 "level = debug\n"
                 "format = json\n"
                 "slow_ms = 250\n"
                 "[tls]\n"
                 "cert = " READABLE "\n"
                 "key = " READABLE "\n"
                 "ca = " READABLE "\n"
                 "require = on\n"
                 "[backend.p]\nrole = primary\ntls = verify\n"
                 "[user.app]\npassword = x\nmax_connections = 100\n");
    assert_int_equal(cfg.allow.n, 2);
    expect_cidr(&cfg.allow.items[1], AF_INET, "192.168.0.0", 16);
    assert_int_equal(cfg.deny.n, 1);
    assert_int_equal(cfg.max_connections, 2000);
    assert_int_equal(cfg.client_idle_timeout, 600);
    assert_true(cfg.admin_enabled);
    assert_int_equal(cfg.admin_listen_port, 7032);
    assert_string_equal(cfg.admin_user, "ops");
    assert_true(cfg.admin_has_password);
    assert_int_equal(cfg.admin_http_port, 8032);
    assert_int_equal(cfg.admin_allow.n, 2);
    expect_cidr(&cfg.admin_allow.items[1], AF_INET, "10.1.0.0", 16);
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
    assert_int_equal(cfg.slow_ms, 250);
    assert_string_equal(cfg.tls_cert, READABLE);
    assert_string_equal(cfg.tls_key, READABLE);
    assert_string_equal(cfg.tls_ca, READABLE);
    assert_true(cfg.tls_require);
    assert_int_equal(cfg.backends[0].tls, BACKEND_TLS_VERIFY);
    assert_int_equal(cfg.users[0].max_connections, 100);
}

/* A failed load reports every new-key problem, each at its line. */
static void test_all_errors_reported(void **state)
{
    (void)state;
    int rc = load_text("[proxy]\n"                  /* 1 */
                       "allow = 10.0.0.0/8, x\n"    /* 2 */
                       "[admin]\n"                  /* 3: no password */
                       "user = app\n"               /* 4: same as [user.app] */
                       "[log]\n"                    /* 5 */
                       "format = yaml\n"            /* 6 */
                       "[tls]\n"                    /* 7 */
                       "cert = /nonexistent/c\n"    /* 8: unreadable, and no key */
                       "[backend.p]\n"              /* 9 */
                       "role = primary\n"           /* 10 */
                       "tls = verify\n"             /* 11: no ca */
                       "[user.app]\npassword = x\n");
    assert_int_equal(rc, -1);
    expect_error(2, "bad allow in [proxy]: 'x'");
    expect_error(3, "[admin] has no password");
    expect_error(4, "[admin] user 'app' is also [user.app] at line 12");
    expect_error(6, "bad format 'yaml'");
    expect_error(8, "cannot read cert file '/nonexistent/c'");
    expect_error(8, "cert in [tls] without key");
    expect_error(11, "tls = verify in [backend.p] needs ca in [tls]");
    if (errs.count != 7) {
        print_errors();
        fail_msg("expected 7 errors, got %zu", errs.count);
    }
}

/* The admin secret is never echoed in an error. */
static void test_admin_password_not_echoed(void **state)
{
    (void)state;
    char text[512];
    snprintf(text, sizeof text, "[admin]\npassword = %0128d\n" TAIL, 7);
    assert_int_equal(load_text(text), -1);
    expect_error(2, "password in [admin] is too long (128 characters, at most 127)");
    for (size_t i = 0; i < errs.count; i++)
        assert_null(strstr(errs.msg[i], "00000007"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_admin_defaults),
        cmocka_unit_test(test_admin_hash_and_listen),
        cmocka_unit_test(test_admin_empty_allow),
        cmocka_unit_test(test_proxy_keys),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_backend_tls),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_admin_password_not_echoed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
