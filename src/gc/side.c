/* SPDX-License-Identifier: MIT */
/* side: making and dropping the side table (side.h). The table is one
 * zeroed allocation from the system allocator; for a large heap that maps
 * fresh pages and rcy__side_end unmaps them, so the memory goes back at
 * once. */
#include "gc/side.h"

#include <stdlib.h>

int rcy__side_begin(rcy_side *S, const rcy_pools *P)
{
    uintptr_t lo, hi;
    if (!rcy__pools_range(P, &lo, &hi))
        return 0;
    size_t span = hi - lo;
    if (span / RCY_ARENA_SIZE > RCY_SIDE_MAX_SPREAD * P->arenas_current)
        return 0;
    S->bytes = calloc(span >> RCY_SIDE_SHIFT, 1);
    if (!S->bytes)
        return 0;
    S->lo = lo;
    S->span = span;
    return 1;
}

void rcy__side_end(rcy_side *S)
{
    free(S->bytes);
    *S = (rcy_side){0};
}
