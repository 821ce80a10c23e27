/* The admin thread's view of the running proxy: it copies what the admin
 * statements and the metrics show into a plain snapshot (admin_commands.h),
 * and carries out the statements that change something. Runs on the admin
 * thread only. */
#ifndef SY_PROXY_ADMIN_STATE_H
#define SY_PROXY_ADMIN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/admin_commands.h"
#include "proxy/proxy.h"
#include "proxy/session_registry.h"

/* Fill snap from the newest configuration, the topology (a reference kept
 * in *cached, refreshed here) and the workers' counters; with sessions, the
 * registry too (snap->sessions is then malloc'ed: admin_snapshot_free
 * in admin_commands.h).
 * now_ms is on the uv_now() clock the sessions' started_ms uses. Returns 0,
 * or -1 when out of memory. */
int admin_snapshot_take(struct proxy *p, struct topology **cached, bool sessions,
                        uint64_t now_ms, struct admin_snapshot *snap);

/* SET BACKEND name OFFLINE / ONLINE. Returns 0, or -1 when no backend of
 * the current configuration has that name. */
int admin_set_offline(struct proxy *p, const char *name, bool offline);


#endif
