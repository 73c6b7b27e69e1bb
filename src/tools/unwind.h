/* SPDX-License-Identifier: MIT */
/* unwind: the stack unwinder allocation tracing uses for more than one
 * frame. libunwind's unw_backtrace, loaded at run time with dlopen (as
 * libdw is, symbolize.h), when the process can load it: it caches each
 * PC's unwind step, so a frame costs tens of instructions where the C
 * library's backtrace(), which finds the FDE again at every frame, costs
 * more than a thousand (docs/design.md, "Allocation tracing"). Without it,
 * backtrace(). Both return the return addresses of the calls, innermost
 * first, starting in the caller of rcy__unwind; the choice is made once a
 * process. RCY_TRACE_UNWINDER=backtrace in the environment forces the C
 * library's (for comparing the two). */
#ifndef RCY_UNWIND_H
#define RCY_UNWIND_H

/* Fills buf[0 .. max) with the stack's return addresses; returns how many. */
int rcy__unwind(void **buf, int max);
/* Loads the unwinder (idempotent, thread-safe); call before rcy__unwind. */
void rcy__unwind_init(void);
/* "libunwind" or "backtrace": which one rcy__unwind uses. */
const char *rcy__unwinder_name(void);

#endif
