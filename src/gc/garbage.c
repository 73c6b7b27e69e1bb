/* SPDX-License-Identifier: MIT */
/* garbage: steps 4-8 of a collection, what becomes of the set once the
 * mark has decided (refs.c):
 *   4. settle: survivors move to the next generation; the rest are
 *      garbage, gathered in g->unreachable, which holds a reference to
 *      each, so that none can die or move while user code (weak
 *      reference callbacks, finalizers) runs;
 *   5. weak references to garbage are cleared; callbacks run only for
 *      weak references that are not garbage themselves;
 *   6. finalizers run, each at most once (FINALIZED);
 *   7. steps 2-3 again on the garbage (refs.c, in the headers): what a
 *      finalizer resurrected, and all it reaches, leaves the garbage whole;
 *   8. the rest are cleared through traverse and die by reference count
 *      when the collector lets go of them.
 *
 * Header bits: from step 4 the garbage has UNREACHABLE (and NOTED: the
 * collector's own drops are not drops worth noting), and is in no
 * generation (O->unreachable counts it); an object that leaves the garbage
 * alive (leave_garbage) rejoins a generation with the collector's bits
 * cleared. An object untracked meanwhile loses UNREACHABLE and is only
 * let go. */
#include "gc/internal.h"
#include "gc/refs.h"
#include "gc/walk.h"

/* ---- step 4: survivors move on, garbage is held ---- */

static void clear_collector_bits(void *o)
{
    RCY_HEAD(o)->gcword &= ~(RCY_GC_COLLECTING | RCY_GC_UNREACHABLE | RCY_GC_NOTED);
}

static void promote(rcy_objects *O, void *o, unsigned to)
{
    clear_collector_bits(o);
    rcy__objects_place(O, o, rcy__type(o), to);
}

/* An object the mark left unreachable is garbage, held by the collector
   from here on; 0 if there is no room to hold it (then it survives this
   collection). Inline: settle's loops are the hot part of step 4. */
static RCY_ALWAYS_INLINE int hold_as_garbage(rcy_gc *g, void *o, const rcy_type *t)
{
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t w = hd->gcword;
    g->garbage_needs |= (w & RCY_GC_WEAKREFD ? RCY_GC_NEEDS_WEAKREFS : 0u) |
                        (t->finalize ? RCY_GC_NEEDS_FINALIZE : 0u);
    if (!rcy__ptrvec_push(&g->unreachable, o)) {
        g->hold_failed = 1; /* it survives: step 7 must see what it holds */
        return 0;
    }
    /* NOTED: the collector's own clearing drops references to garbage, and
       they are not drops worth noting (what survives counts as one as it
       leaves: leave_garbage) */
    hd->gcword = (w & ~(RCY_GC_COLLECTING | RCY_GC_SLOT_MASK)) | RCY_GC_UNREACHABLE | RCY_GC_NOTED;
    rcy_incref(o);
    return 1;
}

typedef struct settle_old_arg {
    const rcy_refs *r;
    size_t survivors;
} settle_old_arg;

/* A full collection: survivors stay in (or join) generation 2. */
static RCY_ALWAYS_INLINE void settle_old(rcy_gc *g, rcy_refs_place P, void *o, const rcy_type *t,
                                         settle_old_arg *s)
{
    rcy_refs_cell c = rcy__gc_refs_member(s->r, P, o, 0);
    if (rcy__gc_refs_candidate(s->r, P, c, c.hd->gcword) && hold_as_garbage(g, o, t))
        return;
    clear_collector_bits(o);
    rcy__set_generation(o, RCY_GEN_OLD, 0);
    s->survivors++;
}

static RCY_ALWAYS_INLINE void settle_old_header(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                void *arg)
{
    (void)i;
    settle_old(g, RCY_REFS_HEADER, o, t, arg);
}

static RCY_ALWAYS_INLINE void settle_old_side(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                              void *arg)
{
    (void)i;
    settle_old(g, RCY_REFS_SIDE, o, t, arg);
}

/* A full collection in SIDE: the scan settled each survivor as it marked
   it (rcy__gc_refs_reachable); of the members it passed with gc_refs 0,
   those still candidates are the garbage, the others were rescued.
   members: the set's size. Returns the survivors. */
static size_t settle_passed(rcy_gc *g, const rcy_refs *r, size_t members)
{
    size_t held = 0;
    for (size_t i = 0; i < g->passed.len; i++) {
        void *o = g->passed.items[i];
        rcy_refs_cell c = rcy__gc_refs_member(r, RCY_REFS_SIDE, o, 0);
        uint32_t w = c.hd->gcword;
        if (!rcy__gc_refs_candidate(r, RCY_REFS_SIDE, c, w))
            continue; /* rescued: settled */
        if (hold_as_garbage(g, o, rcy__type(o)))
            held++;
        else
            c.hd->gcword = rcy__gc_settled_old(w);
    }
    return members - held;
}

/* A young collection: survivors of generation 0 keep their slot and
   become generation 1 when the boundary moves; those of generation 1 go
   to generation 2. */
static RCY_ALWAYS_INLINE size_t settle_young(rcy_gc *g, const rcy_refs *r, rcy_refs_place P)
{
    rcy_young *y = &g->weak.objects.young;
    unsigned gen = r->gen;
    size_t survivors = 0;
    for (uint32_t i = rcy__gc_young_start(y, gen); i < y->len; i++) {
        void *o = y->items[i];
        if (RCY_YOUNG_IS_HOLE(o))
            continue;
        rcy_refs_cell c = rcy__gc_refs_member(r, P, o, i);
        uint32_t w = c.hd->gcword;
        if (rcy__gc_refs_candidate(r, P, c, w) && hold_as_garbage(g, o, y->types[i])) {
            y->items[i] = RCY_YOUNG_HOLE(0);
            continue;
        }
        /* the collector's bits clear and the generation set, in one write */
        const uint32_t cleared = RCY_GC_COLLECTING | RCY_GC_UNREACHABLE | RCY_GC_NOTED |
                                 RCY_GC_GEN_MASK | RCY_GC_SLOT_MASK;
        c.hd->gcword =
            (w & ~cleared) | (gen == 0 ? ((uint32_t)RCY_GEN_YOUNG << RCY_GC_GEN_SHIFT) | i
                                       : (uint32_t)RCY_GEN_OLD << RCY_GC_GEN_SHIFT);
        survivors++;
    }
    return survivors;
}

void rcy__gc_promote_young(rcy_gc *g, unsigned gen, size_t survivors)
{
    rcy_objects *O = &g->weak.objects;
    if (gen == 0) {
        O->young.boundary = O->young.len; /* generation 0 becomes generation 1 */
        O->young.hole = 0;
    } else {
        rcy__young_reset(&O->young);
    }
    for (unsigned i = 0; i <= gen; i++)
        O->count[i] = 0;
    O->count[g->current.old] += survivors;
}

void rcy__gc_settle(rcy_gc *g, const rcy_refs *r)
{
    size_t held = g->unreachable.len, survivors;
    g->garbage_needs = 0;
    const size_t *count = g->weak.objects.count;
    if (r->place == RCY_REFS_SIDE && !g->passed_lost) {
        survivors = settle_passed(g, r, count[0] + count[1] + count[2]);
    } else if (r->gen >= RCY_GEN_OLD) {
        settle_old_arg s = {r, 0};
        if (r->place == RCY_REFS_SIDE)
            rcy__gc_walk_tracked(g, r->gen, settle_old_side, &s);
        else
            rcy__gc_walk_tracked(g, r->gen, settle_old_header, &s);
        survivors = s.survivors;
    } else if (r->place == RCY_REFS_YOUNG) {
        survivors = settle_young(g, r, RCY_REFS_YOUNG);
    } else {
        survivors = settle_young(g, r, RCY_REFS_HEADER);
    }
    rcy__gc_trim(&g->passed);
    rcy__gc_promote_young(g, r->gen, survivors);
    g->weak.objects.unreachable += g->unreachable.len - held;
    rcy__gc_check_settled(r);
}

/* ---- steps 5-8: what happens to the garbage ---- */

static const char *type_name(const void *o)
{
    const char *name = rcy__type(o)->name;
    return name ? name : "?";
}

static int weakref_survives(void *wr)
{
    return !rcy__gc_is_garbage(wr);
}

/* Step 5. Returns 1 if a callback ran. */
int rcy__gc_handle_weakrefs(rcy_gc *g, const rcy_ptrvec *garbage)
{
    rcy_weakref *callbacks = NULL;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        if (rcy__gc_is_garbage(o) && (RCY_HEAD(o)->gcword & RCY_GC_WEAKREFD))
            rcy__weak_filter(rcy__weak_detach(&g->weak, o), weakref_survives, &callbacks);
    }
    int ran = callbacks != NULL;
    rcy__weak_run(callbacks);
    return ran;
}

/* Step 6. The collector's reference keeps each object intact whatever
   the finalizers do. Returns 1 if a finalizer ran. */
int rcy__gc_finalize_garbage(const rcy_ptrvec *garbage)
{
    int ran = 0;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        const rcy_type *t = rcy__type(o);
        if (rcy__gc_is_garbage(o) && t->finalize && !(RCY_HEAD(o)->gcword & RCY_GC_FINALIZED)) {
            RCY_HEAD(o)->gcword |= RCY_GC_FINALIZED;
            t->finalize(o);
            ran = 1;
        }
    }
    return ran;
}

/* An object leaves the garbage: back to a generation, the collector's
   reference dropped by the caller. Drops of garbage are not noted
   (hold_as_garbage), so its leaving counts as one: it may be part of a
   cycle orphaned again since. */
static void leave_garbage(rcy_gc *g, void *o)
{
    g->weak.objects.unreachable--;
    g->weak.objects.noted++;
    unsigned old = g->current.old;
    promote(&g->weak.objects, o, old == 1 ? RCY_GEN_YOUNG : old); /* young joins generation 0 */
}

/* Step 7. Keeps in `garbage` what is still unreachable; the rest (what a
   finalizer resurrected, and objects untracked meanwhile) leave it.
   Steps 2-3 on the garbage alone keep gc_refs in the headers. */
void rcy__gc_handle_resurrected(rcy_gc *g, rcy_ptrvec *garbage)
{
    rcy_refs r;
    rcy__gc_refs_of_garbage(g, garbage, &r);
    rcy__gc_update_refs(&r); /* minus the collector's own reference */
    rcy__gc_subtract_refs(&r);
    rcy__gc_mark_reachable(&r);
    size_t kept = 0;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        rcy_refs_cell c = rcy__gc_refs_member(&r, RCY_REFS_HEADER, o, 0);
        uint32_t w = c.hd->gcword;
        if ((w & RCY_GC_UNREACHABLE) && rcy__gc_refs_candidate(&r, RCY_REFS_HEADER, c, w)) {
            c.hd->gcword = w & ~(RCY_GC_COLLECTING | RCY_GC_SLOT_MASK);
            garbage->items[kept++] = o;
            continue;
        }
        if (w & RCY_GC_UNREACHABLE)
            leave_garbage(g, o);
        rcy_decref(o);
    }
    garbage->len = kept;
}

static void keep_as_garbage(rcy_gc *g, void *o)
{
    if (rcy__ptrvec_push(&g->garbage, o))
        rcy_incref(o);
    /* else it stays in the old generation, not listed */
}

/* Step 8. Clearing an object drops its references; the garbage dies by
   reference count as the collector lets go of it, still marked garbage
   (it never rejoins a generation). One still referenced after its
   clearing, by garbage not yet cleared or by user code, rejoins the old
   generation first and lives on until those references go. */
void rcy__gc_delete_garbage(rcy_gc *g, rcy_ptrvec *garbage)
{
    rcy__gc_check_garbage(g, garbage);
    int saveall = (g->debug & RCY_DEBUG_SAVEALL) != 0;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        if (rcy__gc_is_garbage(o) && saveall) {
            leave_garbage(g, o);
            keep_as_garbage(g, o);
        } else if (rcy__gc_is_garbage(o)) {
            rcy__clear_refs(o);
            if (rcy__gc_is_garbage(o) && rcy__object_count(o) > 1)
                leave_garbage(g, o);
        }
        rcy_decref(o);
    }
    rcy__gc_trim(garbage);
}

void rcy__gc_print_collectable(const rcy_ptrvec *garbage)
{
    for (size_t i = 0; i < garbage->len; i++)
        fprintf(stderr, "gc: collectable <%s %p>\n", type_name(garbage->items[i]),
                garbage->items[i]);
}
