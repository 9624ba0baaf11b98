/* tests/static/ss_impl.c - the translation unit through which `make check-static` reads
   subspace.h with cppcheck and clang-tidy: the declarations and the implementation. */
#define SS_IMPLEMENTATION
#include "../../subspace.h"
