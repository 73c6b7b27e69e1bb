/* SPDX-License-Identifier: MIT */
/* pagemap: which arena, if any, holds an address. The process's one piece
 * of global state: written when an arena is mapped or unmapped, read on
 * every free. */
#ifndef RCY_PAGEMAP_H
#define RCY_PAGEMAP_H

#include <stdint.h>

#define RCY_ARENA_SHIFT 20 /* 1 MiB arenas */
#define RCY_ARENA_SIZE ((size_t)1 << RCY_ARENA_SHIFT)

struct rcy_arena;

/* 0 on success, -1 if the map could not grow (out of memory). */
int rcy__pagemap_set(const void *arena_base, struct rcy_arena *a);
void rcy__pagemap_clear(const void *arena_base);

#define RCY_PM_ADDRESS_BITS 48 /* user addresses the map covers */
#define RCY_PM_L2_BITS 14
#define RCY_PM_L1_BITS (RCY_PM_ADDRESS_BITS - RCY_ARENA_SHIFT - RCY_PM_L2_BITS)
_Static_assert(sizeof(void *) == 8, "recycle supports 64-bit platforms only");

/* 1 if the OS hands this process addresses the map covers: a fresh
   mapping lies below 2^RCY_PM_ADDRESS_BITS. (Linux with 5-level paging
   gives addresses above 2^47 only to mappings that ask for them.) */
int rcy__pagemap_covers_os(void);

extern struct rcy_arena **_Atomic rcy__pagemap_root[1u << RCY_PM_L1_BITS];

/* The arena holding p, or NULL. Two dependent loads. */
static inline struct rcy_arena *rcy__pagemap_lookup(const void *p)
{
    uintptr_t key = (uintptr_t)p >> RCY_ARENA_SHIFT;
    if (key >> (RCY_PM_L1_BITS + RCY_PM_L2_BITS))
        return 0; /* outside the 48-bit user address space */
    struct rcy_arena **leaf = rcy__pagemap_root[key >> RCY_PM_L2_BITS];
    /* an atomic load (a plain one on x86-64 and AArch64): entries change
       while other threads look (pagemap.c) */
    return leaf ? __atomic_load_n(&leaf[key & ((1u << RCY_PM_L2_BITS) - 1)], __ATOMIC_ACQUIRE) : 0;
}

#endif
