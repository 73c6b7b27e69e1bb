/* SPDX-License-Identifier: MIT */
/* Memory goes back to the OS: after a peak of small blocks is freed, the
 * process's resident set shrinks again on its own, and rcy_purge gives back
 * whatever the cache of empty pools still holds.
 *
 * RSS is read from /proc/self/statm. The test's own pointer arrays come
 * from mmap and are touched before any baseline is taken, so they count in
 * the baseline and never move it. RSS assertions are skipped in sanitizer
 * builds (RCY_SANITIZE) and when RCY_NO_RSS_CHECKS=1 (valgrind); the
 * statistics are checked everywhere. */
#define _DEFAULT_SOURCE

#include "check.h"
#include "recycle.h"

#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#define MiB ((size_t)1 << 20)
/* Empty pools kept with their pages with no time limit: at most
   max(64, pools in use / this); the rest for the purge delay. */
#define DIRTY_SHARE 4
/* The purge delay these tests set (ms), and how long they wait for it. */
#define DELAY_MS 50
#define WAIT_MS 120

static int quick;     /* RCY_TEST_QUICK=1: smaller sizes */
static int rss_check; /* 0: RSS numbers are printed, not asserted */

/* Resident bytes, read without stdio (whose buffer would come from malloc). */
static size_t rss_bytes(void)
{
    char buf[256];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    (void)strtoull(buf, &end, 10);                    /* size */
    unsigned long long res = strtoull(end, NULL, 10); /* resident */
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The program goes on calling the allocator after the purge delay: a
   large block allocated and freed is a slow path, on which expired pages
   go back (a block of the fill class is too when it empties its pool). */
static void wait_and_call(rcy_heap *h)
{
    sleep_ms(WAIT_MS);
    rcy_free(h, rcy_malloc(h, 4096));
}

static double mib(size_t b)
{
    return (double)b / (double)MiB;
}
static size_t grown(size_t now, size_t base)
{
    return now > base ? now - base : 0;
}

/* An array of n pointers from mmap, every page touched. */
static void **map_array(size_t n)
{
    void *p =
        mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 0, n * sizeof(void *));
    return p;
}

/* n 64-byte blocks, each written all over. 0 if one failed. */
/* The size fill() allocates, and its entry in rcy_mem_stats.classes
   (block sizes 8 bytes apart). */
#define FILL_SIZE 64
#define FILL_CLASS (FILL_SIZE / 8 - 1)

static int fill(rcy_heap *h, void **p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = rcy_malloc(h, FILL_SIZE);
        if (!p[i])
            return 0;
        memset(p[i], 0x5A, 64);
        memcpy(p[i], &i, sizeof i);
    }
    return 1;
}

/* Allocate a peak, free it all in random order: right after, the pages
 * are kept (the purge delay: a burst allocated again would reuse them);
 * after the delay, the next call to the allocator gives them back, and
 * RSS comes back to where it started without rcy_purge. */
static void test_free_all_returns(size_t total)
{
    const size_t n = total / 64;
    void **p = map_array(n);
    CHECK(p != NULL);
    if (!p)
        return;
    size_t rss_start = rss_bytes();
    rcy_heap *h = check_new_heap();
    rcy_heap_set_purge_delay(h, DELAY_MS);
    size_t rss0 = rss_bytes();
    rcy_mem_stats s0, s1, s2;
    rcy_mem_get_stats(h, &s0);

    CHECK(fill(h, p, n));
    size_t rss1 = rss_bytes();
    rcy_mem_get_stats(h, &s1);
    CHECK(s1.bytes_committed >= total);
    CHECK(s1.peak_bytes_committed >= total);
    CHECK_EQ(s1.small_bytes_used - s0.small_bytes_used, total);
    printf("free-all: baseline %.1f MiB, after %.0f MiB of 64-byte blocks %.1f MiB (+%.1f)\n",
           mib(rss0), mib(total), mib(rss1), mib(grown(rss1, rss0)));
    if (rss_check) {
        CHECK(grown(rss1, rss0) >= total / 10 * 9);
        CHECK(grown(rss1, rss0) <= total / 10 * 11 + 8 * MiB);
    }

    check_shuffle(p, n);
    rcy_heap_set_purge_delay(h, 60000); /* however slow the build, the frees take less */
    for (size_t i = 0; i < n; i++)
        rcy_free(h, p[i]);
    rcy_mem_get_stats(h, &s2);
    CHECK(s2.bytes_released_total - s1.bytes_released_total < total / 10); /* kept, at first */
    rcy_heap_set_purge_delay(h, DELAY_MS);
    wait_and_call(h);
    size_t rss2 = rss_bytes();
    rcy_mem_get_stats(h, &s2);
    printf("free-all: after freeing everything, the delay and one call (no purge) %.1f MiB (+%.1f "
           "over baseline); "
           "released %.1f MiB, arenas now %zu, dirty empty pools %zu\n",
           mib(rss2), mib(grown(rss2, rss0)),
           mib(s2.bytes_released_total - s1.bytes_released_total), s2.arenas_current,
           s2.pools_empty_dirty);
    if (rss_check)
        CHECK(rss2 <= rss0 + 8 * MiB);
    CHECK_EQ(s2.bytes_in_use, s0.bytes_in_use);
    CHECK(s2.pools_used <= s0.pools_used + 1); /* the class keeps one empty pool */
    CHECK(s2.bytes_released_total > s1.bytes_released_total);
    CHECK(s2.bytes_released_total - s1.bytes_released_total >= total - 8 * MiB);
    CHECK(s2.bytes_committed <= 8 * MiB);
    CHECK(s2.arenas_current <= 2); /* the reserve, and the kept pool's arena */
    CHECK(s2.pools_empty_dirty * 16384 <= 2 * MiB);

    rcy_heap_destroy(h);
    size_t rss3 = rss_bytes();
    printf("free-all: after rcy_heap_destroy %.1f MiB (start %.1f)\n", mib(rss3), mib(rss_start));
    if (rss_check)
        CHECK(rss3 <= rss_start + 8 * MiB);
    munmap(p, n * sizeof(void *));
}

/* Keep 1 block in 1024, free the rest in random order. About a quarter of
 * the pools keep a block and every arena stays; the empty pools' pages must
 * still go back (on their own after the purge delay, mostly; all of them
 * on rcy_purge), and rcy_purge gives back the free pages inside the pools
 * that keep a block too: three of each four. */
static void test_sparse_survivors(size_t total)
{
    const size_t n = total / 64;
    void **p = map_array(n);
    CHECK(p != NULL);
    if (!p)
        return;
    size_t rss_start = rss_bytes();
    rcy_heap *h = check_new_heap();
    rcy_heap_set_purge_delay(h, DELAY_MS);
    size_t rss0 = rss_bytes();
    CHECK(fill(h, p, n));
    size_t rss_peak = rss_bytes();
    size_t peak = grown(rss_peak, rss0);
    rcy_mem_stats s1, s2, s3;
    rcy_mem_get_stats(h, &s1);

    check_shuffle(p, n);
    const size_t keep = n / 1024;
    for (size_t i = keep; i < n; i++)
        rcy_free(h, p[i]);
    wait_and_call(h);
    size_t rss2 = rss_bytes();
    rcy_mem_get_stats(h, &s2);
    printf("sparse: peak +%.1f MiB; 1 in 1024 kept: +%.1f MiB without purge "
           "(%zu pools used, %zu empty dirty, %zu empty clean, %zu arenas)\n",
           mib(peak), mib(grown(rss2, rss0)), s2.pools_used, s2.pools_empty_dirty,
           s2.pools_empty_clean, s2.arenas_current);
    CHECK_EQ(s2.classes[FILL_CLASS].blocks_used, keep);
    /* the cache of dirty empty pools is bounded: 1 MiB (64 pools) or a
       share of the pools in use; the loosest share we accept is one empty
       pool per DIRTY_SHARE used ones */
    size_t bound = s2.pools_used / DIRTY_SHARE > 64 ? s2.pools_used / DIRTY_SHARE : 64;
    CHECK(s2.pools_empty_dirty <= bound + 16);
    if (s2.pools_empty_dirty > bound + 16)
        printf("sparse: %zu dirty empty pools, bound %zu\n", s2.pools_empty_dirty, bound);
    CHECK(s2.bytes_released_total > s1.bytes_released_total);
    if (rss_check)
        CHECK(grown(rss2, rss0) < peak / 2);

    size_t r = rcy_purge(h);
    size_t rss3 = rss_bytes();
    rcy_mem_get_stats(h, &s3);
    printf("sparse: rcy_purge released %.1f MiB; now +%.1f MiB (%.0f%% of the peak)\n", mib(r),
           mib(grown(rss3, rss0)), peak ? 100.0 * (double)grown(rss3, rss0) / (double)peak : 0.0);
    if (s2.pools_empty_dirty > 0)
        CHECK(r > 0);
    CHECK_EQ(s3.pools_empty_dirty, 0);
    CHECK_EQ(s3.bytes_released_total - s2.bytes_released_total, r);
    CHECK_EQ(s2.bytes_committed - s3.bytes_committed, r);
    /* the empty pools, and at most three of each four pages of the others */
    CHECK(r <= s2.pools_empty_dirty * 16384 + s2.pools_used * 12288 + MiB);
    CHECK(r >= s2.pools_empty_dirty * 16384 + s2.pools_used * 12288 / 2);
    CHECK_EQ(s3.pools_used, s2.pools_used);
    /* the kept blocks are untouched */
    int corrupt = 0;
    for (size_t i = 0; i < keep; i++) {
        size_t idx;
        memcpy(&idx, p[i], sizeof idx);
        const unsigned char *b = p[i];
        corrupt += idx >= n || b[63] != 0x5A;
    }
    CHECK_EQ(corrupt, 0);
    if (rss_check)
        CHECK(grown(rss3, rss0) < peak / 10);
    /* the committed bytes tell the same story as RSS */
    CHECK(s3.bytes_committed < s1.bytes_committed / 10);

    /* a second purge has nothing left */
    CHECK_EQ(rcy_purge(h), 0);

    /* the pools that gave pages back serve every block again: their parked
       blocks come back when the rest is used up, and read as written */
    for (size_t i = keep; i < n; i++) {
        p[i] = rcy_malloc(h, FILL_SIZE);
        CHECK(p[i] != NULL);
        memset(p[i], 0x5A, FILL_SIZE);
        memcpy(p[i], &i, sizeof i);
    }
    rcy_mem_get_stats(h, &s3);
    CHECK_EQ(s3.classes[FILL_CLASS].blocks_used, n);
    CHECK(s3.arenas_current <= s1.arenas_current + 1); /* the pages were reused, not new ones */
    corrupt = 0;
    for (size_t i = 0; i < n; i++) {
        size_t idx;
        memcpy(&idx, p[i], sizeof idx);
        corrupt += idx >= n || ((const unsigned char *)p[i])[63] != 0x5A;
    }
    CHECK_EQ(corrupt, 0);
    for (size_t i = keep; i < n; i++)
        rcy_free(h, p[i]);

    for (size_t i = 0; i < keep; i++)
        rcy_free(h, p[i]);
    rcy_heap_destroy(h);
    size_t rss4 = rss_bytes();
    printf("sparse: after rcy_heap_destroy %.1f MiB (start %.1f)\n", mib(rss4), mib(rss_start));
    if (rss_check)
        CHECK(rss4 <= rss_start + 8 * MiB);
    munmap(p, n * sizeof(void *));
}

/* A little freed memory stays in the warm cache (no thrashing), and
 * rcy_purge hands it back. */
static void test_purge_small_cache(void)
{
    const size_t total = 512 * 1024;
    const size_t n = total / 64;
    void **p = map_array(n);
    CHECK(p != NULL);
    if (!p)
        return;
    rcy_heap *h = check_new_heap();
    CHECK(fill(h, p, n));
    for (size_t i = 0; i < n; i++)
        rcy_free(h, p[i]);
    rcy_mem_stats s1, s2;
    rcy_mem_get_stats(h, &s1);
    CHECK(s1.pools_used <= 1); /* the class keeps one empty pool */
    CHECK((s1.pools_empty_dirty + s1.pools_used) * 16384 >= total);
    size_t rss1 = rss_bytes();
    size_t r = rcy_purge(h);
    size_t rss2 = rss_bytes();
    rcy_mem_get_stats(h, &s2);
    printf("small cache: %zu dirty empty pools, rcy_purge released %zu KiB, RSS -%.1f MiB\n",
           s1.pools_empty_dirty, r / 1024, mib(grown(rss1, rss2)));
    CHECK(r >= total);
    CHECK_EQ(s2.pools_empty_dirty, 0);
    CHECK(s2.bytes_released_total - s1.bytes_released_total >= total);
    if (rss_check)
        CHECK(grown(rss1, rss2) >= total / 2);
    CHECK_EQ(rcy_purge(h), 0);

    /* the purged pools are usable again */
    CHECK(fill(h, p, n));
    rcy_mem_get_stats(h, &s2);
    CHECK_EQ(s2.classes[FILL_CLASS].blocks_used, n);
    for (size_t i = 0; i < n; i++)
        rcy_free(h, p[i]);
    rcy_heap_destroy(h);
    munmap(p, n * sizeof(void *));
}

int main(void)
{
    quick = check_quick();
    const char *no = getenv("RCY_NO_RSS_CHECKS");
    rss_check = !(no && *no && strcmp(no, "0") != 0);
#if defined(RCY_SANITIZE) && RCY_SANITIZE
    rss_check = 0;
#endif
    if (rss_bytes() == 0) {
        printf("no /proc/self/statm: RSS not checked\n");
        rss_check = 0;
    }
    size_t total = (quick ? 64 : 256) * MiB;
    test_purge_small_cache();
    test_free_all_returns(total);
    test_sparse_survivors(total);
    return check_summary("test_release");
}
