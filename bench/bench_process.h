/* SPDX-License-Identifier: MIT */
/* Measurements of the process that do not depend on the allocator under
 * test: a monotonic clock, the resident set now and at its peak, minor page
 * faults. Shared by the benchmarks built per allocator (bench_common.h) and
 * by bench/mt/bench_mt.c, which runs under each allocator's LD_PRELOAD. */
#ifndef BENCH_PROCESS_H
#define BENCH_PROCESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- clocks ---- */
static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- memory of the process ---- */
static inline double rss_mib(void) /* resident set now */
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (double)res * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static inline double peak_rss_mib(void) /* VmHWM: high-water resident set */
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    if (f) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0) {
                kib = strtod(line + 6, NULL);
                break;
            }
        fclose(f);
    }
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = (double)ru.ru_maxrss;
    }
    return kib / 1024.0;
}

/* Minor page faults of the process so far (first touches of fresh pages). */
static inline long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Reset VmHWM to the current RSS (Linux >= 4.0); 0 on success. */
static inline int reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int ok = fputs("5", f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

#endif /* BENCH_PROCESS_H */
