/* gc: the generational cycle collector and Python's gc module.
 *
 * The algorithm is CPython's (Python/gc.c), phase by phase in collect():
 *   1. merge the younger generations into the one collected;
 *   2. update_refs: gc_refs = refcount, for each object of the set;
 *   3. subtract_refs: for every reference from inside the set, gc_refs - 1;
 *      what remains counts references from outside;
 *   4. move_unreachable: objects with gc_refs > 0, and all they reach, are
 *      reachable; the rest move to `unreachable`. No recursion: an object
 *      found reachable late is moved back to the tail of the list it scans;
 *   5. survivors are promoted to the next generation;
 *   6. weak references to garbage are cleared; callbacks run only for
 *      weak references that are not garbage themselves;
 *   7. finalizers run, each at most once;
 *   8. steps 2-4 again on the garbage: what a finalizer resurrected, and
 *      all it reaches, survives whole;
 *   9. the rest are cleared through traverse and die by reference count.
 *
 * Header bits borrowed during a collection (object.h): RCY_GC_COLLECTING
 * marks the set being examined, RCY_GC_UNREACHABLE the tentatively
 * unreachable, and gc_refs lives in RCY_GC_REFS_MASK. A survivor's bits are
 * cleared as soon as it is known reachable, so outside phases 2-4 only
 * garbage carries them.
 *
 * Drop pacing (rcy_gc_set_drop_pacing, off by default): a cycle becomes
 * garbage when its last outside reference is dropped while its own
 * references keep its counts above zero. The object layer counts such
 * drops (the first per object since the collector last examined it:
 * rcy__decref_note). If none was noted since generation g was last really
 * collected, an automatic collection of g (0 or 1) only promotes, an O(1)
 * list merge, and keeps the counts, callbacks and stats a real one would.
 * Allocation-heavy programs that make no cycles (trees, lists built and
 * freed) then pay almost nothing for the collector. What it misses: a
 * cycle orphaned by moving, not dropping, its last outside reference into
 * the cycle itself; full collections, which are never skipped, find it.
 *
 * Automatic collection: allocations of tracked objects raise count[0]
 * (the object layer's young_count); when it passes threshold[0] the object
 * layer calls young_full(), which collects the oldest generation whose
 * count passes its threshold, as in CPython. A full collection also waits
 * until the number of tracked objects has grown by 25% since the last one
 * (CPython counts objects promoted into generation 2 instead; counting the
 * live total needs no scan and ignores objects that died old), which keeps
 * the total work linear in the heap size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "os.h"
#include "weakref.h"

/* ---- small helpers ---- */

static uint32_t gc_refs(const void *o)
{
    return RCY_HEAD(o)->gcword & RCY_GC_REFS_MASK;
}

static void set_gc_refs(void *o, uint32_t refs)
{
    rcy_objhead *hd = RCY_HEAD(o);
    hd->gcword = (hd->gcword & ~RCY_GC_REFS_MASK) | refs;
}

/* Also forgets a noted drop: the object has been examined (or will be),
   and its next drop is reported again. */
static void clear_collecting(void *o)
{
    RCY_HEAD(o)->gcword &=
        ~(RCY_GC_COLLECTING | RCY_GC_UNREACHABLE | RCY_GC_NOTED | RCY_GC_REFS_MASK);
}

#define FOR_EACH(x, list) for (rcy_gclink *x = (list)->next; x != (list); x = x->next)

static size_t list_size(const rcy_gclink *list)
{
    size_t n = 0;
    for (const rcy_gclink *x = list->next; x != list; x = x->next)
        n++;
    return n;
}

rcy_gclink *rcy__gc_generation(rcy_heap *h, int n)
{
    return n == 0 ? &h->objects.young : &h->gc.old[n - 1];
}

static const char *type_name(const void *o)
{
    const char *name = rcy__type(o)->name;
    return name ? name : "?";
}

/* ---- validation ---- */

/* Level 3: a list is well linked and its objects carry exactly the
   collector bits `bits` (among COLLECTING and UNREACHABLE). Called at the
   phase boundaries of collect(). */
static void validate_list(const rcy_gclink *list, uint32_t bits)
{
#if RCY_CHECK_LEVEL >= 3
    for (const rcy_gclink *x = list->next; x != list; x = x->next) {
        const void *o = rcy__link_object(x);
        RCY_ASSERT(x->next->prev == x && x->prev->next == x);
        RCY_ASSERT((RCY_HEAD(o)->gcword & (RCY_GC_COLLECTING | RCY_GC_UNREACHABLE)) == bits);
        RCY_ASSERT(RCY_HEAD(o)->gcword & RCY_GC_TRACKED);
        RCY_ASSERT(RCY_HEAD(o)->refcnt > 0);
    }
#else
    (void)list, (void)bits;
#endif
}

/* ---- phases 2-4: who is unreachable ---- */

/* Phase 2. Returns the size of the set. */
static size_t update_refs(rcy_gclink *set)
{
    size_t n = 0;
    FOR_EACH(x, set) {
        void *o = rcy__link_object(x);
        uint32_t rc = RCY_HEAD(o)->refcnt;
        clear_collecting(o);
        RCY_HEAD(o)->gcword |= RCY_GC_COLLECTING | (rc < RCY_GC_REFS_MASK ? rc : RCY_GC_REFS_MASK);
        n++;
    }
    return n;
}

static void visit_subtract(void **slot, void *arg)
{
    (void)arg;
    void *child = *slot;
    if (child && (RCY_HEAD(child)->gcword & RCY_GC_COLLECTING)) {
        uint32_t refs = gc_refs(child);
        RCY_ASSERT(refs > 0); /* more references from inside than its count */
        if (refs != 0 && refs != RCY_GC_REFS_MASK) /* saturated counts stay put */
            set_gc_refs(child, refs - 1);
    }
}

/* Phase 3. */
static void subtract_refs(rcy_gclink *set)
{
    FOR_EACH(x, set) rcy__traverse(rcy__link_object(x), visit_subtract, NULL);
}

static void visit_reachable(void **slot, void *arg)
{
    void *child = *slot;
    if (!child)
        return;
    uint32_t w = RCY_HEAD(child)->gcword;
    if (!(w & RCY_GC_COLLECTING))
        return; /* outside the set, or already known reachable */
    if (w & RCY_GC_UNREACHABLE) {
        RCY_HEAD(child)->gcword &= ~RCY_GC_UNREACHABLE;
        set_gc_refs(child, 1);
        rcy__list_move(rcy__links(child), (rcy_gclink *)arg); /* scanned again later */
    } else if ((w & RCY_GC_REFS_MASK) == 0) {
        set_gc_refs(child, 1);
    }
}

/* Phase 4. Leaves the reachable in `set` with their collector bits
   cleared, and moves the unreachable to `unreachable` (bits kept).
   `unreachable` must start empty. Returns how many were unreachable. */
static size_t move_unreachable(rcy_gclink *set, rcy_gclink *unreachable)
{
    rcy_gclink *x = set->next;
    while (x != set) {
        void *o = rcy__link_object(x);
        rcy_gclink *next = x->next;
        if (gc_refs(o) > 0) {
            clear_collecting(o); /* final: visits below ignore it */
            rcy__traverse(o, visit_reachable, set);
            next = x->next; /* traverse may have appended to the set */
        } else {
            RCY_HEAD(o)->gcword |= RCY_GC_UNREACHABLE;
            rcy__list_move(x, unreachable);
        }
        x = next;
    }
    return list_size(unreachable); /* some that left came back */
}

/* ---- phases 6-9: what happens to the garbage ---- */

static int weakref_survives(void *wr)
{
    return !(RCY_HEAD(wr)->gcword & RCY_GC_UNREACHABLE);
}

/* Phase 6. */
static void handle_weakrefs(rcy_heap *h, rcy_gclink *garbage)
{
    rcy_weakref *callbacks = NULL;
    FOR_EACH(x, garbage) {
        void *o = rcy__link_object(x);
        if (RCY_HEAD(o)->type_and_flags & RCY_TF_WEAKREFD)
            rcy__weak_filter(rcy__weak_detach(h, o), weakref_survives, &callbacks);
    }
    rcy__weak_run(callbacks);
}

/* Phase 7. Each object moves to `seen` before its finalizer runs, so the
   loop is safe whatever the finalizers free or create. */
static void finalize_garbage(rcy_gclink *garbage)
{
    rcy_gclink seen;
    rcy__list_init(&seen);
    while (!rcy__list_empty(garbage)) {
        rcy_gclink *x = garbage->next;
        void *o = rcy__link_object(x);
        rcy__list_move(x, &seen);
        const rcy_type *t = rcy__type(o);
        if (t->finalize && !(RCY_HEAD(o)->type_and_flags & RCY_TF_FINALIZED)) {
            RCY_HEAD(o)->type_and_flags |= RCY_TF_FINALIZED;
            rcy_incref(o);
            t->finalize(o);
            rcy_decref(o);
        }
    }
    rcy__list_merge(&seen, garbage);
}

/* Phase 8. Survivors of `garbage` (resurrected) move to `old`; what stays
   in `garbage` is still unreachable. */
static void handle_resurrected(rcy_gclink *garbage, rcy_gclink *old)
{
    rcy_gclink still;
    rcy__list_init(&still);
    update_refs(garbage);
    subtract_refs(garbage);
    move_unreachable(garbage, &still);
    rcy__list_merge(garbage, old);
    rcy__list_merge(&still, garbage);
}

static void keep_as_garbage(rcy_heap *h, void *o)
{
    rcy_gc *g = &h->gc;
    if (g->ngarbage == g->garbage_cap) {
        size_t cap = g->garbage_cap ? g->garbage_cap * 2 : 64;
        void **grown = realloc(g->garbage, cap * sizeof *grown);
        if (!grown)
            return; /* it stays in the old generation, uncounted */
        g->garbage = grown;
        g->garbage_cap = cap;
    }
    rcy_incref(o);
    g->garbage[g->ngarbage++] = o;
}

/* Phase 9. Clearing an object drops its references, so the garbage dies
   by reference count; one that is still alive after its own clearing is
   held by garbage not yet cleared and waits in the old generation. */
static void delete_garbage(rcy_heap *h, rcy_gclink *garbage, rcy_gclink *old)
{
    int saveall = (h->gc.debug & RCY_DEBUG_SAVEALL) != 0;
    while (!rcy__list_empty(garbage)) {
        rcy_gclink *x = garbage->next;
        void *o = rcy__link_object(x);
        if (saveall) {
            clear_collecting(o);
            rcy__list_move(x, old);
            keep_as_garbage(h, o);
            continue;
        }
        rcy_incref(o);
        rcy__clear_refs(o);
        rcy_decref(o);
        if (garbage->next == x) {
            clear_collecting(o);
            rcy__list_move(x, old);
        }
    }
}

static void print_collectable(rcy_gclink *garbage)
{
    FOR_EACH(x, garbage) {
        void *o = rcy__link_object(x);
        fprintf(stderr, "gc: collectable <%s %p>\n", type_name(o), o);
    }
}

/* ---- one collection ---- */

static void update_counts(rcy_heap *h, int gen)
{
    rcy_gc *g = &h->gc;
    if (gen + 1 < RCY_GENERATIONS)
        g->count[gen + 1]++;
    for (int i = 1; i <= gen; i++)
        g->count[i] = 0;
    h->objects.young_count = 0;
}

/* With drop pacing, a collection of generation 0 or 1 with no drop noted
   since that generation was last really collected is skipped. Full
   collections always scan: they also find cycles that were orphaned with
   no drop at all, by moving the last outside reference into the cycle. */
static int may_skip(rcy_heap *h, int gen)
{
    return h->gc.drop_pacing && gen < 2 && h->objects.noted == h->gc.noted_at[gen];
}

/* A collection proven empty: promotion without scanning. */
static void skip_collection(rcy_heap *h, int gen, rcy_gclink *set, rcy_gclink *old)
{
    for (int i = 0; i < gen; i++)
        rcy__list_merge(rcy__gc_generation(h, i), set);
    rcy__list_merge(set, old);
    h->gc.skipped[gen]++;
}

/* One collection of `gen`; an automatic one may be skipped (drop pacing). */
static size_t collect(rcy_heap *h, int gen, int automatic)
{
    rcy_gc *g = &h->gc;
    rcy_gclink *set = rcy__gc_generation(h, gen);
    rcy_gclink *old = rcy__gc_generation(h, gen < 2 ? gen + 1 : 2);
    rcy_gclink garbage;
    rcy__list_init(&garbage);

    g->stats[gen].collections++;
    if (automatic && may_skip(h, gen)) {
        skip_collection(h, gen, set, old);
        update_counts(h, gen);
        return 0;
    }
    update_counts(h, gen);
    for (int i = 0; i <= gen; i++) /* drops from now on count for the next one */
        g->noted_at[i] = h->objects.noted;
    for (int i = 0; i < gen; i++)                          /* 1 */
        rcy__list_merge(rcy__gc_generation(h, i), set);
    validate_list(set, 0);
    update_refs(set);                                      /* 2 */
    subtract_refs(set);                                    /* 3 */
    size_t n = move_unreachable(set, &garbage);            /* 4 */
    validate_list(set, 0);
    validate_list(&garbage, RCY_GC_COLLECTING | RCY_GC_UNREACHABLE);
    if (set != old)                                        /* 5 */
        rcy__list_merge(set, old);
    if (g->debug & RCY_DEBUG_COLLECTABLE)
        print_collectable(&garbage);
    handle_weakrefs(h, &garbage);                          /* 6 */
    finalize_garbage(&garbage);                            /* 7 */
    handle_resurrected(&garbage, old);                     /* 8 */
    validate_list(&garbage, RCY_GC_COLLECTING | RCY_GC_UNREACHABLE);
    delete_garbage(h, &garbage, old);                      /* 9 */
    validate_list(old, 0);

    if (gen == 2)
        g->long_lived_total = h->objects.tracked;
    g->stats[gen].collected += n;
    return n;
}

static void run_callbacks(rcy_heap *h, const char *phase, const rcy_gc_info *info)
{
    rcy_gc *g = &h->gc;
    for (size_t i = 0; i < g->ncallbacks; i++)
        g->callbacks[i].fn(phase, info, g->callbacks[i].arg);
}

static void print_start(rcy_heap *h, int gen)
{
    fprintf(stderr, "gc: collecting generation %d...\n", gen);
    fprintf(stderr, "gc: objects in each generation: %zu %zu %zu\n",
            list_size(rcy__gc_generation(h, 0)), list_size(rcy__gc_generation(h, 1)),
            list_size(rcy__gc_generation(h, 2)));
    fprintf(stderr, "gc: objects in permanent generation: %zu\n", list_size(&h->gc.permanent));
}

static void update_young_limit(rcy_heap *h)
{
    rcy_gc *g = &h->gc;
    int automatic = g->enabled && g->threshold[0] > 0 && !g->collecting;
    h->objects.young_limit = automatic ? g->threshold[0] : SIZE_MAX;
}

/* A collection with everything around it: no re-entry, callbacks, debug
   output, timing. */
static size_t collect_with_callbacks(rcy_heap *h, int gen, int automatic)
{
    rcy_gc *g = &h->gc;
    g->collecting = 1;
    update_young_limit(h);
    rcy_gc_info info = {gen, 0, 0, 0.0};
    run_callbacks(h, "start", &info);
    if (g->debug & RCY_DEBUG_STATS)
        print_start(h, gen);
    size_t skipped = g->skipped[gen];
    double t0 = rcy__os_now();
    info.collected = collect(h, gen, automatic);
    info.duration_s = rcy__os_now() - t0;
    if (g->debug & RCY_DEBUG_STATS)
        fprintf(stderr, "gc: done, %zu unreachable, 0 uncollectable, %.4fs elapsed%s\n",
                info.collected, info.duration_s,
                g->skipped[gen] != skipped ? " (skipped: no reference dropped since the last scan)"
                                           : "");
    run_callbacks(h, "stop", &info);
    g->collecting = 0;
    update_young_limit(h);
    return info.collected + info.uncollectable;
}

/* Called by the object layer when count[0] passes threshold[0]. */
static void young_full(rcy_heap *h)
{
    rcy_gc *g = &h->gc;
    int gen = 0;
    for (int i = RCY_GENERATIONS - 1; i > 0; i--) {
        if (g->count[i] <= g->threshold[i])
            continue;
        if (i == 2 && h->objects.tracked < g->long_lived_total + g->long_lived_total / 4)
            continue; /* the heap has not grown by 25%: not worth a full pass yet */
        gen = i;
        break;
    }
    collect_with_callbacks(h, gen, 1);
}

/* ---- the gc module ---- */

void rcy__gc_init(rcy_heap *h)
{
    rcy_gc *g = &h->gc;
    memset(g, 0, sizeof *g);
    rcy__list_init(&g->old[0]);
    rcy__list_init(&g->old[1]);
    rcy__list_init(&g->permanent);
    g->threshold[0] = 700; /* CPython's defaults before 3.13 */
    g->threshold[1] = 10;
    g->threshold[2] = 10;
    g->enabled = 1;
    h->objects.young_full = young_full;
    update_young_limit(h);
}

void rcy__gc_fini(rcy_heap *h)
{
    free(h->gc.callbacks);
    free(h->gc.garbage); /* the objects go with the heap's memory */
    memset(&h->gc, 0, sizeof h->gc);
}

size_t rcy_gc_collect(rcy_heap *h, int generation)
{
    if (generation < -1 || generation >= RCY_GENERATIONS) {
        errno = EINVAL;
        return 0;
    }
    if (h->gc.collecting)
        return 0;
    return collect_with_callbacks(h, generation < 0 ? RCY_GENERATIONS - 1 : generation, 0);
}

void rcy_gc_enable(rcy_heap *h)
{
    h->gc.enabled = 1;
    update_young_limit(h);
}

void rcy_gc_disable(rcy_heap *h)
{
    h->gc.enabled = 0;
    update_young_limit(h);
}

int rcy_gc_isenabled(rcy_heap *h)
{
    return h->gc.enabled;
}

void rcy_gc_get_threshold(rcy_heap *h, size_t out[3])
{
    memcpy(out, h->gc.threshold, sizeof h->gc.threshold);
}

void rcy_gc_set_threshold(rcy_heap *h, size_t t0, size_t t1, size_t t2)
{
    h->gc.threshold[0] = t0;
    h->gc.threshold[1] = t1;
    h->gc.threshold[2] = t2;
    update_young_limit(h);
}

void rcy_gc_get_count(rcy_heap *h, size_t out[3])
{
    out[0] = h->objects.young_count;
    out[1] = h->gc.count[1];
    out[2] = h->gc.count[2];
}

void rcy_gc_get_stats(rcy_heap *h, rcy_gc_genstats out[3])
{
    memcpy(out, h->gc.stats, sizeof h->gc.stats);
}

void rcy_gc_freeze(rcy_heap *h)
{
    for (int i = 0; i < RCY_GENERATIONS; i++)
        rcy__list_merge(rcy__gc_generation(h, i), &h->gc.permanent);
    h->objects.young_count = 0;
}

void rcy_gc_unfreeze(rcy_heap *h)
{
    rcy__list_merge(&h->gc.permanent, rcy__gc_generation(h, RCY_GENERATIONS - 1));
    h->objects.noted++; /* thawed objects were never examined: look at them next time */
}

void rcy_gc_set_drop_pacing(rcy_heap *h, int on)
{
    h->gc.drop_pacing = on != 0;
}

size_t rcy_gc_get_freeze_count(rcy_heap *h)
{
    return list_size(&h->gc.permanent);
}

void rcy_gc_get_objects(rcy_heap *h, int generation, rcy_object_fn fn, void *arg)
{
    for (int i = 0; i < RCY_GENERATIONS; i++)
        if (generation < 0 || generation == i)
            FOR_EACH(x, rcy__gc_generation(h, i)) fn(rcy__link_object(x), arg);
}

typedef struct {
    const void *target;
    int found;
} referrer_search;

static void visit_find(void **slot, void *arg)
{
    referrer_search *s = arg;
    if (*slot == s->target)
        s->found = 1;
}

static void referrers_in(rcy_gclink *list, const void *target, rcy_object_fn fn, void *arg)
{
    FOR_EACH(x, list) {
        void *o = rcy__link_object(x);
        referrer_search s = {target, 0};
        rcy__traverse(o, visit_find, &s);
        if (s.found)
            fn(o, arg);
    }
}

void rcy_gc_get_referrers(rcy_heap *h, const void *target, rcy_object_fn fn, void *arg)
{
    for (int i = 0; i < RCY_GENERATIONS; i++)
        referrers_in(rcy__gc_generation(h, i), target, fn, arg);
    referrers_in(&h->gc.permanent, target, fn, arg);
}

typedef struct {
    rcy_object_fn fn;
    void *arg;
} referent_visit;

static void visit_referent(void **slot, void *arg)
{
    referent_visit *v = arg;
    if (*slot)
        v->fn(*slot, v->arg);
}

void rcy_gc_get_referents(const void *o, rcy_object_fn fn, void *arg)
{
    referent_visit v = {fn, arg};
    rcy__traverse((void *)o, visit_referent, &v);
}

int rcy_gc_callback_add(rcy_heap *h, rcy_gc_callback cb, void *arg)
{
    rcy_gc *g = &h->gc;
    if (!cb)
        return -1;
    if (g->ncallbacks == g->callbacks_cap) {
        size_t cap = g->callbacks_cap ? g->callbacks_cap * 2 : 4;
        rcy_gc_cb *grown = realloc(g->callbacks, cap * sizeof *grown);
        if (!grown)
            return -1;
        g->callbacks = grown;
        g->callbacks_cap = cap;
    }
    g->callbacks[g->ncallbacks++] = (rcy_gc_cb){cb, arg};
    return 0;
}

int rcy_gc_callback_remove(rcy_heap *h, rcy_gc_callback cb, void *arg)
{
    rcy_gc *g = &h->gc;
    for (size_t i = 0; i < g->ncallbacks; i++) {
        if (g->callbacks[i].fn == cb && g->callbacks[i].arg == arg) {
            memmove(&g->callbacks[i], &g->callbacks[i + 1],
                    (g->ncallbacks - i - 1) * sizeof *g->callbacks);
            g->ncallbacks--;
            return 0;
        }
    }
    return -1;
}

void rcy_gc_set_debug(rcy_heap *h, unsigned flags)
{
    h->gc.debug = flags;
}

unsigned rcy_gc_get_debug(rcy_heap *h)
{
    return h->gc.debug;
}

size_t rcy_gc_garbage_count(rcy_heap *h)
{
    return h->gc.ngarbage;
}

void rcy_gc_garbage(rcy_heap *h, rcy_object_fn fn, void *arg)
{
    for (size_t i = 0; i < h->gc.ngarbage; i++)
        fn(h->gc.garbage[i], arg);
}

void rcy_gc_garbage_clear(rcy_heap *h)
{
    rcy_gc *g = &h->gc;
    while (g->ngarbage) /* one at a time: a death may touch the list */
        rcy_decref(g->garbage[--g->ngarbage]);
}
