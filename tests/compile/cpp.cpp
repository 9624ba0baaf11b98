// The whole library compiled as C++ (implementation and interface in one TU).
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include <cstdio>

int main() {
    ss_params p = ss_params();
    int shape[2] = {3, 5};
    if (ss_params_add(&p, "w", 2, shape, 0, NULL) != SS_OK || ss_params_init(&p) != SS_OK) return 1;
    ss_params_data(&p, 0)[0] = 1.0f;
    std::printf("c++: %s, %zu floats per block\n", ss_build_info(), p.numel);
    ss_params_free(&p);
    return 0;
}
