/* SPDX-License-Identifier: MIT */
/* large: the system allocator behind a header and a membership set.
 *
 * The set (a ptrmap) answers "is this a live large block of this heap?"
 * exactly, so a foreign pointer, a block of another heap and a second free
 * are all reported, in every build, without touching the pointer's memory.
 * Its cost, a hash insert and delete, is small beside malloc's own for
 * blocks over 512 bytes. */
#include "mem/large.h"

#include <stdint.h>
#include <string.h>

#include "util/sys.h"

/* Larger requests fail at once: no allocator can serve them, and some
   (sanitizers' among them) abort instead of returning NULL. */
#define LARGE_MAX ((size_t)PTRDIFF_MAX - sizeof(rcy_large))

void rcy__larges_init(rcy_larges *L, void *owner)
{
    memset(L, 0, sizeof *L);
    L->owner = owner;
}

/* The set's value: the header, whose malloc alignment leaves bit 0 free
   for the kind (two kinds). */
static void *tagged(rcy_large *b, unsigned kind)
{
    return (void *)((uintptr_t)b | kind);
}

static unsigned kind_of(void *value)
{
    return (unsigned)((uintptr_t)value & 1);
}

static rcy_large *untagged(void *value)
{
    return (rcy_large *)((uintptr_t)value & ~(uintptr_t)1);
}

static void *enter(rcy_larges *L, rcy_large *b, size_t n, unsigned kind)
{
    void **slot = rcy__ptrmap_insert(&L->blocks, (uintptr_t)(b + 1));
    if (!slot)
        return NULL;
    *slot = tagged(b, kind);
    b->size = n;
    b->owner = L->owner;
    b->check = RCY_LARGE_CHECK(b + 1);
    L->count++;
    L->bytes += n;
    return b + 1;
}

static void leave(rcy_larges *L, rcy_large *b)
{
    rcy__ptrmap_delete(&L->blocks, (uintptr_t)(b + 1));
    b->owner = NULL;
    L->count--;
    L->bytes -= b->size;
}

int rcy__large_owned(const rcy_larges *L, const void *p)
{
    return rcy__ptrmap_find(&L->blocks, (uintptr_t)p) != NULL;
}

#if defined(__GNUC__)
__attribute__((no_sanitize("address")))
#endif
int rcy__large_marked(const void *p)
{
    return rcy__large_header(p)->check == RCY_LARGE_CHECK(p);
}

void *rcy__large_alloc(rcy_larges *L, size_t n, unsigned kind, const void *tag)
{
    if (n > LARGE_MAX)
        return NULL;
    rcy_large *b = rcy__sys_malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->tag = tag;
    void *p = enter(L, b, n, kind);
    if (!p)
        rcy__sys_free(b);
    return p;
}

void *rcy__large_realloc(rcy_larges *L, void *p, size_t n)
{
    if (n > LARGE_MAX)
        return NULL;
    rcy_large *old = rcy__large_header(p);
    size_t old_size = old->size;
    unsigned kind = kind_of(*rcy__ptrmap_find(&L->blocks, (uintptr_t)p));
    leave(L, old);
    rcy_large *b = rcy__sys_realloc(old, sizeof *b + n);
    if (!b) {
        enter(L, old, old_size, kind); /* cannot fail: the set just shrank by one */
        return NULL;
    }
    return enter(L, b, n, kind); /* likewise */
}

void rcy__large_free(rcy_larges *L, void *p)
{
    rcy_large *b = rcy__large_header(p);
    leave(L, b);
    rcy__sys_free(b);
}

void *rcy__larges_next(const rcy_larges *L, unsigned kind, size_t *cursor)
{
    for (size_t i = *cursor; L->blocks.slots && i <= L->blocks.mask; i++) {
        const rcy_ptrmap_slot *s = &L->blocks.slots[i];
        if (s->key && kind_of(s->value) == kind) {
            *cursor = i + 1;
            return (void *)s->key;
        }
    }
    return NULL;
}

void rcy__larges_fini(rcy_larges *L)
{
    for (size_t i = 0; L->blocks.slots && i <= L->blocks.mask; i++)
        if (L->blocks.slots[i].key)
            rcy__sys_free(untagged(L->blocks.slots[i].value));
    rcy__ptrmap_fini(&L->blocks);
    rcy__larges_init(L, L->owner);
}
