/* SPDX-License-Identifier: MIT */
/* sys: the system allocator as the library calls it. Every malloc, calloc
 * and realloc of the layers (large blocks, pool classes, the pointer map
 * and vector, the young vector, the heap itself) goes through these, so
 * that fault injection (fault.h) covers them all with one counter. In
 * other builds they are the C library's functions, inlined away. Memory
 * from them is released with rcy__sys_free. In librecycle-malloc.so
 * (RCY_SYS_LIBC), which defines malloc itself, they are the C library's
 * own allocator under its __libc_* names, so the heaps never call the
 * malloc they implement. */
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

#if defined(RCY_SYS_LIBC) && RCY_SYS_LIBC
void *rcy__libc_malloc(size_t n) __asm__("__libc_malloc");
void *rcy__libc_calloc(size_t count, size_t n) __asm__("__libc_calloc");
void *rcy__libc_realloc(void *p, size_t n) __asm__("__libc_realloc");
void rcy__libc_free(void *p) __asm__("__libc_free");
#define RCY_SYS_MALLOC rcy__libc_malloc
#define RCY_SYS_CALLOC rcy__libc_calloc
#define RCY_SYS_REALLOC rcy__libc_realloc
#define RCY_SYS_FREE rcy__libc_free
#else
#define RCY_SYS_MALLOC malloc
#define RCY_SYS_CALLOC calloc
#define RCY_SYS_REALLOC realloc
#define RCY_SYS_FREE free
#endif

static inline void *rcy__sys_malloc(size_t n)
{
    return RCY_SYS_FAULT() ? NULL : RCY_SYS_MALLOC(n);
}

static inline void *rcy__sys_calloc(size_t count, size_t n)
{
    return RCY_SYS_FAULT() ? NULL : RCY_SYS_CALLOC(count, n);
}

/* NULL (p untouched) on failure, as realloc. */
static inline void *rcy__sys_realloc(void *p, size_t n)
{
    return RCY_SYS_FAULT() ? NULL : RCY_SYS_REALLOC(p, n);
}

static inline void rcy__sys_free(void *p)
{
    RCY_SYS_FREE(p);
}

#endif
