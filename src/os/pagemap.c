/* SPDX-License-Identifier: MIT */
/* pagemap: a two-level radix map from 1 MiB arena number to arena.
 *
 * 48-bit addresses give 2^28 arena numbers: a static root of 2^14 leaf
 * pointers (128 KiB of zero pages, touched only where used) and leaves of
 * 2^14 entries (128 KiB each, one per 16 GiB of address space) mapped on
 * demand. Like CPython's radix tree (3.10+), it answers "is this pointer
 * ours?" without touching the pointer's memory, so a foreign pointer is
 * recognised safely. Leaves are never freed: a process maps few of them.
 * Several heaps on several threads may add leaves at once: the root slot
 * is claimed with a compare-and-swap. Entries themselves are written only
 * by the heap that owns the arena, with atomic stores: another thread may
 * look an entry up meanwhile (a free of any pointer), and an address
 * unmapped by one heap may be mapped again by another. */
#include "os/pagemap.h"

#include "os/os.h"

#include <stdatomic.h>

struct rcy_arena **_Atomic rcy__pagemap_root[1u << RCY_PM_L1_BITS];

#define LEAF_BYTES (sizeof(struct rcy_arena *) << RCY_PM_L2_BITS)

static struct rcy_arena **leaf_for(uintptr_t key, int create)
{
    struct rcy_arena **_Atomic *slot = &rcy__pagemap_root[key >> RCY_PM_L2_BITS];
    struct rcy_arena **leaf = atomic_load_explicit(slot, memory_order_acquire);
    if (leaf || !create)
        return leaf;
    struct rcy_arena **fresh = rcy__os_map_aligned(LEAF_BYTES, rcy__os_page_size());
    if (!fresh)
        return NULL;
    struct rcy_arena **expected = NULL;
    if (atomic_compare_exchange_strong(slot, &expected, fresh))
        return fresh;
    rcy__os_unmap(fresh, LEAF_BYTES); /* another thread won */
    return expected;
}

int rcy__pagemap_set(const void *arena_base, struct rcy_arena *a)
{
    uintptr_t key = (uintptr_t)arena_base >> RCY_ARENA_SHIFT;
    if (key >> (RCY_PM_L1_BITS + RCY_PM_L2_BITS))
        return -1;
    struct rcy_arena **leaf = leaf_for(key, 1);
    if (!leaf)
        return -1;
    __atomic_store_n(&leaf[key & ((1u << RCY_PM_L2_BITS) - 1)], a, __ATOMIC_RELEASE);
    return 0;
}

int rcy__pagemap_covers_os(void)
{
    size_t page = rcy__os_page_size();
    void *probe = rcy__os_map_aligned(page, page);
    if (!probe)
        return 1; /* out of memory: the heap's own allocation will say so */
    int covered = ((uintptr_t)probe >> RCY_PM_ADDRESS_BITS) == 0;
    rcy__os_unmap(probe, page);
    return covered;
}

void rcy__pagemap_clear(const void *arena_base)
{
    uintptr_t key = (uintptr_t)arena_base >> RCY_ARENA_SHIFT;
    struct rcy_arena **leaf = leaf_for(key, 0);
    if (leaf)
        __atomic_store_n(&leaf[key & ((1u << RCY_PM_L2_BITS) - 1)], NULL, __ATOMIC_RELEASE);
}
