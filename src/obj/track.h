/* SPDX-License-Identifier: MIT */
/* track: the young vector, where tracked objects of generations 0 and 1
 * are listed. The object layer keeps it because creation and death, its
 * hot paths, add and remove entries inline; the collector (src/gc/) reads
 * it, and decides when objects move between generations. Which generation
 * an object is in is told by its header (object.h) and, for a young one,
 * by its slot here.
 *
 * Invariants (outside a collection): boundary <= len <= cap <= RCY_YOUNG_CAP;
 * items[i] is a hole (odd) or a tracked object whose header says
 * RCY_GEN_YOUNG with slot i, and types[i] is its type. */
#ifndef RCY_TRACK_H
#define RCY_TRACK_H

#include <stdint.h>

#include "recycle.h"

/* Entries the young vector may hold. Automatic collection keeps
   generations 0 and 1 far below it; with the collector disabled (or huge
   thresholds), objects beyond it are placed straight into generation 2: a
   vector as large as the heap would cost memory, and cache misses on every
   death. */
#define RCY_YOUNG_CAP ((uint32_t)1 << 16)

/* Generations 0 and 1 in one vector of pointers: items[0..boundary) are
   generation 1, items[boundary..len) generation 0, so promoting all of
   generation 0 is `boundary = len`. A young object's header has
   RCY_GEN_YOUNG and its index (slot); which of the two generations it is
   in follows from the index. Promoting both into generation 2 empties the
   vector without touching the objects: a header that says RCY_GEN_YOUNG
   but whose slot no longer holds the object (beyond len, or reused)
   belongs to generation 2. A hole is an odd value: the holes of
   generation 0 are chained, (next hole's index + 1) << 1 | 1, and reused
   before the vector grows; those of generation 1 wait for its next
   collection, which empties the vector.
   types[i] is the type of items[i] (unless a hole): a young collection
   traverses its set without finding each type from its address.
   scratch is room for whoever examines the vector: scratch_cap words, one
   per slot (the collector keeps a young collection's gc_refs there: gc/refs.c), then as many
   again (its mark stack of slots). It means nothing outside a collection. It
   grows with the vector, when an allocation needs room, and its pages are
   touched then: a collection, whose length is a pause the program sees,
   neither allocates it nor takes page faults on it. */
typedef struct rcy_young {
    void **items;
    const rcy_type **types;
    int64_t *scratch;
    uint32_t len, cap, boundary;
    uint32_t hole; /* first hole of generation 0, index + 1; 0: none */
    uint32_t scratch_cap;
} rcy_young;

#define RCY_YOUNG_HOLE(next_plus_1) ((void *)(((uintptr_t)(next_plus_1) << 1) | 1))
#define RCY_YOUNG_IS_HOLE(item) (((uintptr_t)(item)&1) != 0)

/* Doubles the young vector's room; 0 at RCY_YOUNG_CAP or out of memory. */
int rcy__young_grow(rcy_young *y);
/* Gives the scratch room for the vector's capacity; 0 if out of memory. */
int rcy__young_fit_scratch(rcy_young *y);

/* 1 if the young vector can take an object without growing. */
static inline int rcy__young_has_room(const rcy_young *y)
{
    return y->hole != 0 || y->len < y->cap;
}

/* Puts o, of type t, into a slot of a young vector that has room
   (rcy__young_has_room): a hole of generation 0 first. Returns the slot. */
static inline uint32_t rcy__young_take_after(rcy_young *y, void *o, const rcy_type *t,
                                             uint32_t hole);
static inline uint32_t rcy__young_take(rcy_young *y, void *o, const rcy_type *t)
{
    return rcy__young_take_after(y, o, t, y->hole);
}

/* The same for a caller that read y->hole already (hole), to test for
   room: the vector's state is read once (rcy_new's fast path). */
static inline uint32_t rcy__young_take_after(rcy_young *y, void *o, const rcy_type *t,
                                             uint32_t hole)
{
    uint32_t slot;
    if (hole) {
        slot = hole - 1;
        y->hole = (uint32_t)((uintptr_t)y->items[slot] >> 1);
    } else {
        slot = y->len++;
    }
    y->items[slot] = o;
    y->types[slot] = t;
    return slot;
}

/* Empties the vector, keeping its memory; the caller has moved its
   objects elsewhere. */
static inline void rcy__young_reset(rcy_young *y)
{
    y->len = y->boundary = y->hole = 0;
}

void rcy__young_fini(rcy_young *y);

#endif
