/* SPDX-License-Identifier: MIT */
/* Options (util/options.c): defaults, each environment variable, size
 * suffixes, bad values (a line on stderr, the default kept), soft above
 * hard, setters (for heaps made afterwards, winning over the environment)
 * and the environment read once by many threads at once.
 *
 * The environment is read once per process, so each case runs in a fresh
 * process: this program runs itself again (`--child NAME`) with the
 * variables of the case set, and the parent checks its exit status and
 * what it wrote on stderr. */
#define _POSIX_C_SOURCE 200809L

#include "check.h"
#include "recycle.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>

#define MiB (1L << 20)

static const char *const option_env[RCY_OPTION_COUNT] = {
    "RCY_PURGE_DELAY_MS", "RCY_LIMIT_SOFT",    "RCY_LIMIT_HARD",     "RCY_GC_THRESHOLD0",
    "RCY_GC_THRESHOLD1",  "RCY_GC_THRESHOLD2", "RCY_GC_DROP_PACING",
};
static const long option_default[RCY_OPTION_COUNT] = {100, 0, 0, 700, 10, 10, 1};

/* ---- the children: each checks one case and exits with its verdict ---- */

static void check_heap_settings(size_t t0, size_t t1, size_t t2, size_t soft, size_t hard)
{
    rcy_heap *h = check_new_heap();
    size_t t[3], s = 1, hd = 1;
    rcy_gc_get_threshold(h, t);
    CHECK_EQ(t[0], t0);
    CHECK_EQ(t[1], t1);
    CHECK_EQ(t[2], t2);
    rcy_heap_get_limit(h, &s, &hd);
    CHECK_EQ(s, soft);
    CHECK_EQ(hd, hard);
    rcy_heap_destroy(h);
}

static void child_defaults(void)
{
    for (int o = 0; o < RCY_OPTION_COUNT; o++)
        CHECK_EQ(rcy_option_get((rcy_option)o), option_default[o]);
    check_heap_settings(700, 10, 10, 0, 0);
    errno = 0;
    CHECK_EQ(rcy_option_get(RCY_OPTION_COUNT), -1);
    CHECK_EQ(errno, EINVAL);
}

static void child_each_variable(void)
{
    CHECK_EQ(rcy_option_get(RCY_OPTION_PURGE_DELAY_MS), 250);
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_SOFT), 64 * MiB);
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_HARD), 1024 * MiB);
    CHECK_EQ(rcy_option_get(RCY_OPTION_GC_THRESHOLD0), 1000);
    CHECK_EQ(rcy_option_get(RCY_OPTION_GC_THRESHOLD1), 20);
    CHECK_EQ(rcy_option_get(RCY_OPTION_GC_THRESHOLD2), 0);
    CHECK_EQ(rcy_option_get(RCY_OPTION_GC_DROP_PACING), 0);
    check_heap_settings(1000, 20, 0, 64 * MiB, 1024 * MiB);
}

static void child_suffixes(void)
{
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_SOFT), 65536);
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_HARD), 3 * MiB);
}

static void child_suffixes_more(void)
{
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_SOFT), 5000);
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_HARD), 2L << 30);
}

/* Every variable bad: the defaults stay. */
static void child_bad_values(void)
{
    for (int o = 0; o < RCY_OPTION_COUNT; o++)
        CHECK_EQ(rcy_option_get((rcy_option)o), option_default[o]);
    check_heap_settings(700, 10, 10, 0, 0);
}

static void child_soft_above_hard(void)
{
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_SOFT), 0);
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_HARD), 0);
}

/* RCY_GC_THRESHOLD0=1000 in the environment: a setter wins over it, and
   applies to heaps made afterwards only. */
static void child_setters(void)
{
    rcy_heap *before = check_new_heap();
    CHECK_EQ(rcy_option_set(RCY_OPTION_GC_THRESHOLD0, 5000), 0);
    CHECK_EQ(rcy_option_get(RCY_OPTION_GC_THRESHOLD0), 5000);
    CHECK_EQ(rcy_option_set(RCY_OPTION_LIMIT_HARD, 8 * MiB), 0);
    CHECK_EQ(rcy_option_set(RCY_OPTION_LIMIT_SOFT, 4 * MiB), 0);
    CHECK_EQ(rcy_option_set(RCY_OPTION_PURGE_DELAY_MS, 0), 0);
    CHECK_EQ(rcy_option_get(RCY_OPTION_PURGE_DELAY_MS), 0);
    check_heap_settings(5000, 10, 10, 4 * MiB, 8 * MiB);
    size_t t[3];
    rcy_gc_get_threshold(before, t);
    CHECK_EQ(t[0], 1000); /* made before: the environment's value */
    rcy_heap_destroy(before);
    /* refused: nothing changes */
    static const struct {
        rcy_option o;
        long v;
    } bad[] = {{RCY_OPTION_GC_DROP_PACING, 2},
               {RCY_OPTION_GC_THRESHOLD1, -1},
               {RCY_OPTION_LIMIT_SOFT, 9 * MiB},
               {RCY_OPTION_LIMIT_HARD, 3 * MiB},
               {RCY_OPTION_PURGE_DELAY_MS, -5},
               {RCY_OPTION_COUNT, 1},
               {(rcy_option)-1, 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        CHECK_EQ(rcy_option_set(bad[i].o, bad[i].v), -1);
        CHECK_EQ(errno, EINVAL);
    }
    CHECK_EQ(rcy_option_get(RCY_OPTION_GC_DROP_PACING), 1);
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_SOFT), 4 * MiB);
    CHECK_EQ(rcy_option_get(RCY_OPTION_LIMIT_HARD), 8 * MiB);
    CHECK_EQ(rcy_option_set(RCY_OPTION_LIMIT_HARD, 0), 0); /* no hard limit: soft alone */
    CHECK_EQ(rcy_option_set(RCY_OPTION_LIMIT_SOFT, 9 * MiB), 0);
    check_heap_settings(5000, 10, 10, 9 * MiB, 0);
}

/* Many threads ask first, at once: each sees the environment's value. */
static void *ask(void *arg)
{
    long *out = arg;
    *out = rcy_option_get(RCY_OPTION_GC_THRESHOLD0);
    rcy_heap *h = rcy_heap_new();
    if (h) {
        size_t t[3];
        rcy_gc_get_threshold(h, t);
        out[1] = (long)t[0];
        rcy_heap_destroy(h);
    }
    return NULL;
}

static void child_threads(void)
{
    enum { N = 8 };
    pthread_t th[N];
    long seen[N][2] = {{0}};
    int started[N];
    for (int i = 0; i < N; i++)
        started[i] = pthread_create(&th[i], NULL, ask, seen[i]) == 0;
    for (int i = 0; i < N; i++) {
        CHECK(started[i]);
        if (started[i])
            CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_EQ(seen[i][0], 1234);
        CHECK_EQ(seen[i][1], 1234);
    }
}

typedef struct child_case {
    const char *name;
    void (*run)(void);
    const char *env[2 * RCY_OPTION_COUNT + 1]; /* name, value, ..., NULL */
    const char *expect[RCY_OPTION_COUNT + 1];  /* what stderr must contain; NULL: nothing */
} child_case;

static const child_case cases[] = {
    {"defaults", child_defaults, {NULL}, {NULL}},
    {"each variable",
     child_each_variable,
     {"RCY_PURGE_DELAY_MS", "250", "RCY_LIMIT_SOFT", "64M", "RCY_LIMIT_HARD", "1G",
      "RCY_GC_THRESHOLD0", "1000", "RCY_GC_THRESHOLD1", "20", "RCY_GC_THRESHOLD2", "0",
      "RCY_GC_DROP_PACING", "0", NULL},
     {NULL}},
    {"suffixes", child_suffixes, {"RCY_LIMIT_SOFT", "64k", "RCY_LIMIT_HARD", "3MiB", NULL}, {NULL}},
    {"more suffixes",
     child_suffixes_more,
     {"RCY_LIMIT_SOFT", "5000", "RCY_LIMIT_HARD", "2GB", NULL},
     {NULL}},
    {"bad values",
     child_bad_values,
     {"RCY_PURGE_DELAY_MS", "soon", "RCY_LIMIT_SOFT", "-5", "RCY_LIMIT_HARD", "12T",
      "RCY_GC_THRESHOLD0", "", "RCY_GC_THRESHOLD1", "99999999999999999999", "RCY_GC_THRESHOLD2",
      "7 ", "RCY_GC_DROP_PACING", "2", NULL},
     {"recycle: RCY_PURGE_DELAY_MS=\"soon\" is not a whole number from 0 to",
      "recycle: RCY_LIMIT_SOFT=\"-5\" is not a size in bytes", "RCY_LIMIT_HARD=\"12T\"",
      "RCY_GC_THRESHOLD0=\"\"", "RCY_GC_THRESHOLD1=\"9999", "RCY_GC_THRESHOLD2=\"7 \"",
      "RCY_GC_DROP_PACING=\"2\" is not a whole number from 0 to 1; keeping the default 1\n"}},
    {"soft above hard",
     child_soft_above_hard,
     {"RCY_LIMIT_SOFT", "2M", "RCY_LIMIT_HARD", "1M", NULL},
     {"recycle: RCY_LIMIT_SOFT (2097152) is above RCY_LIMIT_HARD (1048576)", NULL}},
    {"setters", child_setters, {"RCY_GC_THRESHOLD0", "1000", NULL}, {NULL}},
    {"threads", child_threads, {"RCY_GC_THRESHOLD0", "1234", NULL}, {NULL}},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- the parent ---- */

/* Runs case c in a fresh process of this program; its stderr into err.
   Returns its exit status, or -1 if it did not exit. */
static int run_child(const child_case *c, char *err, size_t errsize)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        for (int o = 0; o < RCY_OPTION_COUNT; o++)
            unsetenv(option_env[o]);
        for (size_t i = 0; c->env[i]; i += 2)
            setenv(c->env[i], c->env[i + 1], 1);
        char *argv[] = {"test_options", "--child", (char *)c->name, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len < errsize - 1 && (r = read(fds[0], err + len, errsize - 1 - len)) > 0)
        len += (size_t)r;
    err[len] = '\0';
    close(fds[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void run_case(const child_case *c)
{
    char err[4096];
    int status = run_child(c, err, sizeof err);
    CHECK_EQ(status, 0);
    int lines = 0;
    for (const char *p = err; *p; p++)
        lines += *p == '\n';
    size_t expected = 0;
    for (; c->expect[expected]; expected++)
        if (!strstr(err, c->expect[expected])) {
            fprintf(stderr, "test_options: case '%s': stderr lacks \"%s\"\n", c->name,
                    c->expect[expected]);
            CHECK(0);
        }
    if (status != 0 || (size_t)lines != expected) {
        fprintf(stderr, "test_options: case '%s' (exit %d) wrote %d lines, expected %zu:\n%s",
                c->name, status, lines, expected, err);
        CHECK(0);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        for (size_t i = 0; i < NCASES; i++)
            if (strcmp(argv[2], cases[i].name) == 0) {
                cases[i].run();
                /* the report goes to stdout: stderr is for the library's lines */
                printf("test_options child '%s': %d passed, %d failed\n", argv[2], check_passed,
                       check_failed);
                if (check_failed)
                    fprintf(stderr, "(child '%s' failed %d checks)\n", argv[2], check_failed);
                return check_failed ? 1 : 0;
            }
        return 2;
    }
    for (size_t i = 0; i < NCASES; i++)
        run_case(&cases[i]);
    return check_summary("test_options");
}
