/* How the server splits statement text into tokens depends on the
 * connection's character set (character_set_client): which bytes above 0x7F
 * are whitespace, and which byte pairs form one multi-byte character (whose
 * second byte may be '\\' or '`'). This names the character sets the lexer
 * knows; an unknown one is NULL, and the classifier then reads nothing. */
#ifndef SY_ROUTER_SQL_CHARSET_H
#define SY_ROUTER_SQL_CHARSET_H

#include <stddef.h>

/* Byte pairs that form one character (first byte ranges / second byte ranges
 * as the server's ctype-*.c define them). Character sets whose multi-byte
 * characters contain no byte below 0x80 (utf8mb3/utf8mb4, ujis, eucjpms,
 * gb2312) lex like single-byte ones. */
enum sql_mb_kind { SQL_MB_NONE, SQL_MB_GBK, SQL_MB_BIG5, SQL_MB_SJIS, SQL_MB_EUCKR };

struct sql_charset {
    const char *name;
    enum sql_mb_kind mb;
    unsigned char high_space; /* a byte >= 0x80 the server skips as whitespace, or 0 */
};

/* By collation id (handshake, COM_CHANGE_USER). NULL when unknown, or for
 * character sets a client cannot send statements in (ucs2, utf16, utf32). */
const struct sql_charset *sql_charset_by_collation(unsigned id);
/* The character set name when collation id belongs to one the server refuses
 * as character_set_client (ucs2, utf16, utf16le, utf32: error 1231 at
 * connect and on COM_CHANGE_USER), else NULL. */
const char *sql_charset_refused_for_client(unsigned id);
/* By name as in SET NAMES (case-insensitive; "utf8" is utf8mb3). */
const struct sql_charset *sql_charset_by_name(const char *name, size_t len);
/* The lexing of ASCII-compatible text with no special byte: utf8mb4. */
const struct sql_charset *sql_charset_default(void);
/* Length of the character at p (1 unless a valid multi-byte one starts there). */
size_t sql_charset_char_len(const struct sql_charset *cs, const unsigned char *p, size_t avail);

#endif
