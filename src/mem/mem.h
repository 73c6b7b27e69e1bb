/* SPDX-License-Identifier: MIT */
/* mem: raw memory, the face the layers above use. A heap's memory is two
 * allocators, pools for small blocks (pool.h) and the system for large
 * ones (large.h); this header is all the object layer and the tools need
 * of them: allocating a block of a pool class, freeing, asking whether a
 * block is live, walking the blocks of a kind.
 *
 * Every block's owner (an arena's, a large block's) is its rcy_mem. A heap
 * begins with its rcy_mem (heap.h nests each layer's part first in the one
 * above, and heap.c asserts it), so the public entry points of this layer
 * take the rcy_heap handle and use it as their rcy_mem (rcy__mem_of),
 * without knowing anything else of the heap. */
#ifndef RCY_MEM_H
#define RCY_MEM_H

#include "mem/budget.h"
#include "mem/large.h"
#include "mem/pool.h"
#include "recycle.h"
#include "util/thread.h"

typedef struct rcy_mem {
    rcy_pools pools;
    rcy_larges large;
    /* A hook the object layer registers, for messages about a bad free:
       the type name of the object whose pointer is p, NULL if p is not
       one (rcy_free of an object names it and says to use rcy_decref). */
    const char *(*object_name)(const struct rcy_mem *M, const void *p);
    rcy_budget budget; /* its limits (budget.h); its collect hook is the tools layer's */
    /* The heap layer's, for a heap whose thread exited (RCY_REMOTE_ORPHAN):
       frees p, a block of M another thread freed, under the process's lock
       of such heaps, and reclaims M if it is then empty; 0 if M has an
       owner again (the caller pushes p onto its remote list instead). */
    int (*orphan_free)(struct rcy_mem *M, void *p);
    /* Allocation tracing (the tools layer's, tools/trace.c; docs/design.md,
       "Tracing costs nothing when off"). fast_max: the largest request
       rcy_malloc's fast path serves: RCY_SMALL_MAX, or 0 while a tracer is
       set, so that every allocation takes a slow path (and every arena's
       owner copy is marked, so that every free does: pool.h). trace: NULL
       when off; else called on those slow paths for every block handed out
       (block, n the bytes asked for, type the object's type or NULL, ra the
       return address into the caller of the public function), every block
       freed (old), or both at once for a resize (rcy__mem_trace).
       trace_all: every allocation is traced, and every free reaches the
       hook; else allocations are sampled: sample_left counts the bytes to
       the next sample down (the tracer draws it), a sampled small block
       comes from a pool class tagged RCY_TAG_TRACED (and a sampled object
       from the large path), whose frees the fast paths decline, so that
       only they and the large blocks' reach the hook. */
    size_t fast_max;
    void (*trace)(struct rcy_mem *M, void *old, void *block, size_t n, const void *type, void *ra);
    void *trace_state;
    int64_t sample_left;
    int trace_all;
#if RCY_CHECK_LEVEL >= 1
    _Atomic uintptr_t user; /* the thread inside the heap now (rcy__mem_enter), 0: none */
    unsigned user_depth;    /* its nested entries */
#endif
} rcy_mem;

/* The memory of heap h: the part every heap starts with. */
static inline rcy_mem *rcy__mem_of(rcy_heap *h)
{
    return (rcy_mem *)(void *)h;
}

void rcy__mem_init(rcy_mem *M);
void rcy__mem_fini(rcy_mem *M);

/* Sets the tracer's hook (NULL: none), with what makes every allocation
   reach a slow path (fast_max) and, all: every allocation traced, every
   free too (the arenas' owner mark); else sampling (sample_left). */
void rcy__mem_set_tracer(rcy_mem *M,
                         void (*trace)(rcy_mem *M, void *old, void *block, size_t n,
                                       const void *type, void *ra),
                         void *state, int all);
/* The tag of the pool classes of sampled small blocks of rcy_malloc. */
extern const char rcy__traced_tag;
#define RCY_TAG_TRACED ((const void *)&rcy__traced_tag)
/* With a tracer set: 1 if an allocation of n bytes is to be traced (all
   of them, or the sample the countdown falls in). */
static inline int rcy__mem_trace_wants(rcy_mem *M, size_t n)
{
    if (M->trace_all)
        return 1;
    M->sample_left -= (int64_t)n;
    return M->sample_left <= 0;
}
/* Tells the tracer, if one is set: for the slow paths. */
static inline void rcy__mem_trace(rcy_mem *M, void *old, void *block, size_t n, const void *type,
                                  void *ra)
{
    if (RCY_UNLIKELY(M->trace != NULL))
        M->trace(M, old, block, n, type, ra);
}

/* tag: as for a pool class (pool.h); NULL for rcy_malloc's blocks. */
void *rcy__mem_alloc_large(rcy_mem *M, size_t n, unsigned kind, const void *tag);
#if RCY_CHECK_LEVEL >= 1
void rcy__mem_mark_live(void *b); /* for the exact double-free check */
#endif

/* ---- threads (mem/remote.c; docs/design.md, "Threads") ----
   A heap's owner is a thread (rcy_pools.thread): its frees are local, on
   the fast paths, with no atomic operation. Every other thread's free of a
   block of the heap is remote: pushed onto the heap's remote list with a
   compare-and-swap, and freed for good by rcy__pools_collect_remote on
   the slow paths of whoever uses the heap (its owner, or the thread that
   holds the user's lock in the GIL model). Allocation and everything else
   needs one thread at a time; checked builds verify that with
   rcy__mem_enter and rcy__mem_leave around each operation. */

/* 1 if the calling thread owns M: its frees are local. */
static inline int rcy__mem_owned_here(const rcy_mem *M)
{
    return atomic_load_explicit(&M->pools.thread, memory_order_relaxed) == rcy__thread_self();
}
/* Frees p, a block of M, from a thread that does not own M: validated
   with what can be read without a race (the block's arena, pool class and
   alignment; checked builds: its live bit, cleared atomically), then
   pushed. api names the caller in messages. object: p is an object's
   block (rcy_decref), else rcy_malloc's. */
void rcy__mem_free_remote(rcy_mem *M, void *p, const char *api, int object);
/* The owner's side: frees every block on M's remote list (the hook
   rcy__pools_collect_remote calls). */
void rcy__mem_collect_remote(rcy_mem *M);
/* Frees a block that went through rcy__mem_free_remote (its checks done,
   its live bit cleared), with the caller using M alone. Release builds
   check again what the owner's fast path checks, and that its pool has a
   block in use (a double free pushed twice with others between). */
void rcy__mem_free_collected(rcy_mem *M, void *p);
/* Makes thread id M's owner (the caller uses M alone meanwhile). */
void rcy__mem_set_owner(rcy_mem *M, uintptr_t id);
/* The heap's thread exited (the caller uses M alone): remote frees from
   now on go to M->orphan_free; the blocks already pushed are freed. */
void rcy__mem_orphan(rcy_mem *M);
/* The opposite, for a thread that takes an orphaned heap over. */
void rcy__mem_unorphan(rcy_mem *M);
/* rcy_usable_size for a thread that does not own M: validated as
   rcy__mem_free_remote validates. */
size_t rcy__mem_usable_size_remote(const rcy_mem *M, const void *p, const char *api);
/* alloc.c's, for remote.c: 1 if p starts a block of a pool of arena a
   that serves blocks (read from what does not change while it is live). */
int rcy__mem_small_block_start(const rcy_arena *a, const void *p);
#if RCY_CHECK_LEVEL >= 1
/* Clears small block p's live bit atomically; 0 if it was clear. */
int rcy__mem_clear_live(void *p);
#endif
/* In a child process after fork, for a heap of a thread that did not
   survive it: its locks and, in checked builds, the mark of a thread
   inside it are cleared. */
void rcy__mem_after_fork(rcy_mem *M);
/* 1 if M has no block in use (pools and large blocks). */
int rcy__mem_idle(rcy_mem *M);

#if RCY_CHECK_LEVEL >= 1
/* Checked builds: the calling thread is inside M (nested entries count);
   another thread inside it at once is misuse, reported as such. */
void rcy__mem_enter(rcy_mem *M);
void rcy__mem_leave(rcy_mem *M);
#define RCY_MEM_ENTER(M) rcy__mem_enter(M)
#define RCY_MEM_LEAVE(M) rcy__mem_leave(M)
#else
#define RCY_MEM_ENTER(M) ((void)0)
#define RCY_MEM_LEAVE(M) ((void)0)
#endif

/* For the malloc shim (the process's malloc through per-thread heaps):
   frees p to whichever heap allocated it, from any thread (remote when the
   caller does not own that heap); 0, doing nothing, if p is not a live
   block of recycle's (NULL, a pointer from another allocator, an address
   in no arena and without a large block's mark). A pointer outside every
   arena is recognised by the 32 bytes before it (a large block's header),
   read only when the region map of large blocks (mem/remote.c) says a
   large block was ever allocated in its megabyte: a foreign or wild
   pointer elsewhere is never read. Misuse of a block that is recycle's
   (double free, interior pointer) is reported as by rcy_free. */
int rcy__free_any(void *p);
/* The usable bytes of p, a live block of any heap; 0 if p is not
   recycle's (as rcy__free_any tells). */
size_t rcy__usable_size_any(const void *p);
/* 1 if p, a pointer outside every arena, is a large block's start (its
   mark is there; live, or freed by its owner: header owner NULL), read
   only where the region map allows. */
int rcy__large_block_at(const void *p);
/* The large-block region map's side of allocation (large blocks are from
   the system allocator; see rcy__free_any). */
void rcy__mem_note_large(const void *p);

/* Checked builds record each small block handed out. */
static inline void *rcy__mem_handed_out(void *b)
{
#if RCY_CHECK_LEVEL >= 1
    if (b)
        rcy__mem_mark_live(b);
#endif
    return b;
}

/* A small block of pool class pc: the pool's fast path, for the object
   layer's creations (it finds pc for a type and size itself). */
static inline void *rcy__mem_alloc_in(rcy_mem *M, rcy_pool_class *pc)
{
#if RCY_CHECK_LEVEL >= 1
    rcy__mem_enter(M);
    void *b = rcy__mem_handed_out(rcy__pool_alloc_in(&M->pools, pc));
    rcy__mem_leave(M);
    return b;
#else
    return rcy__mem_handed_out(rcy__pool_alloc_in(&M->pools, pc));
#endif
}

/* The same without the slow path: NULL if pc's first pool has no free
   block. For a caller whose own fast path must make no calls. */
static inline void *rcy__mem_try_in(rcy_pool_class *pc)
{
    return rcy__mem_handed_out(rcy__pool_try_in(pc));
}

void rcy__mem_free(rcy_mem *M, void *p, const char *api);

/* The memory that owns block p (from rcy__mem_alloc_in or _large, still
   live), which the caller knows is in arena a, NULL for a large block. */
static inline rcy_mem *rcy__mem_owner(const rcy_arena *a, const void *p)
{
    return (rcy_mem *)(a ? a->owner : rcy__large_header(p)->owner);
}

/* Frees a block the caller knows is a live block of h (an object's), in
   arena a (NULL: a large block): validated only in checked builds. */
void rcy__mem_release(rcy_mem *M, rcy_arena *a, void *p);
/* The same, pool being a's pool of p (the caller found it: NULL for a
   large block). Release builds free into it here, on the owner's thread;
   anything else (a large block, another thread's death: a remote free,
   checked builds' checks) goes to rcy__mem_release. */
static inline void rcy__mem_release_in(rcy_mem *M, rcy_arena *a, rcy_pool *pool, void *p)
{
#if RCY_CHECK_LEVEL == 0
    if (RCY_LIKELY(pool != NULL) && RCY_LIKELY(rcy__thread_owns(&a->thread))) {
        rcy__pool_free(&M->pools, pool, p);
        return;
    }
#else
    (void)pool;
#endif
    rcy__mem_release(M, a, p);
}
/* What p is, for checks and messages: the start of a block handed out
   (live) or of one freed since (free, when that can still be told), or
   neither: a pointer from elsewhere, or into a block (foreign). *tag gets
   a live block's tag (pool.h). Release builds cannot tell a free small
   block from a live one in a used pool.
   M: the heap whose blocks count; any pointer then is safe, and nothing
   outside M's memory is read. NULL: any heap's; a pointer outside every
   arena then has the 32 bytes before it read (a large block's header),
   which must be readable memory (rcy__large_marked). */
typedef enum rcy_block_state { RCY_BLOCK_FOREIGN, RCY_BLOCK_FREE, RCY_BLOCK_LIVE } rcy_block_state;
rcy_block_state rcy__mem_block_state(const rcy_mem *M, const void *p, const void **tag);

/* Walking every block of one kind, pools first, then large blocks: spans
   of blocks, free ones included (the kind's owner tells them apart). Start
   with a zeroed cursor; 0 when done. Nothing may be allocated or freed
   during a walk. */
typedef struct rcy_mem_cursor {
    rcy_pool_cursor pools;
    size_t large_slot;
} rcy_mem_cursor;
int rcy__mem_next_span(rcy_mem *M, unsigned kind, rcy_mem_cursor *c, rcy_span *out);

#endif
