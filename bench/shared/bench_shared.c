/* SPDX-License-Identifier: MIT */
/* bench_shared: two threads sharing a graph (issue 23). A writer owns a
 * table of SLOTS nodes, each with two children; it replaces random nodes
 * with new ones (making the node, linking the children of its neighbours,
 * dropping the old one). A reader takes a node from the table (under the
 * table's lock, the program's own), then increfs and decrefs the node and
 * its children VISITS times, as an interpreter walking shared data would,
 * and drops it. The same program three ways:
 *   recycle  recycle objects, biased counts (the writer owns the nodes: its
 *            counts are plain, the reader's go to the shared words);
 *   atomic   malloc'd nodes with one atomic count (every operation a
 *            locked instruction);
 *   lock     malloc'd nodes with plain counts under one global mutex.
 * Prints RESULT lines: wall time, and the reader's and writer's
 * operations. BENCH_QUICK=1 shrinks it.
 *   bench_shared recycle|atomic|lock [ROUNDS] */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recycle.h"

enum { SLOTS = 4096, VISITS = 16 };
enum mode { RECYCLE, ATOMIC, LOCK };

typedef struct node {
    struct node *kid[2];
    long value;
} node;

/* the atomic and lock variants' object: a count in front, as a header */
typedef struct hnode {
    atomic_long rc; /* plain under the lock variant (relaxed, uncontended) */
    node n;
} hnode;

static enum mode mode;
static rcy_heap *writer_heap;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER; /* the lock variant's */
static node *table[SLOTS];
static atomic_int done;
static long rounds = 2000000;

static const rcy_type node_type = {
    .name = "shared_node",
    .size = sizeof(node),
    .ref_words = RCY_REF_WORD(node, kid[0]) | RCY_REF_WORD(node, kid[1]),
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static hnode *H(node *n)
{
    return (hnode *)((char *)n - offsetof(hnode, n));
}

static void ref(node *n)
{
    if (!n)
        return;
    if (mode == RECYCLE) {
        rcy_incref(n);
    } else if (mode == ATOMIC) {
        atomic_fetch_add_explicit(&H(n)->rc, 1, memory_order_relaxed);
    } else {
        pthread_mutex_lock(&count_lock);
        atomic_store_explicit(&H(n)->rc, atomic_load_explicit(&H(n)->rc, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        pthread_mutex_unlock(&count_lock);
    }
}

static void unref(node *n);

static void free_hnode(node *n)
{
    node *k0 = n->kid[0], *k1 = n->kid[1];
    free(H(n));
    unref(k0);
    unref(k1);
}

static void unref(node *n)
{
    if (!n)
        return;
    if (mode == RECYCLE) {
        rcy_decref(n);
    } else if (mode == ATOMIC) {
        if (atomic_fetch_sub_explicit(&H(n)->rc, 1, memory_order_acq_rel) == 1)
            free_hnode(n);
    } else {
        pthread_mutex_lock(&count_lock);
        long rc = atomic_load_explicit(&H(n)->rc, memory_order_relaxed) - 1;
        atomic_store_explicit(&H(n)->rc, rc, memory_order_relaxed);
        pthread_mutex_unlock(&count_lock);
        if (rc == 0)
            free_hnode(n);
    }
}

static node *make(long value)
{
    node *n;
    if (mode == RECYCLE) {
        n = rcy_new(writer_heap, &node_type);
    } else {
        hnode *h = calloc(1, sizeof *h);
        if (!h)
            return NULL;
        atomic_init(&h->rc, 1);
        n = &h->n;
    }
    if (!n) {
        fprintf(stderr, "bench_shared: out of memory\n");
        exit(1);
    }
    n->value = value;
    return n;
}

static uint64_t rng(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The writer: replaces a random node; its children are the nodes of two
   other slots (their counts go up). */
static void *writer(void *arg)
{
    long *ops = arg;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    if (mode == RECYCLE)
        rcy_heap_adopt(writer_heap);
    while (!atomic_load_explicit(&done, memory_order_relaxed)) {
        node *n = make((long)(*ops));
        pthread_mutex_lock(&table_lock);
        for (int k = 0; k < 2; k++) {
            n->kid[k] = table[rng(&x) % SLOTS];
            ref(n->kid[k]);
        }
        size_t s = rng(&x) % SLOTS;
        node *old = table[s];
        table[s] = n;
        pthread_mutex_unlock(&table_lock);
        unref(old);
        if (mode == RECYCLE && (*ops & 63) == 0)
            rcy_safepoint(); /* deaths the reader left */
        (*ops)++;
    }
    return NULL;
}

/* The reader: count operations on a node and its children. */
static long read_rounds(long n)
{
    uint64_t x = 0xD1B54A32D192ED03ull;
    long sum = 0;
    for (long r = 0; r < n; r++) {
        pthread_mutex_lock(&table_lock);
        node *a = table[rng(&x) % SLOTS];
        ref(a);
        pthread_mutex_unlock(&table_lock);
        for (int v = 0; v < VISITS; v++) {
            node *k = a->kid[v & 1];
            ref(k);
            sum += k ? k->value : 0;
            unref(k);
            ref(a);
            unref(a);
        }
        unref(a);
    }
    return sum;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "recycle";
    mode = !strcmp(m, "atomic") ? ATOMIC : !strcmp(m, "lock") ? LOCK : RECYCLE;
    if (argc > 2)
        rounds = atol(argv[2]);
    const char *q = getenv("BENCH_QUICK");
    if (q && *q && strcmp(q, "0") != 0)
        rounds /= 20;
    writer_heap = rcy_heap_new();
    if (!writer_heap)
        return 1;
    for (size_t s = 0; s < SLOTS; s++)
        table[s] = make((long)s);
    long writer_ops = 0;
    pthread_t w;
    double t0 = now_s();
    if (pthread_create(&w, NULL, writer, &writer_ops) != 0)
        return 1;
    long sum = read_rounds(rounds);
    atomic_store(&done, 1);
    pthread_join(w, NULL);
    double t = now_s() - t0;
    if (mode == RECYCLE)
        rcy_heap_adopt(writer_heap);
    for (size_t s = 0; s < SLOTS; s++)
        unref(table[s]);
    if (mode == RECYCLE) {
        rcy_safepoint();
        rcy_heap_destroy(writer_heap);
    }
    long reader_ops = rounds * (2 + 4 * VISITS);
    printf("RESULT bench=shared_graph mode=%s seconds=%.4f reader_ops=%ld writer_replacements=%ld "
           "ns_per_reader_op=%.3f writer_per_s=%.0f sink=%ld\n",
           m, t, reader_ops, writer_ops, t * 1e9 / (double)reader_ops, (double)writer_ops / t,
           sum & 1);
    return 0;
}
