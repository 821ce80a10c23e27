#include "router/statement_digest.h"

#include <string.h>

#include "router/sql_keywords.h"
#include "router/sql_lexer.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* Builds the text (when out is set) and hashes it, words case-folded. */
struct digest_writer {
    struct digest_text *out;
    uint64_t hash;
    bool started;
    bool glue_next;    /* the last token was ( . or @@: no space after it */
    bool operand;      /* the last token was a value: a following - or + is binary */
    bool call;         /* the last token was a name or function: ( follows without a space */
    char last_punct;   /* the last token, when a one-character punctuation */
    const char *last_end; /* where that token ended in the statement */
};

static void put_byte(struct digest_writer *w, char c, bool fold)
{
    uint8_t h = (uint8_t)c;
    if (fold && h >= 'a' && h <= 'z')
        h = (uint8_t)(h - 'a' + 'A');
    w->hash = (w->hash ^ h) * FNV_PRIME;
    struct digest_text *o = w->out;
    if (!o)
        return;
    if (o->len + 1 < DIGEST_TEXT_MAX)
        o->text[o->len++] = c;
    else
        o->truncated = true;
}

static void put_text(struct digest_writer *w, const char *s, size_t n, bool upper, bool fold)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        put_byte(w, c, fold);
    }
}

static bool is_operator_char(char c) { return c && strchr("<>=!|&", c) != NULL; }

/* One space between tokens, except where SQL is usually written without. */
static void put_gap(struct digest_writer *w, const struct sql_token *t)
{
    bool glue = !w->started || w->glue_next;
    if (t->kind == SQL_TOK_PUNCT && t->len == 1) {
        char c = t->text[0];
        if (c == ',' || c == ')' || c == ';' || c == '.')
            glue = true;
        if (c == '(' && w->call)
            glue = true;
        if (is_operator_char(c) && is_operator_char(w->last_punct) && t->text == w->last_end)
            glue = true; /* >= lexes as > and = */
    }
    if (!glue)
        put_byte(w, ' ', false);
    w->started = true;
}

static void after_token(struct digest_writer *w, const struct sql_token *t, bool operand, bool call)
{
    char c = t->kind == SQL_TOK_PUNCT && t->len == 1 ? t->text[0] : 0;
    w->glue_next = c == '(' || c == '.' || t->kind == SQL_TOK_SYS_VAR;
    w->operand = operand;
    w->call = call;
    w->last_punct = c;
    w->last_end = t->text + t->len;
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

/* t starts a literal: consume what belongs to it (1.5 lexes as 1 . 5, .5
 * as . 5, and a sign may precede). False, and lx untouched, if it is no
 * literal. */
static bool take_literal(struct sql_lexer *lx, const struct sql_token *t)
{
    struct sql_lexer peek = *lx;
    struct sql_token v = *t;
    if (sql_tok_punct(&v, '-') || sql_tok_punct(&v, '+'))
        sql_lexer_next(&peek, &v);
    if (sql_tok_punct(&v, '.')) {
        sql_lexer_next(&peek, &v);
        if (!starts_with_digit(&v) || !v.after_dot)
            return false;
        *lx = peek;
        return true;
    }
    if (!is_value(&v))
        return false;
    *lx = peek;
    if (!is_number(&v))
        return true;
    struct sql_token dot, frac;
    sql_lexer_next(&peek, &dot);
    if (!sql_tok_punct(&dot, '.') || dot.text != v.text + v.len)
        return true;
    *lx = peek;
    sql_lexer_next(&peek, &frac);
    if (starts_with_digit(&frac) && frac.after_dot)
        *lx = peek;
    return true;
}

/* After IN: ( literal, literal ... ) is consumed whole. */
static bool take_in_list(struct sql_lexer *lx)
{
    struct sql_lexer peek = *lx;
    struct sql_token t;
    sql_lexer_next(&peek, &t);
    if (!sql_tok_punct(&t, '('))
        return false;
    for (;;) {
        sql_lexer_next(&peek, &t);
        if (!take_literal(&peek, &t))
            return false;
        sql_lexer_next(&peek, &t);
        if (sql_tok_punct(&t, ')'))
            break;
        if (!sql_tok_punct(&t, ','))
            return false;
    }
    *lx = peek;
    return true;
}

static void put_literal(struct digest_writer *w, const struct sql_token *t)
{
    if (w->started && !w->glue_next)
        put_byte(w, ' ', false);
    w->started = true;
    put_byte(w, '?', false);
    after_token(w, t, true, false);
    w->last_punct = 0;
}

static void put_word(struct digest_writer *w, struct sql_lexer *lx, const struct sql_token *t)
{
    enum sql_word_kind k = t->after_dot ? SQL_WORD_NAME : sql_word_kind(t->text, t->len);
    put_gap(w, t);
    put_text(w, t->text, t->len, k != SQL_WORD_NAME, true);
    bool value = k == SQL_WORD_NAME || sql_tok_kw(t, "NULL") || sql_tok_kw(t, "TRUE") ||
                 sql_tok_kw(t, "FALSE");
    after_token(w, t, value, k != SQL_WORD_KEYWORD);
    if (sql_tok_kw(t, "IN") && take_in_list(lx)) {
        put_text(w, " (...)", 6, false, false);
        w->operand = true;
        w->call = false;
        w->glue_next = false;
        w->last_punct = 0;
    }
}

static void put_token(struct digest_writer *w, const struct sql_token *t)
{
    put_gap(w, t);
    switch (t->kind) {
    case SQL_TOK_QUOTED:
        put_byte(w, '`', false);
        put_text(w, t->text, t->len, false, false);
        put_byte(w, '`', false);
        after_token(w, t, true, true);
        return;
    case SQL_TOK_SYS_VAR:
        put_text(w, "@@", 2, false, false);
        put_text(w, t->text, t->len, false, true);
        after_token(w, t, true, false);
        w->glue_next = false;
        return;
    case SQL_TOK_USER_VAR:
        put_text(w, t->text, t->len, false, false);
        after_token(w, t, true, false);
        return;
    default:
        put_text(w, t->text, t->len, false, false);
        after_token(w, t, sql_tok_punct(t, ')'), false);
        return;
    }
}

static uint64_t write_digest(const char *sql, size_t len, struct digest_text *out)
{
    struct digest_writer w = {.out = out, .hash = FNV_OFFSET};
    struct sql_lexer lx;
    struct sql_token t;
    if (out) {
        out->len = 0;
        out->truncated = false;
    }
    sql_lexer_init(&lx, sql, len, 0, NULL);
    for (;;) {
        sql_lexer_next(&lx, &t);
        if (t.kind == SQL_TOK_EOF || t.kind == SQL_TOK_ERROR)
            break;
        bool sign = sql_tok_punct(&t, '-') || sql_tok_punct(&t, '+') || sql_tok_punct(&t, '.');
        if ((!sign || !w.operand) && take_literal(&lx, &t))
            put_literal(&w, &t);
        else if (t.kind == SQL_TOK_WORD)
            put_word(&w, &lx, &t);
        else
            put_token(&w, &t);
    }
    if (t.kind == SQL_TOK_ERROR)
        w.hash = (w.hash ^ 0xffu) * FNV_PRIME; /* a broken tail is a shape of its own */
    if (out)
        out->text[out->len] = '\0';
    return w.hash ? w.hash : 1; /* 0 marks an empty slot */
}

void statement_digest_text(const char *sql, size_t len, struct digest_text *out)
{
    out->hash = write_digest(sql, len, out);
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
