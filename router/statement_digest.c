#include "router/statement_digest.h"

#include "router/sql_lexer.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t mix_byte(uint64_t h, uint8_t b) { return (h ^ b) * FNV_PRIME; }

static bool is_number(const struct sql_token *t)
{
    return t->kind == SQL_TOK_WORD && t->len > 0 && t->text[0] >= '0' && t->text[0] <= '9';
}

uint64_t statement_digest(const char *sql, size_t len)
{
    struct sql_lexer lx;
    struct sql_token t;
    uint64_t h = FNV_OFFSET;
    sql_lexer_init(&lx, sql, len, 0, NULL);
    for (;;) {
        sql_lexer_next(&lx, &t);
        if (t.kind == SQL_TOK_EOF || t.kind == SQL_TOK_ERROR)
            break;
        h = mix_byte(h, (uint8_t)t.kind);
        if (t.kind == SQL_TOK_STRING || is_number(&t)) {
            h = mix_byte(h, '?');
            continue;
        }
        for (size_t i = 0; i < t.len; i++) {
            uint8_t c = (uint8_t)t.text[i];
            if (t.kind == SQL_TOK_WORD && c >= 'a' && c <= 'z')
                c = (uint8_t)(c - 'a' + 'A');
            h = mix_byte(h, c);
        }
    }
    h = mix_byte(h, (uint8_t)t.kind); /* a broken tail is a shape of its own */
    return h ? h : 1;                 /* 0 marks an empty slot */
}

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
