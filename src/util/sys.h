/* SPDX-License-Identifier: MIT */
/* sys: the system allocator as the library calls it. Every malloc, calloc
 * and realloc of the layers (large blocks, pool classes, the pointer map
 * and vector, the young vector, the heap itself) goes through these, so
 * that fault injection (fault.h) covers them all with one counter. In
 * other builds they are the C library's functions, inlined away. Memory
 * from them is released with rcy__sys_free. */
#ifndef RCY_SYS_H
#define RCY_SYS_H

#include <stddef.h>
#include <stdlib.h>

#include "util/fault.h"

#if defined(RCY_FAULT_INJECTION) && RCY_FAULT_INJECTION
#define RCY_SYS_FAULT() rcy__fault_due()
#else
#define RCY_SYS_FAULT() 0
#endif

static inline void *rcy__sys_malloc(size_t n)
{
    return RCY_SYS_FAULT() ? NULL : malloc(n);
}

static inline void *rcy__sys_calloc(size_t count, size_t n)
{
    return RCY_SYS_FAULT() ? NULL : calloc(count, n);
}

/* NULL (p untouched) on failure, as realloc. */
static inline void *rcy__sys_realloc(void *p, size_t n)
{
    return RCY_SYS_FAULT() ? NULL : realloc(p, n);
}

static inline void rcy__sys_free(void *p)
{
    free(p);
}

#endif
