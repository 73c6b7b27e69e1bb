/* gc: the generational cycle collector's state. Generation 0 is the
 * object layer's young list; the collector owns generations 1 and 2 and
 * the permanent (frozen) generation. */
#ifndef RCY_GC_H
#define RCY_GC_H

#include "object.h"

#define RCY_GENERATIONS 3

typedef struct rcy_gc_cb {
    rcy_gc_callback fn;
    void *arg;
} rcy_gc_cb;

typedef struct rcy_gc {
    rcy_gclink old[RCY_GENERATIONS - 1]; /* generations 1 and 2 */
    rcy_gclink permanent;
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
    void **garbage; /* strong references kept by RCY_DEBUG_SAVEALL */
    size_t ngarbage, garbage_cap;
} rcy_gc;

void rcy__gc_init(struct rcy_heap *h);
void rcy__gc_fini(struct rcy_heap *h);
/* Generation list n (0, 1, 2). */
rcy_gclink *rcy__gc_generation(struct rcy_heap *h, int n);

#endif
