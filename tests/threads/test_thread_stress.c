/* SPDX-License-Identifier: MIT */
/* test_thread_stress: a randomized workload of threads and heaps. Threads
 * allocate blocks (small and large) from their own heaps, stamp them, and
 * swap them through a shared table of slots, so most blocks are freed by
 * another thread than the one that allocated them (rcy_free, rcy_free_sized,
 * rcy__free_any, realloc); threads exit while blocks of their heaps live on
 * in the table, and new ones take their place (orphans, adoption); purges
 * and a soft memory limit (its reactions) come at random points. Checks,
 * by count: every block freed exactly once and intact when freed, every
 * heap back to zero bytes in use. Run under ASan and ThreadSanitizer by
 * make test. RCY_STRESS_SEED and RCY_STRESS_OPS change the run. */
#define _DEFAULT_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#include "mem/mem.h"

enum { THREADS = 4, GENERATIONS = 3, SLOTS = 512 };

/* A block starts with its heap, its size and a stamp of both. */
typedef struct stamp {
    rcy_heap *heap;
    size_t size;
    uint64_t check;
} stamp;

static _Atomic(stamp *) slots[SLOTS];
static atomic_long allocated, freed, damaged;
static long ops_per_thread = 20000;

static uint64_t stamp_of(const stamp *s)
{
    return ((uint64_t)(uintptr_t)s->heap * 31u) ^ s->size ^ 0x9E3779B97F4A7C15ull;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static stamp *make_block(rcy_heap *h, uint64_t r)
{
    size_t size = r % 16 == 0 ? 600 + r % 3000 : sizeof(stamp) + r % 400;
    stamp *s = rcy_malloc(h, size);
    if (!s)
        return NULL;
    s->heap = h;
    s->size = size;
    s->check = stamp_of(s);
    ((unsigned char *)s)[size - 1] = (unsigned char)size;
    atomic_fetch_add(&allocated, 1);
    return s;
}

/* Any thread: checks the stamp, then frees the block one of four ways. */
static void drop_block(stamp *s, uint64_t r)
{
    if (s->check != stamp_of(s) || ((unsigned char *)s)[s->size - 1] != (unsigned char)s->size)
        atomic_fetch_add(&damaged, 1);
    s->check = 0;
    atomic_fetch_add(&freed, 1);
    switch (r % 4) {
    case 0:
        rcy_free(s->heap, s);
        break;
    case 1:
        rcy_free_sized(s->heap, s, s->size);
        break;
    case 2:
        if (!rcy__free_any(s))
            atomic_fetch_add(&damaged, 1);
        break;
    default: {
        rcy_heap *h = s->heap;
        void *q = rcy_realloc(h, s, s->size); /* the same size: in place, from any thread */
        rcy_free(h, q);
    }
    }
}

static void *worker(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x2545F4914F6CDD1Dull + 1;
    rcy_heap *h = rcy_thread_heap();
    if (!h) {
        atomic_fetch_add(&damaged, 1);
        return NULL;
    }
    for (long i = 0; i < ops_per_thread; i++) {
        uint64_t r = rng_next(&x);
        if (r % 1000 == 0) {
            rcy_purge(h);
        } else if (r % 1000 == 1) {
            rcy_heap_set_limit(h, (r >> 20) % 2 ? 256u << 10 : 0, 0); /* soft: reactions */
        } else {
            stamp *s = make_block(h, r >> 8);
            stamp *old = atomic_exchange(&slots[(r >> 32) % SLOTS], s);
            if (old)
                drop_block(old, r >> 16);
        }
    }
    return NULL;
}

int main(void)
{
    const char *e = getenv("RCY_STRESS_OPS");
    if (e)
        ops_per_thread = strtol(e, NULL, 10);
    uint64_t seed = 1;
    e = getenv("RCY_STRESS_SEED");
    if (e)
        seed = strtoull(e, NULL, 10);
    for (int g = 0; g < GENERATIONS; g++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            CHECK(pthread_create(
                      &t[i], NULL, worker,
                      (void *)(uintptr_t)(seed * 1000 + (uint64_t)g * THREADS + (uint64_t)i)) == 0);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        /* the threads are gone; their blocks in the table live on */
    }
    uint64_t x = seed;
    for (int i = 0; i < SLOTS; i++) {
        stamp *s = atomic_exchange(&slots[i], NULL);
        if (s)
            drop_block(s, rng_next(&x));
    }
    CHECK_EQ(atomic_load(&damaged), 0);
    CHECK_EQ(atomic_load(&allocated), atomic_load(&freed));
    CHECK(atomic_load(&allocated) > (long)GENERATIONS * THREADS * ops_per_thread / 2);
    /* main's own heap (its thread frees were remote to the others) */
    rcy_mem_stats s;
    rcy_mem_get_stats(rcy_thread_heap(), &s);
    CHECK_EQ(s.bytes_in_use, 0);
    printf("test_thread_stress: %ld blocks over %d threads\n", atomic_load(&allocated),
           GENERATIONS * THREADS);
    return check_summary("test_thread_stress");
}
