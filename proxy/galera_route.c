#include "proxy/galera_route.h"

#include <stdio.h>

bool galera_takes_reads(const struct proxy_config *cfg, const struct topology *t, size_t i)
{
    if (!t || i >= t->n || i >= cfg->n_backends || !cfg->backends[i].galera ||
        cfg->galera_reads != GALERA_READS_ANY || !backend_readable(&t->backend[i]))
        return false;
    return cfg->writers == WRITERS_ACTIVE_ACTIVE || (int)i != t->writer;
}

int galera_wait_sql(char *out, size_t cap, const char *gtid, int timeout_ms)
{
    int seconds = (timeout_ms + 999) / 1000;
    return snprintf(out, cap, "SELECT WSREP_SYNC_WAIT_UPTO_GTID('%s', %d) - 1", gtid,
                    seconds > 0 ? seconds : 1);
}
