/* layer_tour.c - one MLA-o attention layer built from subspace.h's ops, run forward and backward
   on random data, with every gradient checked against central finite differences.

   MLA-o is Multihead Latent Attention (DeepSeek-V3 style: queries, keys and values read the
   residual stream through shared low-rank latents) plus a shared *output* latent: all heads write
   into one Co-dimensional space before it is projected back to the model width.

   Build and run (this is what `make demo` does):
       cc -O2 -march=native -o layer_tour examples/layer_tour.c -lm && ./layer_tour

   The parameter names are the seed's PyTorch names, so these tensors are exactly what a
   checkpoint of layer 0 of an MLA-o encoder holds. The library's own ss_mlao_forward and
   ss_mlao_backward (section 6 of subspace.h) make the same calls in the same order; this file
   spells them out so that each step can be printed. At the end of the tour the same attention
   runs through the tiled core the model uses (no (B,H,T,T) matrix) and is compared with the
   full one. */
#define SS_IMPLEMENTATION
#include "../subspace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Small, odd sizes so that nothing lines up with a tile by luck. */
enum { B = 2, T = 7, D = 24, H = 3, Dh = 8, Dr = 4, Cq = 12, Ckv = 10, Co = 9, P = 16 };
enum { BT = B * T, HD = H * Dh };
#define EPS 1e-6f
#define DROPOUT 0.1f
#define ROPE_THETA 10000.0f

/* Parameter indices in the registry. */
enum { QKV_A, Q_A_NORM, KV_A_NORM, Q_B, KV_B, O_A, O_B, N_PARAMS };

/* Every activation of the layer, and a gradient of the same shape for each. */
typedef struct acts {
    float x[BT * D];           /* input residual stream (B,T,D) */
    float q_lat[BT * Cq];      /* qkv_a_proj rows [0,Cq): query latent */
    float kv_lat[BT * Ckv];    /* qkv_a_proj rows [Cq,Cq+Ckv): key-value latent */
    float q_rstd[BT];          /* q_a_norm cache */
    float kv_rstd[BT];         /* kv_a_norm cache */
    float q_latn[BT * Cq];     /* normalised query latent */
    float kv_latn[BT * Ckv];   /* normalised key-value latent */
    float q[BT * HD];          /* q_b_proj: H query heads */
    float kv[BT * 2 * HD];     /* kv_b_proj: [all key heads | all value heads] per row */
    float q_rot[BT * HD];      /* queries after RoPE (B,T,H,Dh) */
    float k_rot[BT * HD];      /* keys after RoPE */
    float att[B * H * T * T];  /* softmax probabilities (B,H,T,T) */
    float att_drop[B * H * T * T];
    unsigned char drop_mask[B * H * T * T];
    float ctx[BT * HD];        /* attention output, heads concatenated (B,T,H*Dh) */
    float o_lat[BT * Co];      /* o_a_proj: the shared output latent */
    float out[BT * D];         /* o_b_proj: back to the model width */
} acts;

typedef struct grads {
    float x[BT * D], q_lat[BT * Cq], kv_lat[BT * Ckv], q_latn[BT * Cq], kv_latn[BT * Ckv];
    float q[BT * HD], kv[BT * 2 * HD], q_rot[BT * HD], k_rot[BT * HD], att[B * H * T * T];
    float ctx[BT * HD], o_lat[BT * Co], out[BT * D];
} grads;

static float rope_cos[P * Dr / 2], rope_sin[P * Dr / 2];
static const int key_mask[B * T] = {1, 1, 1, 1, 1, 1, 1, /* row 1 is two tokens shorter: */
                                    1, 1, 1, 1, 1, 0, 0};

static void forward(acts *a, const ss_params *p, uint64_t dropout_seed, int verbose) {
    const float *w_qkv_a = ss_params_data(p, QKV_A);
    ss_rng rng;
    ss_rng_seed(&rng, dropout_seed); /* the same seed draws the same dropout mask */
#define SAY(...) \
    if (verbose) printf(__VA_ARGS__)
    SAY("  x                                   (B,T,D)      = (%d,%d,%d)\n", B, T, D);
    ss_linear_forward(a->q_lat, a->x, w_qkv_a, NULL, BT, D, Cq);
    SAY("  qkv_a_proj rows [0,Cq)      -> q_lat   (BT,Cq)     = (%d,%d)\n", BT, Cq);
    ss_linear_forward(a->kv_lat, a->x, w_qkv_a + Cq * D, NULL, BT, D, Ckv);
    SAY("  qkv_a_proj rows [Cq,Cq+Ckv) -> kv_lat  (BT,Ckv)    = (%d,%d)\n", BT, Ckv);
    ss_rmsnorm_forward(a->q_latn, a->q_rstd, a->q_lat, ss_params_data(p, Q_A_NORM), BT, Cq, EPS);
    SAY("  q_a_norm (RMSNorm)          -> q_latn  (BT,Cq)\n");
    ss_rmsnorm_forward(a->kv_latn, a->kv_rstd, a->kv_lat, ss_params_data(p, KV_A_NORM), BT, Ckv, EPS);
    SAY("  kv_a_norm (RMSNorm)         -> kv_latn (BT,Ckv)\n");
    ss_linear_forward(a->q, a->q_latn, ss_params_data(p, Q_B), NULL, BT, Cq, HD);
    SAY("  q_b_proj                    -> q       (BT,H*Dh)   = (%d,%d)\n", BT, HD);
    ss_linear_forward(a->kv, a->kv_latn, ss_params_data(p, KV_B), NULL, BT, Ckv, 2 * HD);
    SAY("  kv_b_proj                   -> kv      (BT,2*H*Dh) = (%d,%d), [k | v]\n", BT, 2 * HD);
    ss_rope_forward(a->q_rot, a->q, HD, rope_cos, rope_sin, B, T, H, Dh, Dr, P);
    ss_rope_forward(a->k_rot, a->kv, 2 * HD, rope_cos, rope_sin, B, T, H, Dh, Dr, P);
    SAY("  RoPE on dims [0,%d) of each head -> q_rot, k_rot (B,T,H,Dh) = (%d,%d,%d,%d)\n", Dr, B, T, H, Dh);
    ss_attention_forward(a->ctx, a->att, a->att_drop, a->drop_mask, a->q_rot, a->k_rot, a->kv + HD,
                         key_mask, 0, DROPOUT, &rng, B, T, H, Dh, HD, HD, 2 * HD);
    SAY("  softmax(q k^T/sqrt(Dh) + pad mask), dropout %.1f -> att (B,H,T,T) = (%d,%d,%d,%d)\n",
        DROPOUT, B, H, T, T);
    SAY("  att @ v                     -> ctx     (B,T,H*Dh)  = (%d,%d,%d)\n", B, T, HD);
    ss_linear_forward(a->o_lat, a->ctx, ss_params_data(p, O_A), NULL, BT, HD, Co);
    SAY("  o_a_proj (all heads -> shared latent) -> o_lat (BT,Co) = (%d,%d)\n", BT, Co);
    ss_linear_forward(a->out, a->o_lat, ss_params_data(p, O_B), NULL, BT, Co, D);
    SAY("  o_b_proj                    -> out     (BT,D)      = (%d,%d)\n", BT, D);
#undef SAY
}

/* The reverse of forward, call for call. Every backward adds into its gradients. */
static void backward(grads *g, ss_params *p, const acts *a) {
    const float *w_qkv_a = ss_params_data(p, QKV_A);
    float *dw_qkv_a = ss_params_grad(p, QKV_A);
    ss_linear_backward(g->o_lat, ss_params_grad(p, O_B), NULL, g->out, a->o_lat, ss_params_data(p, O_B), BT, Co, D);
    ss_linear_backward(g->ctx, ss_params_grad(p, O_A), NULL, g->o_lat, a->ctx, ss_params_data(p, O_A), BT, HD, Co);
    ss_attention_backward(g->q_rot, g->k_rot, g->kv + HD, g->att, g->ctx, a->q_rot, a->k_rot, a->kv + HD,
                          a->att, a->att_drop, a->drop_mask, DROPOUT, B, T, H, Dh, HD, HD, 2 * HD);
    ss_rope_backward(g->kv, 2 * HD, g->k_rot, rope_cos, rope_sin, B, T, H, Dh, Dr, P);
    ss_rope_backward(g->q, HD, g->q_rot, rope_cos, rope_sin, B, T, H, Dh, Dr, P);
    ss_linear_backward(g->kv_latn, ss_params_grad(p, KV_B), NULL, g->kv, a->kv_latn, ss_params_data(p, KV_B), BT, Ckv, 2 * HD);
    ss_linear_backward(g->q_latn, ss_params_grad(p, Q_B), NULL, g->q, a->q_latn, ss_params_data(p, Q_B), BT, Cq, HD);
    ss_rmsnorm_backward(g->kv_lat, ss_params_grad(p, KV_A_NORM), g->kv_latn, a->kv_lat, a->kv_rstd, ss_params_data(p, KV_A_NORM), BT, Ckv);
    ss_rmsnorm_backward(g->q_lat, ss_params_grad(p, Q_A_NORM), g->q_latn, a->q_lat, a->q_rstd, ss_params_data(p, Q_A_NORM), BT, Cq);
    ss_linear_backward(g->x, dw_qkv_a + Cq * D, NULL, g->kv_lat, a->x, w_qkv_a + Cq * D, BT, D, Ckv);
    ss_linear_backward(g->x, dw_qkv_a, NULL, g->q_lat, a->x, w_qkv_a, BT, D, Cq);
}

/* Largest |x - y| over n values, relative to the largest |y|. */
static double max_rel_diff(const float *x, const float *y, int n, int stride, int width) {
    double d = 0.0, m = 0.0;
    int r, c;
    for (r = 0; r < n; r++)
        for (c = 0; c < width; c++) {
            double u = x[(size_t)r * stride + c], v = y[(size_t)r * stride + c];
            if (fabs(u - v) > d) d = fabs(u - v);
            if (fabs(v) > m) m = fabs(v);
        }
    return m > 0.0 ? d / m : d;
}

/* The model runs the tiled attention core, which keeps one log-sum-exp per row instead of the
   (B,H,T,T) probabilities and forms the scores again in backward. With the same dropout seed it
   gives the full core's context and gradients up to float rounding. Returns 1 when it does. */
static int tiled_core(const acts *a, const grads *g) {
    static float ctx[BT * HD], lse[B * H * T], dq[BT * HD], dk[BT * HD], dkv[BT * 2 * HD];
    uint64_t drop_seed;
    ss_rng rng;
    double e_ctx, e_dq, e_dk, e_dv;
    ss_rng_seed(&rng, 7); /* the seed forward() used: the same keep decisions */
    ss_attention_tiled_forward(ctx, lse, &drop_seed, a->q_rot, a->k_rot, a->kv + HD, key_mask, 0,
                               DROPOUT, &rng, B, T, H, Dh, HD, HD, 2 * HD);
    ss_attention_tiled_backward(dq, dk, dkv + HD, g->ctx, a->q_rot, a->k_rot, a->kv + HD, ctx, lse,
                                drop_seed, key_mask, 0, DROPOUT, B, T, H, Dh, HD, HD, 2 * HD);
    e_ctx = max_rel_diff(ctx, a->ctx, BT, HD, HD);
    e_dq = max_rel_diff(dq, g->q_rot, BT, HD, HD);
    e_dk = max_rel_diff(dk, g->k_rot, BT, HD, HD);
    e_dv = max_rel_diff(dkv + HD, g->kv + HD, BT, 2 * HD, HD);
    printf("\nthe tiled attention core (what the model runs; lse (B,H,T) = (%d,%d,%d) instead of att):\n"
           "  against the full core: ctx %.1e, dq %.1e, dk %.1e, dv %.1e (max |diff| / max |value|)\n",
           B, H, T, e_ctx, e_dq, e_dk, e_dv);
    return e_ctx < 1e-5 && e_dq < 1e-5 && e_dk < 1e-5 && e_dv < 1e-5;
}

/* The scalar the gradients are of: L = sum(out * w), accumulated in double. */
static double objective(const acts *a, const float *w) {
    double L = 0.0;
    int i;
    for (i = 0; i < BT * D; i++) L += (double)a->out[i] * w[i];
    return L;
}

/* Central difference of L for one value *v: (L(v+h) - L(v-h)) / 2h. */
static double numeric_grad(float *v, acts *a, const ss_params *p, const float *w) {
    const float h = 1e-2f, saved = *v;
    double up, down;
    *v = saved + h;
    forward(a, p, 7, 0);
    up = objective(a, w);
    *v = saved - h;
    forward(a, p, 7, 0);
    down = objective(a, w);
    *v = saved;
    return (up - down) / (2.0 * h);
}

/* Compare n analytic gradients with finite differences; print one line; return pass. */
static int check(const char *name, float *values, const float *analytic, int n, acts *a,
                 const ss_params *p, const float *w) {
    double max_abs = 0.0, max_rel = 0.0;
    int i, ok = 1;
    for (i = 0; i < n; i++) {
        double num = numeric_grad(&values[i], a, p, w), err = fabs(num - analytic[i]);
        double rel = err / fmax(fabs(num), 1e-2);
        if (err > max_abs) max_abs = err;
        if (rel > max_rel) max_rel = rel;
        if (!(err <= 2e-3 + 2e-2 * fabs(num))) ok = 0;
    }
    printf("  %-34s %5d values  max |err| %.1e  max rel %.1e  %s\n", name, n, max_abs, max_rel,
           ok ? "ok" : "FAIL");
    return ok;
}

int main(void) {
    static acts a;
    static grads g;
    static float w[BT * D];
    ss_params p;
    ss_rng rng;
    ss_result r = SS_OK;
    int i, ok = 1;
    const struct { const char *name; int rows, cols; } spec[N_PARAMS] = {
        {"layers.0.self_attn.qkv_a_proj.weight", Cq + Ckv, D},
        {"layers.0.self_attn.q_a_norm.weight", Cq, 0},
        {"layers.0.self_attn.kv_a_norm.weight", Ckv, 0},
        {"layers.0.self_attn.q_b_proj.weight", HD, Cq},
        {"layers.0.self_attn.kv_b_proj.weight", 2 * HD, Ckv},
        {"layers.0.self_attn.o_a_proj.weight", Co, HD},
        {"layers.0.self_attn.o_b_proj.weight", D, Co},
    };

    printf("layer_tour: one MLA-o attention layer (%s)\n\n", ss_build_info());
    /* 1. Parameters: one registry, one block each for values and gradients. */
    memset(&p, 0, sizeof p);
    for (i = 0; i < N_PARAMS && r == SS_OK; i++) {
        int shape[2] = {spec[i].rows, spec[i].cols};
        r = ss_params_add(&p, spec[i].name, spec[i].cols ? 2 : 1, shape,
                          spec[i].cols ? 0 : SS_PARAM_NO_DECAY, NULL);
    }
    if (r == SS_OK) r = ss_params_init(&p);
    if (r != SS_OK) {
        fprintf(stderr, "layer_tour: %s: %s\n", ss_result_string(r), ss_last_error_detail());
        return 1;
    }
    ss_rng_seed(&rng, 1234);
    printf("parameters (%d tensors, PyTorch names and shapes):\n", p.count);
    for (i = 0; i < p.count; i++) {
        const ss_tensor *t = &p.tensors[i];
        float *v = ss_params_data(&p, i);
        size_t j;
        for (j = 0; j < t->numel; j++) /* gains near 1; weights wider than BERT's 0.02 so the
                                          finite differences see gradients well above rounding */
            v[j] = t->ndim == 1 ? ss_rng_normal(&rng, 1.0f, 0.1f) : ss_rng_normal(&rng, 0.0f, 0.3f);
        if (t->ndim == 2)
            printf("  %-40s (%d,%d)\n", t->name, t->shape[0], t->shape[1]);
        else
            printf("  %-40s (%d)\n", t->name, t->shape[0]);
    }
    ss_rope_tables(rope_cos, rope_sin, P, Dr, ROPE_THETA);
    for (i = 0; i < BT * D; i++) a.x[i] = ss_rng_normal(&rng, 0.0f, 1.0f);
    for (i = 0; i < BT * D; i++) w[i] = ss_rng_normal(&rng, 0.0f, 1.0f);

    /* 2. Forward, printing each step's shape. */
    printf("\nforward (B=%d T=%d D=%d H=%d Dh=%d Dr=%d Cq=%d Ckv=%d Co=%d; batch row 1 has 2 padding tokens):\n",
           B, T, D, H, Dh, Dr, Cq, Ckv, Co);
    forward(&a, &p, 7, 1);
    printf("  objective L = sum(out * w) = %.6f\n", objective(&a, w));

    /* 3. Backward: dL/dout = w, then every op in reverse. */
    memset(&g, 0, sizeof g);
    ss_params_zero_grad(&p);
    memcpy(g.out, w, sizeof w);
    backward(&g, &p, &a);
    printf("\nbackward: o_b, o_a, attention, RoPE x2, kv_b, q_b, RMSNorm x2, qkv_a x2 (reverse order)\n");
    ok &= tiled_core(&a, &g);

    /* 4. Every gradient against finite differences (the dropout mask is held fixed by reseeding). */
    printf("\ngradient check, central differences h = 1e-2 (float32 forward, double objective):\n");
    for (i = 0; i < N_PARAMS; i++)
        ok &= check(p.tensors[i].name, ss_params_data(&p, i), ss_params_grad(&p, i),
                    (int)p.tensors[i].numel, &a, &p, w);
    ok &= check("input x", a.x, g.x, BT * D, &a, &p, w);
    ss_params_free(&p);
    printf("\n%s\n", ok ? "all gradients match" : "GRADIENT MISMATCH");
    return ok ? 0 : 1;
}
