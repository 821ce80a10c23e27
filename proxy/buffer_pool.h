/* Blocks of one size kept for reuse by one worker. Connections take a read
 * buffer only while bytes are pending and give it back when it empties, so
 * an idle connection holds none; the pool makes that take-and-give-back a
 * pointer move instead of a malloc per statement. Not thread-safe: one per
 * loop. */
#ifndef SY_PROXY_BUFFER_POOL_H
#define SY_PROXY_BUFFER_POOL_H

#include <stddef.h>

#define BUFFER_POOL_KEEP 64 /* free blocks kept; more are given back to malloc */

struct buffer_pool {
    size_t size;
    int n_free;
    void *free_blocks[BUFFER_POOL_KEEP];
};

void buffer_pool_init(struct buffer_pool *p, size_t size);
void buffer_pool_free(struct buffer_pool *p);
/* A block of p->size bytes, or NULL when out of memory. p may be NULL (then
 * size bytes are malloc'ed). */
void *buffer_pool_take(struct buffer_pool *p, size_t size);
/* Give back a block taken with the same p and size. NULL block: nothing. */
void buffer_pool_give(struct buffer_pool *p, void *block);

#endif
