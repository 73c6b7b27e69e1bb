/* SPDX-License-Identifier: MIT */
/* world: one collection over several heaps at once (gc/world.c), for the
 * heap layer's stop-the-world collection (heap_world.c). */
#ifndef RCY_GC_WORLD_H
#define RCY_GC_WORLD_H

#include "gc/gc.h"

/* Collects the heaps hs[0..n) together, as if they were one: the objects
   unreachable from outside all of them die, cycles across the heaps
   included. Every thread that could touch an object of these heaps must be
   stopped (heap_world.c). Returns the unreachable objects found. */
size_t rcy__gc_collect_heaps(rcy_heap *const *hs, size_t n);

/* Empties the inboxes of hs[0..n) (obj/count.h) until all are empty:
   deaths and merges, with the other threads stopped. */
void rcy__gc_drain_heaps(rcy_heap *const *hs, size_t n);

#endif
