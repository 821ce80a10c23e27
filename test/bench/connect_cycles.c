/* connect_cycles: how many connect, one statement, disconnect cycles per
 * second THREADS clients manage (how PHP and many scripts use a database),
 * for test/bench/pool_bench.sh. Prints one line: cycles=N seconds=S
 * per_sec=R errors=E. Not a test: failed cycles are counted, not fatal.
 *
 *   connect_cycles -P PORT [-h HOST] [-u USER] [-p PASSWORD] [-D DB] [-t THREADS] [-s SECONDS]
 *
 * Build: cc -O2 -pthread -o connect_cycles connect_cycles.c $(mariadb_config --cflags --libs)
 */
#define _POSIX_C_SOURCE 200809L
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1", *user = "app", *password = "app_pw", *db = "test";
static unsigned port;
static double seconds = 10;
static atomic_long cycles, errors;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One cycle: a new login, SELECT 1 read to its end, a clean COM_QUIT. */
static int cycle(void)
{
    MYSQL *m = mysql_init(NULL);
    if (!m)
        return -1;
    int ok = mysql_real_connect(m, host, user, password, db, port, NULL, 0) != NULL &&
             mysql_query(m, "SELECT 1") == 0;
    if (ok) {
        MYSQL_RES *r = mysql_store_result(m);
        ok = r != NULL;
        mysql_free_result(r);
    }
    mysql_close(m);
    return ok ? 0 : -1;
}

static void *run(void *arg)
{
    double until = *(const double *)arg;
    mysql_thread_init();
    while (now_s() < until) {
        if (cycle() == 0)
            atomic_fetch_add(&cycles, 1);
        else
            atomic_fetch_add(&errors, 1);
    }
    mysql_thread_end();
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 8, opt;
    while ((opt = getopt(argc, argv, "h:P:u:p:D:t:s:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'P': port = (unsigned)atoi(optarg); break;
        case 'u': user = optarg; break;
        case 'p': password = optarg; break;
        case 'D': db = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 's': seconds = atof(optarg); break;
        default:
            fprintf(stderr, "usage: connect_cycles -P PORT [-h HOST] [-u USER] [-p PASSWORD] "
                            "[-D DB] [-t THREADS] [-s SECONDS]\n");
            return 2;
        }
    }
    if (port == 0 || threads < 1 || threads > 1024 || seconds <= 0) {
        fprintf(stderr, "connect_cycles: need -P PORT, 1..1024 threads and seconds > 0\n");
        return 2;
    }
    mysql_library_init(0, NULL, NULL);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    if (!t)
        return 1;
    double start = now_s(), until = start + seconds;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run, &until);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double took = now_s() - start;
    printf("cycles=%ld seconds=%.2f per_sec=%.0f errors=%ld\n", atomic_load(&cycles), took,
           (double)atomic_load(&cycles) / took, atomic_load(&errors));
    free(t);
    mysql_library_end();
    return 0;
}
