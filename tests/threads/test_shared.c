/* SPDX-License-Identifier: MIT */
/* test_shared: objects shared between threads (issue 23), case by case:
 * counts that two threads change at once, the owner's count merged with
 * the others', an object dying on its owner when another thread drops the
 * last reference, large objects (atomic counts), a heap's own collection
 * leaving alone what another thread holds, a cycle across two heaps that
 * only the collection of all heaps finds, weak references read while
 * their target dies elsewhere. Counts, no timings. */
#define _DEFAULT_SOURCE
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct pair {
    void *a, *b;
} pair;

static atomic_long destroyed;
static void count_destroy(void *self)
{
    (void)self;
    atomic_fetch_add(&destroyed, 1);
}

static const rcy_type plain_type = {"plain", 24, NULL, NULL, count_destroy, 0};
static const rcy_type big_type = {"big", 4000, NULL, NULL, count_destroy, 0};
static const rcy_type pair_type = {
    "pair", sizeof(pair), NULL, NULL, count_destroy, RCY_REF_WORD(pair, a) | RCY_REF_WORD(pair, b)};

typedef struct job {
    void (*fn)(struct job *);
    void *obj;
    long n;
    rcy_heap *heap;
    void *out;
    pthread_barrier_t *go;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    j->fn(j);
    return NULL;
}

static void run_on_thread(job *j)
{
    pthread_t th;
    if (pthread_create(&th, NULL, run_job, j) != 0) {
        CHECK(0);
        return;
    }
    pthread_join(th, NULL);
}

/* ---- counts changed by two threads at once ---- */

static void pairs_job(job *j)
{
    pthread_barrier_wait(j->go);
    for (long i = 0; i < j->n; i++) {
        rcy_incref(j->obj);
        rcy_incref(j->obj);
        rcy_decref(j->obj);
        rcy_decref(j->obj);
    }
}

static void test_counts_from_two_threads(const rcy_type *t)
{
    rcy_heap *h = check_new_heap();
    void *o = rcy_new(h, t);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    job j = {pairs_job, o, 200000, h, NULL, &go};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, run_job, &j) == 0);
    pthread_barrier_wait(&go);
    for (long i = 0; i < j.n; i++) { /* the owner, at the same time */
        rcy_incref(o);
        rcy_decref(o);
    }
    pthread_join(th, NULL);
    pthread_barrier_destroy(&go);
    CHECK_EQ(rcy_refcount(o), 1);
    destroyed = 0;
    rcy_decref(o);
    CHECK_EQ(destroyed, 1);
    rcy_heap_destroy(h);
}

/* ---- the last reference dropped elsewhere: death on the owner ---- */

static void keep_job(job *j)
{
    rcy_incref(j->obj); /* the other thread's own reference */
}
static void drop_job(job *j)
{
    rcy_decref(j->obj);
}

static void test_death_on_owner(void)
{
    rcy_heap *h = check_new_heap();
    void *o = rcy_new(h, &plain_type);
    destroyed = 0;
    job j = {keep_job, o, 0, h, NULL, NULL};
    run_on_thread(&j); /* count: owner 1, other thread 1 */
    CHECK_EQ(rcy_refcount(o), 2);
    rcy_decref(o); /* the owner's count reaches 0: merged, still alive */
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcy_refcount(o), 1);
    j.fn = drop_job;
    run_on_thread(&j); /* the last reference, elsewhere: queued for the owner */
    CHECK_EQ(destroyed, 0);
    rcy_safepoint(); /* the owner runs the death */
    CHECK_EQ(destroyed, 1);

    /* a reference the owner gave away without a count of the other
       thread's: its decrement is queued, merged by the owner */
    o = rcy_new(h, &plain_type);
    j.obj = o;
    j.fn = drop_job;
    run_on_thread(&j);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(rcy_refcount(o), 1); /* the queue holds the dropped one until the merge */
    rcy_safepoint();
    CHECK_EQ(destroyed, 2);

    /* the same with the owner still holding one: it lives, merged */
    o = rcy_new(h, &plain_type);
    rcy_incref(o);
    j.obj = o;
    run_on_thread(&j);
    rcy_safepoint();
    CHECK_EQ(destroyed, 2);
    CHECK_EQ(rcy_refcount(o), 1);
    rcy_decref(o);
    CHECK_EQ(destroyed, 3);

    /* a large object: an atomic count */
    o = rcy_new(h, &big_type);
    j.obj = o;
    j.fn = keep_job;
    run_on_thread(&j);
    CHECK_EQ(rcy_refcount(o), 2);
    rcy_decref(o);
    j.fn = drop_job;
    run_on_thread(&j);
    rcy_safepoint();
    CHECK_EQ(destroyed, 4);
    rcy_heap_destroy(h);
}

/* ---- a heap's own collection leaves what another thread holds ---- */

static void test_own_collection_leaves_shared(void)
{
    rcy_heap *h = rcy_thread_heap(); /* the world's collection takes the caller's thread heap */
    CHECK(h != NULL);
    destroyed = 0;
    pair *x = rcy_new(h, &pair_type), *y = rcy_new(h, &pair_type);
    x->a = y;
    rcy_incref(x);
    y->a = x; /* a cycle, held by our x */
    job j = {keep_job, y, 0, h, NULL, NULL};
    run_on_thread(&j); /* another thread counted y (and keeps that reference) */
    rcy_decref(x);     /* the cycle is held by the other thread's count only */
    CHECK_EQ(rcy_gc_collect(h, -1), 0);
    CHECK_EQ(destroyed, 0);
    j.fn = drop_job;
    run_on_thread(&j); /* now nobody holds it: a heap's own collection may not
                          know (y was counted elsewhere), the world's does */
    rcy_safepoint();
    size_t found = rcy_gc_collect(h, -1) + rcy_gc_collect_world();
    CHECK_EQ(found, 2);
    CHECK_EQ(destroyed, 2);
}

/* ---- a cycle across two heaps ---- */

static void make_half_job(job *j)
{
    rcy_world_join();
    j->heap = rcy_thread_heap();
    j->out = rcy_new(j->heap, &pair_type);
    pthread_barrier_wait(j->go); /* the halves exist */
    pthread_barrier_wait(j->go); /* the main thread links them */
    rcy_decref(j->out);          /* only the cycle holds it now */
    pthread_barrier_wait(j->go);
    while (!atomic_load((atomic_int *)j->obj))
        rcy_safepoint(); /* until the main thread's collection is over */
    rcy_world_leave();
}

static void test_cycle_across_heaps(void)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 3);
    atomic_int done = 0;
    job ja = {make_half_job, &done, 0, NULL, NULL, &go}, jb = ja;
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, run_job, &ja) == 0);
    CHECK(pthread_create(&tb, NULL, run_job, &jb) == 0);
    pthread_barrier_wait(&go);
    pair *a = ja.out, *b = jb.out;
    /* written here while both threads wait at the barrier (the user's
       synchronization): a -> b -> a, each link counted by this thread */
    rcy_incref(b);
    a->a = b;
    rcy_incref(a);
    b->a = a;
    destroyed = 0;
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&go);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcy_gc_collect_world(), 2); /* both threads parked at safepoints */
    CHECK_EQ(destroyed, 2);
    atomic_store(&done, 1);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
}

/* ---- weak references read while the target dies elsewhere ---- */

static atomic_int stop_reading;
static atomic_long reads_live, reads_null, reads_bad;

static void reader_job(job *j)
{
    while (!atomic_load(&stop_reading)) {
        void *o = rcy_weakref_get(j->obj);
        if (!o) {
            atomic_fetch_add(&reads_null, 1);
            continue;
        }
        if (atomic_load(&destroyed) != 0)
            atomic_fetch_add(&reads_bad, 1); /* a strong reference to a dead object */
        atomic_fetch_add(&reads_live, 1);
        rcy_decref(o);
    }
}

static void test_weak_reads(void)
{
    rcy_heap *h = check_new_heap();
    for (int round = 0; round < 50; round++) {
        destroyed = 0;
        void *o = rcy_new(h, &plain_type);
        void *wr = rcy_weakref_new(o, NULL, NULL);
        atomic_store(&stop_reading, 0);
        job j = {reader_job, wr, 0, h, NULL, NULL};
        pthread_t th;
        CHECK(pthread_create(&th, NULL, run_job, &j) == 0);
        long before = atomic_load(&reads_live) + atomic_load(&reads_null);
        while (atomic_load(&reads_live) + atomic_load(&reads_null) == before) {
            rcy_incref(o); /* the owner counts while the reader reads */
            rcy_decref(o);
        }
        rcy_decref(o); /* dies here, or is merged and dies with the reader's last drop */
        while (atomic_load(&destroyed) == 0)
            rcy_safepoint(); /* the reader may drop the last reference */
        atomic_store(&stop_reading, 1);
        pthread_join(th, NULL);
        rcy_safepoint();
        CHECK(rcy_weakref_get(wr) == NULL);
        CHECK_EQ(destroyed, 1);
        rcy_decref(wr);
    }
    CHECK_EQ(reads_bad, 0);
    CHECK(reads_live + reads_null > 0);
    rcy_heap_destroy(h);
}

/* ---- a joined thread that exits without leaving ---- */

static void join_and_exit_job(job *j)
{
    CHECK_EQ(rcy_world_join(), 0);
    j->out = rcy_new(rcy_thread_heap(), &plain_type); /* outlives the thread */
}

static void test_exit_while_joined(void)
{
    job j = {join_and_exit_job, NULL, 0, NULL, NULL, NULL};
    destroyed = 0;
    run_on_thread(&j); /* its exit leaves the world */
    size_t before = rcy_world_collections();
    rcy_gc_collect_world(); /* returns: nobody left to wait for */
    CHECK_EQ(rcy_world_collections(), before + 1);
    rcy_decref(j.out); /* an orphan heap's object: its death waits for an adopter */
    CHECK_EQ(destroyed, 0);
}

int main(void)
{
    test_counts_from_two_threads(&plain_type);
    test_counts_from_two_threads(&big_type);
    test_death_on_owner();
    test_own_collection_leaves_shared();
    test_cycle_across_heaps();
    test_weak_reads();
    test_exit_while_joined();
    return check_summary("test_shared");
}
