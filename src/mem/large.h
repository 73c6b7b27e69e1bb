/* SPDX-License-Identifier: MIT */
/* large: blocks over RCY_SMALL_MAX bytes, from the system allocator.
 * Each carries a 32-byte header in front (size, owning heap, tag), and the heap
 * keeps the set of its live large blocks, so it can free them all when it
 * is destroyed and can recognise a foreign pointer or a second free
 * without reading the memory around it. */
#ifndef RCY_LARGE_H
#define RCY_LARGE_H

#include <stddef.h>

#include "util/ptrmap.h"

typedef struct rcy_large {
    size_t size;
    void *owner;     /* the heap; NULL once freed */
    const void *tag; /* as a pool class's (pool.h): an object's type */
    uintptr_t check; /* RCY_LARGE_CHECK(block), so that a pointer can be told to be
                        one of ours (rcy__large_marked); 32 bytes keep blocks
                        16-byte aligned */
} rcy_large;

#define RCY_LARGE_CHECK(p) ((uintptr_t)(p) ^ (uintptr_t)0x5EC7C1E0B10C4A1Dull)

typedef struct rcy_larges {
    rcy_ptrmap blocks; /* live block -> its header, with its kind in bit 0 */
    void *owner;
    size_t count, bytes;
} rcy_larges;

void rcy__larges_init(rcy_larges *L, void *owner);
void rcy__larges_fini(rcy_larges *L);
/* kind: RCY_KIND_PLAIN or RCY_KIND_OBJECTS (pool.h); blocks of each kind
   can be walked. tag: kept in the header for the layer above. */
void *rcy__large_alloc(rcy_larges *L, size_t n, unsigned kind, const void *tag);
/* Resizes in place or moves; NULL (old block intact) on failure. */
void *rcy__large_realloc(rcy_larges *L, void *p, size_t n);
void rcy__large_free(rcy_larges *L, void *p);
/* The live blocks of one kind, one per call from slot *cursor on (start
   at 0); NULL when there are no more. The set must not change meanwhile. */
void *rcy__larges_next(const rcy_larges *L, unsigned kind, size_t *cursor);
/* 1 if p is a live large block of L. */
int rcy__large_owned(const rcy_larges *L, const void *p);

/* Bytes the live blocks take from the system allocator, headers included
   (what the memory budget counts, mem/budget.h). */
static inline size_t rcy__larges_held(const rcy_larges *L)
{
    return L->bytes + L->count * sizeof(rcy_large);
}

static inline rcy_large *rcy__large_header(const void *p)
{
    return (rcy_large *)p - 1;
}

/* 1 if p looks like a large block of this layer, live or freed: its
   header's check word matches. For messages about pointers that may be
   foreign: it reads the 32 bytes before p, which must be readable (they
   are for a pointer from malloc), so the sanitizer is told not to object. */
int rcy__large_marked(const void *p);

#endif
