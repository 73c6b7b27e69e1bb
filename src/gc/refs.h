/* SPDX-License-Identifier: MIT */
/* refs: where a collection keeps gc_refs, and the operations on it. gc_refs
 * is CPython's: an object's reference count (step 2, update) minus one for
 * every reference from inside the set (step 2, subtract) leaves the
 * references from outside; step 3 marks what has gc_refs > 0, and all it
 * reaches, reachable; step 4 reads the verdict. refs.c writes those steps
 * once over the operations below.
 *
 * The places (rcy_refs_place, gc.h), chosen for each collection by refs.c:
 *   HEADER  the slot bits of the object's header (object.h): 20 bits,
 *           saturating at RCY_GC_REFS_MASK, where a count stays put (the
 *           object is then never garbage). Any set; the fallback of the
 *           other two, and step 7's place.
 *   SIDE    one byte per object in the side table (side.h), for full
 *           collections. Update writes nothing there: subtract counts in
 *           the referent's byte the references from inside, from 0, for
 *           members and outside objects alike (up to RCY_SIDE_MET_MAX;
 *           one more reads the header: a member's gc_refs moves there),
 *           and the ordered scan, reading the member's header anyway,
 *           compares the byte with the count (equal: gc_refs 0). Then
 *           RCY_SIDE_REACHED | met for a member the mark reached ahead of
 *           the scan, RCY_SIDE_DONE once reachable and traversed,
 *           RCY_SIDE_PASSED for a member the scan passed with gc_refs 0,
 *           and RCY_REFS_SATURATED when the header says (gc_refs and
 *           COLLECTING for a member, nothing for an outside object; also
 *           where objects beyond the table, the large ones, keep it). A
 *           member whose byte holds its state ("in the byte") has no
 *           collector bit in its header until the scan settles it (step
 *           4's write, done by the mark); subtracting and marking touch a
 *           referent's byte, never its header. In a heap larger than the
 *           cache the header read is a miss for nearly every reference,
 *           while the table (1/16 of the heap) stays in cache.
 *   YOUNG   an int64_t per slot beside the young vector (its scratch,
 *           track.h), for young collections. The set is the vector's
 *           range, so an object's membership and entry follow from its
 *           header's slot, and no header is written before step 4. The
 *           entries start at 0 and each object adds its own count
 *           whenever, before or after its referents subtracted theirs:
 *           update and subtract are one pass. The mark writes
 *           RCY_REFS_REACHABLE.
 *
 * Header bits: HEADER and SIDE set COLLECTING on every member in update
 * and clear it when the mark finds the object reachable, so after step 3
 * the objects still COLLECTING are the garbage; the ordered scan (refs.c)
 * sets SCANNED on members it passed with gc_refs 0. YOUNG sets neither.
 *
 * Every operation takes the place as an argument that is a constant where
 * it is called: they are RCY_ALWAYS_INLINE, so each place gets loops of its
 * own, with no switch on the place per object or per reference. A lookup
 * gives an object's cell (its header, and its byte or slot); the
 * operations work on cells. Those of the mark also take the header word w
 * the caller read, so that a header is read once and written once. */
#ifndef RCY_GC_REFS_H
#define RCY_GC_REFS_H

#include <string.h>

#include "gc/gc.h"
#include "gc/side.h"
#include "gc/walk.h"

#define RCY_REFS_SATURATED 255 /* SIDE: the header says (gc_refs or outside) */
#define RCY_SIDE_PASSED 254    /* SIDE: passed by the scan with gc_refs 0 */
#define RCY_SIDE_DONE 253      /* SIDE: found reachable, settled and traversed */
#define RCY_SIDE_REACHED 128   /* SIDE: this bit and the references met: will be reachable */
#define RCY_SIDE_MET_MAX 124   /* SIDE: most references from inside a byte counts */
_Static_assert((RCY_SIDE_REACHED | RCY_SIDE_MET_MAX) < RCY_SIDE_DONE, "the byte's states differ");
#define RCY_REFS_REACHABLE INT64_MIN /* YOUNG: the mark reached it */

/* One set's steps 2-3. The set is generations 0..gen of the running
   collection or, for step 7, the objects of a garbage vector still
   UNREACHABLE. */
struct rcy_refs {
    rcy_gc *g;
    rcy_refs_place place;
    unsigned gen;
    rcy_ptrvec *garbage; /* step 7's set; NULL for a collection's */
    int lag;             /* SIDE: decrements wait in a ring, or prefetch ahead (refs.c) */
    size_t containers;   /* SIDE: spans of types with traverse (refs.c) */
    rcy_side side;       /* SIDE: the table, made for this set */
    void **items;        /* YOUNG: the young vector, whose items[start..len) */
    int64_t *young;      /* are the set, and young[i] is gc_refs of items[i] */
    uint32_t start, len;
};

/* An object's cell: where its gc_refs is. */
typedef struct rcy_refs_cell {
    rcy_objhead *hd;
    uint8_t *byte; /* SIDE: its byte; NULL: the header holds gc_refs */
    int64_t slot;  /* YOUNG: its entry; -1: not in the set */
} rcy_refs_cell;

/* Which set a pass walks: a constant where it is called, like the place. */
typedef enum rcy_refs_set {
    RCY_REFS_GENERATIONS, /* generations 0..r->gen */
    RCY_REFS_GARBAGE,     /* step 7's: r->garbage */
} rcy_refs_set;

/* Every member of r's set, which is of kind S; i is its index in the
   young vector (0 in other walks). */
static RCY_ALWAYS_INLINE void rcy__gc_refs_for_each(const rcy_refs *r, rcy_refs_set S,
                                                    rcy_gc_step step, void *arg)
{
    if (S == RCY_REFS_GENERATIONS) {
        rcy__gc_for_each_in_set(r->g, r->gen, step, arg);
        return;
    }
    const rcy_ptrvec *v = r->garbage;
    for (size_t i = 0; i < v->len; i++)
        if (RCY_HEAD(v->items[i])->gcword & RCY_GC_UNREACHABLE)
            step(r->g, v->items[i], rcy__type(v->items[i]), 0, arg);
}

/* References to each member the collector holds itself, which its count
   leaves out: the garbage vector holds step 7's set. */
static RCY_ALWAYS_INLINE uint32_t rcy__gc_refs_held(rcy_refs_set S)
{
    return S == RCY_REFS_GARBAGE ? 1 : 0;
}

/* An object's reference count less those the collector holds: the one
   place a collection reads counts (step 2's update, and SIDE's scan). */
static RCY_ALWAYS_INLINE uint32_t rcy__gc_refs_count(rcy_refs_set S, const void *o)
{
    return rcy__gc_count(o) - rcy__gc_refs_held(S); /* merged with other threads' (obj/count.h) */
}

static inline uint32_t rcy__gc_refs_clamp(uint32_t count)
{
    return count < RCY_GC_REFS_MASK ? count : RCY_GC_REFS_MASK;
}

/* YOUNG: child's slot if it is in the set, else -1. A young header's slot
   is authoritative only if the vector still holds the object there. */
static RCY_ALWAYS_INLINE int64_t rcy__gc_refs_young_slot(const rcy_refs *r, const void *child)
{
    uint32_t w = RCY_HEAD(child)->gcword;
    if ((w & (RCY_GC_TRACKED | RCY_GC_GEN_MASK)) != (RCY_GC_TRACKED | RCY_GEN_YOUNG))
        return -1;
    uint32_t s = w & RCY_GC_SLOT_MASK;
    return s >= r->start && s < r->len && r->items[s] == child ? (int64_t)s : -1;
}

/* The cell of a member of the set, as a walk of it meets o at index i. */
static RCY_ALWAYS_INLINE rcy_refs_cell rcy__gc_refs_member(const rcy_refs *r, rcy_refs_place P,
                                                           void *o, uint32_t i)
{
    rcy_refs_cell c = {RCY_HEAD(o), NULL, i};
    if (P == RCY_REFS_SIDE)
        c.byte = rcy__side_byte(&r->side, o);
    return c;
}

/* The cell of a referent, which may be outside the set. */
static RCY_ALWAYS_INLINE rcy_refs_cell rcy__gc_refs_referent(const rcy_refs *r, rcy_refs_place P,
                                                             void *child)
{
    rcy_refs_cell c = {RCY_HEAD(child), NULL, -1};
    if (P == RCY_REFS_SIDE)
        c.byte = rcy__side_byte(&r->side, child);
    else if (P == RCY_REFS_YOUNG)
        c.slot = rcy__gc_refs_young_slot(r, child);
    return c;
}

/* SIDE: 1 if c's byte holds its state (membership, gc_refs, passed),
   0 if its header does (saturated, or beyond the table). */
static RCY_ALWAYS_INLINE int rcy__gc_refs_in_byte(rcy_refs_place P, rcy_refs_cell c)
{
    return P == RCY_REFS_SIDE && c.byte && *c.byte != RCY_REFS_SATURATED;
}

/* ---- step 2 ---- */

/* 1 if update is a pass of its own, which must mark every member before
   anything is subtracted (HEADER, SIDE); 0 if each member's count is added
   as the subtract pass meets it (YOUNG). */
static RCY_ALWAYS_INLINE int rcy__gc_refs_counted_apart(rcy_refs_place P)
{
    return P != RCY_REFS_YOUNG;
}

/* Before update: YOUNG's entries start at 0. */
static RCY_ALWAYS_INLINE void rcy__gc_refs_reset(const rcy_refs *r, rcy_refs_place P)
{
    if (P == RCY_REFS_YOUNG)
        memset(r->young + r->start, 0, (r->len - r->start) * sizeof *r->young);
}

/* Update: a member starts with gc_refs = count (YOUNG: count is added). */
static RCY_ALWAYS_INLINE void rcy__gc_refs_start(const rcy_refs *r, rcy_refs_place P,
                                                 rcy_refs_cell c, uint32_t count)
{
    if (P == RCY_REFS_YOUNG) {
        r->young[c.slot] += count;
        return;
    }
    c.hd->gcword =
        (c.hd->gcword & ~RCY_GC_SLOT_MASK) | RCY_GC_COLLECTING | rcy__gc_refs_clamp(count);
    if (P == RCY_REFS_SIDE && c.byte)
        *c.byte = RCY_REFS_SATURATED;
}

/* SIDE: the referent c, whose byte reached RCY_SIDE_MET_MAX, meets one
   more reference (refs.c): gc_refs moves to its header if it is a member,
   and its byte becomes RCY_REFS_SATURATED either way. */
void rcy__gc_refs_met_many(const rcy_refs *r, void *child, rcy_refs_cell c);

/* Subtract: one reference from inside the set to the referent c. SIDE's
   byte counts the references from inside instead, starting from 0, for
   members and others alike (the scan compares it with the count), so
   update writes nothing for a member with a byte. */
static RCY_ALWAYS_INLINE void rcy__gc_refs_subtract(const rcy_refs *r, rcy_refs_place P,
                                                    void *child, rcy_refs_cell c)
{
    if (P == RCY_REFS_YOUNG) {
        if (c.slot >= 0)
            r->young[c.slot]--;
        return;
    }
    if (rcy__gc_refs_in_byte(P, c)) { /* a member or not: counts the references met */
        uint8_t b = *c.byte;
        RCY_ASSERT(b <= RCY_SIDE_MET_MAX);
        if (b < RCY_SIDE_MET_MAX)
            *c.byte = (uint8_t)(b + 1);
        else
            rcy__gc_refs_met_many(r, child, c);
        return;
    }
    uint32_t w = c.hd->gcword;
    if (!(w & RCY_GC_COLLECTING))
        return; /* outside the set */
    uint32_t refs = w & RCY_GC_REFS_MASK;
    RCY_ASSERT(refs > 0);                      /* more references from inside than its count */
    if (refs != 0 && refs != RCY_GC_REFS_MASK) /* saturated counts stay put */
        c.hd->gcword = w - 1;
}

/* ---- step 3 ---- */

/* 1 if c is in the set and not known reachable: a candidate for garbage.
   After the mark, the garbage. w: its header word. */
static RCY_ALWAYS_INLINE int rcy__gc_refs_candidate(const rcy_refs *r, rcy_refs_place P,
                                                    rcy_refs_cell c, uint32_t w)
{
    if (P == RCY_REFS_YOUNG)
        return c.slot >= 0 && r->young[c.slot] != RCY_REFS_REACHABLE;
    if (rcy__gc_refs_in_byte(P, c)) /* a member's; an outside object's byte says nothing */
        return *c.byte != RCY_SIDE_DONE;
    return (w & RCY_GC_COLLECTING) != 0;
}

/* 1 if the candidate c was passed by the ordered scan with gc_refs 0. */
static RCY_ALWAYS_INLINE int rcy__gc_refs_passed(rcy_refs_place P, rcy_refs_cell c, uint32_t w)
{
    if (rcy__gc_refs_in_byte(P, c))
        return *c.byte == RCY_SIDE_PASSED;
    return (w & RCY_GC_SCANNED) != 0;
}

/* The ordered scan passes the candidate c, whose gc_refs is 0. */
static RCY_ALWAYS_INLINE void rcy__gc_refs_pass(rcy_refs_place P, rcy_refs_cell c, uint32_t w)
{
    if (rcy__gc_refs_in_byte(P, c))
        *c.byte = RCY_SIDE_PASSED;
    else
        c.hd->gcword = w | RCY_GC_SCANNED;
}

/* gc_refs == 0, for a candidate. */
static RCY_ALWAYS_INLINE int rcy__gc_refs_zero(const rcy_refs *r, rcy_refs_place P, rcy_refs_cell c,
                                               uint32_t w)
{
    if (P == RCY_REFS_YOUNG)
        return r->young[c.slot] == 0;
    if (rcy__gc_refs_in_byte(P, c)) /* passed, or the count all from inside */
        return *c.byte == RCY_SIDE_PASSED ||
               (*c.byte < RCY_SIDE_REACHED &&
                rcy__gc_refs_count(RCY_REFS_GENERATIONS, (char *)c.hd + sizeof *c.hd) == *c.byte);
    return (w & RCY_GC_REFS_MASK) == 0;
}

/* Gives a candidate with gc_refs 0 gc_refs 1, which makes it a root of
   the mark; its header word becomes w | 1. */
static RCY_ALWAYS_INLINE void rcy__gc_refs_give_one(const rcy_refs *r, rcy_refs_place P,
                                                    rcy_refs_cell c, uint32_t w)
{
    if (P == RCY_REFS_YOUNG) {
        r->young[c.slot] = 1;
        return;
    }
    if (rcy__gc_refs_in_byte(P, c)) {
        *c.byte = RCY_SIDE_REACHED;
        return;
    }
    c.hd->gcword = w | 1;
}

/* The header word of a survivor of a full collection, settled: in
   generation 2, the collector's bits and slot clear (garbage.c, step 4). */
static inline uint32_t rcy__gc_settled_old(uint32_t w)
{
    const uint32_t collector = RCY_GC_COLLECTING | RCY_GC_UNREACHABLE | RCY_GC_NOTED;
    return (w & ~(collector | RCY_GC_GEN_MASK | RCY_GC_SLOT_MASK)) |
           ((uint32_t)RCY_GEN_OLD << RCY_GC_GEN_SHIFT);
}

/* Marks a candidate reachable: it leaves the set (HEADER: its header
   word becomes w without COLLECTING). SIDE, whose sets are full
   collections', settles it as well, in the same write: step 4 then reads
   only the members the scan passed (rcy_gc.passed) instead of walking the
   heap again. */
static RCY_ALWAYS_INLINE void rcy__gc_refs_reachable(const rcy_refs *r, rcy_refs_place P,
                                                     rcy_refs_cell c, uint32_t w)
{
    if (P == RCY_REFS_YOUNG) {
        r->young[c.slot] = RCY_REFS_REACHABLE;
        return;
    }
    if (P == RCY_REFS_SIDE) {
        if (rcy__gc_refs_in_byte(P, c))
            *c.byte = RCY_SIDE_DONE;
        c.hd->gcword = rcy__gc_settled_old(w);
        return;
    }
    c.hd->gcword = w & ~RCY_GC_COLLECTING;
}

/* gc_refs of a candidate, for checks; RCY_GC_REFS_MASK or more if it
   saturated. */
static RCY_ALWAYS_INLINE int64_t rcy__gc_refs_value(const rcy_refs *r, rcy_refs_place P,
                                                    rcy_refs_cell c, uint32_t w)
{
    if (P == RCY_REFS_YOUNG)
        return r->young[c.slot];
    if (rcy__gc_refs_in_byte(P, c))
        return *c.byte == RCY_SIDE_PASSED ? 0
               : *c.byte >= RCY_SIDE_REACHED
                   ? 1 /* at least: a root of the mark */
                   : (int64_t)rcy__gc_refs_count(RCY_REFS_GENERATIONS,
                                                 (char *)c.hd + sizeof *c.hd) -
                         *c.byte;
    return w & RCY_GC_REFS_MASK;
}

#endif
