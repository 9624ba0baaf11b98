/* test_model.c - sections 6 (layers) and 7 (model) of subspace.h.

   Whole-model gradients: every parameter tensor (all elements of small tensors, a seeded sample
   of FD_SAMPLES from larger ones) against central finite differences of the model's loss (summed
   in double by the ops), for MHA, MLA, MLA-o, mixed num_dense_layers, the decomposed FFN, the
   vocabulary subspace, attention_bias, with and without padding, causal and not, the MLM head
   (some targets -100; the scored rows in one piece, as kept for backward, and, with acts.lm_cap
   lowered to SS_LM_CHUNK = 5, in several chunks that backward computes again), the classifier
   (2 labels, cross-entropy; 1 label, MSE) and the causal-LM head, and with dropout on (the dropout
   stream restored before every forward, so the mask is fixed).
   Forward: the encoder and the LM loss against a double-precision reference written from SPEC 1
   that finds every weight by its PyTorch name; the classifier head likewise.
   Equivalences: MLA-o with o_a_proj = I and o_b_proj = o_proj gives MLA; MHA with weights
   composed from MLA factors gives MLA (construction at test_mla_equals_mha).
   Also: padding invariance, parameter counts of the seed's configs, SPEC 8 tensor names, shapes
   and no-decay flags, determinism (seed; OpenMP thread count), accumulation, caller memory,
   config validation, and every allocation failure of ss_model_init.

   Build and run from the repository root:
     cc -std=c99 -O2 -o test_model tests/test_model.c -lm && ./test_model
   (add -fopenmp for the thread-count check). `./test_model --mutate` scales the gradient that
   backward starts from by 1.01: every "fd" check must then FAIL. */
#include <stdlib.h>

#include "test_alloc.h"
#define SS_LM_CHUNK 5 /* several chunks and a ragged last one, even in tiny batches */
#define SS_LM_KEEP 12  /* the fd batch (2 x 6) in one piece; fd_case.lm_chunks forces chunks */
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef INIT_STD
#define INIT_STD 0.2
#endif
static float grad_scale = 1.0f; /* 1.01 under --mutate */

#ifndef FD_EPS
#define FD_EPS 5e-3f
#endif
#ifndef _OPENMP
#define FD_SAMPLES 32 /* values checked per tensor (all of them when it has fewer) */
#else
#define FD_SAMPLES 6  /* threaded builds pay a fork-join per op: fewer values (the thread-count
                         check below is bitwise, so these only look for races) */
#endif
#define FD_ATOL 1e-4    /* rounding noise of a float forward, divided by 2 eps */
#define FD_RTOL 3e-3    /* truncation error; < 1% so that --mutate must fail */
#define REF_ATOL 2e-5   /* forward against the double reference */
#define REF_RTOL 1e-4
#define MAXR 64         /* rows (B*T) and widths of the reference buffers */
#define MAXW 64

/* ---- configs and batches ----------------------------------------------------------------- */

/* The tiny MLA-o model every test starts from: V 37, D 16, L 3, F 24, H 2, Dh 8, Dr 4, Cq 12,
   Ckv 10, Co 9, P 8; init std 0.35 so gradients stand well above float rounding. */
static ss_config tiny_config(void) {
    ss_config c;
    ss_config_default(&c);
    c.vocab_size = 37;
    c.hidden_size = 16;
    c.num_hidden_layers = 3;
    c.intermediate_size = 24;
    c.num_attention_heads = 2;
    c.head_dim = 8;
    c.rope_dims = 4;
    c.q_latent_dim = 12;
    c.kv_latent_dim = 10;
    c.o_latent_dim = 9;
    c.max_position_embeddings = 8;
    c.ffn_rank = 7;
    c.vocab_rank = 6;
    c.initializer_range = INIT_STD;
    return c;
}

typedef struct batch {
    int B, T;
    int ids[MAXR], mask[MAXR], targets[MAXR]; /* targets: LM (B,T) or class ids (B) */
    float labels[MAXR];                        /* regression (B) */
} batch;

/* Random ids; batch row 1 ends in two padding tokens when pad; targets by head: MLM about a
   third -100 (and all padding), causal LM the next id (-100 at the end of each sequence). */
static void make_batch(batch *bt, int B, int T, int pad, ss_head head, const ss_config *c,
                       ss_rng *rng) {
    int b, t, kept = 0;
    memset(bt, 0, sizeof *bt);
    bt->B = B, bt->T = T;
    for (b = 0; b < B; b++)
        for (t = 0; t < T; t++) {
            int r = b * T + t;
            bt->ids[r] = (int)(ss_rng_u32(rng) % (uint32_t)c->vocab_size);
            bt->mask[r] = !(pad && b == 1 && t >= T - 2);
        }
    for (b = 0; b < B; b++) {
        int len = 0;
        for (t = 0; t < T; t++) len += bt->mask[b * T + t];
        for (t = 0; t < T; t++) {
            int r = b * T + t;
            if (head == SS_HEAD_CAUSAL_LM)
                bt->targets[r] = t + 1 < len ? bt->ids[r + 1] : SS_IGNORE_INDEX;
            else if (head == SS_HEAD_MLM)
                bt->targets[r] = t < len && ss_rng_uniform(rng) > 0.35f
                                     ? (int)(ss_rng_u32(rng) % (uint32_t)c->vocab_size)
                                     : SS_IGNORE_INDEX;
            kept += bt->targets[r] != SS_IGNORE_INDEX;
        }
    }
    if (head == SS_HEAD_MLM && kept == 0) bt->targets[0] = 3;
    if (head == SS_HEAD_CLASSIFIER)
        for (b = 0; b < B; b++) {
            bt->targets[b] = (int)(ss_rng_u32(rng) % (uint32_t)c->num_labels);
            bt->labels[b] = ss_rng_normal(rng, 0.0f, 1.0f);
        }
}

/* Move every parameter off its init: gains N(1, 0.2), biases N(0, 0.2), the rest unchanged. */
static void perturb_vectors(ss_model *m, ss_rng *rng) {
    int i;
    size_t j;
    for (i = 0; i < m->params.count; i++) {
        const ss_tensor *t = &m->params.tensors[i];
        float *v = ss_params_data(&m->params, i);
        if (t->ndim != 1) continue;
        for (j = 0; j < t->numel; j++) v[j] += ss_rng_normal(rng, 0.0f, 0.2f);
    }
}

static int build(ss_model *m, const ss_config *c, ss_head head, int max_B, int max_T,
                 uint64_t seed) {
    ss_result r = ss_model_init(m, c, head, max_B, max_T, seed);
    if (r != SS_OK) {
        printf("model init failed: %s: %s\n", ss_result_string(r), ss_last_error_detail());
        exit(2);
    }
    return 1;
}

/* One forward of a batch; the loss (sum / kept) in double. */
static double run_forward(ss_model *m, const batch *bt, int use_mask, int training,
                          ss_model_stats *st_out) {
    ss_model_stats st;
    const int lm = m->head != SS_HEAD_CLASSIFIER;
    const int regression = !lm && m->config.num_labels == 1;
    ss_model_forward(m, &st, bt->ids, use_mask ? bt->mask : NULL, regression ? NULL : bt->targets,
                     regression ? bt->labels : NULL, bt->B, bt->T, training);
    if (st_out) *st_out = st;
    return st.kept ? st.loss_sum / st.kept : 0.0;
}

/* ---- finite differences over the whole model -------------------------------------------- */

typedef struct fd_case {
    const char *name;
    ss_head head;
    int num_dense, output_subspace, ffn_decompose, vocab_subspace, attention_bias, causal;
    int pad, training, num_labels;
    int lm_chunks; /* 1: acts.lm_cap lowered to SS_LM_CHUNK, so the LM head must go in chunks */
} fd_case;

static void fd_model(const fd_case *fc, ss_rng *rng) {
    ss_config c = tiny_config();
    ss_model m;
    ss_model_stats st;
    batch bt;
    ss_rng rng0;
    double worst = 0.0, maxdiff = 0.0, worst_a = 0, worst_n = 0;
    const char *worst_name = "";
    int i, checked = 0, ok = 1, restencil = 0;
    char name[320];
    c.num_dense_layers = fc->num_dense;
    c.output_subspace = fc->output_subspace;
    c.ffn_decompose = fc->ffn_decompose;
    c.vocab_subspace = fc->vocab_subspace;
    c.attention_bias = fc->attention_bias;
    c.causal = fc->causal;
    c.num_labels = fc->num_labels ? fc->num_labels : 2;
    c.attention_dropout_prob = 0.2;
    c.classifier_dropout = 0.3;
    build(&m, &c, fc->head, 2, 6, 1000 + (uint64_t)fc->num_dense);
    perturb_vectors(&m, rng);
    make_batch(&bt, 2, 6, fc->pad, fc->head, &c, rng);
    rng0 = m.rng;
    if (fc->lm_chunks) m.acts.lm_cap = SS_LM_CHUNK; /* the buffers keep their size */

    ss_model_zero_grad(&m);
    run_forward(&m, &bt, fc->pad, fc->training, &st);
    if (fc->head != SS_HEAD_CLASSIFIER) { /* the path the LM head took must be the one asked for */
        const int chunked = st.kept > m.acts.lm_cap;
        snprintf(name, sizeof name, "model fd: %s: %d scored rows, LM head in %s", fc->name,
                 st.kept, chunked ? "chunks of SS_LM_CHUNK" : "one piece");
        test_report(chunked == fc->lm_chunks && st.kept > 0, name, 0.0);
    }
    ss_model_backward(&m, grad_scale);
    for (i = 0; i < m.params.count; i++) {
        const ss_tensor *t = &m.params.tensors[i];
        float *p = ss_params_data(&m.params, i);
        const float *g = ss_params_grad(&m.params, i);
        const size_t n = t->numel, k = n < FD_SAMPLES ? n : FD_SAMPLES;
        size_t s;
        for (s = 0; s < k; s++) {
            const size_t j = n <= FD_SAMPLES ? s : (size_t)(ss_rng_u64(rng) % n);
            const float x0 = p[j], xp = x0 + FD_EPS, xm = x0 - FD_EPS;
            double lp, lm, num, err, tol;
            p[j] = xp;
            m.rng = rng0;
            lp = run_forward(&m, &bt, fc->pad, fc->training, NULL);
            p[j] = xm;
            m.rng = rng0;
            lm = run_forward(&m, &bt, fc->pad, fc->training, NULL);
            p[j] = x0;
            num = (lp - lm) / ((double)xp - (double)xm);
            err = fabs(g[j] - num);
            tol = FD_ATOL + FD_RTOL * fabs(num);
            if (!(err <= tol)) { /* strong curvature: measure again with the five-point stencil */
                const float xp2 = x0 + 2.0f * FD_EPS, xm2 = x0 - 2.0f * FD_EPS;
                double lp2, lm2;
                p[j] = xp2;
                m.rng = rng0;
                lp2 = run_forward(&m, &bt, fc->pad, fc->training, NULL);
                p[j] = xm2;
                m.rng = rng0;
                lm2 = run_forward(&m, &bt, fc->pad, fc->training, NULL);
                p[j] = x0;
                num = (8.0 * (lp - lm) - (lp2 - lm2)) / (6.0 * ((double)xp - (double)xm));
                err = fabs(g[j] - num);
                tol = FD_ATOL + FD_RTOL * fabs(num);
                restencil++;
            }
            if (!(err <= tol)) ok = 0;
            if (err > maxdiff || err != err) maxdiff = err;
            if (err / tol > worst || err != err) {
                worst = err / tol, worst_name = t->name, worst_a = g[j], worst_n = num;
            }
            checked++;
        }
    }
    snprintf(name, sizeof name,
             "model fd: %s (%d values of %d tensors, %d by the five-point stencil; worst err/tol "
             "%.2f at %s: analytic %.6g numeric %.6g)",
             fc->name, checked, m.params.count, restencil, worst, worst_name, worst_a, worst_n);
    test_report(ok, name, maxdiff);
    ss_model_free(&m);
}

static void test_fd(ss_rng *rng) {
    static const fd_case cases[] = {
        /* name, head, num_dense, output_subspace, ffn_decompose, vocab_subspace, attention_bias,
           causal, pad, training, num_labels, lm_chunks */
        {"MHA, MLM, padding", SS_HEAD_MLM, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0},
        {"MLA, MLM, padding", SS_HEAD_MLM, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},
        {"MLA-o, MLM, padding", SS_HEAD_MLM, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0},
        {"MLA-o, MLM, no padding (key_mask NULL)", SS_HEAD_MLM, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
        {"MLA-o, MLM, LM head in chunks", SS_HEAD_MLM, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},
        {"vocab subspace, MLM, LM head in chunks", SS_HEAD_MLM, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1},
        {"causal LM head in chunks", SS_HEAD_CAUSAL_LM, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1},
        {"mixed num_dense_layers=1, MLM", SS_HEAD_MLM, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0},
        {"decomposed FFN (dense layer 0 + 2 MLA)", SS_HEAD_MLM, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0},
        {"vocab subspace, MLM", SS_HEAD_MLM, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0},
        {"attention_bias (MHA + MLA-o)", SS_HEAD_MLM, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0},
        {"attention_bias (MLA)", SS_HEAD_MLM, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0},
        {"causal attention, MLM", SS_HEAD_MLM, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0},
        {"causal LM head", SS_HEAD_CAUSAL_LM, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0},
        {"classifier, 2 labels (CE)", SS_HEAD_CLASSIFIER, 1, 1, 0, 0, 0, 0, 1, 0, 2, 0},
        {"classifier, 1 label (MSE)", SS_HEAD_CLASSIFIER, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0},
        {"everything: decomposed, vocab, bias, causal", SS_HEAD_MLM, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
        {"dropout on (mask fixed), MLM", SS_HEAD_MLM, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0},
        {"dropout on (mask fixed), classifier", SS_HEAD_CLASSIFIER, 1, 0, 0, 0, 1, 0, 1, 1, 3, 0},
    };
    size_t i;
    printf("# model fd: eps %g, %d samples per tensor, |analytic - numeric| <= %g + %g |numeric|;"
           " a value outside that with the central difference (truncation error O(eps^2)) is\n"
           "# measured again with the five-point stencil (O(eps^4)) and must meet the same bound\n",
           (double)FD_EPS, FD_SAMPLES, FD_ATOL, FD_RTOL);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) fd_model(&cases[i], rng);
}

/* ---- a double-precision reference of the whole model (SPEC 1) --------------------------- */

/* A tensor by its PyTorch name ("%d" = layer); NULL when absent and optional. */
static const float *tensor(const ss_model *m, const char *fmt, int layer, int optional) {
    char name[SS_MAX_NAME];
    int i;
    snprintf(name, sizeof name, fmt, layer);
    i = ss_params_find(&m->params, name);
    if (i < 0 && !optional) {
        printf("FAIL reference: tensor %s missing\n", name);
        exit(2);
    }
    return i < 0 ? NULL : ss_params_data(&m->params, i);
}

static void ref_linear(double *y, const double *x, const float *w, const float *b, int n, int IC,
                       int OC) {
    int r, o, i;
    for (r = 0; r < n; r++)
        for (o = 0; o < OC; o++) {
            double acc = b ? b[o] : 0.0;
            for (i = 0; i < IC; i++) acc += x[r * IC + i] * w[o * IC + i];
            y[r * OC + o] = acc;
        }
}

static void ref_rmsnorm(double *y, const double *x, const float *g, int n, int C, double eps) {
    int r, i;
    for (r = 0; r < n; r++) {
        double ss = 0.0;
        for (i = 0; i < C; i++) ss += x[r * C + i] * x[r * C + i];
        ss = 1.0 / sqrt(ss / C + eps);
        for (i = 0; i < C; i++) y[r * C + i] = x[r * C + i] * ss * g[i];
    }
}

/* Rotate-half RoPE on the first Dr dims of every head; rows of stride ld, position = row % T. */
static void ref_rope(double *x, int ld, int BT, int T, int H, int Dh, int Dr, double theta) {
    int r, h, j, half = Dr / 2;
    for (r = 0; r < BT; r++)
        for (h = 0; h < H; h++) {
            double *v = x + r * ld + h * Dh;
            for (j = 0; j < half; j++) {
                double ang = (r % T) * pow(theta, -2.0 * j / Dr), a = v[j], b = v[j + half];
                v[j] = a * cos(ang) - b * sin(ang);
                v[j + half] = b * cos(ang) + a * sin(ang);
            }
        }
}

/* ctx (BT, H*Dh) = softmax(q k^T / sqrt(Dh), padding keys and (causal) later keys hidden) v;
   q, k, v rows of strides ldq, ldk, ldv. */
static void ref_attention(double *ctx, const double *q, int ldq, const double *k, int ldk,
                          const double *v, int ldv, const int *mask, int causal, int B, int T,
                          int H, int Dh) {
    int b, h, i, j, e;
    for (b = 0; b < B; b++)
        for (h = 0; h < H; h++)
            for (i = 0; i < T; i++) {
                double s[MAXR], mx = -1e300, sum = 0.0;
                for (j = 0; j < T; j++) {
                    int visible = (!mask || mask[b * T + j]) && (!causal || j <= i);
                    double d = 0.0;
                    for (e = 0; e < Dh; e++)
                        d += q[(b * T + i) * ldq + h * Dh + e] * k[(b * T + j) * ldk + h * Dh + e];
                    s[j] = visible ? d / sqrt((double)Dh) : -1e300;
                    if (s[j] > mx) mx = s[j];
                }
                for (j = 0; j < T; j++) {
                    s[j] = s[j] > -1e299 ? exp(s[j] - mx) : 0.0;
                    sum += s[j];
                }
                for (e = 0; e < Dh; e++) {
                    double acc = 0.0;
                    for (j = 0; j < T; j++) acc += s[j] / sum * v[(b * T + j) * ldv + h * Dh + e];
                    ctx[(b * T + i) * H * Dh + h * Dh + e] = acc;
                }
            }
}

/* h (BT,D) of the encoder, from the registry's tensors only. */
static void ref_encoder(double *h, const ss_model *m, const int *ids, const int *mask, int B,
                        int T) {
    const ss_config *c = &m->config;
    const int BT = B * T, D = c->hidden_size, F = c->intermediate_size, H = c->num_attention_heads;
    const int Dh = c->head_dim, HD = H * Dh, Cq = c->q_latent_dim, Ckv = c->kv_latent_dim;
    const double eps = c->rms_norm_eps;
    static double ln[MAXR * MAXW], t1[MAXR * MAXW], t2[MAXR * MAXW], t3[MAXR * MAXW];
    static double qkv[MAXR * 3 * MAXW], ctx[MAXR * MAXW], out[MAXR * MAXW], e[MAXR * MAXW];
    int r, i, l;
    const float *E = tensor(m, "encoder_model.vocab_embed.weight", 0, 0);
    for (r = 0; r < BT; r++) {
        if (c->vocab_subspace) {
            for (i = 0; i < c->vocab_rank; i++)
                e[r * c->vocab_rank + i] = E[ids[r] * c->vocab_rank + i];
        } else {
            for (i = 0; i < D; i++) h[r * D + i] = E[ids[r] * D + i];
        }
    }
    if (c->vocab_subspace)
        ref_linear(h, e, tensor(m, "encoder_model.vocab_proj.weight", 0, 0), NULL, BT,
                   c->vocab_rank, D);
    for (l = 0; l < c->num_hidden_layers; l++) {
        const int dense = l < c->num_dense_layers;
#define TW(suffix) tensor(m, "encoder_model.layers.%d." suffix, l, 0)
#define TB(suffix) tensor(m, "encoder_model.layers.%d." suffix, l, 1)
        ref_rmsnorm(ln, h, TW("attn_input_norm.weight"), BT, D, eps);
        if (dense) {
            ref_linear(qkv, ln, TW("self_attn.qkv_proj.weight"), TB("self_attn.qkv_proj.bias"), BT,
                       D, 3 * HD);
            ref_rope(qkv, 3 * HD, BT, T, H, Dh, c->rope_dims, c->rope_theta);
            ref_rope(qkv + HD, 3 * HD, BT, T, H, Dh, c->rope_dims, c->rope_theta);
            ref_attention(ctx, qkv, 3 * HD, qkv + HD, 3 * HD, qkv + 2 * HD, 3 * HD, mask, c->causal,
                          B, T, H, Dh);
        } else {
            const float *wa = TW("self_attn.qkv_a_proj.weight");
            const float *ba = TB("self_attn.qkv_a_proj.bias");
            ref_linear(t1, ln, wa, ba, BT, D, Cq);
            ref_linear(t2, ln, wa + Cq * D, ba ? ba + Cq : NULL, BT, D, Ckv);
            ref_rmsnorm(t1, t1, TW("self_attn.q_a_norm.weight"), BT, Cq, eps);
            ref_rmsnorm(t2, t2, TW("self_attn.kv_a_norm.weight"), BT, Ckv, eps);
            ref_linear(t3, t1, TW("self_attn.q_b_proj.weight"), NULL, BT, Cq, HD);
            ref_linear(qkv, t2, TW("self_attn.kv_b_proj.weight"), NULL, BT, Ckv, 2 * HD);
            ref_rope(t3, HD, BT, T, H, Dh, c->rope_dims, c->rope_theta);
            ref_rope(qkv, 2 * HD, BT, T, H, Dh, c->rope_dims, c->rope_theta);
            ref_attention(ctx, t3, HD, qkv, 2 * HD, qkv + HD, 2 * HD, mask, c->causal, B, T, H, Dh);
        }
        if (dense || !c->output_subspace) {
            ref_linear(out, ctx, TW("self_attn.o_proj.weight"), TB("self_attn.o_proj.bias"), BT, HD,
                       D);
        } else {
            ref_linear(t1, ctx, TW("self_attn.o_a_proj.weight"), NULL, BT, HD, c->o_latent_dim);
            ref_linear(out, t1, TW("self_attn.o_b_proj.weight"), TB("self_attn.o_b_proj.bias"), BT,
                       c->o_latent_dim, D);
        }
        for (i = 0; i < BT * D; i++) h[i] += out[i];
        ref_rmsnorm(ln, h, TW("ffn_input_norm.weight"), BT, D, eps);
        if (dense || !c->ffn_decompose) {
            ref_linear(t1, ln, TW("ffn.W_in.weight"), TW("ffn.W_in.bias"), BT, D, F);
            ref_linear(t2, ln, TW("ffn.W_gate.weight"), TW("ffn.W_gate.bias"), BT, D, F);
        } else {
            const int R = c->ffn_rank;
            ref_linear(t3, ln, TW("ffn.W_in_shared.weight"), NULL, BT, D, R);
            ref_rmsnorm(t3, t3, TW("ffn.W_in_shared_norm.weight"), BT, R, eps);
            ref_linear(t1, t3, TW("ffn.W_in.weight"), TW("ffn.W_in.bias"), BT, R, F);
            ref_linear(t3, ln, TW("ffn.W_gate_shared.weight"), NULL, BT, D, R);
            ref_rmsnorm(t3, t3, TW("ffn.W_gate_shared_norm.weight"), BT, R, eps);
            ref_linear(t2, t3, TW("ffn.W_gate.weight"), TW("ffn.W_gate.bias"), BT, R, F);
        }
        for (i = 0; i < BT * F; i++) t1[i] = t1[i] / (1.0 + exp(-t1[i])) * t2[i]; /* SiLU on W_in */
        if (dense || !c->ffn_decompose) {
            ref_linear(out, t1, TW("ffn.W_out.weight"), TW("ffn.W_out.bias"), BT, F, D);
        } else {
            ref_linear(t3, t1, TW("ffn.W_out.weight"), NULL, BT, F, c->ffn_rank);
            ref_linear(out, t3, TW("ffn.W_out_shared.weight"), TW("ffn.W_out_shared.bias"), BT,
                       c->ffn_rank, D);
        }
        for (i = 0; i < BT * D; i++) h[i] += out[i];
#undef TW
#undef TB
    }
    /* no final norm */
}

/* Mean CE of the tied LM head over kept rows; *correct = argmax hits. */
static double ref_lm_loss(const double *h, const ss_model *m, const int *targets, int BT,
                          int *kept, int *correct) {
    const ss_config *c = &m->config;
    const int D = c->hidden_size, V = c->vocab_size, Rv = c->vocab_rank;
    const float *E = tensor(m, "encoder_model.vocab_embed.weight", 0, 0);
    const float *P = c->vocab_subspace ? tensor(m, "encoder_model.vocab_proj.weight", 0, 0) : NULL;
    double sum = 0.0, logits[MAXW], hp[MAXW];
    int r, v, i;
    *kept = *correct = 0;
    for (r = 0; r < BT; r++) {
        double mx = -1e300, z = 0.0;
        int arg = 0;
        if (targets[r] == SS_IGNORE_INDEX) continue;
        if (P) /* (h P) E_r^T: P (D,Rv) used untransposed on the output side */
            for (i = 0; i < Rv; i++) {
                hp[i] = 0.0;
                for (v = 0; v < D; v++) hp[i] += h[r * D + v] * P[v * Rv + i];
            }
        for (v = 0; v < V; v++) {
            double acc = 0.0;
            if (P)
                for (i = 0; i < Rv; i++) acc += hp[i] * E[v * Rv + i];
            else
                for (i = 0; i < D; i++) acc += h[r * D + i] * E[v * D + i];
            logits[v] = acc;
            if (acc > mx) mx = acc, arg = v;
        }
        for (v = 0; v < V; v++) z += exp(logits[v] - mx);
        sum += log(z) + mx - logits[targets[r]];
        (*kept)++;
        *correct += arg == targets[r];
    }
    return *kept ? sum / *kept : 0.0;
}

static void check_h(const char *name, const ss_model *m, const double *ref, int n) {
    float *want = test_alloc((size_t)n);
    int i;
    for (i = 0; i < n; i++) want[i] = (float)ref[i];
    check_tensor(name, m->acts.h, want, (size_t)n, REF_ATOL, REF_RTOL);
    free(want);
}

static void test_reference(ss_rng *rng) {
    static const fd_case cases[] = {
        {"MHA", SS_HEAD_MLM, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0},
        {"MLA", SS_HEAD_MLM, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},
        {"MLA-o", SS_HEAD_MLM, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0},
        {"mixed, decomposed, vocab, bias, causal", SS_HEAD_MLM, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
        {"mixed MLA, bias, no padding", SS_HEAD_MLM, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0},
    };
    static double h[MAXR * MAXW];
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const fd_case *fc = &cases[k];
        ss_config c = tiny_config();
        ss_model m;
        ss_model_stats st;
        batch bt;
        char name[160];
        int kept, correct;
        double ref;
        c.num_dense_layers = fc->num_dense;
        c.output_subspace = fc->output_subspace;
        c.ffn_decompose = fc->ffn_decompose;
        c.vocab_subspace = fc->vocab_subspace;
        c.attention_bias = fc->attention_bias;
        c.causal = fc->causal;
        build(&m, &c, SS_HEAD_MLM, 3, 8, 77 + k);
        perturb_vectors(&m, rng);
        make_batch(&bt, 3, 8, fc->pad, SS_HEAD_MLM, &c, rng);
        run_forward(&m, &bt, fc->pad, 0, &st);
        ref_encoder(h, &m, bt.ids, fc->pad ? bt.mask : NULL, 3, 8);
        snprintf(name, sizeof name, "forward vs double reference: %s: h", fc->name);
        check_h(name, &m, h, 3 * 8 * c.hidden_size);
        ref = ref_lm_loss(h, &m, bt.targets, 3 * 8, &kept, &correct);
        snprintf(name, sizeof name, "forward vs double reference: %s: MLM loss %.7f vs %.7f, "
                 "kept %d/%d, correct %d/%d (%d pieces)", fc->name, st.loss_sum / st.kept, ref,
                 st.kept, kept, st.correct, correct,
                 st.kept <= m.acts.lm_cap ? 1 : (st.kept + SS_LM_CHUNK - 1) / SS_LM_CHUNK);
        test_report(fabs(st.loss_sum / st.kept - ref) <= 1e-5 * (1 + ref) && st.kept == kept &&
                        st.correct == correct,
                    name, fabs(st.loss_sum / st.kept - ref));
        ss_model_free(&m);
    }
}

/* The classifier head on top of h: tanh pooler on [CLS], logits, CE or MSE (eval: no dropout). */
static void test_classifier_reference(ss_rng *rng) {
    int nl;
    for (nl = 1; nl <= 3; nl += 2) {
        ss_config c = tiny_config();
        ss_model m;
        ss_model_stats st;
        batch bt;
        double pooled[MAXW], pre[MAXW], logits[8], loss = 0.0, maxd = 0.0;
        int b, i, j, correct = 0;
        char name[128];
        c.num_labels = nl;
        c.num_dense_layers = 1;
        build(&m, &c, SS_HEAD_CLASSIFIER, 3, 5, 99);
        perturb_vectors(&m, rng);
        make_batch(&bt, 3, 5, 0, SS_HEAD_CLASSIFIER, &c, rng);
        run_forward(&m, &bt, 0, 0, &st);
        for (b = 0; b < 3; b++) {
            const float *h = m.acts.h + (size_t)b * 5 * c.hidden_size; /* position 0 */
            const float *Wd = tensor(&m, "dense.weight", 0, 0);
            const float *bd = tensor(&m, "dense.bias", 0, 0);
            const float *Wc = tensor(&m, "classifier.weight", 0, 0);
            const float *bc = tensor(&m, "classifier.bias", 0, 0);
            double mx = -1e300, z = 0.0;
            int arg = 0;
            for (i = 0; i < c.hidden_size; i++) {
                pre[i] = bd[i];
                for (j = 0; j < c.hidden_size; j++)
                    pre[i] += (double)h[j] * Wd[i * c.hidden_size + j];
                pooled[i] = tanh(pre[i]);
            }
            for (i = 0; i < nl; i++) {
                logits[i] = bc[i];
                for (j = 0; j < c.hidden_size; j++)
                    logits[i] += pooled[j] * Wc[i * c.hidden_size + j];
                if (fabs(logits[i] - m.acts.cls_logits[b * nl + i]) > maxd)
                    maxd = fabs(logits[i] - m.acts.cls_logits[b * nl + i]);
                if (logits[i] > mx) mx = logits[i], arg = i;
            }
            if (nl == 1) {
                loss += (logits[0] - bt.labels[b]) * (logits[0] - bt.labels[b]);
            } else {
                for (i = 0; i < nl; i++) z += exp(logits[i] - mx);
                loss += log(z) + mx - logits[bt.targets[b]];
                correct += arg == bt.targets[b];
            }
        }
        loss /= 3;
        snprintf(name, sizeof name, "classifier head vs double reference, %d label%s (%s): loss "
                 "%.7f vs %.7f", nl, nl > 1 ? "s" : "", nl > 1 ? "CE" : "MSE",
                 st.loss_sum / st.kept, loss);
        test_report(maxd < 1e-5 && fabs(st.loss_sum / st.kept - loss) < 1e-5 && st.kept == 3 &&
                        st.correct == correct,
                    name, maxd);
        ss_model_free(&m);
    }
}

/* ---- layer equivalences ------------------------------------------------------------------ */

/* Every field of an ss_attn_acts / ss_attn_grads, sized for the largest variant. */
static void alloc_attn(ss_attn_acts *a, ss_attn_grads *g, int BT, int B, int H, int T, int W) {
    const size_t n = (size_t)BT * 3 * W, natt = (size_t)B * H * T * T;
    a->qkv = test_alloc(n), a->q_lat = test_alloc(n), a->kv_lat = test_alloc(n);
    a->q_rstd = test_alloc(BT), a->kv_rstd = test_alloc(BT), a->q_latn = test_alloc(n);
    a->kv_latn = test_alloc(n), a->q = test_alloc(n), a->kv = test_alloc(n);
    a->q_rot = test_alloc(n), a->k_rot = test_alloc(n), a->att = test_alloc(natt);
    a->att_drop = NULL, a->drop_mask = NULL, a->ctx = test_alloc(n), a->o_lat = test_alloc(n);
    g->dqkv = test_alloc(n), g->dq_lat = test_alloc(n), g->dkv_lat = test_alloc(n);
    g->dq_latn = test_alloc(n), g->dkv_latn = test_alloc(n), g->dq = test_alloc(n);
    g->dkv = test_alloc(n), g->dq_rot = test_alloc(n), g->dk_rot = test_alloc(n);
    g->datt = test_alloc(natt), g->dctx = test_alloc(n), g->do_lat = test_alloc(n);
    { /* the gradient scratch is the layers' to clear or overwrite: NaN shows a read before */
        float *scratch[] = {g->dqkv, g->dq_lat, g->dkv_lat, g->dq_latn, g->dkv_latn, g->dq,
                            g->dkv, g->dq_rot, g->dk_rot, g->dctx, g->do_lat};
        size_t i, j;
        for (i = 0; i < sizeof scratch / sizeof scratch[0]; i++)
            for (j = 0; j < n; j++) scratch[i][j] = NAN;
        for (j = 0; j < natt; j++) g->datt[j] = NAN;
    }
}

static void free_attn(ss_attn_acts *a, ss_attn_grads *g) {
    free(a->qkv), free(a->q_lat), free(a->kv_lat), free(a->q_rstd), free(a->kv_rstd);
    free(a->q_latn), free(a->kv_latn), free(a->q), free(a->kv), free(a->q_rot), free(a->k_rot);
    free(a->att), free(a->ctx), free(a->o_lat);
    free(g->dqkv), free(g->dq_lat), free(g->dkv_lat), free(g->dq_latn), free(g->dkv_latn);
    free(g->dq), free(g->dkv), free(g->dq_rot), free(g->dk_rot), free(g->datt), free(g->dctx);
    free(g->do_lat);
}

/* Point every gradient field whose weight field is set into buf, 512 floats apart. */
static void grad_views(ss_attn_weights *dw, const ss_attn_weights *w, float *buf) {
    float **slot[13];
    const float *have[13];
    int i, k = 0;
    slot[0] = &dw->qkv_proj_weight, have[0] = w->qkv_proj_weight;
    slot[1] = &dw->qkv_proj_bias, have[1] = w->qkv_proj_bias;
    slot[2] = &dw->qkv_a_proj_weight, have[2] = w->qkv_a_proj_weight;
    slot[3] = &dw->qkv_a_proj_bias, have[3] = w->qkv_a_proj_bias;
    slot[4] = &dw->q_a_norm_weight, have[4] = w->q_a_norm_weight;
    slot[5] = &dw->kv_a_norm_weight, have[5] = w->kv_a_norm_weight;
    slot[6] = &dw->q_b_proj_weight, have[6] = w->q_b_proj_weight;
    slot[7] = &dw->kv_b_proj_weight, have[7] = w->kv_b_proj_weight;
    slot[8] = &dw->o_proj_weight, have[8] = w->o_proj_weight;
    slot[9] = &dw->o_proj_bias, have[9] = w->o_proj_bias;
    slot[10] = &dw->o_a_proj_weight, have[10] = w->o_a_proj_weight;
    slot[11] = &dw->o_b_proj_weight, have[11] = w->o_b_proj_weight;
    slot[12] = &dw->o_b_proj_bias, have[12] = w->o_b_proj_bias;
    for (i = 0; i < 13; i++) *slot[i] = have[i] ? buf + 512 * k++ : NULL;
}

static float *rand_tensor(size_t n, ss_rng *rng, float mean, float std) {
    float *x = test_alloc(n);
    size_t i;
    for (i = 0; i < n; i++) x[i] = ss_rng_normal(rng, mean, std);
    return x;
}

/* The layers run the tiled attention core when acts.att is NULL: MLA-o (causal, key mask,
   attention dropout 0.25 from the same rng state) through both cores gives the same output,
   dinp and weight gradients within float rounding. */
static void test_layer_tiled_equals_full(ss_rng *rng) {
    enum { B = 2, T = 7, D = 12, H = 2, Dh = 6, HD = H * Dh, BT = B * T, Cq = 7, Ckv = 5, Co = 9 };
    enum { P = 8, NATT = B * H * T * T };
    static const int mask[BT] = {1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    ss_attn_weights w, dw1, dw2;
    ss_attn_acts a1, a2;
    ss_attn_grads g1, g2;
    ss_attn_dims d;
    ss_rng r1, r2;
    float cos_t[P * 2], sin_t[P * 2];
    float *x = rand_tensor(BT * D, rng, 0.0f, 1.0f), *dout = rand_tensor(BT * D, rng, 0.0f, 1.0f);
    float *out1 = test_alloc(BT * D), *out2 = test_alloc(BT * D);
    float *dx1 = test_alloc(BT * D), *dx2 = test_alloc(BT * D);
    float *dbuf1 = test_alloc(13 * 512), *dbuf2 = test_alloc(13 * 512);
    unsigned char drop_mask[NATT];
    memset(&w, 0, sizeof w);
    w.qkv_a_proj_weight = rand_tensor((Cq + Ckv) * D, rng, 0.0f, 0.4f);
    w.q_a_norm_weight = rand_tensor(Cq, rng, 1.0f, 0.2f);
    w.kv_a_norm_weight = rand_tensor(Ckv, rng, 1.0f, 0.2f);
    w.q_b_proj_weight = rand_tensor(HD * Cq, rng, 0.0f, 0.6f);
    w.kv_b_proj_weight = rand_tensor(2 * HD * Ckv, rng, 0.0f, 0.6f);
    w.o_a_proj_weight = rand_tensor(Co * HD, rng, 0.0f, 0.4f);
    w.o_b_proj_weight = rand_tensor(D * Co, rng, 0.0f, 0.4f);
    w.o_b_proj_bias = rand_tensor(D, rng, 0.0f, 0.2f);
    grad_views(&dw1, &w, dbuf1);
    grad_views(&dw2, &w, dbuf2);
    alloc_attn(&a1, &g1, BT, B, H, T, HD);
    alloc_attn(&a2, &g2, BT, B, H, T, HD);
    a1.att_drop = test_alloc(NATT), a1.drop_mask = drop_mask;
    free(a2.att), a2.att = NULL, a2.lse = test_alloc(B * H * T); /* the tiled core */
    d.B = B, d.T = T, d.D = D, d.H = H, d.Dh = Dh, d.Dr = 4, d.Cq = Cq, d.Ckv = Ckv, d.Co = Co;
    d.P = P, d.eps = 1e-6f, d.causal = 1, d.dropout_p = 0.25f;
    ss_rope_tables(cos_t, sin_t, P, 4, 10000.0f);
    ss_rng_seed(&r1, 31), ss_rng_seed(&r2, 31);
    ss_mlao_forward(out1, &a1, x, mask, &r1, &w, cos_t, sin_t, &d);
    ss_mlao_forward(out2, &a2, x, mask, &r2, &w, cos_t, sin_t, &d);
    check_tensor("tiled core in MLA-o (causal, key mask, p=0.25): forward as the full core", out2,
                 out1, BT * D, 2e-6, 2e-5);
    ss_mlao_backward(dx1, &dw1, &g1, dout, x, &a1, &w, cos_t, sin_t, &d);
    ss_mlao_backward(dx2, &dw2, &g2, dout, x, &a2, &w, cos_t, sin_t, &d);
    check_tensor("tiled core in MLA-o: dinp as the full core", dx2, dx1, BT * D, 2e-6, 2e-5);
    check_tensor("tiled core in MLA-o: d(kv_b_proj) as the full core", dw2.kv_b_proj_weight,
                 dw1.kv_b_proj_weight, 2 * HD * Ckv, 2e-6, 2e-5);
    check_tensor("tiled core in MLA-o: d(qkv_a_proj) as the full core", dw2.qkv_a_proj_weight,
                 dw1.qkv_a_proj_weight, (Cq + Ckv) * D, 2e-6, 2e-5);
    free(a1.att_drop), free(a2.lse);
    free_attn(&a1, &g1), free_attn(&a2, &g2);
    free(w.qkv_a_proj_weight), free(w.q_a_norm_weight), free(w.kv_a_norm_weight);
    free(w.q_b_proj_weight), free(w.kv_b_proj_weight), free(w.o_a_proj_weight);
    free(w.o_b_proj_weight), free(w.o_b_proj_bias), free(x), free(dout), free(out1), free(out2);
    free(dx1), free(dx2), free(dbuf1), free(dbuf2);
}

/* MLA-o whose o_a_proj is the identity (Co = H*Dh) and whose o_b_proj is MLA's o_proj (and
   o_b_proj.bias its bias) computes exactly MLA: out = (ctx I) W_o^T + b. Forward and dinp. */
static void test_mlao_equals_mla(ss_rng *rng) {
    enum { B = 2, T = 5, D = 12, H = 2, Dh = 6, HD = H * Dh, BT = B * T, Cq = 7, Ckv = 5, P = 8 };
    static const int mask[BT] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    ss_attn_weights w, dw1, dw2;
    ss_attn_acts a1, a2;
    ss_attn_grads g1, g2;
    ss_attn_dims d;
    float cos_t[P * 2], sin_t[P * 2];
    float *x = rand_tensor(BT * D, rng, 0.0f, 1.0f), *dout = rand_tensor(BT * D, rng, 0.0f, 1.0f);
    float *out1 = test_alloc(BT * D), *out2 = test_alloc(BT * D);
    float *dx1 = test_alloc(BT * D), *dx2 = test_alloc(BT * D), *eye = test_alloc(HD * HD);
    float *dbuf1 = test_alloc(13 * 512), *dbuf2 = test_alloc(13 * 512);
    int i;
    memset(&w, 0, sizeof w);
    w.qkv_a_proj_weight = rand_tensor((Cq + Ckv) * D, rng, 0.0f, 0.4f);
    w.qkv_a_proj_bias = rand_tensor(Cq + Ckv, rng, 0.0f, 0.2f);
    w.q_a_norm_weight = rand_tensor(Cq, rng, 1.0f, 0.2f);
    w.kv_a_norm_weight = rand_tensor(Ckv, rng, 1.0f, 0.2f);
    w.q_b_proj_weight = rand_tensor(HD * Cq, rng, 0.0f, 0.4f);
    w.kv_b_proj_weight = rand_tensor(2 * HD * Ckv, rng, 0.0f, 0.4f);
    w.o_proj_weight = rand_tensor(D * HD, rng, 0.0f, 0.4f);
    w.o_proj_bias = rand_tensor(D, rng, 0.0f, 0.2f);
    for (i = 0; i < HD; i++) eye[i * HD + i] = 1.0f;
    w.o_a_proj_weight = eye;
    w.o_b_proj_weight = w.o_proj_weight;
    w.o_b_proj_bias = w.o_proj_bias;
    grad_views(&dw1, &w, dbuf1);
    grad_views(&dw2, &w, dbuf2);
    alloc_attn(&a1, &g1, BT, B, H, T, HD);
    alloc_attn(&a2, &g2, BT, B, H, T, HD);
    d.B = B, d.T = T, d.D = D, d.H = H, d.Dh = Dh, d.Dr = 4, d.Cq = Cq, d.Ckv = Ckv, d.Co = HD;
    d.P = P, d.eps = 1e-6f, d.causal = 1, d.dropout_p = 0.0f;
    ss_rope_tables(cos_t, sin_t, P, 4, 10000.0f);
    ss_mla_forward(out1, &a1, x, mask, NULL, &w, cos_t, sin_t, &d);
    ss_mlao_forward(out2, &a2, x, mask, NULL, &w, cos_t, sin_t, &d);
    check_tensor("equivalence: MLA-o with o_a_proj = I, o_b_proj = o_proj gives MLA (forward)",
                 out2, out1, BT * D, 1e-6, 1e-6);
    ss_mla_backward(dx1, &dw1, &g1, dout, x, &a1, &w, cos_t, sin_t, &d);
    ss_mlao_backward(dx2, &dw2, &g2, dout, x, &a2, &w, cos_t, sin_t, &d);
    check_tensor("equivalence: MLA-o with o_a_proj = I gives MLA (dinp)", dx2, dx1, BT * D, 1e-6,
                 1e-5);
    check_tensor("equivalence: MLA-o with o_a_proj = I gives MLA (dq_b_proj)",
                 dw2.q_b_proj_weight, dw1.q_b_proj_weight, HD * Cq, 1e-6, 1e-5);
    check_tensor("equivalence: MLA-o d(o_b_proj) equals MLA d(o_proj)", dw2.o_b_proj_weight,
                 dw1.o_proj_weight, D * HD, 1e-6, 1e-5);
    free_attn(&a1, &g1), free_attn(&a2, &g2);
    free(w.qkv_a_proj_weight), free(w.qkv_a_proj_bias), free(w.q_a_norm_weight);
    free(w.kv_a_norm_weight), free(w.q_b_proj_weight), free(w.kv_b_proj_weight);
    free(w.o_proj_weight), free(w.o_proj_bias), free(eye), free(x), free(dout), free(out1);
    free(out2), free(dx1), free(dx2), free(dbuf1), free(dbuf2);
}

/* MHA from MLA. RMSNorm is what keeps MLA from being a product of linear maps; it becomes the
   identity times its gain when its input has mean square exactly 1 and eps = 0. So:
     Cq = Ckv = D; qkv_a_proj = [S_q; S_kv] with S_q, S_kv random signed permutations (exactly
     orthogonal, and exact in float: S x only moves and negates entries);
     input rows x with mean(x^2) = 1 exactly (per row a shuffled, randomly signed multiset of
     5 x 0.5, 8 x 1, 3 x 1.5 for D = 16: 5/4 + 8 + 27/4 = 16), so mean((S x)^2) = 1 exactly too;
   then q_a_norm(S_q x) = g_q * (S_q x) and, in exact arithmetic,
     q = W_qb diag(g_q) S_q x,  [k | v] = W_kvb diag(g_kv) S_kv x,
   which MHA computes with qkv_proj = [W_qb diag(g_q) S_q ; W_kvb diag(g_kv) S_kv] (the composed
   products in double, rounded once) and the same o_proj. Only float rounding differs. */
static void test_mla_equals_mha(ss_rng *rng) {
    enum { B = 2, T = 6, D = 16, H = 2, Dh = 8, HD = H * Dh, BT = B * T, P = 8 };
    static const int mask[BT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    static const float mags[D] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 1, 1, 1,
                                  1,    1,    1,    1,    1,    1.5f, 1.5f, 1.5f};
    ss_attn_weights mla, mha;
    ss_attn_acts a1, a2;
    ss_attn_grads g1, g2;
    ss_attn_dims d;
    float cos_t[P * 2], sin_t[P * 2];
    float *x = test_alloc(BT * D), *out1 = test_alloc(BT * D), *out2 = test_alloc(BT * D);
    float *sa = test_alloc(2 * D * D), *gq, *gkv, *qkv = test_alloc(3 * HD * D);
    int perm[D], r, i, j, k, causal;
    for (r = 0; r < BT; r++) { /* a shuffled, signed multiset with mean square exactly 1 */
        for (i = 0; i < D; i++) perm[i] = i;
        for (i = D - 1; i > 0; i--) {
            j = (int)(ss_rng_u32(rng) % (uint32_t)(i + 1));
            k = perm[i], perm[i] = perm[j], perm[j] = k;
        }
        for (i = 0; i < D; i++) x[r * D + i] = (ss_rng_u32(rng) & 1 ? 1.0f : -1.0f) * mags[perm[i]];
    }
    for (k = 0; k < 2; k++) { /* two signed permutations stacked: qkv_a_proj (2D, D) */
        for (i = 0; i < D; i++) perm[i] = i;
        for (i = D - 1; i > 0; i--) {
            j = (int)(ss_rng_u32(rng) % (uint32_t)(i + 1));
            r = perm[i], perm[i] = perm[j], perm[j] = r;
        }
        for (i = 0; i < D; i++) sa[(k * D + i) * D + perm[i]] = ss_rng_u32(rng) & 1 ? 1.0f : -1.0f;
    }
    memset(&mla, 0, sizeof mla);
    mla.qkv_a_proj_weight = sa;
    mla.q_a_norm_weight = gq = rand_tensor(D, rng, 1.0f, 0.3f);
    mla.kv_a_norm_weight = gkv = rand_tensor(D, rng, 1.0f, 0.3f);
    mla.q_b_proj_weight = rand_tensor(HD * D, rng, 0.0f, 0.4f);
    mla.kv_b_proj_weight = rand_tensor(2 * HD * D, rng, 0.0f, 0.4f);
    mla.o_proj_weight = rand_tensor(D * HD, rng, 0.0f, 0.4f);
    mla.o_proj_bias = rand_tensor(D, rng, 0.0f, 0.2f);
    /* qkv_proj rows: [q | k | v] = [W_qb diag(g_q) S_q ; W_kvb diag(g_kv) S_kv] */
    for (r = 0; r < 3 * HD; r++)
        for (j = 0; j < D; j++) {
            const float *wb =
                r < HD ? mla.q_b_proj_weight + r * D : mla.kv_b_proj_weight + (r - HD) * D;
            const float *g = r < HD ? gq : gkv, *s = r < HD ? sa : sa + D * D;
            double acc = 0.0;
            for (i = 0; i < D; i++) acc += (double)wb[i] * g[i] * s[i * D + j];
            qkv[r * D + j] = (float)acc;
        }
    memset(&mha, 0, sizeof mha);
    mha.qkv_proj_weight = qkv;
    mha.o_proj_weight = mla.o_proj_weight;
    mha.o_proj_bias = mla.o_proj_bias;
    alloc_attn(&a1, &g1, BT, B, H, T, HD);
    alloc_attn(&a2, &g2, BT, B, H, T, HD);
    ss_rope_tables(cos_t, sin_t, P, 4, 10000.0f);
    for (causal = 0; causal < 2; causal++) {
        char name[160];
        d.B = B, d.T = T, d.D = D, d.H = H, d.Dh = Dh, d.Dr = 4, d.Cq = D, d.Ckv = D, d.Co = 0;
        d.P = P, d.eps = 0.0f, d.causal = causal, d.dropout_p = 0.0f;
        ss_mla_forward(out1, &a1, x, mask, NULL, &mla, cos_t, sin_t, &d);
        ss_mha_forward(out2, &a2, x, mask, NULL, &mha, cos_t, sin_t, &d);
        snprintf(name, sizeof name,
                 "equivalence: MHA with qkv_proj composed from MLA factors gives MLA "
                 "(Dr 4 of Dh 8, padding%s)",
                 causal ? ", causal" : "");
        check_tensor(name, out2, out1, BT * D, 2e-6, 2e-5);
        test_true(a1.q_rstd[0] == 1.0f && a1.kv_rstd[BT - 1] == 1.0f,
                  "equivalence: the latent RMSNorms divide by exactly 1 (the construction holds)");
    }
    free_attn(&a1, &g1), free_attn(&a2, &g2);
    free(x), free(out1), free(out2), free(sa), free(gq), free(gkv), free(qkv);
    free(mla.q_b_proj_weight), free(mla.kv_b_proj_weight), free(mla.o_proj_weight);
    free(mla.o_proj_bias);
}

/* ---- padding, counts, names ------------------------------------------------------------- */

/* Appending padding (key_mask 0, target -100) leaves h and per-row losses of real tokens alone. */
static void test_padding_invariance(ss_rng *rng) {
    enum { B = 2, T1 = 5, T2 = 8 };
    ss_config c = tiny_config();
    ss_model m;
    batch a, b;
    float *h1 = test_alloc(B * T1 * 16), *l1 = test_alloc(B * T1), *h2 = test_alloc(B * T1 * 16);
    float *l2 = test_alloc(B * T1);
    ss_model_stats s1, s2;
    int causal, r, t;
    for (causal = 0; causal < 2; causal++) {
        char name[128];
        c.num_dense_layers = 1, c.causal = causal;
        build(&m, &c, SS_HEAD_MLM, B, T2, 5);
        perturb_vectors(&m, rng);
        make_batch(&a, B, T1, 0, SS_HEAD_MLM, &c, rng);
        memset(&b, 0, sizeof b);
        b.B = B, b.T = T2;
        for (r = 0; r < B; r++)
            for (t = 0; t < T2; t++) {
                int in = t < T1;
                b.ids[r * T2 + t] = in ? a.ids[r * T1 + t] : (int)(ss_rng_u32(rng) % 37u);
                b.mask[r * T2 + t] = in;
                b.targets[r * T2 + t] = in ? a.targets[r * T1 + t] : SS_IGNORE_INDEX;
            }
        run_forward(&m, &a, 0, 0, &s1); /* no mask at all */
        memcpy(h1, m.acts.h, sizeof(float) * B * T1 * 16);
        memcpy(l1, m.acts.losses, sizeof(float) * B * T1);
        run_forward(&m, &b, 1, 0, &s2);
        for (r = 0; r < B; r++)
            for (t = 0; t < T1; t++) {
                memcpy(h2 + (r * T1 + t) * 16, m.acts.h + (r * T2 + t) * 16, 16 * sizeof(float));
                l2[r * T1 + t] = m.acts.losses[r * T2 + t];
            }
        snprintf(name, sizeof name, "padding invariance%s: h at real positions",
                 causal ? " (causal)" : "");
        check_tensor(name, h2, h1, B * T1 * 16, 1e-5, 0.0);
        snprintf(name, sizeof name, "padding invariance%s: per-row MLM losses",
                 causal ? " (causal)" : "");
        check_tensor(name, l2, l1, B * T1, 1e-5, 0.0);
        test_true(s1.kept == s2.kept && fabs(s1.loss - s2.loss) < 1e-5,
                  causal ? "padding invariance (causal): mean loss and kept rows"
                         : "padding invariance: mean loss and kept rows");
        ss_model_free(&m);
    }
    free(h1), free(l1), free(h2), free(l2);
}

static ss_config seed_config(int variant) { /* 0 MHA, 1 MLA, 2 MLA-o, 3 test_config (SPEC 1.1) */
    ss_config c;
    ss_config_default(&c); /* MLA-o */
    if (variant == 0) {
        c.num_dense_layers = 6, c.q_latent_dim = 0, c.kv_latent_dim = 0, c.rope_dims = 32;
        c.output_subspace = 0, c.o_latent_dim = -1;
    } else if (variant == 1) {
        c.rope_dims = 16, c.output_subspace = 0;
    } else if (variant == 3) {
        c.num_dense_layers = 2, c.kv_latent_dim = 48, c.rope_dims = 16, c.vocab_subspace = 1;
        c.vocab_rank = 128;
    }
    return c;
}

static void test_param_counts(void) {
    static const char *names[4] = {"MHA", "MLA", "MLA-o", "test_config"};
    static const size_t want[4] = {14121984u, 13286976u, 13090368u, 9609408u};
    ss_model_sizes sz, szc;
    ss_model m;
    ss_config c;
    int v;
    for (v = 0; v < 4; v++) {
        char name[128];
        ss_config cfg = seed_config(v);
        ss_result r = ss_model_memory_size(&sz, &cfg, SS_HEAD_MLM, 1, 1);
        snprintf(name, sizeof name, "parameter count: %s = %zu (want %zu)", names[v],
                 sz.param_count, want[v]);
        test_true(r == SS_OK && sz.param_count == want[v], name);
    }
    c = seed_config(2);
    ss_model_memory_size(&sz, &c, SS_HEAD_MLM, 1, 1);
    ss_model_memory_size(&szc, &c, SS_HEAD_CLASSIFIER, 1, 1);
    test_true(szc.param_count - sz.param_count == 66306u,
              "parameter count: the classifier head adds 65,792 + 514 = 66,306");
    c = tiny_config();
    ss_model_memory_size(&sz, &c, SS_HEAD_MLM, 2, 6);
    build(&m, &c, SS_HEAD_MLM, 2, 6, 1);
    test_true(ss_model_param_count(&m) == sz.param_count && m.sizes.total_bytes == sz.total_bytes &&
                  sz.total_bytes >= sz.param_bytes + sz.act_bytes + sz.act_grad_bytes,
              "memory size: ss_model_memory_size matches the built model");
    printf("# tiny MLA-o model (B 2, T 6): %zu parameters, %zu param bytes, %zu activation bytes, "
           "%zu activation-gradient bytes\n", sz.param_count, sz.param_bytes, sz.act_bytes,
           sz.act_grad_bytes);
    ss_model_free(&m);
}

/* names and shapes of SPEC 8 */
typedef struct name_shape {
    const char *name;
    int d0, d1; /* d1 = 0: a vector */
} name_shape;

static int registry_is(const ss_model *m, const name_shape *want, int n, const char *title) {
    int i, ok = m->params.count == n;
    for (i = 0; i < n; i++) {
        int k = ss_params_find(&m->params, want[i].name);
        const ss_tensor *t = k >= 0 ? &m->params.tensors[k] : NULL;
        if (!t || t->ndim != (want[i].d1 ? 2 : 1) || t->shape[0] != want[i].d0 ||
            (want[i].d1 && t->shape[1] != want[i].d1) ||
            ((t->flags & SS_PARAM_NO_DECAY) != 0) != (want[i].d1 == 0)) {
            printf("  %s: %s missing or wrong shape/flags\n", title, want[i].name);
            ok = 0;
        }
    }
    if (m->params.count != n) printf("  %s: %d tensors, want %d\n", title, m->params.count, n);
    test_true(ok, title);
    return ok;
}

static void test_names(void) {
    /* V 37, D 16, F 24, H*Dh 16, Cq 12, Ckv 10, Co 9; layer 0 MHA, layer 1 MLA-o */
    static const name_shape plain[] = {
        {"encoder_model.vocab_embed.weight", 37, 16},
        {"encoder_model.layers.0.attn_input_norm.weight", 16, 0},
        {"encoder_model.layers.0.self_attn.qkv_proj.weight", 48, 16},
        {"encoder_model.layers.0.self_attn.o_proj.weight", 16, 16},
        {"encoder_model.layers.0.ffn_input_norm.weight", 16, 0},
        {"encoder_model.layers.0.ffn.W_in.weight", 24, 16},
        {"encoder_model.layers.0.ffn.W_in.bias", 24, 0},
        {"encoder_model.layers.0.ffn.W_gate.weight", 24, 16},
        {"encoder_model.layers.0.ffn.W_gate.bias", 24, 0},
        {"encoder_model.layers.0.ffn.W_out.weight", 16, 24},
        {"encoder_model.layers.0.ffn.W_out.bias", 16, 0},
        {"encoder_model.layers.1.attn_input_norm.weight", 16, 0},
        {"encoder_model.layers.1.self_attn.qkv_a_proj.weight", 22, 16},
        {"encoder_model.layers.1.self_attn.q_a_norm.weight", 12, 0},
        {"encoder_model.layers.1.self_attn.kv_a_norm.weight", 10, 0},
        {"encoder_model.layers.1.self_attn.q_b_proj.weight", 16, 12},
        {"encoder_model.layers.1.self_attn.kv_b_proj.weight", 32, 10},
        {"encoder_model.layers.1.self_attn.o_a_proj.weight", 9, 16},
        {"encoder_model.layers.1.self_attn.o_b_proj.weight", 16, 9},
        {"encoder_model.layers.1.ffn_input_norm.weight", 16, 0},
        {"encoder_model.layers.1.ffn.W_in.weight", 24, 16},
        {"encoder_model.layers.1.ffn.W_in.bias", 24, 0},
        {"encoder_model.layers.1.ffn.W_gate.weight", 24, 16},
        {"encoder_model.layers.1.ffn.W_gate.bias", 24, 0},
        {"encoder_model.layers.1.ffn.W_out.weight", 16, 24},
        {"encoder_model.layers.1.ffn.W_out.bias", 16, 0},
    };
    /* attention_bias, MLA (o_proj), decomposed FFN (rank 7), vocab subspace (rank 6), classifier */
    static const name_shape full[] = {
        {"encoder_model.vocab_embed.weight", 37, 6},
        {"encoder_model.vocab_proj.weight", 16, 6},
        {"encoder_model.layers.0.attn_input_norm.weight", 16, 0},
        {"encoder_model.layers.0.self_attn.qkv_proj.weight", 48, 16},
        {"encoder_model.layers.0.self_attn.qkv_proj.bias", 48, 0},
        {"encoder_model.layers.0.self_attn.o_proj.weight", 16, 16},
        {"encoder_model.layers.0.self_attn.o_proj.bias", 16, 0},
        {"encoder_model.layers.0.ffn_input_norm.weight", 16, 0},
        {"encoder_model.layers.0.ffn.W_in.weight", 24, 16},
        {"encoder_model.layers.0.ffn.W_in.bias", 24, 0},
        {"encoder_model.layers.0.ffn.W_gate.weight", 24, 16},
        {"encoder_model.layers.0.ffn.W_gate.bias", 24, 0},
        {"encoder_model.layers.0.ffn.W_out.weight", 16, 24},
        {"encoder_model.layers.0.ffn.W_out.bias", 16, 0},
        {"encoder_model.layers.1.attn_input_norm.weight", 16, 0},
        {"encoder_model.layers.1.self_attn.qkv_a_proj.weight", 22, 16},
        {"encoder_model.layers.1.self_attn.qkv_a_proj.bias", 22, 0},
        {"encoder_model.layers.1.self_attn.q_a_norm.weight", 12, 0},
        {"encoder_model.layers.1.self_attn.kv_a_norm.weight", 10, 0},
        {"encoder_model.layers.1.self_attn.q_b_proj.weight", 16, 12},
        {"encoder_model.layers.1.self_attn.kv_b_proj.weight", 32, 10},
        {"encoder_model.layers.1.self_attn.o_proj.weight", 16, 16},
        {"encoder_model.layers.1.self_attn.o_proj.bias", 16, 0},
        {"encoder_model.layers.1.ffn_input_norm.weight", 16, 0},
        {"encoder_model.layers.1.ffn.W_in_shared.weight", 7, 16},
        {"encoder_model.layers.1.ffn.W_in_shared_norm.weight", 7, 0},
        {"encoder_model.layers.1.ffn.W_in.weight", 24, 7},
        {"encoder_model.layers.1.ffn.W_in.bias", 24, 0},
        {"encoder_model.layers.1.ffn.W_gate_shared.weight", 7, 16},
        {"encoder_model.layers.1.ffn.W_gate_shared_norm.weight", 7, 0},
        {"encoder_model.layers.1.ffn.W_gate.weight", 24, 7},
        {"encoder_model.layers.1.ffn.W_gate.bias", 24, 0},
        {"encoder_model.layers.1.ffn.W_out.weight", 7, 24},
        {"encoder_model.layers.1.ffn.W_out_shared.weight", 16, 7},
        {"encoder_model.layers.1.ffn.W_out_shared.bias", 16, 0},
        {"dense.weight", 16, 16},
        {"dense.bias", 16, 0},
        {"classifier.weight", 2, 16},
        {"classifier.bias", 2, 0},
    };
    static const name_shape mlao_bias[] = {
        {"encoder_model.layers.0.self_attn.o_b_proj.bias", 16, 0},
        {"encoder_model.layers.0.self_attn.qkv_a_proj.bias", 22, 0},
    };
    ss_config c = tiny_config();
    ss_model m;
    int i, gains = 1;
    c.num_hidden_layers = 2, c.num_dense_layers = 1;
    build(&m, &c, SS_HEAD_MLM, 1, 2, 3);
    registry_is(&m, plain, (int)(sizeof plain / sizeof plain[0]),
                "names: MHA layer + MLA-o layer, exactly the SPEC 8 names, shapes, no-decay flags");
    for (i = 0; i < m.params.count; i++) { /* BERT init: gains 1, biases 0 */
        const ss_tensor *t = &m.params.tensors[i];
        const float want = strstr(t->name, "norm") ? 1.0f : 0.0f;
        if (t->ndim == 1 && ss_params_data(&m.params, i)[0] != want) gains = 0;
    }
    test_true(gains, "init: RMSNorm gains 1, biases 0");
    ss_model_free(&m);
    c.attention_bias = 1, c.output_subspace = 0, c.ffn_decompose = 1, c.vocab_subspace = 1;
    build(&m, &c, SS_HEAD_CLASSIFIER, 1, 2, 3);
    registry_is(&m, full, (int)(sizeof full / sizeof full[0]),
                "names: attention_bias, MLA, decomposed FFN, vocab subspace, classifier head");
    ss_model_free(&m);
    c = tiny_config();
    c.attention_bias = 1, c.num_hidden_layers = 1;
    build(&m, &c, SS_HEAD_MLM, 1, 2, 3);
    test_true(ss_params_find(&m.params, mlao_bias[0].name) >= 0 &&
                  ss_params_find(&m.params, mlao_bias[1].name) >= 0 && m.params.count == 18 &&
                  ss_params_find(&m.params, "encoder_model.layers.0.self_attn.q_b_proj.bias") < 0 &&
                  ss_params_find(&m.params, "encoder_model.layers.0.self_attn.o_a_proj.bias") < 0,
              "names: MLA-o with attention_bias has qkv_a_proj.bias, o_b_proj.bias only");
    ss_model_free(&m);
}

/* ---- determinism, accumulation, caller memory ------------------------------------------ */

static int same_floats(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static void test_determinism(ss_rng *rng) {
    ss_config c = tiny_config();
    ss_model a, b;
    batch bt;
    ss_model_stats sa, sb;
    float *g1;
    c.num_dense_layers = 1, c.attention_dropout_prob = 0.2, c.max_position_embeddings = 8;
    build(&a, &c, SS_HEAD_MLM, 3, 8, 42);
    build(&b, &c, SS_HEAD_MLM, 3, 8, 42);
    make_batch(&bt, 3, 8, 1, SS_HEAD_MLM, &c, rng);
    test_true(same_floats(a.params.param, b.params.param, a.params.numel),
              "determinism: same seed, bit-identical parameters");
    run_forward(&a, &bt, 1, 1, &sa);
    run_forward(&b, &bt, 1, 1, &sb);
    test_true(memcmp(&sa.loss, &sb.loss, sizeof sa.loss) == 0 && sa.loss_sum == sb.loss_sum,
              "determinism: same seed, bit-identical training loss (dropout on)");
    ss_model_free(&b);
    build(&b, &c, SS_HEAD_MLM, 3, 8, 43);
    test_true(!same_floats(a.params.param, b.params.param, a.params.numel),
              "determinism: another seed, other parameters");
    ss_model_free(&b);

    /* accumulation: two backward calls add the gradient twice */
    g1 = test_alloc(a.params.numel);
    ss_model_zero_grad(&a);
    run_forward(&a, &bt, 1, 0, NULL);
    ss_model_backward(&a, 1.0f);
    memcpy(g1, a.params.grad, a.params.numel * sizeof(float));
    ss_model_backward(&a, 1.0f);
    {
        size_t i;
        for (i = 0; i < a.params.numel; i++) g1[i] *= 2.0f;
    }
    check_tensor("accumulation: backward twice doubles every parameter gradient", a.params.grad,
                 g1, a.params.numel, 1e-7, 1e-5);
    free(g1);
#ifdef _OPENMP
    {
        int saved = omp_get_max_threads();
        float *ga = test_alloc(a.params.numel);
        ss_rng r0 = a.rng;
        omp_set_num_threads(1);
        ss_model_zero_grad(&a);
        run_forward(&a, &bt, 1, 1, &sa);
        ss_model_backward(&a, 1.0f);
        memcpy(ga, a.params.grad, a.params.numel * sizeof(float));
        omp_set_num_threads(2);
        a.rng = r0;
        ss_model_zero_grad(&a);
        run_forward(&a, &bt, 1, 1, &sb);
        ss_model_backward(&a, 1.0f);
        omp_set_num_threads(saved);
        test_true(memcmp(&sa.loss, &sb.loss, sizeof sa.loss) == 0 &&
                      same_floats(ga, a.params.grad, a.params.numel),
                  "determinism: 1 vs 2 OpenMP threads, bit-identical loss and gradients");
        free(ga);
    }
#else
    printf("# built without OpenMP: the thread-count check runs under -fopenmp\n");
#endif
    ss_model_free(&a);
}

/* ss_model_init_preallocated in NaN-filled, misaligned caller memory behaves as ss_model_init:
   nothing is read before it is written. Also: no targets runs the encoder only. */
static void test_preallocated(ss_rng *rng) {
    ss_config c = tiny_config();
    ss_model a, b;
    ss_model_sizes sz;
    batch bt;
    ss_model_stats sa, sb;
    unsigned char *raw;
    float *h = test_alloc(2 * 6 * 16);
    c.num_dense_layers = 1, c.vocab_subspace = 1, c.ffn_decompose = 1;
    ss_model_memory_size(&sz, &c, SS_HEAD_MLM, 2, 6);
    raw = (unsigned char *)malloc(sz.total_bytes + 3);
    memset(raw, 0xFF, sz.total_bytes + 3); /* NaN everywhere */
    test_true(ss_model_init_preallocated(&a, &c, SS_HEAD_MLM, 2, 6, 9, raw + 3) == SS_OK,
              "preallocated: init in caller memory");
    build(&b, &c, SS_HEAD_MLM, 2, 6, 9);
    make_batch(&bt, 2, 6, 1, SS_HEAD_MLM, &c, rng);
    ss_model_zero_grad(&a), ss_model_zero_grad(&b);
    run_forward(&a, &bt, 1, 0, &sa);
    run_forward(&b, &bt, 1, 0, &sb);
    ss_model_backward(&a, 1.0f), ss_model_backward(&b, 1.0f);
    test_true(sa.loss == sb.loss && isfinite(sa.loss) &&
                  same_floats(a.params.grad, b.params.grad, a.params.numel),
              "preallocated: NaN-filled misaligned memory gives the same loss and gradients");
    memcpy(h, b.acts.h, sizeof(float) * 2 * 6 * 16);
    ss_model_forward(&b, &sb, bt.ids, bt.mask, NULL, NULL, 2, 6, 0);
    test_true(same_floats(h, b.acts.h, 2 * 6 * 16) && sb.kept == 0 && sb.loss == 0.0f,
              "forward without targets: same hidden states, no loss");
    ss_model_free(&a);
    ss_model_free(&b);
    test_true(a.memory == NULL && a.params.count == 0, "free: leaves the struct zeroed");
    ss_model_free(&a); /* twice is harmless */
    free(raw), free(h);
}

/* ---- config validation and allocation failures ------------------------------------------ */

static void test_validation(void) {
    ss_config c;
    int i, all = 1;
    const struct {
        const char *what, *key;
        int which;
    } cases[] = {
        {"rope_dims odd", "rope_dims", 0},
        {"rope_dims > head_dim", "rope_dims", 1},
        {"rope_dims 0", "rope_dims", 2},
        {"hidden_size 0", "hidden_size", 3},
        {"vocab_size -1", "vocab_size", 4},
        {"num_hidden_layers 0", "num_hidden_layers", 5},
        {"intermediate_size 0", "intermediate_size", 6},
        {"num_attention_heads 0", "num_attention_heads", 7},
        {"head_dim 0", "head_dim", 8},
        {"q_latent_dim null with latent layers", "q_latent_dim", 9},
        {"kv_latent_dim null with latent layers", "kv_latent_dim", 10},
        {"o_latent_dim -1 with output_subspace", "o_latent_dim", 11},
        {"ffn_rank null with ffn_decompose", "ffn_rank", 12},
        {"vocab_rank null with vocab_subspace", "vocab_rank", 13},
        {"attention_dropout_prob 1", "attention_dropout_prob", 14},
        {"hidden_dropout_prob -0.1", "hidden_dropout_prob", 15},
        {"classifier_dropout 1.5", "classifier_dropout", 16},
        {"num_dense_layers -1", "num_dense_layers", 17},
        {"num_dense_layers L+1", "num_dense_layers", 18},
        {"max_position_embeddings 0", "max_position_embeddings", 19},
        {"num_labels 0", "num_labels", 20},
    };
    for (i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        ss_result r;
        ss_config_default(&c);
        switch (cases[i].which) {
        case 0: c.rope_dims = 5; break;
        case 1: c.rope_dims = 34; break;
        case 2: c.rope_dims = 0; break;
        case 3: c.hidden_size = 0; break;
        case 4: c.vocab_size = -1; break;
        case 5: c.num_hidden_layers = 0; break;
        case 6: c.intermediate_size = 0; break;
        case 7: c.num_attention_heads = 0; break;
        case 8: c.head_dim = 0; break;
        case 9: c.q_latent_dim = 0; break;
        case 10: c.kv_latent_dim = 0; break;
        case 11: c.o_latent_dim = -1; break;
        case 12: c.ffn_decompose = 1, c.ffn_rank = 0; break;
        case 13: c.vocab_subspace = 1, c.vocab_rank = 0; break;
        case 14: c.attention_dropout_prob = 1.0; break;
        case 15: c.hidden_dropout_prob = -0.1; break;
        case 16: c.classifier_dropout = 1.5; break;
        case 17: c.num_dense_layers = -1; break;
        case 18: c.num_dense_layers = 7; break;
        case 19: c.max_position_embeddings = 0; break;
        case 20: c.num_labels = 0; break;
        }
        r = ss_config_validate(&c);
        if (r != SS_ERR_INVALID || !detail_has(cases[i].key)) {
            printf("  %s: %s, detail '%s'\n", cases[i].what, ss_result_string(r),
                   ss_last_error_detail());
            all = 0;
        }
    }
    test_true(all, "config: ss_config_validate rejects each bad value, naming its key");
    ss_config_default(&c);
    test_true(ss_config_validate(&c) == SS_OK, "config: the default (best MLA-o) is valid");
    for (i = 0; i < 4; i++) {
        ss_config s = seed_config(i);
        all &= ss_config_validate(&s) == SS_OK;
    }
    c = seed_config(0);
    c.classifier_dropout = -1.0;
    test_true(all && ss_config_validate(&c) == SS_OK,
              "config: the seed's MHA (latents null), MLA, MLA-o and test configs are valid");
    {
        ss_model m;
        c = tiny_config();
        test_true(ss_model_init(&m, &c, SS_HEAD_MLM, 2, 9, 1) == SS_ERR_INVALID &&
                      detail_has("max_position_embeddings") && m.memory == NULL,
                  "init: max_T > max_position_embeddings rejected, naming the key");
        test_true(ss_model_init(&m, &c, SS_HEAD_CAUSAL_LM, 2, 4, 1) == SS_ERR_INVALID &&
                      detail_has("causal"),
                  "init: a causal-LM head without causal = 1 rejected");
        test_true(ss_model_init(&m, &c, SS_HEAD_MLM, 0, 4, 1) == SS_ERR_INVALID,
                  "init: max_B 0 rejected");
    }
}

static void test_allocation_failures(void) {
    int variant;
    for (variant = 0; variant < 2; variant++) {
        ss_config c = tiny_config();
        long at;
        int tried = 0, all_reported = 1, none_leaked = 1, zeroed = 1;
        char name[160];
        if (variant == 1) c.num_hidden_layers = 6, c.ffn_decompose = 1, c.num_dense_layers = 1;
        for (at = 0; at < 100; at++) {
            ss_model m;
            ss_result r;
            arm_failure(at);
            r = ss_model_init(&m, &c, SS_HEAD_CLASSIFIER, 2, 4, 1);
            if (r != SS_OK && (m.memory || m.params.tensors || m.params.count)) zeroed = 0;
            ss_model_free(&m);
            if (alloc_live != 0) none_leaked = 0;
            if (r == SS_OK) break;
            tried++;
            if (r != SS_ERR_NOMEM || ss_last_error_detail()[0] == '\0') all_reported = 0;
        }
        arm_failure(-1);
        snprintf(name, sizeof name, "alloc failure: ss_model_init (%d tensors: %d sites) reports "
                 "NOMEM, leaves the model zeroed, leaks nothing",
                 variant ? 91 : 47, tried);
        test_true(tried == (variant ? 3 : 2) && all_reported && none_leaked && zeroed, name);
    }
    {
        ss_config c = tiny_config();
        ss_model_sizes sz;
        long at;
        int tried = 0, ok = 1;
        for (at = 0; at < 100; at++) {
            ss_result r;
            arm_failure(at);
            r = ss_model_memory_size(&sz, &c, SS_HEAD_MLM, 2, 4);
            if (alloc_live != 0) ok = 0;
            if (r == SS_OK) break;
            tried++;
            if (r != SS_ERR_NOMEM) ok = 0;
        }
        arm_failure(-1);
        test_true(ok && tried == 1,
                  "alloc failure: ss_model_memory_size reports NOMEM, leaks nothing");
    }
}

int main(int argc, char **argv) {
    ss_rng rng;
    if (argc > 1 && strcmp(argv[1], "--mutate") == 0) {
        grad_scale = 1.01f;
        printf("# --mutate: backward starts from 1.01 x the loss gradient; fd checks must FAIL\n");
    }
    printf("# %s\n", ss_build_info());
    ss_rng_seed(&rng, 20261129u);
    test_validation();
    test_param_counts();
    test_names();
    test_reference(&rng);
    test_classifier_reference(&rng);
    test_mlao_equals_mla(&rng);
    test_layer_tiled_equals_full(&rng);
    test_mla_equals_mha(&rng);
    test_padding_invariance(&rng);
    test_determinism(&rng);
    test_preallocated(&rng);
    test_allocation_failures();
    test_fd(&rng);
    test_true(alloc_live == 0, "no allocation outstanding at exit");
    return test_summary("test_model");
}
