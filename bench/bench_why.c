/* SPDX-License-Identifier: MIT */
/* Retention-tool benchmarks (issue 24): rcy_why_alive and the dominator
 * tree with retained sizes, on a heap of N objects.
 *
 *   bench_why why N [REPS]         rcy_why_alive of the last object made
 *                                  (a leaf about log2 N deep), REPS times
 *   bench_why dominators N [REPS]  rcy_dominators_compute, REPS times
 *
 * The heap: N objects of three reference words each (a layout descriptor),
 * a complete binary tree in allocation order (object i holds 2i+1 and
 * 2i+2), and one object in four also holding a random other object: shared
 * children and cycles, so that dominators are not simply the tree. One
 * root, held by the benchmark. The collector is off while it is built.
 * Prints one RESULT line: median and fastest time in ms, and the time to
 * build the heap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recycle.h"

typedef struct node3 {
    void *left, *right, *cross;
} node3;

static const rcy_type node3_type = {
    "node3", sizeof(node3),
    NULL,    NULL,
    NULL,    RCY_REF_WORD(node3, left) | RCY_REF_WORD(node3, right) | RCY_REF_WORD(node3, cross)};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The heap described above; returns its root; *last the last object. */
static node3 *build(rcy_heap *h, size_t n, node3 **last)
{
    node3 **all = malloc(n * sizeof *all);
    if (!all) {
        fprintf(stderr, "bench_why: out of memory\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        all[i] = rcy_new(h, &node3_type);
        if (!all[i]) {
            fprintf(stderr, "bench_why: rcy_new failed\n");
            exit(2);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (2 * i + 1 < n)
            all[i]->left = all[2 * i + 1]; /* our reference moves into the parent */
        if (2 * i + 2 < n)
            all[i]->right = all[2 * i + 2];
        if (next_rand() % 4 == 0) {
            all[i]->cross = all[next_rand() % n];
            rcy_incref(all[i]->cross);
        }
    }
    node3 *root = all[0];
    *last = all[n - 1];
    free(all);
    return root;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "why") && strcmp(argv[1], "dominators"))) {
        fprintf(stderr, "usage: bench_why why|dominators N [REPS]\n");
        return 2;
    }
    size_t n = strtoul(argv[2], NULL, 10);
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (n < 2 || reps < 1 || reps > 100) {
        fprintf(stderr, "bench_why: N >= 2 and 1 <= REPS <= 100\n");
        return 2;
    }
    int why = strcmp(argv[1], "why") == 0;
    rcy_heap *h = rcy_heap_new();
    rcy_gc_disable(h);
    double t0 = now_s();
    node3 *last;
    node3 *root = build(h, n, &last);
    double build_s = now_s() - t0;
    double ms[100];
    long result = 0;
    for (int r = 0; r < reps; r++) {
        double t = now_s();
        if (why) {
            result = rcy_why_alive(h, last, NULL, NULL);
        } else {
            rcy_dominators *d = rcy_dominators_compute(h);
            result = d ? (long)rcy_dominators_retained(d, root) : -1;
            rcy_dominators_free(d);
        }
        ms[r] = (now_s() - t) * 1e3;
        if (result <= 0) {
            fprintf(stderr, "bench_why: %s failed (%ld)\n", argv[1], result);
            return 1;
        }
    }
    qsort(ms, (size_t)reps, sizeof ms[0], by_value);
    printf("RESULT bench=why alloc=recycle op=%s objects=%zu ms=%.1f ms_min=%.1f build_s=%.2f "
           "result=%ld reps=%d\n",
           why ? "why_alive" : "dominators", n, ms[reps / 2], ms[0], build_s, result, reps);
    rcy_decref(root);
    rcy_heap_destroy(h);
    return 0;
}
