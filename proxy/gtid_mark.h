/* A GTID position that every worker raises and reads without locks: per
 * replication domain, the highest sequence number seen. causal_reads =
 * global keeps one for the whole proxy: every GTID the primary reported in
 * an OK the proxy forwarded, so a read anywhere can wait for all of them. */
#ifndef SY_PROXY_GTID_MARK_H
#define SY_PROXY_GTID_MARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GTID_MARK_DOMAINS 16

struct gtid_mark {
    atomic_uint_fast64_t domain[GTID_MARK_DOMAINS]; /* domain id + 1; 0: slot free */
    atomic_uint_fast64_t seq[GTID_MARK_DOMAINS];
    atomic_uint_fast64_t server[GTID_MARK_DOMAINS]; /* of the GTID that set seq (cosmetic:
                                                       MASTER_GTID_WAIT compares seq) */
    atomic_bool overflow; /* a domain found no slot: the mark cannot name every write */
};

/* Raise the mark to a MariaDB GTID list ("0-1-100,1-2-7"). Returns 0, or -1
 * when the text is malformed (the mark is unchanged) or a domain found no
 * free slot (overflow is set). */
int gtid_mark_raise(struct gtid_mark *m, const char *gtids);

/* The mark as a GTID list for MASTER_GTID_WAIT, NUL-terminated ("" when
 * nothing was seen). Returns its length, or -1 when it does not fit or the
 * mark overflowed. */
int gtid_mark_format(struct gtid_mark *m, char *out, size_t cap);

#endif
