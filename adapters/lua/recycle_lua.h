/* SPDX-License-Identifier: MIT */
/* recycle_lua: Lua 5.4 states whose memory comes from a recycle heap.
 *
 * rcy_lua_alloc is a lua_Alloc over the heap given as its user data: Lua
 * tells the size of every block it frees, so frees are rcy_free_sized
 * (no page-map lookup for small blocks). A heap serves one state at a time
 * (Lua states are single-threaded, as recycle heaps are). A memory limit is
 * the heap's hard limit (rcy_heap_set_limit): an allocation that would
 * cross it gets NULL, Lua runs its emergency full collection, retries, and
 * raises its own "not enough memory" error, which a script can catch with
 * pcall. docs/integrations.md shows the whole use. */
#ifndef RECYCLE_LUA_H
#define RECYCLE_LUA_H

#include <stddef.h>

#include "lua.h"
#include "recycle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The lua_Alloc: ud is the rcy_heap. */
void *rcy_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* A new state over heap h (lua_newstate(rcy_lua_alloc, h)); NULL if out
   of memory. Close it with lua_close; h outlives it. */
lua_State *rcy_lua_newstate(rcy_heap *h);

/* Gives the states over h a memory limit of `bytes` held from the OS
   (the heap's hard limit; 0 removes it). 0, or -1 with errno EINVAL. */
int rcy_lua_set_limit(rcy_heap *h, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
