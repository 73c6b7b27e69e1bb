/* SPDX-License-Identifier: MIT */
/* recycle_sqlite: sqlite3_mem_methods over a recycle heap (recycle_sqlite.h).
 *
 * SQLite passes its application data to xInit and xShutdown only, so the
 * heap of the other methods is this file's one variable, set by
 * rcy_sqlite_use before SQLite may call them. SQLite's sizes are ints;
 * it never asks for 0 or a negative size (its own wrappers check), and
 * xRoundup tells it the size it will get, so that it can use the slack.
 * SQLite asks xRoundup first and then xMalloc for the rounded size, so a
 * block's stored size is the size it can use. */
#include "recycle_sqlite.h"

#include <sqlite3.h>
#include <string.h>

static rcy_heap *sqlite_heap;

/* Each block carries its size in 8 bytes in front (SQLite needs 8-byte
   alignment only), as SQLite's own allocator does where the C library
   cannot tell a block's size: xSize, which SQLite calls on every malloc
   and free to count memory, is then one load, and a free is
   rcy_free_sized, without the page-map lookup (callgrind: xSize through
   rcy_usable_size was 4% of an insert-and-query run). HEAD is that
   header; a block of n bytes is an rcy block of n + HEAD. */
#define HEAD 8

static void *with_size(void *b, size_t n)
{
    if (!b)
        return NULL;
    memcpy(b, &n, sizeof n);
    return (char *)b + HEAD;
}

static size_t size_of(const void *p)
{
    size_t n;
    memcpy(&n, (const char *)p - HEAD, sizeof n);
    return n;
}

static void *mem_malloc(int n)
{
    return with_size(rcy_malloc(sqlite_heap, (size_t)n + HEAD), (size_t)n);
}

static void mem_free(void *p)
{
    if (p)
        rcy_free_sized(sqlite_heap, (char *)p - HEAD, size_of(p) + HEAD);
}

static void *mem_realloc(void *p, int n)
{
    if (!p)
        return mem_malloc(n);
    void *b = rcy_realloc(sqlite_heap, (char *)p - HEAD, (size_t)n + HEAD);
    return with_size(b, (size_t)n);
}

static int mem_size(void *p)
{
    return p ? (int)size_of(p) : 0;
}

/* The most a request of n bytes can use in the block it gets: rcy_malloc's
   small blocks are multiples of 16 bytes, a large block is the size asked
   for; less the header. */
static int mem_roundup(int n)
{
    if (n <= 0)
        n = 1;
    if (n + HEAD <= RCY_SMALL_MAX)
        return ((n + HEAD + 15) & ~15) - HEAD;
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
