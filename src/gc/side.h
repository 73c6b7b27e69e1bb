/* SPDX-License-Identifier: MIT */
/* side: the full collection's side table, one byte per 16-byte granule of
 * the address range the heap's arenas span, all zero when made. A full
 * collection keeps each object's gc_refs there (refs.h): the table of a
 * large heap stays in cache where its objects' headers do not. Blocks of
 * collectable objects are at least RCY_TRACKED_MIN_BLOCK bytes, so each
 * has a byte of its own. One flat table: finding a byte is a subtraction,
 * not a page-map lookup. Arenas mapped after rcy__side_begin are not
 * covered; objects there keep gc_refs in their header. */
#ifndef RCY_SIDE_H
#define RCY_SIDE_H

#include <stdint.h>

#include "mem/pool.h"
#include "obj/object.h"

#define RCY_SIDE_SHIFT 4
/* No table when the arenas lie so far apart that it would be larger than
   this many times what they need. */
#define RCY_SIDE_MAX_SPREAD 8
_Static_assert(RCY_TRACKED_MIN_BLOCK >= ((size_t)1 << RCY_SIDE_SHIFT),
               "a collectable object has a byte of its own");

typedef struct rcy_side {
    uint8_t *bytes; /* byte i is the granule at lo + 16 * i */
    uintptr_t lo;
    size_t span; /* bytes of address space covered; 0: no table */
} rcy_side;

/* Makes the table for P's arenas; 0 if there are none, they are too far
   apart, or out of memory. */
int rcy__side_begin(rcy_side *S, const rcy_pools *P);
void rcy__side_end(rcy_side *S);

/* p's byte; NULL if p is outside the range covered. */
static inline uint8_t *rcy__side_byte(const rcy_side *S, const void *p)
{
    uintptr_t offset = (uintptr_t)p - S->lo;
    return offset < S->span ? &S->bytes[offset >> RCY_SIDE_SHIFT] : NULL;
}

#endif
