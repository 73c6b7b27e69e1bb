/* SPDX-License-Identifier: MIT */
/* Scenario tests for the cycle collector, in the spirit of CPython's
 * test_gc: cycles of every shape are found, the return value counts them,
 * finalizers run once and before anything is cleared, resurrection keeps
 * references intact, collections never re-enter, automatic collection
 * follows thresholds and counts, and the gc-module surface (enable,
 * thresholds, stats, freeze, tracking, object lists, referrers, debug
 * flags, garbage list, callbacks) behaves as in Python.
 *
 * Written against the public header, plus the collector's test hook
 * (gc/gc.h): every scenario runs once with each place a collection can
 * keep gc_refs in forced (the headers, the side table, the young
 * scratch) and once with the collector's own choice, so each way through
 * steps 2-3 is covered in every build. RCY_TEST_QUICK=1 shrinks the big
 * structures (used under valgrind). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gc/gc.h"
#include "recycle.h"

static int quick;

/* Where the collections of every heap made from now on keep gc_refs
   (rcy__gc_test_force_refs). */
static int refs_place = RCY_REFS_AUTO;

static rcy_heap *new_heap(void)
{
    rcy_heap *h = rcy_heap_new();
    if (!h)
        abort();
    rcy__gc_test_force_refs(h, refs_place);
    return h;
}

/* ---------------------------------------------------------------- */
/* Types                                                            */
/* ---------------------------------------------------------------- */

#define NSLOTS 4
typedef struct node {
    void *s[NSLOTS];
    int id;
} node;

static size_t destroyed, finalized;
static size_t fin_saw_null;      /* a finalizer found a slot it set cleared */
static size_t fin_saw_destroyed; /* a finalizer ran after a destroy (same collection) */
static size_t destroy_saw_nonnull;

static void node_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    node *n = self;
    for (int i = 0; i < NSLOTS; i++)
        visit(&n->s[i], arg);
}
static void node_destroy(void *self)
{
    node *n = self;
    for (int i = 0; i < NSLOTS; i++)
        if (n->s[i])
            destroy_saw_nonnull++;
    destroyed++;
}
static const rcy_type node_type = {"node", sizeof(node), node_traverse, NULL, node_destroy};

/* Finalizable: every slot we set (marked by id bits) must still be set. */
static size_t destroyed_at_collect_start;
static void fin_finalize(void *self)
{
    node *n = self;
    finalized++;
    for (int i = 0; i < NSLOTS; i++)
        if ((n->id >> (8 + i)) & 1 && !n->s[i])
            fin_saw_null++;
    if (destroyed != destroyed_at_collect_start)
        fin_saw_destroyed++;
}
static const rcy_type fin_type = {"fin", sizeof(node), node_traverse, fin_finalize, node_destroy};

/* Resurrecting: stores itself in a global the first time. */
static void *lazarus;
static void res_finalize(void *self)
{
    fin_finalize(self);
    if (!lazarus) {
        rcy_incref(self);
        lazarus = self;
    }
}
static const rcy_type res_type = {"res", sizeof(node), node_traverse, res_finalize, node_destroy};

/* A leaf without references: never tracked. */
static size_t leaves_destroyed;
static void leaf_destroy(void *self)
{
    (void)self;
    leaves_destroyed++;
}
static const rcy_type leaf_type = {"leaf", 16, NULL, NULL, leaf_destroy};

static node *mk(rcy_heap *h, const rcy_type *t)
{
    node *n = rcy_new(h, t);
    if (!n)
        abort();
    return n;
}

/* a->s[i] = b, taking a new reference; records the slot in a's id bits */
static void set_slot(node *a, int i, node *b)
{
    rcy_xincref(b);
    void *old = a->s[i];
    a->s[i] = b;
    a->id |= 1 << (8 + i);
    rcy_xdecref(old);
}

static void reset_counts(void)
{
    destroyed = finalized = fin_saw_null = fin_saw_destroyed = destroy_saw_nonnull = 0;
    leaves_destroyed = 0;
    destroyed_at_collect_start = 0;
}

/* A fresh heap with a quiet collector (no automatic collections). */
static rcy_heap *quiet_heap(void)
{
    rcy_heap *h = new_heap();
    rcy_gc_disable(h);
    return h;
}

/* ---------------------------------------------------------------- */
/* Basic shapes                                                     */
/* ---------------------------------------------------------------- */

static void test_self_and_mutual(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    node *a = mk(h, &node_type);
    set_slot(a, 0, a);
    rcy_decref(a);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcy_gc_collect(h, -1), 1);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(destroy_saw_nonnull, 0);

    reset_counts();
    a = mk(h, &node_type);
    node *b = mk(h, &node_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    rcy_decref(a);
    rcy_decref(b);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(destroyed, 2);
    CHECK_EQ(rcy_gc_collect(h, -1), 0);

    /* every slot pointing into the cycle, with duplicates */
    reset_counts();
    a = mk(h, &node_type);
    b = mk(h, &node_type);
    for (int i = 0; i < NSLOTS; i++) {
        set_slot(a, i, i % 2 ? a : b);
        set_slot(b, i, i % 2 ? b : a);
    }
    rcy_decref(a);
    rcy_decref(b);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(destroyed, 2);
    CHECK_EQ(destroy_saw_nonnull, 0);
    rcy_heap_destroy(h);
}

/* n new nodes, each holding the next in slot 0 (and the last the first). */
static void make_ring(rcy_heap *h, node **r, int n)
{
    for (int i = 0; i < n; i++)
        r[i] = mk(h, &node_type);
    for (int i = 0; i < n; i++)
        set_slot(r[i], 0, r[(i + 1) % n]);
}

/* Garbage of several shapes among live structures, all in generation 0,
 * collected as generation gen: a young collection, with gc_refs beside
 * the young vector or in the headers, and a full one, with gc_refs in the
 * side table or the headers, must find the same garbage. `early` is held
 * only by a live object created after it: the ordered scan passes it
 * unreached and must rescue it. `mid` and `deep` are a cycle two steps
 * below that live object: the mark must go on from what it marks. */
static void test_mixed_by_generation(void)
{
    const int gens[] = {0, 1, -1};
    for (size_t g = 0; g < sizeof gens / sizeof gens[0]; g++) {
        rcy_heap *h = quiet_heap();
        reset_counts();
        node *early = mk(h, &node_type);
        set_slot(early, 0, early);
        node *cyc[3];
        make_ring(h, cyc, 3);
        set_slot(cyc[1], 1, early); /* garbage pointing at a survivor */
        node *self = mk(h, &node_type);
        set_slot(self, 0, self);
        node *late = mk(h, &node_type);
        set_slot(late, 0, early);
        node *mid = mk(h, &node_type), *deep = mk(h, &node_type);
        set_slot(late, 1, mid);
        set_slot(mid, 0, deep);
        set_slot(deep, 0, mid);
        rcy_decref(mid);
        rcy_decref(deep);
        void *lf = rcy_new(h, &leaf_type); /* untracked, held by garbage */
        set_slot(self, 1, lf);
        rcy_decref(lf);
        rcy_decref(early);
        rcy_decref(self);
        for (int i = 0; i < 3; i++)
            rcy_decref(cyc[i]);
        CHECK_EQ(rcy_gc_collect(h, gens[g]), 3 + 1);
        CHECK_EQ(destroyed, 4);
        CHECK_EQ(leaves_destroyed, 1);
        CHECK_EQ(rcy_refcount(early), 2); /* itself and late */
        CHECK(late->s[0] == early && early->s[0] == early);
        CHECK(rcy_gc_is_tracked(early) && rcy_gc_is_tracked(late));
        CHECK_EQ(rcy_refcount(deep), 1);
        CHECK(late->s[1] == mid && mid->s[0] == deep && deep->s[0] == mid);
        rcy_decref(late);
        CHECK_EQ(rcy_gc_collect(h, -1), 3);
        CHECK_EQ(destroyed, 8);
        rcy_heap_destroy(h);
    }
}

static void test_return_value_and_mixed(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    /* cycles of 1, 2 and 5 objects, a tail hanging off one, an untracked
       leaf held by one, and live structures that must stay */
    node *a = mk(h, &node_type);
    set_slot(a, 0, a);
    node *r[5];
    make_ring(h, r, 5);
    node *p = mk(h, &node_type), *q = mk(h, &node_type);
    set_slot(p, 0, q);
    set_slot(q, 0, p);
    node *tail = mk(h, &node_type);
    set_slot(r[2], 1, tail);
    void *lf = rcy_new(h, &leaf_type);
    set_slot(p, 1, lf);
    rcy_decref(lf);
    node *live1 = mk(h, &node_type), *live2 = mk(h, &node_type);
    set_slot(live1, 0, live2);
    set_slot(live2, 0, live1);
    node *holder = mk(h, &node_type);
    node *kept = mk(h, &node_type);
    set_slot(kept, 0, kept);
    set_slot(holder, 0, kept); /* holder is live: kept survives */
    rcy_decref(kept);
    rcy_decref(tail);
    rcy_decref(a);
    for (int i = 0; i < 5; i++)
        rcy_decref(r[i]);
    rcy_decref(p);
    rcy_decref(q);
    CHECK_EQ(rcy_gc_collect(h, -1), 1 + 5 + 2 + 1);
    CHECK_EQ(destroyed, 9);
    CHECK_EQ(leaves_destroyed, 1);
    CHECK_EQ(rcy_refcount(live1), 2);
    CHECK_EQ(rcy_refcount(kept), 2);
    CHECK(kept->s[0] == kept);
    CHECK(live1->s[0] == live2);

    /* dropping the live owner makes the kept cycle garbage */
    reset_counts();
    rcy_decref(holder);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(rcy_gc_collect(h, -1), 1);
    CHECK_EQ(destroyed, 2);
    rcy_decref(live1);
    rcy_decref(live2);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(destroyed, 4);

    /* a clique: everyone points at everyone */
    reset_counts();
    node *c[NSLOTS + 1];
    for (int i = 0; i <= NSLOTS; i++)
        c[i] = mk(h, &node_type);
    for (int i = 0; i <= NSLOTS; i++)
        for (int j = 0, k = 0; j <= NSLOTS; j++)
            if (j != i)
                set_slot(c[i], k++, c[j]);
    for (int i = 0; i <= NSLOTS; i++)
        rcy_decref(c[i]);
    CHECK_EQ(rcy_gc_collect(h, -1), NSLOTS + 1);
    CHECK_EQ(destroyed, NSLOTS + 1);
    rcy_heap_destroy(h);
}

/* Long ring collected on a small stack: the collector must not recurse. */
static rcy_heap *ring_heap;
static size_t ring_found;
static void *collect_job(void *arg)
{
    (void)arg;
    /* objects die on their heap's owner (issue 23): the small stack takes
       the heap, so that the collection's deaths run here */
    rcy_heap_adopt(ring_heap);
    ring_found = rcy_gc_collect(ring_heap, -1);
    return NULL;
}
static int run_small_stack(void *(*fn)(void *))
{
    pthread_attr_t attr;
    pthread_t th;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 256 * 1024) != 0)
        return 0;
    int ok = pthread_create(&th, &attr, fn, NULL) == 0;
    pthread_attr_destroy(&attr);
    ok = ok && pthread_join(th, NULL) == 0;
    if (ring_heap)
        rcy_heap_adopt(ring_heap); /* back to this thread */
    return ok;
}

static void test_long_ring(void)
{
    size_t n = quick ? 100000 : 1000000;
    rcy_heap *h = quiet_heap();
    reset_counts();
    node *first = mk(h, &node_type), *prev = first;
    for (size_t i = 1; i < n; i++) {
        node *x = mk(h, &node_type);
        prev->s[0] = x; /* takes our reference */
        prev = x;
    }
    prev->s[0] = first;
    ring_heap = h;
    CHECK(run_small_stack(collect_job));
    CHECK_EQ(ring_found, n);
    CHECK_EQ(destroyed, n);

    /* a long chain hanging off a live head is not garbage; a deep
       structure of two rings tied together is */
    reset_counts();
    node *head = mk(h, &node_type);
    prev = head;
    for (size_t i = 1; i < n / 4; i++) {
        node *x = mk(h, &node_type);
        prev->s[0] = x;
        prev = x;
    }
    prev->s[1] = head; /* back edge: a ring kept by our reference */
    rcy_incref(head);
    CHECK(run_small_stack(collect_job));
    CHECK_EQ(ring_found, 0);
    CHECK_EQ(destroyed, 0);
    rcy_decref(head);
    CHECK(run_small_stack(collect_job));
    CHECK_EQ(ring_found, n / 4);
    CHECK_EQ(destroyed, n / 4);

    /* a ring of finalizable objects, each also owning a short tail */
    reset_counts();
    size_t m = n / 10;
    first = mk(h, &fin_type);
    prev = first;
    for (size_t i = 1; i < m; i++) {
        node *x = mk(h, &fin_type);
        prev->s[0] = x;
        prev->id |= 1 << 8;
        prev->s[1] = mk(h, &node_type);
        prev = x;
    }
    prev->s[0] = first;
    prev->id |= 1 << 8;
    destroyed_at_collect_start = destroyed;
    CHECK(run_small_stack(collect_job));
    CHECK_EQ(ring_found, m + (m - 1));
    CHECK_EQ(finalized, m);
    CHECK_EQ(fin_saw_null, 0);
    CHECK_EQ(fin_saw_destroyed, 0);
    CHECK_EQ(destroyed, 2 * m - 1);
    ring_heap = NULL;
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Generations                                                      */
/* ---------------------------------------------------------------- */

static void test_generations(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();

    /* a cycle that survived a young collection is older now */
    node *a = mk(h, &node_type), *b = mk(h, &node_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    CHECK_EQ(rcy_gc_collect(h, 0), 0);
    rcy_decref(a);
    rcy_decref(b);
    CHECK_EQ(rcy_gc_collect(h, 0), 0);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcy_gc_collect(h, 1), 2);
    CHECK_EQ(destroyed, 2);

    /* an old object keeps a young one alive in a young collection */
    reset_counts();
    node *old = mk(h, &node_type);
    rcy_gc_collect(h, 1); /* old is in generation 2 now */
    node *young = mk(h, &node_type);
    set_slot(young, 0, young);
    set_slot(old, 0, young);
    rcy_decref(young);
    CHECK_EQ(rcy_gc_collect(h, 0), 0);
    CHECK_EQ(destroyed, 0);
    CHECK(old->s[0] == young && young->s[0] == young);

    /* a cycle across generations needs the older generation collected */
    node *y2 = mk(h, &node_type);
    set_slot(y2, 0, old);
    set_slot(old, 1, y2);
    rcy_decref(y2);
    rcy_decref(old);
    CHECK_EQ(rcy_gc_collect(h, 0), 0);
    CHECK_EQ(rcy_gc_collect(h, 1), 0);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcy_gc_collect(h, 2), 3);
    CHECK_EQ(destroyed, 3);
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Finalizers                                                       */
/* ---------------------------------------------------------------- */

static void test_finalizers(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    /* a ring of 3 finalizable and 2 plain objects; each finalizer checks
       its references are intact and nothing was destroyed yet */
    node *r[5];
    for (int i = 0; i < 5; i++)
        r[i] = mk(h, i % 2 ? &node_type : &fin_type);
    for (int i = 0; i < 5; i++) {
        set_slot(r[i], 0, r[(i + 1) % 5]);
        set_slot(r[i], 1, r[(i + 4) % 5]);
    }
    for (int i = 0; i < 5; i++)
        rcy_decref(r[i]);
    destroyed_at_collect_start = destroyed;
    CHECK_EQ(rcy_gc_collect(h, -1), 5);
    CHECK_EQ(finalized, 3);
    CHECK_EQ(fin_saw_null, 0);
    CHECK_EQ(fin_saw_destroyed, 0);
    CHECK_EQ(destroyed, 5);
    CHECK_EQ(rcy_gc_collect(h, -1), 0);
    CHECK_EQ(finalized, 3);
    rcy_heap_destroy(h);
}

static void test_resurrection(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    lazarus = NULL;
    /* a <-> b, a -> c -> leaf; a resurrects itself */
    node *a = mk(h, &res_type), *b = mk(h, &fin_type), *c = mk(h, &node_type);
    void *lf = rcy_new(h, &leaf_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    set_slot(a, 1, c);
    set_slot(c, 0, lf);
    rcy_decref(lf);
    rcy_decref(c);
    rcy_decref(b);
    rcy_decref(a);
    destroyed_at_collect_start = destroyed;
    rcy_gc_collect(h, -1);
    CHECK(lazarus == a);
    CHECK_EQ(finalized, 2);
    CHECK_EQ(fin_saw_null, 0);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(leaves_destroyed, 0);
    /* everything a reaches is intact */
    CHECK(a->s[0] == b);
    CHECK(a->s[1] == c);
    CHECK(b->s[0] == a);
    CHECK(c->s[0] == lf);
    CHECK_EQ(rcy_refcount(a), 2); /* b and lazarus */
    CHECK_EQ(rcy_refcount(b), 1);
    CHECK_EQ(rcy_refcount(c), 1);
    CHECK_EQ(rcy_refcount(lf), 1);
    CHECK(rcy_gc_is_finalized(a));
    CHECK(rcy_gc_is_finalized(b));
    CHECK(rcy_gc_is_tracked(a));

    /* a collection while it is held changes nothing */
    CHECK_EQ(rcy_gc_collect(h, -1), 0);
    CHECK_EQ(destroyed, 0);

    /* dropped again: freed without a second finalization */
    rcy_decref(lazarus);
    CHECK_EQ(destroyed, 0); /* still a cycle */
    CHECK_EQ(rcy_gc_collect(h, -1), 3);
    CHECK_EQ(finalized, 2);
    CHECK_EQ(destroyed, 3);
    CHECK_EQ(leaves_destroyed, 1);
    CHECK(lazarus == a); /* (dangling now; not touched) */
    lazarus = NULL;
    rcy_heap_destroy(h);
}

/* A finalizer that brings back another garbage object (its first
 * referent) rather than itself. */
static void *rescued;
static void rescuer_finalize(void *self)
{
    node *n = self;
    fin_finalize(self);
    if (n->s[0] && !rescued) {
        rcy_incref(n->s[0]);
        rescued = n->s[0];
    }
}
static const rcy_type rescuer_type = {"rescuer", sizeof(node), node_traverse, rescuer_finalize,
                                      node_destroy};

static void test_resurrect_other(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    rescued = NULL;
    /* r <-> c, r -> b -> d; r's finalizer rescues b: b and d survive
       intact, r and c are freed */
    node *r = mk(h, &rescuer_type), *c = mk(h, &node_type);
    node *b = mk(h, &fin_type), *d = mk(h, &node_type);
    set_slot(r, 0, b);
    set_slot(r, 1, c);
    set_slot(c, 0, r);
    set_slot(b, 0, d);
    set_slot(d, 0, d);
    rcy_decref(r);
    rcy_decref(c);
    rcy_decref(b);
    rcy_decref(d);
    destroyed_at_collect_start = destroyed;
    rcy_gc_collect(h, -1);
    CHECK(rescued == b);
    CHECK_EQ(finalized, 2); /* r and b */
    CHECK_EQ(fin_saw_null, 0);
    CHECK_EQ(destroyed, 2);
    CHECK(b->s[0] == d);
    CHECK(d->s[0] == d);
    CHECK_EQ(rcy_refcount(b), 1);
    CHECK_EQ(rcy_refcount(d), 2);
    CHECK(rcy_gc_is_finalized(b));
    rcy_decref(b);
    CHECK_EQ(destroyed, 3);
    CHECK_EQ(rcy_gc_collect(h, -1), 1); /* d's self-cycle */
    CHECK_EQ(destroyed, 4);
    CHECK_EQ(finalized, 2);

    /* rescuing a member of the cycle brings back the whole cycle */
    reset_counts();
    rescued = NULL;
    r = mk(h, &rescuer_type);
    c = mk(h, &fin_type);
    set_slot(r, 0, c);
    set_slot(c, 0, r);
    rcy_decref(r);
    rcy_decref(c);
    rcy_gc_collect(h, -1);
    CHECK(rescued == c);
    CHECK_EQ(destroyed, 0);
    CHECK(r->s[0] == c && c->s[0] == r);
    rcy_decref(rescued);
    rescued = NULL;
    rcy_gc_collect(h, -1);
    CHECK_EQ(destroyed, 2);
    CHECK_EQ(finalized, 2);
    rcy_heap_destroy(h);
}

/* A finalizer that calls the collector, and one that allocates. */
static rcy_heap *fin_heap;
static size_t nested_result = 12345;
static void collecting_finalize(void *self)
{
    finalized++;
    (void)self;
    nested_result = rcy_gc_collect(fin_heap, -1);
}
static const rcy_type collecting_type = {"collecting", sizeof(node), node_traverse,
                                         collecting_finalize, node_destroy};

static node *made_in_finalizer;
static void allocating_finalize(void *self)
{
    finalized++;
    (void)self;
    /* enough tracked allocations to pass a tiny threshold several times,
       and a new cycle that outlives the collection */
    for (int i = 0; i < 50; i++) {
        node *x = mk(fin_heap, &node_type);
        set_slot(x, 0, x);
        rcy_decref(x); /* garbage for a later collection */
    }
    node *keep = mk(fin_heap, &node_type);
    set_slot(keep, 0, keep);
    made_in_finalizer = keep;
}
static const rcy_type allocating_type = {"allocating", sizeof(node), node_traverse,
                                         allocating_finalize, node_destroy};

static void count_cb(const char *phase, const rcy_gc_info *info, void *arg)
{
    (void)info;
    if (strcmp(phase, "start") == 0)
        ((int *)arg)[0]++;
    else
        ((int *)arg)[1]++;
}

static void test_finalizer_actions(void)
{
    rcy_heap *h = quiet_heap();
    fin_heap = h;
    reset_counts();
    node *a = mk(h, &collecting_type);
    set_slot(a, 0, a);
    rcy_decref(a);
    CHECK_EQ(rcy_gc_collect(h, -1), 1);
    CHECK_EQ(finalized, 1);
    CHECK_EQ(nested_result, 0);
    CHECK_EQ(destroyed, 1);

    /* allocation inside a finalizer, with automatic collection on and a
       tiny threshold: no collection may start inside the running one */
    reset_counts();
    int phases[2] = {0, 0};
    rcy_gc_enable(h);
    rcy_gc_set_threshold(h, 1, 1, 1);
    CHECK_EQ(rcy_gc_callback_add(h, count_cb, phases), 0);
    rcy_gc_disable(h); /* no automatic collection while setting up */
    a = mk(h, &allocating_type);
    node *b = mk(h, &node_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    rcy_decref(a);
    rcy_decref(b);
    rcy_gc_enable(h);
    phases[0] = phases[1] = 0;
    rcy_gc_collect(h, -1);
    CHECK_EQ(finalized, 1);
    CHECK(made_in_finalizer != NULL);
    CHECK(phases[0] >= 1);
    CHECK_EQ(phases[0], phases[1]);
    rcy_gc_disable(h);
    /* the finalizer's garbage and a, b are all collectable now */
    rcy_gc_collect(h, -1);
    CHECK_EQ(destroyed, 52);
    CHECK(made_in_finalizer->s[0] == made_in_finalizer);
    rcy_decref(made_in_finalizer);
    made_in_finalizer = NULL;
    rcy_gc_collect(h, -1);
    CHECK_EQ(destroyed, 53);
    CHECK_EQ(rcy_gc_callback_remove(h, count_cb, phases), 0);
    rcy_heap_destroy(h);
}

/* A finalizer that breaks the cycle itself (like __del__ clearing its
 * attributes): objects then die by refcount during the collection. */
static void breaking_finalize(void *self)
{
    node *n = self;
    finalized++;
    for (int i = 0; i < NSLOTS; i++) {
        void *old = n->s[i];
        n->s[i] = NULL;
        rcy_xdecref(old);
    }
}
static const rcy_type breaking_type = {"breaking", sizeof(node), node_traverse, breaking_finalize,
                                       node_destroy};

static void test_breaking_finalizers(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    enum { N = 10 };
    node *r[N];
    for (int i = 0; i < N; i++)
        r[i] = mk(h, i % 3 ? &breaking_type : &fin_type);
    for (int i = 0; i < N; i++) {
        set_slot(r[i], 0, r[(i + 1) % N]);
        set_slot(r[i], 1, r[(i + 3) % N]);
    }
    for (int i = 0; i < N; i++)
        rcy_decref(r[i]);
    rcy_gc_collect(h, -1);
    CHECK_EQ(destroyed, N);
    CHECK(finalized <= N);
    CHECK_EQ(rcy_gc_collect(h, -1), 0);
    CHECK_EQ(destroyed, N);
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Automatic collection, thresholds, counts, callbacks, stats        */
/* ---------------------------------------------------------------- */

typedef struct cb_log {
    int starts, stops, bad;
    int per_gen[3];
    size_t collected;
    int last_start_gen;
} cb_log;

static void log_cb(const char *phase, const rcy_gc_info *info, void *arg)
{
    cb_log *lg = arg;
    if (!info || info->generation < 0 || info->generation > 2) {
        lg->bad++;
        return;
    }
    if (strcmp(phase, "start") == 0) {
        if (lg->starts != lg->stops)
            lg->bad++; /* nested */
        lg->starts++;
        lg->last_start_gen = info->generation;
    } else if (strcmp(phase, "stop") == 0) {
        lg->stops++;
        if (info->generation != lg->last_start_gen)
            lg->bad++;
        lg->per_gen[info->generation]++;
        lg->collected += info->collected;
        if (info->duration_s < 0)
            lg->bad++;
    } else {
        lg->bad++;
    }
}

static void test_automatic(void)
{
    rcy_heap *h = new_heap();
    reset_counts();
    CHECK(rcy_gc_isenabled(h));
    size_t th[3];
    rcy_gc_get_threshold(h, th);
    CHECK(th[0] > 0);
    rcy_gc_set_threshold(h, 123, 4, 5);
    rcy_gc_get_threshold(h, th);
    CHECK_EQ(th[0], 123);
    CHECK_EQ(th[1], 4);
    CHECK_EQ(th[2], 5);
    rcy_gc_set_threshold(h, 10, 10, 10);

    rcy_gc_collect(h, -1);
    size_t cnt[3];
    rcy_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 0);
    CHECK_EQ(cnt[1], 0);
    CHECK_EQ(cnt[2], 0);

    /* count[1] and count[2] count collections of the younger generation */
    rcy_gc_disable(h);
    rcy_gc_collect(h, 0);
    rcy_gc_collect(h, 0);
    rcy_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 0);
    CHECK_EQ(cnt[1], 2);
    CHECK_EQ(cnt[2], 0);
    rcy_gc_collect(h, 1);
    rcy_gc_get_count(h, cnt);
    CHECK_EQ(cnt[1], 0);
    CHECK_EQ(cnt[2], 1);
    rcy_gc_collect(h, 2);
    rcy_gc_get_count(h, cnt);
    CHECK(cnt[0] == 0 && cnt[1] == 0 && cnt[2] == 0);
    rcy_gc_enable(h);

    cb_log lg;
    memset(&lg, 0, sizeof lg);
    CHECK_EQ(rcy_gc_callback_add(h, log_cb, &lg), 0);

    /* counts: tracked allocations minus deallocations */
    node *keep[5];
    for (int i = 0; i < 5; i++)
        keep[i] = mk(h, &node_type);
    rcy_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 5);
    void *lf = rcy_new(h, &leaf_type); /* untracked: not counted */
    rcy_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 5);
    rcy_decref(lf);
    rcy_decref(keep[4]);
    rcy_decref(keep[3]);
    rcy_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 3);
    CHECK_EQ(lg.starts, 0);

    /* passing the threshold starts a young collection */
    for (int i = 0; i < 9; i++) {
        node *x = mk(h, &node_type);
        set_slot(x, 0, x);
        rcy_decref(x);
    }
    CHECK(lg.starts >= 1);
    CHECK_EQ(lg.starts, lg.stops);
    CHECK(lg.per_gen[0] >= 1);
    rcy_gc_get_count(h, cnt);
    CHECK(cnt[0] <= 11);

    /* many cycles: young and middle collections happen, every cycle is
       eventually found, callbacks account for all of them */
    int cycles = 2000;
    for (int i = 0; i < cycles; i++) {
        node *x = mk(h, &node_type);
        set_slot(x, 0, x);
        rcy_decref(x);
        rcy_gc_get_count(h, cnt);
        if (cnt[0] > 11)
            lg.bad++;
    }
    rcy_gc_collect(h, -1);
    CHECK_EQ(lg.bad, 0);
    CHECK_EQ(lg.starts, lg.stops);
    CHECK(lg.per_gen[0] >= 100);
    CHECK(lg.per_gen[1] >= 1);
    CHECK(lg.per_gen[2] >= 1);
    CHECK_EQ(lg.collected, (size_t)cycles + 9);
    CHECK_EQ(destroyed, (size_t)cycles + 9 + 2);

    rcy_gc_genstats st[3];
    rcy_gc_get_stats(h, st);
    CHECK_EQ(st[0].collections, (size_t)lg.per_gen[0] + 2); /* + the ones before */
    CHECK_EQ(st[1].collections, (size_t)lg.per_gen[1] + 1);
    CHECK_EQ(st[2].collections, (size_t)lg.per_gen[2] + 2);
    CHECK_EQ(st[0].collected + st[1].collected + st[2].collected, (size_t)cycles + 9);

    /* disabled: no automatic collection, explicit ones still work */
    rcy_gc_disable(h);
    CHECK(!rcy_gc_isenabled(h));
    int starts = lg.starts;
    for (int i = 0; i < 1000; i++) {
        node *x = mk(h, &node_type);
        set_slot(x, 0, x);
        rcy_decref(x);
    }
    CHECK_EQ(lg.starts, starts);
    rcy_gc_get_count(h, cnt);
    CHECK_EQ(cnt[0], 1000);
    CHECK_EQ(rcy_gc_collect(h, -1), 1000);
    CHECK_EQ(lg.starts, starts + 1);
    rcy_gc_enable(h);
    CHECK(rcy_gc_isenabled(h));

    /* threshold 0 disables automatic collection too */
    rcy_gc_set_threshold(h, 0, 10, 10);
    starts = lg.starts;
    for (int i = 0; i < 500; i++) {
        node *x = mk(h, &node_type);
        set_slot(x, 0, x);
        rcy_decref(x);
    }
    CHECK_EQ(lg.starts, starts);
    CHECK_EQ(rcy_gc_collect(h, -1), 500);

    /* per-generation stats of explicit collections */
    rcy_gc_get_stats(h, st);
    rcy_gc_genstats st2[3];
    node *x = mk(h, &node_type);
    set_slot(x, 0, x);
    rcy_decref(x);
    CHECK_EQ(rcy_gc_collect(h, 0), 1);
    rcy_gc_collect(h, 1);
    rcy_gc_collect(h, 2);
    rcy_gc_collect(h, 2);
    rcy_gc_get_stats(h, st2);
    CHECK_EQ(st2[0].collections, st[0].collections + 1);
    CHECK_EQ(st2[1].collections, st[1].collections + 1);
    CHECK_EQ(st2[2].collections, st[2].collections + 2);
    CHECK_EQ(st2[0].collected, st[0].collected + 1);

    for (int i = 0; i < 3; i++)
        rcy_decref(keep[i]);
    CHECK_EQ(rcy_gc_callback_remove(h, log_cb, &lg), 0);
    rcy_heap_destroy(h);
}

static void noop_cb(const char *phase, const rcy_gc_info *info, void *arg)
{
    (void)phase;
    (void)info;
    (*(int *)arg)++;
}

static size_t cb_nested_result = 999;
static void collecting_cb(const char *phase, const rcy_gc_info *info, void *arg)
{
    (void)info;
    if (strcmp(phase, "start") == 0)
        cb_nested_result = rcy_gc_collect((rcy_heap *)arg, -1);
}

static void test_callbacks_add_remove(void)
{
    rcy_heap *h = quiet_heap();
    int x = 0, y = 0;
    CHECK_EQ(rcy_gc_callback_add(h, noop_cb, &x), 0);
    CHECK_EQ(rcy_gc_callback_add(h, noop_cb, &y), 0);
    rcy_gc_collect(h, 0);
    CHECK_EQ(x, 2);
    CHECK_EQ(y, 2);
    CHECK_EQ(rcy_gc_callback_remove(h, noop_cb, &x), 0);
    CHECK(rcy_gc_callback_remove(h, noop_cb, &x) != 0);
    CHECK(rcy_gc_callback_remove(h, count_cb, &y) != 0);
    rcy_gc_collect(h, 0);
    CHECK_EQ(x, 2);
    CHECK_EQ(y, 4);
    CHECK_EQ(rcy_gc_callback_remove(h, noop_cb, &y), 0);
    rcy_gc_collect(h, -1);
    CHECK_EQ(y, 4);

    /* a callback that asks for a collection gets 0: no re-entry */
    CHECK_EQ(rcy_gc_callback_add(h, collecting_cb, h), 0);
    reset_counts();
    node *a = mk(h, &node_type);
    set_slot(a, 0, a);
    rcy_decref(a);
    CHECK_EQ(rcy_gc_collect(h, -1), 1);
    CHECK_EQ(cb_nested_result, 0);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(rcy_gc_callback_remove(h, collecting_cb, h), 0);
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Freeze, tracking, object lists, referrers                        */
/* ---------------------------------------------------------------- */

static void count_obj(void *o, void *arg)
{
    (void)o;
    (*(size_t *)arg)++;
}

typedef struct find_ctx {
    const void *want[4];
    int seen[4];
    size_t other, nulls;
} find_ctx;
static void find_obj(void *o, void *arg)
{
    find_ctx *f = arg;
    if (!o) {
        f->nulls++;
        return;
    }
    for (int i = 0; i < 4; i++) {
        if (f->want[i] == o) {
            f->seen[i]++;
            return;
        }
    }
    f->other++;
}

static size_t objects_in(rcy_heap *h, int gen)
{
    size_t n = 0;
    rcy_gc_get_objects(h, gen, count_obj, &n);
    return n;
}

static void test_freeze(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    CHECK_EQ(rcy_gc_get_freeze_count(h), 0);
    node *a = mk(h, &node_type), *b = mk(h, &node_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    rcy_gc_freeze(h);
    CHECK_EQ(rcy_gc_get_freeze_count(h), 2);
    CHECK_EQ(objects_in(h, -1), 0);
    rcy_decref(a);
    rcy_decref(b);
    CHECK_EQ(rcy_gc_collect(h, -1), 0);
    CHECK_EQ(destroyed, 0);
    node *c = mk(h, &node_type); /* new objects are not frozen */
    set_slot(c, 0, c);
    rcy_decref(c);
    CHECK_EQ(rcy_gc_collect(h, -1), 1);
    CHECK_EQ(destroyed, 1);
    rcy_gc_unfreeze(h);
    CHECK_EQ(rcy_gc_get_freeze_count(h), 0);
    CHECK_EQ(objects_in(h, 2), 2);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(destroyed, 3);

    /* an object frozen and then freed by refcount leaves the count */
    node *d = mk(h, &node_type);
    rcy_gc_freeze(h);
    CHECK_EQ(rcy_gc_get_freeze_count(h), 1);
    rcy_decref(d);
    CHECK_EQ(rcy_gc_get_freeze_count(h), 0);
    rcy_heap_destroy(h);
}

static void test_tracking(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    node *a = mk(h, &node_type);
    void *lf = rcy_new(h, &leaf_type);
    CHECK(rcy_gc_is_tracked(a));
    CHECK(!rcy_gc_is_tracked(lf));
    rcy_gc_track(lf); /* no traverse: stays untracked */
    CHECK(!rcy_gc_is_tracked(lf));
    rcy_gc_untrack(a);
    CHECK(!rcy_gc_is_tracked(a));
    rcy_gc_untrack(a); /* twice is fine */
    CHECK(!rcy_gc_is_tracked(a));
    CHECK_EQ(objects_in(h, -1), 0);
    rcy_gc_track(a);
    CHECK(rcy_gc_is_tracked(a));
    rcy_gc_track(a);
    CHECK_EQ(objects_in(h, -1), 1);

    /* an untracked cycle is invisible to the collector */
    set_slot(a, 0, a);
    rcy_gc_untrack(a);
    rcy_decref(a);
    CHECK_EQ(rcy_gc_collect(h, -1), 0);
    CHECK_EQ(destroyed, 0);
    rcy_gc_track(a);
    CHECK_EQ(rcy_gc_collect(h, -1), 1);
    CHECK_EQ(destroyed, 1);

    /* an untracked object dies normally by refcount */
    node *b = mk(h, &node_type);
    rcy_gc_untrack(b);
    rcy_decref(b);
    CHECK_EQ(destroyed, 2);
    rcy_decref(lf);
    rcy_heap_destroy(h);
}

static void test_get_objects(void)
{
    rcy_heap *h = quiet_heap();
    node *a = mk(h, &node_type), *b = mk(h, &node_type), *c = mk(h, &node_type);
    void *lf = rcy_new(h, &leaf_type);
    find_ctx f;
    memset(&f, 0, sizeof f);
    f.want[0] = a, f.want[1] = b, f.want[2] = c, f.want[3] = lf;
    rcy_gc_get_objects(h, 0, find_obj, &f);
    CHECK(f.seen[0] == 1 && f.seen[1] == 1 && f.seen[2] == 1);
    CHECK_EQ(f.seen[3], 0);
    CHECK_EQ(f.other + f.nulls, 0);
    CHECK_EQ(objects_in(h, 1), 0);
    CHECK_EQ(objects_in(h, 2), 0);

    rcy_gc_collect(h, 0);
    CHECK_EQ(objects_in(h, 0), 0);
    CHECK_EQ(objects_in(h, 1), 3);
    CHECK_EQ(objects_in(h, 2), 0);
    node *d = mk(h, &node_type);
    CHECK_EQ(objects_in(h, 0), 1);
    rcy_gc_collect(h, 1);
    CHECK_EQ(objects_in(h, 0), 0);
    CHECK_EQ(objects_in(h, 1), 0);
    CHECK_EQ(objects_in(h, 2), 4);
    CHECK_EQ(objects_in(h, -1), 4);
    rcy_decref(d);
    CHECK_EQ(objects_in(h, 2), 3);
    rcy_gc_collect(h, -1);
    CHECK_EQ(objects_in(h, 2), 3);

    /* referrers and referents: a -> b, a -> c, c -> b, c -> leaf */
    set_slot(a, 0, b);
    set_slot(a, 1, c);
    set_slot(c, 0, b);
    set_slot(c, 2, lf);
    memset(&f, 0, sizeof f);
    f.want[0] = a, f.want[1] = b, f.want[2] = c, f.want[3] = lf;
    rcy_gc_get_referrers(h, b, find_obj, &f);
    CHECK_EQ(f.seen[0], 1);
    CHECK_EQ(f.seen[1], 0);
    CHECK_EQ(f.seen[2], 1);
    CHECK_EQ(f.other + f.nulls, 0);

    memset(f.seen, 0, sizeof f.seen);
    rcy_gc_get_referrers(h, lf, find_obj, &f);
    CHECK(f.seen[0] == 0 && f.seen[1] == 0 && f.seen[2] == 1);

    memset(f.seen, 0, sizeof f.seen);
    rcy_gc_get_referents(a, find_obj, &f);
    CHECK(f.seen[0] == 0 && f.seen[1] == 1 && f.seen[2] == 1 && f.seen[3] == 0);
    CHECK_EQ(f.other + f.nulls, 0);

    memset(f.seen, 0, sizeof f.seen);
    rcy_gc_get_referents(c, find_obj, &f);
    CHECK(f.seen[0] == 0 && f.seen[1] == 1 && f.seen[2] == 0 && f.seen[3] == 1);
    CHECK_EQ(f.other + f.nulls, 0);

    memset(f.seen, 0, sizeof f.seen);
    rcy_gc_get_referents(lf, find_obj, &f); /* no traverse: nothing */
    CHECK(f.seen[0] + f.seen[1] + f.seen[2] + f.seen[3] == 0);
    CHECK_EQ(f.other + f.nulls, 0);

    memset(f.seen, 0, sizeof f.seen);
    rcy_gc_get_referrers(h, a, find_obj, &f); /* nobody */
    CHECK(f.seen[0] + f.seen[1] + f.seen[2] + f.seen[3] == 0);
    CHECK_EQ(f.other + f.nulls, 0);

    rcy_decref(lf);
    rcy_decref(a);
    rcy_decref(b);
    rcy_decref(c);
    CHECK_EQ(objects_in(h, -1), 0);
    rcy_heap_destroy(h);
}

/* The enumerations hand out a snapshot: the callback may release and
   create objects, and an object released before its turn still arrives. */
typedef struct {
    rcy_heap *h;
    node *victim; /* released by the first call */
    size_t calls, victim_seen;
} churn_ctx;

static void churn_obj(void *o, void *arg)
{
    churn_ctx *c = arg;
    if (o == c->victim)
        c->victim_seen++;
    if (c->calls++ == 0) {
        rcy_decref(c->victim); /* may be the last reference but the snapshot's */
        for (int i = 0; i < 64; i++)
            rcy_decref(mk(c->h, &node_type)); /* objects come and go meanwhile */
    }
}

static void test_enumeration_snapshot(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    node *keep[8];
    for (int i = 0; i < 8; i++)
        keep[i] = mk(h, &node_type);
    for (int gen = -1; gen <= 2; gen++) {
        if (gen == 1)
            rcy_gc_collect(h, 0);
        else if (gen == 2)
            rcy_gc_collect(h, -1);
        node *victim = mk(h, &node_type);
        if (gen >= 1) /* move it where the others are */
            rcy_gc_collect(h, gen == 1 ? 0 : -1);
        churn_ctx c = {h, victim, 0, 0};
        size_t before = destroyed;
        CHECK_EQ(rcy_gc_get_objects(h, gen, churn_obj, &c), 0);
        CHECK_EQ(c.calls, 9);
        CHECK_EQ(c.victim_seen, 1);
        CHECK_EQ(destroyed, before + 64 + 1); /* the victim died after the last call */
    }
    /* referrers too: every holder of the target arrives */
    node *target = mk(h, &node_type);
    for (int i = 0; i < 8; i++)
        set_slot(keep[i], 0, target);
    churn_ctx c = {h, mk(h, &node_type), 0, 0};
    set_slot(c.victim, 0, target);
    CHECK_EQ(rcy_gc_get_referrers(h, target, churn_obj, &c), 0);
    CHECK_EQ(c.calls, 9);
    CHECK_EQ(c.victim_seen, 1);

    errno = 0;
    CHECK_EQ(rcy_gc_get_objects(h, 3, churn_obj, &c), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rcy_gc_get_objects(h, -2, churn_obj, &c), -1);
    CHECK_EQ(c.calls, 9);
    for (int i = 0; i < 8; i++)
        rcy_decref(keep[i]);
    rcy_decref(target);
    CHECK_EQ(objects_in(h, -1), 0);
    rcy_heap_destroy(h);
}

/* A tracked object has the same 8-byte header as any other: a node of
   two pointers takes a 24-byte block. */
typedef struct pair {
    void *l, *r;
} pair;
static void pair_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    pair *p = self;
    visit(&p->l, arg);
    visit(&p->r, arg);
}
static const rcy_type pair_type = {"pair", sizeof(pair), pair_traverse, NULL, NULL};

/* A tracked type with one pointer: its block is 16 bytes, the smallest a
   tracked object gets (each has a byte of its own in the side table full
   collections use). */
typedef struct single {
    void *p;
} single;
static void single_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((single *)self)->p, arg);
}
static const rcy_type single_type = {"single", sizeof(single), single_traverse, NULL, NULL};

static void test_tracked_header_size(void)
{
    rcy_heap *h = quiet_heap();
    CHECK_EQ(rcy_header_size(&pair_type), 8);
    CHECK_EQ(rcy_header_size(&leaf_type), 8);
    rcy_mem_stats before, after;
    rcy_mem_get_stats(h, &before);
    enum { N = 1000 };
    pair *all[N];
    for (int i = 0; i < N; i++) {
        all[i] = rcy_new(h, &pair_type);
        CHECK(all[i] && rcy_gc_is_tracked(all[i]));
    }
    rcy_mem_get_stats(h, &after);
    CHECK_EQ(after.small_bytes_used - before.small_bytes_used, (size_t)N * 24); /* 8 + 16 */
    single *one = rcy_new(h, &single_type);
    rcy_mem_stats with_one;
    rcy_mem_get_stats(h, &with_one);
    CHECK_EQ(with_one.small_bytes_used - after.small_bytes_used, 16); /* the least */
    rcy_decref(one);
    /* a cycle among them is still found, after neighbours died around it */
    for (int i = 0; i < N; i += 2)
        rcy_decref(all[i]);
    pair *a = all[1], *b = all[3];
    a->l = b;
    rcy_incref(b);
    b->l = a;
    rcy_incref(a);
    rcy_decref(a);
    rcy_decref(b);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    for (int i = 5; i < N; i += 2)
        rcy_decref(all[i]);
    CHECK_EQ(objects_in(h, -1), 0);
    rcy_heap_destroy(h);
}

/* A ring of n new pairs, each holding hub (l) and the next (r); returns
   its first member, which the caller holds (one reference) besides the
   ring's last member. */
static pair *ring_on_hub(rcy_heap *h, pair *hub, size_t n)
{
    pair *first = rcy_new(h, &pair_type), *prev = first;
    CHECK(first != NULL);
    for (size_t i = 0; i < n; i++) {
        pair *m = i == 0 ? first : rcy_new(h, &pair_type);
        CHECK(m != NULL);
        rcy_incref(hub);
        m->l = hub;
        if (i > 0)
            prev->r = m; /* the new reference moves into the ring */
        prev = m;
    }
    rcy_incref(first);
    prev->r = first; /* the ring closes */
    return first;
}

/* An object with more references from inside the set than a byte of the
   side table holds: its count lives in the header during a full
   collection. A hub referenced by `n` ring members, each of which also
   holds the next, and the hub holds the first: alive while the test holds
   the first member, all garbage once it lets go. Around the byte's limit,
   and well past it. */
static void test_many_referrers(void)
{
    static const size_t counts[] = {1, 123, 124, 125, 126, 252, 253, 254, 255, 256, 300, 1000};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        size_t n = counts[k];
        rcy_heap *h = quiet_heap();
        pair *hub = rcy_new(h, &pair_type);
        CHECK(hub != NULL);
        pair *first = ring_on_hub(h, hub, n);
        rcy_incref(first);
        hub->l = first;
        rcy_decref(hub); /* only the ring holds it now */
        CHECK_EQ(rcy_refcount(hub), n);
        CHECK_EQ(rcy_gc_collect(h, -1), 0);
        CHECK_EQ(objects_in(h, -1), n + 1);
        CHECK_EQ(rcy_refcount(hub), n);
        rcy_decref(first);
        CHECK_EQ(rcy_gc_collect(h, -1), n + 1);
        CHECK_EQ(objects_in(h, -1), 0);
        rcy_heap_destroy(h);
    }
}

/* An object outside the collected set (frozen) with more references from
   a ring inside it than a side-table byte counts (SIDE reads its header
   then, and leaves it alone): the ring is reachable through it while it
   holds the ring, garbage once it lets go, and the hub is untouched. */
static void test_many_referrers_outside(void)
{
    static const size_t counts[] = {1, 124, 125, 126, 300};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        size_t n = counts[k];
        rcy_heap *h = quiet_heap();
        pair *hub = rcy_new(h, &pair_type);
        CHECK(hub != NULL);
        rcy_gc_freeze(h);
        pair *first = ring_on_hub(h, hub, n);
        hub->l = first; /* the hub holds the ring: ours moves to it */
        CHECK_EQ(rcy_gc_collect(h, -1), 0);
        CHECK_EQ(objects_in(h, -1), n);
        CHECK_EQ(rcy_refcount(hub), n + 1);
        hub->l = NULL;
        rcy_decref(first);
        CHECK_EQ(rcy_gc_collect(h, -1), n);
        CHECK_EQ(objects_in(h, -1), 0);
        CHECK_EQ(rcy_refcount(hub), 1);
        rcy_gc_unfreeze(h);
        rcy_decref(hub);
        rcy_heap_destroy(h);
    }
}

/* A full collection walks large objects first (containers before the
   records they hold) and settles each survivor as the mark reaches it,
   then looks again only at the objects the scan passed. Records that only
   a later record reaches are passed first and must be rescued; young
   members end in generation 2; dropping the container makes everything
   garbage, the cycles through it included. */
typedef struct vec {
    size_t len;
    void *item[];
} vec;
static void vec_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    vec *v = self;
    for (size_t i = 0; i < v->len; i++)
        visit(&v->item[i], arg);
}
static const rcy_type vec_type = {"vec", sizeof(vec), vec_traverse, NULL, NULL};

static void test_large_containers(void)
{
    enum { N = 3000 };
    rcy_heap *h = quiet_heap();
    vec *v = rcy_new_sized(h, &vec_type, sizeof(vec) + N * sizeof(void *));
    CHECK(v != NULL);
    v->len = N;
    for (size_t i = 0; i < N; i += 2) {
        pair *hidden = rcy_new(h, &pair_type); /* before its only referrer */
        pair *shown = rcy_new(h, &pair_type);
        CHECK(hidden && shown);
        shown->l = hidden;
        rcy_incref(v);
        hidden->r = v; /* a cycle through the container */
        v->item[i] = shown;
        v->item[i + 1] = NULL;
    }
    size_t total = 1 + N; /* the container and N / 2 pairs of pairs */
    CHECK_EQ(objects_in(h, -1), total);
    for (int round = 0; round < 2; round++) {
        CHECK_EQ(rcy_gc_collect(h, -1), 0);
        CHECK_EQ(objects_in(h, 0) + objects_in(h, 1), 0);
        CHECK_EQ(objects_in(h, 2), total);
        CHECK_EQ(rcy_refcount(v), 1 + N / 2);
    }
    /* a record dropped from the container and only held by a cycle of
       its own is garbage; the rest is not */
    pair *gone = v->item[0];
    v->item[0] = NULL;
    rcy_incref(gone);
    ((pair *)gone->l)->l = gone; /* hidden -> shown -> hidden */
    rcy_decref(gone);            /* the container's reference, taken out above */
    CHECK_EQ(rcy_refcount(gone), 1);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(objects_in(h, 2), total - 2);
    rcy_decref(v);
    CHECK_EQ(rcy_gc_collect(h, -1), total - 2);
    CHECK_EQ(objects_in(h, -1), 0);
    rcy_heap_destroy(h);
}

/* With the collector disabled, generation 0 stops growing at its cap and
   later objects go straight to generation 2; every cycle is still found
   by a full collection, and explicit young collections still see the
   objects within the cap. */
static void test_young_cap(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    size_t n = quick ? 70000 : 200000;
    for (size_t i = 0; i < n; i++) {
        node *x = mk(h, &node_type);
        set_slot(x, 0, x);
        rcy_decref(x);
    }
    size_t young = objects_in(h, 0), old = objects_in(h, 2);
    CHECK_EQ(young + old, n);
    CHECK(young >= 1024 && young < n);
    size_t count[3];
    rcy_gc_get_count(h, count);
    CHECK_EQ(count[0], n); /* the count is the count, wherever they went */
    CHECK_EQ(rcy_gc_collect(h, 0), young);
    CHECK_EQ(rcy_gc_collect(h, -1), old);
    CHECK_EQ(destroyed, n);
    CHECK_EQ(objects_in(h, -1), 0);
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Debug flags and the garbage list                                 */
/* ---------------------------------------------------------------- */

static void test_saveall(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    CHECK_EQ(rcy_gc_get_debug(h), 0);
    rcy_gc_set_debug(h, RCY_DEBUG_SAVEALL);
    CHECK_EQ(rcy_gc_get_debug(h), RCY_DEBUG_SAVEALL);
    node *a = mk(h, &node_type), *b = mk(h, &node_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    rcy_decref(a);
    rcy_decref(b);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcy_gc_garbage_count(h), 2);
    find_ctx f;
    memset(&f, 0, sizeof f);
    f.want[0] = a, f.want[1] = b;
    rcy_gc_garbage(h, find_obj, &f);
    CHECK(f.seen[0] == 1 && f.seen[1] == 1);
    CHECK_EQ(f.other + f.nulls, 0);
    CHECK(a->s[0] == b && b->s[0] == a); /* saved intact */

    /* collecting again does not save them twice */
    rcy_gc_collect(h, -1);
    CHECK_EQ(rcy_gc_garbage_count(h), 2);

    rcy_gc_set_debug(h, 0);
    rcy_gc_garbage_clear(h);
    CHECK_EQ(rcy_gc_garbage_count(h), 0);
    rcy_gc_collect(h, -1); /* if clearing left the cycle, this frees it */
    CHECK_EQ(destroyed, 2);

    /* SAVEALL garbage left at heap destruction */
    rcy_gc_set_debug(h, RCY_DEBUG_SAVEALL);
    a = mk(h, &node_type);
    set_slot(a, 0, a);
    rcy_decref(a);
    rcy_gc_collect(h, -1);
    CHECK_EQ(rcy_gc_garbage_count(h), 1);
    rcy_heap_destroy(h);
}

static void stats_child(void *arg)
{
    (void)arg;
    rcy_heap *h = quiet_heap();
    rcy_gc_set_debug(h, RCY_DEBUG_STATS);
    node *a = mk(h, &node_type);
    set_slot(a, 0, a);
    rcy_decref(a);
    rcy_gc_collect(h, -1);
    fflush(stderr);
    abort(); /* hands the captured stderr back through check_aborts */
}
static void collectable_child(void *arg)
{
    (void)arg;
    rcy_heap *h = quiet_heap();
    rcy_gc_set_debug(h, RCY_DEBUG_COLLECTABLE);
    node *a = mk(h, &node_type);
    set_slot(a, 0, a);
    rcy_decref(a);
    rcy_gc_collect(h, -1);
    fflush(stderr);
    abort();
}
static void quiet_child(void *arg)
{
    (void)arg;
    rcy_heap *h = quiet_heap();
    node *a = mk(h, &node_type);
    set_slot(a, 0, a);
    rcy_decref(a);
    rcy_gc_collect(h, -1);
    fflush(stderr);
    abort();
}

static void test_debug_stats(void)
{
    char msg[4096];
    CHECK(check_aborts(stats_child, NULL, NULL, msg, sizeof msg));
    CHECK(strlen(msg) > 0);
    CHECK(check_aborts(collectable_child, NULL, NULL, msg, sizeof msg));
    CHECK(strlen(msg) > 0);
    CHECK(check_aborts(quiet_child, NULL, NULL, msg, sizeof msg));
    CHECK_EQ(strlen(msg), 0); /* no flags: silent */
    if (strlen(msg))
        fprintf(stderr, "  (unexpected output: %s)\n", msg);
}

/* ---------------------------------------------------------------- */
/* Heaps                                                            */
/* ---------------------------------------------------------------- */

static void test_heaps_independent(void)
{
    rcy_heap *h1 = quiet_heap(), *h2 = new_heap();
    reset_counts();
    rcy_gc_set_threshold(h2, 77, 7, 7);
    size_t th[3];
    rcy_gc_get_threshold(h1, th);
    CHECK(th[0] != 77);
    CHECK(!rcy_gc_isenabled(h1));
    CHECK(rcy_gc_isenabled(h2));

    node *a = mk(h1, &node_type), *b = mk(h2, &node_type);
    set_slot(a, 0, a);
    set_slot(b, 0, b);
    rcy_decref(a);
    rcy_decref(b);
    size_t c1[3], c2[3];
    rcy_gc_get_count(h1, c1);
    rcy_gc_get_count(h2, c2);
    CHECK_EQ(c1[0], 1);
    CHECK_EQ(c2[0], 1);
    CHECK_EQ(rcy_gc_collect(h1, -1), 1);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(objects_in(h2, -1), 1);
    rcy_gc_genstats st[3];
    rcy_gc_get_stats(h2, st);
    CHECK_EQ(st[0].collections + st[1].collections + st[2].collections, 0);
    rcy_gc_freeze(h1);
    CHECK_EQ(rcy_gc_get_freeze_count(h2), 0);
    CHECK_EQ(rcy_gc_collect(h2, -1), 1);
    CHECK_EQ(destroyed, 2);
    rcy_heap_destroy(h1);
    rcy_heap_destroy(h2);
}

static void test_heap_destroy_with_live(void)
{
    rcy_heap *h = quiet_heap();
    reset_counts();
    /* live objects, live cycles, frozen objects, weak references,
       finalizable garbage never collected: all just go away */
    node *live = mk(h, &fin_type);
    set_slot(live, 0, mk(h, &node_type));
    rcy_decref(live->s[0]);
    node *a = mk(h, &fin_type), *b = mk(h, &node_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    rcy_decref(a);
    rcy_decref(b);
    node *fz = mk(h, &node_type);
    set_slot(fz, 0, fz);
    rcy_gc_freeze(h);
    void *wr = rcy_weakref_new(live, NULL, NULL);
    set_slot(live, 1, wr);
    rcy_decref(wr);
    for (int i = 0; i < 1000; i++)
        rcy_decref(rcy_new(h, &leaf_type));
    void *big = rcy_new_sized(h, &leaf_type, 100000);
    (void)big;
    rcy_heap_destroy(h);
    CHECK_EQ(finalized, 0); /* nothing runs at heap destruction */
    CHECK_EQ(destroyed, 0);
}

/* ---------------------------------------------------------------- */
/* Drop pacing                                                      */
/* ---------------------------------------------------------------- */

static size_t young_runs;
static void count_young(const char *phase, const rcy_gc_info *info, void *arg)
{
    (void)arg;
    if (!strcmp(phase, "stop") && info->generation == 0)
        young_runs++;
}

/* Allocates n tracked objects that die at once: counts stay put. n
   objects that stay alive push count[0] past the threshold instead. */
static void allocate_live(rcy_heap *h, node **keep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        keep[i] = mk(h, &node_type);
}

static void test_drop_pacing(void)
{
    enum { T0 = 20, N = 25 };
    node *keep[N];
    rcy_heap *h = new_heap();
    rcy_gc_set_threshold(h, T0, 1000, 1000);
    rcy_gc_set_drop_pacing(h, 1);
    rcy_gc_callback_add(h, count_young, NULL);
    reset_counts();

    /* a cycle orphaned by a drop: the next automatic young collection,
       which scans, frees it */
    node *a = mk(h, &node_type), *b = mk(h, &node_type);
    set_slot(a, 0, b);
    set_slot(b, 0, a);
    rcy_decref(b); /* b stays alive through a: a drop is noted */
    rcy_decref(a);
    young_runs = 0;
    allocate_live(h, keep, N);
    CHECK(young_runs >= 1);
    CHECK_EQ(destroyed, 2);
    rcy_gc_genstats st[3];
    rcy_gc_get_stats(h, st);
    CHECK_EQ(st[0].collected, 2);

    /* nothing dropped since: young collections are skipped, yet they
       count as collections and run the callbacks */
    size_t collections_before = st[0].collections;
    for (size_t i = 0; i < N; i++)
        rcy_decref(keep[i]); /* deaths, not drops */
    young_runs = 0;
    allocate_live(h, keep, N);
    CHECK(young_runs >= 1);
    rcy_gc_get_stats(h, st);
    CHECK(st[0].collections > collections_before);
    size_t count[3];
    rcy_gc_get_count(h, count);
    CHECK(count[0] < T0 + 1);

    /* a cycle orphaned by moving our reference into it (no drop): young
       collections skip it, a full one finds it, an explicit one too */
    reset_counts();
    node *r = mk(h, &node_type);
    r->s[0] = r; /* our reference now lives in the cycle */
    for (size_t i = 0; i < N; i++)
        rcy_decref(keep[i]);
    allocate_live(h, keep, N);
    CHECK_EQ(destroyed, N); /* only the dropped objects died */
    CHECK_EQ(rcy_gc_collect(h, -1), 1);
    CHECK_EQ(destroyed, N + 1);

    /* an explicit young collection always scans */
    reset_counts();
    r = mk(h, &node_type);
    r->s[0] = r;
    CHECK_EQ(rcy_gc_collect(h, 0), 1);
    CHECK_EQ(destroyed, 1);

    /* with pacing off, the same moved-in cycle goes at the next young
       collection */
    rcy_gc_set_drop_pacing(h, 0);
    reset_counts();
    r = mk(h, &node_type);
    r->s[0] = r;
    for (size_t i = 0; i < N; i++)
        rcy_decref(keep[i]);
    allocate_live(h, keep, N);
    CHECK_EQ(destroyed, N + 1);
    for (size_t i = 0; i < N; i++)
        rcy_decref(keep[i]);
    rcy_heap_destroy(h);
}

/* A heap with thresholds (t0, 10, 10) holding n live nodes, keep[0..n),
   just collected in full. */
static rcy_heap *heap_with_live(size_t t0, node **keep, size_t n)
{
    rcy_heap *h = new_heap();
    rcy_gc_set_threshold(h, t0, 10, 10);
    allocate_live(h, keep, n);
    rcy_gc_collect(h, -1);
    return h;
}

static void destroy_with_live(rcy_heap *h, node **keep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rcy_decref(keep[i]);
    free(keep);
    rcy_heap_destroy(h);
}

/* Drop pacing is on by default, and cycles orphaned by moving our last
   reference into them (no drop) are not seen by young collections. The
   growth they cause triggers full collections (at 100% growth, as no drop
   is noted), so they never pile up beyond the size of the live heap plus
   what is allocated between two checks of generation 2. */
static void test_moved_cycles_bounded(void)
{
    enum { T0 = 100, LIVE = 20000, LEAKS = 200000 };
    node **keep = malloc(LIVE * sizeof *keep);
    CHECK(keep != NULL);
    rcy_heap *h = heap_with_live(T0, keep, LIVE);
    rcy_gc_genstats before[3], after[3];
    rcy_gc_get_stats(h, before);
    reset_counts();
    size_t worst = 0;
    for (size_t i = 0; i < LEAKS; i++) {
        node *r = mk(h, &node_type);
        r->s[0] = r; /* our reference now lives in the cycle */
        size_t garbage = i + 1 - destroyed;
        if (garbage > worst)
            worst = garbage;
    }
    rcy_gc_get_stats(h, after);
    CHECK(after[0].collections - before[0].collections >= LEAKS / (2 * (T0 + 1)));
    CHECK_EQ(after[0].collected, before[0].collected); /* skipped: paced */
    CHECK_EQ(after[1].collected, before[1].collected);
    CHECK(after[2].collections - before[2].collections >= 2);
    size_t between_checks = (T0 + 1) * 11 * 11;
    CHECK(worst <= LIVE + 2 * between_checks);
    CHECK(destroyed + worst >= LEAKS);
    destroy_with_live(h, keep, LIVE);
}

/* Full collections wait until the tracked objects have grown by 25% since
   the last one; by 100% when drop pacing saw no drop since, since then
   only cycles abandoned as they were built can be garbage. */
static void test_full_collection_growth(void)
{
    enum { BASE = 20000, GROWN = 80000 };
    size_t fulls[3]; /* no drops; a drop now and then; drop pacing off */
    for (int mode = 0; mode < 3; mode++) {
        node **keep = malloc(GROWN * sizeof *keep);
        CHECK(keep != NULL);
        rcy_heap *h = heap_with_live(10, keep, BASE);
        rcy_gc_set_drop_pacing(h, mode != 2);
        rcy_gc_genstats before[3], after[3];
        rcy_gc_get_stats(h, before);
        for (size_t i = BASE; i < GROWN; i++) {
            keep[i] = mk(h, &node_type);
            if (mode == 1 && i % 1000 == 0) {
                rcy_incref(keep[0]);
                rcy_decref(keep[0]); /* a drop */
            }
        }
        rcy_gc_get_stats(h, after);
        fulls[mode] = after[2].collections - before[2].collections;
        destroy_with_live(h, keep, GROWN);
    }
    CHECK(fulls[0] >= 1 && fulls[0] <= 2); /* at 40,000 (and maybe 80,000) */
    CHECK(fulls[1] >= 5);                  /* 25,000, 31,250, 39,000, ... */
    CHECK(fulls[2] >= 5);
}

static const struct {
    int place;
    const char *name;
} places[] = {
    {RCY_REFS_AUTO, "the collector's choice"},
    {RCY_REFS_HEADER, "headers"},
    {RCY_REFS_SIDE, "side table"},
    {RCY_REFS_YOUNG, "young scratch"},
};

int main(void)
{
    quick = check_quick();
    for (size_t p = 0; p < sizeof places / sizeof places[0]; p++) {
        refs_place = places[p].place;
        int failed = check_failed;
        test_self_and_mutual();
        test_return_value_and_mixed();
        test_mixed_by_generation();
        test_long_ring();
        test_generations();
        test_finalizers();
        test_resurrection();
        test_resurrect_other();
        test_finalizer_actions();
        test_breaking_finalizers();
        test_automatic();
        test_callbacks_add_remove();
        test_freeze();
        test_tracking();
        test_get_objects();
        test_enumeration_snapshot();
        test_tracked_header_size();
        test_many_referrers();
        test_many_referrers_outside();
        test_large_containers();
        test_young_cap();
        test_saveall();
        test_debug_stats();
        test_heaps_independent();
        test_heap_destroy_with_live();
        test_drop_pacing();
        test_moved_cycles_bounded();
        test_full_collection_growth();
        printf("test_gc: gc_refs in %s: %s\n", places[p].name,
               check_failed == failed ? "ok" : "FAILED");
    }
    return check_summary("test_gc");
}
