/* SPDX-License-Identifier: MIT */
/* owns: rcy_heap_owns, whether a pointer lies in memory a heap manages,
 * for an embedder that must route a free (CPython's PyMem_Free may get a
 * pointer from libc's malloc, as pymalloc's address_in_range allows).
 *
 * Safe on any pointer: the page map answers for arenas without touching
 * the pointer, and large blocks are looked up in the heap's own set of
 * them, never by reading a header in front of the pointer. So a wild or
 * foreign pointer costs a lookup and gets 0. */
#include "mem/mem.h"
#include "os/pagemap.h"

int rcy_heap_owns(rcy_heap *h, const void *p)
{
    const rcy_mem *M = rcy__mem_of(h);
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (a) {
        /* the pools before RCY_ARENA_FIRST_POOL hold the arena's bookkeeping */
        size_t pool = ((uintptr_t)p >> RCY_POOL_SHIFT) & (RCY_POOLS_PER_ARENA - 1);
        return a->owner == M && pool >= RCY_ARENA_FIRST_POOL;
    }
    return p && rcy__large_owned(&M->large, p);
}
