/* config_load on broken files: each problem is one "FILE:LINE: message"
 * and every problem in a file is reported. */
#include "config_test.h"

/* A valid rest of the file, appended after the part under test. */
#define TAIL "[backend.p]\nrole = primary\n[user.app]\npassword = x\n"
#define USER "[user.app]\npassword = x\n"
/* An [admin] section that is valid on its own (two lines). */
#define ADMIN "[admin]\npassword = adm\n"
/* Any readable regular file will do for the [tls] path checks. */
#define READABLE SY_CONFIG_DIR "/example.ini"

struct error_case {
    const char *text;
    int line; /* 0: whole-file error "FILE: ..." */
    const char *want;
};

static const struct error_case cases[] = {
    /* sections */
    {"[proxyy]\nlisten = 1.2.3.4:1\n" TAIL, 1, "unknown section [proxyy] (expected [proxy]"},
    {"[proxy\nlisten = 1.2.3.4:1\n" TAIL, 1, "bad section header '[proxy'"},
    {"[proxy] junk\n" TAIL, 1, "bad section header"},
    {"listen = 1.2.3.4:1\n" TAIL, 1, "key 'listen' is outside any section"},
    {"[proxy]\n[proxy]\nthreads = 1\n" TAIL, 2, "duplicate section [proxy] (first at line 1)"},
    {"[backend.]\nrole = replica\n" TAIL, 1, "empty name in [backend.]"},
    {"[user.]\npassword = y\n" TAIL, 1, "empty name in [user.]"},
    {"[proxy]\nthis is junk\n" TAIL, 2, "cannot parse 'this is junk'"},
    /* keys */
    {"[proxy]\nlistne = 1.2.3.4:1\n" TAIL, 2, "unknown key 'listne' in [proxy] (expected listen, threads, shutdown_timeout_ms, allow, "
     "deny, max_connections, client_idle_timeout, connect_timeout, max_allowed_packet, "
     "multiplexing, pool_idle_timeout, pool_wait_timeout_ms, pool_check_after_ms)"},
    {"[backend.p]\nrole = primary\nprot = 1\n" USER, 3,
     "unknown key 'prot' in [backend.p] (expected role, host, port, weight, max_replication_lag, tls, galera, max_connections)"},
    {"[user.app]\npassword = x\npasswd = y\n[backend.p]\nrole = primary\n", 3,
     "unknown key 'passwd' in [user.app] (expected password, password_hash, max_connections)"},
    {"[proxy]\nthreads = 1\nthreads = 2\n" TAIL, 3, "duplicate key 'threads' in [proxy] (first set at line 2)"},
    /* numbers */
    {"[proxy]\nthreads = abc\n" TAIL, 2, "bad threads 'abc' in [proxy]: expected a whole number from 0 to 1024"},
    {"[proxy]\nthreads = 4x\n" TAIL, 2, "bad threads '4x'"},
    {"[proxy]\nthreads = -1\n" TAIL, 2, "bad threads '-1'"},
    {"[proxy]\nthreads = 1025\n" TAIL, 2, "bad threads '1025'"},
    {"[proxy]\nthreads =\n" TAIL, 2, "bad threads ''"},
    {"[monitor]\ninterval_ms = 0\n" TAIL, 2, "bad interval_ms '0' in [monitor]"},
    {"[monitor]\nconnect_timeout_ms = 1s\n" TAIL, 2, "bad connect_timeout_ms '1s'"},
    {"[monitor]\nmax_replication_lag = -1\n" TAIL, 2, "bad max_replication_lag '-1' in [monitor]: expected seconds >= 0"},
    {"[monitor]\nmax_replication_lag = ten\n" TAIL, 2, "bad max_replication_lag 'ten'"},
    {"[backend.p]\nrole = primary\nmax_replication_lag = 1e3\n" USER, 3, "bad max_replication_lag '1e3' in [backend.p]"},
    {"[backend.p]\nrole = primary\nport = 0\n" USER, 3, "bad port '0' in [backend.p]: expected a number from 1 to 65535"},
    {"[backend.p]\nrole = primary\nport = 65536\n" USER, 3, "bad port '65536'"},
    {"[backend.p]\nrole = primary\nport = 33o6\n" USER, 3, "bad port '33o6'"},
    {"[backend.p]\nrole = primary\nweight = 0\n" USER, 3, "bad weight '0' in [backend.p]: expected a whole number from 1 to 1000"},
    {"[backend.p]\nrole = primary\nweight = 1001\n" USER, 3, "bad weight '1001'"},
    {"[backend.p]\nrole = primary\nmax_connections = -1\n" USER, 3,
     "bad max_connections '-1' in [backend.p]: expected a whole number from 0 to 100000"},
    {"[backend.p]\nrole = primary\nmax_connections = 100001\n" USER, 3,
     "bad max_connections '100001' in [backend.p]"},
    {"[backend.p]\nrole = primary\nmax_connections = many\n" USER, 3,
     "bad max_connections 'many' in [backend.p]"},
    {"[proxy]\npool_wait_timeout_ms = 600001\n" TAIL, 2,
     "bad pool_wait_timeout_ms '600001' in [proxy]: expected a whole number from 0 to 600000"},
    {"[proxy]\npool_wait_timeout_ms = -5\n" TAIL, 2, "bad pool_wait_timeout_ms '-5'"},
    /* replication and failover keys */
    {"[proxy]\nshutdown_timeout_ms = 3600001\n" TAIL, 2,
     "bad shutdown_timeout_ms '3600001' in [proxy]: expected a whole number from 0 to 3600000"},
    {"[proxy]\nshutdown_timeout_ms = -5\n" TAIL, 2, "bad shutdown_timeout_ms '-5'"},
    {"[monitor]\nheartbeat_table = heartbeat\n" TAIL, 2,
     "bad heartbeat_table 'heartbeat' in [monitor]: expected DATABASE.TABLE"},
    {"[monitor]\nheartbeat_table = db.\n" TAIL, 2, "bad heartbeat_table 'db.'"},
    {"[monitor]\nheartbeat_table = .t\n" TAIL, 2, "bad heartbeat_table '.t'"},
    {"[monitor]\nheartbeat_table = a.b.c\n" TAIL, 2, "bad heartbeat_table 'a.b.c'"},
    {"[monitor]\nheartbeat_table = db.t`x\n" TAIL, 2, "bad heartbeat_table 'db.t`x'"},
    {"[monitor]\nheartbeat_table = db.t-1\n" TAIL, 2, "bad heartbeat_table 'db.t-1'"},
    {"[monitor]\nheartbeat_table =\n" TAIL, 2, "bad heartbeat_table ''"},
    {"[monitor]\nheartbeat_table = "
     "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.t\n" TAIL, 2,
     "bad heartbeat_table"}, /* 65 characters */
    {"[monitor]\nrecover_intervals = 0\n" TAIL, 2,
     "bad recover_intervals '0' in [monitor]: expected a whole number from 1 to 1000"},
    {"[monitor]\nrecover_intervals = 1001\n" TAIL, 2, "bad recover_intervals '1001'"},
    {"[monitor]\ndown_after = 0\n" TAIL, 2,
     "bad down_after '0' in [monitor]: expected a whole number from 1 to 1000"},
    {"[monitor]\ndown_after = 3.5\n" TAIL, 2, "bad down_after '3.5'"},
    {"[monitor]\ndiscover_roles = yes\n" TAIL, 2,
     "bad discover_roles 'yes' in [monitor]: expected on or off"},
    {"[monitor]\ndiscover_roles = ON\n" TAIL, 2, "bad discover_roles 'ON'"},
    {"[routing]\ncausal_reads = on\n" TAIL, 2,
     "bad causal_reads 'on' in [routing]: expected global, universal, gtid, primary_window or off"},
    {"[routing]\ncausal_reads_timeout_ms = 0\n" TAIL, 2,
     "bad causal_reads_timeout_ms '0' in [routing]: expected a whole number from 1 to 600000"},
    {"[routing]\ncausal_reads_timeout_ms = 600001\n" TAIL, 2, "bad causal_reads_timeout_ms '600001'"},
    {"[routing]\ncausal_window_ms = 3600001\n" TAIL, 2,
     "bad causal_window_ms '3600001' in [routing]: expected a whole number from 0 to 3600000"},
    {"[routing]\ncausal_window_ms = x\n" TAIL, 2, "bad causal_window_ms 'x'"},
    {"[routing]\nwriters = multi\n" TAIL, 2,
     "bad writers 'multi' in [routing]: expected active-passive or active-active"},
    {"[routing]\nwrite_affinity = node\n" TAIL, 2,
     "bad write_affinity 'node' in [routing]: expected statement or session"},
    {"[routing]\ngalera_reads = all\n" TAIL, 2,
     "bad galera_reads 'all' in [routing]: expected any or replicas"},
    {"[backend.p]\nrole = primary\ngalera = yes\n" USER, 3, "bad galera 'yes' in [backend.p]"},
    {"[monitor]\nmax_replication_lag = 0.5s\n" TAIL, 2, "bad max_replication_lag '0.5s'"},
    {"[backend.p]\nrole = primary\nmax_replication_lag = 1.2.3\n" USER, 3,
     "bad max_replication_lag '1.2.3' in [backend.p]"},
    {"[monitor]\nrecover_interval = 2\n" TAIL, 2,
     "unknown key 'recover_interval' in [monitor] (expected user, password, interval_ms, "
     "connect_timeout_ms, max_replication_lag, heartbeat_table, recover_intervals, down_after, "
     "discover_roles)"},
    {"[routing]\ncausal = gtid\n" TAIL, 2,
     "unknown key 'causal' in [routing] (expected read_fallback, read_only_transactions, "
     "causal_reads, causal_reads_timeout_ms, causal_window_ms, writers, write_affinity, "
     "galera_reads, writer_wait_ms)"},
    {"[routing]\nwriter_wait_ms = -1\n" TAIL, 2,
     "bad writer_wait_ms '-1' in [routing]: expected a whole number from 0 to 600000"},
    /* listen */
    {"[proxy]\nlisten = 127.0.0.1\n" TAIL, 2, "bad listen '127.0.0.1': missing port"},
    {"[proxy]\nlisten = 127.0.0.1:abc\n" TAIL, 2, "port must be a number from 1 to 65535"},
    {"[proxy]\nlisten = 127.0.0.1:0\n" TAIL, 2, "port must be a number from 1 to 65535"},
    {"[proxy]\nlisten = 127.0.0.1:70000\n" TAIL, 2, "port must be a number from 1 to 65535"},
    {"[proxy]\nlisten = :6033\n" TAIL, 2, "bad listen ':6033': empty host"},
    {"[proxy]\nlisten = []:6033\n" TAIL, 2, "empty host"},
    {"[proxy]\nlisten = ::1:6033\n" TAIL, 2, "write IPv6 addresses in brackets"},
    {"[proxy]\nlisten = [::1]\n" TAIL, 2, "missing port after ']'"},
    {"[proxy]\nlisten = [::1:6033\n" TAIL, 2, "missing ']'"},
    {"[proxy]\nlisten = [db.local]:6033\n" TAIL, 2, "not an IPv6 address"},
    {"[proxy]\nlisten = bad host:6033\n" TAIL, 2, "host must be a hostname or an IP address"},
    /* enums and hosts */
    {"[backend.p]\nrole = master\n" USER, 2, "bad role 'master' in [backend.p]: expected primary or replica"},
    {"[routing]\nread_fallback = replica\n" TAIL, 2, "bad read_fallback 'replica' in [routing]: expected primary or error"},
    {"[backend.p]\nrole = primary\nhost = db one\n" USER, 3, "bad host 'db one' in [backend.p]"},
    {"[backend.p]\nrole = primary\nhost = [::1]\n" USER, 3, "without brackets"},
    /* backends */
    {USER, 0, "no backends: add a [backend.NAME] section"},
    {"[backend.r]\nrole = replica\n" USER, 0, "no primary: set role = primary"},
    {"[backend.p]\nhost = h\n" USER, 1, "[backend.p] has no role: add role = primary or role = replica"},
    {"[backend.r]\nrole = replica\n[monitor]\ndiscover_roles = off\n" USER, 0, "no primary"},
    /* with discover_roles the roles are a first guess, but still required */
    {"[monitor]\ndiscover_roles = on\n[backend.p]\nhost = h\n" USER, 3, "[backend.p] has no role"},
    {"[backend.p]\nrole = primary\n[backend.p]\nport = 3307\n" USER, 3,
     "duplicate section [backend.p] (first at line 1): merge them"},
    {"[backend.p]\nrole = primary\n[backend.r]\nrole = replica\nhost = 127.0.0.1\n" USER, 3,
     "[backend.r] has the same host and port (127.0.0.1, 3306) as [backend.p] at line 1"},
    /* users */
    {"[backend.p]\nrole = primary\n", 0, "no users: add a [user.NAME] section"},
    {TAIL "[user.app]\npassword = y\n", 5, "duplicate section [user.app] (first at line 3)"},
    {"[backend.p]\nrole = primary\n[user.app]\n", 3, "[user.app] has no password"},
    {"[backend.p]\nrole = primary\n[user.app]\npassword_hash = *95BE1A04B76EE9AB97CEE8436421F2D15539B738\npassword = app_pw\n",
     5, "[user.app] sets both password and password_hash: keep one"},
    {"[backend.p]\nrole = primary\n[user.app]\npassword_hash = *1234\n", 4,
     "bad password_hash in [user.app]: expected '*' and 40 hex digits"},
    {"[backend.p]\nrole = primary\n[user.app]\npassword_hash = *GGBE1A04B76EE9AB97CEE8436421F2D15539B738\n", 4,
     "bad password_hash"},
    {"[backend.p]\nrole = primary\n[user.app]\npassword_hash = 95BE1A04B76EE9AB97CEE8436421F2D15539B738\n", 4,
     "bad password_hash"},
    {"[proxyy]\n" TAIL, 1,
     "unknown section [proxyy] (expected [proxy], [monitor], [routing], [admin], [log], [tls], "
     "[backend.NAME] or [user.NAME])"},

    /* [proxy] allow, deny and limits */
    {"[proxy]\nallow = 10.0.0.0/33\n" TAIL, 2,
     "bad allow in [proxy]: '10.0.0.0/33': the prefix must be a number from 0 to 32"},
    {"[proxy]\nallow = fd00::/129\n" TAIL, 2,
     "bad allow in [proxy]: 'fd00::/129': the prefix must be a number from 0 to 128"},
    {"[proxy]\ndeny = 10.0.0.1, bogus\n" TAIL, 2,
     "bad deny in [proxy]: 'bogus': not an IPv4 or IPv6 address range"},
    {"[proxy]\ndeny = 10.0.0.0/8,,10.1.0.0/16\n" TAIL, 2, "bad deny in [proxy]: '': empty item"},
    {"[proxy]\nallow = 10.0.0.0/8,\n" TAIL, 2, "bad allow in [proxy]: '': empty item"},
    {"[proxy]\nallow = 10.0.0.0/-8\n" TAIL, 2, "bad allow in [proxy]: '10.0.0.0/-8': the prefix"},
    {"[proxy]\nallow = 10.0.0/8\n" TAIL, 2, "bad allow in [proxy]: '10.0.0/8': not an IPv4"},
    {"[proxy]\nmax_connections = 1000001\n" TAIL, 2,
     "bad max_connections '1000001' in [proxy]: expected a whole number from 0 to 1000000"},
    {"[proxy]\nmax_connections = -1\n" TAIL, 2, "bad max_connections '-1'"},
    {"[proxy]\nclient_idle_timeout = 31536001\n" TAIL, 2,
     "bad client_idle_timeout '31536001' in [proxy]: expected a whole number from 0 to 31536000"},
    {"[proxy]\nclient_idle_timeout = 5s\n" TAIL, 2, "bad client_idle_timeout '5s'"},
    {"[proxy]\nconnect_timeout = 0\n" TAIL, 2,
     "bad connect_timeout '0' in [proxy]: expected a whole number from 1 to 31536000"},
    {"[proxy]\nmax_allowed_packet = 1023\n" TAIL, 2,
     "bad max_allowed_packet '1023' in [proxy]: expected bytes from 1024 to 1G"},
    {"[proxy]\nmax_allowed_packet = 2G\n" TAIL, 2, "bad max_allowed_packet '2G'"},
    {"[proxy]\nmax_allowed_packet = 64MB\n" TAIL, 2, "bad max_allowed_packet '64MB'"},
    {"[proxy]\nmax_allowed_packet = M\n" TAIL, 2, "bad max_allowed_packet 'M'"},
    {"[backend.p]\nrole = primary\n[user.app]\npassword = x\nmax_connections = many\n", 5,
     "bad max_connections 'many' in [user.app]: expected a whole number from 0 to 1000000"},

    /* [admin] */
    {ADMIN "listen = 127.0.0.1\n" TAIL, 3, "bad listen '127.0.0.1': missing port"},
    {ADMIN "listen = [::1]\n" TAIL, 3, "bad listen '[::1]': missing port after ']'"},
    {ADMIN "http_listen = 0.0.0.0:0\n" TAIL, 3,
     "bad http_listen '0.0.0.0:0': port must be a number from 1 to 65535"},
    {ADMIN "allow = 300.0.0.1\n" TAIL, 3, "bad allow in [admin]: '300.0.0.1': not an IPv4"},
    {ADMIN "user =\n" TAIL, 3, "empty user in [admin]"},
    {ADMIN "port = 6032\n" TAIL, 3,
     "unknown key 'port' in [admin] (expected listen, user, password, password_hash, "
     "http_listen, allow, query_digest, digest_max_entries, metrics)"},
    {ADMIN "metrics = no\n" TAIL, 3, "bad metrics 'no' in [admin]: expected on or off"},
    {"[admin]\nlisten = 127.0.0.1:6032\n" TAIL, 1,
     "[admin] has no password: add password = ... or password_hash = *..."},
    {ADMIN "password_hash = *95BE1A04B76EE9AB97CEE8436421F2D15539B738\n" TAIL, 3,
     "[admin] sets both password and password_hash: keep one"},
    {"[admin]\npassword_hash = *12\n" TAIL, 2, "bad password_hash in [admin]"},
    {ADMIN "[admin]\n" TAIL, 3, "duplicate section [admin] (first at line 1)"},
    {ADMIN "user = app\n" TAIL, 3,
     "[admin] user 'app' is also [user.app] at line 6: pick another name (the admin port is "
     "never reachable with application credentials)"},
    {ADMIN "[backend.p]\nrole = primary\n[user.admin]\npassword = x\n", 1,
     "[admin] user 'admin' is also [user.admin] at line 5"},

    /* [log] */
    {"[log]\nlevel = verbose\n" TAIL, 2,
     "bad level 'verbose' in [log]: expected debug, info, warn or error"},
    {"[log]\nlevel = INFO\n" TAIL, 2, "bad level 'INFO'"},
    {"[log]\nformat = xml\n" TAIL, 2, "bad format 'xml' in [log]: expected text or json"},
    {"[log]\nslow_ms = 3600001\n" TAIL, 2,
     "bad slow_ms '3600001' in [log]: expected a whole number from 0 to 3600000"},
    {"[log]\nslow = 5\n" TAIL, 2, "unknown key 'slow' in [log] (expected level, format, slow_ms)"},

    /* [tls] */
    {"[tls]\ncert = /nonexistent/c.pem\nkey = " READABLE "\n" TAIL, 2,
     "cannot read cert file '/nonexistent/c.pem': No such file or directory"},
    {"[tls]\ncert = " READABLE "\nkey = /tmp\n" TAIL, 3,
     "cannot read key file '/tmp': not a regular file"},
    {"[tls]\nca = /nonexistent/ca.pem\n" TAIL, 2, "cannot read ca file '/nonexistent/ca.pem'"},
    {"[tls]\ncert = " READABLE "\n" TAIL, 2,
     "cert in [tls] without key: add key = FILE"},
    {"[tls]\nkey = " READABLE "\n" TAIL, 2, "key in [tls] without cert: add cert = FILE"},
    {"[tls]\nrequire = on\n" TAIL, 2, "require = on in [tls] needs cert and key"},
    {"[tls]\nrequire = yes\n" TAIL, 2, "bad require 'yes' in [tls]: expected on or off"},
    {"[tls]\ncrt = x\n" TAIL, 2, "unknown key 'crt' in [tls] (expected cert, key, ca, require)"},

    /* [backend.NAME] tls */
    {"[backend.p]\nrole = primary\ntls = yes\n" USER, 3,
     "bad tls 'yes' in [backend.p]: expected off, on or verify"},
    {"[backend.p]\nrole = primary\ntls = verify\n" USER, 3,
     "tls = verify in [backend.p] needs ca in [tls]"},
};

/* Each case has exactly one problem: one error, at the right line. */
static void test_each_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct error_case *c = &cases[i];
        int rc = load_text(c->text);
        if (rc != -1 || errs.count != 1 || !has_error(c->line, c->want)) {
            print_errors();
            fail_msg("case %zu (\"%s\"): expected exactly one error at line %d with \"%s\"", i,
                     c->want, c->line, c->want);
        }
    }
}

/* Loads head, then c repeated n times, then rest. */
static int load_with_run(const char *head, char c, size_t n, const char *rest)
{
    size_t len = strlen(head) + n + strlen(rest) + 1;
    char *text = malloc(len);
    assert_non_null(text);
    snprintf(text, len, "%s%*s%s", head, (int)n, "", rest);
    memset(text + strlen(head), c, n);
    int rc = load_text(text);
    free(text);
    return rc;
}

static void expect_one(int rc, int line, const char *want)
{
    assert_int_equal(rc, -1);
    if (errs.count != 1) {
        print_errors();
        fail_msg("expected one error");
    }
    expect_error(line, want);
}

static void test_long_values(void **state)
{
    (void)state;
    expect_one(load_with_run("[backend.", 'n', 64, "]\nrole = replica\n" TAIL), 1,
               "backend name 'nnnnnnnnnnnnnnnnnnnn...' is too long (64 characters, at most 63)");
    expect_one(load_with_run("[user.", 'n', 64, "]\npassword = y\n" TAIL), 1,
               "user name 'nnnnnnnnnnnnnnnnnnnn...' is too long");
    expect_one(load_with_run("[monitor]\nuser = ", 'u', 64, "\n" TAIL), 2,
               "user in [monitor] is too long (64 characters, at most 63)");
    expect_one(load_with_run("[monitor]\npassword = ", 'p', 128, "\n" TAIL), 2,
               "password in [monitor] is too long (128 characters, at most 127)");
    expect_one(load_with_run("[backend.p]\nrole = primary\n[user.app]\npassword = ", 'p', 128, "\n"),
               4, "password in [user.app] is too long (128 characters, at most 127)");
    /* inih's line buffer is 200 bytes; the proxy's limits fit in it. */
    expect_one(load_with_run("[proxy]\nlisten = ", 'a', 250, ":1\n" TAIL), 2,
               "line too long (261 characters without comments");
}

/* Comments do not count towards inih's line limit. */
static void test_long_comment(void **state)
{
    (void)state;
    assert_int_equal(load_with_run("[proxy] ; ", 'c', 400, "\n" TAIL), 0);
}

static void test_all_errors_reported(void **state)
{
    (void)state;
    int rc = load_text("[proxy]\n"                       /* 1 */
                       "listen = 127.0.0.1\n"            /* 2: missing port */
                       "threads = many\n"                /* 3: bad number */
                       "[proxyy]\n"                      /* 4: unknown section */
                       "x = 1\n"                         /* 5: skipped */
                       "[backend.a]\n"                   /* 6 */
                       "role = primary\n"                /* 7 */
                       "prot = 3306\n"                   /* 8: unknown key */
                       "[backend.b]\n"                   /* 9 */
                       "role = primary\n"                /* 10: a second primary is fine */
                       "port = 3307\n"                   /* 11 */
                       "garbage\n"                       /* 12: unparsable */
                       "[user.app]\n");                  /* 13: no password */
    assert_int_equal(rc, -1);
    expect_error(2, "missing port");
    expect_error(3, "bad threads 'many'");
    expect_error(4, "unknown section [proxyy]");
    expect_error(8, "unknown key 'prot'");
    expect_error(12, "cannot parse 'garbage'");
    expect_error(13, "has no password");
    if (errs.count != 6) {
        print_errors();
        fail_msg("expected 6 errors, got %zu", errs.count);
    }
}

static void test_error_overflow(void **state)
{
    (void)state;
    char text[4096] = "[proxy]\n";
    for (int i = 0; i < CONFIG_MAX_ERRORS + 6; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "k%d = 1\n", i);
    strcat(text, TAIL);
    assert_int_equal(load_text(text), -1);
    assert_int_equal(errs.count, CONFIG_MAX_ERRORS);
    assert_int_equal(errs.dropped, 6);
}

static void test_too_many_backends(void **state)
{
    (void)state;
    static char text[16384];
    text[0] = '\0';
    for (int i = 0; i <= CONFIG_MAX_BACKENDS; i++) /* one too many */
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "[backend.b%d]\nrole = %s\nport = %d\n", i, i ? "replica" : "primary", 4000 + i);
    strcat(text, USER);
    expect_one(load_text(text), CONFIG_MAX_BACKENDS * 3 + 1, "too many backends: at most 64");
    assert_int_equal(cfg.n_backends, CONFIG_MAX_BACKENDS);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct config_errors e;
    assert_int_equal(config_load("/nonexistent/switchyard.ini", &cfg, &e), -1);
    assert_int_equal(e.count, 1);
    assert_string_equal(e.msg[0],
                        "/nonexistent/switchyard.ini: cannot open: No such file or directory");
}

static void test_directory(void **state)
{
    (void)state;
    struct config_errors e;
    assert_int_equal(config_load("/tmp", &cfg, &e), -1);
    assert_int_equal(e.count, 1);
    assert_string_equal(e.msg[0], "/tmp: cannot read: Is a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_error),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_long_comment),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_error_overflow),
        cmocka_unit_test(test_too_many_backends),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
