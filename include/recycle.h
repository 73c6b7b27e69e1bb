/* SPDX-License-Identifier: MIT */
/* recycle: Python's memory management for C programs.
 *
 * One public header. Its parts, bottom layer first:
 *   1. heaps and raw memory (the small-block pool allocator)
 *   2. memory statistics
 *   3. types and reference-counted objects (the object header is laid out
 *      here so that incref/decref can be inline)
 *   4. the cycle collector (Python's gc module)
 *   5. weak references
 *   6. options: defaults for new heaps, from the environment or set here
 * Threads: each thread may have its own heap (rcy_thread_heap); a block
 * may be freed by any thread; a heap's allocations need one thread at a
 * time (its owner, or threads taking turns under a lock of the user's).
 * Objects may be shared between threads (biased reference counting; a
 * collection of all heaps at safepoints): docs/api.md, "Shared objects".
 * Misuse that the library detects (a bad free, a double free, a decref of a
 * dead object) prints a message naming the pointer and aborts.
 */
#ifndef RECYCLE_H
#define RECYCLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "recycle_config.h" /* generated: RCY_CHECK_LEVEL of the library build */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RCY_API __attribute__((visibility("default")))
/* branch hints for the inline functions below; undefined at the end */
#define RCY_IMPL_LIKELY(x) __builtin_expect(!!(x), 1)
#define RCY_IMPL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define RCY_API
#define RCY_IMPL_LIKELY(x) (x)
#define RCY_IMPL_UNLIKELY(x) (x)
#endif

/* ------------------------------------------------------------------ */
/* 1. Heaps and raw memory                                             */
/* ------------------------------------------------------------------ */

typedef struct rcy_heap rcy_heap;

/** Create a heap. NULL on failure: errno ENOMEM, or ENOTSUP on a system
 *  whose addresses exceed 48 bits (README, "Supported platforms"). */
RCY_API rcy_heap *rcy_heap_new(void);
/** Free every object and all memory of the heap. Finalizers and destroy
 *  callbacks of objects still alive do NOT run: the memory is simply
 *  returned. NULL is a no-op. */
RCY_API void rcy_heap_destroy(rcy_heap *h);

/* Threads (docs/api.md, "Threads"). A heap has an owner thread: the one
   that made it, or the last to call rcy_heap_adopt. Any thread may free a
   block of any heap (rcy_free, rcy_free_sized, rcy_realloc, an object's
   death): a thread that does not own the heap frees remotely, lock-free,
   and the memory is reused once the heap's user reaches a slow path.
   Everything else on a heap (allocation, objects, purge, limits, stats,
   the collector, destroy) needs one thread at a time: the owner alone,
   or threads taking turns under a lock of the user's (the GIL model);
   checked builds report two threads inside one heap at once. */
/** The calling thread's own heap, made (or taken over from a thread that
 *  exited) on its first call; NULL with errno on failure. When the thread
 *  exits, its heap is freed if empty; otherwise its blocks stay valid, any
 *  thread may free them, and the heap goes with its last block or passes
 *  to a new thread. Not to be destroyed (rcy_heap_destroy aborts). */
RCY_API rcy_heap *rcy_thread_heap(void);
/** The calling thread becomes h's owner: its frees of h's blocks take the
 *  fast path, and the former owner's become remote. For a heap handed to
 *  another thread (the former owner must have stopped using it), or, in
 *  the GIL model, by the thread that holds the lock. Not for thread heaps. */
RCY_API void rcy_heap_adopt(rcy_heap *h);

/** Requests of 0..RCY_SMALL_MAX bytes come from size-class pools; larger
 *  ones from the system allocator. Every block is 16-byte aligned.
 *  rcy_malloc(h, 0) returns a unique pointer. NULL + errno ENOMEM when out
 *  of memory; never aborts. */
#define RCY_SMALL_MAX 512
RCY_API void *rcy_malloc(rcy_heap *h, size_t n);
/** Zero-filled; count * n overflow gives NULL with errno ENOMEM. */
RCY_API void *rcy_calloc(rcy_heap *h, size_t count, size_t n);
/** realloc(h, NULL, n) is rcy_malloc(h, n); realloc(h, p, 0) frees p and
 *  returns a fresh zero-size block (a unique pointer), or NULL if that
 *  allocation fails (p is freed either way). On failure of a resize the
 *  old block is left untouched and NULL is returned. */
RCY_API void *rcy_realloc(rcy_heap *h, void *p, size_t n);
/** O(1), needs no size. NULL is a no-op. Any thread may free a block of h
 *  (remotely if it does not own h). A pointer this heap does not own,
 *  a double free or a free into the wrong heap aborts with a message
 *  (always for large blocks and foreign pointers; double frees of small
 *  blocks are caught exactly in checked builds, cheaply in release). */
RCY_API void rcy_free(rcy_heap *h, void *p);
/** rcy_free for a caller that knows the block's size: n is the size
 *  asked for (or any size from it up to rcy_usable_size). Small blocks skip the
 *  page-map lookup. p must be a block of h and n its size: a wrong n is
 *  undefined in release builds, and reported in checked builds. */
RCY_API void rcy_free_sized(rcy_heap *h, void *p, size_t n);
/** 1 if p lies in memory h manages (in a pool of one of h's arenas, or
 *  the start of a live large block of h), 0 otherwise. Never reads *p:
 *  safe on any pointer. For routing a free, as pymalloc does. */
RCY_API int rcy_heap_owns(rcy_heap *h, const void *p);
/** rcy_free with the routing in one page-map lookup: frees p and returns 1
 *  if p lies in memory h manages (NULL: nothing to do, 1), and returns 0
 *  without touching p if it does not (a foreign pointer: the caller frees
 *  it where it came from). A bad pointer into h's memory (a double free,
 *  an interior pointer) is reported as by rcy_free. */
RCY_API int rcy_free_owned(rcy_heap *h, void *p);
/** Bytes usable at p (>= the size asked for). */
RCY_API size_t rcy_usable_size(rcy_heap *h, const void *p);
/** Hand every free page back to the OS now; returns the bytes released
 *  (what rcy_mem_stats.bytes_released_total grows by).
 *  (Free pages are also returned on their own: see docs/design.md, "Giving memory back".) */
RCY_API size_t rcy_purge(rcy_heap *h);
/** Empty pools beyond a small warm cache keep their pages for this many
 *  milliseconds (default 100), so that memory freed and allocated again
 *  soon is not faulted in again; older ones give their pages back on the
 *  allocator's slow paths. 0: at once. An idle program keeps them until
 *  it calls rcy_purge. */
RCY_API void rcy_heap_set_purge_delay(rcy_heap *h, unsigned ms);
RCY_API unsigned rcy_heap_get_purge_delay(rcy_heap *h);

/* Memory budget. "Held" bytes are what the heap holds from the OS: pool
   pages not given back, large blocks with their headers, and the arenas'
   bookkeeping (rcy_mem_stats.bytes_held; docs/design.md, "Memory budget").
   0 = no limit. Returns 0, or -1 with errno EINVAL (soft > hard, both
   non-zero). Crossing soft: a full collection (if the collector is
   enabled), a purge, then the callback; paced, so that a program living
   at the soft limit spends at most about half its time there. An
   allocation that would cross hard: an emergency full collection and a
   purge, the callback if that was not enough, one retry, then NULL with
   errno ENOMEM: the heap never holds more than hard. */
RCY_API int rcy_heap_set_limit(rcy_heap *h, size_t soft, size_t hard);
RCY_API void rcy_heap_get_limit(rcy_heap *h, size_t *soft, size_t *hard);
/** held: the bytes held after the reaction; limit: the limit crossed (soft or hard).
 *  May free memory and raise the limits (rcy_heap_set_limit). Never re-entered. */
typedef void (*rcy_limit_fn)(rcy_heap *h, size_t held, size_t limit, void *arg);
/** One callback per heap (NULL: none); replaces the previous one. */
RCY_API void rcy_heap_on_limit(rcy_heap *h, rcy_limit_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* 2. Memory statistics (sys._debugmallocstats)                        */
/* ------------------------------------------------------------------ */

#define RCY_SIZE_CLASSES 64 /* block sizes 8, 16, 24, ... 512 */
typedef struct rcy_class_stats {
    size_t block_size;  /* bytes per block of this class */
    size_t pools;       /* pools serving the class */
    size_t blocks_used; /* blocks handed out */
    size_t blocks_free; /* blocks available in those pools */
} rcy_class_stats;

typedef struct rcy_mem_stats {
    rcy_class_stats classes[RCY_SIZE_CLASSES];
    size_t arenas_allocated;     /* arenas mapped since the heap was made */
    size_t arenas_released;      /* arenas unmapped since */
    size_t arenas_highwater;     /* most arenas mapped at once */
    size_t arenas_current;       /* arenas mapped now */
    size_t pools_total;          /* pools in mapped arenas */
    size_t pools_used;           /* pools with a block in use */
    size_t pools_empty_dirty;    /* empty pools still holding pages (among them the last pool
                                    of a size class, kept until rcy_purge) */
    size_t pools_empty_clean;    /* empty pools whose pages went back (or never came) */
    size_t small_bytes_used;     /* bytes in small blocks handed out (block sizes) */
    size_t small_bytes_free;     /* bytes in free blocks of used pools */
    size_t pool_header_bytes;    /* bytes of pool and arena bookkeeping (in arenas' first pools) */
    size_t quantization_bytes;   /* bytes at the end of used pools too small for a block */
    size_t large_blocks;         /* live blocks from the large path */
    size_t large_bytes;          /* their sizes */
    size_t bytes_mapped;         /* bytes of address space mapped from the OS now */
    size_t bytes_committed;      /* bytes of that which may hold pages (not given back) */
    size_t bytes_released_total; /* bytes given back to the OS since the heap was made */
    size_t free_slow_paths;      /* frees of small blocks that took the pool's slow path (a
                                    pool that was full, or emptied and not kept) */
    size_t bytes_in_use;         /* small_bytes_used + large_bytes */
    size_t peak_bytes_committed; /* high-water mark of bytes_committed + large_bytes */
    size_t bytes_held;           /* what the memory budget counts (rcy_heap_set_limit) */
    size_t limit_soft_reactions; /* collections and purges for crossing the soft limit */
    size_t limit_hard_reactions; /* emergency ones, for an allocation that would cross hard */
    size_t limit_failures;       /* allocations refused by the hard limit (NULL, ENOMEM) */
    size_t limit_reaction_ns;    /* time spent in those reactions, callbacks included */
} rcy_mem_stats;

RCY_API void rcy_mem_get_stats(rcy_heap *h, rcy_mem_stats *out);
/** A report a person can read, like sys._debugmallocstats(). */
RCY_API void rcy_mem_print_stats(rcy_heap *h, FILE *out);

/* ------------------------------------------------------------------ */
/* 3. Types and reference-counted objects                              */
/* ------------------------------------------------------------------ */

typedef void (*rcy_visit_fn)(void **slot, void *arg);

/* A type must outlive its objects and must not change while any exist:
   heaps remember what they derive from `size` and `traverse`. */
typedef struct rcy_type {
    const char *name;
    size_t size; /* payload bytes that rcy_new allocates (zero-filled) */
    /* Calls visit(&field, arg) for every object reference the object
       holds (NULL fields may be visited or skipped). NULL: the type holds
       no references and its objects are never tracked by the collector. */
    void (*traverse)(void *self, rcy_visit_fn visit, void *arg);
    /* Optional; runs at most once before death; may resurrect the object
       by storing a new reference to it somewhere. */
    void (*finalize)(void *self);
    /* Optional; frees non-object resources. The object's references have
       already been dropped (its slots are NULL). */
    void (*destroy)(void *self);
    /* Layout descriptor (optional; 0: none). Bit i set: payload word i
       (bytes 8i to 8i+7, a pointer-sized, pointer-aligned field) holds an
       object reference or NULL; build it with RCY_REF_WORD. The library
       then visits those fields itself, inline, with no callback: in death,
       clearing, every step of the collector and rcy_gc_get_referents. A
       type with ref_words is collectable even with traverse NULL; with
       both, traverse visits only the references the descriptor leaves out
       (an array after a fixed part): each reference is described once.
       Every word named must lie inside every payload of the type
       (checked builds verify it at rcy_new and rcy_new_sized). */
    uint64_t ref_words;
} rcy_type;

/** The bit of rcy_type.ref_words for the reference field `member` of the
 *  payload struct `type` (which must be pointer-aligned, in the first 64
 *  words): `.ref_words = RCY_REF_WORD(node, left) | RCY_REF_WORD(node, right)`. */
#define RCY_REF_WORD(type, member) (UINT64_C(1) << (offsetof(type, member) / sizeof(void *)))

/* ---- internals the inline functions need (do not use directly) ----
 * Every object, tracked by the collector or not, is preceded by this
 * 8-byte header and nothing else; its type is its pool's (one word per
 * 16 KiB of objects, not one per object).
 * Biased reference counting (issue 23, docs/design.md "Shared objects"):
 * refcnt is the count of the owner of the object's heap, which changes it
 * with plain (relaxed) loads and stores; other threads count in a shared
 * word outside the object (obj/shared.c), with atomic instructions.
 *   refcnt 1..RCY_IMPL_LOCAL_MAX: the owner's count;
 *   0: merged (the whole count is in the shared word) or dead;
 *   RCY_IMPL_ATOMIC..RCY_IMMORTAL-1: an atomic count (large objects) of
 *   refcnt - RCY_IMPL_ATOMIC, changed by every thread with atomics;
 *   RCY_IMMORTAL: saturated, never freed.
 * The owner is found from the object's arena (1 MiB aligned, a copy of
 * the owner's thread pointer at a fixed offset, not coloured like the
 * arena's bookkeeping: mask, load, compare), so the fast paths test the
 * count's range first (a large object's arena is not there to read), then
 * the owner. */
typedef struct rcy_objhead {
    uint32_t refcnt; /* see above */
    uint32_t gcword; /* flags, generation, and during a collection gc_refs */
} rcy_objhead;
#define RCY_IMMORTAL UINT32_MAX
#define RCY_HEAD(o) ((rcy_objhead *)(o)-1)
#define RCY_IMPL_LOCAL_MAX 0x7fffffffu
#define RCY_IMPL_ATOMIC 0x80000000u
#define RCY_IMPL_ARENA_SHIFT 20
/* where each arena keeps the owner's id for the inline paths (mem/pool.h's
   RCY_ARENA_OWNER_AT at check level 0, which it checks) */
#define RCY_IMPL_ARENA_OWNER_AT 16320
/* gcword bit: this object's decrements need not be reported to the
   collector (it is untracked, or one was reported since it was examined) */
#define RCY_GCWORD_NOTED (1u << 26)
RCY_API void rcy_impl_decref_slow(void *o);
RCY_API void rcy_impl_decref_note(void *o);
RCY_API void rcy_impl_incref_checked(void *o);
RCY_API void rcy_impl_decref_checked(void *o);
RCY_API void rcy_impl_incref_slow(void *o);
RCY_API void rcy_impl_decref_shared(void *o);

#if defined(__GNUC__)
#define RCY_IMPL_LOAD32(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RCY_IMPL_STORE32(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#else
#define RCY_IMPL_LOAD32(p) (*(p))
#define RCY_IMPL_STORE32(p, v) (*(p) = (v))
#endif

/* 1 if the calling thread owns the heap of small object o: its arena's
   copy of the owner's id is compared with the thread pointer (x86-64:
   mask, load, one compare with %fs:0 in memory). o, not its header, is
   masked (the same arena: no block starts an arena), so the header's
   address need not be kept in a register. */
static inline int rcy_impl_owner(const void *o)
{
    uintptr_t base = (uintptr_t)o & ~(((uintptr_t)1 << RCY_IMPL_ARENA_SHIFT) - 1);
    const uintptr_t *owner = (const uintptr_t *)(base + RCY_IMPL_ARENA_OWNER_AT);
#if defined(__GNUC__)
    uintptr_t id = __atomic_load_n(owner, __ATOMIC_RELAXED);
#if defined(__x86_64__)
    __asm__ goto("cmpq %%fs:0, %0\n\tjne %l[other]" : : "r"(id) : "cc" : other);
    return 1;
other:
    return 0;
#elif defined(__aarch64__)
    uintptr_t tp;
    __asm__("mrs %0, tpidr_el0" : "=r"(tp));
    return id == tp;
#else
    (void)id;
    return 0; /* no cheap thread id: the out-of-line path decides */
#endif
#else
    (void)owner;
    return 0;
#endif
}
/* -------------------------------------------------------------------- */

/** A new object with refcount 1 and a zero-filled payload of t->size
 *  bytes, 8-byte aligned; NULL (errno ENOMEM) on failure. */
RCY_API void *rcy_new(rcy_heap *h, const rcy_type *t);
/** The same with a payload of n bytes. */
RCY_API void *rcy_new_sized(rcy_heap *h, const rcy_type *t, size_t n);

/** Safe from any thread (biased counting: the owner of the object's heap
 *  counts without atomics, other threads atomically). Counts saturate at
 *  RCY_IMMORTAL: such an object is never freed. */
static inline void rcy_incref(void *o)
{
#if RCY_CHECK_LEVEL >= 1
    rcy_impl_incref_checked(o);
#else
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t n = RCY_IMPL_LOAD32(&hd->refcnt) + 1u;
    /* the owner's count was 1..LOCAL_MAX-1 (n 2..LOCAL_MAX: one signed
       test on the sum that is stored) and the caller is the owner */
    if (RCY_IMPL_LIKELY((int32_t)n > 1) && RCY_IMPL_LIKELY(rcy_impl_owner(o)))
        RCY_IMPL_STORE32(&hd->refcnt, n);
    else
        rcy_impl_incref_slow(o);
#endif
}

/** At 0: finalize (once), drop its references, destroy, free; on the
 *  owner of its heap (docs/api.md, "Shared objects"). Iterative: freeing
 *  the head of a long chain uses bounded C stack. Safe from any thread. */
static inline void rcy_decref(void *o)
{
#if RCY_CHECK_LEVEL >= 1
    rcy_impl_decref_checked(o);
#else
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t rc = RCY_IMPL_LOAD32(&hd->refcnt);
    /* one signed test: the owner's count of 2..LOCAL_MAX is the common case */
    if (RCY_IMPL_LIKELY((int32_t)rc > 1) && RCY_IMPL_LIKELY(rcy_impl_owner(o))) {
        RCY_IMPL_STORE32(&hd->refcnt, rc - 1u);
        /* a drop that leaves the object alive may have orphaned a cycle:
           the collector hears of the first one since it last looked */
        if (RCY_IMPL_UNLIKELY(!(hd->gcword & RCY_GCWORD_NOTED)))
            rcy_impl_decref_note(o);
    } else {
        rcy_impl_decref_slow(o);
    }
#endif
}

static inline void rcy_xincref(void *o)
{
    if (o)
        rcy_incref(o);
}
static inline void rcy_xdecref(void *o)
{
    if (o)
        rcy_decref(o);
}

/** The count itself (sys.getrefcount without its +1). */
RCY_API size_t rcy_refcount(const void *o);
RCY_API const rcy_type *rcy_typeof(const void *o);
RCY_API rcy_heap *rcy_heap_of(const void *o);
/** Bytes of hidden header in front of objects of this type: 8 for every
 *  type, collectable ones included. */
RCY_API size_t rcy_header_size(const rcy_type *t);

/* ------------------------------------------------------------------ */
/* 4. The cycle collector (Python's gc module)                         */
/* ------------------------------------------------------------------ */

/** Collect generation 0, 1 or 2 (-1: full). Returns the unreachable
 *  objects found (collected + uncollectable). Never re-enters: a call
 *  from inside a running collection (a finalizer) returns 0. */
RCY_API size_t rcy_gc_collect(rcy_heap *h, int generation);
RCY_API void rcy_gc_enable(rcy_heap *h);
RCY_API void rcy_gc_disable(rcy_heap *h);
RCY_API int rcy_gc_isenabled(rcy_heap *h);
RCY_API void rcy_gc_get_threshold(rcy_heap *h, size_t out[3]);
/** t0 == 0 disables automatic collection, as in Python. */
RCY_API void rcy_gc_set_threshold(rcy_heap *h, size_t t0, size_t t1, size_t t2);
RCY_API void rcy_gc_get_count(rcy_heap *h, size_t out[3]);
/** Drop pacing (on by default; 0 turns it off, for Python's behaviour):
 *  automatic collections of generations 0 and 1 are skipped (they only
 *  promote) when no tracked object has lost a reference without dying
 *  since that generation was last collected: no cycle can have become
 *  garbage then, unless the code moved the cycle's last outside reference
 *  into the cycle itself without a decref. Such cycles wait for the next
 *  full collection (they count towards the 25% growth that triggers it).
 *  Explicit rcy_gc_collect calls always scan. Makes the collector almost
 *  free for programs that allocate heavily but create few cycles. */
RCY_API void rcy_gc_set_drop_pacing(rcy_heap *h, int on);

typedef struct {
    size_t collections, collected, uncollectable;
} rcy_gc_genstats;
RCY_API void rcy_gc_get_stats(rcy_heap *h, rcy_gc_genstats out[3]);

/** Move every tracked object to a permanent generation never collected. */
RCY_API void rcy_gc_freeze(rcy_heap *h);
/** Move the permanent generation back into the oldest one. */
RCY_API void rcy_gc_unfreeze(rcy_heap *h);
RCY_API size_t rcy_gc_get_freeze_count(rcy_heap *h);

RCY_API int rcy_gc_is_tracked(const void *o);
RCY_API int rcy_gc_is_finalized(const void *o);
/** Track an untracked object of a collectable type (traverse or ref_words; no-op otherwise). */
RCY_API void rcy_gc_track(void *o);
/** Untrack: say "this object holds no references right now"; the
 *  collector then skips it. Track it again before it stores one. */
RCY_API void rcy_gc_untrack(void *o);

typedef void (*rcy_object_fn)(void *o, void *arg);
/** Every tracked object of a generation (-1: all three; the permanent
 *  generation is not included, as in Python). A snapshot: fn may create
 *  and release objects. 0, or -1 with errno EINVAL (bad generation) or
 *  ENOMEM (fn was not called). */
RCY_API int rcy_gc_get_objects(rcy_heap *h, int generation, rcy_object_fn fn, void *arg);
/** Tracked objects that hold a reference to target, frozen ones included.
 *  O(heap); a snapshot, as rcy_gc_get_objects. */
RCY_API int rcy_gc_get_referrers(rcy_heap *h, const void *target, rcy_object_fn fn, void *arg);
/** The objects o refers to (its layout descriptor's words, then its traverse's). */
RCY_API void rcy_gc_get_referents(const void *o, rcy_object_fn fn, void *arg);

typedef struct {
    int generation;
    size_t collected, uncollectable;
    double duration_s;
} rcy_gc_info;
typedef void (*rcy_gc_callback)(const char *phase /* "start" | "stop" */, const rcy_gc_info *info,
                                void *arg);
RCY_API int rcy_gc_callback_add(rcy_heap *h, rcy_gc_callback cb, void *arg); /* 0 on success */
RCY_API int rcy_gc_callback_remove(rcy_heap *h, rcy_gc_callback cb,
                                   void *arg); /* 0 if it was there */

enum {
    RCY_DEBUG_STATS = 1,
    RCY_DEBUG_COLLECTABLE = 2,
    RCY_DEBUG_UNCOLLECTABLE = 4,
    RCY_DEBUG_SAVEALL = 32,
    RCY_DEBUG_LEAK = 38
};
/** Debug output goes to stderr. */
RCY_API void rcy_gc_set_debug(rcy_heap *h, unsigned flags);
RCY_API unsigned rcy_gc_get_debug(rcy_heap *h);
RCY_API size_t rcy_gc_garbage_count(rcy_heap *h); /* gc.garbage */
RCY_API void rcy_gc_garbage(rcy_heap *h, rcy_object_fn fn, void *arg);
/** Drop the garbage list's references (objects may then die). */
RCY_API void rcy_gc_garbage_clear(rcy_heap *h);

/* ------------------------------------------------------------------ */
/* 5. Weak references                                                  */
/* ------------------------------------------------------------------ */

typedef void (*rcy_weak_callback)(void *weakref, void *arg);
/** A weak reference to target, itself an object (released with
 *  rcy_decref). cb (optional) runs when the target dies while the weak
 *  reference is alive. NULL on failure. */
RCY_API void *rcy_weakref_new(void *target, rcy_weak_callback cb, void *arg);
/** A new strong reference to the target, or NULL if it is dead. */
RCY_API void *rcy_weakref_get(void *weakref);
/** 1 if o is a weak reference object. */
RCY_API int rcy_is_weakref(const void *o);

/* ------------------------------------------------------------------ */
/* 6. Options                                                          */
/* ------------------------------------------------------------------ */

/* Tunables of the process, defaults for heaps made afterwards. Each has an
   environment variable, read once, when the first heap is made or the
   first option is asked for (docs/api.md, "Options", lists them). */
typedef enum rcy_option {
    RCY_OPTION_PURGE_DELAY_MS, /* RCY_PURGE_DELAY_MS: 100 */
    RCY_OPTION_LIMIT_SOFT,     /* RCY_LIMIT_SOFT: 0 (bytes; K, M, G suffixes) */
    RCY_OPTION_LIMIT_HARD,     /* RCY_LIMIT_HARD: 0 */
    RCY_OPTION_GC_THRESHOLD0,  /* RCY_GC_THRESHOLD0: 700 */
    RCY_OPTION_GC_THRESHOLD1,  /* RCY_GC_THRESHOLD1: 10 */
    RCY_OPTION_GC_THRESHOLD2,  /* RCY_GC_THRESHOLD2: 10 */
    RCY_OPTION_GC_DROP_PACING, /* RCY_GC_DROP_PACING: 1 */
    RCY_OPTION_COUNT
} rcy_option;
/** The option's value; -1 with errno EINVAL for an unknown option. */
RCY_API long rcy_option_get(rcy_option o);
/** For heaps made afterwards. 0, or -1 with errno EINVAL (unknown option,
 *  value out of range, a soft limit above a non-zero hard one). */
RCY_API int rcy_option_set(rcy_option o, long v);

/* ------------------------------------------------------------------ */
/* 7. Retention: why memory is held (why alive, census, dominators,    */
/* pinned pages, the heap report). docs/api.md, "Why memory is held".  */
/* ------------------------------------------------------------------ */

/** rcy_why_alive's callback: obj on the chain, root first; offset is the
 *  byte offset in obj's payload of the slot that refers to the next
 *  object (0 for the target itself). A slot outside the payload (in an
 *  array the object owns, say) is RCY_PATH_OUTSIDE | its position among
 *  the object's references. */
typedef void (*rcy_path_fn)(const void *obj, size_t offset, void *arg);
#define RCY_PATH_OUTSIDE ((size_t)1 << (sizeof(size_t) * 8 - 1))
/** The shortest chain of references to target from a root (an object
 *  whose count exceeds the references from the objects a full collection
 *  examines), root first. Returns its length (1: target is a root); 0 when
 *  no root reaches target (only garbage cycles hold it); -1 with errno
 *  EINVAL (target not a live object of h), EBUSY (a collection runs) or
 *  ENOMEM. fn may be NULL. O(objects + references). */
RCY_API int rcy_why_alive(rcy_heap *h, const void *target, rcy_path_fn fn, void *arg);

/** One line of a census: the objects of one type (type NULL: the heap's
 *  rcy_malloc blocks, named "(raw blocks)"). bytes: their blocks'. */
typedef struct rcy_census_entry {
    const rcy_type *type;
    const char *name;
    size_t count, bytes;
} rcy_census_entry;
typedef struct rcy_census rcy_census;
/** Counts the live objects and blocks of h by type. NULL (errno ENOMEM) on failure. */
RCY_API rcy_census *rcy_census_take(rcy_heap *h);
RCY_API void rcy_census_free(rcy_census *c);
/** Its lines, largest bytes first; *n gets their number. */
RCY_API const rcy_census_entry *rcy_census_entries(const rcy_census *c, size_t *n);
/** Types whose count grew from before to after (objgraph's show_growth):
 *  at most max lines into out, largest growth first; count and bytes are
 *  after's, count_delta and bytes_delta the growth. Returns how many grew. */
typedef struct rcy_census_growth {
    const rcy_type *type;
    const char *name;
    size_t count, bytes;
    long long count_delta, bytes_delta;
} rcy_census_growth;
RCY_API size_t rcy_census_growth_of(const rcy_census *before, const rcy_census *after,
                                    rcy_census_growth *out, size_t max);

/** The dominator tree of h's live objects reachable from the roots (those
 *  of rcy_why_alive) and each one's retained size: the bytes that would be
 *  freed with it. A snapshot: valid while h's objects do not change;
 *  queries compare addresses only. NULL with errno on failure. */
typedef struct rcy_dominators rcy_dominators;
RCY_API rcy_dominators *rcy_dominators_compute(rcy_heap *h);
RCY_API void rcy_dominators_free(rcy_dominators *d);
/** Bytes retained by o (its block's included); 0 if o is not in the tree. */
RCY_API size_t rcy_dominators_retained(const rcy_dominators *d, const void *o);
/** o's immediate dominator; NULL when only the roots dominate it (o is a
 *  root, or roots reach it along disjoint chains) or o is not in the tree. */
RCY_API const void *rcy_dominators_idom(const rcy_dominators *d, const void *o);
typedef struct rcy_dominators_summary {
    size_t objects, bytes;             /* live objects and their bytes */
    size_t reachable, reachable_bytes; /* reached from the roots */
    size_t roots;
    size_t garbage, garbage_bytes; /* held only by garbage cycles: a collection frees them */
} rcy_dominators_summary;
RCY_API void rcy_dominators_get_summary(const rcy_dominators *d, rcy_dominators_summary *s);
/** An object with what it retains. accumulation: for a leak suspect, the
 *  object down its dominator tree where the retained bytes gather (as
 *  Eclipse MAT reports it): the first one none of whose children retains
 *  80% of it; the object itself otherwise. */
typedef struct rcy_retainer {
    const void *obj;
    const rcy_type *type;
    size_t retained, retained_objects;
    const void *accumulation;
} rcy_retainer;
/** The max objects with the largest retained sizes, largest first, into
 *  out; returns how many were written. */
RCY_API size_t rcy_dominators_top(const rcy_dominators *d, rcy_retainer *out, size_t max);
/** Leak suspects (Eclipse MAT): objects retaining at least share (0..1;
 *  MAT's default 0.1) of the reachable bytes, none inside another's
 *  dominator subtree; largest first. Returns how many were written. */
RCY_API size_t rcy_dominators_suspects(const rcy_dominators *d, double share, rcy_retainer *out,
                                       size_t max);

/** A pool in use with few live blocks: its 16 KiB stay held for them. */
typedef struct rcy_pinned_pool {
    const void *pool;       /* its first byte */
    size_t block_size;      /* its size class */
    const rcy_type *type;   /* its objects' type; NULL: rcy_malloc blocks */
    size_t live, capacity;  /* blocks in use, blocks it holds */
    size_t held_bytes;      /* its bytes still present (pages given back excluded) */
    const void *first_live; /* one of its live blocks (an object's payload pointer) */
} rcy_pinned_pool;
/** Pools whose live blocks fill at most max_fill (0..1) of them, fewest
 *  live first: at most max into out. Returns how many such pools there
 *  are; *pinned_bytes (optional) gets the bytes they hold beyond their
 *  live blocks. */
RCY_API size_t rcy_pinned_pools(rcy_heap *h, double max_fill, rcy_pinned_pool *out, size_t max,
                                size_t *pinned_bytes);
/** What rcy_purge would give back now: empty pools' pages and the free
 *  pages inside pools in use. */
typedef struct rcy_purge_estimate {
    size_t empty_pool_bytes, free_page_bytes, total;
} rcy_purge_estimate;
RCY_API void rcy_purge_estimate_get(rcy_heap *h, rcy_purge_estimate *e);
/** A picture of each arena: fn(base, pools, arg) with pools a string of
 *  one character per pool: 'h' bookkeeping, '.' given back (or never
 *  touched), 'e' empty with its pages, '0'..'9' in use and filled to that
 *  tenth (rounded down), '#' full, 'p' in use with pages given back. */
typedef void (*rcy_arena_fn)(const void *base, const char *pools, void *arg);
RCY_API void rcy_arena_map(rcy_heap *h, rcy_arena_fn fn, void *arg);

/** What holds the heap's memory, written to out: live blocks by type,
 *  free space inside used pools, pinned pools and who pins them, large
 *  blocks, what a purge and a collection would return, the largest
 *  retainers with a chain of references to each, and allocation sites
 *  when tracing is available. RCY_REPORT_JSON: as JSON (schema in
 *  docs/api.md), for recycle-report. 0, or -1 with errno. */
enum { RCY_REPORT_TEXT = 0, RCY_REPORT_JSON = 1 };
RCY_API int rcy_heap_report(rcy_heap *h, FILE *out, unsigned flags);

/* ------------------------------------------------------------------ */
/* 8. Shared objects: safepoints and the collection of all heaps       */
/* ------------------------------------------------------------------ */
/* Reference counts are right whatever thread changes them (biased
   counting). An object whose count reaches zero on a thread that does not
   own its heap dies on the owner, at its next rcy_safepoint, allocation
   slow path or collection (docs/api.md, "Shared objects"). A collection of
   one heap never frees an object another thread has counted; cycles
   across heaps, or through such objects, are collected by a collection of
   all heaps of the joined threads, with every one of them stopped at a
   safepoint. */

/** The calling thread joins the world with its thread heap: from now on
 *  it must call rcy_safepoint() regularly, or leave before it blocks.
 *  0, or -1 (errno: as rcy_thread_heap, or EAGAIN past 1024 threads). */
RCY_API int rcy_world_join(void);
/** The calling thread leaves the world (no-op if it is not in it). */
RCY_API void rcy_world_leave(void);
/** Runs what other threads left for the caller's heaps (deaths, counts to
 *  merge); for a joined thread, also waits here while a collection of all
 *  heaps runs, and starts one when the joined heaps' tracked objects grew
 *  by the world's threshold since the last. Call it where the thread
 *  holds no heap operation half done. */
RCY_API void rcy_safepoint(void);
/** Stops every other joined thread at its next safepoint and collects the
 *  heaps of all joined threads (and the caller's thread heap) as one.
 *  Returns the unreachable objects found. */
RCY_API size_t rcy_gc_collect_world(void);
/** Tracked objects the joined heaps may gain between automatic
 *  collections of all heaps (default 100000; 0: never automatic). */
RCY_API void rcy_world_set_threshold(size_t n);
RCY_API size_t rcy_world_get_threshold(void);
/** Collections of all heaps so far (automatic and explicit). */
RCY_API size_t rcy_world_collections(void);

/* ------------------------------------------------------------------ */
/* 9. Allocation tracing (Python's tracemalloc; docs/api.md, "Tracing") */
/* ------------------------------------------------------------------ */

/* Blocks (rcy_malloc, rcy_calloc, rcy_realloc) and objects (rcy_new,
   rcy_new_sized) allocated while a heap traces are recorded with the
   return addresses of their allocation, innermost first; a free or an
   object's death forgets the trace. Blocks alive when tracing starts are
   untraced. Tracing costs nothing while off. One thread at a time, as
   the heap's allocations. */
#define RCY_TRACE_MAX_FRAMES 128
/** Trace every allocation with up to nframes (1..RCY_TRACE_MAX_FRAMES)
 *  return addresses. 0, or -1 with errno: EINVAL (h NULL, nframes out of
 *  range), EBUSY (already tracing), ENOMEM. */
RCY_API int rcy_trace_start(rcy_heap *h, int nframes);
/** Stops and forgets every trace. No-op if not tracing. */
RCY_API void rcy_trace_stop(rcy_heap *h);
/** 1 while h traces (fully or sampling), else 0. */
RCY_API int rcy_trace_is_tracing(rcy_heap *h);
/** Bytes of traced blocks now and at most since tracing started (or since
 *  rcy_trace_reset_peak); sampling: their estimates. 0 when not tracing. */
RCY_API void rcy_trace_get_traced_memory(rcy_heap *h, size_t *current, size_t *peak);
/** The peak becomes the current traced memory. */
RCY_API void rcy_trace_reset_peak(rcy_heap *h);
/** Return addresses of the allocation of p (a block or an object of h),
 *  innermost first: frames[0] is in the function that called the
 *  allocator. Returns how many were stored (at most max); 0 if p was not
 *  traced (or frames is NULL or max < 1). */
RCY_API int rcy_trace_get_site(rcy_heap *h, const void *p, void **frames, int max);

/** Sampling for production: allocations are sampled as a Poisson process
 *  over bytes, one sample per mean_bytes on average (0: the default,
 *  RCY_TRACE_SAMPLE_DEFAULT), as jemalloc and Go do; each sample weighs
 *  size / (1 - exp(-size / mean_bytes)) bytes, so that estimates per site
 *  are unbiased. seed: of the sampler's generator (0: one of its own);
 *  the same seed and allocations give the same samples. Errors as
 *  rcy_trace_start. */
#define RCY_TRACE_SAMPLE_DEFAULT ((size_t)512 * 1024)
RCY_API int rcy_trace_start_sampling(rcy_heap *h, int nframes, size_t mean_bytes, uint64_t seed);
/** mean_bytes of the sampling in force; 0 when tracing every allocation
 *  or not tracing. */
RCY_API size_t rcy_trace_get_sampling(rcy_heap *h);

/* Snapshots: the traces of a heap at one moment, grouped, compared and
   filtered without the heap (tracemalloc.Snapshot). */
typedef struct rcy_trace_snapshot rcy_trace_snapshot;
typedef enum rcy_trace_group {
    RCY_TRACE_BY_SITE,     /* the innermost frame (its return address) */
    RCY_TRACE_BY_LINE,     /* the innermost frame's file and line */
    RCY_TRACE_BY_FILE,     /* the innermost frame's file */
    RCY_TRACE_BY_TYPE,     /* the object's type name; "(block)" for rcy_malloc's */
    RCY_TRACE_BY_TRACEBACK /* every frame */
} rcy_trace_group;
typedef struct rcy_trace_stat {
    const char *key;     /* the group as text: "func (file:line)", "file:line", "file",
                            the type's name, or the traceback's frames, one a line */
    void *const *frames; /* a traceback of the group (its first trace's), innermost first */
    int nframes;
    size_t count;         /* blocks (sampling: estimated) */
    size_t bytes;         /* their bytes (sampling: estimated) */
    size_t traces;        /* traces in the group (the samples, when sampling) */
    ptrdiff_t count_diff; /* rcy_trace_snapshot_compare: count - the old count */
    ptrdiff_t bytes_diff; /* rcy_trace_snapshot_compare: bytes - the old bytes */
} rcy_trace_stat;
/** The traces of h now; NULL with errno EINVAL (not tracing) or ENOMEM. */
RCY_API rcy_trace_snapshot *rcy_trace_snapshot_take(rcy_heap *h);
/** NULL is a no-op. */
RCY_API void rcy_trace_snapshot_free(rcy_trace_snapshot *s);
/** The number of traces in s. */
RCY_API size_t rcy_trace_snapshot_count(const rcy_trace_snapshot *s);
/** A new snapshot with the traces of s that match (include 1) or do not
 *  match (include 0): a trace matches when its innermost frame's file
 *  matches file_pattern (fnmatch; NULL: any) and its type's name is
 *  type_name ("(block)" for rcy_malloc's; NULL: any). NULL + errno. */
RCY_API rcy_trace_snapshot *rcy_trace_snapshot_filter(const rcy_trace_snapshot *s, int include,
                                                      const char *file_pattern,
                                                      const char *type_name);
/** Statistics of s grouped by `by`, most bytes first (then most blocks),
 *  *n of them; free with rcy_trace_snapshot_stats_free. Keys and frames
 *  live as long as s. NULL + errno (EINVAL, ENOMEM); an empty snapshot
 *  gives a valid empty array. */
RCY_API rcy_trace_stat *rcy_trace_snapshot_statistics(rcy_trace_snapshot *s, rcy_trace_group by,
                                                      size_t *n);
/** Groups of now against old (Python's compare_to): count and bytes are
 *  now's, the diffs now's less old's; groups only in old appear with 0
 *  bytes. Largest absolute bytes_diff first. Keys live as long as both. */
RCY_API rcy_trace_stat *rcy_trace_snapshot_compare(rcy_trace_snapshot *now, rcy_trace_snapshot *old,
                                                   rcy_trace_group by, size_t *n);
RCY_API void rcy_trace_snapshot_stats_free(rcy_trace_stat *stats);
/** Prints the first `limit` statistics (0: all), one a line. */
RCY_API void rcy_trace_snapshot_print_stats(const rcy_trace_stat *stats, size_t n, size_t limit,
                                            FILE *out);
/** Writes "func (file:line)" for a return address into buf (the best the
 *  debug information gives: "func+0xoff (module)", or the address), for
 *  frames from rcy_trace_get_site. Returns buf. */
RCY_API char *rcy_trace_format_frame(void *frame, char *buf, size_t size);

#undef RCY_IMPL_LIKELY
#undef RCY_IMPL_UNLIKELY

#ifdef __cplusplus
}
#endif
#endif /* RECYCLE_H */
