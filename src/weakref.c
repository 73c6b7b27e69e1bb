/* weakref: weak references as objects of a built-in type.
 *
 * A target's weak references form a doubly linked list whose head is kept
 * in a per-heap hash table (open addressing, linear probing, deletion by
 * backward shift), found only when the target's WEAKREFD flag is set. So
 * an object that is never weakly referenced costs nothing.
 *
 * A weak reference is collectable (its traverse visits nothing) so that
 * the collector can tell whether a weak reference is itself garbage: per
 * CPython's rule, a callback runs only if the weak reference survives. */
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "weakref.h"

struct rcy_weakref {
    void *target; /* NULL once the target died */
    rcy_weak_callback cb;
    void *arg;
    rcy_weakref *next, *prev; /* the target's list; `next` also links a callback batch */
};

typedef struct weak_slot {
    void *target;
    rcy_weakref *first;
} weak_slot;

struct rcy_weaktable {
    weak_slot *slots;
    size_t mask; /* capacity - 1; capacity is a power of two */
    size_t used;
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

/* ---- the side table ---- */

static size_t slot_of(const rcy_weaktable *t, const void *target)
{
    uintptr_t k = (uintptr_t)target >> 4;
    return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 17) & t->mask;
}

static weak_slot *table_find(rcy_weaktable *t, const void *target)
{
    if (!t)
        return NULL;
    for (size_t i = slot_of(t, target);; i = (i + 1) & t->mask) {
        if (t->slots[i].target == target)
            return &t->slots[i];
        if (!t->slots[i].target)
            return NULL;
    }
}

static int table_grow(rcy_weaktable *t)
{
    size_t cap = t->slots ? (t->mask + 1) * 2 : 64;
    weak_slot *fresh = calloc(cap, sizeof *fresh);
    if (!fresh)
        return -1;
    weak_slot *old = t->slots;
    size_t oldcap = old ? t->mask + 1 : 0;
    t->slots = fresh;
    t->mask = cap - 1;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].target)
            continue;
        size_t j = slot_of(t, old[i].target);
        while (fresh[j].target)
            j = (j + 1) & t->mask;
        fresh[j] = old[i];
    }
    free(old);
    return 0;
}

/* The slot for target, made if missing; NULL when out of memory. */
static weak_slot *table_insert(rcy_heap *h, const void *target)
{
    rcy_weaktable *t = h->objects.weak;
    if (!t) {
        t = h->objects.weak = calloc(1, sizeof *t);
        if (!t || table_grow(t) != 0)
            return NULL;
    }
    weak_slot *s = table_find(t, target);
    if (s)
        return s;
    if ((t->used + 1) * 4 > (t->mask + 1) * 3 && table_grow(t) != 0)
        return NULL;
    size_t i = slot_of(t, target);
    while (t->slots[i].target)
        i = (i + 1) & t->mask;
    t->slots[i].target = (void *)target;
    t->slots[i].first = NULL;
    t->used++;
    return &t->slots[i];
}

static void table_delete(rcy_weaktable *t, weak_slot *s)
{
    size_t hole = (size_t)(s - t->slots);
    t->slots[hole].target = NULL;
    t->used--;
    /* backward shift: move later entries of the cluster into the hole */
    for (size_t i = (hole + 1) & t->mask; t->slots[i].target; i = (i + 1) & t->mask) {
        size_t home = slot_of(t, t->slots[i].target);
        if (((i - home) & t->mask) >= ((i - hole) & t->mask)) { /* hole lies on its probe path */
            t->slots[hole] = t->slots[i];
            t->slots[i].target = NULL;
            hole = i;
        }
    }
}

/* ---- weak references ---- */

static void unlink_from_target(rcy_heap *h, rcy_weakref *w)
{
    weak_slot *s = table_find(h->objects.weak, w->target);
    if (w->prev)
        w->prev->next = w->next;
    else if (s)
        s->first = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (s && !s->first) {
        RCY_HEAD(w->target)->type_and_flags &= ~RCY_TF_WEAKREFD;
        table_delete(h->objects.weak, s);
    }
    w->target = NULL;
    w->next = w->prev = NULL;
}

static void weakref_destroy(void *self)
{
    rcy_weakref *w = self;
    if (w->target)
        unlink_from_target(rcy_heap_of(self), w);
}

void *rcy_weakref_new(void *target, rcy_weak_callback cb, void *arg)
{
    if (!target)
        return NULL;
    rcy_heap *h = rcy_heap_of(target);
    weak_slot *s = table_insert(h, target);
    if (!s)
        return NULL;
    rcy_weakref *w = rcy_new(h, &weakref_type);
    if (!w) {
        if (!s->first)
            table_delete(h->objects.weak, s);
        return NULL;
    }
    /* the collection rcy_new may have run can move slots: look again */
    s = table_insert(h, target);
    w->target = target;
    w->cb = cb;
    w->arg = arg;
    w->next = s->first;
    if (w->next)
        w->next->prev = w;
    s->first = w;
    RCY_HEAD(target)->type_and_flags |= RCY_TF_WEAKREFD;
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

rcy_weakref *rcy__weak_detach(rcy_heap *h, void *o)
{
    weak_slot *s = table_find(h->objects.weak, o);
    RCY_HEAD(o)->type_and_flags &= ~RCY_TF_WEAKREFD;
    if (!s)
        return NULL;
    rcy_weakref *w = s->first, *batch = NULL, **tail = &batch;
    table_delete(h->objects.weak, s);
    while (w) {
        rcy_weakref *next = w->next;
        w->target = NULL;
        w->prev = w->next = NULL;
        if (w->cb) {
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

void rcy__weak_fini(rcy_heap *h)
{
    if (h->objects.weak) {
        free(h->objects.weak->slots);
        free(h->objects.weak);
        h->objects.weak = NULL;
    }
}
