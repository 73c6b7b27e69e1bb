/* SPDX-License-Identifier: MIT */
/* mem: raw memory, the face the layers above use. A heap's memory is two
 * allocators, pools for small blocks (pool.h) and the system for large
 * ones (large.h); this header is all the object layer and the tools need
 * of them: allocating a block of a pool class, freeing, asking whether a
 * block is live, walking the blocks of a kind.
 *
 * Every block's owner (an arena's, a large block's) is its rcy_mem. A heap
 * begins with its rcy_mem (heap.h nests each layer's part first in the one
 * above, and heap.c asserts it), so the public entry points of this layer
 * take the rcy_heap handle and use it as their rcy_mem (rcy__mem_of),
 * without knowing anything else of the heap. */
#ifndef RCY_MEM_H
#define RCY_MEM_H

#include "mem/budget.h"
#include "mem/large.h"
#include "mem/pool.h"
#include "recycle.h"

typedef struct rcy_mem {
    rcy_pools pools;
    rcy_larges large;
    /* A hook the object layer registers, for messages about a bad free:
       the type name of the object whose pointer is p, NULL if p is not
       one (rcy_free of an object names it and says to use rcy_decref). */
    const char *(*object_name)(const struct rcy_mem *M, const void *p);
    rcy_budget budget; /* its limits (budget.h); its collect hook is the tools layer's */
} rcy_mem;

/* The memory of heap h: the part every heap starts with. */
static inline rcy_mem *rcy__mem_of(rcy_heap *h)
{
    return (rcy_mem *)(void *)h;
}

void rcy__mem_init(rcy_mem *M);
void rcy__mem_fini(rcy_mem *M);

/* tag: as for a pool class (pool.h); NULL for rcy_malloc's blocks. */
void *rcy__mem_alloc_large(rcy_mem *M, size_t n, unsigned kind, const void *tag);
#if RCY_CHECK_LEVEL >= 1
void rcy__mem_mark_live(void *b); /* for the exact double-free check */
#endif

/* Checked builds record each small block handed out. */
static inline void *rcy__mem_handed_out(void *b)
{
#if RCY_CHECK_LEVEL >= 1
    if (b)
        rcy__mem_mark_live(b);
#endif
    return b;
}

/* A small block of pool class pc: the pool's fast path, for the object
   layer's creations (it finds pc for a type and size itself). */
static inline void *rcy__mem_alloc_in(rcy_mem *M, rcy_pool_class *pc)
{
    return rcy__mem_handed_out(rcy__pool_alloc_in(&M->pools, pc));
}

/* The same without the slow path: NULL if pc's first pool has no free
   block. For a caller whose own fast path must make no calls. */
static inline void *rcy__mem_try_in(rcy_pool_class *pc)
{
    return rcy__mem_handed_out(rcy__pool_try_in(pc));
}

void rcy__mem_free(rcy_mem *M, void *p, const char *api);

/* The memory that owns block p (from rcy__mem_alloc_in or _large, still
   live), which the caller knows is in arena a, NULL for a large block. */
static inline rcy_mem *rcy__mem_owner(const rcy_arena *a, const void *p)
{
    return (rcy_mem *)(a ? a->owner : rcy__large_header(p)->owner);
}

/* Frees a block the caller knows is a live block of h (an object's), in
   arena a (NULL: a large block): validated only in checked builds. */
void rcy__mem_release(rcy_mem *M, rcy_arena *a, void *p);
/* What p is, for checks and messages: the start of a block handed out
   (live) or of one freed since (free, when that can still be told), or
   neither: a pointer from elsewhere, or into a block (foreign). *tag gets
   a live block's tag (pool.h). Release builds cannot tell a free small
   block from a live one in a used pool.
   M: the heap whose blocks count; any pointer then is safe, and nothing
   outside M's memory is read. NULL: any heap's; a pointer outside every
   arena then has the 32 bytes before it read (a large block's header),
   which must be readable memory (rcy__large_marked). */
typedef enum rcy_block_state { RCY_BLOCK_FOREIGN, RCY_BLOCK_FREE, RCY_BLOCK_LIVE } rcy_block_state;
rcy_block_state rcy__mem_block_state(const rcy_mem *M, const void *p, const void **tag);

/* Walking every block of one kind, pools first, then large blocks: spans
   of blocks, free ones included (the kind's owner tells them apart). Start
   with a zeroed cursor; 0 when done. Nothing may be allocated or freed
   during a walk. */
typedef struct rcy_mem_cursor {
    rcy_pool_cursor pools;
    size_t large_slot;
} rcy_mem_cursor;
int rcy__mem_next_span(rcy_mem *M, unsigned kind, rcy_mem_cursor *c, rcy_span *out);

#endif
