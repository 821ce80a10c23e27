/* Follows a backend's response to one command as raw bytes stream through,
 * without copying the result: it reads packet headers, keeps only the first
 * bytes of the few packets whose content matters (OK, ERR, EOF, column count,
 * PREPARE_OK), and tells exactly where the response ends and with which
 * status flags. Handles split packets (>= 16 MiB), text and binary result
 * sets, multiple result sets (SERVER_MORE_RESULTS_EXISTS), errors
 * mid-stream, CLIENT_DEPRECATE_EOF, prepared statement replies, cursors and
 * LOCAL INFILE requests. */
#ifndef SY_PROTOCOL_RESULT_TRACKER_H
#define SY_PROTOCOL_RESULT_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESULT_TRACKER_PREFIX 4096

enum rt_status {
    RT_CONTINUE = 0, /* all bytes given belong to the response; more to come */
    RT_DONE,         /* the response ended after the returned count */
    RT_LOCAL_INFILE, /* server asked for a file (0xFB): caller relays the
                        client's packets up to the empty one, then calls
                        result_tracker_infile_done() and goes on */
    RT_BAD,          /* protocol violation: close the backend connection */
};

/* What comes next when a tracker with stop_before_status stopped. */
enum rt_next {
    RT_NEXT_OTHER = 0, /* not stopped for that */
    RT_NEXT_MORE,      /* a packet starts, but its header and first byte are not all there */
    RT_NEXT_OK,        /* an OK packet (0x00, or 0xFE under CLIENT_DEPRECATE_EOF) */
    RT_NEXT_EOF,       /* a classic EOF packet */
};

struct result_tracker {
    /* private framing state */
    uint8_t command;
    uint64_t caps;
    int state;
    uint64_t left;         /* column / param definitions still expected */
    uint8_t hdr[4];
    uint8_t hdr_have;
    uint32_t pkt_len;       /* payload length of the current physical packet */
    uint32_t pkt_remaining; /* its payload bytes not yet consumed */
    bool continuation;      /* current physical packet continues a logical one */
    bool collecting;        /* copying the current packet into prefix */
    bool decided;           /* first payload byte seen and judged */
    uint8_t prefix[RESULT_TRACKER_PREFIX];
    size_t prefix_have;     /* bytes of the kept packet so far; may exceed
                               the prefix (the rest is not copied) */
    bool first_row_seen;    /* want_first_value: the row to read went by */
    bool in_first_row;      /* the current packet is that row (only its start is kept) */

    /* public results, valid once RT_DONE was returned */
    uint8_t last_seq;        /* sequence id of the last packet seen */
    uint16_t status;         /* status flags of the last OK / EOF */
    bool saw_status;
    bool is_error;           /* the response ended with ERR */
    uint16_t err_code;
    char err_sqlstate[6];
    char err_message[256];
    uint64_t affected_rows;  /* from the last OK */
    uint64_t last_insert_id;
    uint16_t warnings;
    uint8_t session_state[512]; /* last OK's session-state block, if it fit */
    size_t session_state_len;
    char gtid[128];          /* the GTID a write reported in any OK of the response (session
                                tracking: last_gtid, or MySQL's GTIDs entry); "" none */
    bool gtid_mysql;         /* gtid is a MySQL GTID set */
    bool gtid_unreadable;    /* some OK's session state could not be read whole */
    char schema[256];        /* the default database an OK reported it changed to */
    bool schema_changed;     /* schema holds one (USE, CREATE DATABASE... ) */
    uint64_t result_sets;    /* result sets (with columns) seen */
    uint64_t rows;           /* rows of those result sets */
    bool ended_with_rows;    /* the last packet ended a result set's rows (an EOF unless
                                CLIENT_DEPRECATE_EOF: no session state in it) */
    uint64_t progress_reports; /* MariaDB progress packets that went by */
    bool cursor_requested;   /* from result_tracker_note_request: the execute asked
                                for a cursor (only then does CURSOR_EXISTS in the
                                EOF after its columns mean "rows come by fetch") */
    bool want_first_value;   /* set after start: capture the first column of the first
                                text row (the proxy's own SELECT MASTER_GTID_WAIT(...)) */
    bool has_first_value;    /* a first row was seen and its first value is not NULL */
    char first_value[64];    /* NUL-terminated, cut to fit */
    bool stop_before_status; /* set after start: consume stops where an OK or EOF packet
                                starts, and says so in next_status (a caller rewrites
                                those for a client without CLIENT_SESSION_TRACK) */
    enum rt_next next_status;
    uint32_t stmt_id;        /* COM_STMT_PREPARE reply */
    uint16_t num_columns;
    uint16_t num_params;
};

/* MariaDB's progress report (sent under MARIADB_CLIENT_PROGRESS while an
 * ALTER TABLE, LOAD DATA... runs): an ERR header with this code, then stage,
 * max stage, progress and a text. It is not the answer; that follows. */
#define PROGRESS_ERR_CODE 0xFFFF
bool packet_is_progress(const uint8_t *payload, size_t len);

/* False for commands the server never answers (COM_QUIT, COM_STMT_CLOSE,
 * COM_STMT_SEND_LONG_DATA). */
bool command_has_response(uint8_t command);

/* Begin tracking the response to command, under negotiated caps. */
void result_tracker_start(struct result_tracker *rt, uint8_t command, uint64_t caps);

/* Tell the tracker what the command asked for, from its payload (command
 * byte first), right after result_tracker_start: whether a COM_STMT_EXECUTE
 * requested a cursor. SERVER_STATUS_CURSOR_EXISTS alone says nothing: a
 * stored procedure's internal cursor leaves it set in the status of the
 * result sets it returns, whose rows follow as usual. */
void result_tracker_note_request(struct result_tracker *rt, const uint8_t *payload, size_t len);

/* Consume up to len bytes of backend output. Returns how many bytes belong
 * to the response (all of them unless it ended earlier) and sets *st. Bytes
 * past the returned count are not part of this response. Once RT_DONE or
 * RT_BAD (or RT_LOCAL_INFILE, until result_tracker_infile_done) was
 * returned, it consumes nothing and returns the same status.
 * An OK packet longer than the prefix still yields its counters and status
 * (session_state_len is then 0). For COM_CHANGE_USER, a reply other than
 * OK/ERR (auth switch, more data) ends the tracked response, no status. */
size_t result_tracker_consume(struct result_tracker *rt, const uint8_t *data, size_t len,
                              enum rt_status *st);

/* Has the tracker stopped inside a packet (its header or payload, or a split
 * packet with parts still to come)? A failure then must not add a packet of
 * its own: it would land inside that one. */
bool result_tracker_inside_packet(const struct result_tracker *rt);

/* After RT_LOCAL_INFILE: the client's data and empty packet were relayed;
 * the server's OK or ERR comes next. */
void result_tracker_infile_done(struct result_tracker *rt);

#endif
