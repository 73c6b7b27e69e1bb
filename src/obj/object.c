/* SPDX-License-Identifier: MIT */
/* object: creation, reference counts at zero, and death.
 *
 * Death of an object, in order (DESIGN.md's contract):
 *   1. finalize, once (FINALIZED flag), with the count held at 1 so the
 *      object is intact; if the count is above 1 afterwards, it was
 *      resurrected and lives on;
 *   2. weak references to it are cleared and their callbacks run;
 *   3. it leaves its generation (untracked);
 *   4. every reference it holds is dropped through traverse (slot = NULL,
 *      decref the old value): type authors write no clear function;
 *   5. destroy; 6. its memory goes back to the pool.
 *
 * Cascades use bounded C stack, as CPython's trashcan does: deaths nest
 * (an object dies inside its owner's death, so callbacks see the order
 * Python gives) up to RCY_DEATH_NESTING deep; past that, a collectable
 * object whose count reaches zero joins the pending queue (a vector of
 * pointers), and the outermost death kills the queued ones in the order
 * their counts reached zero. C stack use is bounded whatever the shape of
 * the graph, unless memory is so short that the queue cannot grow; then
 * the object dies at once, one level deeper. Objects without traverse hold
 * no references, so they die at once.
 *
 * Drop reporting (for the collector's drop pacing): the inline rcy_decref
 * calls rcy_impl_decref_note on the first decrement that leaves a tracked
 * object alive since the collector last examined it (the NOTED bit). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "obj/object.h"

#define RCY_DEATH_NESTING 16

/* The memory layer's hook for messages (mem.h): the type name of the live
   object whose pointer is p, NULL if p is not one. */
static const char *object_name(const rcy_mem *M, const void *p)
{
    const void *tag = NULL;
    if (((uintptr_t)p & (sizeof(rcy_objhead) - 1)) ||
        rcy__mem_block_state(M, rcy__object_block(p), &tag) != RCY_BLOCK_LIVE || !tag ||
        tag == RCY_TAG_TRACED) /* a sampled block of rcy_malloc's (mem.h) */
        return NULL;
    const char *name = ((const rcy_type *)tag)->name;
    return name ? name : "?";
}

/* The memory (O->mem) is made first, by the heap. */
void rcy__objects_init(rcy_objects *O)
{
    memset((char *)O + sizeof O->mem, 0, sizeof *O - sizeof O->mem);
    O->young_limit = SIZE_MAX;
    O->mem.object_name = object_name;
    rcy__objects_flush_types(O);
}

void rcy__objects_fini(rcy_objects *O)
{
    rcy__ptrvec_fini(&O->inbox);
    rcy__young_fini(&O->young);
    rcy__ptrvec_fini(&O->pending);
    memset((char *)O + sizeof O->mem, 0, sizeof *O - sizeof O->mem);
}

static rcy_objects *home_of(const void *o)
{
    rcy_arena *unused;
    return rcy__object_home(o, &unused);
}

/* ---- tracking: which generation an object is in ---- */

/* A young object (header RCY_GEN_YOUNG, slot) leaves the young vector:
   its generation (rcy__young_generation, and the slot emptied, with one
   test each). */
static RCY_ALWAYS_INLINE unsigned young_leave(rcy_young *y, void *o, uint32_t slot)
{
    if (slot >= y->len || y->items[slot] != o)
        return RCY_GEN_OLD;
    if (slot < y->boundary) {
        y->items[slot] = RCY_YOUNG_HOLE(0);
        return 1;
    }
    y->items[slot] = RCY_YOUNG_HOLE(y->hole);
    y->hole = slot + 1;
    return 0;
}

/* Takes a tracked object out of its generation (or out of the running
   collection's garbage). */
static inline void unplace(rcy_objects *O, void *o)
{
    uint32_t w = RCY_HEAD(o)->gcword;
    if (w & RCY_GC_UNREACHABLE) {
        O->unreachable--; /* the collector holds it and notices */
        return;
    }
    RCY_ASSERT(!(w & RCY_GC_COLLECTING)); /* no user code runs while the set is examined */
    unsigned gen = rcy__gen_of(w);
    if (gen == RCY_GEN_YOUNG)
        gen = young_leave(&O->young, o, w & RCY_GC_SLOT_MASK);
    O->count[gen]--;
}

/* A tracked object reports its next drop (NOTED clear); an untracked one
   never does. */
static void track(rcy_objects *O, void *o, const rcy_type *t)
{
    RCY_HEAD(o)->gcword = (RCY_HEAD(o)->gcword | RCY_GC_TRACKED) & ~RCY_GC_NOTED;
    rcy__objects_place(O, o, t, RCY_GEN_YOUNG);
}

static void untrack(rcy_objects *O, void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    unplace(O, o);
    hd->gcword &= ~(RCY_GC_TRACKED | RCY_GC_COLLECTING | RCY_GC_UNREACHABLE | RCY_GC_GEN_MASK |
                    RCY_GC_SLOT_MASK);
    hd->gcword |= RCY_GC_NOTED;
}

void rcy_gc_track(void *o)
{
    const rcy_type *t = rcy__type(o);
    if (rcy__collectable(t) && !(RCY_HEAD(o)->gcword & RCY_GC_TRACKED) &&
        rcy__object_count(o) != 0) {
        rcy_objects *O = home_of(o);
        track(O, o, t);
        O->noted++; /* it may hold references the collector never saw */
    }
}

/* The first drop-to-nonzero of a tracked object since the collector last
   examined it. A cycle becomes garbage through such a drop (the last
   outside reference goes while the cycle's own keep it above zero), or
   when code moves that reference into the cycle without a decref: see
   gc/collect.c's drop pacing for how the collector uses the count. */
void rcy_impl_decref_note(void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    hd->gcword |= RCY_GC_NOTED;
    if (hd->gcword & RCY_GC_TRACKED)
        home_of(o)->noted++;
}

void rcy_gc_untrack(void *o)
{
    if (RCY_HEAD(o)->gcword & RCY_GC_TRACKED)
        untrack(home_of(o), o);
}

int rcy_gc_is_tracked(const void *o)
{
    return (RCY_HEAD(o)->gcword & RCY_GC_TRACKED) != 0;
}

int rcy_gc_is_finalized(const void *o)
{
    return (RCY_HEAD(o)->gcword & RCY_GC_FINALIZED) != 0;
}

/* ---- creation ---- */

size_t rcy_header_size(const rcy_type *t)
{
    (void)t;
    return sizeof(rcy_objhead);
}

/* Small payloads are zeroed in whole words up to the end of their block
   (the header is a word and blocks are multiples of 8), with a few 16-byte
   stores, the last one overlapping: a loop here became `rep stos`, whose
   start-up cost more than the rest of a creation. */
static inline void zero_payload(void *o, size_t n)
{
    char *p = o;
    size_t room = (n + 7) & ~(size_t)7;
    if (room > 64) {
        memset(p, 0, n);
        return;
    }
    if (room <= 8) {
        if (room)
            memset(p, 0, 8);
        return;
    }
    memset(p, 0, 16);
    if (room > 32)
        memset(p + 16, 0, 16);
    if (room > 48)
        memset(p + 32, 0, 16);
    memset(p + room - 16, 0, 16);
}

/* rcy_new's: the same, then the header, for a payload of at most 64
   bytes in a block the header starts. Zeroing before the header is
   written lets a payload of 8 or 16 bytes take one 16-byte store, which
   ends at the block's end (an 8-byte payload's overlaps the header). */
static RCY_ALWAYS_INLINE void zero_small_then_head(rcy_objhead *hd, size_t n, rcy_objhead head)
{
    char *p = (char *)(hd + 1);
    size_t room = (n + 7) & ~(size_t)7;
    if (RCY_LIKELY(room - 8 <= 8))
        memset(p + room - 16, 0, 16);
    else
        zero_payload(p, n);
    *hd = head;
}

/* A payload larger than 64 bytes: a call, out of the fast path's frame. */
static RCY_NOINLINE void *zero_large_then_head(rcy_objhead *hd, size_t n, rcy_objhead head)
{
    memset(hd + 1, 0, n);
    *hd = head;
    return hd + 1;
}

/* ---- the pools of a type ---- */

#define TYPE_CACHE_BITS 6
_Static_assert(RCY_TYPE_CACHE == 1 << TYPE_CACHE_BITS, "the cache's index is TYPE_CACHE_BITS");

/* What the pools of a type's objects tell of it (rcy_pool.facts): the
   death loop needs one test, creation one. */
#define RCY_FACT_COLLECTABLE 1 /* traverse or a descriptor (rcy__collectable) */
#define RCY_FACT_PLAIN 3       /* a descriptor and nothing else: no traverse, finalize, destroy */

static uint8_t type_facts(const rcy_type *t)
{
    if (t->ref_words && !t->traverse && !t->finalize && !t->destroy)
        return RCY_FACT_PLAIN;
    return rcy__collectable(t) ? RCY_FACT_COLLECTABLE : 0;
}

/* Collectable objects live in blocks of their own kind (object.h). */
static unsigned kind_of_type(const rcy_type *t)
{
    return rcy__collectable(t) ? RCY_KIND_OBJECTS : RCY_KIND_PLAIN;
}

/* The keys of the cache. rcy_new's is the type itself: its size is fixed
   (rcy_type), so the class follows. rcy_new_sized's adds the class, and
   the top bit so that the two kinds never meet (types are addresses below
   2^57, classes below 64). */
static inline uintptr_t new_key(const rcy_type *t)
{
    return (uintptr_t)t;
}

static inline uintptr_t sized_key(const rcy_type *t, unsigned cls)
{
    return ((uintptr_t)1 << 63) | ((uintptr_t)t << 6) | cls;
}

/* While a tracer is set the cache stays empty, so that every creation
   takes new_general, which tells the tracer (rcy__objects_flush_types);
   the entries go to a cache of the slow path's own (traced_types). */
static RCY_NOINLINE rcy_pool_class *type_pools_miss(rcy_objects *O, const rcy_type *t, unsigned cls,
                                                    uintptr_t key, rcy_type_pools *entry)
{
    if (O->mem.trace) {
        entry = &O->traced_types[entry - O->types];
        if (entry->key == key)
            return entry->pc;
    }
    rcy_pool_class *pc = rcy__pools_class(&O->mem.pools, kind_of_type(t), cls, t);
    if (pc) {
        pc->facts = type_facts(t); /* before any pool serves the class */
        *entry = (rcy_type_pools){key, pc};
    }
    return pc;
}

/* What an empty entry of the cache points to: a class with no pool, so
   that rcy_new's fast path, which tests no type pointer, sends a NULL
   type (key 0, an empty entry's) to new_general, which reports it. A
   misaligned pointer is never a key: entries are made by new_general,
   after its check. Never written. */
static rcy_pool_class no_pools;

void rcy__objects_flush_types(rcy_objects *O)
{
    for (size_t i = 0; i < RCY_TYPE_CACHE; i++)
        O->types[i] = (rcy_type_pools){0, &no_pools};
    memset(O->traced_types, 0, sizeof O->traced_types);
}

static inline rcy_type_pools *type_pools_entry(rcy_objects *O, uintptr_t key)
{
    return &O->types[(key * 0x9E3779B97F4A7C15ull) >> (64 - TYPE_CACHE_BITS)];
}

/* The pool class objects of type t and size class cls come from, cached
   under key (new_key or sized_key); NULL if it cannot be made (out of
   memory). */
static rcy_pool_class *type_pools(rcy_objects *O, const rcy_type *t, unsigned cls, uintptr_t key)
{
    rcy_type_pools *entry = type_pools_entry(O, key);
    if (RCY_LIKELY(entry->key == key))
        return entry->pc;
    return type_pools_miss(O, t, cls, key, entry);
}

/* The block size of an object with an n-byte payload (n at most
   RCY_SMALL_MAX, or the caller checks for overflow). */
static inline size_t object_bytes(int collectable, size_t n)
{
    size_t bytes = sizeof(rcy_objhead) + n;
    return collectable && bytes < RCY_TRACKED_MIN_BLOCK ? RCY_TRACKED_MIN_BLOCK : bytes;
}

/* A block of `bytes` for an object of type t; sized: from rcy_new_sized;
   large: from the large path whatever its size (a sampled object, whose
   death then reaches the tracer: mem.h). */
static rcy_objhead *object_block(rcy_objects *O, const rcy_type *t, size_t bytes, int sized,
                                 int large)
{
    if (RCY_UNLIKELY(large))
        return rcy__mem_alloc_large(&O->mem, bytes, kind_of_type(t), t);
    unsigned cls = rcy__size_class(bytes);
    rcy_pool_class *pc = type_pools(O, t, cls, sized ? sized_key(t, cls) : new_key(t));
    return pc ? rcy__mem_alloc_in(&O->mem, pc) : NULL;
}

static inline void check_type(const rcy_type *t)
{
    if (!t || ((uintptr_t)t & (_Alignof(rcy_type) - 1)))
        rcy__misuse("rcy_new(%p): not a valid rcy_type pointer", (const void *)t);
}

/* A layout descriptor naming a word past the end of an n-byte payload
   would make every walk read and write outside the object. */
static RCY_NOINLINE void bad_layout(const rcy_type *t, size_t n, const char *api)
{
    size_t extent = rcy__ref_words_extent(t->ref_words);
    rcy__misuse(
        "%s: type '%s' has ref_words 0x%llx, which names payload word %zu (bytes %zu..%zu), "
        "but the payload is %zu bytes: the descriptor disagrees with the size",
        api, t->name ? t->name : "?", (unsigned long long)t->ref_words, extent / sizeof(void *) - 1,
        extent - sizeof(void *), extent - 1, n);
}

static inline void check_layout(const rcy_type *t, size_t n, const char *api)
{
    if (RCY_UNLIKELY(rcy__ref_words_extent(t->ref_words) > n))
        bad_layout(t, n, api);
}

/* Every creation that new_fast declines: a collection is due, the young
   vector must grow, the type's pools are not cached (always, while a
   tracer is set) or have no free block, a large object, or out of memory.
   ra: the caller's return address, for the tracer. */
static RCY_NOINLINE void *new_general(rcy_objects *O, const rcy_type *t, size_t n, int sized,
                                      void *ra)
{
    check_type(t); /* rcy_new's fast path leaves it here */
    if (!sized)    /* every build: each type's first rcy_new in a heap comes here */
        check_layout(t, n, "rcy_new");
    int collectable = rcy__collectable(t);
    if (RCY_UNLIKELY(!rcy__objects_inbox_empty(O)))
        rcy__objects_drain(
            O, rcy__thread_owns(
                   &O->mem.pools.thread)); /* deaths and merges other threads left (shared.c) */
    /* a joined thread's heap is collected with the world stopped, but not
       from inside a death (a finalizer's or destroy's allocation): the
       thread would park with an object half dead, which the collection
       of all heaps must not meet */
    if (collectable && O->young_count + 1 > O->young_limit && !(O->world_stop && O->depth)) {
        if (O->world_stop)
            O->world_stop(1);
        O->young_full(O); /* like CPython, collect before the new object exists */
        if (O->world_stop)
            O->world_stop(0);
    }
    size_t bytes = n <= SIZE_MAX - RCY_TRACKED_MIN_BLOCK ? object_bytes(collectable, n) : 0;
    rcy_mem *M = &O->mem;
    int traced = M->trace && bytes && rcy__mem_trace_wants(M, n);
    int large = bytes > RCY_SMALL_MAX || (traced && !M->trace_all);
    rcy_objhead *hd = bytes ? object_block(O, t, bytes, sized, large) : NULL;
    if (!hd) {
        errno = ENOMEM;
        return NULL;
    }
    /* track() clears NOTED; a large object (or a sampled one, which takes
       the large path) counts in the atomic mode (recycle.h): every thread
       changes its count with atomics */
    *hd = large ? (rcy_objhead){RCY_IMPL_ATOMIC + 1u, RCY_GC_NOTED | RCY_GC_LARGE}
                : (rcy_objhead){1, RCY_GC_NOTED};
    void *o = hd + 1;
    zero_payload(o, n);
    if (collectable) {
        O->young_count++;
        track(O, o, t);
    }
    if (traced)
        M->trace(M, NULL, hd, n, t, ra);
    return o;
}

/* new_fast's creation of a collectable object when the young vector is
   at its cap (RCY_YOUNG_CAP: the collector off, or huge thresholds): it
   joins generation 2, as rcy__objects_place does, without new_general's
   whole path on every creation. NULL: no free block (new_general). */
static RCY_NOINLINE void *new_past_young_cap(rcy_objects *O, rcy_pool_class *pc, const rcy_type *t,
                                             size_t n)
{
    rcy_objhead *hd = rcy__mem_try_in(pc);
    if (!hd)
        return NULL;
    O->young_count++;
    O->count[RCY_GEN_OLD]++;
    *hd = (rcy_objhead){1, RCY_GC_TRACKED | (RCY_GEN_OLD << RCY_GC_GEN_SHIFT)};
    zero_payload(hd + 1, n == SIZE_MAX ? t->size : n); /* SIZE_MAX: rcy_new's */
    return hd + 1;
}

/* The common creation, with no call at all (which keeps it short): a
   small object whose type's pools are cached and have a free block and,
   for a collectable type, no collection due and room in the young vector
   (or the vector at its cap: new_past_young_cap).
   NULL if any of that fails; new_general then does it all. t is read
   only once its key matched (a NULL type gets here: no_pools). The pool
   class says whether the type is collectable (RCY_FACT_COLLECTABLE). */
static inline void *new_fast(rcy_objects *O, const rcy_type *t, uintptr_t key, size_t n)
{
    rcy_type_pools *entry = type_pools_entry(O, key);
    if (RCY_UNLIKELY(entry->key != key))
        return NULL;
    rcy_pool_class *pc = entry->pc;
    rcy_young *y = &O->young;
    int collectable = pc->facts & RCY_FACT_COLLECTABLE;
    uint32_t hole = 0;
    if (collectable) {
        hole = y->hole; /* read once: rcy__young_has_room and rcy__young_take's test */
        if (O->young_count >= O->young_limit)
            return NULL;
        if (RCY_UNLIKELY(!hole && y->len >= y->cap))
            return y->cap < RCY_YOUNG_CAP ? NULL : new_past_young_cap(O, pc, t, n);
    }
    rcy_objhead *hd = rcy__mem_try_in(pc);
    if (RCY_UNLIKELY(!hd))
        return NULL;
    void *o = hd + 1;
    uint32_t gcword = RCY_GC_NOTED;
    if (collectable) { /* as track() does */
        O->young_count++;
        O->count[RCY_GEN_YOUNG]++;
        gcword = RCY_GC_TRACKED | (RCY_GEN_YOUNG << RCY_GC_GEN_SHIFT) |
                 rcy__young_take_after(y, o, t, hole);
    }
    if (n == SIZE_MAX) /* rcy_new's */
        n = t->size;
    if (RCY_UNLIKELY(n > 64))
        return zero_large_then_head(hd, n, (rcy_objhead){1, gcword});
    zero_small_then_head(hd, n, (rcy_objhead){1, gcword});
    return o;
}

void *rcy_new_sized(rcy_heap *h, const rcy_type *t, size_t n)
{
    rcy_objects *O = rcy__objects_of(h);
    check_type(t);
#if RCY_CHECK_LEVEL >= 1
    check_layout(t, n, "rcy_new_sized");
#endif
    void *o = NULL;
    if (n <= RCY_SMALL_MAX - sizeof(rcy_objhead))
        o = new_fast(O, t, sized_key(t, rcy__size_class(object_bytes(rcy__collectable(t), n))), n);
    return RCY_LIKELY(o != NULL) ? o : new_general(O, t, n, 1, RCY_CALLER());
}

/* A type whose objects are large never enters the cache under new_key,
   so new_fast declines them without a test. */
void *rcy_new(rcy_heap *h, const rcy_type *t)
{
    rcy_objects *O = rcy__objects_of(h);
#if RCY_CHECK_LEVEL >= 1
    check_type(t);
    check_layout(t, t->size, "rcy_new");
#endif
    void *o = new_fast(O, t, new_key(t), SIZE_MAX); /* t checked by new_general (no_pools) */
    return RCY_LIKELY(o != NULL) ? o : new_general(O, t, t ? t->size : 0, 0, RCY_CALLER());
}

/* ---- traversal and clearing ---- */

/* Inlined into the descriptor's loop of each caller (rcy__visit_refs). */
static RCY_ALWAYS_INLINE void clear_slot(void **slot, void *arg)
{
    (void)arg;
    void *child = *slot;
    if (child) {
        *slot = NULL;
        rcy_decref(child);
    }
}

void rcy__clear_refs(void *o)
{
    rcy__traverse(o, clear_slot, NULL);
}

/* ---- death ---- */

/* The count held at 1 while the finalizer runs, in the object's mode. */
static void count_hold(void *o)
{
    rcy__store_rc(o, rcy__load_rc(o) >= RCY_IMPL_ATOMIC ? RCY_IMPL_ATOMIC + 1u : 1u);
}

/* That hold dropped: 1 if the object is dead after all (nobody, on any
   thread, took a reference while the finalizer ran). */
static int count_release_dies(rcy_objects *O, void *o)
{
    uint32_t rc = rcy__load_rc(o);
    if (rc >= RCY_IMPL_ATOMIC) {
        uint32_t next;
        do {
            if (rc == RCY_IMMORTAL)
                return 0;
            next = rc - 1u;
        } while (!atomic_compare_exchange_weak_explicit(
            rcy__refcnt_of(o), &rc, next, memory_order_acq_rel, memory_order_relaxed));
        return (next & RCY_AT_COUNT) == 0;
    }
    if (rc > 1) {
        rcy__store_rc(o, rc - 1);
        return 0;
    }
    return rcy__object_release_last(O, o);
}

static RCY_NOINLINE int run_finalizer(rcy_objects *O, void *o, const rcy_type *t)
{
    rcy_objhead *hd = RCY_HEAD(o);
    count_hold(o); /* alive while its finalizer runs */
    hd->gcword |= RCY_GC_FINALIZED | RCY_GC_FINALIZING;
    t->finalize(o);
    hd->gcword &= ~RCY_GC_FINALIZING;
    if (count_release_dies(O, o)) /* another thread may hold it now (obj/count.h) */
        return 0;
    if (hd->gcword & RCY_GC_WAS_TRACKED) {
        hd->gcword &= ~RCY_GC_WAS_TRACKED;
        track(O, o, t);
    }
    return 1;
}

/* Runs the finalizer if it is due. Returns 1 if the object was resurrected. */
static RCY_ALWAYS_INLINE int finalize_resurrects(rcy_objects *O, void *o, const rcy_type *t)
{
    if (!t->finalize || (RCY_HEAD(o)->gcword & RCY_GC_FINALIZED))
        return 0;
    return run_finalizer(O, o, t);
}

/* A dying collectable object leaves its generation: untracked, and no
   flag left for the decrefs of its references to see (one store for what
   untrack() and the dead object's word need). */
static RCY_ALWAYS_INLINE void leave_generation(rcy_objects *O, void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t w = hd->gcword;
    if (RCY_LIKELY((w & (RCY_GC_TRACKED | RCY_GC_WAS_TRACKED | RCY_GC_UNREACHABLE |
                         RCY_GC_GEN_MASK)) == RCY_GC_TRACKED)) {
        /* the common case, one test: tracked, header generation young, not
           in a collection's garbage (unplace, with its first tests done) */
        O->young_count -= O->young_count != 0;
        O->count[young_leave(&O->young, o, w & RCY_GC_SLOT_MASK)]--;
    } else {
        if (w & (RCY_GC_TRACKED | RCY_GC_WAS_TRACKED))
            O->young_count -= O->young_count != 0;
        if (w & RCY_GC_TRACKED)
            unplace(O, o);
    }
    hd->gcword = w & RCY_GC_LARGE;
}

/* a: the object's arena (object_home), pool its pool (NULL: a large
   object; found for the type, so not looked up again); t: its type.
   Inlined into the death functions, so that a cascade costs one frame per
   level (the recursion is rcy_impl_decref_slow's, through clear_slot). */
static RCY_ALWAYS_INLINE void free_object(rcy_objects *O, rcy_arena *a, rcy_pool *pool, void *o,
                                          const rcy_type *t)
{
    if (rcy__collectable(t)) {
        leave_generation(O, o);
        rcy__visit_refs(o, t, clear_slot, NULL); /* rcy__clear_refs, with the type at hand */
    }
    if (t->destroy)
        t->destroy(o);
    rcy__mem_release_in(&O->mem, a, pool, rcy__object_block(o));
}

/* a, pool and t: the object's arena (object_home), pool (NULL: large)
   and type. */
static RCY_ALWAYS_INLINE void die_now(rcy_objects *O, rcy_arena *a, rcy_pool *pool, void *o,
                                      const rcy_type *t)
{
    if (finalize_resurrects(O, o, t))
        return;
    if (RCY_HEAD(o)->gcword & RCY_GC_WEAKREFD)
        O->weak_clear(O, o); /* set only through the weak reference layer */
    free_object(O, a, pool, o, t);
}

/* Queues a dying object; 0 if the queue cannot grow (out of memory: the
   object then dies at once, nesting deeper). */
static int push_pending(rcy_objects *O, void *o)
{
    rcy_ptrvec *q = &O->pending;
    if (q->len == q->cap && O->pending_head > 0) { /* slide the live part to the front */
        q->len -= O->pending_head;
        memmove(q->items, q->items + O->pending_head, q->len * sizeof *q->items);
        O->pending_head = 0;
    }
    if (!rcy__ptrvec_push(q, o))
        return 0;
    rcy_objhead *hd = RCY_HEAD(o);
    if (hd->gcword & RCY_GC_TRACKED) {
        untrack(O, o);
        hd->gcword |= RCY_GC_WAS_TRACKED;
    }
    return 1;
}

/* The outermost death kills the queued ones, in the order their counts
   reached zero, each with a fresh budget of nesting. */
static void drain_pending(rcy_objects *O)
{
    while (O->pending_head < O->pending.len) {
        void *o = O->pending.items[O->pending_head++];
        rcy_arena *a = rcy__object_arena(o);
        O->depth++;
        rcy_pool *pool = a ? rcy__pool_of(a, rcy__object_block(o)) : NULL;
        die_now(O, a, pool, o, rcy__type_in(pool, rcy__object_block(o)));
        O->depth--;
    }
    O->pending_head = O->pending.len = 0;
}

/* The death of o, whose count reached zero on its owner: a, pool and t
   its arena (NULL: a large object), pool and type. Past the nesting
   bound a collectable object waits in the pending queue; the outermost
   death empties the queue. */
static RCY_ALWAYS_INLINE void dies_in(rcy_objects *O, rcy_arena *a, rcy_pool *pool, void *o,
                                      const rcy_type *t)
{
    if (RCY_UNLIKELY(O->depth >= RCY_DEATH_NESTING) && rcy__collectable(t) && push_pending(O, o))
        return;
    O->depth++;
    die_now(O, a, pool, o, t);
    if (--O->depth == 0 && RCY_UNLIKELY(O->pending.len != 0))
        drain_pending(O);
}

/* ---- the common death: a loop down the last child ----
 * Most objects are small, of a type with a layout descriptor and nothing
 * else (no traverse, finalize or destroy: RCY_FACT_PLAIN, which the pool
 * tells beside the type), on their heap's owner, never counted by another
 * thread and without weak references (dying_here). Such an object's death
 * is a loop: it leaves its generation, drops its references, and its
 * memory goes back; of its children whose counts reach zero, each dies
 * (nested, as above) when the next one is found, and the last one is
 * killed by the loop, in the same frame and at the same depth, once the
 * object's memory is back. Nothing a callback can see changes: that child
 * was the last thing to die in the object's death anyway, and the object
 * has no destroy to run after it. A chain dies in one frame, a binary
 * tree makes half the calls. Any other object takes die_now. */

/* If small object o, whose owner's count is 1, can die at once on this
   thread (as rcy_impl_decref_slow decides), its count becomes 0 and its
   arena is returned; NULL if not (rcy_impl_decref_shared decides). */
static RCY_ALWAYS_INLINE rcy_arena *dying_here(void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    rcy_arena *a = rcy__arena_at(hd);
    if (RCY_LIKELY(rcy__arena_owned(a)) && !(hd->gcword & (RCY_GC_FINALIZING | RCY_GC_WEAKREFD)) &&
        !atomic_load_explicit(&a->shared, memory_order_acquire)) {
        rcy__store_rc(o, 0);
        return a;
    }
    return NULL;
}

static void small_dies(rcy_arena *a, void *o);

/* What the loop's visit of an object's references carries: the heap, and
   the child that dies after the object (NULL: none yet). */
typedef struct death {
    rcy_objects *O;
    void *next;
    rcy_arena *next_arena; /* its arena, found by dying_here */
} death;

/* clear_slot for the loop: a child that can die at once, of the same
   heap, becomes d->next (the one before it dies now). */
static RCY_ALWAYS_INLINE void drop_slot(void **slot, void *arg)
{
    death *d = arg;
    void *child = *slot;
    if (!child)
        return;
    *slot = NULL;
    uint32_t rc = rcy__load_rc(child);
    if (RCY_LIKELY((int32_t)rc > 1) && RCY_LIKELY(rcy_impl_owner(child))) {
        rcy__store_rc(child, rc - 1u); /* rcy_decref's fast path */
        if (RCY_UNLIKELY(!(RCY_HEAD(child)->gcword & RCY_GC_NOTED)))
            rcy_impl_decref_note(child);
        return;
    }
    rcy_arena *a;
    if (rc == 1 && (a = dying_here(child)) != NULL) {
        if (RCY_UNLIKELY(rcy__mem_owner(a, child) != &d->O->mem)) {
            small_dies(a, child); /* another heap of this thread: its own depth */
            return;
        }
        if (d->next)
            small_dies(d->next_arena, d->next);
        d->next = child;
        d->next_arena = a;
        return;
    }
    rcy_impl_decref_slow(child);
}

/* Any death but the loop's: past the nesting bound, or a type with more
   than a descriptor. */
static RCY_NOINLINE void small_dies_general(rcy_objects *O, rcy_arena *a, rcy_pool *pool, void *o)
{
    dies_in(O, a, pool, o, rcy__pool_tag(pool));
}

/* The death of small object o in arena a, which dying_here let die: then
   of its last dying child, and so on (see above). */
static RCY_NOINLINE void small_dies(rcy_arena *a, void *o)
{
    rcy_objects *O = rcy__objects_of_mem(a->owner); /* a small object's */
    rcy_pool *pool = rcy__pool_of(a, rcy__object_block(o));
    if (RCY_UNLIKELY(pool->facts != RCY_FACT_PLAIN) ||
        RCY_UNLIKELY(O->depth >= RCY_DEATH_NESTING)) {
        small_dies_general(O, a, pool, o);
        return;
    }
    O->depth++;
    for (;;) {
        death d = {O, NULL, NULL};
        leave_generation(O, o);
        uint64_t m = ((const rcy_type *)rcy__pool_tag(pool))->ref_words;
#if defined(__GNUC__)
        if (m == 0) /* RCY_FACT_PLAIN: the visit's test of m goes */
            __builtin_unreachable();
#endif
        rcy__visit_words(o, m, drop_slot, &d);
        rcy__mem_release_in(&O->mem, a, pool, rcy__object_block(o));
        if (!d.next)
            break;
        o = d.next;
        a = d.next_arena;
        pool = rcy__pool_of(a, rcy__object_block(o));
        if (RCY_UNLIKELY(pool->facts != RCY_FACT_PLAIN)) {
            die_now(O, a, pool, o, rcy__pool_tag(pool));
            break;
        }
    }
    if (--O->depth == 0 && RCY_UNLIKELY(O->pending.len != 0))
        drain_pending(O);
}

static void object_dies(void *o)
{
    rcy_arena *a = rcy__object_arena(o);
    if (RCY_LIKELY(a != NULL)) { /* it may have weak references: not the loop */
        small_dies_general(rcy__objects_of_mem(rcy__mem_owner(a, o)), a,
                           rcy__pool_of(a, rcy__object_block(o)), o);
        return;
    }
    const rcy_large *lh = rcy__large_header(rcy__object_block(o));
    dies_in(rcy__objects_of_mem(lh->owner), NULL, NULL, o, lh->tag);
}

void rcy__object_dies(void *o)
{
    object_dies(o);
}

/* The owner's decrement of its last count of a small object that no
   other thread ever counted in its arena, and that has no weak
   references: death, with no atomic instruction. Everything else goes to
   rcy_impl_decref_shared (obj/shared.c). */
void rcy_impl_decref_slow(void *o)
{
    rcy_arena *a;
    if (RCY_LIKELY(rcy__load_rc(o) == 1) && (a = dying_here(o)) != NULL) {
        /* the owner's count 1: a small object; the loop's type or not is
           told before either function saves a register */
        rcy_pool *pool = rcy__pool_of(a, rcy__object_block(o));
        if (RCY_LIKELY(pool->facts == RCY_FACT_PLAIN))
            small_dies(a, o);
        else
            small_dies_general(rcy__objects_of_mem(a->owner), a, pool, o);
        return;
    }
    rcy_impl_decref_shared(o);
}

/* The name of the type of the object whose block starts at b, if its
   pool still says (a freed small block's does, until the pool serves
   something else); "?" if not. */
static const char *name_at(const void *b, int live)
{
    rcy_arena *a = rcy__pagemap_lookup(b);
    const rcy_type *t = a || live ? rcy__type_at(a, b) : NULL;
    return t && t->name ? t->name : "?";
}

/* ---- checked builds: validate the object before touching its count ---- */

static void check_object(void *o, const char *api)
{
    if (!o || ((uintptr_t)o & (sizeof(rcy_objhead) - 1)))
        rcy__misuse("%s(%p): not an object pointer", api, o);
    const void *b = rcy__object_block(o), *tag = NULL;
    rcy_block_state state = rcy__mem_block_state(NULL, b, &tag);
    if (state == RCY_BLOCK_FOREIGN || (state == RCY_BLOCK_LIVE && (!tag || tag == RCY_TAG_TRACED)))
        rcy__misuse("%s(%p): not a recycle object (a pointer from malloc, rcy_malloc, the "
                    "stack or a static, or one into an object)",
                    api, o);
    const char *name = name_at(b, state == RCY_BLOCK_LIVE);
    if (state == RCY_BLOCK_FREE)
        rcy__misuse("%s(%p): object of type '%s' was already freed (use after free)", api, o, name);
    if (rcy__object_count(o) == 0)
        rcy__misuse("%s(%p): object of type '%s' has reference count 0 (dead, or released "
                    "more often than acquired)",
                    api, o, name);
}

void rcy_impl_incref_checked(void *o)
{
    check_object(o, "rcy_incref");
    rcy_impl_incref_slow(o); /* the owner's count, or the shared word: shared.c */
}

void rcy_impl_decref_checked(void *o)
{
    check_object(o, "rcy_decref");
    rcy_impl_decref_slow(o);
}

/* ---- shared objects: the owner's side (obj/count.h) ---- */

int rcy__object_release_last(rcy_objects *O, void *o)
{
    int weak = (RCY_HEAD(o)->gcword & RCY_GC_WEAKREFD) != 0;
    if (weak) /* weak references must not hand it out once it is dead */
        rcy__spin_lock(&O->weak_lock);
    rcy__store_rc(o, 0);
    int dies = rcy__local_zero_dies(o);
    if (weak)
        rcy__spin_unlock(&O->weak_lock);
    return dies;
}

/* A count another thread queued: the owner's and the shared count merge,
   less the queue's reference; the object dies if that leaves none. */
static void merge_queued(rcy_objects *O, void *o)
{
    int weak = (RCY_HEAD(o)->gcword & RCY_GC_WEAKREFD) != 0;
    if (weak)
        rcy__spin_lock(&O->weak_lock);
    _Atomic uint32_t *w = rcy__shared_peek(o);
    int64_t local = rcy__load_rc(o), total;
    uint32_t s = atomic_load_explicit(w, memory_order_acquire), next;
    do {
        total = local + rcy__shared_count(s) - 1;
        next = total > 0 ? (uint32_t)(total * RCY_SH_ONE) | RCY_SH_MERGED | (s & RCY_SH_STICKY) : 0;
    } while (!atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_acq_rel,
                                                    memory_order_acquire));
    rcy__store_rc(o, 0);
    if (weak)
        rcy__spin_unlock(&O->weak_lock);
    if (total < 0)
        rcy__misuse("rcy_decref(%p): object of type '%s' released more often than acquired (by "
                    "several threads)",
                    o, rcy__type(o)->name ? rcy__type(o)->name : "?");
    if (total == 0)
        rcy__object_dies(o);
}

/* An object whose merged (or atomic) count reached zero elsewhere. */
static void death_queued(void *o)
{
    if (rcy__load_rc(o) >= RCY_IMPL_ATOMIC)
        rcy__store_rc(o, RCY_IMPL_ATOMIC);
    else
        atomic_store_explicit(rcy__shared_peek(o), 0, memory_order_relaxed);
    rcy__object_dies(o);
}

void rcy__objects_drain(rcy_objects *O, int all)
{
    rcy_ptrvec keep = {0};
    while (!rcy__objects_inbox_empty(O)) {
        rcy__spin_lock(&O->inbox_lock);
        rcy_ptrvec batch = O->inbox;
        O->inbox = (rcy_ptrvec){0};
        atomic_store_explicit(&O->inbox_len, 0, memory_order_relaxed);
        rcy__spin_unlock(&O->inbox_lock);
        for (size_t i = 0; i < batch.len; i++) {
            uintptr_t p = (uintptr_t)batch.items[i];
            if (!(p & 1))
                death_queued((void *)p);
            else if (all)
                merge_queued(O, (void *)(p & ~(uintptr_t)1));
            else if (!rcy__ptrvec_push(&keep, (void *)p))
                rcy__misuse("heap %p: out of memory for its inbox", (void *)O);
        }
        rcy__ptrvec_fini(&batch);
    }
    if (keep.len) { /* merges wait for the owner */
        rcy__spin_lock(&O->inbox_lock);
        for (size_t i = 0; i < keep.len; i++)
            if (!rcy__ptrvec_push(&O->inbox, keep.items[i]))
                rcy__misuse("heap %p: out of memory for its inbox", (void *)O);
        atomic_store_explicit(&O->inbox_len, O->inbox.len, memory_order_release);
        rcy__spin_unlock(&O->inbox_lock);
    }
    rcy__ptrvec_fini(&keep);
}

size_t rcy_refcount(const void *o)
{
    return rcy__object_count(o);
}

/* ---- introspection ---- */

const rcy_type *rcy_typeof(const void *o)
{
    return rcy__type(o);
}

rcy_heap *rcy_heap_of(const void *o)
{
    return rcy__objects_heap(home_of(o));
}
