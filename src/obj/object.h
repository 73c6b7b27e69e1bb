/* SPDX-License-Identifier: MIT */
/* object: the hidden header, object creation and death, tracking.
 *
 * Every object is one block that starts with its 8-byte header:
 *     [ rcy_objhead (8 B) ] [ payload ... ]
 *                           ^ the user's pointer (8-byte aligned)
 * The type is not in the header: objects of one type come from pools of
 * their own, whose pool class carries the type as its tag (large objects
 * keep it in their large header). rcy__type finds it from the address.
 * Objects of collectable types (with traverse) live in blocks of kind
 * RCY_KIND_OBJECTS, which hold nothing else, so the collector finds every
 * one of them by walking that kind (rcy__mem_next_span): no list links.
 * A free block's first word is the pool's free-list link, an address below
 * 2^63: read as a header, its gcword has RCY_GC_TRACKED clear, which tells
 * the walker it holds no tracked object.
 *
 * rcy_objhead.gcword:
 *   bits 31..24  the flags below;
 *   bits 23..22  a tracked object's generation: young (0 or 1, see
 *                rcy_young), 2, or 3 (permanent);
 *   bit 21       LARGE: the object is a large block, for its whole life,
 *                so that finding its arena (or its large header) from
 *                the address needs no page-map lookup (rcy__object_arena);
 *   bits 20..0   the slot: outside a collection, a young object's index
 *                in the young vector; during a collection, gc_refs (bits
 *                19..0) and SCANNED (bit 20) of the objects being examined
 *                (RCY_GC_COLLECTING set).
 * Generations 0 and 1 are small (thresholds bound them), so they are a
 * vector of pointers: a young collection reads it, not the heap.
 * Generation 2 and the permanent generation are header bits only.
 * An object with count 0 is dying (maybe queued in `pending`) or free; a
 * free object's memory is the pool's. */
#ifndef RCY_OBJECT_H
#define RCY_OBJECT_H

#include "mem/mem.h"
#include "obj/count.h"
#include "obj/track.h"
#include "recycle.h"
#include "util/ptrvec.h"

/* gcword overlays the high half of a free block's link (see above) */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "gcword must be the link's high half");
#define RCY_GC_TRACKED (1u << 31)
#define RCY_GC_COLLECTING (1u << 30)  /* in the set being collected */
#define RCY_GC_UNREACHABLE (1u << 29) /* garbage of the running collection */
#define RCY_GC_WAS_TRACKED (1u << 28) /* dying: re-track if resurrected */
#define RCY_GC_FINALIZING (1u << 27)  /* its finalizer is running */
#define RCY_GC_NOTED RCY_GCWORD_NOTED /* bit 26: see rcy_impl_decref_note */
#define RCY_GC_FINALIZED (1u << 25)   /* its finalizer ran (or is running) */
#define RCY_GC_WEAKREFD (1u << 24)    /* it has weak references (weakref.c) */
#define RCY_GC_GEN_SHIFT 22
#define RCY_GC_GEN_MASK (3u << RCY_GC_GEN_SHIFT)
#define RCY_GC_LARGE (1u << 21)
#define RCY_GC_SLOT_MASK (RCY_GC_LARGE - 1)
/* During a collection the slot holds gc_refs (saturating at
   RCY_GC_REFS_MASK) and the scan's mark (step 3, gc/refs.c). */
#define RCY_GC_SCANNED (1u << 20)
#define RCY_GC_REFS_MASK (RCY_GC_SCANNED - 1)

#define RCY_GEN_YOUNG 0 /* header value for generations 0 and 1: see rcy_young */
#define RCY_GEN_OLD 2
#define RCY_GEN_PERMANENT 3
_Static_assert(RCY_YOUNG_CAP - 1 <= RCY_GC_SLOT_MASK, "a young slot fits the header");

/* Blocks of collectable objects are at least this large, so that a table
   of one byte per 16-byte granule gives each a byte of its own (the
   collector's full collections keep gc_refs in one: gc/refs.h). */
#define RCY_TRACKED_MIN_BLOCK ((size_t)16)

/* A direct-mapped cache of the pool classes objects are made from, by
   type and size class: creation finds its pools with one compare. */
#define RCY_TYPE_CACHE 64
typedef struct rcy_type_pools {
    uintptr_t key; /* object.c's type_pools_key; 0: empty */
    rcy_pool_class *pc;
} rcy_type_pools;

/* The object layer's part of a heap. Its memory comes first: a heap, its
   rcy_objects and its rcy_mem share one address (mem.h). */
typedef struct rcy_objects rcy_objects;
struct rcy_objects {
    rcy_mem mem;     /* first */
    rcy_young young; /* generations 0 and 1 */
    rcy_type_pools types[RCY_TYPE_CACHE];
    rcy_type_pools traced_types[RCY_TYPE_CACHE]; /* the slow path's, while tracing (object.c) */
    size_t count[RCY_GEN_PERMANENT + 1];         /* tracked objects per generation */
    size_t unreachable; /* tracked objects in a running collection's garbage */
    size_t young_count; /* tracked allocations minus deallocations */
    size_t young_limit; /* the collector is called when young_count passes it */
    /* Hooks a higher layer registers, the only calls up from this layer:
       young_full when young_count passes young_limit (the collector),
       weak_clear when an object with RCY_GC_WEAKREFD dies (weak references;
       it clears them and runs their callbacks). */
    void (*young_full)(rcy_objects *O);
    void (*weak_clear)(rcy_objects *O, void *o);
    rcy_ptrvec pending; /* dying objects, a FIFO: items[pending_head..len) */
    size_t pending_head;
    unsigned depth; /* deaths in progress, nested */
    size_t noted;   /* drops-to-nonzero reported by tracked objects, ever */
    /* Shared objects (obj/shared.c): objects other threads queued for the
       owner (deaths, and counts to merge: bit 0 of the pointer), under a
       spin lock; the weak lock (shared.h); whether another thread ever
       counted one of this heap's objects. */
    _Atomic int inbox_lock;
    _Atomic size_t inbox_len;
    rcy_ptrvec inbox;
    _Atomic int weak_lock;
    _Atomic int shared_seen;
    /* The heap layer's, for a heap whose owner joined the world
       (heap_world.c), NULL otherwise: stop(1) stops every other joined
       thread at a safepoint, stop(0) lets them go; around each collection
       of the heap, so that no thread changes what it reads. */
    void (*world_stop)(int stop);
};

/* The object layer's part of heap h (see struct rcy_objects). */
static inline rcy_objects *rcy__objects_of(rcy_heap *h)
{
    return (rcy_objects *)(void *)h;
}

/* The heap whose object layer is O: the inverse of rcy__objects_of. */
static inline rcy_heap *rcy__objects_heap(rcy_objects *O)
{
    return (rcy_heap *)(void *)O;
}

/* The object layer of the memory M, for a block's owner: every rcy_mem of
   a heap is inside its rcy_objects. */
static inline rcy_objects *rcy__objects_of_mem(rcy_mem *M)
{
    return RCY_CONTAINER_OF(M, rcy_objects, mem);
}

/* The type of the object whose block starts at b, in arena a (NULL: a
   large block). */
static inline const rcy_type *rcy__type_at(const rcy_arena *a, const void *b)
{
    return a ? rcy__pool_tag(rcy__pool_of((rcy_arena *)a, b)) : rcy__large_header(b)->tag;
}

/* The type of the object whose block starts at b, in pool (NULL: a large
   block). */
static inline const rcy_type *rcy__type_in(rcy_pool *pool, const void *b)
{
    return pool ? rcy__pool_tag(pool) : rcy__large_header(b)->tag;
}

/* The arena of a live object (or one dying), NULL for a large one: from
   its address and its LARGE bit, no load but its header's. */
static inline rcy_arena *rcy__object_arena(const void *o)
{
    return RCY_HEAD(o)->gcword & RCY_GC_LARGE ? NULL : rcy__arena_at(RCY_HEAD(o));
}

static inline const rcy_type *rcy__type(const void *o)
{
    return rcy__type_at(rcy__object_arena(o), RCY_HEAD(o));
}

/* A type whose objects may hold references: with traverse or a layout
   descriptor. */
static inline int rcy__collectable(const rcy_type *t)
{
    return t->traverse != NULL || t->ref_words != 0;
}

/* The start of the memory block an object lives in. */
static inline void *rcy__object_block(const void *o)
{
    return RCY_HEAD(o);
}

/* The heap of a live (or dying) object, as its object layer, and in *a
   its arena (NULL: a large object): no page-map lookup. */
static inline rcy_objects *rcy__object_home(const void *o, rcy_arena **a)
{
    *a = rcy__object_arena(o);
    return rcy__objects_of_mem(rcy__mem_owner(*a, rcy__object_block(o)));
}

static inline unsigned rcy__gen_of(uint32_t gcword)
{
    return (gcword & RCY_GC_GEN_MASK) >> RCY_GC_GEN_SHIFT;
}

/* The object whose block starts at b, if it is a live tracked object of
   generation at most `gen` (3 admits the permanent one), else NULL. For
   walks of RCY_KIND_OBJECTS blocks. */
static inline void *rcy__tracked_at(char *b, unsigned gen)
{
    const rcy_objhead *hd = (const void *)b; /* blocks are aligned for a header */
    uint32_t w = hd->gcword;
    if (!(w & RCY_GC_TRACKED) || (w & RCY_GC_UNREACHABLE) || rcy__gen_of(w) > gen)
        return NULL;
    return b + sizeof(rcy_objhead);
}

/* Generation 0 or 1, or 2 if the vector was emptied since the object was
   placed in it (see rcy_young), for an object whose header says
   RCY_GEN_YOUNG, outside a collection. */
static inline unsigned rcy__young_generation(const rcy_young *y, const void *o)
{
    uint32_t slot = RCY_HEAD(o)->gcword & RCY_GC_SLOT_MASK;
    if (slot >= y->len || y->items[slot] != o)
        return RCY_GEN_OLD;
    return slot < y->boundary ? 1 : 0;
}

/* The generation of a tracked object outside a collection. */
static inline unsigned rcy__generation(const rcy_objects *O, const void *o)
{
    unsigned gen = rcy__gen_of(RCY_HEAD(o)->gcword);
    return gen == RCY_GEN_YOUNG ? rcy__young_generation(&O->young, o) : gen;
}

static inline void rcy__set_generation(void *o, unsigned gen, uint32_t slot)
{
    rcy_objhead *hd = RCY_HEAD(o);
    hd->gcword =
        (hd->gcword & ~(RCY_GC_GEN_MASK | RCY_GC_SLOT_MASK)) | (gen << RCY_GC_GEN_SHIFT) | slot;
}

/* Puts a tracked object of type t, not in any generation now, into
   generation 0 (RCY_GEN_YOUNG), 2 or 3; generation 2 if the young vector
   cannot take it. */
static inline void rcy__objects_place(rcy_objects *O, void *o, const rcy_type *t, unsigned gen)
{
    uint32_t slot = 0;
    if (gen == RCY_GEN_YOUNG) {
        rcy_young *y = &O->young;
        if (rcy__young_has_room(y) || (y->cap < RCY_YOUNG_CAP && rcy__young_grow(y)))
            slot = rcy__young_take(y, o, t);
        else
            gen = RCY_GEN_OLD; /* full collections still examine it: see RCY_YOUNG_CAP */
    }
    rcy__set_generation(o, gen, slot);
    O->count[gen]++;
}

/* All tracked objects. */
static inline size_t rcy__tracked_count(const rcy_objects *O)
{
    return O->count[0] + O->count[1] + O->count[2] + O->count[3] + O->unreachable;
}

void rcy__objects_init(rcy_objects *O);
void rcy__objects_fini(rcy_objects *O);
/* Empties the cache of the types' pools: with a tracer set (mem.h), it
   then stays empty and every creation takes the slow path. */
void rcy__objects_flush_types(rcy_objects *O);

/* ---- the references of an object: the one walk every layer uses ----
 * visit(&slot, arg) for every reference slot of o, whose type is t: first
 * the words its layout descriptor names, read here with no call, then
 * those its traverse reports. Callers pass a visit function that is a
 * constant where they call this, defined RCY_ALWAYS_INLINE: each caller
 * then gets the descriptor's loop with its visit compiled in, and the
 * only indirect call left is traverse's (none for a type without one).
 * The descriptor's words are visited in address order. */
static RCY_ALWAYS_INLINE void rcy__visit_words(void *o, uint64_t m, rcy_visit_fn visit, void *arg)
{
    void **words = o;
    /* The first four words by a test of their bit each, the rest by
       count-trailing-zeros. A tested word's address does not depend on the
       bitmap's value, only on a branch the processor predicts: it loads the
       fields (and, in death, the children's headers) while the type is
       still being found from the address. Computed from the bitmap, every
       address waited for that chain of loads: binary-trees ran about 15%
       slower than with traverse, whose indirect call is predicted the same
       way. Each word's visit also gets a branch of its own. */
    if (m) { /* one test for a type without a descriptor */
        if (m & 1)
            visit(&words[0], arg);
        if (m & 2)
            visit(&words[1], arg);
        if (m & 4)
            visit(&words[2], arg);
        if (m & 8)
            visit(&words[3], arg);
        for (m &= ~(uint64_t)15; m; m &= m - 1)
            visit(&words[__builtin_ctzll(m)], arg);
    }
}

static RCY_ALWAYS_INLINE void rcy__visit_refs(void *o, const rcy_type *t, rcy_visit_fn visit,
                                              void *arg)
{
    rcy__visit_words(o, t->ref_words, visit, arg); /* the descriptor's words: no call */
    if (t->traverse)
        t->traverse(o, visit, arg);
}

/* The same when only the object is known: its type from its address. */
static RCY_ALWAYS_INLINE void rcy__traverse(void *o, rcy_visit_fn visit, void *arg)
{
    rcy__visit_refs(o, rcy__type(o), visit, arg);
}

/* The bytes of payload a layout descriptor needs: up to the end of the
   last word it names (0: none). */
static inline size_t rcy__ref_words_extent(uint64_t ref_words)
{
    return ref_words ? (64u - (unsigned)__builtin_clzll(ref_words)) * sizeof(void *) : 0;
}

/* Drops every reference o holds (slot = NULL, decref the old value). */
void rcy__clear_refs(void *o);

/* ---- shared objects (obj/count.h, obj/shared.c) ---- */

/* o's count reached zero on its heap's owner (or with the world stopped):
   finalize, clear, destroy, free. */
void rcy__object_dies(void *o);
/* The owner drops its last count of small object o (refcnt 1): 1 if o is
   dead (no other thread holds it), 0 if its count is now merged. */
int rcy__object_release_last(rcy_objects *O, void *o);
/* Merges the counts other threads queued and kills the objects they let
   die (inbox). all: merges too (the owner, or anyone with the world
   stopped); 0: deaths only (a user of the heap that is not its owner). */
void rcy__objects_drain(rcy_objects *O, int all);
static inline int rcy__objects_inbox_empty(rcy_objects *O)
{
    return atomic_load_explicit(&O->inbox_len, memory_order_acquire) == 0;
}

#endif
