/* SPDX-License-Identifier: MIT */
/* misuse: the single exit for detected misuse. A library that found a bad
 * free cannot know what else is corrupt, so it stops the program, as
 * glibc's "free(): invalid pointer" does, after saying what it saw. */
#include "util/misuse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void rcy__misuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("recycle: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}
