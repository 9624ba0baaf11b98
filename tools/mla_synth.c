/* tools/mla_synth.c - the synthetic MLA checkpoint of mla_synth.h: planted matrices, FP8 E4M3
   block quantisation, BF16 rounding, and the safetensors shards, index and config.json written
   byte by byte (the library's writer writes F32 only). Part of the `ss` tool (ss synth-mla);
   a test may also #include this file after the library's implementation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "mla_synth.h"

#define SYNTH_BLOCK 128      /* FP8 scale blocks are 128x128, as DeepSeek-V3's */
#define SYNTH_E4M3_MAX 448.0 /* the largest finite E4M3 value, 1.75 * 2^8 */
#define SYNTH_ENTRY_RMS 0.02 /* typical entry of a planted matrix (before a head's scale) */
#define SYNTH_MAX_DIM 65536  /* each dimension of the spec at most this */

static const char *const synth_suffix[MLA_SYNTH_KINDS] = {
    "input_layernorm.weight",            "self_attn.q_a_proj.weight",
    "self_attn.q_a_layernorm.weight",    "self_attn.q_b_proj.weight",
    "self_attn.kv_a_proj_with_mqa.weight", "self_attn.kv_a_layernorm.weight",
    "self_attn.kv_b_proj.weight",        "self_attn.o_proj.weight"};

void mla_synth_default(mla_synth_spec *spec) {
    memset(spec, 0, sizeof *spec);
    spec->layers = 3;
    spec->heads = 4;
    spec->hidden = 320;
    spec->q_lora = 192;
    spec->kv_lora = 160;
    spec->qk_nope = 32;
    spec->qk_rope = 16;
    spec->v_head = 32;
    spec->shards = 2;
    spec->fp8 = 1;
    spec->seed = 1;
    spec->planted_rank = 5;
}

/* ---- number formats ------------------------------------------------------------------------ */

uint8_t mla_synth_f32_to_e4m3(float x) {
    uint8_t sign = signbit(x) ? 0x80 : 0x00;
    double a = fabs((double)x), m;
    int e;
    if (x != x) return (uint8_t)(sign | 0x7F);
    if (a >= SYNTH_E4M3_MAX) return (uint8_t)(sign | 0x7E); /* saturate, infinities included */
    if (a < 0.015625) { /* below 2^-6: subnormals, steps of 2^-9; m = 8 is 2^-6 = code 0x08 */
        m = nearbyint(a * 512.0); /* the default rounding mode: to nearest, ties to even */
        return (uint8_t)(sign | (uint8_t)m);
    }
    frexp(a, &e); /* a = f * 2^e with f in [0.5, 1): a in [2^(e-1), 2^e) */
    e -= 1;       /* a in [2^e, 2^(e+1)): 8 mantissa steps of 2^(e-3) */
    m = nearbyint(ldexp(a, 3 - e)); /* 8..16, exact: a scaled by a power of two */
    if (m == 16.0) {
        m = 8.0;
        e += 1;
    }
    /* a < 448 keeps e <= 8 and, at e = 8, m <= 14 (448 = 14 * 2^5): code at most 0x7E */
    return (uint8_t)(sign | (uint8_t)((e + 7) << 3) | (uint8_t)(m - 8.0));
}

uint16_t mla_synth_f32_to_bf16(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    if (x != x) return (uint16_t)((bits >> 16) | 0x0040); /* keep sign and payload, quiet */
    /* add just under half of the dropped part's unit, plus 1 when the kept part is odd: the carry
       reaches bit 16 exactly when the value is above the midpoint, or on it with an odd kept part;
       a carry into the exponent is the correct rounding up (to infinity past the largest float) */
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

/* ---- the plan -------------------------------------------------------------------------------- */

static int synth_is_projection(int kind) {
    return kind == MLA_SYNTH_Q_A || kind == MLA_SYNTH_Q_B || kind == MLA_SYNTH_KV_A ||
           kind == MLA_SYNTH_KV_B || kind == MLA_SYNTH_O;
}

static void synth_shape(const mla_synth_spec *s, int kind, int *rows, int *cols) {
    int H = s->heads;
    switch (kind) {
    case MLA_SYNTH_INPUT_NORM: *rows = s->hidden, *cols = 1; break;
    case MLA_SYNTH_Q_A: *rows = s->q_lora, *cols = s->hidden; break;
    case MLA_SYNTH_Q_A_NORM: *rows = s->q_lora, *cols = 1; break;
    case MLA_SYNTH_Q_B: *rows = H * (s->qk_nope + s->qk_rope), *cols = s->q_lora; break;
    case MLA_SYNTH_KV_A: *rows = s->kv_lora + s->qk_rope, *cols = s->hidden; break;
    case MLA_SYNTH_KV_A_NORM: *rows = s->kv_lora, *cols = 1; break;
    case MLA_SYNTH_KV_B: *rows = H * (s->qk_nope + s->v_head), *cols = s->kv_lora; break;
    default: *rows = s->hidden, *cols = H * s->v_head; break; /* o_proj */
    }
}

void mla_synth_deepseek_v3(mla_synth_spec *spec, int layers) {
    mla_synth_default(spec);
    spec->layers = layers;
    spec->heads = 128;
    spec->hidden = 7168;
    spec->q_lora = 1536;
    spec->kv_lora = 512;
    spec->qk_nope = 128;
    spec->qk_rope = 64;
    spec->v_head = 128;
    spec->shards = layers > 1 ? layers : 1;
    spec->random = 1;
}

static int synth_check(const mla_synth_spec *s) {
    const int dims[8] = {s->layers, s->heads, s->hidden, s->q_lora,
                         s->kv_lora, s->qk_nope, s->qk_rope, s->v_head};
    static const char *const names[8] = {"layers", "heads", "hidden", "q_lora",
                                         "kv_lora", "qk_nope", "qk_rope", "v_head"};
    int i, r_max = s->qk_nope < s->v_head ? s->qk_nope : s->v_head;
    for (i = 0; i < 8; i++)
        if (dims[i] < 1 || dims[i] > SYNTH_MAX_DIM) {
            fprintf(stderr, "ss: synthetic MLA: %s = %d, expected 1..%d\n", names[i], dims[i],
                    SYNTH_MAX_DIM);
            return -1;
        }
    if (s->layers > 99999 || (double)s->heads * (s->qk_nope + s->v_head) > 1e6 ||
        (double)s->hidden * s->heads * s->v_head > 2e9 ||
        (double)s->heads * (s->qk_nope + s->qk_rope) * s->q_lora > 2e9 ||
        (double)s->hidden * (s->kv_lora + s->qk_rope) > 2e9 ||
        (double)s->heads * (s->qk_nope + s->v_head) * s->kv_lora > 2e9) {
        fprintf(stderr, "ss: synthetic MLA: the tensors would be too large\n");
        return -1;
    }
    if (s->kv_lora < r_max) r_max = s->kv_lora;
    if (s->planted_rank < 1 || s->planted_rank > r_max) {
        fprintf(stderr, "ss: synthetic MLA: planted rank %d, expected 1..%d (min of qk_nope, "
                "v_head, kv_lora)\n", s->planted_rank, r_max);
        return -1;
    }
    if (s->shards < 1) {
        fprintf(stderr, "ss: synthetic MLA: %d shards, expected at least 1\n", s->shards);
        return -1;
    }
    return 0;
}

int mla_synth_list(const mla_synth_spec *spec, mla_synth_tensor *list, int max) {
    int per_layer = MLA_SYNTH_KINDS + (spec->fp8 ? 5 : 0), count, p = 0, layer, kind, pass;
    if (synth_check(spec) != 0) return -1;
    count = spec->layers * per_layer;
    if (spec->shards > count) {
        fprintf(stderr, "ss: synthetic MLA: %d shards for %d tensors\n", spec->shards, count);
        return -1;
    }
    for (layer = 0; layer < spec->layers; layer++)
        for (kind = 0; kind < MLA_SYNTH_KINDS; kind++)
            for (pass = 0; pass < (spec->fp8 && synth_is_projection(kind) ? 2 : 1); pass++, p++) {
                mla_synth_tensor *t;
                int weight_shard;
                if (!list || p >= max) continue;
                t = &list[p];
                memset(t, 0, sizeof *t);
                t->layer = layer;
                t->kind = kind;
                t->is_scale = pass;
                snprintf(t->name, sizeof t->name, "model.layers.%d.%s%s", layer,
                         synth_suffix[kind], pass ? "_scale_inv" : "");
                synth_shape(spec, kind, &t->shape[0], &t->shape[1]);
                t->ndim = t->shape[1] == 1 && !synth_is_projection(kind) ? 1 : 2;
                if (pass) { /* one scale per 128x128 block, ceil-divided */
                    t->shape[0] = (t->shape[0] + SYNTH_BLOCK - 1) / SYNTH_BLOCK;
                    t->shape[1] = (t->shape[1] + SYNTH_BLOCK - 1) / SYNTH_BLOCK;
                    t->dtype = SS_DTYPE_F32;
                } else if (synth_is_projection(kind)) {
                    t->dtype = spec->fp8 ? SS_DTYPE_F8_E4M3 : SS_DTYPE_F32;
                } else {
                    t->dtype = SS_DTYPE_BF16;
                }
                /* contiguous runs of the file order per shard; o_proj's scales one shard on */
                t->shard = (int)((long long)p * spec->shards / count);
                weight_shard = pass ? (int)((long long)(p - 1) * spec->shards / count) : t->shard;
                if (pass && kind == MLA_SYNTH_O) t->shard = (weight_shard + 1) % spec->shards;
            }
    return count;
}

/* ---- planted values -------------------------------------------------------------------------- */

/* Random stream number `part` of one tensor of one layer (each matrix kind in a tensor has two:
   2 p for its heads' output-side factors, 2 p + 1 for the input-side ones; norms use 0). */
static ss_rng synth_stream(const mla_synth_spec *s, int layer, int kind, int part) {
    ss_rng base;
    ss_rng_seed(&base, s->seed);
    return ss_rng_split(&base, ((uint64_t)layer * MLA_SYNTH_KINDS + (uint64_t)kind) * 4096u +
                                   (uint64_t)part);
}

/* k orthonormal rows of length n (k <= n) into Q (k, n): Gaussian draws, modified Gram-Schmidt
   done twice (the second pass removes what rounding left of the first). */
static void synth_orthonormal(double *Q, int k, int n, ss_rng *rng) {
    int i, j, pass;
    size_t c;
    for (c = 0; c < (size_t)k * n; c++) Q[c] = ss_rng_normal(rng, 0.0f, 1.0f);
    for (i = 0; i < k; i++) {
        double *qi = Q + (size_t)i * n, norm = 0.0;
        for (pass = 0; pass < 2; pass++)
            for (j = 0; j < i; j++) {
                const double *qj = Q + (size_t)j * n;
                double dot = 0.0;
                for (c = 0; c < (size_t)n; c++) dot += qi[c] * qj[c];
                for (c = 0; c < (size_t)n; c++) qi[c] -= dot * qj[c];
            }
        for (c = 0; c < (size_t)n; c++) norm += qi[c] * qi[c];
        norm = sqrt(norm);
        for (c = 0; c < (size_t)n; c++) qi[c] /= norm;
    }
}

/* One planted matrix kind of a layer: A_h = U_h diag(sigma) W_h^T for heads h < heads, each
   (m, n) with k singular values sigma_l = top_h * (1 - decay * l / k), top_h set so that the
   entries' root mean square is rms * (head scale). The input-side factors W_h of all heads are
   drawn as one orthonormal set while heads * k <= n (groups of n / k heads otherwise), so the
   heads' row spaces are mutually orthogonal and a stack of them has exactly the union of their
   spectra; the U_h are independent. */
typedef struct synth_kind {
    int heads, m, n, k;
    double decay, rms;
    double (*head_scale)(int h, int heads); /* NULL: 1 */
} synth_kind;

static double synth_scale_k(int h, int heads) { (void)heads; return 1.0 + h; }
static double synth_scale_v(int h, int heads) { return (double)(heads - h); }
static double synth_scale_o(int h, int heads) { (void)heads; return 1.0 + 0.5 * h; }

/* Write head h of kind into out at row stride lda, or transposed (element (i, j) at
   out[j * lda + i]) when transposed. rng_u and rng_w are the kind's two streams. */
static int synth_kind_write(const synth_kind *kd, float *out, int lda, int transposed,
                            ss_rng *rng_u, ss_rng *rng_w) {
    int per_group = kd->n / kd->k, h, i, j, l;
    double *U = (double *)malloc((size_t)kd->k * kd->m * sizeof(double));
    int group = per_group < kd->heads ? per_group : kd->heads; /* heads per orthonormal set */
    double *W = (double *)malloc((size_t)group * kd->k * kd->n * sizeof(double));
    double *sigma = (double *)malloc((size_t)kd->k * sizeof(double)), energy = 0.0;
    if (!U || !W || !sigma) {
        free(U), free(W), free(sigma);
        fprintf(stderr, "ss: synthetic MLA: out of memory\n");
        return -1;
    }
    for (l = 0; l < kd->k; l++) {
        sigma[l] = 1.0 - kd->decay * l / kd->k;
        energy += sigma[l] * sigma[l];
    }
    for (h = 0; h < kd->heads; h++) {
        int g = h % per_group;
        const double *Wh = W + (size_t)g * kd->k * kd->n;
        double top = kd->rms * (kd->head_scale ? kd->head_scale(h, kd->heads) : 1.0) *
                     sqrt((double)kd->m * kd->n / energy); /* ||A||_F^2 = sum sigma^2 */
        float *dst = out + (transposed ? (size_t)h * kd->m : (size_t)h * kd->m * lda);
        if (g == 0) { /* a new orthonormal group of input-side factors */
            int in_group = kd->heads - h < per_group ? kd->heads - h : per_group;
            synth_orthonormal(W, in_group * kd->k, kd->n, rng_w);
        }
        synth_orthonormal(U, kd->k, kd->m, rng_u);
        for (i = 0; i < kd->m; i++)
            for (j = 0; j < kd->n; j++) {
                double a = 0.0;
                for (l = 0; l < kd->k; l++)
                    a += U[(size_t)l * kd->m + i] * sigma[l] * Wh[(size_t)l * kd->n + j];
                a *= top;
                if (transposed)
                    dst[(size_t)j * lda + i] = (float)a;
                else
                    dst[(size_t)i * lda + j] = (float)a;
            }
    }
    free(U), free(W), free(sigma);
    return 0;
}

static int synth_min(int a, int b) { return a < b ? a : b; }

/* Kind `part` of a tensor: its two streams, then the heads. */
static int synth_part(const mla_synth_spec *s, int layer, int kind, int part, const synth_kind *kd,
                      float *out, int lda, int transposed) {
    ss_rng rng_u = synth_stream(s, layer, kind, 2 * part);
    ss_rng rng_w = synth_stream(s, layer, kind, 2 * part + 1);
    return synth_kind_write(kd, out, lda, transposed, &rng_u, &rng_w);
}

/* The planted (unrounded) values of a weight or norm, (rows, cols) row-major. Full-rank kinds
   fall from 1 to 0.8 (decay 0.2); KVA falls to 0.7 (decay 0.3), which puts its default size's
   r(0.01) = 158 midway between two crossings; the rank-R kinds fall from 1 to 1 - 0.5 (R-1)/R. */
static int synth_ideal(const mla_synth_spec *s, int layer, int kind, float *out) {
    int H = s->heads, dn = s->qk_nope, dr = s->qk_rope, dv = s->v_head, R = s->planted_rank;
    int Cq = s->q_lora, Ckv = s->kv_lora, D = s->hidden, rows, cols, h, err;
    const double rms = SYNTH_ENTRY_RMS;
    ss_rng rng;
    synth_shape(s, kind, &rows, &cols);
    if (s->random && kind != MLA_SYNTH_INPUT_NORM && kind != MLA_SYNTH_Q_A_NORM &&
        kind != MLA_SYNTH_KV_A_NORM) {
        size_t i, n = (size_t)rows * cols;
        rng = synth_stream(s, layer, kind, 0);
        for (i = 0; i < n; i++) out[i] = ss_rng_normal(&rng, 0.0f, (float)rms);
        return 0;
    }
    switch (kind) {
    case MLA_SYNTH_INPUT_NORM:
    case MLA_SYNTH_Q_A_NORM:
    case MLA_SYNTH_KV_A_NORM:
        rng = synth_stream(s, layer, kind, 0);
        for (h = 0; h < rows; h++) out[h] = 1.0f + 0.1f * (2.0f * ss_rng_uniform(&rng) - 1.0f);
        return 0;
    case MLA_SYNTH_Q_A: {
        synth_kind qa = {1, 0, 0, 0, 0.2, rms, NULL};
        qa.m = Cq, qa.n = D, qa.k = synth_min(Cq, D);
        return synth_part(s, layer, kind, 0, &qa, out, D, 0);
    }
    case MLA_SYNTH_Q_B: { /* per head [Q_h (dn rows); Q_pe_h (dr rows)] */
        synth_kind q = {0, 0, 0, 0, 0.2, rms, NULL}, qpe = {0, 0, 0, 0, 0.2, rms, NULL};
        q.heads = H, q.m = dn, q.n = Cq, q.k = synth_min(dn, Cq);
        qpe.heads = H, qpe.m = dr, qpe.n = Cq, qpe.k = synth_min(dr, Cq);
        /* each part's heads are made contiguous in tmp, then copied to rows h*(dn+dr) (+dn) */
        err = 0;
        for (h = 0; h < 2 && !err; h++) { /* h: the part, Q then Q_pe */
            const synth_kind *kd = h ? &qpe : &q;
            float *tmp = (float *)malloc((size_t)H * kd->m * Cq * sizeof(float));
            int j, i;
            if (!tmp) {
                fprintf(stderr, "ss: synthetic MLA: out of memory\n");
                return -1;
            }
            err = synth_part(s, layer, kind, h, kd, tmp, Cq, 0);
            for (j = 0; j < H && !err; j++)
                for (i = 0; i < kd->m; i++)
                    memcpy(out + ((size_t)j * (dn + dr) + (h ? dn : 0) + i) * Cq,
                           tmp + ((size_t)j * kd->m + i) * Cq, (size_t)Cq * sizeof(float));
            free(tmp);
        }
        return err;
    }
    case MLA_SYNTH_KV_A: { /* rows [0, Ckv): KVA; the last dr rows: KVA_pe */
        synth_kind kva = {1, 0, 0, 0, 0.3, rms, NULL}, pe = {1, 0, 0, 0, 0.2, rms, NULL};
        kva.m = Ckv, kva.n = D, kva.k = synth_min(Ckv, D);
        pe.m = dr, pe.n = D, pe.k = synth_min(dr, D);
        err = synth_part(s, layer, kind, 0, &kva, out, D, 0);
        return err ? err : synth_part(s, layer, kind, 1, &pe, out + (size_t)Ckv * D, D, 0);
    }
    case MLA_SYNTH_KV_B: { /* per head [K_h (dn rows); V_h (dv rows)], each of rank R */
        synth_kind k = {0, 0, 0, 0, 0.5, rms, synth_scale_k};
        synth_kind v = {0, 0, 0, 0, 0.5, rms, synth_scale_v};
        k.heads = H, k.m = dn, k.n = Ckv, k.k = R;
        v.heads = H, v.m = dv, v.n = Ckv, v.k = R;
        err = 0;
        for (h = 0; h < 2 && !err; h++) { /* h: the part, K then V */
            const synth_kind *kd = h ? &v : &k;
            float *tmp = (float *)malloc((size_t)H * kd->m * Ckv * sizeof(float));
            int j, i;
            if (!tmp) {
                fprintf(stderr, "ss: synthetic MLA: out of memory\n");
                return -1;
            }
            err = synth_part(s, layer, kind, h, kd, tmp, Ckv, 0);
            for (j = 0; j < H && !err; j++)
                for (i = 0; i < kd->m; i++)
                    memcpy(out + ((size_t)j * (dn + dv) + (h ? dn : 0) + i) * Ckv,
                           tmp + ((size_t)j * kd->m + i) * Ckv, (size_t)Ckv * sizeof(float));
            free(tmp);
        }
        return err;
    }
    default: { /* o_proj (D, H*dv): columns h*dv.. of head h are O_h^T, O_h (dv, D) */
        synth_kind o = {0, 0, 0, 0, 0.2, rms, synth_scale_o};
        o.heads = H, o.m = dv, o.n = D, o.k = synth_min(dv, D);
        return synth_part(s, layer, kind, 0, &o, out, H * dv, 1);
    }
    }
}

/* FP8 quantisation of w (rows, cols): per 128x128 block, scale = max|w| / 448 (1 when all zero),
   codes = e4m3(w / scale). scales is (ceil(rows/128), ceil(cols/128)). */
static void synth_quantise(const float *w, int rows, int cols, uint8_t *codes, float *scales) {
    int bm = (rows + SYNTH_BLOCK - 1) / SYNTH_BLOCK, bn = (cols + SYNTH_BLOCK - 1) / SYNTH_BLOCK;
    int bi, bj, i, j;
    for (bi = 0; bi < bm; bi++)
        for (bj = 0; bj < bn; bj++) {
            int i1 = synth_min(rows, (bi + 1) * SYNTH_BLOCK);
            int j1 = synth_min(cols, (bj + 1) * SYNTH_BLOCK);
            float amax = 0.0f, scale;
            for (i = bi * SYNTH_BLOCK; i < i1; i++)
                for (j = bj * SYNTH_BLOCK; j < j1; j++) {
                    float a = fabsf(w[(size_t)i * cols + j]);
                    if (a > amax) amax = a;
                }
            scale = amax > 0.0f ? amax / (float)SYNTH_E4M3_MAX : 1.0f;
            scales[bi * bn + bj] = scale;
            for (i = bi * SYNTH_BLOCK; i < i1; i++)
                for (j = bj * SYNTH_BLOCK; j < j1; j++)
                    codes[(size_t)i * cols + j] =
                        mla_synth_f32_to_e4m3(w[(size_t)i * cols + j] / scale);
        }
}

/* The stored form of t: *bytes (owned, free) of *size bytes, little-endian, and when values is
   not NULL the floats a reader gets. Returns 0 or -1 (out of memory, printed). */
static int synth_encode(const mla_synth_spec *s, const mla_synth_tensor *t, unsigned char **bytes,
                        size_t *size, float *values) {
    int rows, cols, bn, err;
    size_t n, i;
    float *w, *scales;
    uint8_t *codes = NULL;
    synth_shape(s, t->kind, &rows, &cols);
    n = (size_t)rows * cols;
    bn = (cols + SYNTH_BLOCK - 1) / SYNTH_BLOCK;
    w = (float *)malloc(n * sizeof(float));
    scales = (float *)malloc((size_t)((rows + SYNTH_BLOCK - 1) / SYNTH_BLOCK) * bn * sizeof(float));
    *size = (size_t)t->shape[0] * t->shape[1] * ss_dtype_size(t->dtype);
    *bytes = (unsigned char *)malloc(*size ? *size : 1);
    if (t->dtype == SS_DTYPE_F8_E4M3 || t->is_scale) codes = (uint8_t *)malloc(n);
    if (!w || !scales || !*bytes || ((t->dtype == SS_DTYPE_F8_E4M3 || t->is_scale) && !codes)) {
        free(w), free(scales), free(*bytes), free(codes);
        *bytes = NULL;
        fprintf(stderr, "ss: synthetic MLA: out of memory for %s\n", t->name);
        return -1;
    }
    err = synth_ideal(s, t->layer, t->kind, w);
    if (!err && codes) synth_quantise(w, rows, cols, codes, scales);
    for (i = 0; !err && i < (size_t)t->shape[0] * t->shape[1]; i++) {
        unsigned char *b = *bytes + i * ss_dtype_size(t->dtype);
        float v;
        uint32_t bits;
        uint16_t h;
        if (t->is_scale) {
            v = scales[i];
        } else if (t->dtype == SS_DTYPE_F8_E4M3) {
            size_t r = i / (size_t)cols, c = i % (size_t)cols;
            b[0] = codes[i];
            v = ss_f8_e4m3_to_f32(codes[i]) * scales[(r / SYNTH_BLOCK) * bn + c / SYNTH_BLOCK];
            if (values) values[i] = v;
            continue;
        } else if (t->dtype == SS_DTYPE_BF16) {
            h = mla_synth_f32_to_bf16(w[i]);
            b[0] = (unsigned char)(h & 0xFF);
            b[1] = (unsigned char)(h >> 8);
            if (values) values[i] = ss_bf16_to_f32(h);
            continue;
        } else {
            v = w[i];
        }
        memcpy(&bits, &v, 4); /* F32 */
        b[0] = (unsigned char)(bits & 0xFF);
        b[1] = (unsigned char)((bits >> 8) & 0xFF);
        b[2] = (unsigned char)((bits >> 16) & 0xFF);
        b[3] = (unsigned char)(bits >> 24);
        if (values) values[i] = v;
    }
    free(w), free(scales), free(codes);
    if (err) {
        free(*bytes);
        *bytes = NULL;
    }
    return err;
}

int mla_synth_values(const mla_synth_spec *spec, const mla_synth_tensor *t, int stored,
                     float *out) {
    unsigned char *bytes;
    size_t size;
    if (!stored && !t->is_scale) return synth_ideal(spec, t->layer, t->kind, out);
    if (synth_encode(spec, t, &bytes, &size, out) != 0) return -1;
    free(bytes);
    return 0;
}

/* ---- files ----------------------------------------------------------------------------------- */

static void synth_shard_name(char *out, size_t cap, const mla_synth_spec *s, int shard) {
    if (s->shards == 1)
        snprintf(out, cap, "model.safetensors");
    else
        snprintf(out, cap, "model-%05d-of-%05d.safetensors", shard + 1, s->shards);
}

static int synth_path(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    int w = snprintf(out, cap, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
    if (w < 0 || (size_t)w >= cap) {
        fprintf(stderr, "ss: path too long: %s/%s\n", dir, name);
        return -1;
    }
    return 0;
}

/* Print the library's last error detail; -1. */
static int synth_lib_error(void) {
    fprintf(stderr, "ss: %s\n", ss_last_error_detail());
    return -1;
}

/* Write one shard: the tensors of list with .shard == shard. *data_bytes gets their total. */
static int synth_write_shard(const char *path, const mla_synth_spec *s,
                             const mla_synth_tensor *list, int count, int shard,
                             uint64_t *data_bytes) {
    static const char spaces[8] = "       ";
    unsigned char len8[8];
    ss_json_writer jw;
    ss_writer w;
    uint64_t offset = 0, header_len;
    size_t pad;
    int i, b, err = 0;
    ss_json_writer_init(&jw, 0);
    ss_json_write_begin_object(&jw);
    ss_json_write_key(&jw, "__metadata__");
    ss_json_write_begin_object(&jw);
    ss_json_write_key(&jw, "format");
    ss_json_write_string(&jw, "pt");
    ss_json_write_end_object(&jw);
    for (i = 0; i < count; i++) {
        const mla_synth_tensor *t = &list[i];
        uint64_t size = (uint64_t)t->shape[0] * (uint64_t)t->shape[1] * ss_dtype_size(t->dtype);
        if (t->shard != shard) continue;
        ss_json_write_key(&jw, t->name);
        ss_json_write_begin_object(&jw);
        ss_json_write_key(&jw, "dtype");
        ss_json_write_string(&jw, ss_dtype_name(t->dtype));
        ss_json_write_key(&jw, "shape");
        ss_json_write_begin_array(&jw);
        ss_json_write_int(&jw, t->shape[0]);
        if (t->ndim == 2) ss_json_write_int(&jw, t->shape[1]);
        ss_json_write_end_array(&jw);
        ss_json_write_key(&jw, "data_offsets");
        ss_json_write_begin_array(&jw);
        ss_json_write_int(&jw, (int64_t)offset);
        ss_json_write_int(&jw, (int64_t)(offset + size));
        ss_json_write_end_array(&jw);
        ss_json_write_end_object(&jw);
        offset += size;
    }
    ss_json_write_end_object(&jw);
    if (ss_json_writer_finish(&jw) != SS_OK) {
        ss_json_writer_free(&jw);
        return synth_lib_error();
    }
    *data_bytes = offset;
    pad = (8 - jw.length % 8) % 8; /* the data starts 8-byte aligned, as upstream writes it */
    header_len = (uint64_t)(jw.length + pad);
    for (b = 0; b < 8; b++) len8[b] = (unsigned char)((header_len >> (8 * b)) & 0xFF);
    if (ss_writer_init(&w, path) != SS_OK) {
        ss_json_writer_free(&jw);
        return synth_lib_error();
    }
    ss_writer_write(&w, len8, 8);
    ss_writer_write(&w, jw.text, jw.length);
    ss_writer_write(&w, spaces, pad);
    ss_json_writer_free(&jw);
    for (i = 0; i < count && !err; i++) {
        unsigned char *bytes;
        size_t size;
        if (list[i].shard != shard) continue;
        err = synth_encode(s, &list[i], &bytes, &size, NULL);
        if (!err) ss_writer_write(&w, bytes, size);
        free(bytes);
    }
    if (err) {
        ss_writer_free(&w);
        return -1;
    }
    if (ss_writer_commit(&w) != SS_OK) {
        ss_writer_free(&w);
        return synth_lib_error();
    }
    ss_writer_free(&w);
    return 0;
}

static int synth_cmp_name(const void *a, const void *b) {
    return strcmp((*(const mla_synth_tensor *const *)a)->name,
                  (*(const mla_synth_tensor *const *)b)->name);
}

/* model.safetensors.index.json: {"metadata": {"total_size": N}, "weight_map": {name: shard}},
   names sorted as Hugging Face writes them. */
static int synth_write_index(const char *path, const mla_synth_spec *s,
                             const mla_synth_tensor *list, int count, uint64_t total) {
    const mla_synth_tensor **sorted =
        (const mla_synth_tensor **)malloc((size_t)count * sizeof *sorted);
    ss_json_writer jw;
    char file[64];
    int i, err = 0;
    if (!sorted) {
        fprintf(stderr, "ss: synthetic MLA: out of memory\n");
        return -1;
    }
    for (i = 0; i < count; i++) sorted[i] = &list[i];
    qsort((void *)sorted, (size_t)count, sizeof *sorted, synth_cmp_name);
    ss_json_writer_init(&jw, 1);
    ss_json_write_begin_object(&jw);
    ss_json_write_key(&jw, "metadata");
    ss_json_write_begin_object(&jw);
    ss_json_write_key(&jw, "total_size");
    ss_json_write_int(&jw, (int64_t)total);
    ss_json_write_end_object(&jw);
    ss_json_write_key(&jw, "weight_map");
    ss_json_write_begin_object(&jw);
    for (i = 0; i < count; i++) {
        synth_shard_name(file, sizeof file, s, sorted[i]->shard);
        ss_json_write_key(&jw, sorted[i]->name);
        ss_json_write_string(&jw, file);
    }
    ss_json_write_end_object(&jw);
    ss_json_write_end_object(&jw);
    free((void *)sorted);
    if (ss_json_writer_finish(&jw) != SS_OK ||
        ss_file_write_atomic(path, jw.text, jw.length) != SS_OK)
        err = synth_lib_error();
    ss_json_writer_free(&jw);
    return err;
}

static int synth_write_config(const char *path, const mla_synth_spec *s) {
    ss_json_writer jw;
    int err = 0;
    ss_json_writer_init(&jw, 1);
    ss_json_write_begin_object(&jw);
    ss_json_write_key(&jw, "architectures");
    ss_json_write_begin_array(&jw);
    ss_json_write_string(&jw, "DeepseekV3ForCausalLM");
    ss_json_write_end_array(&jw);
    ss_json_write_key(&jw, "model_type");
    ss_json_write_string(&jw, "deepseek_v3");
    ss_json_write_key(&jw, "num_hidden_layers");
    ss_json_write_int(&jw, s->layers);
    ss_json_write_key(&jw, "num_attention_heads");
    ss_json_write_int(&jw, s->heads);
    ss_json_write_key(&jw, "num_key_value_heads");
    ss_json_write_int(&jw, s->heads);
    ss_json_write_key(&jw, "hidden_size");
    ss_json_write_int(&jw, s->hidden);
    ss_json_write_key(&jw, "q_lora_rank");
    ss_json_write_int(&jw, s->q_lora);
    ss_json_write_key(&jw, "kv_lora_rank");
    ss_json_write_int(&jw, s->kv_lora);
    ss_json_write_key(&jw, "qk_nope_head_dim");
    ss_json_write_int(&jw, s->qk_nope);
    ss_json_write_key(&jw, "qk_rope_head_dim");
    ss_json_write_int(&jw, s->qk_rope);
    ss_json_write_key(&jw, "v_head_dim");
    ss_json_write_int(&jw, s->v_head);
    ss_json_write_key(&jw, "rms_norm_eps");
    ss_json_write_number(&jw, 1e-6);
    ss_json_write_key(&jw, "torch_dtype");
    ss_json_write_string(&jw, s->fp8 ? "bfloat16" : "float32");
    if (s->fp8) {
        ss_json_write_key(&jw, "quantization_config");
        ss_json_write_begin_object(&jw);
        ss_json_write_key(&jw, "activation_scheme");
        ss_json_write_string(&jw, "dynamic");
        ss_json_write_key(&jw, "fmt");
        ss_json_write_string(&jw, "e4m3");
        ss_json_write_key(&jw, "quant_method");
        ss_json_write_string(&jw, "fp8");
        ss_json_write_key(&jw, "weight_block_size");
        ss_json_write_begin_array(&jw);
        ss_json_write_int(&jw, SYNTH_BLOCK);
        ss_json_write_int(&jw, SYNTH_BLOCK);
        ss_json_write_end_array(&jw);
        ss_json_write_end_object(&jw);
    }
    ss_json_write_key(&jw, "synthetic");
    ss_json_write_begin_object(&jw);
    ss_json_write_key(&jw, "generator");
    ss_json_write_string(&jw, "ss synth-mla (tools/mla_synth.h)");
    ss_json_write_key(&jw, "seed");
    ss_json_write_int(&jw, (int64_t)(s->seed & 0x7FFFFFFFFFFFFFFFull));
    if (s->random) {
        ss_json_write_key(&jw, "random");
        ss_json_write_bool(&jw, 1);
    } else {
        ss_json_write_key(&jw, "planted_rank");
        ss_json_write_int(&jw, s->planted_rank);
    }
    ss_json_write_end_object(&jw);
    ss_json_write_end_object(&jw);
    if (ss_json_writer_finish(&jw) != SS_OK ||
        ss_file_write_atomic(path, jw.text, jw.length) != SS_OK)
        err = synth_lib_error();
    ss_json_writer_free(&jw);
    return err;
}

int mla_synth_write(const char *dir, const mla_synth_spec *spec) {
    mla_synth_tensor *list;
    char path[4096], file[64];
    uint64_t total = 0, bytes = 0;
    struct stat st;
    int count = mla_synth_list(spec, NULL, 0), shard, err = 0;
    if (count < 0) return -1;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ss: cannot create directory %s (%s)\n", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ss: %s is not a directory\n", dir);
        return -1;
    }
    list = (mla_synth_tensor *)malloc((size_t)count * sizeof *list);
    if (!list) {
        fprintf(stderr, "ss: synthetic MLA: out of memory\n");
        return -1;
    }
    mla_synth_list(spec, list, count);
    for (shard = 0; shard < spec->shards && !err; shard++) {
        synth_shard_name(file, sizeof file, spec, shard);
        err = synth_path(path, sizeof path, dir, file) ||
              synth_write_shard(path, spec, list, count, shard, &bytes);
        if (!err) total += bytes;
    }
    if (!err && spec->shards > 1)
        err = synth_path(path, sizeof path, dir, "model.safetensors.index.json") ||
              synth_write_index(path, spec, list, count, total);
    if (!err)
        err = synth_path(path, sizeof path, dir, "config.json") || synth_write_config(path, spec);
    free(list);
    return err ? -1 : 0;
}
