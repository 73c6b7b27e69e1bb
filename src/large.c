/* large: the system allocator behind a checked header.
 *
 * A block is valid when its header names this heap as owner and its list
 * neighbours point back at it (glibc's unlink check, used as an identity
 * test). Freeing clears the owner, so a second free is recognised as long
 * as the memory has not been handed out again. */
#include "large.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void rcy__larges_init(rcy_larges *L, void *owner)
{
    memset(L, 0, sizeof *L);
    L->ring.next = L->ring.prev = &L->ring;
    L->ring.owner = owner;
}

static void link_block(rcy_larges *L, rcy_large *b)
{
    b->owner = L->ring.owner;
    b->prev = &L->ring;
    b->next = L->ring.next;
    L->ring.next->prev = b;
    L->ring.next = b;
    L->count++;
    L->bytes += b->size;
}

static void unlink_block(rcy_larges *L, rcy_large *b)
{
    b->prev->next = b->next;
    b->next->prev = b->prev;
    b->owner = NULL;
    L->count--;
    L->bytes -= b->size;
}

int rcy__large_owned(const rcy_larges *L, const void *p)
{
    if (((uintptr_t)p & 15) != 0)
        return 0;
    const rcy_large *b = rcy__large_header(p);
    return b->owner == L->ring.owner && b->owner != NULL && b->next->prev == b &&
           b->prev->next == b;
}

void *rcy__large_alloc(rcy_larges *L, size_t n)
{
    if (n > SIZE_MAX - sizeof(rcy_large) - 16)
        return NULL;
    rcy_large *b = malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->size = n;
    link_block(L, b);
    return b + 1;
}

void *rcy__large_realloc(rcy_larges *L, void *p, size_t n)
{
    if (n > SIZE_MAX - sizeof(rcy_large) - 16)
        return NULL;
    rcy_large *old = rcy__large_header(p);
    unlink_block(L, old);
    rcy_large *b = realloc(old, sizeof *b + n);
    if (!b) {
        link_block(L, old);
        return NULL;
    }
    b->size = n;
    link_block(L, b);
    return b + 1;
}

void rcy__large_free(rcy_larges *L, void *p)
{
    rcy_large *b = rcy__large_header(p);
    unlink_block(L, b);
    free(b);
}

void rcy__larges_fini(rcy_larges *L)
{
    rcy_large *b = L->ring.next;
    while (b != &L->ring) {
        rcy_large *next = b->next;
        free(b);
        b = next;
    }
    rcy__larges_init(L, L->ring.owner);
}
