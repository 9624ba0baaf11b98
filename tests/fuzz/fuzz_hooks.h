/* fuzz_hooks.h - the allocator hooks every fuzz target builds subspace.h with. Include it before
   subspace.h (the hooks are read by the implementation). Allocations are counted, and one of
   them can be made to fail: a target runs each input once normally and then again with the k-th
   allocation failing (k chosen from the input), so the out-of-memory path of every allocation a
   parser makes is taken sooner or later, and ASan's leak checker sees what it leaves behind. */
#ifndef SS_FUZZ_HOOKS_H
#define SS_FUZZ_HOOKS_H

#include <stdlib.h>

static long fz_alloc_count;        /* allocations so far (successful or not) */
static long fz_alloc_fail_at = -1; /* the allocation number that fails; -1: none */
static int fz_alloc_failed;        /* whether that failure happened */

static void *fz_malloc(size_t size) {
    if (fz_alloc_count++ == fz_alloc_fail_at) {
        fz_alloc_failed = 1;
        return NULL;
    }
    return malloc(size);
}

static void *fz_realloc(void *p, size_t size) {
    if (fz_alloc_count++ == fz_alloc_fail_at) {
        fz_alloc_failed = 1;
        return NULL;
    }
    return realloc(p, size);
}

#define SS_MALLOC(size) fz_malloc(size)
#define SS_REALLOC(p, size) fz_realloc(p, size)
#define SS_FREE(p) free(p)

#endif
