/* Which primary takes the writes. The monitor decides once per snapshot, in
 * one thread, so every worker agrees: the current writer stays while it is
 * up and writable; otherwise the first configured primary that is. The
 * proxy never promotes anything: it follows what the servers say. */
#ifndef SY_PROXY_WRITER_H
#define SY_PROXY_WRITER_H

#include "proxy/topology.h"

/* True when backend i can take writes now. */
bool backend_writable(const struct topology *t, size_t i);

/* The writer for next, given the previous snapshot (NULL at start). Logs
 * loudly when more than one primary reports writable. Returns -1 when none. */
int writer_choose(const struct topology *prev, const struct topology *next,
                  const struct proxy_config *cfg);

#endif
