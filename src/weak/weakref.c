/* SPDX-License-Identifier: MIT */
/* weakref: weak references as objects of a built-in type.
 *
 * A target's weak references form a doubly linked list whose head is kept
 * in a per-heap ptrmap, looked up only when the target's WEAKREFD flag is
 * set. So an object that is never weakly referenced costs nothing.
 *
 * A weak reference is collectable (its traverse visits nothing) so that
 * the collector can tell whether a weak reference is itself garbage: per
 * CPython's rule, a callback runs only if the weak reference survives.
 *
 * Threads (issue 23): weak references live in their target's heap and are
 * made on its owner; any thread may read one. A weak reference's target
 * field changes only under the heap's weak lock (rcy_objects.weak_lock),
 * and so does a weakly referenced object's passage to death (obj/object.c,
 * rcy__object_release_last), so rcy_weakref_get, which takes its strong
 * reference under that lock with rcy__object_try_incref, gets the object
 * alive or NULL, never one that is being destroyed. */
#include "weak/weakref.h"

#include "obj/shared.h"
#include "os/pagemap.h"

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

/* rcy_is_weakref without the header's gcword (which the owner of the
   object's heap may be writing): weak references are small objects, so
   the page map tells, and their pool's tag is their type. */
static int weakref_from_any_thread(const void *o)
{
    if (!o || ((uintptr_t)o & (sizeof(rcy_objhead) - 1)))
        return 0;
    rcy_arena *a = rcy__pagemap_lookup(RCY_HEAD(o));
    return a && rcy__type_at(a, RCY_HEAD(o)) == &weakref_type;
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
    rcy_weaks *W = weaks_of(self);
    rcy__spin_lock(&W->objects.weak_lock);
    if (w->target)
        unlink_from_target(W, w);
    rcy__spin_unlock(&W->objects.weak_lock);
}

void *rcy_weakref_new(void *target, rcy_weak_callback cb, void *arg)
{
    if (!target)
        return NULL;
    rcy_weaks *W = weaks_of(target);
    rcy_weakref *w = rcy_new(rcy__objects_heap(&W->objects), &weakref_type);
    if (!w)
        return NULL;
    rcy__spin_lock(&W->objects.weak_lock);
    void **first = rcy__ptrmap_insert(&W->targets, (uintptr_t)target);
    if (!first) {
        rcy__spin_unlock(&W->objects.weak_lock);
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
    rcy__spin_unlock(&W->objects.weak_lock);
    return w;
}

void *rcy_weakref_get(void *weakref)
{
    if (!weakref_from_any_thread(weakref))
        rcy__misuse("rcy_weakref_get(%p): not a weak reference", weakref);
    rcy_weakref *w = weakref;
    /* a weak reference is a small object: its heap from its arena, without
       its header's gcword, which the owner may be writing */
    rcy_objects *O = rcy__objects_of_mem(rcy__arena_at(RCY_HEAD(w))->owner);
    rcy__spin_lock(&O->weak_lock);
    void *target = w->target;
    if (target && !rcy__object_try_incref(target))
        target = NULL; /* dying on another thread */
    rcy__spin_unlock(&O->weak_lock);
    return target;
}

rcy_weakref *rcy__weak_detach(rcy_weaks *W, void *o)
{
    rcy__spin_lock(&W->objects.weak_lock);
    void **first = rcy__ptrmap_find(&W->targets, (uintptr_t)o);
    RCY_HEAD(o)->gcword &= ~RCY_GC_WEAKREFD;
    if (!first) {
        rcy__spin_unlock(&W->objects.weak_lock);
        return NULL;
    }
    rcy_weakref *w = *first, *batch = NULL, **tail = &batch;
    rcy__ptrmap_delete(&W->targets, (uintptr_t)o);
    while (w) {
        rcy_weakref *next = w->next;
        w->target = NULL;
        w->prev = w->next = NULL;
        if (w->cb && rcy__object_count(w) > 0) { /* a dying weakref gets no callback */
            rcy_incref(w);
            *tail = w;
            tail = &w->next;
        }
        w = next;
    }
    rcy__spin_unlock(&W->objects.weak_lock);
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
