/* Logging to stderr: one line per event with a UTC timestamp and a level,
 * as text or as one JSON object per line ([log] format). Thread-safe (one
 * fprintf per line). Never pass a password to it. Messages may carry what
 * clients sent (user names, statements): both formats escape control
 * characters, so no message can make two lines. */
#ifndef SY_PROXY_LOG_H
#define SY_PROXY_LOG_H

#include "config/config.h" /* enum log_format */

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies in to out with control characters (bytes below 0x20 and 0x7f)
 * escaped as \n, \r, \t or \xNN, always NUL-terminated when cap > 0; a
 * text cut short ends before an escape, never inside one. Returns the
 * length written. Pure: the text log's line writer. */
size_t log_escape_controls(char *out, size_t cap, const char *in);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
