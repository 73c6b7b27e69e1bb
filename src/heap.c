/* SPDX-License-Identifier: MIT */
/* heap: making and destroying a heap, layer by layer, lowest first; each
 * layer's init registers the hooks through which a lower one calls it.
 * The heap struct itself comes from the system allocator: it is the root
 * of everything the heap owns and must outlive all of it. A new heap then
 * takes the process's options (util/options.h) as its settings. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "heap.h"
#include "os/pagemap.h"
#include "tools/limit.h"
#include "tools/trace.h"
#include "util/misuse.h"
#include "util/options.h"
#include "util/sys.h"

_Static_assert(offsetof(rcy_heap, gc) == 0 && offsetof(rcy_gc, weak) == 0 &&
                   offsetof(rcy_weaks, objects) == 0 && offsetof(rcy_objects, mem) == 0,
               "a heap's address is each layer's part (heap.h)");

/* The platform check of README's "Supported platforms", once per heap: a
   page map that missed the heap's arenas would take every block for a
   foreign pointer. */
static int platform_supported(void)
{
    if (rcy__pagemap_covers_os())
        return 1;
    fprintf(stderr,
            "recycle: rcy_heap_new: this system maps addresses above 2^%d, which "
            "recycle's page map does not cover (see README, Supported platforms)\n",
            RCY_PM_ADDRESS_BITS);
    return 0;
}

/* The options' values become the heap's settings; they are in range, and
   the limits in order (options.c), so none is refused. */
static void apply_options(rcy_heap *h)
{
    rcy_gc_set_threshold(h, (size_t)rcy__option(RCY_OPTION_GC_THRESHOLD0),
                         (size_t)rcy__option(RCY_OPTION_GC_THRESHOLD1),
                         (size_t)rcy__option(RCY_OPTION_GC_THRESHOLD2));
    rcy_gc_set_drop_pacing(h, (int)rcy__option(RCY_OPTION_GC_DROP_PACING));
    rcy_heap_set_purge_delay(h, (unsigned)rcy__option(RCY_OPTION_PURGE_DELAY_MS));
    (void)rcy_heap_set_limit(h, (size_t)rcy__option(RCY_OPTION_LIMIT_SOFT),
                             (size_t)rcy__option(RCY_OPTION_LIMIT_HARD));
}

rcy_heap *rcy_heap_new(void)
{
    if (!platform_supported()) {
        errno = ENOTSUP;
        return NULL;
    }
    rcy_heap *h = rcy__sys_calloc(1, sizeof *h);
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    rcy__mem_init(&h->gc.weak.objects.mem);
    rcy__objects_init(&h->gc.weak.objects);
    rcy__weaks_init(&h->gc.weak);
    rcy__gc_init(&h->gc);
    rcy__limit_init(&h->gc.weak.objects.mem);
    apply_options(h);
    rcy__heap_own_new(h);
    return h;
}

/* Highest layer first: the collector's and weak references' side tables,
   then the objects', then the memory under every object at once. No
   finalizer or destroy runs. */
void rcy_heap_destroy(rcy_heap *h)
{
    if (!h)
        return;
    if (h->of_thread)
        rcy__misuse("rcy_heap_destroy(%p): this is a thread's heap (rcy_thread_heap), "
                    "reclaimed when its thread exits",
                    (void *)h);
    rcy__heap_free(h);
}

void rcy__heap_free(rcy_heap *h)
{
    rcy__heap_forget(h);
    rcy__trace_fini(h);
    rcy__gc_fini(&h->gc);
    rcy__weaks_fini(&h->gc.weak);
    rcy__objects_fini(&h->gc.weak.objects);
    rcy__mem_fini(&h->gc.weak.objects.mem);
    rcy__sys_free(h);
}
