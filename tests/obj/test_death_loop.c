/* SPDX-License-Identifier: MIT */
/* Tests for the death loop (obj/object.c): objects of a type with a
 * layout descriptor and no callbacks die in a loop that kills the last
 * dying child in the same frame, after the parent's memory is back. What
 * must not change: every object's memory comes back (trees, chains, on a
 * small C stack), callbacks of the children run in the order of nested
 * deaths, a finalizer in the cascade runs once and may resurrect, a weakly
 * referenced child has its weak references cleared, a child of another
 * heap of the same thread dies there. Counts of memory in use and of
 * callbacks, never times.
 *
 * Written against the public header only. RCY_TEST_QUICK=1 shrinks the
 * big structures (used under valgrind). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "recycle.h"

static int quick;

/* the loop's type: two references by descriptor, no callbacks */
typedef struct pnode {
    void *l, *r;
} pnode;
static const rcy_type pnode_type = {.name = "pnode",
                                    .size = sizeof(pnode),
                                    .ref_words = RCY_REF_WORD(pnode, l) | RCY_REF_WORD(pnode, r)};

/* a described type with destroy or finalize: not the loop's, it logs */
typedef struct logged {
    void *ref;
    long id;
} logged;

static long log_ids[16];
static size_t log_len;
static void log_id(long id)
{
    if (log_len < sizeof log_ids / sizeof log_ids[0])
        log_ids[log_len++] = id;
}

static void logged_destroy(void *self)
{
    logged *g = self;
    CHECK(g->ref == NULL); /* its references were dropped first */
    log_id(g->id);
}
static const rcy_type logged_type = {.name = "logged",
                                     .size = sizeof(logged),
                                     .destroy = logged_destroy,
                                     .ref_words = RCY_REF_WORD(logged, ref)};

static void *resurrected;
static int resurrect_next;
static size_t finalized;
static void fin_finalize(void *self)
{
    logged *g = self;
    finalized++;
    log_id(100 + g->id);
    if (resurrect_next) {
        resurrect_next = 0;
        rcy_incref(self);
        resurrected = self;
    }
}
static const rcy_type fin_type = {.name = "fin",
                                  .size = sizeof(logged),
                                  .finalize = fin_finalize,
                                  .ref_words = RCY_REF_WORD(logged, ref)};

static size_t in_use(rcy_heap *h)
{
    rcy_mem_stats st;
    rcy_mem_get_stats(h, &st);
    return st.bytes_in_use;
}

static void *new_or_die(rcy_heap *h, const rcy_type *t)
{
    void *o = rcy_new(h, t);
    if (!o) {
        fprintf(stderr, "rcy_new failed\n");
        exit(1);
    }
    return o;
}

static void *tree(rcy_heap *h, int depth)
{
    pnode *n = new_or_die(h, &pnode_type);
    if (depth > 0) {
        n->l = tree(h, depth - 1);
        n->r = tree(h, depth - 1);
    }
    return n;
}

/* Trees die whole, with the collector off and on (objects then in every
   generation: some were promoted by the collections the build caused). */
static void test_trees(rcy_heap *h)
{
    size_t before = in_use(h);
    void *t = tree(h, quick ? 12 : 16);
    CHECK(in_use(h) > before);
    rcy_decref(t);
    CHECK_EQ(in_use(h), before);

    rcy_gc_disable(h);
    t = tree(h, 10);
    rcy_decref(t);
    CHECK_EQ(in_use(h), before);
    rcy_gc_enable(h);

    void *keep = tree(h, 8);
    rcy_gc_collect(h, 2); /* keep is old now */
    pnode *root = new_or_die(h, &pnode_type);
    root->l = keep;
    root->r = tree(h, 8); /* young */
    rcy_decref(root);
    CHECK_EQ(in_use(h), before);
}

/* Children die in the order of nested deaths: in P's death, A (and in
   A's, X) before B; destroy after its own references; the finalizer in
   the cascade runs once. */
static void test_order(rcy_heap *h)
{
    pnode *p = new_or_die(h, &pnode_type);
    logged *a = new_or_die(h, &logged_type), *b = new_or_die(h, &logged_type);
    logged *x = new_or_die(h, &fin_type);
    a->id = 1, b->id = 2, x->id = 3;
    a->ref = x;
    p->l = a, p->r = b;
    log_len = 0;
    finalized = 0;
    rcy_decref(p);
    CHECK_EQ(log_len, 3);
    CHECK_EQ(log_ids[0], 103);
    CHECK_EQ(log_ids[1], 1);
    CHECK_EQ(log_ids[2], 2);
    CHECK_EQ(finalized, 1);
}

/* A chain whose last object has a finalizer that resurrects it: the
   loop's last child is not of the loop's type; it lives on, and dies
   later without a second finalization. */
static void test_chain_to_resurrection(rcy_heap *h)
{
    size_t before = in_use(h);
    logged *f = new_or_die(h, &fin_type);
    f->id = 7;
    void *head = f;
    for (int i = 0; i < 1000; i++) {
        pnode *n = new_or_die(h, &pnode_type);
        n->r = head;
        head = n;
    }
    finalized = 0;
    resurrect_next = 1;
    resurrected = NULL;
    rcy_decref(head);
    CHECK_EQ(finalized, 1);
    CHECK(resurrected == f);
    CHECK_EQ(rcy_refcount(f), 1);
    CHECK(rcy_gc_is_finalized(f));
    CHECK(in_use(h) > before);
    rcy_decref(f);
    CHECK_EQ(finalized, 1);
    CHECK_EQ(in_use(h), before);
}

static size_t weak_callbacks;
static void weak_cb(void *weakref, void *arg)
{
    (void)weakref;
    (void)arg;
    weak_callbacks++;
}

/* A weakly referenced child (deep in a tree, and the last child of its
   parent) has its weak reference cleared and its callback run. */
static void test_weak_child(rcy_heap *h)
{
    pnode *root = tree(h, 6);
    pnode *n = root;
    while (n->r)
        n = n->r;
    void *w = rcy_weakref_new(n, weak_cb, NULL);
    CHECK(w != NULL);
    if (!w)
        return;
    weak_callbacks = 0;
    rcy_decref(root);
    CHECK(rcy_weakref_get(w) == NULL);
    CHECK_EQ(weak_callbacks, 1);
    rcy_decref(w);
}

/* A child in another heap of the same thread dies in its own heap, last
   child or not; so does a chain that alternates between the heaps. */
static void test_other_heap(rcy_heap *h)
{
    rcy_heap *h2 = check_new_heap();
    size_t before = in_use(h), before2 = in_use(h2);
    pnode *p = new_or_die(h, &pnode_type);
    p->l = tree(h2, 3);
    p->r = tree(h2, 3);
    rcy_decref(p);
    CHECK_EQ(in_use(h), before);
    CHECK_EQ(in_use(h2), before2);

    void *head = NULL;
    for (int i = 0; i < 1000; i++) {
        pnode *n = new_or_die(i & 1 ? h2 : h, &pnode_type);
        n->r = head;
        head = n;
    }
    rcy_decref(head);
    CHECK_EQ(in_use(h), before);
    CHECK_EQ(in_use(h2), before2);
    rcy_heap_destroy(h2);
}

/* Bounded C stack: a spine whose first word holds the rest (a child that
   dies nested, when the second word's leaf is found) and a long chain
   (the loop), each on a 256 KiB stack. */
static void test_deep(rcy_heap *h)
{
    size_t before = in_use(h), n = quick ? 100000 : 1000000;
    void *spine = NULL;
    for (size_t i = 0; i < n; i++) {
        pnode *s = new_or_die(h, &pnode_type);
        s->l = spine;
        s->r = new_or_die(h, &pnode_type);
        spine = s;
    }
    CHECK(check_decref_on_small_stack(spine));
    CHECK_EQ(in_use(h), before);

    void *chain = NULL;
    for (size_t i = 0; i < n; i++) {
        pnode *c = new_or_die(h, &pnode_type);
        c->l = chain;
        chain = c;
    }
    CHECK(check_decref_on_small_stack(chain));
    CHECK_EQ(in_use(h), before);
}

/* A child the parent shares with someone else only loses a count. */
static void test_shared_child(rcy_heap *h)
{
    pnode *shared = new_or_die(h, &pnode_type);
    pnode *p = new_or_die(h, &pnode_type);
    rcy_incref(shared);
    p->l = shared;
    rcy_decref(p);
    CHECK_EQ(rcy_refcount(shared), 1);
    CHECK(rcy_gc_is_tracked(shared));
    rcy_decref(shared);
}

int main(void)
{
    quick = getenv("RCY_TEST_QUICK") != NULL;
    rcy_heap *h = check_new_heap();
    test_trees(h);
    test_order(h);
    test_chain_to_resurrection(h);
    test_weak_child(h);
    test_other_heap(h);
    test_deep(h);
    test_shared_child(h);
    rcy_heap_destroy(h);
    return check_summary("test_death_loop");
}
