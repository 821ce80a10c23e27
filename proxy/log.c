#include "proxy/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/json.h"

/* Atomic: a SIGHUP reload changes them while worker threads log. */
static atomic_int min_level = LOG_INFO;
static atomic_int format = LOG_FORMAT_TEXT;

void log_set_level(enum log_level level)
{
    atomic_store_explicit(&min_level, level, memory_order_relaxed);
}

void log_set_format(enum log_format f)
{
    atomic_store_explicit(&format, f, memory_order_relaxed);
}

/* "2026-01-02T03:04:05.678Z" into ts. */
static void timestamp(char *ts, size_t cap)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
}

/* One byte as the text log shows it into esc (room for 4); its length. */
static size_t escape_byte(unsigned char c, char *esc)
{
    static const char hex[] = "0123456789abcdef";
    const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
    if (named) {
        memcpy(esc, named, 2);
        return 2;
    }
    if (c >= 0x20 && c != 0x7f) {
        esc[0] = (char)c;
        return 1;
    }
    esc[0] = '\\';
    esc[1] = 'x';
    esc[2] = hex[c >> 4];
    esc[3] = hex[c & 15];
    return 4;
}

size_t log_escape_controls(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    for (; *in; in++) {
        char esc[4];
        size_t len = escape_byte((unsigned char)*in, esc);
        if (n + len >= cap)
            break;
        memcpy(out + n, esc, len);
        n += len;
    }
    out[n] = '\0';
    return n;
}

/* Formats the whole line first so concurrent threads never interleave. */
void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *text_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    static const char *json_names[] = {"debug", "info", "warn", "error"};
    if ((int)level < atomic_load_explicit(&min_level, memory_order_relaxed))
        return;
    char ts[64], msg[1024]; /* ts: room for any int year, to please -Wformat-truncation */
    timestamp(ts, sizeof ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (atomic_load_explicit(&format, memory_order_relaxed) == LOG_FORMAT_JSON) {
        char esc[4096]; /* escapes grow text up to 6x; a long message is cut, still valid */
        json_escape(esc, sizeof esc, msg);
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", ts, json_names[level],
                esc);
    } else {
        char esc[4 * sizeof msg]; /* \xNN is the longest escape */
        log_escape_controls(esc, sizeof esc, msg);
        fprintf(stderr, "%s %-5s %s\n", ts, text_names[level], esc);
    }
}
