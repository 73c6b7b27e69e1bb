/* SPDX-License-Identifier: MIT */
/* weakref: weak references as objects of a built-in type.
 *
 * A target's weak references form a doubly linked list whose head is kept
 * in a per-heap ptrmap, looked up only when the target's WEAKREFD flag is
 * set. So an object that is never weakly referenced costs nothing.
 *
 * A weak reference is collectable (its traverse visits nothing) so that
 * the collector can tell whether a weak reference is itself garbage: per
 * CPython's rule, a callback runs only if the weak reference survives. */
#include "weak/weakref.h"

#include <errno.h>

#include "util/misuse.h"

struct rcy_weakref {
    void *target; /* NULL once the target died */
    rcy_weak_callback cb;
    void *arg;
    rcy_weakref *next, *prev; /* the target's list; `next` also links a callback batch */
};

static void weakref_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    (void)self, (void)visit, (void)arg; /* holds no strong reference */
}

static void weakref_destroy(void *self);

static const rcy_type weakref_type = {
    .name = "weakref",
    .size = sizeof(rcy_weakref),
    .traverse = weakref_traverse,
    .destroy = weakref_destroy,
};

int rcy_is_weakref(const void *o)
{
    return o && rcy__type(o) == &weakref_type;
}

/* ---- weak references ---- */

/* The weak references of the heap that holds o. */
static rcy_weaks *weaks_of(const void *o)
{
    rcy_arena *unused;
    return rcy__weaks_of_objects(rcy__object_home(o, &unused));
}

static void unlink_from_target(rcy_weaks *W, rcy_weakref *w)
{
    void **first = rcy__ptrmap_find(&W->targets, (uintptr_t)w->target);
    if (w->prev)
        w->prev->next = w->next;
    else if (first)
        *first = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (first && !*first) {
        RCY_HEAD(w->target)->gcword &= ~RCY_GC_WEAKREFD;
        rcy__ptrmap_delete(&W->targets, (uintptr_t)w->target);
    }
    w->target = NULL;
    w->next = w->prev = NULL;
}

static void weakref_destroy(void *self)
{
    rcy_weakref *w = self;
    if (w->target)
        unlink_from_target(weaks_of(self), w);
}

void *rcy_weakref_new(void *target, rcy_weak_callback cb, void *arg)
{
    if (!target)
        return NULL;
    rcy_weaks *W = weaks_of(target);
    rcy_weakref *w = rcy_new(rcy__objects_heap(&W->objects), &weakref_type);
    if (!w)
        return NULL;
    void **first = rcy__ptrmap_insert(&W->targets, (uintptr_t)target);
    if (!first) {
        rcy_decref(w);
        errno = ENOMEM; /* not calloc's: the death just run may have changed errno */
        return NULL;
    }
    w->target = target;
    w->cb = cb;
    w->arg = arg;
    w->next = *first;
    if (w->next)
        w->next->prev = w;
    *first = w;
    RCY_HEAD(target)->gcword |= RCY_GC_WEAKREFD;
    return w;
}

void *rcy_weakref_get(void *weakref)
{
    if (!rcy_is_weakref(weakref))
        rcy__misuse("rcy_weakref_get(%p): not a weak reference", weakref);
    rcy_weakref *w = weakref;
    if (w->target)
        rcy_incref(w->target);
    return w->target;
}

rcy_weakref *rcy__weak_detach(rcy_weaks *W, void *o)
{
    void **first = rcy__ptrmap_find(&W->targets, (uintptr_t)o);
    RCY_HEAD(o)->gcword &= ~RCY_GC_WEAKREFD;
    if (!first)
        return NULL;
    rcy_weakref *w = *first, *batch = NULL, **tail = &batch;
    rcy__ptrmap_delete(&W->targets, (uintptr_t)o);
    while (w) {
        rcy_weakref *next = w->next;
        w->target = NULL;
        w->prev = w->next = NULL;
        if (w->cb && RCY_HEAD(w)->refcnt > 0) { /* a dying weakref gets no callback */
            rcy_incref(w);
            *tail = w;
            tail = &w->next;
        }
        w = next;
    }
    return batch;
}

void rcy__weak_filter(rcy_weakref *list, int (*keep)(void *wr), rcy_weakref **out)
{
    while (*out)
        out = &(*out)->next;
    while (list) {
        rcy_weakref *next = list->next;
        list->next = NULL;
        if (keep(list)) {
            *out = list;
            out = &list->next;
        } else {
            rcy_decref(list);
        }
        list = next;
    }
}

void rcy__weak_run(rcy_weakref *list)
{
    while (list) {
        rcy_weakref *next = list->next;
        list->next = NULL;
        list->cb(list, list->arg);
        rcy_decref(list);
        list = next;
    }
}

/* The object layer's hook: o, with weak references, is dying. */
static void clear_weakrefs(rcy_objects *O, void *o)
{
    rcy__weak_run(rcy__weak_detach(rcy__weaks_of_objects(O), o));
}

void rcy__weaks_init(rcy_weaks *W)
{
    W->targets = (rcy_ptrmap){0};
    W->objects.weak_clear = clear_weakrefs;
}

void rcy__weaks_fini(rcy_weaks *W)
{
    rcy__ptrmap_fini(&W->targets);
}
