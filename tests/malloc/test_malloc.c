/* SPDX-License-Identifier: MIT */
/* test_malloc: the C allocation functions of librecycle-malloc.so, linked
 * into this program (so they are its malloc): each function's results,
 * alignments and errors as C17 and POSIX say, blocks the shim does not own
 * (the C library's), blocks freed by other threads and after their
 * thread's exit, and fork while other threads allocate. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

extern void *libc_malloc(size_t n) __asm__("__libc_malloc"); /* the C library's own */
void cfree(void *p); /* the C library no longer declares it */

/* Sizes no allocation can have, which the compiler does not see as
   constants (it would warn about the calls that use them). */
static volatile size_t huge = SIZE_MAX / 2;
static volatile size_t quarter = SIZE_MAX / 4;
static volatile size_t three = 3, forty_eight = 48; /* alignments that are no powers of two */
/* realloc through a pointer, so that the compiler does not take a failed
   resize for the end of the old block's life. */
static void *(*volatile resize)(void *, size_t) = realloc;
static void *(*volatile resize_array)(void *, size_t, size_t) = reallocarray;

static int aligned_to(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* The program's malloc is the shim's. */
static void test_is_the_shim(void)
{
    Dl_info info;
    void *(*volatile fn)(size_t) = malloc;
    CHECK(dladdr((void *)fn, &info) != 0);
    CHECK(info.dli_fname && strstr(info.dli_fname, "librecycle-malloc") != NULL);
}

static void test_malloc_free(void)
{
    enum { N = 2000 };
    static unsigned char *p[N];
    for (size_t i = 0; i < N; i++) {
        size_t n = i * 7 % 3000;
        p[i] = malloc(n);
        CHECK(p[i] != NULL);
        CHECK(aligned_to(p[i], 16));
        CHECK(malloc_usable_size(p[i]) >= n);
        memset(p[i], (int)(i & 0xFF), n);
    }
    for (size_t i = 0; i < N; i++) {
        size_t n = i * 7 % 3000;
        for (size_t k = 0; k < n; k++)
            CHECK(p[i][k] == (unsigned char)(i & 0xFF)); /* no block overlaps another */
        free(p[i]);
    }
    void *z = malloc(0);
    CHECK(z != NULL); /* a unique pointer, freeable */
    free(z);
    free(NULL);
    errno = 0;
    CHECK(malloc(huge) == NULL);
    CHECK(errno == ENOMEM);
    cfree(malloc(10));
}

static void test_calloc(void)
{
    for (size_t n = 1; n < 5000; n = n * 3 + 1) {
        unsigned char *p = malloc(n); /* dirty a block of the class first */
        memset(p, 0xAB, n);
        free(p);
        p = calloc(n, 1);
        CHECK(p != NULL);
        for (size_t k = 0; k < n; k++)
            CHECK(p[k] == 0);
        free(p);
    }
    errno = 0;
    CHECK(calloc(quarter, 8) == NULL); /* the product overflows */
    CHECK(errno == ENOMEM);
}

static void test_realloc(void)
{
    unsigned char *p = realloc(NULL, 10);
    CHECK(p != NULL);
    for (int i = 0; i < 10; i++)
        p[i] = (unsigned char)i;
    size_t sizes[] = {20, 500, 513, 4000, 100000, 3000, 100, 5};
    size_t kept = 10;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        p = realloc(p, sizes[s]);
        CHECK(p != NULL);
        CHECK(malloc_usable_size(p) >= sizes[s]);
        for (size_t i = 0; i < kept && i < sizes[s]; i++)
            CHECK(p[i] == (unsigned char)i);
        for (size_t i = kept; i < sizes[s]; i++)
            p[i] = (unsigned char)i;
        kept = sizes[s];
    }
    /* growing a byte at a time keeps the contents */
    for (size_t n = 6; n < 20000; n++) {
        p = realloc(p, n);
        CHECK(p != NULL);
        p[n - 1] = (unsigned char)(n - 1);
    }
    for (size_t i = 0; i < 20000 - 1; i++)
        CHECK(p[i] == (unsigned char)i);
    CHECK(realloc(p, 0) == NULL); /* frees, as the C library's does */
    errno = 0;
    void *q = malloc(8);
    CHECK(resize(q, huge) == NULL);
    CHECK(errno == ENOMEM);
    free(q); /* untouched by the failed realloc */
}

static void test_reallocarray(void)
{
    int *a = reallocarray(NULL, 100, sizeof(int));
    CHECK(a != NULL);
    for (int i = 0; i < 100; i++)
        a[i] = i;
    a = reallocarray(a, 1000, sizeof(int));
    CHECK(a != NULL && a[99] == 99);
    errno = 0;
    CHECK(resize_array(a, huge, 4) == NULL);
    CHECK(errno == ENOMEM);
    CHECK(a[0] == 0 && a[99] == 99); /* still a's */
    free(a);
}

static void test_posix_memalign(void)
{
    size_t sizes[] = {0, 1, 24, 100, 500, 512, 513, 5000, 300000};
    for (size_t a = sizeof(void *); a <= ((size_t)1 << 21); a <<= 1) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            void *p = (void *)1;
            CHECK(posix_memalign(&p, a, sizes[s]) == 0);
            CHECK(p != NULL && aligned_to(p, a));
            CHECK(malloc_usable_size(p) >= sizes[s]);
            memset(p, 0x5A, sizes[s]);
            free(p);
        }
    }
    void *p = (void *)1;
    errno = 1234;
    CHECK(posix_memalign(&p, 0, 8) == EINVAL);
    CHECK(posix_memalign(&p, 24, 8) == EINVAL);                 /* not a power of two */
    CHECK(posix_memalign(&p, sizeof(void *) / 2, 8) == EINVAL); /* below sizeof(void *) */
    CHECK(p == (void *)1);                                      /* untouched on failure */
    CHECK(posix_memalign(&p, 64, huge) == ENOMEM);
    CHECK(errno == 1234); /* posix_memalign reports, errno is left alone */
}

static void test_aligned_alloc_memalign(void)
{
    for (size_t a = 1; a <= 65536; a <<= 1) {
        void *p = aligned_alloc(a, a * 3);
        CHECK(p != NULL && aligned_to(p, a));
        free(p);
        p = memalign(a, 77);
        CHECK(p != NULL && aligned_to(p, a));
        free(p);
    }
    errno = 0;
    CHECK(aligned_alloc(three, 9) == NULL);
    CHECK(errno == EINVAL);
    void *p = memalign(forty_eight, 100); /* rounded up to 64, as the C library does */
    CHECK(p != NULL && aligned_to(p, 64));
    free(p);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    p = valloc(10);
    CHECK(p != NULL && aligned_to(p, page));
    free(p);
    p = pvalloc(10);
    CHECK(p != NULL && aligned_to(p, page) && malloc_usable_size(p) >= page);
    free(p);
    p = pvalloc(0);
    CHECK(p != NULL && aligned_to(p, page));
    free(p);
}

/* A block the C library allocated, behind the shim's back: free, realloc
   and malloc_usable_size take it without a crash. */
static void test_foreign(void)
{
    CHECK(malloc_usable_size(NULL) == 0);
    char *f = libc_malloc(100);
    CHECK(f != NULL);
    CHECK(malloc_usable_size(f) >= 100);
    free(f);
    f = libc_malloc(100);
    memcpy(f, "foreign block", 14);
    char *g = realloc(f, 5000); /* resized by the C library */
    CHECK(g != NULL && strcmp(g, "foreign block") == 0);
    CHECK(malloc_usable_size(g) >= 5000);
    free(g);
    f = libc_malloc(40);
    memcpy(f, "short", 6);
    g = realloc(f, 10); /* moved into a pool block */
    CHECK(g != NULL && strcmp(g, "short") == 0);
    CHECK(malloc_usable_size(g) == 16); /* its size class: recycle's */
    free(g);
}

/* ---- threads ---- */
enum { THREADS = 4, PER_THREAD = 20000 };
static unsigned char *handed[THREADS][PER_THREAD];
/* CHECK's counters are the main thread's: threads count their failures here. */
static _Atomic int thread_failures;
#define THREAD_CHECK(cond) ((cond) ? (void)0 : (void)thread_failures++)

static void *allocate_for_others(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    for (size_t i = 0; i < PER_THREAD; i++) {
        size_t n = 2 + (i * 13 + t) % 700;
        handed[t][i] = malloc(n);
        THREAD_CHECK(handed[t][i] != NULL);
        handed[t][i][0] = (unsigned char)t;
        handed[t][i][n - 1] = (unsigned char)i;
    }
    return NULL;
}

static void *free_anothers(void *arg)
{
    size_t t = ((size_t)(uintptr_t)arg + 1) % THREADS;
    for (size_t i = 0; i < PER_THREAD; i++) {
        size_t n = 2 + (i * 13 + t) % 700;
        THREAD_CHECK(handed[t][i][0] == (unsigned char)t &&
                     handed[t][i][n - 1] == (unsigned char)i);
        if (i % 3 == 0)
            handed[t][i] = realloc(handed[t][i], n + 100); /* moved by another thread */
        free(handed[t][i]);
        free(malloc(n)); /* and this thread's own traffic between */
    }
    return NULL;
}

/* Every block is freed by a thread other than its allocator's, after that
   thread has exited. */
static void test_threads(void)
{
    pthread_t th[THREADS];
    for (int round = 0; round < 3; round++) {
        for (size_t t = 0; t < THREADS; t++)
            CHECK(pthread_create(&th[t], NULL, allocate_for_others, (void *)(uintptr_t)t) == 0);
        for (size_t t = 0; t < THREADS; t++)
            pthread_join(th[t], NULL);
        for (size_t t = 0; t < THREADS; t++)
            CHECK(pthread_create(&th[t], NULL, free_anothers, (void *)(uintptr_t)t) == 0);
        for (size_t t = 0; t < THREADS; t++)
            pthread_join(th[t], NULL);
    }
    CHECK(thread_failures == 0);
}

static volatile int stop_churn;

static void *churn(void *arg)
{
    (void)arg;
    while (!stop_churn) {
        void *p[64];
        for (int i = 0; i < 64; i++)
            p[i] = malloc((size_t)(i * 37 % 2000));
        for (int i = 0; i < 64; i++)
            free(p[i]);
    }
    return NULL;
}

/* fork while another thread allocates: the child's malloc works. */
static void test_fork(void)
{
    pthread_t th;
    CHECK(pthread_create(&th, NULL, churn, NULL) == 0);
    for (int k = 0; k < 20; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            int ok = 1;
            for (int i = 0; i < 10000; i++) {
                char *p = malloc((size_t)(i % 1500) + 1);
                ok &= p != NULL;
                if (p)
                    p[0] = 1;
                free(p);
            }
            _exit(ok ? 0 : 1);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    stop_churn = 1;
    pthread_join(th, NULL);
}

int main(void)
{
    test_is_the_shim();
    test_malloc_free();
    test_calloc();
    test_realloc();
    test_reallocarray();
    test_posix_memalign();
    test_aligned_alloc_memalign();
    test_foreign();
    test_threads();
    test_fork();
    return check_summary("test_malloc");
}
