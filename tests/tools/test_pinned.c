/* SPDX-License-Identifier: MIT */
/* test_pinned: pinned pools, the purge estimate and the arena map
 * (tools/pinned.c) on a heap built so that the answers are known: pools
 * of which one block in 512 stays live, a full pool, raw blocks; the
 * estimate is held to what rcy_purge then gives back. */
#include <errno.h>

#include "check.h"

static const rcy_type leaf_type = {"leaf", 24, NULL, NULL, NULL, 0}; /* 32-byte blocks */

enum { POOLS = 20, PER_POOL = 512 };

typedef struct map_count {
    size_t arenas, chars[128];
} map_count;

static void count_map(const void *base, const char *pools, void *arg)
{
    map_count *m = arg;
    CHECK(base != NULL);
    CHECK_EQ(strlen(pools), 64);
    m->arenas++;
    for (const char *c = pools; *c; c++)
        m->chars[(unsigned char)*c]++;
}

static void test_pinned_pools(void)
{
    rcy_heap *h = check_new_heap();
    static void *objs[(POOLS + 1) * PER_POOL];
    for (size_t i = 0; i < (POOLS + 1) * PER_POOL; i++)
        objs[i] = rcy_new(h, &leaf_type);
    /* in the first POOLS pools keep one block (the 100th of each); the last
       pool stays full */
    void *kept[POOLS];
    for (size_t p = 0; p < POOLS; p++)
        for (size_t k = 0; k < PER_POOL; k++) {
            void *o = objs[p * PER_POOL + k];
            if (k == 100)
                kept[p] = o;
            else
                rcy_decref(o);
        }
    rcy_pinned_pool out[64];
    size_t bytes = 0;
    size_t n = rcy_pinned_pools(h, 0.25, out, 64, &bytes);
    CHECK_EQ(n, POOLS);
    CHECK_EQ(bytes, POOLS * (16384 - 32));
    int all_kept = 1;
    for (size_t i = 0; i < n && i < 64; i++) {
        CHECK_EQ(out[i].live, 1);
        CHECK_EQ(out[i].capacity, PER_POOL);
        CHECK_EQ(out[i].block_size, 32);
        CHECK(out[i].type == &leaf_type);
        int found = 0;
        for (size_t p = 0; p < POOLS; p++)
            found |= out[i].first_live == kept[p];
        all_kept &= found;
    }
    CHECK(all_kept);
    CHECK_EQ(rcy_pinned_pools(h, 0.25, out, 3, NULL), POOLS); /* max bounds only out */
    CHECK_EQ(rcy_pinned_pools(h, 0.0, NULL, 0, NULL), 0);     /* none is empty */
    CHECK_EQ(rcy_pinned_pools(h, 1.0, NULL, 0, NULL), POOLS + 1);

    map_count m = {0};
    rcy_arena_map(h, count_map, &m);
    CHECK(m.arenas >= 1);
    CHECK_EQ(m.chars['0'], POOLS); /* 1 of 512: under a tenth */
    CHECK_EQ(m.chars['#'], 1);

    /* the estimate is what rcy_purge gives back */
    rcy_purge_estimate e;
    rcy_purge_estimate_get(h, &e);
    CHECK(e.free_page_bytes > 0);
    CHECK_EQ(e.total, e.empty_pool_bytes + e.free_page_bytes);
    size_t released = rcy_purge(h);
    CHECK_EQ(e.total, released);
    rcy_purge_estimate_get(h, &e);
    CHECK_EQ(e.total, 0);
    CHECK_EQ(rcy_purge(h), 0);

    /* pages given back: pinned pools hold less, the map says so */
    size_t after = 0;
    CHECK_EQ(rcy_pinned_pools(h, 0.25, out, 64, &after), POOLS);
    CHECK(after < bytes);
    memset(&m, 0, sizeof m);
    rcy_arena_map(h, count_map, &m);
    CHECK_EQ(m.chars['p'] + m.chars['0'], POOLS);
    CHECK(m.chars['p'] > 0 || e.free_page_bytes == 0);

    for (size_t p = 0; p < POOLS; p++)
        rcy_decref(kept[p]);
    for (size_t k = 0; k < PER_POOL; k++)
        rcy_decref(objs[POOLS * PER_POOL + k]);
    rcy_heap_destroy(h);
}

static void test_raw_blocks(void)
{
    rcy_heap *h = check_new_heap();
    enum { N = 1024 }; /* 16-byte blocks: 1024 a pool */
    static void *b[4 * N];
    for (size_t i = 0; i < 4 * N; i++)
        b[i] = rcy_malloc(h, 16);
    for (size_t i = 0; i < 4 * N; i++)
        if (i % N != 7)
            rcy_free(h, b[i]);
    rcy_pinned_pool out[8];
    CHECK_EQ(rcy_pinned_pools(h, 0.01, out, 8, NULL), 4);
    CHECK(out[0].type == NULL && out[0].live == 1 && out[0].block_size == 16);
    CHECK(out[0].first_live == b[7] || out[0].first_live == b[N + 7] ||
          out[0].first_live == b[2 * N + 7] || out[0].first_live == b[3 * N + 7]);
    rcy_purge_estimate e;
    rcy_purge_estimate_get(h, &e);
    CHECK_EQ(e.total, rcy_purge(h));
    for (size_t i = 0; i < 4; i++)
        rcy_free(h, b[i * N + 7]);
    rcy_purge_estimate_get(h, &e);
    CHECK_EQ(e.total, rcy_purge(h));
    CHECK_EQ(rcy_pinned_pools(h, 1.0, NULL, 0, NULL), 0);
    rcy_heap_destroy(h);
}

static void test_bad_arguments(void)
{
    rcy_heap *h = check_new_heap();
    size_t bytes = 1;
    errno = 0;
    CHECK_EQ(rcy_pinned_pools(NULL, 0.5, NULL, 0, &bytes), 0);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(bytes, 0);
    errno = 0;
    CHECK_EQ(rcy_pinned_pools(h, 1.5, NULL, 0, NULL), 0);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_pinned_pools(h, -0.1, NULL, 0, NULL), 0);
    CHECK_EQ(errno, EINVAL);
    rcy_purge_estimate e = {1, 1, 1};
    rcy_purge_estimate_get(NULL, &e);
    CHECK_EQ(e.total, 0);
    rcy_purge_estimate_get(h, NULL); /* nothing to fill: no crash */
    rcy_arena_map(NULL, count_map, NULL);
    rcy_arena_map(h, NULL, NULL);
    errno = 0;
    CHECK(rcy_census_take(NULL) == NULL);
    CHECK_EQ(errno, EINVAL);
    size_t n = 5;
    CHECK(rcy_census_entries(NULL, &n) == NULL && n == 0);
    CHECK_EQ(rcy_census_growth_of(NULL, NULL, NULL, 0), 0);
    rcy_heap_destroy(h);
}

int main(void)
{
    test_bad_arguments();
    test_pinned_pools();
    test_raw_blocks();
    return check_summary("test_pinned");
}
