/* SPDX-License-Identifier: MIT */
/* SQLite over recycle (recycle_sqlite.h): bulk inserts, an index, queries
 * whose results are computed here independently, the heap seen serving
 * SQLite's memory, everything given back at sqlite3_shutdown, and a
 * memory limit that SQLite reports as SQLITE_NOMEM. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "recycle_sqlite.h"

enum { ROWS = 100000 };

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite3_open: %s\n", db ? sqlite3_errmsg(db) : "out of memory");
        exit(1);
    }
    return db;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK && rc != SQLITE_NOMEM)
        fprintf(stderr, "%s: %s\n", sql, err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return rc;
}

static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

/* The value of row i's column b, and its name. */
static long long value_of(long long i)
{
    return (i * 7919) % 1000;
}

static void name_of(long long i, char *buf, size_t n)
{
    snprintf(buf, n, "name-%lld-%s", i, i % 3 ? "odd" : "three");
}

/* 1 if EXPLAIN QUERY PLAN of sql mentions what (an index's name). */
static int plan_uses(sqlite3 *db, const char *sql, const char *what)
{
    char eqp[256];
    snprintf(eqp, sizeof eqp, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, eqp, -1, &st, NULL) != SQLITE_OK)
        return 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *detail = sqlite3_column_text(st, 3);
        found |= detail && strstr((const char *)detail, what) != NULL;
    }
    sqlite3_finalize(st);
    return found;
}

/* Rows with b = 0 that have a successor row (a + 1 < ROWS). */
static long long count_zero_with_next(void)
{
    long long n = 0;
    for (long long i = 0; i + 1 < ROWS; i++)
        n += value_of(i) == 0;
    return n;
}

static long long count_below(long long v)
{
    long long n = 0;
    for (long long i = 0; i < ROWS; i++)
        n += value_of(i) < v;
    return n;
}

static int insert_rows(sqlite3 *db, long long from, long long to)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO t(a, b, name) VALUES (?, ?, ?)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = exec(db, "BEGIN");
    char name[64];
    for (long long i = from; rc == SQLITE_OK && i < to; i++) {
        name_of(i, name, sizeof name);
        sqlite3_bind_int64(st, 1, i);
        sqlite3_bind_int64(st, 2, value_of(i));
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        return exec(db, "COMMIT");
    if (!sqlite3_get_autocommit(db)) /* out of memory may have rolled back already */
        exec(db, "ROLLBACK");
    return rc;
}

static void test_bulk_and_queries(rcy_heap *h)
{
    sqlite3 *db = open_db();
    CHECK_EQ(exec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, name TEXT)"), SQLITE_OK);
    CHECK_EQ(insert_rows(db, 0, ROWS), SQLITE_OK);
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    CHECK(s.bytes_in_use > 1000000); /* the table's pages are in the heap */
    CHECK(sqlite3_memory_used() > 1000000);

    long long sum = 0, count500 = 0, three = 0;
    for (long long i = 0; i < ROWS; i++) {
        sum += value_of(i);
        count500 += value_of(i) == 500;
        three += i % 3 == 0;
    }
    CHECK_EQ(query_int(db, "SELECT count(*) FROM t"), ROWS);
    CHECK_EQ(query_int(db, "SELECT sum(b) FROM t"), sum);
    CHECK_EQ(exec(db, "CREATE INDEX t_b ON t(b)"), SQLITE_OK);
    CHECK_EQ(exec(db, "CREATE INDEX t_name ON t(name)"), SQLITE_OK);
    CHECK_EQ(query_int(db, "SELECT count(*) FROM t WHERE b = 500"), count500);
    CHECK_EQ(query_int(db, "SELECT count(*) FROM t WHERE name LIKE '%three'"), three);
    char name[64], sql[160];
    name_of(4242, name, sizeof name);
    snprintf(sql, sizeof sql, "SELECT a FROM t WHERE name = '%s'", name);
    CHECK_EQ(query_int(db, sql), 4242);
    /* the index is what the query uses */
    CHECK(plan_uses(db, "SELECT a FROM t WHERE b = 7", "INDEX t_b"));
    /* GROUP BY and a self-join */
    CHECK_EQ(query_int(db, "SELECT count(*) FROM (SELECT b FROM t GROUP BY b)"), 1000);
    CHECK_EQ(query_int(db, "SELECT count(*) FROM t x JOIN t y ON y.a = x.a + 1 WHERE x.b = 0"),
             count_zero_with_next());
    /* updates and deletes through the index */
    CHECK_EQ(exec(db, "UPDATE t SET b = b + 1000 WHERE b < 10"), SQLITE_OK);
    CHECK_EQ(query_int(db, "SELECT count(*) FROM t WHERE b >= 1000"), count_below(10));
    CHECK_EQ(exec(db, "DELETE FROM t WHERE a % 2 = 0"), SQLITE_OK);
    CHECK_EQ(query_int(db, "SELECT count(*) FROM t"), ROWS / 2);
    CHECK_EQ(exec(db, "VACUUM"), SQLITE_OK);
    CHECK_EQ(sqlite3_close(db), SQLITE_OK);
}

/* Under a hard limit SQLite gets NULL and reports SQLITE_NOMEM; after the
   limit is lifted the same connection works again. */
static void test_limit(rcy_heap *h)
{
    sqlite3 *db = open_db();
    CHECK_EQ(exec(db, "CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, name TEXT)"), SQLITE_OK);
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(rcy_heap_set_limit(h, 0, s.bytes_held + (4u << 20)), 0);
    int rc = insert_rows(db, 0, 10 * ROWS);
    CHECK_EQ(rc, SQLITE_NOMEM);
    rcy_mem_get_stats(h, &s);
    CHECK(s.limit_failures > 0);
    CHECK_EQ(rcy_heap_set_limit(h, 0, 0), 0);
    CHECK_EQ(insert_rows(db, 0, 1000), SQLITE_OK);
    CHECK_EQ(query_int(db, "SELECT count(*) FROM t"), 1000);
    CHECK_EQ(sqlite3_close(db), SQLITE_OK);
}

int main(void)
{
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_sqlite_use(h), SQLITE_OK);
    CHECK_EQ(sqlite3_initialize(), SQLITE_OK);
    CHECK_EQ(sqlite3_threadsafe() != 0, 1); /* compiled threadsafe, configured single */
    /* once initialized, the memory methods cannot change */
    CHECK_EQ(rcy_sqlite_use(h), SQLITE_MISUSE);
    test_bulk_and_queries(h);
    test_limit(h);
    CHECK_EQ(sqlite3_shutdown(), SQLITE_OK);
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    CHECK_EQ(s.bytes_in_use, 0); /* SQLite gave everything back */
    rcy_heap_destroy(h);
    return check_summary("test_sqlite");
}
