/* SPDX-License-Identifier: MIT */
/* recycle_sqlite: SQLite's memory from a recycle heap.
 *
 * rcy_sqlite_use(h) installs sqlite3_mem_methods over heap h
 * (SQLITE_CONFIG_MALLOC) and puts SQLite in single-threaded mode
 * (SQLITE_CONFIG_SINGLETHREAD): a recycle heap is used by one thread at a
 * time and SQLite's memory calls carry no heap argument, so every
 * connection of the process then allocates from h, from one thread.
 * Call it before sqlite3_initialize or any other use of SQLite (or after
 * sqlite3_shutdown); h must outlive SQLite's use of it. docs/integrations.md
 * shows the whole use. */
#ifndef RECYCLE_SQLITE_H
#define RECYCLE_SQLITE_H

#include "recycle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SQLITE_OK, or SQLite's error code (SQLITE_MISUSE once SQLite is
   initialized). */
int rcy_sqlite_use(rcy_heap *h);

#ifdef __cplusplus
}
#endif

#endif
