/* SPDX-License-Identifier: MIT */
/* world: the collection of several heaps at once, with every thread that
 * could touch their objects stopped (the heap layer's heap_world.c stops
 * them at safepoints, as free-threaded CPython stops the world).
 *
 * A heap's own collections see only its objects, and take an object that
 * another thread has counted (obj/count.h, STICKY) as referenced from
 * outside, so a cycle that spans heaps, or runs through objects other
 * threads touched, is never garbage to them. Here the heaps are one set:
 *   1. the inboxes are emptied (queued deaths and merges), so that every
 *      count is exact: the owner's and the shared one merged;
 *   2. every tracked object of every heap gets gc_refs = its count, in an
 *      array beside a map from object to index (the heaps' own gc_refs
 *      places belong to their collections, which may be C's next change);
 *   3. each reference from a member to a member subtracts one;
 *   4. members with gc_refs > 0 and all they reach are reachable;
 *   5. the rest, U, is held (one reference each), its weak references
 *      cleared (callbacks of the weak references outside U run),
 *      finalizers run once; the ones a finalizer resurrected (gc_refs
 *      again > 0 within U, and what they reach) survive;
 *   6. the others are cleared (their references dropped), the holds
 *      dropped, and the inboxes emptied again: they die. Finalize, clear
 *      and destroy of this garbage run on the collecting thread.
 * Frozen objects (the permanent generation) and objects of heaps outside
 * the set count as roots. Costs: a map insert and lookup per object and
 * per reference, well above a heap's own collection; it runs rarely. */
#include "gc/world.h"

#include <string.h>

#include "gc/walk.h"
#include "util/misuse.h"

typedef struct world {
    rcy_ptrmap index; /* object -> its index + 1 */
    rcy_ptrvec objs;
    int64_t *refs;
    uint8_t *state; /* 0 unknown, 1 reachable, 2 garbage, 3 resurrected */
    rcy_ptrvec stack;
} world;

static RCY_NOINLINE void no_memory(void)
{
    rcy__misuse("rcy_gc_collect_world: out of memory for the collection's tables");
}

static size_t index_of(const world *w, const void *o)
{
    void **v = rcy__ptrmap_find(&w->index, (uintptr_t)o);
    return v ? (size_t)(uintptr_t)*v : 0;
}

static RCY_ALWAYS_INLINE void gather_step(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                          void *arg)
{
    (void)g, (void)t, (void)i;
    world *w = arg;
    void **v = rcy__ptrmap_insert(&w->index, (uintptr_t)o);
    if (!v || !rcy__ptrvec_push(&w->objs, o))
        no_memory();
    *v = (void *)(uintptr_t)w->objs.len;
}

static RCY_ALWAYS_INLINE void visit_subtract(void **slot, void *arg)
{
    world *w = arg;
    size_t k = *slot ? index_of(w, *slot) : 0;
    if (k)
        w->refs[k - 1]--;
}

static RCY_ALWAYS_INLINE void visit_mark(void **slot, void *arg)
{
    world *w = arg;
    size_t k = *slot ? index_of(w, *slot) : 0;
    if (k && w->state[k - 1] == 0) {
        w->state[k - 1] = 1;
        if (!rcy__ptrvec_push(&w->stack, *slot))
            no_memory();
    }
}

/* Marks reachable (state 1) everything reachable from the stack's objects
   through objects of state 0. */
static void mark_from_stack(world *w)
{
    while (w->stack.len) {
        void *o = w->stack.items[--w->stack.len];
        rcy__traverse(o, visit_mark, w);
    }
}

/* Within U (state 2): gc_refs again, for the objects finalizers may have
   resurrected. */
static RCY_ALWAYS_INLINE void visit_subtract_garbage(void **slot, void *arg)
{
    world *w = arg;
    size_t k = *slot ? index_of(w, *slot) : 0;
    if (k && w->state[k - 1] == 2)
        w->refs[k - 1]--;
}

static RCY_ALWAYS_INLINE void visit_resurrect(void **slot, void *arg)
{
    world *w = arg;
    size_t k = *slot ? index_of(w, *slot) : 0;
    if (k && w->state[k - 1] == 2) {
        w->state[k - 1] = 3;
        if (!rcy__ptrvec_push(&w->stack, *slot))
            no_memory();
    }
}

static _Thread_local world *filtering; /* for keep_callback, which has no argument */

/* A weak reference's callback runs only if the weak reference itself is
   not garbage (CPython's rule). */
static int keep_callback(void *wr)
{
    size_t k = index_of(filtering, wr);
    return !k || filtering->state[k - 1] != 2;
}

void rcy__gc_drain_heaps(rcy_heap *const *hs, size_t n)
{
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < n; i++) {
            rcy_objects *O = &rcy__gc_of(hs[i])->weak.objects;
            if (!rcy__objects_inbox_empty(O)) {
                rcy__objects_drain(O, 1);
                again = 1;
            }
        }
    }
}

static void gather(world *w, rcy_heap *const *hs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rcy__gc_walk_tracked(rcy__gc_of(hs[i]), RCY_GEN_OLD, gather_step, w);
    size_t m = w->objs.len;
    w->refs = rcy__sys_malloc((m ? m : 1) * sizeof *w->refs);
    w->state = rcy__sys_calloc(m ? m : 1, 1);
    if (!w->refs || !w->state)
        no_memory();
}

/* Steps 2-4; returns the size of U (state 2). */
static size_t find_unreachable(world *w)
{
    size_t m = w->objs.len, garbage = 0;
    for (size_t i = 0; i < m; i++)
        w->refs[i] = (int64_t)rcy__object_count(w->objs.items[i]);
    for (size_t i = 0; i < m; i++)
        rcy__traverse(w->objs.items[i], visit_subtract, w);
    for (size_t i = 0; i < m; i++)
        if (w->refs[i] > 0 && w->state[i] == 0) {
            w->state[i] = 1;
            if (!rcy__ptrvec_push(&w->stack, w->objs.items[i]))
                no_memory();
            mark_from_stack(w);
        }
    for (size_t i = 0; i < m; i++)
        if (w->state[i] == 0) {
            w->state[i] = 2;
            garbage++;
        }
    return garbage;
}

/* Step 5: weak references and finalizers of U, which is held. */
static void weakrefs_and_finalizers(world *w)
{
    size_t m = w->objs.len;
    rcy_weakref *callbacks = NULL;
    filtering = w;
    for (size_t i = 0; i < m; i++) {
        void *o = w->objs.items[i];
        if (w->state[i] == 2 && (RCY_HEAD(o)->gcword & RCY_GC_WEAKREFD)) {
            rcy_arena *a;
            rcy_weaks *W = rcy__weaks_of_objects(rcy__object_home(o, &a));
            rcy__weak_filter(rcy__weak_detach(W, o), keep_callback, &callbacks);
        }
    }
    filtering = NULL;
    rcy__weak_run(callbacks);
    for (size_t i = 0; i < m; i++) {
        void *o = w->objs.items[i];
        const rcy_type *t = rcy__type(o);
        rcy_objhead *hd = RCY_HEAD(o);
        if (w->state[i] != 2 || !t->finalize || (hd->gcword & RCY_GC_FINALIZED))
            continue;
        hd->gcword |= RCY_GC_FINALIZED | RCY_GC_FINALIZING;
        t->finalize(o);
        hd->gcword &= ~RCY_GC_FINALIZING;
    }
}

/* Objects of U that a finalizer made reachable again, and what they reach
   in U, become state 3. */
static void find_resurrected(world *w)
{
    size_t m = w->objs.len;
    for (size_t i = 0; i < m; i++)
        if (w->state[i] == 2)
            w->refs[i] = (int64_t)rcy__object_count(w->objs.items[i]) - 1; /* less the hold */
    for (size_t i = 0; i < m; i++)
        if (w->state[i] == 2)
            rcy__traverse(w->objs.items[i], visit_subtract_garbage, w);
    for (size_t i = 0; i < m; i++)
        if (w->state[i] == 2 && w->refs[i] > 0) {
            w->state[i] = 3;
            if (!rcy__ptrvec_push(&w->stack, w->objs.items[i]))
                no_memory();
            while (w->stack.len) {
                void *o = w->stack.items[--w->stack.len];
                rcy__traverse(o, visit_resurrect, w);
            }
        }
}

size_t rcy__gc_collect_heaps(rcy_heap *const *hs, size_t n)
{
    rcy__gc_drain_heaps(hs, n);
    world w = {0};
    gather(&w, hs, n);
    size_t found = find_unreachable(&w), m = w.objs.len;
    if (found) {
        for (size_t i = 0; i < m; i++)
            if (w.state[i] == 2)
                rcy_incref(w.objs.items[i]); /* the hold */
        weakrefs_and_finalizers(&w);
        find_resurrected(&w);
        for (size_t i = 0; i < m; i++)
            if (w.state[i] == 2)
                rcy__clear_refs(w.objs.items[i]);
        for (size_t i = 0; i < m; i++)
            if (w.state[i] >= 2)
                rcy_decref(w.objs.items[i]);
        rcy__gc_drain_heaps(hs, n);
    }
    rcy__ptrmap_fini(&w.index);
    rcy__ptrvec_fini(&w.objs);
    rcy__ptrvec_fini(&w.stack);
    rcy__sys_free(w.refs);
    rcy__sys_free(w.state);
    return found;
}
