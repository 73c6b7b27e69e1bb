/* SPDX-License-Identifier: MIT */
/* collect: one collection, and when collections happen. The algorithm is
 * CPython's (Python/gc.c); collect() lists its steps in order, each a
 * function of the file that owns it:
 *   1. the set, and where its gc_refs live (refs.c, refs.h): the part of
 *      the young vector holding the generations collected, or for a full
 *      collection every tracked object, found by walking the blocks of
 *      RCY_KIND_OBJECTS (walk.h; there are no list links);
 *   2. update and subtract (refs.c): gc_refs = refcount minus one for
 *      every reference from inside the set leaves the references from
 *      outside;
 *   3. mark (refs.c): what has gc_refs > 0, and all it reaches, is
 *      reachable;
 *   4. settle (garbage.c): survivors go to the next generation; the rest
 *      are garbage, held in g->unreachable;
 *   5. weak references to garbage are cleared, 6. finalizers run, 7.
 *      steps 2-3 again on the garbage keep what a finalizer resurrected
 *      (skipped if no user code ran), 8. the rest are cleared and die by
 *      reference count (garbage.c).
 * validate.c checks, in checked builds, what must hold between the steps;
 * the header bits each step borrows: refs.h (COLLECTING, SCANNED, gc_refs
 * in the slot bits) and garbage.c (UNREACHABLE).
 *
 * Drop pacing (rcy_gc_set_drop_pacing, on by default): a cycle becomes
 * garbage when its last outside reference is dropped while its own
 * references keep its counts above zero. The object layer counts such
 * drops (the first per object since the collector last examined it:
 * rcy_impl_decref_note). If none was noted since generation g was last really
 * collected, an automatic collection of g (0 or 1) only promotes, and
 * keeps the counts, callbacks and stats a real one would. Allocation-heavy
 * programs that make no cycles (trees, lists built and freed) then pay
 * almost nothing for the collector. What it misses: a cycle orphaned by
 * moving, not dropping, its last outside reference into the cycle itself;
 * full collections, which are never skipped, find it, and such garbage
 * adds to the growth that triggers them (100% when no drop was noted
 * since the last one, else 25%), so it stays below the size of the live
 * heap (test_gc's test_moved_cycles_bounded).
 *
 * Automatic collection: allocations of tracked objects raise count[0]
 * (the object layer's young_count); when it passes threshold[0] the object
 * layer calls young_full(), which collects the oldest generation whose
 * count passes its threshold, as in CPython. A full collection also waits
 * until the number of tracked objects has grown by 25% since the last one
 * (CPython counts objects promoted into generation 2 instead; counting the
 * live total needs no scan and ignores objects that died old), or by 100%
 * if drop pacing saw no drop since (full_growth), which keeps the total
 * work linear in the heap size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gc/internal.h"
#include "gc/refs.h"
#include "gc/walk.h"
#include "os/os.h"

/* ---- one collection ---- */

static void update_counts(rcy_gc *g, int gen)
{
    if (gen + 1 < RCY_GENERATIONS)
        g->count[gen + 1]++;
    for (int i = 1; i <= gen; i++)
        g->count[i] = 0;
    g->weak.objects.young_count = 0;
}

/* Drop pacing is on and no drop was noted since generation gen was last
   really collected. */
static int paced_and_nothing_dropped(const rcy_gc *g, int gen)
{
    return g->drop_pacing && g->weak.objects.noted == g->noted_at[gen];
}

/* With drop pacing, a collection of generation 0 or 1 with no drop noted
   since that generation was last really collected is skipped. Full
   collections always scan: they also find cycles that were orphaned with
   no drop at all, by moving the last outside reference into the cycle. */
static int may_skip(rcy_gc *g, int gen)
{
    return gen < 2 && paced_and_nothing_dropped(g, gen);
}

/* A collection proven empty: promotion without scanning, O(1) (the
   objects of an emptied young vector are old: see rcy_young). */
static void skip_collection(rcy_gc *g, unsigned gen)
{
    size_t survivors = 0;
    for (unsigned i = 0; i <= gen; i++)
        survivors += g->weak.objects.count[i];
    rcy__gc_promote_young(g, gen, survivors);
    g->skipped[gen]++;
}

/* One collection of `gen`; an automatic one may be skipped (drop pacing). */
static size_t collect(rcy_gc *g, int gen, int automatic)
{
    g->current = (rcy_collection){(unsigned)gen, gen < 2 ? (unsigned)gen + 1 : 2};
    g->stats[gen].collections++;
    rcy__gc_check_idle(g);
    if (automatic && may_skip(g, gen)) {
        skip_collection(g, (unsigned)gen);
        update_counts(g, gen);
        return 0;
    }
    update_counts(g, gen);
    for (int i = 0; i <= gen; i++) /* drops from now on count for the next one */
        g->noted_at[i] = g->weak.objects.noted;

    rcy_refs refs;
    rcy__gc_refs_begin(g, &refs); /* 1 */
    rcy__gc_update_refs(&refs);   /* 2 */
    rcy__gc_subtract_refs(&refs);
    rcy__gc_mark_reachable(&refs); /* 3 */
    g->hold_failed = 0;
    rcy__gc_settle(g, &refs); /* 4 */
    rcy__gc_refs_end(&refs);
    size_t n = g->unreachable.len;
    if (g->debug & RCY_DEBUG_COLLECTABLE)
        rcy__gc_print_collectable(&g->unreachable);
    /* 5, 6: only if step 4 held garbage that has weak references, or
       whose type has a finalizer */
    int user_code_ran = 0;
    if (g->garbage_needs & RCY_GC_NEEDS_WEAKREFS)
        user_code_ran |= rcy__gc_handle_weakrefs(g, &g->unreachable);
    if (g->garbage_needs & RCY_GC_NEEDS_FINALIZE)
        user_code_ran |= rcy__gc_finalize_garbage(&g->unreachable);
    /* else nothing can have changed since step 4: unless an object the
       mark found unreachable could not be held (out of memory), survived,
       and keeps references into the garbage */
    if (user_code_ran || g->hold_failed)
        rcy__gc_handle_resurrected(g, &g->unreachable); /* 7 */
    rcy__gc_delete_garbage(g, &g->unreachable);         /* 8 */
    rcy__gc_check_idle(g);

    if (gen == 2)
        g->long_lived_total = rcy__tracked_count(&g->weak.objects);
    g->stats[gen].collected += n;
    return n;
}

static void run_callbacks(rcy_gc *g, const char *phase, const rcy_gc_info *info)
{
    for (size_t i = 0; i < g->ncallbacks; i++)
        g->callbacks[i].fn(phase, info, g->callbacks[i].arg);
}

static void print_start(rcy_gc *g, int gen)
{
    fprintf(stderr, "gc: collecting generation %d...\n", gen);
    const size_t *n = g->weak.objects.count;
    fprintf(stderr, "gc: objects in each generation: %zu %zu %zu\n", n[0], n[1], n[2]);
    fprintf(stderr, "gc: objects in permanent generation: %zu\n", n[RCY_GEN_PERMANENT]);
}

void rcy__gc_update_young_limit(rcy_gc *g)
{
    int automatic = g->enabled && g->threshold[0] > 0 && !g->collecting;
    g->weak.objects.young_limit = automatic ? g->threshold[0] : SIZE_MAX;
}

/* A collection with everything around it (internal.h). */
size_t rcy__gc_collect(rcy_gc *g, int gen, int automatic)
{
    g->collecting = 1;
    rcy__gc_update_young_limit(g);
    rcy_gc_info info = {gen, 0, 0, 0.0};
    run_callbacks(g, "start", &info);
    if (g->debug & RCY_DEBUG_STATS)
        print_start(g, gen);
    size_t skipped = g->skipped[gen];
    double t0 = rcy__os_now();
    info.collected = collect(g, gen, automatic);
    info.duration_s = rcy__os_now() - t0;
    if (g->debug & RCY_DEBUG_STATS)
        fprintf(stderr, "gc: done, %zu unreachable, 0 uncollectable, %.4fs elapsed%s\n",
                info.collected, info.duration_s,
                g->skipped[gen] != skipped ? " (skipped: no reference dropped since the last scan)"
                                           : "");
    run_callbacks(g, "stop", &info);
    g->collecting = 0;
    rcy__gc_update_young_limit(g);
    return info.collected + info.uncollectable;
}

/* How much the tracked objects must have grown since the last full
   collection for another: 25%, or 100% when drop pacing is on and no drop
   was noted since. Then the only garbage a full collection could find is
   cycles abandoned as they were built, and those count in the growth. */
static size_t full_growth(const rcy_gc *g)
{
    size_t base = g->long_lived_total;
    return paced_and_nothing_dropped(g, 2) ? base : base / 4;
}

/* Called by the object layer when count[0] passes threshold[0]. */
static void young_full(rcy_objects *O)
{
    rcy_gc *g = rcy__gc_of_objects(O);
    int gen = 0;
    for (int i = RCY_GENERATIONS - 1; i > 0; i--) {
        if (g->count[i] <= g->threshold[i])
            continue;
        size_t tracked = rcy__tracked_count(&g->weak.objects);
        if (i == 2 && tracked < g->long_lived_total + full_growth(g))
            continue; /* the heap has not grown enough: not worth a full pass yet */
        gen = i;
        break;
    }
    rcy__gc_collect(g, gen, 1);
}

/* ---- the collector's state ---- */

/* The collector's own part of g, after the layers below it. */
static void zero_own_state(rcy_gc *g)
{
    memset((char *)g + sizeof g->weak, 0, sizeof *g - sizeof g->weak);
}

/* After the layers below are made: registers the young_full hook. */
void rcy__gc_init(rcy_gc *g)
{
    zero_own_state(g);
    g->threshold[0] = 700; /* CPython's defaults before 3.13 */
    g->threshold[1] = 10;
    g->threshold[2] = 10;
    g->enabled = 1;
    g->drop_pacing = 1;
    g->forced_refs = RCY_REFS_AUTO;
    g->weak.objects.young_full = young_full;
    rcy__gc_update_young_limit(g);
}

void rcy__gc_fini(rcy_gc *g)
{
    free(g->callbacks);
    rcy__ptrvec_fini(&g->garbage); /* the objects go with the heap's memory */
    rcy__ptrvec_fini(&g->unreachable);
    rcy__ptrvec_fini(&g->stack);
    rcy__ptrvec_fini(&g->passed);
    zero_own_state(g);
}
