/* gc: the generational cycle collector's state. Which generation an
 * object is in is kept by the object layer (object.h, track.h); the
 * collector decides when to collect and moves objects between
 * generations. */
#ifndef RCY_GC_H
#define RCY_GC_H

#include "gc/side.h"
#include "weak/weakref.h"

#define RCY_GENERATIONS 3

typedef struct rcy_gc_cb {
    rcy_gc_callback fn;
    void *arg;
} rcy_gc_cb;

/* The running collection: generations 0..gen are examined, survivors go
   to generation old. */
typedef struct rcy_collection {
    unsigned gen, old;
    int side;            /* gc_refs is in the allocator's side table (gc.c) */
} rcy_collection;

/* The collector's part of a heap: the layers below first (so that they
   share its address: mem.h, object.h), then its own state. */
typedef struct rcy_gc {
    rcy_weaks weak; /* first */
    rcy_collection current;
    rcy_side side;                     /* a full collection's gc_refs (side.h) */
    rcy_ptrvec unreachable;            /* the garbage of the running collection, held */
    rcy_ptrvec stack;                  /* objects marked reachable, to traverse */
    int stack_overflowed;              /* the stack could not grow: mark again */
    size_t threshold[RCY_GENERATIONS];
    size_t count[RCY_GENERATIONS];     /* count[0] lives in rcy_objects */
    rcy_gc_genstats stats[RCY_GENERATIONS];
    size_t long_lived_total;           /* tracked objects after the last full collection */
    size_t noted_at[RCY_GENERATIONS];  /* objects.noted when each was last really collected */
    int drop_pacing;                   /* skip young collections with no drop noted */
    size_t skipped[RCY_GENERATIONS];   /* collections proven empty without scanning */
    int enabled;
    int collecting;
    unsigned debug;
    rcy_gc_cb *callbacks;
    size_t ncallbacks, callbacks_cap;
    rcy_ptrvec garbage; /* gc.garbage: strong references kept by RCY_DEBUG_SAVEALL */
} rcy_gc;

static inline rcy_gc *rcy__gc_of(rcy_heap *h)
{
    return (rcy_gc *)(void *)h;
}

static inline rcy_gc *rcy__gc_of_objects(rcy_objects *O)
{
    return RCY_CONTAINER_OF(rcy__weaks_of_objects(O), rcy_gc, weak);
}

void rcy__gc_init(rcy_gc *g);
void rcy__gc_fini(rcy_gc *g);

#endif
