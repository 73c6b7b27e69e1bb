/* SPDX-License-Identifier: MIT */
/* thread: who the calling thread is, in one instruction. A thread's id is
 * its thread pointer (the %fs base on x86-64, tpidr_el0 on AArch64; the
 * address of a thread-local byte elsewhere): never 0 or 1 for a living
 * thread, and unique among living threads. The C library reuses a dead
 * thread's pointer for a new thread, so the heap layer drops a thread's
 * ownership of its heaps when it exits (heap_thread.c): no heap is ever
 * owned by an id a new thread could have. */
#ifndef RCY_THREAD_H
#define RCY_THREAD_H

#include <stdatomic.h>
#include <stdint.h>

/* The owner of a heap that has none (its thread exited; an orphan): no
   thread has this id. */
#define RCY_THREAD_NONE ((uintptr_t)1)

static inline uintptr_t rcy__thread_self(void)
{
    uintptr_t tp;
#if defined(__x86_64__) && defined(__GNUC__)
    __asm__("movq %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__) && defined(__GNUC__)
    __asm__("mrs %0, tpidr_el0" : "=r"(tp));
#else
    static _Thread_local char self;
    tp = (uintptr_t)&self;
#endif
    return tp;
}

/* 1 if the calling thread is thread id: on x86-64 one compare with the
   thread pointer in memory (%fs:0) and one branch; reading it into a
   register first costs rcy_free's fast path an instruction more. */
static inline int rcy__thread_is(uintptr_t id)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __asm__ goto("cmpq %%fs:0, %0\n\tjne %l[other]" : : "r"(id) : "cc" : other);
    return 1;
other:
    return 0;
#else
    return id == rcy__thread_self();
#endif
}

/* 1 if the calling thread owns what *word names (a heap's owner, which a
   change of owner may rewrite meanwhile: a relaxed atomic load). */
static inline int rcy__thread_owns(_Atomic uintptr_t *word)
{
    return rcy__thread_is(atomic_load_explicit(word, memory_order_relaxed));
}

#endif
