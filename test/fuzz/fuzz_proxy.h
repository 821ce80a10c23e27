/* The proxy assembled in-process for fuzz_session: a configuration loaded
 * from a temporary INI file (one primary and one replica, both the fake
 * backend on two ports, user FUZZ_USER with a plain password), a topology
 * snapshot marking both UP, published directly instead of by the monitor,
 * and one worker whose loop the caller runs; its listener has an
 * ephemeral port on 127.0.0.1. */
#ifndef SY_TEST_FUZZ_FUZZ_PROXY_H
#define SY_TEST_FUZZ_FUZZ_PROXY_H

#include <stdint.h>

#include "proxy/proxy.h"
#include "proxy/worker.h"
#include "test/fuzz/fake_backend.h"

#define FUZZ_USER "app"
#define FUZZ_PASSWORD "app_pw"

struct fuzz_proxy {
    struct proxy proxy;
    struct config_gen gen;
    struct worker worker;
    struct fake_backend backend;
    uint16_t port; /* the worker's listener */
};

/* Returns 0, or -1 after printing why. */
int fuzz_proxy_init(struct fuzz_proxy *fp);

#endif
