/* SPDX-License-Identifier: MIT */
/* weak_cache: a cache that does not keep its entries alive.
 *
 * Like Python's weakref.WeakValueDictionary: the cache maps a key to a weak
 * reference. While some part of the program holds the object, lookups find
 * it; once the last strong reference goes, the object dies and its entry
 * vanishes. A callback on each weak reference tells the cache when.
 */
#include "recycle.h"

#include <stdio.h>
#include <stdlib.h>

/* What we cache: an expensive-to-make value for a key. */
typedef struct thing {
    int key;
} thing;

static size_t made;

static const rcy_type thing_type = {.name = "thing", .size = sizeof(thing)};

#define SLOTS 8
typedef struct cache {
    rcy_heap *heap;
    void *weak[SLOTS]; /* owned references to weak reference objects */
    size_t evicted;    /* entries whose object died */
} cache;

/* Runs when a cached object dies while its weak reference is alive. The
   weak reference itself stays in the slot (it now points to nothing) and
   is replaced on the next lookup. */
static void on_death(void *weakref, void *arg)
{
    (void)weakref;
    cache *c = arg;
    c->evicted++;
}

/* A new reference to the thing for key, made if not cached. */
static thing *cache_get(cache *c, int key, int *hit)
{
    void **slot = &c->weak[key % SLOTS];
    if (*slot) {
        thing *t = rcy_weakref_get(*slot); /* strong reference, or NULL */
        if (t && t->key == key) {
            *hit = 1;
            return t;
        }
        if (t)
            rcy_decref(t); /* another key in this slot */
        rcy_decref(*slot); /* drop the stale entry */
        *slot = NULL;
    }
    *hit = 0;
    thing *t = rcy_new(c->heap, &thing_type);
    void *w = t ? rcy_weakref_new(t, on_death, c) : NULL;
    if (!w) {
        perror("recycle");
        exit(1);
    }
    t->key = key;
    made++;
    *slot = w;
    return t;
}

/* 1 if key has a live entry (without making one). */
static int cache_has(cache *c, int key)
{
    void *w = c->weak[key % SLOTS];
    thing *t = w ? rcy_weakref_get(w) : NULL;
    int live = t && t->key == key;
    if (t)
        rcy_decref(t);
    return live;
}

int main(void)
{
    cache c = {.heap = rcy_heap_new()};
    if (!c.heap)
        return 1;
    int ok = 1, hit;

    thing *a = cache_get(&c, 1, &hit);
    ok &= !hit;
    thing *b = cache_get(&c, 1, &hit); /* the same object, from the cache */
    ok &= hit && a == b;
    thing *other = cache_get(&c, 2, &hit);
    printf("two lookups of key 1 gave one object (%s); %zu made\n", a == b ? "yes" : "no", made);

    rcy_decref(a);
    ok &= cache_has(&c, 1); /* b still holds it */
    rcy_decref(b);          /* the last strong reference */
    ok &= !cache_has(&c, 1) && c.evicted == 1;
    printf("key 1 dropped by its users: entry %s, %zu eviction(s)\n",
           cache_has(&c, 1) ? "still there" : "gone", c.evicted);

    ok &= cache_has(&c, 2); /* key 2 is untouched */
    rcy_decref(other);
    ok &= !cache_has(&c, 2) && c.evicted == 2;

    thing *again = cache_get(&c, 1, &hit); /* made afresh */
    ok &= !hit && made == 3;
    printf("key 1 looked up again: %s; %zu made in all\n", hit ? "hit" : "made anew", made);
    rcy_decref(again);

    for (int i = 0; i < SLOTS; i++)
        rcy_xdecref(c.weak[i]);
    rcy_heap_destroy(c.heap);
    puts(ok ? "weak_cache: ok" : "weak_cache: FAILED");
    return ok ? 0 : 1;
}
