/* SPDX-License-Identifier: MIT */
/* gcmodule: the collector's public surface, Python's gc module: explicit
 * collection, enable and disable, thresholds and counts, statistics,
 * freeze, introspection (get_objects, get_referrers, get_referents),
 * callbacks, debug flags and the garbage list (gc.garbage). The
 * algorithm is in collect.c and the files it names; this file only reads
 * and sets the state of gc.h, walks the heap (walk.h) and starts
 * collections through rcy__gc_collect.
 *
 * Introspection hands out snapshots: the objects are gathered first, each
 * held by a reference, so the caller's function may create and release
 * objects at will. Nothing here runs while a collection examines its set:
 * an explicit collection asked for during one (from a finalizer or a
 * callback) returns 0. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gc/internal.h"
#include "gc/walk.h"

size_t rcy_gc_collect(rcy_heap *h, int generation)
{
    rcy_gc *g = rcy__gc_of(h);
    if (generation < -1 || generation >= RCY_GENERATIONS) {
        errno = EINVAL;
        return 0;
    }
    if (g->collecting)
        return 0;
    void (*world_stop)(int) = g->weak.objects.world_stop; /* a joined thread's heap: heap_world.c */
    if (world_stop)
        world_stop(1);
    size_t n = rcy__gc_collect(g, generation < 0 ? RCY_GENERATIONS - 1 : generation, 0);
    if (world_stop)
        world_stop(0);
    return n;
}

void rcy_gc_enable(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    g->enabled = 1;
    rcy__gc_update_young_limit(g);
}

void rcy_gc_disable(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    g->enabled = 0;
    rcy__gc_update_young_limit(g);
}

int rcy_gc_isenabled(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    return g->enabled;
}

void rcy_gc_get_threshold(rcy_heap *h, size_t out[3])
{
    rcy_gc *g = rcy__gc_of(h);
    memcpy(out, g->threshold, sizeof g->threshold);
}

void rcy_gc_set_threshold(rcy_heap *h, size_t t0, size_t t1, size_t t2)
{
    rcy_gc *g = rcy__gc_of(h);
    g->threshold[0] = t0;
    g->threshold[1] = t1;
    g->threshold[2] = t2;
    rcy__gc_update_young_limit(g);
}

void rcy_gc_get_count(rcy_heap *h, size_t out[3])
{
    rcy_gc *g = rcy__gc_of(h);
    out[0] = g->weak.objects.young_count;
    out[1] = g->count[1];
    out[2] = g->count[2];
}

void rcy_gc_get_stats(rcy_heap *h, rcy_gc_genstats out[3])
{
    rcy_gc *g = rcy__gc_of(h);
    memcpy(out, g->stats, sizeof g->stats);
}

static void make_permanent(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g, (void)t, (void)i, (void)arg;
    rcy__set_generation(o, RCY_GEN_PERMANENT, 0);
}

void rcy_gc_freeze(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    rcy_objects *O = &g->weak.objects;
    rcy__gc_walk_tracked(g, RCY_GEN_OLD, make_permanent, NULL);
    rcy__young_reset(&O->young);
    O->count[RCY_GEN_PERMANENT] += O->count[0] + O->count[1] + O->count[2];
    O->count[0] = O->count[1] = O->count[2] = 0;
    O->young_count = 0;
}

static void thaw(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g, (void)t, (void)i, (void)arg;
    if (rcy__gen_of(RCY_HEAD(o)->gcword) == RCY_GEN_PERMANENT)
        rcy__set_generation(o, RCY_GEN_OLD, 0);
}

void rcy_gc_unfreeze(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    rcy_objects *O = &g->weak.objects;
    rcy__gc_walk_tracked(g, RCY_GEN_PERMANENT, thaw, NULL);
    O->count[RCY_GEN_OLD] += O->count[RCY_GEN_PERMANENT];
    O->count[RCY_GEN_PERMANENT] = 0;
    g->weak.objects.noted++; /* thawed objects were never examined: look at them next time */
}

void rcy_gc_set_drop_pacing(rcy_heap *h, int on)
{
    rcy_gc *g = rcy__gc_of(h);
    g->drop_pacing = on != 0;
}

size_t rcy_gc_get_freeze_count(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    return g->weak.objects.count[RCY_GEN_PERMANENT];
}

/* A snapshot for introspection (see the top of this file). */
typedef struct snapshot {
    rcy_ptrvec objects;
    int generation;     /* which one to gather, for get_objects */
    const void *target; /* whose referrers, for get_referrers */
    int found;          /* target seen in the object being traversed */
    int failed;         /* out of memory */
} snapshot;

static void snapshot_add(snapshot *s, void *o)
{
    if (rcy__ptrvec_push(&s->objects, o))
        rcy_incref(o);
    else
        s->failed = 1;
}

static int snapshot_deliver(snapshot *s, rcy_object_fn fn, void *arg)
{
    for (size_t i = 0; i < s->objects.len && !s->failed; i++)
        fn(s->objects.items[i], arg);
    for (size_t i = 0; i < s->objects.len; i++)
        rcy_decref(s->objects.items[i]);
    rcy__ptrvec_fini(&s->objects);
    if (s->failed) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static void add_if_in_generation(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)t, (void)i;
    snapshot *s = arg;
    if (s->generation < 0 || (int)rcy__generation(&g->weak.objects, o) == s->generation)
        snapshot_add(s, o);
}

int rcy_gc_get_objects(rcy_heap *h, int generation, rcy_object_fn fn, void *arg)
{
    rcy_gc *g = rcy__gc_of(h);
    if (generation < -1 || generation >= RCY_GENERATIONS) {
        errno = EINVAL;
        return -1;
    }
    snapshot s = {.generation = generation};
    if (generation >= 0 && generation < RCY_GEN_OLD)
        rcy__gc_for_each_in_set(g, (unsigned)generation, add_if_in_generation, &s);
    else
        rcy__gc_walk_tracked(g, RCY_GENERATIONS - 1, add_if_in_generation, &s);
    return snapshot_deliver(&s, fn, arg);
}

static RCY_ALWAYS_INLINE void visit_find(void **slot, void *arg)
{
    snapshot *s = arg;
    if (*slot == s->target)
        s->found = 1;
}

static void add_if_referrer(rcy_gc *g, void *o, const rcy_type *t, uint32_t i, void *arg)
{
    (void)g, (void)i;
    snapshot *s = arg;
    s->found = 0;
    rcy__visit_refs(o, t, visit_find, s);
    if (s->found)
        snapshot_add(s, o);
}

int rcy_gc_get_referrers(rcy_heap *h, const void *target, rcy_object_fn fn, void *arg)
{
    rcy_gc *g = rcy__gc_of(h);
    snapshot s = {.target = target};
    rcy__gc_walk_tracked(g, RCY_GEN_PERMANENT, add_if_referrer, &s);
    return snapshot_deliver(&s, fn, arg);
}

typedef struct {
    rcy_object_fn fn;
    void *arg;
} referent_visit;

static RCY_ALWAYS_INLINE void visit_referent(void **slot, void *arg)
{
    referent_visit *v = arg;
    if (*slot)
        v->fn(*slot, v->arg);
}

void rcy_gc_get_referents(const void *o, rcy_object_fn fn, void *arg)
{
    referent_visit v = {fn, arg};
    rcy__traverse((void *)o, visit_referent, &v);
}

int rcy_gc_callback_add(rcy_heap *h, rcy_gc_callback cb, void *arg)
{
    rcy_gc *g = rcy__gc_of(h);
    if (!cb)
        return -1;
    if (g->ncallbacks == g->callbacks_cap) {
        size_t cap = g->callbacks_cap ? g->callbacks_cap * 2 : 4;
        rcy_gc_cb *grown = realloc(g->callbacks, cap * sizeof *grown);
        if (!grown)
            return -1;
        g->callbacks = grown;
        g->callbacks_cap = cap;
    }
    g->callbacks[g->ncallbacks++] = (rcy_gc_cb){cb, arg};
    return 0;
}

int rcy_gc_callback_remove(rcy_heap *h, rcy_gc_callback cb, void *arg)
{
    rcy_gc *g = rcy__gc_of(h);
    for (size_t i = 0; i < g->ncallbacks; i++) {
        if (g->callbacks[i].fn == cb && g->callbacks[i].arg == arg) {
            memmove(&g->callbacks[i], &g->callbacks[i + 1],
                    (g->ncallbacks - i - 1) * sizeof *g->callbacks);
            g->ncallbacks--;
            return 0;
        }
    }
    return -1;
}

void rcy_gc_set_debug(rcy_heap *h, unsigned flags)
{
    rcy_gc *g = rcy__gc_of(h);
    g->debug = flags;
}

unsigned rcy_gc_get_debug(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    return g->debug;
}

size_t rcy_gc_garbage_count(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    return g->garbage.len;
}

void rcy_gc_garbage(rcy_heap *h, rcy_object_fn fn, void *arg)
{
    rcy_gc *g = rcy__gc_of(h);
    for (size_t i = 0; i < g->garbage.len; i++)
        fn(g->garbage.items[i], arg);
}

void rcy_gc_garbage_clear(rcy_heap *h)
{
    rcy_gc *g = rcy__gc_of(h);
    while (g->garbage.len) /* one at a time: a death may touch the list */
        rcy_decref(g->garbage.items[--g->garbage.len]);
}
