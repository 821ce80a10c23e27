/* switchyard: command line, start-up and shutdown. Workers serve clients on
 * their own loops; the monitor thread watches the backends; this thread only
 * waits for signals. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config/config.h"
#include "proxy/admin.h"
#include "proxy/log.h"
#include "proxy/monitor.h"
#include "proxy/proxy.h"
#include "proxy/tls_stream.h"
#include "proxy/worker.h"

#define MAX_WORKERS 1024

static void usage(FILE *out)
{
    fprintf(out,
            "usage: switchyard -c FILE          run the proxy\n"
            "       switchyard --check -c FILE  validate FILE and exit\n"
            "       switchyard --version | --help\n"
            "\n"
            "A MySQL-protocol proxy that sends writes to the primary and spreads reads\n"
            "over healthy replicas. See README.md for the configuration reference.\n");
}

/* Problems go to stderr at start (with --check, plain lines), to the log on
 * reload. */
static int load_config(const char *path, struct proxy_config *cfg, bool to_log)
{
    static struct config_errors errs;
    if (config_load(path, cfg, &errs) == 0)
        return 0;
    for (size_t i = 0; i < errs.count; i++) {
        if (to_log)
            log_error("reload: %s", errs.msg[i]);
        else
            fprintf(stderr, "%s\n", errs.msg[i]);
    }
    if (errs.dropped)
        fprintf(stderr, "%s: %zu more problems not shown\n", path, errs.dropped);
    return -1;
}

/* Backends are reached by address; resolve names once per configuration,
 * before it is used. */
static int resolve_backends(struct config_gen *g)
{
    for (size_t i = 0; i < g->cfg.n_backends; i++) {
        const struct backend_config *b = &g->cfg.backends[i];
        char service[8];
        snprintf(service, sizeof service, "%u", b->port);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
        struct addrinfo *res;
        int rc = getaddrinfo(b->host, service, &hints, &res);
        if (rc != 0) {
            log_error("backend %s: cannot resolve '%s': %s", b->name, b->host, gai_strerror(rc));
            return -1;
        }
        memcpy(&g->backend_addr[i], res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
    }
    return 0;
}

static int worker_count(const struct proxy_config *cfg)
{
    if (cfg->threads > 0)
        return cfg->threads > MAX_WORKERS ? MAX_WORKERS : cfg->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > MAX_WORKERS ? MAX_WORKERS : (int)n);
}

/* Blocks the stop signals in every thread so this one can sigwait them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Each client costs a descriptor, and thousands share a few backend
 * connections: the usual soft limit of 1024 would refuse clients long
 * before anything else runs out, so take what the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_warn("cannot raise the open files limit from %llu to %llu: %s", (unsigned long long)was,
                 (unsigned long long)rl.rlim_max, strerror(errno));
}

/* TLS contexts the file asks for; a certificate OpenSSL refuses rejects the
 * file like any other problem. */
static int make_tls_contexts(struct config_gen *g)
{
    const struct proxy_config *c = &g->cfg;
    char err[256];
    bool on = false, verify = false;
    for (size_t i = 0; i < c->n_backends; i++) {
        on |= c->backends[i].tls == BACKEND_TLS_ON;
        verify |= c->backends[i].tls == BACKEND_TLS_VERIFY;
    }
    if (c->tls_cert[0] && !(g->tls_server = tls_server_context(c->tls_cert, c->tls_key, err, sizeof err))) {
        log_error("[tls] cert %s / key %s: %s", c->tls_cert, c->tls_key, err);
        return -1;
    }
    if (on && !(g->tls_client = tls_client_context(NULL, err, sizeof err))) {
        log_error("TLS to backends: %s", err);
        return -1;
    }
    if (verify && !(g->tls_client_verify = tls_client_context(c->tls_ca, err, sizeof err))) {
        log_error("[tls] ca %s: %s", c->tls_ca, err);
        return -1;
    }
    return 0;
}

static void free_gen(struct config_gen *g)
{
    SSL_CTX_free(g->tls_server);
    SSL_CTX_free(g->tls_client);
    SSL_CTX_free(g->tls_client_verify);
    free(g);
}

/* A new configuration generation from path, or NULL (problems logged). */
static struct config_gen *load_gen(const char *path, uint64_t number, bool to_log)
{
    struct config_gen *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->number = number;
    if (load_config(path, &g->cfg, to_log) != 0 || resolve_backends(g) != 0 ||
        make_tls_contexts(g) != 0) {
        free_gen(g);
        return NULL;
    }
    return g;
}

/* SIGHUP: a file with any problem is rejected whole and the running
 * configuration stays. Otherwise the monitor restarts on the new backends
 * (its first round runs before anything routes with them) and sessions move
 * to the new configuration between statements, keeping their connections to
 * backends that did not change. Listening address and threads need a
 * restart. */
static void reload(struct proxy *p, const char *path, struct monitor **mon)
{
    struct config_gen *cur = proxy_config_gen(p);
    struct config_gen *ng = load_gen(path, cur->number + 1, true);
    if (!ng) {
        log_error("reload: %s rejected; the running configuration stays", path);
        return;
    }
    if (strcmp(ng->cfg.listen_host, cur->cfg.listen_host) != 0 ||
        ng->cfg.listen_port != cur->cfg.listen_port || ng->cfg.threads != cur->cfg.threads)
        log_warn("reload: listen and threads only change with a restart; keeping %s:%u",
                 cur->cfg.listen_host, cur->cfg.listen_port);
    monitor_stop(*mon);
    p->topology.config_number = ng->number;
    p->topology.cfg = &ng->cfg;
    if (monitor_start(mon, &ng->cfg, &p->topology) != 0) {
        log_error("reload: the monitor did not restart; exiting");
        exit(1);
    }
    ng->older = cur;
    atomic_store(&p->gen, ng);
    log_set_level((enum log_level)ng->cfg.log_level);
    log_set_format(ng->cfg.log_format);
    log_info("reload: %s applied (%zu backends, %zu users)", path, ng->cfg.n_backends,
             ng->cfg.n_users);
}

static void free_gens(struct config_gen *g)
{
    while (g) {
        struct config_gen *older = g->older;
        free_gen(g);
        g = older;
    }
}

static int run(const char *path, struct config_gen *gen)
{
    static struct proxy proxy;
    const struct proxy_config *cfg = &gen->cfg;
    log_set_level((enum log_level)cfg->log_level);
    log_set_format(cfg->log_format);
    atomic_init(&proxy.gen, gen);
    atomic_init(&proxy.next_session_id, 1);
    session_registry_init(&proxy.sessions);
    if (topology_holder_init(&proxy.topology, CONFIG_MAX_BACKENDS) != 0)
        return 1;
    proxy.topology.config_number = gen->number;
    proxy.topology.cfg = &gen->cfg;

    sigset_t set;
    block_signals(&set);
    raise_fd_limit();

    int n = worker_count(cfg);
    struct worker *workers = calloc((size_t)n, sizeof *workers);
    if (!workers)
        return 1;
    proxy.workers = workers;
    proxy.n_workers = n;
    for (int i = 0; i < n; i++) {
        if (worker_init(&workers[i], i, &proxy) != 0)
            return 1;
    }
    struct monitor *mon;
    if (monitor_start(&mon, cfg, &proxy.topology) != 0)
        return 1;
    if (position_fetch_start(&proxy.positions, &proxy) != 0)
        return 1;
    /* Every listener is bound before any worker accepts: a start that fails
     * on a taken admin or HTTP address has served no one. */
    struct admin *admin;
    if (admin_start(&admin, &proxy) != 0)
        return 1;
    for (int i = 0; i < n; i++) {
        if (worker_start(&workers[i]) != 0)
            return 1;
    }
    log_info("switchyard %s listening on %s:%u with %d worker%s, %zu backends", SY_VERSION,
             cfg->listen_host, cfg->listen_port, n, n == 1 ? "" : "s", cfg->n_backends);

    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&proxy, path, &mon);
            continue;
        }
        log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    /* First: the admin thread may signal workers (KILL SESSION). */
    admin_stop(admin);
    for (int i = 0; i < n; i++)
        worker_stop(&workers[i]);
    for (int i = 0; i < n; i++)
        worker_join(&workers[i]);
    position_fetch_stop(&proxy.positions);
    monitor_stop(mon);
    topology_holder_destroy(&proxy.topology);
    free(workers);
    free_gens(proxy_config_gen(&proxy));
    log_info("stopped");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int check = 0, c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'V':
            printf("switchyard %s\n", SY_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct config_gen *gen = load_gen(path, 1, false);
    if (!gen)
        return 1;
    if (check) {
        printf("%s: OK (%zu backends, %zu users)\n", path, gen->cfg.n_backends, gen->cfg.n_users);
        free_gen(gen);
        return 0;
    }
    return run(path, gen);
}
