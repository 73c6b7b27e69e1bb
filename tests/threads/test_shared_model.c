/* SPDX-License-Identifier: MIT */
/* test_shared_model: a randomized model test of objects shared between
 * threads (issue 23). THREADS threads, each joined to the world with its
 * thread heap, make objects, keep them in private roots, pass them to each
 * other through a shared table (under a lock of the test's, as a program
 * would), link them into graphs (cycles across heaps included: a thread
 * writes the fields of its own heap's objects only, the rule of
 * docs/api.md), drop them, read weak references to each other's objects,
 * and collect their own heap or all heaps at random points.
 *
 * After each phase one thread collects the world and, with the other
 * threads idle, checks the model: every object made is alive iff it is
 * reachable from the roots (the private roots and the shared table),
 * and destroy ran exactly once for each dead one and never for a live
 * one; a weak reference read gave a live object or NULL. At the end every
 * root is dropped, and after a last collection of all heaps every object
 * has been destroyed exactly once. Counts, no timings. RCY_MODEL_OPS (per
 * thread per phase), RCY_MODEL_PHASES and RCY_MODEL_SEED change the run;
 * `make test-shared-long` runs a long one. */
#define _DEFAULT_SOURCE
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

enum { THREADS = 4, ROOTS = 24, SHARED = 32, WEAK = 16, SLOTS = 3, MAX_OBJECTS = 1 << 20 };

typedef struct node {
    void *s[SLOTS]; /* references, described by ref_words */
    rcy_heap *home; /* the heap it was made in (never changes) */
    long id;
} node;

static atomic_uchar destroyed[MAX_OBJECTS];
static node *made[MAX_OBJECTS]; /* written by the maker before any other thread sees it */
static atomic_long nmade, twice, live_at_destroy_bad, weak_dangling, weak_hits, failures;

static void node_destroy(void *self)
{
    node *n = self;
    for (int i = 0; i < SLOTS; i++)
        if (n->s[i])
            atomic_fetch_add(&live_at_destroy_bad, 1); /* references are cleared first */
    if (atomic_fetch_add(&destroyed[n->id], 1) != 0)
        atomic_fetch_add(&twice, 1);
}

static const rcy_type node_type = {
    .name = "model_node",
    .size = sizeof(node),
    .destroy = node_destroy,
    .ref_words = RCY_REF_WORD(node, s[0]) | RCY_REF_WORD(node, s[1]) | RCY_REF_WORD(node, s[2]),
};

/* The shared table and weak references to pass around: under the test's lock. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static node *shared_roots[SHARED];
static void *shared_weak[WEAK];

typedef struct worker {
    int index;
    uint64_t rng;
    rcy_heap *heap;
    node *roots[ROOTS];
    pthread_t th;
} worker;

static worker workers[THREADS];
static long ops_per_phase = 3000;
static int phases = 3;
static pthread_barrier_t phase_start;
static atomic_int phase_done_count, checked_phase;

static uint64_t rnd(worker *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static void replace(node **slot, node *value)
{
    node *old = *slot;
    *slot = value;
    rcy_xdecref(old);
}

static void op_new(worker *w)
{
    long id = atomic_fetch_add(&nmade, 1);
    if (id >= MAX_OBJECTS) {
        atomic_fetch_sub(&nmade, 1);
        return;
    }
    node *n = rcy_new(w->heap, &node_type);
    if (!n) {
        atomic_fetch_add(&failures, 1);
        return;
    }
    n->home = w->heap;
    n->id = id;
    made[id] = n;
    replace(&w->roots[rnd(w) % ROOTS], n);
}

static void op_share(worker *w)
{
    node *n = w->roots[rnd(w) % ROOTS];
    size_t k = rnd(w) % SHARED;
    rcy_xincref(n);
    pthread_mutex_lock(&table_lock);
    node *old = shared_roots[k];
    shared_roots[k] = n;
    pthread_mutex_unlock(&table_lock);
    rcy_xdecref(old); /* maybe the last reference, to an object of any heap */
}

static void op_take(worker *w)
{
    size_t k = rnd(w) % SHARED;
    pthread_mutex_lock(&table_lock);
    node *n = shared_roots[k];
    rcy_xincref(n);
    if (rnd(w) % 2) { /* move it out: the table's reference goes with it */
        shared_roots[k] = NULL;
        rcy_xdecref(n);
    }
    pthread_mutex_unlock(&table_lock);
    replace(&w->roots[rnd(w) % ROOTS], n);
}

/* a.s[k] = b, for an object a of this thread's heap; b of any heap. */
static void op_link(worker *w)
{
    node *a = w->roots[rnd(w) % ROOTS], *b = w->roots[rnd(w) % ROOTS];
    if (!a || a->home != w->heap)
        return;
    rcy_xincref(b);
    node **slot = (node **)&a->s[rnd(w) % SLOTS];
    replace(slot, rnd(w) % 5 ? b : NULL);
    if (*slot != b)
        rcy_xdecref(b);
}

static void op_weak(worker *w)
{
    size_t k = rnd(w) % WEAK;
    if (rnd(w) % 2) { /* publish a weak reference to an object of this heap */
        node *n = w->roots[rnd(w) % ROOTS];
        if (!n || n->home != w->heap)
            return;
        void *wr = rcy_weakref_new(n, NULL, NULL);
        if (!wr)
            return;
        pthread_mutex_lock(&table_lock);
        void *old = shared_weak[k];
        shared_weak[k] = wr;
        pthread_mutex_unlock(&table_lock);
        rcy_xdecref(old);
        return;
    }
    pthread_mutex_lock(&table_lock); /* read one, maybe another thread's */
    void *wr = shared_weak[k];
    rcy_xincref(wr);
    pthread_mutex_unlock(&table_lock);
    if (!wr)
        return;
    node *n = rcy_weakref_get(wr);
    if (n) {
        if (atomic_load(&destroyed[n->id]))
            atomic_fetch_add(&weak_dangling, 1);
        atomic_fetch_add(&weak_hits, 1);
        replace(&w->roots[rnd(w) % ROOTS], n);
    }
    rcy_decref(wr);
}

static void one_op(worker *w)
{
    uint64_t r = rnd(w) % 1000;
    if (r < 250)
        op_new(w);
    else if (r < 400)
        op_link(w);
    else if (r < 500)
        op_share(w);
    else if (r < 600)
        op_take(w);
    else if (r < 750)
        replace(&w->roots[rnd(w) % ROOTS], NULL);
    else if (r < 880)
        op_weak(w);
    else if (r < 990)
        rcy_safepoint();
    else if (r < 997)
        rcy_gc_collect(w->heap, (int)(rnd(w) % 4) - 1);
    else
        rcy_gc_collect_world();
}

/* ---- the check, with every other thread idle ---- */

static uint8_t *reach;

static void mark(node *n)
{
    /* iterative: the graphs can be deep */
    static node *stack[MAX_OBJECTS];
    size_t top = 0;
    if (!n || reach[n->id])
        return;
    reach[n->id] = 1;
    stack[top++] = n;
    while (top) {
        node *x = stack[--top];
        for (int i = 0; i < SLOTS; i++) {
            node *c = x->s[i];
            if (c && !reach[c->id]) {
                reach[c->id] = 1;
                stack[top++] = c;
            }
        }
    }
}

static long check_model(void)
{
    long bad = 0, n = atomic_load(&nmade);
    memset(reach, 0, (size_t)n);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < ROOTS; i++)
            mark(workers[t].roots[i]);
    for (int k = 0; k < SHARED; k++)
        mark(shared_roots[k]);
    for (long id = 0; id < n; id++) {
        int alive = atomic_load(&destroyed[id]) == 0;
        if (alive != reach[id]) {
            if (bad < 5)
                fprintf(stderr, "model: object %ld is %s but %s\n", id, alive ? "alive" : "dead",
                        reach[id] ? "reachable" : "unreachable");
            bad++;
        }
    }
    return bad;
}

static atomic_long model_errors;

/* Everyone waits here for the phase's end; the last to arrive collects the
   world and checks, while the others idle in safepoints. */
static void phase_end(worker *w, int phase)
{
    if (atomic_fetch_add(&phase_done_count, 1) == THREADS - 1) {
        rcy_gc_collect_world(); /* every other thread parks at its safepoint */
        atomic_fetch_add(&model_errors, check_model());
        atomic_store(&phase_done_count, 0);
        atomic_store(&checked_phase, phase + 1);
        return;
    }
    (void)w;
    while (atomic_load(&checked_phase) <= phase) {
        rcy_safepoint();
        sched_yield();
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    if (rcy_world_join() != 0) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    w->heap = rcy_thread_heap();
    pthread_barrier_wait(&phase_start);
    for (int phase = 0; phase < phases; phase++) {
        for (long i = 0; i < ops_per_phase; i++)
            one_op(w);
        phase_end(w, phase);
    }
    /* the end: drop every root (the shared table by the last thread), then
       collect the world once more: everything made is dead */
    for (int i = 0; i < ROOTS; i++)
        replace(&w->roots[i], NULL);
    if (w->index == 0) {
        pthread_mutex_lock(&table_lock);
        for (int k = 0; k < SHARED; k++) {
            rcy_xdecref(shared_roots[k]);
            shared_roots[k] = NULL;
        }
        for (int k = 0; k < WEAK; k++) {
            rcy_xdecref(shared_weak[k]);
            shared_weak[k] = NULL;
        }
        pthread_mutex_unlock(&table_lock);
    }
    phase_end(w, phases);
    rcy_world_leave();
    return NULL;
}

int main(void)
{
    const char *e = getenv("RCY_MODEL_OPS");
    if (e)
        ops_per_phase = strtol(e, NULL, 10);
    e = getenv("RCY_MODEL_PHASES");
    if (e)
        phases = (int)strtol(e, NULL, 10);
    uint64_t seed = 1;
    e = getenv("RCY_MODEL_SEED");
    if (e)
        seed = strtoull(e, NULL, 10);
    reach = calloc(MAX_OBJECTS, 1);
    if (!reach)
        return 1;
    rcy_world_set_threshold(5000); /* automatic collections of all heaps too */
    pthread_barrier_init(&phase_start, NULL, THREADS);
    for (int t = 0; t < THREADS; t++) {
        workers[t].index = t;
        workers[t].rng = (seed * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(t + 1) * 0xD1B54A32D192ED03ull;
        pthread_create(&workers[t].th, NULL, worker_main, &workers[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(workers[t].th, NULL);
    pthread_barrier_destroy(&phase_start);

    long n = atomic_load(&nmade), never = 0;
    for (long id = 0; id < n; id++)
        never += atomic_load(&destroyed[id]) == 0;
    printf("test_shared_model: %ld objects, %d phases, %ld weak reads that gave an object, "
           "%zu collections of all heaps\n",
           n, phases, atomic_load(&weak_hits), rcy_world_collections());
    CHECK(n > 0);
    CHECK_EQ(atomic_load(&failures), 0);
    CHECK_EQ(atomic_load(&model_errors), 0);
    CHECK_EQ(atomic_load(&twice), 0);
    CHECK_EQ(atomic_load(&live_at_destroy_bad), 0);
    CHECK_EQ(atomic_load(&weak_dangling), 0);
    CHECK_EQ(never, 0); /* every object destroyed, exactly once (twice above) */
    free(reach);
    return check_summary("test_shared_model");
}
