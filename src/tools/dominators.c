/* SPDX-License-Identifier: MIT */
/* dominators: the dominator tree of the live objects and their retained
 * sizes (what Eclipse MAT and Chrome's heap snapshots show), by the
 * semi-NCA algorithm (Georgiadis and Tarjan's simplification of
 * Lengauer-Tarjan: semidominators with path compression, then each
 * immediate dominator as a nearest common ancestor on the tree built so
 * far). O(E log V) in theory, near-linear on heaps; every loop iterative,
 * so a 10,000,000-long chain needs no C stack.
 *
 * The graph: a virtual root (preorder number 1) with an edge to every
 * root of rcy_why_alive, and every live object's references. Steps:
 *   1. depth-first search from the virtual root: an explicit stack of
 *      edge numbers; each edge is recorded once, as (parent's preorder
 *      number, child's node), when its source is first numbered;
 *   2. predecessor lists by preorder number, from the recorded edges;
 *   3. semidominators in reverse preorder, eval with path compression;
 *   4. immediate dominators in preorder (the NCA step);
 *   5. retained bytes and objects summed up the tree in reverse preorder.
 * The snapshot keeps the node numbering (heapgraph.h) so that queries map
 * an address without reading it. */
#include <errno.h>
#include <string.h>

#include "tools/heapgraph.h"
#include "util/sys.h"

#define VROOT 1u /* the virtual root's preorder number */

struct rcy_dominators {
    rcy_hgraph g;
    uint32_t *pre;    /* node -> preorder number; 0: not reached */
    uint32_t *vertex; /* preorder number -> node (VROOT: none) */
    uint32_t *idom;   /* by preorder number */
    size_t *retained; /* bytes, by preorder number */
    uint32_t *count;  /* objects retained, by preorder number */
    uint32_t reached; /* preorder numbers used, the virtual root's included */
    size_t roots, bytes;
};

typedef struct edges {
    uint32_t *src; /* preorder number of the source */
    uint32_t *dst; /* node of the target */
    size_t n, cap;
} edges;

static int edges_push(edges *e, uint32_t src, uint32_t dst)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 1024;
        uint32_t *s = rcy__sys_realloc(e->src, cap * sizeof *s);
        if (!s)
            return -1;
        e->src = s;
        uint32_t *d = rcy__sys_realloc(e->dst, cap * sizeof *d);
        if (!d)
            return -1;
        e->dst = d;
        e->cap = cap;
    }
    e->src[e->n] = src;
    e->dst[e->n++] = dst;
    return 0;
}

typedef struct dfs {
    const rcy_hgraph *g;
    edges *e;
    uint32_t *stack; /* edge numbers */
    size_t depth, stack_cap;
    uint32_t from; /* preorder number of the object being walked */
    int failed;
} dfs;

static int stack_push(dfs *s, size_t edge)
{
    if (s->depth == s->stack_cap) {
        size_t cap = s->stack_cap ? 2 * s->stack_cap : 1024;
        uint32_t *st = rcy__sys_realloc(s->stack, cap * sizeof *st);
        if (!st)
            return -1;
        s->stack = st;
        s->stack_cap = cap;
    }
    s->stack[s->depth++] = (uint32_t)edge;
    return 0;
}

static void add_edge(dfs *s, uint32_t child)
{
    if (edges_push(s->e, s->from, child) || stack_push(s, s->e->n - 1))
        s->failed = 1;
}

static RCY_ALWAYS_INLINE void visit_edge(void **slot, void *arg)
{
    dfs *s = arg;
    if (!*slot)
        return;
    uint32_t j = rcy__hg_slot(s->g, *slot);
    if (j != RCY_HG_NONE)
        add_edge(s, j);
}

/* Step 1: preorder numbers, parents, and every edge among reached objects. */
static int search(rcy_dominators *d, edges *e, uint32_t *parent)
{
    const rcy_hgraph *g = &d->g;
    dfs s = {g, e, NULL, 0, 0, VROOT, 0};
    for (size_t i = g->n; i-- > 0;)
        if (g->obj[i] && rcy__hg_is_root(g, (uint32_t)i)) {
            add_edge(&s, (uint32_t)i);
            d->roots++;
        }
    uint32_t next = VROOT + 1;
    d->vertex[VROOT] = RCY_HG_NONE;
    /* numbered: a bit per node, which the cache holds where pre[] misses */
    uint64_t *numbered = rcy__sys_calloc(g->n / 64 + 1, sizeof *numbered);
    s.failed |= !numbered;
    while (s.depth && !s.failed) {
        uint32_t edge = s.stack[--s.depth], node = e->dst[edge];
        uint64_t bit = (uint64_t)1 << (node % 64);
        if (numbered[node / 64] & bit)
            continue;
        numbered[node / 64] |= bit;
        d->pre[node] = next;
        d->vertex[next] = node;
        parent[next] = e->src[edge];
        s.from = next++;
        void *o = g->obj[node];
        const rcy_type *t = rcy__type(o);
        if (rcy__collectable(t))
            rcy__visit_refs(o, t, visit_edge, &s);
    }
    rcy__sys_free(s.stack);
    rcy__sys_free(numbered);
    d->reached = next - 1;
    return s.failed ? -1 : 0;
}

/* Step 2: predecessors of each preorder number, as [first[w], first[w+1]). */
static int predecessors(const rcy_dominators *d, const edges *e, uint32_t **first_out,
                        uint32_t **pred_out)
{
    size_t r = d->reached;
    uint32_t *first = rcy__sys_calloc(r + 2, sizeof *first);
    uint32_t *pred = rcy__sys_malloc((e->n ? e->n : 1) * sizeof *pred);
    if (!first || !pred) {
        rcy__sys_free(first);
        rcy__sys_free(pred);
        return -1;
    }
    for (size_t k = 0; k < e->n; k++)
        first[d->pre[e->dst[k]] + 1]++;
    for (size_t w = 1; w <= r + 1; w++)
        first[w] += first[w - 1];
    for (size_t k = 0; k < e->n; k++) {
        uint32_t w = d->pre[e->dst[k]];
        pred[first[w]++] = e->src[k];
    }
    for (size_t w = r + 1; w > 0; w--) /* the fill moved each start to the next one's */
        first[w] = first[w - 1];
    first[0] = 0;
    *first_out = first;
    *pred_out = pred;
    return 0;
}

/* eval with path compression, iterative: the node of least semidominator
   on the path from v up to the root of its tree in the linked forest. */
static uint32_t eval(uint32_t v, uint32_t *anc, uint32_t *label, const uint32_t *semi,
                     uint32_t *path)
{
    if (!anc[v])
        return v;
    size_t n = 0;
    for (uint32_t x = v; anc[anc[x]]; x = anc[x])
        path[n++] = x;
    while (n) {
        uint32_t y = path[--n], a = anc[y];
        if (semi[label[a]] < semi[label[y]])
            label[y] = label[a];
        anc[y] = anc[a];
    }
    return label[v];
}

/* Steps 3 and 4. parent is reused as the immediate dominators. */
static int dominate(rcy_dominators *d, const uint32_t *first, const uint32_t *pred,
                    uint32_t *parent)
{
    size_t r = d->reached;
    uint32_t *semi = rcy__sys_malloc((r + 1) * sizeof *semi);
    uint32_t *label = rcy__sys_malloc((r + 1) * sizeof *label);
    uint32_t *anc = rcy__sys_calloc(r + 1, sizeof *anc);
    uint32_t *path = rcy__sys_malloc((r + 1) * sizeof *path);
    int ok = semi && label && anc && path;
    if (ok) {
        for (uint32_t i = 0; i <= r; i++)
            semi[i] = label[i] = i;
        for (uint32_t w = (uint32_t)r; w > VROOT; w--) {
            uint32_t s = semi[w];
            for (uint32_t k = first[w]; k < first[w + 1]; k++) {
                uint32_t u = eval(pred[k], anc, label, semi, path);
                if (semi[u] < s)
                    s = semi[u];
            }
            semi[w] = s;
            anc[w] = parent[w];
        }
        d->idom[VROOT] = 0;
        for (uint32_t w = VROOT + 1; w <= r; w++) {
            uint32_t i = parent[w];
            while (i > semi[w])
                i = d->idom[i];
            d->idom[w] = i;
        }
    }
    rcy__sys_free(semi);
    rcy__sys_free(label);
    rcy__sys_free(anc);
    rcy__sys_free(path);
    return ok ? 0 : -1;
}

/* The bytes of each reached object, by preorder number, read in address
   order from the pools' block sizes (large objects from their headers):
   no object is read. Also the bytes of every live object. */
static void own_bytes(rcy_dominators *d)
{
    const rcy_hgraph *g = &d->g;
    for (size_t p = 0; p < g->narenas * RCY_POOLS_PER_ARENA; p++) {
        const rcy_hg_pool *pl = &g->pools[p];
        if (pl->base == RCY_HG_NONE)
            continue;
        for (uint32_t k = pl->base; k < pl->base + pl->count; k++) {
            if (!g->obj[k])
                continue;
            d->bytes += pl->stride;
            if (d->pre[k])
                d->retained[d->pre[k]] = pl->stride;
        }
    }
    for (size_t i = g->npool; i < g->n; i++) {
        if (g->obj[i]) {
            size_t b = rcy__hg_bytes(g, (uint32_t)i);
            d->bytes += b;
            if (d->pre[i])
                d->retained[d->pre[i]] = b;
        }
    }
}

/* Step 5. */
static void retain(rcy_dominators *d)
{
    d->retained[VROOT] = 0;
    own_bytes(d);
    for (uint32_t w = 1; w <= d->reached; w++)
        d->count[w] = w != VROOT;
    for (uint32_t w = d->reached; w > VROOT; w--) {
        d->retained[d->idom[w]] += d->retained[w];
        d->count[d->idom[w]] += d->count[w];
    }
}

static int compute(rcy_dominators *d)
{
    size_t n = d->g.n + 2;
    d->pre = rcy__sys_calloc(n, sizeof *d->pre);
    d->vertex = rcy__sys_malloc(n * sizeof *d->vertex);
    d->idom = rcy__sys_malloc(n * sizeof *d->idom);
    uint32_t *parent = rcy__sys_malloc(n * sizeof *parent);
    edges e = {0};
    uint32_t *first = NULL, *pred = NULL;
    int r = -1;
    if (d->pre && d->vertex && d->idom && parent && !rcy__hg_count_refs(&d->g) &&
        !search(d, &e, parent) && !predecessors(d, &e, &first, &pred)) {
        rcy__sys_free(e.src);
        rcy__sys_free(e.dst);
        e.src = e.dst = NULL;
        r = dominate(d, first, pred, parent);
    }
    rcy__sys_free(e.src);
    rcy__sys_free(e.dst);
    rcy__sys_free(first);
    rcy__sys_free(pred);
    rcy__sys_free(parent);
    if (r)
        return -1;
    d->retained = rcy__sys_malloc((d->reached + 1) * sizeof *d->retained);
    d->count = rcy__sys_malloc((d->reached + 1) * sizeof *d->count);
    if (!d->retained || !d->count)
        return -1;
    retain(d);
    return 0;
}

rcy_dominators *rcy_dominators_compute(rcy_heap *h)
{
    if (!h) {
        errno = EINVAL;
        return NULL;
    }
    rcy_dominators *d = rcy__sys_calloc(1, sizeof *d);
    if (!d) {
        errno = ENOMEM;
        return NULL;
    }
    if (rcy__hg_build(&d->g, h)) {
        rcy__sys_free(d);
        return NULL;
    }
    if (compute(d)) {
        rcy_dominators_free(d);
        errno = ENOMEM;
        return NULL;
    }
    rcy__sys_free(d->g.refs); /* the roots are counted: the rest is kept */
    d->g.refs = NULL;
    return d;
}

void rcy_dominators_free(rcy_dominators *d)
{
    if (!d)
        return;
    rcy__hg_free(&d->g);
    rcy__sys_free(d->pre);
    rcy__sys_free(d->vertex);
    rcy__sys_free(d->idom);
    rcy__sys_free(d->retained);
    rcy__sys_free(d->count);
    rcy__sys_free(d);
}

static uint32_t preorder_of(const rcy_dominators *d, const void *o)
{
    if (!d || !o || ((uintptr_t)o & (sizeof(rcy_objhead) - 1)))
        return 0;
    uint32_t i = rcy__hg_node(&d->g, o);
    return i == RCY_HG_NONE ? 0 : d->pre[i];
}

size_t rcy_dominators_retained(const rcy_dominators *d, const void *o)
{
    uint32_t w = preorder_of(d, o);
    return w ? d->retained[w] : 0;
}

const void *rcy_dominators_idom(const rcy_dominators *d, const void *o)
{
    uint32_t w = preorder_of(d, o);
    if (!w || d->idom[w] == VROOT)
        return NULL;
    return d->g.obj[d->vertex[d->idom[w]]];
}

void rcy_dominators_get_summary(const rcy_dominators *d, rcy_dominators_summary *s)
{
    memset(s, 0, sizeof *s);
    if (!d)
        return;
    s->objects = d->g.live;
    s->bytes = d->bytes;
    s->reachable = d->reached - 1;
    s->reachable_bytes = d->retained[VROOT];
    s->roots = d->roots;
    s->garbage = s->objects - s->reachable;
    s->garbage_bytes = s->bytes - s->reachable_bytes;
}

static rcy_retainer retainer_of(const rcy_dominators *d, uint32_t w, const void *accumulation)
{
    const void *o = d->g.obj[d->vertex[w]];
    return (rcy_retainer){o, rcy__type(o), d->retained[w], d->count[w], accumulation};
}

/* Keeps out[0..*n) the largest retained, largest first, with w offered. */
static void offer(const rcy_dominators *d, uint32_t *best, size_t *n, size_t max, uint32_t w)
{
    size_t k = *n;
    if (k == max) {
        if (d->retained[best[k - 1]] >= d->retained[w])
            return;
        k--;
    }
    while (k > 0 && d->retained[best[k - 1]] < d->retained[w]) {
        best[k] = best[k - 1];
        k--;
    }
    best[k] = w;
    if (*n < max)
        ++*n;
}

size_t rcy_dominators_top(const rcy_dominators *d, rcy_retainer *out, size_t max)
{
    if (!d || !out || !max)
        return 0;
    uint32_t *best = rcy__sys_malloc(max * sizeof *best);
    if (!best)
        return 0;
    size_t n = 0;
    for (uint32_t w = VROOT + 1; w <= d->reached; w++)
        offer(d, best, &n, max, w);
    for (size_t k = 0; k < n; k++)
        out[k] = retainer_of(d, best[k], d->g.obj[d->vertex[best[k]]]);
    rcy__sys_free(best);
    return n;
}

/* Down the dominator tree from w while one child retains 80% of it. */
static uint32_t accumulation(const rcy_dominators *d, const uint32_t *big, uint32_t w)
{
    while (big[w] && d->retained[big[w]] * 5 >= d->retained[w] * 4)
        w = big[w];
    return w;
}

size_t rcy_dominators_suspects(const rcy_dominators *d, double share, rcy_retainer *out, size_t max)
{
    if (!d || !out || !max || !(share >= 0 && share <= 1))
        return 0;
    uint32_t *big = rcy__sys_calloc(d->reached + 1, sizeof *big); /* largest child */
    uint32_t *best = rcy__sys_malloc(max * sizeof *best);
    size_t n = 0;
    if (big && best) {
        for (uint32_t w = VROOT + 1; w <= d->reached; w++) {
            uint32_t p = d->idom[w];
            if (!big[p] || d->retained[w] > d->retained[big[p]])
                big[p] = w;
        }
        double floor = share * (double)d->retained[VROOT];
        for (uint32_t w = VROOT + 1; w <= d->reached; w++)
            if (d->idom[w] == VROOT && (double)d->retained[w] >= floor && d->retained[w])
                offer(d, best, &n, max, w);
        for (size_t k = 0; k < n; k++)
            out[k] = retainer_of(d, best[k], d->g.obj[d->vertex[accumulation(d, big, best[k])]]);
    }
    rcy__sys_free(big);
    rcy__sys_free(best);
    return n;
}
