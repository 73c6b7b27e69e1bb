/* SPDX-License-Identifier: MIT */
/* fault: out-of-memory fault injection, for tests (SQLite's discipline).
 * In a build with the CMake option RCY_FAULT_INJECTION, every request the
 * library makes for memory asks rcy__fault_due() first: the OS layer's
 * mappings (arenas, page-map leaves) and every call of the system
 * allocator (util/sys.h). Armed with rcy__fault_fail_after(n), the n-th
 * request from then on fails, and in persistent mode every one after it;
 * a test loops n from 1 until its scenario completes without a fault
 * (rcy__fault_count() == 0). One counter for the process: for tests that
 * arm it from one thread. Builds without the option never ask, so arming
 * has no effect there. */
#ifndef RCY_FAULT_H
#define RCY_FAULT_H

/* The n-th request from now fails (n >= 1); n <= 0 disarms. Resets the
   counts below. */
void rcy__fault_fail_after(long n);
/* Persistent (on != 0): every request after the n-th fails too, as when
   memory stays short; transient (the default): only the n-th. */
void rcy__fault_persistent(int on);
/* Faults injected since the last rcy__fault_fail_after. */
long rcy__fault_count(void);
/* Requests seen since the last rcy__fault_fail_after, while armed. */
long rcy__fault_requests(void);

/* 1 if this request must fail. Called by the OS layer and util/sys.h in
   fault-injection builds only. */
int rcy__fault_due(void);

#endif
