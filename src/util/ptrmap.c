/* SPDX-License-Identifier: MIT */
/* ptrmap: see ptrmap.h. Keys are mostly 8-byte aligned pointers, so the
 * low bits are dropped before a Fibonacci hash spreads them. The table keeps
 * its load under 3/4 and grows by doubling. */
#include "util/ptrmap.h"

#include "util/sys.h"

static size_t home_of(const rcy_ptrmap *m, uintptr_t key)
{
    uint64_t k = (uint64_t)key >> 3;
    return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & m->mask;
}

static rcy_ptrmap_slot *probe(const rcy_ptrmap *m, uintptr_t key)
{
    size_t i = home_of(m, key);
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & m->mask;
    return &m->slots[i];
}

void **rcy__ptrmap_find(const rcy_ptrmap *m, uintptr_t key)
{
    if (!m->slots)
        return NULL;
    rcy_ptrmap_slot *s = probe(m, key);
    return s->key ? &s->value : NULL;
}

static int grow(rcy_ptrmap *m)
{
    size_t oldcap = m->slots ? m->mask + 1 : 0;
    size_t cap = oldcap ? oldcap * 2 : 64;
    rcy_ptrmap_slot *old = m->slots;
    rcy_ptrmap_slot *fresh = rcy__sys_calloc(cap, sizeof *fresh);
    if (!fresh)
        return -1;
    m->slots = fresh;
    m->mask = cap - 1;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key)
            *probe(m, old[i].key) = old[i];
    rcy__sys_free(old);
    return 0;
}

void **rcy__ptrmap_insert(rcy_ptrmap *m, uintptr_t key)
{
    if ((!m->slots || (m->used + 1) * 4 > (m->mask + 1) * 3) && grow(m) != 0)
        return NULL;
    rcy_ptrmap_slot *s = probe(m, key);
    if (!s->key) {
        s->key = key;
        s->value = NULL;
        m->used++;
    }
    return &s->value;
}

void rcy__ptrmap_delete(rcy_ptrmap *m, uintptr_t key)
{
    if (!m->slots)
        return;
    rcy_ptrmap_slot *s = probe(m, key);
    if (!s->key)
        return;
    size_t hole = (size_t)(s - m->slots);
    s->key = 0;
    m->used--;
    for (size_t i = (hole + 1) & m->mask; m->slots[i].key; i = (i + 1) & m->mask) {
        size_t home = home_of(m, m->slots[i].key);
        if (((i - home) & m->mask) >= ((i - hole) & m->mask)) { /* hole lies on its probe path */
            m->slots[hole] = m->slots[i];
            m->slots[i].key = 0;
            hole = i;
        }
    }
}

void rcy__ptrmap_fini(rcy_ptrmap *m)
{
    rcy__sys_free(m->slots);
    m->slots = NULL;
    m->mask = m->used = 0;
}
