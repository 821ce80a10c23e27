/* An in-process stand-in for a MariaDB server, for fuzz_session: it accepts
 * any login, answers every command with a small well-formed reply built from
 * protocol/, and runs on the caller's uv_loop so one thread drives the proxy
 * and its backends. */
#ifndef SY_TEST_FUZZ_FAKE_BACKEND_H
#define SY_TEST_FUZZ_FAKE_BACKEND_H

#include <stdint.h>
#include <uv.h>

#define FAKE_BACKEND_MAX_PORTS 2

struct fake_backend {
    int n;
    int fd[FAKE_BACKEND_MAX_PORTS];
    uint16_t port[FAKE_BACKEND_MAX_PORTS];
    uv_tcp_t listener[FAKE_BACKEND_MAX_PORTS];
    uint64_t activity; /* grows on every accept, read and completed write */
    uint32_t next_thread_id;
};

/* Binds n listening sockets on 127.0.0.1 with ephemeral ports (known before
 * any loop exists, so they can go into the proxy's configuration). Returns
 * 0, or -1 after printing why. */
int fake_backend_bind(struct fake_backend *fb, int n);
/* Starts accepting on loop. Returns 0 or -1. */
int fake_backend_start(struct fake_backend *fb, uv_loop_t *loop);

#endif
