/* SPDX-License-Identifier: MIT */
/* options: the process's tunables, in one table (options.c): each has a
 * default, an environment variable read once per process, and the public
 * getter and setter (rcy_option_get, rcy_option_set in recycle.h). Options
 * are defaults for heaps made afterwards: rcy_heap_new reads them, and a
 * heap's own settings (rcy_gc_set_threshold, rcy_heap_set_limit, ...)
 * change that heap alone. Any layer may read them: this is the lowest. */
#ifndef RCY_OPTIONS_H
#define RCY_OPTIONS_H

#include "recycle.h"

/* The option's value, as rcy_option_get: the environment is read first if
   it has not been yet. o must be a valid option. */
long rcy__option(rcy_option o);

#endif
