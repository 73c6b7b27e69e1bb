/* SPDX-License-Identifier: MIT */
/* Raw allocator benchmarks, one allocator per executable (see bench_common.h).
 *
 *   bench_alloc_<alloc> churn          100,000 live blocks of 16..512 B, replace
 *                                      a random one 50M times (free + alloc)
 *   bench_alloc_<alloc> bursts         1M blocks of 16/64/256 B allocated then
 *                                      all freed, 20 rounds per size
 *   bench_alloc_<alloc> release [keep] 1 GiB of 64 B blocks, touched, freed in
 *                                      random order (keep: 1 block in <keep>
 *                                      stays alive); RSS after the frees, 1 s
 *                                      later, and after the explicit release call
 *   bench_alloc_<alloc> pairs N [sized|loop]
 *                                      N malloc + free pairs among 1,024 live
 *                                      blocks of 16..512 B (free a random one,
 *                                      allocate a new random size in its place),
 *                                      with the sized free where the allocator
 *                                      has one; `loop`: the same loop without
 *                                      the calls. For instruction counts: run
 *                                      under callgrind and subtract the loop
 *                                      (bench/run.sh does)
 * BENCH_QUICK=1 shrinks every size ~20x. Pointer arrays come from mmap, not
 * from the allocator under test, and RSS figures are net of them. */
#include "bench_common.h"

#define CHURN_SLOTS 100000
#define SIZE_MIN 16
#define SIZE_SPAN 497 /* 16..512 inclusive */

static void churn(void)
{
    const long ops = bench_quick() ? 2500000L : 50000000L;
    const size_t arr_bytes = CHURN_SLOTS * sizeof(void *);
    void **slot = os_array(arr_bytes);
    rng_t rng = {0x9E3779B97F4A7C15ULL};

    /* Loop overhead: the same RNG, indexing and slot traffic, no allocator. */
    double t0 = now_s();
    for (long k = 0; k < ops; k++) {
        uint64_t r = rng_next(&rng);
        size_t i = (size_t)((uint32_t)r % CHURN_SLOTS);
        size_t sz = SIZE_MIN + (size_t)((r >> 32) % SIZE_SPAN);
        slot[i] = (void *)((uintptr_t)slot[i] + sz);
    }
    BENCH_BARRIER();
    double t_loop = now_s() - t0;
    uintptr_t sink = 0;
    for (size_t i = 0; i < CHURN_SLOTS; i++)
        sink += (uintptr_t)slot[i];
    memset(slot, 0, arr_bytes);

    a_init();
    double base = rss_mib();
    reset_peak_rss();
    rng.s = 0x2545F4914F6CDD1DULL;
    size_t live_bytes = 0;
    for (size_t i = 0; i < CHURN_SLOTS; i++) {
        size_t sz = SIZE_MIN + (size_t)(rng_next(&rng) % SIZE_SPAN);
        slot[i] = a_malloc_or_die(sz);
        memset(slot[i], (int)i, sz);
        live_bytes += sz;
    }
    long f0 = minor_faults();
    t0 = now_s();
    for (long k = 0; k < ops; k++) {
        uint64_t r = rng_next(&rng);
        size_t i = (size_t)((uint32_t)r % CHURN_SLOTS);
        size_t sz = SIZE_MIN + (size_t)((r >> 32) % SIZE_SPAN);
        a_free(slot[i]);
        char *p = a_malloc(sz);
        p[0] = (char)k;
        p[sz - 1] = (char)k;
        slot[i] = p;
    }
    BENCH_BARRIER();
    double t_run = now_s() - t0;
    long faults = minor_faults() - f0;
    double peak = peak_rss_mib();
    double ns_op = (t_run - t_loop) * 1e9 / (double)ops;
    printf("RESULT bench=churn alloc=%s version=%s ops=%ld slots=%d ns_op=%.2f ns_op_gross=%.2f "
           "ns_loop=%.2f peak_rss_mib=%.2f base_rss_mib=%.2f live_mib=%.2f faults=%ld sink=%u\n",
           ALLOC_NAME, a_version(), ops, CHURN_SLOTS, ns_op, t_run * 1e9 / (double)ops,
           t_loop * 1e9 / (double)ops, peak - base, base, (double)live_bytes / 1048576.0, faults,
           (unsigned)(sink & 1));
    for (size_t i = 0; i < CHURN_SLOTS; i++)
        a_free(slot[i]);
    os_array_free(slot, arr_bytes);
}

static void bursts(void)
{
    const size_t n = 1000000;
    const int rounds = bench_quick() ? 2 : 20;
    const size_t sizes[3] = {16, 64, 256};
    void **p = os_array(n * sizeof(void *));
    a_init();
    for (int s = 0; s < 3; s++) {
        size_t sz = sizes[s];
        double t = 0;
        long faults = 0;
        for (int r = -1; r < rounds; r++) { /* round -1 warms up, untimed */
            long f0 = minor_faults();
            double t0 = now_s();
            for (size_t i = 0; i < n; i++) {
                char *b = a_malloc(sz);
                b[0] = (char)i;
                p[i] = b;
            }
            for (size_t i = 0; i < n; i++)
                a_free(p[i]);
            BENCH_BARRIER();
            if (r >= 0) {
                t += now_s() - t0;
                faults += minor_faults() - f0;
            }
        }
        printf("RESULT bench=bursts alloc=%s size=%zu blocks=%zu rounds=%d ns_pair=%.2f "
               "faults_per_round=%ld\n",
               ALLOC_NAME, sz, n, rounds, t * 1e9 / ((double)n * rounds), faults / rounds);
    }
    os_array_free(p, n * sizeof(void *));
}

static void release(long keep)
{
    const size_t bs = 64;
    const size_t nb = (bench_quick() ? (64UL << 20) : (1UL << 30)) / bs;
    const size_t arr_bytes = nb * sizeof(void *);
    void **p = os_array(arr_bytes);
    a_init();
    double base = rss_mib();

    double t0 = now_s();
    for (size_t i = 0; i < nb; i++) {
        uint64_t *b = a_malloc_or_die(bs);
        b[0] = i; /* touch: every page of every block gets written */
        b[7] = i;
        p[i] = b;
    }
    double t_alloc = now_s() - t0;
    double rss_full = rss_mib() - base;

    rng_t rng = {0xD1B54A32D192ED03ULL};
    for (size_t i = nb - 1; i > 0; i--) { /* Fisher-Yates: random free order */
        size_t j = (size_t)(rng_next(&rng) % (i + 1));
        void *tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    size_t kept = 0;
    t0 = now_s();
    for (size_t i = 0; i < nb; i++) {
        if (keep > 0 && i % (size_t)keep == 0) {
            kept++;
            continue;
        }
        a_free(p[i]);
    }
    double t_free = now_s() - t0;
    double rss_freed = rss_mib() - base;
    sleep(1);
    double rss_1s = rss_mib() - base;
    /* one allocation and free: allocators that purge lazily get a chance */
    a_free(a_malloc_or_die(bs));
    double rss_tick = rss_mib() - base;
    t0 = now_s();
    a_release();
    double release_ms = (now_s() - t0) * 1e3;
    double rss_rel = rss_mib() - base;
    printf("RESULT bench=release alloc=%s keep=%ld blocks=%zu block_size=%zu kept=%zu "
           "live_mib=%.2f alloc_s=%.3f free_s=%.3f rss_full_mib=%.2f rss_freed_mib=%.2f "
           "rss_1s_mib=%.2f rss_tick_mib=%.2f release_call=%s release_ms=%.3f "
           "rss_released_mib=%.2f base_rss_mib=%.2f\n",
           ALLOC_NAME, keep, nb, bs, kept, (double)(kept * bs) / 1048576.0, t_alloc, t_free,
           rss_full, rss_freed, rss_1s, rss_tick, A_RELEASE_NAME, release_ms, rss_rel, base);
    if (keep > 0)
        for (size_t i = 0; i < nb; i += (size_t)keep)
            a_free(p[i]);
    os_array_free(p, arr_bytes);
}

/* The steady state of a program that allocates and frees small blocks:
   each pair frees a random live block and allocates one of a new random
   size in its place. The same sequence for every allocator; no timing
   inside (callgrind counts the instructions, bench/run.sh subtracts a run
   with N = 0 to leave only the pairs). */
enum { PAIRS_FREE, PAIRS_SIZED, PAIRS_LOOP };

static void pairs(long n, int how)
{
    enum { LIVE = 1024 };
    void *live[LIVE];
    size_t size[LIVE];
    rng_t rng = {0x9E3779B97F4A7C15ULL};
    a_init();
    for (size_t i = 0; i < LIVE; i++) {
        size[i] = SIZE_MIN + (size_t)(rng_next(&rng) % SIZE_SPAN);
        live[i] = a_malloc_or_die(size[i]);
    }
    double t0 = now_s();
    for (long k = 0; k < n; k++) {
        uint64_t r = rng_next(&rng);
        size_t i = (size_t)((uint32_t)r % LIVE);
        if (how == PAIRS_SIZED)
            a_free_sized(live[i], size[i]);
        else if (how == PAIRS_FREE)
            a_free(live[i]);
        size[i] = SIZE_MIN + (size_t)((r >> 32) % SIZE_SPAN);
        if (how == PAIRS_LOOP) /* the loop alone: the same work but the calls */
            live[i] = (char *)live[i] + (size[i] & 1);
        else
            live[i] = a_malloc(size[i]);
    }
    BENCH_BARRIER();
    double secs = now_s() - t0;
    if (how == PAIRS_LOOP)
        return; /* the blocks stay: the process ends */
    for (size_t i = 0; i < LIVE; i++)
        a_free(live[i]);
    printf("RESULT bench=pairs alloc=%s sized=%d pairs=%ld ns_per_pair=%.2f\n", ALLOC_NAME,
           how == PAIRS_SIZED, n, n ? secs * 1e9 / (double)n : 0.0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "all";
    if (!strcmp(mode, "churn") || !strcmp(mode, "all"))
        churn();
    if (!strcmp(mode, "bursts") || !strcmp(mode, "all"))
        bursts();
    if (!strcmp(mode, "release") || !strcmp(mode, "all"))
        release(arg_long(argc, argv, 2, 0));
    if (!strcmp(mode, "pairs"))
        pairs(arg_long(argc, argv, 2, 1000000), argc <= 3                   ? PAIRS_FREE
                                                : !strcmp(argv[3], "sized") ? PAIRS_SIZED
                                                                            : PAIRS_LOOP);
    return 0;
}
