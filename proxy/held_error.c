#include "proxy/held_error.h"

#include "proxy/backend_conn.h"
#include "proxy/readonly_retry.h"
#include "proxy/session.h"

bool session_holds_error(const struct client_session *s, const struct backend_conn *bc)
{
    return kill_sent_for_client(s) || readonly_retry_possible(s, bc);
}

bool session_held_error_done(struct client_session *s, struct backend_conn *bc)
{
    if (!bc->held_error)
        return false;
    bc->held_error = false;
    if (kill_backend_answered(s, bc) || readonly_retry(s, bc))
        return true;
    const struct result_tracker *rt = &bc->tracker;
    session_send_err(s, rt->last_seq, rt->err_code, rt->err_sqlstate, "%s", rt->err_message);
    s->forwarded = true;
    return false;
}
