/* SPDX-License-Identifier: MIT */
/* options: the table of tunables (options.h), their environment variables
 * and the public getter and setter.
 *
 * Invariants: every value lies in its option's [min, max]; the limits'
 * values never have soft > hard with both non-zero. The environment is
 * read exactly once per process, by whichever thread first asks for an
 * option (a compare-and-swap elects it; others wait until it is done), and
 * before any setter's value is stored, so a setter always wins over the
 * environment. A bad value (not a whole number, out of range, soft above
 * hard) is reported with one line on stderr and the default is kept: a
 * typo in the environment must not stop a program. Values are atomics:
 * setters and heaps being made on other threads do not race. */
#include "util/options.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct option_desc {
    const char *env; /* its environment variable */
    long def, min, max;
    int size; /* a size in bytes: accepts the suffixes K, M and G (powers of 1024) */
} option_desc;

/* docs/api.md, "Options", has a line for each. */
static const option_desc table[RCY_OPTION_COUNT] = {
    [RCY_OPTION_PURGE_DELAY_MS] = {"RCY_PURGE_DELAY_MS", 100, 0, 3600000, 0}, /* an hour */
    [RCY_OPTION_LIMIT_SOFT] = {"RCY_LIMIT_SOFT", 0, 0, LONG_MAX, 1},
    [RCY_OPTION_LIMIT_HARD] = {"RCY_LIMIT_HARD", 0, 0, LONG_MAX, 1},
    [RCY_OPTION_GC_THRESHOLD0] = {"RCY_GC_THRESHOLD0", 700, 0, LONG_MAX, 0},
    [RCY_OPTION_GC_THRESHOLD1] = {"RCY_GC_THRESHOLD1", 10, 0, LONG_MAX, 0},
    [RCY_OPTION_GC_THRESHOLD2] = {"RCY_GC_THRESHOLD2", 10, 0, LONG_MAX, 0},
    [RCY_OPTION_GC_DROP_PACING] = {"RCY_GC_DROP_PACING", 1, 0, 1, 0},
};

static atomic_long values[RCY_OPTION_COUNT];

enum { UNREAD, READING, READY };
static atomic_int state = UNREAD;

/* The multiplier of a size suffix at s (K, M, G, any case, optionally
   followed by "B" or "iB"), 1 for none; 0 if s is anything else. */
static long suffix_scale(const char *s)
{
    long scale = 1;
    switch (*s) {
    case 'k':
    case 'K':
        scale = 1L << 10;
        break;
    case 'm':
    case 'M':
        scale = 1L << 20;
        break;
    case 'g':
    case 'G':
        scale = 1L << 30;
        break;
    case '\0':
        return 1;
    default:
        return 0;
    }
    s++;
    if (*s == 'i')
        s++;
    if (*s == 'B' || *s == 'b')
        s++;
    return *s == '\0' ? scale : 0;
}

/* Parses text as option d's value into *out; 0, or -1 if it is not one. */
static int parse(const option_desc *d, const char *text, long *out)
{
    if (*text < '0' || *text > '9') /* no sign, no space: strtol would take them */
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text)
        return -1;
    long scale = d->size ? suffix_scale(end) : (*end == '\0');
    if (scale == 0 || v > LONG_MAX / scale)
        return -1;
    v *= scale;
    if (v < d->min || v > d->max)
        return -1;
    *out = v;
    return 0;
}

static void read_one(rcy_option o)
{
    const option_desc *d = &table[o];
    const char *text = getenv(d->env);
    long v = d->def;
    if (text && parse(d, text, &v) != 0) {
        fprintf(stderr, "recycle: %s=\"%s\" is not a %s from %ld to %ld; keeping the default %ld\n",
                d->env, text, d->size ? "size in bytes (suffix K, M or G allowed)" : "whole number",
                d->min, d->max, d->def);
        v = d->def;
    }
    atomic_store(&values[o], v);
}

/* Soft above hard (both set): neither is kept. */
static void check_limits(void)
{
    long soft = atomic_load(&values[RCY_OPTION_LIMIT_SOFT]);
    long hard = atomic_load(&values[RCY_OPTION_LIMIT_HARD]);
    if (soft && hard && soft > hard) {
        fprintf(stderr,
                "recycle: RCY_LIMIT_SOFT (%ld) is above RCY_LIMIT_HARD (%ld); keeping the "
                "defaults (no limits)\n",
                soft, hard);
        atomic_store(&values[RCY_OPTION_LIMIT_SOFT], table[RCY_OPTION_LIMIT_SOFT].def);
        atomic_store(&values[RCY_OPTION_LIMIT_HARD], table[RCY_OPTION_LIMIT_HARD].def);
    }
}

/* Reads the environment once per process; returns when it has been read. */
static void load(void)
{
    if (atomic_load_explicit(&state, memory_order_acquire) == READY)
        return;
    int expected = UNREAD;
    if (atomic_compare_exchange_strong(&state, &expected, READING)) {
        for (int o = 0; o < RCY_OPTION_COUNT; o++)
            read_one((rcy_option)o);
        check_limits();
        atomic_store_explicit(&state, READY, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&state, memory_order_acquire) != READY)
        sched_yield(); /* another thread is reading: a few getenv calls */
}

static int valid(rcy_option o)
{
    return (int)o >= 0 && o < RCY_OPTION_COUNT;
}

long rcy__option(rcy_option o)
{
    load();
    return atomic_load_explicit(&values[o], memory_order_relaxed);
}

long rcy_option_get(rcy_option o)
{
    if (!valid(o)) {
        errno = EINVAL;
        return -1;
    }
    return rcy__option(o);
}

/* The limits stay ordered: soft may not pass a non-zero hard. */
static int limits_ordered(rcy_option o, long v)
{
    if (o == RCY_OPTION_LIMIT_SOFT) {
        long hard = rcy__option(RCY_OPTION_LIMIT_HARD);
        return !v || !hard || v <= hard;
    }
    if (o == RCY_OPTION_LIMIT_HARD) {
        long soft = rcy__option(RCY_OPTION_LIMIT_SOFT);
        return !v || !soft || soft <= v;
    }
    return 1;
}

int rcy_option_set(rcy_option o, long v)
{
    if (!valid(o) || v < table[o].min || v > table[o].max || !limits_ordered(o, v)) {
        errno = EINVAL;
        return -1;
    }
    load(); /* the environment must not overwrite this later */
    atomic_store_explicit(&values[o], v, memory_order_relaxed);
    return 0;
}
