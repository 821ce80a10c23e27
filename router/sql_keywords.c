#include "router/sql_keywords.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* Upper case and sorted case-insensitively: the unit test checks. */
static const char *const keywords[] = {
    "ADD", "ALL", "ALTER", "AND", "ANY", "AS", "ASC", "BEGIN", "BETWEEN", "BINARY", "BY",
    "CALL", "CASE", "COLLATE", "COMMIT", "CREATE", "CROSS", "DATABASE", "DEFAULT", "DELETE",
    "DESC", "DESCRIBE", "DISTINCT", "DO", "DROP", "DUPLICATE", "ELSE", "END", "ESCAPE",
    "EXECUTE", "EXISTS", "EXPLAIN", "FALSE", "FOR", "FORCE", "FROM", "FULL", "GLOBAL", "GROUP",
    "HANDLER", "HAVING", "IGNORE", "IN", "INDEX", "INNER", "INSERT", "INTERVAL", "INTO", "IS",
    "JOIN", "KEY", "KILL", "LEFT", "LIKE", "LIMIT", "LOCK", "MODE", "NATURAL", "NOT", "NULL",
    "OFFSET", "ON", "OR", "ORDER", "OUTER", "PREPARE", "PROCEDURE", "READ", "REGEXP",
    "RELEASE", "RENAME", "REPLACE", "RIGHT", "ROLLBACK", "SAVEPOINT", "SELECT", "SESSION",
    "SET", "SHARE", "SHOW", "START", "STRAIGHT_JOIN", "TABLE", "TABLES", "TEMPORARY", "THEN",
    "TO", "TRANSACTION", "TRUE", "TRUNCATE", "UNION", "UNLOCK", "UPDATE", "USE", "USING",
    "VALUES", "WHEN", "WHERE", "WITH", "WORK", "WRITE", "XA", "XOR",
};

static const char *const functions[] = {
    "ABS", "AVG", "CAST", "CEIL", "CHAR_LENGTH", "COALESCE", "CONCAT", "CONCAT_WS", "CONVERT",
    "COUNT", "CURDATE", "CURRENT_TIMESTAMP", "DATE", "DATE_ADD", "DATE_FORMAT", "DATE_SUB",
    "FLOOR", "FOUND_ROWS", "GET_LOCK", "GREATEST", "GROUP_CONCAT", "IF", "IFNULL", "LAST_INSERT_ID",
    "LEAST", "LENGTH", "LOWER", "MAX", "MD5", "MIN", "NOW", "NULLIF", "RAND", "RELEASE_LOCK",
    "ROUND", "ROW_COUNT", "SLEEP", "SUBSTRING", "SUM", "UNIX_TIMESTAMP", "UPPER", "UUID",
};

const char *const *sql_keyword_list(size_t *n)
{
    *n = sizeof keywords / sizeof keywords[0];
    return keywords;
}

const char *const *sql_function_list(size_t *n)
{
    *n = sizeof functions / sizeof functions[0];
    return functions;
}

/* An open-addressing table over both lists, built once: the digest asks for
 * every word of every statement, so a lookup costs one hash and usually one
 * comparison instead of a binary search of case-insensitive comparisons. */
enum { WORD_MAX = 20, TABLE_SLOTS = 512 };

struct word_slot {
    const char *text; /* upper case, NULL when empty */
    size_t len;
    enum sql_word_kind kind;
};

static struct word_slot table[TABLE_SLOTS];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static unsigned char upper(unsigned char c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

static size_t slot_of(const char *text, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ upper((unsigned char)text[i])) * 16777619u;
    return h & (TABLE_SLOTS - 1);
}

static void put_list(const char *const *list, size_t n, enum sql_word_kind kind)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(list[i]), s = slot_of(list[i], len);
        while (table[s].text)
            s = (s + 1) & (TABLE_SLOTS - 1);
        table[s] = (struct word_slot){list[i], len, kind};
    }
}

static void build_table(void)
{
    _Static_assert(sizeof keywords / sizeof keywords[0] + sizeof functions / sizeof functions[0] <
                       TABLE_SLOTS / 2,
                   "the word table stays at most half full");
    /* keywords first: a word on both lists is found as a keyword */
    put_list(keywords, sizeof keywords / sizeof keywords[0], SQL_WORD_KEYWORD);
    put_list(functions, sizeof functions / sizeof functions[0], SQL_WORD_FUNCTION);
}

static bool same_word(const struct word_slot *e, const char *text, size_t len)
{
    if (e->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (upper((unsigned char)text[i]) != (unsigned char)e->text[i])
            return false;
    return true;
}

enum sql_word_kind sql_word_kind(const char *text, size_t len)
{
    if (len == 0 || len > WORD_MAX)
        return SQL_WORD_NAME;
    pthread_once(&table_once, build_table);
    for (size_t s = slot_of(text, len); table[s].text; s = (s + 1) & (TABLE_SLOTS - 1))
        if (same_word(&table[s], text, len))
            return table[s].kind;
    return SQL_WORD_NAME;
}
