/* SPDX-License-Identifier: MIT */
/* recycle-tour: a guided walk through Python's memory management, done in C
 * with recycle.
 *
 * Each section explains one idea from Python (reference counts, cycles, the
 * collector's thresholds, the memory pool, memory in loops, closures, what
 * an application can tune), then does it with recycle and prints what it
 * measured. Nothing printed is canned: every number comes from this run.
 * Every property a section shows is also checked; if one does not hold the
 * program says so on stderr and exits with status 1.
 *
 *   recycle-tour              all sections, as text for people
 *   recycle-tour --section 4  one section
 *   recycle-tour --json       the same facts as one JSON object
 *
 * Each section uses a heap of its own, so one section cannot disturb the
 * measurements of another.
 */
#define _POSIX_C_SOURCE 200809L

#include "recycle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024.0 * 1024.0)

/* ================================================================== */
/* Output: narration for people, JSON for machines, and checks         */
/* ================================================================== */

static int json_mode;
static int checks_passed, checks_failed;
static int blank_pending; /* a group of "ok:" lines wants a blank line after it */
static int current_section;

/* printf for the text mode; silent under --json. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    if (json_mode)
        return;
    if (blank_pending && strcmp(fmt, "\n") != 0)
        putchar('\n');
    blank_pending = 0;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* A paragraph of narration, wrapped to fit 80 columns with an indent of 2. */
static void para(const char *text)
{
    if (json_mode)
        return;
    if (blank_pending)
        putchar('\n');
    blank_pending = 0;
    const int width = 76;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        int len = (int)strlen(p);
        int cut = len;
        if (len > width) {
            cut = width;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = width;
        }
        printf("  %.*s\n", cut, p);
        p += cut;
    }
    printf("\n");
}

/* ---- a minimal JSON writer (stdout, only under --json) ---- */
static int j_depth;
static int j_first[16];

static void j_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            printf("\\n");
        else if (c == '\t')
            printf("\\t");
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void j_key(const char *key)
{
    if (!j_first[j_depth])
        putchar(',');
    j_first[j_depth] = 0;
    if (key) {
        j_string(key);
        putchar(':');
    }
}

static void j_open(const char *key, char bracket)
{
    if (!json_mode)
        return;
    j_key(key);
    putchar(bracket);
    j_first[++j_depth] = 1;
}

static void j_close(char bracket)
{
    if (!json_mode)
        return;
    putchar(bracket);
    j_depth--;
}

static void fact_u(const char *key, unsigned long long v)
{
    if (!json_mode)
        return;
    j_key(key);
    printf("%llu", v);
}

static void fact_d(const char *key, double v)
{
    if (!json_mode)
        return;
    j_key(key);
    printf("%.9g", v);
}

static void fact_s(const char *key, const char *s)
{
    if (!json_mode)
        return;
    j_key(key);
    j_string(s);
}

static void fact_b(const char *key, int b)
{
    if (!json_mode)
        return;
    j_key(key);
    printf("%s", b ? "true" : "false");
}

/* ---- checks: every property a section shows is verified ---- */
#define MAX_CHECKS 64
static struct {
    char what[160];
    int ok;
} section_checks[MAX_CHECKS];
static int n_section_checks;

static void record_check(int ok, const char *what, int loud)
{
    if (ok)
        checks_passed++;
    else
        checks_failed++;
    if (n_section_checks < MAX_CHECKS) {
        snprintf(section_checks[n_section_checks].what, sizeof section_checks[0].what, "%s", what);
        section_checks[n_section_checks].ok = ok;
        n_section_checks++;
    }
    if (!ok)
        fprintf(stderr, "recycle-tour: section %d: CHECK FAILED: %s\n", current_section, what);
    else if (loud && !json_mode) {
        printf("  ok: %s\n", what);
        blank_pending = 1;
    }
}

/* Checks and prints "ok: ..." on success. */
__attribute__((format(printf, 2, 3))) static void check(int ok, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    record_check(ok, what, 1);
}

/* Checks quietly (the value was just printed); loud only on failure. */
__attribute__((format(printf, 2, 3))) static void expect(int ok, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    record_check(ok, what, 0);
}

static void heading(int n, const char *title)
{
    blank_pending = 0;
    say("\n%d. %s\n", n, title);
    if (!json_mode) {
        for (int i = 0; i < 78; i++)
            putchar('=');
        printf("\n\n");
    }
}

/* ================================================================== */
/* Small helpers                                                       */
/* ================================================================== */

static rcy_heap *new_heap(void)
{
    rcy_heap *h = rcy_heap_new();
    if (!h) {
        fprintf(stderr, "recycle-tour: rcy_heap_new failed\n");
        exit(2);
    }
    return h;
}

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "recycle-tour: out of memory\n");
        exit(2);
    }
    return p;
}

/* Resident set size of this process, from /proc/self/statm. */
static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Waits out the heap's purge delay, then makes one call that takes the
   allocator's slow path (a large block): what a program that goes on
   working does. Empty pools older than the delay give their pages back on
   such a call. */
static void after_purge_delay(rcy_heap *h)
{
    unsigned ms = rcy_heap_get_purge_delay(h) + 50;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    rcy_free(h, rcy_malloc(h, 4096));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void count_one(void *o, void *arg)
{
    (void)o;
    ++*(size_t *)arg;
}

/* Tracked objects of a generation (-1: all), as gc.get_objects() sees them. */
static size_t tracked_objects(rcy_heap *h, int generation)
{
    size_t n = 0;
    rcy_gc_get_objects(h, generation, count_one, &n);
    return n;
}

/* ================================================================== */
/* Types the tour uses                                                 */
/* ================================================================== */

/* A box holds a number and no references, like a Python int: its type has
 * no traverse, so the collector never tracks it. */
typedef struct box {
    long value;
} box;

static size_t boxes_destroyed;
static long last_box_destroyed;

static void box_destroy(void *self)
{
    boxes_destroyed++;
    last_box_destroyed = ((box *)self)->value;
}

static const rcy_type box_type = {"box", sizeof(box), NULL, NULL, box_destroy};

static box *box_new(rcy_heap *h, long value)
{
    box *b = must(rcy_new(h, &box_type));
    b->value = value;
    return b;
}

/* A list of up to 16 references, like a small Python list. */
#define LIST_CAP 16
typedef struct list {
    size_t len;
    void *items[LIST_CAP];
} list;

static void list_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    list *l = self;
    for (size_t i = 0; i < l->len; i++)
        visit(&l->items[i], arg);
}

static const rcy_type list_type = {"list", sizeof(list), list_traverse, NULL, NULL};

/* lst.append(o): the list takes a reference of its own. */
static void list_append(list *l, void *o)
{
    if (l->len == LIST_CAP) {
        fprintf(stderr, "recycle-tour: list full\n");
        exit(2);
    }
    rcy_incref(o);
    l->items[l->len++] = o;
}

/* lst.remove(o): the list drops its reference. */
static void list_remove(list *l, void *o)
{
    for (size_t i = 0; i < l->len; i++) {
        if (l->items[i] == o) {
            memmove(&l->items[i], &l->items[i + 1], (l->len - i - 1) * sizeof(void *));
            l->len--;
            rcy_decref(o);
            return;
        }
    }
}

/* A node holds one reference, `next`, and counts its deaths. Sections make
 * nodes with larger payloads through rcy_new_sized. */
typedef struct node {
    struct node *next;
} node;

static size_t nodes_made, nodes_destroyed;

static void node_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit((void **)&((node *)self)->next, arg);
}

static void node_destroy(void *self)
{
    (void)self;
    nodes_destroyed++;
}

static const rcy_type node_type = {"node", sizeof(node), node_traverse, NULL, node_destroy};

static node *node_new(rcy_heap *h, size_t payload)
{
    node *n = must(payload > sizeof(node) ? rcy_new_sized(h, &node_type, payload)
                                          : rcy_new(h, &node_type));
    nodes_made++;
    return n;
}

static size_t nodes_alive(void)
{
    return nodes_made - nodes_destroyed;
}

static void reset_node_counts(void)
{
    nodes_made = nodes_destroyed = 0;
}

/* A collection observer: gc.callbacks. Records every "stop" it sees. */
#define MAX_EVENTS 256
typedef struct gc_log {
    size_t n;            /* collections seen */
    size_t per_gen[3];   /* of them, per generation */
    size_t collected[3]; /* objects they found, per generation */
    size_t at_alloc[MAX_EVENTS];
    int generation[MAX_EVENTS];
    size_t found[MAX_EVENTS];
    double duration[MAX_EVENTS];
    double last_duration;
    size_t *alloc_counter; /* what the program was doing when it ran */
} gc_log;

static void gc_observer(const char *phase, const rcy_gc_info *info, void *arg)
{
    gc_log *log = arg;
    if (strcmp(phase, "stop") != 0)
        return;
    int g = info->generation;
    if (g >= 0 && g < 3) {
        log->per_gen[g]++;
        log->collected[g] += info->collected;
    }
    if (log->n < MAX_EVENTS) {
        log->at_alloc[log->n] = log->alloc_counter ? *log->alloc_counter : 0;
        log->generation[log->n] = g;
        log->found[log->n] = info->collected + info->uncollectable;
        log->duration[log->n] = info->duration_s;
    }
    log->last_duration = info->duration_s;
    log->n++;
}

/* ================================================================== */
/* 1. Reference counts                                                  */
/* ================================================================== */

/* A function with a parameter: while it runs, its local owns a reference. */
static size_t count_seen_inside(box *param)
{
    rcy_incref(param); /* the argument is bound to a local */
    size_t n = rcy_refcount(param);
    rcy_decref(param); /* the function returns: its locals go away */
    return n;
}

static void refcount_row(const char *step, const char *python, size_t count, size_t want)
{
    say("  %-36s %-22s %zu\n", step, python, count);
    j_open(NULL, '{');
    fact_s("step", step);
    fact_s("python", python);
    fact_u("refcount", count);
    j_close('}');
    expect(count == want, "after \"%s\" the count is %zu (expected %zu)", python, count, want);
}

static void section_refcounts(void)
{
    para("Every Python object carries a count of the references to it. The "
         "count rises in four ways: the object is created, another name is "
         "bound to it, it is passed to a function, it is stored in a "
         "container. It falls in five: a function returns and its locals go "
         "away, a name is rebound to another object, a name is deleted, the "
         "object is removed from a container, the container itself dies. "
         "When the count reaches zero the object is freed at once.");
    para("recycle keeps the same count in a hidden header in front of each "
         "object. rcy_refcount() reads it. Python's sys.getrefcount(x) "
         "shows one more than the true count, because passing x to it takes "
         "a reference; rcy_refcount() is a plain read, so it shows the count "
         "itself.");

    rcy_heap *h = new_heap();
    boxes_destroyed = 0;
    int failed_before = checks_failed;
    say("  %-36s %-22s %s\n", "step", "in Python", "rcy_refcount");
    say("  %-36s %-22s %s\n", "----", "---------", "------------");
    j_open("steps", '[');

    box *x = box_new(h, 3);
    refcount_row("created", "x = Box(3)", rcy_refcount(x), 1);
    box *y = x;
    rcy_incref(y);
    refcount_row("a second name for it", "y = x", rcy_refcount(x), 2);
    size_t inside = count_seen_inside(x);
    refcount_row("passed to a function (inside it)", "f(x)", inside, 3);
    refcount_row("the function returned", "f(x) returns", rcy_refcount(x), 2);
    list *lst = must(rcy_new(h, &list_type));
    list_append(lst, x);
    refcount_row("stored in a container", "lst.append(x)", rcy_refcount(x), 3);
    box *four = box_new(h, 4);
    rcy_decref(y); /* y = Box(4): the old object loses a reference */
    y = four;
    refcount_row("y rebound to another object", "y = Box(4)", rcy_refcount(x), 2);
    list_remove(lst, x);
    refcount_row("removed from the container", "lst.remove(x)", rcy_refcount(x), 1);
    list_append(lst, x);
    refcount_row("stored in the container again", "lst.append(x)", rcy_refcount(x), 2);
    rcy_decref(x); /* del x */
    x = NULL;
    box *still = lst->items[0]; /* borrowed: the list owns it */
    refcount_row("the name deleted", "del x", rcy_refcount(still), 1);
    size_t destroyed_before = boxes_destroyed;
    rcy_decref(lst); /* del lst */
    j_close(']');
    int freed = boxes_destroyed == destroyed_before + 1 && last_box_destroyed == 3;
    say("  %-36s %-22s %s\n", "the container deleted", "del lst",
        freed ? "0 (Box(3) freed)" : "? (still alive)");
    fact_b("box_destroyed_with_container", freed);
    say("\n");

    check(checks_failed == failed_before, "every count above follows Python's rules");
    check(freed, "deleting the container freed Box(3) at once, no collector involved");
    check(!rcy_gc_is_tracked(y), "a Box holds no references, so the collector does not track it");
    rcy_decref(y);
    check(boxes_destroyed == 2, "releasing y freed Box(4): %zu boxes destroyed", boxes_destroyed);
    fact_u("boxes_destroyed", boxes_destroyed);
    rcy_heap_destroy(h);
}

/* ================================================================== */
/* 2. A cycle that counting cannot free                                 */
/* ================================================================== */

static void section_cycle(void)
{
    para("Counting fails on cycles. If a refers to b and b refers back to a, "
         "each keeps the other's count above zero even after the program has "
         "dropped every reference of its own: the pair is garbage that no "
         "count will ever free. Python's answer is the cycle collector, "
         "gc.collect(), which finds groups of objects referenced only from "
         "inside the group.");

    rcy_heap *h = new_heap();
    reset_node_counts();
    node *a = node_new(h, 0);
    node *b = node_new(h, 0);
    a->next = b;
    rcy_incref(b); /* a.other = b */
    b->next = a;
    rcy_incref(a); /* b.other = a */
    size_t rc_a = rcy_refcount(a), rc_b = rcy_refcount(b);
    say("  a.other = b; b.other = a     refcounts: a %zu, b %zu\n", rc_a, rc_b);
    expect(rc_a == 2 && rc_b == 2, "each of a, b has count 2 when linked");

    rcy_decref(a);                                             /* del a */
    rcy_decref(b);                                             /* del b */
    size_t left_a = rcy_refcount(a), left_b = rcy_refcount(b); /* still alive */
    size_t alive = nodes_alive();
    size_t tracked = tracked_objects(h, -1);
    say("  del a; del b                 refcounts: a %zu, b %zu\n", left_a, left_b);
    say("  objects alive (destroy not yet called):   %zu\n", alive);
    say("  objects the collector tracks (gc.get_objects): %zu\n\n", tracked);
    fact_u("refcount_linked", rc_a);
    fact_u("refcount_after_del", left_a);
    fact_u("alive_after_del", alive);
    fact_u("tracked_after_del", tracked);
    check(alive == 2 && left_a == 1 && left_b == 1,
          "with no outside reference left, the pair is still alive (counts 1, 1)");

    size_t found = rcy_gc_collect(h, -1);
    size_t alive_after = nodes_alive();
    size_t tracked_after = tracked_objects(h, -1);
    say("  rcy_gc_collect(h, -1) returned %zu\n", found);
    say("  objects alive now: %zu; tracked: %zu\n\n", alive_after, tracked_after);
    fact_u("collect_returned", found);
    fact_u("alive_after_collect", alive_after);
    check(found == 2, "the collection found the 2 unreachable objects");
    check(alive_after == 0 && tracked_after == 0, "and freed both (their destroy ran)");
    rcy_heap_destroy(h);
}

/* ================================================================== */
/* 3. Thresholds and automatic collection                               */
/* ================================================================== */

static void section_thresholds(void)
{
    para("A collection pauses the program, so Python does not run one all the "
         "time. It counts allocations of container objects minus their "
         "deallocations; when the difference passes a threshold "
         "(gc.get_threshold()), it collects the youngest generation. Objects "
         "that survive move to an older generation, which is collected only "
         "after the younger one has been collected a number of times: most "
         "objects die young, so old ones are seldom scanned.");

    rcy_heap *h = new_heap();
    reset_node_counts();
    size_t th[3];
    rcy_gc_get_threshold(h, th);
    say("  rcy_gc_get_threshold:  %zu, %zu, %zu   (gc.get_threshold())\n", th[0], th[1], th[2]);
    j_open("threshold", '[');
    for (int i = 0; i < 3; i++)
        fact_u(NULL, th[i]);
    j_close(']');
    check(th[0] > 0 && rcy_gc_isenabled(h), "automatic collection is on, threshold %zu", th[0]);

    static gc_log log; /* large: keep it off the stack */
    memset(&log, 0, sizeof log);
    size_t allocs = 0;
    log.alloc_counter = &allocs;
    int added = rcy_gc_callback_add(h, gc_observer, &log);
    check(added == 0, "rcy_gc_callback_add registered an observer (gc.callbacks)");

    /* A loop that makes cyclic garbage: each pass builds a 2-cycle and
       drops it. Only the collector can free these. */
    const size_t pairs = 5000;
    for (size_t i = 0; i < pairs; i++) {
        node *a = node_new(h, 0);
        allocs++;
        node *b = node_new(h, 0);
        allocs++;
        rcy_incref(b); /* a.next = b */
        a->next = b;
        rcy_incref(a); /* b.next = a */
        b->next = a;
        rcy_decref(a); /* del a, b */
        rcy_decref(b);
    }
    size_t count[3];
    rcy_gc_get_count(h, count);
    size_t alive = nodes_alive();

    say("  %zu tracked objects made in cycles of 2, all dropped at once.\n", allocs);
    say("  The observer saw %zu collections; the first ones:\n", log.n);
    say("    %-10s %-22s %-12s %s\n", "gen", "after allocation #", "found", "took");
    size_t shown = log.n < 5 ? log.n : 5;
    for (size_t i = 0; i < shown; i++)
        say("    %-10d %-22zu %-12zu %.1f us\n", log.generation[i], log.at_alloc[i], log.found[i],
            log.duration[i] * 1e6);
    for (size_t i = shown; i < log.n && i < MAX_EVENTS; i++) {
        if (log.generation[i] > 0) { /* and the first older-generation one */
            say("    %-10d %-22zu %-12zu %.1f us\n", log.generation[i], log.at_alloc[i],
                log.found[i], log.duration[i] * 1e6);
            break;
        }
    }
    say("\n  rcy_gc_get_count now: %zu, %zu, %zu   (gc.get_count())\n", count[0], count[1],
        count[2]);
    say("  objects still alive: %zu of %zu made\n\n", alive, allocs);

    rcy_gc_genstats st[3];
    rcy_gc_get_stats(h, st);
    say("  rcy_gc_get_stats (gc.get_stats()):\n");
    say("    %-12s %12s %12s %14s\n", "generation", "collections", "collected", "uncollectable");
    j_open("stats", '[');
    int stats_match = 1;
    size_t collected_total = 0;
    for (int g = 0; g < 3; g++) {
        say("    %-12d %12zu %12zu %14zu\n", g, st[g].collections, st[g].collected,
            st[g].uncollectable);
        j_open(NULL, '{');
        fact_u("generation", (unsigned long long)g);
        fact_u("collections", st[g].collections);
        fact_u("collected", st[g].collected);
        fact_u("uncollectable", st[g].uncollectable);
        fact_u("callbacks_seen", log.per_gen[g]);
        j_close('}');
        stats_match &= st[g].collections == log.per_gen[g];
        collected_total += st[g].collected;
    }
    j_close(']');
    say("\n");
    fact_u("tracked_allocations", allocs);
    fact_u("collections_seen", log.n);
    fact_u("first_collection_after_allocation", log.n ? log.at_alloc[0] : 0);
    j_open("count", '[');
    for (int i = 0; i < 3; i++)
        fact_u(NULL, count[i]);
    j_close(']');
    fact_u("alive_after_loop", alive);

    check(log.n >= 1 && log.n >= allocs / (4 * th[0]),
          "collections ran by themselves as allocations crossed %zu: %zu of them", th[0], log.n);
    check(log.n == 0 || log.at_alloc[0] >= th[0],
          "the first came only once %zu allocations were made (after #%zu)", th[0],
          log.n ? log.at_alloc[0] : 0);
    check(th[1] == 0 || log.per_gen[1] + log.per_gen[2] >= 1 || log.per_gen[0] < th[1],
          "every %zu young collections an older generation was collected", th[1]);
    check(stats_match, "rcy_gc_get_stats counts the same collections the observer saw");
    check(collected_total + alive == allocs, "collected (%zu) + still alive (%zu) = made (%zu)",
          collected_total, alive, allocs);
    check(alive <= 2 * th[0] + 2 && count[0] <= th[0],
          "garbage did not pile up: %zu alive at the end, count[0] = %zu", alive, count[0]);

    /* Threshold 0 turns automatic collection off, as in Python. */
    size_t seen_before = log.n;
    rcy_gc_set_threshold(h, 0, th[1], th[2]);
    for (size_t i = 0; i < 1000; i++) {
        node *a = node_new(h, 0);
        node *b = node_new(h, 0);
        a->next = b;
        b->next = a;
    }
    size_t alive_t0 = nodes_alive();
    size_t ran_t0 = log.n - seen_before;
    rcy_gc_get_count(h, count);
    say("  rcy_gc_set_threshold(h, 0, ...) and 2000 more objects in cycles:\n");
    say("    collections: %zu; count[0]: %zu; alive: %zu\n", ran_t0, count[0], alive_t0);
    rcy_gc_set_threshold(h, th[0], th[1], th[2]);
    size_t found = rcy_gc_collect(h, -1);
    say("    then rcy_gc_collect(h, -1) returned %zu\n\n", found);
    fact_u("threshold0_collections", ran_t0);
    fact_u("threshold0_count0", count[0]);
    fact_u("threshold0_alive", alive_t0);
    fact_u("threshold0_collect_returned", found);
    check(ran_t0 == 0 && alive_t0 >= 2000,
          "with threshold 0 nothing ran until the explicit collection");
    check(found == alive_t0 && nodes_alive() == 0, "which freed all %zu", alive_t0);
    rcy_gc_callback_remove(h, gc_observer, &log);
    rcy_heap_destroy(h);
}

/* ================================================================== */
/* 4. The memory pool                                                   */
/* ================================================================== */

/* Which path served a request: returns the class index or -1 (large). */
static int served_by(rcy_heap *h, size_t n, void **out)
{
    static rcy_mem_stats before, after; /* big structs: keep off the stack */
    rcy_mem_get_stats(h, &before);
    void *p = must(rcy_malloc(h, n));
    rcy_mem_get_stats(h, &after);
    *out = p;
    if (after.large_blocks > before.large_blocks)
        return -1;
    for (int c = 0; c < RCY_SIZE_CLASSES; c++)
        if (after.classes[c].blocks_used > before.classes[c].blocks_used)
            return c;
    return -2;
}

/* Allocates `total` bytes of blocks of `size`, touching each, chained
   through their first word. */
static void *alloc_chain(rcy_heap *h, size_t size, size_t total, size_t *count)
{
    void *head = NULL;
    size_t n = total / size;
    for (size_t i = 0; i < n; i++) {
        void **p = must(rcy_malloc(h, size));
        memset(p, 0xab, size < 64 ? size : 64);
        p[0] = head;
        head = p;
    }
    *count = n;
    return head;
}

/* Frees all blocks of a chain except every keep_every-th (0: free all);
   returns the chain of the survivors. */
static void *free_chain(rcy_heap *h, void *head, size_t keep_every)
{
    void *kept = NULL;
    size_t i = 0;
    while (head) {
        void **p = head;
        head = p[0];
        if (keep_every && i % keep_every == 0) {
            p[0] = kept;
            kept = p;
        } else {
            rcy_free(h, p);
        }
        i++;
    }
    return kept;
}

static void rss_row(const char *what, size_t rss, size_t base)
{
    double d = ((double)rss - (double)base) / MiB;
    say("    %-44s %8.1f MiB  (%+.1f)\n", what, (double)rss / MiB, d);
}

static void section_pool(void)
{
    para("Most objects are small, and asking the system allocator for each "
         "one is slow and wasteful. CPython's obmalloc serves requests of up "
         "to 512 bytes from pools: a pool is a 16 KiB run of equal-size "
         "blocks, pools are carved from 1 MiB arenas, and sizes are rounded "
         "up to one of 32 classes 16 bytes apart. Bigger requests go to the "
         "system's malloc. (Old articles say \"256K\": that was the arena "
         "size, never the bound.) recycle's allocator works the same way, "
         "with 64 classes 8 bytes apart: rcy_malloc rounds up to a multiple "
         "of 16 (the odd-numbered classes below), so its blocks stay 16-byte "
         "aligned, while objects use every class, so that their 8-byte "
         "header does not round a 16-byte payload up to 32.");

    rcy_heap *h = new_heap();
    const size_t sizes[] = {1, 16, 17, 100, 256, 512, 513, 4096, 1u << 20};
    const size_t nsizes = sizeof sizes / sizeof sizes[0];
    void *blocks[sizeof sizes / sizeof sizes[0]];
    say("    %-10s %-10s %s\n", "request", "usable", "served by");
    j_open("requests", '[');
    int routed_right = 1;
    for (size_t i = 0; i < nsizes; i++) {
        int c = served_by(h, sizes[i], &blocks[i]);
        size_t usable = rcy_usable_size(h, blocks[i]);
        char by[64];
        if (c >= 0)
            snprintf(by, sizeof by, "a pool, class %d (%zu-byte blocks)", c, usable);
        else
            snprintf(by, sizeof by, "the system allocator (a large block)");
        say("    %-10zu %-10zu %s\n", sizes[i], usable, by);
        j_open(NULL, '{');
        fact_u("request", sizes[i]);
        fact_u("usable", usable);
        fact_b("pool", c >= 0);
        if (c >= 0)
            fact_u("class", (unsigned long long)c);
        j_close('}');
        routed_right &= (sizes[i] <= RCY_SMALL_MAX) == (c >= 0) && c != -2 && usable >= sizes[i];
    }
    j_close(']');
    say("\n");
    check(routed_right, "requests up to %d bytes come from pools, larger ones do not",
          RCY_SMALL_MAX);

    static rcy_mem_stats st;
    rcy_mem_get_stats(h, &st);
    size_t classes_used = 0;
    for (int c = 0; c < RCY_SIZE_CLASSES; c++)
        classes_used += st.classes[c].blocks_used > 0;
    fact_u("classes_used", classes_used);
    fact_u("large_blocks", st.large_blocks);
    check(st.large_blocks == 3 && classes_used >= 4,
          "rcy_mem_get_stats: %zu size classes in use, %zu large blocks", classes_used,
          st.large_blocks);

    /* The report, like sys._debugmallocstats(). */
    say("  rcy_mem_print_stats (sys._debugmallocstats()):\n\n");
    char *report = NULL;
    size_t report_len = 0;
    FILE *mem = open_memstream(&report, &report_len);
    if (mem) {
        rcy_mem_print_stats(h, mem);
        fclose(mem);
        if (!json_mode) {
            char *line = report;
            while (line && *line) {
                char *end = strchr(line, '\n');
                int len = end ? (int)(end - line) : (int)strlen(line);
                if (len)
                    printf("    %.*s\n", len > 74 ? 74 : len, line);
                else
                    printf("\n");
                line = end ? end + 1 : NULL;
            }
            printf("\n");
        }
        fact_s("report", report);
    }
    check(report && report_len > 0, "the report was printed (%zu bytes)", report_len);
    free(report);
    for (size_t i = 0; i < nsizes; i++)
        rcy_free(h, blocks[i]);

    /* Giving memory back to the OS. */
    para("Does freed memory go back to the operating system? CPython hands "
         "back only whole arenas: one live block keeps its 1 MiB arena, "
         "and the pages of empty pools inside a live arena are never "
         "returned. recycle returns the pages of an empty 16 KiB pool by "
         "itself, once it has stayed empty for the purge delay (100 ms: "
         "memory freed and allocated again soon is not faulted in again), "
         "on its next call that is not a fast path, keeping only a small "
         "cache of empty pools for reuse; rcy_purge() hands back that cache "
         "too, at once, and the free pages inside pools that still hold a "
         "block. Here: 200 MiB of 512-byte blocks, then all freed but one "
         "block in 64, then the rest. RSS is read from /proc/self/statm.");

    const size_t bsize = 512, total = (size_t)200 << 20;
    size_t nblocks = 0;
    size_t rss0 = rss_bytes();
    void *chain = alloc_chain(h, bsize, total, &nblocks);
    size_t rss_peak = rss_bytes();
    rcy_mem_get_stats(h, &st);
    size_t pools_peak = st.pools_used;
    void *kept = free_chain(h, chain, 64);
    after_purge_delay(h);
    size_t rss_kept = rss_bytes();
    rcy_mem_get_stats(h, &st);
    size_t pools_kept = st.pools_used, cache_pools = st.pools_empty_dirty;
    size_t purged1 = rcy_purge(h);
    size_t rss_purge1 = rss_bytes();
    free_chain(h, kept, 0);
    after_purge_delay(h);
    size_t rss_freed = rss_bytes();
    size_t purged2 = rcy_purge(h);
    size_t rss_purge2 = rss_bytes();

    say("    %-44s %8.1f MiB\n", "RSS at the start", (double)rss0 / MiB);
    char what[80];
    snprintf(what, sizeof what, "peak: %zu blocks of %zu bytes", nblocks, bsize);
    rss_row(what, rss_peak, rss0);
    rss_row("all but 1 in 64 freed, 150 ms (by itself)", rss_kept, rss0);
    snprintf(what, sizeof what, "rcy_purge() -> %.1f MiB released", (double)purged1 / MiB);
    rss_row(what, rss_purge1, rss0);
    rss_row("the survivors freed too, 150 ms (by itself)", rss_freed, rss0);
    snprintf(what, sizeof what, "rcy_purge() -> %.1f MiB released", (double)purged2 / MiB);
    rss_row(what, rss_purge2, rss0);
    say("\n");
    say("  At the peak %zu pools were in use. With one block in 64 kept, %zu of\n"
        "  them still hold a live block: a live block pins its page (in CPython,\n"
        "  its whole arena). %zu empty pools were cached for reuse until\n"
        "  rcy_purge() released them with the free pages of the others.\n\n",
        pools_peak, pools_kept, cache_pools);

    j_open("rss", '{');
    fact_u("block_size", bsize);
    fact_u("blocks", nblocks);
    fact_u("start", rss0);
    fact_u("peak", rss_peak);
    fact_u("kept_1_in_64", rss_kept);
    fact_u("purge1_released", purged1);
    fact_u("after_purge1", rss_purge1);
    fact_u("all_freed", rss_freed);
    fact_u("purge2_released", purged2);
    fact_u("after_purge2", rss_purge2);
    fact_u("pools_at_peak", pools_peak);
    fact_u("pools_with_survivors", pools_kept);
    fact_u("empty_pools_cached", cache_pools);
    j_close('}');

    check(rss_peak >= rss0 + total * 9 / 10, "the peak really was resident: +%.0f MiB",
          ((double)rss_peak - (double)rss0) / MiB);
    check(rss_kept + total / 4 <= rss_peak,
          "freeing gave back %.0f MiB without being asked (empty pools)",
          ((double)rss_peak - (double)rss_kept) / MiB);
    check(rss_purge1 <= rss_kept && (purged1 > 0 || cache_pools == 0),
          "rcy_purge released the cached empty pools (%.1f MiB)", (double)purged1 / MiB);
    check(rss_purge2 <= rss0 + (size_t)(8 * MiB),
          "all freed and purged: RSS within 8 MiB of the start");
    rcy_heap_destroy(h);
}

/* ================================================================== */
/* 5. Memory in a loop                                                  */
/* ================================================================== */

/* A "document" is a chain of 16 pages; each page points to the next and
   back to the first page. The back-pointer makes the chain a cycle. */
#define PAGES 16
#define PAGE_PAYLOAD 480 /* + a 32-byte header: one 512-byte block each */
typedef struct page {
    struct page *next;
    void *back; /* the first page, or a weak reference to it */
} page;

static size_t pages_made, pages_destroyed;

static void page_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    page *p = self;
    visit((void **)&p->next, arg);
    visit(&p->back, arg);
}

static void page_destroy(void *self)
{
    (void)self;
    pages_destroyed++;
}

static const rcy_type page_type = {"page", PAGE_PAYLOAD, page_traverse, NULL, page_destroy};

enum loop_mode { LOOP_GC_ON, LOOP_GC_OFF, LOOP_COLLECT, LOOP_WEAK, LOOP_MODES };
static const char *const loop_names[LOOP_MODES] = {"collector on", "collector off",
                                                   "off + collect in loop", "off + weak back-ref"};
static const char *const loop_keys[LOOP_MODES] = {"collector_on", "collector_off",
                                                  "collect_in_loop", "weak_back_reference"};

/* Builds one document and drops it. */
static void make_document(rcy_heap *h, int weak)
{
    page *first = must(rcy_new(h, &page_type));
    pages_made++;
    page *last = first;
    for (int i = 1; i < PAGES; i++) {
        page *p = must(rcy_new(h, &page_type));
        pages_made++;
        if (weak) {
            p->back = must(rcy_weakref_new(first, NULL, NULL));
        } else {
            rcy_incref(first);
            p->back = first;
        }
        last->next = p; /* the chain owns p */
        last = p;
    }
    rcy_decref(first); /* the document goes out of scope */
}

#define LOOP_ITERS 2000
#define LOOP_MARKS 4

static void loop_run(enum loop_mode mode, size_t live[LOOP_MARKS], double *growth_mib)
{
    rcy_heap *h = new_heap();
    pages_made = pages_destroyed = 0;
    if (mode != LOOP_GC_ON)
        rcy_gc_disable(h);
    size_t rss0 = rss_bytes();
    for (int i = 1; i <= LOOP_ITERS; i++) {
        make_document(h, mode == LOOP_WEAK);
        if (mode == LOOP_COLLECT)
            rcy_gc_collect(h, 0);
        if (i % (LOOP_ITERS / LOOP_MARKS) == 0)
            live[i / (LOOP_ITERS / LOOP_MARKS) - 1] = pages_made - pages_destroyed;
    }
    *growth_mib = ((double)rss_bytes() - (double)rss0) / MiB;
    rcy_heap_destroy(h);
}

static void section_loop(void)
{
    para("A loop that makes cycles makes garbage that only the collector can "
         "free. With the collector on, each automatic collection frees what "
         "the loop left behind and memory stays flat. With it off "
         "(gc.disable()), the garbage piles up. Each iteration below builds "
         "a document of 16 pages of 512 bytes, every page pointing back to "
         "the first, and drops it.");
    para("Two fixes for a loop that must not leave garbage: call gc.collect() "
         "inside the loop, or avoid the cycle: make the back-pointer a weak "
         "reference (weakref.ref), which does not keep its target alive, so "
         "counting alone frees each document as soon as it is dropped.");

    size_t live[LOOP_MODES][LOOP_MARKS];
    double growth[LOOP_MODES];
    for (int m = 0; m < LOOP_MODES; m++)
        loop_run((enum loop_mode)m, live[m], &growth[m]);

    say("    %-24s %s\n", "", "pages alive after iteration        RSS");
    say("    %-24s", "loop");
    for (int k = 1; k <= LOOP_MARKS; k++)
        say(" %7d", k * LOOP_ITERS / LOOP_MARKS);
    say("   %9s\n", "growth");
    for (int m = 0; m < LOOP_MODES; m++) {
        say("    %-24s", loop_names[m]);
        for (int k = 0; k < LOOP_MARKS; k++)
            say(" %7zu", live[m][k]);
        say("   %5.1f MiB\n", growth[m]);
        j_open(loop_keys[m], '{');
        j_open("pages_alive", '[');
        for (int k = 0; k < LOOP_MARKS; k++)
            fact_u(NULL, live[m][k]);
        j_close(']');
        fact_d("rss_growth_mib", growth[m]);
        j_close('}');
    }
    say("\n");
    fact_u("iterations", LOOP_ITERS);
    fact_u("pages_per_iteration", PAGES);

    size_t made = (size_t)LOOP_ITERS * PAGES;
    size_t worst_on = 0;
    for (int k = 0; k < LOOP_MARKS; k++)
        if (live[LOOP_GC_ON][k] > worst_on)
            worst_on = live[LOOP_GC_ON][k];
    check(worst_on < made / 8, "collector on: live pages stay bounded (at most %zu of %zu)",
          worst_on, made);
    check(live[LOOP_GC_OFF][LOOP_MARKS - 1] == made,
          "collector off: every one of the %zu pages is still alive", made);
    check(growth[LOOP_GC_OFF] > 2 * growth[LOOP_GC_ON] + 4,
          "collector off: RSS grew by %.1f MiB, against %.1f MiB with it on", growth[LOOP_GC_OFF],
          growth[LOOP_GC_ON]);
    int collect_ok = 1, weak_ok = 1;
    for (int k = 0; k < LOOP_MARKS; k++) {
        collect_ok &= live[LOOP_COLLECT][k] == 0;
        weak_ok &= live[LOOP_WEAK][k] == 0;
    }
    check(collect_ok, "rcy_gc_collect(h, 0) in the loop leaves nothing behind");
    check(weak_ok, "a weak back-reference: counting alone frees every document");
}

/* ================================================================== */
/* 6. Nested functions                                                  */
/* ================================================================== */

/* A function object: code plus the environment it closes over. */
typedef struct func {
    long (*code)(struct func *self, long n);
    void *env; /* a cell */
} func;

/* The environment: one cell, holding the variable `fact` of the outer
   function, which is the inner function itself. */
typedef struct cell {
    void *value;
} cell;

static size_t closure_objects_destroyed;

static void func_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((func *)self)->env, arg);
}

static void cell_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(&((cell *)self)->value, arg);
}

static void closure_destroy(void *self)
{
    (void)self;
    closure_objects_destroyed++;
}

static const rcy_type func_type = {"function", sizeof(func), func_traverse, NULL, closure_destroy};
static const rcy_type cell_type = {"cell", sizeof(cell), cell_traverse, NULL, closure_destroy};

/* fact(n): calls itself through the variable in its environment, as a
   recursive nested function does in Python. */
static long fact_code(func *self, long n)
{
    if (n <= 1)
        return 1;
    func *again = ((cell *)self->env)->value;
    return n * again->code(again, n - 1);
}

/* def outer(): def fact(n): ...fact(n - 1)...; return fact */
static func *make_fact(rcy_heap *h)
{
    func *f = must(rcy_new(h, &func_type));
    cell *c = must(rcy_new(h, &cell_type));
    f->code = fact_code;
    f->env = c; /* the function owns its environment */
    rcy_incref(f);
    c->value = f; /* and the environment refers to the function */
    return f;
}

static void section_closure(void)
{
    para("A nested function that calls itself holds memory after the last "
         "reference to it is gone. In Python, \"def outer(): def fact(n): "
         "return 1 if n <= 1 else n * fact(n - 1); return fact\" makes a "
         "function whose closure cell holds the variable fact, which is the "
         "function itself: function -> cell -> function, a cycle. Counting "
         "cannot free it; the collector can.");

    rcy_heap *h = new_heap();
    closure_objects_destroyed = 0;
    func *fact = make_fact(h);
    long r = fact->code(fact, 10);
    say("  fact = outer(); fact(10) = %ld\n", r);
    say("  fact's count: %zu (the name fact, and the cell)\n", rcy_refcount(fact));
    expect(r == 3628800, "the closure computes 10! through its own environment");
    func *borrowed = fact;
    rcy_decref(fact); /* del fact */
    fact = NULL;
    size_t rc = rcy_refcount(borrowed);
    size_t destroyed_after_del = closure_objects_destroyed;
    size_t tracked = tracked_objects(h, -1);
    say("  del fact: function and cell destroyed: %zu; count kept by the cell: %zu\n",
        destroyed_after_del, rc);
    say("  objects the collector tracks: %zu\n", tracked);
    size_t found = rcy_gc_collect(h, -1);
    say("  rcy_gc_collect(h, -1) returned %zu; destroyed now: %zu\n\n", found,
        closure_objects_destroyed);
    fact_u("fact_10", (unsigned long long)r);
    fact_u("destroyed_after_del", destroyed_after_del);
    fact_u("refcount_after_del", rc);
    fact_u("collect_returned", found);
    fact_u("destroyed_after_collect", closure_objects_destroyed);
    check(destroyed_after_del == 0 && rc == 1 && tracked == 2,
          "after del, the function lives on, held by its own environment");
    check(found == 2 && closure_objects_destroyed == 2,
          "the collector freed the function and its cell");
    rcy_heap_destroy(h);
}

/* ================================================================== */
/* 7. What an application can do                                        */
/* ================================================================== */

static double timed_collect(rcy_heap *h, gc_log *log, int generation)
{
    log->last_duration = -1;
    rcy_gc_collect(h, generation);
    return log->last_duration;
}

/* The shortest of five full collections of an unchanging heap: on a
   shared machine one measurement can be any multiple of the truth. */
static double timed_full_collect(rcy_heap *h, gc_log *log)
{
    double best = -1;
    for (int i = 0; i < 5; i++) {
        double t = timed_collect(h, log, 2);
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    return best;
}

static void section_application(void)
{
    para("A server that loads a large, long-lived state at start and then "
         "serves requests wants short pauses. The recipe Instagram made "
         "popular: gc.disable() while loading, gc.freeze() when done, "
         "which moves every tracked object to a permanent generation that "
         "collections never scan, then gc.enable(). Collections afterwards "
         "scan only what the requests allocate.");

    rcy_heap *h = new_heap();
    reset_node_counts();
    static gc_log log;
    memset(&log, 0, sizeof log);
    rcy_gc_callback_add(h, gc_observer, &log);

    const size_t n = 200000;
    rcy_gc_disable(h);
    node *state = NULL; /* a long chain: the loaded state */
    for (size_t i = 0; i < n; i++) {
        node *x = node_new(h, 0);
        x->next = state; /* x takes over our reference to the old head */
        state = x;
    }
    size_t young = tracked_objects(h, 0), old = tracked_objects(h, 2);
    double t_before = timed_collect(h, &log, 0);
    say("  rcy_gc_disable; %zu objects loaded; generation 0 holds %zu (its cap),\n"
        "  generation 2 the other %zu\n",
        n, young, old);
    say("  a young collection now: %10.1f us (it scans generation 0)\n", t_before * 1e6);
    double t_full_before = timed_full_collect(h, &log);
    say("  a full collection:      %10.1f us\n", t_full_before * 1e6);

    rcy_gc_freeze(h);
    rcy_gc_enable(h);
    size_t frozen = rcy_gc_get_freeze_count(h);
    size_t visible = tracked_objects(h, -1);
    say("  rcy_gc_freeze; rcy_gc_enable: rcy_gc_get_freeze_count = %zu\n", frozen);
    say("  tracked objects in generations 0-2: %zu\n", visible);
    node *req[100];
    for (int i = 0; i < 100; i++)
        req[i] = node_new(h, 0); /* what a request allocates */
    double t_after = timed_collect(h, &log, 0);
    double t_full_after = timed_full_collect(h, &log);
    for (int i = 0; i < 100; i++)
        rcy_decref(req[i]);
    say("  100 request objects; a young collection: %10.1f us\n", t_after * 1e6);
    say("  a full collection:                        %10.1f us\n\n", t_full_after * 1e6);

    j_open("freeze", '{');
    fact_u("objects", n);
    fact_u("generation0_before", young);
    fact_u("generation2_before", old);
    fact_d("young_collection_before_s", t_before);
    fact_d("full_collection_before_s", t_full_before);
    fact_u("freeze_count", frozen);
    fact_u("tracked_after_freeze", visible);
    fact_d("young_collection_after_s", t_after);
    fact_d("full_collection_after_s", t_full_after);
    j_close('}');

    check(young + old == n && young > 0,
          "loading with the collector off left all %zu in generations 0 and 2", n);
    check(frozen >= n && visible == 0, "freeze moved all %zu out of the collector's sight", n);
    double young_speedup = t_after > 0 ? t_before / t_after : 0;
    double full_speedup = t_full_after > 0 ? t_full_before / t_full_after : 0;
    int young_faster = t_after >= 0 && t_after < t_before;
    int full_faster = t_full_after >= 0 && t_full_after < t_full_before;
    check(young_faster, "after freeze a young collection is %.0fx faster", young_speedup);
    check(full_faster, "and so is a full one (%.0fx)", full_speedup);
    rcy_gc_unfreeze(h);
    rcy_decref(state);
    rcy_heap_destroy(h);

    para("After a peak, memory should go back to the system even while the "
         "program keeps running with a large live state. recycle unmaps "
         "arenas that become empty and returns the pages of empty pools by "
         "itself once the purge delay has passed, keeping a few empty pools "
         "for reuse; rcy_purge() hands "
         "those back too, at once, like Photoshop's Purge command or glibc's "
         "malloc_trim(). Here a state of 200,000 objects stays alive while "
         "300,000 more are made and dropped.");
    h = new_heap();
    reset_node_counts();
    size_t rss0 = rss_bytes();
    node *kept = NULL; /* the long-lived state */
    for (size_t i = 0; i < 200000; i++) {
        node *x = node_new(h, 200);
        x->next = kept;
        kept = x;
    }
    size_t rss_state = rss_bytes();
    node *head = NULL; /* the peak */
    for (size_t i = 0; i < 300000; i++) {
        node *x = node_new(h, 200);
        x->next = head;
        head = x;
    }
    size_t rss_peak = rss_bytes();
    double t0 = now_s();
    rcy_decref(head); /* drops all 300,000, iteratively */
    double t_drop = now_s() - t0;
    after_purge_delay(h);
    size_t rss_drop = rss_bytes();
    static rcy_mem_stats st;
    rcy_mem_get_stats(h, &st);
    size_t cached = st.pools_empty_dirty;
    size_t released = rcy_purge(h);
    size_t rss_purge = rss_bytes();
    say("    %-44s %8.1f MiB\n", "RSS before", (double)rss0 / MiB);
    rss_row("200,000 objects of long-lived state", rss_state, rss0);
    rss_row("peak: 300,000 more", rss_peak, rss0);
    char what[80];
    snprintf(what, sizeof what, "the 300,000 dropped (%.1f ms), 150 ms", t_drop * 1e3);
    rss_row(what, rss_drop, rss0);
    snprintf(what, sizeof what, "rcy_purge() -> %.1f MiB released", (double)released / MiB);
    rss_row(what, rss_purge, rss0);
    say("\n");
    j_open("purge", '{');
    fact_u("rss_before", rss0);
    fact_u("rss_state", rss_state);
    fact_u("rss_peak", rss_peak);
    fact_d("drop_s", t_drop);
    fact_u("rss_after_drop", rss_drop);
    fact_u("empty_pools_cached", cached);
    fact_u("purge_released", released);
    fact_u("rss_after_purge", rss_purge);
    j_close('}');
    check(nodes_alive() == 200000, "dropping the head freed all 300,000 at once");
    check(rss_drop + (rss_peak - rss_state) / 2 <= rss_peak,
          "most of the peak went back by itself (%.1f of %.1f MiB)",
          ((double)rss_peak - (double)rss_drop) / MiB,
          ((double)rss_peak - (double)rss_state) / MiB);
    check(cached == 0 || (released > 0 && rss_purge < rss_drop),
          "rcy_purge released the %zu cached empty pools", cached);
    rcy_decref(kept);
    rcy_heap_destroy(h);
}

/* ================================================================== */
/* Why is my memory not released? (retention tools, issue 24)          */
/* ================================================================== */

/* Prints one step of a chain from rcy_why_alive (root first) and
   remembers the chain; len: the chain's length, asked for before. */
typedef struct why_chain {
    const void *obj[16];
    size_t n;
    int len;
} why_chain;

static void why_step(const void *obj, size_t offset, void *arg)
{
    why_chain *c = arg;
    if (c->n < 16)
        c->obj[c->n] = obj;
    const char *name = rcy_typeof(obj)->name;
    if ((int)++c->n == c->len)
        say("      %-8s %p\n", name, obj);
    else if (offset & RCY_PATH_OUTSIDE)
        say("      %-8s %p  its item %zu refers to\n", name, obj, offset & ~RCY_PATH_OUTSIDE);
    else
        say("      %-8s %p  its slot at +%zu refers to\n", name, obj, offset);
}

/* rcy_why_alive, printed. */
static int why_print(rcy_heap *h, const void *target, why_chain *c)
{
    c->n = 0;
    c->len = rcy_why_alive(h, target, NULL, NULL);
    return c->len > 0 ? rcy_why_alive(h, target, why_step, c) : c->len;
}

static void print_growth(const rcy_census *before, const rcy_census *after)
{
    rcy_census_growth g[4];
    size_t n = rcy_census_growth_of(before, after, g, 4);
    for (size_t i = 0; i < n && i < 4; i++)
        say("      %-10s %6zu  %+lld\n", g[i].name, g[i].count, g[i].count_delta);
}

/* A cache that keeps objects alive: the program dropped its references,
   the census says the boxes did not go, rcy_why_alive says who holds one. */
static void why_cache(void)
{
    rcy_heap *h = new_heap();
    list *cache = must(rcy_new(h, &list_type)); /* a module-level cache */
    rcy_census *before = must(rcy_census_take(h));
    for (long i = 0; i < LIST_CAP; i++) {
        box *b = box_new(h, i); /* handle a request ... */
        list_append(cache, b);  /* ... "memoize" it ... */
        rcy_decref(b);          /* ... and drop our reference */
    }
    rcy_census *after = must(rcy_census_take(h));
    say("  a) A cache. %d requests made a box each and dropped it; the census\n"
        "     (rcy_census_take before and after, rcy_census_growth_of) says:\n",
        LIST_CAP);
    print_growth(before, after);
    why_chain c = {{0}, 0, 0};
    say("     rcy_why_alive(box 7), root first:\n");
    int len = why_print(h, cache->items[7], &c);
    fact_u("cache_growth", LIST_CAP);
    fact_u("cache_chain_length", (unsigned long long)len);
    check(len == 2 && c.obj[0] == cache,
          "the box is alive because the cache holds it (chain of %d)", len);
    for (size_t i = LIST_CAP; i-- > 0;)
        list_remove(cache, cache->items[i]);
    rcy_census_free(before);
    rcy_census_free(after);
    before = must(rcy_census_take(h));
    size_t n, boxes = 0;
    const rcy_census_entry *e = rcy_census_entries(before, &n);
    for (size_t i = 0; i < n; i++)
        boxes += e[i].type == &box_type ? e[i].count : 0;
    check(boxes == 0, "emptying the cache freed them: %zu boxes left", boxes);
    rcy_census_free(before);
    rcy_decref(cache);
    rcy_heap_destroy(h);
}

/* A cycle through a closure: nothing outside holds it, a collection would
   free it, and rcy_why_alive says so (0); a closure kept in a registry is
   held along a chain the tools show. */
static void why_closure(void)
{
    rcy_heap *h = new_heap();
    rcy_gc_disable(h); /* so that the cycle waits for us */
    list *registry = must(rcy_new(h, &list_type));
    func *kept = make_fact(h);
    list_append(registry, kept);
    rcy_decref(kept);
    func *dropped = make_fact(h);
    rcy_decref(dropped); /* the cycle function <-> cell stays */
    say("\n  b) A closure. Two recursive closures (function <-> cell cycles); one\n"
        "     is in a registry, the other was dropped. rcy_why_alive(cell of each):\n");
    why_chain c = {{0}, 0, 0};
    int held = why_print(h, kept->env, &c);
    int gone = rcy_why_alive(h, dropped->env, NULL, NULL);
    say("     the dropped one: %d (no root reaches it: only its own cycle holds it)\n", gone);
    rcy_dominators *d = must(rcy_dominators_compute(h));
    rcy_dominators_summary s;
    rcy_dominators_get_summary(d, &s);
    say("     rcy_dominators_get_summary: %zu objects, %zu reachable from %zu root(s), %zu\n"
        "     (%zu bytes) held only by garbage cycles\n",
        s.objects, s.reachable, s.roots, s.garbage, s.garbage_bytes);
    size_t registry_retains = rcy_dominators_retained(d, registry);
    size_t kept_retains = rcy_dominators_retained(d, kept);
    rcy_dominators_free(d);
    say("     rcy_dominators_retained: the registry retains %zu bytes, its closure %zu\n",
        registry_retains, kept_retains);
    size_t freed = rcy_gc_collect(h, -1);
    say("     rcy_gc_collect(h, -1) found %zu unreachable objects\n", freed);
    fact_u("closure_chain_length", (unsigned long long)held);
    fact_u("closure_garbage", s.garbage);
    check(held == 3 && c.obj[0] == registry,
          "the kept closure's cell: registry -> function -> cell");
    check(gone == 0 && s.garbage == 2 && freed == 2,
          "the dropped closure is garbage, and a collection frees exactly it");
    check(kept_retains > 0 && registry_retains >= kept_retains + sizeof(list),
          "the registry retains itself and its closure (function and cell)");
    rcy_decref(registry);
    rcy_heap_destroy(h);
}

static void arena_line_print(const void *base, const char *pools, void *arg)
{
    (void)base;
    if (++*(int *)arg <= 2)
        say("      %s\n", pools);
}

/* A few long-lived blocks pinning many pages. */
static void why_pinned(void)
{
    enum { PER_POOL = 1024, POOLS = 32 }; /* boxes are 16-byte blocks */
    rcy_heap *h = new_heap();
    static box *boxes[PER_POOL * POOLS];
    for (long i = 0; i < PER_POOL * POOLS; i++)
        boxes[i] = box_new(h, i);
    box *survivors[POOLS];
    for (long i = 0; i < PER_POOL * POOLS; i++) {
        if (i % PER_POOL == PER_POOL / 2)
            survivors[i / PER_POOL] = boxes[i]; /* a long-lived one in each pool */
        else
            rcy_decref(boxes[i]);
    }
    rcy_pinned_pool p[3];
    size_t pinned_bytes = 0;
    size_t npinned = rcy_pinned_pools(h, 0.1, p, 3, &pinned_bytes);
    say("\n  c) Pinned pages. 32,768 boxes made, all but %d freed. rcy_pinned_pools\n"
        "     (at most 10%% full): %zu pools hold %.0f KiB for %d live boxes, e.g.\n",
        POOLS, npinned, (double)pinned_bytes / 1024, POOLS);
    for (size_t i = 0; i < npinned && i < 3; i++)
        say("      pool %p: %zu of %zu blocks of %zu B live, type %s, e.g. box %p\n", p[i].pool,
            p[i].live, p[i].capacity, p[i].block_size, p[i].type ? p[i].type->name : "(raw)",
            p[i].first_live);
    int arenas = 0;
    say("     rcy_arena_map (h bookkeeping, 0 under a tenth full, e empty, . given back):\n");
    rcy_arena_map(h, arena_line_print, &arenas);
    rcy_purge_estimate e;
    rcy_purge_estimate_get(h, &e);
    size_t released = rcy_purge(h);
    say("     rcy_purge_estimate_get: %zu KiB (%zu KiB of free pages inside the pinned\n"
        "     pools); rcy_purge then gave back %zu KiB. After it:\n",
        e.total / 1024, e.free_page_bytes / 1024, released / 1024);
    arenas = 0;
    rcy_arena_map(h, arena_line_print, &arenas);
    say("     (p: in use, with pages given back around the live blocks)\n");
    fact_u("pinned_pools", npinned);
    fact_u("pinned_bytes", pinned_bytes);
    fact_u("purge_estimate", e.total);
    fact_u("purge_released", released);
    check(npinned == POOLS, "each of the %d survivors pins a pool of its own", POOLS);
    check(e.total == released, "the estimate was what rcy_purge gave back (%zu bytes)", released);
    say("\n     All of it in one call, rcy_heap_report(h, stdout, RCY_REPORT_TEXT); with\n"
        "     RCY_REPORT_JSON, the installed recycle-report makes an HTML page of it:\n\n");
    if (!json_mode)
        rcy_heap_report(h, stdout, RCY_REPORT_TEXT);
    for (int i = 0; i < POOLS; i++)
        rcy_decref(survivors[i]);
    rcy_heap_destroy(h);
}

static void section_why(void)
{
    para("Memory that is not given back is held by something: an object someone still "
         "refers to, a cycle waiting for the collector, or a few live blocks in pages that "
         "are otherwise free. objgraph, tracemalloc and heap snapshots answer this for "
         "Python and Java; recycle knows its objects' references through their types, so "
         "it can answer for C: why an object is alive (the chain of references from a "
         "root), what grew, what each object retains (the dominator tree), and which "
         "pages few blocks pin.");
    why_cache();
    why_closure();
    why_pinned();
}

/* ================================================================== */
/* main                                                                 */
/* ================================================================== */

static const struct section {
    const char *key;
    const char *title;
    void (*run)(void);
} sections[] = {
    {"refcounts", "Reference counts: four ways up, five ways down", section_refcounts},
    {"cycle", "A cycle that counting cannot free", section_cycle},
    {"thresholds", "Thresholds and automatic collection", section_thresholds},
    {"pool", "The memory pool, and memory handed back", section_pool},
    {"loop", "Memory in a loop", section_loop},
    {"closure", "Nested functions that refer to themselves", section_closure},
    {"application", "What an application can do", section_application},
    {"why", "Why is my memory not released?", section_why},
};
#define NSECTIONS ((int)(sizeof sections / sizeof sections[0]))

static void usage(FILE *f)
{
    fprintf(f,
            "usage: recycle-tour [--json] [--section N] [--help]\n\n"
            "A tour of Python's memory management, done in C with recycle.\n"
            "Every number shown is measured by this run, and every property\n"
            "shown is checked: the exit status is 1 if one does not hold.\n\n"
            "  --json        print the same facts as one JSON object\n"
            "  --section N   run section N only (1-%d)\n"
            "  --help        this text\n\nSections:\n",
            NSECTIONS);
    for (int i = 0; i < NSECTIONS; i++)
        fprintf(f, "  %d  %s\n", i + 1, sections[i].title);
}

int main(int argc, char **argv)
{
    int only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json_mode = 1;
        } else if (strcmp(argv[i], "--section") == 0 && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > NSECTIONS) {
                fprintf(stderr, "recycle-tour: no section %s (1-%d)\n", argv[i], NSECTIONS);
                return 2;
            }
            only = (int)n;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    if (json_mode) {
        j_first[0] = 1;
        j_open(NULL, '{');
        fact_s("program", "recycle-tour");
        fact_s("version", RCY_VERSION);
        fact_u("check_level", RCY_CHECK_LEVEL);
        j_open("sections", '{');
    } else {
        printf("recycle %s: Python's memory management, in C\n", RCY_VERSION);
        printf("A tour. Every number below was measured just now.\n");
    }

    for (int i = 0; i < NSECTIONS; i++) {
        if (only && only != i + 1)
            continue;
        current_section = i + 1;
        n_section_checks = 0;
        j_open(sections[i].key, '{');
        fact_s("title", sections[i].title);
        heading(i + 1, sections[i].title);
        sections[i].run();
        j_open("checks", '[');
        for (int k = 0; k < n_section_checks; k++) {
            j_open(NULL, '{');
            fact_s("what", section_checks[k].what);
            fact_b("ok", section_checks[k].ok);
            j_close('}');
        }
        j_close(']');
        j_close('}');
        fflush(stdout);
    }

    if (json_mode) {
        j_close('}');
        fact_u("checks_passed", (unsigned long long)checks_passed);
        fact_u("checks_failed", (unsigned long long)checks_failed);
        fact_b("ok", checks_failed == 0);
        j_close('}');
        putchar('\n');
    } else {
        printf("\n%d checks passed, %d failed.\n", checks_passed, checks_failed);
    }
    return checks_failed ? 1 : 0;
}
