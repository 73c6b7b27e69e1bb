/* SPDX-License-Identifier: MIT */
/* tree: a reference-counted binary tree.
 *
 * Each node owns its two children. Dropping the last reference to the root
 * frees the whole tree at once, by counting alone: no collector is needed,
 * because a tree has no cycles. A subtree that someone else also holds
 * survives, exactly as in Python.
 */
#include "recycle.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct tree {
    struct tree *left, *right;
    long value;
} tree;

static size_t freed; /* how many nodes destroy has seen */

/* The collector and the library find a node's references through this. */
static void tree_traverse(void *self, rcy_visit_fn visit, void *arg)
{
    tree *t = self;
    visit((void **)&t->left, arg);
    visit((void **)&t->right, arg);
}

/* Runs when a node dies; its children have already been released. */
static void tree_destroy(void *self)
{
    (void)self;
    freed++;
}

static const rcy_type tree_type = {
    .name = "tree",
    .size = sizeof(tree),
    .traverse = tree_traverse,
    .destroy = tree_destroy,
};

/* A complete tree of the given depth; returns a new reference. */
static tree *tree_build(rcy_heap *h, int depth, long *next_value)
{
    tree *t = rcy_new(h, &tree_type);
    if (!t) {
        perror("rcy_new");
        exit(1);
    }
    t->value = (*next_value)++;
    if (depth > 0) {
        t->left = tree_build(h, depth - 1, next_value);  /* t owns it */
        t->right = tree_build(h, depth - 1, next_value); /* and this one */
    }
    return t;
}

static size_t tree_count(const tree *t)
{
    return t ? 1 + tree_count(t->left) + tree_count(t->right) : 0;
}

int main(void)
{
    rcy_heap *h = rcy_heap_new();
    if (!h)
        return 1;
    rcy_gc_disable(h); /* show that counting alone does the work */
    int ok = 1;

    long next = 0;
    tree *root = tree_build(h, 10, &next);
    size_t nodes = tree_count(root);
    printf("built a tree of %zu nodes\n", nodes);
    ok &= nodes == 2047;

    /* Keep a reference to one subtree of 1023 nodes: it outlives the root. */
    tree *kept = root->left;
    rcy_incref(kept);

    rcy_decref(root); /* del root */
    printf("root dropped: %zu nodes freed, subtree of %zu kept\n", freed, tree_count(kept));
    ok &= freed == nodes - tree_count(kept);
    ok &= rcy_refcount(kept) == 1;

    rcy_decref(kept);
    printf("subtree dropped: %zu nodes freed in all\n", freed);
    ok &= freed == nodes;

    rcy_heap_destroy(h);
    puts(ok ? "tree: ok" : "tree: FAILED");
    return ok ? 0 : 1;
}
