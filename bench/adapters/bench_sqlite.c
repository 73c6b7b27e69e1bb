/* SPDX-License-Identifier: MIT */
/* SQLite inserts and queries under its default allocator (the C
 * library's malloc) or recycle (adapters/sqlite), for bench/adapters/run.py.
 *
 *   bench_sqlite default|recycle ROWS
 *
 * An in-memory database: ROWS rows inserted in one transaction into a
 * table with two indexes, then ROWS/4 point lookups through an index,
 * 200 range aggregates and a GROUP BY, then the connection closed. Prints
 * seconds=S insert_s=I query_s=Q peak_rss_kib=P rss_after_kib=A (RSS
 * after sqlite3_close, sqlite3_shutdown and giving free memory back:
 * rcy_purge, or glibc's malloc_trim). */
#define _GNU_SOURCE 1 /* malloc_trim */

#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recycle_sqlite.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(db, sql);
}

static void insert(sqlite3 *db, long rows)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO t(a, b, name) VALUES (?, ?, ?)", -1, &st, NULL))
        die(db, "prepare insert");
    exec(db, "BEGIN");
    char name[48];
    for (long i = 0; i < rows; i++) {
        snprintf(name, sizeof name, "name-%ld-%ld", (i * 7919) % rows, i);
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_int64(st, 2, (i * 104729) % 10007);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die(db, "insert");
        sqlite3_reset(st);
    }
    exec(db, "COMMIT");
    sqlite3_finalize(st);
}

static long long query(sqlite3 *db, long rows)
{
    sqlite3_stmt *point, *range, *group;
    if (sqlite3_prepare_v2(db, "SELECT a FROM t WHERE b = ? LIMIT 1", -1, &point, NULL) ||
        sqlite3_prepare_v2(db, "SELECT sum(a), count(*) FROM t WHERE b BETWEEN ? AND ?", -1, &range,
                           NULL) ||
        sqlite3_prepare_v2(db, "SELECT b % 100, count(*), max(name) FROM t GROUP BY 1", -1, &group,
                           NULL))
        die(db, "prepare queries");
    long long sink = 0;
    for (long i = 0; i < rows / 4; i++) {
        sqlite3_bind_int64(point, 1, (i * 31) % 10007);
        while (sqlite3_step(point) == SQLITE_ROW)
            sink += sqlite3_column_int64(point, 0);
        sqlite3_reset(point);
    }
    for (int i = 0; i < 200; i++) {
        sqlite3_bind_int64(range, 1, i * 40);
        sqlite3_bind_int64(range, 2, i * 40 + 400);
        while (sqlite3_step(range) == SQLITE_ROW)
            sink += sqlite3_column_int64(range, 1);
        sqlite3_reset(range);
    }
    while (sqlite3_step(group) == SQLITE_ROW)
        sink += sqlite3_column_int64(group, 1);
    sqlite3_finalize(point);
    sqlite3_finalize(range);
    sqlite3_finalize(group);
    return sink;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "default") != 0 && strcmp(argv[1], "recycle") != 0)) {
        fprintf(stderr, "usage: bench_sqlite default|recycle ROWS\n");
        return 2;
    }
    long rows = strtol(argv[2], NULL, 10);
    rcy_heap *h = NULL;
    if (strcmp(argv[1], "recycle") == 0) {
        h = rcy_heap_new();
        if (!h || rcy_sqlite_use(h) != SQLITE_OK)
            die(NULL, "recycle heap for SQLite");
    } else if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) != SQLITE_OK) {
        die(NULL, "single-threaded mode"); /* the same mode for both */
    }
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        die(db, "open");
    double t0 = now();
    exec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, name TEXT)");
    exec(db, "CREATE INDEX t_b ON t(b)");
    exec(db, "CREATE INDEX t_name ON t(name)");
    insert(db, rows);
    double t1 = now();
    long long sink = query(db, rows);
    double t2 = now();
    long peak = status_kib("VmHWM");
    sqlite3_close(db);
    sqlite3_shutdown();
    /* what a program would do after closing its database: give the
       free memory back */
    if (h)
        rcy_purge(h);
    else
        malloc_trim(0);
    printf("seconds=%.4f insert_s=%.4f query_s=%.4f peak_rss_kib=%ld rss_after_kib=%ld sink=%lld\n",
           t2 - t0, t1 - t0, t2 - t1, peak, status_kib("VmRSS"), sink);
    if (h)
        rcy_heap_destroy(h);
    return 0;
}
