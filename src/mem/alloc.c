/* SPDX-License-Identifier: MIT */
/* alloc: the raw-memory API (rcy_malloc and friends) over the two
 * allocators below it: pools for 0..512 bytes, the large path above.
 *
 * rcy_free validates before it frees, because a bad free silently
 * corrupts a free list and the crash comes much later, far from the bug.
 * The release build's fast path keeps the checks that cost next to
 * nothing: the page map says whether the pointer is in one of our arenas
 * (without touching it), the arena names its heap, the pool's tag and the
 * pointer's alignment rule out objects and most interior pointers, and the
 * block must not head its free list. Everything else, and every free of a
 * checked build, takes the general path, which also requires a block
 * boundary below the pool's untouched part in a pool in use; checked
 * builds add an exact bitmap of live blocks per pool. */
#include <errno.h>
#include <string.h>

#include "mem/mem.h"
#include "os/pagemap.h"

/* ceil(2^20 / k) for k = block size / 8: divides a pool offset exactly
   (offsets are below 2^11 units, k at most 2^6). */
#define RECIP_SHIFT 20
#define RECIP(k) (((1u << RECIP_SHIFT) + (k)-1u) / (k))
#define RECIP8(k)                                                                                  \
    RECIP(k), RECIP((k) + 1), RECIP((k) + 2), RECIP((k) + 3), RECIP((k) + 4), RECIP((k) + 5),      \
        RECIP((k) + 6), RECIP((k) + 7)
static const uint32_t class_recip[RCY_CLASS_COUNT] = {
    RECIP8(1), RECIP8(9), RECIP8(17), RECIP8(25), RECIP8(33), RECIP8(41), RECIP8(49), RECIP8(57)};

static size_t block_index(const rcy_pool *pool, const void *p)
{
    uint64_t units = (uint64_t)((const char *)p - rcy__pool_start(p)) >> RCY_CLASS_SHIFT;
    return (size_t)((units * class_recip[pool->cls]) >> RECIP_SHIFT);
}

/* 1 if p starts a block of pool (its index in *i). */
static int at_block_start(const rcy_pool *pool, const void *p, size_t *i)
{
    *i = block_index(pool, p);
    return (const char *)p == rcy__pool_start(p) + *i * RCY_CLASS_SIZE(pool->cls);
}

#if RCY_CHECK_LEVEL >= 1
/* The live bits are read and written atomically: a remote free clears its
   block's bit from another thread (mem/remote.c), in the same word as the
   owner's. */
static int live_bit(const rcy_pool *pool, size_t i)
{
    return (int)((__atomic_load_n(&pool->live[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1);
}
static void set_live(rcy_pool *pool, size_t i, int on)
{
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (on)
        __atomic_fetch_or(&pool->live[i / 64], bit, __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&pool->live[i / 64], ~bit, __ATOMIC_RELAXED);
}

int rcy__mem_clear_live(void *p)
{
    rcy_pool *pool = rcy__pool_of(rcy__pagemap_lookup(p), p);
    size_t i = block_index(pool, p);
    uint64_t bit = (uint64_t)1 << (i % 64);
    return (__atomic_fetch_and(&pool->live[i / 64], ~bit, __ATOMIC_RELAXED) & bit) != 0;
}
#endif

int rcy__mem_small_block_start(const rcy_arena *a, const void *p)
{
    const rcy_pool *pool = rcy__pool_of((rcy_arena *)a, p);
    size_t i;
    return pool->index >= RCY_ARENA_FIRST_POOL && at_block_start(pool, p, &i);
}

/* Reports a bad free (or usable_size) of p; an object's pointer is named
   as one, with what releases it. Cold: out of the callers' way. */
static _Noreturn RCY_NOINLINE void bad_pointer(rcy_mem *M, void *p, const char *api,
                                               const char *why)
{
    const char *name = M && M->object_name ? M->object_name(M, p) : NULL;
    if (name)
        rcy__misuse("%s(%p): this is a recycle object of type '%s', not a block from "
                    "rcy_malloc: release it with rcy_decref",
                    api, p, name);
    rcy__misuse("%s(%p): %s", api, p, why);
}

/* The pool of small block p after checking p is one of h's live blocks. */
static rcy_pool *valid_small_block(rcy_mem *M, rcy_arena *a, void *p, const char *api)
{
    if (a->owner != M)
        rcy__misuse("%s(%p): the block belongs to another heap", api, p);
    rcy_pool *pool = rcy__pool_of(a, p);
    if (pool->nused == 0)
        bad_pointer(M, p, api, "not an allocated block (double free or bad pointer)");
    size_t i;
    if (!at_block_start(pool, p, &i) || (char *)p >= pool->bump)
        bad_pointer(M, p, api, "not the start of an allocated block");
    if (p == pool->freelist)
        rcy__misuse("%s(%p): double free", api, p);
#if RCY_CHECK_LEVEL >= 1
    if (!live_bit(pool, i))
        rcy__misuse("%s(%p): double free (block is already free)", api, p);
#endif
    return pool;
}

#if RCY_CHECK_LEVEL >= 1
void rcy__mem_mark_live(void *b)
{
    rcy_pool *pool = rcy__pool_of(rcy__pagemap_lookup(b), b);
    set_live(pool, block_index(pool, b), 1);
}
#endif

/* After each large allocation or free (a slow path): the pool layer's
   peak counts large bytes too, and the empty pools' pages age. */
static void note_large_bytes(rcy_mem *M)
{
    M->pools.outside_bytes = M->large.bytes;
    rcy__pools_note_peak(&M->pools);
    rcy__pools_decay(&M->pools);
}

/* The memory budget's admission of a large block of n bytes: 0 if it may
   be allocated. */
static int admit_large(rcy_mem *M, size_t n)
{
    size_t held = n > SIZE_MAX - sizeof(rcy_large) ? SIZE_MAX : n + sizeof(rcy_large);
    return rcy__budget_admit(&M->budget, held);
}

void *rcy__mem_alloc_large(rcy_mem *M, size_t n, unsigned kind, const void *tag)
{
    RCY_MEM_ENTER(M);
    rcy__pools_collect_remote(&M->pools);
    void *b = NULL;
    if (admit_large(M, n) == 0) {
        b = rcy__large_alloc(&M->large, n, kind, tag);
        if (b)
            rcy__mem_note_large(b);
        note_large_bytes(M);
    }
    RCY_MEM_LEAVE(M);
    return b;
}

static void free_large(rcy_mem *M, void *p)
{
    rcy__large_free(&M->large, p);
    note_large_bytes(M);
}

static void collect_remote_hook(void *owner)
{
    rcy__mem_collect_remote(owner);
}

/* The creating thread owns a new heap. */
void rcy__mem_init(rcy_mem *M)
{
    rcy__pools_init(&M->pools, M);
    rcy__larges_init(&M->large, M);
    rcy__budget_init(&M->budget, M, &M->pools, &M->large);
    M->pools.collect_remote = collect_remote_hook;
    rcy__pools_set_thread(&M->pools, rcy__thread_self());
    M->fast_max = RCY_SMALL_MAX;
}

void rcy__mem_set_tracer(rcy_mem *M,
                         void (*trace)(rcy_mem *M, void *old, void *block, size_t n,
                                       const void *type, void *ra),
                         void *state, int all)
{
    M->trace = trace;
    M->trace_state = state;
    M->trace_all = trace && all;
    M->fast_max = trace ? 0 : RCY_SMALL_MAX;
    rcy__pools_set_arena_mark(&M->pools, M->trace_all ? RCY_THREAD_TRACED : 0);
}

const char rcy__traced_tag = 't';

void rcy__mem_fini(rcy_mem *M)
{
    rcy__larges_fini(&M->large);
    rcy__pools_fini(&M->pools);
}

/* Checked builds: a freed small block's bytes past its link are poisoned. */
static void poison_freed(rcy_pool *pool, void *p)
{
#if RCY_CHECK_LEVEL >= 1
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    memset((char *)p + sizeof(void *), 0xDD, bs - sizeof(void *)); /* past the link */
#else
    (void)pool;
    (void)p;
#endif
}

/* A large block another thread has freed (its header's mark changed,
   mem/remote.c) is not freed again by the owner. */
static void check_large_not_pending(rcy_mem *M, void *p, const char *api)
{
    if (!rcy__large_marked(p))
        bad_pointer(M, p, api, "double free (the block was already freed by another thread)");
}

void rcy__mem_free(rcy_mem *M, void *p, const char *api)
{
    RCY_MEM_ENTER(M);
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (RCY_LIKELY(a != NULL)) {
        rcy_pool *pool = valid_small_block(M, a, p, api);
#if RCY_CHECK_LEVEL >= 1
        set_live(pool, block_index(pool, p), 0);
#endif
        poison_freed(pool, p);
        rcy__pool_free(&M->pools, pool, p);
    } else {
        if (!rcy__large_owned(&M->large, p))
            bad_pointer(M, p, api, "pointer not allocated by this heap, or already freed");
        check_large_not_pending(M, p, api);
        free_large(M, p);
    }
    rcy__mem_trace(M, p, NULL, 0, NULL, NULL);
    RCY_MEM_LEAVE(M);
}

void rcy__mem_free_collected(rcy_mem *M, void *p)
{
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (a) {
        rcy_pool *pool = rcy__pool_of(a, p); /* checked exactly when pushed in checked builds */
#if RCY_CHECK_LEVEL == 0
        /* as the owner's fast path, and a pool with no block in use */
        if (RCY_UNLIKELY(pool->nused == 0 || pool->freelist == p))
            valid_small_block(M, a, p, "rcy_free"); /* says what is wrong */
#endif
        poison_freed(pool, p);
        rcy__pool_free(&M->pools, pool, p);
    } else {
        if (!rcy__large_owned(&M->large, p))
            bad_pointer(M, p, "rcy_free", "pointer not allocated by this heap, or already freed");
        free_large(M, p);
    }
    rcy__mem_trace(M, p, NULL, 0, NULL, NULL);
}

/* An object's death: on a thread that does not own the heap, its block
   goes back as a remote free. (The heap's owner, not the arena's copy of
   it, which a tracer marks: pool.h.) */
void rcy__mem_release(rcy_mem *M, rcy_arena *a, void *p)
{
#if RCY_CHECK_LEVEL >= 1
    (void)a;
    if (!rcy__mem_owned_here(M))
        rcy__mem_free_remote(M, p, "rcy_decref", 1);
    else
        rcy__mem_free(M, p, "rcy_decref");
#else
    if (RCY_UNLIKELY(!rcy__mem_owned_here(M))) {
        rcy__mem_free_remote(M, p, "rcy_decref", 1);
        return;
    }
    if (a)
        rcy__pool_free(&M->pools, rcy__pool_of(a, p), p);
    else
        free_large(M, p);
    rcy__mem_trace(M, p, NULL, 0, NULL, NULL);
#endif
}

static rcy_block_state large_block_state(const rcy_mem *M, const void *p, const void **tag)
{
    if (M) { /* this heap's set alone tells, reading nothing at p */
        if (!rcy__large_owned(&M->large, p))
            return RCY_BLOCK_FOREIGN;
    } else {
        /* no block lies beyond the addresses the page map covers (rcy_heap_new
           refuses a system that maps there): nothing to read, maybe no page */
        if ((uintptr_t)p >> RCY_PM_ADDRESS_BITS || !rcy__large_marked(p))
            return RCY_BLOCK_FOREIGN;
        const rcy_mem *owner = rcy__large_header(p)->owner; /* NULL once freed */
        if (!owner || !rcy__large_owned(&owner->large, p))
            return RCY_BLOCK_FREE;
    }
    *tag = rcy__large_header(p)->tag;
    return RCY_BLOCK_LIVE;
}

rcy_block_state rcy__mem_block_state(const rcy_mem *M, const void *p, const void **tag)
{
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (!a)
        return large_block_state(M, p, tag);
    if (M && a->owner != M)
        return RCY_BLOCK_FOREIGN;
    const rcy_pool *pool = rcy__pool_of(a, p);
    if (pool->index < RCY_ARENA_FIRST_POOL)
        return RCY_BLOCK_FOREIGN; /* the arena's bookkeeping */
    if (pool->nused == 0 || (const char *)p >= pool->bump)
        return RCY_BLOCK_FREE; /* a pool not in use, or past its blocks handed out */
    size_t i;
    if (!at_block_start(pool, p, &i))
        return RCY_BLOCK_FOREIGN;
#if RCY_CHECK_LEVEL >= 1
    if (!live_bit(pool, i))
        return RCY_BLOCK_FREE;
#endif
    *tag = pool->tag;
    return RCY_BLOCK_LIVE;
}

int rcy__mem_next_span(rcy_mem *M, unsigned kind, rcy_mem_cursor *c, rcy_span *out)
{
    if (rcy__pools_next_span(&M->pools, kind, &c->pools, out))
        return 1;
    void *b = rcy__larges_next(&M->large, kind, &c->large_slot);
    if (!b)
        return 0;
    *out = (rcy_span){b, 0, 1, rcy__large_header(b)->tag};
    return 1;
}

/* ---- the public API ---- */

static void *enomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* A block of n bytes the tracer samples: small ones from a pool class
   tagged RCY_TAG_TRACED, so that their frees reach it (mem.h). */
static void *alloc_sampled(rcy_mem *M, size_t n)
{
    if (n > RCY_SMALL_MAX)
        return rcy__mem_alloc_large(M, n, RCY_KIND_PLAIN, NULL);
    rcy_pool_class *pc =
        rcy__pools_class(&M->pools, RCY_KIND_PLAIN, rcy__malloc_class(n), RCY_TAG_TRACED);
    return pc ? rcy__mem_alloc_in(M, pc) : NULL;
}

/* malloc_general's rare cases: 0 bytes, large requests, every request
   while a tracer is set (which is told of those it traces here). */
static RCY_NOINLINE void *malloc_cold(rcy_mem *M, size_t n, void *ra)
{
    void *p;
    /* a sampler's common case first: a small block it does not sample */
    if (M->trace && !M->trace_all && n - 1 < RCY_SMALL_MAX && (M->sample_left -= (int64_t)n) > 0)
        return rcy__mem_alloc_in(M, &M->pools.plain[RCY_KIND_PLAIN][rcy__malloc_class_of(n)]);
    int traced = M->trace && (M->sample_left <= 0 || rcy__mem_trace_wants(M, n));
    if (RCY_UNLIKELY(traced) && !M->trace_all)
        p = alloc_sampled(M, n);
    else if (n <= RCY_SMALL_MAX)
        p = rcy__mem_alloc_in(M, &M->pools.plain[RCY_KIND_PLAIN][rcy__malloc_class(n)]);
    else
        p = rcy__mem_alloc_large(M, n, RCY_KIND_PLAIN, NULL);
    if (p && traced)
        M->trace(M, NULL, p, n, NULL, ra);
    return p;
}

/* Everything rcy_malloc's fast path declines: a class with no free block
   in its first pool (a pool's untouched blocks are served here), and
   malloc_cold's cases, and every call of a checked build. The common case
   is tested as the fast path tests it (fast_max), so that a tracer costs
   it no test of its own. ra: the caller's return address, for the
   tracer. */
static RCY_NOINLINE void *malloc_general(rcy_mem *M, size_t n, void *ra)
{
    void *p;
    RCY_MEM_ENTER(M);
    /* the second test: a sampler's common case, a small block it does not
       sample (sample_left is 0 unless a sampler is set; what it leaves is
       positive, so the subtraction reads as true) */
    if (RCY_LIKELY(n - 1 < M->fast_max) ||
        (M->sample_left > (int64_t)n && n - 1 < RCY_SMALL_MAX && (M->sample_left -= (int64_t)n)))
        p = rcy__mem_alloc_in(M, &M->pools.plain[RCY_KIND_PLAIN][rcy__malloc_class_of(n)]);
    else
        p = malloc_cold(M, n, ra);
    RCY_MEM_LEAVE(M);
    return p ? p : enomem();
}

/* The fast path pops a freed block of the class's first pool and makes no
   call: n - 1 < fast_max is one test for 1..512 bytes, and for none while
   a tracer is set (fast_max 0): the compare reads its bound from the heap
   instead of an immediate, the same number of instructions. */
static inline void *malloc_fast(rcy_mem *M, size_t n)
{
#if RCY_CHECK_LEVEL == 0
    if (RCY_LIKELY(n - 1 < M->fast_max)) {
        rcy_pool *pool = M->pools.plain[RCY_KIND_PLAIN][rcy__malloc_class_of(n)].avail.first;
        void *b;
        if (RCY_LIKELY(pool != NULL) && RCY_LIKELY((b = pool->freelist) != NULL)) {
            pool->freelist = *(void **)b;
            pool->nused++;
            return b;
        }
    }
#else
    (void)M;
    (void)n;
#endif
    return NULL;
}

/* The caller's return address is read on the slow path alone: passed as
   an argument of an inline function, it was read before the fast path,
   an instruction more. */
void *rcy_malloc(rcy_heap *h, size_t n)
{
    rcy_mem *M = rcy__mem_of(h);
    void *b = malloc_fast(M, n);
    return RCY_LIKELY(b != NULL) ? b : malloc_general(M, n, RCY_CALLER());
}

void *rcy_calloc(rcy_heap *h, size_t count, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(count, n, &total))
        return enomem();
    void *p = malloc_fast(rcy__mem_of(h), total);
    if (!p)
        p = malloc_general(rcy__mem_of(h), total, RCY_CALLER());
    if (p)
        memset(p, 0, total);
    return p;
}

/* Everything rcy_free's fast path declines, validated in full: NULL, large
   blocks, pointers outside the heap's arenas, a block that heads its
   pool's free list (a double free), a free from a thread that does not own
   the heap (a remote free), and every call of a checked build. */
static RCY_NOINLINE void free_general(rcy_mem *M, void *p)
{
    if (!p)
        return;
    if (!rcy__mem_owned_here(M))
        rcy__mem_free_remote(M, p, "rcy_free", 0);
    else
        rcy__mem_free(M, p, "rcy_free");
}

#if RCY_CHECK_LEVEL == 0
/* The release build's free of p, which lies in arena a: done (1) if p
   passes the cheap checks: freed by the owning thread of its heap (which
   is then the one the block goes back to, whatever heap the caller named:
   one load and compare serve both, and a block of another heap of the
   same thread goes home unharmed; checked builds report the wrong heap),
   a block of rcy_malloc (its pool has no tag; objects' pools do) at a
   multiple of 16 bytes, not the block freed last. Else 0, and nothing was
   touched. */
static inline int free_if_cheap_checks_pass(rcy_mem *M, rcy_arena *a, void *p)
{
    rcy_pool *pool = rcy__pool_of(a, p);
    if (RCY_UNLIKELY(!rcy__thread_owns(&a->thread)) ||
        RCY_UNLIKELY(((((uintptr_t)p & 15) | (uintptr_t)pool->tag) != 0) || pool->freelist == p))
        return 0;
    rcy__pool_free(&M->pools, pool, p); /* the slow path goes to a's own heap */
    return 1;
}
#endif

/* The release build's fast path keeps the checks that cost next to nothing
   and stop the worst: the page map (a pointer outside every arena is never
   written to), the owning heap, an object passed to rcy_free, a pointer
   not 16-byte aligned, and a block freed twice in a row; those go to
   free_general, which says what is wrong. A 16-byte aligned pointer into
   the middle of a block, or an older double free, is caught in checked
   builds (docs/api.md, rcy_free): the exact tests cost a third of a free. */
void rcy_free(rcy_heap *h, void *p)
{
    rcy_mem *M = rcy__mem_of(h);
#if RCY_CHECK_LEVEL == 0
    rcy_arena *a = rcy__pagemap_lookup(p); /* NULL for NULL */
    if (RCY_LIKELY(a != NULL) && RCY_LIKELY(free_if_cheap_checks_pass(M, a, p)))
        return;
#endif
    free_general(M, p);
}

/* Everything rcy_free_owned's fast path declines: NULL, large blocks, a
   block of another heap or outside every arena (0: not h's), a remote
   free, a block that heads its pool's free list, every checked build. */
static RCY_NOINLINE int free_owned_general(rcy_mem *M, rcy_arena *a, void *p)
{
    if (!p)
        return 1;
    /* h's set of large blocks is asked on any thread (it reads nothing at
       p, which may be anyone's): a thread that does not own h calls this
       in h's turn (docs/api.md, Threads, the GIL model), as rcy_heap_owns */
    if (a ? a->owner != M : !rcy__large_owned(&M->large, p))
        return 0;
    if (!rcy__mem_owned_here(M))
        rcy__mem_free_remote(M, p, "rcy_free_owned", 0);
    else
        rcy__mem_free(M, p, "rcy_free_owned");
    return 1;
}

/* rcy_free's fast path behind the same single lookup, plus the arena's
   heap (rcy_free lets the owning thread's other heaps' blocks go home;
   here they are not h's, and the caller must hear so). */
int rcy_free_owned(rcy_heap *h, void *p)
{
    rcy_mem *M = rcy__mem_of(h);
    rcy_arena *a = rcy__pagemap_lookup(p); /* NULL for NULL */
#if RCY_CHECK_LEVEL == 0
    if (RCY_LIKELY(a != NULL) && RCY_LIKELY(a->owner == M) &&
        RCY_LIKELY(free_if_cheap_checks_pass(M, a, p)))
        return 1;
#endif
    return free_owned_general(M, a, p);
}

/* The shim's free: p's own heap, found from the page map (small blocks) or
   the block's header (large ones, where the region map says one may be).
   The owner's free of a small block takes rcy_free's fast path. */
int rcy__free_any(void *p)
{
    rcy_arena *a = rcy__pagemap_lookup(p); /* NULL for NULL */
    rcy_mem *M;
    if (a) {
        M = a->owner;
#if RCY_CHECK_LEVEL == 0
        if (RCY_LIKELY(free_if_cheap_checks_pass(M, a, p)))
            return 1;
#endif
    } else {
        if (!rcy__large_block_at(p))
            return 0;
        M = rcy__large_header(p)->owner;
        if (!M)
            bad_pointer(NULL, p, "free", "double free of a large block");
    }
    free_general(M, p);
    return 1;
}

/* The caller says p is a block of h of n bytes (the size it asked for),
   so a small block's arena is its address masked: no page-map lookup. A
   wrong n is undefined in release builds (a small size for a pointer that
   is not in an arena reads memory at p's arena address); checked builds
   verify n and report a mismatch. */
void rcy_free_sized(rcy_heap *h, void *p, size_t n)
{
    rcy_mem *M = rcy__mem_of(h);
#if RCY_CHECK_LEVEL == 0
    if (RCY_LIKELY(n - 1 < RCY_SMALL_MAX) && RCY_LIKELY(p != NULL) &&
        RCY_LIKELY(free_if_cheap_checks_pass(M, rcy__arena_at(p), p)))
        return;
#else
    if (p && rcy_usable_size(h, p) < n)
        rcy__misuse("rcy_free_sized(%p, %zu): the block has %zu bytes, fewer than that", p, n,
                    rcy_usable_size(h, p));
    if (p && n <= RCY_SMALL_MAX && !rcy__pagemap_lookup(p))
        rcy__misuse("rcy_free_sized(%p, %zu): a small size for a large block", p, n);
#endif
    free_general(M, p);
}

size_t rcy_usable_size(rcy_heap *h, const void *p)
{
    if (!p)
        return 0;
    rcy_mem *M = rcy__mem_of(h);
    if (!rcy__mem_owned_here(M))
        return rcy__mem_usable_size_remote(M, p, "rcy_usable_size");
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (a)
        return RCY_CLASS_SIZE(valid_small_block(M, a, (void *)p, "rcy_usable_size")->cls);
    if (!rcy__large_owned(&M->large, p))
        bad_pointer(M, (void *)p, "rcy_usable_size", "pointer not allocated by this heap");
    return rcy__large_header(p)->size;
}

/* A tracer sees a resize as the old block's free and the new block's
   allocation by the caller of rcy_realloc (as Python's tracemalloc). */
void *rcy_realloc(rcy_heap *h, void *p, size_t n)
{
    void *ra = RCY_CALLER();
    if (!p)
        return malloc_general(rcy__mem_of(h), n, ra);
    if (n == 0) {
        rcy_free(h, p);
        return malloc_general(rcy__mem_of(h), 0, ra);
    }
    size_t old = rcy_usable_size(h, p); /* validates p (the remote way if h is not ours) */
    int small = rcy__pagemap_lookup(p) != NULL;
    /* kept in place, a block is traced anew when all are; a sampler's
       block moves, so that a sample is in a tagged pool (malloc_cold) */
    rcy_mem *Mh = rcy__mem_of(h);
    int sampling = Mh->trace && !Mh->trace_all;
    if (small && n <= RCY_SMALL_MAX && rcy__malloc_class(n) == rcy__malloc_class(old) &&
        !sampling) {
        if (rcy__mem_owned_here(Mh))
            rcy__mem_trace(Mh, p, p, n, NULL, ra);
        return p;
    }
    /* a large block is resized in place only by its owner (the set of large
       blocks is the owner's); another thread keeps it when it is not to grow */
    if (!small && n > RCY_SMALL_MAX && !rcy__mem_owned_here(rcy__mem_of(h)) && n <= old)
        return p;
    if (!small && n > RCY_SMALL_MAX && rcy__mem_owned_here(rcy__mem_of(h))) {
        rcy_mem *M = rcy__mem_of(h);
        if (n > old && rcy__budget_admit(&M->budget, n - old) != 0)
            return enomem();
        RCY_MEM_ENTER(M);
        check_large_not_pending(M, p, "rcy_realloc");
        void *q = rcy__large_realloc(&M->large, p, n);
        if (q) {
            rcy__mem_note_large(q);
            rcy__mem_trace(M, p, NULL, 0, NULL, NULL);
            if (M->trace && rcy__mem_trace_wants(M, n))
                M->trace(M, NULL, q, n, NULL, ra);
        }
        note_large_bytes(M);
        RCY_MEM_LEAVE(M);
        return q ? q : enomem();
    }
    void *q = malloc_general(rcy__mem_of(h), n, ra);
    if (!q)
        return NULL;
    memcpy(q, p, old < n ? old : n);
    rcy_free(h, p);
    return q;
}

void rcy_heap_set_purge_delay(rcy_heap *h, unsigned ms)
{
    rcy__mem_of(h)->pools.purge_delay_ms = ms;
}

unsigned rcy_heap_get_purge_delay(rcy_heap *h)
{
    return rcy__mem_of(h)->pools.purge_delay_ms;
}

size_t rcy_purge(rcy_heap *h)
{
    rcy_mem *M = rcy__mem_of(h);
    RCY_MEM_ENTER(M);
    size_t released = rcy__pools_purge(&M->pools);
    RCY_MEM_LEAVE(M);
    return released;
}
