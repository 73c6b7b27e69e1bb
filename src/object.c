/* object: creation, reference counts at zero, and death.
 *
 * Death of an object, in order (DESIGN.md's contract):
 *   1. finalize, once (FINALIZED flag), with the count held at 1 so the
 *      object is intact; if the count is above 1 afterwards, it was
 *      resurrected and lives on;
 *   2. weak references to it are cleared and their callbacks run;
 *   3. it leaves its generation (untracked);
 *   4. every reference it holds is dropped through traverse (slot = NULL,
 *      decref the old value): type authors write no clear function;
 *   5. destroy; 6. its memory goes back to the pool.
 *
 * Cascades use bounded C stack, as CPython's trashcan does: deaths nest
 * (an object dies inside its owner's death, so callbacks see the order
 * Python gives) up to RCY_DEATH_NESTING deep; past that, a collectable
 * object whose count reaches zero joins the pending queue (a vector of
 * pointers), and the outermost death kills the queued ones in the order
 * their counts reached zero. C stack use is bounded whatever the shape of
 * the graph, unless memory is so short that the queue cannot grow; then
 * the object dies at once, one level deeper. Objects without traverse hold
 * no references, so they die at once.
 *
 * Drop reporting (for the collector's drop pacing): the inline rcy_decref
 * calls rcy__decref_note on the first decrement that leaves a tracked
 * object alive since the collector last examined it (the NOTED bit). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "weakref.h"

#define RCY_DEATH_NESTING 16

void rcy__objects_init(rcy_objects *O)
{
    memset(O, 0, sizeof *O);
    O->young_limit = SIZE_MAX;
}

void rcy__objects_fini(rcy_objects *O)
{
    free(O->young.items);
    free(O->young.scratch);
    rcy__ptrvec_fini(&O->pending);
    rcy__objects_init(O);
}

static rcy_heap *heap_of_object(const void *o)
{
    rcy_arena *unused;
    return rcy__mem_home(rcy__object_block(o), &unused);
}

/* ---- the young vector (generations 0 and 1) ---- */

int rcy__young_grow(rcy_young *y)
{
    uint32_t cap = y->cap ? y->cap * 2 : 1024;
    if (cap > RCY_YOUNG_CAP)
        return 0;
    void **grown = realloc(y->items, cap * sizeof *grown);
    if (!grown)
        return 0;
    y->items = grown;
    y->cap = cap;
    (void)rcy__young_fit_scratch(y); /* if it fails, a collection tries again */
    return 1;
}

/* The old contents need no copy: see rcy_young. */
int rcy__young_fit_scratch(rcy_young *y)
{
    if (y->scratch_cap >= y->cap)
        return 1;
    size_t bytes = (size_t)y->cap * (sizeof(int64_t) + sizeof(void *));
    int64_t *fresh = malloc(bytes);
    if (!fresh)
        return 0;
    memset(fresh, 0, bytes);
    free(y->scratch);
    y->scratch = fresh;
    y->scratch_cap = y->cap;
    return 1;
}

void rcy__objects_reset_young(rcy_objects *O)
{
    O->young.len = O->young.boundary = O->young.hole = 0;
}

/* A generation 0 hole is reused; a generation 1 hole waits. */
static void young_remove(rcy_young *y, uint32_t slot)
{
    if (slot < y->boundary) {
        y->items[slot] = RCY_YOUNG_HOLE(0);
        return;
    }
    y->items[slot] = RCY_YOUNG_HOLE(y->hole);
    y->hole = slot + 1;
}

/* ---- tracking: which generation an object is in ---- */

/* Takes a tracked object out of its generation (or out of the running
   collection's garbage). */
static void unplace(rcy_objects *O, void *o)
{
    uint32_t w = RCY_HEAD(o)->gcword;
    if (w & RCY_GC_UNREACHABLE) {
        O->unreachable--; /* the collector holds it and notices */
        return;
    }
    RCY_ASSERT(!(w & RCY_GC_COLLECTING)); /* no user code runs while the set is examined */
    unsigned gen = rcy__generation(O, o);
    if (gen < RCY_GEN_OLD)
        young_remove(&O->young, w & RCY_GC_SLOT_MASK);
    O->count[gen]--;
}

/* A tracked object reports its next drop (NOTED clear); an untracked one
   never does. */
static void track(rcy_heap *h, void *o)
{
    RCY_HEAD(o)->gcword = (RCY_HEAD(o)->gcword | RCY_GC_TRACKED) & ~RCY_GC_NOTED;
    rcy__objects_place(&h->objects, o, RCY_GEN_YOUNG);
}

static void untrack(rcy_heap *h, void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    unplace(&h->objects, o);
    hd->gcword &= ~(RCY_GC_TRACKED | RCY_GC_COLLECTING | RCY_GC_UNREACHABLE |
                    RCY_GC_GEN_MASK | RCY_GC_SLOT_MASK);
    hd->gcword |= RCY_GC_NOTED;
}

void rcy_gc_track(void *o)
{
    if (rcy__collectable(rcy__type(o)) && !(RCY_HEAD(o)->gcword & RCY_GC_TRACKED) &&
        RCY_HEAD(o)->refcnt != 0) {
        rcy_heap *h = heap_of_object(o);
        track(h, o);
        h->objects.noted++; /* it may hold references the collector never saw */
    }
}

/* The first drop-to-nonzero of a tracked object since the collector last
   examined it. A cycle becomes garbage through such a drop (the last
   outside reference goes while the cycle's own keep it above zero), or
   when code moves that reference into the cycle without a decref: see
   gc.c's drop pacing for how the collector uses the count. */
void rcy__decref_note(void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    hd->gcword |= RCY_GC_NOTED;
    if (hd->gcword & RCY_GC_TRACKED)
        heap_of_object(o)->objects.noted++;
}

void rcy_gc_untrack(void *o)
{
    if (RCY_HEAD(o)->gcword & RCY_GC_TRACKED)
        untrack(heap_of_object(o), o);
}

int rcy_gc_is_tracked(const void *o)
{
    return (RCY_HEAD(o)->gcword & RCY_GC_TRACKED) != 0;
}

int rcy_gc_is_finalized(const void *o)
{
    return (RCY_HEAD(o)->type_and_flags & RCY_TF_FINALIZED) != 0;
}

/* ---- creation ---- */

size_t rcy_header_size(const rcy_type *t)
{
    (void)t;
    return sizeof(rcy_objhead);
}

/* Small payloads are zeroed with whole 16-byte steps up to the end of
   their block (blocks are multiples of 16), not with a call. */
static inline void zero_payload(void *o, size_t n)
{
    if (n > 64) {
        memset(o, 0, n);
        return;
    }
    uint64_t *w = o;
    for (size_t done = 0; done < n; done += 16, w += 2) {
        w[0] = 0;
        w[1] = 0;
    }
}

void *rcy_new_sized(rcy_heap *h, const rcy_type *t, size_t n)
{
    if (!t || ((uintptr_t)t & RCY_TF_FLAGS))
        rcy__misuse("rcy_new(%p): not a valid rcy_type pointer", (const void *)t);
    int collectable = rcy__collectable(t);
    rcy_objects *O = &h->objects;
    if (collectable && O->young_count + 1 > O->young_limit)
        O->young_full(h); /* like CPython, collect before the new object exists */
    unsigned kind = collectable ? RCY_KIND_OBJECTS : RCY_KIND_PLAIN;
    size_t bytes = sizeof(rcy_objhead) + n;
    if (RCY_UNLIKELY(bytes < RCY_TRACKED_MIN_BLOCK) && collectable)
        bytes = RCY_TRACKED_MIN_BLOCK;
    rcy_objhead *hd = n <= SIZE_MAX - sizeof *hd ? rcy__mem_alloc(h, bytes, kind) : NULL;
    if (!hd) {
        errno = ENOMEM;
        return NULL;
    }
    hd->refcnt = 1;
    hd->gcword = RCY_GC_NOTED; /* track() clears it for collectable objects */
    hd->type_and_flags = (uintptr_t)t;
    void *o = hd + 1;
    zero_payload(o, n);
    if (collectable) {
        O->young_count++;
        track(h, o);
    }
    return o;
}

void *rcy_new(rcy_heap *h, const rcy_type *t)
{
    return rcy_new_sized(h, t, t ? t->size : 0);
}

/* ---- traversal and clearing ---- */

static void clear_slot(void **slot, void *arg)
{
    (void)arg;
    void *child = *slot;
    if (child) {
        *slot = NULL;
        rcy_decref(child);
    }
}

void rcy__clear_refs(void *o)
{
    rcy__traverse(o, clear_slot, NULL);
}

/* ---- death ---- */

/* Runs the finalizer if it is due. Returns 1 if the object was resurrected. */
static int finalize_resurrects(rcy_heap *h, void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    const rcy_type *t = rcy__type(o);
    if (!t->finalize || (hd->type_and_flags & RCY_TF_FINALIZED))
        return 0;
    hd->type_and_flags |= RCY_TF_FINALIZED;
    hd->refcnt = 1; /* alive while its finalizer runs */
    hd->gcword |= RCY_GC_FINALIZING;
    t->finalize(o);
    hd->gcword &= ~RCY_GC_FINALIZING;
    if (--hd->refcnt == 0)
        return 0;
    if (hd->gcword & RCY_GC_WAS_TRACKED) {
        hd->gcword &= ~RCY_GC_WAS_TRACKED;
        track(h, o);
    }
    return 1;
}

/* a: the object's arena (rcy__mem_home). */
static void free_object(rcy_heap *h, rcy_arena *a, void *o)
{
    const rcy_type *t = rcy__type(o);
    rcy_objhead *hd = RCY_HEAD(o);
    if (rcy__collectable(t)) {
        if (hd->gcword & (RCY_GC_TRACKED | RCY_GC_WAS_TRACKED)) {
            if (h->objects.young_count)
                h->objects.young_count--;
        }
        if (hd->gcword & RCY_GC_TRACKED)
            untrack(h, o);
        hd->gcword = 0;
        rcy__clear_refs(o);
    }
    if (t->destroy)
        t->destroy(o);
    hd->type_and_flags |= RCY_TF_DEAD; /* for the collector's walks */
    rcy__mem_release(h, a, rcy__object_block(o));
}

static void die_now(rcy_heap *h, rcy_arena *a, void *o)
{
    if (finalize_resurrects(h, o))
        return;
    if (RCY_HEAD(o)->type_and_flags & RCY_TF_WEAKREFD)
        rcy__weak_run(rcy__weak_detach(h, o));
    free_object(h, a, o);
}

/* Queues a dying object; 0 if the queue cannot grow (out of memory: the
   object then dies at once, nesting deeper). */
static int push_pending(rcy_heap *h, void *o)
{
    rcy_objects *O = &h->objects;
    rcy_ptrvec *q = &O->pending;
    if (q->len == q->cap && O->pending_head > 0) { /* slide the live part to the front */
        q->len -= O->pending_head;
        memmove(q->items, q->items + O->pending_head, q->len * sizeof *q->items);
        O->pending_head = 0;
    }
    if (!rcy__ptrvec_push(q, o))
        return 0;
    rcy_objhead *hd = RCY_HEAD(o);
    if (hd->gcword & RCY_GC_TRACKED) {
        untrack(h, o);
        hd->gcword |= RCY_GC_WAS_TRACKED;
    }
    return 1;
}

/* The outermost death kills the queued ones, in the order their counts
   reached zero, each with a fresh budget of nesting. */
static void drain_pending(rcy_heap *h)
{
    rcy_objects *O = &h->objects;
    while (O->pending_head < O->pending.len) {
        void *o = O->pending.items[O->pending_head++];
        rcy_arena *a;
        rcy__mem_home(rcy__object_block(o), &a);
        O->depth++;
        die_now(h, a, o);
        O->depth--;
    }
    O->pending_head = O->pending.len = 0;
}

static void object_dies(void *o)
{
    rcy_arena *a;
    rcy_heap *h = rcy__mem_home(rcy__object_block(o), &a);
    rcy_objects *O = &h->objects;
    if (O->depth >= RCY_DEATH_NESTING && rcy__collectable(rcy__type(o)) && push_pending(h, o))
        return;
    O->depth++;
    die_now(h, a, o);
    O->depth--;
    if (O->depth == 0)
        drain_pending(h);
}

void rcy__decref_slow(void *o)
{
    rcy_objhead *hd = RCY_HEAD(o);
    uint32_t rc = hd->refcnt;
    if (rc == RCY_IMMORTAL)
        return;
    if (rc == 0)
        rcy__misuse("rcy_decref(%p): object of type '%s' has reference count 0 "
                    "(already dead, or released more often than acquired)",
                    o, rcy__type(o)->name ? rcy__type(o)->name : "?");
    if (rc == 1 && (hd->gcword & RCY_GC_FINALIZING))
        rcy__misuse("rcy_decref(%p): object of type '%s' released below zero by its own "
                    "finalizer",
                    o, rcy__type(o)->name ? rcy__type(o)->name : "?");
    hd->refcnt = rc - 1;
    if (rc == 1)
        object_dies(o);
}

/* ---- checked builds: validate the object before touching its count ---- */

static void check_object(void *o, const char *api)
{
    if (!o || ((uintptr_t)o & 15))
        rcy__misuse("%s(%p): not an object pointer", api, o);
    const rcy_type *t = rcy__type(o);
    const char *name = t && t->name ? t->name : "?";
    if (!rcy__mem_is_live(rcy__object_block(o)))
        rcy__misuse("%s(%p): object of type '%s' was already freed (use after free)", api, o,
                    name);
    if (RCY_HEAD(o)->refcnt == 0)
        rcy__misuse("%s(%p): object of type '%s' has reference count 0 (dead, or released "
                    "more often than acquired)",
                    api, o, name);
}

void rcy__incref_checked(void *o)
{
    check_object(o, "rcy_incref");
    rcy_objhead *hd = RCY_HEAD(o);
    if (hd->refcnt != RCY_IMMORTAL)
        hd->refcnt++;
}

void rcy__decref_checked(void *o)
{
    check_object(o, "rcy_decref");
    rcy_objhead *hd = RCY_HEAD(o);
    if (hd->refcnt >= 2 && hd->refcnt != RCY_IMMORTAL && !(hd->gcword & RCY_GC_NOTED))
        rcy__decref_note(o);
    rcy__decref_slow(o);
}

/* ---- introspection ---- */

size_t rcy_refcount(const void *o)
{
    return RCY_HEAD(o)->refcnt;
}

const rcy_type *rcy_typeof(const void *o)
{
    return rcy__type(o);
}

rcy_heap *rcy_heap_of(const void *o)
{
    return heap_of_object(o);
}
