/* SPDX-License-Identifier: MIT */
/* Randomized model test of the collector: random graph mutations, weak
 * references, resurrecting finalizers and collections of random
 * generations under small thresholds, checked after every step against
 * the test's own mirror of the graph (see gc_model.h for the invariants).
 * Every seed runs once with each place the collector can keep gc_refs in
 * forced (the collector's test hook, gc/gc.h: headers, side table, young
 * scratch) and once with the collector's own choice.
 *
 * RCY_GC_MODEL_SEEDS=N and RCY_GC_MODEL_STEPS=N select a longer run;
 * RCY_GC_MODEL_SEED=S runs only seed S and RCY_GC_MODEL_PLACE=P only
 * place P (-1 the collector's choice, 0 headers, 1 side table, 2 young
 * scratch), to replay a failure; RCY_TEST_QUICK=1 a shorter run. A
 * failing seed and place are printed. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gc/gc.h"

/* only failures go through CHECK: a long run makes billions of checks */
#define GM_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            CHECK(cond);                                                                           \
    } while (0)
#include "gc_model.h"

static uint32_t rng_next(void *ctx)
{
    uint64_t *s = ctx; /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static const int places[] = {RCY_REFS_AUTO, RCY_REFS_HEADER, RCY_REFS_SIDE, RCY_REFS_YOUNG};

static unsigned long env_num(const char *name, unsigned long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    return *end ? dflt : n;
}

/* Runs one seed with gc_refs in `place`; returns 0 if an invariant failed. */
static int run_seed(unsigned long seed, int place, unsigned long steps, gm_stats *total)
{
    uint64_t state = seed * 0x2545F4914F6CDD1Dull + 1;
    int before = check_failed;
    if (!gm_begin((uint32_t)steps + 8, 50, 5, 5, rng_next, &state)) {
        fprintf(stderr, "test_gc_model: out of memory\n");
        CHECK(0);
        return 0;
    }
    rcy__gc_test_force_refs(gm.h, place);
    unsigned long i;
    for (i = 0; i < steps && check_failed == before; i++)
        gm_step();
    if (check_failed != before) {
        fprintf(stderr,
                "test_gc_model: seed %lu failed at step %lu (replay: RCY_GC_MODEL_SEED=%lu "
                "RCY_GC_MODEL_PLACE=%d)\n",
                seed, i, seed, place);
        /* leak the heap: its state is suspect */
        return 0;
    }
    gm_end();
    total->collections += gm.stats.collections;
    total->full_collections += gm.stats.full_collections;
    total->finalized += gm.stats.finalized;
    total->resurrected += gm.stats.resurrected;
    total->destroyed += gm.stats.destroyed;
    total->weak_fired += gm.stats.weak_fired;
    if (check_failed != before) {
        fprintf(stderr,
                "test_gc_model: seed %lu failed at the end (replay: RCY_GC_MODEL_SEED=%lu "
                "RCY_GC_MODEL_PLACE=%d)\n",
                seed, seed, place);
        return 0;
    }
    CHECK(1); /* one pass per clean seed */
    return 1;
}

int main(void)
{
    int quick = check_quick();
    unsigned long seeds = env_num("RCY_GC_MODEL_SEEDS", 20);
    unsigned long steps = env_num("RCY_GC_MODEL_STEPS", quick ? 1000 : 20000);
    unsigned long first = 1;
    if (getenv("RCY_GC_MODEL_SEED")) {
        first = env_num("RCY_GC_MODEL_SEED", 1);
        seeds = 1;
    }
    const char *only = getenv("RCY_GC_MODEL_PLACE");
    gm_stats total;
    memset(&total, 0, sizeof total);
    int failures = 0, nplaces = 0;
    for (size_t p = 0; p < sizeof places / sizeof places[0]; p++) {
        if (only && *only && atoi(only) != places[p])
            continue;
        nplaces++;
        for (unsigned long s = first; s < first + seeds && failures < 3; s++)
            failures += !run_seed(s, places[p], steps, &total); /* 3 are enough to go on */
    }
    printf("test_gc_model: %lu seeds x %lu steps x %d places of gc_refs: %lu collections "
           "(%lu full), %lu finalized, %lu resurrected, %lu destroyed, %lu weakref callbacks\n",
           seeds, steps, nplaces, total.collections, total.full_collections, total.finalized,
           total.resurrected, total.destroyed, total.weak_fired);
    if (!failures && seeds >= 5 && steps >= 1000) {
        /* the run exercised what it claims to */
        CHECK(total.full_collections > 0);
        CHECK(total.resurrected > 0);
        CHECK(total.weak_fired > 0);
        CHECK(total.finalized > 0);
    }
    return check_summary("test_gc_model");
}
