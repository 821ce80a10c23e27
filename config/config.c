/* Loads the INI file with inih.
 *
 * The packaged inih is built with INI_HANDLER_LINENO 0, reports only the
 * first malformed line, strips only " ;" inline comments (not " #") and never
 * tells the handler about a section header. So every line reaches inih through
 * read_line(), which numbers it, strips comments, handles section headers
 * itself (empty sections and header lines matter for validation) and reports
 * and blanks each malformed line. inih then splits and trims key = value. */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/cidr.h"
#include "protocol/auth.h"
#include "proxy/log.h" /* LOG_* values for [log] level; header only */

#define MAX_SECTION_KEYS 16

enum section_kind {
    SEC_PROXY,
    SEC_MONITOR,
    SEC_ROUTING,
    SEC_ADMIN,
    SEC_LOG,
    SEC_TLS,
    SEC_BACKEND,
    SEC_USER,
    SEC_COUNT
};

struct loader;
typedef void (*key_setter)(struct loader *L, const char *value);

struct key_def {
    const char *name;
    key_setter set;
};

struct section_def {
    const char *name; /* "proxy", or the prefix "backend." of a named section */
    enum section_kind kind;
    bool named;
    const struct key_def *keys; /* NULL-terminated, at most MAX_SECTION_KEYS */
};

/* What the file said beyond the values themselves, for checks that need the
 * whole file. */
struct backend_seen {
    int role_line;   /* 0: no role key */
    bool role_valid; /* role is primary or replica */
    bool lag_set;    /* a valid per-backend max_replication_lag */
    int tls_line;    /* 0: no tls key */
};

struct user_seen {
    int password_line;
    int hash_line;
};

/* Where the [tls] file keys were set: the pairing checks need them after
 * the whole file (backends may come before [tls]). */
struct tls_seen {
    int cert_line, key_line, ca_line, require_line;
};

struct loader {
    const char *path;
    FILE *file;
    char *buf;
    size_t cap;
    int lineno;
    struct proxy_config *cfg;
    struct config_errors *errs;

    /* Section the following keys belong to; NULL before the first header
     * (keys are errors) or after a bad one (keys are skipped: the header
     * was already reported). */
    const struct section_def *sec;
    bool skip_keys;
    char title[CONFIG_NAME_MAX + 16]; /* "[backend.NAME]" for messages */
    size_t index;                     /* backend or user being filled */
    int key_line[MAX_SECTION_KEYS];   /* where each key of sec was set */
    int singleton_line[SEC_COUNT];    /* header line of [proxy] etc. */

    struct backend_seen backend[CONFIG_MAX_BACKENDS];
    struct user_seen user[CONFIG_MAX_USERS];
    struct user_seen admin;   /* [admin] password / password_hash */
    int admin_user_line;      /* 0: default user */
    struct tls_seen tls;
};

/* ---- errors ---- */

/* line 0: a problem with the whole file, reported as "FILE: message". */
__attribute__((format(printf, 3, 4))) static void add_error(struct loader *L, int line,
                                                            const char *fmt, ...)
{
    struct config_errors *e = L->errs;
    if (e->count == CONFIG_MAX_ERRORS) {
        e->dropped++;
        return;
    }
    char msg[sizeof e->msg[0] - 64]; /* room left for "FILE:LINE: " */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *out = e->msg[e->count++];
    if (line > 0)
        snprintf(out, sizeof e->msg[0], "%s:%d: %s", L->path, line, msg);
    else
        snprintf(out, sizeof e->msg[0], "%s: %s", L->path, msg);
}

/* ---- value parsers ---- */

/* Plain digits only: strtol would also take blanks, a sign and "". */
static bool parse_long(const char *s, long min, long max, long *out)
{
    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Digits with at most one '.', e.g. 10 or 0.5: strtod alone would also take
 * "-1", "inf", "nan", "1e3" and hex. */
static bool parse_seconds(const char *s, double *out)
{
    size_t digits = strspn(s, "0123456789");
    const char *rest = s + digits;
    if (*rest == '.') {
        size_t frac = strspn(rest + 1, "0123456789");
        digits += frac;
        rest += 1 + frac;
    }
    if (digits == 0 || *rest)
        return false;
    *out = strtod(s, NULL);
    return true;
}

static bool valid_hostname(const char *s)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
    return *s && strspn(s, ok) == strlen(s);
}

static bool valid_ipv6(const char *s)
{
    struct in6_addr a;
    return inet_pton(AF_INET6, s, &a) == 1;
}

/* Copies value into dst or reports it too long; what names the value in the
 * message (secrets are never echoed). */
static bool copy_value(struct loader *L, char *dst, size_t size, const char *value,
                       const char *what)
{
    size_t len = strlen(value);
    if (len >= size) {
        add_error(L, L->lineno, "%s in %s is too long (%zu characters, at most %zu)", what,
                  L->title, len, size - 1);
        return false;
    }
    memcpy(dst, value, len + 1);
    return true;
}

static void set_int(struct loader *L, const char *key, const char *value, long min, long max,
                    int *out)
{
    long v;
    if (parse_long(value, min, max, &v))
        *out = (int)v;
    else
        add_error(L, L->lineno, "bad %s '%.40s' in %s: expected a whole number from %ld to %ld",
                  key, value, L->title, min, max);
}

static bool set_lag(struct loader *L, const char *value, double *out)
{
    if (parse_seconds(value, out))
        return true;
    add_error(L, L->lineno,
              "bad max_replication_lag '%.40s' in %s: expected seconds >= 0, e.g. 10 or 0.5",
              value, L->title);
    return false;
}

/* ---- [proxy] ---- */

/* Splits "host:port" or "[v6addr]:port"; returns what is wrong, or NULL. */
static const char *split_listen(const char *v, char host[CONFIG_HOST_MAX], const char **port,
                                bool *bracketed)
{
    const char *start = v, *end, *colon;
    *bracketed = *v == '[';
    if (*bracketed) {
        start = v + 1;
        end = strchr(start, ']');
        if (!end)
            return "missing ']' after the IPv6 address";
        colon = end + 1;
        if (*colon != ':')
            return "missing port after ']': write [ADDRESS]:PORT, e.g. [::1]:6033";
    } else {
        colon = strrchr(v, ':');
        if (!colon)
            return "missing port: write HOST:PORT, e.g. 127.0.0.1:6033";
        end = colon;
    }
    size_t len = (size_t)(end - start);
    if (len == 0)
        return "empty host: write HOST:PORT, e.g. 127.0.0.1:6033 or [::1]:6033";
    if (len >= CONFIG_HOST_MAX)
        return "host too long";
    memcpy(host, start, len);
    host[len] = '\0';
    *port = colon + 1;
    return NULL;
}

/* host:port for key (listen or http_listen) into host and *port, which keep
 * their values when value is bad. */
static void parse_listen(struct loader *L, const char *key, const char *value,
                         char out_host[CONFIG_HOST_MAX], uint16_t *out_port)
{
    char host[CONFIG_HOST_MAX];
    const char *port_text;
    bool bracketed;
    const char *problem = split_listen(value, host, &port_text, &bracketed);
    if (!problem && bracketed && !valid_ipv6(host))
        problem = "the address in brackets is not an IPv6 address";
    if (!problem && !bracketed && !valid_hostname(host))
        problem = strchr(host, ':') ? "write IPv6 addresses in brackets, e.g. [::1]:6033"
                                    : "host must be a hostname or an IP address";
    long port = 0;
    if (!problem && !parse_long(port_text, 1, 65535, &port))
        problem = "port must be a number from 1 to 65535";
    if (problem) {
        add_error(L, L->lineno, "bad %s '%.60s': %s", key, value, problem);
        return;
    }
    memcpy(out_host, host, sizeof host);
    *out_port = (uint16_t)port;
}

static void set_listen(struct loader *L, const char *value)
{
    parse_listen(L, "listen", value, L->cfg->listen_host, &L->cfg->listen_port);
}

static void set_threads(struct loader *L, const char *value)
{
    set_int(L, "threads", value, 0, 1024, &L->cfg->threads);
}

/* How long a stopping proxy lets open sessions finish; up to an hour. */
static void set_shutdown_timeout(struct loader *L, const char *value)
{
    set_int(L, "shutdown_timeout_ms", value, 0, 3600000, &L->cfg->shutdown_timeout_ms);
}

/* allow / deny: a bad item fails the whole key, so a typo never silently
 * narrows or widens who may connect. */
static void set_cidrs(struct loader *L, const char *key, const char *value,
                      struct cidr_list *out)
{
    char err[128];
    if (cidr_list_parse(value, out, err, sizeof err) != 0)
        add_error(L, L->lineno, "bad %s in %s: %s", key, L->title, err);
}

static void set_allow(struct loader *L, const char *value)
{
    set_cidrs(L, "allow", value, &L->cfg->allow);
}

static void set_deny(struct loader *L, const char *value)
{
    set_cidrs(L, "deny", value, &L->cfg->deny);
}

static void set_max_connections(struct loader *L, const char *value)
{
    set_int(L, "max_connections", value, 0, 1000000, &L->cfg->max_connections);
}

/* Up to a year: longer is "never", which 0 already says. */
static void set_client_idle_timeout(struct loader *L, const char *value)
{
    set_int(L, "client_idle_timeout", value, 0, 31536000, &L->cfg->client_idle_timeout);
}

/* Like MariaDB's connect_timeout, but at least a second: the login must end
 * within it, TLS handshake included. */
static void set_login_timeout(struct loader *L, const char *value)
{
    set_int(L, "connect_timeout", value, 1, 31536000, &L->cfg->connect_timeout);
}

/* Bytes with an optional K, M or G suffix (64M), within MariaDB's own range
 * for max_allowed_packet: 1 KiB to 1 GiB. */
static void set_max_allowed_packet(struct loader *L, const char *value)
{
    static const long min = 1024, max = 1024L * 1024 * 1024;
    char digits[16];
    size_t n = strspn(value, "0123456789");
    long unit = 1, v;
    const char *suffix = value + n;
    if (*suffix == 'K' || *suffix == 'k')
        unit = 1024;
    else if (*suffix == 'M' || *suffix == 'm')
        unit = 1024 * 1024;
    else if (*suffix == 'G' || *suffix == 'g')
        unit = 1024 * 1024 * 1024;
    bool ok = n > 0 && n < sizeof digits && (unit == 1 ? *suffix == '\0' : suffix[1] == '\0');
    if (ok) {
        memcpy(digits, value, n);
        digits[n] = '\0';
        ok = parse_long(digits, 1, max, &v) && v <= max / unit && v * unit >= min;
    }
    if (ok)
        L->cfg->max_allowed_packet = (size_t)(v * unit);
    else
        add_error(L, L->lineno,
                  "bad max_allowed_packet '%.40s' in %s: expected bytes from 1024 to 1G, "
                  "with an optional K, M or G suffix (e.g. 64M)",
                  value, L->title);
}

/* on | off keys: exact words, so a typo is an error rather than "off". */
static void set_on_off(struct loader *L, const char *key, const char *value, bool *out)
{
    if (strcmp(value, "on") == 0)
        *out = true;
    else if (strcmp(value, "off") == 0)
        *out = false;
    else
        add_error(L, L->lineno, "bad %s '%.40s' in %s: expected on or off", key, value,
                  L->title);
}

static void set_multiplexing(struct loader *L, const char *value)
{
    set_on_off(L, "multiplexing", value, &L->cfg->multiplexing);
}

/* At least a second: the pool is swept once a second. */
static void set_pool_idle_timeout(struct loader *L, const char *value)
{
    set_int(L, "pool_idle_timeout", value, 1, 31536000, &L->cfg->pool_idle_timeout);
}

static void set_pool_wait_timeout(struct loader *L, const char *value)
{
    set_int(L, "pool_wait_timeout_ms", value, 0, 600000, &L->cfg->pool_wait_timeout_ms);
}

static void set_pool_check_after(struct loader *L, const char *value)
{
    set_int(L, "pool_check_after_ms", value, 0, 86400000, &L->cfg->pool_check_after_ms);
}

/* ---- [monitor] ---- */

static void set_monitor_user(struct loader *L, const char *value)
{
    copy_value(L, L->cfg->monitor_user, sizeof L->cfg->monitor_user, value, "user");
}

static void set_monitor_password(struct loader *L, const char *value)
{
    copy_value(L, L->cfg->monitor_password, sizeof L->cfg->monitor_password, value, "password");
}

static void set_interval(struct loader *L, const char *value)
{
    set_int(L, "interval_ms", value, 1, 3600000, &L->cfg->monitor_interval_ms);
}

static void set_connect_timeout(struct loader *L, const char *value)
{
    set_int(L, "connect_timeout_ms", value, 1, 3600000, &L->cfg->monitor_connect_timeout_ms);
}

static void set_monitor_lag(struct loader *L, const char *value)
{
    set_lag(L, value, &L->cfg->max_replication_lag);
}

/* One unquoted identifier part: the monitor puts it into SQL between
 * backticks, so only these characters may appear (never a backtick). */
static bool valid_ident(const char *s, size_t len)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$";
    return len >= 1 && len <= 64 && strspn(s, ok) >= len;
}

static void set_heartbeat_table(struct loader *L, const char *value)
{
    const char *dot = strchr(value, '.');
    if (!dot || !valid_ident(value, (size_t)(dot - value)) ||
        !valid_ident(dot + 1, strlen(dot + 1))) {
        add_error(L, L->lineno,
                  "bad heartbeat_table '%.60s' in %s: expected DATABASE.TABLE, each 1 to 64 of "
                  "the characters A-Z a-z 0-9 _ $",
                  value, L->title);
        return;
    }
    memcpy(L->cfg->heartbeat_table, value, strlen(value) + 1); /* fits: 64 + 1 + 64 */
}

static void set_recover_intervals(struct loader *L, const char *value)
{
    set_int(L, "recover_intervals", value, 1, 1000, &L->cfg->recover_intervals);
}

static void set_down_after(struct loader *L, const char *value)
{
    set_int(L, "down_after", value, 1, 1000, &L->cfg->down_after);
}

static void set_discover_roles(struct loader *L, const char *value)
{
    set_on_off(L, "discover_roles", value, &L->cfg->discover_roles);
}

/* ---- [routing] ---- */

static void set_read_fallback(struct loader *L, const char *value)
{
    if (strcmp(value, "primary") == 0)
        L->cfg->read_fallback = READ_FALLBACK_PRIMARY;
    else if (strcmp(value, "error") == 0)
        L->cfg->read_fallback = READ_FALLBACK_ERROR;
    else
        add_error(L, L->lineno, "bad read_fallback '%.40s' in %s: expected primary or error",
                  value, L->title);
}

/* START TRANSACTION READ ONLY may run on one replica for its whole length. */
static void set_read_only_trx(struct loader *L, const char *value)
{
    if (strcmp(value, "replica") == 0)
        L->cfg->read_only_transactions_on_replica = true;
    else if (strcmp(value, "primary") == 0)
        L->cfg->read_only_transactions_on_replica = false;
    else
        add_error(L, L->lineno,
                  "bad read_only_transactions '%.40s' in %s: expected replica or primary", value,
                  L->title);
}

/* How a read that follows a write of the same session sees that write. */
static void set_causal_reads(struct loader *L, const char *value)
{
    if (strcmp(value, "gtid") == 0)
        L->cfg->causal_reads = CAUSAL_GTID;
    else if (strcmp(value, "primary_window") == 0)
        L->cfg->causal_reads = CAUSAL_PRIMARY_WINDOW;
    else if (strcmp(value, "off") == 0)
        L->cfg->causal_reads = CAUSAL_OFF;
    else if (strcmp(value, "global") == 0)
        L->cfg->causal_reads = CAUSAL_GLOBAL;
    else if (strcmp(value, "universal") == 0)
        L->cfg->causal_reads = CAUSAL_UNIVERSAL;
    else
        add_error(L, L->lineno,
                  "bad causal_reads '%.40s' in %s: expected global, universal, gtid, primary_window or off", value,
                  L->title);
}

static void set_causal_timeout(struct loader *L, const char *value)
{
    set_int(L, "causal_reads_timeout_ms", value, 1, 600000, &L->cfg->causal_reads_timeout_ms);
}

static void set_writer_wait(struct loader *L, const char *value)
{
    set_int(L, "writer_wait_ms", value, 0, 600000, &L->cfg->writer_wait_ms);
}

static void set_causal_window(struct loader *L, const char *value)
{
    set_int(L, "causal_window_ms", value, 0, 3600000, &L->cfg->causal_window_ms);
}

static void set_writers(struct loader *L, const char *value)
{
    if (strcmp(value, "active-passive") == 0)
        L->cfg->writers = WRITERS_ACTIVE_PASSIVE;
    else if (strcmp(value, "active-active") == 0)
        L->cfg->writers = WRITERS_ACTIVE_ACTIVE;
    else
        add_error(L, L->lineno,
                  "bad writers '%.40s' in %s: expected active-passive or active-active", value,
                  L->title);
}

static void set_write_affinity(struct loader *L, const char *value)
{
    if (strcmp(value, "statement") == 0)
        L->cfg->write_affinity = WRITE_AFFINITY_STATEMENT;
    else if (strcmp(value, "session") == 0)
        L->cfg->write_affinity = WRITE_AFFINITY_SESSION;
    else
        add_error(L, L->lineno, "bad write_affinity '%.40s' in %s: expected statement or session",
                  value, L->title);
}

static void set_galera_reads(struct loader *L, const char *value)
{
    if (strcmp(value, "any") == 0)
        L->cfg->galera_reads = GALERA_READS_ANY;
    else if (strcmp(value, "replicas") == 0)
        L->cfg->galera_reads = GALERA_READS_REPLICAS;
    else
        add_error(L, L->lineno, "bad galera_reads '%.40s' in %s: expected any or replicas", value,
                  L->title);
}

/* ---- [backend.NAME] ---- */

static struct backend_config *cur_backend(struct loader *L)
{
    return &L->cfg->backends[L->index];
}

static void set_role(struct loader *L, const char *value)
{
    L->backend[L->index].role_line = L->lineno;
    if (strcmp(value, "primary") == 0)
        cur_backend(L)->role = ROLE_PRIMARY;
    else if (strcmp(value, "replica") == 0)
        cur_backend(L)->role = ROLE_REPLICA;
    else {
        add_error(L, L->lineno, "bad role '%.40s' in %s: expected primary or replica", value,
                  L->title);
        return;
    }
    L->backend[L->index].role_valid = true;
}

static void set_host(struct loader *L, const char *value)
{
    if (!valid_hostname(value) && !valid_ipv6(value)) {
        add_error(L, L->lineno,
                  "bad host '%.60s' in %s: expected a hostname, an IPv4 address or an IPv6 "
                  "address without brackets",
                  value, L->title);
        return;
    }
    copy_value(L, cur_backend(L)->host, CONFIG_HOST_MAX, value, "host");
}

static void set_port(struct loader *L, const char *value)
{
    long port;
    if (parse_long(value, 1, 65535, &port))
        cur_backend(L)->port = (uint16_t)port;
    else
        add_error(L, L->lineno, "bad port '%.40s' in %s: expected a number from 1 to 65535",
                  value, L->title);
}

static void set_weight(struct loader *L, const char *value)
{
    set_int(L, "weight", value, 1, 1000, &cur_backend(L)->weight);
}

static void set_backend_lag(struct loader *L, const char *value)
{
    L->backend[L->index].lag_set = set_lag(L, value, &cur_backend(L)->max_replication_lag);
}

/* verify also needs [tls] ca, checked once the whole file is read. */
static void set_backend_tls(struct loader *L, const char *value)
{
    struct backend_config *b = cur_backend(L);
    L->backend[L->index].tls_line = L->lineno;
    if (strcmp(value, "off") == 0)
        b->tls = BACKEND_TLS_OFF;
    else if (strcmp(value, "on") == 0)
        b->tls = BACKEND_TLS_ON;
    else if (strcmp(value, "verify") == 0)
        b->tls = BACKEND_TLS_VERIFY;
    else
        add_error(L, L->lineno, "bad tls '%.40s' in %s: expected off, on or verify", value,
                  L->title);
}

/* A Galera node takes traffic only while Synced in a primary component. */
static void set_backend_galera(struct loader *L, const char *value)
{
    set_on_off(L, "galera", value, &cur_backend(L)->galera);
}

static void set_backend_max_connections(struct loader *L, const char *value)
{
    set_int(L, "max_connections", value, 0, 100000, &cur_backend(L)->max_connections);
}

/* ---- [user.NAME] ---- */

static struct user_config *cur_user(struct loader *L)
{
    return &L->cfg->users[L->index];
}

/* password / password_hash of [user.NAME] and [admin] share these. Returns
 * whether the plain password was stored (stage2 is then filled too). */
static bool store_password(struct loader *L, struct user_seen *seen, char *dst, size_t cap,
                           uint8_t stage2[SHA1_LEN], const char *value)
{
    seen->password_line = L->lineno;
    if (!copy_value(L, dst, cap, value, "password"))
        return false;
    uint8_t stage1[SHA1_LEN];
    native_password_stage1(dst, strlen(dst), stage1);
    native_password_stage2(stage1, stage2);
    return true;
}

static void store_password_hash(struct loader *L, struct user_seen *seen,
                                uint8_t stage2[SHA1_LEN], const char *value)
{
    seen->hash_line = L->lineno;
    if (native_password_hash_parse(value, stage2) != 0)
        add_error(L, L->lineno,
                  "bad password_hash in %s: expected '*' and 40 hex digits (the "
                  "mysql_native_password hash from mysql.user), or use password = ...",
                  L->title);
}

static void set_password(struct loader *L, const char *value)
{
    struct user_config *u = cur_user(L);
    u->has_password = store_password(L, &L->user[L->index], u->password, sizeof u->password,
                                     u->stage2, value);
}

static void set_password_hash(struct loader *L, const char *value)
{
    store_password_hash(L, &L->user[L->index], cur_user(L)->stage2, value);
}

static void set_user_max_connections(struct loader *L, const char *value)
{
    set_int(L, "max_connections", value, 0, 1000000, &cur_user(L)->max_connections);
}

/* ---- [admin] ---- */

static void set_admin_listen(struct loader *L, const char *value)
{
    parse_listen(L, "listen", value, L->cfg->admin_listen_host, &L->cfg->admin_listen_port);
}

static void set_admin_user(struct loader *L, const char *value)
{
    L->admin_user_line = L->lineno;
    if (!*value)
        add_error(L, L->lineno, "empty user in [admin]: give the admin account a name");
    else
        copy_value(L, L->cfg->admin_user, sizeof L->cfg->admin_user, value, "user");
}

static void set_admin_password(struct loader *L, const char *value)
{
    struct proxy_config *c = L->cfg;
    c->admin_has_password = store_password(L, &L->admin, c->admin_password,
                                           sizeof c->admin_password, c->admin_stage2, value);
}

static void set_admin_password_hash(struct loader *L, const char *value)
{
    store_password_hash(L, &L->admin, L->cfg->admin_stage2, value);
}

static void set_admin_http_listen(struct loader *L, const char *value)
{
    parse_listen(L, "http_listen", value, L->cfg->admin_http_host, &L->cfg->admin_http_port);
}

static void set_admin_allow(struct loader *L, const char *value)
{
    set_cidrs(L, "allow", value, &L->cfg->admin_allow);
}

static void set_admin_query_digest(struct loader *L, const char *value)
{
    set_on_off(L, "query_digest", value, &L->cfg->query_digest);
}

static void set_admin_metrics(struct loader *L, const char *value)
{
    set_on_off(L, "metrics", value, &L->cfg->metrics);
}

static void set_admin_digest_max_entries(struct loader *L, const char *value)
{
    set_int(L, "digest_max_entries", value, 16, 1000000, &L->cfg->digest_max_entries);
}

/* ---- [log] ---- */

static void set_log_level(struct loader *L, const char *value)
{
    static const struct {
        const char *name;
        enum log_level level;
    } levels[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"error", LOG_ERROR}};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(value, levels[i].name) == 0) {
            L->cfg->log_level = (int)levels[i].level;
            return;
        }
    }
    add_error(L, L->lineno, "bad level '%.40s' in [log]: expected debug, info, warn or error",
              value);
}

static void set_log_format(struct loader *L, const char *value)
{
    if (strcmp(value, "text") == 0)
        L->cfg->log_format = LOG_FORMAT_TEXT;
    else if (strcmp(value, "json") == 0)
        L->cfg->log_format = LOG_FORMAT_JSON;
    else
        add_error(L, L->lineno, "bad format '%.40s' in [log]: expected text or json", value);
}

static void set_slow_ms(struct loader *L, const char *value)
{
    set_int(L, "slow_ms", value, 0, 3600000, &L->cfg->slow_ms);
}

/* ---- [tls] ---- */

/* The proxy reads these files only when it sets TLS up: a typo in a path
 * should stop the load, not the first TLS handshake. */
static void set_tls_file(struct loader *L, const char *key, const char *value, char dst[256],
                         int *seen_line)
{
    *seen_line = L->lineno;
    if (!copy_value(L, dst, 256, value, key))
        return;
    FILE *f = fopen(value, "r");
    struct stat st;
    if (!f)
        add_error(L, L->lineno, "cannot read %s file '%.150s': %s", key, value, strerror(errno));
    else if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        add_error(L, L->lineno, "cannot read %s file '%.150s': not a regular file", key, value);
    if (f)
        fclose(f);
}

static void set_tls_cert(struct loader *L, const char *value)
{
    set_tls_file(L, "cert", value, L->cfg->tls_cert, &L->tls.cert_line);
}

static void set_tls_key(struct loader *L, const char *value)
{
    set_tls_file(L, "key", value, L->cfg->tls_key, &L->tls.key_line);
}

static void set_tls_ca(struct loader *L, const char *value)
{
    set_tls_file(L, "ca", value, L->cfg->tls_ca, &L->tls.ca_line);
}

static void set_tls_require(struct loader *L, const char *value)
{
    L->tls.require_line = L->lineno;
    set_on_off(L, "require", value, &L->cfg->tls_require);
}

/* ---- sections ---- */

static const struct key_def proxy_keys[] = {{"listen", set_listen},
                                            {"threads", set_threads},
                                            {"shutdown_timeout_ms", set_shutdown_timeout},
                                            {"allow", set_allow},
                                            {"deny", set_deny},
                                            {"max_connections", set_max_connections},
                                            {"client_idle_timeout", set_client_idle_timeout},
                                            {"connect_timeout", set_login_timeout},
                                            {"max_allowed_packet", set_max_allowed_packet},
                                            {"multiplexing", set_multiplexing},
                                            {"pool_idle_timeout", set_pool_idle_timeout},
                                            {"pool_wait_timeout_ms", set_pool_wait_timeout},
                                            {"pool_check_after_ms", set_pool_check_after},
                                            {NULL, NULL}};
static const struct key_def monitor_keys[] = {{"user", set_monitor_user},
                                              {"password", set_monitor_password},
                                              {"interval_ms", set_interval},
                                              {"connect_timeout_ms", set_connect_timeout},
                                              {"max_replication_lag", set_monitor_lag},
                                              {"heartbeat_table", set_heartbeat_table},
                                              {"recover_intervals", set_recover_intervals},
                                              {"down_after", set_down_after},
                                              {"discover_roles", set_discover_roles},
                                              {NULL, NULL}};
static const struct key_def routing_keys[] = {{"read_fallback", set_read_fallback},
                                               {"read_only_transactions", set_read_only_trx},
                                               {"causal_reads", set_causal_reads},
                                               {"causal_reads_timeout_ms", set_causal_timeout},
                                               {"causal_window_ms", set_causal_window},
                                               {"writers", set_writers},
                                               {"write_affinity", set_write_affinity},
                                               {"galera_reads", set_galera_reads},
                                               {"writer_wait_ms", set_writer_wait},
                                               {NULL, NULL}};
static const struct key_def admin_keys[] = {{"listen", set_admin_listen},
                                            {"user", set_admin_user},
                                            {"password", set_admin_password},
                                            {"password_hash", set_admin_password_hash},
                                            {"http_listen", set_admin_http_listen},
                                            {"allow", set_admin_allow},
                                            {"query_digest", set_admin_query_digest},
                                            {"digest_max_entries", set_admin_digest_max_entries},
                                            {"metrics", set_admin_metrics},
                                            {NULL, NULL}};
static const struct key_def log_keys[] = {
    {"level", set_log_level}, {"format", set_log_format}, {"slow_ms", set_slow_ms}, {NULL, NULL}};
static const struct key_def tls_keys[] = {{"cert", set_tls_cert},
                                          {"key", set_tls_key},
                                          {"ca", set_tls_ca},
                                          {"require", set_tls_require},
                                          {NULL, NULL}};
static const struct key_def backend_keys[] = {
    {"role", set_role},     {"host", set_host},
    {"port", set_port},     {"weight", set_weight},
    {"max_replication_lag", set_backend_lag}, {"tls", set_backend_tls},
    {"galera", set_backend_galera}, {"max_connections", set_backend_max_connections},
    {NULL, NULL}};
static const struct key_def user_keys[] = {{"password", set_password},
                                           {"password_hash", set_password_hash},
                                           {"max_connections", set_user_max_connections},
                                           {NULL, NULL}};

/* Every table fits the loader's per-key record (its NULL end excluded). */
#define FITS(keys) _Static_assert(sizeof keys / sizeof keys[0] - 1 <= MAX_SECTION_KEYS, #keys)
FITS(proxy_keys);
FITS(monitor_keys);
FITS(routing_keys);
FITS(admin_keys);
FITS(log_keys);
FITS(tls_keys);
FITS(backend_keys);
FITS(user_keys);
#undef FITS

static const struct section_def sections[] = {
    {"proxy", SEC_PROXY, false, proxy_keys},
    {"monitor", SEC_MONITOR, false, monitor_keys},
    {"routing", SEC_ROUTING, false, routing_keys},
    {"admin", SEC_ADMIN, false, admin_keys},
    {"log", SEC_LOG, false, log_keys},
    {"tls", SEC_TLS, false, tls_keys},
    {"backend.", SEC_BACKEND, true, backend_keys},
    {"user.", SEC_USER, true, user_keys},
};

static const struct section_def *find_section(const char *name)
{
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        const struct section_def *d = &sections[i];
        bool match = d->named ? strncmp(name, d->name, strlen(d->name)) == 0
                              : strcmp(name, d->name) == 0;
        if (match)
            return d;
    }
    return NULL;
}

static int find_backend(const struct proxy_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (strcmp(cfg->backends[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Checks NAME of [backend.NAME] / [user.NAME]; kind is "backend" or "user". */
static bool check_name(struct loader *L, const char *kind, const char *name)
{
    if (!*name) {
        add_error(L, L->lineno, "empty name in [%s.]: write [%s.NAME]", kind, kind);
        return false;
    }
    if (strlen(name) >= CONFIG_NAME_MAX) {
        add_error(L, L->lineno, "%s name '%.20s...' is too long (%zu characters, at most %d)",
                  kind, name, strlen(name), CONFIG_NAME_MAX - 1);
        return false;
    }
    return true;
}

/* Starts a backend with the defaults; role has none and is checked at the end. */
static bool open_backend(struct loader *L, const char *name)
{
    struct proxy_config *cfg = L->cfg;
    if (!check_name(L, "backend", name))
        return false;
    int dup = find_backend(cfg, name);
    if (dup >= 0) {
        add_error(L, L->lineno, "duplicate section [backend.%s] (first at line %d): merge them",
                  name, cfg->backends[dup].line);
        return false;
    }
    if (cfg->n_backends == CONFIG_MAX_BACKENDS) {
        add_error(L, L->lineno, "too many backends: at most %d", CONFIG_MAX_BACKENDS);
        return false;
    }
    L->index = cfg->n_backends++;
    struct backend_config *b = &cfg->backends[L->index];
    memcpy(b->name, name, strlen(name) + 1);
    b->role = ROLE_REPLICA;
    strcpy(b->host, "127.0.0.1");
    b->port = 3306;
    b->weight = 1;
    b->line = L->lineno;
    return true;
}

static bool open_user(struct loader *L, const char *name)
{
    struct proxy_config *cfg = L->cfg;
    if (!check_name(L, "user", name))
        return false;
    int dup = config_find_user(cfg, name, strlen(name));
    if (dup >= 0) {
        add_error(L, L->lineno, "duplicate section [user.%s] (first at line %d): merge them",
                  name, cfg->users[dup].line);
        return false;
    }
    if (cfg->n_users == CONFIG_MAX_USERS) {
        add_error(L, L->lineno, "too many users: at most %d", CONFIG_MAX_USERS);
        return false;
    }
    L->index = cfg->n_users++;
    struct user_config *u = &cfg->users[L->index];
    memcpy(u->name, name, strlen(name) + 1);
    u->line = L->lineno;
    return true;
}

static bool open_singleton(struct loader *L, const struct section_def *d)
{
    int first = L->singleton_line[d->kind];
    if (first) {
        add_error(L, L->lineno, "duplicate section [%s] (first at line %d): merge them", d->name,
                  first);
        return false;
    }
    L->singleton_line[d->kind] = L->lineno;
    return true;
}

static bool open_section(struct loader *L, const struct section_def *d, const char *name)
{
    const char *suffix = name + strlen(d->name);
    switch (d->kind) {
    case SEC_BACKEND:
        return open_backend(L, suffix);
    case SEC_USER:
        return open_user(L, suffix);
    default:
        return open_singleton(L, d);
    }
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A "[...]" line (comments already stripped). Until the next header, keys go
 * to the section opened here, or are skipped if it was bad. */
static void begin_section(struct loader *L, char *line)
{
    L->sec = NULL;
    L->skip_keys = true;
    memset(L->key_line, 0, sizeof L->key_line);
    char *end = strchr(line, ']');
    if (!end || end[1]) {
        add_error(L, L->lineno, "bad section header '%.60s': write [NAME] alone on the line",
                  line);
        return;
    }
    *end = '\0';
    char *name = trim(line + 1);
    const struct section_def *d = find_section(name);
    if (!d) {
        add_error(L, L->lineno,
                  "unknown section [%.60s] (expected [proxy], [monitor], [routing], [admin], "
                  "[log], [tls], [backend.NAME] or [user.NAME])",
                  name);
        return;
    }
    if (!open_section(L, d, name))
        return;
    L->sec = d;
    snprintf(L->title, sizeof L->title, "[%s]", name);
}

/* ---- lines ---- */

/* Cuts a comment: ';' or '#' at the start, or after a blank. */
static void strip_comment(char *s)
{
    for (char *p = s; *p; p++) {
        if ((*p == ';' || *p == '#') && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

/* The line inih should see for the physical line in L->buf: "" for blank,
 * comment, header and malformed lines. Leading blanks are removed so inih's
 * multi-line continuation never turns an indented line into a second value
 * for the previous key. */
static const char *prepare_line(struct loader *L, int bufsize)
{
    char *line = L->buf;
    if (L->lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* UTF-8 BOM */
    strip_comment(line);
    line = trim(line);
    if (*line == '[') {
        begin_section(L, line);
        return "";
    }
    if (*line && !strpbrk(line, "=:")) {
        add_error(L, L->lineno, "cannot parse '%.40s': expected key = value, [section] or ; comment",
                  line);
        return "";
    }
    int len = (int)strlen(line);
    if (len + 2 > bufsize) { /* room for "\n" and NUL */
        add_error(L, L->lineno, "line too long (%d characters without comments, at most %d)", len,
                  bufsize - 2);
        return "";
    }
    return line;
}

/* inih's reader: one physical line per call, so inih's line numbers stay ours. */
static char *read_line(char *str, int num, void *stream)
{
    struct loader *L = stream;
    errno = 0;
    if (getline(&L->buf, &L->cap, L->file) < 0) {
        if (ferror(L->file))
            add_error(L, 0, "cannot read: %s", strerror(errno));
        return NULL;
    }
    L->lineno++;
    snprintf(str, (size_t)num, "%s\n", prepare_line(L, num));
    return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct loader *L = user;
    (void)section; /* always "": read_line() keeps headers to itself */
    if (!L->sec) {
        if (!L->skip_keys)
            add_error(L, L->lineno, "key '%.40s' is outside any section: put it under a [section]",
                      name);
        return 1;
    }
    const struct key_def *keys = L->sec->keys;
    for (int i = 0; keys[i].name; i++) {
        if (strcmp(keys[i].name, name) != 0)
            continue;
        if (L->key_line[i]) {
            add_error(L, L->lineno, "duplicate key '%s' in %s (first set at line %d): remove one",
                      name, L->title, L->key_line[i]);
            return 1;
        }
        L->key_line[i] = L->lineno;
        keys[i].set(L, value);
        return 1;
    }
    char expected[300] = "";
    for (int i = 0; keys[i].name; i++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                 i ? ", " : "", keys[i].name);
    add_error(L, L->lineno, "unknown key '%.40s' in %s (expected %s)", name, L->title, expected);
    return 1;
}

/* ---- whole-file checks ---- */

/* At least one primary (several are allowed: a passive standby, or
 * writers = active-active). With discover_roles the file's roles are only
 * the first guess, so none is needed. "No primary" is left out when some
 * backend's role is missing or bad: that backend was already reported and
 * may be the primary. */
static void check_primary(struct loader *L)
{
    const struct proxy_config *cfg = L->cfg;
    bool primary = false, roles_known = true;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        roles_known &= L->backend[i].role_valid;
        primary |= L->backend[i].role_valid && cfg->backends[i].role == ROLE_PRIMARY;
    }
    if (!primary && roles_known && cfg->n_backends > 0 && !cfg->discover_roles)
        add_error(L, 0,
                  "no primary: set role = primary in one [backend.NAME] section (or "
                  "discover_roles = on in [monitor])");
}

static void check_backends(struct loader *L)
{
    struct proxy_config *cfg = L->cfg;
    if (cfg->n_backends == 0)
        add_error(L, 0, "no backends: add a [backend.NAME] section with role = primary");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        struct backend_config *b = &cfg->backends[i];
        if (!L->backend[i].role_line)
            add_error(L, b->line, "[backend.%s] has no role: add role = primary or role = replica",
                      b->name);
        if (b->galera && L->backend[i].role_valid && b->role != ROLE_PRIMARY)
            add_error(L, b->line,
                      "[backend.%s] has galera = on with role = replica: a Galera node is "
                      "role = primary ([routing] writers chooses which nodes take writes)",
                      b->name);
        /* [monitor] may come after the backends, so the default is applied only now. */
        if (!L->backend[i].lag_set)
            b->max_replication_lag = cfg->max_replication_lag;
        for (size_t j = 0; j < i; j++) {
            const struct backend_config *o = &cfg->backends[j];
            if (o->port == b->port && strcmp(o->host, b->host) == 0)
                add_error(L, b->line,
                          "[backend.%s] has the same host and port (%s, %u) as [backend.%s] at "
                          "line %d: each backend needs its own",
                          b->name, b->host, b->port, o->name, o->line);
        }
    }
    check_primary(L);
}

/* Exactly one of password and password_hash, for a [user.NAME] or [admin]
 * opened at header_line. */
static void check_secret(struct loader *L, const char *title, int header_line,
                         const struct user_seen *s)
{
    if (!s->password_line && !s->hash_line)
        add_error(L, header_line, "%s has no password: add password = ... or password_hash = *...",
                  title);
    else if (s->password_line && s->hash_line)
        add_error(L, s->password_line > s->hash_line ? s->password_line : s->hash_line,
                  "%s sets both password and password_hash: keep one", title);
}

static void check_users(struct loader *L)
{
    const struct proxy_config *cfg = L->cfg;
    if (cfg->n_users == 0)
        add_error(L, 0, "no users: add a [user.NAME] section with a password for each account "
                        "clients log in with");
    for (size_t i = 0; i < cfg->n_users; i++) {
        char title[CONFIG_NAME_MAX + 8];
        snprintf(title, sizeof title, "[user.%s]", cfg->users[i].name);
        check_secret(L, title, cfg->users[i].line, &L->user[i]);
    }
}

/* The admin account is separate from the application ones, so a leaked
 * application password never opens the admin port. */
static void check_admin(struct loader *L)
{
    struct proxy_config *cfg = L->cfg;
    int header = L->singleton_line[SEC_ADMIN];
    if (!header)
        return;
    cfg->admin_enabled = true;
    check_secret(L, "[admin]", header, &L->admin);
    int app = config_find_user(cfg, cfg->admin_user, strlen(cfg->admin_user));
    if (app >= 0)
        add_error(L, L->admin_user_line ? L->admin_user_line : header,
                  "[admin] user '%s' is also [user.%s] at line %d: pick another name (the admin "
                  "port is never reachable with application credentials)",
                  cfg->admin_user, cfg->admin_user, cfg->users[app].line);
}

/* Settings that need another [tls] key; unreadable files were reported
 * where they were set, so only presence counts here. */
static void check_tls(struct loader *L)
{
    const struct tls_seen *t = &L->tls;
    if (t->cert_line && !t->key_line)
        add_error(L, t->cert_line, "cert in [tls] without key: add key = FILE (its private key)");
    if (t->key_line && !t->cert_line)
        add_error(L, t->key_line, "key in [tls] without cert: add cert = FILE (its certificate)");
    if (L->cfg->tls_require && !t->cert_line && !t->key_line)
        add_error(L, t->require_line,
                  "require = on in [tls] needs cert and key: clients cannot use TLS without them");
    for (size_t i = 0; i < L->cfg->n_backends; i++) {
        const struct backend_config *b = &L->cfg->backends[i];
        if (b->tls == BACKEND_TLS_VERIFY && !t->ca_line)
            add_error(L, L->backend[i].tls_line,
                      "tls = verify in [backend.%s] needs ca in [tls] to verify the server "
                      "certificate",
                      b->name);
    }
}

/* ---- public ---- */

static void apply_defaults(struct proxy_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 6033;
    cfg->threads = 0;
    strcpy(cfg->monitor_user, "monitor");
    strcpy(cfg->monitor_password, "monitor_pw");
    cfg->monitor_interval_ms = 1000;
    cfg->monitor_connect_timeout_ms = 1000;
    cfg->shutdown_timeout_ms = 10000;
    cfg->connect_timeout = 10;
    cfg->multiplexing = true;
    cfg->pool_idle_timeout = 60;
    cfg->pool_check_after_ms = 5000;
    cfg->pool_wait_timeout_ms = 10000;
    cfg->max_allowed_packet = 64 * 1024 * 1024;
    cfg->max_replication_lag = 10;
    cfg->heartbeat_table[0] = '\0';
    cfg->recover_intervals = 2;
    cfg->down_after = 3;
    cfg->discover_roles = false;
    cfg->read_fallback = READ_FALLBACK_PRIMARY;
    cfg->read_only_transactions_on_replica = true;
    cfg->causal_reads = CAUSAL_GLOBAL;
    cfg->causal_reads_timeout_ms = 1000;
    cfg->causal_window_ms = 1000;
    cfg->writers = WRITERS_ACTIVE_PASSIVE;
    cfg->write_affinity = WRITE_AFFINITY_STATEMENT;
    cfg->galera_reads = GALERA_READS_ANY;
    cfg->writer_wait_ms = 10000;
    strcpy(cfg->admin_listen_host, "127.0.0.1");
    cfg->admin_listen_port = 6032;
    strcpy(cfg->admin_user, "admin");
    /* Loopback only until [admin] allow says otherwise. */
    cfg->admin_allow.items[0] = (struct cidr){.family = AF_INET, .addr = {127, 0, 0, 1}, .prefix = 32};
    cfg->admin_allow.items[1] =
        (struct cidr){.family = AF_INET6, .addr = {[15] = 1}, .prefix = 128};
    cfg->admin_allow.n = 2;
    cfg->query_digest = true;
    cfg->metrics = true;
    cfg->digest_max_entries = 5000;
    cfg->log_level = LOG_INFO;
    cfg->log_format = LOG_FORMAT_TEXT;
}

int config_load(const char *path, struct proxy_config *cfg, struct config_errors *errs)
{
    struct loader L = {.path = path, .cfg = cfg, .errs = errs};
    memset(errs, 0, sizeof *errs);
    apply_defaults(cfg);
    L.file = fopen(path, "r");
    if (!L.file) {
        add_error(&L, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(read_line, &L, on_key, &L);
    if (rc != 0) /* read_line() blanks what inih rejects; this is a safety net */
        add_error(&L, rc > 0 ? rc : 0, "inih could not parse this (error %d)", rc);
    bool unreadable = ferror(L.file); /* already reported; the rest would be noise */
    fclose(L.file);
    free(L.buf);
    if (!unreadable) {
        check_backends(&L);
        check_users(&L);
        check_admin(&L);
        check_tls(&L);
    }
    return errs->count || errs->dropped ? -1 : 0;
}

int config_find_user(const struct proxy_config *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->n_users; i++) {
        const char *n = cfg->users[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return (int)i;
    }
    return -1;
}
