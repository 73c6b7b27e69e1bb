/* SPDX-License-Identifier: MIT */
/* heapgraph: a numbered snapshot of every live object of a heap, for the
 * tools that answer "why is this memory held" (why.c, dominators.c,
 * report.c).
 *
 * Nodes are the block slots of the pools that hold objects (both kinds:
 * collectable objects and objects of types without references), from the
 * pool's first block to its bump pointer, then the large objects. A slot
 * whose block is free (on the pool's free list, or on a page given back)
 * is a hole: obj[i] == NULL. Numbering slots rather than live objects
 * makes an address's node arithmetic: its arena (a small hash), its pool's
 * first node, its offset over the block size (a multiply by a reciprocal).
 * Large objects are found in a pointer map.
 *
 * Roots are computed as a full collection computes them: an object is a
 * root when its count exceeds the references held by the objects a full
 * collection examines (tracked, not frozen). Untracked and frozen objects
 * are outside that set, so what they refer to counts as held from outside,
 * exactly as for the collector.
 *
 * The snapshot holds no references and reads the heap only while it is
 * built and walked: nothing may be allocated or freed in between. */
#ifndef RCY_HEAPGRAPH_H
#define RCY_HEAPGRAPH_H

#include <stdint.h>

#include "obj/count.h"
#include "obj/object.h"
#include "util/ptrmap.h"

#define RCY_HG_NONE UINT32_MAX

typedef struct rcy_hg_pool {
    uint32_t base;  /* first node of the pool; RCY_HG_NONE: no objects */
    uint32_t count; /* its slots */
    uint32_t stride;
    uint32_t recip; /* ceil(2^32 / stride): offset / stride by a multiply */
} rcy_hg_pool;

typedef struct rcy_hgraph {
    rcy_heap *h;
    void **obj;      /* node -> payload pointer; NULL: a free slot */
    uint32_t *refs;  /* rcy__hg_count_refs: references from the collected set */
    size_t n;        /* nodes (slots) */
    size_t npool;    /* nodes in pools; large objects are [npool, n) */
    size_t live;     /* live objects among them */
    uintptr_t *akey; /* arena hash: base >> RCY_ARENA_SHIFT, plus one; 0 empty */
    uint32_t *aord;  /* its ordinal */
    size_t amask;
    rcy_hg_pool *pools; /* ordinal * 64 + pool index */
    size_t narenas;
    rcy_ptrmap large; /* large object's block -> node + 1 */
} rcy_hgraph;

/* Builds the snapshot of h's live objects; 0, or -1 with errno (ENOMEM;
   EBUSY while a collection runs). */
int rcy__hg_build(rcy_hgraph *g, rcy_heap *h);
void rcy__hg_free(rcy_hgraph *g);

/* The node of the block whose payload would be at p (live or not: see
   rcy__hg_node), RCY_HG_NONE if p is no block start of an object pool or
   large object. For references held by live objects, which point to live
   objects: it reads no node's entry, whose array is larger than the cache
   (reading it cost two thirds of a pass over the references). */
static inline uint32_t rcy__hg_slot(const rcy_hgraph *g, const void *p)
{
    uintptr_t b = (uintptr_t)p - sizeof(rcy_objhead);
    uintptr_t key = (b >> RCY_ARENA_SHIFT) + 1;
    size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull >> 40) & g->amask;
    for (; g->akey[i]; i = (i + 1) & g->amask) {
        if (g->akey[i] != key)
            continue;
        const rcy_hg_pool *pl = &g->pools[(size_t)g->aord[i] * RCY_POOLS_PER_ARENA +
                                          ((b >> RCY_POOL_SHIFT) & (RCY_POOLS_PER_ARENA - 1))];
        if (pl->base == RCY_HG_NONE)
            return RCY_HG_NONE;
        uint32_t off = (uint32_t)(b & (RCY_POOL_SIZE - 1));
        uint32_t slot = (uint32_t)(((uint64_t)off * pl->recip) >> 32);
        if (slot * pl->stride != off || slot >= pl->count)
            return RCY_HG_NONE;
        return pl->base + slot;
    }
    void **v = rcy__ptrmap_find(&g->large, b);
    return v ? (uint32_t)((uintptr_t)*v - 1) : RCY_HG_NONE;
}

/* The node of the live object whose payload is p, RCY_HG_NONE if p is not
   a live object of the heap. Reads nothing at p: any pointer will do. */
static inline uint32_t rcy__hg_node(const rcy_hgraph *g, const void *p)
{
    uint32_t i = rcy__hg_slot(g, p);
    return i != RCY_HG_NONE && g->obj[i] ? i : RCY_HG_NONE;
}

/* 1 if o is in the set a full collection examines: tracked, not frozen. */
static inline int rcy__hg_collected(const void *o)
{
    uint32_t w = RCY_HEAD(o)->gcword;
    return (w & RCY_GC_TRACKED) && rcy__gen_of(w) != RCY_GEN_PERMANENT;
}

/* Fills g->refs: for every node, the references to it from the objects a
   full collection examines. 0, or -1 (ENOMEM). */
int rcy__hg_count_refs(rcy_hgraph *g);

/* 1 if node i is a root (g->refs filled). */
static inline int rcy__hg_is_root(const rcy_hgraph *g, uint32_t i)
{
    return rcy__gc_count(g->obj[i]) > g->refs[i]; /* merged with other threads' counts */
}

/* Bytes of node i's block (the object with its header). */
size_t rcy__hg_bytes(const rcy_hgraph *g, uint32_t i);

#endif
