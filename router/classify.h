/* SQL classifier: reads statement text as a lexer would and decides whether
 * it may run on a replica. Anything it does not understand is a write: a
 * wrong "read" is a correctness bug, a wrong "write" only costs load. */
#ifndef SY_ROUTER_CLASSIFY_H
#define SY_ROUTER_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/sql_charset.h"

/* Flags describing what a statement does beyond read/write. */
#define CLS_HINT_PRIMARY 0x0001u   /* comment hint route=primary */
#define CLS_HINT_REPLICA 0x0002u   /* comment hint route=replica */
#define CLS_SESSION_STATE 0x0004u  /* SET of session state (vars, NAMES, CHARACTER SET,
                                      SESSION TRANSACTION, user vars) or USE: replay
                                      on every backend the session uses */
#define CLS_USE 0x0008u            /* USE db */
#define CLS_BEGIN 0x0010u          /* BEGIN / START TRANSACTION */
#define CLS_READ_ONLY_TRX 0x0020u  /* START TRANSACTION READ ONLY */
#define CLS_TEMP_TABLE 0x0040u     /* CREATE TEMPORARY TABLE */
#define CLS_LOCK_TABLES 0x0080u    /* LOCK TABLE(S) */
#define CLS_UNLOCK_TABLES 0x0100u  /* UNLOCK TABLE(S) */
#define CLS_NAMED_LOCK 0x0200u     /* GET_LOCK() and friends */
#define CLS_MULTI 0x0400u          /* more than one statement in the text */
#define CLS_AUTOCOMMIT 0x0800u     /* SET autocommit = ... */
#define CLS_SET_GLOBAL 0x1000u     /* SET GLOBAL / @@global.: never replayed */
#define CLS_KILL 0x2000u           /* KILL [CONNECTION | QUERY] id: ids differ per backend */
#define CLS_DROP_TEMP_TABLE 0x4000u   /* DROP TEMPORARY TABLE: count in temp_tables_dropped */
#define CLS_RELEASE_LOCK 0x8000u      /* RELEASE_LOCK(): count in named_locks_released */
#define CLS_RELEASE_ALL_LOCKS 0x10000u /* RELEASE_ALL_LOCKS() */
#define CLS_XA_START 0x20000u         /* XA START / XA BEGIN */
#define CLS_XA_END 0x40000u           /* XA COMMIT / XA ROLLBACK (ends the XA transaction) */
#define CLS_LAST_STMT_INFO 0x80000u   /* answers about the previous statement: FOUND_ROWS(),
                                         ROW_COUNT(), SHOW WARNINGS / ERRORS / COUNT(*),
                                         @@warning_count, @@error_count */
#define CLS_UNREPLAYABLE 0x100000u    /* changes session state in a way a replica cannot redo
                                         from the text: SELECT @a := ..., ... INTO @a,
                                         SET @a = (SELECT ...), SET x = f(...), SET x = @@y */
#define CLS_HIDDEN_STATE 0x200000u    /* runs text the proxy cannot see, which may change session
                                         state: CALL, EXECUTE [IMMEDIATE], PREPARE ... FROM @v */
#define CLS_CHARSET 0x400000u         /* SET NAMES / CHARACTER SET / character_set_client:
                                         .charset is how the following statements lex */
#define CLS_READS_USER_VAR 0x800000u  /* mentions a user variable (@name): its value may be one a
                                         trigger or stored function changed on the primary */
#define CLS_GRANTS 0x1000000u         /* GRANT / REVOKE: global privileges are copied into a
                                         connection at login, so pooled ones keep the old ones */
#define CLS_INSERT_ID 0x2000000u      /* reads the connection's LAST_INSERT_ID() (also
                                         @@last_insert_id, @@identity) */

struct classification {
    bool is_read;       /* may run on a replica */
    uint32_t flags;
    const char *reason; /* static text saying why, e.g. "SELECT ... FOR UPDATE",
                           "unknown statement", "plain SELECT", "hint" */
    uint16_t temp_tables_dropped; /* table names in DROP TEMPORARY TABLE a, b */
    uint16_t named_locks_taken;   /* GET_LOCK( calls in the text */
    uint16_t named_locks_released; /* RELEASE_LOCK( calls in the text */
    uint16_t temp_tables_created;  /* CREATE TEMPORARY TABLE statements in the text */
    const struct sql_charset *charset; /* CLS_CHARSET: the new one, NULL when unknown */
    uint64_t digest; /* classify_query_digest(): statement_digest() of the text */
};

/* Classify one COM_QUERY text of len bytes (not NUL-terminated), sent in the
 * character set cs (character_set_client). cs NULL (unknown): never a read. */
void classify_query(const char *sql, size_t len, const struct sql_charset *cs,
                    struct classification *out);
/* The same, and out->digest, built from the same lexing (classify_query
 * leaves it 0): what the query digest costs is then mostly the hashing. */
void classify_query_digest(const char *sql, size_t len, const struct sql_charset *cs,
                           struct classification *out);

#endif
