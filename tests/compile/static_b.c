#define SS_STATIC
#define SS_IMPLEMENTATION
#include "../../subspace.h"

const char *static_b_info(void) { return ss_build_info(); }
