/* SPDX-License-Identifier: MIT */
/* bench_mt: multi-threaded allocator benchmarks, written for recycle. The
 * program uses plain malloc and free, so one executable measures every
 * allocator: bench/mt/run.sh runs it under LD_PRELOAD of each (glibc's is
 * the one with no preload). Each prints one line:
 *   RESULT bench=mt_<name> threads=T seconds=S peak_rss_mib=P ...
 * and the harness adds the allocator's name.
 *
 *   larson T OPS [MAX]           a server: each thread replaces random blocks
 *                                (8..MAX bytes, default 1000) of its slot
 *                                array; every round, fresh threads take over
 *                                the arrays, so the blocks a thread frees were
 *                                mostly allocated by another one
 *   xmalloc T BLOCKS             T producers allocate, T consumers free what
 *                                they receive through a queue (every free is
 *                                remote); RSS after the run, once everything
 *                                is freed, says whether that memory came back
 *   scratch T ITERATIONS         false sharing: each thread frees a small
 *                                block the main thread allocated next to the
 *                                others', then allocates, writes and frees
 *                                blocks of that size; an allocator that hands
 *                                the freed slot back makes the threads write
 *                                to one cache line
 *
 * The work is fixed (not the time), so with T threads on T cores the time
 * stays the same when the allocator scales. Every block is written and
 * checked, so a wrong allocator fails the run rather than looking fast. */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double rss_now_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static double rss_peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static uint64_t next_rand(uint64_t *s) /* xorshift64 */
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_mt: %s\n", what);
    exit(1);
}

/* Fills the first bytes of a block with a value derived from its size, and
   checks them before the block is freed. */
static void stamp(unsigned char *p, size_t n)
{
    p[0] = (unsigned char)n;
    p[n - 1] = (unsigned char)(n >> 3);
}

static void check_stamp(const unsigned char *p, size_t n)
{
    if (p[0] != (unsigned char)n || p[n - 1] != (unsigned char)(n >> 3))
        die("a block's contents changed under it: the allocator handed it out twice");
}

static void start_threads(pthread_t *t, int n, void *(*fn)(void *), void *args, size_t argsize)
{
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (char *)args + (size_t)i * argsize) != 0)
            die("pthread_create failed");
}

static void join_threads(pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

/* ---- larson-like server ---- */
#define LARSON_SLOTS 4000
#define LARSON_MIN 8
#define LARSON_MAX 1000 /* the default largest block */

typedef struct larson_arg {
    void **slot;
    size_t *size;
    uint64_t seed;
    long ops;
    size_t max; /* largest block */
} larson_arg;

static size_t larson_size(larson_arg *a)
{
    return LARSON_MIN + next_rand(&a->seed) % (a->max - LARSON_MIN + 1);
}

static void larson_fill(larson_arg *a)
{
    for (int i = 0; i < LARSON_SLOTS; i++) {
        size_t n = larson_size(a);
        a->slot[i] = malloc(n);
        if (!a->slot[i])
            die("malloc failed");
        a->size[i] = n;
        stamp(a->slot[i], n);
    }
}

static void *larson_thread(void *p)
{
    larson_arg *a = p;
    for (long k = 0; k < a->ops; k++) {
        size_t i = (size_t)(next_rand(&a->seed) % LARSON_SLOTS);
        check_stamp(a->slot[i], a->size[i]);
        free(a->slot[i]);
        size_t n = larson_size(a);
        a->slot[i] = malloc(n);
        if (!a->slot[i])
            die("malloc failed");
        a->size[i] = n;
        stamp(a->slot[i], n);
    }
    return NULL;
}

/* T threads, ROUNDS generations of threads; each generation's threads take
   the previous generation's arrays (rotated by one, so that with T > 1 a
   thread also inherits blocks of a thread that still runs). */
static int bench_larson(int threads, long ops_total, size_t max)
{
    enum { ROUNDS = 20 };
    larson_arg *args = calloc((size_t)threads, sizeof *args);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    if (!args || !t)
        die("out of memory");
    for (int i = 0; i < threads; i++) {
        args[i].slot = calloc(LARSON_SLOTS, sizeof(void *));
        args[i].size = calloc(LARSON_SLOTS, sizeof(size_t));
        args[i].seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        args[i].ops = ops_total / ROUNDS;
        args[i].max = max;
        larson_fill(&args[i]);
    }
    double t0 = now_s();
    for (int r = 0; r < ROUNDS; r++) {
        start_threads(t, threads, larson_thread, args, sizeof *args);
        join_threads(t, threads);
        larson_arg first = args[0]; /* rotate the arrays among the next threads */
        memmove(args, args + 1, (size_t)(threads - 1) * sizeof *args);
        args[threads - 1] = first;
    }
    double secs = now_s() - t0;
    for (int i = 0; i < threads; i++) {
        for (int k = 0; k < LARSON_SLOTS; k++)
            free(args[i].slot[k]);
        free(args[i].slot);
        free(args[i].size);
    }
    char name[32] = "";
    if (max != LARSON_MAX)
        snprintf(name, sizeof name, "%zu", max);
    printf("RESULT bench=mt_larson%s threads=%d ops=%ld max=%zu seconds=%.4f mops_s=%.3f "
           "peak_rss_mib=%.1f\n",
           name, threads, ops_total * threads, max, secs, (double)ops_total * threads / secs / 1e6,
           rss_peak_mib());
    free(args);
    free(t);
    return 0;
}

/* ---- producer-consumer ---- */
#define BATCH 256
#define QUEUE_BATCHES 64

typedef struct batch {
    void *p[BATCH];
    uint32_t n[BATCH];
} batch;

typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    batch *item[QUEUE_BATCHES];
    int head, count, producers_left;
} queue;

typedef struct pc_arg {
    queue *q;
    long blocks;
    uint64_t seed;
} pc_arg;

static void queue_put(queue *q, batch *b)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == QUEUE_BATCHES)
        pthread_cond_wait(&q->changed, &q->lock);
    q->item[(q->head + q->count) % QUEUE_BATCHES] = b;
    q->count++;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* NULL once every producer is done and the queue is empty. */
static batch *queue_take(queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && q->producers_left > 0)
        pthread_cond_wait(&q->changed, &q->lock);
    batch *b = NULL;
    if (q->count > 0) {
        b = q->item[q->head];
        q->head = (q->head + 1) % QUEUE_BATCHES;
        q->count--;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->lock);
    return b;
}

static void producer_done(queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->producers_left--;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* The batches themselves come from the allocator too: they are freed by
   the consumer, as the blocks are. */
static void *producer(void *p)
{
    pc_arg *a = p;
    for (long done = 0; done < a->blocks; done += BATCH) {
        batch *b = malloc(sizeof *b);
        if (!b)
            die("malloc failed");
        for (int i = 0; i < BATCH; i++) {
            size_t n = 16 + next_rand(&a->seed) % 113; /* 16..128 bytes */
            b->p[i] = malloc(n);
            if (!b->p[i])
                die("malloc failed");
            b->n[i] = (uint32_t)n;
            stamp(b->p[i], n);
        }
        queue_put(a->q, b);
    }
    producer_done(a->q);
    return NULL;
}

static void *consumer(void *p)
{
    pc_arg *a = p;
    batch *b;
    while ((b = queue_take(a->q)) != NULL) {
        for (int i = 0; i < BATCH; i++) {
            check_stamp(b->p[i], b->n[i]);
            free(b->p[i]);
        }
        free(b);
    }
    return NULL;
}

/* A little allocation on the main thread after the run: allocators that
   give memory back only inside their own calls get the chance to. */
static void settle(void)
{
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++)
            free(malloc(64));
        usleep(100 * 1000);
    }
}

static int bench_xmalloc(int pairs, long blocks)
{
    queue q = {.lock = PTHREAD_MUTEX_INITIALIZER,
               .changed = PTHREAD_COND_INITIALIZER,
               .producers_left = pairs};
    pc_arg *args = calloc((size_t)pairs, sizeof *args);
    pthread_t *prod = calloc((size_t)pairs, sizeof *prod);
    pthread_t *cons = calloc((size_t)pairs, sizeof *cons);
    if (!args || !prod || !cons)
        die("out of memory");
    double rss_before = rss_now_mib();
    for (int i = 0; i < pairs; i++)
        args[i] = (pc_arg){&q, blocks, 0x2545F4914F6CDD1Dull * (uint64_t)(i + 1)};
    double t0 = now_s();
    start_threads(cons, pairs, consumer, args, sizeof *args);
    start_threads(prod, pairs, producer, args, sizeof *args);
    join_threads(prod, pairs);
    join_threads(cons, pairs);
    double secs = now_s() - t0;
    double peak = rss_peak_mib();
    settle();
    printf("RESULT bench=mt_xmalloc threads=%d blocks=%ld seconds=%.4f peak_rss_mib=%.1f "
           "rss_before_mib=%.1f rss_after_mib=%.1f\n",
           pairs, blocks * pairs, secs, peak, rss_before, rss_now_mib());
    free(args);
    free(prod);
    free(cons);
    return 0;
}

/* ---- false sharing ---- */
#define SCRATCH_SIZE 8
#define SCRATCH_WRITES 1000

typedef struct scratch_arg {
    char *given; /* allocated by the main thread, next to the other threads' */
    long iterations;
} scratch_arg;

static void *scratch_thread(void *p)
{
    scratch_arg *a = p;
    free(a->given);
    for (long k = 0; k < a->iterations; k++) {
        volatile char *b = malloc(SCRATCH_SIZE);
        if (!b)
            die("malloc failed");
        for (int w = 0; w < SCRATCH_WRITES; w++)
            for (int i = 0; i < SCRATCH_SIZE; i++)
                b[i] = (char)(b[i] + 1);
        free((void *)b);
    }
    return NULL;
}

static int bench_scratch(int threads, long iterations)
{
    scratch_arg *args = calloc((size_t)threads, sizeof *args);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    if (!args || !t)
        die("out of memory");
    for (int i = 0; i < threads; i++) { /* consecutive: likely one cache line */
        args[i].given = malloc(SCRATCH_SIZE);
        if (!args[i].given)
            die("malloc failed");
        args[i].iterations = iterations;
    }
    double t0 = now_s();
    start_threads(t, threads, scratch_thread, args, sizeof *args);
    join_threads(t, threads);
    double secs = now_s() - t0;
    printf("RESULT bench=mt_scratch threads=%d iterations=%ld seconds=%.4f peak_rss_mib=%.1f\n",
           threads, iterations, secs, rss_peak_mib());
    free(args);
    free(t);
    return 0;
}

static long arg_long(const char *s, long lo, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo) {
        fprintf(stderr, "bench_mt: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp(argv[1], "larson") == 0)) {
        fprintf(stderr, "usage: bench_mt larson|xmalloc|scratch THREADS WORK [LARSON_MAX]\n");
        return 2;
    }
    int threads = (int)arg_long(argv[2], 1, "thread count");
    if (threads > 256) {
        fprintf(stderr, "bench_mt: at most 256 threads\n");
        return 2;
    }
    long work = arg_long(argv[3], 1, "amount of work");
    if (strcmp(argv[1], "larson") == 0)
        return bench_larson(threads, work,
                            argc == 5 ? (size_t)arg_long(argv[4], 16, "largest size") : LARSON_MAX);
    if (strcmp(argv[1], "xmalloc") == 0)
        return bench_xmalloc(threads, work);
    if (strcmp(argv[1], "scratch") == 0)
        return bench_scratch(threads, work);
    fprintf(stderr, "bench_mt: unknown benchmark '%s'\n", argv[1]);
    return 2;
}
