/* SPDX-License-Identifier: MIT */
/* shim: what the malloc shim (malloc.c) needs from the heaps below it:
 * allocating for the calling thread, freeing and measuring a block of any
 * heap from any thread, and the fork handlers. Every function that takes a
 * pointer accepts any: one recycle does not own gives false or 0 and is not
 * read (its memory stays the C library's).
 *
 * Two back ends. With the threads contract of the heaps (rcy_thread_heap,
 * and mem's rcy__free_any and friends: a heap per thread, lock-free remote
 * frees), the shim is a thin layer over them. Without it (RCY_MALLOC_SERIAL,
 * which CMake sets when include/recycle.h has no rcy_thread_heap), one heap
 * serves the whole process under one lock: correct, but threads queue. */
#ifndef RCY_MALLOC_SHIM_H
#define RCY_MALLOC_SHIM_H

#include <stdbool.h>
#include <stddef.h>

#include "recycle.h"

/* Either back end: free p to whichever heap allocated it (false if p is
   not recycle's), its usable size (0 if not recycle's), the fork handlers. */
bool rcy__free_any(void *p);
size_t rcy__usable_size_any(const void *p);
void rcy__fork_prepare(void);
void rcy__fork_parent(void);
void rcy__fork_child(void);

#if defined(RCY_MALLOC_SERIAL) && RCY_MALLOC_SERIAL
void *rcy__shim_malloc(size_t n); /* serial.c */
#else
/* The calling thread's heap serves it; NULL (the heap could not be made)
   sends the request to the C library. */
static inline void *rcy__shim_malloc(size_t n)
{
    rcy_heap *h = rcy_thread_heap();
    return h ? rcy_malloc(h, n) : NULL;
}
#endif

#endif
