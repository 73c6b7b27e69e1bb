/* SPDX-License-Identifier: MIT */
/* fd_owner: an object that owns a file descriptor.
 *
 * Reference counting makes destruction deterministic: the descriptor is
 * closed the moment the last reference goes, not at some later
 * collection (CPython code that opens a file without `with` relies on
 * this). Only an owner caught in a cycle waits for the collector.
 */
#define _POSIX_C_SOURCE 200809L

#include "recycle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Owns fd; holds no object references, so needs no traverse. */
typedef struct fd_owner {
    int fd;
} fd_owner;

static void fd_owner_destroy(void *self)
{
    fd_owner *f = self;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

static const rcy_type fd_owner_type = {
    .name = "fd_owner",
    .size = sizeof(fd_owner),
    .destroy = fd_owner_destroy,
};

/* A holder that refers to an fd_owner and to another holder: it can be
   part of a cycle. */
typedef struct holder {
    void *file;
    struct holder *peer;
} holder;

static void holder_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    holder *x = self;
    visit(&x->file, arg);
    visit((void **)&x->peer, arg);
}

static const rcy_type holder_type = {
    .name = "holder",
    .size = sizeof(holder),
    .traverse = holder_traverse,
};

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static int is_closed(int fd)
{
    return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

static fd_owner *owner_new(rcy_heap *h, int fd)
{
    fd_owner *f = rcy_new(h, &fd_owner_type);
    if (!f) {
        close(fd);
        perror("rcy_new");
        exit(1);
    }
    f->fd = fd;
    return f;
}

int main(void)
{
    rcy_heap *h = rcy_heap_new();
    int fds[2];
    if (!h || pipe(fds) != 0)
        return 1;
    int ok = 1;

    fd_owner *rd = owner_new(h, fds[0]);
    fd_owner *wr = owner_new(h, fds[1]);

    /* Two owners of the write end: it stays open until both let go. */
    fd_owner *wr2 = wr;
    rcy_incref(wr2);
    rcy_decref(wr);
    ok &= is_open(fds[1]);
    printf("write end, one of two references dropped: %s\n", is_open(fds[1]) ? "open" : "closed");
    rcy_decref(wr2);
    ok &= is_closed(fds[1]);
    printf("write end, last reference dropped:        %s\n", is_closed(fds[1]) ? "closed" : "open");

    /* The read end, held by a holder in a cycle: closed only when the
       collector frees the cycle. */
    holder *a = rcy_new(h, &holder_type);
    holder *b = rcy_new(h, &holder_type);
    if (!a || !b)
        return 1;
    a->file = rd; /* a takes over our reference */
    a->peer = b;  /* and our reference to b */
    b->peer = a;  /* and b our reference to a: a cycle, nothing left for us */
    ok &= is_open(fds[0]);
    printf("read end, its holder unreachable in a cycle: %s\n",
           is_open(fds[0]) ? "open" : "closed");
    size_t found = rcy_gc_collect(h, -1);
    ok &= found == 2 && is_closed(fds[0]);
    printf("read end, after rcy_gc_collect (found %zu):   %s\n", found,
           is_closed(fds[0]) ? "closed" : "open");

    rcy_heap_destroy(h);
    puts(ok ? "fd_owner: ok" : "fd_owner: FAILED");
    return ok ? 0 : 1;
}
