/* SPDX-License-Identifier: MIT */
/* pool: arenas, pools and the cold paths of small-block allocation.
 *
 * The ideas are pymalloc's (CPython's obmalloc.c): size classes (here 8
 * bytes apart), LIFO free lists threaded through free blocks, untouched blocks
 * handed out lazily so fresh memory is not touched early, and new pools
 * taken from the fullest arena so nearly empty arenas drain. Unlike
 * pymalloc, an empty pool inside a live arena gives its pages back: it
 * joins an LRU list of dirty pools, and those beyond a small warm cache
 * are decommitted with madvise once they have stayed empty for the purge
 * delay (rcy__pools_decay). So one live block pins 16 KiB, not a whole
 * arena (and after rcy_purge one page: pages.c).
 *
 * Arenas are bucketed by their number of free pools (1..63); a bitmap of
 * non-empty buckets finds the fullest arena with room in one instruction.
 * At most one fully empty arena is kept mapped, as a reserve against
 * map/unmap thrashing; its pages still obey the decay. */
#include "mem/pool.h"

#include <string.h>

#include "os/os.h"
#include "util/sys.h"

#define ALL_POOLS (~(uint64_t)0)

#if RCY_CHECK_LEVEL == 0
_Static_assert(sizeof(rcy_arena) <= 4096 - 32, "an arena's bookkeeping should fit one page");
#endif
_Static_assert(RCY_ARENA_POOLS <= 64, "the free masks are 64 bits");

uint32_t rcy__pool_capacity(unsigned cls)
{
    return (uint32_t)(RCY_POOL_SIZE / RCY_CLASS_SIZE(cls));
}

/* ---- pool classes ---- */

/* A tagged class's key: tags are addresses below 2^57. */
static uintptr_t class_key(unsigned kind, unsigned cls, const void *tag)
{
    return ((uintptr_t)tag << 7) | ((uintptr_t)kind << 6) | cls;
}

rcy_pool_class *rcy__pools_class(rcy_pools *P, unsigned kind, unsigned cls, const void *tag)
{
    if (!tag)
        return &P->plain[kind][cls];
    uintptr_t key = class_key(kind, cls, tag);
    void **found = rcy__ptrmap_find(&P->tagged, key);
    if (found)
        return *found;
    rcy_pool_class *pc = rcy__sys_calloc(1, sizeof *pc);
    void **slot = pc ? rcy__ptrmap_insert(&P->tagged, key) : NULL;
    if (!slot) {
        rcy__sys_free(pc);
        return NULL;
    }
    *pc = (rcy_pool_class){{NULL, NULL}, tag, (uint8_t)kind, (uint8_t)cls};
    *slot = pc;
    return pc;
}

static void for_each_class(rcy_pools *P, void (*fn)(rcy_pool_class *, void *), void *arg)
{
    for (unsigned k = 0; k < RCY_KINDS; k++)
        for (unsigned c = 0; c < RCY_CLASS_COUNT; c++)
            fn(&P->plain[k][c], arg);
    for (size_t i = 0; P->tagged.slots && i <= P->tagged.mask; i++)
        if (P->tagged.slots[i].key)
            fn(P->tagged.slots[i].value, arg);
}

static void classes_init(rcy_pools *P)
{
    for (unsigned k = 0; k < RCY_KINDS; k++)
        for (unsigned c = 0; c < RCY_CLASS_COUNT; c++)
            P->plain[k][c] = (rcy_pool_class){{NULL, NULL}, NULL, (uint8_t)k, (uint8_t)c};
}

static void free_tagged_class(rcy_pool_class *pc, void *arg)
{
    (void)arg;
    if (pc->tag)
        rcy__sys_free(pc);
}

static void classes_fini(rcy_pools *P)
{
    for_each_class(P, free_tagged_class, NULL);
    rcy__ptrmap_fini(&P->tagged);
}

/* ---- doubly linked lists: avail lists and the dirty LRU ---- */

static void list_push_front(rcy_pool_list *l, rcy_pool *pool)
{
    pool->prev = NULL;
    pool->next = l->first;
    if (l->first)
        l->first->prev = pool;
    else
        l->last = pool;
    l->first = pool;
}

static void list_push_back(rcy_pool_list *l, rcy_pool *pool)
{
    pool->next = NULL;
    pool->prev = l->last;
    if (l->last)
        l->last->next = pool;
    else
        l->first = pool;
    l->last = pool;
}

static void list_remove(rcy_pool_list *l, rcy_pool *pool)
{
    if (pool->prev)
        pool->prev->next = pool->next;
    else
        l->first = pool->next;
    if (pool->next)
        pool->next->prev = pool->prev;
    else
        l->last = pool->prev;
}

/* The class a used pool serves: found (it exists), not stored, to keep
   pool headers small; only the cold paths need it. */
static rcy_pool_class *home(rcy_pools *P, const rcy_pool *pool)
{
    return rcy__pools_class(P, pool->kind, pool->cls, pool->tag);
}

/* A new pool goes first: it has the most free blocks. A pool that regains
   a block after being exhausted goes last, so it gathers more freed blocks
   before allocation reaches it again and the slow path runs rarely. */
static void avail_push(rcy_pools *P, rcy_pool *pool, int last)
{
    if (last)
        list_push_back(&home(P, pool)->avail, pool);
    else
        list_push_front(&home(P, pool)->avail, pool);
    pool->listed = 1;
}

static void avail_remove(rcy_pools *P, rcy_pool *pool)
{
    list_remove(&home(P, pool)->avail, pool);
    pool->listed = 0;
}

static void dirty_push(rcy_pools *P, rcy_pool *pool)
{
    list_push_front(&P->dirty, pool);
    P->ndirty++;
}

static void dirty_remove(rcy_pools *P, rcy_pool *pool)
{
    list_remove(&P->dirty, pool);
    P->ndirty--;
}

/* ---- arena buckets ---- */

static void bucket_insert(rcy_pools *P, rcy_arena *a)
{
    if (a->nfree == 0)
        return; /* full arenas are on no bucket */
    unsigned b = a->nfree - 1;
    a->prev = NULL;
    a->next = P->bucket[b];
    if (a->next)
        a->next->prev = a;
    P->bucket[b] = a;
    P->bucket_bits |= (uint64_t)1 << b;
}

static void bucket_remove(rcy_pools *P, rcy_arena *a)
{
    if (a->nfree == 0)
        return;
    unsigned b = a->nfree - 1;
    if (a->prev)
        a->prev->next = a->next;
    else
        P->bucket[b] = a->next;
    if (a->next)
        a->next->prev = a->prev;
    if (!P->bucket[b])
        P->bucket_bits &= ~((uint64_t)1 << b);
}

size_t rcy__pools_committed(const rcy_pools *P)
{
    return (P->pools_used + P->ndirty) * RCY_POOL_SIZE - P->gone_pages * P->page_size;
}

void rcy__pools_note_peak(rcy_pools *P)
{
    size_t c = rcy__pools_committed(P) + P->outside_bytes;
    if (c > P->peak_committed)
        P->peak_committed = c;
}

/* An arena's bookkeeping, counted in the pages it covers. */
#define ARENA_HELD (((sizeof(rcy_arena) + 4095) / 4096) * 4096)

size_t rcy__pools_held(const rcy_pools *P)
{
    return rcy__pools_committed(P) + P->arenas_current * ARENA_HELD;
}

/* As pool_new chooses: the fullest arena with room, its dirty pools first
   (arena_take_pool), whose pages given back while in use come back too. */
size_t rcy__pools_growth(const rcy_pools *P)
{
    if (!P->bucket_bits)
        return RCY_POOL_SIZE + ARENA_HELD;
    const rcy_arena *a = P->bucket[__builtin_ctzll(P->bucket_bits)];
    if (!a->free_dirty)
        return RCY_POOL_SIZE;
    return (size_t)__builtin_popcount(a->gone[__builtin_ctzll(a->free_dirty)]) * P->page_size;
}

/* ---- arenas ---- */

/* The list of arenas changes (an arena mapped or unmapped: rare, and a
   system call anyway) under a spin lock, the one other thread that walks
   it being a change of owner (rcy__pools_set_thread, for a heap whose
   owner exits while another thread may use it). */
static void arenas_lock(rcy_pools *P)
{
    while (atomic_exchange_explicit(&P->arenas_busy, 1, memory_order_acquire))
        while (atomic_load_explicit(&P->arenas_busy, memory_order_relaxed))
            ;
}

static void arenas_unlock(rcy_pools *P)
{
    atomic_store_explicit(&P->arenas_busy, 0, memory_order_release);
}

/* The bookkeeping lives in the arena's own first pool (pool.h), in pages
   fresh from the OS: already zero. */
static rcy_arena *arena_new(rcy_pools *P)
{
    char *base = rcy__os_map_aligned(RCY_ARENA_SIZE, RCY_ARENA_SIZE);
    if (!base)
        return NULL;
    rcy_arena *a = rcy__arena_at(base);
    a->owner = P->owner; /* before the page map shows the arena to other threads */
    a->home = P;
    if (rcy__pagemap_set(base, a) != 0) {
        rcy__os_unmap(base, RCY_ARENA_SIZE);
        return NULL;
    }
    for (unsigned i = 0; i < RCY_POOLS_PER_ARENA; i++) {
        a->pools[i].index = (uint8_t)i;
    }
    a->free_clean = RCY_ARENA_BLOCK_POOLS;
    a->nfree = RCY_ARENA_POOLS;
    /* Appended: walks go oldest first, so they meet objects roughly in
       allocation order and the collector's ordered scan finds most
       references pointing ahead (walking newest first made a full
       collection of a 1e6-object graph 1.12x slower). */
    arenas_lock(P);
    rcy__arena_set_thread(a, atomic_load_explicit(&P->thread, memory_order_relaxed),
                          P->arena_thread_mark);
    a->all_next = NULL;
    a->all_prev = P->all_last;
    if (P->all_last)
        P->all_last->all_next = a;
    else
        P->all = a;
    P->all_last = a;
    arenas_unlock(P);
    bucket_insert(P, a);
    P->empty_arenas++;
    P->arenas_allocated++;
    if (++P->arenas_current > P->arenas_highwater)
        P->arenas_highwater = P->arenas_current;
    return a;
}

static void arena_drop_dirty_pools(rcy_pools *P, rcy_arena *a)
{
    for (uint64_t m = a->free_dirty; m; m &= m - 1)
        dirty_remove(P, &a->pools[__builtin_ctzll(m)]);
}

/* The bookkeeping goes with the arena's memory. */
static void arena_unmap(rcy_arena *a)
{
    char *base = rcy__arena_base(a);
    _Atomic uint32_t *shared = atomic_load_explicit(&a->shared, memory_order_acquire);
    if (shared) /* no object of the arena lives, so no thread counts in it */
        rcy__os_unmap((void *)shared, RCY_ARENA_SHARED_BYTES);
    rcy__pagemap_clear(base);
    rcy__os_unmap(base, RCY_ARENA_SIZE);
}

_Atomic uint32_t *rcy__arena_shared_make(rcy_arena *a)
{
    _Atomic uint32_t *fresh = rcy__os_map_aligned(RCY_ARENA_SHARED_BYTES, 4096);
    _Atomic uint32_t *none = NULL;
    if (!fresh)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(&a->shared, &none, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    rcy__os_unmap((void *)fresh, RCY_ARENA_SHARED_BYTES); /* another thread won */
    return none;
}

/* Bytes the dirty pools of mask m in arena a hold: their pools less the
   pages they gave back while in use, which are forgotten. */
static size_t dirty_bytes_forgotten(rcy_pools *P, rcy_arena *a, uint64_t m)
{
    size_t bytes = 0;
    for (; m; m &= m - 1)
        bytes += RCY_POOL_SIZE - rcy__pool_forget_pages(P, &a->pools[__builtin_ctzll(m)]);
    return bytes;
}

static void arena_free(rcy_pools *P, rcy_arena *a)
{
    P->bytes_released_total += dirty_bytes_forgotten(P, a, a->free_dirty);
    arena_drop_dirty_pools(P, a);
    bucket_remove(P, a);
    arenas_lock(P);
    if (a->all_prev)
        a->all_prev->all_next = a->all_next;
    else
        P->all = a->all_next;
    if (a->all_next)
        a->all_next->all_prev = a->all_prev;
    else
        P->all_last = a->all_prev;
    arenas_unlock(P);
    P->empty_arenas--;
    P->arenas_released++;
    P->arenas_current--;
    arena_unmap(a);
}

/* Takes pool i out of arena a's free masks; the caller makes it used. */
static rcy_pool *arena_take_pool(rcy_pools *P, rcy_arena *a)
{
    unsigned i;
    rcy_pool *pool;
    RCY_ASSERT(a->nfree > 0 && (a->free_dirty | a->free_clean) != 0);
    if (a->free_dirty) {
        i = (unsigned)__builtin_ctzll(a->free_dirty);
        a->free_dirty &= a->free_dirty - 1;
        pool = &a->pools[i];
        dirty_remove(P, pool);
    } else {
        i = (unsigned)__builtin_ctzll(a->free_clean);
        a->free_clean &= a->free_clean - 1;
        pool = &a->pools[i];
    }
    if (a->nfree == RCY_ARENA_POOLS)
        P->empty_arenas--;
    bucket_remove(P, a);
    a->nfree--;
    bucket_insert(P, a);
    return pool;
}

/* ---- validation (check level 3) ---- */

#if RCY_CHECK_LEVEL >= 3
static size_t list_length_checked(rcy_pool *head, int listed, const rcy_pool_class *pc)
{
    size_t n = 0;
    for (rcy_pool *p = head, *prev = NULL; p; prev = p, p = p->next, n++) {
        RCY_ASSERT(p->prev == prev);
        RCY_ASSERT(p->listed == listed);
        RCY_ASSERT(!pc || (p->tag == pc->tag && p->cls == pc->cls && p->kind == pc->kind));
    }
    return n;
}

static void validate_class(rcy_pool_class *pc, void *arg)
{
    (void)arg;
    list_length_checked(pc->avail.first, 1, pc);
}

/* Every invariant of pool.h's states, over the whole heap. */
static void validate_pools(rcy_pools *P)
{
    size_t used = 0, dirty = 0, empty_arenas = 0, empty_clean = 0;
    for (rcy_arena *a = P->all; a; a = a->all_next) {
        RCY_ASSERT((a->free_dirty & a->free_clean) == 0);
        RCY_ASSERT((unsigned)__builtin_popcountll(a->free_dirty | a->free_clean) == a->nfree);
        RCY_ASSERT(a == rcy__arena_at(rcy__arena_base(a)));
        RCY_ASSERT(((a->free_dirty | a->free_clean) & ~RCY_ARENA_BLOCK_POOLS) == 0);
        used += RCY_ARENA_POOLS - a->nfree;
        dirty += (size_t)__builtin_popcountll(a->free_dirty);
        empty_arenas += a->nfree == RCY_ARENA_POOLS;
        empty_clean += a->nfree == RCY_ARENA_POOLS && !a->free_dirty;
        for (unsigned i = RCY_ARENA_FIRST_POOL; i < RCY_POOLS_PER_ARENA; i++) {
            rcy_pool *p = &a->pools[i];
            int empty = (int)(((a->free_dirty | a->free_clean) >> i) & 1);
            RCY_ASSERT(rcy__pool_arena(p) == a && p->index == i);
            RCY_ASSERT(empty ? p->nused == 0 && !p->listed
                             : p->nused <= rcy__pool_capacity(p->cls));
        }
    }
    RCY_ASSERT(used == P->pools_used && dirty == P->ndirty);
    RCY_ASSERT(empty_arenas == P->empty_arenas && empty_clean <= 1);
    RCY_ASSERT(list_length_checked(P->dirty.first, 0, NULL) == P->ndirty);
    for_each_class(P, validate_class, NULL);
}

static void maybe_validate(rcy_pools *P)
{
    if (++P->validate_tick % RCY_VALIDATE_EVERY == 0)
        validate_pools(P);
}
#else
static void maybe_validate(rcy_pools *P)
{
    (void)P;
}
#endif

/* ---- pools ---- */

static void pool_init(rcy_pools *P, rcy_pool *pool, rcy_pool_class *pc)
{
    unsigned cls = pc->cls;
    pool->tag = pc->tag;
    pool->kind = pc->kind;
    pool->facts = pc->facts;
    pool->cls = (uint8_t)cls;
    pool->nused = 0;
    pool->freelist = NULL;
    pool->bump = rcy__pool_memory(pool);
    rcy__pool_forget_pages(P, pool); /* the bump pointer faults them back in */
    pool->limit = pool->bump + (size_t)rcy__pool_capacity(cls) * RCY_CLASS_SIZE(cls);
#if RCY_CHECK_LEVEL >= 1
    memset(pool->live, 0, sizeof pool->live);
#endif
}

static rcy_pool *pool_new(rcy_pools *P, rcy_pool_class *pc)
{
    if (P->admit && P->admit(P->admit_arg, 0) != 0)
        return NULL; /* over the heap's memory budget */
    if (!P->bucket_bits && !arena_new(P))
        return NULL;
    rcy_arena *a = P->bucket[__builtin_ctzll(P->bucket_bits)]; /* the fullest with room */
    rcy_pool *pool = arena_take_pool(P, a);
    pool_init(P, pool, pc);
    P->pools_used++;
    rcy__pools_note_peak(P);
    avail_push(P, pool, 0);
    rcy__pools_decay(P);
    maybe_validate(P);
    return pool;
}

/* An empty arena holding no pages costs only address space; one is kept
   so that a program hovering at an arena boundary does not map and unmap
   one on every turn. */
static void maybe_free_clean_arena(rcy_pools *P, rcy_arena *a)
{
    if (a->nfree == RCY_ARENA_POOLS && !a->free_dirty && P->empty_arenas > 1)
        arena_free(P, a);
}

static void decommit_pool(rcy_pools *P, rcy_pool *pool)
{
    rcy_arena *a = rcy__pool_arena(pool);
    uint64_t bit = (uint64_t)1 << pool->index;
    dirty_remove(P, pool);
    a->free_dirty &= ~bit;
    a->free_clean |= bit;
    rcy__os_decommit(rcy__pool_memory(pool), RCY_POOL_SIZE);
    P->bytes_released_total += RCY_POOL_SIZE - rcy__pool_forget_pages(P, pool);
    maybe_free_clean_arena(P, a);
}

/* How many empty pools keep their pages with no time limit (pool.h). */
static size_t dirty_bound(const rcy_pools *P)
{
    size_t bound = P->pools_used / RCY_DIRTY_SHARE;
    return bound < RCY_DIRTY_MIN ? RCY_DIRTY_MIN : bound;
}

/* Milliseconds of a monotonic clock, modulo 2^32: ages are differences. */
static uint32_t clock_ms(void)
{
    return (uint32_t)(uint64_t)(rcy__os_now() * 1000.0);
}

/* A dirty pool's time is up: its pages go back, or its whole arena when
   every pool of it is empty and another empty arena is kept. */
static void expire(rcy_pools *P, rcy_pool *pool)
{
    rcy_arena *a = rcy__pool_arena(pool);
    if (a->nfree == RCY_ARENA_POOLS && P->empty_arenas > 1)
        arena_free(P, a);
    else
        decommit_pool(P, pool);
}

/* 1 if every dirty pool of arena a became dirty at least the purge delay
   before now. */
static int dirty_pools_expired(const rcy_pools *P, const rcy_arena *a, uint32_t now)
{
    for (uint64_t m = a->free_dirty; m; m &= m - 1)
        if (now - a->dirty_at[__builtin_ctzll(m)] < P->purge_delay_ms)
            return 0;
    return 1;
}

/* Wholly empty arenas (the bucket of arenas with every pool free) beyond
   the one kept in reserve go once their pools have expired, while there
   are more of them than the warm cache holds pools: its pools should
   warm arenas in use, not pin a trail of empty ones. */
static void free_expired_arenas(rcy_pools *P, size_t bound, uint32_t now)
{
    rcy_arena *a = P->bucket[RCY_ARENA_POOLS - 1];
    while (a && P->empty_arenas > 1 && P->empty_arenas * RCY_ARENA_POOLS > bound) {
        rcy_arena *next = a->next;
        if (dirty_pools_expired(P, a, now))
            arena_free(P, a);
        a = next;
    }
}

/* The dirty list is newest first, so its tail is the oldest. */
void rcy__pools_decay_now(rcy_pools *P)
{
    size_t bound = dirty_bound(P);
    int arenas_over = P->empty_arenas > 1 && P->empty_arenas * RCY_ARENA_POOLS > bound;
    if (P->ndirty <= bound && !arenas_over)
        return;
    uint32_t now = clock_ms();
    while (P->ndirty > bound) {
        rcy_pool *oldest = P->dirty.last;
        uint32_t at = rcy__pool_arena(oldest)->dirty_at[oldest->index];
        if (now - at < P->purge_delay_ms)
            break;
        expire(P, oldest);
    }
    /* the scan of the empty arenas, at most once a quarter of the delay:
       freeing a burst empties pools by the thousand, all too young */
    if (arenas_over && now - P->arenas_scanned_ms >= P->purge_delay_ms / 4) {
        P->arenas_scanned_ms = now;
        free_expired_arenas(P, bound, now);
    }
}

/* A pool that became empty: into its arena's free pools and the dirty
   list, stamped with the time. A wholly empty arena stays while its pools
   keep their pages (rcy__pools_decay, decommit_pool). */
static void pool_release(rcy_pools *P, rcy_pool *pool)
{
    rcy_arena *a = rcy__pool_arena(pool);
    P->pools_used--;
    a->free_dirty |= (uint64_t)1 << pool->index;
    a->dirty_at[pool->index] = clock_ms();
    dirty_push(P, pool);
    bucket_remove(P, a);
    a->nfree++;
    bucket_insert(P, a);
    if (a->nfree == RCY_ARENA_POOLS)
        P->empty_arenas++;
    rcy__pools_decay(P);
    maybe_validate(P);
}

/* A used pool with no block to hand out may have pages it gave back
   (pages.c): their blocks come back, if the budget admits the pages. The
   budget's reaction may collect, so the class's pools are looked at anew
   afterwards; a pool it admitted once is not asked again. */
void *rcy__pool_alloc_slow(rcy_pools *P, rcy_pool_class *pc)
{
    rcy_pool *pool, *admitted = NULL;
    rcy__pools_collect_remote(P); /* blocks freed by other threads, before a new pool */
    while ((pool = pc->avail.first) != NULL) {
        void *b = rcy__pool_take(pool, pc->cls);
        if (b)
            return b;
        size_t gone = rcy__pool_gone_bytes(P, pool);
        if (gone && pool != admitted && P->admit) {
            if (P->admit(P->admit_arg, gone) == 0)
                admitted = pool;
            else
                avail_remove(P, pool); /* its pages stay away: it rejoins when a block is freed */
            continue;
        }
        if (gone && rcy__pool_reclaim_pages(P, pool))
            continue;
        avail_remove(P, pool); /* exhausted: it rejoins when a block is freed */
    }
    pool = pool_new(P, pc);
    return pool ? rcy__pool_take(pool, pc->cls) : NULL;
}

/* The last pool of a class stays, empty, when its last block is freed
   (rcy__pool_kept; rcy__pool_free tests it before it calls here): a
   program that allocates and frees one block at a time would otherwise
   release and set up a pool on every call. At most one such pool per
   class; rcy_purge releases them. */
RCY_NOINLINE void rcy__pool_free_slow(rcy_pools *P, rcy_pool *pool)
{
    P = rcy__pool_arena(pool)->home;  /* the caller's guess may be another heap (pool.h) */
    if (pool->nused > RCY_MAX_BLOCKS) /* below zero: see rcy__pool_free */
        rcy__misuse("rcy_free(%p): not an allocated block (double free, or a pointer into a "
                    "pool with no block in use)",
                    pool->freelist);
    P->free_slow_paths++;
    if (pool->nused == 0) {
        if (rcy__pool_kept(pool)) {
            rcy__pools_decay(P); /* a program freeing and allocating one block still decays */
            return;
        }
        if (pool->listed)
            avail_remove(P, pool);
        pool_release(P, pool);
    } else if (!pool->listed) {
        avail_push(P, pool, 1);
    }
}

static void release_kept_pool(rcy_pool_class *pc, void *arg)
{
    rcy_pools *P = arg;
    rcy_pool *pool = pc->avail.first;
    if (pool && pool->nused == 0 && rcy__pool_kept(pool)) {
        avail_remove(P, pool);
        pool_release(P, pool);
    }
}

static void release_kept_pools(rcy_pools *P)
{
    for_each_class(P, release_kept_pool, P);
}

static void count_kept_pool(rcy_pool_class *pc, void *arg)
{
    rcy_pool *pool = pc->avail.first;
    if (pool && pool->nused == 0 && pool->next == NULL)
        ++*(size_t *)arg;
}

int rcy__pools_idle(rcy_pools *P)
{
    size_t kept = 0;
    if (P->pools_used > (size_t)RCY_KINDS * RCY_CLASS_COUNT + P->tagged.used)
        return 0; /* more pools in use than there are classes to keep one */
    for_each_class(P, count_kept_pool, &kept);
    return kept == P->pools_used;
}

void rcy__pools_set_thread(rcy_pools *P, uintptr_t id)
{
    arenas_lock(P);
    atomic_store_explicit(&P->thread, id, memory_order_relaxed);
    for (rcy_arena *a = P->all; a; a = a->all_next)
        rcy__arena_set_thread(a, id, P->arena_thread_mark);
    arenas_unlock(P);
}

void rcy__pools_set_arena_mark(rcy_pools *P, uintptr_t mark)
{
    P->arena_thread_mark = mark;
    rcy__pools_set_thread(P, atomic_load_explicit(&P->thread, memory_order_relaxed));
}

void rcy__pools_after_fork(rcy_pools *P)
{
    arenas_unlock(P);
}

/* ---- walking ---- */

int rcy__pools_next_span(rcy_pools *P, unsigned kind, rcy_pool_cursor *c, rcy_span *out)
{
    if (!c->started) {
        c->arena = P->all;
        c->next_pool = RCY_ARENA_FIRST_POOL;
        c->started = 1;
    }
    for (; c->arena; c->arena = c->arena->all_next, c->next_pool = RCY_ARENA_FIRST_POOL) {
        rcy_arena *a = c->arena;
        uint64_t in_use = ~(a->free_dirty | a->free_clean) & RCY_ARENA_BLOCK_POOLS;
        while (c->next_pool < RCY_POOLS_PER_ARENA) {
            rcy_pool *pool = &a->pools[c->next_pool++];
            if (!((in_use >> pool->index) & 1) || pool->kind != kind)
                continue;
            out->first = rcy__pool_memory(pool);
            out->stride = RCY_CLASS_SIZE(pool->cls);
            out->n = (size_t)(pool->bump - out->first) / out->stride;
            out->tag = pool->tag;
            return 1;
        }
    }
    return 0;
}

int rcy__pools_range(const rcy_pools *P, uintptr_t *lo, uintptr_t *hi)
{
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (const rcy_arena *a = P->all; a; a = a->all_next) {
        uintptr_t base = (uintptr_t)rcy__arena_base(a);
        *lo = base < *lo ? base : *lo;
        *hi = base + RCY_ARENA_SIZE > *hi ? base + RCY_ARENA_SIZE : *hi;
    }
    return P->all != NULL;
}

/* Decommits each run of adjacent dirty pools of an arena with one call;
   returns the bytes they held. */
static size_t purge_arena(rcy_pools *P, rcy_arena *a)
{
    arena_drop_dirty_pools(P, a);
    size_t released = dirty_bytes_forgotten(P, a, a->free_dirty);
    uint64_t m = a->free_dirty;
    while (m) {
        unsigned start = (unsigned)__builtin_ctzll(m);
        uint64_t run = m >> start;
        unsigned len = run == ALL_POOLS ? 64 - start : (unsigned)__builtin_ctzll(~run);
        size_t bytes = (size_t)len << RCY_POOL_SHIFT;
        rcy__os_decommit(rcy__arena_base(a) + ((size_t)start << RCY_POOL_SHIFT), bytes);
        m &= len == 64 ? 0 : ~((((uint64_t)1 << len) - 1) << start);
    }
    a->free_clean |= a->free_dirty;
    a->free_dirty = 0;
    return released;
}

/* The free pages inside the pools of an arena still in use (pages.c). */
static size_t purge_used_pools(rcy_pools *P, rcy_arena *a)
{
    size_t released = 0;
    rcy_page_run run = {NULL, 0};
    uint64_t in_use = ~(a->free_dirty | a->free_clean) & RCY_ARENA_BLOCK_POOLS;
    for (; in_use; in_use &= in_use - 1)
        released += rcy__pool_purge_pages(P, &a->pools[__builtin_ctzll(in_use)], &run);
    rcy__pages_flush(&run);
    return released;
}

/* Returns what bytes_released_total grew by: the pools released on the
   way (kept pools, arenas freed, expired dirty pools) count too. */
size_t rcy__pools_purge(rcy_pools *P)
{
    size_t before = P->bytes_released_total;
    rcy__pools_collect_remote(P);
    release_kept_pools(P);
#if RCY_CHECK_LEVEL >= 3
    validate_pools(P);
#endif
    rcy_arena *a = P->all;
    while (a) {
        rcy_arena *next = a->all_next;
        if (a->nfree == RCY_ARENA_POOLS) {
            arena_free(P, a); /* the reserve too: purge means everything */
        } else {
            P->bytes_released_total += purge_arena(P, a);
            P->bytes_released_total += purge_used_pools(P, a);
        }
        a = next;
    }
    return P->bytes_released_total - before;
}

void rcy__pools_init(rcy_pools *P, void *owner)
{
    memset(P, 0, sizeof *P);
    P->owner = owner;
    P->purge_delay_ms = RCY_PURGE_DELAY_MS;
    P->page_size = rcy__os_page_size();
    classes_init(P);
}

void rcy__pools_fini(rcy_pools *P)
{
    while (P->all) {
        rcy_arena *a = P->all;
        P->all = a->all_next;
        arena_unmap(a);
    }
    classes_fini(P);
    memset(P, 0, sizeof *P);
}

RCY_NOINLINE void rcy__pool_free_edge(rcy_pools *P, rcy_pool *pool, uint32_t used)
{
    if (used == 0 && rcy__pool_kept(pool))
        rcy__pools_decay(rcy__pool_arena(pool)->home);
    else if (used == 0 || used > RCY_MAX_BLOCKS || !pool->listed)
        rcy__pool_free_slow(P, pool);
}
