/* SPDX-License-Identifier: MIT */
/* Tests for weak references: rcy_weakref_get hands out a new strong
 * reference while the target lives and NULL after; callbacks run when the
 * target dies while the weak reference lives (never after the weak
 * reference was released); weak references to cyclic garbage are cleared
 * by a collection, with callbacks only for weak references that are not
 * garbage themselves.
 *
 * Written against the public header only. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "recycle.h"

static int quick;

/* A target without references (never tracked). */
static int plain_destroyed;
static void plain_destroy(void *self)
{
    (void)self;
    plain_destroyed++;
}
static const rcy_type plain_type = {"plain", 24, NULL, NULL, plain_destroy};

/* A node with two references (tracked). */
typedef struct node {
    void *a, *b;
    int id;
} node;
static int node_destroyed;
static void node_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    node *n = self;
    visit(&n->a, arg);
    visit(&n->b, arg);
}
static void node_destroy(void *self)
{
    (void)self;
    node_destroyed++;
}
static const rcy_type node_type = {"node", sizeof(node), node_traverse, NULL, node_destroy};

/* Callback bookkeeping. */
#define MAXCALLS 256
static struct {
    void *weakref;
    void *arg;
    int target_gone; /* rcy_weakref_get returned NULL inside the callback */
} calls[MAXCALLS];
static int ncalls;

static void record_cb(void *weakref, void *arg)
{
    if (ncalls < MAXCALLS) {
        calls[ncalls].weakref = weakref;
        calls[ncalls].arg = arg;
        void *t = rcy_weakref_get(weakref);
        calls[ncalls].target_gone = t == NULL;
        rcy_xdecref(t);
    }
    ncalls++;
}

static int calls_for(void *weakref, void *arg)
{
    int n = 0;
    for (int i = 0; i < ncalls && i < MAXCALLS; i++)
        if (calls[i].weakref == weakref && calls[i].arg == arg)
            n++;
    return n;
}

static void test_get(rcy_heap *h)
{
    plain_destroyed = 0;
    void *t = rcy_new(h, &plain_type);
    void *wr = rcy_weakref_new(t, NULL, NULL);
    CHECK(wr != NULL);
    if (!wr)
        return;
    CHECK_EQ(rcy_refcount(t), 1); /* a weak reference adds no count */
    CHECK_EQ(rcy_refcount(wr), 1);
    CHECK(rcy_is_weakref(wr));
    CHECK(!rcy_is_weakref(t));

    void *got = rcy_weakref_get(wr);
    CHECK(got == t);
    CHECK_EQ(rcy_refcount(t), 2); /* a new strong reference */
    rcy_decref(got);
    CHECK_EQ(rcy_refcount(t), 1);

    rcy_decref(t);
    CHECK_EQ(plain_destroyed, 1);
    CHECK(rcy_weakref_get(wr) == NULL);
    CHECK(rcy_weakref_get(wr) == NULL); /* stays dead */
    CHECK(rcy_is_weakref(wr));
    rcy_decref(wr);

    /* a strong reference from get keeps the target alive */
    plain_destroyed = 0;
    t = rcy_new(h, &plain_type);
    wr = rcy_weakref_new(t, NULL, NULL);
    got = rcy_weakref_get(wr);
    rcy_decref(t);
    CHECK_EQ(plain_destroyed, 0);
    void *again = rcy_weakref_get(wr);
    CHECK(again == got);
    rcy_decref(again);
    rcy_decref(got);
    CHECK_EQ(plain_destroyed, 1);
    CHECK(rcy_weakref_get(wr) == NULL);
    rcy_decref(wr);

    /* a weak reference released before its target changes nothing */
    t = rcy_new(h, &node_type);
    wr = rcy_weakref_new(t, NULL, NULL);
    rcy_decref(wr);
    CHECK_EQ(rcy_refcount(t), 1);
    rcy_decref(t);

    /* no target, no weak reference */
    CHECK(rcy_weakref_new(NULL, record_cb, NULL) == NULL);
}

/* rcy_weakref_get of an object that is not a weak reference aborts, in
   every build. */
static void misuse_get_not_weakref(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *t = rcy_new(h, &plain_type);
    void *got = rcy_weakref_get(t);
    (void)got;
}

static void test_misuse(void)
{
    char msg[1024];
    int ok = check_aborts(misuse_get_not_weakref, NULL, "not a weak reference", msg, sizeof msg);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  (child stderr: %s)\n", msg);
}

static void test_many(rcy_heap *h)
{
    enum { N = 100 };
    void *wrs[N];
    int args[N];
    node_destroyed = 0;
    ncalls = 0;
    void *t = rcy_new(h, &node_type);
    for (int i = 0; i < N; i++) {
        args[i] = i;
        wrs[i] = rcy_weakref_new(t, (i % 2) ? record_cb : NULL, &args[i]);
        CHECK(wrs[i] != NULL);
    }
    CHECK_EQ(rcy_refcount(t), 1);
    for (int i = 0; i < N; i++) {
        void *g = rcy_weakref_get(wrs[i]);
        CHECK(g == t);
        rcy_xdecref(g);
    }
    /* release a few (with and without callbacks) before the target dies */
    for (int i = 0; i < 10; i++) {
        rcy_decref(wrs[i]);
        wrs[i] = NULL;
    }
    rcy_decref(t);
    CHECK_EQ(node_destroyed, 1);
    CHECK_EQ(ncalls, (N - 10) / 2);
    for (int i = 10; i < N; i++) {
        CHECK(rcy_weakref_get(wrs[i]) == NULL);
        CHECK_EQ(calls_for(wrs[i], &args[i]), i % 2);
    }
    for (int i = 0; i < ncalls && i < MAXCALLS; i++)
        CHECK(calls[i].target_gone);
    for (int i = 10; i < N; i++)
        rcy_decref(wrs[i]);
    CHECK_EQ(ncalls, (N - 10) / 2); /* releasing dead weakrefs calls nothing */
}

static void test_callbacks(rcy_heap *h)
{
    int arg1 = 1, arg2 = 2;
    ncalls = 0;
    plain_destroyed = 0;

    /* runs when the target dies; gets the weak reference and its arg */
    void *t = rcy_new(h, &plain_type);
    void *wr = rcy_weakref_new(t, record_cb, &arg1);
    CHECK_EQ(ncalls, 0);
    rcy_decref(t);
    CHECK_EQ(ncalls, 1);
    CHECK(calls[0].weakref == wr);
    CHECK(calls[0].arg == &arg1);
    CHECK(calls[0].target_gone);
    rcy_decref(wr);
    CHECK_EQ(ncalls, 1);

    /* no callback once the weak reference is gone */
    ncalls = 0;
    t = rcy_new(h, &plain_type);
    wr = rcy_weakref_new(t, record_cb, &arg2);
    rcy_decref(wr);
    rcy_decref(t);
    CHECK_EQ(ncalls, 0);
    CHECK_EQ(plain_destroyed, 2);

    /* a target that dies by a cascade (its owner died) */
    ncalls = 0;
    node *owner = rcy_new(h, &node_type);
    t = rcy_new(h, &plain_type);
    owner->a = t;
    wr = rcy_weakref_new(t, record_cb, &arg1);
    rcy_decref(owner);
    CHECK_EQ(ncalls, 1);
    CHECK(rcy_weakref_get(wr) == NULL);
    rcy_decref(wr);
}

/* A callback that drops the last reference to its own weak reference,
 * the way a cache removes its dead entries. */
static void *self_dropping;
static int self_drop_calls;
static void drop_self_cb(void *weakref, void *arg)
{
    (void)arg;
    self_drop_calls++;
    if (weakref == self_dropping) {
        self_dropping = NULL;
        rcy_decref(weakref);
    }
}

/* A callback that makes new objects and weak references. */
static int busy_calls;
static void busy_cb(void *weakref, void *arg)
{
    rcy_heap *h = arg;
    (void)weakref;
    busy_calls++;
    void *o = rcy_new(h, &node_type);
    void *w = rcy_weakref_new(o, record_cb, NULL);
    rcy_decref(o); /* w's callback runs now (nested) */
    rcy_decref(w);
}

static void test_callback_actions(rcy_heap *h)
{
    self_drop_calls = 0;
    void *t = rcy_new(h, &plain_type);
    self_dropping = rcy_weakref_new(t, drop_self_cb, NULL);
    rcy_decref(t);
    CHECK_EQ(self_drop_calls, 1);
    CHECK(self_dropping == NULL);

    busy_calls = 0;
    ncalls = 0;
    t = rcy_new(h, &node_type);
    void *w = rcy_weakref_new(t, busy_cb, h);
    rcy_decref(t);
    CHECK_EQ(busy_calls, 1);
    CHECK_EQ(ncalls, 1);
    rcy_decref(w);
}

/* Weak references to cyclic garbage. */
static void test_cycles(rcy_heap *h)
{
    int arg = 7;
    rcy_gc_collect(h, -1);
    node_destroyed = 0;
    ncalls = 0;

    /* a weak reference (alive, outside the garbage) to a cycle member */
    node *a = rcy_new(h, &node_type);
    node *b = rcy_new(h, &node_type);
    a->a = b;
    rcy_incref(b);
    b->a = a;
    rcy_incref(a);
    void *wa = rcy_weakref_new(a, record_cb, &arg);
    void *wb = rcy_weakref_new(b, NULL, NULL);
    rcy_decref(a);
    rcy_decref(b);
    CHECK_EQ(node_destroyed, 0);
    void *g = rcy_weakref_get(wa); /* still alive until collected */
    CHECK(g == a);
    rcy_xdecref(g);
    CHECK_EQ(ncalls, 0);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    CHECK_EQ(node_destroyed, 2);
    CHECK_EQ(ncalls, 1);
    CHECK_EQ(calls_for(wa, &arg), 1);
    CHECK(calls[0].target_gone);
    CHECK(rcy_weakref_get(wa) == NULL);
    CHECK(rcy_weakref_get(wb) == NULL);
    rcy_decref(wa);
    rcy_decref(wb);

    /* a cycle that holds a weak reference to itself: the weak reference
       is garbage too, so its callback does not run */
    node_destroyed = 0;
    ncalls = 0;
    node *c = rcy_new(h, &node_type);
    c->a = c;
    rcy_incref(c);
    c->b = rcy_weakref_new(c, record_cb, &arg);
    rcy_decref(c);
    size_t found = rcy_gc_collect(h, -1);
    CHECK(found >= 1);
    CHECK_EQ(node_destroyed, 1);
    CHECK_EQ(ncalls, 0);

    /* two cycles holding weak references to each other: both garbage */
    node_destroyed = 0;
    ncalls = 0;
    node *d = rcy_new(h, &node_type);
    node *e = rcy_new(h, &node_type);
    d->a = d;
    rcy_incref(d);
    e->a = e;
    rcy_incref(e);
    d->b = rcy_weakref_new(e, record_cb, &arg);
    e->b = rcy_weakref_new(d, record_cb, &arg);
    rcy_decref(d);
    rcy_decref(e);
    rcy_gc_collect(h, -1);
    CHECK_EQ(node_destroyed, 2);
    CHECK_EQ(ncalls, 0);

    /* a live object holding a weak reference to garbage: callback runs */
    node_destroyed = 0;
    ncalls = 0;
    node *live = rcy_new(h, &node_type);
    node *f = rcy_new(h, &node_type);
    f->a = f;
    rcy_incref(f);
    live->a = rcy_weakref_new(f, record_cb, &arg);
    rcy_decref(f);
    rcy_gc_collect(h, -1);
    CHECK_EQ(node_destroyed, 1);
    CHECK_EQ(ncalls, 1);
    CHECK(rcy_weakref_get(live->a) == NULL);
    rcy_decref(live);
    CHECK_EQ(node_destroyed, 2);

    /* a target that survives a collection keeps its weak references */
    ncalls = 0;
    node *keep = rcy_new(h, &node_type);
    keep->a = keep;
    rcy_incref(keep);
    void *wk = rcy_weakref_new(keep, record_cb, &arg);
    rcy_gc_collect(h, -1);
    g = rcy_weakref_get(wk);
    CHECK(g == keep);
    rcy_xdecref(g);
    CHECK_EQ(ncalls, 0);
    rcy_decref(keep);
    rcy_gc_collect(h, -1);
    CHECK(rcy_weakref_get(wk) == NULL);
    CHECK_EQ(ncalls, 1);
    rcy_decref(wk);
}

/* Many targets, many weak references, random release order. */
static void test_stress(rcy_heap *h)
{
    size_t n = quick ? 2000 : 20000;
    void **targets = calloc(n, sizeof *targets);
    void **wrs = calloc(n, sizeof *wrs);
    if (!targets || !wrs)
        abort();
    ncalls = 0;
    plain_destroyed = 0;
    for (size_t i = 0; i < n; i++) {
        targets[i] = rcy_new(h, &plain_type);
        wrs[i] = rcy_weakref_new(targets[i], record_cb, NULL);
    }
    uint64_t x = 88172645463325252ull;
    for (size_t i = n - 1; i > 0; i--) { /* shuffle the targets */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = (size_t)(x % (i + 1));
        void *tmp = targets[i];
        targets[i] = targets[j];
        targets[j] = tmp;
    }
    size_t released_first = 0;
    for (size_t i = 0; i < n; i += 3) {
        rcy_decref(wrs[i]);
        wrs[i] = NULL;
        released_first++;
    }
    for (size_t i = 0; i < n; i++)
        rcy_decref(targets[i]);
    CHECK_EQ((size_t)plain_destroyed, n);
    CHECK_EQ((size_t)ncalls, n - released_first);
    size_t dead = 0;
    for (size_t i = 0; i < n; i++) {
        if (wrs[i]) {
            dead += rcy_weakref_get(wrs[i]) == NULL;
            rcy_decref(wrs[i]);
        }
    }
    CHECK_EQ(dead, n - released_first);
    free(targets);
    free(wrs);
}

int main(void)
{
    quick = check_quick();
    rcy_heap *h = rcy_heap_new();
    CHECK(h != NULL);
    if (!h)
        return check_summary("test_weakref");
    test_get(h);
    test_many(h);
    test_callbacks(h);
    test_callback_actions(h);
    test_cycles(h);
    test_stress(h);
    test_misuse();

    /* a heap destroyed with live weak references and targets */
    rcy_heap *h2 = rcy_heap_new();
    void *t = rcy_new(h2, &node_type);
    void *w = rcy_weakref_new(t, record_cb, NULL);
    (void)w;
    rcy_heap_destroy(h2);

    rcy_heap_destroy(h);
    return check_summary("test_weakref");
}
