/* SPDX-License-Identifier: MIT */
/* compiler: the few compiler features the library relies on, named once.
 * Branch hints, inlining control and container_of. gcc and clang are the
 * supported compilers (README, "Supported platforms"); with another, the
 * hints become no-ops and the library still compiles. */
#ifndef RCY_COMPILER_H
#define RCY_COMPILER_H

#include <stddef.h>

#if defined(__GNUC__)
#define RCY_LIKELY(x) __builtin_expect(!!(x), 1)
#define RCY_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For a rare path kept out of a hot function's body; and for a loop
   whose step, passed as a function pointer, should be inlined into it. */
#define RCY_NOINLINE __attribute__((noinline))
#define RCY_ALWAYS_INLINE inline __attribute__((always_inline))
/* The return address into the caller of the public function that says
   it: the allocation site the tracer records (tools/trace.c). */
#define RCY_CALLER() __builtin_return_address(0)
#else
#define RCY_LIKELY(x) (x)
#define RCY_UNLIKELY(x) (x)
#define RCY_NOINLINE
#define RCY_ALWAYS_INLINE inline
#define RCY_CALLER() ((void *)0)
#endif

/* The struct of type `type` whose member `member` is at ptr: how a layer
   finds its own part of a heap from the part of a lower layer it embeds
   (heap.h). */
#define RCY_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
