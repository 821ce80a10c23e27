/* Replicas never change. Every replica connection runs with SET SESSION
 * TRANSACTION READ ONLY, so a statement that writes (a stored function
 * called from a SELECT, which the classifier cannot see into) fails there
 * with 1792 before any effect, whatever the account's privileges; read_only
 * alone does not stop accounts with READ_ONLY ADMIN. A statement a replica
 * refuses as read-only (1290, 1792), alone and outside a transaction, is run
 * again on the writer, and its shape is remembered (per worker, bounded) so
 * the next ones go to the writer at once. */
#ifndef SY_PROXY_READONLY_RETRY_H
#define SY_PROXY_READONLY_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/route.h"

struct client_session;
struct backend_conn;

/* Does the text contain word, in any case (a cheap look for a variable's
 * name; it may also be found inside a string or a longer name)? */
bool text_mentions(const uint8_t *p, size_t len, const char *word);

#define READONLY_REASON_REMEMBERED "remembered: refused as read-only by a replica"
#define READONLY_REASON_VARIABLE "reads transaction_read_only (replica connections are read-only)"

/* Is bc a replica connection serving reads, and not the session's writer
 * (a replica promoted by failover or discover_roles takes the writes)? */
bool replica_readonly_wanted(const struct client_session *s, const struct backend_conn *bc);
/* The replica connection needs READ ONLY: new, or a replayed client SET may
 * have touched transaction_read_only since it was last set. */
bool replica_readonly_needed(const struct client_session *s, const struct backend_conn *bc);
void replica_readonly_send(struct client_session *s, struct backend_conn *bc);
void replica_readonly_done(struct client_session *s, struct backend_conn *bc);

/* A read the classifier sent to a replica goes to the writer instead when
 * its shape was refused before, or when it asks for transaction_read_only
 * (which the client must not see set by the proxy). Statements sent to a
 * replica by a hint or PROXY SET route = replica stay there: the client
 * asked for the replica's answer. */
void readonly_route_adjust(struct route_decision *d, const struct classification *c,
                           const struct session_route_state *r, const char *sql, size_t len);

/* Could a read-only refusal of the current command be retried on the
 * writer? (Then its lone ERR is kept from the client.) */
bool readonly_retry_possible(const struct client_session *s, const struct backend_conn *bc);

/* The replica answered the current command with a lone ERR kept from the
 * client: if it is a read-only refusal, count it, remember the shape and
 * run the command on the writer. False when the ERR stands. */
bool readonly_retry(struct client_session *s, struct backend_conn *bc);

#endif
