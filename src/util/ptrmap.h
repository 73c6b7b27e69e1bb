/* SPDX-License-Identifier: MIT */
/* ptrmap: a hash map from pointer to pointer, for the side tables of the
 * layers (large blocks a heap owns, targets of weak references). Open
 * addressing with linear probing; deletion shifts entries back, so there
 * are no tombstones and lookups stay short. Its memory comes from the
 * system allocator (util/sys.h). */
#ifndef RCY_PTRMAP_H
#define RCY_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

/* Keys are addresses, never dereferenced: hence uintptr_t. */
typedef struct rcy_ptrmap_slot {
    uintptr_t key; /* 0: empty */
    void *value;
} rcy_ptrmap_slot;

typedef struct rcy_ptrmap {
    rcy_ptrmap_slot *slots;
    size_t mask; /* capacity - 1 */
    size_t used;
} rcy_ptrmap;

/* The value slot of key, or NULL. Valid until the next insert or delete. */
void **rcy__ptrmap_find(const rcy_ptrmap *m, uintptr_t key);
/* The value slot of key, added (value NULL) if missing; NULL when out of
   memory. Valid until the next insert or delete. */
void **rcy__ptrmap_insert(rcy_ptrmap *m, uintptr_t key);
void rcy__ptrmap_delete(rcy_ptrmap *m, uintptr_t key);
void rcy__ptrmap_fini(rcy_ptrmap *m);

#endif
