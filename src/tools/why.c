/* SPDX-License-Identifier: MIT */
/* why: rcy_why_alive, the shortest chain of references from a root to an
 * object (objgraph's find_backref_chain, computed the other way round).
 *
 * Three passes over the snapshot of live objects (heapgraph.h): the
 * references from the collected set to each object, which gives the roots
 * (count above those references, as a full collection finds them); then a
 * breadth-first search from every root at once, along the references of
 * every object, until the target is met. The first time it is met, the
 * parents recorded give a chain of the fewest references from any root.
 * The slot offsets are found again on the chain alone, so the search keeps
 * one word per object. Objects on the chain are held while the caller's
 * function sees them (it may release what it likes). */
#include <errno.h>

#include "tools/heapgraph.h"
#include "tools/tools.h"
#include "util/sys.h"

typedef struct bfs {
    const rcy_hgraph *g;
    uint32_t *parent; /* valid where seen */
    uint64_t *seen;   /* a bit per node: small enough for the cache, unlike parent */
    uint32_t *queue;
    size_t tail;
    uint32_t from;
} bfs;

static int seen_test_set(uint64_t *seen, uint32_t j)
{
    uint64_t bit = (uint64_t)1 << (j % 64), w = seen[j / 64];
    seen[j / 64] = w | bit;
    return (w & bit) != 0;
}

static RCY_ALWAYS_INLINE void visit_reach(void **slot, void *arg)
{
    bfs *s = arg;
    if (!*slot)
        return;
    uint32_t j = rcy__hg_slot(s->g, *slot);
    if (j != RCY_HG_NONE && !seen_test_set(s->seen, j)) {
        s->parent[j] = s->from;
        s->queue[s->tail++] = j;
    }
}

/* Parents from the roots to target; 0 if no root reaches it. */
static int search(const rcy_hgraph *g, uint32_t target, uint32_t *parent, uint64_t *seen,
                  uint32_t *queue)
{
    bfs s = {g, parent, seen, queue, 0, 0};
    for (size_t i = 0; i < g->n; i++) {
        if (g->obj[i] && rcy__hg_is_root(g, (uint32_t)i)) {
            queue[s.tail++] = (uint32_t)i;
            parent[i] = (uint32_t)i; /* a root is its own parent */
            seen_test_set(seen, (uint32_t)i);
        }
    }
    for (size_t head = 0; head < s.tail && !((seen[target / 64] >> (target % 64)) & 1); head++) {
        void *o = g->obj[s.from = queue[head]];
        const rcy_type *t = rcy__type(o);
        if (rcy__collectable(t))
            rcy__visit_refs(o, t, visit_reach, &s);
    }
    return (int)((seen[target / 64] >> (target % 64)) & 1);
}

typedef struct find_slot {
    const void *child;
    void **slot;
    size_t index, seen;
} find_slot;

static RCY_ALWAYS_INLINE void visit_find(void **slot, void *arg)
{
    find_slot *f = arg;
    if (!f->slot && *slot == f->child) {
        f->slot = slot;
        f->index = f->seen;
    }
    f->seen++;
}

size_t rcy__slot_offset(const void *o, size_t payload, const void *child)
{
    find_slot f = {child, NULL, 0, 0};
    rcy__visit_refs((void *)o, rcy__type(o), visit_find, &f);
    uintptr_t s = (uintptr_t)f.slot, base = (uintptr_t)o;
    if (f.slot && s >= base && s - base < payload)
        return (size_t)(s - base);
    return RCY_PATH_OUTSIDE | f.index;
}

static int deliver(const rcy_hgraph *g, const uint32_t *parent, uint32_t target, rcy_path_fn fn,
                   void *arg)
{
    size_t len = 1;
    for (uint32_t i = target; parent[i] != i; i = parent[i])
        len++;
    void **chain = rcy__sys_malloc(len * sizeof *chain);
    size_t *offset = rcy__sys_malloc(len * sizeof *offset);
    if (!chain || !offset) {
        rcy__sys_free(chain);
        rcy__sys_free(offset);
        errno = ENOMEM;
        return -1;
    }
    size_t k = len;
    for (uint32_t i = target;; i = parent[i]) {
        chain[--k] = g->obj[i];
        if (parent[i] == i)
            break;
    }
    for (k = 0; k + 1 < len; k++)
        offset[k] = rcy__slot_offset(
            chain[k], rcy__hg_bytes(g, rcy__hg_node(g, chain[k])) - sizeof(rcy_objhead),
            chain[k + 1]);
    offset[len - 1] = 0;
    for (k = 0; k < len; k++)
        rcy_incref(chain[k]);
    for (k = 0; k < len && fn; k++)
        fn(chain[k], offset[k], arg);
    for (k = 0; k < len; k++)
        rcy_decref(chain[k]);
    rcy__sys_free(chain);
    rcy__sys_free(offset);
    return len > INT32_MAX ? INT32_MAX : (int)len;
}

static int why_alive(rcy_hgraph *g, const void *target, rcy_path_fn fn, void *arg)
{
    uint32_t t = rcy__hg_node(g, target);
    if (t == RCY_HG_NONE) {
        errno = EINVAL;
        return -1;
    }
    if (rcy__hg_count_refs(g))
        return -1;
    uint32_t *parent = rcy__sys_malloc(g->n * sizeof *parent);
    uint32_t *queue = rcy__sys_malloc(g->n * sizeof *queue);
    uint64_t *seen = rcy__sys_calloc(g->n / 64 + 1, sizeof *seen);
    int r = -1;
    if (!parent || !queue || !seen)
        errno = ENOMEM;
    else if (!search(g, t, parent, seen, queue))
        r = 0;
    else
        r = deliver(g, parent, t, fn, arg);
    rcy__sys_free(seen);
    rcy__sys_free(parent);
    rcy__sys_free(queue);
    return r;
}

int rcy_why_alive(rcy_heap *h, const void *target, rcy_path_fn fn, void *arg)
{
    if (!h || !target || ((uintptr_t)target & (sizeof(rcy_objhead) - 1))) {
        errno = EINVAL;
        return -1;
    }
    rcy_hgraph g;
    if (rcy__hg_build(&g, h))
        return -1;
    int r = why_alive(&g, target, fn, arg);
    int e = errno;
    rcy__hg_free(&g);
    errno = e;
    return r;
}
