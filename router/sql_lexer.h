/* A MySQL/MariaDB-flavoured SQL lexer for the classifier: one forward pass,
 * tokens point into the caller's text (nothing is copied or allocated).
 * Comments are skipped (and inspected for route hints); the content of
 * executable comments (slash-star-bang, slash-star-M-bang) is lexed as code. */
#ifndef SY_ROUTER_SQL_LEXER_H
#define SY_ROUTER_SQL_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/sql_charset.h"

enum sql_tok_kind {
    SQL_TOK_EOF,
    SQL_TOK_WORD,     /* keyword, identifier or number */
    SQL_TOK_QUOTED,   /* `identifier` (text excludes the backticks) */
    SQL_TOK_STRING,   /* '...' or "..." (text excludes the quotes) */
    SQL_TOK_USER_VAR, /* @name, @'name' (text includes the @) */
    SQL_TOK_SYS_VAR,  /* @@name, @@scope.name (text excludes the @@) */
    SQL_TOK_PUNCT,    /* one character, or ":=" */
    SQL_TOK_ERROR,    /* unterminated string/comment, NUL byte, nesting */
};

struct sql_token {
    enum sql_tok_kind kind;
    const char *text;
    size_t len;
    char quote;     /* SQL_TOK_STRING: ' or " */
    bool after_dot; /* word glued to a preceding '.': an identifier, never a keyword */
};

/* Lexing modes: the same bytes mean different things under some server
 * settings, so the classifier may lex a text more than once. */
#define SQL_LEX_NO_BACKSLASH 0x1u   /* sql_mode NO_BACKSLASH_ESCAPES */
#define SQL_LEX_EXEC_COMMENT 0x2u   /* versioned / M! comments are NOT executed */

/* What the lexer saw whose meaning depends on a mode above. */
#define SQL_AMB_BACKSLASH 0x1u  /* a backslash escaped a closing quote */
#define SQL_AMB_EXEC 0x2u       /* a versioned or M! executable comment */

struct sql_lexer {
    const struct sql_charset *cs; /* how bytes >= 0x80 split tokens */
    const char *sql;
    size_t len;
    size_t pos;
    unsigned mode;
    bool in_exec_comment;
    bool last_was_dot;   /* previous token was '.' ending at pos */
    size_t last_end;
    unsigned ambiguity;  /* SQL_AMB_* */
    uint32_t hints;      /* CLS_HINT_* found in regular comments */
};

/* cs NULL: sql_charset_default(). */
void sql_lexer_init(struct sql_lexer *lx, const char *sql, size_t len, unsigned mode,
                    const struct sql_charset *cs);
void sql_lexer_next(struct sql_lexer *lx, struct sql_token *tok);

/* Case-insensitive match of a token's text against an upper-case ASCII word. */
bool sql_text_eq(const char *text, size_t len, const char *word);
/* Keyword test: a WORD token not glued to a '.' that equals kw. */
bool sql_tok_kw(const struct sql_token *t, const char *kw);

/* Inline: the classifier and the digest ask it of nearly every token. */
static inline bool sql_tok_punct(const struct sql_token *t, char c)
{
    return t->kind == SQL_TOK_PUNCT && t->len == 1 && t->text[0] == c;
}

/* Route hint in a comment's content: CLS_HINT_PRIMARY, CLS_HINT_REPLICA or 0. */
uint32_t sql_hint_of(const char *text, size_t len);

#endif
