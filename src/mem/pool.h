/* SPDX-License-Identifier: MIT */
/* pool: small blocks (0..512 bytes) from size-class pools inside arenas.
 *
 * Layout: a 1 MiB arena, aligned to 1 MiB, is 64 pools of 16 KiB. A pool
 * serves one pool class: a kind, a size class (8, 16, 24, ... 512 bytes)
 * and a tag, a word the layer above gives every block of the pool (the
 * object layer: the objects' type, which then needs no room in each
 * object). All of a pool's 16 KiB are blocks. The arena's first pool (two
 * in checked builds, whose headers are larger) holds no blocks: it holds
 * the arena's bookkeeping, every pool header together, so a block finds
 * its arena by masking its address (rcy__arena_at) and its pool by its
 * offset, with no load. Only the bookkeeping's pages of that pool are ever
 * touched, and an empty pool can still give all its pages back. The
 * bookkeeping starts at an offset that varies from arena to arena
 * (RCY_ARENA_COLOUR), so that the headers of many arenas do not compete
 * for the same few cache sets (headers 16 KiB apart, each at the start of
 * its pool, once cost a third of the time of a free). Code that must
 * accept any pointer (rcy_free) asks the page map instead, which knows
 * which addresses are arenas.
 *
 * States of a pool:
 *   used  - serves a class; on its class's avail list while it has a free
 *           block (a freed block or an untouched one past `bump`);
 *   full  - serves a class, no free block, on no list;
 *   dirty - empty, pages still present, on the heap's dirty LRU list and
 *           marked in its arena's free_dirty mask;
 *   clean - empty, pages given back or never touched; marked in free_clean.
 * Only pool.c changes these states. */
#ifndef RCY_POOL_H
#define RCY_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "os/pagemap.h"
#include "recycle.h" /* RCY_SIZE_CLASSES */
#include "util/compiler.h"
#include "util/misuse.h"
#include "util/ptrmap.h"
#include "util/thread.h"

#define RCY_POOL_SHIFT 14
#define RCY_POOL_SIZE ((size_t)1 << RCY_POOL_SHIFT)
#define RCY_POOLS_PER_ARENA 64
/* The pools before RCY_ARENA_FIRST_POOL hold the arena's bookkeeping. */
#if RCY_CHECK_LEVEL >= 1
#define RCY_ARENA_FIRST_POOL 2
#else
#define RCY_ARENA_FIRST_POOL 1
#endif
#define RCY_ARENA_POOLS (RCY_POOLS_PER_ARENA - RCY_ARENA_FIRST_POOL) /* that serve blocks */
#define RCY_ARENA_BLOCK_POOLS (~(uint64_t)0 << RCY_ARENA_FIRST_POOL) /* their bits */
/* Size classes are 8 bytes apart, for objects, whose 8-byte header
   would otherwise round a 16-byte payload up to 32; rcy_malloc uses only
   the multiples of 16 (rcy__malloc_class), so its blocks stay 16-byte
   aligned. */
#define RCY_CLASS_SHIFT 3
#define RCY_CLASS_COUNT RCY_SIZE_CLASSES
#define RCY_CLASS_SIZE(cls) (((size_t)(cls) + 1) << RCY_CLASS_SHIFT)
#define RCY_MAX_BLOCKS (RCY_POOL_SIZE >> RCY_CLASS_SHIFT)

/* Kinds of blocks: pools serve one kind, so a layer above can walk every
   block of its kind (rcy__pools_next_span) without meeting anyone else's. */
#define RCY_KIND_PLAIN 0   /* rcy_malloc's and objects the collector never sees */
#define RCY_KIND_OBJECTS 1 /* objects of collectable types */
#define RCY_KINDS 2

struct rcy_pool_class;

typedef struct rcy_pool {
    void *freelist;               /* LIFO of freed blocks, linked through their first word */
    char *bump;                   /* first untouched block */
    char *limit;                  /* end of the last whole block */
    struct rcy_pool *next, *prev; /* avail list of its class, or the dirty LRU */
    const void *tag;              /* with kind and cls: the pool class it serves */
    uint16_t nused;               /* blocks handed out (at most RCY_MAX_BLOCKS); 0: empty */
    uint8_t cls;
    uint8_t kind;   /* RCY_KIND_*: whose blocks it holds */
    uint8_t index;  /* position in the arena, 0..63 */
    uint8_t listed; /* on its class's avail list */
    uint8_t facts;  /* its class's (rcy_pool_class), beside the tag its blocks' deaths read */
#if RCY_CHECK_LEVEL >= 1
    uint64_t live[RCY_MAX_BLOCKS / 64]; /* exact allocated-block bitmap */
#endif
} rcy_pool;

/* A doubly linked list of pools, NULL-terminated both ways. */
typedef struct rcy_pool_list {
    rcy_pool *first, *last;
} rcy_pool_list;

/* The pools that serve one kind, size class and tag, and the list of
   those with a free block: allocation takes from the first. Untagged
   classes are rcy_pools.plain[kind][cls]; tagged ones are made on first
   use (rcy__pools_class) and live as long as the heap. */
typedef struct rcy_pool_class {
    rcy_pool_list avail;
    const void *tag;
    uint8_t kind, cls;
    /* Facts about the tag, which the layer above sets once, when it first
       gets the class, and reads from a block's pool (rcy_pool.facts)
       with no load beyond the pool header's: the object layer's are its
       type's (obj/object.c). 0 for untagged classes. */
    uint8_t facts;
} rcy_pool_class;

/* An arena's bookkeeping, inside the arena (see the top of this file).
   With 56-byte pool headers (release builds) it fits one 4 KiB page: 0.4%
   of the arena's megabyte. (Headers of exactly 64 bytes made binary-trees
   twice as slow, and 72 or 128 did not: keep the size off 64.) Pools
   before RCY_ARENA_FIRST_POOL have a header that is never used. */
typedef struct rcy_arena {
    rcy_pool pools[RCY_POOLS_PER_ARENA]; /* first: a pool finds its arena */
    uint64_t free_dirty;                 /* bit i: pool i empty with pages present */
    uint64_t free_clean;                 /* bit i: pool i empty without pages */
    struct rcy_arena *next, *prev;       /* bucket of arenas with the same free count */
    struct rcy_arena *all_next, *all_prev;
    void *owner;            /* the heap (opaque to this layer) */
    struct rcy_pools *home; /* its pools */
    /* The id of the heap's owning thread (util/thread.h), a copy of
       rcy_pools.thread that rcy_free's fast path compares with the caller's
       without loading the heap; RCY_THREAD_NONE while it has none. */
    _Atomic uintptr_t thread;
    /* The shared counts of the arena's objects (obj/shared.c): one 32-bit
       word per 8-byte granule, mapped on the first count another thread
       makes here (rcy__arena_shared), unmapped with the arena. */
    _Atomic(_Atomic uint32_t *) shared;
    unsigned nfree;
    uint32_t dirty_at[RCY_POOLS_PER_ARENA]; /* when pool i became dirty (clock_ms) */
    uint8_t gone[RCY_POOLS_PER_ARENA];      /* pool i's pages given back while in use (pages.c) */
} rcy_arena;

typedef struct rcy_pools {
    rcy_pool_class plain[RCY_KINDS][RCY_CLASS_COUNT]; /* untagged */
    rcy_ptrmap tagged;                                /* pool.c's class_key -> rcy_pool_class * */
    rcy_arena *bucket[RCY_ARENA_POOLS];               /* bucket[i]: arenas with i+1 free pools */
    uint64_t bucket_bits;                             /* bit i: bucket[i] is not empty */
    rcy_arena *all, *all_last;                        /* every arena, oldest first */
    rcy_pool_list dirty;                              /* empty pools with pages, newest first */
    size_t ndirty;
    uint32_t purge_delay_ms;    /* how long an empty pool beyond the warm cache keeps its pages */
    uint32_t arenas_scanned_ms; /* when rcy__pools_decay last looked at empty arenas */
    size_t page_size;           /* the OS's */
    size_t gone_pages;          /* pages given back inside pools not clean (pages.c) */
    size_t pools_used;
    size_t empty_arenas;
    void *owner;
    /* counters for statistics */
    size_t arenas_allocated, arenas_released, arenas_current, arenas_highwater;
    size_t bytes_released_total;
    size_t free_slow_paths; /* rcy__pool_free_slow's calls */
    size_t outside_bytes;   /* the heap's bytes outside pools (large blocks), for the peak */
    size_t peak_committed;  /* high-water mark of committed pool bytes + outside_bytes */
    unsigned validate_tick; /* check level 3: paces the whole-heap validator */
    /* Asked before a pool is taken (more == 0) or a pool's given-back pages
       come back (more: their bytes), for the heap's memory budget
       (mem/budget.c): 0 if it may be, else the pool is not taken (the
       allocation fails) or its pages stay away. It may first collect and
       purge: objects die, pools change. NULL: no budget. */
    int (*admit)(void *arg, size_t more);
    void *admit_arg;
    /* Threads: the owner's id (util/thread.h; copied into every arena),
       and the blocks other threads freed, a LIFO linked through their first
       word, pushed with a compare-and-swap (mem/remote.c). Bit 0 of
       `remote` (RCY_REMOTE_ORPHAN) marks a heap whose thread exited: the
       list is then empty and stays so. collect_remote frees the listed
       blocks on the owner's slow paths (rcy__pools_collect_remote). */
    _Atomic uintptr_t thread;
    _Atomic uintptr_t remote;
    void (*collect_remote)(void *owner);
    _Atomic int arenas_busy; /* the spin lock of the list of arenas (pool.c) */
    /* OR-ed into every arena's copy of `thread` (0, or RCY_THREAD_TRACED
       while a tracer is set: mem.h): the copy then matches no thread, and
       rcy_free's and death's fast paths, which compare it, take the slow
       paths, where the tracer hears of every free. */
    uintptr_t arena_thread_mark;
} rcy_pools;

/* A mark no thread id has (ids are thread pointers, at least 16-byte
   aligned, or RCY_THREAD_NONE = 1). */
#define RCY_THREAD_TRACED ((uintptr_t)2)

#define RCY_REMOTE_ORPHAN ((uintptr_t)1)

/* The blocks other threads freed go back to their pools, if there are any:
   one load when there are none. For slow paths (allocation refill, purge,
   the budget's reaction, statistics). */
static inline void rcy__pools_collect_remote(rcy_pools *P)
{
    if (RCY_UNLIKELY(atomic_load_explicit(&P->remote, memory_order_relaxed) > RCY_REMOTE_ORPHAN))
        P->collect_remote(P->owner);
}
/* Makes thread id the owner: every arena's copy too. Safe while another
   thread uses the heap (the list of arenas is walked under its lock). */
void rcy__pools_set_thread(rcy_pools *P, uintptr_t id);
/* Sets arena_thread_mark and every arena's copy of the owner with it. */
void rcy__pools_set_arena_mark(rcy_pools *P, uintptr_t mark);
/* In a child process after fork: the lock of the list of arenas is free
   (the thread that held it did not survive the fork). */
void rcy__pools_after_fork(rcy_pools *P);
/* 1 if no block is in use: every pool left is empty (the kept last pool
   of a class, at most one each). */
int rcy__pools_idle(rcy_pools *P);

/* Empty pools keep their pages while there are at most RCY_DIRTY_MIN of
   them, or at most one per RCY_DIRTY_SHARE used pools (the warm cache):
   enough that a program which frees and rebuilds a structure of a quarter
   of its live size (binary-trees does) reuses warm pages instead of
   faulting them in again. Empty pools beyond that keep their pages for
   purge_delay_ms more (RCY_PURGE_DELAY_MS by default), so that a burst
   freed and allocated again soon reuses them too; the allocator's slow
   paths give back the pages of those older than that (rcy__pools_decay).
   This holds for pools of wholly empty arenas too: such an arena is
   unmapped once its pools expire. */
#define RCY_DIRTY_MIN 64
#define RCY_DIRTY_SHARE 4
#define RCY_PURGE_DELAY_MS 100

void rcy__pools_init(rcy_pools *P, void *owner);
void rcy__pools_fini(rcy_pools *P);
void *rcy__pool_alloc_slow(rcy_pools *P, rcy_pool_class *pc);
/* The class of pools of this kind, size class and tag (NULL: untagged),
   made on first use; NULL if out of memory. */
rcy_pool_class *rcy__pools_class(rcy_pools *P, unsigned kind, unsigned cls, const void *tag);
/* P: the pools the caller believes the pool is in; the slow path uses the
   pool's own (rcy_arena.home), so that rcy_free's fast path, which tests
   the block's owner thread but not its heap, may pass the heap it was
   given: a block of another heap of the same thread goes home (passing P
   keeps the caller's first argument register, an instruction on the
   fast path). */
void rcy__pool_free_slow(rcy_pools *P, rcy_pool *pool);
/* Page-granular purge (pages.c): gives back the pages of a pool in use
   whose blocks are all free, adding them to run (adjacent pages go back
   with one call; rcy__pages_flush gives back the last run); returns the
   bytes. */
typedef struct rcy_page_run {
    char *start;
    size_t len;
} rcy_page_run;
size_t rcy__pool_purge_pages(rcy_pools *P, rcy_pool *pool, rcy_page_run *run);
void rcy__pages_flush(rcy_page_run *run);
/* Lists the blocks on the pool's given-back pages again; 0 if it had none. */
int rcy__pool_reclaim_pages(rcy_pools *P, rcy_pool *pool);
/* The bytes of the pool's pages given back while in use. */
size_t rcy__pool_gone_bytes(const rcy_pools *P, rcy_pool *pool);
/* The pool is set up anew or all its pages go: forgets its given-back
   pages; returns their bytes. */
size_t rcy__pool_forget_pages(rcy_pools *P, rcy_pool *pool);
/* Gives back the pages of the empty pools beyond the warm cache that have
   kept them longer than the purge delay. Called on slow paths; the test
   inline here costs a heap that has nothing to give back two loads (a
   block allocated and freed in a loop empties its class's pool each
   time). */
void rcy__pools_decay_now(rcy_pools *P);
static inline void rcy__pools_decay(rcy_pools *P)
{
    if (P->ndirty > RCY_DIRTY_MIN || P->empty_arenas > 1)
        rcy__pools_decay_now(P);
}
size_t rcy__pools_purge(rcy_pools *P);
/* Bytes of pool memory that may hold pages: pools in use and empty ones
   not given back, less the pages given back inside them (pages.c). */
size_t rcy__pools_committed(const rcy_pools *P);
/* Raises peak_committed to the current total if it is higher. */
void rcy__pools_note_peak(rcy_pools *P);
/* Bytes the pools hold from the OS, for the memory budget: committed pools
   (in use, or empty with their pages) and each mapped arena's bookkeeping
   in whole 4 KiB pages. */
size_t rcy__pools_held(const rcy_pools *P);
/* What taking a pool now (pool_new) adds to rcy__pools_held: 0 for a pool
   that kept its pages, a pool's size, plus the bookkeeping of a new arena
   if none has room. */
size_t rcy__pools_growth(const rcy_pools *P);
/* Walking the blocks of one kind: every pool of the kind in use yields one
   span, its blocks from the first to the untouched part, free ones among
   them (the caller tells them apart). Start with a zeroed cursor; returns
   0 when there are no more spans. The pools must not change during a
   walk. */
typedef struct rcy_span {
    char *first;
    size_t stride, n;
    const void *tag; /* its blocks' (rcy_pool_class) */
} rcy_span;
typedef struct rcy_pool_cursor {
    rcy_arena *arena;
    unsigned next_pool;
    int started;
} rcy_pool_cursor;
int rcy__pools_next_span(rcy_pools *P, unsigned kind, rcy_pool_cursor *c, rcy_span *out);
/* The address range [*lo, *hi) the arenas span; 0 if there is none. */
int rcy__pools_range(const rcy_pools *P, uintptr_t *lo, uintptr_t *hi);

/* Blocks of class cls a pool holds. */
uint32_t rcy__pool_capacity(unsigned cls);

/* The class of a block of n bytes, 8-byte granular; 0 for 0. */
static inline unsigned rcy__size_class(size_t n)
{
    return (unsigned)((n - (n != 0)) >> RCY_CLASS_SHIFT);
}

/* The class of an rcy_malloc of n >= 1 bytes: a multiple of 16 (2k + 1
   for k = (n - 1) / 16: counting from class 1, two classes a step, the
   step a shift). The one formula every malloc path uses. */
static inline size_t rcy__malloc_class_of(size_t n)
{
    return ((n - 1) >> 4) * 2 + 1; /* in size_t: an index needs no widening */
}

/* The same for any n: at least 16 bytes. */
static inline unsigned rcy__malloc_class(size_t n)
{
    return n ? (unsigned)rcy__malloc_class_of(n) : 1;
}

/* The tag every block of the pool has (rcy_pool_class). */
static inline const void *rcy__pool_tag(const rcy_pool *pool)
{
    return pool->tag;
}

_Static_assert((RCY_POOL_SIZE * RCY_POOLS_PER_ARENA) == RCY_ARENA_SIZE, "pools tile an arena");

/* Where an arena's bookkeeping starts: 256-byte steps by address bits
   above the arena's, within the pools it reserves. */
#define RCY_ARENA_COLOURS 32
#define RCY_ARENA_COLOUR(base)                                                                     \
    ((((uintptr_t)(base) >> RCY_ARENA_SHIFT) & (RCY_ARENA_COLOURS - 1)) << 8)
/* An uncoloured copy of the arena's `thread`, for recycle.h's inline
   counts (rcy_impl_owner): at a fixed offset the owner test is a mask, a
   load and a compare, where the coloured field costs four more
   instructions per incref or decref. Its own cache line, in the reserved
   pools past the bookkeeping of every colour; written with `thread`. */
#define RCY_ARENA_OWNER_AT (RCY_ARENA_FIRST_POOL * RCY_POOL_SIZE - 64)
#if RCY_CHECK_LEVEL == 0 /* checked builds' pools are larger; their counts take no inline path */
_Static_assert(RCY_ARENA_OWNER_AT == RCY_IMPL_ARENA_OWNER_AT &&
                   RCY_ARENA_SHIFT == RCY_IMPL_ARENA_SHIFT,
               "recycle.h's rcy_impl_owner finds the owner where the arena keeps it");
#endif
_Static_assert(sizeof(rcy_arena) + ((RCY_ARENA_COLOURS - 1) << 8) <= RCY_ARENA_OWNER_AT,
               "the owner's copy is past the bookkeeping");
#define RCY_ARENA_SHARED_BYTES (RCY_ARENA_SIZE / 8 * sizeof(uint32_t))

/* Arena a's table of shared counts, mapped on first use (any thread; a
   compare-and-swap installs it); NULL if memory is out. */
_Atomic uint32_t *rcy__arena_shared_make(rcy_arena *a);
static inline _Atomic uint32_t *rcy__arena_shared(rcy_arena *a)
{
    _Atomic uint32_t *t = atomic_load_explicit(&a->shared, memory_order_acquire);
    return t ? t : rcy__arena_shared_make(a);
}

_Static_assert(sizeof(rcy_arena) + ((RCY_ARENA_COLOURS - 1) << 8) <=
                   RCY_ARENA_FIRST_POOL * RCY_POOL_SIZE,
               "an arena's bookkeeping fits the pools it reserves");

/* The first byte of the arena that holds p: a block, a pool header or
   the arena's bookkeeping. */
static inline char *rcy__arena_base(const void *p)
{
    return (char *)((uintptr_t)p & ~(uintptr_t)(RCY_ARENA_SIZE - 1));
}

/* The arena that holds p, a pointer into a small block the pool layer
   handed out: a few instructions, no load. For any other pointer the result
   is meaningless (rcy__pagemap_lookup tells). */
static inline rcy_arena *rcy__arena_at(const void *p)
{
    uintptr_t base = (uintptr_t)rcy__arena_base(p);
    return (rcy_arena *)(base + RCY_ARENA_COLOUR(base));
}

/* The uncoloured copy of arena a's owner (RCY_ARENA_OWNER_AT). */
static inline _Atomic uintptr_t *rcy__arena_owner_copy(const rcy_arena *a)
{
    return (_Atomic uintptr_t *)((uintptr_t)rcy__arena_base(a) + RCY_ARENA_OWNER_AT);
}

/* Arena a's owner is thread id (RCY_THREAD_NONE for none): its `thread`,
   which the frees' fast path reads, carries mark too (RCY_THREAD_TRACED
   while every free must reach the tracer); the uncoloured copy, which the
   counts read, is the owner alone, since tracing does not change who
   counts an object without atomics. */
static inline void rcy__arena_set_thread(rcy_arena *a, uintptr_t id, uintptr_t mark)
{
    atomic_store_explicit(rcy__arena_owner_copy(a), id, memory_order_relaxed);
    atomic_store_explicit(&a->thread, id | mark, memory_order_relaxed);
}

/* 1 if the calling thread owns arena a's objects (their counts). */
static inline int rcy__arena_owned(const rcy_arena *a)
{
    return rcy__thread_owns(rcy__arena_owner_copy(a));
}

/* The pool of arena a that holds p. Arenas are aligned to their size, so
   the index is in p's own bits. */
static inline rcy_pool *rcy__pool_of(rcy_arena *a, const void *p)
{
    return &a->pools[((uintptr_t)p >> RCY_POOL_SHIFT) & (RCY_POOLS_PER_ARENA - 1)];
}

/* The first block of the pool that holds p. */
static inline char *rcy__pool_start(const void *p)
{
    return (char *)((uintptr_t)p & ~(uintptr_t)(RCY_POOL_SIZE - 1));
}

static inline rcy_arena *rcy__pool_arena(const rcy_pool *pool)
{
    return (rcy_arena *)(pool - pool->index);
}

static inline char *rcy__pool_memory(const rcy_pool *pool)
{
    return rcy__arena_base(pool) + ((size_t)pool->index << RCY_POOL_SHIFT);
}

/* A block of a used pool of class cls: a freed one, else an untouched
   one; NULL if it has neither. */
static inline void *rcy__pool_take(rcy_pool *pool, unsigned cls)
{
    void *b = pool->freelist;
    if (RCY_LIKELY(b != NULL)) {
        pool->freelist = *(void **)b;
    } else if (pool->bump < pool->limit) {
        b = pool->bump; /* a pool reused whole (a structure freed and rebuilt) serves from here */
        pool->bump += RCY_CLASS_SIZE(cls);
    } else {
        return NULL;
    }
    pool->nused++;
    return b;
}

/* The hot path: a block of the class's first pool; NULL if the class has
   no pool with a free block (rcy__pool_alloc_slow finds or makes one). */
static inline void *rcy__pool_try_in(rcy_pool_class *pc)
{
    rcy_pool *pool = pc->avail.first;
    return RCY_LIKELY(pool != NULL) ? rcy__pool_take(pool, pool->cls) : NULL;
}

static inline void *rcy__pool_alloc_in(rcy_pools *P, rcy_pool_class *pc)
{
    void *b = rcy__pool_try_in(pc);
    return RCY_LIKELY(b != NULL) ? b : rcy__pool_alloc_slow(P, pc);
}

/* An empty pool that stays its class's pool (hysteresis, as a malloc
   keeps its current page): the only one on its class's avail list, so
   that a block allocated and freed in a loop neither releases and sets
   up a pool each time nor looks its class up (a hash map for tagged
   classes). A listed pool with no neighbour is its list's first and
   last. rcy_purge releases it; rcy__pools_decay still runs. */
static inline int rcy__pool_kept(const rcy_pool *pool)
{
    return pool->listed && pool->prev == NULL && pool->next == NULL;
}

/* rcy__pool_free's unlikely branch: the pool's free list was empty, or it
   emptied, or its count went below zero. The two cases that need nothing
   but a test are answered here without the slow path: the kept pool
   emptied (the purge decay still runs, on the pool's own heap), and a pool
   on its avail list (serving from its untouched blocks) whose free list
   was empty. Out of line: inlined, it cost rcy_free's fast path 1.6
   instructions a pair (bench_alloc pairs: 69.9 against 68.3; sized 67.9
   against 66.3), more than the 3% the threads work allowed, for 11% fewer
   in a loop that empties its pool at every free (newfree: 2.97 G against
   3.31 G). */
void rcy__pool_free_edge(rcy_pools *P, rcy_pool *pool, uint32_t used);

/* The hot path of free: push the block; the slow path runs when the free
   list was empty (the pool may need to rejoin its avail list), the pool
   became empty, or the count went below zero (a block freed that was not
   handed out: rcy__pool_free_slow reports it). One unsigned compare tests
   for both ends of the count. */
static inline void rcy__pool_free(rcy_pools *P, rcy_pool *pool, void *b)
{
    void *head = pool->freelist;
    *(void **)b = head;
    pool->freelist = b;
    uint32_t before = pool->nused; /* the count after is before - 1, 65535 below zero */
    pool->nused = (uint16_t)(pool->nused - 1u);
    if (RCY_UNLIKELY(head == NULL) || RCY_UNLIKELY(before - 2u >= RCY_MAX_BLOCKS - 1u))
        rcy__pool_free_edge(P, pool, (uint16_t)(before - 1u));
}

#endif
