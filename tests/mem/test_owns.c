/* SPDX-License-Identifier: MIT */
/* rcy_heap_owns: 1 for the blocks a heap manages (small, large, objects),
 * 0 for everything else: NULL, malloc's blocks, another heap's, interior
 * pointers of large blocks, the arena's bookkeeping, addresses outside the
 * user address space and unmapped ones. Wild pointers must not crash it. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */

#include "check.h"
#include "recycle.h"

#include <stdint.h>
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

int main(void)
{
    test_own_blocks();
    test_objects();
    test_foreign();
    test_after_destroy();
    return check_summary("test_owns");
}
