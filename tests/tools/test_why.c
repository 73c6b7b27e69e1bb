/* SPDX-License-Identifier: MIT */
/* test_why: rcy_why_alive, the census and the dominator tree (tools/why.c,
 * census.c, dominators.c) on hand-built heaps whose answers are known:
 * chains through containers with many references, a target held only by
 * a garbage cycle, a target that is itself a root, frozen and untracked
 * objects, census growth, dominators of a diamond, a chain and a cycle,
 * and bad arguments. */
#include <errno.h>

#include "check.h"

/* pair: two references, found through the layout descriptor. */
typedef struct pair {
    void *a, *b;
} pair;
static const rcy_type pair_type = {
    "pair", sizeof(pair), NULL, NULL, NULL, RCY_REF_WORD(pair, a) | RCY_REF_WORD(pair, b)};

/* bag: a container of many references in an array it owns (rcy_malloc),
   found through its traverse: slots outside the payload. */
typedef struct bag {
    rcy_heap *h;
    size_t len;
    void **items;
    void *spare; /* in the payload, visited after the items */
} bag;
static void bag_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    bag *g = self;
    for (size_t i = 0; i < g->len; i++)
        visit(&g->items[i], arg);
    visit(&g->spare, arg);
}
static void bag_destroy(void *self)
{
    bag *g = self;
    rcy_free(g->h, g->items);
}
static const rcy_type bag_type = {"bag", sizeof(bag), bag_traverse, NULL, bag_destroy, 0};
static const rcy_type leaf_type = {"leaf", 24, NULL, NULL, NULL, 0};

static pair *new_pair(rcy_heap *h, void *a, void *b)
{
    pair *p = rcy_new(h, &pair_type);
    rcy_xincref(a);
    rcy_xincref(b);
    p->a = a;
    p->b = b;
    return p;
}

static bag *new_bag(rcy_heap *h, size_t n)
{
    bag *g = rcy_new(h, &bag_type);
    g->h = h;
    g->items = rcy_calloc(h, n, sizeof(void *));
    g->len = n;
    return g;
}

/* Records the chain rcy_why_alive reports. */
typedef struct chain {
    const void *obj[64];
    size_t offset[64];
    size_t n;
} chain;
static void record(const void *obj, size_t offset, void *arg)
{
    chain *c = arg;
    if (c->n < 64) {
        c->obj[c->n] = obj;
        c->offset[c->n] = offset;
    }
    c->n++;
}

static void test_chain_through_containers(void)
{
    rcy_heap *h = check_new_heap();
    bag *outer = new_bag(h, 1000); /* the root: held by this function */
    void *target = rcy_new(h, &leaf_type);
    pair *mid = new_pair(h, NULL, target);
    bag *inner = new_bag(h, 500);
    for (size_t i = 0; i < 1000; i++)
        outer->items[i] = rcy_new(h, &leaf_type);
    rcy_decref(outer->items[700]);
    outer->items[700] = inner; /* outer[700] -> inner */
    for (size_t i = 0; i < 500; i++)
        inner->items[i] = rcy_new(h, &leaf_type);
    rcy_decref(inner->items[321]);
    inner->items[321] = mid; /* inner[321] -> mid.b -> target */
    rcy_decref(target);      /* only mid holds it now */

    chain c = {0};
    CHECK_EQ(rcy_why_alive(h, target, record, &c), 4);
    CHECK_EQ(c.n, 4);
    CHECK(c.obj[0] == outer);
    CHECK(c.obj[1] == inner);
    CHECK(c.obj[2] == mid);
    CHECK(c.obj[3] == target);
    CHECK_EQ(c.offset[0], RCY_PATH_OUTSIDE | 700);
    CHECK_EQ(c.offset[1], RCY_PATH_OUTSIDE | 321);
    CHECK_EQ(c.offset[2], offsetof(pair, b));
    CHECK_EQ(c.offset[3], 0);
    CHECK_EQ(rcy_refcount(target), 1); /* the chain's references were given back */

    /* a shorter chain appears: the shortest is reported */
    outer->spare = mid;
    rcy_incref(mid);
    c.n = 0;
    CHECK_EQ(rcy_why_alive(h, target, record, &c), 3);
    CHECK(c.obj[0] == outer && c.obj[1] == mid);
    CHECK_EQ(c.offset[0], offsetof(bag, spare));
    /* fn may be NULL */
    CHECK_EQ(rcy_why_alive(h, target, NULL, NULL), 3);
    rcy_decref(outer);
    rcy_heap_destroy(h);
}

static void test_root_and_garbage(void)
{
    rcy_heap *h = check_new_heap();
    rcy_gc_disable(h);
    void *leaf = rcy_new(h, &leaf_type);
    chain c = {0};
    CHECK_EQ(rcy_why_alive(h, leaf, record, &c), 1); /* held by this function */
    CHECK(c.n == 1 && c.obj[0] == leaf && c.offset[0] == 0);

    /* a held object whose count exceeds its referrers is a root too */
    pair *holder = new_pair(h, leaf, NULL);
    c.n = 0;
    CHECK_EQ(rcy_why_alive(h, leaf, record, &c), 1);

    /* a garbage cycle a <-> b holding the target: 0, and a collection frees it */
    pair *a = new_pair(h, NULL, NULL), *b = new_pair(h, a, NULL);
    a->a = b;
    rcy_incref(b);
    void *target = rcy_new(h, &leaf_type);
    b->b = target;
    rcy_decref(a);
    rcy_decref(b);
    c.n = 0;
    CHECK_EQ(rcy_why_alive(h, target, record, &c), 0);
    CHECK_EQ(c.n, 0);
    CHECK_EQ(rcy_why_alive(h, a, NULL, NULL), 0);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);

    rcy_decref(holder);
    rcy_decref(leaf);
    rcy_heap_destroy(h);
}

static void test_frozen_and_untracked(void)
{
    rcy_heap *h = check_new_heap();
    rcy_gc_disable(h);
    /* an untracked holder's references count as from outside, as for the
       collector: what only it holds is a root */
    void *target = rcy_new(h, &leaf_type);
    pair *u = new_pair(h, target, NULL);
    rcy_decref(target);
    rcy_gc_untrack(u);
    CHECK(!rcy_gc_is_tracked(u));
    CHECK_EQ(rcy_why_alive(h, target, NULL, NULL), 1);
    /* an untracked object in a cycle with a tracked one: never garbage */
    pair *t = new_pair(h, u, NULL);
    u->b = t;
    rcy_incref(t);
    rcy_decref(t);
    rcy_decref(u); /* u <-> t, u untracked */
    chain c = {0};
    CHECK_EQ(rcy_why_alive(h, t, record, &c), 1);
    CHECK(c.obj[0] == t);
    CHECK_EQ(rcy_gc_collect(h, -1), 0);
    /* an untracked target held by a tracked root: a chain through it */
    pair *root = new_pair(h, NULL, NULL);
    pair *v = new_pair(h, NULL, NULL);
    rcy_gc_untrack(v);
    root->b = v;
    c.n = 0;
    CHECK_EQ(rcy_why_alive(h, v, record, &c), 2);
    CHECK(c.obj[0] == root && c.obj[1] == v && c.offset[0] == offsetof(pair, b));

    /* frozen objects are never collected: a frozen cycle and what it holds
       are held from outside the collected set */
    pair *fa = new_pair(h, NULL, NULL), *fb = new_pair(h, fa, NULL);
    fa->a = fb;
    rcy_incref(fb);
    void *held = rcy_new(h, &leaf_type);
    fb->b = held;
    rcy_decref(fb);
    rcy_gc_freeze(h);
    rcy_decref(fa); /* fa <-> fb, frozen, unreferenced */
    CHECK_EQ(rcy_why_alive(h, held, NULL, NULL), 1);
    CHECK_EQ(rcy_why_alive(h, fa, NULL, NULL), 1);
    rcy_gc_unfreeze(h);
    /* unfrozen, the same cycle is garbage */
    CHECK_EQ(rcy_why_alive(h, held, NULL, NULL), 0);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    rcy_decref(root);
    rcy_heap_destroy(h);
}

static void test_bad_arguments(void)
{
    rcy_heap *h = check_new_heap(), *other = check_new_heap();
    void *leaf = rcy_new(h, &leaf_type);
    void *raw = rcy_malloc(h, 40);
    void *elsewhere = rcy_new(other, &leaf_type);
    int on_stack;
    errno = 0;
    CHECK_EQ(rcy_why_alive(h, NULL, NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_why_alive(NULL, leaf, NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_why_alive(h, raw, NULL, NULL), -1); /* a block, not an object */
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_why_alive(h, &on_stack, NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_why_alive(h, elsewhere, NULL, NULL), -1); /* another heap's */
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_why_alive(h, (char *)leaf + 8, NULL, NULL), -1); /* inside an object */
    CHECK_EQ(errno, EINVAL);
    CHECK(rcy_dominators_compute(NULL) == NULL);
    CHECK_EQ(rcy_dominators_retained(NULL, leaf), 0);
    CHECK(rcy_dominators_idom(NULL, leaf) == NULL);
    rcy_free(h, raw);
    rcy_decref(leaf);
    /* a dead object is no longer one */
    void *gone = rcy_new(h, &leaf_type);
    void *keep = rcy_new(h, &leaf_type);
    rcy_decref(gone);
    errno = 0;
    CHECK_EQ(rcy_why_alive(h, gone, NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    rcy_decref(keep);
    rcy_decref(elsewhere);
    rcy_heap_destroy(other);
    rcy_heap_destroy(h);
}

static size_t census_count(const rcy_census *c, const char *name, size_t *bytes)
{
    size_t n;
    const rcy_census_entry *e = rcy_census_entries(c, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0) {
            if (bytes)
                *bytes = e[i].bytes;
            return e[i].count;
        }
    return 0;
}

static void test_census_growth(void)
{
    rcy_heap *h = check_new_heap();
    void *keep[300];
    for (int i = 0; i < 100; i++)
        keep[i] = rcy_new(h, &leaf_type);
    void *big = rcy_new_sized(h, &leaf_type, 4000); /* a large object */
    void *raw = rcy_malloc(h, 100);
    rcy_census *before = rcy_census_take(h);
    size_t bytes = 0;
    CHECK_EQ(census_count(before, "leaf", &bytes), 101);
    CHECK_EQ(bytes, 100 * 32 + 4008);
    CHECK_EQ(census_count(before, "(raw blocks)", NULL), 1);
    for (int i = 100; i < 300; i++)
        keep[i] = (i % 2) ? rcy_new(h, &leaf_type) : (void *)new_pair(h, NULL, NULL);
    rcy_census *after = rcy_census_take(h);
    CHECK_EQ(census_count(after, "leaf", NULL), 201);
    CHECK_EQ(census_count(after, "pair", NULL), 100);
    rcy_census_growth g[8];
    size_t n = rcy_census_growth_of(before, after, g, 8);
    CHECK_EQ(n, 2);
    CHECK(strcmp(g[0].name, "leaf") == 0 || strcmp(g[0].name, "pair") == 0);
    CHECK_EQ(g[0].count_delta, 100);
    CHECK_EQ(g[1].count_delta, 100);
    CHECK_EQ(g[0].bytes_delta + g[1].bytes_delta, 100 * 32 + 100 * 24);
    CHECK_EQ(rcy_census_growth_of(after, before, g, 8), 0); /* nothing grew */
    CHECK_EQ(rcy_census_growth_of(before, after, NULL, 0), 2);
    /* entries are largest bytes first */
    size_t ne;
    const rcy_census_entry *e = rcy_census_entries(after, &ne);
    for (size_t i = 1; i < ne; i++)
        CHECK(e[i - 1].bytes >= e[i].bytes);
    rcy_census_free(before);
    rcy_census_free(after);
    rcy_census_free(NULL);
    for (int i = 0; i < 300; i++)
        rcy_decref(keep[i]);
    rcy_decref(big);
    rcy_free(h, raw);
    rcy_heap_destroy(h);
}

/* Diamond: r -> a, r -> b, a -> d, b -> d: r dominates all; d's idom is r. */
static void test_dominators_diamond(void)
{
    rcy_heap *h = check_new_heap();
    pair *d = new_pair(h, NULL, NULL);
    pair *a = new_pair(h, d, NULL), *b = new_pair(h, NULL, d);
    pair *r = new_pair(h, a, b);
    rcy_decref(a);
    rcy_decref(b);
    rcy_decref(d);
    rcy_dominators *dm = rcy_dominators_compute(h);
    CHECK(dm != NULL);
    CHECK(rcy_dominators_idom(dm, r) == NULL);
    CHECK(rcy_dominators_idom(dm, a) == r);
    CHECK(rcy_dominators_idom(dm, b) == r);
    CHECK(rcy_dominators_idom(dm, d) == r);
    CHECK_EQ(rcy_dominators_retained(dm, r), 4 * 24);
    CHECK_EQ(rcy_dominators_retained(dm, a), 24);
    CHECK_EQ(rcy_dominators_retained(dm, d), 24);
    rcy_dominators_summary s;
    rcy_dominators_get_summary(dm, &s);
    CHECK_EQ(s.objects, 4);
    CHECK_EQ(s.reachable, 4);
    CHECK_EQ(s.roots, 1);
    CHECK_EQ(s.garbage, 0);
    rcy_retainer top[2];
    CHECK_EQ(rcy_dominators_top(dm, top, 2), 2);
    CHECK(top[0].obj == r && top[0].retained == 96 && top[0].retained_objects == 4);
    rcy_retainer sus[4];
    CHECK_EQ(rcy_dominators_suspects(dm, 0.5, sus, 4), 1);
    CHECK(sus[0].obj == r && sus[0].accumulation == r); /* no child holds 80% */
    rcy_dominators_free(dm);
    rcy_decref(r);
    rcy_heap_destroy(h);
}

/* A chain of 100000 through `a`, held at its head; a cycle hangs off it. */
static void test_dominators_chain_and_cycle(void)
{
    rcy_heap *h = check_new_heap();
    rcy_gc_disable(h);
    enum { N = 100000 };
    pair *head = new_pair(h, NULL, NULL), *p = head;
    pair *mid = NULL;
    for (int i = 1; i < N; i++) {
        pair *q = new_pair(h, NULL, NULL);
        p->a = q; /* p owns q's reference */
        p = q;
        if (i == N / 2)
            mid = q;
    }
    /* the tail points back to mid: a cycle mid -> ... -> tail -> mid */
    p->b = mid;
    rcy_incref(mid);
    rcy_dominators *dm = rcy_dominators_compute(h);
    CHECK(dm != NULL);
    CHECK_EQ(rcy_dominators_retained(dm, head), (size_t)N * 24);
    CHECK_EQ(rcy_dominators_retained(dm, mid), (size_t)(N - N / 2) * 24);
    CHECK(rcy_dominators_idom(dm, head->a) == head);
    CHECK(rcy_dominators_idom(dm, p) != NULL);
    chain c = {0};
    CHECK_EQ(rcy_why_alive(h, mid, record, &c), N / 2 + 1);
    CHECK(c.obj[0] == head);
    rcy_retainer sus[2];
    CHECK_EQ(rcy_dominators_suspects(dm, 0.1, sus, 2), 1);
    CHECK(sus[0].obj == head);
    /* the accumulation point walks down the chain while the next object
       retains 80% of the current one: it stops 4 objects from the end */
    CHECK_EQ(rcy_dominators_retained(dm, sus[0].accumulation), 4 * 24);
    rcy_dominators_free(dm);
    /* cut the chain in the middle: the cycle is garbage */
    pair *before_mid = (pair *)rcy_dominators_idom(dm = rcy_dominators_compute(h), mid);
    CHECK(before_mid != NULL && before_mid->a == mid);
    rcy_dominators_free(dm);
    before_mid->a = NULL;
    rcy_decref(mid); /* the tail's reference is its last */
    dm = rcy_dominators_compute(h);
    rcy_dominators_summary s;
    rcy_dominators_get_summary(dm, &s);
    CHECK_EQ(s.objects, N);
    CHECK_EQ(s.reachable, N / 2);
    CHECK_EQ(s.garbage, N - N / 2);
    CHECK_EQ(s.garbage_bytes, (size_t)(N - N / 2) * 24);
    CHECK_EQ(rcy_dominators_retained(dm, mid), 0);
    rcy_dominators_free(dm);
    CHECK_EQ(rcy_why_alive(h, mid, NULL, NULL), 0);
    CHECK_EQ(rcy_gc_collect(h, -1), N - N / 2);
    rcy_decref(head);
    rcy_heap_destroy(h);
}

int main(void)
{
    test_chain_through_containers();
    test_root_and_garbage();
    test_frozen_and_untracked();
    test_bad_arguments();
    test_census_growth();
    test_dominators_diamond();
    test_dominators_chain_and_cycle();
    return check_summary("test_why");
}
