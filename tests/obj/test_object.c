/* SPDX-License-Identifier: MIT */
/* Tests for the object layer: reference counts follow the rules of the
 * seed article ("four increases, five decreases"), the order of death
 * (finalize, references dropped, destroy, memory freed), finalize-once
 * and resurrection, type/heap queries, payload layout, deep cascades on a
 * small C stack, large objects, payloads too big to allocate, saturated
 * counts, and misuse that must abort (the count checks in checked builds).
 *
 * Written against the public header only. RCY_TEST_QUICK=1 shrinks the
 * big structures (used under valgrind). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "recycle.h"

static int quick;

/* ---------------------------------------------------------------- */
/* A leaf type: no references, so never tracked.                    */
/* ---------------------------------------------------------------- */

typedef struct leaf {
    long value;
} leaf;

static size_t leaf_destroyed;
static void leaf_destroy(void *self)
{
    (void)self;
    leaf_destroyed++;
}
static const rcy_type leaf_type = {"leaf", sizeof(leaf), NULL, NULL, leaf_destroy};

/* ---------------------------------------------------------------- */
/* A "list" container: a growable array of references.              */
/* ---------------------------------------------------------------- */

typedef struct list {
    void **items;
    size_t len, cap;
} list;

static size_t list_destroyed, list_destroy_saw_nonnull;

static void list_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    list *l = self;
    for (size_t i = 0; i < l->len; i++)
        visit(&l->items[i], arg);
}
static void list_destroy(void *self)
{
    list *l = self;
    for (size_t i = 0; i < l->len; i++)
        if (l->items[i])
            list_destroy_saw_nonnull++;
    free(l->items);
    l->items = NULL;
    list_destroyed++;
}
static const rcy_type list_type = {"list", sizeof(list), list_traverse, NULL, list_destroy};

/* Takes a new reference to o (the container owns it). */
static void list_append(list *l, void *o)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        void **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            abort();
        l->items = items;
        l->cap = cap;
    }
    rcy_incref(o);
    l->items[l->len++] = o;
}
/* Removes the first occurrence of o and drops the container's reference. */
static int list_remove(list *l, void *o)
{
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i] == o) {
            memmove(&l->items[i], &l->items[i + 1], (l->len - i - 1) * sizeof *l->items);
            l->len--;
            rcy_decref(o);
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Reference-count rules                                            */
/* ---------------------------------------------------------------- */

/* A plain C struct that owns a reference ("binding another name"). */
typedef struct holder {
    void *ref;
} holder;

static void holder_bind(holder *hd, void *o)
{
    rcy_xincref(o);
    void *old = hd->ref;
    hd->ref = o;
    rcy_xdecref(old);
}

static void *kept; /* a reference kept by keep_it() */
static void keep_it(void *o)
{
    rcy_incref(o);
    kept = o;
}

/* A function that owns its argument while it runs (Python's argument
 * passing): the count is one higher inside, back when it returns. */
static size_t count_inside;
static void use_arg(void *o)
{
    rcy_incref(o);
    count_inside = rcy_refcount(o);
    rcy_decref(o);
}

static void test_count_rules(rcy_heap *h)
{
    leaf_destroyed = 0;
    leaf *x = rcy_new(h, &leaf_type);
    CHECK(x != NULL);
    if (!x)
        return;
    CHECK_EQ(rcy_refcount(x), 1); /* creation */

    holder a = {NULL};
    holder_bind(&a, x);
    CHECK_EQ(rcy_refcount(x), 2); /* a second owner */

    use_arg(x);
    CHECK_EQ(count_inside, 3);    /* passed as an argument */
    CHECK_EQ(rcy_refcount(x), 2); /* the function returned */

    keep_it(x);
    CHECK_EQ(rcy_refcount(x), 3); /* a function that keeps it */

    list *l = rcy_new(h, &list_type);
    CHECK(l != NULL);
    if (!l)
        return;
    list_append(l, x);
    CHECK_EQ(rcy_refcount(x), 4); /* put in a container */
    list_append(l, x);
    CHECK_EQ(rcy_refcount(x), 5); /* twice */

    /* the decreases */
    leaf *y = rcy_new(h, &leaf_type);
    holder_bind(&a, y); /* rebinding drops the old object */
    CHECK_EQ(rcy_refcount(x), 4);
    CHECK_EQ(rcy_refcount(y), 2);
    rcy_decref(y); /* our local goes away: a's binding keeps y */
    CHECK_EQ(rcy_refcount(y), 1);

    rcy_decref(kept); /* "del" of the kept name */
    kept = NULL;
    CHECK_EQ(rcy_refcount(x), 3);

    CHECK(list_remove(l, x)); /* removed from the container */
    CHECK_EQ(rcy_refcount(x), 2);

    size_t before = list_destroyed;
    list_destroy_saw_nonnull = 0;
    rcy_decref(l); /* the container dies: its references go */
    CHECK_EQ(list_destroyed, before + 1);
    CHECK_EQ(list_destroy_saw_nonnull, 0);
    CHECK_EQ(rcy_refcount(x), 1);
    CHECK_EQ(leaf_destroyed, 0);

    rcy_decref(x); /* last reference: dies at once */
    CHECK_EQ(leaf_destroyed, 1);

    holder_bind(&a, NULL);
    CHECK_EQ(leaf_destroyed, 2); /* y */
}

/* A container dying drops every element; elements it alone owned die. */
static void test_container_death(rcy_heap *h)
{
    leaf_destroyed = 0;
    list *l = rcy_new(h, &list_type);
    leaf *shared = rcy_new(h, &leaf_type);
    for (int i = 0; i < 100; i++) {
        leaf *e = rcy_new(h, &leaf_type);
        e->value = i;
        list_append(l, e);
        rcy_decref(e); /* the list is now the only owner */
        CHECK_EQ(rcy_refcount(e), 1);
    }
    list_append(l, shared);
    list_append(l, shared);
    CHECK_EQ(rcy_refcount(shared), 3);
    rcy_decref(l);
    CHECK_EQ(leaf_destroyed, 100);
    CHECK_EQ(rcy_refcount(shared), 1);
    rcy_decref(shared);
    CHECK_EQ(leaf_destroyed, 101);
}

/* 1000 increfs then 1000 decrefs give back the starting count. */
static void test_incref_decref_balance(rcy_heap *h)
{
    leaf_destroyed = 0;
    leaf *x = rcy_new(h, &leaf_type);
    for (int i = 0; i < 1000; i++)
        rcy_incref(x);
    CHECK_EQ(rcy_refcount(x), 1001);
    for (int i = 0; i < 1000; i++)
        rcy_decref(x);
    CHECK_EQ(rcy_refcount(x), 1);
    CHECK_EQ(leaf_destroyed, 0);
    rcy_xincref(NULL);
    rcy_xdecref(NULL);
    rcy_xincref(x);
    CHECK_EQ(rcy_refcount(x), 2);
    rcy_xdecref(x);
    rcy_xdecref(x);
    CHECK_EQ(leaf_destroyed, 1);
}

/* ---------------------------------------------------------------- */
/* Order of death                                                   */
/* ---------------------------------------------------------------- */

typedef struct pair {
    void *a, *b;
    int id;
} pair;

static char events[64][16];
static int nevents;
static void event(const char *what, int id)
{
    if (nevents < 64)
        (void)snprintf(events[nevents++], sizeof events[0], "%s%d", what, id); /* short names */
}

static int fin_slots_nonnull, destroy_slots_null;
static void pair_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    pair *p = self;
    visit(&p->a, arg);
    visit(&p->b, arg);
}
static void pair_finalize(void *self)
{
    pair *p = self;
    event("F", p->id);
    if (p->a && p->b)
        fin_slots_nonnull++;
}
static void pair_destroy(void *self)
{
    pair *p = self;
    event("D", p->id);
    if (!p->a && !p->b)
        destroy_slots_null++;
}
static const rcy_type pair_type = {"pair", sizeof(pair), pair_traverse, pair_finalize,
                                   pair_destroy};

static size_t heap_bytes_in_use(rcy_heap *h)
{
    rcy_mem_stats st;
    rcy_mem_get_stats(h, &st);
    return st.bytes_in_use;
}

static int event_index(const char *e)
{
    for (int i = 0; i < nevents; i++)
        if (strcmp(events[i], e) == 0)
            return i;
    return -1;
}

static void test_death_order(void)
{
    rcy_heap *h = check_new_heap();
    nevents = 0;
    fin_slots_nonnull = destroy_slots_null = 0;
    size_t bytes0 = heap_bytes_in_use(h);

    pair *p = rcy_new(h, &pair_type);
    pair *c1 = rcy_new(h, &pair_type);
    pair *c2 = rcy_new(h, &pair_type);
    leaf *l1 = rcy_new(h, &leaf_type);
    leaf *l2 = rcy_new(h, &leaf_type);
    p->id = 1;
    c1->id = 2;
    c2->id = 3;
    c1->a = l1; /* children own the leaves */
    c1->b = l2;
    rcy_incref(l2);
    c2->a = l2;
    c2->b = rcy_new(h, &leaf_type);
    p->a = c1; /* the parent owns the children */
    p->b = c2;
    CHECK(heap_bytes_in_use(h) > bytes0);

    leaf_destroyed = 0;
    rcy_decref(p);
    CHECK_EQ(leaf_destroyed, 3);
    CHECK_EQ(nevents, 6);
    CHECK_EQ(fin_slots_nonnull, 3);  /* finalize saw its references */
    CHECK_EQ(destroy_slots_null, 3); /* destroy saw them dropped */
    for (int id = 1; id <= 3; id++) {
        char f[8], d[8];
        (void)snprintf(f, sizeof f, "F%d", id); /* id < 10: fits */
        (void)snprintf(d, sizeof d, "D%d", id);
        CHECK(event_index(f) >= 0);
        CHECK(event_index(d) > event_index(f));
    }
    /* the parent's finalizer runs before its children lose their owner */
    CHECK(event_index("F1") < event_index("F2"));
    CHECK(event_index("F1") < event_index("F3"));
    CHECK_EQ(heap_bytes_in_use(h), bytes0); /* memory went back */
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Finalize once, resurrection                                      */
/* ---------------------------------------------------------------- */

typedef struct phoenix {
    void *child;
    int rise; /* resurrect when finalized */
} phoenix;

static void *graveyard; /* where a resurrected phoenix lives on */
static int phoenix_finalized, phoenix_destroyed, phoenix_child_seen;

static void phoenix_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((phoenix *)self)->child, arg);
}
static void phoenix_finalize(void *self)
{
    phoenix *p = self;
    phoenix_finalized++;
    if (p->child)
        phoenix_child_seen++;
    if (p->rise) {
        rcy_incref(self);
        graveyard = self;
    }
}
static void phoenix_destroy(void *self)
{
    (void)self;
    phoenix_destroyed++;
}
static const rcy_type phoenix_type = {"phoenix", sizeof(phoenix), phoenix_traverse,
                                      phoenix_finalize, phoenix_destroy};

static void test_finalize_once_and_resurrection(rcy_heap *h)
{
    phoenix_finalized = phoenix_destroyed = phoenix_child_seen = 0;
    leaf_destroyed = 0;

    /* no resurrection: finalize once, then death */
    phoenix *p = rcy_new(h, &phoenix_type);
    CHECK(!rcy_gc_is_finalized(p));
    rcy_decref(p);
    CHECK_EQ(phoenix_finalized, 1);
    CHECK_EQ(phoenix_destroyed, 1);

    /* resurrection: the object lives on with its references intact */
    phoenix_finalized = phoenix_destroyed = 0;
    p = rcy_new(h, &phoenix_type);
    leaf *child = rcy_new(h, &leaf_type);
    child->value = 42;
    p->child = child;
    p->rise = 1;
    graveyard = NULL;
    rcy_decref(p);
    CHECK_EQ(phoenix_finalized, 1);
    CHECK_EQ(phoenix_child_seen, 1);
    CHECK_EQ(phoenix_destroyed, 0);
    CHECK(graveyard == p);
    CHECK_EQ(rcy_refcount(p), 1);
    CHECK(rcy_gc_is_finalized(p));
    CHECK(p->child == child);
    CHECK_EQ(leaf_destroyed, 0);
    CHECK_EQ(child->value, 42);
    CHECK_EQ(rcy_refcount(child), 1);
    CHECK(rcy_typeof(p) == &phoenix_type);

    /* it can be used as before */
    rcy_incref(p);
    CHECK_EQ(rcy_refcount(p), 2);
    rcy_decref(p);
    CHECK_EQ(phoenix_finalized, 1);

    /* the second death does not finalize again */
    graveyard = NULL;
    rcy_decref(p);
    CHECK_EQ(phoenix_finalized, 1);
    CHECK_EQ(phoenix_destroyed, 1);
    CHECK_EQ(leaf_destroyed, 1);
    CHECK(graveyard == NULL);
}

/* ---------------------------------------------------------------- */
/* Queries and payload layout                                       */
/* ---------------------------------------------------------------- */

static void test_queries(void)
{
    rcy_heap *h1 = rcy_heap_new(), *h2 = rcy_heap_new();
    CHECK(h1 && h2);
    if (!h1 || !h2)
        return;
    leaf *a = rcy_new(h1, &leaf_type);
    leaf *b = rcy_new(h2, &leaf_type);
    list *l = rcy_new(h2, &list_type);
    CHECK(rcy_heap_of(a) == h1);
    CHECK(rcy_heap_of(b) == h2);
    CHECK(rcy_heap_of(l) == h2);
    CHECK(rcy_typeof(a) == &leaf_type);
    CHECK(rcy_typeof(l) == &list_type);
    CHECK_EQ(rcy_header_size(&leaf_type), 8);
    CHECK_EQ(rcy_header_size(&list_type), 8);
    CHECK(!rcy_gc_is_tracked(a));
    CHECK(rcy_gc_is_tracked(l));
    rcy_decref(a);
    rcy_decref(b);
    rcy_decref(l);
    rcy_heap_destroy(h1);
    rcy_heap_destroy(h2);
    rcy_heap_destroy(NULL); /* no-op */
}

static void test_new_sized(rcy_heap *h)
{
    static const size_t sizes[] = {0,   1,   7,   15,  16,   17,   100,   480,
                                   496, 500, 512, 513, 1000, 5000, 100000};
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            const rcy_type *t = pass ? &list_type : &leaf_type;
            if (pass && n < sizeof(list))
                continue; /* the list's traverse reads its whole struct */
            /* fill and free one first, so a reused block would show dirt */
            unsigned char *dirty = rcy_new_sized(h, &leaf_type, n);
            CHECK(dirty != NULL);
            if (dirty) {
                memset(dirty, 0xAB, n);
                rcy_decref(dirty);
            }
            unsigned char *p = rcy_new_sized(h, t, n);
            CHECK(p != NULL);
            if (!p)
                continue;
            CHECK_EQ((uintptr_t)p % 8, 0);
            size_t nonzero = 0;
            for (size_t k = 0; k < n; k++)
                nonzero += p[k] != 0;
            CHECK_EQ(nonzero, 0);
            if (n)
                memset(p, 0x5A, n); /* the whole payload is writable */
            CHECK(rcy_typeof(p) == t);
            CHECK(rcy_heap_of(p) == h); /* large ones too: see RCY_GC_LARGE */
            CHECK_EQ(rcy_refcount(p), 1);
            if (pass) /* an empty list again, so death is clean */
                memset(p, 0, sizeof(list));
            rcy_decref(p);
        }
    }
    /* rcy_new payloads are 8-byte aligned too */
    for (int i = 0; i < 64; i++) {
        void *p = rcy_new(h, i & 1 ? &list_type : &leaf_type);
        CHECK_EQ((uintptr_t)p % 8, 0);
        rcy_decref(p);
    }
}

/* rcy_new and rcy_new_sized of one type, interleaved, each with every
   byte of its payload written: the heap caches where each comes from
   under different keys, and a mix-up would hand out a block too small
   (the patterns would overlap, and ASan would see it). */
static void test_new_and_sized_interleaved(rcy_heap *h)
{
    enum { N = 300, BIG = 200 };
    unsigned char *objs[N];
    size_t sizes[N];
    for (int i = 0; i < N; i++) {
        sizes[i] = i % 3 == 1 ? BIG : i % 3 == 2 ? (size_t)(i % 64) : sizeof(leaf);
        objs[i] = i % 3 == 0 ? rcy_new(h, &leaf_type) : rcy_new_sized(h, &leaf_type, sizes[i]);
        CHECK(objs[i] != NULL);
        if (objs[i])
            memset(objs[i], i & 0xFF, sizes[i]);
    }
    size_t bad = 0;
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; objs[i] && k < sizes[i]; k++)
            bad += objs[i][k] != (unsigned char)(i & 0xFF);
        CHECK(!objs[i] || rcy_typeof(objs[i]) == &leaf_type);
    }
    CHECK_EQ(bad, 0);
    for (int i = 0; i < N; i++)
        rcy_xdecref(objs[i]);
}

/* ---------------------------------------------------------------- */
/* Deep cascades on a small stack                                   */
/* ---------------------------------------------------------------- */

typedef struct chain {
    void *next;
} chain;

static size_t chain_destroyed;
static void chain_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((chain *)self)->next, arg);
}
static void chain_destroy(void *self)
{
    if (((chain *)self)->next)
        abort(); /* a slot left set: stop loudly */
    chain_destroyed++;
}
static const rcy_type chain_type = {"chain", sizeof(chain), chain_traverse, NULL, chain_destroy};

static size_t chain_finalized;
static void chainf_finalize(void *self)
{
    (void)self;
    chain_finalized++;
}
static const rcy_type chainf_type = {"chainf", sizeof(chain), chain_traverse, chainf_finalize,
                                     chain_destroy};

typedef struct tree {
    void *left, *right;
} tree;
static size_t tree_destroyed;
static void tree_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    tree *t = self;
    visit(&t->left, arg);
    visit(&t->right, arg);
}
static void tree_destroy(void *self)
{
    tree *t = self;
    if (t->left || t->right)
        abort();
    tree_destroyed++;
}
static const rcy_type tree_type = {"tree", sizeof(tree), tree_traverse, NULL, tree_destroy};

static void *build_chain(rcy_heap *h, const rcy_type *t, size_t n)
{
    chain *head = NULL;
    for (size_t i = 0; i < n; i++) {
        chain *c = rcy_new(h, t);
        if (!c)
            abort();
        c->next = head; /* takes over our reference */
        head = c;
    }
    return head;
}

/* A complete binary tree of the given depth, built without recursion:
 * level by level from the leaves up. */
static void *build_tree(rcy_heap *h, int depth, size_t *count)
{
    size_t width = (size_t)1 << depth;
    void **level = malloc(width * sizeof *level);
    if (!level)
        abort();
    for (size_t i = 0; i < width; i++)
        level[i] = rcy_new(h, &tree_type);
    *count = width;
    while (width > 1) {
        for (size_t i = 0; i < width / 2; i++) {
            tree *t = rcy_new(h, &tree_type);
            t->left = level[2 * i];
            t->right = level[2 * i + 1];
            level[i] = t;
        }
        width /= 2;
        *count += width;
    }
    void *root = level[0];
    free(level);
    return root;
}

/* A long spine where every node also owns a leaf and a small side chain:
 * deaths of several types interleave. */
static void *build_caterpillar(rcy_heap *h, size_t n)
{
    tree *head = NULL;
    for (size_t i = 0; i < n; i++) {
        tree *t = rcy_new(h, &tree_type);
        t->left = head;
        t->right = (i % 3) ? (void *)rcy_new(h, &leaf_type) : build_chain(h, &chain_type, 3);
        head = t;
    }
    return head;
}

static void test_deep_cascades(void)
{
    rcy_heap *h = rcy_heap_new();
    if (!h) {
        CHECK(h != NULL);
        return;
    }
    rcy_gc_disable(h); /* only refcounting is measured here */

    size_t n = quick ? 1000000 : 10000000;
    chain_destroyed = 0;
    CHECK(check_decref_on_small_stack(build_chain(h, &chain_type, n)));
    CHECK_EQ(chain_destroyed, n);

    /* with finalizers on every node */
    n = quick ? 100000 : 1000000;
    chain_destroyed = chain_finalized = 0;
    CHECK(check_decref_on_small_stack(build_chain(h, &chainf_type, n)));
    CHECK_EQ(chain_finalized, n);
    CHECK_EQ(chain_destroyed, n);

    /* a complete binary tree */
    size_t count = 0;
    tree_destroyed = 0;
    CHECK(check_decref_on_small_stack(build_tree(h, quick ? 16 : 20, &count)));
    CHECK_EQ(tree_destroyed, count);

    /* a long spine with side structures of mixed types */
    n = quick ? 100000 : 1000000;
    tree_destroyed = chain_destroyed = leaf_destroyed = 0;
    CHECK(check_decref_on_small_stack(build_caterpillar(h, n)));
    CHECK_EQ(tree_destroyed, n);
    CHECK_EQ(chain_destroyed, 3 * ((n + 2) / 3));
    CHECK_EQ(leaf_destroyed, n - (n + 2) / 3);

    /* and once more with the collector on: automatic collections during
       the build must not disturb the chain */
    rcy_gc_enable(h);
    n = quick ? 100000 : 1000000;
    chain_destroyed = 0;
    CHECK(check_decref_on_small_stack(build_chain(h, &chain_type, n)));
    CHECK_EQ(chain_destroyed, n);
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Misuse (checked builds abort with a message)                     */
/* ---------------------------------------------------------------- */

static const rcy_type victim_type = {"victim_type", sizeof(pair), pair_traverse, NULL, NULL};
static const rcy_type victim_leaf_type = {"victim_leaf", 32, NULL, NULL, NULL};

static void misuse_double_decref(void *arg)
{
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new(h, (const rcy_type *)arg);
    rcy_decref(o);
    rcy_decref(o); /* dead: must abort */
}
static void misuse_incref_dead(void *arg)
{
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new(h, (const rcy_type *)arg);
    rcy_decref(o);
    rcy_incref(o); /* freed: must abort */
}

/* A finalizer that drops a reference it does not own: the count goes
 * below zero while the object is being finalized. */
static void bad_finalize(void *self)
{
    rcy_decref(self);
}
static const rcy_type below_zero_type = {"below_zero_type", 16, NULL, bad_finalize, NULL};
static void misuse_below_zero(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new(h, &below_zero_type);
    rcy_decref(o);
}

/* rcy_new checks its type pointer in every build. */
static void misuse_new_null_type(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new(h, NULL);
    (void)o;
}
static void misuse_new_misaligned_type(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    const rcy_type *t = (const rcy_type *)(const void *)((const char *)&leaf_type + 1);
    void *o = rcy_new_sized(h, t, 8);
    (void)o;
}

/* Checked builds look at the pointer before its count. */
static void misuse_incref_null(void *arg)
{
    (void)arg;
    void *o = NULL;
    rcy_incref(o);
}
static void misuse_decref_interior(void *arg)
{
    rcy_heap *h = rcy_heap_new();
    char *o = rcy_new(h, (const rcy_type *)arg);
    rcy_decref(o + 4);
}

/* A destroy callback that takes a reference to its dying object: its
 * memory is still live, but its count is 0 for good. */
static void grab_destroy(void *self)
{
    rcy_incref(self);
}
static const rcy_type grabber_type = {"grabber_type", 16, NULL, NULL, grab_destroy};
static void misuse_incref_in_destroy(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    rcy_decref(rcy_new(h, &grabber_type));
}

/* rcy_free of an object (small or large, collectable or not) is caught in
 * every build and says what the pointer is and what releases it. */
static const rcy_type big_type = {"big_type", 2000, NULL, NULL, NULL};
static void misuse_free_object(void *arg)
{
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new(h, (const rcy_type *)arg);
    rcy_free(h, o);
}

/* rcy_decref of pointers that were never objects (checked builds). */
static void misuse_decref_malloc(void *arg)
{
    size_t n = *(const size_t *)arg;
    rcy_heap *h = rcy_heap_new();
    (void)h;
    char *p = malloc(n);
    memset(p, 0, n);
    rcy_decref(p + 16);
}
static void misuse_decref_rcy_malloc(void *arg)
{
    size_t n = *(const size_t *)arg;
    rcy_heap *h = rcy_heap_new();
    char *p = rcy_malloc(h, n);
    rcy_decref(p);
}
static void misuse_decref_static(void *arg)
{
    (void)arg;
    static uint64_t words[8];
    rcy_decref(&words[4]);
}

/* Runs fn in a child and checks it aborts with a message holding each of
   the words (NULL-terminated), which name the type and the remedy. */
static void expect_abort_saying(void (*fn)(void *), void *arg, const char *const *words)
{
    char msg[4096];
    int aborted = check_aborts(fn, arg, "recycle", msg, sizeof msg);
    int said = 1;
    for (size_t i = 0; words[i]; i++)
        said &= strstr(msg, words[i]) != NULL;
    CHECK(aborted && said);
    if (!aborted || !said)
        fprintf(stderr, "  (child stderr: %s)\n", msg);
}

static void expect_abort(void (*fn)(void *), void *arg, const char *type_name)
{
    const char *const words[] = {type_name ? type_name : "recycle", NULL};
    expect_abort_saying(fn, arg, words);
}

static void test_misuse_foreign(void)
{
    expect_abort_saying(misuse_free_object, (void *)&victim_type,
                        (const char *const[]){"object", "victim_type", "rcy_decref", NULL});
    expect_abort_saying(misuse_free_object, (void *)&victim_leaf_type,
                        (const char *const[]){"object", "victim_leaf", "rcy_decref", NULL});
    expect_abort_saying(misuse_free_object, (void *)&big_type,
                        (const char *const[]){"object", "big_type", "rcy_decref", NULL});
#if RCY_CHECK_LEVEL >= 1
    static const char *const not_object[] = {"not a recycle object", NULL};
    expect_abort_saying(misuse_decref_malloc, &(size_t){64}, not_object);
    expect_abort_saying(misuse_decref_malloc, &(size_t){100000}, not_object);
    expect_abort_saying(misuse_decref_rcy_malloc, &(size_t){64}, not_object);
    expect_abort_saying(misuse_decref_rcy_malloc, &(size_t){4000}, not_object);
    expect_abort_saying(misuse_decref_static, NULL, not_object);
#else
    (void)misuse_decref_malloc;
    (void)misuse_decref_rcy_malloc;
    (void)misuse_decref_static;
#endif
}

static void test_misuse(void)
{
    test_misuse_foreign();
#if RCY_CHECK_LEVEL >= 1
    expect_abort(misuse_double_decref, (void *)&victim_type, "victim_type");
    expect_abort(misuse_double_decref, (void *)&victim_leaf_type, "victim_leaf");
    expect_abort(misuse_incref_dead, (void *)&victim_type, "victim_type");
    expect_abort(misuse_incref_dead, (void *)&victim_leaf_type, "victim_leaf");
    expect_abort(misuse_below_zero, NULL, "below_zero_type");
    expect_abort(misuse_incref_null, NULL, "not an object pointer");
    expect_abort(misuse_decref_interior, (void *)&victim_leaf_type, "not an object pointer");
    expect_abort(misuse_incref_in_destroy, NULL, "'grabber_type' has reference count 0");
#else
    (void)misuse_double_decref;
    (void)misuse_incref_dead;
    (void)misuse_below_zero;
    (void)misuse_incref_null;
    (void)misuse_decref_interior;
    (void)misuse_incref_in_destroy;
    (void)victim_type;
    (void)victim_leaf_type;
    printf("test_object: count misuse aborts skipped (RCY_CHECK_LEVEL %d)\n", RCY_CHECK_LEVEL);
#endif
    expect_abort(misuse_new_null_type, NULL, "not a valid rcy_type pointer");
    expect_abort(misuse_new_misaligned_type, NULL, "not a valid rcy_type pointer");
}

/* Objects of many types at once: more (type, size) pairs than the
   creation cache holds, interleaved, so its entries are evicted and
   refilled. Each object still reports its own type (which lives in its
   pool, not in its header), cycles among them are collected, and all of
   their memory comes back. */
typedef struct chain_link {
    void *next;
} chain_link;
static void link_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((chain_link *)self)->next, arg);
}

static void test_many_types(void)
{
    enum { TYPES = 200, ROUNDS = 20 };
    static rcy_type types[TYPES];
    static char names[TYPES][16];
    for (int i = 0; i < TYPES; i++) {
        (void)snprintf(names[i], sizeof names[i], "type%d", i); /* i < TYPES: fits */
        /* odd types are collectable; sizes cover many 8-byte classes */
        types[i] = (rcy_type){names[i], sizeof(chain_link) + (size_t)(i % 40) * 8,
                              i % 2 ? link_traverse : NULL, NULL, NULL};
    }
    rcy_heap *h = rcy_heap_new();
    CHECK(h != NULL);
    if (!h)
        return;
    rcy_gc_disable(h);
    rcy_mem_stats s0, s;
    rcy_mem_get_stats(h, &s0);
    static void *objs[ROUNDS][TYPES];
    int wrong_type = 0, misaligned = 0;
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < TYPES; i++) {
            objs[r][i] = rcy_new(h, &types[i]);
            CHECK(objs[r][i] != NULL);
            misaligned += ((uintptr_t)objs[r][i] % 8) != 0;
        }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < TYPES; i++)
            wrong_type += rcy_typeof(objs[r][i]) != &types[i];
    CHECK_EQ(wrong_type, 0);
    CHECK_EQ(misaligned, 0);
    /* each collectable object of round r points to its twin of round
       r + 1, the last round back to the first: rings of ROUNDS objects */
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 1; i < TYPES; i += 2) {
            chain_link *l = objs[r][i];
            l->next = objs[(r + 1) % ROUNDS][i];
            rcy_incref(l->next);
        }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < TYPES; i++)
            rcy_decref(objs[r][i]);
    CHECK_EQ(rcy_gc_collect(h, -1), (size_t)ROUNDS * (TYPES / 2));
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.small_bytes_used, s0.small_bytes_used);
    rcy_heap_destroy(h);
}

/* ---------------------------------------------------------------- */
/* Large objects, failed creation, saturated counts                 */
/* ---------------------------------------------------------------- */

/* Objects over RCY_SMALL_MAX come from the large path; the collector
   walks them as it walks pooled ones: they are listed, and a cycle of
   them is collected. */
typedef struct big_node {
    void *next;
    char pad[1000];
} big_node;
static size_t big_destroyed;
static void big_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((big_node *)self)->next, arg);
}
static void big_destroy(void *self)
{
    (void)self;
    big_destroyed++;
}
static const rcy_type big_node_type = {"big_node", sizeof(big_node), big_traverse, NULL,
                                       big_destroy};

static void count_big(void *o, void *arg)
{
    if (rcy_typeof(o) == &big_node_type)
        ++*(size_t *)arg;
}

static void test_large_objects(void)
{
    enum { RING = 8 };
    rcy_heap *h = rcy_heap_new();
    CHECK(h != NULL);
    if (!h)
        return;
    rcy_gc_disable(h);
    rcy_mem_stats s0, s;
    rcy_mem_get_stats(h, &s0);
    big_node *ring[RING];
    for (int i = 0; i < RING; i++) {
        ring[i] = rcy_new(h, &big_node_type);
        CHECK(ring[i] != NULL);
        if (!ring[i])
            return;
    }
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.large_blocks, s0.large_blocks + RING);
    for (int i = 0; i < RING; i++) {
        ring[i]->next = ring[(i + 1) % RING];
        rcy_incref(ring[i]->next);
    }
    for (int i = 0; i < RING; i++)
        rcy_decref(ring[i]);
    big_destroyed = 0;
    size_t listed = 0;
    CHECK_EQ(rcy_gc_get_objects(h, -1, count_big, &listed), 0);
    CHECK_EQ(listed, RING);
    CHECK_EQ(rcy_gc_collect(h, -1), RING);
    CHECK_EQ(big_destroyed, RING);
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.large_blocks, s0.large_blocks);
    CHECK_EQ(s.large_bytes, s0.large_bytes);

    /* a large payload through rcy_new_sized: zero-filled, freed at 0 */
    unsigned char *l = rcy_new_sized(h, &leaf_type, 5000);
    CHECK(l != NULL);
    if (l) {
        size_t nonzero = 0;
        for (size_t i = 0; i < 5000; i++)
            nonzero += l[i] != 0;
        CHECK_EQ(nonzero, 0);
        leaf_destroyed = 0;
        rcy_decref(l);
        CHECK_EQ(leaf_destroyed, 1);
    }
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.large_blocks, s0.large_blocks);
    rcy_heap_destroy(h);
}

/* A payload no allocation can hold: NULL with errno ENOMEM, and the heap
   goes on working. */
static void test_new_too_big(rcy_heap *h)
{
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 8, SIZE_MAX / 2};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        void *o = rcy_new_sized(h, &leaf_type, sizes[i]);
        CHECK(o == NULL);
        CHECK_EQ(errno, ENOMEM);
        errno = 0;
        o = rcy_new_sized(h, &list_type, sizes[i]);
        CHECK(o == NULL);
        CHECK_EQ(errno, ENOMEM);
    }
    leaf *ok = rcy_new(h, &leaf_type);
    CHECK(ok != NULL);
    rcy_xdecref(ok);
}

/* Counts saturate at RCY_IMMORTAL and such an object is never freed
   (include/recycle.h). Reaching the top by increfs would take 2^32 of
   them, so the count is set next to it through the header. */
static void test_saturated_count(void)
{
    rcy_heap *h = rcy_heap_new();
    CHECK(h != NULL);
    if (!h)
        return;
    leaf *o = rcy_new(h, &leaf_type);
    CHECK(o != NULL);
    if (!o)
        return;
    RCY_HEAD(o)->refcnt = RCY_IMMORTAL - 1;
    rcy_incref(o);
    CHECK_EQ(rcy_refcount(o), RCY_IMMORTAL);
    rcy_incref(o);
    CHECK_EQ(rcy_refcount(o), RCY_IMMORTAL);
    leaf_destroyed = 0;
    for (int i = 0; i < 3; i++)
        rcy_decref(o);
    CHECK_EQ(rcy_refcount(o), RCY_IMMORTAL);
    CHECK_EQ(leaf_destroyed, 0);
    o->value = 7; /* still the object's memory */
    CHECK_EQ(o->value, 7);
    rcy_heap_destroy(h);
}

/* A finalizer that resurrects its object, at the end of chains of every
   length up to well past the nesting at which death is queued instead of
   recursed (object.c): the object lives on, tracked again, finalized once. */
static void *lazarus_kept;
static size_t lazarus_finalized;
static void lazarus_finalize(void *self)
{
    lazarus_finalized++;
    rcy_incref(self);
    lazarus_kept = self;
}
static const rcy_type lazarus_type = {"lazarus", sizeof(chain), chain_traverse, lazarus_finalize,
                                      chain_destroy};

static void test_resurrection_in_cascade(void)
{
    rcy_heap *h = rcy_heap_new();
    CHECK(h != NULL);
    if (!h)
        return;
    rcy_gc_disable(h);
    int untracked = 0, wrong = 0;
    for (size_t len = 1; len <= 80; len++) {
        chain *tail = rcy_new(h, &lazarus_type);
        chain *head = tail;
        for (size_t i = 0; i < len; i++) {
            chain *c = rcy_new(h, &chain_type);
            c->next = head; /* takes over our reference */
            head = c;
        }
        lazarus_kept = NULL;
        lazarus_finalized = chain_destroyed = 0;
        rcy_decref(head);
        wrong += lazarus_kept != tail || lazarus_finalized != 1 || chain_destroyed != len ||
                 rcy_refcount(tail) != 1;
        untracked += !rcy_gc_is_tracked(tail);
        chain_destroyed = 0;
        rcy_decref(tail); /* dies for good, not finalized again */
        wrong += lazarus_finalized != 1 || chain_destroyed != 1;
    }
    CHECK_EQ(wrong, 0);
    CHECK_EQ(untracked, 0);
    rcy_heap_destroy(h);
}

int main(void)
{
    quick = check_quick();

    rcy_heap *h = rcy_heap_new();
    CHECK(h != NULL);
    if (!h)
        return check_summary("test_object");
    test_count_rules(h);
    test_container_death(h);
    test_incref_decref_balance(h);
    test_death_order();
    test_finalize_once_and_resurrection(h);
    test_queries();
    test_new_sized(h);
    test_new_and_sized_interleaved(h);
    test_new_too_big(h);
    rcy_heap_destroy(h);
    test_many_types();
    test_large_objects();
    test_saturated_count();
    test_resurrection_in_cascade();
    test_deep_cascades();
    test_misuse();
    return check_summary("test_object");
}
