/* SPDX-License-Identifier: MIT */
/* rcy_heap_owns: 1 for the blocks a heap manages (small, large, objects),
 * 0 for everything else: NULL, malloc's blocks, another heap's, interior
 * pointers of large blocks, the arena's bookkeeping, addresses outside the
 * user address space and unmapped ones. Wild pointers must not crash it.
 * rcy_free_owned: frees what rcy_heap_owns would call h's (1), leaves
 * everything else untouched (0), reports a bad pointer into h's memory as
 * rcy_free does, and frees remotely from a thread that does not own h. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */

#include "check.h"
#include "recycle.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

static void test_own_blocks(void)
{
    rcy_heap *h = check_new_heap();
    static const size_t sizes[] = {0, 1, 16, 100, 512, 513, 4096, 1u << 20};
    void *p[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = rcy_malloc(h, sizes[i]);
        CHECK(p[i] != NULL);
        CHECK_EQ(rcy_heap_owns(h, p[i]), 1);
    }
    /* an interior pointer of a small block is still in h's pool */
    CHECK_EQ(rcy_heap_owns(h, (char *)p[3] + 8), 1);
    /* ... of a large block it is not a block of h */
    CHECK_EQ(rcy_heap_owns(h, (char *)p[6] + 16), 0);
    /* a freed large block is no longer h's */
    rcy_free(h, p[7]);
    CHECK_EQ(rcy_heap_owns(h, p[7]), 0);
    for (size_t i = 0; i + 1 < sizeof sizes / sizeof sizes[0]; i++)
        rcy_free(h, p[i]);
    rcy_heap_destroy(h);
}

static const rcy_type leaf_type = {.name = "leaf", .size = 24};

static void test_objects(void)
{
    rcy_heap *h = check_new_heap();
    void *o = rcy_new(h, &leaf_type);
    void *big = rcy_new_sized(h, &leaf_type, 4000);
    CHECK(o != NULL && big != NULL);
    CHECK_EQ(rcy_heap_owns(h, o), 1);
    rcy_decref(o);
    rcy_decref(big);
    rcy_heap_destroy(h);
}

static void test_foreign(void)
{
    rcy_heap *h = check_new_heap();
    rcy_heap *other = check_new_heap();
    void *mine = rcy_malloc(h, 64);
    void *theirs = rcy_malloc(other, 64);
    void *their_large = rcy_malloc(other, 10000);
    CHECK_EQ(rcy_heap_owns(h, NULL), 0);
    CHECK_EQ(rcy_heap_owns(h, theirs), 0);
    CHECK_EQ(rcy_heap_owns(other, theirs), 1);
    CHECK_EQ(rcy_heap_owns(h, their_large), 0);
    CHECK_EQ(rcy_heap_owns(other, mine), 0);
    /* the arena's bookkeeping, at the start of the 1 MiB-aligned arena */
    void *arena = (void *)((uintptr_t)mine & ~(uintptr_t)((1u << 20) - 1));
    CHECK_EQ(rcy_heap_owns(h, arena), 0);
    /* libc's blocks, small and large */
    void *m = malloc(64), *big = malloc(1u << 20);
    CHECK(m != NULL && big != NULL);
    CHECK_EQ(rcy_heap_owns(h, m), 0);
    CHECK_EQ(rcy_heap_owns(h, big), 0);
    free(m);
    free(big);
    /* wild pointers: never read */
    CHECK_EQ(rcy_heap_owns(h, (void *)(uintptr_t)1), 0);
    CHECK_EQ(rcy_heap_owns(h, (void *)(uintptr_t)0x10), 0);
    CHECK_EQ(rcy_heap_owns(h, (void *)~(uintptr_t)15), 0);
    CHECK_EQ(rcy_heap_owns(h, (void *)((uintptr_t)1 << 52)), 0);
    void *gone = mmap(NULL, 1u << 16, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(gone != MAP_FAILED);
    CHECK_EQ(rcy_heap_owns(h, (char *)gone + 4096), 0);
    munmap(gone, 1u << 16);
    rcy_free(h, mine);
    rcy_free(other, theirs);
    rcy_free(other, their_large);
    rcy_heap_destroy(other);
    rcy_heap_destroy(h);
}

/* A freed arena leaves the page map: its addresses are no longer owned. */
static void test_after_destroy(void)
{
    rcy_heap *h = check_new_heap();
    void *p = rcy_malloc(h, 32);
    CHECK_EQ(rcy_heap_owns(h, p), 1);
    rcy_heap *g = check_new_heap();
    rcy_heap_destroy(h);
    CHECK_EQ(rcy_heap_owns(g, p), 0);
    rcy_heap_destroy(g);
}

static size_t bytes_in_use(rcy_heap *h)
{
    rcy_mem_stats st;
    rcy_mem_get_stats(h, &st);
    return st.bytes_in_use;
}

/* h's blocks, small and large, are freed (1): the heap's bytes in use
   fall back to where they were. NULL is nothing to do (1). */
static void test_free_owned_own(void)
{
    rcy_heap *h = check_new_heap();
    static const size_t sizes[] = {1, 16, 100, 512, 513, 4096, 1u << 20};
    size_t before = bytes_in_use(h);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = rcy_malloc(h, sizes[i]);
        CHECK(p != NULL);
        CHECK(bytes_in_use(h) > before);
        CHECK_EQ(rcy_free_owned(h, p), 1);
        CHECK_EQ(bytes_in_use(h), before);
    }
    CHECK_EQ(rcy_free_owned(h, NULL), 1);
    rcy_heap_destroy(h);
}

/* Foreign pointers come back (0) untouched: libc's blocks (their bytes
   intact, then free()d), another heap's small and large blocks (still
   usable and freed by their heap), wild and unmapped addresses, a large
   block already freed (its memory is no longer h's). */
static void test_free_owned_foreign(void)
{
    rcy_heap *h = check_new_heap();
    rcy_heap *other = check_new_heap();
    unsigned char *m = malloc(64), *big = malloc(1u << 20);
    CHECK(m != NULL && big != NULL);
    memset(m, 0xA5, 64);
    memset(big, 0x5A, 1u << 20);
    CHECK_EQ(rcy_free_owned(h, m), 0);
    CHECK_EQ(rcy_free_owned(h, big), 0);
    CHECK(m[0] == 0xA5 && m[63] == 0xA5 && big[0] == 0x5A && big[(1u << 20) - 1] == 0x5A);
    free(m);
    free(big);

    char *theirs = rcy_malloc(other, 64), *their_large = rcy_malloc(other, 10000);
    CHECK(theirs != NULL && their_large != NULL);
    memset(theirs, 'x', 64);
    size_t other_used = bytes_in_use(other);
    CHECK_EQ(rcy_free_owned(h, theirs), 0);
    CHECK_EQ(rcy_free_owned(h, their_large), 0);
    CHECK_EQ(bytes_in_use(other), other_used);
    CHECK(theirs[0] == 'x' && theirs[63] == 'x');
    CHECK_EQ(rcy_free_owned(other, theirs), 1);
    CHECK_EQ(rcy_free_owned(other, their_large), 1);

    CHECK_EQ(rcy_free_owned(h, (void *)(uintptr_t)0x10), 0);
    CHECK_EQ(rcy_free_owned(h, (void *)~(uintptr_t)15), 0);
    CHECK_EQ(rcy_free_owned(h, (void *)((uintptr_t)1 << 52)), 0);
    void *gone = mmap(NULL, 1u << 16, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(gone != MAP_FAILED);
    CHECK_EQ(rcy_free_owned(h, (char *)gone + 4096), 0);
    munmap(gone, 1u << 16);

    void *large = rcy_malloc(h, 100000);
    CHECK(large != NULL);
    CHECK_EQ(rcy_free_owned(h, large), 1);
    CHECK_EQ(rcy_free_owned(h, large), 0);
    rcy_heap_destroy(other);
    rcy_heap_destroy(h);
}

static void free_owned_twice(void *arg)
{
    rcy_heap *h = check_new_heap();
    void *p = rcy_malloc(h, *(size_t *)arg);
    rcy_free_owned(h, p);
    rcy_free_owned(h, p);
}

static void free_owned_twice_later(void *arg)
{
    (void)arg;
    rcy_heap *h = check_new_heap();
    void *p = rcy_malloc(h, 32), *q = rcy_malloc(h, 32);
    rcy_free_owned(h, p);
    rcy_free_owned(h, q);
    rcy_free_owned(h, p);
}

static void free_owned_interior(void *arg)
{
    (void)arg;
    rcy_heap *h = check_new_heap();
    char *p = rcy_malloc(h, 64);
    rcy_free_owned(h, p + 8);
}

static void free_owned_bookkeeping(void *arg)
{
    (void)arg;
    rcy_heap *h = check_new_heap();
    void *p = rcy_malloc(h, 64);
    rcy_free_owned(h, (void *)((uintptr_t)p & ~(uintptr_t)((1u << 20) - 1)));
}

/* A bad pointer into h's own memory is not foreign: it is reported. */
static void test_free_owned_misuse(void)
{
    struct {
        const char *name;
        void (*fn)(void *);
        void *arg;
        const char *expect;
    } cases[] = {
        {"double free (16)", free_owned_twice, &(size_t){16}, "double free"},
        {"double free (512)", free_owned_twice, &(size_t){512}, "double free"},
#if RCY_CHECK_LEVEL >= 1 /* release builds catch the block freed last */
        {"non-immediate double free", free_owned_twice_later, NULL, "double free"},
#endif
        {"interior pointer", free_owned_interior, NULL, "rcy_free"},
        {"the arena's bookkeeping", free_owned_bookkeeping, NULL, "rcy_free"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[1024];
        int ok = check_aborts(cases[i].fn, cases[i].arg, cases[i].expect, msg, sizeof msg);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  rcy_free_owned misuse not caught: %s; child stderr: \"%s\"\n",
                    cases[i].name, msg);
    }
#if RCY_CHECK_LEVEL == 0
    (void)free_owned_twice_later;
#endif
}

struct remote_job {
    rcy_heap *h;
    void *blocks[3];
    int results[4];
};

static void *free_owned_elsewhere(void *arg)
{
    struct remote_job *job = arg;
    for (int i = 0; i < 3; i++)
        job->results[i] = rcy_free_owned(job->h, job->blocks[i]);
    void *m = malloc(32);
    job->results[3] = rcy_free_owned(job->h, m);
    free(m);
    return NULL;
}

/* From a thread that does not own h, in h's turn (the owner waits in
   pthread_join: the GIL model): h's blocks are freed remotely (1),
   collected by the owner's next rcy_purge; libc's block is foreign (0). */
static void test_free_owned_remote(void)
{
    rcy_heap *h = check_new_heap();
    size_t before = bytes_in_use(h);
    struct remote_job job = {.h = h};
    job.blocks[0] = rcy_malloc(h, 16);
    job.blocks[1] = rcy_malloc(h, 300);
    job.blocks[2] = rcy_malloc(h, 50000);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, free_owned_elsewhere, &job), 0);
    pthread_join(t, NULL);
    CHECK(job.results[0] == 1 && job.results[1] == 1 && job.results[2] == 1);
    CHECK_EQ(job.results[3], 0);
    rcy_purge(h);
    CHECK_EQ(bytes_in_use(h), before);
    rcy_heap_destroy(h);
}

int main(void)
{
    test_own_blocks();
    test_objects();
    test_foreign();
    test_after_destroy();
    test_free_owned_own();
    test_free_owned_foreign();
    test_free_owned_misuse();
    test_free_owned_remote();
    return check_summary("test_owns");
}
