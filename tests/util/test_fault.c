/* SPDX-License-Identifier: MIT */
/* Out-of-memory fault injection (util/fault.h), SQLite's way: each
 * scenario runs again and again with its n-th request for memory failing
 * (an OS mapping or a system allocator call), for n = 1, 2, ... until it
 * completes without meeting the fault; once with only that request
 * failing (transient), once with every later one failing too
 * (persistent). After each run:
 *   - every call succeeded or said it failed (NULL with errno ENOMEM, or
 *     -1 with ENOMEM), which the scenarios check as they go;
 *   - the heap's structures are whole: a full collection and a purge run
 *     the collector's and the pools' validators (check level 3);
 *   - nothing is lost: once the scenario has let go of everything and a
 *     collection has run, the heap holds no block, no large block and no
 *     tracked object;
 *   - the heap is destroyed without leaks (LeakSanitizer, asan stage).
 * Built only with -DRCY_FAULT_INJECTION=ON (the asan stage of make test). */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "recycle.h"
#include "util/fault.h"

#include <errno.h>

/* errno is cleared, expr evaluated: a NULL result must come with ENOMEM. */
static void *ok_or_enomem(void *p, const char *what, int line)
{
    if (!p && errno != ENOMEM) {
        fprintf(stderr, "test_fault.c:%d: %s returned NULL with errno %d, not ENOMEM\n", line, what,
                errno);
        CHECK(0);
    }
    return p;
}
#define TRY(expr) (errno = 0, ok_or_enomem((expr), #expr, __LINE__))

/* The same for the calls that return -1 on failure. */
static int status_ok_or_enomem(int rc, const char *what, int line)
{
    if (rc != 0 && (rc != -1 || errno != ENOMEM)) {
        fprintf(stderr, "test_fault.c:%d: %s returned %d with errno %d\n", line, what, rc, errno);
        CHECK(0);
    }
    return rc;
}
#define TRY_STATUS(expr) (errno = 0, status_ok_or_enomem((expr), #expr, __LINE__))

/* ---- types ---- */

typedef struct node {
    struct node *a, *b;
    long value;
} node;
static void node_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    node *n = self;
    visit((void **)&n->a, arg);
    visit((void **)&n->b, arg);
}
static const rcy_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL};
static const rcy_type leaf_type = {"leaf", 40, NULL, NULL, NULL}; /* never tracked */

#define PAIRED (-1L) /* node.value of make_pair's first object */

/* Finalizers: every third object resurrects itself into `saved` (the
   rest are not kept). */
static node *saved[4096];
static size_t nsaved, finalized, finalized_cleared;
static void phoenix_finalize(void *self)
{
    node *n = self;
    finalized++;
    /* one of a pair (make_pair): its cycle is not cleared before it runs */
    if (n->value == PAIRED && !(n->a && n->a->a == n))
        finalized_cleared++;
    if (finalized % 3 == 0 && nsaved < sizeof saved / sizeof saved[0]) {
        rcy_incref(self);
        saved[nsaved++] = self;
    }
}
static const rcy_type phoenix_type = {"phoenix", sizeof(node), node_traverse, phoenix_finalize,
                                      NULL};

static void release_saved(void)
{
    while (nsaved)
        rcy_decref(saved[--nsaved]);
}

/* A weak reference's callback. */
static size_t callbacks_run;
static void on_dead(void *wr, void *arg)
{
    (void)wr;
    (void)arg;
    callbacks_run++;
}

static void count_object(void *o, void *arg)
{
    (void)o;
    ++*(size_t *)arg;
}

/* ---- scenarios: each releases everything it made ---- */

static const size_t sizes[] = {0, 8, 16, 100, 512, 513, 4096, 100000, 48, 300, (size_t)1 << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* The allocator: malloc, calloc and realloc, small and large. */
static void scenario_alloc(rcy_heap *h)
{
    void *p[NSIZES], *q[NSIZES];
    for (size_t i = 0; i < NSIZES; i++) {
        p[i] = TRY(rcy_malloc(h, sizes[i]));
        if (p[i])
            memset(p[i], (int)i, sizes[i]);
        q[i] = TRY(rcy_calloc(h, 3, sizes[i]));
    }
    for (size_t i = 0; i < NSIZES; i++) {
        if (!p[i])
            continue;
        size_t to = sizes[(i + 3) % NSIZES] + 7;
        unsigned char *r = TRY(rcy_realloc(h, p[i], to));
        size_t kept = sizes[i] < to ? sizes[i] : to;
        if (r) {
            CHECK(kept == 0 || (r[0] == (unsigned char)i && r[kept - 1] == (unsigned char)i));
            p[i] = r;
        } else { /* the old block stays, intact */
            CHECK(sizes[i] == 0 || ((unsigned char *)p[i])[sizes[i] - 1] == (unsigned char)i);
        }
    }
    for (size_t i = 0; i < NSIZES; i++) {
        rcy_free(h, p[i]);
        rcy_free(h, q[i]);
    }
    /* many small blocks: more arenas; many large ones: the set grows */
    enum { MANY = 9000, LARGE = 120 };
    static void *many[MANY], *large[LARGE];
    for (size_t i = 0; i < MANY; i++)
        many[i] = TRY(rcy_malloc(h, 256 + (i % 5) * 16));
    for (size_t i = 0; i < LARGE; i++)
        large[i] = TRY(rcy_malloc(h, 600 + i));
    for (size_t i = 0; i < MANY; i++)
        rcy_free(h, many[i]);
    for (size_t i = 0; i < LARGE; i++)
        rcy_free(h, large[i]);
}

/* A list of n nodes (the last one first); NULL if the first failed. */
static node *make_list(rcy_heap *h, const rcy_type *t, size_t n)
{
    node *head = NULL;
    for (size_t i = 0; i < n; i++) {
        node *x = TRY(rcy_new(h, t));
        if (!x)
            break;
        x->a = head;
        x->value = (long)i;
        head = x;
    }
    return head;
}

/* Objects: types of their own pools, untracked ones, large ones, deaths
   nested deeper than the direct ones (the pending queue). */
static void scenario_objects(rcy_heap *h)
{
    node *list = make_list(h, &node_type, 2000); /* the young vector grows; deaths queue */
    void *leaves[20];
    for (size_t i = 0; i < 20; i++)
        leaves[i] = TRY(rcy_new(h, &leaf_type));
    node *big = TRY(rcy_new_sized(h, &node_type, 3000));
    void *sized = TRY(rcy_new_sized(h, &leaf_type, 24 + 8 * (sizes[3] % 7)));
    if (big && list) {
        big->a = list; /* the list hangs from a large object */
        list = NULL;
    }
    /* a tree: two children each, depth 8 */
    node *level[256] = {0};
    size_t width = 1;
    node *tree = level[0] = TRY(rcy_new(h, &node_type));
    rcy_xincref(tree); /* level[] holds the leaves; the tree holds the rest */
    for (int d = 0; d < 7 && level[0]; d++) {
        for (size_t i = width; i-- > 0;) {
            node *parent = level[i];
            level[2 * i] = parent ? TRY(rcy_new(h, &node_type)) : NULL;
            level[2 * i + 1] = parent ? TRY(rcy_new(h, &node_type)) : NULL;
            if (parent) {
                parent->a = level[2 * i];
                parent->b = level[2 * i + 1];
                rcy_xincref(level[2 * i]);
                rcy_xincref(level[2 * i + 1]);
                rcy_decref(parent);
            }
        }
        width *= 2;
    }
    /* a full collection of it all: the list's references point back, to
       objects the scan has passed (its mark stack) */
    (void)rcy_gc_collect(h, -1);
    (void)rcy_gc_collect(h, -1); /* the other way (side table or not, level 3) */
    for (size_t i = 0; i < width; i++)
        rcy_xdecref(level[i]);
    rcy_xdecref(tree);
    /* a cascade of finalizers, some resurrecting, watched by weak references */
    node *phoenixes = make_list(h, &phoenix_type, 400);
    void *watch[4] = {NULL, NULL, NULL, NULL};
    node *p = phoenixes;
    for (size_t i = 0; i < 400 && p; i++, p = p->a)
        if (i % 100 == 50)
            watch[i / 100] = TRY(rcy_weakref_new(p, on_dead, NULL));
    rcy_xdecref(phoenixes);
    for (size_t i = 0; i < 4; i++)
        rcy_xdecref(watch[i]);
    release_saved();
    rcy_xdecref(list);
    rcy_xdecref(big); /* a cascade through the list */
    rcy_xdecref(sized);
    for (size_t i = 0; i < 20; i++)
        rcy_xdecref(leaves[i]);
}

/* Weak references with callbacks, to objects that die by count and to
   a cycle the collector frees. */
enum { TARGETS = 80 };
static void scenario_weak(rcy_heap *h)
{
    node *targets[TARGETS];
    void *weak[TARGETS][3];
    for (size_t i = 0; i < TARGETS; i++) {
        targets[i] = TRY(rcy_new(h, i % 2 ? &node_type : &phoenix_type));
        for (size_t j = 0; j < 3; j++)
            weak[i][j] =
                targets[i] ? TRY(rcy_weakref_new(targets[i], j ? on_dead : NULL, NULL)) : NULL;
    }
    /* targets 0..3: a cycle, garbage; the others die by count */
    for (size_t i = 0; i < 4; i++)
        if (targets[i] && targets[(i + 1) % 4]) {
            targets[i]->a = targets[(i + 1) % 4];
            rcy_incref(targets[(i + 1) % 4]);
        }
    for (size_t i = 0; i < TARGETS; i++) {
        if (weak[i][0] && targets[i]) {
            void *back = rcy_weakref_get(weak[i][0]);
            CHECK(back == targets[i]);
            rcy_xdecref(back);
        }
        rcy_xdecref(targets[i]);
    }
    (void)rcy_gc_collect(h, -1);
    for (size_t i = 0; i < TARGETS; i++)
        for (size_t j = 0; j < 3; j++)
            if (weak[i][j]) {
                void *t = rcy_weakref_get(weak[i][j]);
                rcy_xdecref(t); /* resurrected phoenixes may still be there */
                rcy_decref(weak[i][j]);
            }
    release_saved();
}

/* A snapshot's callback: holds on to the object until the end. */
typedef struct holder {
    void *items[64];
    size_t n;
} holder;
static void hold(void *o, void *arg)
{
    holder *k = arg;
    if (k->n < 64) {
        rcy_incref(o);
        k->items[k->n++] = o;
    }
}

static void gc_callback(const char *phase, const rcy_gc_info *info, void *arg)
{
    (void)phase;
    (void)info;
    ++*(size_t *)arg;
}

/* Two objects referring to each other, released: a garbage cycle. x's
   type is t, y's node_type. */
static void make_pair(rcy_heap *h, const rcy_type *t)
{
    node *x = TRY(rcy_new(h, t));
    node *y = x ? TRY(rcy_new(h, &node_type)) : NULL;
    if (x && y) {
        x->a = y;
        y->a = x;
        x->value = PAIRED;
        rcy_incref(x);
    }
    rcy_xdecref(x);
}

/* A full collection whose garbage is 256 plain objects, then, last in
   the heap's order (its pools come later), a phoenix whose partner is
   among the 256: the collector's garbage vector must grow to hold it. */
static void scenario_collect_one_more(rcy_heap *h)
{
    rcy_gc_set_threshold(h, 0, 10, 10);
    for (int i = 0; i < 127; i++)
        make_pair(h, &node_type);
    node *self = TRY(rcy_new(h, &node_type));
    if (self)
        self->a = self; /* its own reference: garbage */
    make_pair(h, &phoenix_type);
    (void)rcy_gc_collect(h, -1);
    release_saved();
}

/* Collections: cycles with finalizers (some resurrect), automatic young
   collections, snapshots, SAVEALL's garbage list, freezing. */
static void scenario_collect(rcy_heap *h)
{
    size_t events = 0;
    (void)TRY_STATUS(rcy_gc_callback_add(h, gc_callback, &events));
    rcy_gc_set_threshold(h, 0, 2, 2); /* first no automatic collection: garbage piles up */
    node *root = TRY(rcy_new(h, &node_type));
    node *kept = root ? TRY(rcy_new(h, &node_type)) : NULL;
    if (kept) { /* a cycle reachable from root */
        root->b = kept;
        kept->a = root;
        rcy_incref(root);
    }
    for (size_t i = 0; i < 400; i++) /* past the collector's first vectors */
        make_pair(h, i % 2 ? &phoenix_type : &node_type);
    holder k = {{0}, 0};
    (void)TRY_STATUS(rcy_gc_get_objects(h, -1, hold, &k));
    (void)TRY_STATUS(rcy_gc_get_objects(h, 0, count_object, &events));
    if (kept)
        (void)TRY_STATUS(rcy_gc_get_referrers(h, kept, hold, &k));
    (void)rcy_gc_collect(h, 0); /* a young collection of it all */
    for (size_t i = 0; i < 100; i++)
        make_pair(h, i % 2 ? &phoenix_type : &node_type);
    rcy_gc_set_debug(h, RCY_DEBUG_SAVEALL);
    (void)rcy_gc_collect(h, -1); /* its garbage kept in gc.garbage */
    rcy_gc_set_debug(h, 0);
    rcy_gc_garbage_clear(h);
    rcy_gc_freeze(h);
    (void)rcy_gc_collect(h, -1);
    rcy_gc_unfreeze(h);
    rcy_gc_set_threshold(h, 50, 2, 2); /* then frequent automatic collections */
    for (size_t i = 0; i < 300; i++)
        make_pair(h, i % 3 ? &node_type : &phoenix_type);
    for (size_t i = 0; i < k.n; i++)
        rcy_decref(k.items[i]);
    rcy_xdecref(root);
    (void)rcy_gc_collect(h, 1);
    (void)rcy_gc_collect(h, -1);
    release_saved();
    (void)rcy_gc_callback_remove(h, gc_callback, &events);
}

/* A finalizer never finds its cycle cleared, even when the vector of a
   collection's garbage cannot grow: the objects it cannot take survive,
   and the resurrection check (step 7) then runs, so the garbage they
   still refer to is not cleared under them (src/gc/collect.c,
   hold_failed; this loop found the bug). */
static void check_no_cleared_cycle(const char *name, long n)
{
    if (finalized_cleared == 0)
        return;
    fprintf(stderr, "test_fault: %s, fault at %ld: a finalizer found its cycle cleared\n", name, n);
    CHECK(0);
}

/* The budget under faults: a hard limit refusing, then recovering. */
static void scenario_budget(rcy_heap *h)
{
    CHECK_EQ(rcy_heap_set_limit(h, 256 * 1024, 512 * 1024), 0);
    void *p[200];
    for (size_t i = 0; i < 200; i++)
        p[i] = TRY(rcy_malloc(h, i % 10 ? 200 : 20000));
    node *list = make_list(h, &node_type, 300);
    for (size_t i = 0; i < 200; i++)
        rcy_free(h, p[i]);
    rcy_xdecref(list);
}

/* ---- the loops ---- */

static void count_tracked(void *o, void *arg)
{
    (void)o;
    ++*(size_t *)arg;
}

/* The heap after a run: whole (validators) and empty (nothing lost). */
static void check_heap(rcy_heap *h, const char *name, long n)
{
    (void)rcy_gc_collect(h, -1); /* validates the generations (level 3) */
    release_saved();             /* what its finalizers resurrected (they run once) */
    (void)rcy_gc_collect(h, -1);
    (void)rcy_purge(h); /* validates the pools (level 3) */
    size_t tracked = 0;
    CHECK_EQ(rcy_gc_get_objects(h, -1, count_tracked, &tracked), 0);
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    if (tracked || s.small_bytes_used || s.large_blocks || rcy_gc_get_freeze_count(h) ||
        rcy_gc_garbage_count(h)) {
        fprintf(stderr,
                "test_fault: %s, fault at %ld: left %zu tracked objects, %zu small bytes, "
                "%zu large blocks\n",
                name, n, tracked, s.small_bytes_used, s.large_blocks);
        CHECK(0);
    }
}

/* RCY_FAULT_AT=N (a failure to reproduce): only that n. */
static long only_at(void)
{
    const char *at = getenv("RCY_FAULT_AT");
    return at ? strtol(at, NULL, 10) : 0;
}

/* Runs the scenario with its n-th request failing, n = 1, 2, ..., until
   it meets no fault. Returns the requests of the run without faults. */
static long fault_loop(const char *name, void (*scenario)(rcy_heap *), int persistent)
{
    for (long n = only_at() > 0 ? only_at() : 1;; n++) {
        finalized = finalized_cleared = callbacks_run = 0; /* the same run each time */
        rcy__fault_persistent(persistent);
        rcy__fault_fail_after(n);
        errno = 0;
        rcy_heap *h = rcy_heap_new();
        if (!h)
            CHECK_EQ(errno, ENOMEM);
        else
            scenario(h);
        long faults = rcy__fault_count(), requests = rcy__fault_requests();
        rcy__fault_fail_after(0);
        check_no_cleared_cycle(name, n);
        if (h) {
            check_heap(h, name, n);
            rcy_heap_destroy(h);
        }
        CHECK(faults <= (persistent ? requests : 1));
        if (faults == 0 || only_at() > 0)
            return requests;
    }
}

/* RCY_FAULT_SCENARIO=name: that scenario alone; RCY_FAULT_PERSISTENT=0
   or 1: that mode alone (with RCY_FAULT_AT, to reproduce one failure). */
static void run(const char *name, void (*scenario)(rcy_heap *))
{
    const char *only = getenv("RCY_FAULT_SCENARIO");
    const char *mode = getenv("RCY_FAULT_PERSISTENT");
    if (only && strcmp(only, name) != 0)
        return;
    long transient = mode && *mode == '1' ? 0 : fault_loop(name, scenario, 0);
    long persistent = mode && *mode == '0' ? 0 : fault_loop(name, scenario, 1);
    if (!mode && !only_at())
        CHECK_EQ(transient, persistent);
    printf("test_fault: %-8s %ld requests for memory, each made to fail in turn (transient and "
           "persistent)\n",
           name, transient);
}

int main(void)
{
    run("alloc", scenario_alloc);
    run("objects", scenario_objects);
    run("weak", scenario_weak);
    run("collect", scenario_collect);
    run("collect+1", scenario_collect_one_more);
    run("budget", scenario_budget);
    return check_summary("test_fault");
}
