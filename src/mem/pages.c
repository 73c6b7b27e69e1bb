/* SPDX-License-Identifier: MIT */
/* pages: page-granular purge, the free pages inside pools still in use.
 *
 * A pool in use whose free blocks cover whole pages (one live block per
 * pool pins 16 KiB otherwise) gives those pages back: rcy__pool_purge_pages
 * finds the pages every block of which is free (its free list, below the
 * bump pointer), decommits them, marks them in the arena's gone[] mask and
 * takes the blocks overlapping them off the free list: their links would
 * read as zero. Those blocks are parked, free but unlisted. When the pool
 * has no other free block left, rcy__pool_reclaim_pages lists them again
 * (their pages fault back in then), before the pool would count as full.
 *
 * Invariants: a gone page of a pool in use holds no live block and no
 * listed one; every block overlapping a gone page is free; the pool's
 * gone pages are counted in rcy_pools.gone_pages until the pool is set up
 * anew (rcy__pool_forget_pages: the bump pointer faults them back in) or
 * its remaining pages are given back too. Pages past the bump pointer are
 * left alone: the bump pointer may hand them out without looking. */
#include <string.h>

#include "mem/pool.h"
#include "os/os.h"

/* A free block's link, its first word (blocks are 8-byte aligned). */
static void **link_of(void *b)
{
    return (void **)b;
}

/* Pages per pool, when page-granular purge applies: 2 to 8 (a gone mask is
   8 bits); 0 otherwise (pages of 16 KiB or more, or under 2 KiB). */
static unsigned pages_per_pool(const rcy_pools *P)
{
    size_t n = P->page_size ? RCY_POOL_SIZE / P->page_size : 0;
    return n >= 2 && n <= 8 ? (unsigned)n : 0;
}

static uint8_t *gone_mask(rcy_pool *pool)
{
    return &rcy__pool_arena(pool)->gone[pool->index];
}

/* The blocks overlapping page j: [*first, *last], within the pool's
   capacity; 0 if none (a page of the tail past the last whole block). */
static int page_blocks(const rcy_pools *P, const rcy_pool *pool, unsigned j, size_t *first,
                       size_t *last)
{
    size_t bs = RCY_CLASS_SIZE(pool->cls), cap = rcy__pool_capacity(pool->cls);
    size_t lo = j * P->page_size, hi = lo + P->page_size - 1;
    *first = lo / bs;
    *last = hi / bs < cap ? hi / bs : cap - 1;
    return *first < cap;
}

/* The page mask of the blocks [first, last]. */
static uint8_t pages_of(const rcy_pools *P, const rcy_pool *pool, size_t i)
{
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    size_t lo = i * bs / P->page_size, hi = (i * bs + bs - 1) / P->page_size;
    return (uint8_t)(((1u << (hi + 1)) - 1) & ~((1u << lo) - 1));
}

/* Pages of the pool below its bump pointer whose blocks are all free. */
static uint8_t free_pages(const rcy_pools *P, rcy_pool *pool, unsigned npages)
{
    uint64_t free_bits[RCY_MAX_BLOCKS / 64] = {0};
    char *start = rcy__pool_memory(pool);
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    size_t handed = (size_t)(pool->bump - start) / bs;
    for (char *b = pool->freelist; b; b = *link_of(b)) {
        size_t i = (size_t)(b - start) / bs;
        free_bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
    uint8_t found = 0;
    for (unsigned j = 0; j < npages; j++) {
        size_t first, last;
        if (!page_blocks(P, pool, j, &first, &last) || last >= handed)
            continue; /* past the last whole block, or reaching the bump pointer */
        int all_free = 1;
        for (size_t i = first; i <= last && all_free; i++)
            all_free = ((free_bits[i / 64] >> (i % 64)) & 1) != 0;
        if (all_free)
            found |= (uint8_t)(1u << j);
    }
    return found;
}

/* Keeps on the free list only the blocks that overlap no page of gone, in
   their order. */
static void unlist_blocks_on(const rcy_pools *P, rcy_pool *pool, uint8_t gone)
{
    char *start = rcy__pool_memory(pool);
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    void **tail = &pool->freelist;
    for (char *b = pool->freelist; b;) {
        char *next = *link_of(b);
        if (!(pages_of(P, pool, (size_t)(b - start) / bs) & gone)) {
            *tail = b;
            tail = link_of(b);
        }
        b = next;
    }
    *tail = NULL;
}

/* Adds [p, p + n) to the run of pages waiting to be decommitted; a page
   not adjacent to the run decommits the run first: one system call for
   the pages of neighbouring pools. */
static void decommit_later(rcy_page_run *run, char *p, size_t n)
{
    if (run->start && run->start + run->len == p) {
        run->len += n;
        return;
    }
    rcy__pages_flush(run);
    run->start = p;
    run->len = n;
}

void rcy__pages_flush(rcy_page_run *run)
{
    if (run->start)
        rcy__os_decommit(run->start, run->len);
    run->start = NULL;
    run->len = 0;
}

size_t rcy__pool_purge_pages(rcy_pools *P, rcy_pool *pool, rcy_page_run *run)
{
    unsigned npages = pages_per_pool(P);
    if (!npages || !pool->freelist)
        return 0;
    uint8_t *gone = gone_mask(pool);
    uint8_t fresh = (uint8_t)(free_pages(P, pool, npages) & ~*gone);
    if (!fresh)
        return 0;
    unlist_blocks_on(P, pool, fresh);
    char *start = rcy__pool_memory(pool);
    for (unsigned j = 0; j < npages; j++)
        if ((fresh >> j) & 1)
            decommit_later(run, start + j * P->page_size, P->page_size);
    *gone |= fresh;
    size_t n = (size_t)__builtin_popcount(fresh);
    P->gone_pages += n;
    return n * P->page_size;
}

int rcy__pool_reclaim_pages(rcy_pools *P, rcy_pool *pool)
{
    uint8_t *gone = gone_mask(pool);
    if (!*gone)
        return 0;
    char *start = rcy__pool_memory(pool);
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    size_t handed = (size_t)(pool->bump - start) / bs;
    for (size_t i = handed; i-- > 0;) /* pushed last to first: listed in address order */
        if (pages_of(P, pool, i) & *gone) {
            *link_of(start + i * bs) = pool->freelist;
            pool->freelist = start + i * bs;
        }
    P->gone_pages -= (size_t)__builtin_popcount(*gone);
    *gone = 0;
    return 1;
}

size_t rcy__pool_gone_bytes(const rcy_pools *P, rcy_pool *pool)
{
    return (size_t)__builtin_popcount(*gone_mask(pool)) * P->page_size;
}

size_t rcy__pool_forget_pages(rcy_pools *P, rcy_pool *pool)
{
    uint8_t *gone = gone_mask(pool);
    size_t n = (size_t)__builtin_popcount(*gone);
    P->gone_pages -= n;
    *gone = 0;
    return n * P->page_size;
}
