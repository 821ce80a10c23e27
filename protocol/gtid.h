/* GTIDs for causal reads: finding the GTID a write produced in an OK
 * packet's session-state block, and deciding whether a server's position
 * already covers it. Pure functions over text. */
#ifndef SY_PROTOCOL_GTID_H
#define SY_PROTOCOL_GTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/session_track.h"

enum gtid_flavor { GTID_MARIADB, GTID_MYSQL };

/* Room for a position the proxy waits for (NUL included). */
#define GTID_TEXT_MAX 256

/* Look through an OK packet's session-state block (the bytes after its
 * lenenc length: a sequence of type, lenenc data) for the GTID of the write:
 * MariaDB reports it as the system variable entry "last_gtid" (type 0:
 * lenenc name, lenenc value); MySQL 8 as a GTIDs entry (type 3: one
 * encoding byte 0, then a lenenc GTID set text). Copies it NUL-terminated
 * into out and sets *flavor. Returns 1 when found (an empty last_gtid counts
 * as not found), 0 when absent, -1 when the block is malformed or the value
 * does not fit. */
int session_track_find_gtid(const uint8_t *block, size_t len, char *out, size_t cap,
                            enum gtid_flavor *flavor);

/* MariaDB: position is a comma-separated list "domain-server-seq" (e.g.
 * @@gtid_slave_pos "0-1-100,1-2-7"); gtid is one or more such triples.
 * Covered when, for every domain in gtid, position has the same domain with a
 * sequence number >= it. A domain missing from position is not covered.
 * Malformed text is not covered. */
bool mariadb_gtid_covered(const char *position, const char *gtid);

struct mariadb_gtid {
    uint64_t domain, server, seq;
};

/* Split a MariaDB GTID list ("0-1-100,1-2-7", spaces allowed around items)
 * into out. Returns how many (0 for an empty list), or -1 when malformed or
 * longer than cap. */
int mariadb_gtid_parse(const char *list, struct mariadb_gtid *out, size_t cap);

/* MySQL: executed is a GTID set "uuid:1-100:200-210,uuid2:1-5" (spaces and
 * newlines allowed after commas, as @@gtid_executed prints them); gtids is a
 * GTID set too. Covered when every transaction in gtids is in executed.
 * Malformed text is not covered. */
bool mysql_gtid_covered(const char *executed, const char *gtids);

#endif
