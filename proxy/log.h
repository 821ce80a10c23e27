/* Logging to stderr: one line per event with a UTC timestamp and a level,
 * as text or as one JSON object per line ([log] format). Thread-safe (one
 * fprintf per line). Never pass a password to it. */
#ifndef SY_PROXY_LOG_H
#define SY_PROXY_LOG_H

#include "config/config.h" /* enum log_format */

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
