/* SPDX-License-Identifier: MIT */
/* Install check: a program built against an installed recycle, through
 * pkg-config or CMake's find_package (see scripts/test.sh, stage "install").
 * It uses only the public header and a few calls of the raw allocator. */
#include <recycle.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    rcy_heap *h = rcy_heap_new();
    if (!h) {
        fprintf(stderr, "install check: rcy_heap_new failed\n");
        return 1;
    }
    /* small blocks from the pools, and one large block from the system */
    static const size_t sizes[] = {1, 16, 100, 512, 4096, 100000};
    void *blocks[sizeof sizes / sizeof sizes[0]];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        blocks[i] = rcy_malloc(h, sizes[i]);
        if (!blocks[i]) {
            fprintf(stderr, "install check: rcy_malloc(%zu) failed\n", sizes[i]);
            return 1;
        }
        memset(blocks[i], (int)i + 1, sizes[i]);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const unsigned char *p = blocks[i];
        if (p[0] != i + 1 || p[sizes[i] - 1] != i + 1) {
            fprintf(stderr, "install check: block %zu lost its contents\n", i);
            return 1;
        }
        rcy_free(h, blocks[i]);
    }
    rcy_heap_destroy(h);
    printf("install check: ok (recycle %s, check level %d)\n", RCY_VERSION, RCY_CHECK_LEVEL);
    return 0;
}
