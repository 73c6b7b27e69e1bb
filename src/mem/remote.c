/* SPDX-License-Identifier: MIT */
/* remote: frees from threads that do not own the heap (docs/design.md,
 * "Threads").
 *
 * The owner frees on the fast paths with plain loads and stores. Any other
 * thread pushes the block onto the heap's remote list (rcy_pools.remote)
 * with one compare-and-swap, as mimalloc's thread-free lists do (per page
 * there, per heap here: one word to drain, and a pool header never written
 * by two threads). The owner, or whoever uses the heap under the user's
 * lock, takes the whole list with one exchange on its slow paths
 * (rcy__pools_collect_remote: allocation refill, large allocation, purge,
 * the budget's reaction, statistics) and frees each block as its own.
 *
 * A remote free checks only what cannot change while the block is live,
 * and in release builds only what rcy_free's fast path checks: its arena's
 * heap, its alignment, the pool's tag (an object is not rcy_malloc's);
 * checked builds add that it starts a block. A large block's header mark
 * is checked too, and turned into a "pending" mark with a compare-and-swap,
 * so that a second free of it is caught at once in every build; a small
 * block that heads the remote list already is caught by the push. Checked
 * builds also clear the small block's live bit atomically: a double free
 * is reported by the thread that does it. The rest (a block in no pool in
 * use, a block on its free list) is checked when the owner collects it.
 *
 * A heap whose thread exited is an orphan: bit 0 of its remote word is set
 * (rcy__mem_orphan) and no block is pushed any more; a remote free calls
 * the heap layer's orphan_free instead, which frees the block under a
 * process-wide lock and reclaims the heap when its last block goes.
 *
 * The region map: large blocks come from the system allocator, at any
 * address, so a pointer outside every arena is told to be one by the mark
 * in the 32 bytes before it. rcy__free_any must not read there for a wild
 * pointer, so each megabyte of address space that ever held a large
 * block's header or start is noted (one byte per megabyte, in leaves
 * mapped on demand, as the page map's), and only there is the mark read. */
#include <stdatomic.h>
#include <stdint.h>

#include "mem/mem.h"
#include "os/os.h"
#include "os/pagemap.h"

/* A large block freed by another thread and not yet collected: its mark
   differs from RCY_LARGE_CHECK, so rcy__large_marked says no. */
#define PENDING_MARK(p) (RCY_LARGE_CHECK(p) ^ (uintptr_t)2)

/* ---- the region map of large blocks ---- */

#define REGION_LEAF_BYTES ((size_t)1 << RCY_PM_L2_BITS)
static _Atomic(uint8_t *) large_regions[1u << RCY_PM_L1_BITS];

static uint8_t *region_leaf(uintptr_t key, int create)
{
    _Atomic(uint8_t *) *slot = &large_regions[key >> RCY_PM_L2_BITS];
    uint8_t *leaf = atomic_load_explicit(slot, memory_order_acquire);
    if (leaf || !create)
        return leaf;
    uint8_t *fresh = rcy__os_map_aligned(REGION_LEAF_BYTES, rcy__os_page_size());
    if (!fresh)
        return NULL;
    uint8_t *expected = NULL;
    if (atomic_compare_exchange_strong(slot, &expected, fresh))
        return fresh;
    rcy__os_unmap(fresh, REGION_LEAF_BYTES); /* another thread won */
    return expected;
}

static void note_region(uintptr_t addr)
{
    uintptr_t key = addr >> RCY_ARENA_SHIFT;
    if (key >> (RCY_PM_L1_BITS + RCY_PM_L2_BITS))
        return;
    uint8_t *leaf = region_leaf(key, 1);
    uint8_t *entry = leaf ? &leaf[key & (REGION_LEAF_BYTES - 1)] : NULL;
    if (entry && !__atomic_load_n(entry, __ATOMIC_RELAXED))
        __atomic_store_n(entry, 1, __ATOMIC_RELAXED);
}

/* If the map cannot grow, a large block outside it is still freed by its
   heap (rcy_free asks the heap's set); only rcy__free_any would not know
   it, and say "not recycle's". */
void rcy__mem_note_large(const void *p)
{
    note_region((uintptr_t)rcy__large_header(p));
    note_region((uintptr_t)p);
}

static int region_noted(uintptr_t addr)
{
    uintptr_t key = addr >> RCY_ARENA_SHIFT;
    if (key >> (RCY_PM_L1_BITS + RCY_PM_L2_BITS))
        return 0;
    uint8_t *leaf = region_leaf(key, 0);
    return leaf && __atomic_load_n(&leaf[key & (REGION_LEAF_BYTES - 1)], __ATOMIC_RELAXED);
}

/* 1 if p may be read as a large block: 16-byte aligned, its header and
   itself in noted megabytes, and its mark there. */
int rcy__large_block_at(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    return (a & 15) == 0 && a >= sizeof(rcy_large) && region_noted(a - sizeof(rcy_large)) &&
           region_noted(a) && rcy__large_marked(p);
}

/* ---- remote frees ---- */

static _Noreturn RCY_NOINLINE void remote_misuse(const void *p, const char *api, const char *why)
{
    rcy__misuse("%s(%p): %s (freed by a thread that does not own its heap)", api, p, why);
}

/* Pushes p onto M's remote list; an orphan's block goes to orphan_free. */
static void push(rcy_mem *M, void *p)
{
    _Atomic uintptr_t *remote = &M->pools.remote;
    uintptr_t head = atomic_load_explicit(remote, memory_order_relaxed);
    for (;;) {
        if (head & RCY_REMOTE_ORPHAN) {
            if (M->orphan_free && M->orphan_free(M, p))
                return;
            head = atomic_load_explicit(remote, memory_order_relaxed); /* adopted meanwhile */
            continue;
        }
        if (RCY_UNLIKELY(head == (uintptr_t)p))
            remote_misuse(p, "rcy_free", "double free");
        *(uintptr_t *)p = head;
        if (atomic_compare_exchange_weak_explicit(remote, &head, (uintptr_t)p, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
}

/* Release builds check what rcy_free's fast path checks (the heap, the
   alignment, the pool's tag: objects are not rcy_malloc's), and the owner
   validates the rest when it collects the block (rcy__mem_free_collected:
   a block boundary below the pool's untouched part in a pool in use, not
   the block freed last); checked builds check the boundary here. An
   object's block (object: 1) comes from the object layer, a block start. */
static void check_small_remote(const rcy_mem *M, rcy_arena *a, void *p, const char *api, int object)
{
    if (a->owner != M)
        remote_misuse(p, api, "the block belongs to another heap");
    const void *tag = rcy__pool_tag(rcy__pool_of(a, p));
    if (!object && tag && tag != RCY_TAG_TRACED) /* a sampled block's pool is tagged (mem.h) */
        remote_misuse(p, api,
                      "this is a recycle object, not a block from rcy_malloc: release it with "
                      "rcy_decref");
    if (!object && ((uintptr_t)p & 15) != 0)
        remote_misuse(p, api, "not the start of an allocated block");
#if RCY_CHECK_LEVEL >= 1
    if (!rcy__mem_small_block_start(a, p))
        remote_misuse(p, api, "not the start of an allocated block");
#endif
}

void rcy__mem_free_remote(rcy_mem *M, void *p, const char *api, int object)
{
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (a) {
        check_small_remote(M, a, p, api, object);
#if RCY_CHECK_LEVEL >= 1
        if (!rcy__mem_clear_live(p))
            remote_misuse(p, api, "double free, or not an allocated block");
#endif
    } else {
        if (!rcy__large_block_at(p) || rcy__large_header(p)->owner != M)
            remote_misuse(p, api, "pointer not allocated by this heap, or already freed");
        uintptr_t mark = RCY_LARGE_CHECK(p);
        if (!__atomic_compare_exchange_n(&rcy__large_header(p)->check, &mark, PENDING_MARK(p), 0,
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            remote_misuse(p, api, "double free");
    }
    push(M, p);
}

size_t rcy__mem_usable_size_remote(const rcy_mem *M, const void *p, const char *api)
{
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (a) {
        check_small_remote(M, a, (void *)p, api, 0);
        if (!rcy__mem_small_block_start(a, p))
            remote_misuse(p, api, "not the start of an allocated block");
        return RCY_CLASS_SIZE(rcy__pool_of(a, p)->cls);
    }
    if (!rcy__large_block_at(p) || rcy__large_header(p)->owner != M)
        remote_misuse(p, api, "pointer not allocated by this heap, or already freed");
    return rcy__large_header(p)->size;
}

/* Frees every block of a list taken off M's remote list (linked through
   their first words), with the caller using M alone. */
static void free_pushed(rcy_mem *M, uintptr_t head)
{
    RCY_MEM_ENTER(M);
    while (head) {
        void *b = (void *)head;
        head = *(uintptr_t *)b;
        rcy__mem_free_collected(M, b);
    }
    RCY_MEM_LEAVE(M);
}

void rcy__mem_collect_remote(rcy_mem *M)
{
    _Atomic uintptr_t *remote = &M->pools.remote;
    uintptr_t head = atomic_load_explicit(remote, memory_order_relaxed);
    if (head <= RCY_REMOTE_ORPHAN)
        return; /* nothing pushed; an orphan never has anything */
    head = atomic_exchange_explicit(remote, 0, memory_order_acquire);
    free_pushed(M, head);
}

/* ---- owners ---- */

void rcy__mem_set_owner(rcy_mem *M, uintptr_t id)
{
    rcy__pools_set_thread(&M->pools, id);
}

void rcy__mem_orphan(rcy_mem *M)
{
    rcy__pools_set_thread(&M->pools, RCY_THREAD_NONE);
    uintptr_t head =
        atomic_exchange_explicit(&M->pools.remote, RCY_REMOTE_ORPHAN, memory_order_acq_rel);
    free_pushed(M, head);
}

void rcy__mem_unorphan(rcy_mem *M)
{
    atomic_store_explicit(&M->pools.remote, 0, memory_order_release);
}

void rcy__mem_after_fork(rcy_mem *M)
{
    rcy__pools_after_fork(&M->pools);
#if RCY_CHECK_LEVEL >= 1
    atomic_store_explicit(&M->user, 0, memory_order_relaxed);
    M->user_depth = 0;
#endif
}

int rcy__mem_idle(rcy_mem *M)
{
    return M->large.count == 0 && rcy__pools_idle(&M->pools);
}

/* ---- checked builds: one thread at a time ---- */

#if RCY_CHECK_LEVEL >= 1
void rcy__mem_enter(rcy_mem *M)
{
    uintptr_t self = rcy__thread_self();
    uintptr_t inside = atomic_load_explicit(&M->user, memory_order_relaxed);
    if (inside == self) {
        M->user_depth++;
        return;
    }
    inside = 0;
    if (!atomic_compare_exchange_strong_explicit(&M->user, &inside, self, memory_order_acquire,
                                                 memory_order_relaxed))
        rcy__misuse("heap %p used from two threads at once, without a lock: a heap's allocations "
                    "and its owner's frees need one thread at a time (other threads may free its "
                    "blocks; see docs/api.md, \"Threads\")",
                    (void *)M);
    M->user_depth = 1;
}

void rcy__mem_leave(rcy_mem *M)
{
    if (--M->user_depth == 0)
        atomic_store_explicit(&M->user, 0, memory_order_release);
}
#endif

/* ---- for the malloc shim ---- */

size_t rcy__usable_size_any(const void *p)
{
    rcy_arena *a = rcy__pagemap_lookup(p);
    if (a)
        return rcy__mem_small_block_start(a, p) ? RCY_CLASS_SIZE(rcy__pool_of(a, p)->cls) : 0;
    if (!p || !rcy__large_block_at(p) || !rcy__large_header(p)->owner)
        return 0;
    return rcy__large_header(p)->size;
}
