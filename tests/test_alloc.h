/* test_alloc.h - the failing allocator of the tests that exercise allocation failure. Include it
   BEFORE subspace.h (it defines SS_MALLOC, SS_REALLOC and SS_FREE). arm_failure(n) makes call
   number n (0-based, counted from the arming) return NULL, arm_failure(-1) never fails;
   alloc_live counts blocks still allocated, so a failure path that leaks shows up as nonzero. */
#ifndef SS_TEST_ALLOC_H
#define SS_TEST_ALLOC_H

#include <stdlib.h>

static long alloc_calls = 0, alloc_fail_at = -1, alloc_live = 0;

static void *test_malloc(size_t n) {
    void *p;
    if (alloc_calls++ == alloc_fail_at) return NULL;
    p = malloc(n);
    if (p) alloc_live++;
    return p;
}

static void *test_realloc(void *old, size_t n) {
    void *p;
    if (alloc_calls++ == alloc_fail_at) return NULL;
    p = realloc(old, n);
    if (p && !old) alloc_live++;
    return p;
}

static void test_free(void *p) {
    if (p) alloc_live--;
    free(p);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static void arm_failure(long at) {
    alloc_calls = 0;
    alloc_fail_at = at;
}

#define SS_MALLOC(n) test_malloc(n)
#define SS_REALLOC(p, n) test_realloc(p, n)
#define SS_FREE(p) test_free(p)

#endif
