/* SPDX-License-Identifier: MIT */
/* recycle_sqlite: sqlite3_mem_methods over a recycle heap (recycle_sqlite.h).
 *
 * SQLite passes its application data to xInit and xShutdown only, so the
 * heap of the other methods is this file's one variable, set by
 * rcy_sqlite_use before SQLite may call them. SQLite's sizes are ints;
 * it never asks for 0 or a negative size (its own wrappers check), and
 * xRoundup tells it the block size it will get, so that it can use the
 * slack (lookaside, page cache). */
#include "recycle_sqlite.h"

#include <sqlite3.h>

static rcy_heap *sqlite_heap;

static void *mem_malloc(int n)
{
    return rcy_malloc(sqlite_heap, (size_t)n);
}

static void mem_free(void *p)
{
    rcy_free(sqlite_heap, p);
}

static void *mem_realloc(void *p, int n)
{
    return rcy_realloc(sqlite_heap, p, (size_t)n);
}

static int mem_size(void *p)
{
    return p ? (int)rcy_usable_size(sqlite_heap, p) : 0;
}

/* rcy_malloc's small blocks are multiples of 16 bytes; a large block is
   the size asked for. */
static int mem_roundup(int n)
{
    if (n <= 0)
        return 16;
    if (n <= RCY_SMALL_MAX)
        return (n + 15) & ~15;
    return n;
}

static int mem_init(void *app)
{
    (void)app;
    return SQLITE_OK;
}

static void mem_shutdown(void *app)
{
    (void)app;
}

int rcy_sqlite_use(rcy_heap *h)
{
    static const sqlite3_mem_methods methods = {
        mem_malloc, mem_free, mem_realloc, mem_size, mem_roundup, mem_init, mem_shutdown, NULL,
    };
    int rc = sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
    if (rc != SQLITE_OK)
        return rc;
    sqlite_heap = h;
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}
