#include "proxy/galera_metrics.h"

#include <math.h>
#include <string.h>

struct galera_series {
    const char *name, *type, *help;
    double (*value)(const struct galera_state *g); /* NaN: no sample for this node */
};

static double ready(const struct galera_state *g) { return g->ready; }
static double local_state(const struct galera_state *g) { return g->local_state; }
static double primary(const struct galera_state *g)
{
    return strcmp(g->cluster_status, "Primary") == 0;
}
static double cluster_size(const struct galera_state *g) { return g->cluster_size; }
static double desync(const struct galera_state *g) { return g->desync; }
static double paused(const struct galera_state *g)
{
    return g->paused_share < 0 ? NAN : g->paused_share;
}
static double recv_queue(const struct galera_state *g) { return (double)g->recv_queue; }
static double fc_sent(const struct galera_state *g) { return (double)g->fc_sent; }

static const struct galera_series series[] = {
    {"switchyard_galera_ready", "gauge", "wsrep_ready of each Galera node (1 ON).", ready},
    {"switchyard_galera_local_state", "gauge",
     "wsrep_local_state: 1 Joining, 2 Donor/Desynced, 3 Joined, 4 Synced.", local_state},
    {"switchyard_galera_cluster_primary", "gauge",
     "1 while the node is in the primary component (wsrep_cluster_status = Primary).", primary},
    {"switchyard_galera_cluster_size", "gauge", "wsrep_cluster_size as the node sees it.",
     cluster_size},
    {"switchyard_galera_desync", "gauge",
     "@@wsrep_desync (1: taken out by an operator, gets no traffic).", desync},
    {"switchyard_galera_flow_control_paused_ratio", "gauge",
     "Share of the last monitor interval the node spent paused by flow control.", paused},
    {"switchyard_galera_recv_queue", "gauge",
     "wsrep_local_recv_queue: write sets waiting to be applied.", recv_queue},
    {"switchyard_galera_flow_control_sent_total", "counter",
     "wsrep_flow_control_sent: pauses the node asked of the cluster since it started.", fc_sent},
};

void metrics_galera(struct text_buf *b, const struct admin_snapshot *s)
{
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++) {
        const struct galera_series *m = &series[k];
        text_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
        for (size_t i = 0; i < s->n_backends; i++) {
            const struct admin_backend *be = &s->backend[i];
            double v = be->galera.known ? m->value(&be->galera) : NAN;
            if (isnan(v))
                continue;
            text_printf(b, "%s{backend=\"", m->name);
            text_label(b, be->name);
            text_printf(b, "\"} %.15g\n", v);
        }
    }
}
