/* SPDX-License-Identifier: MIT */
/* os: the bottom layer. Address space from the OS, pages given back to it,
 * and a clock. Nothing here knows about pools, objects or heaps. */
#ifndef RCY_OS_H
#define RCY_OS_H

#include <stddef.h>

/* Maps `size` bytes aligned to `align` (a power of two >= the page size).
   The pages are not touched. NULL on failure. */
void *rcy__os_map_aligned(size_t size, size_t align);
void rcy__os_unmap(void *p, size_t size);
/* Gives the pages back; the range stays mapped and reads as zero. */
void rcy__os_decommit(void *p, size_t size);
size_t rcy__os_page_size(void);
double rcy__os_now(void); /* monotonic seconds */

#endif
