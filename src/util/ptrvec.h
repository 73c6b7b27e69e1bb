/* SPDX-License-Identifier: MIT */
/* ptrvec: a growable vector of pointers, from the system allocator: the
 * work lists of the object layer (dying objects) and of the collector
 * (garbage, the mark stack, gc.garbage). Growth that fails leaves the
 * vector as it was; each user says what it does then. */
#ifndef RCY_PTRVEC_H
#define RCY_PTRVEC_H

#include <stddef.h>

#include "util/sys.h"

typedef struct rcy_ptrvec {
    void **items;
    size_t len, cap;
} rcy_ptrvec;

/* Makes room for n items in all; 0 (nothing changed) when out of memory. */
static inline int rcy__ptrvec_reserve(rcy_ptrvec *v, size_t n)
{
    if (n <= v->cap)
        return 1;
    size_t cap = v->cap ? v->cap * 2 : 256;
    while (cap < n)
        cap *= 2;
    void **grown = rcy__sys_realloc(v->items, cap * sizeof *grown);
    if (!grown)
        return 0;
    v->items = grown;
    v->cap = cap;
    return 1;
}

/* Appends p; 0 (nothing changed) when out of memory. */
static inline int rcy__ptrvec_push(rcy_ptrvec *v, void *p)
{
    if (v->len == v->cap && !rcy__ptrvec_reserve(v, v->len + 1))
        return 0;
    v->items[v->len++] = p;
    return 1;
}

static inline void rcy__ptrvec_fini(rcy_ptrvec *v)
{
    rcy__sys_free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

#endif
