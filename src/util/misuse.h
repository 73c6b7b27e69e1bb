/* SPDX-License-Identifier: MIT */
/* misuse: how every layer reports API misuse it detects: one line on
 * stderr that starts with "recycle:" and names the pointer, then abort().
 * Also the internal assertion macro of check level 2. */
#ifndef RCY_MISUSE_H
#define RCY_MISUSE_H

#include "recycle_config.h" /* RCY_CHECK_LEVEL */
#include "util/compiler.h"

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
_Noreturn void
rcy__misuse(const char *fmt, ...);

/* Level 3 runs whole-structure validators; at most every RCY_VALIDATE_EVERY
   calls of a hot slow path, so that tests stay affordable. */
#define RCY_VALIDATE_EVERY 256

#if RCY_CHECK_LEVEL >= 2
#define RCY_ASSERT(cond)                                                                           \
    ((cond) ? (void)0                                                                              \
            : rcy__misuse("internal assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__))
#else
#define RCY_ASSERT(cond) ((void)0)
#endif

#endif
