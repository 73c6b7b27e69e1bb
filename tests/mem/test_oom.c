/* SPDX-License-Identifier: MIT */
/* Out of memory for real: under an address-space limit (RLIMIT_AS) a
 * little above what the program already uses, the heap runs out of arenas
 * and the system allocator of large blocks. Every failure must be NULL with
 * errno ENOMEM, never a crash or an abort, and what was freed afterwards
 * must serve again (include/recycle.h: "never aborts").
 *
 * Skipped under the sanitizers, whose shadow memory needs more address
 * space than any limit here allows. Not in the valgrind list either. */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "recycle.h"

#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>

#define HEADROOM ((size_t)32 << 20)     /* address space allowed beyond the start */
#define MAX_BLOCKS (HEADROOM / 256 * 2) /* more 256-byte blocks than fit in it */

typedef struct pair {
    void *a, *b;
    char pad[232]; /* with the header, a 256-byte block: as many as fill_small's */
} pair;
static void pair_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    pair *p = self;
    visit(&p->a, arg);
    visit(&p->b, arg);
}
static const rcy_type pair_type = {"pair", sizeof(pair), pair_traverse, NULL, NULL};

/* The address space the process has mapped now, in bytes. */
static size_t mapped_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    char line[128];
    int got = fgets(line, sizeof line, f) != NULL;
    (void)fclose(f); /* read only: nothing to lose */
    /* the first field is the size, in pages */
    unsigned long pages = got ? strtoul(line, NULL, 10) : 0;
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Allocates 256-byte blocks until one fails; returns how many succeeded
   (the failure is checked to be ENOMEM). */
static size_t fill_small(rcy_heap *h, void **keep)
{
    size_t n = 0;
    errno = 0;
    while (n < MAX_BLOCKS && (keep[n] = rcy_malloc(h, 256)) != NULL)
        n++;
    CHECK(n < MAX_BLOCKS); /* the limit was reached */
    CHECK_EQ(errno, ENOMEM);
    return n;
}

static size_t fill_objects(rcy_heap *h, void **keep)
{
    size_t n = 0;
    errno = 0;
    while (n < MAX_BLOCKS && (keep[n] = rcy_new(h, &pair_type)) != NULL)
        n++;
    CHECK(n < MAX_BLOCKS);
    CHECK_EQ(errno, ENOMEM);
    return n;
}

static void run_limited(rcy_heap *h, void **keep)
{
    /* a large block bigger than the headroom */
    errno = 0;
    CHECK(rcy_malloc(h, 2 * HEADROOM) == NULL);
    CHECK_EQ(errno, ENOMEM);

    /* a large block that cannot grow past the limit stays as it was */
    unsigned char *big = rcy_malloc(h, 1 << 20);
    CHECK(big != NULL);
    if (big) {
        memset(big, 0x5a, 1 << 20);
        errno = 0;
        CHECK(rcy_realloc(h, big, 2 * HEADROOM) == NULL);
        CHECK_EQ(errno, ENOMEM);
        CHECK(big[0] == 0x5a && big[(1 << 20) - 1] == 0x5a);
        rcy_free(h, big);
    }

    /* small blocks until the arenas run out; freed, they serve again */
    size_t n = fill_small(h, keep);
    CHECK(n > 0);
    rcy_heap *other = rcy_heap_new(); /* may or may not fit */
    CHECK(other != NULL || errno == ENOMEM);
    if (other)
        rcy_heap_destroy(other);
    for (size_t i = 0; i < n; i++)
        rcy_free(h, keep[i]);
    void *again = rcy_malloc(h, 256);
    CHECK(again != NULL);
    rcy_free(h, again);

    /* objects likewise, the collector on (a collection may run when the
       young generation fills) */
    n = fill_objects(h, keep);
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++)
        rcy_decref(keep[i]);
    again = rcy_new(h, &pair_type);
    CHECK(again != NULL);
    rcy_xdecref(again);
}

int main(void)
{
#if defined(RCY_SANITIZE) && RCY_SANITIZE
    (void)mapped_now;
    (void)run_limited;
    printf("test_oom: skipped under the sanitizers\n");
    return check_summary("test_oom");
#else
    rcy_heap *h = check_new_heap();
    void **keep = calloc(MAX_BLOCKS, sizeof *keep);
    struct rlimit old;
    size_t now = mapped_now();
    if (!keep || now == 0 || getrlimit(RLIMIT_AS, &old) != 0) {
        fprintf(stderr, "test_oom: cannot set up (no memory, /proc or getrlimit)\n");
        CHECK(0);
        return check_summary("test_oom");
    }
    struct rlimit lim = old;
    lim.rlim_cur = (rlim_t)(now + HEADROOM);
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur) {
        printf("test_oom: skipped (RLIMIT_AS is already %llu bytes)\n",
               (unsigned long long)old.rlim_cur);
        return check_summary("test_oom");
    }
    CHECK_EQ(setrlimit(RLIMIT_AS, &lim), 0);
    run_limited(h, keep);
    CHECK_EQ(setrlimit(RLIMIT_AS, &old), 0); /* room again, for the end */
    free(keep);
    rcy_heap_destroy(h);
    return check_summary("test_oom");
#endif
}
