#include "proxy/galera_route.h"

bool galera_takes_reads(const struct proxy_config *cfg, const struct topology *t, size_t i)
{
    if (!t || i >= t->n || i >= cfg->n_backends || !cfg->backends[i].galera ||
        cfg->galera_reads != GALERA_READS_ANY || !backend_readable(&t->backend[i]))
        return false;
    return cfg->writers == WRITERS_ACTIVE_ACTIVE || (int)i != t->writer;
}

const char *galera_wait_sql(void)
{
    return "SET STATEMENT wsrep_sync_wait = 1 FOR SELECT 0";
}

bool galera_position_proves(const struct proxy_config *cfg, size_t i)
{
    return i < cfg->n_backends && !cfg->backends[i].galera;
}
