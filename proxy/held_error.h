/* A backend's ERR that the session may answer differently: a replica's
 * read-only refusal is retried on the writer (readonly_retry.h), and the
 * "Unknown thread id" of the KILL QUERY the proxy sent for a KILL becomes
 * OK (the session was found; its backend thread was gone already). Such an
 * ERR, when it is the whole response, is kept from the client until the
 * response ends, then decided on here. */
#ifndef SY_PROXY_HELD_ERROR_H
#define SY_PROXY_HELD_ERROR_H

#include <stdbool.h>

struct client_session;
struct backend_conn;

/* Sending the client's command to bc: keep a lone ERR back? */
bool session_holds_error(const struct client_session *s, const struct backend_conn *bc);

/* The client's command ended on bc. True when the held ERR was answered
 * here (the command finished or runs again elsewhere); false when the
 * response goes on as usual (a held ERR has been sent to the client). */
bool session_held_error_done(struct client_session *s, struct backend_conn *bc);

#endif
