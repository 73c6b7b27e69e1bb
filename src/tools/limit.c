/* SPDX-License-Identifier: MIT */
/* limit: rcy_heap_set_limit and friends, and the collection the memory
 * budget asks for when a limit is crossed (mem/budget.c has the rules:
 * when a reaction runs, the purge after it, the callback, the pacing).
 * A collection needs the collector, above the memory layer, hence this
 * hook. It is never re-entered: the budget reacts to nothing while a
 * reaction runs, and rcy_gc_collect returns 0 at once if it is called
 * inside a running collection (an allocation by a finalizer). */
#include "tools/limit.h"

#include <errno.h>

#include "gc/gc.h"

/* The heap whose memory is M: a heap begins with every layer's part. */
static rcy_heap *heap_of(rcy_mem *M)
{
    return rcy__objects_heap(rcy__objects_of_mem(M));
}

/* The budget's collect hook. An emergency collection runs even if the
   collector is disabled: the allocation fails without it. */
static void collect(rcy_mem *M, int emergency)
{
    rcy_heap *h = heap_of(M);
    if (emergency || rcy_gc_isenabled(h))
        (void)rcy_gc_collect(h, -1);
}

void rcy__limit_init(rcy_mem *M)
{
    M->budget.collect = collect;
}

int rcy_heap_set_limit(rcy_heap *h, size_t soft, size_t hard)
{
    if (soft && hard && soft > hard) {
        errno = EINVAL;
        return -1;
    }
    rcy__budget_set(&rcy__mem_of(h)->budget, soft, hard);
    return 0;
}

void rcy_heap_get_limit(rcy_heap *h, size_t *soft, size_t *hard)
{
    const rcy_budget *B = &rcy__mem_of(h)->budget;
    if (soft)
        *soft = B->soft;
    if (hard)
        *hard = B->hard;
}

void rcy_heap_on_limit(rcy_heap *h, rcy_limit_fn fn, void *arg)
{
    rcy_budget *B = &rcy__mem_of(h)->budget;
    B->on_limit = fn;
    B->on_limit_arg = arg;
}
