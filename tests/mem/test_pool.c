/* SPDX-License-Identifier: MIT */
/* The small-block pool allocator: every size class, alignment, reuse,
 * pools filling and draining, arenas coming and going, and the statistics
 * that describe all of it. */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "recycle.h"

#include <stdint.h>
#include <time.h>

#define POOL_SIZE ((size_t)16 * 1024)
#define ARENA_SIZE ((size_t)1024 * 1024)

static int quick; /* RCY_TEST_QUICK=1: smaller sizes (valgrind) */

/* The class a request of n bytes lands in, and that class's block size:
   classes are 8 bytes apart, rcy_malloc uses the multiples of 16. */
static size_t class_of(size_t n)
{
    return n == 0 ? 1 : ((n - 1) >> 4) * 2 + 1;
}
static size_t class_size(size_t n)
{
    return (class_of(n) + 1) * 8;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static int aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

/* Checks the invariants that tie the fields of the stats together. */
static void check_stats_consistent(const rcy_mem_stats *s)
{
    size_t used = 0, freeb = 0, pools = 0;
    for (int c = 0; c < RCY_SIZE_CLASSES; c++) {
        const rcy_class_stats *k = &s->classes[c];
        CHECK_EQ(k->block_size, (size_t)(c + 1) * 8);
        used += k->blocks_used * k->block_size;
        freeb += k->blocks_free * k->block_size;
        pools += k->pools;
        /* blocks of a class fit in its pools */
        CHECK((k->blocks_used + k->blocks_free) * k->block_size <= k->pools * POOL_SIZE);
        if (k->pools == 0)
            CHECK_EQ(k->blocks_used + k->blocks_free, 0);
        if (k->blocks_used > 0)
            CHECK(k->pools > 0);
    }
    /* a used pool is blocks in use, free blocks, a tail too small for a
       block (quantization) and, if it lives inside, its header */
    CHECK(s->small_bytes_used + s->small_bytes_free + s->quantization_bytes <=
          s->pools_used * POOL_SIZE);
    CHECK(s->small_bytes_used + s->small_bytes_free + s->quantization_bytes +
              s->pool_header_bytes >=
          s->pools_used * POOL_SIZE);
    size_t max_tail = 0;
    for (int c = 0; c < RCY_SIZE_CLASSES; c++)
        max_tail += s->classes[c].pools * s->classes[c].block_size;
    CHECK(s->quantization_bytes <= max_tail);
    CHECK_EQ(s->small_bytes_used, used);
    CHECK_EQ(s->small_bytes_free, freeb);
    CHECK_EQ(s->pools_used, pools);
    CHECK_EQ(s->pools_total, s->pools_used + s->pools_empty_dirty + s->pools_empty_clean);
    CHECK_EQ(s->bytes_in_use, s->small_bytes_used + s->large_bytes);
    CHECK(s->arenas_current <= s->arenas_highwater);
    CHECK(s->arenas_highwater <= s->arenas_allocated);
    CHECK_EQ(s->arenas_allocated - s->arenas_released, s->arenas_current);
    CHECK(s->pools_total * POOL_SIZE <= s->arenas_current * ARENA_SIZE);
    CHECK(s->bytes_mapped >= s->arenas_current * ARENA_SIZE);
    CHECK(s->bytes_committed <= s->bytes_mapped);
    CHECK(s->peak_bytes_committed >= s->bytes_committed + s->large_bytes);
    if (s->pools_used > 0)
        CHECK(s->pool_header_bytes > 0);
    if (s->large_blocks == 0)
        CHECK_EQ(s->large_bytes, 0);
    else
        CHECK(s->large_bytes > 0);
}

/* Sizes 0..600 each get a block: aligned, usable over rcy_usable_size
 * bytes, no two overlapping. */
static void test_every_size(void)
{
    enum { MAXN = 600 };
    rcy_heap *h = check_new_heap();
    void *p[MAXN + 1];
    size_t us[MAXN + 1];
    int bad_align = 0, bad_usable = 0, bad_class = 0;
    for (size_t n = 0; n <= MAXN; n++) {
        p[n] = rcy_malloc(h, n);
        CHECK(p[n] != NULL);
        if (!p[n])
            return;
        bad_align += !aligned16(p[n]);
        us[n] = rcy_usable_size(h, p[n]);
        bad_usable += us[n] < n;
        if (n <= RCY_SMALL_MAX && us[n] != class_size(n)) {
            if (bad_class++ < 5)
                fprintf(stderr, "usable_size(malloc(%zu)) = %zu, want %zu\n", n, us[n],
                        class_size(n));
        }
        memset(p[n], (int)(n & 0xff), us[n]);
    }
    CHECK_EQ(bad_align, 0);
    CHECK_EQ(bad_usable, 0);
    CHECK_EQ(bad_class, 0);
    /* every pattern still intact: nothing overlapped */
    int bad_pattern = 0;
    for (size_t n = 0; n <= MAXN; n++) {
        const unsigned char *b = p[n];
        for (size_t i = 0; i < us[n]; i++)
            if (b[i] != (unsigned char)(n & 0xff)) {
                bad_pattern++;
                break;
            }
    }
    CHECK_EQ(bad_pattern, 0);
    /* and by address: sorted ranges [p, p + usable) are disjoint */
    struct {
        void *p;
        size_t u;
    } r[MAXN + 1];
    void *sorted[MAXN + 1];
    memcpy(sorted, p, sizeof sorted);
    qsort(sorted, MAXN + 1, sizeof sorted[0], cmp_ptr);
    for (size_t i = 0; i <= MAXN; i++) {
        r[i].p = sorted[i];
        r[i].u = rcy_usable_size(h, sorted[i]);
    }
    int overlaps = 0;
    for (size_t i = 0; i < MAXN; i++)
        overlaps += (uintptr_t)r[i].p + (r[i].u ? r[i].u : 1) > (uintptr_t)r[i + 1].p;
    CHECK_EQ(overlaps, 0);

    /* the stats see exactly these blocks */
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    size_t want_used[RCY_SIZE_CLASSES] = {0};
    size_t want_large = 0, want_large_bytes = 0;
    for (size_t n = 0; n <= MAXN; n++) {
        if (n <= RCY_SMALL_MAX)
            want_used[class_of(n)]++;
        else {
            want_large++;
            want_large_bytes += n;
        }
    }
    for (int c = 0; c < RCY_SIZE_CLASSES; c++) {
        CHECK_EQ(s.classes[c].blocks_used, want_used[c]);
        CHECK_EQ(s.classes[c].pools, c % 2 == 1); /* rcy_malloc's classes are 16 apart */
    }
    CHECK_EQ(s.large_blocks, want_large);
    CHECK(s.large_bytes >= want_large_bytes);

    for (size_t n = 0; n <= MAXN; n += 2)
        rcy_free(h, p[n]);
    for (size_t n = 1; n <= MAXN; n += 2)
        rcy_free(h, p[n]);
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    for (int c = 0; c < RCY_SIZE_CLASSES; c++)
        CHECK_EQ(s.classes[c].blocks_used, 0);
    CHECK_EQ(s.large_blocks, 0);
    CHECK_EQ(s.large_bytes, 0);
    CHECK_EQ(s.bytes_in_use, 0);
    rcy_heap_destroy(h);
}

/* rcy_malloc(h, 0) gives distinct pointers; rcy_free(h, NULL) is a no-op. */
static void test_zero_and_null(void)
{
    enum { N = 3000 };
    rcy_heap *h = check_new_heap();
    rcy_free(h, NULL);
    void **p = malloc(N * sizeof *p);
    CHECK(p != NULL);
    int nulls = 0, unaligned = 0;
    for (int i = 0; i < N; i++) {
        p[i] = rcy_malloc(h, 0);
        nulls += p[i] == NULL;
        unaligned += !aligned16(p[i]);
    }
    CHECK_EQ(nulls, 0);
    CHECK_EQ(unaligned, 0);
    void **s = malloc(N * sizeof *s);
    memcpy(s, p, N * sizeof *s);
    qsort(s, N, sizeof *s, cmp_ptr);
    int dups = 0;
    for (int i = 1; i < N; i++)
        dups += s[i] == s[i - 1];
    CHECK_EQ(dups, 0);
    free(s);
    rcy_free(h, NULL);
    for (int i = 0; i < N; i++)
        rcy_free(h, p[i]);
    rcy_free(h, NULL);
    free(p);
    rcy_mem_stats st;
    rcy_mem_get_stats(h, &st);
    CHECK_EQ(st.classes[0].blocks_used, 0);
    rcy_heap_destroy(h);
    rcy_heap_destroy(NULL); /* a no-op */
}

/* The free list of a class is LIFO: the block just freed comes back first,
 * for any size of its class. */
static void test_lifo_reuse(void)
{
    rcy_heap *h = check_new_heap();
    int mismatches = 0;
    for (size_t n = 0; n <= RCY_SMALL_MAX; n++) {
        void *keep = rcy_malloc(h, n); /* keeps the pool in use */
        void *p = rcy_malloc(h, n);
        rcy_free(h, p);
        void *q = rcy_malloc(h, n);
        if (q != p && mismatches++ < 5)
            fprintf(stderr, "size %zu: freed %p, got %p\n", n, p, q);
        /* another size of the same class */
        size_t other = class_size(n) - (n % 16 == 0 ? 3 : 0);
        rcy_free(h, q);
        void *r = rcy_malloc(h, other);
        if (r != q && mismatches++ < 5)
            fprintf(stderr, "size %zu then %zu: freed %p, got %p\n", n, other, q, r);
        /* two frees come back in reverse order */
        void *a = rcy_malloc(h, n), *b = rcy_malloc(h, n);
        rcy_free(h, a);
        rcy_free(h, b);
        void *b2 = rcy_malloc(h, n), *a2 = rcy_malloc(h, n);
        if ((b2 != b || a2 != a) && mismatches++ < 5)
            fprintf(stderr, "size %zu: LIFO order broken\n", n);
        rcy_free(h, a2);
        rcy_free(h, b2);
        rcy_free(h, r);
        rcy_free(h, keep);
    }
    CHECK_EQ(mismatches, 0);
    rcy_heap_destroy(h);
}

/* Per class: blocks per pool, measured with one block in a fresh heap. */
static size_t blocks_per_pool(size_t c)
{
    rcy_heap *h = rcy_heap_new();
    if (!h)
        return 0;
    void *p = rcy_malloc(h, (c + 1) * 8);
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    size_t bpp = s.classes[c].pools == 1 ? s.classes[c].blocks_used + s.classes[c].blocks_free : 0;
    rcy_free(h, p);
    rcy_heap_destroy(h);
    return bpp;
}

/* Fills several pools of every class, frees in random order, allocates
 * again; contents of live blocks never change; stats follow along. */
static void test_many_per_class(void)
{
    const size_t npools = quick ? 3 : 6;
    for (size_t c = 1; c < RCY_SIZE_CLASSES; c += 2) { /* rcy_malloc's: multiples of 16 */
        size_t bsize = (c + 1) * 8;
        size_t bpp = blocks_per_pool(c);
        /* a 16 KiB pool, its header (if inside) at most a few hundred bytes */
        CHECK(bpp > 0);
        CHECK(bpp * bsize <= POOL_SIZE);
        CHECK(bpp * bsize + 256 + bsize > POOL_SIZE);
        if (bpp == 0)
            continue;
        rcy_heap *h = check_new_heap();
        rcy_mem_stats s0, s;
        rcy_mem_get_stats(h, &s0);
        size_t k = npools * bpp + bpp / 3 + 1; /* a partial pool at the end */
        void **p = malloc(k * sizeof *p);
        CHECK(p != NULL);
        int bad = 0;
        for (size_t i = 0; i < k; i++) {
            /* sizes vary within the class */
            size_t n = bsize - (i % 16);
            p[i] = rcy_malloc(h, n);
            if (!p[i] || !aligned16(p[i])) {
                bad++;
                continue;
            }
            memset(p[i], 0, bsize);
            memcpy(p[i], &i, sizeof i);
        }
        CHECK_EQ(bad, 0);
        if (bad) {
            free(p);
            rcy_heap_destroy(h);
            continue;
        }

        rcy_mem_get_stats(h, &s);
        check_stats_consistent(&s);
        size_t want_pools = (k + bpp - 1) / bpp;
        CHECK_EQ(s.classes[c].blocks_used - s0.classes[c].blocks_used, k);
        if (s0.classes[c].pools == 0) {
            CHECK_EQ(s.classes[c].pools, want_pools);
            CHECK_EQ(s.classes[c].blocks_used + s.classes[c].blocks_free, want_pools * bpp);
        }
        CHECK_EQ(s.small_bytes_used - s0.small_bytes_used, k * bsize);
        CHECK_EQ(s.bytes_in_use - s0.bytes_in_use, k * bsize);
        CHECK(s.pools_used >= want_pools);
        CHECK(s.arenas_current >= 1);

        /* free a random two thirds */
        check_shuffle(p, k);
        size_t nfree = k * 2 / 3;
        for (size_t i = 0; i < nfree; i++)
            rcy_free(h, p[i]);
        rcy_mem_get_stats(h, &s);
        check_stats_consistent(&s);
        CHECK_EQ(s.classes[c].blocks_used - s0.classes[c].blocks_used, k - nfree);
        /* survivors untouched (their first word is their index, the rest zero) */
        int corrupt = 0;
        for (size_t i = nfree; i < k; i++) {
            size_t idx;
            memcpy(&idx, p[i], sizeof idx);
            const unsigned char *b = p[i];
            int z = 1;
            for (size_t j = sizeof idx; j < bsize; j++)
                z &= b[j] == 0;
            corrupt += idx >= k || !z;
        }
        CHECK_EQ(corrupt, 0);

        /* allocate them again: no pointer may collide with a survivor */
        for (size_t i = 0; i < nfree; i++) {
            p[i] = rcy_malloc(h, bsize);
            if (!p[i]) {
                bad++;
                continue;
            }
            memset(p[i], 0xA5, bsize);
        }
        CHECK_EQ(bad, 0);
        void **sorted = malloc(k * sizeof *sorted);
        memcpy(sorted, p, k * sizeof *sorted);
        qsort(sorted, k, sizeof *sorted, cmp_ptr);
        int dups = 0;
        for (size_t i = 1; i < k; i++)
            dups += (uintptr_t)sorted[i - 1] + bsize > (uintptr_t)sorted[i];
        CHECK_EQ(dups, 0);
        free(sorted);
        for (size_t i = nfree; i < k; i++) {
            size_t idx;
            memcpy(&idx, p[i], sizeof idx);
            corrupt += idx >= k;
        }
        CHECK_EQ(corrupt, 0);
        rcy_mem_get_stats(h, &s);
        check_stats_consistent(&s);
        CHECK_EQ(s.classes[c].blocks_used - s0.classes[c].blocks_used, k);
        /* freed blocks were reused: no more pools than before */
        if (s0.classes[c].pools == 0)
            CHECK_EQ(s.classes[c].pools, want_pools);

        /* free everything */
        check_shuffle(p, k);
        for (size_t i = 0; i < k; i++)
            rcy_free(h, p[i]);
        rcy_mem_get_stats(h, &s);
        check_stats_consistent(&s);
        for (int cc = 0; cc < RCY_SIZE_CLASSES; cc++)
            CHECK_EQ(s.classes[cc].blocks_used, s0.classes[cc].blocks_used);
        CHECK_EQ(s.bytes_in_use, s0.bytes_in_use);
        free(p);
        rcy_heap_destroy(h);
    }
}

/* Blocks of several classes at once; the totals add up. */
static void test_stats_mixed(void)
{
    rcy_heap *h = check_new_heap();
    rcy_mem_stats s0, s;
    rcy_mem_get_stats(h, &s0);
    check_stats_consistent(&s0);
    CHECK_EQ(s0.large_blocks, 0);
    static const size_t sizes[] = {1, 16, 17, 100, 256, 333, 511, 512, 513, 1000, 70000};
    enum { NS = sizeof sizes / sizeof sizes[0], PER = 37 };
    void *p[NS][PER];
    size_t want_small = 0, want_large = 0, want_large_n = 0;
    for (size_t i = 0; i < NS; i++) {
        for (size_t j = 0; j < PER; j++) {
            p[i][j] = rcy_malloc(h, sizes[i]);
            CHECK(p[i][j] != NULL);
        }
        if (sizes[i] <= RCY_SMALL_MAX)
            want_small += PER * class_size(sizes[i]);
        else {
            want_large += PER * sizes[i];
            want_large_n += PER;
        }
    }
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    CHECK_EQ(s.small_bytes_used - s0.small_bytes_used, want_small);
    CHECK_EQ(s.large_blocks - s0.large_blocks, want_large_n);
    CHECK(s.large_bytes - s0.large_bytes >= want_large);
    /* "their sizes": the requested (or usable) sizes, not wildly more */
    CHECK(s.large_bytes - s0.large_bytes <= want_large + want_large_n * 4096);
    CHECK_EQ(s.bytes_in_use, s.small_bytes_used + s.large_bytes);
    CHECK(s.peak_bytes_committed >= s.bytes_committed + s.large_bytes);
    CHECK_EQ(s.classes[class_of(16)].blocks_used - s0.classes[class_of(16)].blocks_used, 2 * PER);
    CHECK_EQ(s.classes[class_of(512)].blocks_used - s0.classes[class_of(512)].blocks_used, 2 * PER);
    CHECK_EQ(s.classes[class_of(333)].blocks_used - s0.classes[class_of(333)].blocks_used, PER);
    /* quantization (docs/api.md, as in CPython's report): the bytes at the
       end of used pools too few for one more block; 16384 is a multiple of
       16 and 512 but not of 336 */
    CHECK(s.quantization_bytes > 0);
    size_t peak = s.peak_bytes_committed;
    for (size_t i = 0; i < NS; i++)
        for (size_t j = 0; j < PER; j++)
            rcy_free(h, p[i][j]);
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    CHECK_EQ(s.bytes_in_use, s0.bytes_in_use);
    CHECK_EQ(s.large_blocks, 0);
    CHECK_EQ(s.large_bytes, 0);
    CHECK_EQ(s.peak_bytes_committed, peak); /* a high-water mark never drops */
    rcy_purge(h);                           /* releases the empty pool each class keeps */
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.quantization_bytes, s0.quantization_bytes);
    rcy_heap_destroy(h);
}

/* peak_bytes_committed is a high-water mark of bytes_committed +
 * large_bytes: it never drops, and a large block alone raises it. */
static void test_peak(void)
{
    rcy_heap *h = check_new_heap();
    rcy_mem_stats s;
    void *big = rcy_malloc(h, (size_t)2 << 20);
    rcy_mem_get_stats(h, &s);
    CHECK(s.peak_bytes_committed >= (size_t)2 << 20);
    rcy_free(h, big);
    void *small = rcy_malloc(h, 64);
    rcy_mem_get_stats(h, &s);
    CHECK(s.peak_bytes_committed >= (size_t)2 << 20); /* still the peak */
    rcy_free(h, small);
    rcy_heap_destroy(h);
}

/* n blocks of 64 bytes, each holding its index; 0 if one failed. */
static int alloc_numbered(rcy_heap *h, void **p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = rcy_malloc(h, 64);
        if (!p[i])
            return 0;
        *(size_t *)p[i] = i;
    }
    return 1;
}

/* ~40 MiB of 64-byte blocks: tens of arenas come and, once all is freed,
 * go again, but for at most one kept in reserve. */
static void test_arenas(void)
{
    rcy_heap *h = check_new_heap();
    rcy_heap_set_purge_delay(h, 0); /* beyond the warm cache, pages go at once */
    const size_t total = (quick ? (size_t)12 : (size_t)40) << 20;
    const size_t n = total / 64;
    void **p = malloc(n * sizeof *p);
    CHECK(p != NULL);
    if (!p)
        return;
    rcy_mem_stats s0, s;
    rcy_mem_get_stats(h, &s0);
    int ok = alloc_numbered(h, p, n);
    CHECK(ok);
    if (!ok)
        return;
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    size_t min_arenas = total / ARENA_SIZE;
    CHECK(s.arenas_current >= min_arenas);
    CHECK(s.arenas_current <= min_arenas + min_arenas / 8 + 2);
    CHECK_EQ(s.arenas_highwater, s.arenas_current);
    CHECK(s.arenas_allocated >= s.arenas_current);
    CHECK(s.bytes_mapped >= total);
    CHECK(s.bytes_committed >= total);
    CHECK_EQ(s.classes[class_of(64)].blocks_used - s0.classes[class_of(64)].blocks_used, n);
    CHECK_EQ(s.small_bytes_used - s0.small_bytes_used, total);
    size_t high = s.arenas_highwater;
    /* an arena's first pool holds its bookkeeping, never a block */
    size_t in_first_pool = 0;
    for (size_t i = 0; i < n; i++)
        in_first_pool += ((uintptr_t)p[i] & (ARENA_SIZE - 1)) < POOL_SIZE;
    CHECK_EQ(in_first_pool, 0);

    check_shuffle(p, n);
    for (size_t i = 0; i < n; i++)
        rcy_free(h, p[i]);
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    CHECK_EQ(s.classes[class_of(64)].blocks_used, s0.classes[class_of(64)].blocks_used);
    /* left mapped: the reserve arena and the arena of the one empty pool
       the 64-byte class keeps */
    CHECK(s.arenas_current <= 2);
    CHECK_EQ(s.arenas_highwater, high);
    CHECK(s.arenas_released + 2 >= s.arenas_allocated);
    CHECK(s.arenas_released >= high - 2);
    CHECK(s.bytes_mapped <= 2 * ARENA_SIZE);
    CHECK(s.bytes_released_total >= (high - 1) * ARENA_SIZE / 2);

    /* and again: the arenas come back */
    CHECK(alloc_numbered(h, p, n));
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    CHECK(s.arenas_current >= min_arenas);
    CHECK(s.arenas_highwater >= high);
    CHECK(s.arenas_allocated >= high + s.arenas_current - 2);
    for (size_t i = 0; i < n; i++)
        rcy_free(h, p[i]);
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    CHECK(s.arenas_current <= 2);
    free(p);
    rcy_heap_destroy(h);
}

/* A pool emptied of one class serves another afterwards: from the dirty
 * cache (pages still there, old free list inside) and, after rcy_purge, from
 * clean pools (pages read as zero). Blocks of the new class must neither
 * overlap nor spill over the pool. */
static void test_pool_changes_class(void)
{
    rcy_heap *h = check_new_heap();
    const size_t bytes = 256 * 1024; /* fits in the dirty cache */
    static const size_t seq[] = {16, 496, 48, 512, 16, 208};
    enum { NSEQ = sizeof seq / sizeof seq[0] };
    void **p = malloc(bytes / 16 * sizeof *p);
    CHECK(p != NULL);
    if (!p)
        return;
    for (size_t round = 0; round < NSEQ; round++) {
        size_t bs = seq[round], n = bytes / bs;
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            p[i] = rcy_malloc(h, bs);
            if (!p[i]) {
                bad++;
                n = i;
                break;
            }
            memset(p[i], (int)(i * 7 + round) & 0xff, bs);
        }
        CHECK_EQ(bad, 0);
        int corrupt = 0;
        for (size_t i = 0; i < n; i++) {
            const unsigned char *b = p[i];
            corrupt += b[0] != (unsigned char)((i * 7 + round) & 0xff) ||
                       b[bs - 1] != (unsigned char)((i * 7 + round) & 0xff);
        }
        CHECK_EQ(corrupt, 0);
        void **sorted = malloc(n * sizeof *sorted);
        memcpy(sorted, p, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_ptr);
        int overlap = 0, straddle = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                overlap += (uintptr_t)sorted[i - 1] + bs > (uintptr_t)sorted[i];
            straddle += ((uintptr_t)sorted[i] & ~(uintptr_t)(POOL_SIZE - 1)) !=
                        (((uintptr_t)sorted[i] + bs - 1) & ~(uintptr_t)(POOL_SIZE - 1));
        }
        CHECK_EQ(overlap, 0);
        CHECK_EQ(straddle, 0);
        free(sorted);
        rcy_mem_stats s;
        rcy_mem_get_stats(h, &s);
        check_stats_consistent(&s);
        CHECK_EQ(s.classes[class_of(bs)].blocks_used, n);
        check_shuffle(p, n);
        for (size_t i = 0; i < n; i++)
            rcy_free(h, p[i]);
        rcy_mem_get_stats(h, &s);
        check_stats_consistent(&s);
        CHECK(s.pools_used <= 2); /* each class keeps one empty pool until a purge */
        CHECK_EQ(s.bytes_in_use, 0);
        if (round % 2 == 1) {
            rcy_purge(h);
            rcy_mem_get_stats(h, &s);
            CHECK_EQ(s.pools_empty_dirty, 0);
        }
    }
    free(p);
    rcy_heap_destroy(h);
}

/* The printed report is like sys._debugmallocstats(): one line per class in
 * use, with its block size and blocks in use. */
static void test_print_stats(void)
{
    rcy_heap *h = check_new_heap();
    enum { N64 = 1234, N320 = 3001, N512 = 77 };
    void *a[N64], *b[N320], *c[N512];
    for (int i = 0; i < N64; i++)
        a[i] = rcy_malloc(h, 64);
    for (int i = 0; i < N320; i++)
        b[i] = rcy_malloc(h, 320);
    for (int i = 0; i < N512; i++)
        c[i] = rcy_malloc(h, 500);
    void *big = rcy_malloc(h, 100000);

    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (f) {
        rcy_mem_print_stats(h, f);
        long len = ftell(f);
        CHECK(len > 0);
        char *text = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
        rewind(f);
        size_t got = fread(text, 1, (size_t)(len > 0 ? len : 0), f);
        CHECK_EQ(got, (size_t)len);
        text[got] = '\0';
        CHECK(strstr(text, "64") != NULL);
        CHECK(strstr(text, "320") != NULL);
        CHECK(strstr(text, "512") != NULL);
        CHECK(strstr(text, "1234") != NULL);
        CHECK(strstr(text, "3001") != NULL);
        CHECK(strstr(text, "77") != NULL);
        CHECK(strchr(text, '\n') != NULL);
        if (!strstr(text, "3001") || !strstr(text, "1234"))
            fprintf(stderr, "report was:\n%s\n", text);
        free(text);
        CHECK(fclose(f) == 0);
    }
    /* an empty heap prints too */
    rcy_heap *e = rcy_heap_new();
    f = tmpfile();
    if (f && e) {
        rcy_mem_print_stats(e, f);
        CHECK(ftell(f) > 0);
        CHECK(fclose(f) == 0);
    }
    rcy_heap_destroy(e);

    for (int i = 0; i < N64; i++)
        rcy_free(h, a[i]);
    for (int i = 0; i < N320; i++)
        rcy_free(h, b[i]);
    for (int i = 0; i < N512; i++)
        rcy_free(h, c[i]);
    rcy_free(h, big);
    rcy_heap_destroy(h);
}

/* A structure freed while a larger one lives: its emptied arenas stay,
 * pages and all, within the dirty cache's bound (a quarter of the pools in
 * use), and building it again reuses them without mapping or faulting
 * anything. Once everything is freed, they go. */
static void test_empty_arenas_kept_warm(void)
{
    rcy_heap *h = check_new_heap();
    rcy_heap_set_purge_delay(h, 0); /* only the warm cache keeps pages */
    const size_t live_n = (16u << 20) / 64, temp_n = (4u << 20) / 64;
    void **live = malloc(live_n * sizeof *live), **temp = malloc(temp_n * sizeof *temp);
    CHECK(live && temp);
    if (!live || !temp)
        return;
    CHECK(alloc_numbered(h, live, live_n));
    CHECK(alloc_numbered(h, temp, temp_n));
    rcy_mem_stats before, s;
    rcy_mem_get_stats(h, &before);
    for (size_t i = 0; i < temp_n; i++)
        rcy_free(h, temp[i]);
    rcy_mem_get_stats(h, &s);
    check_stats_consistent(&s);
    CHECK_EQ(s.arenas_current, before.arenas_current); /* its empty arenas kept */
    CHECK_EQ(s.bytes_released_total, before.bytes_released_total);
    CHECK(s.pools_empty_dirty >= temp_n * 64 / POOL_SIZE - 1);

    CHECK(alloc_numbered(h, temp, temp_n));
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.arenas_allocated, before.arenas_allocated); /* reused, none mapped */
    CHECK_EQ(s.bytes_released_total, before.bytes_released_total);

    for (size_t i = 0; i < temp_n; i++)
        rcy_free(h, temp[i]);
    for (size_t i = 0; i < live_n; i++)
        rcy_free(h, live[i]);
    rcy_mem_get_stats(h, &s);
    CHECK(s.arenas_current <= 2); /* the reserve, and the 64-byte class's kept pool */
    CHECK(s.pools_empty_dirty <= 64);
    free(live);
    free(temp);
    rcy_heap_destroy(h);
}

/* With a purge delay, a burst freed and allocated again reuses its pools:
 * nothing is given back or mapped again; once the delay has passed, the
 * next slow path (here, a pool emptied by one free) gives back everything
 * beyond the warm cache, arenas included. */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void test_purge_delay(void)
{
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_heap_get_purge_delay(h), 100); /* the default */
    rcy_heap_set_purge_delay(h, 60000);         /* longer than any build takes for the bursts */
    CHECK_EQ(rcy_heap_get_purge_delay(h), 60000);
    const size_t n = (quick ? (size_t)8 << 20 : (size_t)32 << 20) / 64;
    void **p = malloc(n * sizeof *p);
    CHECK(alloc_numbered(h, p, n));
    rcy_mem_stats full, s;
    rcy_mem_get_stats(h, &full);
    for (int round = 0; round < 3; round++) { /* bursts: no page goes, no arena comes */
        for (size_t i = 0; i < n; i++)
            rcy_free(h, p[i]);
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.bytes_released_total, full.bytes_released_total);
        CHECK(s.pools_empty_dirty * POOL_SIZE >= n * 64 - POOL_SIZE);
        CHECK(alloc_numbered(h, p, n));
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.arenas_allocated, full.arenas_allocated);
        CHECK_EQ(s.bytes_released_total, full.bytes_released_total);
    }
    for (size_t i = 0; i < n; i++)
        rcy_free(h, p[i]);
    rcy_heap_set_purge_delay(h, 50);
    sleep_ms(100);
    rcy_free(h, rcy_malloc(h, 64)); /* the class's kept pool empties: a slow path */
    rcy_mem_get_stats(h, &s);
    CHECK(s.pools_empty_dirty <= 64 + 1); /* the warm cache, and the kept pool */
    CHECK(s.arenas_current <= 3);
    CHECK(s.bytes_released_total - full.bytes_released_total >= n * 64 - 2 * ARENA_SIZE);
    free(p);
    rcy_heap_destroy(h);
}

/* The last pool of a class stays when its last block is freed, so that
 * one block allocated and freed in a loop does not set up a pool each
 * time; it is the same pool afterwards, and rcy_purge releases it. */
static void test_last_pool_kept(void)
{
    rcy_heap *h = rcy_heap_new();
    rcy_mem_stats s;
    void *a = rcy_malloc(h, 100);
    rcy_free(h, a);
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.pools_used, 0);        /* nothing is allocated: no pool is in use */
    CHECK_EQ(s.pools_empty_dirty, 1); /* the kept pool is an empty one with pages */
    CHECK_EQ(s.classes[class_of(100)].pools, 0);
    CHECK_EQ(s.classes[class_of(100)].blocks_used, 0);
    CHECK(rcy_malloc(h, 100) == a); /* the same pool, the same block */
    rcy_free(h, a);
    CHECK(rcy_purge(h) >= POOL_SIZE / 4); /* at least the touched page */
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.pools_used, 0);
    CHECK_EQ(s.pools_empty_dirty, 0);
    rcy_heap_destroy(h);
}

/* The class's only pool, emptied, stays its pool without the slow path
 * (counted): a block allocated and freed in a loop, plain and as an
 * object (a tagged class), the same block each time; rcy_purge still
 * gives the pool back. */
static void test_kept_pool_reused_without_slow_path(void)
{
    static const rcy_type t = {"kept", 24, NULL, NULL, NULL};
    rcy_heap *h = rcy_heap_new();
    rcy_mem_stats s;
    void *a = rcy_malloc(h, 100);
    rcy_free(h, a); /* the pool was set up by a slow path; this free keeps it */
    void *o = rcy_new(h, &t);
    CHECK(o != NULL);
    rcy_decref(o);
    rcy_mem_get_stats(h, &s);
    const size_t before = s.free_slow_paths;
    for (int i = 0; i < 1000; i++) {
        void *b = rcy_malloc(h, 100);
        CHECK(b == a); /* the same pool, the same block */
        rcy_free(h, b);
        void *p = rcy_new(h, &t);
        CHECK(p == o);
        rcy_decref(p);
    }
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.free_slow_paths, before); /* no free took the slow path */
    CHECK_EQ(s.pools_used, 0);
    CHECK_EQ(s.pools_empty_dirty, 2); /* the two kept pools */
    void *x = rcy_malloc(h, 100), *y = rcy_malloc(h, 100);
    rcy_free(h, x);
    rcy_free(h, y); /* the pool empties only now: kept, no slow path */
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.free_slow_paths, before);
    CHECK(rcy_purge(h) >= 2 * (POOL_SIZE / 4)); /* both pools' touched pages go */
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.pools_empty_dirty, 0);
    rcy_heap_destroy(h);
}

/* A full pool that regains a block serves it again, also when it is the
   class's only pool: here its spare, empty pool was given back by
   rcy_purge, so no pool of the class is available until the free. */
static void test_full_pool_regains_block(void)
{
    enum { MAXB = POOL_SIZE / 512 + 1 };
    const size_t c = class_of(512);
    rcy_heap *h = check_new_heap();
    void *b[MAXB];
    rcy_mem_stats s;
    size_t n = 0;
    int full = 0;
    while (n < MAXB && !full) {
        b[n] = rcy_malloc(h, 512);
        CHECK(b[n] != NULL);
        if (!b[n])
            break;
        n++;
        rcy_mem_get_stats(h, &s);
        full = s.classes[c].pools == 1 && s.classes[c].blocks_free == 0;
    }
    CHECK(full);
    if (full && n > 2) {
        void *spare = rcy_malloc(h, 512); /* opens a second pool */
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.classes[c].pools, 2);
        rcy_free(h, spare); /* the second pool is empty, kept for the class */
        rcy_purge(h);       /* and given back */
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.classes[c].pools, 1);
        CHECK_EQ(s.classes[c].blocks_free, 0);

        void *back = b[n / 2];
        rcy_free(h, back);
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.classes[c].pools, 1);
        CHECK_EQ(s.classes[c].blocks_free, 1);
        b[n / 2] = rcy_malloc(h, 512);
        CHECK(b[n / 2] == back);
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.classes[c].pools, 1);
        CHECK_EQ(s.classes[c].blocks_free, 0);
    }
    for (size_t i = 0; i < n; i++)
        rcy_free(h, b[i]);
    rcy_heap_destroy(h);
}

/* rcy_purge returns exactly what bytes_released_total grows by, whatever
 * it releases on the way: the pool each class keeps, the cache of empty
 * pools, wholly empty arenas, the empty pools of arenas still in use. */
static size_t released_total(rcy_heap *h)
{
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    return s.bytes_released_total;
}

static void test_purge_returns_what_it_released(void)
{
    rcy_heap *h = check_new_heap();
    enum { N = 40000 };
    void **p = malloc(N * sizeof *p);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++)
            p[i] = rcy_malloc(h, 16 + (i % 7) * 48); /* 7 classes, several arenas */
        check_shuffle(p, N);
        size_t keep = round == 0 ? 0 : (round == 1 ? N / 512 : N / 2);
        for (size_t i = keep; i < N; i++)
            rcy_free(h, p[i]);
        size_t before = released_total(h);
        size_t r = rcy_purge(h);
        CHECK(r > 0 || keep == N / 2); /* with half kept, every pool holds a block */
        CHECK_EQ(r, released_total(h) - before);
        CHECK_EQ(rcy_purge(h), 0); /* nothing left to give back */
        for (size_t i = 0; i < keep; i++)
            rcy_free(h, p[i]);
        before = released_total(h);
        CHECK_EQ(rcy_purge(h), released_total(h) - before);
        rcy_mem_stats s;
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.pools_used, 0); /* everything freed and purged */
        CHECK_EQ(s.pools_empty_dirty, 0);
        CHECK_EQ(s.bytes_in_use, 0);
    }
    free(p);
    rcy_heap_destroy(h);
}

/* A heap with nothing allocated reports no used pools, however much it
 * held before, purged or not. */
static void test_no_used_pools_when_empty(void)
{
    rcy_heap *h = check_new_heap();
    enum { N = 5000 };
    void *p[N];
    for (size_t n = 8; n <= RCY_SMALL_MAX; n += 24) {
        for (int i = 0; i < N; i++)
            p[i] = rcy_malloc(h, n);
        for (int i = 0; i < N; i++)
            rcy_free(h, p[i]);
    }
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.pools_used, 0);
    CHECK_EQ(s.small_bytes_used, 0);
    CHECK(s.pools_empty_dirty > 0); /* kept ones and the cache, before a purge */
    for (int c = 0; c < RCY_SIZE_CLASSES; c++)
        CHECK_EQ(s.classes[c].pools, 0);
    rcy_heap_destroy(h);
}

int main(void)
{
    quick = check_quick();
    test_last_pool_kept();
    test_kept_pool_reused_without_slow_path();
    test_purge_delay();
    test_purge_returns_what_it_released();
    test_no_used_pools_when_empty();
    test_full_pool_regains_block();
    test_every_size();
    test_zero_and_null();
    test_lifo_reuse();
    test_many_per_class();
    test_stats_mixed();
    test_peak();
    test_arenas();
    test_empty_arenas_kept_warm();
    test_pool_changes_class();
    test_print_stats();
    return check_summary("test_pool");
}
