/* SPDX-License-Identifier: MIT */
/* fault: the counter behind fault injection (fault.h). Armed, each
 * request adds one to `requests`; the one that reaches `target` fails,
 * and so does every later one in persistent mode. errno is left as it
 * was, unlike a failing malloc or mmap: the library's calls must set
 * ENOMEM themselves, not count on the system's errno surviving whatever
 * they do between the failure and their return. Atomic, so that a heap
 * on another thread never races with the test that arms it, though the
 * count is only meaningful for requests from one thread. */
#include "util/fault.h"

#include <stdatomic.h>

static atomic_long target;   /* the request that fails; 0: disarmed */
static atomic_long requests; /* seen since armed */
static atomic_long injected; /* faults since armed */
static atomic_int persistent;

void rcy__fault_fail_after(long n)
{
    atomic_store(&target, 0);
    atomic_store(&requests, 0);
    atomic_store(&injected, 0);
    atomic_store(&target, n > 0 ? n : 0);
}

void rcy__fault_persistent(int on)
{
    atomic_store(&persistent, on != 0);
}

long rcy__fault_count(void)
{
    return atomic_load(&injected);
}

long rcy__fault_requests(void)
{
    return atomic_load(&requests);
}

int rcy__fault_due(void)
{
    long t = atomic_load_explicit(&target, memory_order_relaxed);
    if (t == 0)
        return 0;
    long r = atomic_fetch_add(&requests, 1) + 1;
    if (r < t || (r > t && !atomic_load(&persistent)))
        return 0;
    atomic_fetch_add(&injected, 1);
    return 1;
}
