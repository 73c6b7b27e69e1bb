/* SPDX-License-Identifier: MIT */
/* recycle_lua: the lua_Alloc over a recycle heap (recycle_lua.h).
 *
 * Lua's contract: nsize 0 frees (returns NULL); otherwise realloc, and
 * NULL only when the request cannot be met, the old block left intact.
 * When ptr is NULL, osize is a type tag, not a size; otherwise it is the
 * size Lua asked for last, exactly what rcy_free_sized wants. */
#include "recycle_lua.h"

void *rcy_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    rcy_heap *h = ud;
    if (nsize == 0) {
        if (ptr)
            rcy_free_sized(h, ptr, osize);
        return NULL;
    }
    if (!ptr)
        return rcy_malloc(h, nsize);
    return rcy_realloc(h, ptr, nsize);
}

lua_State *rcy_lua_newstate(rcy_heap *h)
{
    return lua_newstate(rcy_lua_alloc, h);
}

int rcy_lua_set_limit(rcy_heap *h, size_t bytes)
{
    return rcy_heap_set_limit(h, 0, bytes);
}
