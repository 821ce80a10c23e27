/* A statement's shape: its digest text and a 64-bit number for it.
 * Two statements that differ only in literals, whitespace, comments,
 * keyword case or the length of an IN list of literals have the same
 * digest: the proxy remembers shapes (a stored function that writes, called
 * with any argument), not texts, and never keeps a literal. Pure. */
#ifndef SY_ROUTER_STATEMENT_DIGEST_H
#define SY_ROUTER_STATEMENT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_TEXT_MAX 1024 /* bytes of digest text kept, NUL included */

/* The normalised text: literals as ?, IN lists of literals as IN (...),
 * comments dropped, one space between tokens, keywords upper-case. */
struct digest_text {
    uint64_t hash;  /* of the whole normalised text, words case-folded; never 0 */
    size_t len;     /* of text, without the NUL */
    bool truncated; /* text holds only the start (the hash covers it all) */
    char text[DIGEST_TEXT_MAX];
};

void statement_digest_text(const char *sql, size_t len, struct digest_text *out);

/* The hash alone (what statement_digest_text puts in .hash). */
uint64_t statement_digest(const char *sql, size_t len);

#define DIGEST_MEMORY_SETS 256
#define DIGEST_MEMORY_WAYS 4 /* 1024 digests in all */

/* Set-associative, least recently used way evicted: a lookup costs four
 * comparisons, and the memory never grows. */
struct digest_memory {
    uint64_t key[DIGEST_MEMORY_SETS][DIGEST_MEMORY_WAYS]; /* 0: empty */
    uint64_t used[DIGEST_MEMORY_SETS][DIGEST_MEMORY_WAYS]; /* tick of the last use */
    uint64_t tick;
    size_t count;
};

/* Is d remembered? Counts as a use. */
bool digest_memory_has(struct digest_memory *m, uint64_t d);
/* Remember d, forgetting the least recently used digest of its set if full. */
void digest_memory_add(struct digest_memory *m, uint64_t d);

#endif
