/* weakref: weak references, a built-in object type, and the side table
 * that maps a target to its weak references (so objects that are never
 * weakly referenced pay nothing but a flag bit). */
#ifndef RCY_WEAKREF_H
#define RCY_WEAKREF_H

#include "object.h"

typedef struct rcy_weakref rcy_weakref;

/* Clears every weak reference to o. Returns those that have a callback,
   each with a new strong reference, linked for rcy__weak_run. */
rcy_weakref *rcy__weak_detach(struct rcy_heap *h, void *o);
/* Keeps in `list` only the weak references `keep` accepts (others lose the
   reference detach gave them) and appends them to *out. */
void rcy__weak_filter(rcy_weakref *list, int (*keep)(void *wr), rcy_weakref **out);
/* Runs each callback, then drops the reference detach gave. */
void rcy__weak_run(rcy_weakref *list);
void rcy__weak_fini(struct rcy_heap *h);

#endif
