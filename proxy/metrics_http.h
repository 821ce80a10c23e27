/* HTTP/1.1 on [admin] http_listen: GET /metrics (Prometheus text format
 * 0.0.4) and GET /health, one request per connection. The parsing and the
 * page bodies are pure functions over an admin snapshot (tested in
 * test/unit/proxy_admin); the server part runs on the admin loop. */
#ifndef SY_PROXY_METRICS_HTTP_H
#define SY_PROXY_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proxy/admin_commands.h"

/* A growing text buffer; failed is set (and the text unusable) when memory
 * ran out. */
struct text_buf {
    char *p;
    size_t len, cap;
    bool failed;
};
void text_printf(struct text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_free(struct text_buf *b);
/* A Prometheus label value, escaped as the format requires (no quotes). */
void text_label(struct text_buf *b, const char *v);

/* The whole /metrics page. */
void metrics_format(struct text_buf *out, const struct admin_snapshot *snap);

/* /health: 200 with "ok: writes go to NAME" while a writer is up and
 * writable, else 503 with why. Returns the status; body is NUL-terminated. */
int health_format(const struct admin_snapshot *snap, char *body, size_t cap);

/* HTTP connections open at once; a new one closes the oldest that has not
 * sent its request yet. */
#define HTTP_MAX_CONNECTIONS 128

/* Longest request head accepted (request line and headers). */
#define HTTP_MAX_HEAD 8192

enum http_parse {
    HTTP_INCOMPLETE, /* no blank line yet: read more */
    HTTP_COMPLETE,
    HTTP_BAD,        /* not an HTTP/1.x request line */
    HTTP_TOO_LARGE,  /* no end of headers within HTTP_MAX_HEAD */
};

struct http_request {
    char method[16];
    char path[256]; /* without the query string */
};

/* Looks at the len bytes received so far. */
enum http_parse http_request_parse(const char *buf, size_t len, struct http_request *out);

/* The response to a parsed request (status line, headers, body), built
 * from snap when the path needs it. */
void http_respond(struct text_buf *out, const struct http_request *req,
                  const struct admin_snapshot *snap);
/* An error response with only a status (400, 403, 404, 405, 431, 500). */
void http_error(struct text_buf *out, int status);
/* Whether http_respond needs a snapshot for req (GET /metrics, /health). */
bool http_wants_snapshot(const struct http_request *req);

struct admin;
/* Listen on host:port on loop; connections are served there. Returns 0,
 * or -1 after logging why. */
int metrics_http_listen(struct admin *a, uv_loop_t *loop, uv_tcp_t *listener, const char *host,
                        uint16_t port);

#endif
