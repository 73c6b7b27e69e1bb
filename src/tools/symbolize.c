/* SPDX-License-Identifier: MIT */
/* symbolize: libdw through dlopen, dladdr as the fallback (symbolize.h).
 * The functions of libdw used here are looked up by name when a
 * symbolizer is made; if any is missing the symbolizer falls back. */
#define _GNU_SOURCE 1 /* dladdr, Dl_info */
#include "tools/symbolize.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/sys.h"

#if defined(RCY_HAVE_LIBDW) && RCY_HAVE_LIBDW
#include <elfutils/libdwfl.h>

typedef struct dw_api {
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    void (*end)(Dwfl *);
    int (*proc_report)(Dwfl *, pid_t);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *),
                      void *);
    Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
    const char *(*addrname)(Dwfl_Module *, GElf_Addr);
    const char *(*addrinfo)(Dwfl_Module *, GElf_Addr, GElf_Off *, GElf_Sym *, GElf_Word *, Elf **,
                            Dwarf_Addr *);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
    const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
    const char *(*module_info)(Dwfl_Module *, void ***, Dwarf_Addr *, Dwarf_Addr *, Dwarf_Addr *,
                               Dwarf_Addr *, const char **, const char **);
    /* the walk over compilation units, for modules without .debug_aranges */
    Dwarf_Die *(*nextcu)(Dwfl_Module *, Dwarf_Die *, Dwarf_Addr *);
    int (*haspc)(Dwarf_Die *, Dwarf_Addr);
    Dwarf_Line *(*getsrc_die)(Dwarf_Die *, Dwarf_Addr);
    const char *(*linesrc)(Dwarf_Line *, Dwarf_Word *, Dwarf_Word *);
    int (*lineno)(Dwarf_Line *, int *);
} dw_api;
#endif

struct rcy_symbolizer {
    void *lib; /* libdw's handle, NULL: dladdr only */
#if defined(RCY_HAVE_LIBDW) && RCY_HAVE_LIBDW
    dw_api dw;
    Dwfl_Callbacks callbacks;
    Dwfl *dwfl;
#endif
};

#if defined(RCY_HAVE_LIBDW) && RCY_HAVE_LIBDW
/* Stores libdw's function `name` in *slot, a function pointer seen as an
   object pointer (as dlsym returns it; POSIX guarantees the conversion);
   0 if it is missing. */
static int load(void *lib, void *slot, const char *name)
{
    void *fn = dlsym(lib, name);
    memcpy(slot, &fn, sizeof fn);
    return fn != NULL;
}
#define LOAD(S, field, name) load((S)->lib, &(S)->dw.field, name)

static int load_libdw(rcy_symbolizer *S)
{
    S->lib = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!S->lib)
        return 0;
    void *find_elf = dlsym(S->lib, "dwfl_linux_proc_find_elf");
    void *find_debuginfo = dlsym(S->lib, "dwfl_standard_find_debuginfo");
    if (!find_elf || !find_debuginfo || !LOAD(S, begin, "dwfl_begin") ||
        !LOAD(S, end, "dwfl_end") || !LOAD(S, proc_report, "dwfl_linux_proc_report") ||
        !LOAD(S, report_end, "dwfl_report_end") || !LOAD(S, addrmodule, "dwfl_addrmodule") ||
        !LOAD(S, addrname, "dwfl_module_addrname") || !LOAD(S, addrinfo, "dwfl_module_addrinfo") ||
        !LOAD(S, getsrc, "dwfl_module_getsrc") || !LOAD(S, lineinfo, "dwfl_lineinfo") ||
        !LOAD(S, module_info, "dwfl_module_info") || !LOAD(S, nextcu, "dwfl_module_nextcu") ||
        !LOAD(S, haspc, "dwarf_haspc") || !LOAD(S, getsrc_die, "dwarf_getsrc_die") ||
        !LOAD(S, linesrc, "dwarf_linesrc") || !LOAD(S, lineno, "dwarf_lineno"))
        return 0;
    *(void **)(void *)&S->callbacks.find_elf = find_elf;
    *(void **)(void *)&S->callbacks.find_debuginfo = find_debuginfo;
    S->dwfl = S->dw.begin(&S->callbacks);
    if (!S->dwfl)
        return 0;
    if (S->dw.proc_report(S->dwfl, getpid()) != 0 || S->dw.report_end(S->dwfl, NULL, NULL) != 0) {
        S->dw.end(S->dwfl);
        S->dwfl = NULL;
        return 0;
    }
    return 1;
}

static void close_libdw(rcy_symbolizer *S)
{
    if (S->dwfl)
        S->dw.end(S->dwfl);
    S->dwfl = NULL;
    if (S->lib)
        dlclose(S->lib);
    S->lib = NULL;
}

static void copy(char *dst, size_t size, const char *src)
{
    (void)snprintf(dst, size, "%s", src ? src : "");
}

/* The source line of pc found by walking the module's compilation units:
   for objects without .debug_aranges (clang's default), where
   dwfl_module_getsrc finds none. *lineno gets the line. */
static const char *line_by_units(rcy_symbolizer *S, Dwfl_Module *m, uintptr_t pc, int *lineno)
{
    Dwarf_Addr bias = 0;
    for (Dwarf_Die *cu = S->dw.nextcu(m, NULL, &bias); cu; cu = S->dw.nextcu(m, cu, &bias)) {
        if (S->dw.haspc(cu, pc - bias) <= 0)
            continue;
        Dwarf_Line *line = S->dw.getsrc_die(cu, pc - bias);
        if (!line || S->dw.lineno(line, lineno) != 0)
            return NULL;
        return S->dw.linesrc(line, NULL, NULL);
    }
    return NULL;
}

/* 1 if libdw knew the module of pc. */
static int symbolize_dw(rcy_symbolizer *S, uintptr_t pc, rcy_symbol *out)
{
    Dwfl_Module *m = S->dw.addrmodule(S->dwfl, pc);
    if (!m)
        return 0;
    Dwarf_Addr start = 0;
    const char *mod = S->dw.module_info(m, NULL, &start, NULL, NULL, NULL, NULL, NULL);
    copy(out->module, sizeof out->module, mod);
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = S->dw.addrinfo(m, pc, &off, &sym, NULL, NULL, NULL);
    copy(out->func, sizeof out->func, name);
    out->offset = name ? (uintptr_t)off : pc - (uintptr_t)start;
    Dwfl_Line *line = S->dw.getsrc(m, pc);
    int lineno = 0;
    const char *file = line ? S->dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
                            : line_by_units(S, m, pc, &lineno);
    if (file) {
        copy(out->file, sizeof out->file, file);
        out->line = lineno;
    }
    return 1;
}
#endif

rcy_symbolizer *rcy__symbolizer_new(void)
{
    rcy_symbolizer *S = rcy__sys_calloc(1, sizeof *S);
    if (!S)
        return NULL;
#if defined(RCY_HAVE_LIBDW) && RCY_HAVE_LIBDW
    if (!load_libdw(S))
        close_libdw(S);
#endif
    return S;
}

void rcy__symbolizer_free(rcy_symbolizer *S)
{
    if (!S)
        return;
#if defined(RCY_HAVE_LIBDW) && RCY_HAVE_LIBDW
    close_libdw(S);
#endif
    rcy__sys_free(S);
}

int rcy__symbolizer_has_lines(const rcy_symbolizer *S)
{
    return S && S->lib != NULL;
}

static void symbolize_dladdr(uintptr_t pc, rcy_symbol *out)
{
    Dl_info info;
    if (!dladdr((void *)pc, &info))
        return;
    (void)snprintf(out->module, sizeof out->module, "%s", info.dli_fname ? info.dli_fname : "");
    if (info.dli_sname && info.dli_saddr) {
        (void)snprintf(out->func, sizeof out->func, "%s", info.dli_sname);
        out->offset = pc - (uintptr_t)info.dli_saddr;
    } else {
        out->offset = pc - (uintptr_t)info.dli_fbase;
    }
}

void rcy__symbolize(rcy_symbolizer *S, void *ra, rcy_symbol *out)
{
    memset(out, 0, sizeof *out);
    /* the call instruction ends at ra: its last byte is in the caller's
       line, where ra itself may start the next one */
    uintptr_t pc = (uintptr_t)ra - (ra != NULL);
    if (!ra)
        return;
#if defined(RCY_HAVE_LIBDW) && RCY_HAVE_LIBDW
    if (S && S->dwfl && symbolize_dw(S, pc, out))
        return;
#else
    (void)S;
#endif
    symbolize_dladdr(pc, out);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void rcy__symbol_format(const rcy_symbol *sym, void *ra, char *buf, size_t size)
{
    if (sym->func[0] && sym->file[0])
        (void)snprintf(buf, size, "%s (%s:%d)", sym->func, sym->file, sym->line);
    else if (sym->func[0])
        (void)snprintf(buf, size, "%s+0x%zx (%s)", sym->func, (size_t)sym->offset,
                       base_name(sym->module));
    else if (sym->module[0])
        (void)snprintf(buf, size, "%p (%s+0x%zx)", ra, base_name(sym->module), (size_t)sym->offset);
    else
        (void)snprintf(buf, size, "%p", ra);
}
