/* SPDX-License-Identifier: MIT */
/* count: the representation of reference counts that several threads hold (biased
 * reference counting, as free-threaded CPython's PEP 703 and Choi et al.'s
 * paper). The owner of an object's heap counts in the header's refcnt with
 * plain loads and stores; every other thread counts in the object's shared
 * word, a 32-bit atomic in its arena's table (one word per 8-byte granule,
 * mapped on first use). recycle.h describes refcnt's ranges; the shared
 * word is
 *     bits 31..3  a signed count (other threads' increments minus their
 *                 decrements: negative when they drop references the owner
 *                 gave them);
 *     bit 2       STICKY: another thread has counted this object, so a
 *                 collection of its heap alone treats it as referenced
 *                 from outside (only a collection of all heaps, with the
 *                 world stopped, may decide it is garbage);
 *     bit 1       MERGED: the owner's count reached 0 while others held
 *                 references; the whole count is here and every thread
 *                 counts with atomics (refcnt is 0);
 *     bit 0       QUEUED: another thread's decrement would have made the
 *                 count negative with the owner's count unknown to it; the
 *                 object waits in its heap's inbox (holding that one
 *                 reference) for the owner to merge the two counts.
 * Invariants: a dead or free object's word is 0 (death resets it); only the
 * owner writes refcnt (the world's collector too, while every owner is
 * stopped); an object dies on its heap's owner: a count that reaches zero
 * on another thread puts the object in the heap's inbox, which the owner
 * empties at its safepoints, allocation slow paths and collections. */
#ifndef RCY_COUNT_H
#define RCY_COUNT_H

#include "mem/mem.h"

#define RCY_SH_QUEUED 1u
#define RCY_SH_MERGED 2u
#define RCY_SH_STICKY 4u
#define RCY_SH_FLAGS 7u
#define RCY_SH_ONE 8u
/* what a collection of one heap takes as the count of an object another
   thread has counted: referenced from outside */
#define RCY_SH_EXTERNAL 0x40000000u
/* refcnt in the atomic mode: bit 30 is STICKY, bits 29..0 the count */
#define RCY_AT_STICKY 0x40000000u
#define RCY_AT_COUNT 0x3fffffffu

/* An object's shared word, NULL if its arena has no table yet (nobody but
   the owner ever counted an object there). Small objects only. */
static inline _Atomic uint32_t *rcy__shared_peek(const void *o)
{
    rcy_arena *a = rcy__arena_at(RCY_HEAD(o));
    _Atomic uint32_t *t = atomic_load_explicit(&a->shared, memory_order_acquire);
    return t ? &t[((uintptr_t)RCY_HEAD(o) & (RCY_ARENA_SIZE - 1)) >> 3] : NULL;
}

static inline int32_t rcy__shared_count(uint32_t s)
{
    return (int32_t)(s & ~RCY_SH_FLAGS) / (int32_t)RCY_SH_ONE;
}

/* The count a collection of o's heap alone reads (the owner's thread):
   the owner's and the others' counts merged, or RCY_SH_EXTERNAL for an
   object another thread counted (or that waits to be merged). One load
   of the arena's table pointer for an object no other thread touched. */
static inline uint32_t rcy__gc_count(const void *o)
{
    uint32_t rc = atomic_load_explicit((_Atomic uint32_t *)&RCY_HEAD(o)->refcnt,
                                       memory_order_relaxed); /* large objects: atomic mode */
    if (rc >= RCY_IMPL_ATOMIC)
        return rc == RCY_IMMORTAL || (rc & RCY_AT_STICKY) ? RCY_SH_EXTERNAL : rc & RCY_AT_COUNT;
    _Atomic uint32_t *w = rcy__shared_peek(o);
    uint32_t s = w ? atomic_load_explicit(w, memory_order_relaxed) : 0;
    if (RCY_LIKELY(s == 0))
        return rc;
    return (s & (RCY_SH_STICKY | RCY_SH_QUEUED)) ? RCY_SH_EXTERNAL
                                                 : rc + (uint32_t)rcy__shared_count(s);
}

static inline _Atomic uint32_t *rcy__refcnt_of(const void *o)
{
    return (_Atomic uint32_t *)&RCY_HEAD(o)->refcnt;
}

static inline uint32_t rcy__load_rc(const void *o)
{
    return atomic_load_explicit(rcy__refcnt_of(o), memory_order_relaxed);
}

static inline void rcy__store_rc(void *o, uint32_t rc)
{
    atomic_store_explicit(rcy__refcnt_of(o), rc, memory_order_relaxed);
}

/* The exact count (with every other thread stopped, or for messages:
   other threads may change it meanwhile). */
static inline size_t rcy__object_count(const void *o)
{
    uint32_t rc = rcy__load_rc(o);
    if (rc == RCY_IMMORTAL)
        return RCY_IMMORTAL;
    if (rc >= RCY_IMPL_ATOMIC)
        return rc & RCY_AT_COUNT;
    _Atomic uint32_t *w = rcy__shared_peek(o);
    int64_t n =
        (int64_t)rc + (w ? rcy__shared_count(atomic_load_explicit(w, memory_order_relaxed)) : 0);
    return n > 0 ? (size_t)n : 0;
}

/* The owner's count of small object o was set to 0 (and the heap's weak
   lock is held if o is weakly referenced): 1 if no other thread holds o
   (it dies, its word reset), 0 if its count is now merged into the shared
   word, where the other threads' references are. */
static inline int rcy__local_zero_dies(void *o)
{
    _Atomic uint32_t *w = rcy__shared_peek(o);
    if (!w)
        return 1; /* no thread but the owner ever counted in this arena */
    uint32_t s = atomic_load_explicit(w, memory_order_acquire);
    for (;;) {
        uint32_t next = (s & ~RCY_SH_STICKY) == 0 ? 0 : s | RCY_SH_MERGED;
        if (atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return next == 0;
    }
}

/* A spin lock held for a few instructions (the inbox, the weak lock). */
static inline void rcy__spin_lock(_Atomic int *l)
{
    while (atomic_exchange_explicit(l, 1, memory_order_acquire))
        while (atomic_load_explicit(l, memory_order_relaxed))
            ;
}
static inline void rcy__spin_unlock(_Atomic int *l)
{
    atomic_store_explicit(l, 0, memory_order_release);
}

#endif
