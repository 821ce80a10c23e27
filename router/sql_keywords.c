#include "router/sql_keywords.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Sorted case-insensitively (bsearch): the unit test checks. */
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

struct word_key {
    const char *text;
    size_t len;
};

static int compare_word(const void *key, const void *entry)
{
    const struct word_key *k = key;
    const char *e = *(const char *const *)entry;
    int c = strncasecmp(k->text, e, k->len);
    if (c != 0)
        return c;
    return e[k->len] == '\0' ? 0 : -1;
}

static bool listed(const char *const *list, size_t n, const char *text, size_t len)
{
    struct word_key k = {text, len};
    return bsearch(&k, list, n, sizeof list[0], compare_word) != NULL;
}

enum sql_word_kind sql_word_kind(const char *text, size_t len)
{
    if (len == 0 || len > 20)
        return SQL_WORD_NAME;
    size_t n;
    const char *const *list = sql_keyword_list(&n);
    if (listed(list, n, text, len))
        return SQL_WORD_KEYWORD;
    list = sql_function_list(&n);
    return listed(list, n, text, len) ? SQL_WORD_FUNCTION : SQL_WORD_NAME;
}
