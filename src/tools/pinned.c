/* SPDX-License-Identifier: MIT */
/* pinned: the pools a few live blocks hold, what a purge would give back
 * now, and a picture of each arena's pools.
 *
 * All of it is read from the arenas' pool headers (count in use, bump
 * pointer, free list, pages given back), without touching a live block:
 * a pool's free list is walked only to find one live block of a pinned
 * pool, or the free pages of a pool in use. The purge estimate follows
 * rcy_purge's rules (pool.c, pages.c): an empty pool (kept for its class,
 * or waiting with its pages) gives back its pages not yet given back; a
 * pool in use gives back each page below its bump pointer every block of
 * which is on its free list. tests/tools/test_pinned.c holds it to
 * rcy_purge's own count. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem/mem.h"
#include "util/sys.h"

/* A free block's successor on its pool's free list: its first word. */
static char *free_next(const void *b)
{
    return *(char *const *)b;
}

static size_t pages_per_pool(const rcy_pools *P)
{
    size_t n = P->page_size ? RCY_POOL_SIZE / P->page_size : 0;
    return n >= 2 && n <= 8 ? n : 0;
}

/* The free slots of a pool in use, from its free list: bit i for block i. */
static void free_slots(const rcy_pool *pool, uint64_t *bits)
{
    memset(bits, 0, RCY_MAX_BLOCKS / 8);
    char *start = rcy__pool_memory(pool);
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    for (char *b = pool->freelist; b; b = free_next(b)) {
        size_t i = (size_t)(b - start) / bs;
        bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
}

static size_t gone_bytes(const rcy_pools *P, const rcy_pool *pool)
{
    return (size_t)__builtin_popcount(rcy__pool_arena(pool)->gone[pool->index]) * P->page_size;
}

/* A live block of a pool in use: off its free list, on no page given back. */
static const void *a_live_block(const rcy_pools *P, const rcy_pool *pool)
{
    uint64_t bits[RCY_MAX_BLOCKS / 64];
    free_slots(pool, bits);
    char *start = rcy__pool_memory(pool);
    size_t bs = RCY_CLASS_SIZE(pool->cls), handed = (size_t)(pool->bump - start) / bs;
    uint8_t gone = rcy__pool_arena(pool)->gone[pool->index];
    for (size_t i = 0; i < handed; i++) {
        if ((bits[i / 64] >> (i % 64)) & 1)
            continue;
        size_t lo = i * bs / P->page_size, hi = (i * bs + bs - 1) / P->page_size;
        if (gone && hi < 8 && ((gone >> lo) | (gone >> hi)) & 1)
            continue;
        const char *b = start + i * bs;
        return pool->tag ? b + sizeof(rcy_objhead) : b;
    }
    return NULL;
}

/* Pages of a pool in use that a purge would give back now. */
static size_t free_page_bytes(const rcy_pools *P, const rcy_pool *pool)
{
    size_t npages = pages_per_pool(P);
    if (!npages || !pool->freelist)
        return 0;
    uint64_t bits[RCY_MAX_BLOCKS / 64];
    free_slots(pool, bits);
    size_t bs = RCY_CLASS_SIZE(pool->cls), cap = rcy__pool_capacity(pool->cls);
    size_t handed = (size_t)(pool->bump - rcy__pool_memory(pool)) / bs;
    uint8_t gone = rcy__pool_arena(pool)->gone[pool->index];
    size_t bytes = 0;
    for (size_t j = 0; j < npages; j++) {
        size_t first = j * P->page_size / bs, last = (j * P->page_size + P->page_size - 1) / bs;
        if (first >= cap || ((gone >> j) & 1))
            continue;
        if (last >= cap)
            last = cap - 1;
        if (last >= handed)
            continue;
        int all_free = 1;
        for (size_t i = first; i <= last && all_free; i++)
            all_free = (int)((bits[i / 64] >> (i % 64)) & 1);
        bytes += all_free ? P->page_size : 0;
    }
    return bytes;
}

static int pool_in_use(const rcy_arena *a, unsigned i)
{
    return i >= RCY_ARENA_FIRST_POOL && !(((a->free_dirty | a->free_clean) >> i) & 1);
}

void rcy_purge_estimate_get(rcy_heap *h, rcy_purge_estimate *e)
{
    if (!e)
        return;
    memset(e, 0, sizeof *e);
    if (!h)
        return;
    rcy_pools *P = &rcy__mem_of(h)->pools;
    rcy__pools_collect_remote(P);
    for (const rcy_arena *a = P->all; a; a = a->all_next) {
        for (unsigned i = RCY_ARENA_FIRST_POOL; i < RCY_POOLS_PER_ARENA; i++) {
            const rcy_pool *pool = &a->pools[i];
            if ((a->free_dirty >> i) & 1 || (pool_in_use(a, i) && pool->nused == 0))
                e->empty_pool_bytes += RCY_POOL_SIZE - gone_bytes(P, pool);
            else if (pool_in_use(a, i))
                e->free_page_bytes += free_page_bytes(P, pool);
        }
    }
    e->total = e->empty_pool_bytes + e->free_page_bytes;
}

static int by_live(const void *x, const void *y)
{
    const rcy_pinned_pool *a = x, *b = y;
    if (a->live != b->live)
        return a->live < b->live ? -1 : 1;
    return (uintptr_t)a->pool < (uintptr_t)b->pool ? -1 : (uintptr_t)a->pool > (uintptr_t)b->pool;
}

static rcy_pinned_pool describe(const rcy_pools *P, const rcy_pool *pool)
{
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    return (rcy_pinned_pool){rcy__pool_memory(pool),
                             bs,
                             pool->tag,
                             pool->nused,
                             rcy__pool_capacity(pool->cls),
                             RCY_POOL_SIZE - gone_bytes(P, pool),
                             a_live_block(P, pool)};
}

size_t rcy_pinned_pools(rcy_heap *h, double max_fill, rcy_pinned_pool *out, size_t max,
                        size_t *pinned_bytes)
{
    if (pinned_bytes)
        *pinned_bytes = 0;
    if (!h || !(max_fill >= 0 && max_fill <= 1)) {
        errno = EINVAL;
        return 0;
    }
    rcy_pools *P = &rcy__mem_of(h)->pools;
    rcy__pools_collect_remote(P);
    size_t found = 0, bytes = 0, cap = 0;
    rcy_pinned_pool *all = NULL;
    int failed = 0;
    for (const rcy_arena *a = P->all; a; a = a->all_next) {
        for (unsigned i = RCY_ARENA_FIRST_POOL; i < RCY_POOLS_PER_ARENA; i++) {
            const rcy_pool *pool = &a->pools[i];
            if (!pool_in_use(a, i) || pool->nused == 0 ||
                (double)pool->nused > max_fill * (double)rcy__pool_capacity(pool->cls))
                continue;
            rcy_pinned_pool d = describe(P, pool);
            bytes += d.held_bytes - d.live * d.block_size;
            if (out && found == cap && !failed) {
                cap = cap ? 2 * cap : 64;
                rcy_pinned_pool *more = rcy__sys_realloc(all, cap * sizeof *all);
                failed = !more;
                all = more ? more : all;
            }
            if (out && !failed)
                all[found] = d;
            found++;
        }
    }
    if (out && !failed && found) {
        qsort(all, found, sizeof *all, by_live);
        memcpy(out, all, (found < max ? found : max) * sizeof *all);
    }
    rcy__sys_free(all);
    if (failed)
        errno = ENOMEM;
    if (pinned_bytes)
        *pinned_bytes = bytes;
    return found;
}

static char pool_char(const rcy_arena *a, unsigned i)
{
    const rcy_pool *pool = &a->pools[i];
    if (i < RCY_ARENA_FIRST_POOL)
        return 'h';
    if ((a->free_clean >> i) & 1)
        return '.';
    if ((a->free_dirty >> i) & 1 || pool->nused == 0)
        return 'e';
    if (a->gone[i])
        return 'p';
    size_t cap = rcy__pool_capacity(pool->cls);
    if (pool->nused >= cap)
        return '#';
    return (char)('0' + (size_t)pool->nused * 10 / cap);
}

void rcy_arena_map(rcy_heap *h, rcy_arena_fn fn, void *arg)
{
    if (!h || !fn)
        return;
    rcy_pools *P = &rcy__mem_of(h)->pools;
    rcy__pools_collect_remote(P);
    char pools[RCY_POOLS_PER_ARENA + 1];
    for (const rcy_arena *a = P->all; a; a = a->all_next) {
        for (unsigned i = 0; i < RCY_POOLS_PER_ARENA; i++)
            pools[i] = pool_char(a, i);
        pools[RCY_POOLS_PER_ARENA] = '\0';
        fn(rcy__arena_base(a), pools, arg);
    }
}
