/* Must NOT compile: only one of the three allocation macros is defined. */
#define SS_MALLOC(n) malloc(n)
#define SS_IMPLEMENTATION
#include "../../subspace.h"
int main(void) { return 0; }
