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

#endif
