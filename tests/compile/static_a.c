/* SS_STATIC: each TU gets its own private copy of the library; two such TUs link without clashes. */
#define SS_STATIC
#define SS_IMPLEMENTATION
#include "../../subspace.h"

const char *static_b_info(void);

int main(void) {
    /* both copies report the same build and compute the same thing */
    return ss_build_info()[0] == static_b_info()[0] && ss_result_string(SS_ERR_IO)[0] == 'i' ? 0 : 1;
}
