/* SPDX-License-Identifier: MIT */
/* heap_thread: a default heap per thread (rcy_thread_heap), handing heaps
 * over between threads (rcy_heap_adopt), and what happens to a thread's
 * heap when the thread exits (docs/design.md, "Threads").
 *
 * A thread's heap is made on its first rcy_thread_heap, or is an orphan it
 * adopts: the heap of a thread that exited while blocks of it lived on.
 * When the thread exits (a pthread key's destructor), its heap collects
 * the remote frees, then becomes an orphan (rcy__mem_orphan) if blocks are
 * still in use, its free pages purged, else it is freed. An orphan's blocks stay valid: any thread
 * frees them, under this file's lock (orphan_free), and the free of its
 * last block frees the heap; a new thread adopts an orphan instead of
 * making a heap. No memory is leaked and none waits for a thread that will
 * not come.
 *
 * Owners: a thread's id is its thread pointer (util/thread.h), which the C
 * library gives to a new thread once this one is gone. So every thread
 * that owns a heap (rcy_heap_new, rcy_heap_adopt, rcy_thread_heap) is
 * registered, with the list of heaps it owns, and its exit makes them
 * ownerless (their blocks are then freed remotely by everyone, and the
 * heap's user, under its own lock, collects them) before its id can be
 * reused.
 *
 * The lock guards the records of threads, their lists of heaps, the list
 * of thread heaps (living and orphaned) and the orphans themselves; it is
 * taken when a heap is made or destroyed or changes owner, when a thread
 * exits, and for each free of an orphan's block, never on a fast path. It
 * is recursive, so that fork handlers registered twice (here and by the
 * malloc shim) do not deadlock. */
#define _DEFAULT_SOURCE /* PTHREAD_MUTEX_RECURSIVE under -std=c17 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "heap.h"
#include "util/dlist.h"
#include "util/misuse.h"
#include "util/thread.h"

#if defined(__GNUC__)
#define RCY_TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#else
#define RCY_TLS_INITIAL_EXEC
#endif

/* A thread that owns heaps; its pthread key's value, so that its exit is
   seen. In the thread's own TLS, which outlives the key's destructor. */
typedef struct thread_rec {
    rcy_heap *owned; /* the heaps it owns, through owner_next */
    struct thread_rec *next, *prev;
    int registered;
} thread_rec;

static pthread_mutex_t lock;
static thread_rec *threads;    /* every registered thread */
static rcy_heap *thread_heaps; /* thread heaps, living and orphaned */
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int setup_ok;

static _Thread_local thread_rec self_rec;
static _Thread_local rcy_heap *this_thread_heap RCY_TLS_INITIAL_EXEC;
static _Thread_local int making_heap RCY_TLS_INITIAL_EXEC;

static rcy_mem *mem_of(rcy_heap *h)
{
    return rcy__mem_of(h);
}

static rcy_heap *heap_of(rcy_mem *M)
{
    return (rcy_heap *)(void *)M; /* a heap begins with its memory (heap.h) */
}

/* ---- lists (the lock held) ---- */

static void thread_heaps_insert(rcy_heap *h)
{
    RCY_DLIST_PUSH(thread_heaps, h, thread_prev, thread_next);
}

static void thread_heaps_remove(rcy_heap *h)
{
    RCY_DLIST_REMOVE(thread_heaps, h, thread_prev, thread_next);
}

static void owned_insert(thread_rec *r, rcy_heap *h)
{
    h->owner_rec = r;
    RCY_DLIST_PUSH(r->owned, h, owner_prev, owner_next);
}

static void owned_remove(rcy_heap *h)
{
    thread_rec *r = h->owner_rec;
    if (!r)
        return;
    RCY_DLIST_REMOVE(r->owned, h, owner_prev, owner_next);
    h->owner_rec = NULL;
}

static void threads_insert(thread_rec *r)
{
    RCY_DLIST_PUSH(threads, r, prev, next);
}

static void threads_remove(thread_rec *r)
{
    RCY_DLIST_REMOVE(threads, r, prev, next);
}

/* ---- orphans ---- */

static int is_orphan(rcy_heap *h)
{
    return (atomic_load_explicit(&mem_of(h)->pools.remote, memory_order_acquire) &
            RCY_REMOTE_ORPHAN) != 0;
}

/* A thread heap's thread is gone (the lock held): its last remote frees
   are collected; an empty heap is taken off the list and returned, for
   the caller to free outside the lock; else it stays, an orphan. */
static rcy_heap *orphan(rcy_heap *h)
{
    owned_remove(h);
    rcy__mem_orphan(mem_of(h));
    if (!rcy__mem_idle(mem_of(h))) {
        /* its free pages go back now: no owner will reach a slow path to
           age them (the free of its last block unmaps the rest) */
        RCY_MEM_ENTER(mem_of(h));
        rcy__pools_purge(&mem_of(h)->pools);
        RCY_MEM_LEAVE(mem_of(h));
        return NULL;
    }
    thread_heaps_remove(h);
    h->of_thread = 0; /* freed as any heap now */
    return h;
}

/* A remote free of a block of an orphan (mem.h, rcy_mem.orphan_free). */
static int orphan_free(rcy_mem *M, void *p)
{
    rcy_heap *h = heap_of(M), *empty = NULL;
    pthread_mutex_lock(&lock);
    if (!is_orphan(h)) {
        pthread_mutex_unlock(&lock);
        return 0; /* adopted meanwhile: the caller pushes p */
    }
    RCY_MEM_ENTER(M);
    rcy__mem_free_collected(M, p);
    RCY_MEM_LEAVE(M);
    if (rcy__mem_idle(M)) {
        thread_heaps_remove(h);
        h->of_thread = 0;
        empty = h;
    }
    pthread_mutex_unlock(&lock);
    if (empty)
        rcy__heap_free(empty);
    return 1;
}

/* ---- a thread's exit ---- */

/* Its thread heap becomes an orphan (or goes), its other heaps ownerless;
   its record leaves the list (the lock held). Returns an empty thread
   heap to free. */
static rcy_heap *forget_thread(thread_rec *r, rcy_heap *own_heap)
{
    rcy_heap *empty = own_heap ? orphan(own_heap) : NULL;
    while (r->owned) {
        rcy_heap *h = r->owned;
        owned_remove(h);
        rcy__mem_set_owner(mem_of(h), RCY_THREAD_NONE);
    }
    threads_remove(r);
    r->registered = 0;
    return empty;
}

static void thread_exit(void *arg)
{
    rcy_heap *h = this_thread_heap, *empty;
    this_thread_heap = NULL;
    if (h) {
        /* objects other threads let die, and counts they queued, while
           this thread still owns the heap (obj/count.h) */
        rcy__objects_drain(&rcy__gc_of(h)->weak.objects, 1);
        rcy__mem_collect_remote(mem_of(h));
    }
    pthread_mutex_lock(&lock);
    empty = forget_thread(arg, h);
    pthread_mutex_unlock(&lock);
    if (empty)
        rcy__heap_free(empty);
}

static void setup(void)
{
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        return;
    int ok = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) == 0 &&
             pthread_mutex_init(&lock, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    if (!ok || pthread_key_create(&exit_key, thread_exit) != 0)
        return;
    (void)pthread_atfork(rcy__fork_prepare, rcy__fork_parent, rcy__fork_child);
    setup_ok = 1;
}

/* The calling thread's record, registered on first use; NULL if the
   system refuses (then the thread can own no heap). */
static thread_rec *self(void)
{
    thread_rec *r = &self_rec;
    if (r->registered)
        return r;
    if (pthread_once(&setup_once, setup) != 0 || !setup_ok)
        return NULL;
    if (pthread_setspecific(exit_key, r) != 0)
        return NULL;
    pthread_mutex_lock(&lock);
    threads_insert(r);
    r->registered = 1;
    pthread_mutex_unlock(&lock);
    return r;
}

/* ---- owners ---- */

/* The calling thread becomes h's owner, or, if it cannot be registered,
   h has none (always safe: every free is then remote). */
static void own(rcy_heap *h)
{
    thread_rec *r = self();
    if (setup_ok)
        pthread_mutex_lock(&lock);
    owned_remove(h);
    if (r)
        owned_insert(r, h);
    rcy__mem_set_owner(mem_of(h), r ? rcy__thread_self() : RCY_THREAD_NONE);
    if (setup_ok)
        pthread_mutex_unlock(&lock);
}

void rcy__heap_own_new(rcy_heap *h)
{
    own(h);
}

size_t rcy__heap_owned(rcy_heap **out, size_t max)
{
    thread_rec *r = &self_rec;
    size_t n = 0;
    if (!r->registered)
        return 0;
    pthread_mutex_lock(&lock);
    for (rcy_heap *h = r->owned; h && n < max; h = h->owner_next)
        out[n++] = h;
    pthread_mutex_unlock(&lock);
    return n;
}

void rcy__heap_forget(rcy_heap *h)
{
    if (!setup_ok)
        return;
    pthread_mutex_lock(&lock);
    owned_remove(h);
    pthread_mutex_unlock(&lock);
}

void rcy_heap_adopt(rcy_heap *h)
{
    if (h->of_thread)
        rcy__misuse("rcy_heap_adopt(%p): a thread's heap (rcy_thread_heap) cannot change "
                    "owner",
                    (void *)h);
    rcy_mem *M = mem_of(h);
    RCY_MEM_ENTER(M);
    own(h);
    rcy__mem_collect_remote(M);
    RCY_MEM_LEAVE(M);
}

/* ---- thread heaps ---- */

/* An orphan to adopt, taken off the orphans (the lock held); NULL if there
   is none. */
static rcy_heap *adopt_orphan(thread_rec *r)
{
    for (rcy_heap *h = thread_heaps; h; h = h->thread_next)
        if (is_orphan(h)) {
            rcy__mem_unorphan(mem_of(h));
            owned_insert(r, h);
            rcy__mem_set_owner(mem_of(h), rcy__thread_self());
            return h;
        }
    return NULL;
}

static rcy_heap *new_thread_heap(void)
{
    rcy_heap *h = rcy_heap_new(); /* owned by this thread */
    if (!h)
        return NULL;
    h->of_thread = 1;
    mem_of(h)->orphan_free = orphan_free;
    pthread_mutex_lock(&lock);
    thread_heaps_insert(h);
    pthread_mutex_unlock(&lock);
    return h;
}

/* The first call on a thread. A call made while the heap is being made
   (the malloc shim's malloc, called by the C library) gets NULL. */
static RCY_NOINLINE rcy_heap *make_thread_heap(void)
{
    if (making_heap) {
        errno = EDEADLK;
        return NULL;
    }
    making_heap = 1;
    rcy_heap *h = NULL;
    thread_rec *r = self();
    if (r) {
        pthread_mutex_lock(&lock);
        h = adopt_orphan(r);
        pthread_mutex_unlock(&lock);
        if (!h)
            h = new_thread_heap();
    } else {
        errno = EAGAIN;
    }
    this_thread_heap = h;
    making_heap = 0;
    return h;
}

rcy_heap *rcy_thread_heap(void)
{
    rcy_heap *h = this_thread_heap;
    return RCY_LIKELY(h != NULL) ? h : make_thread_heap();
}

/* ---- fork ---- */

void rcy__fork_prepare(void)
{
    if (setup_ok)
        pthread_mutex_lock(&lock);
}

void rcy__fork_parent(void)
{
    if (setup_ok)
        pthread_mutex_unlock(&lock);
}

/* Only the forking thread lives on in the child: the other threads' heaps
   become ownerless (thread heaps: orphans, or freed if empty), since new
   threads of the child may get their ids. The lock is made anew, free. */
void rcy__fork_child(void)
{
    if (!setup_ok)
        return;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&lock, &attr);
    pthread_mutexattr_destroy(&attr);
    thread_rec *r = threads;
    while (r) {
        thread_rec *next = r->next;
        if (r != &self_rec) {
            rcy_heap *own_heap = NULL;
            for (rcy_heap *h = r->owned; h; h = h->owner_next) {
                rcy__mem_after_fork(mem_of(h));
                if (h->of_thread)
                    own_heap = h;
            }
            rcy_heap *empty = forget_thread(r, own_heap);
            if (empty)
                rcy__heap_free(empty);
        }
        r = next;
    }
}
