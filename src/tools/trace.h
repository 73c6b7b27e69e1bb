/* SPDX-License-Identifier: MIT */
/* trace: allocation tracing (Python's tracemalloc for a heap), the
 * tracer's state shared by trace.c (recording) and snapshot.c (snapshots,
 * statistics), and the entry point the heap report uses.
 *
 * The tracer is the memory layer's trace hook (mem.h): while it is set,
 * every allocation and free of the heap takes a slow path that calls it,
 * and nothing else changes (docs/design.md, "Tracing costs nothing when
 * off"). It keeps one record per traced block, keyed by the block's start
 * (an object's block starts 8 bytes before the object), in an open-address
 * table with backward-shift deletion, and each distinct traceback once
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

#include "obj/object.h"

/* One traced block. object: the block is an object's (its pointer is
   block + 8), type its type; else type is NULL. weight: its bytes, or
   its estimate when sampling. */
typedef struct rcy_trace_rec {
    uintptr_t block; /* 0: an empty slot */
    const rcy_type *type;
    size_t size;
    double weight;
    uint32_t tb; /* index of its traceback */
    uint32_t object;
} rcy_trace_rec;

/* An interned traceback: frames[first .. first + n) of the tracer's. */
typedef struct rcy_trace_tb {
    uint32_t first, n;
    uint64_t hash;
} rcy_trace_tb;

typedef struct rcy_tracer {
    int nframes;
    int busy;    /* inside the hook: an allocation made by backtrace() is not traced */
    size_t mean; /* sampling's mean interval in bytes; 0: every allocation */
    uint64_t rng;
    rcy_trace_rec *recs; /* the traces, open addressing by block */
    size_t mask, used;
    rcy_trace_tb *tbs; /* interned tracebacks */
    size_t ntbs, captbs;
    uint32_t *tb_index; /* hash -> tbs index + 1 (0: empty), power-of-two size */
    size_t tb_mask;
    void **frames; /* every interned traceback's frames */
    size_t nframes_used, capframes;
    double current, peak;
    size_t dropped; /* traces lost for want of memory */
} rcy_tracer;

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

#endif
