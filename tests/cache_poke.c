/* tests/cache_poke.c - overwrite one token id of a token cache file and make its checksum right
   again, so that the file passes the library's own checks (tests/cli_train.sh bad-input: the tool
   must still refuse an id outside its vocabulary).
       cc -std=c99 -O1 -o cache_poke tests/cache_poke.c -lm && ./cache_poke FILE INDEX VALUE */
#define SS_IMPLEMENTATION
#include <stdio.h>
#include <stdlib.h>
#include "../subspace.h"

int main(int argc, char **argv) {
    char *data = NULL;
    size_t size, at;
    uint64_t count, h;
    long index, value;
    int i;
    FILE *f;
    if (argc != 4) {
        fprintf(stderr, "usage: cache_poke FILE INDEX VALUE\n");
        return 2;
    }
    index = strtol(argv[2], NULL, 10), value = strtol(argv[3], NULL, 10);
    if (ss_file_read(argv[1], &data, &size) != SS_OK || size < 48) {
        fprintf(stderr, "cache_poke: %s: cannot read a token cache\n", argv[1]);
        return 1;
    }
    for (count = 0, i = 7; i >= 0; i--) count = count << 8 | (unsigned char)data[16 + i];
    at = 40 + 8 * ((size_t)count + 1) + 4 * (size_t)index; /* the header, the offsets, the id */
    if (index < 0 || at + 4 > size - 8) {
        fprintf(stderr, "cache_poke: %s: no token %ld\n", argv[1], index);
        return 1;
    }
    for (i = 0; i < 4; i++) data[at + i] = (char)(((unsigned long)value >> (8 * i)) & 0xff);
    h = ss_hash64(data, size - 8, SS_HASH64_INIT);
    for (i = 0; i < 8; i++) data[size - 8 + i] = (char)((h >> (8 * i)) & 0xff);
    if (!(f = fopen(argv[1], "wb")) || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "cache_poke: %s: cannot write\n", argv[1]);
        return 1;
    }
    ss_free(data);
    return 0;
}
