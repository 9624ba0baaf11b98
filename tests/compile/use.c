/* Declarations only: calls across the TU boundary into impl.c. */
#include <stdio.h>
#include <string.h>
#include "../../subspace.h"

int use_main(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4];
    ss_rng rng;
    ss_rng_seed(&rng, 7);
    ss_gemm(0, 1, 2, 2, 3, 1.0f, a, 3, b, 3, 0.0f, c, 2); /* [1 2 3;4 5 6] @ [1 0 0;1 1 1]^T */
    if (c[0] != 1 || c[1] != 6 || c[2] != 4 || c[3] != 15) return 1;
    if (strncmp(ss_build_info(), "subspace ", 9) != 0) return 1;
    printf("two TUs: %s, rng %u\n", ss_build_info(), (unsigned)ss_rng_u32(&rng));
    return 0;
}
