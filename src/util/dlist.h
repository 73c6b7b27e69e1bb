/* SPDX-License-Identifier: MIT */
/* dlist: push and remove for intrusive doubly linked lists with a head
 * pointer and NULL at both ends, for any struct and any pair of link
 * fields (a heap is on two such lists at once, under two field names).
 * The caller holds whatever lock guards the list. */
#ifndef RCY_DLIST_H
#define RCY_DLIST_H

#include <stddef.h>

/* node becomes the first of the list starting at head. */
#define RCY_DLIST_PUSH(head, node, prev, next)                                                     \
    do {                                                                                           \
        (node)->prev = NULL;                                                                       \
        (node)->next = (head);                                                                     \
        if (head)                                                                                  \
            (head)->prev = (node);                                                                 \
        (head) = (node);                                                                           \
    } while (0)

/* node, which is on the list starting at head, leaves it. */
#define RCY_DLIST_REMOVE(head, node, prev, next)                                                   \
    do {                                                                                           \
        if ((node)->prev)                                                                          \
            (node)->prev->next = (node)->next;                                                     \
        else                                                                                       \
            (head) = (node)->next;                                                                 \
        if ((node)->next)                                                                          \
            (node)->next->prev = (node)->prev;                                                     \
    } while (0)

#endif
