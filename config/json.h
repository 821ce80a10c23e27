/* JSON string escaping for the structured log. Pure: no allocation, no I/O. */
#ifndef SY_CONFIG_JSON_H
#define SY_CONFIG_JSON_H

#include <stddef.h>

/* Writes in as the inside of a JSON string (no quotes) to out, always
 * NUL-terminated when cap > 0: '"' and '\\' are backslash-escaped, control
 * characters become \n, \r, \t or \u00XX, and bytes that are not valid UTF-8
 * become \ufffd, so the result is valid JSON whatever a client sent. When out
 * is too small the text is cut before a whole character or escape, never
 * inside one. Returns the length written, without the NUL. */
size_t json_escape(char *out, size_t cap, const char *in);

#endif
