/* test_shards.c - >>shards: sharded checkpoints (model.safetensors.index.json or a single
   model.safetensors) and FP8 block-scaled dequantisation, with the synthetic MLA checkpoint of
   tools/mla_synth.h. Checks: every E4M3 and E5M2 byte and every BF16 and F16 bit pattern against
   the format definitions written out here; the generator's float -> E4M3 and float -> BF16
   rounding against a brute-force nearest search; dequantisation of a 300x200 tensor with 3x2
   scale blocks (edge blocks included), BF16 scales, scales in another file and a chunked scale
   read, against a direct computation; every tensor of a synthetic checkpoint read back exactly
   as written (FP8 sharded, F32 single-file), a scale in another shard than its weight; the planted
   ranks (double-precision eigenvalues); malformed indexes, missing and truncated shards, each
   with its code and a detail naming the file; and the LRU of open shards against a reference.
   Files go under build/test/shards/.
   cc -std=c99 -O2 -o test_shards tests/test_shards.c -lm && ./test_shards */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#include "../tools/mla_synth.c"

#define SCRATCH "build/test/shards/"

static void make_dir(const char *path) {
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "test: cannot create %s (%s)\n", path, strerror(errno));
        exit(2);
    }
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) {
        fprintf(stderr, "test: cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static void write_text(const char *path, const char *text) {
    write_bytes(path, text, strlen(text));
}

/* The whole file at path (exits on failure); *n gets its size. */
static unsigned char *read_all(const char *path, size_t *n) {
    char *data;
    if (ss_file_read(path, &data, n) != SS_OK) {
        fprintf(stderr, "test: %s\n", ss_last_error_detail());
        exit(2);
    }
    return (unsigned char *)data;
}

/* ---- the number formats, from their definitions ------------------------------------------- */

/* E4M3 ("e4m3fn"): sign, 4 exponent bits with bias 7, 3 mantissa bits; exponent 0 is subnormal
   (+-2^-6 * m/8); S.1111.111 is NaN; there is no infinity, so S.1111.110 = 448 is the largest. */
static double def_e4m3(unsigned b) {
    unsigned s = b >> 7, e = (b >> 3) & 15, m = b & 7;
    double v;
    if (e == 15 && m == 7) return NAN;
    v = e == 0 ? ldexp(m / 8.0, -6) : ldexp(1.0 + m / 8.0, (int)e - 7);
    return s ? -v : v;
}

/* E5M2: sign, 5 exponent bits with bias 15, 2 mantissa bits, IEEE-style infinities and NaN. */
static double def_e5m2(unsigned b) {
    unsigned s = b >> 7, e = (b >> 2) & 31, m = b & 3;
    double v;
    if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = e == 0 ? ldexp(m / 4.0, -14) : ldexp(1.0 + m / 4.0, (int)e - 15);
    return s ? -v : v;
}

/* binary16: 5 exponent bits (bias 15), 10 mantissa bits. */
static double def_f16(unsigned h) {
    unsigned s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = e == 0 ? ldexp(m / 1024.0, -14) : ldexp(1.0 + m / 1024.0, (int)e - 15);
    return s ? -v : v;
}

/* bfloat16: 8 exponent bits (bias 127), 7 mantissa bits. */
static double def_bf16(unsigned h) {
    unsigned s = h >> 15, e = (h >> 7) & 255, m = h & 127;
    double v;
    if (e == 255)
        v = m ? NAN : INFINITY;
    else
        v = e == 0 ? ldexp(m / 128.0, -126) : ldexp(1.0 + m / 128.0, (int)e - 127);
    return s ? -v : v;
}

/* got (a float) equals want (a double) exactly, NaN matching NaN, and zeros' signs matching. */
static int same_value(float got, double want) {
    if (want != want) return got != got;
    return (double)got == want && (signbit(got) != 0) == (signbit(want) != 0);
}

static void test_formats(void) {
    unsigned b, bad = 0, nans = 0, finite_max_ok;
    double largest = 0.0;
    for (b = 0; b < 256; b++) {
        float v = ss_f8_e4m3_to_f32((uint8_t)b);
        double want = def_e4m3(b);
        if (!same_value(v, want)) {
            if (bad++ < 5) printf("  e4m3 0x%02X: got %.9g want %.9g\n", b, v, want);
        }
        if (v != v)
            nans++;
        else if (!isfinite(v))
            bad++; /* no infinities in e4m3fn */
        else if (fabs(v) > largest)
            largest = fabs(v);
    }
    finite_max_ok = largest == 448.0 && def_e4m3(0x7E) == 448.0 && def_e4m3(0x01) == ldexp(1, -9);
    test_true(bad == 0 && nans == 2 && finite_max_ok,
              "e4m3: all 256 bytes (NaN only at S.1111.111, max 448, no inf)");
    for (b = 0, bad = 0; b < 256; b++)
        if (!same_value(ss_f8_e5m2_to_f32((uint8_t)b), def_e5m2(b))) bad++;
    test_true(bad == 0, "e5m2: all 256 bytes");
    for (b = 0, bad = 0; b < 65536; b++)
        if (!same_value(ss_bf16_to_f32((uint16_t)b), def_bf16(b))) {
            if (bad++ < 5)
                printf("  bf16 0x%04X: got %.9g want %.9g\n", b, ss_bf16_to_f32((uint16_t)b),
                       def_bf16(b));
        }
    test_true(bad == 0, "bf16: all 65536 bit patterns (subnormals, inf, NaN)");
    for (b = 0, bad = 0; b < 65536; b++)
        if (!same_value(ss_f16_to_f32((uint16_t)b), def_f16(b))) {
            if (bad++ < 5)
                printf("  f16 0x%04X: got %.9g want %.9g\n", b, ss_f16_to_f32((uint16_t)b),
                       def_f16(b));
        }
    test_true(bad == 0, "f16: all 65536 bit patterns (subnormals, inf, NaN)");
}

/* ---- the generator's rounding -------------------------------------------------------------- */

/* The E4M3 code nearest to x by search over every finite code of x's sign, ties to the even code
   (mantissa bit 0 clear), values beyond 448 saturated. */
static unsigned brute_e4m3(double x) {
    static double value[0x7F]; /* the positive finite codes, from the definition */
    static int filled = 0;
    unsigned sign = x < 0 || (x == 0 && signbit(x)) ? 0x80 : 0, c, best = 0;
    double a = fabs(x), best_d = INFINITY;
    if (!filled)
        for (c = 0, filled = 1; c < 0x7F; c++) value[c] = def_e4m3(c);
    if (a > 448.0) return sign | 0x7E;
    for (c = 0; c < 0x7F; c++) {
        double d = fabs(value[c] - a);
        if (d < best_d || (d == best_d && (c & 1) == 0)) {
            best_d = d;
            best = c;
        }
    }
    return sign | best;
}

static float f32_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static void test_rounding(void) {
    ss_rng rng;
    unsigned c, bad = 0, n = 0;
    int i;
    ss_rng_seed(&rng, 7);
    /* every finite code round-trips; midpoints and their neighbours go where the search says */
    for (c = 0; c < 256; c++) {
        double v = def_e4m3(c), next;
        if (v != v) continue;
        n++;
        if (mla_synth_f32_to_e4m3((float)v) != c) bad++;
        if ((c & 0x7F) >= 0x7E) continue;
        next = def_e4m3(c + 1); /* same sign, next magnitude */
        {
            float mid = (float)((v + next) / 2); /* exact in float */
            float up = nextafterf(mid, (float)next * 2), down = nextafterf(mid, 0.0f);
            if (mla_synth_f32_to_e4m3(mid) != brute_e4m3(mid)) bad++;
            if (mla_synth_f32_to_e4m3(up) != brute_e4m3(up)) bad++;
            if (mla_synth_f32_to_e4m3(down) != brute_e4m3(down)) bad++;
            if ((c & 1) == 0 && mla_synth_f32_to_e4m3(mid) != c) bad++; /* the tie goes to c */
            n += 3;
        }
    }
    for (i = 0; i < 200000; i++) { /* random magnitudes from 2^-14 to 2^10, both signs */
        float x = (float)ldexp(1.0 + ss_rng_uniform(&rng), (int)(ss_rng_u32(&rng) % 25) - 14);
        if (ss_rng_u32(&rng) & 1) x = -x;
        if (mla_synth_f32_to_e4m3(x) != brute_e4m3(x)) {
            if (bad++ < 5)
                printf("  e4m3(%.9g): got 0x%02X want 0x%02X\n", x, mla_synth_f32_to_e4m3(x),
                       brute_e4m3(x));
        }
        n++;
    }
    bad += mla_synth_f32_to_e4m3(INFINITY) != 0x7E || mla_synth_f32_to_e4m3(-INFINITY) != 0xFE;
    bad += mla_synth_f32_to_e4m3(1e30f) != 0x7E || mla_synth_f32_to_e4m3(464.0f) != 0x7E;
    bad += (mla_synth_f32_to_e4m3(NAN) & 0x7F) != 0x7F || mla_synth_f32_to_e4m3(-0.0f) != 0x80;
    test_true(
        bad == 0,
        "generator: float -> e4m3 nearest-even, saturating (round trips, midpoints, 200k random)");
    (void)n;

    /* bf16: the nearer of the two candidates around x, ties to even, overflow to infinity */
    for (i = 0, bad = 0; i < 200000; i++) {
        uint32_t bits = ss_rng_u32(&rng), lo, hi, want;
        float x;
        double dl, dh, vl, vh;
        if (i % 4 == 1) bits &= 0x807FFFFFu;                       /* subnormals */
        if (i % 4 == 2) bits = (bits & 0x8000FFFFu) | 0x7F7F0000u; /* near the max */
        if (i % 8 == 3) bits = (bits & 0xFFFF0000u) | 0x8000u;     /* exact ties */
        x = f32_from_bits(bits);
        if (x != x) {
            uint16_t h = mla_synth_f32_to_bf16(x);
            bad += ((h & 0x7F80) != 0x7F80 || (h & 0x7F) == 0 || (h >> 15) != (bits >> 31));
            continue;
        }
        lo = bits >> 16;
        hi = lo + 1;
        vl = def_bf16(lo);
        vh = (hi & 0x7FFF) == 0x7F80 ? copysign(ldexp(1.0, 128), x) : def_bf16(hi);
        if (isinf(vl)) { /* x is infinite: stays */
            want = lo;
        } else {
            dl = fabs((double)x - vl);
            dh = fabs((double)x - vh);
            want = dl < dh || (dl == dh && (lo & 1) == 0) ? lo : hi;
        }
        if (mla_synth_f32_to_bf16(x) != want) {
            if (bad++ < 5)
                printf("  bf16(0x%08X): got 0x%04X want 0x%04X\n", (unsigned)bits,
                       mla_synth_f32_to_bf16(x), (unsigned)want);
        }
    }
    test_true(
        bad == 0,
        "generator: float -> bf16 nearest-even (200k patterns: subnormals, ties, overflow, NaN)");
}

/* ---- safetensors files built here ---------------------------------------------------------- */

typedef struct st_part {
    const char *name, *dtype;
    int ndim;
    long shape[2];
    const void *data;
    size_t bytes;
} st_part;

/* A safetensors file of the given tensors, contiguous in order, header padded to 8 bytes. */
static void write_parts(const char *path, const st_part *p, int n) {
    char header[4096];
    size_t len = 0, off = 0, total, at;
    unsigned char *buf;
    int i, k;
    len += (size_t)snprintf(header + len, sizeof header - len,
                            "{\"__metadata__\":{\"format\":\"pt\"}");
    for (i = 0; i < n; i++) {
        len += (size_t)snprintf(header + len, sizeof header - len,
                                ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", p[i].name, p[i].dtype);
        for (k = 0; k < p[i].ndim; k++)
            len += (size_t)snprintf(header + len, sizeof header - len, "%s%ld", k ? "," : "",
                                    p[i].shape[k]);
        len += (size_t)snprintf(header + len, sizeof header - len, "],\"data_offsets\":[%zu,%zu]}",
                                off, off + p[i].bytes);
        off += p[i].bytes;
    }
    len += (size_t)snprintf(header + len, sizeof header - len, "}");
    while (len % 8) header[len++] = ' ';
    total = 8 + len + off;
    buf = (unsigned char *)malloc(total);
    for (k = 0; k < 8; k++) buf[k] = (unsigned char)(((uint64_t)len >> (8 * k)) & 0xFF);
    memcpy(buf + 8, header, len);
    for (i = 0, at = 8 + len; i < n; i++) {
        memcpy(buf + at, p[i].data, p[i].bytes);
        at += p[i].bytes;
    }
    write_bytes(path, buf, total);
    free(buf);
}

static void put_f32(unsigned char *b, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    b[0] = (unsigned char)bits, b[1] = (unsigned char)(bits >> 8);
    b[2] = (unsigned char)(bits >> 16), b[3] = (unsigned char)(bits >> 24);
}

/* Dequantisation with ceil-divided edge blocks, against out[i][j] = e4m3(code) * scale. */
static void test_dequant(void) {
    enum { M = 300, N = 200, BM = 3, BN = 2 };
    static unsigned char codes[M * N], scale_bytes[BM * BN * 4], scale_bf16[BM * BN * 2];
    static unsigned char small_scales[100 * 67 * 4];
    static float got[M * N], want[M * N];
    float scales[BM * BN];
    ss_safetensors st, other;
    ss_rng rng;
    st_part parts[6];
    ss_result r;
    int i, j, wi, si, sbad, edge_ok;
    ss_rng_seed(&rng, 11);
    for (i = 0; i < M * N; i++) {
        unsigned c = ss_rng_u32(&rng) & 0xFF;
        codes[i] = (unsigned char)((c & 0x7F) == 0x7F ? c - 1 : c); /* no NaN */
    }
    for (i = 0; i < BM * BN; i++) { /* distinct per block, so a wrong block shows */
        scales[i] = (float)ldexp(1.0 + i / 8.0, i - 3);
        put_f32(scale_bytes + 4 * i, scales[i]);
        scale_bf16[2 * i] = 0; /* these scales are exact in bf16: the upper half of the float */
        {
            uint32_t bits;
            memcpy(&bits, &scales[i], 4);
            scale_bf16[2 * i] = (unsigned char)(bits >> 16);
            scale_bf16[2 * i + 1] = (unsigned char)(bits >> 24);
        }
    }
    for (i = 0; i < 100 * 67; i++) put_f32(small_scales + 4 * i, (float)(1 + i % 13) / 8.0f);
    memset(parts, 0, sizeof parts);
    parts[0].name = "w", parts[0].dtype = "F8_E4M3", parts[0].ndim = 2;
    parts[0].shape[0] = M, parts[0].shape[1] = N, parts[0].data = codes,
    parts[0].bytes = sizeof codes;
    parts[1].name = "w_scale_inv", parts[1].dtype = "F32", parts[1].ndim = 2;
    parts[1].shape[0] = BM, parts[1].shape[1] = BN, parts[1].data = scale_bytes,
    parts[1].bytes = sizeof scale_bytes;
    parts[2].name = "w_scale_bf16", parts[2].dtype = "BF16", parts[2].ndim = 2;
    parts[2].shape[0] = BM, parts[2].shape[1] = BN, parts[2].data = scale_bf16,
    parts[2].bytes = sizeof scale_bf16;
    parts[3].name = "w_scale_floor", parts[3].dtype = "F32",
    parts[3].ndim = 2; /* floor-divided: wrong */
    parts[3].shape[0] = 2, parts[3].shape[1] = 1, parts[3].data = scale_bytes, parts[3].bytes = 8;
    parts[4].name = "w_scale_block3", parts[4].dtype = "F32", parts[4].ndim = 2; /* 3x3 blocks */
    parts[4].shape[0] = 100, parts[4].shape[1] = 67, parts[4].data = small_scales,
    parts[4].bytes = sizeof small_scales;
    parts[5].name = "flat", parts[5].dtype = "F8_E4M3", parts[5].ndim = 1;
    parts[5].shape[0] = 64, parts[5].data = codes, parts[5].bytes = 64;
    write_parts(SCRATCH "dequant.safetensors", parts, 6);
    write_parts(SCRATCH "dequant_scales.safetensors", parts + 1, 1);
    memset(&st, 0, sizeof st);
    memset(&other, 0, sizeof other);
    if (ss_safetensors_open(&st, SCRATCH "dequant.safetensors") != SS_OK ||
        ss_safetensors_open(&other, SCRATCH "dequant_scales.safetensors") != SS_OK) {
        printf("  %s\n", ss_last_error_detail());
        test_true(0, "dequant: open the files");
        return;
    }
    wi = ss_safetensors_find(&st, "w");
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++)
            want[i * N + j] = (float)def_e4m3(codes[i * N + j]) * scales[(i / 128) * BN + j / 128];
    r = ss_safetensors_read_f32_scaled(&st, wi, &st, ss_safetensors_find(&st, "w_scale_inv"), 128,
                                       got, M * N);
    check_tensor("dequant: 300x200 E4M3, 3x2 F32 scales, edge rows and columns", got, want, M * N,
                 0, 0);
    /* the edge blocks by themselves: rows 256..299 use block row 2, columns 128..199 block column 1 */
    for (i = 256, edge_ok = r == SS_OK; i < M; i++)
        for (j = 128; j < N; j++)
            if (got[i * N + j] != (float)def_e4m3(codes[i * N + j]) * scales[2 * BN + 1])
                edge_ok = 0;
    test_true(edge_ok,
              "dequant: the corner edge block (rows 256-299, cols 128-199) has its own scale");
    memset(got, 0, sizeof got);
    r = ss_safetensors_read_f32_scaled(&st, wi, &st, ss_safetensors_find(&st, "w_scale_bf16"), 128,
                                       got, M * N);
    test_true(r == SS_OK && memcmp(got, want, sizeof got) == 0, "dequant: BF16 scales");
    memset(got, 0, sizeof got);
    r = ss_safetensors_read_f32_scaled(&st, wi, &other, 0, 128, got, M * N);
    test_true(r == SS_OK && memcmp(got, want, sizeof got) == 0, "dequant: scales in another file");
    /* 3x3 blocks: 6700 scales, read in several chunks */
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++)
            want[i * N + j] = (float)def_e4m3(codes[i * N + j]) *
                              ((float)(1 + ((i / 3) * 67 + j / 3) % 13) / 8.0f);
    r = ss_safetensors_read_f32_scaled(&st, wi, &st, ss_safetensors_find(&st, "w_scale_block3"), 3,
                                       got, M * N);
    test_true(r == SS_OK && memcmp(got, want, sizeof got) == 0,
              "dequant: 3x3 blocks, 100x67 scales read in chunks");
    /* errors */
    si = ss_safetensors_find(&st, "w_scale_floor");
    r = ss_safetensors_read_f32_scaled(&st, wi, &st, si, 128, got, M * N);
    printf("  detail: %s\n", ss_last_error_detail());
    sbad = r != SS_ERR_FORMAT || !detail_has("'w'") || !detail_has("'w_scale_floor'") ||
           !detail_has("[3, 2]") || !detail_has("[2, 1]") || !detail_has("dequant.safetensors");
    test_true(
        !sbad,
        "dequant: a floor-divided scale shape is SS_ERR_FORMAT naming both tensors and shapes");
    r = ss_safetensors_read_f32_scaled(&st, ss_safetensors_find(&st, "flat"), &st, si, 128, got,
                                       64);
    test_true(r == SS_ERR_FORMAT && detail_has("'flat'") && detail_has("2-D"),
              "dequant: a 1-D tensor is SS_ERR_FORMAT");
    r = ss_safetensors_read_f32_scaled(&st, wi, &st, ss_safetensors_find(&st, "w_scale_inv"), 128,
                                       got, M * N - 1);
    test_true(r == SS_ERR_INVALID, "dequant: a wrong out_numel is SS_ERR_INVALID");
    ss_safetensors_close(&st);
    ss_safetensors_close(&other);
}

/* The shard number of the tensor called name (a linear search of the public table), or -1. */
static int shard_of(const ss_shards *sh, const char *name) {
    int i;
    for (i = 0; i < sh->count; i++)
        if (strcmp(sh->tensors[i].name, name) == 0) return sh->tensors[i].file;
    return -1;
}

/* ---- synthetic checkpoints ------------------------------------------------------------------ */

/* Read every tensor of the checkpoint written from spec into dir and compare with the values
   the generator says a reader must get. */
static void check_checkpoint(const char *dir, const mla_synth_spec *spec, const char *what) {
    mla_synth_tensor *list;
    ss_shards sh;
    char name[160];
    int count = mla_synth_list(spec, NULL, 0), i, bad = 0, info_bad = 0, split = 0, close_bad = 0;
    double worst_rel = 0.0;
    list = (mla_synth_tensor *)malloc((size_t)count * sizeof *list);
    mla_synth_list(spec, list, count);
    if (ss_shards_open(&sh, dir) != SS_OK) {
        printf("  %s\n", ss_last_error_detail());
        snprintf(name, sizeof name, "%s: open", what);
        test_true(0, name);
        free(list);
        return;
    }
    for (i = 0; i < count; i++) {
        const mla_synth_tensor *t = &list[i];
        size_t n = (size_t)t->shape[0] * t->shape[1], k;
        float *got = test_alloc(n), *want = test_alloc(n), *ideal = test_alloc(n);
        ss_dtype dt;
        int ndim;
        int64_t shape[SS_SAFETENSORS_MAX_DIMS];
        if (!ss_shards_has(&sh, t->name)) bad++;
        if (ss_shards_info(&sh, t->name, &dt, &ndim, shape) != SS_OK || dt != t->dtype ||
            ndim != t->ndim || shape[0] != t->shape[0] || (ndim == 2 && shape[1] != t->shape[1]))
            info_bad++;
        if (ss_shards_read_f32(&sh, t->name, got, n) != SS_OK) {
            printf("  %s\n", ss_last_error_detail());
            bad++;
        }
        mla_synth_values(spec, t, 1, want);
        if (memcmp(got, want, n * sizeof(float)) != 0) {
            if (bad++ < 3) printf("  %s differs\n", t->name);
        }
        /* FP8 keeps 3 mantissa bits: each value within 2^-4 of the planted one (relative), or
           for the subnormals of its block (below 2^-6 * scale) within half a step, 2^-10 * scale */
        if (t->dtype == SS_DTYPE_F8_E4M3) {
            const mla_synth_tensor *s = &list[i + 1]; /* its scale_inv follows it */
            float *scales = test_alloc((size_t)s->shape[0] * s->shape[1]);
            mla_synth_values(spec, t, 0, ideal);
            mla_synth_values(spec, s, 1, scales);
            for (k = 0; k < n; k++) {
                size_t row = k / (size_t)t->shape[1], col = k % (size_t)t->shape[1];
                double scale = scales[(row / 128) * (size_t)s->shape[1] + col / 128];
                double err = fabs((double)got[k] - ideal[k]), a = fabs(ideal[k]);
                double rel = a >= ldexp(scale, -6) ? err / a : err / ldexp(scale, -10) * 0.0625;
                if (rel > worst_rel) worst_rel = rel;
            }
            free(scales);
        }
        if (t->is_scale) { /* the weight is list[i - 1] */
            if (shard_of(&sh, t->name) != shard_of(&sh, list[i - 1].name)) split++;
        }
        free(got), free(want), free(ideal);
    }
    snprintf(name, sizeof name, "%s: all %d tensors read back as written (has, info, read_f32)",
             what, count);
    test_true(bad == 0 && info_bad == 0, name);
    if (spec->fp8) {
        snprintf(name, sizeof name,
                 "%s: dequantised within 2^-4 of the planted values (worst %.4f)", what, worst_rel);
        test_true(worst_rel <= 0.0625 && worst_rel > 0.0, name);
        if (spec->shards > 1) {
            snprintf(name, sizeof name, "%s: %d weights have their scale_inv in another shard",
                     what, split);
            test_true(split >= spec->layers, name);
        }
    }
    ss_shards_close(&sh);
    for (i = 0; i < (int)sizeof sh; i++) close_bad |= ((unsigned char *)&sh)[i];
    snprintf(name, sizeof name, "%s: close leaves the struct zeroed; closing twice is harmless",
             what);
    ss_shards_close(&sh);
    test_true(!close_bad, name);
    free(list);
}

/* ---- planted ranks (double precision) ------------------------------------------------------- */

/* Eigenvalues of the symmetric n x n matrix A (destroyed), cyclic Jacobi, into ev (descending). */
static void jacobi_eigenvalues(double *A, int n, double *ev) {
    int sweep, p, q, k;
    for (sweep = 0; sweep < 60; sweep++) {
        double off = 0.0, diag = 0.0;
        for (p = 0; p < n; p++)
            for (q = 0; q < n; q++) {
                if (p == q)
                    diag += A[p * n + q] * A[p * n + q];
                else
                    off += A[p * n + q] * A[p * n + q];
            }
        if (off <= 1e-30 * diag) break;
        for (p = 0; p < n - 1; p++)
            for (q = p + 1; q < n; q++) {
                double apq = A[p * n + q], theta, t, c, s;
                if (apq == 0.0) continue;
                theta = (A[q * n + q] - A[p * n + p]) / (2.0 * apq);
                t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                c = 1.0 / sqrt(t * t + 1.0);
                s = t * c;
                for (k = 0; k < n; k++) { /* A = J^T A J on columns p, q then rows p, q */
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq;
                    A[k * n + q] = s * akp + c * akq;
                }
                for (k = 0; k < n; k++) {
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk;
                    A[q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (p = 0; p < n; p++) ev[p] = A[p * n + p] > 0 ? A[p * n + p] : 0.0;
    for (p = 0; p < n; p++) /* descending */
        for (q = p + 1; q < n; q++)
            if (ev[q] > ev[p]) {
                double t = ev[p];
                ev[p] = ev[q];
                ev[q] = t;
            }
}

/* Squared singular values (descending) of the rows x cols block at X with row stride ld,
   rows <= cols, via the Gram matrix X X^T. */
static void sq_singular_values(const float *X, int rows, int cols, int ld, double *ev) {
    double *G = (double *)malloc((size_t)rows * rows * sizeof(double));
    int i, j, k;
    for (i = 0; i < rows; i++)
        for (j = 0; j <= i; j++) {
            double s = 0.0;
            for (k = 0; k < cols; k++) s += (double)X[(size_t)i * ld + k] * X[(size_t)j * ld + k];
            G[i * rows + j] = G[j * rows + i] = s;
        }
    jacobi_eigenvalues(G, rows, ev);
    free(G);
}

/* SPEC 4.9: the smallest k with 1 - sum_{j<k} s_j / sum s <= eps (s squared values). */
static int effective_rank(const double *s2, int n, double eps) {
    double total = 0.0, cum = 0.0;
    int k;
    for (k = 0; k < n; k++) total += s2[k];
    for (k = 0; k < n; k++) {
        cum += s2[k];
        if (1.0 - cum / total <= eps) return k + 1;
    }
    return n;
}

/* The energy fraction beyond the first r squared values. */
static double tail_energy(const double *s2, int n, int r) {
    double total = 0.0, tail = 0.0;
    int k;
    for (k = 0; k < n; k++) total += s2[k];
    for (k = r; k < n; k++) tail += s2[k];
    return tail / total;
}

/* K_h and V_h of layer 0 have rank R exactly (F32) or up to FP8 noise; Q_h has full rank. */
static void test_planted(const char *dir_fp8, const char *dir_f32, const mla_synth_spec *spec) {
    const int H = spec->heads, dn = spec->qk_nope, dv = spec->v_head, R = spec->planted_rank;
    const int Ckv = spec->kv_lora, Cq = spec->q_lora, dr = spec->qk_rope;
    const char *kvb = "model.layers.0.self_attn.kv_b_proj.weight",
               *qb = "model.layers.0.self_attn.q_b_proj.weight";
    float *w = test_alloc((size_t)H * (dn + dv) * Ckv), *q = test_alloc((size_t)H * (dn + dr) * Cq);
    double ev[64], worst_fp8 = 0.0, worst_f32 = 0.0, least_fp8 = 1.0;
    int pass, h, part, ranks_ok = 1, q_ok = 1;
    char name[200];
    for (pass = 0; pass < 2; pass++) {
        ss_shards sh;
        if (ss_shards_open(&sh, pass ? dir_f32 : dir_fp8) != SS_OK ||
            ss_shards_read_f32(&sh, kvb, w, (size_t)H * (dn + dv) * Ckv) != SS_OK ||
            ss_shards_read_f32(&sh, qb, q, (size_t)H * (dn + dr) * Cq) != SS_OK) {
            printf("  %s\n", ss_last_error_detail());
            ranks_ok = 0;
        }
        ss_shards_close(&sh);
        for (h = 0; h < H; h++)
            for (part = 0; part < 2; part++) { /* K_h = rows [h(dn+dv), +dn), V_h the next dv */
                const float *X = w + ((size_t)h * (dn + dv) + (part ? dn : 0)) * Ckv;
                double tail;
                sq_singular_values(X, part ? dv : dn, Ckv, Ckv, ev);
                tail = tail_energy(ev, part ? dv : dn, R);
                if (pass) {
                    if (tail > worst_f32) worst_f32 = tail;
                } else {
                    if (tail > worst_fp8) worst_fp8 = tail;
                    if (tail < least_fp8) least_fp8 = tail;
                }
                if (effective_rank(ev, part ? dv : dn, 0.01) != R ||
                    effective_rank(ev, part ? dv : dn, 0.001) != R)
                    ranks_ok = 0;
            }
        for (h = 0; h < H; h++) { /* Q_h (dn, Cq) of full rank with a gently falling spectrum */
            sq_singular_values(q + (size_t)h * (dn + dr) * Cq, dn, Cq, Cq, ev);
            if (effective_rank(ev, dn, 0.01) != dn || ev[dn - 1] < 0.5 * ev[0]) q_ok = 0;
        }
    }
    snprintf(name, sizeof name,
             "planted: K_h, V_h rank %d at eps 0.01 and 0.001; energy beyond it "
             "F32 %.1e, FP8 %.1e..%.1e",
             R, worst_f32, least_fp8, worst_fp8);
    test_true(ranks_ok && worst_f32 < 1e-10 && worst_fp8 < 1e-3 && least_fp8 > 1e-6, name);
    test_true(q_ok, "planted: Q_h full rank (r(0.01) = qk_nope, sigma_min^2 >= sigma_max^2 / 2)");
    free(w), free(q);
}

/* ---- malformed checkpoints ------------------------------------------------------------------ */

static void expect(ss_result got, ss_result want, const char *needle, const char *needle2,
                   const char *name) {
    int ok = got == want && (!needle || detail_has(needle)) && (!needle2 || detail_has(needle2));
    if (!ok)
        printf("  got %s: %s\n", ss_result_string(got), ss_last_error_detail());
    else
        printf("  detail: %s\n", ss_last_error_detail());
    test_true(ok, name);
}

static void index_case(const char *sub, const char *json, ss_result want, const char *needle,
                       const char *name) {
    char dir[256], path[300];
    ss_shards sh;
    ss_result r;
    snprintf(dir, sizeof dir, SCRATCH "%s", sub);
    make_dir(dir);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    write_text(path, json);
    r = ss_shards_open(&sh, dir);
    expect(r, want, needle, "model.safetensors.index.json", name);
    ss_shards_close(&sh);
}

static void test_malformed(const char *good_dir) {
    char path[300];
    unsigned char *bytes;
    size_t n;
    ss_shards sh;
    float buf[16];
    ss_result r;
    index_case("bad_json", "{\"weight_map\": {\"a\": \"x.safetensors\",}}", SS_ERR_FORMAT,
               "byte 36",
               "index: not JSON (a trailing comma) is SS_ERR_FORMAT with the byte offset");
    index_case("no_map", "{\"metadata\": {\"total_size\": 0}}", SS_ERR_FORMAT, "weight_map",
               "index: no weight_map is SS_ERR_FORMAT");
    index_case("map_array", "{\"weight_map\": [\"x.safetensors\"]}", SS_ERR_FORMAT, "array",
               "index: weight_map an array is SS_ERR_FORMAT");
    index_case("root_array", "[1, 2]", SS_ERR_FORMAT, "array",
               "index: the root an array is SS_ERR_FORMAT");
    index_case("non_string", "{\"weight_map\": {\"a.weight\": \"x.safetensors\", \"b.weight\": 3}}",
               SS_ERR_FORMAT, "b.weight",
               "index: a non-string value is SS_ERR_FORMAT naming the tensor");
    index_case("traversal", "{\"weight_map\": {\"a\": \"../x.safetensors\"}}", SS_ERR_FORMAT,
               "../x.safetensors", "index: shard \"../x.safetensors\" is refused");
    index_case("absolute", "{\"weight_map\": {\"a\": \"/etc/passwd\"}}", SS_ERR_FORMAT,
               "/etc/passwd", "index: shard \"/etc/passwd\" is refused");
    index_case("dotdot", "{\"weight_map\": {\"a\": \"..\"}}", SS_ERR_FORMAT, "\"..\"",
               "index: shard \"..\" is refused");
    index_case("backslash", "{\"weight_map\": {\"a\": \"..\\\\x\"}}", SS_ERR_FORMAT, "weight_map",
               "index: shard \"..\\x\" is refused");

    /* neither an index nor a single file */
    make_dir(SCRATCH "empty");
    r = ss_shards_open(&sh, SCRATCH "empty");
    expect(r, SS_ERR_IO, SCRATCH "empty/model.safetensors.index.json",
           SCRATCH "empty/model.safetensors ",
           "no index and no model.safetensors: SS_ERR_IO naming both paths");
    ss_shards_close(&sh);

    /* a shard that does not exist: opens, fails when first needed */
    make_dir(SCRATCH "missing");
    write_text(SCRATCH "missing/model.safetensors.index.json",
               "{\"weight_map\": {\"a\": \"nope-00001.safetensors\"}}");
    r = ss_shards_open(&sh, SCRATCH "missing");
    test_true(r == SS_OK && ss_shards_has(&sh, "a") && !ss_shards_has(&sh, "b"),
              "missing shard: the index opens; has() works without the shard");
    r = ss_shards_read_f32(&sh, "a", buf, 1);
    expect(r, SS_ERR_IO, "missing/nope-00001.safetensors", "'a'",
           "missing shard: SS_ERR_IO naming it when first read");
    r = ss_shards_read_f32(&sh, "zzz", buf, 1);
    expect(r, SS_ERR_NOT_FOUND, "'zzz'", NULL, "unknown tensor: SS_ERR_NOT_FOUND");
    ss_shards_close(&sh);

    /* listed, but not in its shard; and a truncated shard */
    make_dir(SCRATCH "ghost");
    snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", good_dir);
    bytes = read_all(path, &n);
    write_bytes(SCRATCH "ghost/s1.safetensors", bytes, n);
    write_bytes(SCRATCH "ghost/s2.safetensors", bytes, n - 1000); /* the last tensor cut short */
    write_bytes(SCRATCH "ghost/s3.safetensors", bytes, 100);      /* inside the header */
    ss_free(bytes);
    write_text(SCRATCH "ghost/model.safetensors.index.json",
               "{\"metadata\": {}, \"weight_map\": {"
               "\"model.layers.0.input_layernorm.weight\": \"s1.safetensors\", "
               "\"ghost.weight\": \"s1.safetensors\", "
               "\"model.layers.0.self_attn.q_a_layernorm.weight\": \"s2.safetensors\", "
               "\"model.layers.0.self_attn.kv_a_layernorm.weight\": \"s3.safetensors\"}}");
    r = ss_shards_open(&sh, SCRATCH "ghost");
    test_true(r == SS_OK, "ghost: the index opens");
    r = ss_shards_read_f32(&sh, "ghost.weight", buf, 1);
    expect(r, SS_ERR_FORMAT, "ghost/s1.safetensors", "'ghost.weight'",
           "a tensor the index lists but its shard lacks: SS_ERR_FORMAT naming both");
    test_true(detail_has("model.safetensors.index.json"), "  ... and the index");
    r = ss_shards_info(&sh, "model.layers.0.self_attn.q_a_layernorm.weight", NULL, NULL, NULL);
    expect(r, SS_ERR_FORMAT, "ghost/s2.safetensors", NULL,
           "a truncated shard: SS_ERR_FORMAT naming it");
    r = ss_shards_info(&sh, "model.layers.0.self_attn.kv_a_layernorm.weight", NULL, NULL, NULL);
    expect(r, SS_ERR_FORMAT, "ghost/s3.safetensors", NULL,
           "a shard cut inside its header: SS_ERR_FORMAT naming it");
    {
        int64_t shape[SS_SAFETENSORS_MAX_DIMS];
        int ndim;
        float *norm;
        r = ss_shards_info(&sh, "model.layers.0.input_layernorm.weight", NULL, &ndim, shape);
        norm = test_alloc(r == SS_OK ? (size_t)shape[0] : 1);
        if (r == SS_OK)
            r = ss_shards_read_f32(&sh, "model.layers.0.input_layernorm.weight", norm,
                                   (size_t)shape[0]);
        test_true(r == SS_OK && ndim == 1, "ghost: a good tensor still reads after the failures");
        free(norm);
    }
    ss_shards_close(&sh);

    /* an FP8 weight whose scale_inv has the wrong shape (the index puts it in another shard) */
    make_dir(SCRATCH "badscale");
    {
        static unsigned char codes[130 * 3];
        unsigned char sc[4 * 4];
        st_part p;
        float out[130 * 3];
        int i;
        for (i = 0; i < 130 * 3; i++) codes[i] = (unsigned char)(0x38 + i % 8); /* 1 .. 1.875 */
        for (i = 0; i < 4; i++) put_f32(sc + 4 * i, 2.0f);
        memset(&p, 0, sizeof p);
        p.name = "m.weight", p.dtype = "F8_E4M3", p.ndim = 2, p.shape[0] = 130, p.shape[1] = 3;
        p.data = codes, p.bytes = sizeof codes;
        write_parts(SCRATCH "badscale/a.safetensors", &p, 1);
        p.name = "m.weight_scale_inv", p.dtype = "F32", p.shape[0] = 1, p.shape[1] = 1, p.data = sc,
        p.bytes = 4;
        write_parts(SCRATCH "badscale/b.safetensors", &p, 1);
        p.name = "n.weight_scale_inv", p.shape[0] = 2, p.shape[1] = 1, p.bytes = 8;
        write_parts(SCRATCH "badscale/c.safetensors", &p, 1);
        p.name = "n.weight", p.dtype = "F8_E4M3", p.shape[0] = 130, p.shape[1] = 3, p.data = codes,
        p.bytes = sizeof codes;
        write_parts(SCRATCH "badscale/d.safetensors", &p, 1);
        write_text(
            SCRATCH "badscale/model.safetensors.index.json",
            "{\"weight_map\": {\"m.weight\": \"a.safetensors\", "
            "\"m.weight_scale_inv\": \"b.safetensors\", \"n.weight_scale_inv\": \"c.safetensors\", "
            "\"n.weight\": \"d.safetensors\"}}");
        r = ss_shards_open(&sh, SCRATCH "badscale");
        if (r == SS_OK) r = ss_shards_read_f32(&sh, "m.weight", out, 130 * 3);
        expect(r, SS_ERR_FORMAT, "'m.weight'", "'m.weight_scale_inv'",
               "a scale_inv of the wrong shape (floor-divided) is SS_ERR_FORMAT naming both");
        r = ss_shards_read_f32(&sh, "n.weight", out, 130 * 3);
        for (i = 0; i < 130 * 3 && r == SS_OK; i++)
            if (out[i] != (float)def_e4m3(codes[i]) * 2.0f) r = SS_ERR_INVALID;
        test_true(
            r == SS_OK,
            "a 130x3 weight with its (2, 1) scales in another shard, edge row block included");
        ss_shards_close(&sh);
    }
}

/* Every allocation of open and of two reads (an FP8 weight whose scale sits in another shard)
   fails in turn: SS_ERR_NOMEM or success, never a leak. norm_numel: the hidden size. */
static void test_alloc_failures(const char *dir, const char *weight, size_t numel,
                                size_t norm_numel) {
    float *out = test_alloc(numel);
    long at, live0 = alloc_live;
    int bad = 0, sites = 0;
    for (at = 0; at < 10000; at++) {
        ss_shards sh;
        ss_result r;
        arm_failure(at);
        r = ss_shards_open(&sh, dir);
        if (r == SS_OK) r = ss_shards_read_f32(&sh, weight, out, numel);
        if (r == SS_OK)
            r = ss_shards_read_f32(&sh, "model.layers.0.input_layernorm.weight", out, norm_numel);
        ss_shards_close(&sh);
        if (r != SS_OK && r != SS_ERR_NOMEM) bad++;
        if (alloc_live != live0) bad++;
        if (alloc_calls <= at) break; /* every allocation succeeded: all sites seen */
        sites++;
    }
    arm_failure(-1);
    free(out);
    {
        char name[120];
        snprintf(name, sizeof name, "allocation failure at each of %d sites: SS_ERR_NOMEM, no leak",
                 sites);
        test_true(bad == 0 && sites > 5, name);
    }
}

/* ---- the LRU of open shards ------------------------------------------------------------------ */

/* Open descriptors of this process (-1 where /proc/self/fd is not there). */
static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void test_lru(void) {
    mla_synth_spec spec;
    mla_synth_tensor *list;
    ss_shards sh;
    int count, step, fds0, fds_max = 0, slots_max = 0, lru[SS_SHARDS_OPEN], n_lru = 0;
    long want_opens = 0;
    int ok = 1;
    char name[160];
    float *buf;
    ss_rng rng;
    mla_synth_default(&spec);
    spec.layers = 2, spec.heads = 2, spec.hidden = 130, spec.q_lora = 40, spec.kv_lora = 36;
    spec.qk_nope = 8, spec.qk_rope = 4, spec.v_head = 8, spec.planted_rank = 3, spec.shards = 9;
    if (mla_synth_write(SCRATCH "lru", &spec) != 0) {
        test_true(0, "lru: write a 9-shard checkpoint");
        return;
    }
    count = mla_synth_list(&spec, NULL, 0);
    list = (mla_synth_tensor *)malloc((size_t)count * sizeof *list);
    mla_synth_list(&spec, list, count);
    buf = test_alloc(130 * 40 * 4);
    fds0 = open_fds();
    if (ss_shards_open(&sh, SCRATCH "lru") != SS_OK) {
        printf("  %s\n", ss_last_error_detail());
        test_true(0, "lru: open");
        return;
    }
    ss_rng_seed(&rng, 5);
    for (step = 0; step < 300; step++) {
        const mla_synth_tensor *t =
            &list[step < count ? step : (int)(ss_rng_u32(&rng) % (unsigned)count)];
        size_t n = (size_t)t->shape[0] * t->shape[1];
        int files[2], n_files = 1, f, k, j, slots = 0, fds = open_fds();
        if (ss_shards_read_f32(&sh, t->name, buf, n) != SS_OK) {
            printf("  %s\n", ss_last_error_detail());
            ok = 0;
        }
        /* the reference LRU: the weight's shard is used, then (FP8 with a scale) the scale's */
        files[0] = shard_of(&sh, t->name);
        if (t->dtype == SS_DTYPE_F8_E4M3) {
            snprintf(name, sizeof name, "%s_scale_inv", t->name);
            files[n_files++] = shard_of(&sh, name);
        }
        for (f = 0; f < n_files; f++) {
            for (k = 0; k < n_lru && lru[k] != files[f]; k++) {}
            if (k == n_lru) { /* a miss: open, evicting the least recent (not the weight's) */
                want_opens++;
                if (n_lru == SS_SHARDS_OPEN) {
                    k = 0;
                    if (f == 1 && lru[0] == files[0]) k = 1;
                    for (j = k; j < n_lru - 1; j++) lru[j] = lru[j + 1];
                    n_lru--;
                }
            } else {
                for (j = k; j < n_lru - 1; j++) lru[j] = lru[j + 1];
                n_lru--;
            }
            lru[n_lru++] = files[f]; /* most recent last */
        }
        for (k = 0; k < SS_SHARDS_OPEN; k++) slots += sh.open[k].file != NULL;
        if (slots > slots_max) slots_max = slots;
        if (fds - fds0 > fds_max) fds_max = fds - fds0;
    }
    snprintf(name, sizeof name,
             "lru: 300 reads over 9 shards: at most %d open (slots %d, /proc/self/fd +%d)",
             SS_SHARDS_OPEN, slots_max, fds0 < 0 ? -1 : fds_max);
    test_true(ok && slots_max == SS_SHARDS_OPEN && (fds0 < 0 || fds_max <= SS_SHARDS_OPEN), name);
    snprintf(name, sizeof name, "lru: %ld shard opens, as a reference LRU predicts (%ld)", sh.opens,
             want_opens);
    test_true(sh.opens == want_opens, name);
    ss_shards_close(&sh);
    test_true(fds0 < 0 || open_fds() == fds0, "lru: close releases every descriptor");
    free(buf);
    free(list);
}

int main(void) {
    mla_synth_spec spec, f32;
    double t0;
    make_dir("build");
    make_dir("build/test");
    make_dir(SCRATCH);
    printf("%s\n", ss_build_info());
    t0 = ss_time_seconds();
    test_formats();
    test_rounding();
    printf("(formats and rounding: %.2f s)\n", ss_time_seconds() - t0);
    test_dequant();

    /* smaller than the defaults (a third of the time), still FP8 with edge blocks everywhere:
       hidden 200 = 128 + 72, q_lora 136, kv_lora 130, kv_b_proj 3 * 48 = 144 rows */
    mla_synth_default(&spec); /* FP8, 2 shards with an index */
    spec.layers = 2, spec.heads = 3, spec.hidden = 200, spec.q_lora = 136, spec.kv_lora = 130;
    spec.qk_nope = 24, spec.qk_rope = 8, spec.v_head = 24, spec.planted_rank = 4;
    test_true(mla_synth_write(SCRATCH "synth_fp8", &spec) == 0,
              "synth: write the FP8 checkpoint (2 shards + index)");
    check_checkpoint(SCRATCH "synth_fp8", &spec, "fp8 sharded");
    f32 = spec;
    f32.fp8 = 0, f32.shards = 1; /* F32 projections, one model.safetensors, no index */
    test_true(mla_synth_write(SCRATCH "synth_f32", &f32) == 0,
              "synth: write the F32 single-file checkpoint");
    check_checkpoint(SCRATCH "synth_f32", &f32, "f32 single file");
    printf("(synthetic checkpoints: %.2f s)\n", ss_time_seconds() - t0);
    test_planted(SCRATCH "synth_fp8", SCRATCH "synth_f32", &spec);
    printf("(planted ranks: %.2f s)\n", ss_time_seconds() - t0);
    test_malformed(SCRATCH "synth_fp8");
    {
        int rows, cols;
        synth_shape(&spec, MLA_SYNTH_O, &rows, &cols);
        test_alloc_failures(SCRATCH "synth_fp8", "model.layers.0.self_attn.o_proj.weight",
                            (size_t)rows * cols, (size_t)spec.hidden);
    }
    test_lru();
    printf("(all: %.2f s)\n", ss_time_seconds() - t0);
    return test_summary("test_shards");
}
