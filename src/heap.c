/* heap: making and destroying a heap, layer by layer. The heap struct
 * itself comes from the system allocator: it is the root of everything the
 * heap owns and must outlive all of it. */
#include <errno.h>
#include <stdlib.h>

#include "heap.h"
#include "weakref.h"

rcy_heap *rcy_heap_new(void)
{
    rcy_heap *h = calloc(1, sizeof *h);
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    rcy__pools_init(&h->pools, h);
    rcy__larges_init(&h->large, h);
    rcy__objects_init(&h->objects);
    rcy__gc_init(h);
    return h;
}

/* Highest layer first: the collector's and objects' side tables, then the
   memory under every object at once. No finalizer or destroy runs. */
void rcy_heap_destroy(rcy_heap *h)
{
    if (!h)
        return;
    rcy__gc_fini(h);
    rcy__weak_fini(h);
    rcy__objects_fini(&h->objects);
    rcy__larges_fini(&h->large);
    rcy__pools_fini(&h->pools);
    free(h);
}
