/* SS_NO_STDIO and SS_NO_ERROR_STRINGS: the file helpers and error details compile out. */
#define SS_NO_STDIO
#define SS_NO_ERROR_STRINGS
#define SS_IMPLEMENTATION
#include "../../subspace.h"

int main(void) { return ss_last_error_detail()[0] == '\0' ? 0 : 1; }
