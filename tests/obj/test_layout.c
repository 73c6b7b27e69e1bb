/* SPDX-License-Identifier: MIT */
/* Tests for layout descriptors (rcy_type.ref_words) in the object layer:
 * a type described by a descriptor, the same layout described by
 * traverse, and a type with both (a described fixed part and an array
 * after it that traverse reports). For each: objects are tracked, death
 * drops exactly the described references and destroy sees them NULL,
 * words the descriptor leaves out are never read as references,
 * rcy_gc_get_referents reports the descriptor's words in address order
 * and then traverse's, and long chains die on bounded C stack. A
 * descriptor naming a word past the payload aborts with a message: at a
 * type's first rcy_new in every build, at every rcy_new_sized in checked
 * builds.
 *
 * Written against the public header only. RCY_TEST_QUICK=1 shrinks the
 * long chain (used under valgrind). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "recycle.h"

/* words 0 and 2 are references; word 1 is an integer the library must
   never read as one (tests store object addresses in it) */
typedef struct rec {
    void *first;
    uintptr_t cookie;
    void *second;
} rec;

static size_t rec_destroyed, rec_destroy_saw_ref;

static void rec_destroy(void *self)
{
    rec *r = self;
    rec_destroy_saw_ref += (r->first != NULL) + (r->second != NULL);
    rec_destroyed++;
}

static void rec_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    rec *r = self;
    visit(&r->first, arg);
    visit(&r->second, arg);
}

#define REC_WORDS (RCY_REF_WORD(rec, first) | RCY_REF_WORD(rec, second))

static const rcy_type rec_described = {
    .name = "rec_described", .size = sizeof(rec), .destroy = rec_destroy, .ref_words = REC_WORDS};
static const rcy_type rec_traversed = {
    .name = "rec_traversed", .size = sizeof(rec), .traverse = rec_traverse, .destroy = rec_destroy};

/* both: a described fixed part (word 0: a reference, word 1: the length)
   and an array of references after it, which traverse reports */
typedef struct vec {
    void *owner;
    size_t len;
    void *items[];
} vec;

static void vec_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    vec *v = self;
    for (size_t i = 0; i < v->len; i++)
        visit(&v->items[i], arg);
}

static size_t vec_destroyed, vec_destroy_saw_ref;
static void vec_destroy(void *self)
{
    vec *v = self;
    vec_destroy_saw_ref += v->owner != NULL;
    for (size_t i = 0; i < v->len; i++)
        vec_destroy_saw_ref += v->items[i] != NULL;
    vec_destroyed++;
}

static const rcy_type vec_type = {.name = "vec",
                                  .size = sizeof(vec),
                                  .traverse = vec_traverse,
                                  .destroy = vec_destroy,
                                  .ref_words = RCY_REF_WORD(vec, owner)};

static const rcy_type leaf_type = {.name = "leaf", .size = 16};

static vec *vec_new(rcy_heap *h, size_t len)
{
    vec *v = rcy_new_sized(h, &vec_type, sizeof(vec) + len * sizeof(void *));
    if (v)
        v->len = len;
    return v;
}

/* ---- rcy_gc_get_referents: the order of the visits ---- */

typedef struct seen {
    void *items[16];
    size_t n;
} seen;

static void remember(void *o, void *arg)
{
    seen *s = arg;
    if (s->n < 16)
        s->items[s->n++] = o;
}

/* A record of type t holding two leaves: tracked, its referents are the
   two leaves (first, then second), the cookie is not one, and its death
   drops both (destroy sees NULL slots). */
static void test_record(rcy_heap *h, const rcy_type *t)
{
    void *a = rcy_new(h, &leaf_type), *b = rcy_new(h, &leaf_type);
    rec *r = rcy_new(h, t);
    CHECK(r && a && b);
    if (!r || !a || !b)
        return;
    CHECK(rcy_gc_is_tracked(r));
    r->first = a;
    r->second = b;
    r->cookie = (uintptr_t)a; /* an address in a word that holds no reference */
    rcy_incref(a);
    rcy_incref(b);
    seen s = {{0}, 0};
    rcy_gc_get_referents(r, remember, &s);
    CHECK_EQ(s.n, 2);
    CHECK(s.items[0] == a && s.items[1] == b);
    rcy_gc_collect(h, -1); /* the cookie is not subtracted: a survives intact */
    CHECK_EQ(rcy_refcount(a), 2);
    size_t destroyed = rec_destroyed, saw = rec_destroy_saw_ref;
    rcy_decref(r);
    CHECK_EQ(rec_destroyed, destroyed + 1);
    CHECK_EQ(rec_destroy_saw_ref, saw);
    CHECK_EQ(rcy_refcount(a), 1);
    CHECK_EQ(rcy_refcount(b), 1);
    rcy_decref(a);
    rcy_decref(b);
}

/* A vec holds its owner through the descriptor and its items through
   traverse: get_referents gives the owner first, then the items in
   order; death drops all of them. */
static void test_both(rcy_heap *h)
{
    enum { N = 5 };
    void *owner = rcy_new(h, &leaf_type);
    vec *v = vec_new(h, N);
    CHECK(owner && v);
    if (!owner || !v)
        return;
    CHECK(rcy_gc_is_tracked(v));
    v->owner = owner;
    void *items[N];
    for (int i = 0; i < N; i++) {
        items[i] = rcy_new(h, &leaf_type);
        v->items[i] = items[i];
        rcy_incref(items[i]); /* the test keeps one too */
    }
    seen s = {{0}, 0};
    rcy_gc_get_referents(v, remember, &s);
    CHECK_EQ(s.n, N + 1);
    CHECK(s.items[0] == owner);
    for (int i = 0; i < N; i++)
        CHECK(s.items[i + 1] == items[i]);
    rcy_decref(v);
    CHECK_EQ(vec_destroyed, 1);
    CHECK_EQ(vec_destroy_saw_ref, 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(rcy_refcount(items[i]), 1);
        rcy_decref(items[i]);
    }
}

/* A chain of n records linked through `first`, released from its head:
   every one dies (deaths queue past a small depth), on bounded stack. */
static void test_long_chain(rcy_heap *h, const rcy_type *t, size_t n)
{
    size_t before = rec_destroyed;
    rec *head = NULL;
    for (size_t i = 0; i < n; i++) {
        rec *r = rcy_new(h, t);
        if (!r)
            break;
        r->first = head; /* takes over the reference */
        head = r;
    }
    rcy_decref(head);
    CHECK_EQ(rec_destroyed - before, n);
}

/* A cycle of descriptor objects, one of traverse objects, and one that
   mixes both kinds and a vec: each is found and freed by a collection,
   while the same shapes held from outside survive. */
static void test_cycles(rcy_heap *h)
{
    rec *a = rcy_new(h, &rec_described), *b = rcy_new(h, &rec_traversed);
    vec *v = vec_new(h, 2);
    CHECK(a && b && v);
    if (!a || !b || !v)
        return;
    a->second = b; /* a -> b -> v -> a, and v -> v through its array */
    rcy_incref(b);
    b->first = v; /* takes over the creation's reference */
    v->owner = a;
    rcy_incref(a);
    v->items[1] = v;
    rcy_incref(v);
    rcy_gc_collect(h, -1); /* a and b are held from outside: nothing is garbage */
    CHECK_EQ(rcy_refcount(a), 2);
    CHECK_EQ(rcy_refcount(b), 2);
    CHECK_EQ(rcy_refcount(v), 2);
    rcy_decref(b);
    size_t recs = rec_destroyed, vecs = vec_destroyed;
    rcy_decref(a); /* the last outside reference: a cycle of three is garbage */
    CHECK_EQ(rcy_gc_collect(h, -1), 3);
    CHECK_EQ(rec_destroyed - recs, 2);
    CHECK_EQ(vec_destroyed - vecs, 1);

    /* a young pair of described records: a collection of generation 0 */
    rec *x = rcy_new(h, &rec_described), *y = rcy_new(h, &rec_described);
    CHECK(x && y);
    if (!x || !y)
        return;
    x->first = y;
    rcy_incref(y);
    y->second = x;
    rcy_incref(x);
    rcy_decref(x);
    rcy_decref(y);
    CHECK_EQ(rcy_gc_collect(h, 0), 2);
}

/* ---- misuse ---- */

typedef struct two_words {
    void *a, *b;
} two_words;

/* word 2 does not exist in a 16-byte payload */
static const rcy_type overlong_type = {
    .name = "overlong", .size = sizeof(two_words), .ref_words = 1u << 2};

static void misuse_new_overlong(void *arg)
{
    (void)arg;
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new(h, &overlong_type);
    (void)o;
}

/* vec's descriptor names word 0: an 8-byte payload has it, a 4-byte one not */
static void misuse_sized_too_small(void *arg)
{
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new_sized(h, &vec_type, (size_t)(uintptr_t)arg);
    (void)o;
}

static void test_misuse(void)
{
    char msg[4096];
    CHECK(check_aborts(misuse_new_overlong, NULL,
                       "rcy_new: type 'overlong' has ref_words 0x4, which names payload word 2 "
                       "(bytes 16..23), but the payload is 16 bytes",
                       msg, sizeof msg));
    CHECK(strstr(msg, "the descriptor disagrees with the size") != NULL);
#if RCY_CHECK_LEVEL >= 1
    CHECK(check_aborts(misuse_sized_too_small, (void *)(uintptr_t)4,
                       "rcy_new_sized: type 'vec' has ref_words 0x1, which names payload word 0 "
                       "(bytes 0..7), but the payload is 4 bytes",
                       msg, sizeof msg));
#else
    (void)misuse_sized_too_small;
    printf("test_layout: the per-call check of rcy_new_sized skipped (RCY_CHECK_LEVEL %d)\n",
           RCY_CHECK_LEVEL);
#endif
    /* a payload that covers the descriptor is fine: the child exits 0 */
    CHECK(!check_aborts(misuse_sized_too_small, (void *)(uintptr_t)8, NULL, NULL, 0));
}

int main(void)
{
    int quick = check_quick();
    rcy_heap *h = check_new_heap();
    test_record(h, &rec_described);
    test_record(h, &rec_traversed);
    test_both(h);
    test_long_chain(h, &rec_described, quick ? 20000 : 1000000);
    test_long_chain(h, &rec_traversed, quick ? 2000 : 100000);
    test_cycles(h);
    rcy_heap_destroy(h);
    test_misuse();
    return check_summary("test_layout");
}
