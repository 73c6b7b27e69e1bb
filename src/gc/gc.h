/* SPDX-License-Identifier: MIT */
/* gc: the generational cycle collector's state, and what the layer shows
 * to the heap (init, fini) and to tests (rcy__gc_test_force_refs). Which
 * generation an object is in is kept by the object layer (object.h,
 * track.h); the collector decides when to collect and moves objects
 * between generations. The collector's files and what each owns:
 * internal.h. */
#ifndef RCY_GC_H
#define RCY_GC_H

#include "weak/weakref.h"

#define RCY_GENERATIONS 3

#define RCY_GC_NEEDS_WEAKREFS 1u /* rcy_gc.garbage_needs */
#define RCY_GC_NEEDS_FINALIZE 2u

typedef struct rcy_gc_cb {
    rcy_gc_callback fn;
    void *arg;
} rcy_gc_cb;

/* The running collection: generations 0..gen are examined, survivors go
   to generation old. */
typedef struct rcy_collection {
    unsigned gen, old;
} rcy_collection;

/* Where steps 2-3 of a collection keep each object's gc_refs (refs.h). */
typedef enum rcy_refs_place {
    RCY_REFS_AUTO = -1, /* rcy__gc_test_force_refs: each collection's best place */
    RCY_REFS_HEADER,    /* the header's slot bits: any set; the fallback */
    RCY_REFS_SIDE,      /* a byte in the side table: full collections */
    RCY_REFS_YOUNG,     /* beside the young vector: young collections */
} rcy_refs_place;

/* One set's steps 2-3, and where its gc_refs live (refs.h). */
typedef struct rcy_refs rcy_refs;

/* The collector's part of a heap: the layers below first (so that they
   share its address: mem.h, object.h), then its own state. */
typedef struct rcy_gc {
    rcy_weaks weak; /* first */
    rcy_collection current;
    rcy_refs_place forced_refs; /* rcy__gc_test_force_refs; RCY_REFS_AUTO */
    rcy_ptrvec unreachable;     /* the garbage of the running collection, held */
    rcy_ptrvec stack;           /* objects marked reachable, to traverse */
    int stack_overflowed;       /* the stack could not grow: mark again */
    int hold_failed;            /* step 4 could not hold some garbage: run step 7 */
    /* what step 4 held needs: RCY_GC_NEEDS_WEAKREFS (some garbage has
       weak references: step 5), RCY_GC_NEEDS_FINALIZE (some garbage's
       type has a finalizer: step 6); steps 5 and 6 are skipped otherwise */
    unsigned garbage_needs;
    /* SIDE: the members the ordered scan passed with gc_refs 0, the only
       ones step 4 must look at (refs.c); passed_lost: one could not be
       listed (or the scan ran twice), and step 4 walks the heap */
    rcy_ptrvec passed;
    int passed_lost;
    size_t threshold[RCY_GENERATIONS];
    size_t count[RCY_GENERATIONS]; /* count[0] lives in rcy_objects */
    rcy_gc_genstats stats[RCY_GENERATIONS];
    size_t long_lived_total;          /* tracked objects after the last full collection */
    size_t noted_at[RCY_GENERATIONS]; /* objects.noted when each was last really collected */
    int drop_pacing;                  /* skip young collections with no drop noted */
    size_t skipped[RCY_GENERATIONS];  /* collections proven empty without scanning */
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

/* For tests: from now on, the collections of h keep gc_refs in `place`
   where they can (SIDE: full collections, which then also use the
   subtract pass's prefetch ring at any table size; YOUNG: young ones) and
   in the headers where they cannot, as when the side table or the young
   scratch cannot be had. RCY_REFS_AUTO: each collection's best place
   again, the default. */
void rcy__gc_test_force_refs(rcy_heap *h, int place);

#endif
