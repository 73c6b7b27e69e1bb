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
 *                       work: its max is a floor for the pauses' max);
 *                       `young M B descriptor`: the allocated objects'
 *                       references described by a layout descriptor
 *                       instead of traverse
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
 *   bench_gc shape KIND N [REPS] [traverse]
 *                       full collections of about N tracked objects shaped as
 *                       KIND: list (one container of records, each holding
 *                       an atom), dict (tables of 8 atom -> record entries,
 *                       records linking to random earlier ones), tree (a
 *                       complete binary tree), records (a chain with random
 *                       back edges); records described by a layout
 *                       descriptor, or by traverse; ns per object
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
static const rcy_type gnode_desc_type = {.name = "gnode_desc",
                                         .size = sizeof(gnode),
                                         .ref_words = RCY_REF_WORD(gnode, next) |
                                                      RCY_REF_WORD(gnode, other)};

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

static void young(size_t m, size_t base, const rcy_type *type)
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
        gnode *x = rcy_new(g_heap, type);
        if (!x) {
            fprintf(stderr, "rcy_new failed\n");
            exit(2);
        }
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
           "control_median_us=%.2f control_p99_us=%.2f control_max_us=%.2f layout=%s\n",
           m, base, total, gc_time, p.n[0], pct(p.pause[0], p.n[0], 0.5) * 1e6,
           pct(p.pause[0], p.n[0], 0.99) * 1e6, p.n[0] ? p.pause[0][p.n[0] - 1] * 1e6 : 0, p.n[1],
           pct(p.pause[1], p.n[1], 0.5) * 1e6, p.n[1] ? p.pause[1][p.n[1] - 1] * 1e6 : 0, p.n[2],
           p.n[2] ? p.pause[2][p.n[2] - 1] * 1e6 : 0, pct(control, nc, 0.5) * 1e6,
           pct(control, nc, 0.99) * 1e6, nc ? control[nc - 1] * 1e6 : 0,
           type->traverse ? "traverse" : "descriptor");
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

/* ------------------------------------------------------------------ */
/* shapes: full collections of heaps shaped like real programs' (issue 21) */
/* ------------------------------------------------------------------ */

/* Each shape's objects are records whose references a layout descriptor
   describes, or (the `traverse` variant) the same records with traverse;
   containers' entries are a variable part, always reported by traverse.
   Atoms (no references) stand for ints and strings: never tracked. */
typedef struct rec1 {
    void *child;
    long value;
} rec1;
typedef struct rec2 {
    void *a, *b;
    long value;
} rec2;
typedef struct table {
    size_t len;
    void *entry[]; /* key (an atom), value (a record), key, value... */
} table;

static void rec1_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((rec1 *)self)->child, arg);
}
static void rec2_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    rec2 *r = self;
    visit(&r->a, arg);
    visit(&r->b, arg);
}
static void table_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    table *t = self;
    for (size_t i = 0; i < t->len; i++)
        visit(&t->entry[i], arg);
}
static const rcy_type shape_types[2][2] = {
    {{.name = "rec1", .size = sizeof(rec1), .ref_words = RCY_REF_WORD(rec1, child)},
     {.name = "rec2",
      .size = sizeof(rec2),
      .ref_words = RCY_REF_WORD(rec2, a) | RCY_REF_WORD(rec2, b)}},
    {{"rec1_traverse", sizeof(rec1), rec1_traverse, NULL, NULL},
     {"rec2_traverse", sizeof(rec2), rec2_traverse, NULL, NULL}},
};
static const rcy_type table_type = {"table", sizeof(table), table_traverse, NULL, NULL};
static const rcy_type shape_atom_type = {"atom", 16, NULL, NULL, NULL};

static table *table_new(size_t len)
{
    table *t = rcy_new_sized(g_heap, &table_type, sizeof(table) + len * sizeof(void *));
    if (!t) {
        fprintf(stderr, "rcy_new_sized failed\n");
        exit(2);
    }
    t->len = len;
    return t;
}

/* list: one container of n records, each holding one atom: a Python list
   of small objects. */
static void *shape_list(size_t n, const rcy_type *const *types)
{
    table *l = table_new(n);
    for (size_t i = 0; i < n; i++) {
        rec1 *r = new_or_die(types[0]);
        r->child = new_or_die(&shape_atom_type);
        l->entry[i] = r;
    }
    return l;
}

/* dict: a list of n/9 tables of 8 entries (atom key, record value), each
   record holding an atom and a random earlier record: dicts of records. */
static void *shape_dict(size_t n, const rcy_type *const *types)
{
    enum { ENTRIES = 8 };
    size_t ntables = n / (ENTRIES + 1) + 1;
    void **recs = os_array(ntables * ENTRIES * sizeof(void *));
    rng_t rng = {0x5eed};
    table *all = table_new(ntables);
    size_t made = 0;
    for (size_t t = 0; t < ntables; t++) {
        table *d = table_new(2 * ENTRIES);
        for (size_t e = 0; e < ENTRIES; e++) {
            rec2 *r = new_or_die(types[1]);
            r->a = new_or_die(&shape_atom_type);
            if (made) {
                r->b = recs[rng_next(&rng) % made];
                rcy_incref(r->b);
            }
            recs[made++] = r;
            d->entry[2 * e] = new_or_die(&shape_atom_type);
            d->entry[2 * e + 1] = r;
        }
        all->entry[t] = d;
    }
    os_array_free(recs, ntables * ENTRIES * sizeof(void *));
    return all;
}

/* tree: a complete binary tree of n records (depth log2 n), built depth
   first. */
static void *shape_tree_node(size_t n, const rcy_type *const *types)
{
    rec2 *r = new_or_die(types[1]);
    size_t rest = n - 1;
    if (rest > 0)
        r->a = shape_tree_node(rest - rest / 2, types);
    if (rest / 2 > 0)
        r->b = shape_tree_node(rest / 2, types);
    return r;
}

/* records: a chain of n records from one root, record i also holding a
   random earlier one (bench_gc live's graph). */
static void *shape_records(size_t n, const rcy_type *const *types)
{
    void **all = os_array(n * sizeof(void *));
    rng_t rng = {0x1234567ULL};
    rec2 *root = new_or_die(types[1]), *cur = root;
    all[0] = root;
    for (size_t i = 1; i < n; i++) {
        rec2 *x = new_or_die(types[1]);
        x->b = all[rng_next(&rng) % i];
        rcy_incref(x->b);
        cur->a = x;
        cur = x;
        all[i] = x;
    }
    os_array_free(all, n * sizeof(void *));
    return root;
}

static void shape_count_one(void *o, void *arg)
{
    (void)o;
    ++*(size_t *)arg;
}

/* shape KIND N [REPS] [traverse]: builds the shape with about N tracked
   objects, then REPS full collections (the first moves everything to the
   old generation; all are timed; the median and minimum of those after
   the first are reported). REPS 1 and 3 under callgrind give the
   instructions of two collections by difference (bench/run.sh). */
static void shape(const char *kind, size_t n, int reps, int use_traverse)
{
    a_init();
    rcy_gc_disable(g_heap);
    const rcy_type *types[2] = {&shape_types[use_traverse][0], &shape_types[use_traverse][1]};
    void *root;
    if (!strcmp(kind, "list"))
        root = shape_list(n, types);
    else if (!strcmp(kind, "dict"))
        root = shape_dict(n, types);
    else if (!strcmp(kind, "tree"))
        root = shape_tree_node(n, types);
    else if (!strcmp(kind, "records"))
        root = shape_records(n, types);
    else {
        fprintf(stderr, "shape: '%s' is not list, dict, tree or records\n", kind);
        exit(2);
    }
    enum { MAX_REPS = 16 };
    double t[MAX_REPS];
    reps = reps < 1 ? 1 : reps > MAX_REPS ? MAX_REPS : reps;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        size_t found = rcy_gc_collect(g_heap, -1);
        t[r] = now_s() - t0;
        if (found != 0) {
            fprintf(stderr, "shape %s: collector found %zu unreachable\n", kind, found);
            exit(3);
        }
    }
    /* the first collection moved everything: the others are the steady state */
    int first = reps > 1, timed = reps - first;
    qsort(t + first, (size_t)timed, sizeof t[0], cmp_double);
    double med = t[first + timed / 2], min = t[first];
    size_t objects = 0;
    rcy_gc_get_objects(g_heap, -1, shape_count_one, &objects);
    printf("RESULT bench=gc_shape alloc=recycle shape=%s layout=%s n=%zu objects=%zu ns_obj=%.2f "
           "ns_obj_min=%.2f collect_ms=%.3f peak_rss_mib=%.1f\n",
           kind, use_traverse ? "traverse" : "descriptor", n, objects, med * 1e9 / (double)objects,
           min * 1e9 / (double)objects, med * 1e3, peak_rss_mib());
    rcy_decref(root);
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
        young((size_t)arg_long(argc, argv, 2, 10000000), (size_t)arg_long(argc, argv, 3, 1000000),
              argc > 4 && !strcmp(argv[4], "descriptor") ? &gnode_desc_type : &gnode_type);
    } else if (!strcmp(mode, "budget")) {
        budget((size_t)arg_long(argc, argv, 2, 2048), argc > 3 && !strcmp(argv[3], "off"));
    } else if (!strcmp(mode, "shape") && argc > 2) {
        shape(argv[2], (size_t)arg_long(argc, argv, 3, 1000000), (int)arg_long(argc, argv, 4, 6),
              argc > 5 && !strcmp(argv[5], "traverse"));
    } else {
        fprintf(stderr,
                "usage: %s live N | cycles N | untrack N | young M BASE [descriptor] | budget MIB "
                "[off] | "
                "shape list|dict|tree|records N [REPS] [traverse]\n",
                argv[0]);
        return 2;
    }
    return 0;
}
