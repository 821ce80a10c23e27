/* switchyard: command line, start-up and shutdown. Workers serve clients on
 * their own loops; the monitor thread watches the backends; this thread only
 * waits for signals. */
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "proxy/log.h"
#include "proxy/monitor.h"
#include "proxy/proxy.h"
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

static int load_config(const char *path, struct proxy_config *cfg)
{
    static struct config_errors errs;
    if (config_load(path, cfg, &errs) == 0)
        return 0;
    for (size_t i = 0; i < errs.count; i++)
        fprintf(stderr, "%s\n", errs.msg[i]);
    if (errs.dropped)
        fprintf(stderr, "%s: %zu more problems not shown\n", path, errs.dropped);
    return -1;
}

/* Backends are reached by address; resolve names once, before serving. */
static int resolve_backends(struct proxy *p)
{
    for (size_t i = 0; i < p->cfg->n_backends; i++) {
        const struct backend_config *b = &p->cfg->backends[i];
        char service[8];
        snprintf(service, sizeof service, "%u", b->port);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
        struct addrinfo *res;
        int rc = getaddrinfo(b->host, service, &hints, &res);
        if (rc != 0) {
            log_error("backend %s: cannot resolve '%s': %s", b->name, b->host, gai_strerror(rc));
            return -1;
        }
        memcpy(&p->backend_addr[i], res->ai_addr, res->ai_addrlen);
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

static int run(struct proxy_config *cfg)
{
    static struct proxy proxy;
    proxy.cfg = cfg;
    atomic_init(&proxy.next_session_id, 1);
    session_registry_init(&proxy.sessions);
    if (resolve_backends(&proxy) != 0)
        return 1;
    if (topology_holder_init(&proxy.topology, cfg->n_backends) != 0)
        return 1;

    sigset_t set;
    block_signals(&set);

    int n = worker_count(cfg);
    struct worker *workers = calloc((size_t)n, sizeof *workers);
    if (!workers)
        return 1;
    for (int i = 0; i < n; i++) {
        if (worker_init(&workers[i], i, &proxy) != 0)
            return 1;
    }
    struct monitor *mon;
    if (monitor_start(&mon, cfg, &proxy.topology) != 0)
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
            log_warn("SIGHUP: reloading the configuration is not supported yet; restart to apply "
                     "changes");
            continue;
        }
        log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    for (int i = 0; i < n; i++)
        worker_stop(&workers[i]);
    for (int i = 0; i < n; i++)
        worker_join(&workers[i]);
    monitor_stop(mon);
    topology_holder_destroy(&proxy.topology);
    free(workers);
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
    static struct proxy_config cfg;
    if (load_config(path, &cfg) != 0)
        return 1;
    if (check) {
        printf("%s: OK (%zu backends, %zu users)\n", path, cfg.n_backends, cfg.n_users);
        return 0;
    }
    return run(&cfg);
}
