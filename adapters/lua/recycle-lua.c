/* SPDX-License-Identifier: MIT */
/* recycle-lua: runs a Lua 5.4 script as the `lua` program does, with the
 * state's memory from a recycle heap (recycle_lua.h).
 *
 *   recycle-lua [options] [script [args]]
 *
 * Lua's options: -e stat, -l name (require, global name), -v, -E (ignore
 * LUA_INIT), -W (warnings on), -- (end of options), - (the script is
 * stdin). recycle's: --limit=SIZE (the heap's hard limit: K, M or G
 * suffixes; Lua raises "not enough memory" beyond it), --stats (recycle's
 * statistics report on stderr at exit; also RECYCLE_STATS=1),
 * --alloc=recycle|libc (libc: realloc and free, for comparisons; the
 * process's malloc may then be another allocator, LD_PRELOAD).
 *
 * As `lua`: the global `arg` holds the script's name at 0, its arguments
 * from 1 and the interpreter and options at negative indices; the script
 * gets its arguments as `...`; an error prints "progname: message" and a
 * traceback on stderr and exits with status 1; os.exit sets the status.
 * Unlike `lua` there is no interactive mode: without a script, stdin is
 * read as one. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"
#include "recycle_lua.h"

static const char *progname = "recycle-lua";

typedef struct options {
    int script;     /* index in argv of the script, or argc if none */
    int ignore_env; /* -E */
    int warnings;   /* -W */
    int version;    /* -v */
    int stats;      /* --stats or RECYCLE_STATS=1 */
    int use_libc;   /* --alloc=libc */
    size_t limit;   /* --limit: 0 none */
} options;

static void message(const char *msg)
{
    fprintf(stderr, "%s: %s\n", progname, msg);
    fflush(stderr);
}

static void usage(const char *why)
{
    fprintf(stderr,
            "%s: %s\n"
            "usage: %s [options] [script [args]]\n"
            "  -e stat   run the string 'stat'\n"
            "  -l name   require library 'name' into global 'name'\n"
            "  -v        show version information\n"
            "  -E        ignore environment variables\n"
            "  -W        turn warnings on\n"
            "  --        stop handling options\n"
            "  -         run stdin and stop handling options\n"
            "  --limit=SIZE           memory limit (K, M, G suffixes)\n"
            "  --stats                recycle's statistics on stderr at exit\n"
            "  --alloc=recycle|libc   the allocator (default recycle)\n",
            progname, why, progname);
}

/* "64M" -> 67108864; 0 on a malformed size. */
static size_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return 0;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (*end || v > (~0ull >> shift))
        return 0;
    return (size_t)(v << shift);
}

/* Fills o from argv; -1 on a bad option (after a message). Options that
   run code (-e, -l) are left for run_options, which sees them in order. */
static int parse_args(int argc, char **argv, options *o)
{
    const char *env = getenv("RECYCLE_STATS");
    o->stats = env && strcmp(env, "1") == 0;
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-") == 0)
            break;
        if (strcmp(a, "-E") == 0)
            o->ignore_env = 1;
        else if (strcmp(a, "-W") == 0)
            o->warnings = 1;
        else if (strcmp(a, "-v") == 0)
            o->version = 1;
        else if (strcmp(a, "--stats") == 0)
            o->stats = 1;
        else if (strcmp(a, "--alloc=libc") == 0)
            o->use_libc = 1;
        else if (strcmp(a, "--alloc=recycle") == 0)
            o->use_libc = 0;
        else if (strncmp(a, "--limit=", 8) == 0) {
            o->limit = parse_size(a + 8);
            if (!o->limit) {
                usage("--limit needs a size such as 65536, 512K or 64M");
                return -1;
            }
        } else if ((a[1] == 'e' || a[1] == 'l') && a[2] == '\0') {
            if (++i >= argc) {
                usage(a[1] == 'e' ? "'-e' needs an argument" : "'-l' needs an argument");
                return -1;
            }
        } else if ((a[1] == 'e' || a[1] == 'l') && a[2] != '\0') {
            continue; /* -estat, -lname */
        } else {
            char why[128];
            snprintf(why, sizeof why, "unrecognized option '%s'", a);
            usage(why);
            return -1;
        }
    }
    o->script = i;
    return 0;
}

/* The error handler: the message with a traceback. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Calls the function below narg arguments on the stack, with msghandler. */
static int docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, narg, nres, base);
    lua_remove(L, base);
    return status;
}

static int report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        message(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return status;
}

static int dochunk(lua_State *L, int status)
{
    if (status == LUA_OK)
        status = docall(L, 0, 0);
    return report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name)
{
    return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

static int dolibrary(lua_State *L, const char *name)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    int status = docall(L, 1, 1);
    if (status == LUA_OK)
        lua_setglobal(L, name);
    return report(L, status);
}

/* arg: the script at 0, its arguments after, what came before below 0. */
static void create_arg_table(lua_State *L, int argc, char **argv, int script)
{
    if (script == argc)
        script = 0; /* no script: the interpreter's name at 0 */
    lua_createtable(L, argc - script, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int handle_luainit(lua_State *L)
{
    const char *name = "=LUA_INIT_5_4";
    const char *init = getenv(name + 1);
    if (!init) {
        name = "=LUA_INIT";
        init = getenv(name + 1);
    }
    if (!init)
        return LUA_OK;
    if (init[0] == '@')
        return dochunk(L, luaL_loadfile(L, init + 1));
    return dostring(L, init, name);
}

/* -e and -l, in the order given. */
static int run_options(lua_State *L, char **argv, int script)
{
    for (int i = 1; i < script; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l'))
            continue;
        const char *val = a[2] ? a + 2 : argv[++i];
        int status = a[1] == 'e' ? dostring(L, val, "=(command line)") : dolibrary(L, val);
        if (status != LUA_OK)
            return status;
    }
    return LUA_OK;
}

static int run_script(lua_State *L, int argc, char **argv, int script)
{
    const char *fname = script < argc ? argv[script] : NULL;
    if (fname && strcmp(fname, "-") == 0 && (script == 0 || strcmp(argv[script - 1], "--") != 0))
        fname = NULL; /* stdin */
    int status = luaL_loadfile(L, fname);
    if (status == LUA_OK) {
        int n = 0;
        for (int i = script + 1; i < argc; i++, n++)
            lua_pushstring(L, argv[i]);
        status = docall(L, n, LUA_MULTRET);
    }
    return report(L, status);
}

/* Everything after the state exists, in protected mode so that an out of
   memory error while setting up is reported too. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    const options *o = lua_touserdata(L, 3);
    luaL_checkversion(L);
    luaL_openlibs(L);
    create_arg_table(L, argc, argv, o->script);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);
    if (o->version)
        printf("%s (recycle %s)\n", LUA_COPYRIGHT, RCY_VERSION);
    if (o->warnings)
        lua_warning(L, "@on", 0);
    if (!o->ignore_env && handle_luainit(L) != LUA_OK)
        return 0;
    if (run_options(L, argv, o->script) != LUA_OK)
        return 0;
    int ran_something = o->version;
    for (int i = 1; i < o->script; i++)
        ran_something |= argv[i][0] == '-' && argv[i][1] == 'e';
    if ((o->script < argc || !ran_something) && run_script(L, argc, argv, o->script) != LUA_OK)
        return 0;
    lua_pushboolean(L, 1);
    return 1;
}

static void *libc_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

int main(int argc, char **argv)
{
    if (argv[0] && argv[0][0])
        progname = argv[0];
    options o = {0};
    if (parse_args(argc, argv, &o) != 0)
        return EXIT_FAILURE;
    rcy_heap *h = NULL;
    lua_State *L;
    if (o.use_libc) {
        L = lua_newstate(libc_alloc, NULL);
    } else {
        h = rcy_heap_new();
        if (!h) {
            message("cannot create a recycle heap");
            return EXIT_FAILURE;
        }
        if (o.limit && rcy_lua_set_limit(h, o.limit) != 0) {
            message("cannot set the memory limit");
            return EXIT_FAILURE;
        }
        L = rcy_lua_newstate(h);
    }
    if (!L) {
        message("cannot create state: not enough memory");
        return EXIT_FAILURE;
    }
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    lua_pushlightuserdata(L, &o);
    int status = lua_pcall(L, 3, 1, 0);
    int ok = status == LUA_OK && lua_toboolean(L, -1);
    if (status != LUA_OK)
        report(L, status);
    lua_close(L);
    if (h) {
        if (o.stats)
            rcy_mem_print_stats(h, stderr);
        rcy_heap_destroy(h);
    }
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
