/* SPDX-License-Identifier: MIT */
/* budget: a heap's memory limits, as the memory layer enforces them
 * (rcy_heap_set_limit; docs/design.md, "Memory budget").
 *
 * Held bytes: what the heap holds from the OS, as the pool layer counts
 * its part (rcy__pools_held: pools in use, empty pools still holding
 * pages, each mapped arena's bookkeeping) plus large blocks with their
 * headers (rcy__larges_held). The heap's tables from the system allocator
 * (the large-block set, the young vector, the weak-reference table, the
 * collector's work lists) are not counted.
 *
 * Held grows only on slow paths, and each asks here first: a pool taking
 * pages (pool.c, through rcy_pools.admit) and a large block allocated or
 * grown (alloc.c). While held stays under `trip` that is one comparison.
 * Past it, budget.c reacts (the collector, through the collect hook the
 * tools layer registers, then a purge and the user's callback) and admits
 * or refuses.
 *
 * Invariants: held never passes a non-zero hard limit through an admitted
 * growth; trip is the lower of hard and the soft reaction's level soft_at
 * (SIZE_MAX for none); while `reacting`, nothing reacts again (a
 * finalizer's allocation during the reaction's collection, the callback's
 * own allocations): over hard they are refused at once. */
#ifndef RCY_BUDGET_H
#define RCY_BUDGET_H

#include <stddef.h>

#include "recycle.h"

struct rcy_mem;
struct rcy_pools;
struct rcy_larges;

typedef struct rcy_budget {
    size_t soft, hard;      /* 0: none */
    size_t soft_at;         /* the next soft reaction when held would pass this */
    size_t trip;            /* min(soft_at, hard): below it, admit at once */
    double soft_not_before; /* nor before this time (rcy__os_now): pacing */
    int reacting;
    struct rcy_mem *owner;
    struct rcy_pools *pools;
    const struct rcy_larges *large;
    /* A full collection of the heap, registered by the tools layer (the
       collector is above this layer); emergency: even if the collector is
       disabled. NULL: the reaction only purges. */
    void (*collect)(struct rcy_mem *M, int emergency);
    rcy_limit_fn on_limit; /* the user's callback */
    void *on_limit_arg;
    size_t soft_reactions, hard_reactions, failures;
    double reaction_seconds;
} rcy_budget;

/* No limits; registers the admit hook of P. */
void rcy__budget_init(rcy_budget *B, struct rcy_mem *owner, struct rcy_pools *P,
                      const struct rcy_larges *L);
/* The caller has checked soft <= hard when both are set. */
void rcy__budget_set(rcy_budget *B, size_t soft, size_t hard);
size_t rcy__budget_held(const rcy_budget *B);
/* Before held grows by `more` bytes (a large block): 0 if it may, -1 if
   the hard limit refuses. May react first: objects die, pools change. */
int rcy__budget_admit(rcy_budget *B, size_t more);

#endif
