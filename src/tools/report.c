/* SPDX-License-Identifier: MIT */
/* report: rcy_heap_report, what holds a heap's memory, as text for people
 * or as JSON for recycle-report (tools/recycle-report makes an HTML page of
 * it). The JSON's schema is in docs/api.md; tests/tools/test_report.c
 * checks it.
 *
 * One function per section, each gathering its facts once and writing
 * them through the writer `w`, which knows the format: a section is the
 * same facts in either. The sections: summary, types (census), sites
 * (allocation sites from the traces: report_sites), pools, pinned pools, large blocks,
 * purge, collection, retainers (dominators, with a chain of references to
 * each from rcy_why_alive), arenas (rcy_arena_map). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem/mem.h"
#include "tools/trace.h"
#include "util/sys.h"

#define TOP_TYPES 20
#define TOP_SITES 10
#define TOP_PINNED 8
#define TOP_LARGE 10
#define TOP_RETAINERS 8
#define PATHS 5
#define PATH_SHOWN 12
#define PINNED_FILL 0.25
#define SUSPECT_SHARE 0.1

typedef struct writer {
    FILE *out;
    int json;
    int first; /* no member written yet at this level (JSON) */
} writer;

/* ---- JSON pieces ---- */

static void j_sep(writer *w)
{
    if (!w->first)
        fputc(',', w->out);
    w->first = 0;
}

static void j_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void j_key(writer *w, const char *key)
{
    j_sep(w);
    j_str(w->out, key);
    fputc(':', w->out);
}

static void j_open(writer *w, const char *key, char bracket)
{
    if (key)
        j_key(w, key);
    else
        j_sep(w);
    fputc(bracket, w->out);
    w->first = 1;
}

static void j_close(writer *w, char bracket)
{
    fputc(bracket, w->out);
    w->first = 0;
}

static void j_num(writer *w, const char *key, size_t v)
{
    j_key(w, key);
    fprintf(w->out, "%zu", v);
}

static void j_text(writer *w, const char *key, const char *s)
{
    j_key(w, key);
    j_str(w->out, s);
}

static void j_addr(writer *w, const char *key, const void *p)
{
    char buf[32];
    (void)snprintf(buf, sizeof buf, "%p", p);
    j_text(w, key, p ? buf : "");
}

static const char *type_name(const rcy_type *t)
{
    return t ? (t->name ? t->name : "?") : "(raw blocks)";
}

/* ---- sections ---- */

static void report_summary(writer *w, const rcy_mem_stats *s, const rcy_dominators_summary *d)
{
    if (w->json) {
        j_open(w, "summary", '{');
        j_num(w, "bytes_in_use", s->bytes_in_use);
        j_num(w, "bytes_committed", s->bytes_committed);
        j_num(w, "bytes_held", s->bytes_held);
        j_num(w, "small_bytes_used", s->small_bytes_used);
        j_num(w, "small_bytes_free", s->small_bytes_free);
        j_num(w, "quantization_bytes", s->quantization_bytes);
        j_num(w, "large_blocks", s->large_blocks);
        j_num(w, "large_bytes", s->large_bytes);
        j_num(w, "arenas", s->arenas_current);
        j_num(w, "objects", d->objects);
        j_num(w, "object_bytes", d->bytes);
        j_close(w, '}');
        return;
    }
    fprintf(w->out,
            "== recycle heap report ==\n"
            "bytes in use %zu (small %zu, large %zu in %zu blocks); committed %zu; held %zu\n"
            "objects %zu (%zu bytes); arenas %zu\n",
            s->bytes_in_use, s->small_bytes_used, s->large_bytes, s->large_blocks,
            s->bytes_committed, s->bytes_held, d->objects, d->bytes, s->arenas_current);
}

static void report_types(writer *w, const rcy_census *c)
{
    size_t n;
    const rcy_census_entry *e = rcy_census_entries(c, &n);
    if (w->json)
        j_open(w, "types", '[');
    else
        fprintf(w->out, "\n-- live blocks by type (largest first) --\n%12s %12s  %s\n", "count",
                "bytes", "type");
    for (size_t i = 0; i < n && i < TOP_TYPES; i++) {
        if (w->json) {
            j_open(w, NULL, '{');
            j_text(w, "name", e[i].name);
            j_num(w, "count", e[i].count);
            j_num(w, "bytes", e[i].bytes);
            j_close(w, '}');
        } else {
            fprintf(w->out, "%12zu %12zu  %s\n", e[i].count, e[i].bytes, e[i].name);
        }
    }
    if (w->json)
        j_close(w, ']');
}

/* The allocation sites that hold the most (issue 24, item 1), from the
   heap's traces (tools/trace.h). In JSON: "sites": {"available": true,
   "sampled": b, "items": [{"site": "func (file:line)", "count": n,
   "bytes": n}]}, or "available": false with the reason. */
static void report_sites(writer *w, rcy_heap *h)
{
    rcy_trace_site *sites = rcy__sys_calloc(TOP_SITES, sizeof *sites);
    size_t n = sites ? rcy__trace_top_sites(h, sites, TOP_SITES) : 0;
    const char *why = !sites                     ? "out of memory for the sites"
                      : !rcy_trace_is_tracing(h) ? "allocation tracing is off (rcy_trace_start)"
                                                 : NULL;
    if (w->json) {
        j_open(w, "sites", '{');
        j_key(w, "available");
        fputs(why ? "false" : "true", w->out);
        if (why) {
            j_text(w, "reason", why);
        } else {
            j_key(w, "sampled");
            fputs(n && sites[0].sampled ? "true" : "false", w->out);
            j_open(w, "items", '[');
            for (size_t i = 0; i < n; i++) {
                j_open(w, NULL, '{');
                j_text(w, "site", sites[i].text);
                j_num(w, "count", sites[i].count);
                j_num(w, "bytes", sites[i].bytes);
                j_close(w, '}');
            }
            j_close(w, ']');
        }
        j_close(w, '}');
    } else {
        fprintf(w->out, "\n-- allocation sites (most bytes first%s) --\n",
                n && sites[0].sampled ? ", estimated from samples" : "");
        if (why)
            fprintf(w->out, "%s\n", why);
        for (size_t i = 0; i < n; i++)
            fprintf(w->out, "%12zu %12zu  %s\n", sites[i].count, sites[i].bytes, sites[i].text);
    }
    rcy__sys_free(sites);
}

static void report_pools(writer *w, const rcy_mem_stats *s)
{
    if (w->json) {
        j_open(w, "pools", '{');
        j_num(w, "used", s->pools_used);
        j_num(w, "free_bytes_inside", s->small_bytes_free);
        j_num(w, "empty_with_pages", s->pools_empty_dirty);
        j_num(w, "given_back", s->pools_empty_clean);
        j_close(w, '}');
        return;
    }
    fprintf(w->out,
            "\n-- pools --\n%zu in use, %zu bytes free inside them; %zu empty holding pages, %zu "
            "given back\n",
            s->pools_used, s->small_bytes_free, s->pools_empty_dirty, s->pools_empty_clean);
}

static void pinned_item(writer *w, const rcy_pinned_pool *p)
{
    if (w->json) {
        j_open(w, NULL, '{');
        j_addr(w, "pool", p->pool);
        j_num(w, "block_size", p->block_size);
        j_text(w, "type", type_name(p->type));
        j_num(w, "live", p->live);
        j_num(w, "capacity", p->capacity);
        j_num(w, "held_bytes", p->held_bytes);
        j_addr(w, "first_live", p->first_live);
        j_close(w, '}');
    } else {
        fprintf(w->out, "  pool %p: %zu of %zu blocks of %zu B live, type %s (e.g. %p)\n", p->pool,
                p->live, p->capacity, p->block_size, type_name(p->type), p->first_live);
    }
}

static void report_pinned(writer *w, rcy_heap *h)
{
    rcy_pinned_pool items[TOP_PINNED];
    size_t bytes = 0;
    size_t n = rcy_pinned_pools(h, PINNED_FILL, items, TOP_PINNED, &bytes);
    size_t shown = n < TOP_PINNED ? n : TOP_PINNED;
    if (w->json) {
        j_open(w, "pinned", '{');
        j_key(w, "max_fill");
        fprintf(w->out, "%.2f", PINNED_FILL);
        j_num(w, "pools", n);
        j_num(w, "bytes", bytes);
        j_open(w, "items", '[');
    } else {
        fprintf(w->out,
                "\n-- pinned pools (at most %.0f%% full) --\n%zu pools hold %zu bytes for few live "
                "blocks\n",
                PINNED_FILL * 100, n, bytes);
    }
    for (size_t i = 0; i < shown; i++)
        pinned_item(w, &items[i]);
    if (w->json) {
        j_close(w, ']');
        j_close(w, '}');
    }
}

typedef struct large_item {
    const void *p;
    const rcy_type *type;
    size_t bytes;
} large_item;

static int by_size(const void *x, const void *y)
{
    const large_item *a = x, *b = y;
    return a->bytes < b->bytes ? 1 : a->bytes > b->bytes ? -1 : 0;
}

static void report_large(writer *w, rcy_heap *h, const rcy_mem_stats *s)
{
    const rcy_larges *L = &rcy__mem_of(h)->large;
    large_item *items = rcy__sys_malloc((L->count ? L->count : 1) * sizeof *items);
    size_t n = 0, cur = 0;
    for (unsigned kind = 0; items && kind < RCY_KINDS; kind++, cur = 0)
        for (void *b; (b = rcy__larges_next(L, kind, &cur)) && n < L->count;) {
            const rcy_type *t = rcy__large_header(b)->tag;
            items[n++] = (large_item){t ? (char *)b + sizeof(rcy_objhead) : b, t,
                                      rcy__large_header(b)->size};
        }
    if (n)
        qsort(items, n, sizeof *items, by_size);
    if (w->json) {
        j_open(w, "large", '{');
        j_num(w, "count", s->large_blocks);
        j_num(w, "bytes", s->large_bytes);
        j_open(w, "items", '[');
    } else {
        fprintf(w->out, "\n-- large blocks --\n%zu blocks, %zu bytes\n", s->large_blocks,
                s->large_bytes);
    }
    for (size_t i = 0; i < n && i < TOP_LARGE; i++) {
        if (w->json) {
            j_open(w, NULL, '{');
            j_addr(w, "address", items[i].p);
            j_text(w, "type", type_name(items[i].type));
            j_num(w, "bytes", items[i].bytes);
            j_close(w, '}');
        } else {
            fprintf(w->out, "  %p %10zu B  %s\n", items[i].p, items[i].bytes,
                    type_name(items[i].type));
        }
    }
    if (w->json) {
        j_close(w, ']');
        j_close(w, '}');
    }
    rcy__sys_free(items);
}

static void report_purge(writer *w, rcy_heap *h)
{
    rcy_purge_estimate e;
    rcy_purge_estimate_get(h, &e);
    if (w->json) {
        j_open(w, "purge", '{');
        j_num(w, "empty_pool_bytes", e.empty_pool_bytes);
        j_num(w, "free_page_bytes", e.free_page_bytes);
        j_num(w, "total", e.total);
        j_close(w, '}');
        return;
    }
    fprintf(w->out,
            "\n-- what rcy_purge would give back now --\n%zu bytes (%zu of empty pools, %zu of "
            "free pages inside pools in use)\n",
            e.total, e.empty_pool_bytes, e.free_page_bytes);
}

static void report_collection(writer *w, const rcy_dominators_summary *d)
{
    if (w->json) {
        j_open(w, "collection", '{');
        j_num(w, "garbage_objects", d->garbage);
        j_num(w, "garbage_bytes", d->garbage_bytes);
        j_num(w, "reachable_objects", d->reachable);
        j_num(w, "roots", d->roots);
        j_close(w, '}');
        return;
    }
    fprintf(w->out,
            "\n-- what a full collection would free --\n%zu objects, %zu bytes held only by "
            "garbage cycles (%zu objects reachable from %zu roots)\n",
            d->garbage, d->garbage_bytes, d->reachable, d->roots);
}

/* The chain rcy_why_alive reports for a retainer, its first steps kept. */
typedef struct path_steps {
    const void *obj[PATH_SHOWN];
    size_t offset[PATH_SHOWN];
    size_t n;
} path_steps;

static void path_step(const void *obj, size_t offset, void *arg)
{
    path_steps *p = arg;
    if (p->n < PATH_SHOWN) {
        p->obj[p->n] = obj;
        p->offset[p->n] = offset;
    }
    p->n++;
}

static void path_json(writer *w, const path_steps *p)
{
    j_num(w, "path_length", p->n);
    j_open(w, "path", '[');
    for (size_t i = 0; i < p->n && i < PATH_SHOWN; i++) {
        j_open(w, NULL, '{');
        j_addr(w, "address", p->obj[i]);
        j_text(w, "type", type_name(rcy_typeof(p->obj[i])));
        if (p->offset[i] & RCY_PATH_OUTSIDE)
            j_num(w, "item", p->offset[i] & ~RCY_PATH_OUTSIDE);
        else
            j_num(w, "offset", p->offset[i]);
        j_close(w, '}');
    }
    j_close(w, ']');
}

static void path_text(writer *w, const path_steps *p)
{
    if (p->n == 1) {
        fprintf(w->out, "    a root: held from outside the heap's objects\n");
        return;
    }
    fprintf(w->out, "    held by:");
    for (size_t i = 0; i < p->n && i < PATH_SHOWN; i++) {
        fprintf(w->out, "%s %s %p", i ? " ->" : "", type_name(rcy_typeof(p->obj[i])), p->obj[i]);
        if (i + 1 == p->n)
            break;
        if (p->offset[i] & RCY_PATH_OUTSIDE)
            fprintf(w->out, " [item %zu]", p->offset[i] & ~RCY_PATH_OUTSIDE);
        else
            fprintf(w->out, " +%zu", p->offset[i]);
    }
    fprintf(w->out, "%s\n", p->n > PATH_SHOWN ? " -> ..." : "");
}

static void retainer_item(writer *w, rcy_heap *h, const rcy_retainer *r, int suspect, int path)
{
    const char *name = type_name(r->type);
    path_steps p = {{0}, {0}, 0};
    if (path && rcy_why_alive(h, r->accumulation, path_step, &p) < 0)
        p.n = 0;
    if (w->json) {
        j_open(w, NULL, '{');
        j_addr(w, "address", r->obj);
        j_text(w, "type", name);
        j_num(w, "retained", r->retained);
        j_num(w, "objects", r->retained_objects);
        j_key(w, "suspect");
        fputs(suspect ? "true" : "false", w->out);
        j_addr(w, "accumulation", r->accumulation);
        j_text(w, "accumulation_type", type_name(rcy_typeof(r->accumulation)));
        path_json(w, &p);
        j_close(w, '}');
        return;
    }
    fprintf(w->out, "  %s%s %p retains %zu bytes in %zu objects\n", suspect ? "SUSPECT " : "", name,
            r->obj, r->retained, r->retained_objects);
    if (suspect && r->accumulation != r->obj)
        fprintf(w->out, "    accumulated in %s %p\n", type_name(rcy_typeof(r->accumulation)),
                r->accumulation);
    if (p.n)
        path_text(w, &p);
}

static int is_suspect(const rcy_retainer *s, size_t ns, const void *o)
{
    for (size_t i = 0; i < ns; i++)
        if (s[i].obj == o)
            return 1;
    return 0;
}

static void report_retainers(writer *w, rcy_heap *h, const rcy_dominators *d)
{
    rcy_retainer top[TOP_RETAINERS], sus[TOP_RETAINERS];
    size_t n = rcy_dominators_top(d, top, TOP_RETAINERS);
    size_t ns = rcy_dominators_suspects(d, SUSPECT_SHARE, sus, TOP_RETAINERS);
    if (w->json)
        j_open(w, "retainers", '[');
    else
        fprintf(w->out, "\n-- largest retainers (dominator tree; suspects retain >= %.0f%%) --\n",
                SUSPECT_SHARE * 100);
    for (size_t i = 0; i < ns; i++)
        retainer_item(w, h, &sus[i], 1, i < PATHS);
    for (size_t i = 0; i < n; i++)
        if (!is_suspect(sus, ns, top[i].obj))
            retainer_item(w, h, &top[i], 0, ns + i < PATHS);
    if (w->json)
        j_close(w, ']');
}

static void arena_line(const void *base, const char *pools, void *arg)
{
    writer *w = arg;
    if (w->json) {
        j_open(w, NULL, '{');
        j_addr(w, "base", base);
        j_text(w, "pools", pools);
        j_close(w, '}');
    } else {
        fprintf(w->out, "  %p %s\n", base, pools);
    }
}

static void report_arenas(writer *w, rcy_heap *h)
{
    if (w->json)
        j_open(w, "arenas", '[');
    else
        fprintf(w->out, "\n-- arenas (h bookkeeping, . given back, e empty with pages, 0-9 "
                        "tenths full, # full, p pages given back) --\n");
    rcy_arena_map(h, arena_line, w);
    if (w->json)
        j_close(w, ']');
}

int rcy_heap_report(rcy_heap *h, FILE *out, unsigned flags)
{
    if (!h || !out || flags > RCY_REPORT_JSON) {
        errno = EINVAL;
        return -1;
    }
    rcy_dominators *d = rcy_dominators_compute(h);
    rcy_census *c = d ? rcy_census_take(h) : NULL;
    if (!c) {
        rcy_dominators_free(d);
        return -1;
    }
    rcy_mem_stats s;
    rcy_mem_get_stats(h, &s);
    rcy_dominators_summary ds;
    rcy_dominators_get_summary(d, &ds);
    writer w = {out, (int)(flags & RCY_REPORT_JSON), 1};
    if (w.json) {
        fputc('{', out);
        j_text(&w, "schema", "recycle-report/1");
    }
    report_summary(&w, &s, &ds);
    report_types(&w, c);
    report_sites(&w, h);
    report_pools(&w, &s);
    report_pinned(&w, h);
    report_large(&w, h, &s);
    report_purge(&w, h);
    report_collection(&w, &ds);
    report_retainers(&w, h, d);
    report_arenas(&w, h);
    if (w.json)
        fputs("}\n", out);
    rcy_census_free(c);
    rcy_dominators_free(d);
    return ferror(out) ? -1 : 0;
}
