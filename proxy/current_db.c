/* The session's current database: where it starts (the login's), what moves
 * it (USE, COM_INIT_DB, an OK's schema entry), and what a reset keeps. */
#include <stdio.h>
#include <string.h>

#include "protocol/packet.h"
#include "protocol/result_tracker.h"
#include "proxy/log.h"
#include "proxy/proxy.h"
#include "proxy/session.h"

/* Kept in the registry entry too, under its lock, for SHOW SESSIONS; a
 * database changes rarely, so the lock costs nothing per statement. */
void session_set_current_db(struct client_session *s, const char *name, size_t len)
{
    snprintf(s->current_db, sizeof s->current_db, "%.*s", (int)len, name);
    if (s->registered)
        session_registry_set_db(&s->w->proxy->sessions, &s->entry, s->current_db);
}

/* The OK says so when the database changed, even by a statement the
 * classifier does not see as USE (a stored procedure, a multi-statement). */
void session_follow_current_db(struct client_session *s, const struct result_tracker *rt)
{
    if (rt->schema_changed)
        session_set_current_db(s, rt->schema, strlen(rt->schema));
    else if (s->cmd == COM_INIT_DB)
        session_set_current_db(s, (const char *)s->arg, s->arg_len);
}

/* COM_RESET_CONNECTION and a refused COM_CHANGE_USER keep the server's
 * current database, but the session log that brings other backends there
 * was just cleared: they log in with the login's database, so the log
 * starts again with the current one. */
void session_log_current_db(struct client_session *s)
{
    if (!s->current_db[0] || strcmp(s->current_db, s->login.db) == 0)
        return;
    if (session_log_append(&s->log, COM_INIT_DB, (const uint8_t *)s->current_db,
                           strlen(s->current_db)) != 0) {
        log_info("session %u: too much session state to replay; pinned to the primary", s->id);
        s->route.unreplayable_state = true;
    }
}
