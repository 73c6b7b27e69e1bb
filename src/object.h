/* object: the hidden header, object creation and death, tracking.
 *
 * Memory of an object (addresses grow to the right):
 *     [ gc links (16 B) ] [ rcy_objhead (16 B) ] [ payload ... ]
 *                                                ^ the user's pointer
 * The links exist only for types with traverse (collectable types).
 *
 * rcy_objhead.gcword, outside a collection: the flag bits below and zero
 * in RCY_GC_REFS_MASK. During a collection the collector keeps gc_refs in
 * the mask bits of the objects it is examining (RCY_GC_COLLECTING set).
 * type_and_flags: the type pointer (8-aligned) with two flags in bit 0, 1.
 *
 * Which list a collectable object is on:
 *   tracked       - a generation list (the young list below, or one of the
 *                   collector's), RCY_GC_TRACKED set;
 *   untracked     - none;
 *   dying         - the pending queue (links.next), when deaths nest deeply;
 * An object with count 0 is dying or free; a free object's memory is the
 * pool's. */
#ifndef RCY_OBJECT_H
#define RCY_OBJECT_H

#include "ptrmap.h"
#include "recycle.h"

typedef struct rcy_gclink {
    struct rcy_gclink *next, *prev;
} rcy_gclink;

#define RCY_TF_FINALIZED ((uintptr_t)1)
#define RCY_TF_WEAKREFD ((uintptr_t)2)
#define RCY_TF_FLAGS ((uintptr_t)3)

#define RCY_GC_TRACKED (1u << 31)
#define RCY_GC_COLLECTING (1u << 30)     /* in the set being collected */
#define RCY_GC_UNREACHABLE (1u << 29)    /* tentatively unreachable */
#define RCY_GC_WAS_TRACKED (1u << 28)    /* dying: re-track if resurrected */
#define RCY_GC_FINALIZING (1u << 27)     /* its finalizer is running */
#define RCY_GC_NOTED RCY_GCWORD_NOTED    /* bit 26: see rcy__decref_note */
#define RCY_GC_REFS_MASK ((1u << 26) - 1) /* gc_refs saturate here */

typedef struct rcy_objects {
    rcy_gclink young;       /* generation 0: sentinel of a circular list */
    size_t young_count;     /* tracked allocations minus deallocations */
    size_t young_limit;     /* the collector is called when young_count passes it */
    void (*young_full)(struct rcy_heap *h);
    rcy_gclink *pending;    /* dying objects, oldest first, linked through next */
    rcy_gclink *pending_last;
    unsigned depth;         /* deaths in progress, nested */
    rcy_ptrmap weak;        /* target -> its first weak reference */
    size_t noted;           /* drops-to-nonzero reported by tracked objects, ever */
    size_t tracked;         /* objects on generation lists (all generations) */
} rcy_objects;

static inline rcy_gclink *rcy__links(const void *o)
{
    return (rcy_gclink *)RCY_HEAD(o) - 1;
}

static inline void *rcy__link_object(const rcy_gclink *l)
{
    return (rcy_objhead *)(l + 1) + 1;
}

static inline const rcy_type *rcy__type(const void *o)
{
    return (const rcy_type *)(RCY_HEAD(o)->type_and_flags & ~RCY_TF_FLAGS);
}

static inline int rcy__collectable(const rcy_type *t)
{
    return t->traverse != NULL;
}

/* The start of the memory block an object lives in. */
static inline void *rcy__object_block(const void *o)
{
    return rcy__collectable(rcy__type(o)) ? (void *)rcy__links(o) : (void *)RCY_HEAD(o);
}

static inline void rcy__list_init(rcy_gclink *l)
{
    l->next = l->prev = l;
}

static inline int rcy__list_empty(const rcy_gclink *l)
{
    return l->next == l;
}

static inline void rcy__list_append(rcy_gclink *list, rcy_gclink *x)
{
    x->prev = list->prev;
    x->next = list;
    list->prev->next = x;
    list->prev = x;
}

static inline void rcy__list_remove(rcy_gclink *x)
{
    x->prev->next = x->next;
    x->next->prev = x->prev;
    x->next = x->prev = NULL;
}

static inline void rcy__list_move(rcy_gclink *x, rcy_gclink *to)
{
    x->prev->next = x->next;
    x->next->prev = x->prev;
    rcy__list_append(to, x);
}

/* Appends every element of `from` to `to`; `from` becomes empty. */
static inline void rcy__list_merge(rcy_gclink *from, rcy_gclink *to)
{
    if (rcy__list_empty(from))
        return;
    to->prev->next = from->next;
    from->next->prev = to->prev;
    to->prev = from->prev;
    from->prev->next = to;
    rcy__list_init(from);
}

void rcy__objects_init(rcy_objects *O);
void rcy__objects_fini(struct rcy_heap *h);
/* Calls the type's traverse; with a NULL traverse, nothing. */
void rcy__traverse(void *o, rcy_visit_fn visit, void *arg);
/* Drops every reference o holds (slot = NULL, decref the old value). */
void rcy__clear_refs(void *o);

#endif
