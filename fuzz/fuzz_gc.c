/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the collector: the fuzz input chooses thresholds
 * and a sequence of operations (new objects, slot stores, roots, weak
 * references, resurrection slots, collections); the model in
 * tests/gc/gc_model.h mirrors the graph and aborts on any broken invariant.
 *
 * Built two ways (fuzz/CMakeLists.txt): with clang and
 * -fsanitize=fuzzer,address as fuzz_gc, and with FUZZ_GC_DRIVER defined
 * as fuzz_gc_driver, a plain program that feeds random inputs
 * (FUZZ_GC_ITERS of them, default 300; FUZZ_GC_SEED picks the stream). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GM_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_gc: invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)
#include "gc_model.h"

#define FUZZ_MAX_STEPS 4096

typedef struct input {
    const uint8_t *p;
    size_t n, pos;
    int exhausted;
} input;

static uint32_t input_next(void *ctx)
{
    input *in = ctx;
    uint32_t v = 0;
    for (int i = 0; i < 2; i++) {
        if (in->pos < in->n)
            v |= (uint32_t)in->p[in->pos++] << (8 * i);
        else
            in->exhausted = 1;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    input in = {data + 3, size - 3, 0, 0};
    size_t t0 = 1 + data[0] % 64, t1 = 1 + data[1] % 8, t2 = 1 + data[2] % 8;
    if (!gm_begin(FUZZ_MAX_STEPS + 8, t0, t1, t2, input_next, &in))
        abort();
    for (int i = 0; i < FUZZ_MAX_STEPS && !in.exhausted; i++)
        gm_step();
    gm_end();
    return 0;
}

#ifdef FUZZ_GC_DRIVER
int main(void)
{
    const char *e = getenv("FUZZ_GC_ITERS");
    long iters = e && *e ? strtol(e, NULL, 10) : 300;
    const char *q = getenv("RCY_TEST_QUICK");
    if (!(e && *e) && q && *q && strcmp(q, "0") != 0)
        iters = 50;
    const char *s = getenv("FUZZ_GC_SEED");
    uint64_t x = s && *s ? strtoull(s, NULL, 10) : 0x1234567ull;
    static uint8_t buf[8192];
    for (long it = 0; it < iters; it++) {
        uint64_t start = x;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        size_t n = 3 + (size_t)(x % (sizeof buf - 3));
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)(x >> 24);
        }
        /* printed first, so a crash tells which stream to replay */
        if (getenv("FUZZ_GC_VERBOSE"))
            fprintf(stderr, "iteration %ld (stream state %llu)\n", it, (unsigned long long)start);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("fuzz_gc_driver: %ld inputs, 0 failures\n", iters);
    return 0;
}
#endif
