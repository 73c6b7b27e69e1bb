/* SPDX-License-Identifier: MIT */
/* trace: allocation tracing (Python's tracemalloc for a heap), the
 * tracer's state shared by trace.c (recording) and snapshot.c (snapshots,
 * statistics), and the entry point the heap report uses.
 *
 * The tracer is the memory layer's trace hook (mem.h): while it is set,
 * every allocation and free of the heap takes a slow path that calls it,
 * and nothing else changes (docs/design.md, "Tracing costs nothing when
 * off"). It keeps one record per traced block: a small block's beside its
 * pool (rcy_trace_side, found from the block's address), a large block's
 * keyed by the block's start in an open-address table with backward-shift
 * deletion (an object's block starts 8 bytes before the object); and each
 * distinct traceback once
 * (interned, kept until tracing stops). Sampling draws the bytes to the
 * next sample from an exponential distribution (a Poisson process over
 * bytes; the memory layer counts them down, mem.h) and gives a sampled block of n bytes the weight
 * n / (1 - exp(-n / mean)): the inverse of its chance to be sampled, so
 * that sums of weights estimate bytes without bias. Invariants: current is
 * the sum of the live records' weights; peak >= current. */
#ifndef RCY_TRACE_H
#define RCY_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "mem/pool.h"
#include "obj/object.h"
#include "util/ptrmap.h"

/* One traced large block, 16 bytes, so that the table stays small: its type,
   if an object's, is read from the heap when a snapshot is taken (the
   object is alive while traced), and its weight is computed from its size
   (rcy__trace_weight). */
typedef struct rcy_trace_rec {
    uintptr_t block; /* 0: an empty slot */
    uint32_t tb;     /* index of its traceback << 1, | 1 for an object's block (object + 8) */
    uint32_t size;   /* bytes asked for, saturated at UINT32_MAX */
} rcy_trace_rec;

/* A traced small block's trace, kept beside its pool: one slot per 8-byte
   granule of a pool (blocks start on granules), so that a free finds it
   by address arithmetic, with no hashing. tb: 0 for none, else (index of
   its traceback + 1) << 1, | 1 for an object's block. */
typedef struct rcy_trace_slot {
    uint32_t tb;
    uint32_t size; /* bytes asked for, saturated at UINT32_MAX */
} rcy_trace_slot;
#define RCY_TRACE_POOL_SLOTS (RCY_POOL_SIZE >> RCY_CLASS_SHIFT)

/* The slots of one arena's pools, each pool's made when a block of it is
   first traced (RCY_TRACE_POOL_SLOTS slots, 16 KiB), freed when tracing
   stops. A released arena leaves its slots empty (its blocks were freed,
   and so forgotten); a new arena at the same address reuses them. */
typedef struct rcy_trace_side {
    uintptr_t base;
    rcy_trace_slot *pools[RCY_POOLS_PER_ARENA];
} rcy_trace_side;

/* A trace as a snapshot keeps it. */
typedef struct rcy_trace_item {
    const rcy_type *type; /* NULL for a block of rcy_malloc's */
    size_t size;
    double weight; /* its bytes, or their estimate when sampling */
    uint32_t tb;
    uint32_t object;
} rcy_trace_item;

/* An interned traceback: frames[first .. first + n) of the tracer's. */
typedef struct rcy_trace_tb {
    uint32_t first, n;
    uint64_t hash;
} rcy_trace_tb;

#define RCY_TRACE_SIDE_CACHE 256
#define RCY_TRACE_RA_CACHE 64
typedef struct rcy_tracer {
    int nframes;
    int busy;    /* inside the hook: an allocation made by backtrace() is not traced */
    size_t mean; /* sampling's mean interval in bytes; 0: every allocation */
    uint64_t rng;
    rcy_ptrmap sides; /* arena base -> rcy_trace_side: small blocks' traces */
    /* arena base -> side, direct-mapped by the arena's number: a heap's
       arenas are mostly mapped one after another, so few collide */
    struct {
        uintptr_t base;
        rcy_trace_side *side;
    } side_cache[RCY_TRACE_SIDE_CACHE];
    size_t nslots;       /* small blocks traced */
    rcy_trace_rec *recs; /* large blocks' traces, open addressing by block */
    size_t mask, used;
    unsigned shift;    /* 64 - log2(mask + 1): the hash's top bits (trace.c) */
    rcy_trace_tb *tbs; /* interned tracebacks */
    size_t ntbs, captbs;
    uint32_t *tb_index; /* hash -> tbs index + 1 (0: empty), power-of-two size */
    size_t tb_mask;
    void **frames; /* every interned traceback's frames */
    size_t nframes_used, capframes;
    double current, peak;
    size_t dropped; /* traces lost for want of memory */
    /* one frame: callers and their tracebacks, direct-mapped by the
       return address, so that a loop's allocations (or a recursion's,
       which the compiler unrolls into several call sites) hash nothing */
    struct {
        void *ra;
        long tb;
    } ra_cache[RCY_TRACE_RA_CACHE];
} rcy_tracer;

/* The bytes a trace of size bytes stands for: size, or when sampling
   size / P(sampled). */
double rcy__trace_weight(const rcy_tracer *T, size_t size);
/* Every trace: fn(block, tb, size, arg), tb the index of its traceback
   << 1, | 1 for an object's block. */
void rcy__trace_each(const rcy_tracer *T,
                     void (*fn)(uintptr_t block, uint32_t tb, uint32_t size, void *arg), void *arg);
/* How many traces rcy__trace_each visits. */
size_t rcy__trace_count(const rcy_tracer *T);
/* The tracer of h, NULL when it does not trace. */
rcy_tracer *rcy__tracer_of(rcy_heap *h);
/* Forgets h's traces at heap destruction. */
void rcy__trace_fini(rcy_heap *h);

/* ---- for the heap report ----
 * The top sites of a heap, by innermost frame, for a report to print. */
#define RCY_TRACE_SITE_FRAMES 8
typedef struct rcy_trace_site {
    void *frames[RCY_TRACE_SITE_FRAMES]; /* a traceback of the site, innermost first */
    int nframes;
    char text[256]; /* the innermost frame symbolized: "func (file:line)" */
    size_t count;   /* blocks traced there (sampling: estimated) */
    size_t bytes;   /* their bytes (sampling: estimated) */
    size_t traces;  /* traces behind these figures (samples when sampling) */
    int sampled;    /* 1: count and bytes are estimates from samples */
} rcy_trace_site;
/* Fills out[0 .. max) with h's sites holding the most bytes, most first;
   returns how many it filled (0 when h does not trace or out of memory). */
size_t rcy__trace_top_sites(rcy_heap *h, rcy_trace_site *out, size_t max);

/* An open-addressed index of n items (stride bytes apart, each with a
   uint64_t hash at offset hash_at) in cap slots (a power of two, at
   least twice n): slot -> item index + 1, 0 empty; linear probing. NULL
   if out of memory. The tracebacks' table and the snapshots' groups use
   it. */
uint32_t *rcy__trace_hash_index(const void *items, size_t n, size_t stride, size_t hash_at,
                                size_t cap);

#endif
