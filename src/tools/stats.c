/* SPDX-License-Identifier: MIT */
/* stats: memory statistics and the readable report (the counterpart of
 * sys._debugmallocstats). Nothing is counted on the hot paths: the report
 * walks the arenas and reads each used pool's header, so statistics cost
 * nothing until asked for. */
#include <string.h>

#include "mem/mem.h"

/* A pool serving a class. One left empty for its class (pool.c keeps the
   last pool of a class until rcy_purge) counts as an empty pool holding
   pages, not as a used one: a heap with nothing allocated has no used
   pools. */
static void add_pool(rcy_mem_stats *s, const rcy_pool *pool)
{
    if (pool->nused == 0) {
        s->pools_empty_dirty++;
        return;
    }
    s->pools_used++;
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    size_t cap = rcy__pool_capacity(pool->cls);
    rcy_class_stats *c = &s->classes[pool->cls];
    c->pools++;
    c->blocks_used += pool->nused;
    c->blocks_free += cap - pool->nused;
    s->small_bytes_used += pool->nused * bs;
    s->small_bytes_free += (cap - pool->nused) * bs;
    s->quantization_bytes += RCY_POOL_SIZE - cap * bs;
}

/* The memory budget's count and how often its limits acted. */
static void add_budget(rcy_mem_stats *s, const rcy_budget *B)
{
    s->bytes_held = rcy__budget_held(B);
    s->limit_soft_reactions = B->soft_reactions;
    s->limit_hard_reactions = B->hard_reactions;
    s->limit_failures = B->failures;
    s->limit_reaction_ns = (size_t)(B->reaction_seconds * 1e9);
}

void rcy_mem_get_stats(rcy_heap *h, rcy_mem_stats *s)
{
    rcy__pools_collect_remote(&rcy__mem_of(h)->pools); /* other threads' frees count */
    const rcy_mem *M = rcy__mem_of(h);
    const rcy_pools *P = &M->pools;
    memset(s, 0, sizeof *s);
    for (unsigned c = 0; c < RCY_CLASS_COUNT; c++)
        s->classes[c].block_size = RCY_CLASS_SIZE(c);
    for (const rcy_arena *a = P->all; a; a = a->all_next) {
        uint64_t empty = a->free_dirty | a->free_clean;
        for (unsigned i = RCY_ARENA_FIRST_POOL; i < RCY_POOLS_PER_ARENA; i++)
            if (!((empty >> i) & 1))
                add_pool(s, &a->pools[i]);
        s->pools_empty_dirty += (size_t)__builtin_popcountll(a->free_dirty);
        s->pools_empty_clean += (size_t)__builtin_popcountll(a->free_clean);
    }
    s->arenas_allocated = P->arenas_allocated;
    s->arenas_released = P->arenas_released;
    s->arenas_highwater = P->arenas_highwater;
    s->arenas_current = P->arenas_current;
    s->pools_total = P->arenas_current * RCY_ARENA_POOLS;
    s->pool_header_bytes = P->arenas_current * sizeof(rcy_arena);
    s->large_blocks = M->large.count;
    s->large_bytes = M->large.bytes;
    s->bytes_mapped = P->arenas_current * RCY_ARENA_SIZE;
    s->bytes_committed = rcy__pools_committed(P);
    s->bytes_released_total = P->bytes_released_total;
    s->bytes_in_use = s->small_bytes_used + s->large_bytes;
    s->peak_bytes_committed = P->peak_committed;
    add_budget(s, &M->budget);
}

static void print_line(FILE *out, const char *what, size_t n)
{
    fprintf(out, "# %-34s = %12zu\n", what, n);
}

void rcy_mem_print_stats(rcy_heap *h, FILE *out)
{
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    fprintf(out, "Small block threshold = %d, in %d size classes.\n\n", RCY_SMALL_MAX,
            RCY_SIZE_CLASSES);
    fprintf(out, "class   size   num pools   blocks in use  avail blocks\n");
    fprintf(out, "-----   ----   ---------   -------------  ------------\n");
    for (unsigned c = 0; c < RCY_SIZE_CLASSES; c++) {
        const rcy_class_stats *k = &s.classes[c];
        if (k->pools)
            fprintf(out, "%5u %6zu %11zu %15zu %13zu\n", c, k->block_size, k->pools, k->blocks_used,
                    k->blocks_free);
    }
    fputc('\n', out);
    print_line(out, "arenas allocated total", s.arenas_allocated);
    print_line(out, "arenas released", s.arenas_released);
    print_line(out, "arenas highwater mark", s.arenas_highwater);
    print_line(out, "arenas allocated current", s.arenas_current);
    print_line(out, "pools in use", s.pools_used);
    print_line(out, "empty pools holding pages", s.pools_empty_dirty);
    print_line(out, "empty pools given back", s.pools_empty_clean);
    print_line(out, "bytes in allocated blocks", s.small_bytes_used);
    print_line(out, "bytes in available blocks", s.small_bytes_free);
    print_line(out, "bytes in pool and arena headers", s.pool_header_bytes);
    print_line(out, "bytes lost to quantization", s.quantization_bytes);
    print_line(out, "large blocks", s.large_blocks);
    print_line(out, "bytes in large blocks", s.large_bytes);
    print_line(out, "bytes mapped for arenas", s.bytes_mapped);
    print_line(out, "bytes committed", s.bytes_committed);
    print_line(out, "peak bytes committed", s.peak_bytes_committed);
    print_line(out, "bytes given back to the OS (total)", s.bytes_released_total);
    print_line(out, "total bytes in use", s.bytes_in_use);
    print_line(out, "bytes held (the memory budget's)", s.bytes_held);
    print_line(out, "soft limit reactions", s.limit_soft_reactions);
    print_line(out, "hard limit reactions (emergency)", s.limit_hard_reactions);
    print_line(out, "allocations refused by hard limit", s.limit_failures);
    print_line(out, "time in limit reactions (ms)", s.limit_reaction_ns / 1000000);
}
