/* What every worker shares: the configuration (read-only while running), the
 * topology published by the monitor, and counters. */
#ifndef SY_PROXY_PROXY_H
#define SY_PROXY_PROXY_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "proxy/session_registry.h"
#include "proxy/topology.h"

struct proxy {
    const struct proxy_config *cfg;
    struct topology_holder topology;
    /* backends' addresses, resolved once at start */
    struct sockaddr_storage backend_addr[CONFIG_MAX_BACKENDS];
    atomic_uint_fast32_t next_session_id;
    struct session_registry sessions; /* for KILL across workers */
};

#endif
