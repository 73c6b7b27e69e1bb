/* SPDX-License-Identifier: MIT */
/* serial: the malloc shim's back end for a library without per-thread
 * heaps (shim.h, RCY_MALLOC_SERIAL): one heap for the whole process, made
 * on first use, every call under one mutex. A pointer is the heap's when
 * its block state (mem.h) says live, which reads nothing outside the
 * heap's own memory; anything else is foreign. fork: the prepare handler
 * holds the mutex, so the child's heap is consistent, and the child makes
 * the mutex anew. */
#include <pthread.h>

#include "malloc/shim.h"
#include "mem/mem.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static rcy_heap *heap; /* under lock */

void *rcy__shim_malloc(size_t n)
{
    pthread_mutex_lock(&lock);
    if (!heap)
        heap = rcy_heap_new();
    void *p = heap ? rcy_malloc(heap, n) : NULL;
    pthread_mutex_unlock(&lock);
    return p;
}

/* Under lock: 1 if p is a live block of the heap. */
static bool owned(const void *p)
{
    const void *tag;
    return heap && rcy__mem_block_state(rcy__mem_of(heap), p, &tag) == RCY_BLOCK_LIVE;
}

bool rcy__free_any(void *p)
{
    pthread_mutex_lock(&lock);
    bool mine = owned(p);
    if (mine)
        rcy_free(heap, p);
    pthread_mutex_unlock(&lock);
    return mine;
}

size_t rcy__usable_size_any(const void *p)
{
    pthread_mutex_lock(&lock);
    size_t n = owned(p) ? rcy_usable_size(heap, p) : 0;
    pthread_mutex_unlock(&lock);
    return n;
}

void rcy__fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

void rcy__fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

void rcy__fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
}
