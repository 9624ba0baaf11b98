/* fuzz_safetensors.c - libFuzzer target: a safetensors file (header and tensor table at open, then
   every float tensor read back, F64/F32/F16/BF16/F8 converted, and FP8 block dequantisation).
   Input: the file's bytes, written to a scratch file. Properties checked:
   - open either fails with a detail and a zeroed struct, or gives a table where every entry's
     numel is the product of its shape, its size numel * dtype size, its bytes inside the data
     area, no two entries overlapping, find(name) giving the entry back, metadata strings only;
   - every float tensor reads back (the file did not change) and equals an independent decoding
     of the input's bytes (ldexp arithmetic, not bit tricks), NaN where that gives NaN;
   - a wrong element count is SS_ERR_INVALID, a non-float dtype SS_ERR_FORMAT;
   - ss_safetensors_read_f32_scaled of a 2-D tensor with any other 2-D tensor as its scales,
     blocks of 1, 2 or 128, either refuses the shapes or equals value * scale per block.
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_safetensors.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

#define FZ_MAX_READ (1u << 18) /* elements: larger tensors are checked by their table entry only */
#define FZ_MAX_PAIRS 16        /* scaled reads tried per input */

/* The reference decoding of one stored value (little-endian bytes at b). */
static float ref_value(const unsigned char *b, ss_dtype dtype) {
    unsigned h, e, m;
    int sign;
    switch (dtype) {
    case SS_DTYPE_F32: {
        uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case SS_DTYPE_F64: {
        uint64_t u = 0;
        double d;
        int i;
        for (i = 7; i >= 0; i--) u = u << 8 | b[i];
        memcpy(&d, &u, 8);
        return (float)d;
    }
    case SS_DTYPE_F16:
        h = (unsigned)b[0] | (unsigned)b[1] << 8;
        sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        if (e == 31) return m ? NAN : sign ? -INFINITY : INFINITY;
        return (sign ? -1.0f : 1.0f) * (e ? ldexpf((float)(1024 + m), (int)e - 25)
                                          : ldexpf((float)m, -24));
    case SS_DTYPE_BF16: { /* bf16 is the top half of a float32: an F32 whose low bytes are 0 */
        unsigned char w[4];
        w[0] = 0, w[1] = 0, w[2] = b[0], w[3] = b[1];
        return ref_value(w, SS_DTYPE_F32);
    }
    case SS_DTYPE_F8_E4M3:
        sign = b[0] >> 7, e = (b[0] >> 3) & 15, m = b[0] & 7;
        if (e == 15 && m == 7) return NAN;
        return (sign ? -1.0f : 1.0f) * (e ? ldexpf((float)(8 + m), (int)e - 10)
                                          : ldexpf((float)m, -9));
    case SS_DTYPE_F8_E5M2:
        sign = b[0] >> 7, e = (b[0] >> 2) & 31, m = b[0] & 3;
        if (e == 31) return m ? NAN : sign ? -INFINITY : INFINITY;
        return (sign ? -1.0f : 1.0f) * (e ? ldexpf((float)(4 + m), (int)e - 17)
                                          : ldexpf((float)m, -16));
    default: FZ_CHECK(0, "ref_value of a non-float dtype"); return 0.0f;
    }
}

/* Same float, NaN equal to NaN (any payload), +0 and -0 told apart. */
static int same_float(float a, float b) {
    if (a != a || b != b) return a != a && b != b;
    return a == b && signbit(a) == signbit(b);
}

static void check_table(const ss_safetensors *st, size_t size) {
    int i, d;
    uint64_t data_start = 8 + st->header_size;
    FZ_CHECK(st->file_size == size && data_start <= size, "sizes");
    FZ_CHECK(st->count >= 0 && st->header.count > 0, "count");
    for (i = 0; i < st->count; i++) {
        const ss_safetensors_entry *e = &st->entries[i];
        uint64_t numel = 1;
        FZ_CHECK(e->name != NULL, "name");
        FZ_CHECK((int)e->dtype >= 0 && e->dtype < SS_DTYPE_COUNT, "dtype");
        FZ_CHECK(e->ndim >= 0 && e->ndim <= SS_SAFETENSORS_MAX_DIMS, "ndim");
        for (d = 0; d < SS_SAFETENSORS_MAX_DIMS; d++) {
            FZ_CHECK(e->shape[d] >= 0, "dims non-negative");
            if (d < e->ndim) numel *= (uint64_t)e->shape[d];
            else FZ_CHECK(e->shape[d] == 1, "unused dims are 1");
        }
        FZ_CHECK(numel == e->numel, "numel is the product of the shape");
        FZ_CHECK(e->size == e->numel * ss_dtype_size(e->dtype), "size");
        FZ_CHECK(e->offset >= data_start && e->offset <= size && e->size <= size - e->offset,
                 "bytes inside the data area");
        FZ_CHECK(ss_safetensors_find(st, e->name) == i, "find gives the entry back");
        FZ_CHECK(e->header_offset < st->header_size, "header offset");
    }
    for (i = 1; i < st->count; i++)
        FZ_CHECK(strcmp(st->by_name[i - 1]->name, st->by_name[i]->name) < 0, "names sorted, unique");
    for (i = 0; i < st->count; i++) { /* overlap: O(n^2), the tables here are small */
        const ss_safetensors_entry *a = &st->entries[i];
        for (d = i + 1; d < st->count && d < i + 64; d++) {
            const ss_safetensors_entry *b = &st->entries[d];
            if (a->size && b->size)
                FZ_CHECK(a->offset + a->size <= b->offset || b->offset + b->size <= a->offset,
                         "no two tensors share a byte");
        }
    }
    FZ_CHECK(ss_safetensors_find(st, "__metadata__") < 0, "__metadata__ is not a tensor");
    if (st->metadata) {
        size_t k;
        FZ_CHECK(st->metadata->type == SS_JSON_OBJECT, "metadata object");
        for (k = 0; k < st->metadata->length; k++) {
            const ss_json *v = &st->metadata->children[k];
            FZ_CHECK(v->type == SS_JSON_STRING, "metadata values are strings");
            if (strlen(v->key) == v->key_length)
                FZ_CHECK(ss_safetensors_metadata(st, v->key) == v->string, "metadata lookup");
        }
    }
    FZ_CHECK(ss_safetensors_metadata(st, "no such key \x01") == NULL, "absent metadata key");
}

/* Read entry i and compare with the reference decoding of the input's bytes. */
static void check_read(ss_safetensors *st, int i, const uint8_t *data, float *out) {
    const ss_safetensors_entry *e = &st->entries[i];
    size_t n = (size_t)e->numel, k, esize = ss_dtype_size(e->dtype);
    ss_result r;
    fz_clear_detail();
    r = ss_safetensors_read_f32(st, i, out, n + 1);
    FZ_CHECK(r == SS_ERR_INVALID && ss_last_error_detail()[0], "wrong element count refused");
    fz_clear_detail();
    r = ss_safetensors_read_f32(st, i, out, n);
    if (!ss_dtype_is_float(e->dtype)) {
        FZ_CHECK(r == SS_ERR_FORMAT && ss_last_error_detail()[0], "non-float dtype refused");
        return;
    }
    FZ_CHECK(r == SS_OK, "a float tensor of an unchanged file reads");
    for (k = 0; k < n; k++)
        FZ_CHECK(same_float(out[k], ref_value(data + e->offset + k * esize, e->dtype)),
                 "converted value equals the reference decoding");
}

/* Scaled read of value entry i with scales from entry j, compared with the plain reads. */
static void check_scaled(ss_safetensors *st, int i, int j, int block, float *out,
                         const float *value, const float *scale) {
    const ss_safetensors_entry *e = &st->entries[i], *s = &st->entries[j];
    size_t M = (size_t)e->shape[0], N = (size_t)e->shape[1], b = (size_t)block, r_, c_;
    size_t bm = (M + b - 1) / b, bn = (N + b - 1) / b;
    ss_result r;
    fz_clear_detail();
    r = ss_safetensors_read_f32_scaled(st, i, st, j, block, out, (size_t)e->numel);
    if (!ss_dtype_is_float(e->dtype) || !ss_dtype_is_float(s->dtype) || s->ndim != 2 ||
        (uint64_t)s->shape[0] != bm || (uint64_t)s->shape[1] != bn) {
        FZ_CHECK(r == SS_ERR_FORMAT && ss_last_error_detail()[0], "mismatched scales refused");
        return;
    }
    FZ_CHECK(r == SS_OK, "matching scales accepted");
    for (r_ = 0; r_ < M; r_++)
        for (c_ = 0; c_ < N; c_++)
            FZ_CHECK(same_float(out[r_ * N + c_], value[r_ * N + c_] * scale[(r_ / b) * bn + c_ / b]),
                     "dequantised value");
}

static void one(const uint8_t *data, size_t size) {
    const char *path = fz_path("t.safetensors");
    ss_safetensors st;
    ss_result r;
    int i, j, pairs = 0;
    float *out, *value, *scale;
    fz_write_file(path, data, size);
    fz_clear_detail();
    r = ss_safetensors_open(&st, path);
    if (r != SS_OK) {
        fz_check_error(r, "ss_safetensors_open refusal");
        FZ_CHECK(r == SS_ERR_FORMAT || (fz_alloc_failed && r == SS_ERR_NOMEM), "open error code");
        FZ_CHECK(st.file == NULL && st.entries == NULL && st.count == 0 && st.path == NULL,
                 "failed open leaves a zeroed struct");
        ss_safetensors_close(&st);
        unlink(path);
        return;
    }
    check_table(&st, size);
    out = (float *)malloc((FZ_MAX_READ + 1) * sizeof(float));
    value = (float *)malloc((FZ_MAX_READ + 1) * sizeof(float));
    scale = (float *)malloc((FZ_MAX_READ + 1) * sizeof(float));
    for (i = 0; out && value && scale && i < st.count; i++) {
        if (st.entries[i].numel > FZ_MAX_READ) continue;
        check_read(&st, i, data, out);
    }
    /* block-scaled reads: 2-D float values against every 2-D float scale candidate */
    for (i = 0; out && value && scale && i < st.count && pairs < FZ_MAX_PAIRS; i++) {
        const ss_safetensors_entry *e = &st.entries[i];
        if (e->ndim != 2 || e->numel > FZ_MAX_READ) continue;
        for (j = 0; j < st.count && pairs < FZ_MAX_PAIRS; j++) {
            const ss_safetensors_entry *s = &st.entries[j];
            static const int blocks[3] = {1, 2, 128};
            int k;
            if (s->numel > FZ_MAX_READ) continue;
            pairs++;
            if (ss_dtype_is_float(e->dtype) && ss_dtype_is_float(s->dtype)) {
                FZ_CHECK(ss_safetensors_read_f32(&st, i, value, (size_t)e->numel) == SS_OK, "v");
                FZ_CHECK(ss_safetensors_read_f32(&st, j, scale, (size_t)s->numel) == SS_OK, "s");
            }
            for (k = 0; k < 3; k++) check_scaled(&st, i, j, blocks[k], out, value, scale);
        }
    }
    free(out);
    free(value);
    free(scale);
    ss_safetensors_close(&st);
    FZ_CHECK(st.file == NULL && st.entries == NULL && st.count == 0, "closed struct zeroed");
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_run_with_failures(one, data, size);
    return 0;
}
