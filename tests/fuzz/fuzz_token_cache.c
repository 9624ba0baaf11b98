/* fuzz_token_cache.c - libFuzzer target: the token cache loader (ss_dataset_load), the binary
   file a tokenized corpus is kept in ("SSTOKS1\n", key, counts, offsets, tokens, labels, FNV-1a).
   Input: the file's bytes. Each input is loaded twice: as it is (the key taken from bytes 8..15,
   so a wrong key is rare), and with its last 8 bytes replaced by the right checksum, so that the
   fuzzer gets past the checksum to the checks behind it. Properties checked:
   - a refusal has a detail and leaves the data set zeroed; a key that differs is
     SS_ERR_NOT_FOUND;
   - an accepted file gives a consistent data set (offsets from 0, growing, each sequence 1 to
     max_len tokens, tokens non-negative, labels finite as the TSV reader makes them), its size
     is exactly the header's promise, and saving it again with the same key writes the same
     bytes;
   - a checksum that does not match is never accepted.
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_token_cache.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

static uint64_t le64(const uint8_t *b) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

static void load_one(const uint8_t *data, size_t size) {
    const char *path = fz_path("cache.bin"), *again_path = fz_path("again.bin");
    uint64_t key = size >= 16 ? le64(data + 8) : 0;
    int checksum_ok = size >= 8 && le64(data + size - 8) == ss_hash64(data, size - 8, SS_HASH64_INIT);
    ss_dataset ds;
    ss_result r;
    int64_t i;
    fz_write_file(path, data, size);
    fz_clear_detail();
    r = ss_dataset_load(&ds, path, key);
    if (r != SS_OK) {
        fz_check_error(r, "ss_dataset_load refusal");
        FZ_CHECK(ds.offsets == NULL && ds.tokens == NULL && ds.labels == NULL && ds.count == 0,
                 "a refusal leaves the data set zeroed");
    } else {
        unsigned char *saved;
        size_t saved_size = 0;
        FZ_CHECK(checksum_ok, "a wrong checksum is never accepted");
        fz_check_dataset(&ds, 0);
        for (i = 0; ds.labels && i < ds.count; i++)
            FZ_CHECK(ds.labels[i] - ds.labels[i] == 0.0f, "labels are finite (as readers make them)");
        FZ_CHECK((uint64_t)size == 40 + 8 * ((uint64_t)ds.count + 1) +
                                       4 * (uint64_t)ds.offsets[ds.count] +
                                       (ds.labels ? 4 * (uint64_t)ds.count : 0) + 8,
                 "the file is exactly what the header promises");
        r = ss_dataset_save(&ds, again_path, key);
        fz_check_ok(r, "saving a loaded cache");
        if (r == SS_OK) {
            saved = fz_read_file(again_path, &saved_size);
            FZ_CHECK(saved != NULL, "read the saved cache");
            /* bytes 32..35 hold max_len, which the loader recomputes: equal for a valid file
               only when the writer's max_len was the true one; compare around it */
            FZ_CHECK(saved_size == size && memcmp(saved, data, 32) == 0 &&
                     memcmp(saved + 36, data + 36, size - 44) == 0,
                     "saving a loaded cache writes the same data");
            free(saved);
            unlink(again_path);
        }
        fz_clear_detail();
        ss_dataset_free(&ds);
        r = ss_dataset_load(&ds, path, key ^ 1);
        FZ_CHECK(r == SS_ERR_NOT_FOUND && ss_last_error_detail()[0] && ds.tokens == NULL,
                 "another key is SS_ERR_NOT_FOUND");
    }
    ss_dataset_free(&ds);
    unlink(path);
}

static void one(const uint8_t *data, size_t size) {
    uint8_t *fixed;
    uint64_t h;
    int i;
    load_one(data, size);
    if (size < 16) return;
    fixed = (uint8_t *)malloc(size);
    if (!fixed) return;
    memcpy(fixed, data, size);
    h = ss_hash64(fixed, size - 8, SS_HASH64_INIT);
    for (i = 0; i < 8; i++) fixed[size - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
    load_one(fixed, size);
    free(fixed);
    fz_check_dir_empty();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_run_with_failures(one, data, size);
    return 0;
}
