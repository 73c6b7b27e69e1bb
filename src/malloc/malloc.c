/* SPDX-License-Identifier: MIT */
/* malloc: recycle as the process's malloc (librecycle-malloc.so, used with
 * LD_PRELOAD or by linking). The C allocation functions serve every thread
 * from its own heap (rcy_thread_heap); a block may be freed, resized or
 * measured from any thread, and goes back to the heap that allocated it.
 *
 * Invariants:
 * - Requests of up to RCY_SMALL_MAX (512) bytes are pool blocks of the
 *   thread's heap; larger ones are the C library's blocks, as recycle's own
 *   large blocks are (large.h), without the bookkeeping the heaps keep for
 *   theirs (a header, a hash set, a region map), which the shim does not
 *   need and which made blocks over 512 bytes twice as slow.
 * - Recycle's own bookkeeping (heaps, large blocks, tables) comes from the C
 *   library's allocator through its __libc_* entry points (util/sys.h with
 *   RCY_SYS_LIBC), never from these functions: so nothing here recurses, and
 *   no bootstrap buffer is needed while the library starts.
 * - A pointer recycle does not own is foreign: a block over 512 bytes,
 *   memory the C library handed out before this library was in place, or
 *   an aligned block of the C library's (below). rcy__free_any says so
 *   without touching it (the shim makes no large recycle blocks, so the
 *   region map never sends it to read one), and it goes back to the C
 *   library: free calls __libc_free, realloc lets the C
 *   library resize it (or moves it into a pool block when it fits one).
 * - Alignments up to 16 bytes are every block's. Larger ones up to 512 are
 *   served by pools: a small block's address is its pool's (16 KiB-aligned)
 *   start plus a multiple of its size, so a size rounded up to a multiple of
 *   the alignment gives an aligned block. Larger alignments, or sizes over
 *   512 bytes, come from the C library's memalign: foreign blocks.
 * - fork: the prepare handler takes every lock the heaps use, parent and
 *   child release them (the child also forgets the other threads' heaps'
 *   owners), registered once with pthread_atfork when the library loads. */
#define _GNU_SOURCE 1 /* dlsym's RTLD_NEXT */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "malloc/shim.h"
#include "recycle.h"
#include "util/compiler.h"

#define EXPORT __attribute__((visibility("default")))

/* The C library's allocator, under the names glibc exports for allocators
   that replace malloc (__libc_malloc, ...), bound to names of our own. */
extern void *libc_malloc(size_t n) __asm__("__libc_malloc");
extern void libc_free(void *p) __asm__("__libc_free");
extern void *libc_memalign(size_t align, size_t n) __asm__("__libc_memalign");
extern void *libc_realloc(void *p, size_t n) __asm__("__libc_realloc");
extern void *libc_calloc(size_t count, size_t n) __asm__("__libc_calloc");

/* The same prototypes as <malloc.h> and <stdlib.h>, for -Wmissing-prototypes
   (this file includes neither: their declarations differ in attributes). */
EXPORT void *malloc(size_t n);
EXPORT void free(void *p);
EXPORT void *calloc(size_t count, size_t n);
EXPORT void *realloc(void *p, size_t n);
EXPORT void *reallocarray(void *p, size_t count, size_t n);
EXPORT int posix_memalign(void **out, size_t align, size_t n);
EXPORT void *aligned_alloc(size_t align, size_t n);
EXPORT void *memalign(size_t align, size_t n);
EXPORT void *valloc(size_t n);
EXPORT void *pvalloc(size_t n);
EXPORT size_t malloc_usable_size(void *p);
EXPORT void cfree(void *p);

/* ---- foreign blocks: the C library's ---- */

typedef size_t (*usable_size_fn)(void *);

/* The C library's malloc_usable_size, found once (dlsym may allocate, which
   is fine: it comes back here for a recycle block). */
static usable_size_fn libc_usable_size(void)
{
    static usable_size_fn fn;
    static _Thread_local bool resolving; /* dlsym calling realloc on a foreign block */
    usable_size_fn f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
    if (f || resolving)
        return f;
    resolving = true;
    f = (usable_size_fn)dlsym(RTLD_NEXT, "malloc_usable_size");
    resolving = false;
    if (f == malloc_usable_size)
        f = NULL; /* linked before the C library, dlsym found ourselves */
    __atomic_store_n(&fn, f, __ATOMIC_RELEASE);
    return f;
}

static size_t foreign_usable_size(void *p)
{
    usable_size_fn f = libc_usable_size();
    return f ? f(p) : 0;
}

/* ---- allocation ---- */

static void *enomem(void)
{
    errno = ENOMEM;
    return NULL;
}

/* Up to RCY_SMALL_MAX bytes, a pool block of the thread's heap; larger, the
   C library's block (see the top of the file). NULL from the heap (out of
   memory, or no heap could be made) leaves the request to the C library,
   which sets errno if it fails too. */
EXPORT void *malloc(size_t n)
{
    if (RCY_LIKELY(n <= RCY_SMALL_MAX)) {
        void *p = rcy__shim_malloc(n);
        if (RCY_LIKELY(p != NULL))
            return p;
    }
    return libc_malloc(n);
}

EXPORT void free(void *p)
{
    if (p && !rcy__free_any(p))
        libc_free(p);
}

EXPORT void cfree(void *p)
{
    free(p);
}

EXPORT void *calloc(size_t count, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(count, n, &total))
        return enomem();
    if (total > RCY_SMALL_MAX)
        return libc_calloc(count, n); /* which knows when its memory is fresh */
    void *p = malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

/* Moves block p (usable size old; the C library's unless ours) to a new
   block of n bytes. */
static void *move_block(void *p, size_t old, size_t n, bool ours)
{
    void *q = malloc(n);
    if (!q)
        return NULL; /* p untouched */
    memcpy(q, p, old < n ? old : n);
    if (ours)
        rcy__free_any(p);
    else
        libc_free(p);
    return q;
}

/* realloc(p, 0) frees p and returns NULL, as the C library's does. A pool
   block stays where it is while its size class holds n, else it moves (to
   the C library's past RCY_SMALL_MAX bytes). The C library resizes its own
   blocks, in place when it can, unless n fits a pool block: then the block
   moves into recycle. */
EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }
    size_t old = rcy__usable_size_any(p);
    if (old == 0) {
        size_t foreign = n <= RCY_SMALL_MAX ? foreign_usable_size(p) : 0;
        if (foreign == 0) /* large, or the C library's size is unknown */
            return libc_realloc(p, n);
        return move_block(p, foreign, n, false);
    }
    if (n <= old)
        return p;
    return move_block(p, old, n, true);
}

EXPORT void *reallocarray(void *p, size_t count, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(count, n, &total))
        return enomem();
    return realloc(p, total);
}

/* ---- aligned allocation ---- */

static bool power_of_two(size_t a)
{
    return a != 0 && (a & (a - 1)) == 0;
}

/* A block of n bytes at a multiple of align (a power of two), or NULL with
   errno ENOMEM. */
static void *alloc_aligned(size_t align, size_t n)
{
    if (align <= 16)
        return malloc(n);
    size_t rounded = (n + align - 1) & ~(align - 1);
    if (rounded == 0)
        rounded = align;
    if (rounded >= n && rounded <= RCY_SMALL_MAX) {
        void *p = malloc(rounded);
        if (!p || ((uintptr_t)p & (align - 1)) == 0)
            return p;
        free(p); /* the pool layout did not give the alignment: the C library's */
    }
    void *p = libc_memalign(align, n);
    return p ? p : enomem();
}

/* POSIX: EINVAL unless align is a power of two multiple of sizeof(void *);
   errno is left alone, *out untouched on failure. */
EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!power_of_two(align) || align % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno;
    void *p = alloc_aligned(align, n);
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    *out = p;
    return 0;
}

/* C17: align must be a valid alignment (a power of two here); else EINVAL. */
EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (!power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_aligned(align, n);
}

/* The C library's memalign rounds an alignment that is not a power of two
   up to the next one; so does this. */
EXPORT void *memalign(size_t align, size_t n)
{
    if (align > ((size_t)1 << (sizeof(size_t) * 8 - 1))) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = 1;
    while (a < align)
        a <<= 1;
    return alloc_aligned(a, n);
}

static size_t page_size(void)
{
    static size_t size;
    if (!size)
        size = (size_t)sysconf(_SC_PAGESIZE);
    return size;
}

EXPORT void *valloc(size_t n)
{
    return alloc_aligned(page_size(), n);
}

EXPORT void *pvalloc(size_t n)
{
    size_t ps = page_size();
    size_t rounded = (n + ps - 1) & ~(ps - 1);
    if (rounded < n)
        return enomem();
    return alloc_aligned(ps, rounded ? rounded : ps);
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    size_t s = rcy__usable_size_any(p);
    return s ? s : foreign_usable_size(p);
}

/* ---- fork ---- */

static void atfork_prepare(void)
{
    rcy__fork_prepare();
}

static void atfork_parent(void)
{
    rcy__fork_parent();
}

static void atfork_child(void)
{
    rcy__fork_child();
}

__attribute__((constructor)) static void shim_init(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}
