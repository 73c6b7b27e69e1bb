/* SPDX-License-Identifier: MIT */
/* census: live objects and blocks by type, and the growth between two
 * censuses (objgraph's typestats and show_growth).
 *
 * A pool serves one type (its tag), so a census reads pool headers only:
 * each pool in use adds its count of blocks in use and their bytes to its
 * type's line; large blocks add one each. Cost: O(pools + large blocks),
 * not O(objects). rcy_malloc's blocks form one line of type NULL. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem/mem.h"
#include "util/ptrmap.h"
#include "util/sys.h"

#define RAW_NAME "(raw blocks)"

struct rcy_census {
    rcy_census_entry *items;
    size_t n, cap;
    rcy_ptrmap index; /* type (1 for NULL) -> item + 1 */
};

static uintptr_t key_of(const rcy_type *t)
{
    return t ? (uintptr_t)t : 1;
}

static int add(rcy_census *c, const rcy_type *t, size_t count, size_t bytes)
{
    void **v = rcy__ptrmap_insert(&c->index, key_of(t));
    if (!v)
        return -1;
    if (!*v) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 16;
            rcy_census_entry *items = rcy__sys_realloc(c->items, cap * sizeof *items);
            if (!items)
                return -1;
            c->items = items;
            c->cap = cap;
        }
        const char *name = t ? (t->name ? t->name : "?") : RAW_NAME;
        c->items[c->n] = (rcy_census_entry){t, name, 0, 0};
        *v = (void *)(uintptr_t)++c->n;
    }
    rcy_census_entry *e = &c->items[(uintptr_t)*v - 1];
    e->count += count;
    e->bytes += bytes;
    return 0;
}

static int add_pools(rcy_census *c, rcy_pools *P)
{
    for (const rcy_arena *a = P->all; a; a = a->all_next) {
        uint64_t in_use = ~(a->free_dirty | a->free_clean) & RCY_ARENA_BLOCK_POOLS;
        for (; in_use; in_use &= in_use - 1) {
            const rcy_pool *pool = &a->pools[__builtin_ctzll(in_use)];
            if (pool->nused &&
                add(c, pool->tag, pool->nused, pool->nused * RCY_CLASS_SIZE(pool->cls)))
                return -1;
        }
    }
    return 0;
}

static int add_large(rcy_census *c, const rcy_larges *L)
{
    size_t cur = 0;
    for (unsigned kind = 0; kind < RCY_KINDS; kind++, cur = 0)
        for (void *b; (b = rcy__larges_next(L, kind, &cur));)
            if (add(c, rcy__large_header(b)->tag, 1, rcy__large_header(b)->size))
                return -1;
    return 0;
}

static int by_bytes(const void *x, const void *y)
{
    const rcy_census_entry *a = x, *b = y;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    return strcmp(a->name, b->name);
}

rcy_census *rcy_census_take(rcy_heap *h)
{
    if (!h) {
        errno = EINVAL;
        return NULL;
    }
    rcy_census *c = rcy__sys_calloc(1, sizeof *c);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    rcy_mem *M = rcy__mem_of(h);
    rcy__pools_collect_remote(&M->pools);
    if (add_pools(c, &M->pools) || add_large(c, &M->large)) {
        rcy_census_free(c);
        errno = ENOMEM;
        return NULL;
    }
    if (c->n)
        qsort(c->items, c->n, sizeof *c->items, by_bytes);
    for (size_t i = 0; i < c->n; i++)
        *rcy__ptrmap_find(&c->index, key_of(c->items[i].type)) = (void *)(uintptr_t)(i + 1);
    return c;
}

void rcy_census_free(rcy_census *c)
{
    if (!c)
        return;
    rcy__ptrmap_fini(&c->index);
    rcy__sys_free(c->items);
    rcy__sys_free(c);
}

const rcy_census_entry *rcy_census_entries(const rcy_census *c, size_t *n)
{
    if (n)
        *n = c ? c->n : 0;
    return c ? c->items : NULL;
}

static const rcy_census_entry *find(const rcy_census *c, const rcy_type *t)
{
    void **v = rcy__ptrmap_find(&c->index, key_of(t));
    return v ? &c->items[(uintptr_t)*v - 1] : NULL;
}

static int by_growth(const void *x, const void *y)
{
    const rcy_census_growth *a = x, *b = y;
    if (a->count_delta != b->count_delta)
        return a->count_delta < b->count_delta ? 1 : -1;
    if (a->bytes_delta != b->bytes_delta)
        return a->bytes_delta < b->bytes_delta ? 1 : -1;
    return strcmp(a->name, b->name);
}

size_t rcy_census_growth_of(const rcy_census *before, const rcy_census *after,
                            rcy_census_growth *out, size_t max)
{
    if (!before || !after)
        return 0;
    size_t grew = 0;
    rcy_census_growth *all = rcy__sys_malloc((after->n ? after->n : 1) * sizeof *all);
    for (size_t i = 0; i < after->n; i++) {
        const rcy_census_entry *e = &after->items[i], *old = find(before, e->type);
        long long dc = (long long)e->count - (long long)(old ? old->count : 0);
        long long db = (long long)e->bytes - (long long)(old ? old->bytes : 0);
        if (dc <= 0)
            continue;
        if (all)
            all[grew] = (rcy_census_growth){e->type, e->name, e->count, e->bytes, dc, db};
        grew++;
    }
    if (!all) {
        errno = ENOMEM;
        return 0;
    }
    qsort(all, grew, sizeof *all, by_growth);
    if (out)
        memcpy(out, all, (grew < max ? grew : max) * sizeof *all);
    rcy__sys_free(all);
    return grew;
}
