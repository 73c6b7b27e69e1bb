/* SPDX-License-Identifier: MIT */
/* shared: the slow paths of reference counting between threads (biased
 * counting; obj/count.h has the representation and its invariants; the
 * owner's side, deaths and the inbox's drain, is in obj/object.c).
 *
 * The owner's decrement to zero asks the shared word: 0 (no other thread
 * holds a reference) and the object dies here; otherwise the word becomes
 * MERGED and holds the whole count from then on. Another thread's
 * decrement that would take a count of 0 below zero, while the owner's
 * count is unknown to it, marks the word QUEUED and puts the object in its
 * heap's inbox, keeping that reference, so that the owner merges the two
 * counts (minus the queue's one) later. A merged count that reaches zero
 * kills the object on the owner, or queues it in the inbox as dead.
 *
 * Weak references: a weakly referenced object (WEAKREFD) changes from
 * "the owner's count is above 0" to "dead" only under its heap's weak
 * lock, and rcy__object_try_incref runs under it, so a weak reference read
 * on another thread gets a strong reference or NULL, never a dead object. */
#include "obj/shared.h"

#include "os/pagemap.h"
#include "util/misuse.h"

/* ---- who owns an object, and its heap ---- */

static inline int owns_arena(rcy_arena *a)
{
    return rcy__arena_owned(a);
}

/* For objects in the atomic mode, which may be large (the header's LARGE
   bit is the owner's to read, so the page map tells). */
static rcy_mem *mem_of_any(const void *o, rcy_arena **arena)
{
    rcy_arena *a = rcy__pagemap_lookup(RCY_HEAD(o));
    *arena = a;
    return rcy__mem_owner(a, rcy__object_block(o));
}

static rcy_objects *home_small(const void *o)
{
    return rcy__objects_of_mem(rcy__arena_at(RCY_HEAD(o))->owner);
}

static int owns_any(const void *o)
{
    rcy_arena *a;
    rcy_mem *M = mem_of_any(o, &a);
    return a ? owns_arena(a) : rcy__thread_owns(&M->pools.thread);
}

static RCY_NOINLINE void no_table(const void *o)
{
    rcy__misuse("rcy_incref/rcy_decref(%p) from another thread: out of memory for the table of "
                "shared counts",
                o);
}

/* The shared word of a small object, its arena's table made if needed. */
static _Atomic uint32_t *shared_word(const void *o, rcy_arena *a)
{
    _Atomic uint32_t *t = rcy__arena_shared(a);
    if (!t)
        no_table(o);
    return &t[((uintptr_t)RCY_HEAD(o) & (RCY_ARENA_SIZE - 1)) >> 3];
}

static RCY_NOINLINE void dead_object(const void *o, const char *api)
{
    rcy__misuse("%s(%p): object has reference count 0 (already dead, or released more often "
                "than acquired)",
                api, o);
}

static void note_shared(rcy_objects *O)
{
    if (!atomic_load_explicit(&O->shared_seen, memory_order_relaxed))
        atomic_store_explicit(&O->shared_seen, 1, memory_order_relaxed);
}

/* ---- the inbox: what other threads leave for the owner ---- */

static void inbox_push(rcy_objects *O, void *o, uintptr_t merge)
{
    rcy__spin_lock(&O->inbox_lock);
    int ok = rcy__ptrvec_push(&O->inbox, (void *)((uintptr_t)o | merge));
    if (ok)
        atomic_store_explicit(&O->inbox_len, O->inbox.len, memory_order_release);
    rcy__spin_unlock(&O->inbox_lock);
    if (!ok)
        rcy__misuse("rcy_decref(%p) from another thread: out of memory for the heap's inbox", o);
}

/* ---- the atomic mode (large objects): every thread counts in refcnt ---- */

static void atomic_incref(void *o, uint32_t rc)
{
    uint32_t sticky = owns_any(o) ? 0 : RCY_AT_STICKY;
    uint32_t next;
    do {
        if (rc == RCY_IMMORTAL)
            return;
        next = ((rc & RCY_AT_COUNT) == RCY_AT_COUNT ? RCY_IMMORTAL : rc + 1u) | sticky;
    } while (!atomic_compare_exchange_weak_explicit(rcy__refcnt_of(o), &rc, next,
                                                    memory_order_relaxed, memory_order_relaxed));
}

static void dispatch_death(void *o, rcy_objects *O, int own);

static void atomic_decref(void *o, uint32_t rc)
{
    int own = owns_any(o);
    uint32_t next;
    do {
        if (rc == RCY_IMMORTAL)
            return;
        if ((rc & RCY_AT_COUNT) == 0)
            dead_object(o, "rcy_decref");
        next = (rc - 1u) | (own ? 0 : RCY_AT_STICKY);
    } while (!atomic_compare_exchange_weak_explicit(rcy__refcnt_of(o), &rc, next,
                                                    memory_order_acq_rel, memory_order_relaxed));
    if ((next & RCY_AT_COUNT) == 0) {
        rcy_arena *a;
        dispatch_death(o, rcy__objects_of_mem(mem_of_any(o, &a)), own);
    }
}

/* A merged (or atomic) count reached zero: o dies on its owner. */
static void dispatch_death(void *o, rcy_objects *O, int own)
{
    if (own) {
        if (rcy__load_rc(o) < RCY_IMPL_ATOMIC)
            atomic_store_explicit(rcy__shared_peek(o), 0, memory_order_relaxed);
        else
            rcy__store_rc(o, RCY_IMPL_ATOMIC);
        rcy__object_dies(o);
        return;
    }
    /* the word keeps STICKY (MERGED cleared): a collection of the heap
       alone takes the queued object as referenced, weak references fail */
    if (rcy__load_rc(o) < RCY_IMPL_ATOMIC)
        atomic_store_explicit(rcy__shared_peek(o), RCY_SH_STICKY, memory_order_relaxed);
    note_shared(O);
    inbox_push(O, o, 0);
}

/* ---- the shared word ---- */

static void shared_incref(void *o, rcy_arena *a, int own)
{
    _Atomic uint32_t *w = shared_word(o, a);
    /* one locked add; STICKY, once per object, by a second one (a
       collection that reads the word in between sees this reference in
       the count: referenced from outside all the same) */
    uint32_t old = atomic_fetch_add_explicit(w, RCY_SH_ONE, memory_order_relaxed);
    if (!own && !(old & RCY_SH_STICKY)) {
        atomic_fetch_or_explicit(w, RCY_SH_STICKY, memory_order_relaxed);
        note_shared(home_small(o));
    }
}

/* A decrement counted in the shared word (another thread's, or the
   owner's of a merged object); rc: refcnt as read. */
static void shared_decref(void *o, rcy_arena *a, int own, uint32_t rc)
{
    _Atomic uint32_t *w = own ? rcy__shared_peek(o) : shared_word(o, a);
    if (!w)
        dead_object(o, "rcy_decref");
    uint32_t s = atomic_load_explicit(w, memory_order_relaxed), next;
    int queue;
    do {
        queue = (s & ~RCY_SH_STICKY) == 0;
        if (queue && (own || rc == 0))
            dead_object(o, "rcy_decref");
        next = (queue ? RCY_SH_QUEUED : s - RCY_SH_ONE) | (s & RCY_SH_STICKY) |
               (own ? 0 : RCY_SH_STICKY);
    } while (!atomic_compare_exchange_weak_explicit(w, &s, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    rcy_objects *O = home_small(o);
    if (queue) {
        note_shared(O);
        inbox_push(O, o, 1);
    } else if ((next & ~RCY_SH_STICKY) == RCY_SH_MERGED) {
        dispatch_death(o, O, own);
    }
}

/* ---- the public slow paths ---- */

void rcy_impl_incref_slow(void *o)
{
    uint32_t rc = rcy__load_rc(o);
    if (rc >= RCY_IMPL_ATOMIC) {
        atomic_incref(o, rc);
        return;
    }
    rcy_arena *a = rcy__arena_at(RCY_HEAD(o));
    int own = owns_arena(a);
    if (own && rc != 0 && rc < RCY_IMPL_LOCAL_MAX)
        rcy__store_rc(o, rc + 1); /* checked builds, and platforms with no inline owner test */
    else
        shared_incref(o, a, own); /* another thread's, a merged object's, or past LOCAL_MAX */
}

/* Every decrement rcy_impl_decref_slow (object.c) does not finish itself:
   another thread's, a merged or atomic count's, the owner's last one of
   an object other threads counted or weakly referenced. */
void rcy_impl_decref_shared(void *o)
{
    uint32_t rc = rcy__load_rc(o);
    if (rc >= RCY_IMPL_ATOMIC) {
        atomic_decref(o, rc);
        return;
    }
    rcy_arena *a = rcy__arena_at(RCY_HEAD(o));
    int own = owns_arena(a);
    if (!own || rc == 0) {
        shared_decref(o, a, own, rc);
        return;
    }
    if (rc >= 2) { /* checked builds */
        rcy__store_rc(o, rc - 1);
        if (!(RCY_HEAD(o)->gcword & RCY_GC_NOTED))
            rcy_impl_decref_note(o);
        return;
    }
    if (RCY_HEAD(o)->gcword & RCY_GC_FINALIZING)
        rcy__misuse("rcy_decref(%p): object of type '%s' released below zero by its own "
                    "finalizer",
                    o, rcy__type(o)->name ? rcy__type(o)->name : "?");
    rcy_objects *O = home_small(o);
    if (rcy__object_release_last(O, o))
        rcy__object_dies(o);
}

int rcy__object_try_incref(void *o)
{
    uint32_t rc = rcy__load_rc(o);
    if (rc == RCY_IMMORTAL)
        return 1;
    if (rc >= RCY_IMPL_ATOMIC) {
        uint32_t sticky = owns_any(o) ? 0 : RCY_AT_STICKY;
        do {
            if ((rc & RCY_AT_COUNT) == 0)
                return 0;
        } while (!atomic_compare_exchange_weak_explicit(rcy__refcnt_of(o), &rc, (rc + 1u) | sticky,
                                                        memory_order_relaxed,
                                                        memory_order_relaxed));
        return 1;
    }
    rcy_arena *a = rcy__arena_at(RCY_HEAD(o));
    int own = owns_arena(a);
    if (rc > 0) { /* it cannot reach 0 while the weak lock is held */
        if (own && rc < RCY_IMPL_LOCAL_MAX)
            rcy__store_rc(o, rc + 1);
        else
            shared_incref(o, a, own);
        return 1;
    }
    _Atomic uint32_t *w = shared_word(o, a);
    uint32_t s = atomic_load_explicit(w, memory_order_relaxed);
    do {
        if (!(s & RCY_SH_MERGED) || rcy__shared_count(s) <= 0)
            return 0; /* dead, or dying */
    } while (!atomic_compare_exchange_weak_explicit(w, &s,
                                                    (s + RCY_SH_ONE) | (own ? 0 : RCY_SH_STICKY),
                                                    memory_order_relaxed, memory_order_relaxed));
    return 1;
}
