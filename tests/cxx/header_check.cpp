/* SPDX-License-Identifier: MIT */
/* The public header compiles as C++ (it is meant to be usable from C++):
 * every declaration, the inline reference counting, and no reserved
 * names. Compiled with -fsyntax-only by tests/check_cxx.sh. */
#include "recycle.h"

#if defined(RCY_IMPL_LIKELY) || defined(RCY_IMPL_UNLIKELY) || defined(RCY_LIKELY)
#error "recycle.h leaks its branch-hint macros"
#endif

struct node {
    node *next;
};

static void node_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    visit(reinterpret_cast<void **>(&static_cast<node *>(self)->next), arg);
}

int use_the_header();
int use_the_header()
{
    rcy_type t = {"node", sizeof(node), node_traverse, nullptr, nullptr, 0};
    rcy_type d = {"node_d", sizeof(node), nullptr, nullptr, nullptr, RCY_REF_WORD(node, next)};
    rcy_heap *h = rcy_heap_new();
    void *o = rcy_new(h, &t);
    rcy_decref(rcy_new(h, &d));
    rcy_incref(o);
    rcy_decref(o);
    rcy_xdecref(o);
    size_t n = rcy_gc_collect(h, -1);
    rcy_heap_destroy(h);
    return static_cast<int>(n);
}
