/* Proxy-wide state shared by the workers and the admin thread. */
#include "proxy/proxy.h"

#include <string.h>

/* Almost always nothing is offline: one atomic load. Otherwise the names
 * are compared under the registry lock the admin thread writes them under. */
bool proxy_backend_offline(struct proxy *p, const char *name)
{
    if (atomic_load_explicit(&p->n_offline, memory_order_relaxed) == 0)
        return false;
    bool found = false;
    pthread_mutex_lock(&p->sessions.lock);
    for (int i = 0; i < CONFIG_MAX_BACKENDS && !found; i++)
        found = p->offline[i][0] && strcmp(p->offline[i], name) == 0;
    pthread_mutex_unlock(&p->sessions.lock);
    return found;
}
