/* SPDX-License-Identifier: MIT */
/* track: the young vector's memory (track.h says what it holds). It grows
 * on an allocation's slow path, never during a collection, and its scratch
 * grows with it, so a collection neither allocates nor takes page faults. */
#include <string.h>

#include "obj/track.h"
#include "util/sys.h"

int rcy__young_grow(rcy_young *y)
{
    uint32_t cap = y->cap ? y->cap * 2 : 1024;
    if (cap > RCY_YOUNG_CAP)
        return 0;
    void **items = rcy__sys_realloc(y->items, cap * sizeof *items);
    if (!items)
        return 0;
    y->items = items; /* larger than cap says: harmless */
    const rcy_type **types = rcy__sys_realloc(y->types, cap * sizeof *types);
    if (!types)
        return 0;
    y->types = types;
    y->cap = cap;
    (void)rcy__young_fit_scratch(y); /* if it fails, a collection tries again */
    return 1;
}

/* The old contents need no copy: see rcy_young. */
int rcy__young_fit_scratch(rcy_young *y)
{
    if (y->scratch_cap >= y->cap)
        return 1;
    size_t bytes = (size_t)y->cap * (sizeof(int64_t) + sizeof(void *));
    int64_t *fresh = rcy__sys_malloc(bytes);
    if (!fresh)
        return 0;
    memset(fresh, 0, bytes);
    rcy__sys_free(y->scratch);
    y->scratch = fresh;
    y->scratch_cap = y->cap;
    return 1;
}

void rcy__young_fini(rcy_young *y)
{
    rcy__sys_free(y->items);
    rcy__sys_free(y->types);
    rcy__sys_free(y->scratch);
    memset(y, 0, sizeof *y);
}
