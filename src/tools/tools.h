/* SPDX-License-Identifier: MIT */
/* tools: what the retention tools (why.c, census.c, dominators.c,
 * pinned.c, report.c) share with one another. */
#ifndef RCY_TOOLS_H
#define RCY_TOOLS_H

#include <stddef.h>

#include "recycle.h"

/* The offset rcy_why_alive reports for o's slot that refers to child:
   its byte offset if it lies within o's payload of `payload` bytes, else
   RCY_PATH_OUTSIDE with the slot's position among o's references. */
size_t rcy__slot_offset(const void *o, size_t payload, const void *child);

#endif
