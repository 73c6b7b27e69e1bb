/* SPDX-License-Identifier: MIT */
/* trace: recording allocation traces (the design is in trace.h).
 *
 * Frames: the public allocation functions pass their own return address
 * (ra, util/compiler.h's RCY_CALLER) down their slow paths; with one frame
 * that is the whole traceback, with no unwinding. With more, the unwinder
 * (unwind.h: libunwind when it loads, else backtrace()) unwinds from here and the frames up to ra's
 * are dropped: they are the library's own, so frames[0] is always in the allocator's caller. */
#include "tools/trace.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "tools/unwind.h"
#include "util/sys.h"

/* Library frames between backtrace() and the public function's caller:
   the hook, the slow path, the public function, with room to spare. */
#define LIBRARY_FRAMES 12
#define MIN_RECS 1024
#define MIN_TBS 256

static rcy_mem *mem_of(rcy_heap *h)
{
    return rcy__mem_of(h);
}

rcy_tracer *rcy__tracer_of(rcy_heap *h)
{
    return mem_of(h)->trace_state;
}

/* ---- the generator and the sampler ---- */

static uint64_t next_random(rcy_tracer *T)
{
    /* splitmix64: every seed, 0 included, gives a full-period sequence */
    uint64_t z = (T->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Bytes to the next sample: exponential with mean T->mean. */
static double draw_interval(rcy_tracer *T)
{
    double u = ((double)(next_random(T) >> 11) + 1.0) * 0x1p-53; /* in (0, 1] */
    return -log(u) * (double)T->mean;
}

/* P(sampled) = 1 - exp(-n / mean): some event of the process falls in
   the block's n bytes; expm1 keeps it exact for n much below mean. Out of
   line: full tracing's hook makes no call for it. */
static RCY_NOINLINE double sampled_weight(size_t mean, size_t n)
{
    return n ? (double)n / -expm1(-(double)n / (double)mean) : 0.0;
}

double rcy__trace_weight(const rcy_tracer *T, size_t n)
{
    return RCY_LIKELY(!T->mean) ? (double)n : sampled_weight(T->mean, n);
}

/* ---- the table of large blocks' traces ---- */

/* Fibonacci hashing: the product's top bits, as many as the table of
   mask + 1 (a power of two) slots has. */
static unsigned shift_of(size_t mask)
{
    return 64u - (unsigned)__builtin_ctzll((unsigned long long)mask + 1);
}

static size_t slot_of(uintptr_t block, unsigned shift)
{
    return (size_t)(((uint64_t)block * 0x9E3779B97F4A7C15ull) >> shift);
}

static rcy_trace_rec *find_rec(const rcy_tracer *T, uintptr_t block)
{
    if (!T->recs)
        return NULL;
    for (size_t i = slot_of(block, T->shift);; i = (i + 1) & T->mask) {
        rcy_trace_rec *r = &T->recs[i];
        if (r->block == block)
            return r;
        if (!r->block)
            return NULL;
    }
}

static void put_rec(rcy_trace_rec *recs, size_t mask, const rcy_trace_rec *rec)
{
    size_t i = slot_of(rec->block, shift_of(mask));
    while (recs[i].block)
        i = (i + 1) & mask;
    recs[i] = *rec;
}

static int grow_recs(rcy_tracer *T)
{
    size_t cap = T->recs ? 2 * (T->mask + 1) : MIN_RECS;
    rcy_trace_rec *recs = rcy__sys_calloc(cap, sizeof *recs);
    if (!recs)
        return 0;
    for (size_t i = 0; T->recs && i <= T->mask; i++)
        if (T->recs[i].block)
            put_rec(recs, cap - 1, &T->recs[i]);
    rcy__sys_free(T->recs);
    T->recs = recs;
    T->mask = cap - 1;
    T->shift = shift_of(T->mask);
    return 1;
}

/* Backward-shift deletion: no tombstones, lookups stay short. */
static void delete_rec(rcy_tracer *T, rcy_trace_rec *r)
{
    size_t i = (size_t)(r - T->recs);
    for (size_t j = (i + 1) & T->mask; T->recs[j].block; j = (j + 1) & T->mask) {
        size_t home = slot_of(T->recs[j].block, T->shift);
        /* move j into the hole at i if its home is not in (i, j] */
        if (((j - home) & T->mask) >= ((j - i) & T->mask)) {
            T->recs[i] = T->recs[j];
            i = j;
        }
    }
    T->recs[i].block = 0;
    T->used--;
}

/* ---- small blocks' traces, beside their pools ---- */

/* The side of the arena at base, put in the cache; made if missing and
   make (NULL when it is missing, or out of memory). Out of line: the
   hook's common case, a cached arena, saves no registers for its call. */
static RCY_NOINLINE rcy_trace_side *side_lookup(rcy_tracer *T, uintptr_t base, int make)
{
    void **v = rcy__ptrmap_find(&T->sides, base);
    if (!v) {
        rcy_trace_side *side = make ? rcy__sys_calloc(1, sizeof *side) : NULL;
        if (!side)
            return NULL;
        v = rcy__ptrmap_insert(&T->sides, base);
        if (!v) {
            rcy__sys_free(side);
            return NULL;
        }
        side->base = base;
        *v = side;
    }
    size_t k = (base >> RCY_ARENA_SHIFT) & (RCY_TRACE_SIDE_CACHE - 1);
    T->side_cache[k].base = base;
    T->side_cache[k].side = *v;
    return *v;
}

/* The side of the arena at base from the cache, or NULL: no call. */
static inline rcy_trace_side *side_cached(const rcy_tracer *T, uintptr_t base)
{
    size_t k = (base >> RCY_ARENA_SHIFT) & (RCY_TRACE_SIDE_CACHE - 1);
    return T->side_cache[k].base == base ? T->side_cache[k].side : NULL;
}

static inline rcy_trace_side *side_at(rcy_tracer *T, uintptr_t base, int make)
{
    rcy_trace_side *side = side_cached(T, base);
    return RCY_LIKELY(side != NULL) ? side : side_lookup(T, base, make);
}

/* The slot of the small block at p (see side_at for make). */
static rcy_trace_slot *slot_at(rcy_tracer *T, uintptr_t p, int make)
{
    rcy_trace_side *side = side_at(T, p & ~(uintptr_t)(RCY_ARENA_SIZE - 1), make);
    if (!side)
        return NULL;
    rcy_trace_slot **pool = &side->pools[(p >> RCY_POOL_SHIFT) & (RCY_POOLS_PER_ARENA - 1)];
    if (RCY_UNLIKELY(!*pool) &&
        (!make || !(*pool = rcy__sys_calloc(RCY_TRACE_POOL_SLOTS, sizeof **pool))))
        return NULL;
    return &(*pool)[(p & (RCY_POOL_SIZE - 1)) >> RCY_CLASS_SHIFT];
}

/* As slot_at without making anything or moving the cache: for queries. */
static const rcy_trace_slot *find_slot(const rcy_tracer *T, uintptr_t p)
{
    void **v = rcy__ptrmap_find(&T->sides, p & ~(uintptr_t)(RCY_ARENA_SIZE - 1));
    const rcy_trace_slot *pool =
        v ? ((rcy_trace_side *)*v)->pools[(p >> RCY_POOL_SHIFT) & (RCY_POOLS_PER_ARENA - 1)] : NULL;
    return pool ? &pool[(p & (RCY_POOL_SIZE - 1)) >> RCY_CLASS_SHIFT] : NULL;
}

static void free_sides(rcy_tracer *T)
{
    for (size_t i = 0; T->sides.slots && i <= T->sides.mask; i++) {
        rcy_trace_side *side = T->sides.slots[i].value;
        if (!T->sides.slots[i].key)
            continue;
        for (size_t k = 0; k < RCY_POOLS_PER_ARENA; k++)
            rcy__sys_free(side->pools[k]);
        rcy__sys_free(side);
    }
    rcy__ptrmap_fini(&T->sides);
}

void rcy__trace_each(const rcy_tracer *T,
                     void (*fn)(uintptr_t block, uint32_t tb, uint32_t size, void *arg), void *arg)
{
    for (size_t i = 0; T->sides.slots && i <= T->sides.mask; i++) {
        const rcy_trace_side *side = T->sides.slots[i].value;
        if (!T->sides.slots[i].key)
            continue;
        for (size_t k = 0; k < RCY_POOLS_PER_ARENA; k++)
            for (size_t g = 0; side->pools[k] && g < RCY_TRACE_POOL_SLOTS; g++) {
                const rcy_trace_slot *s = &side->pools[k][g];
                if (s->tb)
                    fn(side->base + (k << RCY_POOL_SHIFT) + (g << RCY_CLASS_SHIFT), s->tb - 2,
                       s->size, arg);
            }
    }
    for (size_t i = 0; T->recs && i <= T->mask; i++)
        if (T->recs[i].block)
            fn(T->recs[i].block, T->recs[i].tb, T->recs[i].size, arg);
}

size_t rcy__trace_count(const rcy_tracer *T)
{
    return T->used + T->nslots;
}

/* ---- interned tracebacks ---- */

static uint64_t hash_frames(void *const *f, int n)
{
    uint64_t h = 0xCBF29CE484222325ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++)
        h = (h ^ (uint64_t)(uintptr_t)f[i]) * 0x100000001B3ull;
    return h ^ (h >> 29);
}

static int same_frames(const rcy_tracer *T, const rcy_trace_tb *tb, void *const *f, int n)
{
    if (tb->n != (uint32_t)n)
        return 0;
    void *const *g = T->frames + tb->first;
    for (int i = 0; i < n; i++) /* mostly one frame: no call of memcmp */
        if (g[i] != f[i])
            return 0;
    return 1;
}

uint32_t *rcy__trace_hash_index(const void *items, size_t n, size_t stride, size_t hash_at,
                                size_t cap)
{
    uint32_t *idx = rcy__sys_calloc(cap, sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        uint64_t hash;
        memcpy(&hash, (const char *)items + k * stride + hash_at, sizeof hash);
        size_t i = (size_t)hash & (cap - 1);
        while (idx[i])
            i = (i + 1) & (cap - 1);
        idx[i] = (uint32_t)k + 1;
    }
    return idx;
}

static int grow_tb_index(rcy_tracer *T)
{
    size_t cap = T->tb_index ? 2 * (T->tb_mask + 1) : (size_t)MIN_TBS * 2;
    uint32_t *idx =
        rcy__trace_hash_index(T->tbs, T->ntbs, sizeof *T->tbs, offsetof(rcy_trace_tb, hash), cap);
    if (!idx)
        return 0;
    rcy__sys_free(T->tb_index);
    T->tb_index = idx;
    T->tb_mask = cap - 1;
    return 1;
}

static int reserve(void **items, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 1;
    size_t n = *cap ? *cap : MIN_TBS;
    while (n < need)
        n *= 2;
    void *p = rcy__sys_realloc(*items, n * size);
    if (!p)
        return 0;
    *items = p;
    *cap = n;
    return 1;
}

/* The index of the traceback f[0..n), added if new; -1 out of memory. */
static long intern(rcy_tracer *T, void *const *f, int n)
{
    uint64_t h = hash_frames(f, n);
    if (T->tb_index) {
        for (size_t i = (size_t)h & T->tb_mask; T->tb_index[i]; i = (i + 1) & T->tb_mask) {
            const rcy_trace_tb *tb = &T->tbs[T->tb_index[i] - 1];
            if (tb->hash == h && same_frames(T, tb, f, n))
                return (long)T->tb_index[i] - 1;
        }
    }
    if ((!T->tb_index || 2 * (T->ntbs + 1) > T->tb_mask + 1) && !grow_tb_index(T))
        return -1;
    if (!reserve((void **)&T->tbs, &T->captbs, T->ntbs + 1, sizeof *T->tbs) ||
        !reserve((void **)&T->frames, &T->capframes, T->nframes_used + (size_t)n, sizeof(void *)))
        return -1;
    memcpy(T->frames + T->nframes_used, f, (size_t)n * sizeof *f);
    T->tbs[T->ntbs] = (rcy_trace_tb){(uint32_t)T->nframes_used, (uint32_t)n, h};
    T->nframes_used += (size_t)n;
    size_t i = (size_t)h & T->tb_mask;
    while (T->tb_index[i])
        i = (i + 1) & T->tb_mask;
    T->tb_index[i] = (uint32_t)T->ntbs + 1;
    return (long)T->ntbs++;
}

/* ---- capturing a traceback ---- */

/* The frames of the allocation whose caller's return address is ra. */
static int capture(rcy_tracer *T, void *ra, void **out)
{
    if (T->nframes == 1 || !ra) {
        out[0] = ra;
        return 1;
    }
    void *buf[RCY_TRACE_MAX_FRAMES + LIBRARY_FRAMES];
    T->busy = 1; /* an allocation the unwinder makes is not traced */
    int got = rcy__unwind(buf, T->nframes + LIBRARY_FRAMES);
    T->busy = 0;
    int i = 0;
    while (i < got && buf[i] != ra)
        i++;
    if (i == got) { /* an unwinder that missed it: the caller alone */
        out[0] = ra;
        return 1;
    }
    int n = got - i < T->nframes ? got - i : T->nframes;
    memcpy(out, buf + i, (size_t)n * sizeof *out);
    return n;
}

/* ---- the hook ---- */

static void note_current(rcy_tracer *T, double delta)
{
    T->current += delta;
    if (T->current < 0.5)
        T->current = 0; /* sums of doubles: no negative residue */
    if (T->current > T->peak)
        T->peak = T->current;
}

/* A large block's trace, out of line: the small blocks' path saves no
   registers for it. */
static RCY_NOINLINE void forget_large(rcy_tracer *T, void *block)
{
    rcy_trace_rec *r = find_rec(T, (uintptr_t)block);
    if (!r)
        return;
    note_current(T, -rcy__trace_weight(T, r->size));
    delete_rec(T, r);
}

static RCY_NOINLINE void forget(rcy_tracer *T, void *block)
{
    if (!rcy__pagemap_lookup(block)) {
        forget_large(T, block);
        return;
    }
    rcy_trace_slot *s = slot_at(T, (uintptr_t)block, 0);
    if (s && s->tb) {
        note_current(T, -rcy__trace_weight(T, s->size));
        s->tb = 0;
        T->nslots--;
    }
}

/* The ra_cache entry of return address ra. */
static inline size_t ra_slot(const void *ra)
{
    uintptr_t a = (uintptr_t)ra;
    return (size_t)(a & (RCY_TRACE_RA_CACHE - 1)); /* call sites differ in their low bits */
}

static RCY_NOINLINE void record_slow(rcy_tracer *T, rcy_mem *M, void *block, size_t n,
                                     const void *type, void *ra)
{
    if (T->mean) /* the memory layer counts down to the next sample */
        M->sample_left = (int64_t)draw_interval(T) + 1;
    uint32_t size = n < UINT32_MAX ? (uint32_t)n : UINT32_MAX;
    long tb;
    size_t k = ra_slot(ra);
    if (ra == T->ra_cache[k].ra && ra) { /* a loop's allocations: no hashing */
        tb = T->ra_cache[k].tb;
    } else {
        void *f[RCY_TRACE_MAX_FRAMES];
        tb = intern(T, f, capture(T, ra, f));
        T->ra_cache[k].ra = tb >= 0 && T->nframes == 1 ? ra : NULL;
        T->ra_cache[k].tb = tb;
    }
    if (tb >= 0 && rcy__pagemap_lookup(block)) {
        rcy_trace_slot *s = slot_at(T, (uintptr_t)block, 1);
        if (!s) {
            T->dropped++;
            return;
        }
        if (s->tb) /* a block freed unseen: its old trace goes */
            note_current(T, -rcy__trace_weight(T, s->size));
        else
            T->nslots++;
        *s = (rcy_trace_slot){((uint32_t)tb + 1) << 1 | (type != NULL), size};
        note_current(T, rcy__trace_weight(T, size));
        return;
    }
    /* at most half full: linear probing's misses stay short */
    if (tb < 0 || ((T->used + 1) * 2 > T->mask + 1 && !grow_recs(T))) {
        T->dropped++;
        return;
    }
    rcy_trace_rec rec = {(uintptr_t)block, (uint32_t)tb << 1 | (type != NULL), size};
    size_t i = slot_of(rec.block, T->shift);
    while (T->recs[i].block)
        i = (i + 1) & T->mask;
    T->recs[i] = rec;
    T->used++;
    note_current(T, rcy__trace_weight(T, size));
}

/* The slot of the small block at p if its arena's side is in the cache
   and its pool has slots, else NULL: no call. */
static inline rcy_trace_slot *slot_if_ready(const rcy_tracer *T, uintptr_t p)
{
    const rcy_trace_side *side = side_cached(T, p & ~(uintptr_t)(RCY_ARENA_SIZE - 1));
    if (!side)
        return NULL;
    rcy_trace_slot *pool = side->pools[(p >> RCY_POOL_SHIFT) & (RCY_POOLS_PER_ARENA - 1)];
    return pool ? &pool[(p & (RCY_POOL_SIZE - 1)) >> RCY_CLASS_SHIFT] : NULL;
}

/* Full tracing's common case, the caller of the last allocation again
   (one frame) and a small block whose pool has slots, with no call and
   no hashing; record_slow for the rest. */
static void record(rcy_tracer *T, rcy_mem *M, void *block, size_t n, const void *type, void *ra)
{
    rcy_trace_slot *s;
    size_t k = ra_slot(ra);
    if (RCY_LIKELY(ra == T->ra_cache[k].ra && ra && !T->mean && n < UINT32_MAX) &&
        rcy__pagemap_lookup(block) && (s = slot_if_ready(T, (uintptr_t)block)) != NULL && !s->tb) {
        *s = (rcy_trace_slot){((uint32_t)T->ra_cache[k].tb + 1) << 1 | (type != NULL), (uint32_t)n};
        T->nslots++;
        note_current(T, (double)n);
        return;
    }
    record_slow(T, M, block, n, type, ra);
}

/* A resize in place: the old trace goes, the new one comes. */
static RCY_NOINLINE void forget_record(rcy_tracer *T, rcy_mem *M, void *old, void *block, size_t n,
                                       const void *type, void *ra)
{
    forget(T, old);
    record(T, M, block, n, type, ra);
}

/* The memory layer's trace hook (mem.h): a jump to one of the three, so
   that it saves no registers itself. */
static void on_trace(rcy_mem *M, void *old, void *block, size_t n, const void *type, void *ra)
{
    rcy_tracer *T = M->trace_state;
    if (RCY_UNLIKELY(T->busy))
        return;
    if (!old)
        record(T, M, block, n, type, ra);
    else if (!block)
        forget(T, old);
    else
        forget_record(T, M, old, block, n, type, ra);
}

/* ---- the public API ---- */

static void tracer_free(rcy_tracer *T)
{
    free_sides(T);
    rcy__sys_free(T->recs);
    rcy__sys_free(T->tbs);
    rcy__sys_free(T->tb_index);
    rcy__sys_free(T->frames);
    rcy__sys_free(T);
}

static uint64_t default_seed(rcy_heap *h)
{
    return (uint64_t)(uintptr_t)h ^ 0x5DEECE66Dull;
}

static int start(rcy_heap *h, int nframes, size_t mean, uint64_t seed)
{
    if (!h || nframes < 1 || nframes > RCY_TRACE_MAX_FRAMES) {
        errno = EINVAL;
        return -1;
    }
    if (rcy__tracer_of(h)) {
        errno = EBUSY;
        return -1;
    }
    if (nframes > 1)
        rcy__unwind_init();
    rcy_tracer *T = rcy__sys_calloc(1, sizeof *T);
    if (!T || !grow_recs(T)) {
        rcy__sys_free(T);
        errno = ENOMEM;
        return -1;
    }
    T->nframes = nframes;
    T->mean = mean;
    T->rng = seed ? seed : default_seed(h);
    rcy_mem *M = mem_of(h);
    RCY_MEM_ENTER(M);
    M->sample_left = mean ? (int64_t)draw_interval(T) + 1 : 0;
    rcy__mem_set_tracer(M, on_trace, T, mean == 0);
    rcy__objects_flush_types(rcy__objects_of(h));
    RCY_MEM_LEAVE(M);
    return 0;
}

int rcy_trace_start(rcy_heap *h, int nframes)
{
    return start(h, nframes, 0, 0);
}

int rcy_trace_start_sampling(rcy_heap *h, int nframes, size_t mean_bytes, uint64_t seed)
{
    return start(h, nframes, mean_bytes ? mean_bytes : RCY_TRACE_SAMPLE_DEFAULT, seed);
}

void rcy_trace_stop(rcy_heap *h)
{
    rcy_tracer *T = h ? rcy__tracer_of(h) : NULL;
    if (!T)
        return;
    rcy_mem *M = mem_of(h);
    RCY_MEM_ENTER(M);
    rcy__mem_set_tracer(M, NULL, NULL, 0);
    RCY_MEM_LEAVE(M);
    tracer_free(T);
}

void rcy__trace_fini(rcy_heap *h)
{
    rcy_tracer *T = rcy__tracer_of(h);
    if (T) {
        mem_of(h)->trace = NULL;
        mem_of(h)->trace_state = NULL;
        tracer_free(T);
    }
}

int rcy_trace_is_tracing(rcy_heap *h)
{
    return h && rcy__tracer_of(h) != NULL;
}

size_t rcy_trace_get_sampling(rcy_heap *h)
{
    rcy_tracer *T = h ? rcy__tracer_of(h) : NULL;
    return T ? T->mean : 0;
}

static size_t bytes_of(double x)
{
    return (size_t)(x + 0.5);
}

void rcy_trace_get_traced_memory(rcy_heap *h, size_t *current, size_t *peak)
{
    rcy_tracer *T = h ? rcy__tracer_of(h) : NULL;
    if (current)
        *current = T ? bytes_of(T->current) : 0;
    if (peak)
        *peak = T ? bytes_of(T->peak) : 0;
}

void rcy_trace_reset_peak(rcy_heap *h)
{
    rcy_tracer *T = h ? rcy__tracer_of(h) : NULL;
    if (T)
        T->peak = T->current;
}

/* The trace of the block at block: 1 and *tb (traceback index << 1 |
   object), or 0. */
static int trace_at(const rcy_tracer *T, uintptr_t block, uint32_t *tb)
{
    if (rcy__pagemap_lookup((const void *)block)) {
        const rcy_trace_slot *s = find_slot(T, block);
        if (!s || !s->tb)
            return 0;
        *tb = s->tb - 2;
        return 1;
    }
    const rcy_trace_rec *r = find_rec(T, block);
    if (r)
        *tb = r->tb;
    return r != NULL;
}

/* p is a block's start, or an object's (its block 8 bytes before): the
   index of its traceback, or -1. */
static long tb_of_pointer(const rcy_tracer *T, const void *p)
{
    uint32_t tb;
    if (trace_at(T, (uintptr_t)p, &tb) && !(tb & 1))
        return (long)(tb >> 1);
    if (trace_at(T, (uintptr_t)p - sizeof(rcy_objhead), &tb) && (tb & 1))
        return (long)(tb >> 1);
    return -1;
}

int rcy_trace_get_site(rcy_heap *h, const void *p, void **frames, int max)
{
    rcy_tracer *T = h ? rcy__tracer_of(h) : NULL;
    if (!T || !p || !frames || max < 1)
        return 0;
    long k = tb_of_pointer(T, p);
    if (k < 0)
        return 0;
    const rcy_trace_tb *tb = &T->tbs[k];
    int n = (int)tb->n < max ? (int)tb->n : max;
    memcpy(frames, T->frames + tb->first, (size_t)n * sizeof *frames);
    return n;
}
