/* SPDX-License-Identifier: MIT */
/* Allocation tracing's sampling error (issue 24), recycle only.
 *
 *   bench_trace estimate [MiB] [seeds] [mean]
 *       a heap of MiB (default 1024, quick 256) live bytes from eight
 *       allocation sites of known shares (40% down to 0.5%) and block sizes
 *       (16 B to 64 KiB), sampled at mean bytes (default 512 KiB); for each
 *       seed, every site's estimated bytes against the truth. Prints per
 *       seed the largest and the mean error of the sites over 1% of the
 *       heap, and what sqrt(mean / site bytes), the relative standard
 *       error of a Poisson sample of small blocks, predicts for the
 *       smallest of them.
 * The timing of tracing (off, sampled, full) is bench_alloc's churn and
 * bench_objects' bt under BENCH_TRACE (bench_common.h). */
#include "bench_common.h"

#include <math.h>

#define NOINLINE __attribute__((noinline))
static void *volatile sink;

#define SITE(k)                                                                                    \
    static NOINLINE void *site##k(size_t n)                                                        \
    {                                                                                              \
        void *p = a_malloc_or_die(n);                                                              \
        sink = p;                                                                                  \
        return p;                                                                                  \
    }
SITE(0)
SITE(1)
SITE(2)
SITE(3)
SITE(4)
SITE(5)
SITE(6)
SITE(7)

#define NSITES 8
static void *(*const sites[NSITES])(size_t) = {site0, site1, site2, site3,
                                               site4, site5, site6, site7};
static const double share[NSITES] = {0.40, 0.20, 0.15, 0.10, 0.08, 0.04, 0.025, 0.005};
static const size_t block[NSITES] = {48, 512, 16, 4096, 160, 65536, 96, 32};

/* The site whose function holds return address ra: the closest start below. */
static int site_of(void *ra)
{
    int best = -1;
    uintptr_t at = (uintptr_t)ra, start = 0;
    for (int k = 0; k < NSITES; k++) {
        uintptr_t s = (uintptr_t)(void *)sites[k];
        if (s < at && s >= start) {
            start = s;
            best = k;
        }
    }
    return best;
}

static void estimate(size_t mib, int seeds, size_t mean)
{
    size_t total = mib << 20;
    size_t count[NSITES], nblocks = 0;
    for (int k = 0; k < NSITES; k++) {
        count[k] = (size_t)(share[k] * (double)total) / block[k];
        nblocks += count[k];
    }
    void **p = os_array(nblocks * sizeof *p);
    for (int seed = 1; seed <= seeds; seed++) {
        rcy_heap *h = rcy_heap_new();
        if (!h || rcy_trace_start_sampling(h, 1, mean, (uint64_t)seed) != 0) {
            fprintf(stderr, "bench_trace: no heap or no sampling\n");
            exit(2);
        }
        g_heap = h;
        size_t i = 0, truth[NSITES];
        /* interleaved, as a program's sites are */
        size_t left[NSITES];
        memcpy(left, count, sizeof left);
        for (int more = 1; more;) {
            more = 0;
            for (int k = 0; k < NSITES; k++)
                for (int j = 0; j < 16 && left[k]; j++, left[k]--) {
                    p[i++] = sites[k](block[k]);
                    more = 1;
                }
        }
        size_t live = 0;
        for (int k = 0; k < NSITES; k++) {
            truth[k] = count[k] * block[k];
            live += truth[k];
        }
        rcy_trace_snapshot *s = rcy_trace_snapshot_take(h);
        size_t n = 0;
        rcy_trace_stat *st = rcy_trace_snapshot_statistics(s, RCY_TRACE_BY_SITE, &n);
        double est[NSITES] = {0};
        for (size_t g = 0; g < n; g++) {
            int k = site_of(st[g].frames[0]);
            if (k >= 0)
                est[k] += (double)st[g].bytes;
        }
        double max_err = 0, sum_err = 0, smallest = 1e300;
        int over = 0;
        for (int k = 0; k < NSITES; k++) {
            if ((double)truth[k] <= 0.01 * (double)live)
                continue;
            double err = fabs(est[k] - (double)truth[k]) / (double)truth[k];
            max_err = err > max_err ? err : max_err;
            sum_err += err;
            smallest = (double)truth[k] < smallest ? (double)truth[k] : smallest;
            over++;
        }
        printf("RESULT bench=trace_estimate alloc=recycle seed=%d heap_mib=%zu mean=%zu "
               "samples=%zu sites_over_1pct=%d max_err_pct=%.2f mean_err_pct=%.2f "
               "predicted_err_pct_smallest=%.2f\n",
               seed, mib, mean, rcy_trace_snapshot_count(s), over, 100 * max_err,
               100 * sum_err / over, 100 * sqrt((double)mean / smallest));
        rcy_trace_snapshot_stats_free(st);
        rcy_trace_snapshot_free(s);
        rcy_heap_destroy(h); /* frees every block at once */
    }
    os_array_free(p, nblocks * sizeof *p);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "estimate")) {
        estimate((size_t)arg_long(argc, argv, 2, bench_quick() ? 256 : 1024),
                 (int)arg_long(argc, argv, 3, 5), (size_t)arg_long(argc, argv, 4, 512 * 1024));
        return 0;
    }
    fprintf(stderr, "usage: %s estimate [MiB] [seeds] [mean]\n", argv[0]);
    return 2;
}
