/* SPDX-License-Identifier: MIT */
/* internal: what the collector's files share, and no other layer sees.
 * collect.c runs a collection as a list of steps; the steps live in the
 * files below and are declared here, with their rcy__gc_ names (hidden
 * from the shared library like every rcy__ function):
 *   collect.c   one collection and its triggering; gcmodule.c starts
 *               collections through it
 *   refs.c      steps 2-3 on the place gc_refs live in (refs.h)
 *   garbage.c   steps 4-8: survivors move on, garbage is held, weak
 *               references, finalizers, resurrection, deletion
 *   validate.c  what must hold between the steps (checked builds)
 * gcmodule.c is the public surface and exports nothing to the others. */
#ifndef RCY_GC_INTERNAL_H
#define RCY_GC_INTERNAL_H

#include "gc/gc.h"

/* ---- collect.c ---- */

/* A collection of generation gen (0-2) with everything around it: no
   re-entry, callbacks, debug output, timing. Returns the unreachable
   objects found. automatic: it may be skipped (drop pacing). */
size_t rcy__gc_collect(rcy_gc *g, int gen, int automatic);
/* Sets the object layer's young limit from the thresholds and switches. */
void rcy__gc_update_young_limit(rcy_gc *g);

/* ---- refs.c: steps 1-3, on the place of refs.h ---- */

/* The running collection's set (g->current.gen) and where its gc_refs
   live; rcy__gc_refs_end releases what the place took (the side table). */
void rcy__gc_refs_begin(rcy_gc *g, rcy_refs *r);
/* Step 7's set: the objects of garbage still UNREACHABLE, in the headers,
   each counted without the reference the vector holds. */
void rcy__gc_refs_of_garbage(rcy_gc *g, rcy_ptrvec *garbage, rcy_refs *r);
void rcy__gc_refs_end(rcy_refs *r);
/* Step 2: gc_refs = refcount (update), minus the references from inside
   the set (subtract). */
void rcy__gc_update_refs(rcy_refs *r);
void rcy__gc_subtract_refs(rcy_refs *r);
/* Step 3: what has gc_refs > 0, and all it reaches, leaves the set; the
   candidates left (rcy__gc_refs_candidate) are the garbage. */
void rcy__gc_mark_reachable(rcy_refs *r);

/* ---- garbage.c: steps 4-8 ---- */

/* The running collection's garbage: held by the collector, UNREACHABLE. */
static inline int rcy__gc_is_garbage(const void *o)
{
    return (RCY_HEAD(o)->gcword & RCY_GC_UNREACHABLE) != 0;
}

/* Step 4: survivors go to the next generation, the garbage to
   g->unreachable, each held by a reference. */
void rcy__gc_settle(rcy_gc *g, const rcy_refs *r);
/* Generations 0..gen were collected (or skipped) and `survivors` of them
   moved on: the young vector and the counts follow. */
void rcy__gc_promote_young(rcy_gc *g, unsigned gen, size_t survivors);
/* Steps 5 and 6; each returns 1 if user code (a callback, a finalizer)
   ran. */
int rcy__gc_handle_weakrefs(rcy_gc *g, const rcy_ptrvec *garbage);
int rcy__gc_finalize_garbage(const rcy_ptrvec *garbage);
/* Step 7: what a finalizer made reachable leaves the garbage. */
void rcy__gc_handle_resurrected(rcy_gc *g, rcy_ptrvec *garbage);
/* Step 8: the garbage is cleared and let go (or saved: RCY_DEBUG_SAVEALL). */
void rcy__gc_delete_garbage(rcy_gc *g, rcy_ptrvec *garbage);
void rcy__gc_print_collectable(const rcy_ptrvec *garbage);

/* ---- validate.c: checks between the steps ---- */

/* Each step ends with its check (validate.c says what each checks): the
   cheap parts at check level 2, whole-set and heap walks at level 3, no
   code below 2. */
#if RCY_CHECK_LEVEL >= 2
void rcy__gc_check_idle(rcy_gc *g);                         /* before step 1, after 8 */
void rcy__gc_check_counted(const rcy_refs *r);              /* after step 2 */
void rcy__gc_check_marked(const rcy_refs *r);               /* after step 3 */
void rcy__gc_check_settled(const rcy_refs *r);              /* after step 4 */
void rcy__gc_check_garbage(rcy_gc *g, rcy_ptrvec *garbage); /* before step 8 */
#else
static inline void rcy__gc_check_idle(rcy_gc *g)
{
    (void)g;
}
static inline void rcy__gc_check_counted(const rcy_refs *r)
{
    (void)r;
}
static inline void rcy__gc_check_marked(const rcy_refs *r)
{
    (void)r;
}
static inline void rcy__gc_check_settled(const rcy_refs *r)
{
    (void)r;
}
static inline void rcy__gc_check_garbage(rcy_gc *g, rcy_ptrvec *garbage)
{
    (void)g, (void)garbage;
}
#endif

/* ---- shared helpers ---- */

/* Empties a work vector, keeping a modest buffer for the next collection,
   not a huge one. */
static inline void rcy__gc_trim(rcy_ptrvec *v)
{
    v->len = 0;
    if (v->cap > 65536)
        rcy__ptrvec_fini(v);
}

#endif
