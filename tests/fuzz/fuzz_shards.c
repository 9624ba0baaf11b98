/* fuzz_shards.c - libFuzzer target: sharded checkpoints (ss_shards_open on a directory holding a
   fuzzed model.safetensors.index.json and up to three fuzzed shards, then every tensor's info and
   data, through an LRU of only two open shards).
   Input: parts separated by the line "%%": part 0 is the index (no index file when it is empty:
   part 1 is then the single model.safetensors), parts 1..3 are the shards "a.safetensors",
   "b.safetensors" and "c.safetensors". Properties checked:
   - open either fails with a detail and a zeroed struct, or lists tensors sorted by name, each
     found by ss_shards_has, each naming a shard path inside the directory;
   - info and read either fail with a detail or agree with each other and with the shard's own
     table (ss_safetensors_open of the same file), and a read repeated after the LRU has closed
     the shard gives the same bits;
   - a name that is not listed is SS_ERR_NOT_FOUND.
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_shards.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_SHARDS_OPEN 2 /* the smallest LRU: three shards make it close and reopen */
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

#define FZ_MAX_READ (1u << 16) /* elements read per tensor; larger ones get info only */
#define FZ_MAX_TENSORS 32      /* tensors visited per input */

static const char *const shard_names[3] = {"a.safetensors", "b.safetensors", "c.safetensors"};

static int same_bits(const float *a, const float *b, size_t n) {
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static void check_tensor(ss_shards *sh, int t, float *out, float *again) {
    const char *name = sh->tensors[t].name;
    ss_dtype dtype;
    int ndim, d;
    int64_t shape[SS_SAFETENSORS_MAX_DIMS];
    uint64_t numel = 1;
    ss_result r;
    FZ_CHECK(ss_shards_has(sh, name), "a listed tensor is found");
    fz_clear_detail();
    r = ss_shards_info(sh, name, &dtype, &ndim, shape);
    if (r != SS_OK) {
        fz_check_error(r, "ss_shards_info refusal");
        FZ_CHECK(r == SS_ERR_IO || r == SS_ERR_FORMAT || r == SS_ERR_NOMEM, "info error code");
        return;
    }
    FZ_CHECK(ndim >= 0 && ndim <= SS_SAFETENSORS_MAX_DIMS && (int)dtype < SS_DTYPE_COUNT, "info");
    for (d = 0; d < ndim; d++) {
        FZ_CHECK(shape[d] >= 0, "dims non-negative");
        if (numel && (uint64_t)shape[d] > UINT64_MAX / numel) numel = UINT64_MAX;
        else numel *= (uint64_t)shape[d];
    }
    if (numel > FZ_MAX_READ) return;
    fz_clear_detail();
    r = ss_shards_read_f32(sh, name, out, (size_t)numel);
    if (r != SS_OK) {
        fz_check_error(r, "ss_shards_read_f32 refusal");
        FZ_CHECK(r != SS_ERR_NOT_FOUND, "a listed tensor is not 'not found'");
        return;
    }
    FZ_CHECK(ss_dtype_is_float(dtype), "only float tensors read");
    /* read once more after touching the other shards, so the LRU may have reopened this one */
    for (d = 0; d < 3 && d < sh->count; d++)
        ss_shards_info(sh, sh->tensors[(t + 7 * d + 1) % sh->count].name, NULL, NULL, NULL);
    r = ss_shards_read_f32(sh, name, again, (size_t)numel);
    fz_check_ok(r, "the same read again");
    if (r == SS_OK) FZ_CHECK(same_bits(out, again, (size_t)numel), "a second read, same bits");
    fz_clear_detail();
    r = ss_shards_read_f32(sh, name, again, (size_t)numel + 1);
    FZ_CHECK(r == SS_ERR_INVALID || (r != SS_OK && fz_alloc_failed), "wrong element count refused");
}

static void one(const uint8_t *data, size_t size) {
    const uint8_t *part[4];
    size_t len[4], at = 0, i;
    int n_parts = 0, k, wrote[3] = {0, 0, 0}, has_index;
    ss_shards sh;
    ss_result r;
    float *out, *again;
    /* split at "\n%%\n" (the separator's newlines belong to neither part) */
    part[0] = data;
    for (i = 0; n_parts < 3 && i + 4 <= size; i++)
        if (memcmp(data + i, "\n%%\n", 4) == 0) {
            len[n_parts] = i - at;
            part[++n_parts] = data + i + 4;
            at = i + 4;
            i += 3;
        }
    len[n_parts] = size - at;
    has_index = len[0] > 0;
    if (has_index) fz_write_file(fz_path("model.safetensors.index.json"), part[0], len[0]);
    for (k = 0; k < 3 && k < n_parts; k++) {
        fz_write_file(fz_path(has_index ? shard_names[k] : "model.safetensors"), part[k + 1],
                      len[k + 1]);
        wrote[k] = 1;
        if (!has_index) break;
    }

    fz_clear_detail();
    r = ss_shards_open(&sh, fz_dir());
    if (r != SS_OK) {
        fz_check_error(r, "ss_shards_open refusal");
        FZ_CHECK(sh.dir == NULL && sh.tensors == NULL && sh.count == 0 && sh.strings == NULL,
                 "failed open leaves a zeroed struct");
    } else {
        out = (float *)malloc((FZ_MAX_READ + 1) * sizeof(float));
        again = (float *)malloc((FZ_MAX_READ + 1) * sizeof(float));
        FZ_CHECK(sh.count >= 0 && sh.n_files >= (sh.count > 0), "counts");
        for (k = 1; k < sh.count; k++)
            FZ_CHECK(strcmp(sh.tensors[k - 1].name, sh.tensors[k].name) < 0, "sorted, unique");
        for (k = 0; k < sh.count; k++)
            FZ_CHECK(sh.tensors[k].file >= 0 && sh.tensors[k].file < sh.n_files, "file index");
        for (k = 0; k < sh.n_files; k++) {
            const char *f = sh.files[k], *base = strrchr(f, '/');
            FZ_CHECK(strncmp(f, fz_dir(), strlen(fz_dir())) == 0 && base &&
                     (size_t)(base - f) == strlen(fz_dir()), "shard path inside the directory");
        }
        for (k = 0; out && again && k < sh.count && k < FZ_MAX_TENSORS; k++)
            check_tensor(&sh, k, out, again);
        fz_clear_detail();
        r = ss_shards_info(&sh, "\x01not listed", NULL, NULL, NULL);
        FZ_CHECK(r == SS_ERR_NOT_FOUND && ss_last_error_detail()[0], "unlisted name not found");
        free(out);
        free(again);
    }
    ss_shards_close(&sh);
    FZ_CHECK(sh.dir == NULL && sh.count == 0 && sh.open[0].file == NULL, "closed struct zeroed");
    ss_shards_close(&sh); /* twice is harmless */
    if (has_index) unlink(fz_path("model.safetensors.index.json"));
    for (k = 0; k < 3; k++)
        if (wrote[k]) unlink(fz_path(has_index ? shard_names[k] : "model.safetensors"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_run_with_failures(one, data, size);
    return 0;
}
