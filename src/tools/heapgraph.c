/* SPDX-License-Identifier: MIT */
/* heapgraph: the numbered snapshot of a heap's live objects (heapgraph.h).
 *
 * Building it reads each arena's pool headers, then, for each pool of
 * objects, walks its free list (and its pages given back) to tell the free
 * slots from the live ones: the cost is the pools' slots plus their free
 * blocks, with no access to a live object. */
#include <errno.h>
#include <string.h>

#include "gc/gc.h"
#include "tools/heapgraph.h"
#include "util/sys.h"

/* A free block's successor on its pool's free list: its first word. */
static char *free_next(const void *b)
{
    return *(char *const *)b;
}

/* A pool holds objects when it is in use and its blocks are a type's. */
static int pool_has_objects(const rcy_arena *a, unsigned i)
{
    const rcy_pool *pool = &a->pools[i];
    if (((a->free_dirty | a->free_clean) >> i) & 1 || pool->nused == 0)
        return 0;
    return pool->kind == RCY_KIND_OBJECTS || pool->tag != NULL;
}

static uint32_t pool_slots(const rcy_pool *pool)
{
    return (uint32_t)((size_t)(pool->bump - rcy__pool_memory(pool)) / RCY_CLASS_SIZE(pool->cls));
}

static int arenas_index(rcy_hgraph *g, const rcy_pools *P)
{
    size_t na = 0;
    for (const rcy_arena *a = P->all; a; a = a->all_next)
        na++;
    size_t cap = 16;
    while (cap < 4 * na)
        cap *= 2;
    g->amask = cap - 1;
    g->narenas = na;
    g->akey = rcy__sys_calloc(cap, sizeof *g->akey);
    g->aord = rcy__sys_calloc(cap, sizeof *g->aord);
    g->pools = rcy__sys_malloc((na ? na : 1) * RCY_POOLS_PER_ARENA * sizeof *g->pools);
    if (!g->akey || !g->aord || !g->pools)
        return -1;
    uint32_t ord = 0;
    for (const rcy_arena *a = P->all; a; a = a->all_next, ord++) {
        uintptr_t key = ((uintptr_t)rcy__arena_base(a) >> RCY_ARENA_SHIFT) + 1;
        size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull >> 40) & g->amask;
        while (g->akey[i])
            i = (i + 1) & g->amask;
        g->akey[i] = key;
        g->aord[i] = ord;
    }
    return 0;
}

/* Numbers every pool's slots; returns the total, or SIZE_MAX when too many
   for 32-bit node numbers. */
static size_t number_pools(rcy_hgraph *g, const rcy_pools *P)
{
    size_t n = 0, ord = 0;
    for (const rcy_arena *a = P->all; a; a = a->all_next, ord++) {
        for (unsigned i = 0; i < RCY_POOLS_PER_ARENA; i++) {
            rcy_hg_pool *pl = &g->pools[ord * RCY_POOLS_PER_ARENA + i];
            pl->base = RCY_HG_NONE;
            if (i < RCY_ARENA_FIRST_POOL || !pool_has_objects(a, i))
                continue;
            const rcy_pool *pool = &a->pools[i];
            pl->stride = (uint32_t)RCY_CLASS_SIZE(pool->cls);
            pl->recip = (uint32_t)((((uint64_t)1 << 32) + pl->stride - 1) / pl->stride);
            pl->count = pool_slots(pool);
            pl->base = (uint32_t)n;
            n += pl->count;
            if (n >= RCY_HG_NONE)
                return SIZE_MAX;
        }
    }
    return n;
}

/* 1 if block k of the pool overlaps one of its pages given back. */
static int on_gone_page(const rcy_pools *P, const rcy_pool *pool, size_t k)
{
    uint8_t gone = rcy__pool_arena(pool)->gone[pool->index];
    if (!gone || !P->page_size)
        return 0;
    size_t bs = RCY_CLASS_SIZE(pool->cls);
    size_t lo = k * bs / P->page_size, hi = (k * bs + bs - 1) / P->page_size;
    for (size_t j = lo; j <= hi && j < 8; j++)
        if ((gone >> j) & 1)
            return 1;
    return 0;
}

static void fill_pool(rcy_hgraph *g, const rcy_pools *P, const rcy_pool *pool,
                      const rcy_hg_pool *pl)
{
    char *mem = rcy__pool_memory(pool);
    void **obj = g->obj + pl->base;
    for (uint32_t k = 0; k < pl->count; k++)
        obj[k] = mem + (size_t)k * pl->stride + sizeof(rcy_objhead);
    for (char *b = pool->freelist; b; b = free_next(b))
        obj[(size_t)(b - mem) / pl->stride] = NULL;
    if (rcy__pool_arena(pool)->gone[pool->index])
        for (uint32_t k = 0; k < pl->count; k++)
            if (on_gone_page(P, pool, k))
                obj[k] = NULL;
    g->live += pool->nused;
}

static size_t count_large_objects(const rcy_larges *L)
{
    size_t n = 0, cur = 0;
    for (unsigned kind = 0; kind < RCY_KINDS; kind++, cur = 0)
        for (void *b; (b = rcy__larges_next(L, kind, &cur));)
            n += rcy__large_header(b)->tag != NULL;
    return n;
}

static int add_large_objects(rcy_hgraph *g, const rcy_larges *L, size_t first)
{
    size_t i = first, cur = 0;
    for (unsigned kind = 0; kind < RCY_KINDS; kind++, cur = 0) {
        for (void *b; (b = rcy__larges_next(L, kind, &cur));) {
            if (!rcy__large_header(b)->tag)
                continue;
            void **v = rcy__ptrmap_insert(&g->large, (uintptr_t)b);
            if (!v)
                return -1;
            *v = (void *)(uintptr_t)(i + 1);
            g->obj[i++] = (char *)b + sizeof(rcy_objhead);
            g->live++;
        }
    }
    return 0;
}

static int build(rcy_hgraph *g, rcy_heap *h)
{
    rcy_mem *M = rcy__mem_of(h);
    rcy_pools *P = &M->pools;
    rcy__pools_collect_remote(P); /* other threads' frees are free slots */
    if (arenas_index(g, P))
        return -1;
    size_t n = number_pools(g, P), nlarge = count_large_objects(&M->large);
    if (n == SIZE_MAX || n + nlarge >= RCY_HG_NONE) {
        errno = EOVERFLOW;
        return -1;
    }
    g->n = n + nlarge;
    g->npool = n;
    g->obj = rcy__sys_malloc((g->n ? g->n : 1) * sizeof *g->obj);
    if (!g->obj)
        return -1;
    size_t ord = 0;
    for (const rcy_arena *a = P->all; a; a = a->all_next, ord++)
        for (unsigned i = RCY_ARENA_FIRST_POOL; i < RCY_POOLS_PER_ARENA; i++)
            if (g->pools[ord * RCY_POOLS_PER_ARENA + i].base != RCY_HG_NONE)
                fill_pool(g, P, &a->pools[i], &g->pools[ord * RCY_POOLS_PER_ARENA + i]);
    return add_large_objects(g, &M->large, n);
}

int rcy__hg_build(rcy_hgraph *g, rcy_heap *h)
{
    memset(g, 0, sizeof *g);
    g->h = h;
    if (rcy__gc_of(h)->collecting) {
        errno = EBUSY; /* headers hold the collection's marks */
        return -1;
    }
    if (build(g, h)) {
        int e = errno ? errno : ENOMEM;
        rcy__hg_free(g);
        errno = e;
        return -1;
    }
    return 0;
}

void rcy__hg_free(rcy_hgraph *g)
{
    rcy__sys_free(g->obj);
    rcy__sys_free(g->refs);
    rcy__sys_free(g->akey);
    rcy__sys_free(g->aord);
    rcy__sys_free(g->pools);
    rcy__ptrmap_fini(&g->large);
    memset(g, 0, sizeof *g);
}

typedef struct count_ctx {
    const rcy_hgraph *g;
    uint32_t *refs;
} count_ctx;

static RCY_ALWAYS_INLINE void visit_count(void **slot, void *arg)
{
    count_ctx *c = arg;
    if (!*slot)
        return;
    uint32_t j = rcy__hg_slot(c->g, *slot);
    if (j != RCY_HG_NONE && c->refs[j] != UINT32_MAX)
        c->refs[j]++;
}

int rcy__hg_count_refs(rcy_hgraph *g)
{
    if (!g->refs)
        g->refs = rcy__sys_calloc(g->n ? g->n : 1, sizeof *g->refs);
    if (!g->refs) {
        errno = ENOMEM;
        return -1;
    }
    count_ctx c = {g, g->refs};
    for (size_t i = 0; i < g->n; i++) {
        void *o = g->obj[i];
        if (!o || !rcy__hg_collected(o))
            continue;
        rcy__visit_refs(o, rcy__type(o), visit_count, &c);
    }
    return 0;
}

size_t rcy__hg_bytes(const rcy_hgraph *g, uint32_t i)
{
    const void *o = g->obj[i];
    rcy_arena *a = rcy__object_arena(o);
    if (!a)
        return rcy__large_header(RCY_HEAD(o))->size;
    return RCY_CLASS_SIZE(rcy__pool_of(a, RCY_HEAD(o))->cls);
}
