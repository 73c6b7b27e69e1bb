/* SPDX-License-Identifier: MIT */
/* snapshot: tracemalloc's Snapshot for a heap's traces: a copy of the
 * traces and their tracebacks at one moment, grouped (by site, line, file,
 * type or traceback), compared with another, filtered. Nothing here reads
 * the heap after rcy_trace_snapshot_take. Return addresses are symbolized
 * on first use (tools/symbolize.h), once per address per snapshot; every
 * string handed out (keys) is owned by the snapshot and lives as long as
 * it. Groups are found by an identity string per group (the address for a
 * site, every frame's address for a traceback, the text otherwise), so
 * that two snapshots' groups meet in a comparison. */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tools/symbolize.h"
#include "tools/trace.h"
#include "util/ptrmap.h"
#include "util/sys.h"

typedef struct sym_entry {
    char *site; /* "func (file:line)" */
    char *line; /* "file:line", or the site's text without line information */
    char *file; /* "file", or the module's name */
} sym_entry;

struct rcy_trace_snapshot {
    rcy_trace_item *recs;
    size_t n;
    rcy_trace_tb *tbs;
    size_t ntbs;
    void **frames;
    size_t nframes;
    int sampled;
    rcy_symbolizer *symbolizer; /* made on first use */
    rcy_ptrmap syms;            /* address -> sym_entry * */
    char **strings;             /* everything handed out, freed with the snapshot */
    size_t nstrings, capstrings;
};

/* ---- strings the snapshot owns ---- */

static char *keep(rcy_trace_snapshot *s, char *str)
{
    if (!str)
        return NULL;
    if (s->nstrings == s->capstrings) {
        size_t cap = s->capstrings ? 2 * s->capstrings : 64;
        char **p = rcy__sys_realloc(s->strings, cap * sizeof *p);
        if (!p) {
            rcy__sys_free(str);
            return NULL;
        }
        s->strings = p;
        s->capstrings = cap;
    }
    return s->strings[s->nstrings++] = str;
}

static char *kept_printf(rcy_trace_snapshot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *kept_printf(rcy_trace_snapshot *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *str = len >= 0 ? rcy__sys_malloc((size_t)len + 1) : NULL;
    if (!str)
        return NULL;
    va_start(ap, fmt);
    (void)vsnprintf(str, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return keep(s, str);
}

/* ---- taking, filtering, freeing ---- */

static rcy_trace_snapshot *snapshot_new(const rcy_trace_tb *tbs, size_t ntbs, void *const *frames,
                                        size_t nframes, size_t nrecs, int sampled)
{
    rcy_trace_snapshot *s = rcy__sys_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->sampled = sampled;
    s->recs = rcy__sys_malloc((nrecs ? nrecs : 1) * sizeof *s->recs);
    s->tbs = rcy__sys_malloc((ntbs ? ntbs : 1) * sizeof *s->tbs);
    s->frames = rcy__sys_malloc((nframes ? nframes : 1) * sizeof *s->frames);
    if (!s->recs || !s->tbs || !s->frames) {
        rcy_trace_snapshot_free(s);
        return NULL;
    }
    memcpy(s->tbs, tbs, ntbs * sizeof *tbs);
    memcpy(s->frames, frames, nframes * sizeof *frames);
    s->ntbs = ntbs;
    s->nframes = nframes;
    return s;
}

struct take_arg {
    const rcy_tracer *T;
    rcy_trace_snapshot *s;
};

static void take_one(uintptr_t block, uint32_t tb, uint32_t size, void *arg)
{
    struct take_arg *a = arg;
    /* an object's type from its pool (it is alive while traced) */
    uint32_t object = tb & 1;
    const rcy_type *type = object ? rcy__type((const char *)block + sizeof(rcy_objhead)) : NULL;
    a->s->recs[a->s->n++] =
        (rcy_trace_item){type, size, rcy__trace_weight(a->T, size), tb >> 1, object};
}

rcy_trace_snapshot *rcy_trace_snapshot_take(rcy_heap *h)
{
    rcy_tracer *T = h ? rcy__tracer_of(h) : NULL;
    if (!T) {
        errno = EINVAL;
        return NULL;
    }
    rcy_trace_snapshot *s = snapshot_new(T->tbs, T->ntbs, T->frames, T->nframes_used,
                                         rcy__trace_count(T), T->mean != 0);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    struct take_arg a = {T, s};
    rcy__trace_each(T, take_one, &a);
    return s;
}

void rcy_trace_snapshot_free(rcy_trace_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nstrings; i++)
        rcy__sys_free(s->strings[i]);
    rcy__sys_free(s->strings);
    for (size_t i = 0; s->syms.slots && i <= s->syms.mask; i++)
        rcy__sys_free(s->syms.slots[i].value);
    rcy__ptrmap_fini(&s->syms);
    rcy__symbolizer_free(s->symbolizer);
    rcy__sys_free(s->recs);
    rcy__sys_free(s->tbs);
    rcy__sys_free(s->frames);
    rcy__sys_free(s);
}

size_t rcy_trace_snapshot_count(const rcy_trace_snapshot *s)
{
    return s ? s->n : 0;
}

/* ---- symbols ---- */

static void *const *frames_of(const rcy_trace_snapshot *s, const rcy_trace_item *r, int *n)
{
    const rcy_trace_tb *tb = &s->tbs[r->tb];
    *n = (int)tb->n;
    return s->frames + tb->first;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static sym_entry *make_entry(rcy_trace_snapshot *s, void *ra)
{
    if (!s->symbolizer && !(s->symbolizer = rcy__symbolizer_new()))
        return NULL;
    rcy_symbol sym;
    rcy__symbolize(s->symbolizer, ra, &sym);
    char site[512];
    rcy__symbol_format(&sym, ra, site, sizeof site);
    sym_entry *e = rcy__sys_malloc(sizeof *e);
    if (!e)
        return NULL;
    e->site = kept_printf(s, "%s", site);
    if (sym.file[0]) {
        e->line = kept_printf(s, "%s:%d", sym.file, sym.line);
        e->file = kept_printf(s, "%s", sym.file);
    } else {
        e->line = e->site;
        e->file = kept_printf(s, "%s", sym.module[0] ? base_name(sym.module) : "?");
    }
    if (!e->site || !e->line || !e->file) {
        rcy__sys_free(e);
        return NULL;
    }
    return e;
}

/* The symbol of return address ra, made on first use; NULL out of memory. */
static sym_entry *symbol_of(rcy_trace_snapshot *s, void *ra)
{
    uintptr_t key = (uintptr_t)ra | 1; /* 0 is the map's empty key: a NULL frame too */
    void **slot = rcy__ptrmap_find(&s->syms, key);
    if (slot)
        return *slot;
    sym_entry *e = make_entry(s, ra);
    if (!e)
        return NULL;
    slot = rcy__ptrmap_insert(&s->syms, key);
    if (!slot) {
        rcy__sys_free(e);
        return NULL;
    }
    *slot = e;
    return e;
}

char *rcy_trace_format_frame(void *frame, char *buf, size_t size)
{
    if (!buf || !size)
        return buf;
    rcy_symbolizer *S = rcy__symbolizer_new();
    rcy_symbol sym;
    rcy__symbolize(S, frame, &sym);
    rcy__symbol_format(&sym, frame, buf, size);
    rcy__symbolizer_free(S);
    return buf;
}

/* ---- filtering ---- */

static const char *type_name_of(const rcy_trace_item *r)
{
    if (!r->object)
        return "(block)";
    return r->type && r->type->name ? r->type->name : "?";
}

/* 1 if r matches; -1 out of memory. */
static int matches(rcy_trace_snapshot *s, const rcy_trace_item *r, const char *pattern,
                   const char *type_name)
{
    if (type_name && strcmp(type_name, type_name_of(r)) != 0)
        return 0;
    if (!pattern)
        return 1;
    int n;
    void *const *f = frames_of(s, r, &n);
    sym_entry *e = symbol_of(s, n ? f[0] : NULL);
    if (!e)
        return -1;
    return fnmatch(pattern, e->file, 0) == 0;
}

rcy_trace_snapshot *rcy_trace_snapshot_filter(const rcy_trace_snapshot *cs, int include,
                                              const char *file_pattern, const char *type_name)
{
    if (!cs) {
        errno = EINVAL;
        return NULL;
    }
    rcy_trace_snapshot *s = (rcy_trace_snapshot *)cs; /* its symbol cache grows: not its traces */
    rcy_trace_snapshot *out =
        snapshot_new(s->tbs, s->ntbs, s->frames, s->nframes, s->n, s->sampled);
    if (!out) {
        errno = ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < s->n; i++) {
        int m = matches(s, &s->recs[i], file_pattern, type_name);
        if (m < 0) {
            rcy_trace_snapshot_free(out);
            errno = ENOMEM;
            return NULL;
        }
        if (m == (include != 0))
            out->recs[out->n++] = s->recs[i];
    }
    return out;
}

/* ---- grouping ---- */

typedef struct group {
    const char *id; /* identity: groups of two snapshots meet by it */
    rcy_trace_stat stat;
    double count, bytes;
    uint64_t hash;
} group;

typedef struct groups {
    group *items;
    size_t n, cap;
    uint32_t *index; /* hash -> items index + 1 */
    size_t mask;
} groups;

static uint64_t hash_str(const char *str)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *str; str++)
        h = (h ^ (unsigned char)*str) * 0x100000001B3ull;
    return h;
}

static void groups_fini(groups *g)
{
    rcy__sys_free(g->items);
    rcy__sys_free(g->index);
}

static int groups_rehash(groups *g)
{
    size_t cap = g->index ? 2 * (g->mask + 1) : 64;
    uint32_t *idx =
        rcy__trace_hash_index(g->items, g->n, sizeof *g->items, offsetof(group, hash), cap);
    if (!idx)
        return 0;
    rcy__sys_free(g->index);
    g->index = idx;
    g->mask = cap - 1;
    return 1;
}

/* The group whose identity is id; *added 1 if it was made now. */
static group *group_of(groups *g, const char *id, int *added)
{
    uint64_t h = hash_str(id);
    *added = 0;
    if (g->index) {
        for (size_t i = (size_t)h & g->mask; g->index[i]; i = (i + 1) & g->mask) {
            group *it = &g->items[g->index[i] - 1];
            if (it->hash == h && !strcmp(it->id, id))
                return it;
        }
    }
    if ((!g->index || 2 * (g->n + 1) > g->mask + 1) && !groups_rehash(g))
        return NULL;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        group *p = rcy__sys_realloc(g->items, cap * sizeof *p);
        if (!p)
            return NULL;
        g->items = p;
        g->cap = cap;
    }
    size_t i = (size_t)h & g->mask;
    while (g->index[i])
        i = (i + 1) & g->mask;
    g->index[i] = (uint32_t)g->n + 1;
    group *it = &g->items[g->n++];
    memset(it, 0, sizeof *it);
    it->hash = h;
    it->id = id;
    *added = 1;
    return it;
}

/* Every frame, one a line (the traceback's text). */
static char *traceback_text(rcy_trace_snapshot *s, void *const *f, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++) {
        sym_entry *e = symbol_of(s, f[i]);
        if (!e)
            return NULL;
        len += strlen(e->site) + 1;
    }
    char *text = rcy__sys_malloc(len);
    if (!text)
        return NULL;
    char *p = text;
    *p = '\0';
    for (int i = 0; i < n; i++) {
        const char *site = symbol_of(s, f[i])->site;
        size_t k = strlen(site);
        memcpy(p, site, k);
        p += k;
        *p++ = i + 1 < n ? '\n' : '\0';
    }
    if (!n)
        *p = '\0';
    return keep(s, text);
}

static char *traceback_id(rcy_trace_snapshot *s, void *const *f, int n)
{
    char *id = rcy__sys_malloc((size_t)n * 17 + 2);
    if (!id)
        return NULL;
    char *p = id;
    *p++ = 't';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%016llx", (unsigned long long)(uintptr_t)f[i]);
    *p = '\0';
    return keep(s, id);
}

/* The identity (*id) and text (*key) of r's group; 0 out of memory. */
static int describe(rcy_trace_snapshot *s, const rcy_trace_item *r, rcy_trace_group by,
                    const char **id, const char **key)
{
    int n;
    void *const *f = frames_of(s, r, &n);
    if (by == RCY_TRACE_BY_TYPE) {
        *id = *key = type_name_of(r);
        return 1;
    }
    if (by == RCY_TRACE_BY_TRACEBACK) {
        *id = traceback_id(s, f, n);
        *key = *id ? traceback_text(s, f, n) : NULL;
        return *key != NULL;
    }
    sym_entry *e = symbol_of(s, n ? f[0] : NULL);
    if (!e)
        return 0;
    if (by == RCY_TRACE_BY_SITE) {
        *key = e->site;
        *id = kept_printf(s, "s%p", n ? f[0] : NULL);
        return *id != NULL;
    }
    *id = *key = by == RCY_TRACE_BY_LINE ? e->line : e->file;
    return 1;
}

/* The estimated blocks r stands for: 1, or 1 / P(sampled) when sampling. */
static double count_of(const rcy_trace_item *r)
{
    return r->size ? r->weight / (double)r->size : 1.0;
}

static int group_all(rcy_trace_snapshot *s, rcy_trace_group by, groups *g)
{
    memset(g, 0, sizeof *g);
    for (size_t i = 0; i < s->n; i++) {
        const rcy_trace_item *r = &s->recs[i];
        const char *id, *key;
        int added;
        group *it = describe(s, r, by, &id, &key) ? group_of(g, id, &added) : NULL;
        if (!it) {
            groups_fini(g);
            return 0;
        }
        if (added) {
            it->stat.key = key;
            it->stat.frames = frames_of(s, r, &it->stat.nframes);
        }
        it->count += count_of(r);
        it->bytes += r->weight;
        it->stat.traces++;
    }
    for (size_t i = 0; i < g->n; i++) {
        g->items[i].stat.count = (size_t)(g->items[i].count + 0.5);
        g->items[i].stat.bytes = (size_t)(g->items[i].bytes + 0.5);
    }
    return 1;
}

static int by_bytes(const void *a, const void *b)
{
    const rcy_trace_stat *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->key, y->key);
}

static size_t magnitude(ptrdiff_t d)
{
    return d < 0 ? (size_t)0 - (size_t)d : (size_t)d;
}

static int by_diff(const void *a, const void *b)
{
    const rcy_trace_stat *x = a, *y = b;
    if (magnitude(x->bytes_diff) != magnitude(y->bytes_diff))
        return magnitude(x->bytes_diff) < magnitude(y->bytes_diff) ? 1 : -1;
    return by_bytes(a, b);
}

static int valid_group(rcy_trace_group by)
{
    return by >= RCY_TRACE_BY_SITE && by <= RCY_TRACE_BY_TRACEBACK;
}

rcy_trace_stat *rcy_trace_snapshot_statistics(rcy_trace_snapshot *s, rcy_trace_group by, size_t *n)
{
    if (!s || !n || !valid_group(by)) {
        errno = EINVAL;
        return NULL;
    }
    groups g;
    if (!group_all(s, by, &g)) {
        errno = ENOMEM;
        return NULL;
    }
    rcy_trace_stat *out = rcy__sys_malloc((g.n ? g.n : 1) * sizeof *out);
    if (out) {
        for (size_t i = 0; i < g.n; i++)
            out[i] = g.items[i].stat;
        qsort(out, g.n, sizeof *out, by_bytes);
        *n = g.n;
    } else {
        errno = ENOMEM;
    }
    groups_fini(&g);
    return out;
}

static ptrdiff_t diff(size_t a, size_t b)
{
    return a >= b ? (ptrdiff_t)(a - b) : -(ptrdiff_t)(b - a);
}

/* now's groups with their diffs, then old's groups now has not. */
static rcy_trace_stat *merge(groups *now, groups *old, size_t *n)
{
    rcy_trace_stat *out = rcy__sys_malloc((now->n + old->n + 1) * sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < now->n; i++) {
        rcy_trace_stat st = now->items[i].stat;
        int added;
        group *o = group_of(old, now->items[i].id, &added);
        if (!o) {
            rcy__sys_free(out);
            return NULL;
        }
        st.count_diff = diff(st.count, o->stat.count);
        st.bytes_diff = diff(st.bytes, o->stat.bytes);
        o->stat.traces = SIZE_MAX; /* met: not listed again below */
        out[k++] = st;
    }
    for (size_t i = 0; i < old->n; i++) {
        rcy_trace_stat st = old->items[i].stat;
        if (st.traces == SIZE_MAX)
            continue;
        st.count_diff = diff(0, st.count);
        st.bytes_diff = diff(0, st.bytes);
        st.count = st.bytes = st.traces = 0;
        out[k++] = st;
    }
    *n = k;
    return out;
}

rcy_trace_stat *rcy_trace_snapshot_compare(rcy_trace_snapshot *now, rcy_trace_snapshot *old,
                                           rcy_trace_group by, size_t *n)
{
    if (!now || !old || !n || !valid_group(by)) {
        errno = EINVAL;
        return NULL;
    }
    groups gn, go;
    if (!group_all(now, by, &gn)) {
        errno = ENOMEM;
        return NULL;
    }
    if (!group_all(old, by, &go)) {
        groups_fini(&gn);
        errno = ENOMEM;
        return NULL;
    }
    rcy_trace_stat *out = merge(&gn, &go, n);
    if (out)
        qsort(out, *n, sizeof *out, by_diff);
    else
        errno = ENOMEM;
    groups_fini(&gn);
    groups_fini(&go);
    return out;
}

void rcy_trace_snapshot_stats_free(rcy_trace_stat *stats)
{
    rcy__sys_free(stats);
}

void rcy_trace_snapshot_print_stats(const rcy_trace_stat *stats, size_t n, size_t limit, FILE *out)
{
    if (!stats || !out)
        return;
    if (limit && limit < n)
        n = limit;
    for (size_t i = 0; i < n; i++) {
        const rcy_trace_stat *st = &stats[i];
        fprintf(out, "%s: size=%zu B, count=%zu", st->key, st->bytes, st->count);
        if (st->bytes_diff || st->count_diff)
            fprintf(out, " (%+td B, %+td)", st->bytes_diff, st->count_diff);
        fputc('\n', out);
    }
}

/* ---- for the heap report ---- */

static void fill_site(rcy_trace_site *site, const rcy_trace_stat *st, int sampled)
{
    memset(site, 0, sizeof *site);
    site->nframes = st->nframes < RCY_TRACE_SITE_FRAMES ? st->nframes : RCY_TRACE_SITE_FRAMES;
    memcpy(site->frames, st->frames, (size_t)site->nframes * sizeof *site->frames);
    (void)snprintf(site->text, sizeof site->text, "%s", st->key);
    site->count = st->count;
    site->bytes = st->bytes;
    site->traces = st->traces;
    site->sampled = sampled;
}

size_t rcy__trace_top_sites(rcy_heap *h, rcy_trace_site *out, size_t max)
{
    rcy_trace_snapshot *s = rcy_trace_snapshot_take(h);
    if (!s)
        return 0;
    size_t n = 0;
    rcy_trace_stat *st = rcy_trace_snapshot_statistics(s, RCY_TRACE_BY_SITE, &n);
    if (!st)
        n = 0;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        fill_site(&out[i], &st[i], s->sampled);
    rcy_trace_snapshot_stats_free(st);
    rcy_trace_snapshot_free(s);
    return n;
}
