/* Start-up of the in-process proxy, as proxy/main.c does it, minus the
 * threads: no monitor (the snapshot is published here), no admin, and the
 * worker's loop is left to the caller. */
#include "test/fuzz/fuzz_proxy.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/log.h"

/* The configuration goes through the real loader, so it gets every default
 * a file would. Multiplexing is off: each input checks that a session leaves
 * no backend connection behind, which the pool keeps on purpose. */
static int load_config(struct fuzz_proxy *fp)
{
    char path[] = "/tmp/fuzz_session.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        perror("fuzz_session: temporary config");
        return -1;
    }
    fprintf(f,
            "[proxy]\nlisten = 127.0.0.1:6033\nthreads = 1\nmultiplexing = off\n"
            "[log]\nlevel = error\n"
            "[backend.primary]\nrole = primary\nhost = 127.0.0.1\nport = %u\n"
            "[backend.replica]\nrole = replica\nhost = 127.0.0.1\nport = %u\n"
            "[user." FUZZ_USER "]\npassword = " FUZZ_PASSWORD "\n",
            fp->backend.port[0], fp->backend.port[1]);
    fclose(f);
    static struct config_errors errs;
    int rc = config_load(path, &fp->gen.cfg, &errs);
    unlink(path);
    for (size_t i = 0; i < errs.count; i++)
        fprintf(stderr, "fuzz_session: %s\n", errs.msg[i]);
    if (rc != 0)
        return -1;
    fp->gen.number = 1;
    fp->gen.cfg.listen_port = 0; /* ephemeral: the loader only takes 1..65535 */
    for (size_t i = 0; i < fp->gen.cfg.n_backends; i++) {
        struct sockaddr_in *a = (struct sockaddr_in *)&fp->gen.backend_addr[i];
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons(fp->gen.cfg.backends[i].port);
    }
    return 0;
}

/* What the monitor would publish after a good round: both backends up, the
 * replica read-only and a little behind the GTID the fake primary reports. */
static int publish_topology(struct fuzz_proxy *fp)
{
    struct topology_holder *h = &fp->proxy.topology;
    if (topology_holder_init(h, CONFIG_MAX_BACKENDS) != 0)
        return -1;
    h->config_number = fp->gen.number;
    h->cfg = &fp->gen.cfg;
    struct topology *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->n = fp->gen.cfg.n_backends;
    for (size_t i = 0; i < t->n; i++) {
        struct backend_status *b = &t->backend[i];
        b->state = BACKEND_UP;
        b->lag_seconds = 0;
        b->role = fp->gen.cfg.backends[i].role;
        b->read_only = b->role == ROLE_REPLICA;
        strcpy(b->gtid_pos, "0-1-1");
        strcpy(b->reason, "fuzz_session");
    }
    strcpy(t->server_version, "10.11.6-MariaDB");
    topology_publish(h, t);
    return 0;
}

int fuzz_proxy_init(struct fuzz_proxy *fp)
{
    memset(fp, 0, sizeof *fp);
    signal(SIGPIPE, SIG_IGN);
    if (fake_backend_bind(&fp->backend, 2) != 0 || load_config(fp) != 0)
        return -1;
    struct proxy *p = &fp->proxy;
    log_set_level((enum log_level)fp->gen.cfg.log_level);
    atomic_init(&p->gen, &fp->gen);
    atomic_init(&p->next_session_id, 1);
    session_registry_init(&p->sessions);
    if (publish_topology(fp) != 0 || worker_init(&fp->worker, 0, p) != 0)
        return -1;
    p->workers = &fp->worker;
    p->n_workers = 1;
    if (fake_backend_start(&fp->backend, &fp->worker.loop) != 0)
        return -1;
    struct sockaddr_in a;
    int alen = sizeof a;
    if (uv_tcp_getsockname(&fp->worker.listener, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    fp->port = ntohs(a.sin_port);
    return 0;
}
