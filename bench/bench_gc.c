/* SPDX-License-Identifier: MIT */
/* Cycle-collector benchmarks (recycle only; bench/py/gc_bench.py runs the
 * same shapes on CPython).
 *
 *   bench_gc live N     a live graph of N tracked objects: a chain from one
 *                       root, each node also pointing at a random earlier
 *                       node; time of a full collection, ns per object
 *   bench_gc cycles N   N objects in N/2 unreachable 2-cycles; time of the one
 *                       full collection that finds and frees them
 *   bench_gc young M B  M allocations of tracked objects (a ring of 1,000
 *                       live ones, each pointing at another ring member,
 *                       every 16th a self-cycle) on top of B
 *                       long-lived objects, collector at default thresholds;
 *                       every collection timed through the gc callbacks;
 *                       then, as a control, a fixed workload as long as the
 *                       median gen-0 pause, timed as often and the same way
 *                       (what this machine adds to a constant amount of
 *                       work: its max is a floor for the pauses' max)
 *   bench_gc untrack N  N tracked objects: a chain of records, each holding
 *                       three boxes that hold only atoms (objects without
 *                       traverse, like a dict of ints); a full collection
 *                       timed with the boxes tracked, then with them
 *                       untracked (rcy_gc_untrack), as CPython untracks such
 *                       containers
 *   bench_gc budget MIB [off]
 *                       MIB MiB of cyclic garbage (2-cycles of 256-byte
 *                       objects) allocated under a hard limit of 64 MiB
 *                       (rcy_heap_set_limit), collector on (or off: only
 *                       the limit's emergency collections free them); the
 *                       run must never fail an allocation; time, the most
 *                       bytes held and peak RSS, and the share of the time
 *                       spent in the limit's reactions
 */
#include "bench_common.h"

typedef struct gnode {
    void *next, *other;
} gnode;

static void gnode_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    gnode *n = self;
    if (n->next)
        visit(&n->next, arg);
    if (n->other)
        visit(&n->other, arg);
}
static const rcy_type gnode_type = {"gnode", sizeof(gnode), gnode_traverse, NULL, NULL};

static gnode *gnew(void)
{
    gnode *n = rcy_new(g_heap, &gnode_type);
    if (!n) {
        fprintf(stderr, "rcy_new failed\n");
        exit(2);
    }
    return n;
}

/* A chain of n nodes from one root; node i also points at a random node
 * before it. Returns the root (the only reference held from outside). */
static gnode *build_graph(size_t n, uint64_t seed)
{
    gnode **all = os_array(n * sizeof(gnode *));
    rng_t rng = {seed};
    gnode *root = gnew(), *cur = root;
    all[0] = root;
    for (size_t i = 1; i < n; i++) {
        gnode *x = gnew();
        gnode *o = all[rng_next(&rng) % i];
        rcy_incref(o);
        x->other = o;
        cur->next = x; /* the new reference moves into the chain */
        cur = x;
        all[i] = x;
    }
    os_array_free(all, n * sizeof(gnode *));
    return root;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void live(size_t n)
{
    a_init();
    rcy_gc_disable(g_heap);
    double t0 = now_s();
    gnode *root = build_graph(n, 0x1234567ULL);
    double t_build = now_s() - t0;
    rcy_gc_collect(g_heap, -1); /* first one: everything moves to the old generation */
    enum { REPS = 5 };
    double t[REPS];
    for (int r = 0; r < REPS; r++) {
        t0 = now_s();
        size_t found = rcy_gc_collect(g_heap, -1);
        t[r] = now_s() - t0;
        if (found != 0) {
            fprintf(stderr, "live graph: collector found %zu unreachable\n", found);
            exit(3);
        }
    }
    qsort(t, REPS, sizeof t[0], cmp_double);
    double peak = peak_rss_mib();
    /* The random back edges make the graph cyclic: dropping the root leaves
       it all as garbage for one more full collection to find and free. */
    rcy_decref(root);
    t0 = now_s();
    size_t found = rcy_gc_collect(g_heap, -1);
    double t_garbage = now_s() - t0;
    printf("RESULT bench=gc_live alloc=recycle objects=%zu ns_obj=%.2f ns_obj_min=%.2f "
           "collect_ms=%.3f build_ns_obj=%.2f garbage_ns_obj=%.2f garbage_found=%zu "
           "peak_rss_mib=%.1f\n",
           n, t[REPS / 2] * 1e9 / (double)n, t[0] * 1e9 / (double)n, t[REPS / 2] * 1e3,
           t_build * 1e9 / (double)n, t_garbage * 1e9 / (double)n, found, peak);
}

typedef struct box {
    void *item[4];
} box;
static void box_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    box *b = self;
    for (int i = 0; i < 4; i++)
        visit(&b->item[i], arg);
}
static const rcy_type box_type = {"box", sizeof(box), box_traverse, NULL, NULL};
static const rcy_type atom_type = {"atom", 16, NULL, NULL, NULL};

static void *new_or_die(const rcy_type *t)
{
    void *o = rcy_new(g_heap, t);
    if (!o) {
        fprintf(stderr, "rcy_new failed\n");
        exit(2);
    }
    return o;
}

/* Median of 5 full collections, in ms. */
static double full_collection_ms(void)
{
    enum { REPS = 5 };
    double t[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = now_s();
        rcy_gc_collect(g_heap, -1);
        t[r] = (now_s() - t0) * 1e3;
    }
    qsort(t, REPS, sizeof t[0], cmp_double);
    return t[REPS / 2];
}

static void untrack(size_t n)
{
    a_init();
    rcy_gc_disable(g_heap);
    size_t records = n / 4;
    box **boxes = os_array(records * 3 * sizeof(box *));
    box *root = new_or_die(&box_type), *cur = root;
    for (size_t i = 0; i < records; i++) {
        box *next = new_or_die(&box_type);
        cur->item[0] = next;
        for (int k = 1; k < 4; k++) {
            box *b = new_or_die(&box_type);
            for (int j = 0; j < 4; j++)
                b->item[j] = new_or_die(&atom_type);
            cur->item[k] = b;
            boxes[i * 3 + (size_t)(k - 1)] = b;
        }
        cur = next;
    }
    rcy_gc_collect(g_heap, -1);
    double tracked = full_collection_ms();
    for (size_t i = 0; i < records * 3; i++)
        rcy_gc_untrack(boxes[i]);
    double untracked = full_collection_ms();
    printf("RESULT bench=gc_untrack alloc=recycle objects=%zu tracked_ms=%.3f untracked_ms=%.3f "
           "saved_pct=%.1f\n",
           n, tracked, untracked, (1.0 - untracked / tracked) * 100.0);
    os_array_free(boxes, records * 3 * sizeof(box *));
    rcy_decref(root);
}

static void cycles(size_t n)
{
    a_init();
    rcy_gc_disable(g_heap);
    double t0 = now_s();
    for (size_t i = 0; i + 1 < n; i += 2) {
        gnode *a = gnew(), *b = gnew();
        a->next = b; /* a's reference to b is the one gnew gave */
        rcy_incref(a);
        b->next = a;
        rcy_decref(a); /* now only the cycle holds them */
    }
    double t_build = now_s() - t0;
    t0 = now_s();
    size_t found = rcy_gc_collect(g_heap, -1);
    double t = now_s() - t0;
    if (found != n - (n & 1)) {
        fprintf(stderr, "cycles: collector found %zu of %zu\n", found, n);
        exit(3);
    }
    printf("RESULT bench=gc_cycles alloc=recycle objects=%zu ns_obj=%.2f collect_ms=%.3f "
           "build_ns_obj=%.2f\n",
           n, t * 1e9 / (double)n, t * 1e3, t_build * 1e9 / (double)n);
}

/* ---- young-collection pauses ---- */
#define MAXPAUSE (1u << 20)
typedef struct {
    double start;
    int gen;
    size_t n[3];
    double *pause[3];
} pauses;

static void on_gc(const char *phase, const rcy_gc_info *info, void *arg)
{
    pauses *p = arg;
    if (phase[1] == 't' && phase[2] == 'a') { /* "start" */
        p->gen = info->generation;
        p->start = now_s();
    } else {
        double d = now_s() - p->start;
        int g = p->gen < 0 || p->gen > 2 ? 2 : p->gen;
        if (p->n[g] < MAXPAUSE)
            p->pause[g][p->n[g]++] = d;
    }
}

static double pct(double *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i];
}

/* ---- the control: the machine's own jitter ---- */

/* Follows a random cycle through a 256 KiB table (L2-sized), reading
   scattered words as the collector reads scattered headers. */
static uint32_t chase(const uint32_t *next, size_t steps)
{
    uint32_t i = 0;
    for (size_t k = 0; k < steps; k++)
        i = next[i];
    return i;
}

static volatile uint32_t chase_sink;

/* n timings of a workload as long as target_s, each after about gap_s of
   spinning (the allocation loop's time between collections), sorted. */
static void control_timings(double target_s, double gap_s, double *out, size_t n)
{
    enum { SLOTS = 1u << 16 };
    uint32_t *next = os_array(SLOTS * sizeof *next);
    rng_t rng = {0x5EED};
    for (uint32_t i = 0; i < SLOTS; i++)
        next[i] = i;
    for (uint32_t i = SLOTS - 1; i > 0; i--) { /* Sattolo: one cycle through every slot */
        uint32_t j = (uint32_t)(rng_next(&rng) % i), t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    enum { CALIBRATE = 1u << 22 };
    double t0 = now_s();
    chase_sink = chase(next, CALIBRATE);
    size_t steps = (size_t)(target_s / ((now_s() - t0) / CALIBRATE));
    for (size_t k = 0; k < n; k++) {
        double until = now_s() + gap_s;
        while (now_s() < until)
            ;
        double start = now_s();
        chase_sink = chase(next, steps);
        out[k] = now_s() - start;
    }
    qsort(out, n, sizeof *out, cmp_double);
    os_array_free(next, SLOTS * sizeof *next);
}

static void young(size_t m, size_t base)
{
    enum { RING = 1000 };
    a_init();
    rcy_gc_disable(g_heap);
    gnode *keep = base ? build_graph(base, 0xABCDEFULL) : NULL;
    rcy_gc_collect(g_heap, -1);
    rcy_gc_enable(g_heap);

    pauses p = {0};
    for (int g = 0; g < 3; g++)
        p.pause[g] = os_array(MAXPAUSE * sizeof(double));
    gnode **ring = os_array(RING * sizeof(gnode *));
    if (rcy_gc_callback_add(g_heap, on_gc, &p) != 0) {
        fprintf(stderr, "rcy_gc_callback_add failed\n");
        exit(2);
    }
    double t0 = now_s();
    for (size_t k = 0; k < m; k++) {
        gnode *x = gnew();
        gnode *o = ring[(k * 7919) % RING];
        if (o) {
            rcy_incref(o);
            x->other = o;
        }
        if (k % 16 == 0) {
            rcy_incref(x);
            x->next = x; /* garbage cycle once it leaves the ring */
        }
        size_t slot = k % RING;
        gnode *old = ring[slot];
        if (old) {
            /* bounded lifetimes: no chains through 'other' */
            gnode *oo = old->other;
            old->other = NULL;
            rcy_xdecref(oo);
            rcy_decref(old);
        }
        ring[slot] = x;
    }
    double total = now_s() - t0;
    rcy_gc_callback_remove(g_heap, on_gc, &p);
    double gc_time = 0;
    for (int g = 0; g < 3; g++) {
        for (size_t i = 0; i < p.n[g]; i++)
            gc_time += p.pause[g][i];
        qsort(p.pause[g], p.n[g], sizeof(double), cmp_double);
    }
    size_t nc = p.n[0];
    double *control = os_array(MAXPAUSE * sizeof(double)); /* nc <= MAXPAUSE */
    if (nc)
        control_timings(pct(p.pause[0], nc, 0.5), (total - gc_time) / (double)nc, control, nc);
    printf("RESULT bench=gc_young alloc=recycle allocs=%zu base=%zu total_s=%.3f gc_s=%.4f "
           "gen0_n=%zu gen0_median_us=%.2f gen0_p99_us=%.2f gen0_max_us=%.2f "
           "gen1_n=%zu gen1_median_us=%.2f gen1_max_us=%.2f gen2_n=%zu gen2_max_us=%.1f "
           "control_median_us=%.2f control_p99_us=%.2f control_max_us=%.2f\n",
           m, base, total, gc_time, p.n[0], pct(p.pause[0], p.n[0], 0.5) * 1e6,
           pct(p.pause[0], p.n[0], 0.99) * 1e6, p.n[0] ? p.pause[0][p.n[0] - 1] * 1e6 : 0, p.n[1],
           pct(p.pause[1], p.n[1], 0.5) * 1e6, p.n[1] ? p.pause[1][p.n[1] - 1] * 1e6 : 0, p.n[2],
           p.n[2] ? p.pause[2][p.n[2] - 1] * 1e6 : 0, pct(control, nc, 0.5) * 1e6,
           pct(control, nc, 0.99) * 1e6, nc ? control[nc - 1] * 1e6 : 0);
    os_array_free(control, MAXPAUSE * sizeof(double));
    for (size_t i = 0; i < RING; i++)
        rcy_xdecref(ring[i]);
    if (keep)
        rcy_decref(keep);
}

/* ---- cyclic garbage under a hard limit ---- */
static void budget(size_t mib, int collector_off)
{
    const size_t limit = (size_t)64 << 20, payload = 248; /* 256-byte blocks */
    a_init();
    if (rcy_heap_set_limit(g_heap, 0, limit) != 0) {
        fprintf(stderr, "budget: rcy_heap_set_limit failed\n");
        exit(2);
    }
    if (collector_off)
        rcy_gc_disable(g_heap);
    double base = rss_mib();
    reset_peak_rss();
    size_t pairs = (mib << 20) / (2 * 256), held_max = 0;
    rcy_mem_stats st;
    double t0 = now_s();
    for (size_t i = 0; i < pairs; i++) {
        gnode *a = rcy_new_sized(g_heap, &gnode_type, payload);
        gnode *b = rcy_new_sized(g_heap, &gnode_type, payload);
        if (!a || !b) {
            fprintf(stderr, "budget: an allocation failed under the limit (pair %zu)\n", i);
            exit(3);
        }
        a->next = b; /* a cycle, then dropped: garbage only a collection frees */
        b->next = a;
        if ((i & 1023) == 0) {
            rcy_mem_get_stats(g_heap, &st);
            held_max = st.bytes_held > held_max ? st.bytes_held : held_max;
        }
    }
    double t = now_s() - t0;
    rcy_mem_get_stats(g_heap, &st);
    held_max = st.bytes_held > held_max ? st.bytes_held : held_max;
    printf("RESULT bench=budget alloc=recycle collector=%s garbage_mib=%zu limit_mib=64 s=%.3f "
           "ns_obj=%.2f held_max_mib=%.2f peak_rss_mib=%.2f hard_reactions=%zu failures=%zu "
           "reaction_share=%.3f\n",
           collector_off ? "off" : "on", mib, t, t * 1e9 / (double)(2 * pairs),
           (double)held_max / 1048576.0, peak_rss_mib() - base, st.limit_hard_reactions,
           st.limit_failures, t > 0 ? (double)st.limit_reaction_ns * 1e-9 / t : 0.0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "live")) {
        live((size_t)arg_long(argc, argv, 2, 1000000));
    } else if (!strcmp(mode, "cycles")) {
        cycles((size_t)arg_long(argc, argv, 2, 1000000));
    } else if (!strcmp(mode, "untrack")) {
        untrack((size_t)arg_long(argc, argv, 2, 1000000));
    } else if (!strcmp(mode, "young")) {
        young((size_t)arg_long(argc, argv, 2, 10000000), (size_t)arg_long(argc, argv, 3, 1000000));
    } else if (!strcmp(mode, "budget")) {
        budget((size_t)arg_long(argc, argv, 2, 2048), argc > 3 && !strcmp(argv[3], "off"));
    } else {
        fprintf(stderr,
                "usage: %s live N | cycles N | untrack N | young M BASE | budget MIB [off]\n",
                argv[0]);
        return 2;
    }
    return 0;
}
