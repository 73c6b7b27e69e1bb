/* SPDX-License-Identifier: MIT */
/* test_threads: heaps and threads (docs/api.md, "Threads"). Frees from a
 * thread that does not own the heap (small, large, sized, realloc, an
 * object's death) come back to the heap once its owner reaches a slow
 * path; a thread's heap outlives the thread while its blocks live, is
 * adopted by a new thread or freed with its last block; handing a heap
 * over; the memory budget sees remote frees; the malloc shim's functions
 * (rcy__free_any, rcy__usable_size_any) tell recycle's blocks from
 * others; fork; and, in checked builds, two threads in one heap at once
 * reported as such. Every assertion counts blocks or bytes; none is timed. */
#define _DEFAULT_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#include "mem/mem.h"

enum { N = 4000 };

static size_t in_use(rcy_heap *h)
{
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s); /* collects the remote frees first */
    return s.bytes_in_use;
}

/* ---- running a function on another thread ---- */

typedef struct job {
    void (*fn)(struct job *);
    rcy_heap *h;
    void **blocks;
    size_t n, size;
    rcy_heap *got;
} job;

static void *job_main(void *arg)
{
    job *j = arg;
    j->fn(j);
    return NULL;
}

static void run_on_thread(job *j)
{
    pthread_t t;
    if (pthread_create(&t, NULL, job_main, j) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
    pthread_join(t, NULL);
}

static void free_blocks(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        rcy_free(j->h, j->blocks[i]);
}

static void free_blocks_sized(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        rcy_free_sized(j->h, j->blocks[i], j->size);
}

/* Blocks of sizes small and large freed by another thread come back. */
static void test_remote_free(size_t size, int sized)
{
    rcy_heap *h = check_new_heap();
    static void *blocks[N];
    for (size_t i = 0; i < N; i++)
        blocks[i] = rcy_malloc(h, size);
    size_t used = in_use(h);
    CHECK(used >= N * size);
    job j = {sized ? free_blocks_sized : free_blocks, h, blocks, N, size, NULL};
    run_on_thread(&j);
    CHECK_EQ(in_use(h), 0);
    /* the freed blocks are reused: the same number fits again without a new arena */
    rcy_mem_stats before, after;
    rcy_mem_get_stats(h, &before);
    for (size_t i = 0; i < N; i++)
        blocks[i] = rcy_malloc(h, size);
    rcy_mem_get_stats(h, &after);
    if (size <= RCY_SMALL_MAX)
        CHECK_EQ(after.arenas_allocated, before.arenas_allocated);
    for (size_t i = 0; i < N; i++)
        rcy_free(h, blocks[i]);
    CHECK_EQ(in_use(h), 0);
    rcy_heap_destroy(h);
}

/* A purge collects the remote frees too, and gives their pages back. */
static void test_remote_purge(void)
{
    rcy_heap *h = check_new_heap();
    static void *blocks[N];
    for (size_t i = 0; i < N; i++)
        blocks[i] = rcy_malloc(h, 256);
    job j = {free_blocks, h, blocks, N, 256, NULL};
    run_on_thread(&j);
    CHECK(rcy_purge(h) >= (size_t)N * 256 / 2);
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.bytes_in_use, 0);
    CHECK_EQ(s.pools_used, 0);
    rcy_heap_destroy(h);
}

/* The budget: remote frees come back before the hard limit refuses. */
static void test_remote_budget(void)
{
    rcy_heap *h = check_new_heap();
    enum { M = 2000 };
    static void *blocks[M];
    CHECK_EQ(rcy_heap_set_limit(h, 0, 4u << 20), 0);
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < M; i++) {
            blocks[i] = rcy_malloc(h, 1000); /* 2 MB of large blocks per round */
            CHECK(blocks[i] != NULL);
        }
        job j = {free_blocks, h, blocks, M, 1000, NULL};
        run_on_thread(&j);
    }
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.limit_failures, 0);
    CHECK_EQ(s.large_blocks, 0);
    CHECK(s.bytes_held < (1u << 20));
    rcy_heap_destroy(h);
}

static void realloc_blocks(job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        void *q = rcy_realloc(j->h, j->blocks[i], j->size - 1); /* the same class: in place */
        CHECK(q == j->blocks[i]);
        rcy_free(j->h, q);
    }
}

static void test_remote_realloc(void)
{
    rcy_heap *h = check_new_heap();
    static void *blocks[N];
    for (size_t i = 0; i < N; i++)
        blocks[i] = rcy_malloc(h, 64);
    job j = {realloc_blocks, h, blocks, N, 64, NULL};
    run_on_thread(&j);
    CHECK_EQ(in_use(h), 0);
    rcy_heap_destroy(h);
}

/* ---- objects ---- */

static int destroyed;
static void count_destroy(void *self)
{
    (void)self;
    destroyed++;
}
static const rcy_type plain_type = {"plain", 24, NULL, NULL, count_destroy};

static void decref_objects(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        rcy_decref(j->blocks[i]);
}

static void test_object_death_elsewhere(void)
{
    rcy_heap *h = check_new_heap();
    static void *objs[N];
    for (size_t i = 0; i < N; i++)
        objs[i] = rcy_new(h, &plain_type);
    destroyed = 0;
    job j = {decref_objects, h, objs, N, 0, NULL};
    run_on_thread(&j);
    /* they die on the heap's owner, at its next safepoint (issue 23) */
    CHECK_EQ(destroyed, 0);
    rcy_safepoint();
    CHECK_EQ(destroyed, N);
    CHECK_EQ(in_use(h), 0);
    rcy_heap_destroy(h);
}

/* ---- thread heaps ---- */

static void *kept[N];

static void alloc_in_thread_heap(job *j)
{
    j->got = rcy_thread_heap();
    CHECK(j->got != NULL && rcy_thread_heap() == j->got);
    for (size_t i = 0; i < j->n; i++) {
        kept[i] = rcy_malloc(j->got, j->size);
        memset(kept[i], 0x5A, j->size);
    }
}

static void take_thread_heap(job *j)
{
    j->got = rcy_thread_heap();
    for (size_t i = 0; i < j->n; i++)
        rcy_free(j->got, kept[i]); /* local now: the adopted heap is this thread's */
    CHECK_EQ(in_use(j->got), 0);
}

static void test_thread_heap_lives_on(void)
{
    /* the thread exits with N blocks alive: they stay valid, and main frees
       them (the orphan's last free reclaims the heap: ASan and valgrind see
       no leak) */
    job j = {alloc_in_thread_heap, NULL, NULL, N, 100, NULL};
    run_on_thread(&j);
    /* the orphan holds the pools of its live blocks, no more: its free
       pages went back when the thread exited */
    rcy_mem_stats s;
    rcy_mem_get_stats(j.got, &s);
    CHECK_EQ(s.pools_empty_dirty, 0);
    CHECK_EQ(s.bytes_in_use, (size_t)N * 112);
    size_t intact = 0;
    for (size_t i = 0; i < N; i++)
        intact += ((unsigned char *)kept[i])[99] == 0x5A;
    CHECK_EQ(intact, N);
    for (size_t i = 0; i < N; i++)
        rcy_free(j.got, kept[i]);

    /* again, and a new thread adopts the orphan with its blocks */
    job k = {alloc_in_thread_heap, NULL, NULL, N, 700, NULL};
    run_on_thread(&k);
    job l = {take_thread_heap, NULL, NULL, N, 700, NULL};
    run_on_thread(&l);
    CHECK(l.got == k.got);
}

static void empty_thread(job *j)
{
    j->got = rcy_thread_heap();
    void *p = rcy_malloc(j->got, 10);
    rcy_free(j->got, p);
}

static void test_thread_heap_many_threads(void)
{
    /* threads that leave nothing behind: their heaps go at exit (LSan,
       valgrind) */
    for (int i = 0; i < 50; i++) {
        job j = {empty_thread, NULL, NULL, 0, 0, NULL};
        run_on_thread(&j);
        CHECK(j.got != NULL);
    }
}

/* ---- handing over ---- */

static void adopt_and_use(job *j)
{
    rcy_heap_adopt(j->h);
    for (size_t i = 0; i < j->n; i++)
        rcy_free(j->h, j->blocks[i]); /* local */
    void *p = rcy_malloc(j->h, 32);
    j->blocks[0] = p;
}

static void test_adopt(void)
{
    rcy_heap *h = check_new_heap();
    static void *blocks[N];
    for (size_t i = 0; i < N; i++)
        blocks[i] = rcy_malloc(h, 48);
    job j = {adopt_and_use, h, blocks, N, 48, NULL};
    run_on_thread(&j);
    /* its owner exited: main's free of the block is remote, then collected */
    rcy_free(h, blocks[0]);
    CHECK_EQ(in_use(h), 0);
    rcy_heap_adopt(h);
    rcy_heap_destroy(h);
}

/* ---- the GIL model: threads take turns on one heap under a lock ---- */

static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;
static rcy_heap *gil_heap;
static void *gil_blocks[64];
static long gil_allocs, gil_frees;

static void *gil_worker(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg + 1;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        pthread_mutex_lock(&gil);
        void **slot = &gil_blocks[(x >> 33) % 64];
        if (*slot) {
            rcy_free(gil_heap, *slot); /* remote unless this thread owns the heap */
            gil_frees++;
        }
        *slot = rcy_malloc(gil_heap, (size_t)(x >> 40) % 700);
        gil_allocs++;
        if (i % 5000 == 0)
            rcy_purge(gil_heap);
        pthread_mutex_unlock(&gil);
    }
    return NULL;
}

static void test_gil_model(void)
{
    gil_heap = check_new_heap();
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, gil_worker, (void *)(uintptr_t)i) == 0);
    gil_worker((void *)(uintptr_t)3); /* the owner takes turns too */
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 64; i++)
        if (gil_blocks[i]) {
            rcy_free(gil_heap, gil_blocks[i]);
            gil_frees++;
        }
    CHECK_EQ(gil_allocs, 4 * 20000);
    CHECK_EQ(gil_frees, gil_allocs);
    CHECK_EQ(in_use(gil_heap), 0);
    rcy_heap_destroy(gil_heap);
}

/* ---- the malloc shim's functions ---- */

static void free_any_blocks(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        CHECK(rcy__free_any(j->blocks[i]));
}

static void test_free_any(void)
{
    rcy_heap *h = check_new_heap();
    void *small = rcy_malloc(h, 40), *large = rcy_malloc(h, 5000);
    CHECK_EQ(rcy__usable_size_any(small), 48);
    CHECK_EQ(rcy__usable_size_any(large), 5000);
    void *foreign = malloc(100);
    int local = 0;
    /* a malloc block near a large block: its header is read (valgrind,
       which RCY_TEST_QUICK means here, would call that an error) */
    int quick = getenv("RCY_TEST_QUICK") != NULL;
    CHECK(quick || !rcy__free_any(foreign));
    CHECK(!rcy__free_any(&local));
    CHECK(!rcy__free_any(NULL));
    CHECK(!rcy__free_any((void *)(uintptr_t)0xffff900000001000u));
    CHECK(quick || rcy__usable_size_any(foreign) == 0);
    CHECK_EQ(rcy__usable_size_any(&local), 0);
    free(foreign);
    CHECK(rcy__free_any(small));
    CHECK(rcy__free_any(large));
    CHECK_EQ(in_use(h), 0);
    static void *blocks[N];
    for (size_t i = 0; i < N; i++)
        blocks[i] = rcy_malloc(h, i % 7 ? 24 : 3000);
    job j = {free_any_blocks, h, blocks, N, 0, NULL};
    run_on_thread(&j);
    CHECK_EQ(in_use(h), 0);
    rcy_heap_destroy(h);
}

/* ---- fork ---- */

static atomic_int go_fork, forked;

static void *hold_thread_heap(void *arg)
{
    rcy_heap *h = rcy_thread_heap();
    *(void **)arg = rcy_malloc(h, 64);
    atomic_store(&go_fork, 1);
    while (!atomic_load(&forked))
        sched_yield();
    return NULL;
}

static void test_fork(void)
{
    void *block = NULL;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hold_thread_heap, &block) == 0);
    while (!atomic_load(&go_fork))
        sched_yield();
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        /* the other thread is gone here: its heap has no owner; its block
           is freed (an orphan's free), this thread's heap still works */
        rcy_heap *h = rcy_thread_heap();
        void *p = rcy_malloc(h, 100);
        rcy__free_any(block);
        rcy_free(h, p);
        _exit(in_use(h) == 0 ? 0 : 3);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "fork child: status %#x\n", (unsigned)status);
    atomic_store(&forked, 1);
    pthread_join(t, NULL);
    CHECK(rcy__free_any(block)); /* the thread exited: an orphan's last block */
}

/* ---- misuse ---- */

#if RCY_CHECK_LEVEL >= 1
static void *race_on_heap(void *arg)
{
    rcy_heap *h = arg;
    for (long i = 0; i < 50000000; i++)
        rcy_free(h, rcy_malloc(h, 32));
    return NULL;
}

/* Two threads allocating from one heap with no lock: reported as that,
   not as a double free. */
static void misuse_two_threads(void *arg)
{
    (void)arg;
    rcy_heap *h = check_new_heap();
    pthread_t t;
    if (pthread_create(&t, NULL, race_on_heap, h) != 0)
        exit(0);
    race_on_heap(h);
    pthread_join(t, NULL);
}

static void test_misuse(void)
{
    char msg[1024];
    CHECK(check_aborts(misuse_two_threads, NULL, "used from two threads at once", msg, sizeof msg));
}
#endif

int main(void)
{
    test_remote_free(16, 0);
    test_remote_free(512, 0);
    test_remote_free(64, 1);
    test_remote_free(3000, 0);
    test_remote_purge();
    test_remote_budget();
    test_remote_realloc();
    test_object_death_elsewhere();
    test_thread_heap_lives_on();
    test_thread_heap_many_threads();
    test_adopt();
    test_gil_model();
    test_free_any();
    test_fork();
#if RCY_CHECK_LEVEL >= 1
    test_misuse();
#endif
    return check_summary("test_threads");
}
