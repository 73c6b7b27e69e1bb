/* SPDX-License-Identifier: MIT */
/* recycle-python: python3 with recycle as its object and mem allocator.
 *
 * Before Python starts (Py_BytesMain), the OBJ and MEM domains get an
 * allocator over one recycle heap; the RAW domain stays the C library's.
 * CPython calls the OBJ and MEM domains only with the GIL held, and the GIL
 * is the lock that lets one heap, used by one thread at a time, serve every
 * Python thread. As pymalloc does, a free or realloc of a pointer the heap
 * does not own (say an extension's malloc'd block handed to PyMem_Free)
 * goes to the raw allocator: rcy_free_owned frees or declines in one
 * page-map lookup, realloc asks rcy_heap_owns.
 *
 * Python's home is the prefix of the libpython this was built with
 * (RCY_PYTHON_HOME), so the launcher runs from any folder, as
 * sys.executable for the subprocesses Python starts.
 *
 * `-X recycle-stats` (among the options before the script, -c or -m) or
 * RECYCLE_STATS=1 prints recycle's statistics report on stderr when Python
 * has finalized. PYTHONMALLOC and -X dev, which install an allocator of
 * Python's own, are honoured: the launcher then does not replace them. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recycle.h"

static rcy_heap *heap;
static PyMemAllocatorEx raw; /* the RAW domain's, for pointers not ours */

static void *py_malloc(void *ctx, size_t n)
{
    return rcy_malloc(ctx, n);
}

static void *py_calloc(void *ctx, size_t count, size_t n)
{
    return rcy_calloc(ctx, count, n);
}

static void *py_realloc(void *ctx, void *p, size_t n)
{
    if (p && !rcy_heap_owns(ctx, p))
        return raw.realloc(raw.ctx, p, n);
    return rcy_realloc(ctx, p, n);
}

/* One page-map lookup decides and frees; realloc is rarer, and asks
   rcy_heap_owns first. */
static void py_free(void *ctx, void *p)
{
    if (!rcy_free_owned(ctx, p))
        raw.free(raw.ctx, p);
}

/* 1 if -X recycle-stats is among Python's own options (before the
   script, -c or -m, whose arguments belong to the program). */
static int stats_requested(int argc, char **argv)
{
    const char *env = getenv("RECYCLE_STATS");
    if (env && strcmp(env, "1") == 0)
        return 1;
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0 || strncmp(a, "-c", 2) == 0 || strncmp(a, "-m", 2) == 0)
            break;
        if (strcmp(a, "-X") == 0 && i + 1 < argc && strcmp(argv[++i], "recycle-stats") == 0)
            return 1;
        if (strcmp(a, "-Xrecycle-stats") == 0)
            return 1;
        if (strcmp(a, "-W") == 0 || strcmp(a, "--check-hash-based-pycs") == 0)
            i++; /* options whose argument is the next word */
    }
    return 0;
}

/* Python installs its own allocator for PYTHONMALLOC and -X dev: the
   user asked for it. */
static int python_allocator_requested(int argc, char **argv)
{
    const char *env = getenv("PYTHONMALLOC");
    if (env && *env)
        return 1;
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strncmp(argv[i], "-c", 2) == 0 || strncmp(argv[i], "-m", 2) == 0)
            break;
        if ((strcmp(argv[i], "-X") == 0 && i + 1 < argc && strcmp(argv[i + 1], "dev") == 0) ||
            strcmp(argv[i], "-Xdev") == 0)
            return 1;
    }
    const char *dev = getenv("PYTHONDEVMODE");
    return dev && *dev;
}

static void set_home(void)
{
#ifdef RCY_PYTHON_HOME
    /* The supported way (PyConfig.home) needs Py_InitializeFromConfig,
       which Py_BytesMain does not take; its legacy global still works. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    Py_SetPythonHome(L"" RCY_PYTHON_HOME);
#pragma GCC diagnostic pop
#endif
}

int main(int argc, char **argv)
{
    int stats = stats_requested(argc, argv);
    set_home();
    if (!python_allocator_requested(argc, argv)) {
        heap = rcy_heap_new();
        if (!heap) {
            fprintf(stderr, "recycle-python: cannot create a recycle heap\n");
            return 1;
        }
        PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &raw);
        PyMemAllocatorEx mine = {heap, py_malloc, py_calloc, py_realloc, py_free};
        PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &mine);
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &mine);
    }
    int status = Py_BytesMain(argc, argv);
    if (stats) {
        if (heap)
            rcy_mem_print_stats(heap, stderr);
        else
            fprintf(stderr, "recycle-python: no statistics: Python's own allocator was "
                            "requested (PYTHONMALLOC or -X dev)\n");
    }
    /* The heap is not destroyed: objects Python did not free at
       finalization (and other threads, still running) may use it. */
    return status;
}
