#include "proxy/buffer_pool.h"

#include <stdlib.h>

void buffer_pool_init(struct buffer_pool *p, size_t size)
{
    p->size = size;
    p->n_free = 0;
}

void buffer_pool_free(struct buffer_pool *p)
{
    while (p->n_free > 0)
        free(p->free_blocks[--p->n_free]);
}

void *buffer_pool_take(struct buffer_pool *p, size_t size)
{
    if (p && p->n_free > 0)
        return p->free_blocks[--p->n_free];
    return malloc(p ? p->size : size);
}

void buffer_pool_give(struct buffer_pool *p, void *block)
{
    if (!block)
        return;
    if (p && p->n_free < BUFFER_POOL_KEEP)
        p->free_blocks[p->n_free++] = block;
    else
        free(block);
}
