/* Which words of SQL are keywords or built-in functions, for showing a
 * statement's digest in one case. Pure. */
#ifndef SY_ROUTER_SQL_KEYWORDS_H
#define SY_ROUTER_SQL_KEYWORDS_H

#include <stdbool.h>
#include <stddef.h>

enum sql_word_kind {
    SQL_WORD_NAME,     /* not a keyword: an identifier as far as the digest cares */
    SQL_WORD_KEYWORD,  /* SELECT, FROM, IN ...: written apart from a following ( */
    SQL_WORD_FUNCTION, /* COUNT, NOW ...: written against its ( */
};

/* Case-insensitive; text need not be NUL-terminated. */
enum sql_word_kind sql_word_kind(const char *text, size_t len);

/* The lists behind it, upper-case and sorted (for the unit test). */
const char *const *sql_keyword_list(size_t *n);
const char *const *sql_function_list(size_t *n);

#endif
