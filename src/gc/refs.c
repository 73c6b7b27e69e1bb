/* SPDX-License-Identifier: MIT */
/* refs: steps 2-3 of a collection, which objects of a set nothing outside
 * it reaches, written once over the places gc_refs can live in (refs.h).
 *
 *   the place: rcy__gc_refs_begin picks it for the running collection
 *     (SIDE for a full one, YOUNG for a young one, HEADER when the side
 *     table or the young scratch cannot be had, or as the test hook
 *     rcy__gc_test_force_refs says); step 7 always uses HEADER on the
 *     garbage vector (rcy__gc_refs_of_garbage).
 *   step 2, rcy__gc_update_refs and rcy__gc_subtract_refs: gc_refs =
 *     refcount (minus the collector's own reference in step 7), minus
 *     one for every reference from inside the set. Two passes where
 *     membership is a header bit (setting a member up when first met as a
 *     referent measured slower: those writes land far apart), one for
 *     YOUNG, and for SIDE only subtract's (update counts the large
 *     objects): its bytes count the references from inside and the scan
 *     subtracts them from the count. With a side table larger than the cache, each decrement waits
 *     in a small ring while its byte is prefetched.
 *   step 3, rcy__gc_mark_reachable: HEADER and SIDE scan the set in order
 *     with a rescue stack (CPython's move_unreachable without moving);
 *     YOUNG marks from a work list of its roots. Measured, each is the
 *     faster on its own sets: a plain depth-first mark was 1.3x slower on
 *     a full collection of a chain with random back references; the scan
 *     branches on every entry of a young set, whose survivors and garbage
 *     mix in no order a branch predictor learns.
 *
 * Each pass is an RCY_ALWAYS_INLINE function of a constant place and set
 * kind; the small functions under "one function per place" instantiate it
 * where a pointer is needed (a walk's step, a traverse's visit), so every
 * place runs loops compiled for it alone. No user code runs during steps
 * 2-3, and nothing is allocated but the rescue stack. */
#include <string.h>

#include "gc/internal.h"
#include "gc/refs.h"
#include "gc/walk.h"

/* Decrements commute, so with a table larger than the cache each waits in
   a ring of SUBTRACT_LAG while its byte is fetched: the misses of
   successive references then overlap instead of following one another. */
#define SUBTRACT_LAG 16
/* Bytes of table that call for the ring and for prefetching ahead
   (SCAN_AHEAD below). Measured, bench_gc shape at 1e6 objects (a table of
   2-3 MiB, in cache): both cost time (records 6.3 -> 6.9 ns an object with
   the ring, 7.5 with prefetching too; list 12.1 -> 12.6) and 18-30
   instructions an object; at 1e7 (about 20 MiB) prefetching ahead saved a
   third (records 33 -> 18.5 ns). */
#define SUBTRACT_LAG_TABLE ((size_t)8 << 20)

static void subtract_side(rcy_refs *r); /* SIDE's loops over the pools' spans */
static RCY_ALWAYS_INLINE void subtract_side_fast(rcy_refs *r, rcy_side S, void *child);
static void scan_side(rcy_refs *r);

/* ---- the place ---- */

void rcy__gc_refs_begin(rcy_gc *g, rcy_refs *r)
{
    unsigned gen = g->current.gen;
    rcy_refs_place forced = g->forced_refs;
    rcy_young *y = &g->weak.objects.young;
    *r = (rcy_refs){.g = g, .place = RCY_REFS_HEADER, .gen = gen};
    if (gen >= RCY_GEN_OLD) {
        if ((forced == RCY_REFS_AUTO || forced == RCY_REFS_SIDE) &&
            rcy__side_begin(&r->side, &g->weak.objects.mem.pools)) {
            r->place = RCY_REFS_SIDE;
            size_t table = r->side.span >> RCY_SIDE_SHIFT;
            r->lag = forced == RCY_REFS_SIDE || table > SUBTRACT_LAG_TABLE;
        }
    } else if ((forced == RCY_REFS_AUTO || forced == RCY_REFS_YOUNG) && rcy__young_fit_scratch(y) &&
               y->scratch) { /* none yet: an empty vector */
        r->place = RCY_REFS_YOUNG;
        r->items = y->items;
        r->young = y->scratch;
        r->start = rcy__gc_young_start(y, gen);
        r->len = y->len;
    }
}

void rcy__gc_refs_of_garbage(rcy_gc *g, rcy_ptrvec *garbage, rcy_refs *r)
{
    *r = (rcy_refs){.g = g, .place = RCY_REFS_HEADER, .garbage = garbage};
}

void rcy__gc_refs_end(rcy_refs *r)
{
    if (r->place == RCY_REFS_SIDE)
        rcy__side_end(&r->side);
}

void rcy__gc_test_force_refs(rcy_heap *h, int place)
{
    RCY_ASSERT(place >= RCY_REFS_AUTO && place <= RCY_REFS_YOUNG);
    rcy__gc_of(h)->forced_refs = (rcy_refs_place)place;
}

/* ---- step 2: gc_refs = count - references from inside the set ---- */

/* SIDE: only members without a byte (large objects) are counted here; a
   byte counts the references met, and the scan compares it with the
   count. */
static RCY_ALWAYS_INLINE void count_one(rcy_refs *r, rcy_refs_place P, rcy_refs_set S, void *o,
                                        uint32_t i)
{
    rcy_refs_cell c = rcy__gc_refs_member(r, P, o, i);
    if (P == RCY_REFS_SIDE && c.byte)
        return;
    rcy__gc_refs_start(r, P, c, rcy__gc_refs_count(S, o));
}

/* Rare: a referent with more than RCY_SIDE_MET_MAX references from inside
   (a popular member, or an object outside the set): its header is read. */
void rcy__gc_refs_met_many(const rcy_refs *r, void *child, rcy_refs_cell c)
{
    if (rcy__gc_tracked_at((char *)c.hd, r->gen)) { /* a member: gc_refs to the header */
        uint32_t count = rcy__gc_refs_count(RCY_REFS_GENERATIONS, child);
        RCY_ASSERT(count > RCY_SIDE_MET_MAX); /* more references from inside than its count */
        rcy__gc_refs_start(r, RCY_REFS_SIDE, c,
                           count > RCY_SIDE_MET_MAX ? count - RCY_SIDE_MET_MAX - 1 : 0);
    }
    *c.byte = RCY_REFS_SATURATED; /* the header says: COLLECTING or not */
}

static RCY_ALWAYS_INLINE void visit_subtract(void **slot, void *arg, rcy_refs_place P)
{
    const rcy_refs *r = arg;
    void *child = *slot;
    if (child)
        rcy__gc_refs_subtract(r, P, child, rcy__gc_refs_referent(r, P, child));
}

static RCY_ALWAYS_INLINE void visit_subtract_header(void **slot, void *arg);
static RCY_ALWAYS_INLINE void visit_subtract_side(void **slot, void *arg);
static RCY_ALWAYS_INLINE void visit_subtract_young(void **slot, void *arg);

static RCY_ALWAYS_INLINE rcy_visit_fn subtract_visitor(rcy_refs_place P)
{
    return P == RCY_REFS_SIDE    ? visit_subtract_side
           : P == RCY_REFS_YOUNG ? visit_subtract_young
                                 : visit_subtract_header;
}

/* One member's references (and, where update is no pass of its own, its
   count first). */
static RCY_ALWAYS_INLINE void subtract_one(rcy_refs *r, rcy_refs_place P, rcy_refs_set S, void *o,
                                           const rcy_type *t, uint32_t i)
{
    if (!rcy__gc_refs_counted_apart(P))
        count_one(r, P, S, o, i);
    rcy__visit_refs(o, t, subtract_visitor(P), r);
}

/* SIDE with the ring: each reference's byte is prefetched, and the
   decrement of the reference met SUBTRACT_LAG before it is done. */
typedef struct subtract_ring {
    rcy_refs *r;
    void *child[SUBTRACT_LAG];
    unsigned next;
} subtract_ring;

static RCY_ALWAYS_INLINE void visit_subtract_lagged(void **slot, void *arg)
{
    subtract_ring *q = arg;
    void *child = *slot;
    if (!child)
        return;
    rcy_refs_cell c = rcy__gc_refs_referent(q->r, RCY_REFS_SIDE, child);
    if (c.byte)
        __builtin_prefetch(c.byte, 1);
    void **place = &q->child[q->next++ % SUBTRACT_LAG];
    void *due = *place;
    *place = child;
    if (due)
        subtract_side_fast(q->r, q->r->side, due);
}

static RCY_ALWAYS_INLINE void subtract_lagged_step(rcy_gc *g, void *o, const rcy_type *t,
                                                   uint32_t i, void *arg)
{
    (void)g, (void)i;
    rcy__visit_refs(o, t, visit_subtract_lagged, arg);
}

static RCY_ALWAYS_INLINE void count_step_header(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                void *arg);
static RCY_ALWAYS_INLINE void count_step_side(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                              void *arg);
static RCY_ALWAYS_INLINE void count_step_garbage(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                 void *arg);
static RCY_ALWAYS_INLINE void subtract_step_header(rcy_gc *g, void *o, const rcy_type *t,
                                                   uint32_t i, void *arg);
static RCY_ALWAYS_INLINE void subtract_step_side(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                 void *arg);
static RCY_ALWAYS_INLINE void subtract_step_young(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                  void *arg);

static RCY_ALWAYS_INLINE void update_refs(rcy_refs *r, rcy_refs_place P, rcy_refs_set S)
{
    rcy__gc_refs_reset(r, P);
    if (!rcy__gc_refs_counted_apart(P))
        return;               /* the subtract pass counts */
    if (P == RCY_REFS_SIDE) { /* the pools' members all have a byte */
        rcy__gc_walk_larges(r->g, r->gen, count_step_side, r);
        return;
    }
    rcy_gc_step step = S == RCY_REFS_GARBAGE ? count_step_garbage : count_step_header;
    rcy__gc_refs_for_each(r, S, step, r);
}

static RCY_ALWAYS_INLINE void subtract_refs(rcy_refs *r, rcy_refs_place P, rcy_refs_set S)
{
    (void)S; /* HEADER's step is the same for either set */
    rcy_gc_step step = P == RCY_REFS_SIDE    ? subtract_step_side
                       : P == RCY_REFS_YOUNG ? subtract_step_young
                                             : subtract_step_header;
    rcy__gc_refs_for_each(r, S, step, r);
}

void rcy__gc_update_refs(rcy_refs *r)
{
    if (r->garbage)
        update_refs(r, RCY_REFS_HEADER, RCY_REFS_GARBAGE);
    else if (r->place == RCY_REFS_SIDE)
        update_refs(r, RCY_REFS_SIDE, RCY_REFS_GENERATIONS);
    else if (r->place == RCY_REFS_YOUNG)
        update_refs(r, RCY_REFS_YOUNG, RCY_REFS_GENERATIONS);
    else
        update_refs(r, RCY_REFS_HEADER, RCY_REFS_GENERATIONS);
}

void rcy__gc_subtract_refs(rcy_refs *r)
{
    if (r->garbage)
        subtract_refs(r, RCY_REFS_HEADER, RCY_REFS_GARBAGE);
    else if (r->place == RCY_REFS_SIDE)
        subtract_side(r);
    else if (r->place == RCY_REFS_YOUNG)
        subtract_refs(r, RCY_REFS_YOUNG, RCY_REFS_GENERATIONS);
    else
        subtract_refs(r, RCY_REFS_HEADER, RCY_REFS_GENERATIONS);
    rcy__gc_check_counted(r);
}

/* ---- step 3 for HEADER and SIDE: the ordered scan ---- */

/* CPython's move_unreachable without moving anything: the set is scanned
   in order (walk order for a full collection). A member with gc_refs > 0
   is reachable: it leaves the set and is traversed. A referent the scan
   has not reached yet only gets gc_refs = 1, so the scan will treat it as
   reachable when it gets there: references that point ahead (most, in a
   structure built in allocation order) cost no stack and keep memory
   access in order. A member the scan passed with gc_refs = 0 is marked
   SCANNED (tentatively unreachable); if a reachable object refers to it
   later, it is rescued: it goes on the stack and is traversed from there.
   If the stack cannot grow, it is left as a root and the scan runs
   again. */

/* A referent the scan passed is reachable after all. byte: its cell's
   (SIDE). */
static RCY_ALWAYS_INLINE void rescue(rcy_refs *r, rcy_refs_place P, void *child, uint8_t *byte,
                                     uint32_t w)
{
    rcy_gc *g = r->g;
    rcy_refs_cell c = {RCY_HEAD(child), byte, -1};
    if (rcy__ptrvec_push(&g->stack, child)) {
        rcy__gc_refs_reachable(r, P, c, w);
    } else {
        rcy__gc_refs_give_one(r, P, c, w & ~RCY_GC_SCANNED); /* a root for the next scan */
        g->stack_overflowed = 1;
    }
}

static void rescue_header(rcy_refs *r, void *child, uint8_t *byte, uint32_t w);
static void rescue_side(rcy_refs *r, void *child, uint8_t *byte, uint32_t w);

/* SIDE: a referent whose byte holds its state is decided by the byte, and
   its header is read only to rescue it. */
static RCY_ALWAYS_INLINE void visit_mark(void **slot, void *arg, rcy_refs_place P)
{
    rcy_refs *r = arg;
    void *child = *slot;
    if (!child)
        return;
    rcy_refs_cell c = rcy__gc_refs_referent(r, P, child);
    if (rcy__gc_refs_in_byte(P, c)) {
        uint8_t b = *c.byte; /* references met: not reached yet (or outside the set) */
        if (b < RCY_SIDE_REACHED)
            *c.byte = (uint8_t)(b | RCY_SIDE_REACHED);
        else if (b == RCY_SIDE_PASSED)
            rescue_side(r, child, c.byte, c.hd->gcword);
        return;
    }
    uint32_t w = c.hd->gcword;
    if (!rcy__gc_refs_candidate(r, P, c, w))
        return; /* outside the set, or known reachable */
    if (rcy__gc_refs_passed(P, c, w))
        (P == RCY_REFS_SIDE ? rescue_side : rescue_header)(r, child, c.byte, w);
    else if (rcy__gc_refs_zero(r, P, c, w))
        rcy__gc_refs_give_one(r, P, c, w);
}

static RCY_ALWAYS_INLINE void visit_mark_header(void **slot, void *arg);
static RCY_ALWAYS_INLINE void visit_mark_side(void **slot, void *arg);

static RCY_ALWAYS_INLINE void scan_one(rcy_refs *r, rcy_refs_place P, void *o, const rcy_type *t,
                                       uint32_t i)
{
    rcy_refs_cell c = rcy__gc_refs_member(r, P, o, i);
    int in_byte = rcy__gc_refs_in_byte(P, c);
    uint32_t w = in_byte ? 0 : c.hd->gcword; /* in the byte: read to settle it */
    if (!rcy__gc_refs_candidate(r, P, c, w))
        return;
    if (rcy__gc_refs_zero(r, P, c, w)) {
        rcy__gc_refs_pass(P, c, w);
        if (P == RCY_REFS_SIDE && !rcy__ptrvec_push(&r->g->passed, o))
            r->g->passed_lost = 1;
        return;
    }
    rcy__gc_refs_reachable(r, P, c, in_byte ? c.hd->gcword : w);
    rcy_visit_fn visit = P == RCY_REFS_SIDE ? visit_mark_side : visit_mark_header;
    rcy__visit_refs(o, t, visit, r);
    rcy_ptrvec *stack = &r->g->stack;
    while (stack->len)
        rcy__traverse(stack->items[--stack->len], visit, r);
}

static RCY_ALWAYS_INLINE void scan_step_header(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                               void *arg);
static RCY_ALWAYS_INLINE void scan_step_side(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                             void *arg);

static RCY_ALWAYS_INLINE void scan(rcy_refs *r, rcy_refs_place P, rcy_refs_set S)
{
    rcy_gc *g = r->g;
    rcy_gc_step step = P == RCY_REFS_SIDE ? scan_step_side : scan_step_header;
    g->passed.len = 0;
    g->passed_lost = 0;
    do {
        g->passed_lost |= g->stack_overflowed; /* a second scan lists members again */
        g->stack_overflowed = 0;
        if (P == RCY_REFS_SIDE && S == RCY_REFS_GENERATIONS)
            scan_side(r);
        else
            rcy__gc_refs_for_each(r, S, step, r);
    } while (g->stack_overflowed);
    rcy__gc_trim(&g->stack);
}

/* ---- step 3 for YOUNG: a work list ---- */

/* The objects with an outside reference are marked and stacked in one
   pass over the entries that does not branch on them, then what the stack
   reaches is marked. The stack is the rest of the young scratch (track.h),
   room for the whole vector, and an object is pushed once, as it is
   marked: pushing cannot fail, and nothing is passed and rescued later. */
typedef struct young_mark {
    rcy_refs r;
    const rcy_type **types; /* the young vector's: no type found from an address */
    uint32_t *stack;        /* slots */
    uint32_t depth;
} young_mark;

static RCY_ALWAYS_INLINE void visit_mark_young(void **slot, void *arg)
{
    young_mark *m = arg;
    void *child = *slot;
    if (!child)
        return;
    rcy_refs_cell c = rcy__gc_refs_referent(&m->r, RCY_REFS_YOUNG, child);
    if (rcy__gc_refs_candidate(&m->r, RCY_REFS_YOUNG, c, 0)) {
        rcy__gc_refs_reachable(&m->r, RCY_REFS_YOUNG, c, 0);
        m->stack[m->depth++] = (uint32_t)c.slot;
    }
}

/* Reverses stack[from..depth): what a traverse stacked comes off in the
   order it reported it, first referent first. Objects built depth first
   (a tree, a list) are then marked in the order they were allocated,
   which is mostly address order. */
static void reverse_from(young_mark *m, uint32_t from)
{
    for (uint32_t i = from, j = m->depth; i + 1 < j; i++, j--) {
        uint32_t s = m->stack[i];
        m->stack[i] = m->stack[j - 1];
        m->stack[j - 1] = s;
    }
}

static void mark_young(const rcy_refs *r)
{
    rcy_young *y = &r->g->weak.objects.young;
    young_mark m = {*r, y->types, (uint32_t *)(r->young + y->scratch_cap), 0};
    /* kept in registers across the traverses, which see m */
    int64_t *young = r->young;
    void **items = r->items;
    const rcy_type **types = m.types;
    uint32_t *stack = m.stack;
    for (uint32_t i = r->start; i < r->len; i++) {
        /* the store lands at the count of roots so far, below the set size */
        int64_t n = young[i]; /* 0 for a hole */
        stack[m.depth] = i;
        m.depth += n > 0;
        young[i] = n > 0 ? RCY_REFS_REACHABLE : n;
    }
    while (m.depth) {
        uint32_t top = --m.depth, s = stack[top];
        rcy__visit_refs(items[s], types[s], visit_mark_young, &m);
        reverse_from(&m, top);
    }
}

void rcy__gc_mark_reachable(rcy_refs *r)
{
    if (r->garbage)
        scan(r, RCY_REFS_HEADER, RCY_REFS_GARBAGE);
    else if (r->place == RCY_REFS_SIDE)
        scan(r, RCY_REFS_SIDE, RCY_REFS_GENERATIONS);
    else if (r->place == RCY_REFS_YOUNG)
        mark_young(r);
    else
        scan(r, RCY_REFS_HEADER, RCY_REFS_GENERATIONS);
    rcy__gc_check_marked(r);
}

/* ---- SIDE: the loops over the pools' spans ----
   A full collection's two passes spend most of their instructions on the
   pools' blocks, so those get loops of their own: the span's type's
   descriptor and traverse and the table's fields are read once per span
   into locals (a byte store may alias any memory, so in the generic steps
   each object reloaded them), a descriptor's words are found by counting
   trailing zeros, and each reference takes one compare on its common path
   (a byte holding a small count, or not yet reached); everything else
   (saturated bytes, objects beyond the table, null references, members
   the scan passed) goes to the generic code above, out of line. The large
   objects are walked before, by the generic steps. */

/* Subtract: the common path of one reference, where the referent's byte
   counts fewer than RCY_SIDE_MET_MAX references (a null child falls out
   of the table's range too: off wraps, and it is tested only then). */
static RCY_NOINLINE void subtract_side_slow(rcy_refs *r, void *child)
{
    rcy__gc_refs_subtract(r, RCY_REFS_SIDE, child, rcy__gc_refs_referent(r, RCY_REFS_SIDE, child));
}

static RCY_ALWAYS_INLINE void subtract_side_fast(rcy_refs *r, rcy_side S, void *child)
{
    uintptr_t off = (uintptr_t)child - S.lo;
    if (off < S.span) {
        uint8_t *byte = &S.bytes[off >> RCY_SIDE_SHIFT];
        uint8_t b = *byte;
        if (RCY_LIKELY(b < RCY_SIDE_MET_MAX)) {
            *byte = (uint8_t)(b + 1);
            return;
        }
    }
    if (child)
        subtract_side_slow(r, child);
}

/* The mark: not yet reached gets REACHED; reached or done needs nothing;
   a passed member (rescue), a saturated byte or no byte goes the generic
   way. */
static RCY_NOINLINE void mark_side_slow(rcy_refs *r, void *child)
{
    visit_mark(&child, r, RCY_REFS_SIDE);
}

static RCY_ALWAYS_INLINE void mark_side_fast(rcy_refs *r, rcy_side S, void *child)
{
    uintptr_t off = (uintptr_t)child - S.lo;
    if (off < S.span) {
        uint8_t *byte = &S.bytes[off >> RCY_SIDE_SHIFT];
        uint8_t b = *byte;
        if (RCY_LIKELY(b < RCY_SIDE_REACHED)) {
            *byte = (uint8_t)(b | RCY_SIDE_REACHED);
            return;
        }
        if (b < RCY_SIDE_PASSED)
            return; /* reached already, or done */
    }
    if (child)
        mark_side_slow(r, child);
}

/* Which a span loop does to each reference: subtract at once, subtract
   through the ring (a table larger than the cache), or mark. */
typedef void (*side_traverse)(void *self, rcy_visit_fn visit, void *arg);
typedef enum side_op { SIDE_SUBTRACT, SIDE_SUBTRACT_LAG, SIDE_MARK } side_op;

/* SUBTRACT_LAG: child's byte is prefetched and its decrement waits in q
   while the one met SUBTRACT_LAG references before is done. */
static RCY_ALWAYS_INLINE void subtract_side_lagged(rcy_refs *r, rcy_side S, subtract_ring *q,
                                                   void *child)
{
    if (!child)
        return;
    uintptr_t off = (uintptr_t)child - S.lo;
    if (off < S.span)
        __builtin_prefetch(&S.bytes[off >> RCY_SIDE_SHIFT], 1);
    void **place = &q->child[q->next++ % SUBTRACT_LAG];
    void *due = *place;
    *place = child;
    if (due)
        subtract_side_fast(r, S, due);
}

static RCY_ALWAYS_INLINE void side_ref(rcy_refs *r, rcy_side S, side_op op, subtract_ring *q,
                                       void *child)
{
    if (op == SIDE_SUBTRACT)
        subtract_side_fast(r, S, child);
    else if (op == SIDE_SUBTRACT_LAG)
        subtract_side_lagged(r, S, q, child);
    else
        mark_side_fast(r, S, child);
}

/* The descriptors that get span loops of their own (side_refs' K), and
   the K of a type with traverse and no descriptor. */
#define SIDE_FIXED_MAX 7u
#define SIDE_TRAVERSE_ONLY 8u

/* o's references: the descriptor's words m inline, then traverse. K, a
   constant: the descriptor when the span loop was compiled for one that
   names some of the first three words only and no traverse (each word then
   a load and its reference's code, nothing else), SIDE_TRAVERSE_ONLY for
   traverse alone; 0: m and trav as read. */
static RCY_ALWAYS_INLINE void side_refs(rcy_refs *r, rcy_side S, side_op op, subtract_ring *q,
                                        void *o, unsigned K, uint64_t m, side_traverse trav)
{
    void **words = o;
    if (K == SIDE_TRAVERSE_ONLY)
        m = 0; /* and trav is set */
    else if (K) {
        for (unsigned j = 0; j < 3; j++)
            if (K & (1u << j))
                side_ref(r, S, op, q, words[j]);
        return;
    }
    for (; m; m &= m - 1)
        side_ref(r, S, op, q, words[__builtin_ctzll(m)]);
    if (K != SIDE_TRAVERSE_ONLY && !trav)
        return;
    if (op == SIDE_SUBTRACT_LAG)
        trav(o, visit_subtract_lagged, q);
    else
        trav(o, op == SIDE_SUBTRACT ? visit_subtract_side : visit_mark_side, r);
}

/* With a table much larger than the cache (r->lag), the span loops whose
   descriptor is a constant prefetch the bytes of the references of the
   member SCAN_AHEAD blocks ahead: the byte updates are what a random graph
   misses on. Subtract's other loops use the ring instead; the mark's
   updates cannot wait in a ring (the scan reads a byte as it reaches its
   member). */
#define SCAN_AHEAD 8

static RCY_ALWAYS_INLINE void prefetch_bytes_of(rcy_side S, char *block, unsigned gen, unsigned K)
{
    void **words = rcy__gc_tracked_at(block, gen);
    if (!words)
        return;
    for (unsigned j = 0; j < 3; j++) {
        if (!(K & (1u << j)))
            continue;
        uintptr_t off = (uintptr_t)words[j] - S.lo;
        if (off < S.span)
            __builtin_prefetch(&S.bytes[off >> RCY_SIDE_SHIFT], 1);
    }
}

/* Subtract over one span of generations 0..gen, with side_refs' K. */
static RCY_ALWAYS_INLINE void subtract_span(rcy_refs *r, rcy_side S, side_op op, subtract_ring *q,
                                            const rcy_span *sp, unsigned gen, unsigned K)
{
    const rcy_type *t = sp->tag;
    uint64_t m = t->ref_words;
    side_traverse trav = t->traverse;
    char *b = sp->first;
    size_t n = sp->n, stride = sp->stride;
    if (K && K <= SIDE_FIXED_MAX && op == SIDE_SUBTRACT_LAG) { /* prefetching ahead, not the ring */
        for (size_t i = 0; i < n; i++, b += stride) {
            if (i + SCAN_AHEAD < n)
                prefetch_bytes_of(S, b + SCAN_AHEAD * stride, gen, K);
            void *o = rcy__gc_tracked_at(b, gen);
            if (o)
                side_refs(r, S, SIDE_SUBTRACT, q, o, K, m, trav);
        }
        return;
    }
    for (size_t i = 0; i < n; i++, b += stride) {
        void *o = rcy__gc_tracked_at(b, gen);
        if (o)
            side_refs(r, S, op, q, o, K, m, trav);
    }
}

/* The scan's step for a member of the pools, whose byte is at byte: the
   common states here, the rest in scan_step_side. */
static RCY_ALWAYS_INLINE void scan_member_side(rcy_refs *r, rcy_side S, void *o, uint8_t *byte,
                                               unsigned K, uint64_t m, side_traverse trav)
{
    uint8_t b = *byte;
    if (b == RCY_SIDE_DONE)
        return; /* rescued: traversed already */
    if (b >= RCY_SIDE_PASSED) {
        scan_step_side(r->g, o, rcy__type(o), 0, r); /* saturated, or passed before a rescan */
        return;
    }
    rcy_objhead *hd = RCY_HEAD(o);
    if (b < RCY_SIDE_REACHED && rcy__gc_refs_count(RCY_REFS_GENERATIONS, o) == b) {
        *byte = RCY_SIDE_PASSED; /* gc_refs 0: tentatively unreachable */
        if (!rcy__ptrvec_push(&r->g->passed, o))
            r->g->passed_lost = 1;
        return;
    }
    *byte = RCY_SIDE_DONE;
    uint32_t w = hd->gcword, settled = rcy__gc_settled_old(w);
    if (settled != w)         /* only the first full collection an object meets changes it: the */
        hd->gcword = settled; /* others leave its line clean, with no write-back */
    side_refs(r, S, SIDE_MARK, NULL, o, K, m, trav);
    rcy_ptrvec *stack = &r->g->stack;
    while (stack->len)
        rcy__traverse(stack->items[--stack->len], visit_mark_side, r);
}

/* The scan over one span, with side_refs' K. A member's byte follows
   from its address with no range test: the pools' blocks all lie in the
   table's range (nothing is mapped during steps 2-3). */
static RCY_ALWAYS_INLINE void scan_span(rcy_refs *r, rcy_side S, const rcy_span *sp, unsigned gen,
                                        unsigned K)
{
    const rcy_type *t = sp->tag;
    uint64_t m = t->ref_words;
    side_traverse trav = t->traverse;
    char *b = sp->first;
    size_t n = sp->n, stride = sp->stride;
    RCY_ASSERT(n == 0 || (rcy__side_byte(&S, b) && rcy__side_byte(&S, b + (n - 1) * stride)));
    size_t i = 0;
    if (K && K <= SIDE_FIXED_MAX && r->lag) /* the same loop, prefetching ahead */
        for (; i + SCAN_AHEAD < n; i++, b += stride) {
            prefetch_bytes_of(S, b + SCAN_AHEAD * stride, gen, K);
            void *o = rcy__gc_tracked_at(b, gen);
            if (o)
                scan_member_side(r, S, o, &S.bytes[((uintptr_t)o - S.lo) >> RCY_SIDE_SHIFT], K, m,
                                 trav);
        }
    for (; i < n; i++, b += stride) {
        void *o = rcy__gc_tracked_at(b, gen);
        if (o)
            scan_member_side(r, S, o, &S.bytes[((uintptr_t)o - S.lo) >> RCY_SIDE_SHIFT], K, m,
                             trav);
    }
}

/* The span loops, one function for each pass and K: out of line, so that
   each has a frame of its own (inlined into one function, a build without
   optimization gave the pass a frame larger than a small thread's stack),
   at one call per span. */
#define SIDE_SPAN_FUNCTIONS(name, k)                                                               \
    static RCY_NOINLINE void subtract_##name(rcy_refs *r, rcy_side S, const rcy_span *sp)          \
    {                                                                                              \
        subtract_span(r, S, SIDE_SUBTRACT, NULL, sp, r->gen, k);                                   \
    }                                                                                              \
    static RCY_NOINLINE void lagged_##name(rcy_refs *r, rcy_side S, subtract_ring *q,              \
                                           const rcy_span *sp)                                     \
    {                                                                                              \
        subtract_span(r, S, SIDE_SUBTRACT_LAG, q, sp, r->gen, k);                                  \
    }                                                                                              \
    static RCY_NOINLINE void scan_##name(rcy_refs *r, rcy_side S, const rcy_span *sp)              \
    {                                                                                              \
        scan_span(r, S, sp, r->gen, k);                                                            \
    }
SIDE_SPAN_FUNCTIONS(any, 0)
SIDE_SPAN_FUNCTIONS(k1, 1)
SIDE_SPAN_FUNCTIONS(k2, 2)
SIDE_SPAN_FUNCTIONS(k3, 3)
SIDE_SPAN_FUNCTIONS(k4, 4)
SIDE_SPAN_FUNCTIONS(k5, 5)
SIDE_SPAN_FUNCTIONS(k6, 6)
SIDE_SPAN_FUNCTIONS(k7, 7)
SIDE_SPAN_FUNCTIONS(traverse_only, SIDE_TRAVERSE_ONLY)
#undef SIDE_SPAN_FUNCTIONS

/* One span, by the loop compiled for its descriptor. */
static RCY_ALWAYS_INLINE void side_span(rcy_refs *r, rcy_side S, side_op op, subtract_ring *q,
                                        const rcy_span *sp)
{
    const rcy_type *t = sp->tag;
    unsigned K = !t->traverse && t->ref_words <= SIDE_FIXED_MAX ? (unsigned)t->ref_words
                 : t->traverse && !t->ref_words                 ? SIDE_TRAVERSE_ONLY
                                                                : 0;
    switch (K) {
#define SIDE_CASE(k, name)                                                                         \
    case k:                                                                                        \
        if (op == SIDE_MARK)                                                                       \
            scan_##name(r, S, sp);                                                                 \
        else if (op == SIDE_SUBTRACT)                                                              \
            subtract_##name(r, S, sp);                                                             \
        else                                                                                       \
            lagged_##name(r, S, q, sp);                                                            \
        break;
        SIDE_CASE(1, k1)
        SIDE_CASE(2, k2)
        SIDE_CASE(3, k3)
        SIDE_CASE(4, k4)
        SIDE_CASE(5, k5)
        SIDE_CASE(6, k6)
        SIDE_CASE(7, k7)
        SIDE_CASE(SIDE_TRAVERSE_ONLY, traverse_only)
#undef SIDE_CASE
    default: /* 0: the descriptor and traverse as read */
        if (op == SIDE_MARK)
            scan_any(r, S, sp);
        else if (op == SIDE_SUBTRACT)
            subtract_any(r, S, sp);
        else
            lagged_any(r, S, q, sp);
    }
}

/* One pass of SIDE over the set: the large objects by the generic step,
   then the pools' spans by the loops above. */
static RCY_ALWAYS_INLINE void side_pass(rcy_refs *r, side_op op, subtract_ring *q)
{
    rcy_gc *g = r->g;
    const rcy_side S = r->side;
    if (op == SIDE_MARK)
        rcy__gc_walk_larges(g, r->gen, scan_step_side, r);
    else if (op == SIDE_SUBTRACT)
        rcy__gc_walk_larges(g, r->gen, subtract_step_side, r);
    else
        rcy__gc_walk_larges(g, r->gen, subtract_lagged_step, q);
    /* The scan walks the spans of types with traverse first (containers,
       whose entries were mostly made after them, in pools further on): it
       raises their entries' bytes before it meets them, instead of passing
       each and rescuing it later. Subtract counted those spans: with none,
       one walk. */
    int rounds = op == SIDE_MARK && r->containers ? 2 : 1;
    if (op != SIDE_MARK)
        r->containers = 0;
    for (int round = 0; round < rounds; round++) {
        rcy_pool_cursor c = {0};
        rcy_span sp;
        while (rcy__pools_next_span(&g->weak.objects.mem.pools, RCY_KIND_OBJECTS, &c, &sp)) {
            int container = ((const rcy_type *)sp.tag)->traverse != NULL;
            if (op != SIDE_MARK)
                r->containers += (size_t)container;
            else if (rounds == 2 && container != (round == 0))
                continue;
            side_span(r, S, op, q, &sp);
        }
    }
}

static void subtract_side(rcy_refs *r)
{
    if (!r->lag) {
        side_pass(r, SIDE_SUBTRACT, NULL);
        return;
    }
    subtract_ring q = {r, {0}, 0};
    side_pass(r, SIDE_SUBTRACT_LAG, &q);
    for (unsigned i = 0; i < SUBTRACT_LAG; i++)
        if (q.child[i])
            subtract_side_fast(r, r->side, q.child[i]);
}

static void scan_side(rcy_refs *r)
{
    side_pass(r, SIDE_MARK, NULL);
}

/* ---- one function per place ---- */

/* Each instantiates a pass above for one place (and set kind), where a
   walk or a traverse takes its address. */

static RCY_ALWAYS_INLINE void count_step_header(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                void *arg)
{
    (void)g, (void)t;
    count_one(arg, RCY_REFS_HEADER, RCY_REFS_GENERATIONS, o, i);
}

static RCY_ALWAYS_INLINE void count_step_side(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                              void *arg)
{
    (void)g, (void)t;
    count_one(arg, RCY_REFS_SIDE, RCY_REFS_GENERATIONS, o, i);
}

static RCY_ALWAYS_INLINE void count_step_garbage(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                 void *arg)
{
    (void)g, (void)t;
    count_one(arg, RCY_REFS_HEADER, RCY_REFS_GARBAGE, o, i);
}

static RCY_ALWAYS_INLINE void visit_subtract_header(void **slot, void *arg)
{
    visit_subtract(slot, arg, RCY_REFS_HEADER);
}

static RCY_ALWAYS_INLINE void visit_subtract_side(void **slot, void *arg)
{
    rcy_refs *r = arg;
    subtract_side_fast(r, r->side, *slot); /* the span loops' common path */
}

static RCY_ALWAYS_INLINE void visit_subtract_young(void **slot, void *arg)
{
    visit_subtract(slot, arg, RCY_REFS_YOUNG);
}

static RCY_ALWAYS_INLINE void subtract_step_header(rcy_gc *g, void *o, const rcy_type *t,
                                                   uint32_t i, void *arg)
{
    (void)g;
    subtract_one(arg, RCY_REFS_HEADER, RCY_REFS_GENERATIONS, o, t, i);
}

static RCY_ALWAYS_INLINE void subtract_step_side(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                 void *arg)
{
    (void)g;
    subtract_one(arg, RCY_REFS_SIDE, RCY_REFS_GENERATIONS, o, t, i);
}

static RCY_ALWAYS_INLINE void subtract_step_young(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                                  void *arg)
{
    (void)g;
    subtract_one(arg, RCY_REFS_YOUNG, RCY_REFS_GENERATIONS, o, t, i);
}

/* Out of line: rare, and it keeps the common path of the mark's visits
   free of spills. */
static RCY_NOINLINE void rescue_header(rcy_refs *r, void *child, uint8_t *byte, uint32_t w)
{
    rescue(r, RCY_REFS_HEADER, child, byte, w);
}

static RCY_NOINLINE void rescue_side(rcy_refs *r, void *child, uint8_t *byte, uint32_t w)
{
    rescue(r, RCY_REFS_SIDE, child, byte, w);
}

static RCY_ALWAYS_INLINE void visit_mark_header(void **slot, void *arg)
{
    visit_mark(slot, arg, RCY_REFS_HEADER);
}

static RCY_ALWAYS_INLINE void visit_mark_side(void **slot, void *arg)
{
    rcy_refs *r = arg;
    mark_side_fast(r, r->side, *slot); /* the span loops' common path */
}

static RCY_ALWAYS_INLINE void scan_step_header(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                               void *arg)
{
    (void)g;
    scan_one(arg, RCY_REFS_HEADER, o, t, i);
}

static RCY_ALWAYS_INLINE void scan_step_side(rcy_gc *g, void *o, const rcy_type *t, uint32_t i,
                                             void *arg)
{
    (void)g;
    scan_one(arg, RCY_REFS_SIDE, o, t, i);
}
