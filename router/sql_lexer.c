/* SQL lexer for the classifier. See sql_lexer.h. */
#include "router/sql_lexer.h"

#include "router/classify.h"

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Whitespace between tokens as the server sees it in the connection's
 * character set: latin1 and others also skip 0xA0 (or 0xFF). */
static bool lx_space(const struct sql_lexer *lx, unsigned char c)
{
    return is_space(c) || (c >= 0x80 && c == lx->cs->high_space);
}

/* Bytes of the character at i: a multi-byte character is never split, so
 * its second byte is never read as '\\', a quote or a backtick. */
static size_t char_len(const struct sql_lexer *lx, size_t i)
{
    if ((unsigned char)lx->sql[i] < 0x80)
        return 1;
    return sql_charset_char_len(lx->cs, (const unsigned char *)lx->sql + i, lx->len - i);
}

/* Identifier characters; bytes >= 0x80 are multi-byte UTF-8 letters (or
 * garbage, which is harmless to treat the same way). */
static bool is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || c >= 0x80;
}

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

bool sql_text_eq(const char *text, size_t len, const char *word)
{
    size_t i = 0;
    for (; i < len; i++) {
        if (word[i] == '\0' || upper(text[i]) != word[i])
            return false;
    }
    return word[i] == '\0';
}

bool sql_tok_kw(const struct sql_token *t, const char *kw)
{
    return t->kind == SQL_TOK_WORD && !t->after_dot && sql_text_eq(t->text, t->len, kw);
}

static void trim(const char **p, size_t *n)
{
    while (*n > 0 && is_space((unsigned char)**p)) {
        (*p)++;
        (*n)--;
    }
    while (*n > 0 && is_space((unsigned char)(*p)[*n - 1]))
        (*n)--;
}

/* Consume the word `w` (upper case) at the front of p/n, case-insensitively. */
static bool eat_word(const char **p, size_t *n, const char *w)
{
    size_t i = 0;
    for (; w[i] != '\0'; i++) {
        if (i >= *n || upper((*p)[i]) != w[i])
            return false;
    }
    *p += i;
    *n -= i;
    return true;
}

uint32_t sql_hint_of(const char *text, size_t len)
{
    const char *p = text;
    size_t n = len;
    trim(&p, &n);
    if (!eat_word(&p, &n, "ROUTE"))
        return 0;
    trim(&p, &n);
    if (n == 0 || *p != '=')
        return 0;
    p++;
    n--;
    trim(&p, &n);
    if (sql_text_eq(p, n, "PRIMARY"))
        return CLS_HINT_PRIMARY;
    if (sql_text_eq(p, n, "REPLICA"))
        return CLS_HINT_REPLICA;
    return 0;
}

void sql_lexer_init(struct sql_lexer *lx, const char *sql, size_t len, unsigned mode,
                    const struct sql_charset *cs)
{
    lx->cs = cs ? cs : sql_charset_default();
    lx->sql = sql ? sql : ""; /* no arithmetic on a NULL pointer */
    lx->len = sql ? len : 0;
    lx->pos = 0;
    lx->mode = mode;
    lx->in_exec_comment = false;
    lx->last_was_dot = false;
    lx->last_end = 0;
    lx->ambiguity = 0;
    lx->hints = 0;
}

static bool at(const struct sql_lexer *lx, size_t i, char c)
{
    return i < lx->len && lx->sql[i] == c;
}

/* Skip a line comment starting at pos whose content starts at `from`. Inside
 * an executable comment, whether a line comment swallows the closing star-slash
 * is server-specific: refuse to guess. */
static bool skip_line_comment(struct sql_lexer *lx, size_t from)
{
    if (lx->in_exec_comment)
        return false;
    size_t end = from;
    while (end < lx->len && lx->sql[end] != '\n')
        end++;
    lx->hints |= sql_hint_of(lx->sql + from, end - from);
    lx->pos = end;
    return true;
}

/* Skip a slash-star comment at pos. A plain comment is skipped (and checked
 * for a hint); an executable one is entered so its content is lexed. */
static bool skip_block_comment(struct sql_lexer *lx)
{
    size_t p = lx->pos + 2;
    bool exec = at(lx, p, '!');
    bool mariadb = at(lx, p, 'M') && at(lx, p + 1, '!');
    if (lx->in_exec_comment)
        return false; /* nesting: the servers disagree, so do not guess */
    if (exec || mariadb) {
        p += mariadb ? 2 : 1;
        size_t digits = p;
        while (p < lx->len && lx->sql[p] >= '0' && lx->sql[p] <= '9')
            p++;
        bool conditional = mariadb || p > digits;
        if (conditional)
            lx->ambiguity |= SQL_AMB_EXEC;
        if (!conditional || !(lx->mode & SQL_LEX_EXEC_COMMENT)) {
            lx->in_exec_comment = true;
            lx->pos = p;
            return true;
        }
    }
    for (size_t i = lx->pos + 2; i + 1 < lx->len; i++) {
        if (lx->sql[i] == '*' && lx->sql[i + 1] == '/') {
            if (!exec && !mariadb)
                lx->hints |= sql_hint_of(lx->sql + lx->pos + 2, i - lx->pos - 2);
            lx->pos = i + 2;
            return true;
        }
    }
    return false; /* unterminated */
}

/* Skip whitespace and comments. False on a lexing error. */
static bool skip_gap(struct sql_lexer *lx)
{
    while (lx->pos < lx->len) {
        unsigned char c = (unsigned char)lx->sql[lx->pos];
        size_t p = lx->pos;
        if (lx_space(lx, c)) {
            lx->pos++;
        } else if (lx->in_exec_comment && c == '*' && at(lx, p + 1, '/')) {
            lx->in_exec_comment = false;
            lx->pos += 2;
        } else if (c == '/' && at(lx, p + 1, '*')) {
            if (!skip_block_comment(lx))
                return false;
        } else if (c == '#') {
            if (!skip_line_comment(lx, p + 1))
                return false;
        } else if (c == '-' && at(lx, p + 1, '-') &&
                   (p + 2 >= lx->len || (unsigned char)lx->sql[p + 2] <= ' ' ||
                    lx_space(lx, (unsigned char)lx->sql[p + 2]))) {
            if (!skip_line_comment(lx, p + 2))
                return false;
        } else {
            return true;
        }
    }
    return !lx->in_exec_comment;
}

/* Scan a quoted run starting at the opening quote; returns the index of the
 * closing quote or len if unterminated. Doubled quotes continue the run;
 * backslash escapes apply to strings unless NO_BACKSLASH_ESCAPES is assumed. */
static size_t scan_quoted(struct sql_lexer *lx, size_t open, bool backslash)
{
    char q = lx->sql[open];
    size_t i = open + 1;
    while (i < lx->len) {
        char c = lx->sql[i];
        if (c == '\\' && backslash) {
            if (at(lx, i + 1, q))
                lx->ambiguity |= SQL_AMB_BACKSLASH;
            i += 2;
        } else if (c == q) {
            if (!at(lx, i + 1, q))
                return i;
            i += 2;
        } else {
            i += char_len(lx, i);
        }
    }
    return lx->len;
}

static void set_tok(struct sql_token *t, enum sql_tok_kind k, const char *text, size_t len)
{
    t->kind = k;
    t->text = text;
    t->len = len;
    t->quote = 0;
    t->after_dot = false;
}

static void lex_quoted(struct sql_lexer *lx, struct sql_token *t)
{
    size_t open = lx->pos;
    char q = lx->sql[open];
    bool backslash = q != '`' && !(lx->mode & SQL_LEX_NO_BACKSLASH);
    size_t close = scan_quoted(lx, open, backslash);
    if (close >= lx->len) {
        set_tok(t, SQL_TOK_ERROR, lx->sql + open, lx->len - open);
        return;
    }
    set_tok(t, q == '`' ? SQL_TOK_QUOTED : SQL_TOK_STRING, lx->sql + open + 1, close - open - 1);
    t->quote = q;
    lx->pos = close + 1;
}

static bool lx_word(const struct sql_lexer *lx, unsigned char c)
{
    return is_word(c) && !lx_space(lx, c);
}

static size_t word_end(const struct sql_lexer *lx, size_t p, bool dots)
{
    while (p < lx->len && (lx_word(lx, (unsigned char)lx->sql[p]) || (dots && lx->sql[p] == '.')))
        p += char_len(lx, p);
    return p;
}

/* @@name or @@scope.name, @name, @'name', @"name", @`name`. */
static void lex_variable(struct sql_lexer *lx, struct sql_token *t)
{
    size_t p = lx->pos;
    if (at(lx, p + 1, '@')) {
        size_t end = word_end(lx, p + 2, false);
        if (at(lx, end, '.') && end + 1 < lx->len && lx_word(lx, (unsigned char)lx->sql[end + 1]))
            end = word_end(lx, end + 1, false);
        set_tok(t, SQL_TOK_SYS_VAR, lx->sql + p + 2, end - p - 2);
        lx->pos = end;
        return;
    }
    if (at(lx, p + 1, '\'') || at(lx, p + 1, '"') || at(lx, p + 1, '`')) {
        lx->pos = p + 1;
        lex_quoted(lx, t);
        if (t->kind != SQL_TOK_ERROR)
            set_tok(t, SQL_TOK_USER_VAR, lx->sql + p, lx->pos - p);
        return;
    }
    size_t end = word_end(lx, p + 1, true);
    set_tok(t, end > p + 1 ? SQL_TOK_USER_VAR : SQL_TOK_PUNCT, lx->sql + p, end - p);
    lx->pos = end;
}

static void lex_token(struct sql_lexer *lx, struct sql_token *t)
{
    size_t p = lx->pos;
    unsigned char c = (unsigned char)lx->sql[p];
    if (c == '\'' || c == '"' || c == '`') {
        lex_quoted(lx, t);
    } else if (c == '@') {
        lex_variable(lx, t);
    } else if (lx_word(lx, c)) {
        size_t end = word_end(lx, p, false);
        set_tok(t, SQL_TOK_WORD, lx->sql + p, end - p);
        t->after_dot = lx->last_was_dot && lx->last_end == p;
        lx->pos = end;
    } else if (c == '\0') {
        /* Servers differ on whether NUL ends the text: do not guess. */
        set_tok(t, SQL_TOK_ERROR, lx->sql + p, 1);
    } else if (c == ':' && at(lx, p + 1, '=')) {
        set_tok(t, SQL_TOK_PUNCT, lx->sql + p, 2);
        lx->pos = p + 2;
    } else {
        set_tok(t, SQL_TOK_PUNCT, lx->sql + p, 1);
        lx->pos = p + 1;
    }
}

void sql_lexer_next(struct sql_lexer *lx, struct sql_token *t)
{
    if (!skip_gap(lx)) {
        set_tok(t, SQL_TOK_ERROR, lx->sql + lx->pos, 0);
        return;
    }
    if (lx->pos >= lx->len) {
        set_tok(t, SQL_TOK_EOF, lx->sql + lx->pos, 0);
        return;
    }
    lex_token(lx, t);
    lx->last_was_dot = sql_tok_punct(t, '.');
    lx->last_end = lx->pos;
}
