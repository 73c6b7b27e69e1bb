/* SPDX-License-Identifier: MIT */
/* Shared helpers for the benchmarks: clocks, RSS, a fixed-seed RNG, memory
 * for bookkeeping arrays that does not come from the allocator being
 * measured, and the allocator switch (one executable per allocator, chosen
 * at compile time with -DALLOC_GLIBC, -DALLOC_MIMALLOC, -DALLOC_JEMALLOC,
 * -DALLOC_RECYCLE or -DALLOC_BOEHM).
 *
 * Every result is printed as one line on stdout:
 *   RESULT bench=<name> alloc=<allocator> key=value ...
 * which bench/run.sh collects and bench/report.py turns into
 * docs/benchmarks.md. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE 1
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(ALLOC_RECYCLE)
#include "recycle.h"
#define ALLOC_NAME "recycle"
#elif defined(ALLOC_MIMALLOC)
#include <mimalloc.h>
#define ALLOC_NAME "mimalloc"
#elif defined(ALLOC_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define ALLOC_NAME "jemalloc"
#elif defined(ALLOC_BOEHM)
#include <gc.h>
#define ALLOC_NAME "boehm"
#elif defined(ALLOC_GLIBC)
#include <gnu/libc-version.h>
#include <malloc.h>
#define ALLOC_NAME "glibc"
#else
#error "define one of ALLOC_GLIBC, ALLOC_MIMALLOC, ALLOC_JEMALLOC, ALLOC_RECYCLE, ALLOC_BOEHM"
#endif

#include "bench_process.h" /* clocks, RSS, page faults */

/* ---- RNG: xorshift64*, fixed seed ---- */
typedef struct {
    uint64_t s;
} rng_t;
static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- bookkeeping memory straight from the kernel ---- */
static inline void *os_array(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(p, 0, bytes); /* touch it so that it is part of the baseline RSS */
    return p;
}
static inline void os_array_free(void *p, size_t bytes)
{
    munmap(p, bytes);
}

/* ---- quick mode ---- */
static inline int bench_quick(void)
{
    const char *q = getenv("BENCH_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

static inline long arg_long(int argc, char **argv, int i, long dflt)
{
    if (argc > i) {
        char *end;
        long v = strtol(argv[i], &end, 10);
        if (*end == '\0')
            return v;
    }
    return dflt;
}

/* ---- the allocator under test ---- */
#if defined(ALLOC_RECYCLE)
static rcy_heap *g_heap;
/* Allocation tracing for bench/run.sh's tracing block (issue 24), from
   BENCH_TRACE: unset or "off": none; "full:N": every allocation, N frames;
   "sample" or "sample:MEAN": sampling at the default (or MEAN) bytes, 1 frame. */
static inline void bench_trace_setup(rcy_heap *h)
{
    const char *mode = getenv("BENCH_TRACE");
    int rc = 0;
    if (!mode || !strcmp(mode, "off"))
        return;
    if (!strncmp(mode, "full:", 5))
        rc = rcy_trace_start(h, atoi(mode + 5));
    else if (!strncmp(mode, "sample", 6))
        rc = rcy_trace_start_sampling(h, 1, mode[6] == ':' ? strtoul(mode + 7, NULL, 10) : 0, 42);
    else
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "BENCH_TRACE=%s: cannot start tracing\n", mode);
        exit(2);
    }
}
static inline void a_init(void)
{
    g_heap = rcy_heap_new();
    if (!g_heap) {
        fprintf(stderr, "rcy_heap_new failed\n");
        exit(2);
    }
    bench_trace_setup(g_heap);
}
static inline void *a_malloc(size_t n)
{
    return rcy_malloc(g_heap, n);
}
static inline void a_free(void *p)
{
    rcy_free(g_heap, p);
}
static inline void a_free_sized(void *p, size_t n)
{
    rcy_free_sized(g_heap, p, n);
}
static inline void a_release(void)
{
    (void)rcy_purge(g_heap);
}
#define A_RELEASE_NAME "rcy_purge"
static inline const char *a_version(void)
{
    return RCY_VERSION;
}
#elif defined(ALLOC_MIMALLOC)
static inline void a_init(void) {}
static inline void *a_malloc(size_t n)
{
    return mi_malloc(n);
}
static inline void a_free(void *p)
{
    mi_free(p);
}
static inline void a_free_sized(void *p, size_t n)
{
    mi_free_size(p, n);
}
static inline void a_release(void)
{
    mi_collect(true);
}
#define A_RELEASE_NAME "mi_collect(true)"
static inline const char *a_version(void)
{
    static char buf[32];
    int v = mi_version();
    snprintf(buf, sizeof buf, "%d.%d.%d", v / 100, (v / 10) % 10, v % 10);
    return buf;
}
#elif defined(ALLOC_JEMALLOC)
#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)
static inline void a_init(void) {}
static inline void *a_malloc(size_t n)
{
    return malloc(n);
}
static inline void a_free(void *p)
{
    free(p);
}
static inline void a_free_sized(void *p, size_t n)
{
    sdallocx(p, n, 0);
}
static inline void a_release(void)
{
#ifdef MALLCTL_ARENAS_ALL
    if (mallctl("arena." BENCH_STR(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0) != 0)
        fprintf(stderr, "jemalloc purge failed\n");
#endif
}
#define A_RELEASE_NAME "arenas.all.purge"
static inline const char *a_version(void)
{
    static char buf[64];
    const char *v = NULL;
    size_t len = sizeof v;
    if (mallctl("version", &v, &len, NULL, 0) != 0 || !v)
        return "?";
    snprintf(buf, sizeof buf, "%.5s", v); /* "5.3.0" */
    return buf;
}
#elif defined(ALLOC_BOEHM)
static inline void a_init(void)
{
    GC_INIT();
}
static inline void *a_malloc(size_t n)
{
    return GC_MALLOC(n);
}
static inline void a_free(void *p)
{
    (void)p;
}
static inline void a_free_sized(void *p, size_t n)
{
    (void)p, (void)n;
}
static inline void a_release(void)
{
    GC_gcollect_and_unmap();
}
#define A_RELEASE_NAME "GC_gcollect_and_unmap"
static inline const char *a_version(void)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", GC_VERSION_MAJOR, GC_VERSION_MINOR, GC_VERSION_MICRO);
    return buf;
}
#else /* glibc */
static inline void a_init(void) {}
static inline void *a_malloc(size_t n)
{
    return malloc(n);
}
static inline void a_free(void *p)
{
    free(p);
}
static inline void a_free_sized(void *p, size_t n) /* glibc 2.36 has no sized free */
{
    (void)n;
    free(p);
}
static inline void a_release(void)
{
    (void)malloc_trim(0);
}
#define A_RELEASE_NAME "malloc_trim(0)"
static inline const char *a_version(void)
{
    return gnu_get_libc_version();
}
#endif

static inline void *a_malloc_or_die(size_t n)
{
    void *p = a_malloc(n);
    if (!p) {
        fprintf(stderr, "%s: out of memory (%zu bytes)\n", ALLOC_NAME, n);
        exit(2);
    }
    return p;
}

/* Keep the compiler from proving a loop useless. */
#define BENCH_BARRIER() __asm__ __volatile__("" ::: "memory")
#define BENCH_NOINLINE __attribute__((noinline))

#endif /* BENCH_COMMON_H */
