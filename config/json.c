#include "config/json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (2 to 4), or 0 if s does not start
 * one. Overlong forms, surrogates and code points above U+10FFFF are invalid
 * (RFC 3629): the second byte's range depends on the first. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) /* stops at the NUL: it is no continuation byte */
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* The escaped form of the character at s into buf; *used = bytes of s. */
static size_t escape_one(const unsigned char *s, char buf[8], size_t *used)
{
    unsigned char c = *s;
    *used = 1;
    if (c == '"' || c == '\\')
        return (size_t)snprintf(buf, 8, "\\%c", c);
    if (c == '\n')
        return (size_t)snprintf(buf, 8, "\\n");
    if (c == '\r')
        return (size_t)snprintf(buf, 8, "\\r");
    if (c == '\t')
        return (size_t)snprintf(buf, 8, "\\t");
    if (c < 0x20)
        return (size_t)snprintf(buf, 8, "\\u%04x", c);
    if (c < 0x80) {
        buf[0] = (char)c;
        return 1;
    }
    size_t n = utf8_len(s);
    if (n == 0)
        return (size_t)snprintf(buf, 8, "\\ufffd");
    memcpy(buf, s, n);
    *used = n;
    return n;
}

size_t json_escape(char *out, size_t cap, const char *in)
{
    if (cap == 0)
        return 0;
    const unsigned char *s = (const unsigned char *)in;
    size_t len = 0;
    while (*s) {
        char buf[8];
        size_t used, n = escape_one(s, buf, &used);
        if (len + n >= cap)
            break; /* no room for this character and the NUL */
        memcpy(out + len, buf, n);
        len += n;
        s += used;
    }
    out[len] = '\0';
    return len;
}
