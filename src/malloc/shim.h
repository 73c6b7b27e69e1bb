/* SPDX-License-Identifier: MIT */
/* shim: what the malloc shim (malloc.c) needs from the heaps below it, the
 * threads contract: allocating from the calling thread's heap
 * (rcy_thread_heap), freeing and measuring a block of any heap from any
 * thread (mem.h: rcy__free_any, rcy__usable_size_any; a pointer recycle does
 * not own gives 0 and is not read, so its memory stays the C library's),
 * and the fork handlers (heap.h). */
#ifndef RCY_MALLOC_SHIM_H
#define RCY_MALLOC_SHIM_H

#include <stddef.h>

#include "heap.h"
#include "mem/mem.h"
#include "recycle.h"

/* A block of n bytes from the calling thread's heap; NULL when out of
   memory, or when the thread has no heap (one could not be made, or the
   C library allocates while the heap is being made): then the caller asks
   the C library. */
static inline void *rcy__shim_malloc(size_t n)
{
    rcy_heap *h = rcy_thread_heap();
    return h ? rcy_malloc(h, n) : NULL;
}

#endif
