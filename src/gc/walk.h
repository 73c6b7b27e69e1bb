/* SPDX-License-Identifier: MIT */
/* walk: visiting the tracked objects of some generations, for the
 * collector's steps and for the gc module's enumerations. There are no
 * list links: generations 0 and 1 are the young vector (track.h), and
 * the rest is found by walking the blocks of RCY_KIND_OBJECTS.
 *
 * The walks are inline, and a step passed to them is a constant in each
 * caller: every caller gets a loop of its own with its step inlined
 * (RCY_ALWAYS_INLINE), no indirect call per object. A step must not
 * allocate or free objects.
 *
 * Within an object, every step visits its references with rcy__visit_refs
 * (obj/object.h): the layout descriptor's words inline, then traverse.
 * A step's visit function is RCY_ALWAYS_INLINE, so a type with a
 * descriptor costs no call per reference in any step, and the walks
 * below are the only loops over objects: walk -> step -> visit_refs ->
 * visit, each level compiled into the one above it. */
#ifndef RCY_GC_WALK_H
#define RCY_GC_WALK_H

#include "gc/gc.h"

/* t: o's type, which the walk knows (a span's tag, the young vector's
   types), so a step that traverses need not find it from the address.
   i: o's index in the vector walked (the young vector's slot), 0 in a
   walk of the heap. */
typedef void (*rcy_gc_step)(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg);

/* rcy__tracked_at (object.h) in one compare: TRACKED set, UNREACHABLE
   clear and the generation at most maxgen, when the three fields minus
   TRACKED are below generation maxgen + 1 (without TRACKED the difference
   wraps, with UNREACHABLE it is above). 4 instructions an object and walk
   where the three tests took 9. */
static RCY_ALWAYS_INLINE void *rcy__gc_tracked_at(char *b, unsigned maxgen)
{
    const uint32_t fields = RCY_GC_TRACKED | RCY_GC_UNREACHABLE | RCY_GC_GEN_MASK;
    _Static_assert(RCY_GC_UNREACHABLE > RCY_GC_GEN_MASK && RCY_GC_TRACKED > RCY_GC_UNREACHABLE,
                   "the fields' order the compare relies on");
    uint32_t w = ((const rcy_objhead *)(void *)b)->gcword;
    if ((w & fields) - RCY_GC_TRACKED >= (uint32_t)(maxgen + 1) << RCY_GC_GEN_SHIFT)
        return NULL;
    return b + sizeof(rcy_objhead);
}

/* Every tracked object of generation at most maxgen (3: the permanent one
   too): large objects first, then the pools, oldest arena first, each in
   address order: roughly allocation order. Objects of the running
   collection's garbage are skipped. Large objects are mostly containers
   (a list's or a table's array of entries): walked first, the ordered scan
   (refs.c) meets them before the records they hold, whose bytes it then
   only raises, where walked last it had passed every record and had to
   rescue each through its stack (a list of 1e5 records: 276 -> 236
   instructions an object of a full collection). (Prefetching the referents of objects some blocks
   ahead measured no faster, at 1e6 and 1e7 objects.) */
/* The large objects' part of rcy__gc_walk_tracked. */
static RCY_ALWAYS_INLINE void rcy__gc_walk_larges(rcy_gc *g, unsigned maxgen, rcy_gc_step step,
                                                  void *arg)
{
    rcy_mem *M = &g->weak.objects.mem;
    size_t slot = 0;
    char *big;
    while ((big = rcy__larges_next(&M->large, RCY_KIND_OBJECTS, &slot)) != NULL) {
        void *o = rcy__gc_tracked_at(big, maxgen);
        if (o)
            step(g, o, rcy__large_header(big)->tag, 0, arg);
    }
}

static RCY_ALWAYS_INLINE void rcy__gc_walk_tracked(rcy_gc *g, unsigned maxgen, rcy_gc_step step,
                                                   void *arg)
{
    rcy_mem *M = &g->weak.objects.mem;
    rcy__gc_walk_larges(g, maxgen, step, arg);
    rcy_pool_cursor c = {0};
    rcy_span s;
    while (rcy__pools_next_span(&M->pools, RCY_KIND_OBJECTS, &c, &s)) {
        /* locals, not s's fields: a step's byte stores may alias s, whose
           address the call above took, and forced a reload per object */
        char *b = s.first;
        const rcy_type *tag = s.tag;
        size_t n = s.n, stride = s.stride;
        for (size_t i = 0; i < n; i++, b += stride) {
            void *o = rcy__gc_tracked_at(b, maxgen);
            if (o)
                step(g, o, tag, 0, arg);
        }
    }
}

/* Where generations 0..gen (0 or 1) start in the young vector. */
static inline uint32_t rcy__gc_young_start(const rcy_young *y, unsigned gen)
{
    return gen == 0 ? y->boundary : 0;
}

/* Every object of the generations 0..gen: the young vector's part for 0
   or 1, a walk of the heap for 2. */
static RCY_ALWAYS_INLINE void rcy__gc_for_each_in_set(rcy_gc *g, unsigned gen, rcy_gc_step step,
                                                      void *arg)
{
    if (gen >= RCY_GEN_OLD) {
        rcy__gc_walk_tracked(g, gen, step, arg);
        return;
    }
    rcy_young *y = &g->weak.objects.young;
    for (uint32_t i = rcy__gc_young_start(y, gen); i < y->len; i++)
        if (!RCY_YOUNG_IS_HOLE(y->items[i]))
            step(g, y->items[i], y->types[i], i, arg);
}

#endif
