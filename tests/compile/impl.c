/* The implementation TU of a two-file program: SS_IMPLEMENTATION here, declarations in use.c.
   Linking the two proves the header's interface and implementation agree and that nothing is
   defined twice. */
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "../../subspace.h" /* a second include of both halves is a no-op */

int use_main(void);

int main(void) { return use_main(); }
