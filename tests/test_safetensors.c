/* test_safetensors.c - section 10, safetensors: bit-exact write/open/read round trips (1-D to
   4-D, a scalar, a zero-size tensor), metadata, a file built byte by byte from the format
   description (F16, BF16, F32, F8_E4M3), the narrow-float conversions against an independent
   formula, every class of malformed file with its detail, truncation after open, registry
   load and save, crash-safe writes, allocation failure at every site, and mutated headers.
   Files go under build/test/.
   cc -std=c99 -O2 -o test_safetensors tests/test_safetensors.c -lm && ./test_safetensors */
#include <stdlib.h>
#include <stdio.h>

#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"

#define DIR "build/test/"

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        fprintf(stderr, "test: cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

/* A safetensors file from its parts: 8-byte little-endian length, the header text, the data. */
static void write_st(const char *path, const char *header, const void *data, size_t data_len) {
    static unsigned char buf[1 << 16];
    size_t n = strlen(header), i;
    for (i = 0; i < 8; i++) buf[i] = (unsigned char)(((uint64_t)n >> (8 * i)) & 0xFF);
    memcpy(buf + 8, header, n);
    if (data_len) memcpy(buf + 8 + n, data, data_len);
    write_bytes(path, buf, 8 + n + data_len);
}

static int st_is_zeroed(const ss_safetensors *st) {
    return st->file == NULL && st->path == NULL && st->entries == NULL && st->count == 0 &&
           st->header.nodes == NULL && st->metadata == NULL;
}

static void test_round_trip(void) {
    const char *path = DIR "st_round.safetensors";
    const char *meta[4] = {"config", "{\"hidden_size\": 64, \"name\": \"tiny \\\"q\\\"\"}",
                           "format", "pt"};
    float a[5], b[6], c[24], d[12], f[1], *got;
    ss_safetensors_tensor ts[6];
    ss_safetensors st;
    ss_rng rng;
    ss_result r;
    size_t i, total = 0;
    int ok, k;
    unsigned char head[8];
    FILE *fp;
    uint64_t n = 0;
    uint32_t special[6] = {0x7FC00001u, 0xFF800000u, 0x80000000u,
                           0x00000001u, 0x7F7FFFFFu, 0x3DCCCCCDu};

    ss_rng_seed(&rng, 11);
    test_fill(a, 5, &rng, -1, 1);
    test_fill(b, 6, &rng, -100, 100);
    test_fill(c, 24, &rng, -1e-3f, 1e-3f);
    test_fill(d, 12, &rng, -1, 1);
    for (i = 0; i < 6; i++)
        memcpy(&b[i], &special[i], 4); /* NaN payload, -inf, -0, subnormal, max */
    f[0] = 3.25f;
    memset(ts, 0, sizeof ts);
    ts[0].name = "a.bias", ts[0].ndim = 1, ts[0].shape[0] = 5, ts[0].data = a;
    ts[1].name = "b.weight", ts[1].ndim = 2, ts[1].shape[0] = 2, ts[1].shape[1] = 3, ts[1].data = b;
    ts[2].name = "c", ts[2].ndim = 3, ts[2].shape[0] = 2, ts[2].shape[1] = 3, ts[2].shape[2] = 4,
    ts[2].data = c;
    ts[3].name = "d.\xc3\xa9", ts[3].ndim = 4, ts[3].shape[0] = 2, ts[3].shape[1] = 1,
    ts[3].shape[2] = 3, ts[3].shape[3] = 2, ts[3].data = d;
    ts[4].name = "empty", ts[4].ndim = 1, ts[4].shape[0] = 0, ts[4].data = NULL;
    ts[5].name = "scalar", ts[5].ndim = 0, ts[5].data = f;
    r = ss_safetensors_write(path, ts, 6, meta, 2);
    test_true(r == SS_OK && !file_exists(DIR "st_round.safetensors.tmp"),
              "write: six tensors and metadata");

    fp = fopen(path, "rb");
    if (fp && fread(head, 1, 8, fp) == 8)
        for (k = 7; k >= 0; k--) n = n << 8 | head[k];
    if (fp) {
        fseek(fp, 0, SEEK_END);
        total = (size_t)ftell(fp);
        fclose(fp);
    }
    test_true(n % 8 == 0 && total == 8 + n + 4 * (5 + 6 + 24 + 12 + 0 + 1),
              "write: header padded to 8 bytes, data contiguous after it");

    r = ss_safetensors_open(&st, path);
    test_true(r == SS_OK && st.count == 6, "open: six entries");
    if (r != SS_OK) {
        printf("  %s\n", ss_last_error_detail());
        return;
    }
    ok = 1;
    for (k = 0; k < 6; k++) {
        const ss_safetensors_entry *e = &st.entries[k];
        int dd;
        ok = ok && strcmp(e->name, ts[k].name) == 0 && e->dtype == SS_DTYPE_F32 &&
             e->ndim == ts[k].ndim && ss_safetensors_find(&st, ts[k].name) == k;
        for (dd = 0; dd < e->ndim; dd++) ok = ok && e->shape[dd] == ts[k].shape[dd];
    }
    test_true(ok, "open: names in header order, dtype, shapes, find");
    test_true(st.entries[4].numel == 0 && st.entries[4].size == 0 && st.entries[5].numel == 1 &&
                  st.entries[5].ndim == 0 && st.entries[2].numel == 24 &&
                  st.entries[0].offset == 8 + n && st.entries[1].offset == 8 + n + 20,
              "open: numel, sizes and absolute offsets");
    test_true(ss_safetensors_find(&st, "nope") == -1 && ss_safetensors_find(&st, "") == -1,
              "find: absent name is -1");
    test_true(ss_safetensors_metadata(&st, "config") &&
                  strcmp(ss_safetensors_metadata(&st, "config"), meta[1]) == 0 &&
                  strcmp(ss_safetensors_metadata(&st, "format"), "pt") == 0 &&
                  ss_safetensors_metadata(&st, "other") == NULL,
              "metadata: round trip, absent key is NULL");
    {
        ss_json_doc cfg;
        int hidden = 0;
        const char *cfg_text = ss_safetensors_metadata(&st, "config");
        test_true(ss_json_parse(&cfg, cfg_text, strlen(cfg_text), "config") == SS_OK &&
                      ss_json_get_int(ss_json_root(&cfg), "hidden_size", &hidden) == SS_OK &&
                      hidden == 64,
                  "metadata: the config string parses as JSON");
        ss_json_doc_free(&cfg);
    }
    got = test_alloc(24);
    ok = 1;
    for (k = 0; k < 6; k++) {
        size_t numel = (size_t)st.entries[k].numel;
        memset(got, 0x5A, 24 * sizeof(float));
        ok = ok && ss_safetensors_read_f32(&st, k, got, numel) == SS_OK &&
             (numel == 0 || memcmp(got, ts[k].data, numel * sizeof(float)) == 0);
    }
    test_true(ok, "read: every tensor bit-exact (NaN payload, -0, subnormal, inf)");
    test_true(ss_safetensors_read_f32(&st, 0, got, 4) == SS_ERR_INVALID && detail_has("a.bias") &&
                  detail_has("5 elements"),
              "read: wrong element count is INVALID, names the tensor");
    free(got);
    ss_safetensors_close(&st);
    ss_safetensors_close(&st);
    test_true(st_is_zeroed(&st), "close twice, leaves the struct zeroed");

    /* a larger tensor crosses many read and write chunks */
    {
        size_t big = 100000;
        float *x = test_alloc(big), *y = test_alloc(big);
        ss_safetensors_tensor t;
        memset(&t, 0, sizeof t);
        test_fill(x, big, &rng, -5, 5);
        t.name = "big", t.ndim = 2, t.shape[0] = 400, t.shape[1] = 250, t.data = x;
        ok = ss_safetensors_write(path, &t, 1, NULL, 0) == SS_OK &&
             ss_safetensors_open(&st, path) == SS_OK && st.metadata == NULL &&
             ss_safetensors_read_f32(&st, 0, y, big) == SS_OK &&
             memcmp(x, y, big * sizeof(float)) == 0;
        test_true(ok, "read: 400 kB tensor through bounded chunks, no metadata");
        ss_safetensors_close(&st);
        free(x);
        free(y);
    }
    test_true(ss_safetensors_write(path, NULL, 0, NULL, 0) == SS_OK &&
                  ss_safetensors_open(&st, path) == SS_OK && st.count == 0 && st.header_size == 8,
              "write: no tensors gives \"{}\" padded to 8 bytes");
    ss_safetensors_close(&st);
    remove(path);
}

/* Little-endian helpers for the hand-built file. */
static size_t put16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v & 0xFF), p[1] = (unsigned char)(v >> 8);
    return 2;
}
static size_t put32f(unsigned char *p, float f) {
    uint32_t v;
    int i;
    memcpy(&v, &f, 4);
    for (i = 0; i < 4; i++) p[i] = (unsigned char)((v >> (8 * i)) & 0xFF);
    return 4;
}

static void test_hand_built(void) {
    /* Written from the format description alone: offsets relative to the data start, entries in
       any order, the header not padded (readers must not require it). */
    const char *header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                         "\"__metadata__\":{\"format\":\"pt\",\"note\":\"hand \\u00e9\"},"
                         "\"bf\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[12,20]},"
                         "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]},"
                         "\"e\":{\"dtype\":\"F8_E4M3\",\"shape\":[5],\"data_offsets\":[28,33]},"
                         "\"i\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[33,37]}}";
    unsigned char data[64];
    size_t n = 0;
    float got[8];
    const float want_h[6] = {1.0f,
                             -2.0f,
                             65504.0f,
                             5.9604644775390625e-08f /* 2^-24 */,
                             6.097555160522461e-05f /* 1023 * 2^-24 */,
                             -0.0f};
    const float want_bf[4] = {3.140625f, 1.0f, -2.0f, 0.0f};
    const float want_e[5] = {1.0f, 448.0f, 0.001953125f /* 2^-9 */, -1.0f, 0.0f};
    ss_safetensors st;
    ss_result r;
    int ih, ibf, ie;
    n += put16(data + n, 0x3C00), n += put16(data + n, 0xC000), n += put16(data + n, 0x7BFF);
    n += put16(data + n, 0x0001), n += put16(data + n, 0x03FF), n += put16(data + n, 0x8000);
    n += put16(data + n, 0x4049), n += put16(data + n, 0x3F80), n += put16(data + n, 0xC000);
    n += put16(data + n, 0x0000);
    n += put32f(data + n, 1.5f), n += put32f(data + n, -0.25f);
    data[n++] = 0x38, data[n++] = 0x7E, data[n++] = 0x01, data[n++] = 0xB8, data[n++] = 0x00;
    data[n++] = 1, data[n++] = 0, data[n++] = 0, data[n++] = 0;
    write_st(DIR "st_hand.safetensors", header, data, n);
    r = ss_safetensors_open(&st, DIR "st_hand.safetensors");
    test_true(r == SS_OK && st.count == 5, "hand-built file: opens, five tensors");
    if (r != SS_OK) {
        printf("  %s\n", ss_last_error_detail());
        return;
    }
    ih = ss_safetensors_find(&st, "h"), ibf = ss_safetensors_find(&st, "bf"),
    ie = ss_safetensors_find(&st, "e");
    test_true(ih == 0 && ibf == 1 && st.entries[ih].dtype == SS_DTYPE_F16 &&
                  st.entries[ibf].dtype == SS_DTYPE_BF16 &&
                  st.entries[ie].dtype == SS_DTYPE_F8_E4M3 && st.entries[4].dtype == SS_DTYPE_I32 &&
                  st.entries[ie].size == 5,
              "hand-built file: dtypes recognised");
    test_true(strcmp(ss_safetensors_metadata(&st, "note"), "hand \xc3\xa9") == 0,
              "hand-built file: metadata with a \\u escape");
    r = ss_safetensors_read_f32(&st, ih, got, 6);
    test_true(r == SS_OK && memcmp(got, want_h, sizeof want_h) == 0,
              "hand-built file: F16 1, -2, 65504, subnormals, -0");
    r = ss_safetensors_read_f32(&st, ibf, got, 4);
    test_true(r == SS_OK && memcmp(got, want_bf, sizeof want_bf) == 0,
              "hand-built file: BF16 3.140625, 1, -2, 0");
    r = ss_safetensors_read_f32(&st, ss_safetensors_find(&st, "f"), got, 2);
    test_true(r == SS_OK && got[0] == 1.5f && got[1] == -0.25f, "hand-built file: F32");
    r = ss_safetensors_read_f32(&st, ie, got, 5);
    test_true(r == SS_OK && memcmp(got, want_e, sizeof want_e) == 0,
              "hand-built file: F8_E4M3 1, 448, 2^-9, -1, 0");
    test_true(ss_safetensors_read_f32(&st, 4, got, 1) == SS_ERR_FORMAT && detail_has("'i' is I32"),
              "hand-built file: an I32 tensor is not read as float");
    ss_safetensors_close(&st);
    remove(DIR "st_hand.safetensors");
}

/* Reference values from the definitions with ldexp, independent of the bit tricks. */
static double ref_minifloat(unsigned bits, int ebits, int mbits, int bias, int has_inf) {
    unsigned s = bits >> (ebits + mbits), e = (bits >> mbits) & ((1u << ebits) - 1),
             m = bits & ((1u << mbits) - 1);
    double v;
    if (e == (1u << ebits) - 1 && has_inf)
        v = m ? NAN : INFINITY;
    else if (!has_inf && e == (1u << ebits) - 1 && m == (1u << mbits) - 1)
        v = NAN;
    else if (e == 0)
        v = ldexp((double)m, 1 - bias - mbits);
    else
        v = ldexp((double)(m + (1u << mbits)), (int)e - bias - mbits);
    return s ? -v : v;
}

static int same_float(float got, double want) {
    if (want != want) return got != got;
    return got == (float)want && !signbit(got) == !signbit(want); /* signbit: any nonzero */
}

static void test_conversions(void) {
    unsigned i;
    int ok = 1;
    for (i = 0; i < 65536; i++)
        ok = ok && same_float(ss_f16_to_f32((uint16_t)i), ref_minifloat(i, 5, 10, 15, 1));
    test_true(ok, "f16: all 65536 values match the IEEE definition");
    for (i = 0, ok = 1; i < 256; i++)
        ok = ok && same_float(ss_f8_e4m3_to_f32((uint8_t)i), ref_minifloat(i, 4, 3, 7, 0));
    test_true(ok, "f8_e4m3: all 256 values match e4m3fn");
    for (i = 0, ok = 1; i < 256; i++)
        ok = ok && same_float(ss_f8_e5m2_to_f32((uint8_t)i), ref_minifloat(i, 5, 2, 15, 1));
    test_true(ok, "f8_e5m2: all 256 values match");
    for (i = 0, ok = 1; i < 65536; i += 7) {
        float f = ss_bf16_to_f32((uint16_t)i);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        ok = ok && bits == (uint32_t)i << 16;
    }
    test_true(ok, "bf16: the upper half of a float32");
    test_true(ss_f8_e4m3_to_f32(0x00) == 0.0f && !signbit(ss_f8_e4m3_to_f32(0x00)) &&
                  signbit(ss_f8_e4m3_to_f32(0x80)) && ss_f8_e4m3_to_f32(0x80) == 0.0f,
              "f8_e4m3: 0x00 = +0, 0x80 = -0");
    test_true(ss_f8_e4m3_to_f32(0x38) == 1.0f && ss_f8_e4m3_to_f32(0xB8) == -1.0f &&
                  ss_f8_e4m3_to_f32(0x40) == 2.0f,
              "f8_e4m3: 0x38 = 1, 0xB8 = -1, 0x40 = 2");
    test_true(ss_f8_e4m3_to_f32(0x7E) == 448.0f && ss_f8_e4m3_to_f32(0xFE) == -448.0f,
              "f8_e4m3: 0x7E = 448 is the largest, no infinity");
    test_true(isnan(ss_f8_e4m3_to_f32(0x7F)) && isnan(ss_f8_e4m3_to_f32(0xFF)),
              "f8_e4m3: 0x7F and 0xFF are NaN");
    test_true(ss_f8_e4m3_to_f32(0x01) == ldexpf(1.0f, -9) &&
                  ss_f8_e4m3_to_f32(0x81) == -ldexpf(1.0f, -9) &&
                  ss_f8_e4m3_to_f32(0x07) == 7 * ldexpf(1.0f, -9) &&
                  ss_f8_e4m3_to_f32(0x08) == ldexpf(1.0f, -6),
              "f8_e4m3: subnormals m * 2^-9, smallest normal 2^-6");
    test_true(ss_f16_to_f32(0x3C00) == 1.0f && ss_f16_to_f32(0x7BFF) == 65504.0f &&
                  ss_f16_to_f32(0x0001) == ldexpf(1.0f, -24) && isinf(ss_f16_to_f32(0x7C00)) &&
                  ss_f16_to_f32(0xFC00) < 0 && isnan(ss_f16_to_f32(0x7E00)),
              "f16: 1, 65504, 2^-24, inf, -inf, NaN");
    test_true(strcmp(ss_dtype_name(SS_DTYPE_F8_E4M3), "F8_E4M3") == 0 &&
                  ss_dtype_size(SS_DTYPE_F64) == 8 && ss_dtype_size(SS_DTYPE_BOOL) == 1 &&
                  ss_dtype_size(SS_DTYPE_BF16) == 2 &&
                  strcmp(ss_dtype_name(SS_DTYPE_COUNT), "?") == 0 &&
                  ss_dtype_is_float(SS_DTYPE_F16) && !ss_dtype_is_float(SS_DTYPE_I8),
              "dtype: names, sizes, float types");
}

/* Open a malformed file: the expected code, a zeroed struct, and both needles in the detail. */
static void expect_open(const char *name, const char *path, ss_result want, const char *needle1,
                        const char *needle2) {
    ss_safetensors st;
    ss_result r = ss_safetensors_open(&st, path);
    int ok =
        r == want && st_is_zeroed(&st) && detail_has(needle1) && (!needle2 || detail_has(needle2));
    if (!ok) printf("  %s: result %d, detail \"%s\"\n", name, r, ss_last_error_detail());
    test_true(ok, name);
    ss_safetensors_close(&st);
}

static void expect_header(const char *name, const char *header, size_t data_len,
                          const char *needle1, const char *needle2) {
    static unsigned char zeros[256];
    write_st(DIR "st_bad.safetensors", header, zeros, data_len);
    expect_open(name, DIR "st_bad.safetensors", SS_ERR_FORMAT, needle1, needle2);
}

static void test_malformed(void) {
    const char *bad = DIR "st_bad.safetensors";
    unsigned char raw[64];
    memset(raw, 0, sizeof raw);
    write_bytes(bad, raw, 5);
    expect_open("malformed: 5-byte file", bad, SS_ERR_FORMAT,
                "st_bad.safetensors: the file is 5 bytes", "shorter than the 8-byte");
    raw[0] = 0xE8, raw[1] = 0x03; /* 1000 */
    write_bytes(bad, raw, 28);
    expect_open("malformed: header length past the file", bad, SS_ERR_FORMAT,
                "header length 1000 (bytes 0..7)", "28-byte file");
    memset(raw, 0, 8);
    raw[7] = 0x80; /* 2^63 */
    write_bytes(bad, raw, 28);
    expect_open("malformed: header length 2^63", bad, SS_ERR_FORMAT,
                "header length 9223372036854775808", "over the limit");
    expect_open("malformed: missing file", DIR "st_no_such_file", SS_ERR_IO, "st_no_such_file",
                "cannot open");
    expect_header("malformed: header not JSON", "{abc}", 0,
                  "st_bad.safetensors header:1:2 (byte 1)", "expected a \"key\"");
    expect_header("malformed: header JSON not an object", "[1]", 0,
                  "is a JSON array, expected an object", NULL);
    expect_header("malformed: entry missing data_offsets",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
                  "tensor 'w' (header byte 5): missing \"data_offsets\"", NULL);
    expect_header("malformed: entry not an object", "{\"w\":[1]}", 0, "tensor 'w' (header byte 5)",
                  "expected an object");
    expect_header("malformed: extra key in an entry",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
                  "tensor 'w' (header byte 57): unexpected key \"x\"", NULL);
    expect_header("malformed: unknown dtype",
                  "{\"w\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'w': unknown dtype \"F7\" (header byte 14)", NULL);
    expect_header("malformed: dtype not a string",
                  "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'w': dtype (header byte 14) is a number", NULL);
    expect_header("malformed: negative shape",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'w': shape[1] (header byte 31)", "got -1");
    expect_header("malformed: non-integer shape",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'w': shape[0]", "non-negative integer, got 1.5");
    expect_header("malformed: shape not an array",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,12]}}", 12,
                  "tensor 'w': shape (header byte 28) is a number", NULL);
    expect_header(
        "malformed: 9 dimensions",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
        "tensor 'w': 9 dimensions", NULL);
    expect_header(
        "malformed: shape overflows 64 bits",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
        "tensor 'w': shape (header byte 28) has more than 2^64", NULL);
    expect_header("malformed: numel * size != span",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'w' (header byte 5): shape [2] of F32 needs 2 elements of 4 bytes",
                  "span 4 bytes");
    expect_header("malformed: bf16 span",
                  "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3,2],\"data_offsets\":[0,8]}}", 8,
                  "shape [3, 2] of BF16 needs 6 elements of 2 bytes", NULL);
    expect_header("malformed: offsets past the data",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8,
                  "tensor 'w': data_offsets [4, 12] (header byte 47) do not fit the 8-byte data",
                  NULL);
    expect_header("malformed: begin after end",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
                  "data_offsets [8, 4]", NULL);
    expect_header("malformed: negative offset",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
                  "tensor 'w': data_offsets[0]", "got -4");
    expect_header("malformed: offsets not a pair",
                  "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8,
                  "tensor 'w': data_offsets (header byte 47) must be an array [begin, end]", NULL);
    expect_header("malformed: overlapping tensors",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                  12, "tensors 'a' (data bytes 0..8) and 'b' (data bytes 4..12) overlap", NULL);
    expect_header("malformed: tensor inside a larger one",
                  "{\"big\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},"
                  "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]},"
                  "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[8,10]}}",
                  16, "'big' (data bytes 0..16) and 'z'", NULL);
    expect_header("malformed: metadata value not a string",
                  "{\"__metadata__\":{\"ok\":\"x\",\"n\":1}}", 0,
                  "__metadata__.n (header byte 30) is a number, expected a string", NULL);
    expect_header("malformed: metadata not an object", "{\"__metadata__\":\"x\"}", 0,
                  "__metadata__ (header byte 16) is a string", NULL);
    expect_header("malformed: duplicate tensor name",
                  "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                  "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                  2, "header:1:54 (byte 53): duplicate key \"w\"", NULL);
    expect_header("malformed: NUL in a tensor name",
                  "{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                  "contains a NUL byte", NULL);
    expect_header("malformed: trailing garbage after the header object", "{} x", 0, "(byte 3)",
                  NULL);
    { /* fine: touching tensors, empty tensors at edges, a scalar, unknown-but-listed types */
        ss_safetensors st;
        const char *good = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                           "\"z\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
                           "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},"
                           "\"c\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[16,19]}}    ";
        static unsigned char zeros[19];
        write_st(bad, good, zeros, 19);
        test_true(ss_safetensors_open(&st, bad) == SS_OK && st.count == 4 &&
                      st.entries[2].numel == 1 && st.entries[2].ndim == 0 &&
                      st.entries[1].numel == 0,
                  "valid: touching tensors, empty and scalar tensors, trailing header spaces");
        ss_safetensors_close(&st);
    }

    { /* truncated after open: the reader finds out at read time and names the tensor */
        const char *path = DIR "st_trunc.safetensors";
        float x[1000], y[1000];
        ss_safetensors_tensor t[2];
        ss_safetensors st;
        char *bytes;
        size_t size;
        ss_result r;
        memset(x, 0, sizeof x);
        memset(t, 0, sizeof t);
        t[0].name = "first", t[0].ndim = 1, t[0].shape[0] = 10, t[0].data = x;
        t[1].name = "second", t[1].ndim = 2, t[1].shape[0] = 10, t[1].shape[1] = 99, t[1].data = x;
        ss_safetensors_write(path, t, 2, NULL, 0);
        r = ss_safetensors_open(&st, path);
        arm_failure(-1);
        if (r == SS_OK && ss_file_read(path, &bytes, &size) == SS_OK) {
            write_bytes(path, bytes, size - 100); /* same file, 100 bytes shorter */
            ss_free(bytes);
        }
        test_true(r == SS_OK && ss_safetensors_read_f32(&st, 0, y, 10) == SS_OK,
                  "truncated: untouched tensor reads");
        r = ss_safetensors_read_f32(&st, 1, y, 990);
        test_true(r == SS_ERR_IO && detail_has("st_trunc.safetensors: tensor 'second'") &&
                      detail_has("truncated"),
                  "truncated after open: SS_ERR_IO naming file and tensor");
        ss_safetensors_close(&st);
        remove(path);
    }
    remove(bad);
}

static void add(ss_params *p, const char *name, int ndim, int d0, int d1) {
    int shape[2];
    shape[0] = d0, shape[1] = d1;
    if (ss_params_add(p, name, ndim, shape, 0, NULL) != SS_OK) {
        fprintf(stderr, "test: ss_params_add failed: %s\n", ss_last_error_detail());
        exit(2);
    }
}

static void test_params(void) {
    const char *path = DIR "st_params.safetensors";
    ss_params p, q;
    ss_safetensors st;
    ss_safetensors_tensor t[3];
    float w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {7, 8, 9}, x[2] = {10, 11};
    ss_rng rng;
    ss_result r;
    int i;
    memset(&p, 0, sizeof p);
    memset(&q, 0, sizeof q);
    add(&p, "layer.weight", 2, 2, 3);
    add(&p, "layer.bias", 1, 3, 0);
    add(&p, "head.weight", 2, 5, 7);
    ss_params_init(&p);
    ss_rng_seed(&rng, 5);
    test_fill(p.param, p.numel, &rng, -1, 1);
    add(&q, "layer.weight", 2, 2, 3);
    add(&q, "layer.bias", 1, 3, 0);
    add(&q, "head.weight", 2, 5, 7);
    ss_params_init(&q);
    r = ss_safetensors_write_params(path, &p, NULL, 0);
    test_true(r == SS_OK, "params: write the registry");
    r = ss_safetensors_open(&st, path);
    test_true(r == SS_OK && ss_safetensors_load_params(&st, &q, 1) == SS_OK,
              "params: strict load of the same registry");
    for (i = 0, r = SS_OK; i < p.count; i++)
        if (memcmp(ss_params_data(&p, i), ss_params_data(&q, i),
                   p.tensors[i].numel * sizeof(float)) != 0)
            r = SS_ERR_FORMAT;
    test_true(r == SS_OK && st.entries[2].shape[0] == 5 && st.entries[2].shape[1] == 7,
              "params: values and shapes round trip");
    ss_safetensors_close(&st);
    ss_params_free(&q);

    /* a smaller model: file tensors it lacks fail only in strict mode */
    memset(&q, 0, sizeof q);
    add(&q, "layer.weight", 2, 2, 3);
    ss_params_init(&q);
    ss_safetensors_open(&st, path);
    r = ss_safetensors_load_params(&st, &q, 1);
    test_true(r == SS_ERR_FORMAT && detail_has("'layer.bias'") && detail_has("not in the model"),
              "params: strict load names the extra file tensor");
    test_true(ss_safetensors_load_params(&st, &q, 0) == SS_OK &&
                  memcmp(ss_params_data(&q, 0), ss_params_data(&p, 0), 6 * sizeof(float)) == 0,
              "params: non-strict load ignores extras");
    ss_safetensors_close(&st);
    ss_params_free(&q);

    /* shapes must match exactly: (3,2) is not (2,3), (6) is not (2,3) */
    memset(t, 0, sizeof t);
    t[0].name = "layer.weight", t[0].ndim = 2, t[0].shape[0] = 3, t[0].shape[1] = 2, t[0].data = w;
    t[1].name = "layer.bias", t[1].ndim = 1, t[1].shape[0] = 3, t[1].data = b;
    t[2].name = "extra", t[2].ndim = 1, t[2].shape[0] = 2, t[2].data = x;
    ss_safetensors_write(path, t, 2, NULL, 0);
    memset(&q, 0, sizeof q);
    add(&q, "layer.weight", 2, 2, 3);
    add(&q, "layer.bias", 1, 3, 0);
    ss_params_init(&q);
    ss_safetensors_open(&st, path);
    r = ss_safetensors_load_params(&st, &q, 0);
    test_true(
        r == SS_ERR_FORMAT &&
            detail_has("'layer.weight' has shape [3, 2] in the file, the model expects [2, 3]"),
        "params: shape mismatch names the tensor and both shapes");
    test_true(ss_params_data(&q, 1)[0] == 0.0f, "params: nothing read when a check fails");
    ss_safetensors_close(&st);
    t[0].ndim = 1, t[0].shape[0] = 6;
    ss_safetensors_write(path, t, 2, NULL, 0);
    ss_safetensors_open(&st, path);
    test_true(ss_safetensors_load_params(&st, &q, 0) == SS_ERR_FORMAT &&
                  detail_has("[6] in the file"),
              "params: rank mismatch caught");
    ss_safetensors_close(&st);
    t[0].ndim = 2, t[0].shape[0] = 2, t[0].shape[1] = 3;
    ss_safetensors_write(path, t + 1, 2, NULL, 0); /* bias and extra, no weight */
    ss_safetensors_open(&st, path);
    test_true(ss_safetensors_load_params(&st, &q, 0) == SS_ERR_NOT_FOUND &&
                  detail_has("tensor 'layer.weight' is missing"),
              "params: missing tensor is NOT_FOUND, named");
    ss_safetensors_close(&st);
    ss_safetensors_write(path, t, 3, NULL, 0);
    ss_safetensors_open(&st, path);
    test_true(ss_safetensors_load_params(&st, &q, 0) == SS_OK && ss_params_data(&q, 0)[5] == 6.0f &&
                  ss_params_data(&q, 1)[2] == 9.0f,
              "params: matching tensors load, extra ignored when not strict");
    test_true(ss_safetensors_load_params(&st, &q, 1) == SS_ERR_FORMAT &&
                  detail_has("'extra' (header byte"),
              "params: extra named in strict mode");
    ss_safetensors_close(&st);
    ss_params_free(&q);
    ss_params_free(&p);
    remove(path);
}

static void test_crash_safety(void) {
    const char *path = DIR "st_keep.safetensors";
    const char *missing = DIR "no/such/dir/x.safetensors";
    float v[2] = {1, 2};
    ss_safetensors_tensor t[2];
    ss_safetensors st;
    ss_result r;
    memset(t, 0, sizeof t);
    t[0].name = "v", t[0].ndim = 1, t[0].shape[0] = 2, t[0].data = v;
    r = ss_safetensors_write(missing, t, 1, NULL, 0);
    test_true(r == SS_ERR_IO && detail_has("no/such/dir") && !file_exists(missing) &&
                  !file_exists(DIR "no/such/dir/x.safetensors.tmp"),
              "write: missing directory is SS_ERR_IO, nothing created");
    ss_safetensors_write(path, t, 1, NULL, 0);
    t[1] = t[0]; /* the same name twice */
    r = ss_safetensors_write(path, t, 2, NULL, 0);
    test_true(r == SS_ERR_INVALID && detail_has("tensor name 'v' given twice"),
              "write: duplicate name rejected");
    t[1].name = "bad \xff name";
    r = ss_safetensors_write(path, t, 2, NULL, 0);
    test_true(r == SS_ERR_INVALID && detail_has("not UTF-8") && detail_has("st_keep.safetensors"),
              "write: a name that is not UTF-8 is rejected");
    t[1].name = "__metadata__";
    test_true(ss_safetensors_write(path, t, 2, NULL, 0) == SS_ERR_INVALID,
              "write: __metadata__ is reserved");
    t[1].name = "w", t[1].shape[0] = -1;
    test_true(ss_safetensors_write(path, t, 2, NULL, 0) == SS_ERR_INVALID &&
                  detail_has("dimension 0 is -1"),
              "write: negative dimension rejected");
    t[1].shape[0] = 2, t[1].data = NULL;
    test_true(ss_safetensors_write(path, t, 2, NULL, 0) == SS_ERR_INVALID &&
                  detail_has("'w' has no data"),
              "write: missing data rejected");
    {
        const char *meta[4] = {"k", "1", "k", "2"};
        test_true(ss_safetensors_write(path, t, 1, meta, 2) == SS_ERR_INVALID &&
                      detail_has("'k' given twice"),
                  "write: duplicate metadata key rejected");
    }
    r = ss_safetensors_open(&st, path);
    test_true(r == SS_OK && st.count == 1 && !file_exists(DIR "st_keep.safetensors.tmp"),
              "write: failed writes leave the old file intact and no temporary");
    ss_safetensors_close(&st);
    remove(path);
}

static void test_allocation_failures(void) {
    const char *path = DIR "st_alloc.safetensors";
    const char *meta[2] = {"config", "{\"a\": 1}"};
    float v[300];
    ss_safetensors_tensor t[40];
    char names[40][16];
    long at;
    int i, tried = 0, all_reported = 1, none_leaked = 1, no_tmp = 1;
    memset(t, 0, sizeof t);
    memset(v, 0, sizeof v);
    for (i = 0; i < 40; i++) {
        sprintf(names[i], "t%02d.weight", i);
        t[i].name = names[i], t[i].ndim = 2, t[i].shape[0] = 3, t[i].shape[1] = 100, t[i].data = v;
    }
    for (at = 0; at < 1000; at++) {
        ss_result r;
        remove(path);
        arm_failure(at);
        r = ss_safetensors_write(path, t, 40, meta, 1);
        if (alloc_live != 0) none_leaked = 0;
        if (file_exists(DIR "st_alloc.safetensors.tmp")) no_tmp = 0;
        if (r == SS_OK) break;
        if (file_exists(path)) no_tmp = 0;
        tried++;
        if (r != SS_ERR_NOMEM || !detail_has("st_alloc.safetensors")) all_reported = 0;
    }
    arm_failure(-1);
    test_true(tried >= 4 && at < 1000 && all_reported && none_leaked && no_tmp,
              "alloc failure: write reports NOMEM naming the file, leaks nothing, leaves no file");
    for (at = 0, tried = 0; at < 1000; at++) {
        ss_safetensors st;
        ss_result r;
        arm_failure(at);
        r = ss_safetensors_open(&st, path);
        if (r == SS_OK && !st_is_zeroed(&st))
            ss_safetensors_close(&st);
        else if (!st_is_zeroed(&st))
            none_leaked = 0;
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break;
        tried++;
        if (r != SS_ERR_NOMEM || !detail_has("st_alloc.safetensors")) all_reported = 0;
    }
    arm_failure(-1);
    printf("  open: %d allocation sites failed in turn\n", tried);
    test_true(tried >= 6 && at < 1000 && all_reported && none_leaked,
              "alloc failure: open reports NOMEM naming the file, leaves the struct zeroed, leaks "
              "nothing");
    remove(path);
}

/* Mutated headers must never crash the reader; whatever opens must read or fail cleanly. */
static void test_fuzz(void) {
    const char *path = DIR "st_fuzz.safetensors";
    static unsigned char orig[4096], buf[4096];
    float v[16], out[64];
    ss_safetensors_tensor t[3];
    const char *meta[2] = {"format", "pt"};
    size_t n = 0;
    FILE *f;
    ss_rng rng;
    int iter, opened = 0, bad = 0;
    memset(t, 0, sizeof t);
    memset(v, 0, sizeof v);
    t[0].name = "a", t[0].ndim = 1, t[0].shape[0] = 16, t[0].data = v;
    t[1].name = "bb", t[1].ndim = 2, t[1].shape[0] = 2, t[1].shape[1] = 4, t[1].data = v;
    t[2].name = "c", t[2].ndim = 0, t[2].data = v;
    ss_safetensors_write(path, t, 3, meta, 1);
    f = fopen(path, "rb");
    if (f) {
        n = fread(orig, 1, sizeof orig, f);
        fclose(f);
    }
    ss_rng_seed(&rng, 99);
    for (iter = 0; iter < 3000; iter++) {
        ss_safetensors st;
        ss_result r;
        int e, edits = 1 + (int)(ss_rng_u32(&rng) % 3);
        size_t len = n, hdr = 8 + (size_t)orig[0] + 256 * (size_t)orig[1];
        memcpy(buf, orig, n);
        for (e = 0; e < edits; e++) {
            size_t at =
                ss_rng_u32(&rng) % (iter % 10 == 0 ? len : hdr); /* mostly inside the header */
            static const char digits[] = "0123456789\"[]{},:-.eFIU";
            buf[at] = ss_rng_u32(&rng) % 2
                          ? (unsigned char)digits[ss_rng_u32(&rng) % (sizeof digits - 1)]
                          : (unsigned char)ss_rng_u32(&rng);
        }
        if (iter % 7 == 0) len = ss_rng_u32(&rng) % (n + 1); /* cut short */
        write_bytes(path, buf, len);
        r = ss_safetensors_open(&st, path);
        if (r == SS_OK) {
            int k;
            opened++;
            for (k = 0; k < st.count; k++)
                if (st.entries[k].numel <= 64 && ss_dtype_is_float(st.entries[k].dtype)) {
                    ss_result rr =
                        ss_safetensors_read_f32(&st, k, out, (size_t)st.entries[k].numel);
                    if (rr != SS_OK && rr != SS_ERR_IO) bad++;
                }
        } else if ((r != SS_ERR_FORMAT && r != SS_ERR_IO) || !detail_has("st_fuzz.safetensors")) {
            bad++;
        }
        ss_safetensors_close(&st);
    }
    printf("  fuzz: %d of 3000 mutated files opened\n", opened);
    test_true(bad == 0 && alloc_live == 0,
              "fuzz: mutated files fail cleanly with a detail naming the file");
    remove(path);
}

int main(void) {
    printf("%s\n", ss_build_info());
    if (system("mkdir -p " DIR) != 0) return 2;
    test_round_trip();
    test_hand_built();
    test_conversions();
    test_malformed();
    test_params();
    test_crash_safety();
    test_allocation_failures();
    test_fuzz();
    test_true(alloc_live == 0, "no allocation outstanding at exit");
    return test_summary("test_safetensors");
}
