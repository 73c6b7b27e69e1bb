/* SPDX-License-Identifier: MIT */
/* A tiny test harness shared by every test program: CHECK records a
 * failure and goes on, CHECK_EQ shows both values, and check_summary()
 * prints the "N passed, N failed" line CTest output ends with. Also a
 * helper to run a function in a child and see whether it aborted, and one
 * to drop a reference on a thread with a small stack. */
#ifndef RCY_TEST_CHECK_H
#define RCY_TEST_CHECK_H

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recycle.h"

static int check_passed, check_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ == check_b_) {                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__,         \
                    __LINE__, #a, #b, check_a_, check_b_);                                         \
        }                                                                                          \
    } while (0)

/* Prints the closing line and gives main's exit status. */
static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* A heap, or the end of the test program: nothing can be checked without. */
static inline rcy_heap *check_new_heap(void)
{
    rcy_heap *h = rcy_heap_new();
    if (!h) {
        fprintf(stderr, "rcy_heap_new failed: no heap to test\n");
        exit(1);
    }
    return h;
}

/* Deterministic randomness for tests: xorshift64, one stream per program. */
static uint64_t check_rng_state = 0x9e3779b97f4a7c15u;
static inline uint64_t check_rand(void)
{
    uint64_t x = check_rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return check_rng_state = x;
}

/* Fisher-Yates over an array of pointers. */
static inline void check_shuffle(void **a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(check_rand() % i);
        void *t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* RCY_TEST_QUICK=1 (valgrind runs): tests shrink themselves. */
static inline int check_quick(void)
{
    const char *q = getenv("RCY_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

#ifdef RCY_TEST_COVERAGE
/* gcov writes its counts when the program exits, which a child that aborts
   never does: a coverage build (scripts/coverage.sh) writes them from the
   child's SIGABRT handler, after which abort() goes on and kills it. */
void __gcov_dump(void);
static void check_gcov_dump(int sig)
{
    (void)sig;
    __gcov_dump();
}
#endif

/* The small stack's job: its heap taken, so that the object dies on its
 * heap's owner (docs/api.md, "Shared objects"). */
static inline void *check_decref_job(void *o)
{
    rcy_heap_adopt(rcy_heap_of(o));
    rcy_decref(o);
    return NULL;
}

/* Drops the last reference to o on a thread with a 256 KiB stack, then
 * takes o's heap back: a death that needs more C stack than its bound
 * crashes the test. Returns 0 if the thread could not run. */
static inline int check_decref_on_small_stack(void *o)
{
    rcy_heap *h = rcy_heap_of(o);
    pthread_attr_t attr;
    pthread_t th;
    if (pthread_attr_init(&attr) != 0)
        return 0;
    int ok = pthread_attr_setstacksize(&attr, 256 * 1024) == 0 &&
             pthread_create(&th, &attr, check_decref_job, o) == 0;
    pthread_attr_destroy(&attr);
    if (ok)
        ok = pthread_join(th, NULL) == 0;
    rcy_heap_adopt(h);
    return ok;
}

/* Runs fn(arg) in a child process with stderr captured. Returns 1 if the
 * child died of SIGABRT and its stderr contains `expect` (NULL: anything),
 * 0 otherwise. The captured text goes to `msg` (may be NULL). */
static inline int check_aborts(void (*fn)(void *), void *arg, const char *expect, char *msg,
                               size_t msgsize)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
#ifdef RCY_TEST_COVERAGE
        signal(SIGABRT, check_gcov_dump);
#endif
        fn(arg);
        _exit(0); /* did not abort */
    }
    close(fds[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0 && len < sizeof buf - 1)
        len += (size_t)r;
    buf[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (msg && msgsize) {
        size_t n = len < msgsize - 1 ? len : msgsize - 1;
        memcpy(msg, buf, n);
        msg[n] = '\0';
    }
    int aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    return aborted && (!expect || strstr(buf, expect) != NULL);
}

#endif
