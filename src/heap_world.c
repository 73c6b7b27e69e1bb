/* SPDX-License-Identifier: MIT */
/* heap_world: threads that share objects, their safepoints, and the
 * collection of all their heaps with the world stopped (docs/design.md,
 * "Shared objects"; the collection itself is gc/world.c).
 *
 * A thread joins the world (rcy_world_join) with its thread heap. While
 * joined, it calls rcy_safepoint() now and then (where it holds no heap
 * operation half done), or leaves around anything that blocks. A
 * collection of the world (rcy_gc_collect_world, or one that a safepoint
 * starts when the joined heaps' tracked objects have grown by the world's
 * threshold since the last one: the allocator's counts, never RSS) raises
 * `stopping`, waits until every other joined thread is parked in a
 * safepoint (or has left), collects all the joined heaps as one, then
 * lets them go. The mutex and condition variable order every parked
 * thread's work before the collection and the collection before their
 * next step, so the collector reads counts and fields no thread is
 * changing.
 *
 * A joined thread that exits leaves (a pthread key's destructor).
 *
 * Invariants: members are joined threads, each with its heap; `parked`
 * counts members waiting in a safepoint for the collection to end; at
 * most one collection runs (a second caller parks as a member until the
 * first ends, then runs its own). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "gc/world.h"
#include "heap.h"
#include "util/thread.h"

#define WORLD_MEMBERS_MAX 1024
#define WORLD_THRESHOLD_DEFAULT 100000

typedef struct member {
    rcy_heap *heap;
    size_t tracked_seen; /* its heap's tracked objects at its last safepoint */
} member;

static pthread_mutex_t world_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t world_changed = PTHREAD_COND_INITIALIZER;
static member *members[WORLD_MEMBERS_MAX];
static size_t nmembers, parked;
static int collecting;
static atomic_int stopping;  /* read by every safepoint without the lock */
static atomic_size_t growth; /* tracked objects added in joined heaps since the last collection */
static atomic_size_t world_threshold = WORLD_THRESHOLD_DEFAULT;
static size_t world_collections;

static _Thread_local member self;
static _Thread_local int joined;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t leave_key; /* its destructor: a joined thread that exits leaves */
static int key_ok;

static void leave_at_exit(void *arg)
{
    (void)arg;
    rcy_world_leave();
}

static void make_key(void)
{
    key_ok = pthread_key_create(&leave_key, leave_at_exit) == 0;
}

/* The calling member waits, parked, until no collection runs. The lock
   is held. */
static void park(void)
{
    parked++;
    pthread_cond_broadcast(&world_changed);
    while (collecting)
        pthread_cond_wait(&world_changed, &world_lock);
    parked--;
}

/* Stops every other joined thread at a safepoint (the lock held; parks
   the caller first while another thread's collection runs). */
static void stop_locked(void)
{
    while (collecting) {
        if (joined)
            park();
        else
            pthread_cond_wait(&world_changed, &world_lock);
    }
    collecting = 1;
    atomic_store(&stopping, 1);
    while (parked < nmembers - (joined ? 1 : 0))
        pthread_cond_wait(&world_changed, &world_lock);
}

static void resume_locked(void)
{
    collecting = 0;
    atomic_store(&stopping, 0);
    pthread_cond_broadcast(&world_changed);
}

/* The hook of joined heaps (rcy_objects.world_stop): their collections,
   automatic or not, run with the world stopped, as free-threaded
   CPython's do, so that reading the headers of other heaps' objects and
   the fields of objects other threads hold races with nobody. */
static void world_stop(int stop)
{
    pthread_mutex_lock(&world_lock);
    if (stop)
        stop_locked();
    else
        resume_locked();
    pthread_mutex_unlock(&world_lock);
}

static size_t collect_world_locked(void)
{
    stop_locked();
    /* every other member is parked: their heaps are still */
    rcy_heap *heaps[WORLD_MEMBERS_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < nmembers; i++)
        heaps[n++] = members[i]->heap;
    if (!joined && rcy_thread_heap())
        heaps[n++] = rcy_thread_heap(); /* the caller's own heap takes part too */
    pthread_mutex_unlock(&world_lock);
    size_t found = rcy__gc_collect_heaps(heaps, n);
    pthread_mutex_lock(&world_lock);
    for (size_t i = 0; i < nmembers; i++)
        members[i]->tracked_seen = rcy__tracked_count(&rcy__gc_of(members[i]->heap)->weak.objects);
    atomic_store(&growth, 0);
    world_collections++;
    resume_locked();
    return found;
}

int rcy_world_join(void)
{
    if (joined)
        return 0;
    rcy_heap *h = rcy_thread_heap();
    if (!h)
        return -1;
    if (pthread_once(&key_once, make_key) != 0 || !key_ok ||
        pthread_setspecific(leave_key, &self) != 0) {
        errno = EAGAIN;
        return -1;
    }
    pthread_mutex_lock(&world_lock);
    while (collecting) /* join between collections only */
        pthread_cond_wait(&world_changed, &world_lock);
    if (nmembers == WORLD_MEMBERS_MAX) {
        pthread_mutex_unlock(&world_lock);
        errno = EAGAIN;
        return -1;
    }
    self = (member){h, rcy__tracked_count(&rcy__gc_of(h)->weak.objects)};
    members[nmembers++] = &self;
    rcy__gc_of(h)->weak.objects.world_stop = world_stop;
    joined = 1;
    pthread_mutex_unlock(&world_lock);
    return 0;
}

void rcy_world_leave(void)
{
    if (!joined)
        return;
    pthread_mutex_lock(&world_lock);
    while (collecting) /* leave between collections only */
        park();
    for (size_t i = 0; i < nmembers; i++)
        if (members[i] == &self) {
            members[i] = members[--nmembers];
            break;
        }
    rcy__gc_of(self.heap)->weak.objects.world_stop = NULL;
    joined = 0;
    pthread_cond_broadcast(&world_changed); /* a collector may wait for this thread */
    pthread_mutex_unlock(&world_lock);
}

size_t rcy_gc_collect_world(void)
{
    pthread_mutex_lock(&world_lock);
    size_t found = collect_world_locked();
    pthread_mutex_unlock(&world_lock);
    return found;
}

/* Tracked objects the caller's heap gained since its last safepoint are
   added to the world's growth; 1 if that passes the threshold. */
static int world_due(void)
{
    size_t now = rcy__tracked_count(&rcy__gc_of(self.heap)->weak.objects);
    size_t gained = now > self.tracked_seen ? now - self.tracked_seen : 0;
    self.tracked_seen = now;
    return gained && atomic_fetch_add(&growth, gained) + gained >= world_threshold;
}

/* The inboxes of the heaps the caller owns: deaths other threads left
   and counts they queued (obj/count.h). */
static void drain_owned(void)
{
    rcy_heap *owned[64];
    size_t n = rcy__heap_owned(owned, 64);
    for (size_t i = 0; i < n; i++) {
        rcy_objects *O = &rcy__gc_of(owned[i])->weak.objects;
        if (!rcy__objects_inbox_empty(O))
            rcy__objects_drain(O, rcy__thread_owns(&O->mem.pools.thread));
    }
}

void rcy_safepoint(void)
{
    drain_owned();
    if (!joined || rcy__gc_of(self.heap)->weak.objects.depth)
        return; /* inside a death (a finalizer): parking would leave an object half dead */
    int due = atomic_load(&world_threshold) && world_due();
    if (!atomic_load(&stopping) && !due)
        return;
    pthread_mutex_lock(&world_lock);
    if (collecting)
        park();
    else if (due)
        collect_world_locked();
    pthread_mutex_unlock(&world_lock);
}

void rcy_world_set_threshold(size_t n)
{
    atomic_store(&world_threshold, n);
}

size_t rcy_world_get_threshold(void)
{
    return atomic_load(&world_threshold);
}

size_t rcy_world_collections(void)
{
    pthread_mutex_lock(&world_lock);
    size_t n = world_collections;
    pthread_mutex_unlock(&world_lock);
    return n;
}
