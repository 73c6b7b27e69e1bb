/* SPDX-License-Identifier: MIT */
/* unwind: libunwind through dlopen, backtrace() as the fallback
 * (unwind.h). The unwinder is chosen once, under pthread_once, and never
 * unloaded: traces may be taken until the process exits. */
#include "tools/unwind.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef int (*unwind_fn)(void **, int);

static unwind_fn unwinder = backtrace;
static const char *unwinder_name = "backtrace";
static pthread_once_t unwinder_once = PTHREAD_ONCE_INIT;

static void load_unwinder(void)
{
    const char *want = getenv("RCY_TRACE_UNWINDER");
    if (want && strcmp(want, "backtrace") == 0)
        return;
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return;
    void *fn = dlsym(lib, "unw_backtrace");
    if (!fn) {
        dlclose(lib);
        return;
    }
    /* a function's address as dlsym returns it (POSIX allows the cast) */
    memcpy(&unwinder, &fn, sizeof unwinder);
    unwinder_name = "libunwind";
}

void rcy__unwind_init(void)
{
    pthread_once(&unwinder_once, load_unwinder);
}

/* noinline: the frames the caller drops (up to the public function's
   caller) are the same whichever unwinder runs */
__attribute__((noinline)) int rcy__unwind(void **buf, int max)
{
    return unwinder(buf, max);
}

const char *rcy__unwinder_name(void)
{
    return unwinder_name;
}
