/* SPDX-License-Identifier: MIT */
/* budget: the check on every growth of held bytes, and the reactions
 * (budget.h says what is counted and where it is asked).
 *
 * An admission past `trip`, in order:
 *   1. an allocation that would cross hard: an emergency reaction (a full
 *      collection even if the collector is disabled, then a purge); if
 *      held would still cross hard, the user's callback (limit = hard),
 *      which may free memory or raise the limits; then one last check, and
 *      a refusal (the caller returns NULL with errno ENOMEM);
 *   2. else, one that would cross the soft reaction's level soft_at, when
 *      pacing allows: a full collection if the collector is enabled, a
 *      purge, then the callback (limit = soft). It is admitted whatever
 *      the reaction achieved (soft is a signal, not a bound), unless,
 *      measured again (the pools changed), it would now cross hard: then
 *      step 1 follows.
 * Lua (an allocation that fails runs an emergency full collection and
 * tries once more), V8 (a near-limit callback that may raise the limit)
 * and Go's GOMEMLIMIT (a soft limit whose collector work is capped) are
 * the models.
 *
 * Pacing of soft reactions, so that a program living at the soft limit
 * does not spend most of its time collecting: after a soft reaction that
 * took d seconds and left `held` bytes, the next one waits until held
 * would pass max(soft, held + margin), margin = max(soft / 16, 1 MiB), and
 * until d seconds have passed since it ended. So the reactions take at
 * most about half of the time (Go caps its collector at 50% of the CPU
 * near GOMEMLIMIT), and the clock is read only when held is past the
 * margin. Hard reactions are not paced: without one the allocation fails. */
#include "mem/budget.h"

#include <stdint.h>

#include "mem/large.h"
#include "mem/pool.h"
#include "os/os.h"
#include "util/compiler.h"

#define SOFT_MARGIN_MIN ((size_t)1 << 20)
#define SOFT_MARGIN_SHARE 16

static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static void update_trip(rcy_budget *B)
{
    size_t soft = B->soft ? B->soft_at : SIZE_MAX;
    size_t hard = B->hard ? B->hard : SIZE_MAX;
    B->trip = soft < hard ? soft : hard;
}

size_t rcy__budget_held(const rcy_budget *B)
{
    return rcy__pools_held(B->pools) + rcy__larges_held(B->large);
}

/* Held after the growth asked for: a pool's (pool), else `more`. Asked
   again after a reaction, which changes what a pool would add. */
static size_t held_after(const rcy_budget *B, int pool, size_t more)
{
    return add_sat(rcy__budget_held(B), pool ? rcy__pools_growth(B->pools) : more);
}

void rcy__budget_set(rcy_budget *B, size_t soft, size_t hard)
{
    B->soft = soft;
    B->hard = hard;
    B->soft_at = soft;
    B->soft_not_before = 0.0;
    update_trip(B);
}

/* The heap handle of the user's callback: a heap begins with its memory
   (heap.h), so they share an address, as rcy__mem_of assumes. */
static rcy_heap *heap_of(const rcy_budget *B)
{
    return (rcy_heap *)(void *)B->owner;
}

/* The user's callback, if any, told the bytes held now. */
static void call_back(rcy_budget *B, size_t limit)
{
    if (B->on_limit)
        B->on_limit(heap_of(B), rcy__budget_held(B), limit, B->on_limit_arg);
}

/* A reaction: collect, purge, and for a soft one call back. Returns when
   it began (rcy__os_now). Nothing reacts while it runs. */
static double react(rcy_budget *B, int emergency)
{
    double t0 = rcy__os_now();
    B->reacting = 1;
    if (B->collect)
        B->collect(B->owner, emergency);
    rcy__pools_purge(B->pools);
    if (!emergency)
        call_back(B, B->soft);
    B->reacting = 0;
    return t0;
}

static void soft_reaction(rcy_budget *B)
{
    double t0 = react(B, 0);
    double t1 = rcy__os_now();
    B->soft_reactions++;
    B->reaction_seconds += t1 - t0;
    size_t margin = B->soft / SOFT_MARGIN_SHARE;
    margin = margin < SOFT_MARGIN_MIN ? SOFT_MARGIN_MIN : margin;
    size_t next = add_sat(rcy__budget_held(B), margin);
    if (B->soft) { /* as the callback may have left it */
        B->soft_at = next > B->soft ? next : B->soft;
        B->soft_not_before = t1 + (t1 - t0);
    }
    update_trip(B);
}

static int soft_due(const rcy_budget *B, size_t after)
{
    return B->soft && after > B->soft_at && rcy__os_now() >= B->soft_not_before;
}

static int over_hard(const rcy_budget *B, size_t after)
{
    return B->hard && after > B->hard;
}

static int refuse(rcy_budget *B)
{
    B->failures++;
    return -1;
}

/* Step 1 of the top of this file: 0 if the growth may go on after all. */
static int hard_reaction(rcy_budget *B, int pool, size_t more)
{
    double t0 = react(B, 1);
    B->hard_reactions++;
    int over = over_hard(B, held_after(B, pool, more));
    if (over) {
        B->reacting = 1;
        call_back(B, B->hard);
        B->reacting = 0;
        over = over_hard(B, held_after(B, pool, more));
    }
    B->reaction_seconds += rcy__os_now() - t0;
    return over ? refuse(B) : 0;
}

static RCY_NOINLINE int admit_slow(rcy_budget *B, int pool, size_t more, size_t after)
{
    if (B->reacting)
        return over_hard(B, after) ? refuse(B) : 0;
    if (!over_hard(B, after) && soft_due(B, after)) {
        soft_reaction(B);
        after = held_after(B, pool, more); /* the pools changed: measure again */
    }
    return over_hard(B, after) ? hard_reaction(B, pool, more) : 0;
}

static int admit(rcy_budget *B, int pool, size_t more)
{
    if (B->trip == SIZE_MAX)
        return 0;
    size_t after = held_after(B, pool, more);
    return RCY_LIKELY(after <= B->trip) ? 0 : admit_slow(B, pool, more, after);
}

int rcy__budget_admit(rcy_budget *B, size_t more)
{
    return admit(B, 0, more);
}

/* The pool layer's hook (rcy_pools.admit): a new pool, or more bytes. */
static int admit_pool(void *arg, size_t more)
{
    return more ? admit(arg, 0, more) : admit(arg, 1, 0);
}

void rcy__budget_init(rcy_budget *B, struct rcy_mem *owner, rcy_pools *P, const rcy_larges *L)
{
    *B = (rcy_budget){0};
    B->owner = owner;
    B->pools = P;
    B->large = L;
    P->admit = admit_pool;
    P->admit_arg = B;
    rcy__budget_set(B, 0, 0);
}
