/* SPDX-License-Identifier: MIT */
/* limit: the memory budget's public face and its reaction, the part of
 * the budget above the collector (limit.c). The memory layer (mem/budget.h)
 * checks the limits on its slow paths; what it cannot do itself, a full
 * collection, it asks of the hook registered here. */
#ifndef RCY_LIMIT_H
#define RCY_LIMIT_H

#include "mem/mem.h"

/* After the collector's init: registers the budget's collect hook. */
void rcy__limit_init(rcy_mem *M);

#endif
