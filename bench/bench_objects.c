/* SPDX-License-Identifier: MIT */
/* Object benchmarks, one allocator per executable (see bench_common.h).
 *
 *   bench_objects_<alloc> newfree        new + release of one object, hot loop:
 *                                        recycle rcy_new + rcy_decref of a 32-byte
 *                                        payload (untracked type, and a type with
 *                                        traverse; both have an 8-byte header);
 *                                        malloc variants malloc + free of the
 *                                        same total size (40 B);
 *                                        and for all, raw malloc + free of 48 B
 *   bench_objects_<alloc> refpair        incref + decref of a live object
 *                                        (malloc variants: a hand-written count)
 *   bench_objects_<alloc> bt [depth] [gcoff|nopace|rc]
 *                                        binary-trees (default depth 21, quick 16);
 *                                        recycle: collector on (defaults), off
 *                                        (gcoff), or on without drop pacing
 *                                        (nopace: Python's policy); the node
 *                                        type has a layout descriptor, or
 *                                        traverse instead (traverse); a malloc:
 *                                        malloc/free, or hand-written reference
 *                                        counting with type callbacks (rc)
 */
#include "bench_common.h"

/* ------------------------------------------------------------------ */
/* binary-trees                                                        */
/* ------------------------------------------------------------------ */

/* One way of making, counting and freeing trees. */
typedef struct bt_impl {
    void *(*make)(int depth);
    long (*check)(const void *root);
    void (*release)(void *root);
} bt_impl;

/* Every variant's node payload: two child pointers (NULL in a leaf). */
typedef struct node {
    void *l, *r;
} node;

static long bt_check(const void *root)
{
    const node *n = root;
    return n->l ? 1 + bt_check(n->l) + bt_check(n->r) : 1;
}

#if !defined(ALLOC_BOEHM)
/* A node's traverse, for recycle and for the hand-written counts below
   (whose visit has rcy_visit_fn's shape). */
typedef void (*bt_visit_fn)(void **slot, void *arg);
static void node_traverse(void *self, bt_visit_fn visit, void *arg)
{
    node *n = self;
    if (n->l)
        visit(&n->l, arg);
    if (n->r)
        visit(&n->r, arg);
}
#endif

#if defined(ALLOC_RECYCLE)
/* The node's references by layout descriptor (the default), or by
   traverse (the `traverse` variant, for comparison). */
static const rcy_type node_type = {.name = "node",
                                   .size = sizeof(node),
                                   .ref_words = RCY_REF_WORD(node, l) | RCY_REF_WORD(node, r)};
static const rcy_type node_traverse_type = {"node", sizeof(node), node_traverse, NULL, NULL};
static const rcy_type *bt_type = &node_type;

static void *bt_make(int d)
{
    node *n = rcy_new(g_heap, bt_type);
    if (!n) {
        fprintf(stderr, "rcy_new failed\n");
        exit(2);
    }
    if (d > 0) {
        n->l = bt_make(d - 1);
        n->r = bt_make(d - 1);
    }
    return n;
}
static void bt_free(void *root)
{
    rcy_decref(root);
}
static const bt_impl bt_objects = {bt_make, bt_check, bt_free};
#else
static void *bt_make(int d)
{
    node *n = a_malloc_or_die(sizeof *n);
    if (d > 0) {
        n->l = bt_make(d - 1);
        n->r = bt_make(d - 1);
    } else {
        n->l = n->r = NULL;
    }
    return n;
}
static void bt_free(void *root)
{
#if defined(ALLOC_BOEHM)
    (void)root; /* the collector reclaims it */
#else
    node *n = root;
    if (n->l) {
        bt_free(n->l);
        bt_free(n->r);
    }
    a_free(n);
#endif
}
static const bt_impl bt_plain = {bt_make, bt_check, bt_free};
#endif

#if !defined(ALLOC_RECYCLE) && !defined(ALLOC_BOEHM)
/* Hand-written reference counting with recycle's type callbacks, on this
   allocator: what a C program that counts its own references does today,
   with the same object model as recycle (a header with the count and the
   type; death runs finalize if any, drops each reference through traverse,
   runs destroy if any, frees). It has none of what recycle adds: no
   tracking for a collector, no bound on the C stack of a cascade, no
   misuse checks. Its time is a floor for that object model on this
   allocator. */
typedef struct hr_type {
    void (*traverse)(void *self, bt_visit_fn visit, void *arg);
    void (*finalize)(void *self);
    void (*destroy)(void *self);
} hr_type;
typedef struct hr_head {
    uint32_t rc, flags;
    const hr_type *type;
} hr_head;
#define HR_HEAD(o) ((hr_head *)(o)-1)

static void hr_dies(void *o);
static inline void hr_decref(void *o)
{
    if (--HR_HEAD(o)->rc == 0)
        hr_dies(o);
}
static void hr_clear_slot(void **slot, void *arg)
{
    (void)arg;
    void *child = *slot;
    if (child) {
        *slot = NULL;
        hr_decref(child);
    }
}
static BENCH_NOINLINE void hr_dies(void *o)
{
    const hr_type *t = HR_HEAD(o)->type;
    if (t->finalize)
        t->finalize(o);
    t->traverse(o, hr_clear_slot, NULL);
    if (t->destroy)
        t->destroy(o);
    a_free(HR_HEAD(o));
}
/* Out of line, as rcy_new is a call into the library. */
static BENCH_NOINLINE void *hr_new(const hr_type *t, size_t n)
{
    hr_head *h = a_malloc_or_die(sizeof *h + n);
    *h = (hr_head){1, 0, t};
    memset(h + 1, 0, n);
    return h + 1;
}
static const hr_type hr_node_type = {node_traverse, NULL, NULL};

static void *hr_make(int d)
{
    node *n = hr_new(&hr_node_type, sizeof *n);
    if (d > 0) {
        n->l = hr_make(d - 1);
        n->r = hr_make(d - 1);
    }
    return n;
}
static void hr_release(void *root)
{
    hr_decref(root);
}
static const bt_impl bt_counted = {hr_make, bt_check, hr_release};
#endif

/* The variants: recycle with the collector on (defaults), off, or on
   without drop pacing; a malloc with malloc/free, or with hand-written
   reference counting. */
enum bt_variant { BT_DEFAULT, BT_GCOFF, BT_NOPACE, BT_COUNTED, BT_TRAVERSE };

static void binary_trees(int max_depth, enum bt_variant v)
{
    const int min_depth = 4;
    if (max_depth < min_depth + 2)
        max_depth = min_depth + 2;
    a_init();
#if defined(ALLOC_RECYCLE)
    if (v == BT_GCOFF)
        rcy_gc_disable(g_heap);
    if (v == BT_NOPACE)
        rcy_gc_set_drop_pacing(g_heap, 0);
    if (v == BT_TRAVERSE)
        bt_type = &node_traverse_type;
    const bt_impl *bt = &bt_objects;
#elif defined(ALLOC_BOEHM)
    const bt_impl *bt = &bt_plain;
#else
    const bt_impl *bt = v == BT_COUNTED ? &bt_counted : &bt_plain;
#endif
    double t0 = now_s();
    long total = 0;

    void *stretch = bt->make(max_depth + 1);
    total += bt->check(stretch);
    bt->release(stretch);

    void *long_lived = bt->make(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + min_depth);
        long check = 0;
        for (long i = 0; i < iters; i++) {
            void *t = bt->make(d);
            check += bt->check(t);
            bt->release(t);
        }
        total += check;
    }
    total += bt->check(long_lived);
    bt->release(long_lived);
    double secs = now_s() - t0;
    double peak = peak_rss_mib();

    char extra[160] = "";
    char variant[64];
#if defined(ALLOC_RECYCLE)
    rcy_gc_genstats st[3];
    rcy_gc_get_stats(g_heap, st);
    snprintf(extra, sizeof extra, " gc0=%zu gc1=%zu gc2=%zu header_bytes=%zu", st[0].collections,
             st[1].collections, st[2].collections, rcy_header_size(&node_type));
    static const char *const names[] = {"recycle", "recycle-gcoff", "recycle-nopace", "recycle",
                                        "recycle-traverse"};
    snprintf(variant, sizeof variant, "%s", names[v]);
#else
#if defined(ALLOC_BOEHM)
    snprintf(extra, sizeof extra, " gc_count=%lu", (unsigned long)GC_get_gc_no());
#endif
    snprintf(variant, sizeof variant, "%s%s", ALLOC_NAME, v == BT_COUNTED ? "-rc" : "");
#endif
    printf(
        "RESULT bench=bt alloc=%s version=%s depth=%d seconds=%.3f peak_rss_mib=%.1f check=%ld%s\n",
        variant, a_version(), max_depth, secs, peak, total, extra);
}

/* ------------------------------------------------------------------ */
/* new + release, incref + decref                                      */
/* ------------------------------------------------------------------ */

#if defined(ALLOC_RECYCLE)
typedef struct obj32 {
    void *ref;
    char pad[24];
} obj32;
static void obj32_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    obj32 *o = self;
    if (o->ref)
        visit(&o->ref, arg);
}
static const rcy_type plain_type = {"plain32", sizeof(obj32), NULL, NULL, NULL};
static const rcy_type tracked_type = {"tracked32", sizeof(obj32), obj32_traverse, NULL, NULL};
#endif

static void newfree(void)
{
    const long n = bench_quick() ? 2000000L : 30000000L;
    a_init();
    static const char *const kinds[3] = {"plain", "tracked", "raw"};
    for (int kind = 0; kind < 3; kind++) { /* plain (untracked), tracked, raw malloc(48) */
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now_s();
            for (long i = 0; i < n; i++) {
#if defined(ALLOC_RECYCLE)
                if (kind == 2) {
                    char *b = a_malloc(48);
                    b[16] = (char)i;
                    BENCH_BARRIER();
                    a_free(b);
                    continue;
                }
                obj32 *o = rcy_new(g_heap, kind ? &tracked_type : &plain_type);
                o->pad[0] = (char)i;
                BENCH_BARRIER();
                rcy_decref(o);
#else
                /* an object's size (a count's word and 32 bytes), or the raw 48 */
                char *o = a_malloc(kind == 2 ? 48 : 40);
                o[16] = (char)i;
                BENCH_BARRIER();
                a_free(o);
#endif
            }
            double t = now_s() - t0;
            if (t < best)
                best = t;
        }
        printf("RESULT bench=newfree alloc=%s kind=%s ops=%ld ns_pair=%.2f\n", ALLOC_NAME,
               kinds[kind], n, best * 1e9 / (double)n);
    }
}

#if !defined(ALLOC_RECYCLE)
typedef struct hobj {
    uint32_t rc;
    uint32_t pad;
    char data[32];
} hobj;
static inline void h_incref(hobj *o)
{
    o->rc++;
}
static inline void h_decref(hobj *o)
{
    if (--o->rc == 0)
        a_free(o);
}
#endif

static void refpair(void)
{
    const long n = bench_quick() ? 5000000L : 200000000L;
    enum { NOBJ = 1024 };
    void *objs[NOBJ];
    a_init();
    for (int i = 0; i < NOBJ; i++) {
#if defined(ALLOC_RECYCLE)
        objs[i] = rcy_new(g_heap, &plain_type);
#else
        hobj *o = a_malloc_or_die(sizeof *o);
        o->rc = 1;
        objs[i] = o;
#endif
    }
    double best = 1e30, best_loop = 1e30;
    uintptr_t sink = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        for (long k = 0; k < n; k++) {
            void *o = objs[k & (NOBJ - 1)];
            sink += (uintptr_t)o;
            BENCH_BARRIER();
        }
        double tl = now_s() - t0;
        t0 = now_s();
        for (long k = 0; k < n; k++) {
            void *o = objs[k & (NOBJ - 1)];
#if defined(ALLOC_RECYCLE)
            rcy_incref(o);
            BENCH_BARRIER();
            rcy_decref(o);
#else
            h_incref(o);
            BENCH_BARRIER();
            h_decref(o);
#endif
        }
        double t = now_s() - t0;
        if (t < best)
            best = t;
        if (tl < best_loop)
            best_loop = tl;
    }
    double ns = (best - best_loop) * 1e9 / (double)n;
    printf("RESULT bench=refpair alloc=%s ops=%ld ns_pair=%.3f ns_gross=%.3f sink=%u\n", ALLOC_NAME,
           n, ns < 0 ? 0 : ns, best * 1e9 / (double)n, (unsigned)(sink & 1));
    for (int i = 0; i < NOBJ; i++) {
#if defined(ALLOC_RECYCLE)
        rcy_decref(objs[i]);
#else
        h_decref(objs[i]);
#endif
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "bt";
    if (!strcmp(mode, "bt")) {
        int depth = (int)arg_long(argc, argv, 2, bench_quick() ? 16 : 21);
        enum bt_variant v = BT_DEFAULT;
        if (argc > 3) {
            static const char *const opts[] = {"", "gcoff", "nopace", "rc", "traverse"};
#if defined(ALLOC_RECYCLE)
            int first = BT_GCOFF, last = BT_TRAVERSE;
#elif defined(ALLOC_BOEHM)
            int first = 1, last = 0; /* none: Boehm GC never frees */
#else
            int first = BT_COUNTED, last = BT_COUNTED;
#endif
            for (int i = first; i <= last; i++)
                if (!strcmp(argv[3], opts[i]))
                    v = (enum bt_variant)i;
            if (v == BT_DEFAULT) {
                fprintf(stderr, "%s: bt variant '%s' is not one of this allocator's\n", argv[0],
                        argv[3]);
                return 2;
            }
        }
        binary_trees(depth, v);
    } else if (!strcmp(mode, "newfree")) {
        newfree();
    } else if (!strcmp(mode, "refpair")) {
        refpair();
    } else {
        fprintf(
            stderr,
            "usage: %s bt [depth] [gcoff|nopace|traverse (recycle) | rc (a malloc)] | newfree | "
            "refpair\n",
            argv[0]);
        return 2;
    }
    return 0;
}
