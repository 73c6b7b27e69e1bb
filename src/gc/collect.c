/* collect: the generational cycle collector's algorithm and its
 * triggering; the gc module's surface is gcmodule.c.
 *
 * The algorithm is CPython's (Python/gc.c), phase by phase in collect():
 *   1. the set: the part of the young vector holding the generations
 *      collected, or, for a full collection, every tracked object, found by
 *      walking the blocks of RCY_KIND_OBJECTS, oldest arena first (there
 *      are no list links);
 *   2. update_refs: gc_refs = refcount; subtract_refs: minus one for every
 *      reference from inside the set; what remains counts references from
 *      outside (two passes in a full collection: setting up each object
 *      when first met as a referent measured slower, its writes land far
 *      apart);
 *   3. mark: objects with gc_refs > 0, and all they reach, are reachable:
 *      an ordered scan, with an explicit stack only for references that
 *      point back to objects already passed (scan_one); steps 2-3 of a
 *      full collection keep gc_refs in the allocator's side table, so they
 *      rarely touch a referent's header; a young collection keeps it in an
 *      array beside the young vector, needs no update pass, and marks
 *      from a work list of its roots (young_subtract, young_mark);
 *   4. settle: survivors go to the next generation; the rest are garbage,
 *      gathered in a vector that holds a reference to each, so none can
 *      die or move while user code (finalizers, callbacks) runs;
 *   5. weak references to garbage are cleared; callbacks run only for
 *      weak references that are not garbage themselves;
 *   6. finalizers run, each at most once;
 *   7. steps 2-3 again on the garbage: what a finalizer resurrected, and
 *      all it reaches, survives whole (skipped if no user code ran);
 *   8. the rest are cleared through traverse and die by reference count
 *      when the collector lets go of them.
 *
 * Header bits borrowed during a collection (object.h): RCY_GC_COLLECTING
 * marks the set being examined (until known reachable), gc_refs lives in
 * the slot bits, and RCY_GC_UNREACHABLE marks the garbage from step 4 on.
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
#include "gc/side.h"
#include "gc/walk.h"
#include "os/os.h"

/* ---- small helpers ---- */

static const char *type_name(const void *o)
{
    const char *name = rcy__type(o)->name;
    return name ? name : "?";
}

/* Keeps a modest buffer for the next collection, not a huge one. */
static void ptrvec_trim(rcy_ptrvec *v)
{
    v->len = 0;
    if (v->cap > 65536)
        rcy__ptrvec_fini(v);
}

static uint32_t clamp_refs(uint32_t rc)
{
    return rc < RCY_GC_REFS_MASK ? rc : RCY_GC_REFS_MASK;
}

/* ---- validation ---- */

#if RCY_CHECK_LEVEL >= 3
static void count_one(rcy_gc *g, void *o, const rcy_type *t, void *arg)
{
    (void)t;
    size_t *counts = arg;
    uint32_t w = RCY_HEAD(o)->gcword;
    RCY_ASSERT(!(w & (RCY_GC_COLLECTING | RCY_GC_UNREACHABLE)));
    RCY_ASSERT(RCY_HEAD(o)->refcnt > 0);
    counts[rcy__generation(&g->weak.objects, o)]++;
}
#endif

/* Level 3: outside a collection, the generation counts match a walk of the
   heap, every young vector entry names a young object at its own slot,
   and no object carries the collector's bits. */
static void validate_generations(rcy_gc *g)
{
#if RCY_CHECK_LEVEL >= 3
    rcy_objects *O = &g->weak.objects;
    size_t validated[RCY_GEN_PERMANENT + 1] = {0};
    rcy__gc_walk_tracked(g, RCY_GEN_PERMANENT, count_one, validated);
    for (unsigned gen = 0; gen <= RCY_GEN_PERMANENT; gen++)
        RCY_ASSERT(validated[gen] == O->count[gen]);
    RCY_ASSERT(O->unreachable == 0);
    size_t live = 0;
    RCY_ASSERT(O->young.boundary <= O->young.len && O->young.len <= O->young.cap);
    for (uint32_t i = 0; i < O->young.len; i++) {
        void *o = O->young.items[i];
        if (RCY_YOUNG_IS_HOLE(o))
            continue;
        uint32_t w = RCY_HEAD(o)->gcword;
        RCY_ASSERT(rcy__gen_of(w) == RCY_GEN_YOUNG && (w & RCY_GC_SLOT_MASK) == i);
        RCY_ASSERT(O->young.types[i] == rcy__type(o));
        live++;
    }
    RCY_ASSERT(live == O->count[0] + O->count[1]);
#else
    (void)g;
#endif
}

/* ---- steps 2-3: who is unreachable ---- */

static int is_garbage(const void *o)
{
    return (RCY_HEAD(o)->gcword & RCY_GC_UNREACHABLE) != 0;
}

static void start_examining(void *o, uint32_t refs)
{
    rcy_objhead *hd = RCY_HEAD(o);
    hd->gcword = (hd->gcword & ~RCY_GC_SLOT_MASK) | RCY_GC_COLLECTING | clamp_refs(refs);
}

static void decrement_refs(void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t refs = hd->gcword & RCY_GC_REFS_MASK;
    RCY_ASSERT(refs > 0); /* more references from inside than its count */
    if (refs != 0 && refs != RCY_GC_REFS_MASK) /* saturated counts stay put */
        hd->gcword--;
}

static void update_refs(rcy_gc *g, void *o, const rcy_type *t, void *arg)
{
    (void)t;
    (void)g, (void)arg;
    start_examining(o, RCY_HEAD(o)->refcnt);
}

/* A full collection keeps gc_refs in the allocator's side table (pool.h),
   one byte per object: 0 for an object outside the set or known
   reachable, 1 + gc_refs below SIDE_SATURATED, SIDE_SATURATED when gc_refs
   is too large for a byte and lives in the header. The header's
   COLLECTING and SCANNED bits stay true as well. Subtracting and marking
   then touch a referent's byte, not its header: with a heap larger than
   the cache, the header read is a miss for nearly every reference, while
   the table (1/16 of the heap) stays in cache. Objects outside the table's
   range (some large blocks) keep everything in the header. */
#define SIDE_SATURATED 255

static uint8_t *side_byte(rcy_gc *g, const void *o)
{
    return g->current.side ? rcy__side_byte(&g->side, o) : NULL;
}

static void update_refs_side(rcy_gc *g, void *o, const rcy_type *t, void *arg)
{
    update_refs(g, o, t, arg);
    uint8_t *b = side_byte(g, o);
    uint32_t rc = RCY_HEAD(o)->refcnt;
    if (b)
        *b = rc < SIDE_SATURATED - 1 ? (uint8_t)(rc + 1) : SIDE_SATURATED;
}

/* The helpers below take an object's header word w and its byte b
   (side_byte: NULL when the header holds everything). */

/* gc_refs == 0 for an object being examined. */
static int refs_zero(const uint8_t *b, uint32_t w)
{
    if (!b || *b == SIDE_SATURATED)
        return (w & RCY_GC_REFS_MASK) == 0;
    return *b == 1;
}

/* The header word of an object whose gc_refs becomes 1 (the byte too). */
static uint32_t refs_one(uint8_t *b, uint32_t w)
{
    if (b && *b != SIDE_SATURATED)
        *b = 2;
    return w | 1;
}

static void subtract_one(void *child)
{
    if (RCY_HEAD(child)->gcword & RCY_GC_COLLECTING)
        decrement_refs(child);
}

static void visit_subtract(void **slot, void *arg)
{
    (void)arg;
    if (*slot)
        subtract_one(*slot);
}

/* The side table's decrement for one reference from inside the set. */
static void subtract_side_now(const rcy_side *S, void *child)
{
    uint8_t *b = rcy__side_byte(S, child);
    if (!b || *b == SIDE_SATURATED) {
        subtract_one(child);
    } else if (*b != 0) { /* in the set */
        RCY_ASSERT(*b > 1); /* more references from inside than its count */
        if (*b > 1)
            --*b;
    }
}

static void visit_subtract_side(void **slot, void *arg)
{
    if (*slot)
        subtract_side_now(arg, *slot);
}

/* Decrements commute, so with a table larger than the cache each waits in
   a small ring while its byte is fetched: the misses of successive
   references then overlap instead of following one another. */
#define SUBTRACT_LAG 16
#if RCY_CHECK_LEVEL >= 3
#define SUBTRACT_LAG_TABLE 0 /* the tests' heaps are small: cover the ring */
#else
#define SUBTRACT_LAG_TABLE ((size_t)2 << 20) /* bytes of table that call for it */
#endif
typedef struct subtract_ring {
    const rcy_side *S;
    void *child[SUBTRACT_LAG];
    unsigned next;
} subtract_ring;

static void visit_subtract_lagged(void **slot, void *arg)
{
    subtract_ring *r = arg;
    void *child = *slot;
    if (!child)
        return;
    uint8_t *b = rcy__side_byte(r->S, child);
    if (b)
        __builtin_prefetch(b, 1);
    void **place = &r->child[r->next++ % SUBTRACT_LAG];
    void *due = *place;
    *place = child;
    if (due)
        subtract_side_now(r->S, due);
}

static void subtract_refs(rcy_gc *g, void *o, const rcy_type *t, void *arg)
{
    if (arg)
        t->traverse(o, visit_subtract_lagged, arg); /* tracked: collectable */
    else if (g->current.side)
        t->traverse(o, visit_subtract_side, &g->side);
    else
        t->traverse(o, visit_subtract, NULL);
}

/* Steps 2 and 7: subtract the references from each object of a set. */
static void subtract_all(rcy_gc *g, unsigned gen, rcy_ptrvec *garbage)
{
    if (garbage) {
        for (size_t i = 0; i < garbage->len; i++)
            if (is_garbage(garbage->items[i]))
                subtract_refs(g, garbage->items[i], rcy__type(garbage->items[i]), NULL);
    } else if (g->current.side && (g->side.span >> RCY_SIDE_SHIFT) > SUBTRACT_LAG_TABLE) {
        subtract_ring r = {&g->side, {0}, 0};
        rcy__gc_for_each_in_set(g, gen, subtract_refs, &r);
        for (unsigned i = 0; i < SUBTRACT_LAG; i++)
            if (r.child[i])
                subtract_side_now(r.S, r.child[i]);
    } else {
        rcy__gc_for_each_in_set(g, gen, subtract_refs, NULL);
    }
}

/* The header word of an object the mark found reachable. */
static uint32_t reachable_word(uint8_t *b, uint32_t w)
{
    if (b)
        *b = 0;
    return w & ~RCY_GC_COLLECTING;
}

/* Validating builds do every other full collection without the side
   table, as when it cannot be allocated, so the tests cover both ways. */
static int exercise_no_side_table(const rcy_gc *g)
{
#if RCY_CHECK_LEVEL >= 3
    return (g->stats[2].collections & 1) != 0;
#else
    (void)g;
    return 0;
#endif
}

/* A referent the scan passed (SCANNED) is reachable after all. Out of
   line: rare, and it keeps the common path of mark_child free of spills. */
static RCY_NOINLINE void rescue(rcy_gc *g, void *child, uint8_t *b, uint32_t w)
{
    if (rcy__ptrvec_push(&g->stack, child)) {
        RCY_HEAD(child)->gcword = reachable_word(b, w);
    } else {
        RCY_HEAD(child)->gcword = refs_one(b, w & ~RCY_GC_SCANNED); /* a root for the next scan */
        g->stack_overflowed = 1;
    }
}

/* b: the child's byte (side_byte). */
static inline void mark_child(rcy_gc *g, void *child, uint8_t *b)
{
    rcy_objhead *hd = RCY_HEAD(child);
    uint32_t w = hd->gcword;
    if (!(w & RCY_GC_COLLECTING))
        return; /* outside the set, or known reachable */
    if (w & RCY_GC_SCANNED)
        rescue(g, child, b, w);
    else if (refs_zero(b, w))
        hd->gcword = refs_one(b, w);
}

/* Without the side table. */
static void visit_mark(void **slot, void *arg)
{
    if (*slot)
        mark_child(arg, *slot, NULL);
}

/* The same with the side table: a referent whose byte is 0 is outside
   the set or known reachable, and its header is not read. */
static void visit_mark_side(void **slot, void *arg)
{
    rcy_gc *g = arg;
    void *child = *slot;
    if (!child)
        return;
    uint8_t *b = rcy__side_byte(&g->side, child);
    if (!b || *b != 0)
        mark_child(g, child, b);
}

/* Step 3, CPython's move_unreachable without moving anything: the set is
   scanned in order (walk order for a full collection). An object with
   gc_refs > 0 is reachable: COLLECTING is cleared and it is traversed. A
   referent the scan has not reached yet only gets gc_refs = 1, so the scan
   will treat it as reachable when it gets there: references that point
   ahead (most, in a structure built in allocation order) cost no stack
   and keep memory access in order. An object the scan passed with
   gc_refs = 0 is marked SCANNED (tentatively unreachable); if a reachable
   object refers to it later, it goes on the stack and is traversed from
   there. If the stack cannot grow, the object is left as a root and the
   scan runs again. */
static void scan_one(rcy_gc *g, void *o, const rcy_type *t, void *arg)
{
    (void)arg;
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t w = hd->gcword;
    if (!(w & RCY_GC_COLLECTING))
        return;
    uint8_t *b = side_byte(g, o);
    if (refs_zero(b, w)) {
        hd->gcword = w | RCY_GC_SCANNED;
        return;
    }
    hd->gcword = reachable_word(b, w);
    rcy_visit_fn visit = g->current.side ? visit_mark_side : visit_mark;
    t->traverse(o, visit, g);
    while (g->stack.len)
        rcy__traverse(g->stack.items[--g->stack.len], visit, g);
}

/* Step 3 for the set, or step 7's for the garbage. */
static void mark_all(rcy_gc *g, unsigned gen, rcy_ptrvec *garbage)
{
    do {
        g->stack_overflowed = 0;
        if (garbage) {
            for (size_t i = 0; i < garbage->len; i++)
                scan_one(g, garbage->items[i], rcy__type(garbage->items[i]), NULL);
        } else {
            rcy__gc_for_each_in_set(g, gen, scan_one, NULL);
        }
    } while (g->stack_overflowed);
    ptrvec_trim(&g->stack);
}

/* ---- steps 2-3 of a young collection: gc_refs beside the vector ---- */

/* A young collection keeps gc_refs in an array parallel to the young
   vector (the start of the vector's scratch), not in the headers:
   subtracting needs no separate pass to set the counts up (each object
   adds its own count to its slot, whenever its referents subtracted
   theirs), and the mark and settle read a compact array where the headers
   lie scattered. After subtracting, refs[i] is exact; the mark turns the
   entries of what it reaches into YOUNG_REACHABLE. Its work list is the
   rest of the scratch. Neither is allocated nor first touched during a
   collection (see rcy_young): in the first generation-1 period of a
   program, growing them here took a pause of ~50 us up to ~75-85 us
   (bench_gc_recycle young). */
#define YOUNG_REACHABLE INT64_MIN

typedef struct young_pass {
    void **items;
    const rcy_type **types; /* the young vector's: no type found from an address */
    int64_t *refs;
    uint32_t *stack; /* slots, in the rest of the scratch: room for the whole vector */
    uint32_t depth;
    uint32_t start, len; /* the set: items[start..len) */
} young_pass;

/* child's slot if it is in the set, else -1. A young header's slot is
   authoritative only if the vector still holds the object there. */
static inline int64_t set_slot(const young_pass *p, const void *child)
{
    uint32_t w = RCY_HEAD(child)->gcword;
    if ((w & (RCY_GC_TRACKED | RCY_GC_GEN_MASK)) != (RCY_GC_TRACKED | RCY_GEN_YOUNG))
        return -1;
    uint32_t s = w & RCY_GC_SLOT_MASK;
    return s >= p->start && s < p->len && p->items[s] == child ? (int64_t)s : -1;
}

static void visit_young_subtract(void **slot, void *arg)
{
    young_pass *p = arg;
    if (*slot) {
        int64_t s = set_slot(p, *slot);
        if (s >= 0)
            p->refs[s]--;
    }
}

static void young_subtract(young_pass *p)
{
    memset(p->refs + p->start, 0, (p->len - p->start) * sizeof *p->refs);
    for (uint32_t i = p->start; i < p->len; i++) {
        void *o = p->items[i];
        if (RCY_YOUNG_IS_HOLE(o))
            continue;
        p->refs[i] += RCY_HEAD(o)->refcnt;
        p->types[i]->traverse(o, visit_young_subtract, p); /* young: collectable */
    }
}

/* The stack has room for the whole vector, and an object is pushed once,
   as it is marked: pushing cannot fail. */
static void visit_young_mark(void **slot, void *arg)
{
    young_pass *p = arg;
    int64_t s = *slot ? set_slot(p, *slot) : -1;
    if (s >= 0 && p->refs[s] != YOUNG_REACHABLE) {
        p->refs[s] = YOUNG_REACHABLE;
        p->stack[p->depth++] = (uint32_t)s;
    }
}

/* Reverses p->stack[from..depth): what a traverse stacked comes off in
   the order it reported it, first referent first. Objects built depth
   first (a tree, a list) are then marked in the order they were
   allocated, which is mostly address order. */
static void reverse_from(young_pass *p, uint32_t from)
{
    for (uint32_t i = from, j = p->depth; i + 1 < j; i++, j--) {
        uint32_t s = p->stack[i];
        p->stack[i] = p->stack[j - 1];
        p->stack[j - 1] = s;
    }
}

/* Step 3 with a work list: the objects with an outside reference are
   marked and stacked in one pass over the array that does not branch on
   the counts, then what the stack reaches is marked. Unlike the scan of
   the header path, nothing is passed and rescued later. */
static void young_mark(young_pass *p)
{
    for (uint32_t i = p->start; i < p->len; i++) {
        /* the store lands at the count of roots so far, below the set size */
        int64_t r = p->refs[i]; /* 0 for a hole */
        p->stack[p->depth] = i;
        p->depth += r > 0;
        p->refs[i] = r > 0 ? YOUNG_REACHABLE : r;
    }
    while (p->depth) {
        uint32_t top = --p->depth, s = p->stack[top];
        p->types[s]->traverse(p->items[s], visit_young_mark, p);
        reverse_from(p, top);
    }
}

/* The young vector's scratch for a young collection; NULL if it cannot
   have the vector's size (out of memory: the collection then keeps
   gc_refs in the headers, as a full one does). Validating builds use the
   headers every other time, so the tests cover both ways. */
static int64_t *young_refs(rcy_gc *g)
{
#if RCY_CHECK_LEVEL >= 3
    if (g->stats[0].collections & 1)
        return NULL;
#endif
    rcy_young *y = &g->weak.objects.young;
    return rcy__young_fit_scratch(y) ? y->scratch : NULL;
}

/* Steps 2-3 of a young collection with the scratch. */
static void young_examine(rcy_gc *g, unsigned gen, int64_t *refs)
{
    rcy_young *y = &g->weak.objects.young;
    young_pass p = {y->items, y->types, refs, (uint32_t *)(refs + y->scratch_cap), 0,
                    rcy__gc_young_start(y, gen), y->len};
    young_subtract(&p);
    young_mark(&p);
}

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
   collection). */
static int hold_as_garbage(rcy_gc *g, void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t w = hd->gcword;
    if (!rcy__ptrvec_push(&g->unreachable, o))
        return 0;
    /* NOTED: the collector's own clearing drops references to garbage, and
       they are not drops worth noting (what survives counts as one as it
       leaves: leave_garbage) */
    hd->gcword = (w & ~(RCY_GC_COLLECTING | RCY_GC_SLOT_MASK)) | RCY_GC_UNREACHABLE | RCY_GC_NOTED;
    rcy_incref(o);
    return 1;
}

/* A full collection: survivors stay in (or join) generation 2. */
static void settle_old(rcy_gc *g, void *o, const rcy_type *t, void *arg)
{
    (void)t;
    size_t *survivors = arg;
    if ((RCY_HEAD(o)->gcword & RCY_GC_COLLECTING) && hold_as_garbage(g, o))
        return;
    clear_collector_bits(o);
    rcy__set_generation(o, RCY_GEN_OLD, 0);
    (*survivors)++;
}

/* A young collection: survivors of generation 0 keep their slot and
   become generation 1 when the boundary moves; those of generation 1 go
   to generation 2. refs: the mark's verdicts (young_refs), or NULL when
   they are in the headers. */
static size_t settle_young(rcy_gc *g, unsigned gen, const int64_t *refs)
{
    rcy_young *y = &g->weak.objects.young;
    size_t survivors = 0;
    for (uint32_t i = rcy__gc_young_start(y, gen); i < y->len; i++) {
        void *o = y->items[i];
        if (RCY_YOUNG_IS_HOLE(o))
            continue;
        int unreachable = refs ? refs[i] != YOUNG_REACHABLE
                               : (RCY_HEAD(o)->gcword & RCY_GC_COLLECTING) != 0;
        if (unreachable && hold_as_garbage(g, o)) {
            y->items[i] = RCY_YOUNG_HOLE(0);
            continue;
        }
        clear_collector_bits(o);
        if (gen == 0)
            rcy__set_generation(o, RCY_GEN_YOUNG, i);
        else
            rcy__set_generation(o, RCY_GEN_OLD, 0);
        survivors++;
    }
    return survivors;
}

/* Generations 0..gen were collected (or skipped) and `survivors` of them
   moved on: the vector and the counts follow. */
static void promote_young(rcy_gc *g, unsigned gen, size_t survivors)
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

static void settle_set(rcy_gc *g, unsigned gen, const int64_t *young_refs)
{
    size_t held = g->unreachable.len, survivors = 0;
    if (gen >= RCY_GEN_OLD)
        rcy__gc_walk_tracked(g, gen, settle_old, &survivors);
    else
        survivors = settle_young(g, gen, young_refs);
    promote_young(g, gen, survivors);
    g->weak.objects.unreachable += g->unreachable.len - held;
}

/* ---- steps 5-8: what happens to the garbage ---- */

static int weakref_survives(void *wr)
{
    return !is_garbage(wr);
}

/* Step 5. Returns 1 if a callback ran. */
static int handle_weakrefs(rcy_gc *g, const rcy_ptrvec *garbage)
{
    rcy_weakref *callbacks = NULL;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        if (is_garbage(o) && (RCY_HEAD(o)->gcword & RCY_GC_WEAKREFD))
            rcy__weak_filter(rcy__weak_detach(&g->weak, o), weakref_survives, &callbacks);
    }
    int ran = callbacks != NULL;
    rcy__weak_run(callbacks);
    return ran;
}

/* Step 6. The collector's reference keeps each object intact whatever
   the finalizers do. Returns 1 if a finalizer ran. */
static int finalize_garbage(const rcy_ptrvec *garbage)
{
    int ran = 0;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        const rcy_type *t = rcy__type(o);
        if (is_garbage(o) && t->finalize && !(RCY_HEAD(o)->gcword & RCY_GC_FINALIZED)) {
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
   finalizer resurrected, and objects untracked meanwhile) leave it. */
static void handle_resurrected(rcy_gc *g, rcy_ptrvec *garbage)
{
    for (size_t i = 0; i < garbage->len; i++)
        if (is_garbage(garbage->items[i])) /* minus the collector's own reference */
            start_examining(garbage->items[i], RCY_HEAD(garbage->items[i])->refcnt - 1);
    subtract_all(g, 0, garbage);
    mark_all(g, 0, garbage);
    size_t kept = 0;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        uint32_t w = RCY_HEAD(o)->gcword;
        if ((w & RCY_GC_UNREACHABLE) && (w & RCY_GC_COLLECTING)) {
            RCY_HEAD(o)->gcword = w & ~(RCY_GC_COLLECTING | RCY_GC_SLOT_MASK);
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
static void delete_garbage(rcy_gc *g, rcy_ptrvec *garbage)
{
    int saveall = (g->debug & RCY_DEBUG_SAVEALL) != 0;
    for (size_t i = 0; i < garbage->len; i++) {
        void *o = garbage->items[i];
        if (is_garbage(o) && saveall) {
            leave_garbage(g, o);
            keep_as_garbage(g, o);
        } else if (is_garbage(o)) {
            rcy__clear_refs(o);
            if (is_garbage(o) && RCY_HEAD(o)->refcnt > 1)
                leave_garbage(g, o);
        }
        rcy_decref(o);
    }
    ptrvec_trim(garbage);
}

static void print_collectable(const rcy_ptrvec *garbage)
{
    for (size_t i = 0; i < garbage->len; i++)
        fprintf(stderr, "gc: collectable <%s %p>\n", type_name(garbage->items[i]),
                garbage->items[i]);
}

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
    promote_young(g, gen, survivors);
    g->skipped[gen]++;
}

/* One collection of `gen`; an automatic one may be skipped (drop pacing). */
static size_t collect(rcy_gc *g, int gen, int automatic)
{
    rcy_collection *c = &g->current;
    *c = (rcy_collection){(unsigned)gen, gen < 2 ? (unsigned)gen + 1 : 2, 0};

    g->stats[gen].collections++;
    validate_generations(g);
    if (automatic && may_skip(g, gen)) {
        skip_collection(g, (unsigned)gen);
        update_counts(g, gen);
        return 0;
    }
    update_counts(g, gen);
    for (int i = 0; i <= gen; i++) /* drops from now on count for the next one */
        g->noted_at[i] = g->weak.objects.noted;
    int64_t *refs = c->gen < RCY_GEN_OLD ? young_refs(g) : NULL;
    if (refs) {
        young_examine(g, c->gen, refs);                    /* 1-3 */
    } else {
        c->side = gen >= RCY_GEN_OLD && !exercise_no_side_table(g) &&
                  rcy__side_begin(&g->side, &g->weak.objects.mem.pools);
        rcy__gc_for_each_in_set(g, c->gen, c->side ? update_refs_side : update_refs, NULL); /* 1, 2 */
        subtract_all(g, c->gen, NULL);
        mark_all(g, c->gen, NULL);                         /* 3 */
        if (c->side)
            rcy__side_end(&g->side);
        c->side = 0;
    }
    settle_set(g, c->gen, refs);                           /* 4 */
    size_t n = g->unreachable.len;
    if (g->debug & RCY_DEBUG_COLLECTABLE)
        print_collectable(&g->unreachable);
    int user_code_ran = handle_weakrefs(g, &g->unreachable); /* 5 */
    user_code_ran |= finalize_garbage(&g->unreachable);    /* 6 */
    if (user_code_ran) /* else nothing can have changed since step 4 */
        handle_resurrected(g, &g->unreachable);            /* 7 */
    delete_garbage(g, &g->unreachable);                    /* 8 */
    validate_generations(g);

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
    g->weak.objects.young_full = young_full;
    rcy__gc_update_young_limit(g);
}

void rcy__gc_fini(rcy_gc *g)
{
    free(g->callbacks);
    rcy__ptrvec_fini(&g->garbage); /* the objects go with the heap's memory */
    rcy__ptrvec_fini(&g->unreachable);
    rcy__ptrvec_fini(&g->stack);
    zero_own_state(g);
}
