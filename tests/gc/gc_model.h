/* SPDX-License-Identifier: MIT */
/* A model of the object graph for randomized collector tests, shared by
 * tests/gc/test_gc_model.c (seeded random operations) and fuzz/fuzz_gc.c
 * (operations read from fuzz input).
 *
 * The program under test keeps roots (strong references it owns), slots
 * where finalizers resurrect objects, and weak references it owns. The
 * model mirrors every edge it creates; the library reports deaths through
 * the node type's destroy callback, finalizations through its finalizer,
 * weak-reference clearing through weakref callbacks and collections
 * through a gc callback. After every operation the model checks:
 *   - every object reachable from the roots is alive, with exactly the
 *     references the model gave it and the refcount those edges imply;
 *   - nothing is finalized or destroyed twice; finalizers see intact
 *     references; destroy sees cleared slots;
 *   - a full collection leaves alive exactly what is reachable (from the
 *     roots and the resurrection slots);
 *   - a weak reference is dead exactly when its target is, except for
 *     targets that were unreachable at the start of a collection and were
 *     brought back by a finalizer (the one exception the design allows);
 *     its callback ran exactly once if and only if it is dead;
 *   - a collection only finalizes objects, and only clears weak references
 *     to objects, that were unreachable when it started.
 *
 * Before including, define GM_CHECK(cond): what to do when an invariant
 * fails (record and go on, or abort). Everything here is static: one model
 * per program at a time. */
#ifndef RCY_TEST_GC_MODEL_H
#define RCY_TEST_GC_MODEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recycle.h"

#ifndef GM_CHECK
#error "define GM_CHECK(cond) before including gc_model.h"
#endif

#define GM_K 4      /* reference slots per node */
#define GM_ROOTS 32 /* roots the program owns */
#define GM_RSLOTS 8 /* where finalizers resurrect objects */
#define GM_WEAK 64  /* weak references the program owns */
#define GM_TEMPS 2  /* references held for the length of one operation */

typedef struct gm_node {
    void *slot[GM_K];
    uint32_t id;        /* index in the model; 0 until registered */
    uint32_t resurrect; /* its finalizer stores it in a free resurrection slot */
} gm_node;

typedef struct gm_obj {
    gm_node *ptr;
    uint32_t edge[GM_K]; /* ids of the referents, 0 for NULL */
    uint32_t pos;        /* index in the alive list */
    uint32_t stamp;      /* reachability mark (== gm.epoch: reached) */
    uint32_t refs;       /* expected refcount (scratch) */
    uint8_t destroyed, finalized, has_fin;
    uint8_t unreach; /* unreachable when the running collection started */
} gm_obj;

typedef struct gm_weak {
    void *wr; /* NULL: free entry */
    uint32_t target;
    uint8_t fired;        /* callback runs seen */
    uint8_t may_be_dead;  /* target resurrected: the weakref may have been cleared */
    uint8_t must_be_dead; /* target was garbage in a full collection */
} gm_weak;

typedef struct gm_stats {
    unsigned long collections, full_collections, finalized, resurrected, destroyed, weak_fired;
} gm_stats;

static struct gm_state {
    rcy_heap *h;
    gm_obj *obj; /* [1..nobj] */
    uint32_t nobj, cap;
    uint32_t *alive, nalive;
    uint32_t *stack;
    uint32_t epoch;
    uint32_t root[GM_ROOTS], rslot[GM_RSLOTS], temp[GM_TEMPS];
    gm_weak weak[GM_WEAK];
    int in_gc;
    uint32_t unreach_count, unreach_survivors;
    uint32_t (*next)(void *ctx); /* randomness: 32 bits a call */
    void *ctx;
    gm_stats stats;
} gm;

static uint32_t gm_rand(uint32_t n)
{
    return n ? gm.next(gm.ctx) % n : 0;
}

static gm_node *gm_ptr(uint32_t id)
{
    return id ? gm.obj[id].ptr : NULL;
}

/* Marks everything reachable from the roots, resurrection slots and
 * temporaries with the current epoch. */
static void gm_reach(void)
{
    uint32_t sp = 0;
    gm.epoch++;
#define GM_PUSH(id_)                                                                               \
    do {                                                                                           \
        uint32_t i_ = (id_);                                                                       \
        if (i_ && gm.obj[i_].stamp != gm.epoch) {                                                  \
            gm.obj[i_].stamp = gm.epoch;                                                           \
            gm.stack[sp++] = i_;                                                                   \
        }                                                                                          \
    } while (0)
    for (int i = 0; i < GM_ROOTS; i++)
        GM_PUSH(gm.root[i]);
    for (int i = 0; i < GM_RSLOTS; i++)
        GM_PUSH(gm.rslot[i]);
    for (int i = 0; i < GM_TEMPS; i++)
        GM_PUSH(gm.temp[i]);
    while (sp) {
        gm_obj *o = &gm.obj[gm.stack[--sp]];
        if (o->destroyed)
            continue; /* reported by gm_check */
        for (int k = 0; k < GM_K; k++)
            GM_PUSH(o->edge[k]);
    }
#undef GM_PUSH
}

static int gm_marked(uint32_t id)
{
    return gm.obj[id].stamp == gm.epoch;
}

/* ---- callbacks from the library ---- */

static void gm_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    gm_node *n = self;
    for (int k = 0; k < GM_K; k++)
        visit(&n->slot[k], arg);
}

static void gm_mark_weak(uint32_t id)
{
    for (int i = 0; i < GM_WEAK; i++)
        if (gm.weak[i].wr && gm.weak[i].target == id)
            gm.weak[i].may_be_dead = 1;
}

/* The model's record of a node a callback got; NULL (a failed check) if
   the node is not one the model made. */
static gm_obj *gm_obj_of(const gm_node *n)
{
    uint32_t id = n->id;
    GM_CHECK(id >= 1 && id <= gm.nobj);
    if (id < 1 || id > gm.nobj)
        return NULL;
    GM_CHECK(gm.obj[id].ptr == n);
    return &gm.obj[id];
}

static void gm_finalize(void *self)
{
    gm_node *n = self;
    gm_obj *o = gm_obj_of(n);
    if (!o)
        return;
    uint32_t id = n->id;
    GM_CHECK(!o->finalized); /* at most once */
    GM_CHECK(!o->destroyed);
    o->finalized = 1;
    gm.stats.finalized++;
    if (gm.in_gc)
        GM_CHECK(o->unreach);        /* a collection finalizes only garbage */
    for (int k = 0; k < GM_K; k++) { /* references intact */
        uint32_t e = o->edge[k];
        GM_CHECK(n->slot[k] == gm_ptr(e));
        if (e)
            GM_CHECK(!gm.obj[e].destroyed);
    }
    if (!n->resurrect)
        return;
    for (int i = 0; i < GM_RSLOTS; i++) {
        if (!gm.rslot[i]) {
            rcy_incref(self);
            gm.rslot[i] = id;
            gm.stats.resurrected++;
            if (!gm.in_gc) /* refcount death: weak refs may be gone */
                gm_mark_weak(id);
            return;
        }
    }
}

static void gm_destroy(void *self)
{
    gm_node *n = self;
    gm_obj *o = gm_obj_of(n);
    if (!o)
        return;
    uint32_t id = n->id;
    GM_CHECK(!o->destroyed); /* at most once */
    if (o->destroyed)
        return;
    for (int k = 0; k < GM_K; k++)
        GM_CHECK(n->slot[k] == NULL); /* references dropped before destroy */
    if (o->has_fin)
        GM_CHECK(o->finalized); /* finalize came first */
    for (int i = 0; i < GM_ROOTS; i++)
        GM_CHECK(gm.root[i] != id);
    for (int i = 0; i < GM_RSLOTS; i++)
        GM_CHECK(gm.rslot[i] != id);
    for (int i = 0; i < GM_TEMPS; i++)
        GM_CHECK(gm.temp[i] != id);
    o->destroyed = 1;
    gm.stats.destroyed++;
    uint32_t last = gm.alive[--gm.nalive];
    gm.alive[o->pos] = last;
    gm.obj[last].pos = o->pos;
}

/* The node's references are described three ways, a third of the nodes
   each: traverse alone, a layout descriptor alone (ref_words), and both
   (the descriptor names slots 0..GM_DESCRIBED-1, traverse the rest). */
#define GM_DESCRIBED 2
_Static_assert(offsetof(gm_node, slot) == 0, "slot k is payload word k");

static void gm_traverse_rest(void *self, rcy_visit_fn visit, void *arg)
{
    gm_node *n = self;
    for (int k = GM_DESCRIBED; k < GM_K; k++)
        visit(&n->slot[k], arg);
}

#define GM_WORDS(n) ((UINT64_C(1) << (n)) - 1)
static const rcy_type gm_types[2][3] = {
    {{"gm_plain", sizeof(gm_node), gm_traverse, NULL, gm_destroy, 0},
     {"gm_plain_described", sizeof(gm_node), NULL, NULL, gm_destroy, GM_WORDS(GM_K)},
     {"gm_plain_both", sizeof(gm_node), gm_traverse_rest, NULL, gm_destroy,
      GM_WORDS(GM_DESCRIBED)}},
    {{"gm_fin", sizeof(gm_node), gm_traverse, gm_finalize, gm_destroy, 0},
     {"gm_fin_described", sizeof(gm_node), NULL, gm_finalize, gm_destroy, GM_WORDS(GM_K)},
     {"gm_fin_both", sizeof(gm_node), gm_traverse_rest, gm_finalize, gm_destroy,
      GM_WORDS(GM_DESCRIBED)}},
};

static void gm_weak_cb(void *wr, void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    GM_CHECK(i < GM_WEAK);
    if (i >= GM_WEAK)
        return;
    gm_weak *w = &gm.weak[i];
    GM_CHECK(w->wr == wr); /* only live weak references call back */
    if (w->wr != wr)
        return;
    w->fired++;
    gm.stats.weak_fired++;
    GM_CHECK(w->fired == 1);
    if (gm.in_gc)
        GM_CHECK(gm.obj[w->target].unreach);
    void *t = rcy_weakref_get(wr); /* cleared before the callback */
    GM_CHECK(t == NULL);
    rcy_xdecref(t);
}

static void gm_gc_cb(const char *phase, const rcy_gc_info *info, void *arg)
{
    (void)arg;
    if (strcmp(phase, "start") == 0) {
        GM_CHECK(!gm.in_gc);
        gm.in_gc = 1;
        gm.stats.collections++;
        gm_reach();
        gm.unreach_count = 0;
        for (uint32_t i = 0; i < gm.nalive; i++) {
            gm_obj *o = &gm.obj[gm.alive[i]];
            o->unreach = !gm_marked(gm.alive[i]);
            gm.unreach_count += o->unreach;
        }
        return;
    }
    GM_CHECK(strcmp(phase, "stop") == 0);
    GM_CHECK(gm.in_gc);
    gm.in_gc = 0;
    int full = info->generation == 2 || info->generation == -1;
    gm.stats.full_collections += full;
    for (int i = 0; i < GM_WEAK; i++) {
        gm_weak *w = &gm.weak[i];
        if (!w->wr || !gm.obj[w->target].unreach)
            continue;
        if (!gm.obj[w->target].destroyed)
            w->may_be_dead = 1;
        if (full)
            w->must_be_dead = 1;
    }
    if (full) {
        /* all garbage is gone except what finalizers brought back */
        gm_reach();
        for (uint32_t i = 0; i < gm.nalive; i++)
            GM_CHECK(gm_marked(gm.alive[i]));
    }
    gm.unreach_survivors = 0;
    for (uint32_t i = 0; i < gm.nalive; i++) {
        gm.unreach_survivors += gm.obj[gm.alive[i]].unreach;
        gm.obj[gm.alive[i]].unreach = 0;
    }
}

/* ---- the model's own checks ---- */

static void gm_check(int strict)
{
    gm_reach();
    for (uint32_t i = 0; i < gm.nalive; i++)
        gm.obj[gm.alive[i]].refs = 0;
    for (int i = 0; i < GM_ROOTS; i++)
        if (gm.root[i]) {
            GM_CHECK(!gm.obj[gm.root[i]].destroyed);
            gm.obj[gm.root[i]].refs++;
        }
    for (int i = 0; i < GM_RSLOTS; i++)
        if (gm.rslot[i]) {
            GM_CHECK(!gm.obj[gm.rslot[i]].destroyed);
            gm.obj[gm.rslot[i]].refs++;
        }
    for (uint32_t i = 0; i < gm.nalive; i++) {
        gm_obj *o = &gm.obj[gm.alive[i]];
        for (int k = 0; k < GM_K; k++) {
            uint32_t e = o->edge[k];
            if (!e)
                continue;
            GM_CHECK(!gm.obj[e].destroyed); /* a live object's referent lives */
            gm.obj[e].refs++;
        }
    }
    for (uint32_t i = 0; i < gm.nalive; i++) {
        uint32_t id = gm.alive[i];
        gm_obj *o = &gm.obj[id];
        gm_node *n = o->ptr;
        GM_CHECK(n->id == id);
        for (int k = 0; k < GM_K; k++)
            GM_CHECK(n->slot[k] == gm_ptr(o->edge[k]));
        GM_CHECK(rcy_refcount(n) == o->refs);
        GM_CHECK(rcy_gc_is_tracked(n));
        if (strict)
            GM_CHECK(gm_marked(id)); /* after a full collection: no garbage left */
    }
    for (int i = 0; i < GM_WEAK; i++) {
        gm_weak *w = &gm.weak[i];
        if (!w->wr)
            continue;
        gm_obj *t = &gm.obj[w->target];
        GM_CHECK(rcy_is_weakref(w->wr));
        GM_CHECK(rcy_refcount(w->wr) == 1);
        void *g = rcy_weakref_get(w->wr);
        if (t->destroyed) {
            GM_CHECK(g == NULL);
        } else if (!g) {
            GM_CHECK(w->may_be_dead); /* dead weakref to a live target */
        } else {
            GM_CHECK(g == t->ptr);
            GM_CHECK(!w->must_be_dead);
        }
        GM_CHECK(w->fired == (g == NULL)); /* callback iff cleared */
        rcy_xdecref(g);
    }
}

/* ---- operations ---- */

static uint32_t gm_pick_alive(void)
{
    return gm.nalive ? gm.alive[gm_rand(gm.nalive)] : 0;
}

static uint32_t gm_pick_alive_or_null(void)
{
    return gm_rand(5) == 0 ? 0 : gm_pick_alive();
}

/* A new node; the caller owns the reference. 0 when out of ids. */
static uint32_t gm_new_node(void)
{
    if (gm.nobj + 1 >= gm.cap)
        return 0;
    int fin = (int)gm_rand(2);
    uint32_t resurrect = fin && gm_rand(3) == 0;
    gm_node *n = rcy_new(gm.h, &gm_types[fin][gm_rand(3)]);
    GM_CHECK(n != NULL);
    if (!n)
        return 0;
    GM_CHECK(rcy_refcount(n) == 1);
    uint32_t id = ++gm.nobj;
    gm_obj *o = &gm.obj[id];
    memset(o, 0, sizeof *o);
    o->ptr = n;
    o->has_fin = (uint8_t)fin;
    o->pos = gm.nalive;
    gm.alive[gm.nalive++] = id;
    n->id = id;
    n->resurrect = resurrect;
    return id;
}

static void gm_hold(int t, uint32_t id)
{
    rcy_incref(gm_ptr(id));
    gm.temp[t] = id;
}

static void gm_release(int t)
{
    uint32_t id = gm.temp[t];
    gm.temp[t] = 0;
    rcy_decref(gm_ptr(id));
}

/* x.slot[k] = y (y's reference already owned by the caller) */
static void gm_store(uint32_t x, int k, uint32_t y)
{
    gm_node *n = gm.obj[x].ptr;
    void *old = n->slot[k];
    n->slot[k] = gm_ptr(y);
    gm.obj[x].edge[k] = y;
    rcy_xdecref(old); /* may free x itself: not touched after */
}

static void gm_set_root(int r, uint32_t y) /* y's reference owned by caller */
{
    uint32_t old = gm.root[r];
    gm.root[r] = y;
    if (old)
        rcy_decref(gm_ptr(old));
}

static void gm_drop_weak(int i)
{
    void *wr = gm.weak[i].wr;
    if (!wr)
        return;
    gm.weak[i].wr = NULL;
    rcy_decref(wr);
}

static size_t gm_collect(int gen)
{
    size_t found = rcy_gc_collect(gm.h, gen);
    if (gen == -1 || gen == 2) {
        /* found counts the unreachable objects, possibly without the ones
           finalizers brought back */
        GM_CHECK(found <= gm.unreach_count);
        GM_CHECK(found + gm.unreach_survivors >= gm.unreach_count);
        gm_check(1);
    }
    return found;
}

/* One random operation followed by the model's checks. */
static void gm_step(void)
{
    uint32_t op = gm_rand(100);
    if (op < 22) { /* new object into a root */
        uint32_t id = gm_new_node();
        if (id)
            gm_set_root((int)gm_rand(GM_ROOTS), id);
    } else if (op < 34) { /* new object into a slot of a live object */
        uint32_t x = gm_pick_alive();
        if (x) {
            gm_hold(0, x); /* the allocation may collect x otherwise */
            uint32_t id = gm_new_node();
            if (id)
                gm_store(x, (int)gm_rand(GM_K), id);
            gm_release(0);
        }
    } else if (op < 64) { /* set a slot of a live object */
        uint32_t x = gm_pick_alive();
        if (x) {
            uint32_t y = gm_pick_alive_or_null();
            int k = (int)gm_rand(GM_K);
            if (y)
                rcy_incref(gm_ptr(y));
            gm_store(x, k, y);
        }
    } else if (op < 76) { /* rebind or drop a root */
        uint32_t y = gm_rand(2) ? 0 : gm_pick_alive();
        if (y)
            rcy_incref(gm_ptr(y));
        gm_set_root((int)gm_rand(GM_ROOTS), y);
    } else if (op < 84) { /* a weak reference to a live object */
        int i = (int)gm_rand(GM_WEAK);
        uint32_t t = gm_pick_alive();
        gm_drop_weak(i);
        if (t) {
            gm_hold(0, t);
            void *wr = rcy_weakref_new(gm_ptr(t), gm_weak_cb, (void *)(uintptr_t)i);
            GM_CHECK(wr != NULL);
            if (wr) {
                gm_weak *w = &gm.weak[i];
                memset(w, 0, sizeof *w);
                w->wr = wr;
                w->target = t;
            }
            gm_release(0);
        }
    } else if (op < 88) { /* release a weak reference */
        gm_drop_weak((int)gm_rand(GM_WEAK));
    } else if (op < 93) { /* release a resurrected object */
        int i = (int)gm_rand(GM_RSLOTS);
        uint32_t id = gm.rslot[i];
        if (id) {
            gm.rslot[i] = 0;
            rcy_decref(gm_ptr(id));
        }
    } else if (op < 98) { /* an explicit collection */
        gm_collect((int)gm_rand(4) - 1);
    } else { /* retune automatic collection */
        uint32_t r = gm_rand(8);
        if (r == 0)
            rcy_gc_disable(gm.h);
        else if (r == 1)
            rcy_gc_enable(gm.h);
        else
            rcy_gc_set_threshold(gm.h, 1 + gm_rand(64), 1 + gm_rand(8), 1 + gm_rand(8));
    }
    gm_check(0);
}

/* ---- set-up and tear-down ---- */

static int gm_begin(uint32_t max_objects, size_t t0, size_t t1, size_t t2, uint32_t (*next)(void *),
                    void *ctx)
{
    memset(&gm, 0, sizeof gm);
    gm.cap = max_objects + 2;
    gm.obj = calloc(gm.cap, sizeof *gm.obj);
    gm.alive = calloc(gm.cap, sizeof *gm.alive);
    gm.stack = calloc(gm.cap, sizeof *gm.stack);
    gm.h = rcy_heap_new();
    gm.next = next;
    gm.ctx = ctx;
    if (!gm.obj || !gm.alive || !gm.stack || !gm.h)
        return 0;
    rcy_gc_set_threshold(gm.h, t0, t1, t2);
    /* every other run lets the collector skip young collections that
       follow no drop: the invariants must hold all the same */
    rcy_gc_set_drop_pacing(gm.h, (int)(next(ctx) & 1));
    GM_CHECK(rcy_gc_callback_add(gm.h, gm_gc_cb, NULL) == 0);
    return 1;
}

/* Drops every reference the program owns; everything must die. */
static void gm_end(void)
{
    for (int i = 0; i < GM_ROOTS; i++)
        gm_set_root(i, 0);
    for (uint32_t round = 0; round <= gm.nobj + 1; round++) {
        for (int i = 0; i < GM_RSLOTS; i++) {
            uint32_t id = gm.rslot[i];
            if (id) {
                gm.rslot[i] = 0;
                rcy_decref(gm_ptr(id));
            }
        }
        gm_collect(-1);
        if (!gm.nalive)
            break;
    }
    GM_CHECK(gm.nalive == 0);
    gm_check(1);
    for (int i = 0; i < GM_WEAK; i++) {
        if (gm.weak[i].wr)
            GM_CHECK(gm.weak[i].fired == 1);
        gm_drop_weak(i);
    }
    GM_CHECK(rcy_gc_callback_remove(gm.h, gm_gc_cb, NULL) == 0);
    rcy_heap_destroy(gm.h);
    free(gm.obj);
    free(gm.alive);
    free(gm.stack);
    gm.h = NULL;
    gm.obj = NULL;
    gm.alive = gm.stack = NULL;
}

#endif
