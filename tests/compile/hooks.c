/* User-supplied allocator and assert hooks (all three allocation macros together). */
#include <stdlib.h>
static int hook_calls = 0;
static void *my_malloc(size_t n) { hook_calls++; return malloc(n); }
static void *my_realloc(void *p, size_t n) { hook_calls++; return realloc(p, n); }
#define SS_MALLOC(n) my_malloc(n)
#define SS_REALLOC(p, n) my_realloc(p, n)
#define SS_FREE(p) free(p)
#define SS_ASSERT(x) ((x) ? (void)0 : abort())
#define SS_IMPLEMENTATION
#include "../../subspace.h"

int main(void) {
    ss_params p = {0};
    int shape[1] = {4};
    if (ss_params_add(&p, "b", 1, shape, SS_PARAM_NO_DECAY, NULL) != SS_OK) return 1;
    if (ss_params_init(&p) != SS_OK) return 1;
    ss_params_free(&p);
    return hook_calls == 2 ? 0 : 1; /* the tensor table and the blocks */
}
