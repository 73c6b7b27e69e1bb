/* SPDX-License-Identifier: MIT */
/* heap: what a heap is made of, the composition root. Each layer's part
 * embeds the part of the layer below as its first member, so one address
 * is the heap, its collector, its weak references, its objects and its
 * memory: a layer converts the rcy_heap handle of a public call into its
 * own part, and a block's owner (its rcy_mem) into the part of a layer
 * above that embeds it, without knowing anything above itself. heap.c
 * asserts the layout; it alone sees every layer. */
#ifndef RCY_HEAP_H
#define RCY_HEAP_H

#include "gc/gc.h"

struct rcy_heap {
    rcy_gc gc; /* gc.weak.objects.mem: every layer, lowest innermost */
};

#endif
