/* SPDX-License-Identifier: MIT */
/* symbolize: return addresses to function, file and line, for traces.
 *
 * With elfutils' libdw (libdwfl), loaded at run time with dlopen: the
 * modules of the running process from /proc/self/maps, their symbol tables
 * and DWARF line tables (separate debug files too). Without it (not
 * installed, or the library built without its header): dladdr's nearest
 * exported symbol and module. No link-time dependency either way, so an
 * installed librecycle needs nothing more than the C library
 * (docs/design.md, "Symbolization"). A symbolizer is made per use and
 * freed after: no state outlives it. */
#ifndef RCY_SYMBOLIZE_H
#define RCY_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rcy_symbolizer rcy_symbolizer;

typedef struct rcy_symbol {
    char func[160];   /* "" if unknown */
    char file[256];   /* source file, "" if no line information */
    int line;         /* 0 if none */
    char module[256]; /* the executable or shared object, "" if unknown */
    uintptr_t offset; /* from func's start, or from the module's when func is "" */
} rcy_symbol;

/* NULL only when out of memory. */
rcy_symbolizer *rcy__symbolizer_new(void);
void rcy__symbolizer_free(rcy_symbolizer *S);
/* What is known of return address ra (the call instruction before it is
   what is looked up). */
void rcy__symbolize(rcy_symbolizer *S, void *ra, rcy_symbol *out);
/* "func (file:line)", "func+0xoff (module)", or "0xaddr (module)". */
void rcy__symbol_format(const rcy_symbol *sym, void *ra, char *buf, size_t size);
/* 1 if the symbolizer reads DWARF (libdw was found). */
int rcy__symbolizer_has_lines(const rcy_symbolizer *S);

#endif
