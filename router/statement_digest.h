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

#include "router/sql_lexer.h"

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

/* The same digest built from tokens fed one at a time, so that a pass that
 * lexes the statement anyway (the classifier's) yields it without a second
 * lexing. A token that may start a literal (a sign, a dot) is held until the
 * next one says; an IN list is written as it comes and taken back at its
 * closing parenthesis. The fields are the writer's own. */
struct digest_writer {
    struct digest_text *out; /* NULL: the hash alone */
    uint64_t hash;
    bool started;
    bool glue_next;    /* the last token was ( . or @@: no space after it */
    bool operand;      /* the last token was a value: a following - or + is binary */
    bool call;         /* the last token was a name or function: ( follows without a space */
    char last_punct;   /* the last token, when a one-character punctuation */
    const char *last_end; /* where that token ended in the statement */
    struct sql_token word; /* the last token, a word whose kind is not known yet */
    bool word_pending;
    struct sql_token held[2]; /* a sign and/or a dot that may start a literal */
    int n_held;
    int number_tail;          /* after a number: 1 a dot may follow, 2 digits may */
    const char *number_end;
    int in_list;              /* after IN: 1 wants (, 2 a literal, 3 a comma or ) */
    uint64_t in_hash;         /* the digest up to IN, to go back to */
    size_t in_len;
    bool in_truncated;
};

void digest_writer_init(struct digest_writer *w, struct digest_text *out);
/* t: a token of the statement, in order; not EOF or ERROR. */
void digest_writer_feed(struct digest_writer *w, const struct sql_token *t);
/* The digest's number (never 0); broken: lexing stopped at an error. */
uint64_t digest_writer_end(struct digest_writer *w, bool broken);

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
