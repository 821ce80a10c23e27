/* The monitor's queries against one backend, over one blocking Connector/C
 * connection: what the server says, turned into a backend_status. Policy
 * across rounds (down_after, recover_intervals, role changes, logging) stays
 * in monitor.c; nothing here remembers anything beyond the connection. */
#ifndef SY_PROXY_MONITOR_PROBE_H
#define SY_PROXY_MONITOR_PROBE_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "proxy/topology.h"

/* Outcome of one query (or group of queries) over one connection. */
enum probe_result {
    PROBE_DONE,      /* status filled in, connection still usable */
    PROBE_FAILED,    /* status is DOWN; close the connection */
    PROBE_CONN_LOST, /* client-side error (server gone, timeout): close, maybe retry */
};

struct probe_conn {
    MYSQL *mysql;   /* NULL when not connected */
    int vars_query; /* first query of the variables list this server accepts */
};

/* What every backend reports each round. */
struct probe_vars {
    bool read_only;
    char version[64];
    char slave_pos[sizeof(((struct backend_status *)0)->gtid_pos)];  /* "" if unknown */
    char binlog_pos[sizeof(((struct backend_status *)0)->gtid_pos)]; /* "" if unknown */
    bool tracks_last_gtid; /* @@global.session_track_system_variables has it (MariaDB) */
    bool autocommit;       /* @@global.autocommit: what a new session starts with */
};

/* Connector/C takes timeouts in whole seconds: ms rounded up, at least 1. */
unsigned int probe_timeout_seconds(int ms);

void probe_set_reason(struct backend_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Marks st DOWN after a failed query on c ("what failed: error") and
 * classifies the failure. */
enum probe_result probe_query_failed(MYSQL *c, struct backend_status *st, const char *what);

/* Connects pc to b as the monitor account. On failure st is DOWN. */
int probe_connect(struct probe_conn *pc, const struct proxy_config *cfg,
                  const struct backend_config *b, struct backend_status *st);
void probe_close(struct probe_conn *pc);

/* @@read_only, @@version, the GTID positions (MariaDB, else MySQL, else
 * none) and whether new sessions track last_gtid. On failure st is DOWN. */
enum probe_result probe_vars(struct probe_conn *pc, struct probe_vars *out,
                             struct backend_status *st);

/* SHOW REPLICA STATUS into UP / LAGGING / BROKEN with Seconds_Behind_Master
 * as the lag; DOWN on failure. */
enum probe_result probe_replica(struct probe_conn *pc, const char *monitor_user, double max_lag,
                                struct backend_status *st);

/* Writes NOW(6) into the heartbeat row of table ("db.t") on a writable
 * primary, creating the table when it is missing. PROBE_DONE with err ""
 * when written; PROBE_DONE with err set when the server refused (the
 * backend itself is fine); PROBE_CONN_LOST (st DOWN) when the connection
 * failed. */
enum probe_result probe_heartbeat_write(struct probe_conn *pc, const char *table,
                                        struct backend_status *st, char *err, size_t err_len);

/* Replaces a replicating st's Seconds_Behind_Master lag by the age of the
 * heartbeat row it has applied, and judges it against max_lag again. When
 * the row cannot be read, keeps the lag and notes why in the reason.
 * PROBE_CONN_LOST (st DOWN) only when the connection failed. */
enum probe_result probe_heartbeat_read(struct probe_conn *pc, const char *table, double max_lag,
                                       struct backend_status *st);

#endif
