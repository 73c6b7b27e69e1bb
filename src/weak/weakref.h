/* SPDX-License-Identifier: MIT */
/* weakref: weak references, a built-in object type, and the side table
 * that maps a target to its weak references (so objects that are never
 * weakly referenced pay nothing but a flag bit). */
#ifndef RCY_WEAKREF_H
#define RCY_WEAKREF_H

#include "obj/object.h"
#include "obj/shared.h"
#include "util/ptrmap.h"

typedef struct rcy_weakref rcy_weakref;

/* The weak reference layer's part of a heap: the object layer first (so
   they share an address: object.h), then the side table. */
typedef struct rcy_weaks {
    rcy_objects objects; /* first */
    rcy_ptrmap targets;  /* target -> its first weak reference */
} rcy_weaks;

static inline rcy_weaks *rcy__weaks_of_objects(rcy_objects *O)
{
    return RCY_CONTAINER_OF(O, rcy_weaks, objects);
}

/* After rcy__objects_init: registers the object layer's weak_clear hook. */
void rcy__weaks_init(rcy_weaks *W);
void rcy__weaks_fini(rcy_weaks *W);

/* Clears every weak reference to o. Returns those that have a callback,
   each with a new strong reference, linked for rcy__weak_run. */
rcy_weakref *rcy__weak_detach(rcy_weaks *W, void *o);
/* Keeps in `list` only the weak references `keep` accepts (others lose the
   reference detach gave them) and appends them to *out. */
void rcy__weak_filter(rcy_weakref *list, int (*keep)(void *wr), rcy_weakref **out);
/* Runs each callback, then drops the reference detach gave. */
void rcy__weak_run(rcy_weakref *list);

#endif
