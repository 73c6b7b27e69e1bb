/* SPDX-License-Identifier: MIT */
/* test_docs: the API reference (docs/api.md) covers the public header.
 *
 * Reads include/recycle.h and docs/api.md and checks that
 *   - every function the header declares (RCY_API or static inline) has a
 *     "### name" heading in api.md;
 *   - every other public name (types, macros, enum constants; rcy_ / RCY_,
 *     but not the rcy__ internals) is at least mentioned in api.md;
 *   - every "### rcy_..." heading names something the header declares, so
 *     the reference cannot describe a function that no longer exists.
 *
 * Where the sources are: $RCY_SOURCE_DIR if set, else the RCY_SOURCE_DIR
 * compile-time definition if the build gives one, else the first directory
 * holding include/recycle.h found walking up from the current directory,
 * then from the directory of this executable (a build tree inside the
 * source tree, e.g. build/<name>/tests, finds it that way).
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NAMES 512
#define NAME_LEN 64

typedef struct names {
    size_t n;
    char name[MAX_NAMES][NAME_LEN];
} names;

static int names_has(const names *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return 1;
    return 0;
}

static void names_add(names *s, const char *name, size_t len)
{
    char buf[NAME_LEN];
    if (len >= NAME_LEN)
        len = NAME_LEN - 1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (!names_has(s, buf) && s->n < MAX_NAMES)
        strcpy(s->name[s->n++], buf);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    (void)fclose(f); /* read only: nothing to lose */
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int file_exists(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
    return n >= 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

/* Walks up from dir (modified in place) to a directory holding
   include/recycle.h; 1 if found. */
static int search_up(char *dir)
{
    for (;;) {
        if (file_exists(dir, "include/recycle.h") && file_exists(dir, "docs"))
            return 1;
        char *slash = strrchr(dir, '/');
        if (!slash)
            return 0;
        if (slash == dir) {
            if (dir[1] == '\0')
                return 0;
            dir[1] = '\0'; /* try "/" last */
        } else {
            *slash = '\0';
        }
    }
}

static int find_source_dir(char *out, size_t size)
{
    const char *env = getenv("RCY_SOURCE_DIR");
    if (env && *env) {
        int n = snprintf(out, size, "%s", env);
        return n >= 0 && (size_t)n < size;
    }
#ifdef RCY_SOURCE_DIR
    int n = snprintf(out, size, "%s", RCY_SOURCE_DIR);
    if (n >= 0 && (size_t)n < size && file_exists(out, "include/recycle.h"))
        return 1;
#endif
    if (getcwd(out, size) && search_up(out))
        return 1;
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n > 0) {
        out[n] = '\0';
        if (search_up(out))
            return 1;
    }
    return 0;
}

/* Blanks out comments and string literals, keeping line structure. */
static void strip_comments(char *s)
{
    for (char *p = s; *p; p++) {
        if (p[0] == '/' && p[1] == '*') {
            char *end = strstr(p + 2, "*/");
            char *stop = end ? end + 2 : p + strlen(p);
            for (; p < stop; p++)
                if (*p != '\n')
                    *p = ' ';
            p--;
        } else if (p[0] == '/' && p[1] == '/') {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
            p--;
        } else if (p[0] == '"') {
            for (p++; *p && *p != '"' && *p != '\n'; p++)
                *p = ' ';
        }
    }
}

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_';
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_';
}

/* The name a declaration starting at p declares: the identifier right
   before its first '(' (functions). NULL if none before ';' or '{'. */
static const char *declared_function(const char *p, size_t *len)
{
    const char *last = NULL;
    size_t last_len = 0;
    while (*p && *p != ';' && *p != '{') {
        if (is_ident_start((unsigned char)*p)) {
            const char *start = p;
            while (is_ident((unsigned char)*p))
                p++;
            last = start;
            last_len = (size_t)(p - start);
            continue;
        }
        if (*p == '(') {
            *len = last_len;
            return last;
        }
        p++;
    }
    return NULL;
}

static int is_public_name(const char *p, size_t len)
{
    if (len > 4 && (strncmp(p, "rcy_", 4) == 0 || strncmp(p, "RCY_", 4) == 0))
        return strncmp(p + 4, "impl_", 5) != 0 && strncmp(p + 4, "IMPL_", 5) != 0; /* internals */
    return 0;
}

/* Names whose documentation the test does not require: internals that
   the inline functions need, the export macro, and the branch hints. */
static int exempt(const char *name)
{
    static const char *const list[] = {"RCY_API",   "RCY_GCWORD_NOTED", "RCY_IMMORTAL", "RCY_HEAD",
                                       "RECYCLE_H", "RCY_CHECK_LEVEL",  "rcy_objhead",  NULL};
    for (int i = 0; list[i]; i++)
        if (strcmp(name, list[i]) == 0)
            return 1;
    return 0;
}

/* Is the identifier at p..p+len a whole word in text? */
static int mentions(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
        int before = p > text && is_ident((unsigned char)p[-1]);
        int after = is_ident((unsigned char)p[len]);
        if (!before && !after)
            return 1;
    }
    return 0;
}

int main(void)
{
    char dir[PATH_MAX];
    if (!find_source_dir(dir, sizeof dir)) {
        fprintf(stderr, "test_docs: cannot find the source tree; set RCY_SOURCE_DIR\n");
        CHECK(0);
        return check_summary("test_docs");
    }
    char path[PATH_MAX + 32]; /* dir is shorter than PATH_MAX: the names fit */
    (void)snprintf(path, sizeof path, "%s/include/recycle.h", dir);
    char *header = read_file(path);
    (void)snprintf(path, sizeof path, "%s/docs/api.md", dir);
    char *api = read_file(path);
    CHECK(header != NULL);
    CHECK(api != NULL);
    if (!header || !api) {
        fprintf(stderr, "test_docs: cannot read the header or docs/api.md under the source dir\n");
        return check_summary("test_docs");
    }
    strip_comments(header);

    /* Functions: after RCY_API, or after "static inline". */
    static names functions, others, headings;
    for (const char *p = header; (p = strstr(p, "RCY_API")) != NULL; p += 7) {
        const char *line = p;
        while (line > header && line[-1] != '\n')
            line--;
        if (strncmp(line, "#", 1) == 0)
            continue; /* the #define of RCY_API itself */
        size_t len;
        const char *name = declared_function(p + 7, &len);
        if (name && is_public_name(name, len))
            names_add(&functions, name, len);
    }
    for (const char *p = header; (p = strstr(p, "static inline")) != NULL; p += 13) {
        size_t len;
        const char *name = declared_function(p + 13, &len);
        if (name && is_public_name(name, len))
            names_add(&functions, name, len);
    }
    /* Every other public identifier: types, macros, enum constants. */
    for (const char *p = header; *p;) {
        if (is_ident_start((unsigned char)*p) && (p == header || !is_ident((unsigned char)p[-1]))) {
            const char *start = p;
            while (is_ident((unsigned char)*p))
                p++;
            size_t len = (size_t)(p - start);
            if (is_public_name(start, len))
                names_add(&others, start, len);
        } else {
            p++;
        }
    }
    /* Headings of api.md: "### name" (backticks and trailing text allowed). */
    for (const char *p = api; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, "### ", 4) != 0)
            continue;
        const char *q = p + 4;
        while (*q == ' ' || *q == '`')
            q++;
        const char *start = q;
        while (is_ident((unsigned char)*q))
            q++;
        if (q > start)
            names_add(&headings, start, (size_t)(q - start));
    }

    printf("header: %zu functions, %zu public names; api.md: %zu headings\n", functions.n, others.n,
           headings.n);
    CHECK(functions.n >= 40); /* the parse found the API at all */

    for (size_t i = 0; i < functions.n; i++) {
        int ok = names_has(&headings, functions.name[i]);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "test_docs: %s is in recycle.h but has no \"### %s\" in docs/api.md\n",
                    functions.name[i], functions.name[i]);
    }
    for (size_t i = 0; i < others.n; i++) {
        const char *name = others.name[i];
        if (names_has(&functions, name) || exempt(name))
            continue;
        int ok = mentions(api, name);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "test_docs: %s is in recycle.h but docs/api.md never mentions it\n",
                    name);
    }
    for (size_t i = 0; i < headings.n; i++) {
        const char *name = headings.name[i];
        if (!is_public_name(name, strlen(name)))
            continue;
        int ok = names_has(&others, name);
        CHECK(ok);
        if (!ok)
            fprintf(stderr,
                    "test_docs: docs/api.md documents %s, which recycle.h does not declare\n",
                    name);
    }
    free(header);
    free(api);
    return check_summary("test_docs");
}
