/* SPDX-License-Identifier: MIT */
/* validate: what must hold between the steps of a collection, checked in
 * checked builds (CPython's validate_list is the model). Each step ends
 * with its check (internal.h); the cheap parts are asserts of check level
 * 2, the walks of a whole set or of the heap are level 3. Below level 2
 * this file is empty and the checks are inline no-ops.
 *
 *   idle      before step 1 and after step 8: no garbage held, no mark
 *             stack; (3) the generation counts match a walk of the heap,
 *             every young vector entry names a young object at its own
 *             slot, no object carries the collector's bits
 *   counted   after step 2: (3) every member of the set is a candidate,
 *             with gc_refs = its count minus the references from inside
 *             the set (counted apart here, in a hash map); YOUNG sets no
 *             COLLECTING, nor does SIDE on a member its byte describes,
 *             and after a full collection's the objects with it are
 *             exactly the other members
 *   marked    after step 3: the mark stack is empty; (3) every candidate
 *             left has gc_refs 0 (and was passed where the scan ran:
 *             SCANNED, or its byte RCY_SIDE_PASSED), no reachable member
 *             refers to a candidate (SIDE: an in-byte referent is not
 *             PASSED and has RCY_SIDE_REACHED), and a reachable member's
 *             byte is RCY_SIDE_DONE (or the header's)
 *   settled   after step 4: (3) every object of g->unreachable is
 *             UNREACHABLE, and (after a full collection, whose set is the
 *             heap) no other is, none has COLLECTING, the generations are
 *             as when idle
 *   garbage   before step 8: (3) every object of the garbage vector is
 *             UNREACHABLE, and nothing outside it refers to it: its count
 *             is the collector's reference plus those from the rest */
#include "gc/internal.h"

#if RCY_CHECK_LEVEL >= 2

#include "gc/refs.h"
#include "gc/walk.h"
#include "util/ptrmap.h"

#if RCY_CHECK_LEVEL >= 3

/* ---- the heap ---- */

/* Every tracked object in the heap, garbage of the running collection
   included (rcy__gc_walk_tracked leaves it out). */
static void walk_all_tracked(rcy_gc *g, void (*fn)(void *o, void *arg), void *arg)
{
    rcy_mem_cursor c = {0};
    rcy_span s;
    while (rcy__mem_next_span(&g->weak.objects.mem, RCY_KIND_OBJECTS, &c, &s)) {
        char *b = s.first;
        for (size_t i = 0; i < s.n; i++, b += s.stride)
            if (((const rcy_objhead *)(void *)b)->gcword & RCY_GC_TRACKED)
                fn(b + sizeof(rcy_objhead), arg);
    }
}

/* What a walk of the heap finds. */
typedef struct census {
    int by_generation; /* count generations (not while gc_refs is in the slots) */
    size_t collecting, unreachable;
    size_t generation[RCY_GEN_PERMANENT + 1]; /* tracked objects not UNREACHABLE */
    const rcy_objects *O;
} census;

static void count_one(void *o, void *arg)
{
    census *n = arg;
    uint32_t w = RCY_HEAD(o)->gcword;
    /* an object another thread let die waits in the inbox with count 0,
       still tracked: rcy__gc_count takes it as referenced (obj/count.h) */
    RCY_ASSERT(rcy__gc_count(o) > 0);
    n->collecting += (w & RCY_GC_COLLECTING) != 0;
    n->unreachable += (w & RCY_GC_UNREACHABLE) != 0;
    if (n->by_generation && !(w & RCY_GC_UNREACHABLE))
        n->generation[rcy__generation(n->O, o)]++;
}

static census heap_census(rcy_gc *g, int by_generation)
{
    census n = {by_generation, 0, 0, {0}, &g->weak.objects};
    walk_all_tracked(g, count_one, &n);
    return n;
}

/* Outside steps 2-3: every young vector entry names a young object at its
   own slot, and there are as many as generations 0 and 1 count. */
static void check_young_vector(rcy_gc *g)
{
    rcy_objects *O = &g->weak.objects;
    size_t live = 0;
    RCY_ASSERT(O->young.boundary <= O->young.len && O->young.len <= O->young.cap);
    for (uint32_t i = 0; i < O->young.len; i++) {
        void *o = O->young.items[i];
        if (RCY_YOUNG_IS_HOLE(o))
            continue;
        uint32_t w = RCY_HEAD(o)->gcword;
        RCY_ASSERT(rcy__gen_of(w) == RCY_GEN_YOUNG && (w & RCY_GC_SLOT_MASK) == i);
        RCY_ASSERT(!(w & (RCY_GC_COLLECTING | RCY_GC_UNREACHABLE)));
        RCY_ASSERT(O->young.types[i] == rcy__type(o));
        live++;
    }
    RCY_ASSERT(live == O->count[0] + O->count[1]);
}

/* Outside steps 2-3, for the census of a walk of the heap: no object is
   COLLECTING, the objects UNREACHABLE are the garbage held, and the
   generation counts match. */
static void check_heap(rcy_gc *g, const census *n)
{
    RCY_ASSERT(n->collecting == 0);
    RCY_ASSERT(n->unreachable == g->unreachable.len);
    RCY_ASSERT(g->weak.objects.unreachable == g->unreachable.len);
    for (unsigned gen = 0; gen <= RCY_GEN_PERMANENT; gen++)
        RCY_ASSERT(n->generation[gen] == g->weak.objects.count[gen]);
    check_young_vector(g);
}

/* The set is every tracked object but the permanent generation's: checks
   that walk the heap cost no more than those that walk the set. Young
   collections, many and small in a large heap, leave them to the walks
   before and after the collection (rcy__gc_check_idle). */
static int whole_heap(const rcy_refs *r)
{
    return !r->garbage && r->gen >= RCY_GEN_OLD;
}

/* ---- references from inside a set ---- */

/* The objects of a set, each with the number of references to it from
   the set's objects. */
typedef struct inside {
    rcy_ptrmap refs; /* object -> references from inside, as a uintptr_t */
    int failed;      /* out of memory: nothing is checked */
} inside;

static void add_to_inside(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g, (void)t, (void)i;
    inside *in = arg;
    void **v = in->failed ? NULL : rcy__ptrmap_insert(&in->refs, (uintptr_t)o);
    if (v)
        *v = NULL;
    else
        in->failed = 1;
}

static void visit_count_inside(void **slot, void *arg)
{
    inside *in = arg;
    void **v = *slot ? rcy__ptrmap_find(&in->refs, (uintptr_t)*slot) : NULL;
    if (v)
        *v = (void *)((uintptr_t)*v + 1);
}

static void count_inside(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g, (void)i;
    inside *in = arg;
    if (!in->failed)
        rcy__visit_refs(o, t, visit_count_inside, in);
}

static uintptr_t refs_from_inside(const inside *in, const void *o)
{
    return (uintptr_t)*rcy__ptrmap_find(&in->refs, (uintptr_t)o);
}

/* ---- after step 2 ---- */

typedef struct counted_arg {
    const rcy_refs *r;
    inside in;
    size_t in_header; /* members whose header has COLLECTING (SIDE: not in the byte) */
} counted_arg;

static void check_count(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g, (void)t;
    counted_arg *a = arg;
    const rcy_refs *r = a->r;
    rcy_refs_cell c = rcy__gc_refs_member(r, r->place, o, i);
    uint32_t w = c.hd->gcword;
    RCY_ASSERT(rcy__gc_refs_candidate(r, r->place, c, w));
    int in_header = r->place != RCY_REFS_YOUNG && !rcy__gc_refs_in_byte(r->place, c);
    RCY_ASSERT(in_header == ((w & RCY_GC_COLLECTING) != 0));
    a->in_header += (size_t)in_header;
    uint32_t count = rcy__gc_count(o) - (r->garbage ? 1 : 0);
    if (count < RCY_GC_REFS_MASK) /* else saturated: it stays put */
        RCY_ASSERT(rcy__gc_refs_value(r, r->place, c, w) ==
                   (int64_t)count - (int64_t)refs_from_inside(&a->in, o));
}

static void for_each_member(const rcy_refs *r, rcy_gc_step step, void *arg)
{
    if (r->garbage)
        rcy__gc_refs_for_each(r, RCY_REFS_GARBAGE, step, arg);
    else
        rcy__gc_refs_for_each(r, RCY_REFS_GENERATIONS, step, arg);
}

#endif /* RCY_CHECK_LEVEL >= 3 */

void rcy__gc_check_counted(const rcy_refs *r)
{
    RCY_ASSERT(r->g->stack.len == 0);
#if RCY_CHECK_LEVEL >= 3
    counted_arg a = {r, {{0}, 0}, 0};
    for_each_member(r, add_to_inside, &a.in);
    for_each_member(r, count_inside, &a.in);
    if (!a.in.failed)
        for_each_member(r, check_count, &a);
    rcy__ptrmap_fini(&a.in.refs);
    if (!a.in.failed && whole_heap(r))
        RCY_ASSERT(heap_census(r->g, 0).collecting == a.in_header);
#endif
}

/* ---- after step 3 ---- */

#if RCY_CHECK_LEVEL >= 3
static void visit_reaches_no_candidate(void **slot, void *arg)
{
    const rcy_refs *r = arg;
    void *child = *slot;
    if (!child)
        return;
    rcy_refs_cell c = rcy__gc_refs_referent(r, r->place, child);
    if (rcy__gc_refs_in_byte(r->place, c)) { /* members DONE; outside objects' bytes are counts */
        RCY_ASSERT(*c.byte != RCY_SIDE_PASSED && (*c.byte & RCY_SIDE_REACHED));
        return;
    }
    RCY_ASSERT(!rcy__gc_refs_candidate(r, r->place, c, c.hd->gcword));
}

static void check_mark(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g;
    const rcy_refs *r = arg;
    rcy_refs_cell c = rcy__gc_refs_member(r, r->place, o, i);
    uint32_t w = c.hd->gcword;
    if (r->place == RCY_REFS_YOUNG)
        RCY_ASSERT(!(w & RCY_GC_COLLECTING));
    if (rcy__gc_refs_candidate(r, r->place, c, w)) {
        RCY_ASSERT(rcy__gc_refs_value(r, r->place, c, w) == 0);
        RCY_ASSERT(r->place == RCY_REFS_YOUNG || rcy__gc_refs_passed(r->place, c, w));
        RCY_ASSERT(!c.byte || *c.byte == RCY_SIDE_PASSED || *c.byte == RCY_REFS_SATURATED);
        return;
    }
    RCY_ASSERT(!c.byte || *c.byte == RCY_REFS_SATURATED || *c.byte == RCY_SIDE_DONE);
    rcy__visit_refs(o, t, visit_reaches_no_candidate, (void *)r);
}
#endif

void rcy__gc_check_marked(const rcy_refs *r)
{
    RCY_ASSERT(r->g->stack.len == 0 && !r->g->stack_overflowed);
#if RCY_CHECK_LEVEL >= 3
    for_each_member(r, check_mark, (void *)r);
#endif
}

/* ---- after step 4 ---- */

void rcy__gc_check_settled(const rcy_refs *r)
{
    rcy_gc *g = r->g;
    RCY_ASSERT(g->weak.objects.unreachable >= g->unreachable.len);
#if RCY_CHECK_LEVEL >= 3
    for (size_t i = 0; i < g->unreachable.len; i++) {
        const rcy_objhead *hd = RCY_HEAD(g->unreachable.items[i]);
        RCY_ASSERT((hd->gcword & RCY_GC_TRACKED) && (hd->gcword & RCY_GC_UNREACHABLE));
        RCY_ASSERT(!(hd->gcword & (RCY_GC_COLLECTING | RCY_GC_SLOT_MASK)));
        RCY_ASSERT(rcy__object_count(g->unreachable.items[i]) > 0);
    }
    if (whole_heap(r)) {
        census n = heap_census(g, 1);
        check_heap(g, &n);
    } else {
        check_young_vector(g);
    }
#endif
}

/* ---- before step 8 ---- */

#if RCY_CHECK_LEVEL >= 3
static void check_closed(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g, (void)t, (void)i;
    const inside *in = arg;
    RCY_ASSERT(rcy__object_count(o) == 1 + refs_from_inside(in, o));
}
#endif

void rcy__gc_check_garbage(rcy_gc *g, rcy_ptrvec *garbage)
{
    RCY_ASSERT(g->stack.len == 0);
#if RCY_CHECK_LEVEL >= 3
    for (size_t i = 0; i < garbage->len; i++) {
        uint32_t w = RCY_HEAD(garbage->items[i])->gcword;
        RCY_ASSERT((w & RCY_GC_UNREACHABLE) && !(w & (RCY_GC_COLLECTING | RCY_GC_SLOT_MASK)));
    }
    rcy_refs r;
    rcy__gc_refs_of_garbage(g, garbage, &r);
    inside in = {{0}, 0};
    for_each_member(&r, add_to_inside, &in);
    for_each_member(&r, count_inside, &in);
    if (!in.failed)
        for_each_member(&r, check_closed, &in);
    rcy__ptrmap_fini(&in.refs);
#else
    (void)garbage;
#endif
}

/* ---- outside a collection ---- */

void rcy__gc_check_idle(rcy_gc *g)
{
    RCY_ASSERT(g->unreachable.len == 0 && g->stack.len == 0);
#if RCY_CHECK_LEVEL >= 3
    census n = heap_census(g, 1);
    check_heap(g, &n);
#endif
}

#endif /* RCY_CHECK_LEVEL >= 2 */
