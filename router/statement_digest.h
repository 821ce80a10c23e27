/* A statement's shape as a 64-bit number, and a bounded set of such numbers.
 * Two statements that differ only in literals, whitespace, comments or
 * keyword case have the same digest: the proxy remembers shapes (a stored
 * function that writes, called with any argument), not texts. Pure. */
#ifndef SY_ROUTER_STATEMENT_DIGEST_H
#define SY_ROUTER_STATEMENT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FNV-1a over the tokens: words upper-cased, numbers and strings as '?'. */
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
