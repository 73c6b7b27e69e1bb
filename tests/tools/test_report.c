/* SPDX-License-Identifier: MIT */
/* test_report: rcy_heap_report (tools/report.c) on a heap with a cache
 * holding objects, a garbage cycle, pinned pools and a large block: the
 * text names what holds memory; the JSON follows its schema, checked by
 * tests/tools/check_report.py (with python3), which also makes the HTML
 * page with tools/recycle-report and checks it; bad arguments; with
 * tracing on, the sites section names the function that allocated. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>

#include "check.h"

#define RCY_NOINLINE_TEST __attribute__((noinline))

typedef struct cache {
    size_t len;
    void *items[256];
} cache;
static void cache_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    cache *c = self;
    for (size_t i = 0; i < c->len; i++)
        visit(&c->items[i], arg);
}
static const rcy_type cache_type = {"cache", sizeof(cache), cache_traverse, NULL, NULL, 0};
typedef struct entry {
    void *next;
    char data[48];
} entry;
static const rcy_type entry_type = {"entry", sizeof(entry), NULL,
                                    NULL,    NULL,          RCY_REF_WORD(entry, next)};

static char *read_all(FILE *f)
{
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
        s[0] = '\0';
    return s;
}

/* python3 checker report script: its exit status, 127 if python3 cannot
   be run. */
static int run_python(const char *checker, const char *report, const char *script)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("python3", "python3", checker, report, script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return 1;
    return WEXITSTATUS(status);
}

static void build(rcy_heap *h, cache **cache_out, void **pins, size_t npins, void **big)
{
    cache *c = rcy_new(h, &cache_type);
    for (size_t i = 0; i < 256; i++)
        c->items[c->len++] = rcy_new(h, &entry_type);
    *cache_out = c;
    /* a garbage cycle */
    entry *a = rcy_new(h, &entry_type), *b = rcy_new(h, &entry_type);
    a->next = b;
    b->next = a;
    rcy_incref(a); /* b's reference */
    rcy_decref(a); /* ours; b's own reference went to a->next */
    /* pinned pools: raw blocks of which one per pool survives */
    for (size_t p = 0; p < npins; p++) {
        void *blocks[256];
        for (size_t i = 0; i < 256; i++)
            blocks[i] = rcy_malloc(h, 64);
        for (size_t i = 1; i < 256; i++)
            rcy_free(h, blocks[i]);
        pins[p] = blocks[0];
    }
    *big = rcy_malloc(h, 100000);
}

/* Allocates n entries for the traced part: the site the report must name. */
static RCY_NOINLINE_TEST void make_traced_entries(rcy_heap *h, void **out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = rcy_new(h, &entry_type);
}

/* With tracing on, the report's sites hold the 200 entries' bytes at
   make_traced_entries, first (the largest site), in both formats. */
static void test_traced_sites(void)
{
    rcy_heap *h = check_new_heap();
    CHECK_EQ(rcy_trace_start(h, 1), 0);
    void *e[200];
    make_traced_entries(h, e, 200);
    FILE *text = tmpfile();
    CHECK(text != NULL);
    CHECK_EQ(rcy_heap_report(h, text, RCY_REPORT_TEXT), 0);
    char *t = read_all(text);
    const char *sites = t ? strstr(t, "-- allocation sites") : NULL;
    CHECK(sites != NULL);
    char *end = NULL;
    unsigned long count = sites ? strtoul(strchr(sites, '\n') + 1, &end, 10) : 0;
    CHECK(end != NULL && *end == ' ');
    CHECK_EQ(count, 200);
    CHECK(sites && strstr(sites, "make_traced_entries"));
    free(t);
    (void)fclose(text);
    FILE *json = tmpfile();
    CHECK(json != NULL);
    CHECK_EQ(rcy_heap_report(h, json, RCY_REPORT_JSON), 0);
    char *j = read_all(json);
    CHECK(j && strstr(j, "\"sites\":{\"available\":true,\"sampled\":false,\"items\":[{\"site\":"));
    CHECK(j && strstr(j, "make_traced_entries"));
    free(j);
    (void)fclose(json);
    for (size_t i = 0; i < 200; i++)
        rcy_decref(e[i]);
    rcy_trace_stop(h);
    rcy_heap_destroy(h);
}

int main(void)
{
    rcy_heap *h = check_new_heap();
    rcy_gc_disable(h);
    cache *c;
    void *pins[4], *big;
    build(h, &c, pins, 4, &big);

    FILE *text = tmpfile();
    CHECK(text != NULL);
    CHECK_EQ(rcy_heap_report(h, text, RCY_REPORT_TEXT), 0);
    char *t = read_all(text);
    CHECK(t && strstr(t, "recycle heap report"));
    CHECK(t && strstr(t, "entry"));
    CHECK(t && strstr(t, "SUSPECT cache"));
    CHECK(t && strstr(t, "pinned pools"));
    CHECK(t && strstr(t, "allocation tracing is off"));
    CHECK(t && strstr(t, "2 objects, 128 bytes held only by garbage cycles"));
    CHECK(t && strstr(t, "100000 B"));
    free(t);
    (void)fclose(text);

    char path[] = "test_report_XXXXXX"; /* in the working directory (ctest: the build tree) */
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *json = fdopen(fd, "w+");
    CHECK_EQ(rcy_heap_report(h, json, RCY_REPORT_JSON), 0);
    char *j = read_all(json);
    CHECK(j && strncmp(j, "{\"schema\":\"recycle-report/1\"", 28) == 0);
    CHECK(j && strstr(j, "\"name\":\"entry\",\"count\":258"));
    free(j);
    (void)fclose(json);
    const char *src = getenv("RCY_SOURCE_DIR");
    char checker[4096], script[4096];
    if (src) {
        (void)snprintf(checker, sizeof checker, "%s/tests/tools/check_report.py", src);
        (void)snprintf(script, sizeof script, "%s/tools/recycle-report", src);
    }
    int status = src ? run_python(checker, path, script) : 127;
    if (status == 127)
        printf("test_report: SKIPPED the schema check: needs python3 and RCY_SOURCE_DIR\n");
    else
        CHECK_EQ(status, 0);
    unlink(path);

    errno = 0;
    CHECK_EQ(rcy_heap_report(NULL, stdout, 0), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_heap_report(h, NULL, 0), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcy_heap_report(h, stdout, 7), -1);
    CHECK_EQ(errno, EINVAL);

    rcy_decref(c);
    for (size_t p = 0; p < 4; p++)
        rcy_free(h, pins[p]);
    rcy_free(h, big);
    CHECK_EQ(rcy_gc_collect(h, -1), 2);
    rcy_heap_destroy(h);
    test_traced_sites();
    return check_summary("test_report");
}
