#include "router/statement_digest.h"

#include <string.h>

#include "router/sql_keywords.h"
#include "router/sql_lexer.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* The hash is of the text with words case-folded, so a shape has one number
 * whether or not its text is built. */
static void put_text(struct digest_writer *w, const char *s, size_t n, bool upper, bool fold)
{
    uint64_t h = w->hash;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (fold && (uint8_t)(c - 'a') < 26)
            c = (uint8_t)(c - 'a' + 'A');
        h = (h ^ c) * FNV_PRIME;
    }
    w->hash = h;
    struct digest_text *o = w->out;
    if (!o)
        return;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (o->len + 1 >= DIGEST_TEXT_MAX) {
            o->truncated = true;
            return;
        }
        o->text[o->len++] = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
}

static void put_byte(struct digest_writer *w, char c) { put_text(w, &c, 1, false, false); }

/* What the last word was matters only to a following ( or sign: the hash
 * alone looks its kind up then, and only then. */
static void settle_word(struct digest_writer *w)
{
    if (!w->word_pending)
        return;
    const struct sql_token *t = &w->word;
    enum sql_word_kind k = t->after_dot ? SQL_WORD_NAME : sql_word_kind(t->text, t->len);
    w->operand = k == SQL_WORD_NAME || sql_tok_kw(t, "NULL") || sql_tok_kw(t, "TRUE") ||
                 sql_tok_kw(t, "FALSE");
    w->call = k != SQL_WORD_KEYWORD;
    w->word_pending = false;
}

static bool is_operator_char(char c)
{
    return c == '<' || c == '>' || c == '=' || c == '!' || c == '|' || c == '&';
}

/* One space between tokens, except where SQL is usually written without. */
static void put_gap(struct digest_writer *w, const struct sql_token *t)
{
    bool glue = !w->started || w->glue_next;
    if (t->kind == SQL_TOK_PUNCT && t->len == 1) {
        char c = t->text[0];
        if (c == ',' || c == ')' || c == ';' || c == '.')
            glue = true;
        if (c == '(') {
            settle_word(w);
            glue |= w->call;
        }
        if (is_operator_char(c) && is_operator_char(w->last_punct) && t->text == w->last_end)
            glue = true; /* >= lexes as > and = */
    }
    if (!glue)
        put_byte(w, ' ');
    w->started = true;
}

static void after_token(struct digest_writer *w, const struct sql_token *t, bool operand, bool call)
{
    char c = t->kind == SQL_TOK_PUNCT && t->len == 1 ? t->text[0] : 0;
    w->glue_next = c == '(' || c == '.' || t->kind == SQL_TOK_SYS_VAR;
    w->operand = operand;
    w->call = call;
    w->word_pending = false;
    w->last_punct = c;
    w->last_end = t->text + t->len;
}

/* IN ( literal, literal ... ): each written token moves the list on; at its
 * closing parenthesis the digest goes back to IN and says (...) instead. */
enum { IN_NONE, IN_OPEN, IN_ITEM, IN_NEXT };

static void in_list_start(struct digest_writer *w)
{
    w->in_list = IN_OPEN;
    w->in_hash = w->hash;
    w->in_len = w->out ? w->out->len : 0;
    w->in_truncated = w->out ? w->out->truncated : false;
}

static void in_list_collapse(struct digest_writer *w)
{
    w->hash = w->in_hash;
    if (w->out) {
        w->out->len = w->in_len;
        w->out->truncated = w->in_truncated;
    }
    put_text(w, " (...)", 6, false, false);
    w->operand = true;
    w->call = false;
    w->glue_next = false;
    w->last_punct = 0;
}

/* literal: a literal was written; else c is the punctuation written, or 0. */
static void in_list_step(struct digest_writer *w, bool literal, char c)
{
    switch (w->in_list) {
    case IN_OPEN:
        w->in_list = c == '(' ? IN_ITEM : IN_NONE;
        break;
    case IN_ITEM:
        w->in_list = literal ? IN_NEXT : IN_NONE;
        break;
    case IN_NEXT:
        w->in_list = c == ',' ? IN_ITEM : IN_NONE;
        if (c == ')')
            in_list_collapse(w);
        break;
    default:
        break;
    }
}

static bool starts_with_digit(const struct sql_token *t)
{
    return t->kind == SQL_TOK_WORD && t->len > 0 && t->text[0] >= '0' && t->text[0] <= '9';
}

/* t.5 names a column 5 of t: after a dot, digits are no number. */
static bool is_number(const struct sql_token *t) { return starts_with_digit(t) && !t->after_dot; }

static bool is_value(const struct sql_token *t)
{
    return t->kind == SQL_TOK_STRING || is_number(t) || sql_tok_punct(t, '?');
}

/* first: the literal's first token (a sign, a dot or the value); value:
 * the value when known, a number going on with . and digits (1.5 lexes as
 * 1 . 5). */
static void put_literal(struct digest_writer *w, const struct sql_token *first,
                        const struct sql_token *value)
{
    if (w->started && !w->glue_next)
        put_byte(w, ' ');
    w->started = true;
    put_byte(w, '?');
    after_token(w, first, true, false);
    w->last_punct = 0;
    w->glue_next = false;
    if (value && is_number(value)) {
        w->number_tail = 1;
        w->number_end = value->text + value->len;
    }
    if (w->in_list)
        in_list_step(w, true, 0);
}

static void put_word(struct digest_writer *w, const struct sql_token *t)
{
    put_gap(w, t);
    bool upper = w->out && !t->after_dot && sql_word_kind(t->text, t->len) != SQL_WORD_NAME;
    put_text(w, t->text, t->len, upper, true);
    after_token(w, t, false, false);
    w->word = *t;
    w->word_pending = true;
    if (w->in_list)
        in_list_step(w, false, 0);
    if (t->len == 2 && sql_tok_kw(t, "IN"))
        in_list_start(w);
}

static void put_token(struct digest_writer *w, const struct sql_token *t)
{
    put_gap(w, t);
    switch (t->kind) {
    case SQL_TOK_QUOTED:
        put_byte(w, '`');
        put_text(w, t->text, t->len, false, false);
        put_byte(w, '`');
        after_token(w, t, true, true);
        break;
    case SQL_TOK_SYS_VAR:
        put_text(w, "@@", 2, false, false);
        put_text(w, t->text, t->len, false, true);
        after_token(w, t, true, false);
        w->glue_next = false;
        break;
    case SQL_TOK_USER_VAR:
        put_text(w, t->text, t->len, false, false);
        after_token(w, t, true, false);
        break;
    default:
        put_text(w, t->text, t->len, false, false);
        after_token(w, t, sql_tok_punct(t, ')'), false);
        break;
    }
    if (w->in_list)
        in_list_step(w, false, t->kind == SQL_TOK_PUNCT && t->len == 1 ? t->text[0] : 0);
}

void digest_writer_init(struct digest_writer *w, struct digest_text *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->hash = FNV_OFFSET;
    if (out) {
        out->len = 0;
        out->truncated = false;
    }
}

/* A token with nothing held before it: by kind first, as most are words. */
static void start_token(struct digest_writer *w, const struct sql_token *t)
{
    switch (t->kind) {
    case SQL_TOK_WORD:
        if (is_number(t))
            put_literal(w, t, t);
        else
            put_word(w, t);
        return;
    case SQL_TOK_STRING:
        put_literal(w, t, t);
        return;
    case SQL_TOK_PUNCT: {
        char c = t->len == 1 ? t->text[0] : 0;
        if (c == '?') {
            put_literal(w, t, t);
            return;
        }
        if (c == '-' || c == '+' || c == '.') {
            settle_word(w);
            if (!w->operand) {
                w->held[w->n_held++] = *t;
                return;
            }
        }
        put_token(w, t);
        return;
    }
    default:
        put_token(w, t);
        return;
    }
}

/* Does t complete or extend the literal the held tokens begin (- 5, -.5,
 * .5, - 'x')? */
static bool extends_literal(struct digest_writer *w, const struct sql_token *t)
{
    if (sql_tok_punct(&w->held[w->n_held - 1], '.')) {
        if (!starts_with_digit(t) || !t->after_dot)
            return false;
        put_literal(w, &w->held[0], NULL);
        w->n_held = 0;
        return true;
    }
    if (sql_tok_punct(t, '.')) {
        w->held[w->n_held++] = *t;
        return true;
    }
    if (!is_value(t))
        return false;
    put_literal(w, &w->held[0], t);
    w->n_held = 0;
    return true;
}

/* The first held token starts no literal: it is written as itself. */
static void release_held(struct digest_writer *w)
{
    put_token(w, &w->held[0]);
    w->held[0] = w->held[1];
    w->n_held--;
}

/* After a number: an adjacent dot and the digits after it belong to it. */
static bool number_tail(struct digest_writer *w, const struct sql_token *t)
{
    int tail = w->number_tail;
    w->number_tail = 0;
    if (tail == 1 && sql_tok_punct(t, '.') && t->text == w->number_end) {
        w->number_tail = 2;
        return true;
    }
    return tail == 2 && starts_with_digit(t) && t->after_dot;
}

void digest_writer_feed(struct digest_writer *w, const struct sql_token *t)
{
    if (w->number_tail && number_tail(w, t))
        return;
    while (w->n_held > 0) {
        if (extends_literal(w, t))
            return;
        release_held(w);
    }
    start_token(w, t);
}

uint64_t digest_writer_end(struct digest_writer *w, bool broken)
{
    while (w->n_held > 0)
        release_held(w);
    if (broken)
        w->hash = (w->hash ^ 0xffu) * FNV_PRIME; /* a broken tail is a shape of its own */
    if (w->out) {
        w->out->text[w->out->len] = '\0';
        w->out->hash = w->hash ? w->hash : 1;
    }
    return w->hash ? w->hash : 1; /* 0 marks an empty slot */
}

static uint64_t write_digest(const char *sql, size_t len, struct digest_text *out)
{
    struct digest_writer w;
    struct sql_lexer lx;
    struct sql_token t;
    digest_writer_init(&w, out);
    sql_lexer_init(&lx, sql, len, 0, NULL);
    for (sql_lexer_next(&lx, &t); t.kind != SQL_TOK_EOF && t.kind != SQL_TOK_ERROR;
         sql_lexer_next(&lx, &t))
        digest_writer_feed(&w, &t);
    return digest_writer_end(&w, t.kind == SQL_TOK_ERROR);
}

void statement_digest_text(const char *sql, size_t len, struct digest_text *out)
{
    write_digest(sql, len, out);
}

uint64_t statement_digest(const char *sql, size_t len) { return write_digest(sql, len, NULL); }
static size_t set_of(uint64_t d) { return (size_t)((d ^ (d >> 32)) % DIGEST_MEMORY_SETS); }

bool digest_memory_has(struct digest_memory *m, uint64_t d)
{
    size_t s = set_of(d);
    for (int w = 0; w < DIGEST_MEMORY_WAYS; w++) {
        if (m->key[s][w] == d && d != 0) {
            m->used[s][w] = ++m->tick;
            return true;
        }
    }
    return false;
}

void digest_memory_add(struct digest_memory *m, uint64_t d)
{
    if (d == 0 || digest_memory_has(m, d))
        return;
    size_t s = set_of(d);
    int victim = 0;
    for (int w = 0; w < DIGEST_MEMORY_WAYS; w++) {
        if (m->key[s][w] == 0) {
            victim = w;
            m->count++;
            break;
        }
        if (m->used[s][w] < m->used[s][victim])
            victim = w;
    }
    m->key[s][victim] = d;
    m->used[s][victim] = ++m->tick;
}
