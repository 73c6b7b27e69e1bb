/* SPDX-License-Identifier: MIT */
/* shared: the slow paths of reference counting between threads (shared.c;
 * obj/count.h has the representation), and what weak references need to
 * read an object that may be dying on another thread. */
#ifndef RCY_SHARED_H
#define RCY_SHARED_H

#include "obj/object.h"

/* A new strong reference to o if it is alive, from any thread (weak
   references): 1, or 0 if it died. The caller holds its heap's weak lock
   (rcy_objects.weak_lock). */
int rcy__object_try_incref(void *o);

#endif
