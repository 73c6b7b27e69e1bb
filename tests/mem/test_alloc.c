/* SPDX-License-Identifier: MIT */
/* rcy_malloc / rcy_calloc / rcy_realloc / rcy_free beyond the pools: zeroing,
 * overflow, resizing across the small/large border, big blocks, many heaps,
 * heap destruction, and the misuse that must abort. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */

#include "check.h"
#include "recycle.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

static int quick; /* RCY_TEST_QUICK=1: smaller sizes (valgrind) */

static int aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

static int all_bytes(const void *p, int v, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)v)
            return 0;
    return 1;
}

/* A pattern that differs from byte to byte, so a shifted copy shows. */
static void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 31u + seed + (i >> 8));
}
static int has_pattern(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(i * 31u + seed + (i >> 8)))
            return 0;
    return 1;
}

static void test_calloc(void)
{
    rcy_heap *h = check_new_heap();
    static const size_t sizes[] = {0, 1, 15, 16, 17, 64, 100, 511, 512, 513, 4096, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        /* a dirty block, freed, then calloc'd: the same memory comes back zeroed */
        void *keep = rcy_malloc(h, n);
        void *p = rcy_malloc(h, n);
        CHECK(p != NULL);
        memset(p, 0xAB, rcy_usable_size(h, p));
        rcy_free(h, p);
        void *q = rcy_calloc(h, 1, n);
        CHECK(q != NULL);
        CHECK(aligned16(q));
        if (n > 0 && n <= RCY_SMALL_MAX)
            CHECK(q == p); /* the same block (LIFO), so the zeroing is real */
        CHECK(all_bytes(q, 0, n));
        rcy_free(h, q);
        /* count * size */
        q = rcy_calloc(h, 4, n / 4 + 1);
        CHECK(q != NULL);
        CHECK(all_bytes(q, 0, 4 * (n / 4 + 1)));
        rcy_free(h, q);
        rcy_free(h, keep);
    }
    /* a calloc'd small block reused after being dirtied at full usable size */
    for (size_t n = 1; n <= RCY_SMALL_MAX; n += 7) {
        void *p = rcy_malloc(h, n);
        memset(p, 0xAB, rcy_usable_size(h, p));
        void *keep = rcy_malloc(h, n);
        rcy_free(h, p);
        void *q = rcy_calloc(h, n, 1);
        CHECK(all_bytes(q, 0, n));
        rcy_free(h, q);
        rcy_free(h, keep);
    }
    /* zero counts give a freeable pointer (or NULL), never a crash */
    void *z = rcy_calloc(h, 0, 5);
    rcy_free(h, z);
    z = rcy_calloc(h, 5, 0);
    rcy_free(h, z);

    /* overflow of count * size */
    static const size_t ovf[][2] = {{SIZE_MAX / 2, 4},        {4, SIZE_MAX / 2},
                                    {SIZE_MAX, SIZE_MAX},     {SIZE_MAX, 2},
                                    {(SIZE_MAX >> 1) + 1, 2}, {(size_t)1 << 33, (size_t)1 << 33}};
    for (size_t i = 0; i < sizeof ovf / sizeof ovf[0]; i++) {
        errno = 0;
        void *p = rcy_calloc(h, ovf[i][0], ovf[i][1]);
        CHECK(p == NULL);
        CHECK_EQ(errno, ENOMEM);
        if (p)
            rcy_free(h, p);
    }
    rcy_heap_destroy(h);
}

static void test_realloc(void)
{
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_usable_size(h, NULL), 0); /* as malloc_usable_size */
    /* NULL: a plain malloc */
    void *p = rcy_realloc(h, NULL, 40);
    CHECK(p != NULL);
    CHECK(aligned16(p));
    CHECK(rcy_usable_size(h, p) >= 40);
    fill_pattern(p, 40, 1);

    /* grow within small, then shrink within small */
    p = rcy_realloc(h, p, 200);
    CHECK(p != NULL);
    CHECK(has_pattern(p, 40, 1));
    CHECK(rcy_usable_size(h, p) >= 200);
    fill_pattern(p, 200, 2);
    p = rcy_realloc(h, p, 500);
    CHECK(has_pattern(p, 200, 2));
    fill_pattern(p, 500, 3);
    p = rcy_realloc(h, p, 10);
    CHECK(p != NULL);
    CHECK(has_pattern(p, 10, 3));
    CHECK(rcy_usable_size(h, p) >= 10);

    /* same class: contents stay */
    p = rcy_realloc(h, p, 16);
    CHECK(has_pattern(p, 10, 3));

    /* small -> large -> larger -> small */
    fill_pattern(p, 16, 4);
    p = rcy_realloc(h, p, 5000);
    CHECK(p != NULL);
    CHECK(aligned16(p));
    CHECK(has_pattern(p, 16, 4));
    CHECK(rcy_usable_size(h, p) >= 5000);
    fill_pattern(p, 5000, 5);
    p = rcy_realloc(h, p, (size_t)3 << 20);
    CHECK(p != NULL);
    CHECK(aligned16(p));
    CHECK(has_pattern(p, 5000, 5));
    fill_pattern(p, (size_t)3 << 20, 6);
    p = rcy_realloc(h, p, 513);
    CHECK(p != NULL);
    CHECK(has_pattern(p, 513, 6));
    p = rcy_realloc(h, p, 100);
    CHECK(p != NULL);
    CHECK(aligned16(p));
    CHECK(has_pattern(p, 100, 6));
    CHECK(rcy_usable_size(h, p) >= 100);
    CHECK(rcy_usable_size(h, p) <= RCY_SMALL_MAX); /* it went back to a pool */

    /* every size pair around the border, contents preserved */
    int bad = 0;
    static const size_t sz[] = {0, 1, 16, 17, 48, 255, 496, 511, 512, 513, 600, 1024, 4097};
    enum { NSZ = sizeof sz / sizeof sz[0] };
    for (size_t i = 0; i < NSZ; i++)
        for (size_t j = 0; j < NSZ; j++) {
            void *a = rcy_malloc(h, sz[i]);
            fill_pattern(a, sz[i], (unsigned)(i + j));
            void *b = rcy_realloc(h, a, sz[j]);
            if (!b) {
                bad++;
                rcy_free(h, a);
                continue;
            }
            size_t keep = sz[i] < sz[j] ? sz[i] : sz[j];
            bad += !has_pattern(b, keep, (unsigned)(i + j));
            bad += rcy_usable_size(h, b) < sz[j];
            bad += !aligned16(b);
            rcy_free(h, b);
        }
    CHECK_EQ(bad, 0);

    /* realloc(p, 0) frees p and returns a unique zero-size block or NULL */
    rcy_mem_stats s0, s;
    rcy_free(h, p);
    void *keep = rcy_malloc(h, 64); /* a used pool, so stats are simple */
    p = rcy_malloc(h, 64);
    rcy_mem_get_stats(h, &s0);
    void *z = rcy_realloc(h, p, 0);
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.classes[64 / 8 - 1].blocks_used + 1,
             s0.classes[64 / 8 - 1].blocks_used); /* p is gone */
    if (z) {
        CHECK(z != keep);
        CHECK(aligned16(z));
        void *z2 = rcy_realloc(h, NULL, 0);
        CHECK(z2 != NULL && z2 != z);
        rcy_free(h, z2);
        rcy_free(h, z);
    }
    /* the same for a large block */
    p = rcy_malloc(h, 10000);
    rcy_mem_get_stats(h, &s0);
    z = rcy_realloc(h, p, 0);
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.large_blocks + 1, s0.large_blocks);
    rcy_free(h, z);

    /* a resize that cannot be done leaves the block alone */
    static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX / 2, SIZE_MAX / 2 + 1};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        for (int large = 0; large < 2; large++) {
            size_t n = large ? 7000 : 100;
            p = rcy_malloc(h, n);
            fill_pattern(p, n, 9);
            errno = 0;
            void *r = rcy_realloc(h, p, huge[i]);
            CHECK(r == NULL);
            CHECK_EQ(errno, ENOMEM);
            CHECK(has_pattern(p, n, 9));
            CHECK(rcy_usable_size(h, p) >= n);
            rcy_free(h, p); /* still ours, freed once */
        }
    }
    rcy_free(h, keep);
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.bytes_in_use, 0);
    CHECK_EQ(s.large_blocks, 0);
    rcy_heap_destroy(h);
}

/* Impossible sizes: NULL and ENOMEM, never an abort. */
static void test_huge_requests(void)
{
    rcy_heap *h = check_new_heap();
    static const size_t huge[] = {SIZE_MAX,     SIZE_MAX - 1,     SIZE_MAX - 15,    SIZE_MAX - 64,
                                  SIZE_MAX / 2, SIZE_MAX / 2 + 1, SIZE_MAX / 2 - 15};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        errno = 0;
        void *p = rcy_malloc(h, huge[i]);
        CHECK(p == NULL);
        CHECK_EQ(errno, ENOMEM);
        if (p)
            rcy_free(h, p);
    }
    /* the heap still works afterwards */
    void *p = rcy_malloc(h, 32);
    CHECK(p != NULL);
    rcy_free(h, p);
    rcy_heap_destroy(h);
}

/* Large blocks: aligned and usable all the way. */
static void test_large(void)
{
    rcy_heap *h = check_new_heap();
    const size_t sizes[] = {513,
                            528,
                            1000,
                            4096,
                            4097,
                            65536,
                            (size_t)1 << 20,
                            quick ? (size_t)8 << 20 : (size_t)64 << 20};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    void *p[NS];
    rcy_mem_stats s0, s;
    rcy_mem_get_stats(h, &s0);
    size_t total = 0;
    for (size_t i = 0; i < NS; i++) {
        p[i] = rcy_malloc(h, sizes[i]);
        CHECK(p[i] != NULL);
        if (!p[i])
            return;
        CHECK(aligned16(p[i]));
        size_t u = rcy_usable_size(h, p[i]);
        CHECK(u >= sizes[i]);
        memset(p[i], (int)i + 1, u);
        total += sizes[i];
    }
    for (size_t i = 0; i < NS; i++)
        CHECK(all_bytes(p[i], (int)i + 1, sizes[i]));
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.large_blocks - s0.large_blocks, NS);
    CHECK(s.large_bytes - s0.large_bytes >= total);
    CHECK_EQ(s.bytes_in_use, s.small_bytes_used + s.large_bytes);
    CHECK(s.peak_bytes_committed >= total);
    for (size_t i = 0; i < NS; i++)
        rcy_free(h, p[i]);
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.large_blocks, 0);
    CHECK_EQ(s.large_bytes, 0);
    rcy_heap_destroy(h);
}

/* Ten heaps side by side, allocations interleaved; each block goes back to
 * its own heap; heaps die in a shuffled order with blocks still live. */
static void test_many_heaps(void)
{
    enum { NH = 10 };
    const size_t nblk = quick ? 3000 : 30000;
    rcy_heap *hs[NH];
    for (int i = 0; i < NH; i++) {
        hs[i] = rcy_heap_new();
        CHECK(hs[i] != NULL);
        if (!hs[i])
            return;
    }
    struct blk {
        void *p;
        size_t n;
        int heap;
        int live;
    } *b = calloc(nblk, sizeof *b);
    CHECK(b != NULL);
    if (!b)
        return;
    for (size_t i = 0; i < nblk; i++) {
        uint64_t r = check_rand();
        b[i].heap = (int)(r % NH);
        b[i].n = (r >> 8) % 64 == 0 ? 513 + (size_t)((r >> 16) % 3000) : (size_t)((r >> 16) % 513);
        b[i].p = rcy_malloc(hs[b[i].heap], b[i].n);
        CHECK(b[i].p != NULL);
        b[i].live = 1;
        fill_pattern(b[i].p, b[i].n, (unsigned)i);
        /* now and then free an earlier block */
        if (i > 10 && r % 3 == 0) {
            size_t j = (size_t)((r >> 20) % i);
            if (b[j].live) {
                rcy_free(hs[b[j].heap], b[j].p);
                b[j].live = 0;
            }
        }
    }
    int corrupt = 0;
    for (size_t i = 0; i < nblk; i++)
        if (b[i].live)
            corrupt += !has_pattern(b[i].p, b[i].n, (unsigned)i);
    CHECK_EQ(corrupt, 0);
    /* the per-heap stats account exactly for each heap's own blocks */
    size_t nlarge[NH] = {0}, smallb[NH] = {0};
    for (size_t i = 0; i < nblk; i++)
        if (b[i].live) {
            if (b[i].n > RCY_SMALL_MAX)
                nlarge[b[i].heap]++;
            else
                smallb[b[i].heap] += b[i].n == 0 ? 16 : ((b[i].n + 15) & ~(size_t)15);
        }
    for (int i = 0; i < NH; i++) {
        rcy_mem_stats s;
        rcy_mem_get_stats(hs[i], &s);
        CHECK_EQ(s.large_blocks, nlarge[i]);
        CHECK_EQ(s.small_bytes_used, smallb[i]);
    }
    /* free half of the rest, each in its own heap */
    for (size_t i = 0; i < nblk; i += 2)
        if (b[i].live) {
            rcy_free(hs[b[i].heap], b[i].p);
            b[i].live = 0;
        }
    /* destroy heaps in a shuffled order; the others stay intact */
    int order[NH];
    for (int i = 0; i < NH; i++)
        order[i] = i;
    for (int i = NH; i > 1; i--) {
        int j = (int)(check_rand() % (uint64_t)i);
        int t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < NH; k++) {
        int dead = order[k];
        rcy_heap_destroy(hs[dead]);
        hs[dead] = NULL;
        corrupt = 0;
        for (size_t i = 0; i < nblk; i++) {
            if (!b[i].live)
                continue;
            if (b[i].heap == dead)
                b[i].live = 0;
            else
                corrupt += !has_pattern(b[i].p, b[i].n, (unsigned)i);
        }
        CHECK_EQ(corrupt, 0);
        /* the survivors still allocate and free */
        if (k + 1 < NH) {
            rcy_heap *o = hs[order[k + 1]];
            void *x = rcy_malloc(o, 48), *y = rcy_malloc(o, 5000);
            CHECK(x != NULL && y != NULL);
            rcy_free(o, x);
            rcy_free(o, y);
        }
    }
    free(b);
}

/* rcy_heap_destroy returns everything, live small and large blocks
 * included; leak checkers (valgrind, LeakSanitizer) would show the rest. */
static void test_destroy_with_live_blocks(void)
{
    for (int round = 0; round < 3; round++) {
        rcy_heap *h = check_new_heap();
        size_t n = quick ? 2000 : 50000;
        for (size_t i = 0; i < n; i++) {
            size_t sz = i % 97 == 0 ? 600 + i % 5000 : i % 513;
            void *p = rcy_malloc(h, sz);
            CHECK(p != NULL);
            if (i % 5 == 0)
                rcy_free(h, p);
        }
        void *big = rcy_malloc(h, (size_t)2 << 20);
        CHECK(big != NULL);
        rcy_heap_destroy(h);
    }
}

/* ---- misuse: each runs in a child that must abort with a message ---- */

static void misuse_foreign_malloc(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *p = malloc(64);
    rcy_free(h, p);
}

static _Alignas(16) unsigned char static_buf[256];
static void misuse_foreign_static(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    rcy_free(h, static_buf + 64);
}

/* A wild pointer into memory that is not mapped at all: the checks read
   nothing at (or before) it, so the misuse is reported, not a segfault. */
static void misuse_foreign_unmapped(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    long page = sysconf(_SC_PAGESIZE);
    char *gone =
        mmap(NULL, (size_t)page * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (gone == MAP_FAILED)
        abort(); /* cannot set up: fails the test through the message check */
    munmap(gone, (size_t)page * 3);
    rcy_free(h, gone + page + 64);
}

static void misuse_double_free_large(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *p = rcy_malloc(h, 10000);
    rcy_free(h, p);
    rcy_free(h, p);
}

static void misuse_double_free_small(void *arg)
{
    size_t n = *(const size_t *)arg;
    rcy_heap *h = rcy_heap_new();
    void *keep = rcy_malloc(h, n);
    void *p = rcy_malloc(h, n);
    (void)keep;
    rcy_free(h, p);
    rcy_free(h, p);
}

static void misuse_double_free_small_later(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *keep = rcy_malloc(h, 32);
    void *p = rcy_malloc(h, 32);
    void *q = rcy_malloc(h, 32);
    (void)keep;
    rcy_free(h, p);
    rcy_free(h, q);
    rcy_free(h, p);
}

static void misuse_double_free_only_block(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *p = rcy_malloc(h, 32); /* its pool becomes empty on the first free */
    rcy_free(h, p);
    rcy_free(h, p);
}

#if RCY_CHECK_LEVEL >= 1
static void misuse_wrong_heap_small(void *arg)
{
    (void)arg;
    rcy_heap *h1 = rcy_heap_new(), *h2 = rcy_heap_new();
    void *keep = rcy_malloc(h2, 64);
    void *p = rcy_malloc(h1, 64);
    (void)keep;
    rcy_free(h2, p);
}
#endif

static void misuse_wrong_heap_large(void *arg)
{
    (void)arg;
    rcy_heap *h1 = rcy_heap_new(), *h2 = rcy_heap_new();
    void *p = rcy_malloc(h1, 9000);
    rcy_free(h2, p);
}

static void misuse_interior_small(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    char *p = rcy_malloc(h, 64);
    rcy_free(h, p + 8);
}

static void misuse_interior_large(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    char *p = rcy_malloc(h, 9000);
    memset(p, 0, 9000);
    rcy_free(h, p + 64);
}

static void misuse_realloc_foreign(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *p = malloc(64);
    void *q = rcy_realloc(h, p, 1000);
    (void)q;
}

static void misuse_realloc_freed_small(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *keep = rcy_malloc(h, 64);
    void *p = rcy_malloc(h, 64);
    (void)keep;
    rcy_free(h, p);
    void *q = rcy_realloc(h, p, 1000); /* the block on top of the free list */
    (void)q;
}

/* An address above the 48-bit user address space: no arena can hold it,
   and the check must not read memory there. */
static void misuse_free_high_address(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    rcy_free(h, (void *)(uintptr_t)0xffff900000001000u);
}

static void test_misuse(void)
{
    struct {
        const char *name;
        void (*fn)(void *);
        void *arg;
    } cases[] = {
        {"foreign pointer (system malloc)", misuse_foreign_malloc, NULL},
        {"foreign pointer (static buffer)", misuse_foreign_static, NULL},
        {"foreign pointer (unmapped memory)", misuse_foreign_unmapped, NULL},
        {"double free of a large block", misuse_double_free_large, NULL},
        {"double free of a small block (16)", misuse_double_free_small, &(size_t){16}},
        {"double free of a small block (64)", misuse_double_free_small, &(size_t){64}},
        {"double free of a small block (512)", misuse_double_free_small, &(size_t){512}},
        {"double free of a pool's only block", misuse_double_free_only_block, NULL},
#if RCY_CHECK_LEVEL >= 1 /* release builds free it into its own heap (docs/api.md) */
        {"free of a small block into the wrong heap", misuse_wrong_heap_small, NULL},
#endif
        {"free of a large block into the wrong heap", misuse_wrong_heap_large, NULL},
        {"free of an interior pointer (small)", misuse_interior_small, NULL},
        {"free of an interior pointer (large)", misuse_interior_large, NULL},
        {"realloc of a foreign pointer", misuse_realloc_foreign, NULL},
        {"realloc of a just-freed small block", misuse_realloc_freed_small, NULL},
#if RCY_CHECK_LEVEL >= 1
        {"non-immediate double free of a small block", misuse_double_free_small_later, NULL},
#endif
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[1024];
        int ok = check_aborts(cases[i].fn, cases[i].arg, "recycle", msg, sizeof msg);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  misuse not caught: %s; child stderr: \"%s\"\n", cases[i].name, msg);
    }
#if RCY_CHECK_LEVEL == 0
    (void)misuse_double_free_small_later;
#endif
    char msg[1024];
    int ok =
        check_aborts(misuse_free_high_address, NULL, "not allocated by this heap", msg, sizeof msg);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  free of a high address not caught; child stderr: \"%s\"\n", msg);
}

/* rcy_free_sized frees what rcy_free would, small and large, with the size
 * asked for or any size up to the usable one; the heap ends empty and the
 * blocks serve again. */
static void test_free_sized(void)
{
    rcy_heap *h = check_new_heap();
    enum { N = 20000 };
    void **p = malloc(N * sizeof *p);
    size_t *n = malloc(N * sizeof *n);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            n[i] = (size_t)(check_rand() % (i % 100 == 0 ? 5000 : 513));
            p[i] = rcy_malloc(h, n[i]);
            CHECK(p[i] != NULL);
            memset(p[i], (int)i, n[i]);
        }
        for (size_t i = N; i > 1; i--) { /* shuffle blocks and sizes together */
            size_t j = (size_t)(check_rand() % i);
            void *tp = p[i - 1];
            size_t tn = n[i - 1];
            p[i - 1] = p[j], n[i - 1] = n[j];
            p[j] = tp, n[j] = tn;
        }
        for (size_t i = 0; i < N; i++) {
            /* the size asked for, or (round 1) any size from it to the usable one */
            size_t usable = rcy_usable_size(h, p[i]);
            size_t told = round == 1 ? n[i] + (size_t)(check_rand() % (usable - n[i] + 1)) : n[i];
            rcy_free_sized(h, p[i], told);
        }
        rcy_mem_stats s;
        rcy_mem_get_stats(h, &s);
        CHECK_EQ(s.bytes_in_use, 0);
        CHECK_EQ(s.large_blocks, 0);
    }
    rcy_free_sized(h, NULL, 16); /* a no-op, as rcy_free(h, NULL) */
    rcy_free_sized(h, NULL, 0);
    free(p);
    free(n);
    rcy_heap_destroy(h);
}

static void misuse_free_sized_foreign_large(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    rcy_free_sized(h, static_buf + 64, 5000); /* a large size: validated as rcy_free */
}

static void misuse_free_sized_too_large(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *p = rcy_malloc(h, 40); /* a 48-byte block */
    rcy_free_sized(h, p, 100);
}

static void misuse_free_sized_small_for_large(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *p = rcy_malloc(h, 4000);
    rcy_free_sized(h, p, 100);
}

/* rcy_free_sized keeps rcy_free's checks that need no size in every build,
 * and checks the size in checked builds. */
static void test_free_sized_misuse(void)
{
    char msg[1024];
    CHECK(check_aborts(misuse_free_sized_foreign_large, NULL, "not allocated by this heap", msg,
                       sizeof msg));
#if RCY_CHECK_LEVEL >= 1
    CHECK(check_aborts(misuse_free_sized_too_large, NULL, "rcy_free_sized", msg, sizeof msg));
    CHECK(check_aborts(misuse_free_sized_small_for_large, NULL, "rcy_free_sized", msg, sizeof msg));
#else
    (void)misuse_free_sized_too_large;
    (void)misuse_free_sized_small_for_large;
#endif
}

int main(void)
{
    quick = check_quick();
    test_free_sized();
    test_free_sized_misuse();
    test_calloc();
    test_realloc();
    test_huge_requests();
    test_large();
    test_many_heaps();
    test_destroy_with_live_blocks();
    test_misuse();
    return check_summary("test_alloc");
}
