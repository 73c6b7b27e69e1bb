/* SPDX-License-Identifier: MIT */
/* Allocation tracing (tools/trace.c, tools/snapshot.c): the contract's
 * semantics for blocks and objects, tracing started and stopped while
 * blocks live, realloc of traced blocks, sites in the allocator's caller
 * (checked against the helpers' own addresses, and by name through the
 * debug information: this file is compiled with -g, its helpers
 * noinline), sampling's estimates on a known mix with a fixed seed,
 * snapshots grouped, compared and filtered, and bad arguments. */
#include "check.h"
#include "recycle.h"
#include "tools/symbolize.h"
#include "tools/trace.h"

#include <errno.h>
#include <pthread.h>

/* noclone: a clone of a helper (gcc's constprop) has an address of its own */
#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

static void *volatile sink; /* keeps the helpers' calls from becoming jumps */

typedef struct point {
    double x, y;
} point;
static const rcy_type point_type = {"point", sizeof(point), NULL, NULL, NULL};

typedef struct pair {
    struct pair *a, *b;
} pair;
static const rcy_type pair_type = {
    "pair", sizeof(pair), NULL, NULL, NULL, RCY_REF_WORD(pair, a) | RCY_REF_WORD(pair, b)};

/* ---- allocation sites: each a function of its own ---- */

static NOINLINE void *alloc_site_a(rcy_heap *h, size_t n)
{
    void *p = rcy_malloc(h, n);
    sink = p;
    return p;
}

static NOINLINE void *alloc_site_b(rcy_heap *h, size_t n)
{
    void *p = rcy_malloc(h, n);
    sink = p;
    return p;
}

static NOINLINE void *calloc_site(rcy_heap *h, size_t n)
{
    void *p = rcy_calloc(h, 1, n);
    sink = p;
    return p;
}

static NOINLINE void *realloc_site(rcy_heap *h, void *p, size_t n)
{
    void *q = rcy_realloc(h, p, n);
    sink = q;
    return q;
}

static NOINLINE void *new_site(rcy_heap *h, const rcy_type *t)
{
    void *o = rcy_new(h, t);
    sink = o;
    return o;
}

static NOINLINE void *new_sized_site(rcy_heap *h, const rcy_type *t, size_t n)
{
    void *o = rcy_new_sized(h, t, n);
    sink = o;
    return o;
}

/* The functions of this file that allocate: a return address belongs to
   the one that starts closest below it (and within 4 KiB). */
static void test_arguments(void);
static void test_blocks(void);
static void test_many(void);
static void test_realloc(void);
static void test_objects(void);
static void test_snapshots(void);
static void test_sampling(void);
typedef void (*any_fn)(void);
#define FN(f) ((any_fn)(uintptr_t)(f))

static int in_function(void *ra, any_fn fn)
{
    const any_fn known[] = {FN(alloc_site_a),   FN(alloc_site_b), FN(calloc_site),
                            FN(realloc_site),   FN(new_site),     FN(new_sized_site),
                            FN(test_arguments), FN(test_blocks),  FN(test_many),
                            FN(test_realloc),   FN(test_objects), FN(test_snapshots),
                            FN(test_sampling)};
    uintptr_t best = 0, at = (uintptr_t)ra;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        uintptr_t start = (uintptr_t)known[i];
        if (start < at && start > best)
            best = start;
    }
    return best == (uintptr_t)fn && at - best < 4096;
}
#define IN(ra, fn) in_function(ra, FN(fn))

static size_t traced_now(rcy_heap *h)
{
    size_t cur, peak;
    rcy_trace_get_traced_memory(h, &cur, &peak);
    return cur;
}

static size_t traced_peak(rcy_heap *h)
{
    size_t cur, peak;
    rcy_trace_get_traced_memory(h, &cur, &peak);
    return peak;
}

/* The first frame of p's site, NULL if untraced. */
static void *site_of(rcy_heap *h, const void *p)
{
    void *f[1];
    return rcy_trace_get_site(h, p, f, 1) == 1 ? f[0] : NULL;
}

static int symbols_have_lines(void)
{
    rcy_symbolizer *S = rcy__symbolizer_new();
    int yes = rcy__symbolizer_has_lines(S);
    rcy__symbolizer_free(S);
    return yes;
}

/* ---- bad arguments and the state machine ---- */

static void test_arguments(void)
{
    rcy_heap *h = check_new_heap();
    errno = 0;
    CHECK_EQ(rcy_trace_start(NULL, 1), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_trace_start(h, 0), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_trace_start(h, RCY_TRACE_MAX_FRAMES + 1), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rcy_trace_start_sampling(h, -3, 0, 1), -1);
    CHECK_EQ(rcy_trace_is_tracing(h), 0);
    CHECK_EQ(rcy_trace_is_tracing(NULL), 0);
    errno = 0;
    CHECK(rcy_trace_snapshot_take(h) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(traced_now(h), 0);
    void *p = rcy_malloc(h, 10);
    void *f[4];
    CHECK_EQ(rcy_trace_get_site(h, p, f, 4), 0); /* not tracing */

    CHECK_EQ(rcy_trace_start(h, RCY_TRACE_MAX_FRAMES), 0);
    CHECK_EQ(rcy_trace_is_tracing(h), 1);
    CHECK_EQ(rcy_trace_get_sampling(h), 0);
    errno = 0;
    CHECK_EQ(rcy_trace_start(h, 1), -1);
    CHECK_EQ(errno, EBUSY);
    void *q = alloc_site_a(h, 10);
    CHECK_EQ(rcy_trace_get_site(h, q, NULL, 4), 0);
    CHECK_EQ(rcy_trace_get_site(h, q, f, 0), 0);
    CHECK_EQ(rcy_trace_get_site(h, NULL, f, 4), 0);
    CHECK_EQ(rcy_trace_get_site(h, p, f, 4), 0); /* allocated before start */
    CHECK(rcy_trace_get_site(h, q, f, 4) >= 1);
    CHECK(rcy_trace_snapshot_statistics(NULL, RCY_TRACE_BY_SITE, &(size_t){0}) == NULL);
    rcy_trace_snapshot *s = rcy_trace_snapshot_take(h);
    CHECK(s != NULL);
    CHECK(rcy_trace_snapshot_statistics(s, (rcy_trace_group)99, &(size_t){0}) == NULL);
    CHECK(rcy_trace_snapshot_statistics(s, RCY_TRACE_BY_SITE, NULL) == NULL);
    CHECK(rcy_trace_snapshot_compare(s, NULL, RCY_TRACE_BY_SITE, &(size_t){0}) == NULL);
    CHECK(rcy_trace_snapshot_filter(NULL, 1, NULL, NULL) == NULL);
    rcy_trace_snapshot_free(s);
    rcy_trace_snapshot_free(NULL);
    rcy_trace_stop(h);
    rcy_trace_stop(h); /* twice: a no-op */
    CHECK_EQ(rcy_trace_is_tracing(h), 0);
    CHECK_EQ(rcy_trace_start_sampling(h, 2, 0, 7), 0);
    CHECK_EQ(rcy_trace_get_sampling(h), RCY_TRACE_SAMPLE_DEFAULT);
    rcy_trace_stop(h);
    rcy_free(h, p);
    rcy_free(h, q);
    rcy_heap_destroy(h);
}

/* ---- blocks ---- */

static void test_blocks(void)
{
    rcy_heap *h = check_new_heap();
    void *before = rcy_malloc(h, 24);
    CHECK_EQ(rcy_trace_start(h, 1), 0);
    void *a = alloc_site_a(h, 40);
    void *b = alloc_site_b(h, 100);
    void *c = calloc_site(h, 300);
    void *big = alloc_site_a(h, 100000);
    CHECK(IN(site_of(h, a), alloc_site_a));
    CHECK(IN(site_of(h, b), alloc_site_b));
    CHECK(IN(site_of(h, c), calloc_site));
    CHECK(IN(site_of(h, big), alloc_site_a));
    CHECK(site_of(h, before) == NULL);
    CHECK(site_of(h, (char *)a + 16) == NULL); /* inside a block: not a block */
    CHECK_EQ(traced_now(h), 40 + 100 + 300 + 100000);
    void *f[4];
    CHECK_EQ(rcy_trace_get_site(h, a, f, 4), 1); /* one frame traced */

    rcy_free(h, before); /* untraced: changes nothing */
    CHECK_EQ(traced_now(h), 40 + 100 + 300 + 100000);
    rcy_free(h, big);
    CHECK(site_of(h, big) == NULL);
    CHECK_EQ(traced_now(h), 40 + 100 + 300);
    CHECK_EQ(traced_peak(h), 40 + 100 + 300 + 100000);
    rcy_trace_reset_peak(h);
    CHECK_EQ(traced_peak(h), 40 + 100 + 300);
    rcy_free_sized(h, b, 100);
    CHECK_EQ(rcy_free_owned(h, c), 1);
    CHECK_EQ(traced_now(h), 40);
    CHECK(site_of(h, b) == NULL && site_of(h, c) == NULL);

    /* stopped while blocks live: every trace forgotten, blocks still good */
    void *d = alloc_site_b(h, 64);
    rcy_trace_stop(h);
    CHECK(site_of(h, a) == NULL);
    CHECK_EQ(traced_now(h), 0);
    rcy_free(h, a);
    /* started again: d, from the earlier tracing, is not traced */
    CHECK_EQ(rcy_trace_start(h, 8), 0);
    CHECK(site_of(h, d) == NULL);
    void *e = alloc_site_a(h, 8);
    int n = rcy_trace_get_site(h, e, f, 4);
    CHECK(n >= 2); /* the helper and this function, at least */
    CHECK(IN(f[0], alloc_site_a));
    CHECK(n >= 2 && f[1] != f[0] && !IN(f[1], alloc_site_a)); /* the helper's caller */
    rcy_free(h, d);
    CHECK_EQ(traced_now(h), 8);
    rcy_free(h, e);
    CHECK_EQ(traced_now(h), 0);
    rcy_trace_stop(h);
    rcy_heap_destroy(h);
}

/* Many blocks: the table grows and shrinks back (backward-shift deletion)
   with every trace findable throughout. */
static void test_many(void)
{
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_trace_start(h, 1), 0);
    enum { N = 20000 };
    static void *p[N];
    size_t total = 0;
    for (size_t i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(check_rand() % 600);
        p[i] = i % 2 ? alloc_site_a(h, n) : alloc_site_b(h, n);
        total += n;
    }
    CHECK_EQ(traced_now(h), total);
    check_shuffle(p, N);
    int lost = 0;
    for (size_t i = 0; i < N; i++)
        lost += site_of(h, p[i]) == NULL;
    CHECK_EQ(lost, 0);
    for (size_t i = 0; i < N / 2; i++)
        rcy_free(h, p[i]);
    lost = 0;
    for (size_t i = N / 2; i < N; i++)
        lost += site_of(h, p[i]) == NULL;
    CHECK_EQ(lost, 0);
    /* a freed block's trace is gone, in its pool's slots (small) as in the
       table (large), whatever arena it was in */
    int kept = 0;
    for (size_t i = 0; i < N / 2; i++)
        kept += site_of(h, p[i]) != NULL;
    CHECK_EQ(kept, 0);
    for (size_t i = N / 2; i < N; i++)
        rcy_free(h, p[i]);
    CHECK_EQ(traced_now(h), 0);
    CHECK_EQ(traced_peak(h), total);
    rcy_trace_stop(h);
    rcy_heap_destroy(h);
}

/* ---- realloc ---- */

static void test_realloc(void)
{
    rcy_heap *h = check_new_heap();
    void *old = rcy_malloc(h, 40); /* untraced */
    CHECK_EQ(rcy_trace_start(h, 1), 0);
    void *p = alloc_site_a(h, 40);
    /* the same size class (48 B blocks): kept, traced anew at the caller */
    void *q = realloc_site(h, p, 44);
    CHECK(q == p);
    CHECK(IN(site_of(h, q), realloc_site));
    CHECK_EQ(traced_now(h), 44);
    /* moved: the old block's trace goes, the new one's is realloc's caller's */
    void *r = realloc_site(h, q, 1000);
    CHECK(r != NULL);
    CHECK(IN(site_of(h, r), realloc_site));
    CHECK_EQ(traced_now(h), 1000);
    /* a large block resized */
    void *s = realloc_site(h, r, 200000);
    CHECK(IN(site_of(h, s), realloc_site));
    CHECK_EQ(traced_now(h), 200000);
    /* an untraced block resized while tracing becomes traced */
    void *t = realloc_site(h, old, 4000);
    CHECK(IN(site_of(h, t), realloc_site));
    CHECK_EQ(traced_now(h), 204000);
    /* realloc(NULL, n) and realloc(p, 0) */
    void *u = realloc_site(h, NULL, 16);
    CHECK(IN(site_of(h, u), realloc_site));
    void *v = realloc_site(h, u, 0);
    CHECK(IN(site_of(h, v), realloc_site));
    CHECK_EQ(traced_now(h), 204000);
    rcy_free(h, s);
    rcy_free(h, t);
    rcy_free(h, v);
    CHECK_EQ(traced_now(h), 0);
    rcy_trace_stop(h);
    rcy_heap_destroy(h);
}

/* ---- objects ---- */

static void test_objects(void)
{
    rcy_heap *h = check_new_heap();
    void *early = rcy_new(h, &point_type); /* before tracing: cached type pools */
    CHECK_EQ(rcy_trace_start(h, 4), 0);
    point *o = new_site(h, &point_type);
    CHECK(o != NULL);
    CHECK(IN(site_of(h, o), new_site));
    CHECK(site_of(h, early) == NULL);
    CHECK_EQ(traced_now(h), sizeof(point));
    void *big = new_sized_site(h, &point_type, 5000); /* a large object */
    CHECK(IN(site_of(h, big), new_sized_site));
    CHECK_EQ(traced_now(h), sizeof(point) + 5000);

    /* a cycle of collectable objects, freed by a collection */
    pair *x = new_site(h, &pair_type), *y = new_site(h, &pair_type);
    x->a = y;
    y->a = x;
    rcy_incref(x);
    rcy_incref(y);
    CHECK(IN(site_of(h, x), new_site));
    rcy_trace_snapshot *s = rcy_trace_snapshot_take(h);
    size_t n = 0;
    rcy_trace_stat *st = rcy_trace_snapshot_statistics(s, RCY_TRACE_BY_TYPE, &n);
    CHECK_EQ(n, 2);
    CHECK(n == 2 && !strcmp(st[0].key, "point") && st[0].count == 2 &&
          st[0].bytes == sizeof(point) + 5000);
    CHECK(n == 2 && !strcmp(st[1].key, "pair") && st[1].count == 2 &&
          st[1].bytes == 2 * sizeof(pair));
    rcy_trace_snapshot_stats_free(st);
    rcy_trace_snapshot_free(s);
    rcy_decref(x);
    rcy_decref(y);
    CHECK(site_of(h, x) != NULL); /* alive in their cycle */
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(traced_now(h), sizeof(point) + 5000);

    rcy_decref(o);
    rcy_decref(big);
    CHECK_EQ(traced_now(h), 0);
    /* a block and an object side by side: each found by its own pointer */
    void *blk = alloc_site_b(h, 8);
    void *ob = new_site(h, &point_type);
    CHECK(IN(site_of(h, blk), alloc_site_b) && IN(site_of(h, ob), new_site));
    rcy_free(h, blk);
    rcy_decref(ob);
    rcy_trace_stop(h);
    rcy_decref(early);
    /* after stop, creation is fast again and untraced */
    void *later = rcy_new(h, &point_type);
    CHECK(site_of(h, later) == NULL);
    rcy_decref(later);
    rcy_heap_destroy(h);
}

/* Destroying a heap that traces frees the tracer (ASan and valgrind see). */
static void test_destroy_while_tracing(void)
{
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_trace_start(h, 16), 0);
    for (int i = 0; i < 100; i++)
        (void)alloc_site_a(h, (size_t)i * 7);
    (void)new_site(h, &point_type);
    rcy_heap_destroy(h);
}

/* Traced blocks and objects freed by another thread: remote frees, which
   the owner's slow paths collect (here rcy_purge); the traces go then. */
static void *free_remotely(void *arg)
{
    void **p = arg;
    rcy_free(p[0], p[1]);
    rcy_decref(p[2]);
    return NULL;
}

static void test_remote_frees(void)
{
    for (int sampled = 0; sampled < 2; sampled++) {
        rcy_heap *h = check_new_heap();
        CHECK_EQ(sampled ? rcy_trace_start_sampling(h, 1, 1, 9) : rcy_trace_start(h, 1), 0);
        void *p[3] = {h, alloc_site_a(h, 200), new_site(h, &point_type)};
        CHECK(site_of(h, p[1]) != NULL && site_of(h, p[2]) != NULL);
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, free_remotely, p), 0);
        pthread_join(t, NULL);
        /* the object died on the other thread: its death waits in h's inbox
           for the owner (api.md, "Shared objects") */
        rcy_safepoint();
        (void)rcy_purge(h); /* collects the remote frees */
        CHECK(site_of(h, p[1]) == NULL && site_of(h, p[2]) == NULL);
        CHECK_EQ(traced_now(h), 0);
        rcy_trace_stop(h);
        rcy_heap_destroy(h);
    }
}

/* ---- snapshots ---- */

static void test_snapshots(void)
{
    int lines = symbols_have_lines();
    if (!lines)
        printf("test_trace: libdw not available: symbol names from dladdr only\n");
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_trace_start(h, 16), 0);
    void *a[30], *b[10];
    for (int i = 0; i < 30; i++)
        a[i] = alloc_site_a(h, 100);
    for (int i = 0; i < 10; i++)
        b[i] = alloc_site_b(h, 1000);
    void *o = new_site(h, &point_type);
    rcy_trace_snapshot *s1 = rcy_trace_snapshot_take(h);
    CHECK(s1 != NULL);
    CHECK_EQ(rcy_trace_snapshot_count(s1), 41);

    size_t n = 0;
    rcy_trace_stat *st = rcy_trace_snapshot_statistics(s1, RCY_TRACE_BY_SITE, &n);
    CHECK_EQ(n, 3);
    /* most bytes first: b's 10,000, a's 3,000, the point's 16 */
    CHECK(n == 3 && st[0].bytes == 10000 && st[0].count == 10 && st[0].traces == 10);
    CHECK(n == 3 && st[1].bytes == 3000 && st[1].count == 30);
    CHECK(n == 3 && st[2].bytes == sizeof(point) && st[2].count == 1);
    CHECK(n == 3 && IN(st[0].frames[0], alloc_site_b) && IN(st[1].frames[0], alloc_site_a));
    CHECK(n == 3 && st[0].nframes >= 2);
    if (lines) { /* symbolized: the test's own functions, file and line */
        CHECK(n == 3 && strstr(st[0].key, "alloc_site_b") && strstr(st[0].key, "test_trace.c:"));
        CHECK(n == 3 && strstr(st[1].key, "alloc_site_a"));
        CHECK(n == 3 && strstr(st[2].key, "new_site"));
    }
    printf("test_trace: by site:\n");
    rcy_trace_snapshot_print_stats(st, n, 0, stdout);
    rcy_trace_snapshot_stats_free(st);

    st = rcy_trace_snapshot_statistics(s1, RCY_TRACE_BY_LINE, &n);
    CHECK_EQ(n, 3); /* three calls, on three lines */
    if (lines)
        CHECK(n == 3 && strstr(st[0].key, "test_trace.c:") != NULL);
    rcy_trace_snapshot_stats_free(st);
    st = rcy_trace_snapshot_statistics(s1, RCY_TRACE_BY_FILE, &n);
    CHECK_EQ(n, lines ? 1 : n); /* one file (or one module) */
    CHECK(n >= 1 && st[0].bytes == 13000 + sizeof(point) && st[0].count == 41);
    if (lines)
        CHECK(n >= 1 && strstr(st[0].key, "test_trace.c") != NULL);
    rcy_trace_snapshot_stats_free(st);
    st = rcy_trace_snapshot_statistics(s1, RCY_TRACE_BY_TYPE, &n);
    CHECK_EQ(n, 2);
    CHECK(n == 2 && !strcmp(st[0].key, "(block)") && st[0].count == 40);
    CHECK(n == 2 && !strcmp(st[1].key, "point") && st[1].count == 1);
    rcy_trace_snapshot_stats_free(st);
    st = rcy_trace_snapshot_statistics(s1, RCY_TRACE_BY_TRACEBACK, &n);
    CHECK(n >= 3); /* the loops' calls share a traceback each */
    CHECK(n >= 1 && st[0].count == 10 && strchr(st[0].key, '\n') != NULL);
    if (lines)
        CHECK(n >= 1 && strstr(st[0].key, "test_snapshots") != NULL);
    rcy_trace_snapshot_stats_free(st);

    /* compare: a grows by 5 blocks, b shrinks by 4, c is new */
    for (int i = 0; i < 4; i++)
        rcy_free(h, b[i]);
    void *more[5];
    for (int i = 0; i < 5; i++)
        more[i] = alloc_site_a(h, 100);
    void *c = calloc_site(h, 50000);
    rcy_trace_snapshot *s2 = rcy_trace_snapshot_take(h);
    st = rcy_trace_snapshot_compare(s2, s1, RCY_TRACE_BY_SITE, &n);
    CHECK_EQ(n, 4);
    /* sorted by the size of the change: c +50,000, b -4,000, a +500, point 0 */
    CHECK(n == 4 && IN(st[0].frames[0], calloc_site) && st[0].bytes_diff == 50000 &&
          st[0].count_diff == 1);
    CHECK(n == 4 && IN(st[1].frames[0], alloc_site_b) && st[1].bytes_diff == -4000 &&
          st[1].count_diff == -4 && st[1].bytes == 6000);
    CHECK(n == 4 && IN(st[2].frames[0], alloc_site_a) && st[2].bytes_diff == 500 &&
          st[2].count_diff == 5);
    CHECK(n == 4 && st[3].bytes_diff == 0 && st[3].count_diff == 0);
    rcy_trace_snapshot_stats_free(st);
    /* the other way round: a group only in the old snapshot shows with 0 */
    st = rcy_trace_snapshot_compare(s1, s2, RCY_TRACE_BY_SITE, &n);
    CHECK_EQ(n, 4);
    CHECK(n == 4 && st[0].bytes == 0 && st[0].bytes_diff == -50000 && st[0].count_diff == -1);
    rcy_trace_snapshot_stats_free(st);

    /* filters */
    rcy_trace_snapshot *objs = rcy_trace_snapshot_filter(s2, 1, NULL, "point");
    CHECK_EQ(rcy_trace_snapshot_count(objs), 1);
    rcy_trace_snapshot *blocks = rcy_trace_snapshot_filter(s2, 0, NULL, "point");
    CHECK_EQ(rcy_trace_snapshot_count(blocks), rcy_trace_snapshot_count(s2) - 1);
    rcy_trace_snapshot *none = rcy_trace_snapshot_filter(s2, 1, "*no-such-file.c", NULL);
    CHECK_EQ(rcy_trace_snapshot_count(none), 0);
    st = rcy_trace_snapshot_statistics(none, RCY_TRACE_BY_SITE, &n);
    CHECK(st != NULL && n == 0);
    rcy_trace_snapshot_stats_free(st);
    if (lines) {
        rcy_trace_snapshot *mine = rcy_trace_snapshot_filter(s2, 1, "*test_trace.c", NULL);
        CHECK_EQ(rcy_trace_snapshot_count(mine), rcy_trace_snapshot_count(s2));
        rcy_trace_snapshot *others = rcy_trace_snapshot_filter(s2, 0, "*test_trace.c", "(block)");
        CHECK_EQ(rcy_trace_snapshot_count(others), 1); /* not both: the point */
        rcy_trace_snapshot_free(mine);
        rcy_trace_snapshot_free(others);
    }
    rcy_trace_snapshot_free(objs);
    rcy_trace_snapshot_free(blocks);
    rcy_trace_snapshot_free(none);

    /* the report's entry point */
    rcy_trace_site sites[2];
    CHECK_EQ(rcy__trace_top_sites(h, sites, 2), 2);
    CHECK(sites[0].bytes == 50000 && sites[0].count == 1 && !sites[0].sampled &&
          IN(sites[0].frames[0], calloc_site) && sites[0].text[0] != '\0');
    CHECK(sites[1].bytes == 6000 && sites[1].count == 6 && IN(sites[1].frames[0], alloc_site_b));
    if (lines)
        CHECK(strstr(sites[0].text, "calloc_site") != NULL);
    char buf[256];
    rcy_trace_format_frame(sites[0].frames[0], buf, sizeof buf);
    CHECK(!strcmp(buf, sites[0].text));

    rcy_trace_snapshot_free(s1);
    rcy_trace_snapshot_free(s2);
    for (int i = 0; i < 30; i++)
        rcy_free(h, a[i]);
    for (int i = 4; i < 10; i++)
        rcy_free(h, b[i]);
    for (int i = 0; i < 5; i++)
        rcy_free(h, more[i]);
    rcy_free(h, c);
    rcy_decref(o);
    CHECK_EQ(traced_now(h), 0);
    CHECK_EQ(rcy__trace_top_sites(h, sites, 2), 0);
    rcy_trace_stop(h);
    CHECK_EQ(rcy__trace_top_sites(h, sites, 2), 0);
    rcy_heap_destroy(h);
}

/* ---- sampling ---- */

/* The known mix: big sites a (64 B blocks), b (256 B), c (large, 4 KiB)
   and objects, and a small site holding well under 1%. */
enum { MIX_A = 40000, MIX_B = 16000, MIX_C = 500, MIX_O = 30000, MIX_SMALL = 100 };
#define MEAN ((size_t)4096)

static void **mix(rcy_heap *h, size_t *n)
{
    size_t total = MIX_A + MIX_B + MIX_C + MIX_O + MIX_SMALL, k = 0;
    void **p = malloc(total * sizeof *p);
    if (!p)
        return NULL;
    for (int i = 0; i < MIX_A; i++)
        p[k++] = alloc_site_a(h, 64);
    for (int i = 0; i < MIX_B; i++)
        p[k++] = alloc_site_b(h, 256);
    for (int i = 0; i < MIX_C; i++)
        p[k++] = calloc_site(h, 4096);
    for (int i = 0; i < MIX_SMALL; i++)
        p[k++] = realloc_site(h, NULL, 16);
    for (int i = 0; i < MIX_O; i++)
        p[k++] = new_site(h, &point_type);
    *n = k;
    return p;
}

static void unmix(rcy_heap *h, void **p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i >= n - MIX_O)
            rcy_decref(p[i]);
        else
            rcy_free(h, p[i]);
    }
    free(p);
}

/* The estimate of the site whose first frame is in fn, 0 if none. */
static size_t estimate(const rcy_trace_stat *st, size_t n, any_fn fn, size_t *count)
{
    for (size_t i = 0; i < n; i++)
        if (in_function(st[i].frames[0], fn)) {
            *count = st[i].count;
            return st[i].bytes;
        }
    *count = 0;
    return 0;
}
#define ESTIMATE(st, n, fn, count) estimate(st, n, FN(fn), count)

static int within(size_t est, size_t truth, double tolerance)
{
    double e = (double)est, t = (double)truth;
    return e >= t * (1 - tolerance) && e <= t * (1 + tolerance);
}

static void test_sampling(void)
{
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_trace_start_sampling(h, 1, MEAN, 12345), 0);
    CHECK_EQ(rcy_trace_get_sampling(h), MEAN);
    size_t n = 0;
    void **p = mix(h, &n);
    CHECK(p != NULL);
    if (!p)
        return;
    rcy_trace_snapshot *s = rcy_trace_snapshot_take(h);
    size_t ns = 0, cnt;
    rcy_trace_stat *st = rcy_trace_snapshot_statistics(s, RCY_TRACE_BY_SITE, &ns);
    size_t truth_a = MIX_A * 64, truth_b = MIX_B * 256, truth_c = MIX_C * 4096,
           truth_o = MIX_O * sizeof(point);
    size_t total = truth_a + truth_b + truth_c + truth_o + MIX_SMALL * 16;
    size_t ea = ESTIMATE(st, ns, alloc_site_a, &cnt);
    printf("test_trace: sampling every %zu B on average: a %zu (truth %zu, %zu blocks of %d)\n",
           MEAN, ea, truth_a, cnt, MIX_A);
    CHECK(within(ea, truth_a, 0.10));
    CHECK(within(cnt, MIX_A, 0.10));
    size_t eb = ESTIMATE(st, ns, alloc_site_b, &cnt);
    printf("test_trace:   b %zu (truth %zu), %zu blocks of %d\n", eb, truth_b, cnt, MIX_B);
    CHECK(within(eb, truth_b, 0.10));
    size_t ec = ESTIMATE(st, ns, calloc_site, &cnt);
    printf("test_trace:   c %zu (truth %zu)\n", ec, truth_c);
    CHECK(within(ec, truth_c, 0.10));
    size_t eo = ESTIMATE(st, ns, new_site, &cnt);
    printf("test_trace:   objects %zu (truth %zu)\n", eo, truth_o);
    CHECK(within(eo, truth_o, 0.10));
    /* far fewer traces than blocks */
    CHECK(rcy_trace_snapshot_count(s) < (MIX_A + MIX_B + MIX_C + MIX_O) / 10);
    size_t cur = traced_now(h);
    printf("test_trace:   total %zu (truth %zu), %zu samples\n", cur, total,
           rcy_trace_snapshot_count(s));
    CHECK(within(cur, total, 0.10));
    /* the same seed and allocations give the same samples */
    rcy_heap *h2 = check_new_heap();
    CHECK_EQ(rcy_trace_start_sampling(h2, 1, MEAN, 12345), 0);
    size_t n2 = 0;
    void **p2 = mix(h2, &n2);
    CHECK_EQ(traced_now(h2), cur);
    rcy_trace_snapshot *s2 = rcy_trace_snapshot_take(h2);
    CHECK_EQ(rcy_trace_snapshot_count(s2), rcy_trace_snapshot_count(s));
    rcy_trace_snapshot_free(s2);
    if (p2)
        unmix(h2, p2, n2);
    CHECK_EQ(traced_now(h2), 0);
    rcy_trace_stop(h2);
    rcy_heap_destroy(h2);

    rcy_trace_snapshot_stats_free(st);
    rcy_trace_snapshot_free(s);
    unmix(h, p, n);
    CHECK_EQ(traced_now(h), 0); /* every sample's free was seen */
    rcy_trace_stop(h);
    rcy_heap_destroy(h);
}

int main(void)
{
    test_arguments();
    test_blocks();
    test_many();
    test_realloc();
    test_objects();
    test_destroy_while_tracing();
    test_remote_frees();
    test_snapshots();
    test_sampling();
    return check_summary("test_trace");
}
