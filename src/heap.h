/* SPDX-License-Identifier: MIT */
/* heap: what a heap is made of, the composition root. Each layer's part
 * embeds the part of the layer below as its first member, so one address
 * is the heap, its collector, its weak references, its objects and its
 * memory: a layer converts the rcy_heap handle of a public call into its
 * own part, and a block's owner (its rcy_mem) into the part of a layer
 * above that embeds it, without knowing anything above itself. heap.c
 * asserts the layout; it alone sees every layer. */
#ifndef RCY_HEAP_H
#define RCY_HEAP_H

#include "gc/gc.h"

struct rcy_heap {
    rcy_gc gc; /* gc.weak.objects.mem: every layer, lowest innermost */
    /* heap_thread.c: a thread's default heap (rcy_thread_heap), on the
       process's list of them while it lives or is an orphan. */
    struct rcy_heap *thread_next, *thread_prev;
    int of_thread;
    /* heap_thread.c: the record of the thread that owns it (NULL: none),
       and the links of that thread's list of its heaps */
    void *owner_rec;
    struct rcy_heap *owner_next, *owner_prev;
};

/* Frees the heap and all its memory (rcy_heap_destroy without its checks). */
void rcy__heap_free(rcy_heap *h);
/* heap_thread.c: the calling thread owns the new heap h (its exit will
   leave h without an owner); h is destroyed (off its owner's list). */
void rcy__heap_own_new(rcy_heap *h);
void rcy__heap_forget(rcy_heap *h);
/* heap_thread.c: up to max of the heaps the calling thread owns, into
   out; how many (for rcy_safepoint, heap_world.c). */
size_t rcy__heap_owned(rcy_heap **out, size_t max);

/* Fork hooks (heap_thread.c): the process's one lock, that of the list of
   thread heaps, is taken before fork and released in both processes; in
   the child, the heaps of the threads that did not survive the fork become
   orphans (their blocks stay valid and can be freed). The library
   registers them with pthread_atfork when the first thread heap is made;
   the lock is recursive, so that a caller (the malloc shim) may also call
   them from its own handlers. */
void rcy__fork_prepare(void);
void rcy__fork_parent(void);
void rcy__fork_child(void);

#endif
