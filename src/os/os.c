/* SPDX-License-Identifier: MIT */
/* os: mmap/munmap/madvise behind four functions.
 *
 * Aligned mappings are made by over-mapping by `align` and trimming both
 * ends, so an arena's base is a multiple of its size and a block finds its
 * pool and arena by masking. Giving pages back uses MADV_DONTNEED rather
 * than MADV_FREE: RSS drops at once, which is what users measure when they
 * ask "why is my memory not released?". In fault-injection builds a
 * mapping is a request that may be made to fail (util/fault.h). */
#define _DEFAULT_SOURCE /* mmap flags, madvise, clock_gettime under -std=c17 */
#include "os/os.h"

#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "util/fault.h"

void *rcy__os_map_aligned(size_t size, size_t align)
{
    size_t span = size + align;
    if (span < size)
        return NULL;
#if defined(RCY_FAULT_INJECTION) && RCY_FAULT_INJECTION
    if (rcy__fault_due())
        return NULL;
#endif
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)raw;
    size_t tail = span - head - size;
    if (head)
        munmap(raw, head);
    if (tail)
        munmap((char *)start + size, tail);
    return (void *)start;
}

void rcy__os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

void rcy__os_decommit(void *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
}

size_t rcy__os_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE); /* rarely asked: when a page-map leaf is made */
}

double rcy__os_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
