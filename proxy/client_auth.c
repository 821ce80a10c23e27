/* Authenticating clients at the proxy: the greeting, the handshake response,
 * an auth switch to mysql_native_password for clients that start with
 * another plugin, and COM_CHANGE_USER. The password check recovers
 * SHA1(password), which later answers the backends' scrambles. A database
 * named at login, and every change of user, is then checked by the primary
 * before the client's OK, so that its refusal comes at connect time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/auth.h"
#include "protocol/handshake.h"
#include "protocol/packet.h"
#include "proxy/backend_conn.h"
#include "proxy/log.h"
#include "proxy/session.h"
#include "proxy/worker.h"

/* What the proxy offers clients: only what it supports end to end
 * (CLIENT_SSL is added when [tls] has a certificate; no compression). */
#define PROXY_CAPS                                                                            \
    (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |   \
     CLIENT_NO_SCHEMA | CLIENT_ODBC | CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE |              \
     CLIENT_PROTOCOL_41 | CLIENT_INTERACTIVE | CLIENT_IGNORE_SIGPIPE | CLIENT_TRANSACTIONS |  \
     CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |              \
     CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS |                    \
     CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF)

/* MariaDB's extended capabilities the proxy carries end to end, offered when
 * the backends are MariaDB (each backend leg asks for the same). Not
 * MARIADB_CLIENT_CACHE_METADATA: execute replies without column definitions
 * would have to follow each backend's statement, which the proxy does not. */
#define PROXY_MARIADB_CAPS                                                                    \
    (MARIADB_CLIENT_PROGRESS | MARIADB_CLIENT_STMT_BULK_OPERATIONS |                          \
     MARIADB_CLIENT_EXTENDED_METADATA)

#define DEFAULT_CHARSET 45 /* utf8mb4_general_ci */

static bool plugin_is(const char *name, size_t len, const char *plugin)
{
    return name && len == strlen(plugin) && memcmp(name, plugin, len) == 0;
}

static void server_version(struct client_session *s, char *out, size_t cap)
{
    struct topology *t = worker_topology(s->w);
    const char *v = t && t->server_version[0] ? t->server_version : "10.11.0-MariaDB";
    /* MariaDB announces itself as 5.5.5-<version> so old clients that assume
     * a 5.x server keep working; do the same. */
    bool two_digit_major = v[0] >= '1' && v[0] <= '9' && v[1] >= '0' && v[1] <= '9';
    snprintf(out, cap, "%s%s-switchyard", two_digit_major ? "5.5.5-" : "", v);
}

void session_send_greeting(struct client_session *s)
{
    if (scramble_generate(s->scramble, SCRAMBLE_LEN) != 0) {
        session_close(s);
        return;
    }
    char version[96];
    server_version(s, version, sizeof version);
    uint8_t buf[256];
    uint64_t caps = PROXY_CAPS | (s->gen->tls_server ? CLIENT_SSL : 0);
    if (strstr(version, "MariaDB"))
        caps |= PROXY_MARIADB_CAPS;
    s->login.caps = caps & ~(uint64_t)CLIENT_SSL; /* what a login may negotiate */
    size_t n = server_handshake_build(buf, sizeof buf, version, s->id, s->scramble, caps,
                                      DEFAULT_CHARSET, SERVER_STATUS_AUTOCOMMIT);
    if (n == 0 || session_send(s, buf, n) != 0)
        session_close(s);
}

/* The server refuses ucs2/utf16/utf32 as the client's character set, at
 * connect and on COM_CHANGE_USER, before it checks the password. */
#define REFUSED_CHARSET_MSG "Variable 'character_set_client' can't be set to the value of '%s'"

/* A COM_CHANGE_USER that fails leaves the connection open, logged in as
 * before: MariaDB resets the session, then puts the old account, database
 * and character set back (and refuses a fourth try on the connection). The
 * backends were dropped with the reset; they reopen as the old account. */
static void change_user_failed(struct client_session *s, uint8_t seq, uint16_t code,
                               const char *sqlstate, const char *msg)
{
    log_info("session %u: change of user to '%s' from %s refused: %s", s->id, s->login.user,
             s->peer, msg);
    struct login_backup *b = s->before_change;
    free(s->login.attrs);
    s->login = b->login;
    s->user_index = b->user_index;
    session_set_current_db(s, b->current_db, strlen(b->current_db));
    free(b);
    s->before_change = NULL;
    session_log_current_db(s);
    s->route.charset = sql_charset_by_collation(s->login.charset);
    snprintf(s->entry.user, sizeof s->entry.user, "%s", s->login.user);
    s->failed_change_user++;
    s->changing_user = false;
    s->state = CS_COMMAND;
    session_send_err(s, seq, code, sqlstate, "%s", msg);
    session_finish_command(s);
}

/* The login or the change of user is refused with this ERR: a login ends
 * the connection, a change of user leaves it as it was. */
static void refuse(struct client_session *s, bool changing, uint8_t seq, uint16_t code,
                   const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void refuse(struct client_session *s, bool changing, uint8_t seq, uint16_t code,
                   const char *sqlstate, const char *fmt, ...)
{
    char msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (changing) {
        change_user_failed(s, seq, code, sqlstate, msg);
        return;
    }
    session_send_err(s, seq, code, sqlstate, "%s", msg);
    session_close_after_flush(s);
}

static void login_failed(struct client_session *s, bool changing, uint8_t seq,
                         bool used_password)
{
    stats_add(&s->w->stats.auth_failures, 1);
    log_info("session %u: access denied for user '%s' from %s", s->id, s->login.user, s->peer);
    refuse(s, changing, seq, ER_ACCESS_DENIED_ERROR, "28000",
           "Access denied for user '%s'@'%s' (using password: %s)", s->login.user, s->peer,
           used_password ? "YES" : "NO");
}

/* The client's reply, for whichever plugin it used; fills stage1 on success.
 * caching_sha2_password is checkable only when the plain password is known;
 * then SHA1(password) is computed from it. */
static bool password_ok(struct client_session *s, const struct user_config *u, bool sha2,
                        const uint8_t *reply, size_t len, uint8_t stage1[SHA1_LEN])
{
    if (!u)
        return false;
    if (sha2) {
        if (!u->has_password || u->password[0] == '\0' ||
            !caching_sha2_check(reply, len, u->password, strlen(u->password), s->scramble,
                                SCRAMBLE_LEN))
            return false;
        native_password_stage1(u->password, strlen(u->password), stage1);
        return true;
    }
    return native_password_check(reply, len, s->scramble, SCRAMBLE_LEN, u->stage2,
                                 u->has_password && u->password[0] == '\0', stage1);
}

/* Sessions logged in as user, other than s: a COM_CHANGE_USER to the
 * account s already has must not count s twice. */
static int other_sessions_of(struct client_session *s, const char *user)
{
    int n = session_registry_count_user(&s->w->proxy->sessions, user);
    if (s->registered && strncmp(s->entry.user, user, sizeof s->entry.user) == 0)
        n--;
    return n;
}

/* The proxy has let the session in: answer OK (a change of user is a
 * command, which ends here). */
/* A login answered without a connection to the writer starts as a direct
 * one would: with autocommit as the writer's @@global.autocommit, which the
 * monitor reads (on, when it has not). */
static void take_server_autocommit(struct client_session *s)
{
    int w = session_primary_index(s);
    struct topology *t = session_topology(s);
    if (w >= 0 && !s->bc[w] && t && (size_t)w < t->n && t->backend[w].autocommit_off)
        s->route.autocommit = false;
}

static void welcome(struct client_session *s, uint8_t ok_seq, bool changing)
{
    log_debug("session %u: user '%s' logged in from %s", s->id, s->login.user, s->peer);
    take_server_autocommit(s);
    session_send_ok(s, ok_seq);
    if (!changing) {
        session_park_backends(s); /* the database check's connection */
        return;
    }
    if (s->before_change)
        free(s->before_change->login.attrs);
    free(s->before_change);
    s->before_change = NULL;
    session_finish_command(s);
}

/* CS_LOGIN_DB: the writer's connection for the check, once backend index
 * has room for it. True when the answer waits for its login (or was given:
 * no room); false when a pooled connection, already in the login's database,
 * serves, or none could be opened. */
static bool login_db_connect(struct client_session *s, int index)
{
    if (!session_backend_room(s, index))
        return true;
    if ((s->bc[index] = session_take_pooled(s, index)) != NULL) {
        /* It was in that database when it came back; autocommit is the
         * server's default again, as after its login. */
        s->route.autocommit = (s->bc[index]->login_status & SERVER_STATUS_AUTOCOMMIT) != 0;
        return false;
    }
    s->bc[index] = backend_conn_open(s, index);
    if (!s->bc[index])
        return false;
    atomic_fetch_or(&s->entry.backends_mask, 1ull << index);
    return true;
}

/* MariaDB refuses a database that does not exist (1049) or that the account
 * may not use (1044) at connect time, not with the first statement. So a
 * database named at login is checked on the writer before the OK: its
 * connection, which the first statement would open anyway, logs in with that
 * database now. A change of user is always checked there (it is rare, and
 * the server also judges the character set, 1231 for ucs2). Returns true
 * when the answer waits for it (session_database_checked). */
static bool check_database(struct client_session *s, uint8_t ok_seq, bool changing)
{
    int w = session_primary_index(s);
    struct topology *t = session_topology(s);
    bool down = t && (size_t)w < t->n && t->backend[w].state == BACKEND_DOWN;
    if ((!s->login.db[0] && !changing) || s->bc[w] || down ||
        proxy_backend_offline(s->w->proxy, session_config(s)->backends[w].name))
        return false;
    s->db_check_seq = ok_seq;
    s->db_check_changing = changing;
    s->state = CS_LOGIN_DB;
    if (login_db_connect(s, w))
        return true;
    s->state = changing ? CS_COMMAND : CS_IDLE;
    return false;
}

void session_login_db_connect(struct client_session *s, int index)
{
    if (!login_db_connect(s, index))
        session_database_checked(s, s->bc[index], 0, NULL,
                                 s->bc[index] ? NULL : "cannot open a connection to the primary");
}

void session_database_checked(struct client_session *s, const struct backend_conn *bc,
                              uint16_t code, const char *sqlstate, const char *refused)
{
    bool changing = s->db_check_changing;
    s->state = changing ? CS_COMMAND : CS_IDLE;
    if (bc) /* the server's own view: autocommit follows @@global.autocommit */
        s->route.autocommit = (bc->login_status & SERVER_STATUS_AUTOCOMMIT) != 0;
    if (refused && code != 0) {
        log_info("session %u: user '%s' from %s: the primary refused the login: %s", s->id,
                 s->login.user, s->peer, refused);
        refuse(s, changing, s->db_check_seq, code, sqlstate ? sqlstate : "HY000", "%s", refused);
        return;
    }
    if (refused) /* not reached: the first statement reports it, as without a database */
        log_info("session %u: database '%s' not checked at login: %s", s->id, s->login.db,
                 refused);
    welcome(s, s->db_check_seq, changing);
    if (!changing)
        worker_make_runnable(s->w, &s->run); /* commands sent along with the login */
}

/* The login, or the change of user, succeeded: apply the account's
 * max_connections (both ways in count), then register, check the database
 * and answer OK. */
static void logged_in(struct client_session *s, const struct user_config *u, uint8_t ok_seq,
                      bool changing)
{
    if (u->max_connections > 0 && other_sessions_of(s, s->login.user) >= u->max_connections) {
        stats_add(&s->w->stats.refused_limits, 1);
        log_warn("limits: refused user '%s' from %s: its max_connections = %d reached",
                 s->login.user, s->peer, u->max_connections);
        refuse(s, changing, ok_seq, ER_TOO_MANY_USER_CONNECTIONS, "42000",
               "User %s already has more than 'max_user_connections' active connections",
               s->login.user);
        return;
    }
    s->login.account = u;
    snprintf(s->entry.user, sizeof s->entry.user, "%s", s->login.user);
    if (!s->registered) {
        s->entry.client = s->peer;
        memcpy(s->entry.db, s->current_db, sizeof s->entry.db);
        s->entry.started_ms = uv_now(&s->w->loop);
        atomic_init(&s->entry.in_transaction, false);
        atomic_init(&s->entry.pinned, NULL);
        atomic_init(&s->entry.backends_mask, 0);
        s->entry.id = s->id;
        s->entry.worker = s->w;
        atomic_init(&s->entry.busy_backend, -1);
        for (size_t i = 0; i < CONFIG_MAX_BACKENDS; i++)
            atomic_init(&s->entry.thread_id[i], 0);
        atomic_init(&s->entry.kill_requested, false);
        s->entry.client_fd = transport_fd(&s->t);
        session_registry_add(&s->w->proxy->sessions, &s->entry);
        s->registered = true;
    }
    if (!check_database(s, ok_seq, changing))
        welcome(s, ok_seq, changing);
}

/* Check the reply, then finish the login or the change of user. */
static void check_reply(struct client_session *s, bool sha2, const uint8_t *reply, size_t len,
                        uint8_t seq)
{
    const struct user_config *u =
        s->user_index >= 0 ? &session_config(s)->users[s->user_index] : NULL;
    uint8_t stage1[SHA1_LEN];
    if (!password_ok(s, u, sha2, reply, len, stage1)) {
        login_failed(s, s->changing_user, seq + 1, len > 0);
        return;
    }
    memcpy(s->login.stage1, stage1, SHA1_LEN);
    uint8_t ok_seq = seq + 1;
    if (sha2) {
        static const uint8_t fast_ok[2] = {0x01, 0x03}; /* fast auth succeeded */
        uint8_t buf[8];
        session_send(s, buf, raw_packet_build(buf, sizeof buf, ok_seq++, fast_ok, 2));
    }
    bool changing = s->changing_user;
    s->changing_user = false;
    s->state = changing ? CS_COMMAND : CS_IDLE;
    logged_in(s, u, ok_seq, changing);
}

/* The client used another plugin or another reply size: ask for a
 * mysql_native_password answer to our scramble. */
static void ask_auth_switch(struct client_session *s, uint8_t seq)
{
    uint8_t buf[128];
    size_t n = auth_switch_build(buf, sizeof buf, seq, AUTH_PLUGIN_NATIVE, s->scramble,
                                 SCRAMBLE_LEN);
    s->state = CS_AUTH_SWITCH;
    session_send(s, buf, n);
}

/* Answer directly when the client's first reply is one we can check. */
static void authenticate(struct client_session *s, const char *plugin, size_t plugin_len,
                         const uint8_t *reply, size_t len, uint8_t seq)
{
    bool native = !plugin || plugin_is(plugin, plugin_len, AUTH_PLUGIN_NATIVE);
    bool sha2 = plugin_is(plugin, plugin_len, AUTH_PLUGIN_CACHING_SHA2) && len == SHA256_LEN;
    const struct user_config *u =
        s->user_index >= 0 ? &session_config(s)->users[s->user_index] : NULL;
    if ((native && (len == SHA1_LEN || len == 0)) || (sha2 && u && u->has_password)) {
        check_reply(s, sha2, reply, len, seq);
        return;
    }
    ask_auth_switch(s, seq + 1);
}

void session_on_login_packet(struct client_session *s, const uint8_t *p, size_t len, uint8_t seq)
{
    struct handshake_response r;
    if (handshake_response_parse(p, len, &r) != 0) {
        session_send_err(s, seq + 1, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
        session_close_after_flush(s);
        return;
    }
    if (r.is_ssl_request) { /* twice, or without [tls]: the greeting did not offer it */
        session_send_err(s, seq + 1, ER_HANDSHAKE_ERROR, "08S01",
                         "switchyard does not offer TLS here ([tls] cert and key are not set)");
        session_close_after_flush(s);
        return;
    }
    if (session_config(s)->tls_require && !s->t.tls_on) {
        session_send_err(s, seq + 1, ER_SECURE_TRANSPORT_REQUIRED, "HY000",
                         "Connections without TLS are refused here ([tls] require = on): "
                         "connect with SSL (mysql --ssl)");
        session_close_after_flush(s);
        return;
    }
    const char *refused = sql_charset_refused_for_client(r.charset);
    if (refused) {
        session_send_err(s, seq + 1, ER_WRONG_VALUE_FOR_VAR, "42000", REFUSED_CHARSET_MSG, refused);
        session_close_after_flush(s);
        return;
    }
    snprintf(s->login.user, sizeof s->login.user, "%.*s", (int)r.username_len, r.username);
    s->user_index = config_find_user(session_config(s), r.username, r.username_len);
    s->login.caps &= r.capabilities;
    s->login.max_packet = r.max_packet;
    s->login.charset = r.charset ? r.charset : DEFAULT_CHARSET;
    s->route.charset = sql_charset_by_collation(s->login.charset);
    if (r.database && (r.capabilities & CLIENT_CONNECT_WITH_DB))
        snprintf(s->login.db, sizeof s->login.db, "%.*s", (int)r.database_len, r.database);
    session_set_current_db(s, s->login.db, strlen(s->login.db));
    if (r.attrs && r.attrs_len > 0 && (r.capabilities & CLIENT_CONNECT_ATTRS)) {
        s->login.attrs = malloc(r.attrs_len);
        if (s->login.attrs) {
            memcpy(s->login.attrs, r.attrs, r.attrs_len);
            s->login.attrs_len = r.attrs_len;
        }
    }
    authenticate(s, r.auth_plugin, r.auth_plugin_len, r.auth_response, r.auth_response_len, seq);
}

void session_on_auth_switch_reply(struct client_session *s, const uint8_t *p, size_t len,
                                  uint8_t seq)
{
    if (s->changing_user) {
        /* The reply sits in the input like a command: take it out first. */
        uint8_t reply[64];
        size_t n = len < sizeof reply ? len : sizeof reply;
        memcpy(reply, p, n);
        memmove(s->in, s->in + s->cmd_wire, s->in_len - s->cmd_wire);
        s->in_len -= s->cmd_wire;
        s->cmd_wire = 0;
        s->state = CS_COMMAND;
        check_reply(s, false, reply, len < sizeof reply ? n : 0, seq);
        return;
    }
    check_reply(s, false, p, len, seq);
}

/* COM_CHANGE_USER: authenticate the new account at the proxy, then start the
 * session afresh (every backend connection is dropped and reopened as the
 * new account on first use). */
void session_change_user(struct client_session *s)
{
    struct change_user cu;
    if (change_user_parse(s->arg, s->arg_len, s->login.caps, &cu) != 0) {
        session_fail_command(s, ER_HANDSHAKE_ERROR, "08S01", "Malformed COM_CHANGE_USER");
        return;
    }
    const char *refused = sql_charset_refused_for_client(cu.charset);
    if (refused) { /* the session stays as it was, as on the server */
        session_fail_command(s, ER_WRONG_VALUE_FOR_VAR, "42000", REFUSED_CHARSET_MSG, refused);
        return;
    }
    session_reset_backends(s);
    if (s->failed_change_user >= 3) {
        session_fail_command(s, ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command");
        return;
    }
    struct login_backup *b = malloc(sizeof *b);
    if (!b) {
        session_fail_command(s, ER_OUT_OF_RESOURCES, "HY000",
                             "switchyard: out of memory for COM_CHANGE_USER; retry it");
        return;
    }
    b->login = s->login;
    b->user_index = s->user_index;
    memcpy(b->current_db, s->current_db, sizeof b->current_db);
    s->before_change = b;
    s->login.attrs = NULL;
    s->login.attrs_len = 0;
    snprintf(s->login.user, sizeof s->login.user, "%.*s", (int)cu.username_len, cu.username);
    s->user_index = config_find_user(session_config(s), cu.username, cu.username_len);
    snprintf(s->login.db, sizeof s->login.db, "%.*s", (int)cu.database_len,
             cu.database ? cu.database : "");
    session_set_current_db(s, s->login.db, strlen(s->login.db));
    if (cu.charset)
        s->login.charset = (uint8_t)cu.charset;
    s->route.charset = sql_charset_by_collation(s->login.charset);
    if (cu.attrs && cu.attrs_len > 0) {
        s->login.attrs = malloc(cu.attrs_len);
        if (s->login.attrs) {
            memcpy(s->login.attrs, cu.attrs, cu.attrs_len);
            s->login.attrs_len = cu.attrs_len;
        }
    }
    s->changing_user = true;
    bool native = !cu.auth_plugin || plugin_is(cu.auth_plugin, cu.auth_plugin_len,
                                               AUTH_PLUGIN_NATIVE);
    if (native && (cu.auth_response_len == SHA1_LEN || cu.auth_response_len == 0)) {
        check_reply(s, false, cu.auth_response, cu.auth_response_len, s->cmd_seq);
        return;
    }
    /* Consume the command, then wait for the reply to the switch. */
    memmove(s->in, s->in + s->cmd_wire, s->in_len - s->cmd_wire);
    s->in_len -= s->cmd_wire;
    s->cmd_wire = 0;
    ask_auth_switch(s, s->cmd_seq + 1);
}
