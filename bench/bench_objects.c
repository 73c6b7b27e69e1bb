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
 *   bench_objects_<alloc> bt [depth] [gcoff|nopace]
 *                                        binary-trees (default depth 21, quick 16);
 *                                        recycle: collector on (defaults), off
 *                                        (gcoff), or on without drop pacing
 *                                        (nopace: Python's policy)
 */
#include "bench_common.h"

/* ------------------------------------------------------------------ */
/* binary-trees                                                        */
/* ------------------------------------------------------------------ */

#if defined(ALLOC_RECYCLE)
typedef struct node { void *l, *r; } node;

static void node_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    node *n = self;
    if (n->l)
        visit(&n->l, arg);
    if (n->r)
        visit(&n->r, arg);
}
static const rcy_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL};

static node *bt_make(int d)
{
    node *n = rcy_new(g_heap, &node_type);
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
static long bt_check(const node *n)
{
    return n->l ? 1 + bt_check(n->l) + bt_check(n->r) : 1;
}
static void bt_free(node *n) { rcy_decref(n); }
#else
typedef struct node { struct node *l, *r; } node;

static node *bt_make(int d)
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
static long bt_check(const node *n)
{
    return n->l ? 1 + bt_check(n->l) + bt_check(n->r) : 1;
}
static void bt_free(node *n)
{
#if defined(ALLOC_BOEHM)
    (void)n; /* the collector reclaims it */
#else
    if (n->l) {
        bt_free(n->l);
        bt_free(n->r);
    }
    a_free(n);
#endif
}
#endif

/* gc_mode: 0 collector on (defaults), 1 off, 2 on without drop pacing */
static void binary_trees(int max_depth, int gc_mode)
{
    const int min_depth = 4;
    if (max_depth < min_depth + 2)
        max_depth = min_depth + 2;
    a_init();
#if defined(ALLOC_RECYCLE)
    if (gc_mode == 1)
        rcy_gc_disable(g_heap);
    if (gc_mode == 2)
        rcy_gc_set_drop_pacing(g_heap, 0);
#else
    (void)gc_mode;
#endif
    double t0 = now_s();
    long total = 0;

    node *stretch = bt_make(max_depth + 1);
    total += bt_check(stretch);
    bt_free(stretch);

    node *long_lived = bt_make(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + min_depth);
        long check = 0;
        for (long i = 0; i < iters; i++) {
            node *t = bt_make(d);
            check += bt_check(t);
            bt_free(t);
        }
        total += check;
    }
    total += bt_check(long_lived);
    bt_free(long_lived);
    double secs = now_s() - t0;
    double peak = peak_rss_mib();

    char extra[160] = "";
#if defined(ALLOC_RECYCLE)
    rcy_gc_genstats st[3];
    rcy_gc_get_stats(g_heap, st);
    snprintf(extra, sizeof extra, " gc0=%zu gc1=%zu gc2=%zu header_bytes=%zu", st[0].collections,
             st[1].collections, st[2].collections, rcy_header_size(&node_type));
    const char *variant = gc_mode == 1 ? "recycle-gcoff" : gc_mode == 2 ? "recycle-nopace" : "recycle";
#elif defined(ALLOC_BOEHM)
    snprintf(extra, sizeof extra, " gc_count=%lu", (unsigned long)GC_get_gc_no());
    const char *variant = ALLOC_NAME;
#else
    const char *variant = ALLOC_NAME;
#endif
    printf("RESULT bench=bt alloc=%s version=%s depth=%d seconds=%.3f peak_rss_mib=%.1f check=%ld%s\n",
           variant, a_version(), max_depth, secs, peak, total, extra);
}

/* ------------------------------------------------------------------ */
/* new + release, incref + decref                                      */
/* ------------------------------------------------------------------ */

#if defined(ALLOC_RECYCLE)
typedef struct obj32 { void *ref; char pad[24]; } obj32;
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
typedef struct hobj { uint32_t rc; uint32_t pad; char data[32]; } hobj;
static inline void h_incref(hobj *o) { o->rc++; }
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
        int gc_mode = argc > 3 && !strcmp(argv[3], "gcoff") ? 1
                      : argc > 3 && !strcmp(argv[3], "nopace") ? 2 : 0;
        binary_trees(depth, gc_mode);
    } else if (!strcmp(mode, "newfree")) {
        newfree();
    } else if (!strcmp(mode, "refpair")) {
        refpair();
    } else {
        fprintf(stderr, "usage: %s bt [depth] [gcoff|nopace] | newfree | refpair\n", argv[0]);
        return 2;
    }
    return 0;
}
