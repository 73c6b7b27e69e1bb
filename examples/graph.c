/* SPDX-License-Identifier: MIT */
/* graph: a directed graph full of cycles, freed by the cycle collector.
 *
 * Each vertex owns references to its successors, kept in an array that
 * grows with rcy_realloc. Once the program lets go of the graph, its
 * cycles keep every count above zero; rcy_gc_collect finds the vertices no
 * longer reachable from outside and frees them. Vertices the program still
 * holds, and all they reach, survive.
 */
#include "recycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vertex {
    size_t id;
    size_t nedges, cap;
    struct vertex **edges; /* owned references */
} vertex;

static size_t alive;

static void vertex_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    vertex *v = self;
    for (size_t i = 0; i < v->nedges; i++)
        visit((void **)&v->edges[i], arg);
}

/* The edges were released (set to NULL) before this runs; free the array. */
static void vertex_destroy(void *self)
{
    vertex *v = self;
    rcy_free(rcy_heap_of(v), v->edges);
    alive--;
}

static const rcy_type vertex_type = {
    .name = "vertex",
    .size = sizeof(vertex),
    .traverse = vertex_traverse,
    .destroy = vertex_destroy,
};

static void *must(void *p)
{
    if (!p) {
        perror("recycle");
        exit(1);
    }
    return p;
}

/* from -> to: from takes a new reference to `to`. */
static void add_edge(vertex *from, vertex *to)
{
    if (from->nedges == from->cap) {
        size_t cap = from->cap ? 2 * from->cap : 4;
        from->edges = must(rcy_realloc(rcy_heap_of(from), from->edges, cap * sizeof *from->edges));
        from->cap = cap;
    }
    rcy_incref(to);
    from->edges[from->nedges++] = to;
}

/* How many vertices `start` reaches (itself included). */
static size_t reachable(vertex *start, size_t n)
{
    char *seen = calloc(n, 1);
    vertex **stack = malloc(n * sizeof *stack);
    size_t top = 0, count = 0;
    if (!seen || !stack)
        exit(1);
    stack[top++] = start;
    seen[start->id] = 1;
    while (top) {
        vertex *v = stack[--top];
        count++;
        for (size_t i = 0; i < v->nedges; i++)
            if (!seen[v->edges[i]->id]) {
                seen[v->edges[i]->id] = 1;
                stack[top++] = v->edges[i];
            }
    }
    free(seen);
    free(stack);
    return count;
}

int main(void)
{
    enum { N = 1000, EDGES = 2000 };
    rcy_heap *h = must(rcy_heap_new());
    int ok = 1;

    vertex *v[N];
    for (size_t i = 0; i < N; i++) {
        v[i] = must(rcy_new(h, &vertex_type));
        v[i]->id = i;
        alive++;
    }
    /* Random edges (a fixed seed, so every run is the same). */
    unsigned long long seed = 42;
    for (int e = 0; e < EDGES; e++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t a = (size_t)(seed >> 33) % N;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t b = (size_t)(seed >> 33) % N;
        add_edge(v[a], v[b]);
    }
    size_t from0 = reachable(v[0], N);

    /* Let go of every vertex but v[0]. Counting frees those no cycle
       holds; the rest wait for the collector. */
    for (size_t i = 1; i < N; i++)
        rcy_decref(v[i]);
    size_t before = alive;
    printf("graph of %d vertices, %d edges; all but v[0] dropped: %zu freed, %zu alive\n", N, EDGES,
           N - before, before);

    size_t found = rcy_gc_collect(h, -1);
    printf("rcy_gc_collect found %zu; %zu alive = the %zu v[0] reaches\n", found, alive, from0);
    ok &= alive == from0 && found == before - from0;

    rcy_decref(v[0]);
    found = rcy_gc_collect(h, -1);
    printf("v[0] dropped: rcy_gc_collect found %zu; %zu alive\n", found, alive);
    ok &= alive == 0;

    rcy_heap_destroy(h);
    puts(ok ? "graph: ok" : "graph: FAILED");
    return ok ? 0 : 1;
}
