/* tools/cmd_svd.c - `ss svd --model DIR`: the seed's fused-attention SVD analysis (SPEC 4) of an
   MLA checkpoint as DeepSeek-V3/R1 and Kimi-K2 publish them (safetensors shards, FP8 E4M3 weights
   with 128x128 block scales, BF16 norms, config.json), one layer at a time, in double precision.

   Per layer, with the RMSNorm gains folded into the columns of the matrix that follows them
   (input_layernorm -> q_a_proj, q_a_layernorm -> q_b_proj, kv_a_layernorm -> kv_b_proj; --no-fold
   turns it off), and "out x in" matrices as torch stores them:
     heads     per head h: Q_h (dn,Cq), Q_pe_h (dr,Cq), K_h (dn,Ckv), V_h (dv,Ckv), O_h (dv,D) =
               o_proj's columns of head h transposed, and the fused KQ_h = K_h^T Q_h (Ckv,Cq),
               QK_h = KQ_h^T, VO_h = V_h^T O_h (Ckv,D)
     stacked   each kind's heads divided by their own largest singular value and stacked by rows
     subspaces QA = q_a_proj (Cq,D), KVA = kv_a_proj_with_mqa rows [0,Ckv), KVA_pe the last dr rows
   kv_b_proj is split per head as DeepSeek lays it out, [k_nope (dn rows); v (dv rows)] x H. The
   seed's notebook split it in two halves instead (so "K" head j was k_nope or v of head j/2) and
   divided stacked KQ by sigma_max^2: --seed-compat reproduces both, for comparison.

   Fused products never need their full size: with X^T = Q_X R_X and Y^T = Q_Y R_Y (Householder
   QR), X^T Y = Q_X (R_X R_Y^T) Q_Y^T has the singular values of the small R_X R_Y^T, and a stack
   of [X_h^T Y_h / s_h] the singular values of the stack of [R_X,h Y_h / s_h].

   Output (DIR = --out, default svd-out): DIR/layers/layer-NNN.json (every singular value; written
   crash-safe once the layer is complete, so a rerun resumes after the last finished layer),
   DIR/effective_rank.csv (every matrix's effective rank at 1% and 0.1% energy loss, SPEC 4.9),
   DIR/rank_stacked_<cols>.svg (layer-wise effective rank of the stacked heads and subspaces with
   the maximum-rank line), DIR/heads/layer-NNN.svg (head-wise ranks sorted by VO, median line), and
   with --farr the parameter counts of truncating Q/K and V/O separately against fusing first.

   Given a subspace.h checkpoint instead (a .safetensors file written by ss pretrain / finetune,
   or a checkpoint directory holding model.safetensors and no config.json), the same analysis of
   our MHA, MLA and MLA-o layers runs through tools/svd_own.c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ss.h"
#include "plot.h"
#include "svd_own.h"
#ifdef _OPENMP
#include <omp.h>
#define TOOL_OMP(text) _Pragma(text)
#else
#define TOOL_OMP(text)
#endif

/* The dimensions of an MLA checkpoint, from its config.json. */
typedef struct mla_dims {
    int layers, H, D, Cq, Ckv, dn, dr, dv;
} mla_dims;

enum { K_Q, K_QPE, K_K, K_V, K_O, K_QK, K_KQ, K_VO, N_KINDS };
static const char *const kind_names[N_KINDS] = {"Q", "Q_pe", "K", "V", "O", "QK", "KQ", "VO"};
enum { S_QA, S_KVA, S_KVAPE, N_SUBSPACES };
static const char *const subspace_names[N_SUBSPACES] = {"QA", "KVA", "KVA_pe"};

/* One layer's singular values. */
typedef struct layer_sv {
    double *heads[N_KINDS]; /* (H, n_head[k]) */
    int n_head[N_KINDS];
    double *stacked[N_KINDS];
    int n_stacked[N_KINDS];
    double *sub[N_SUBSPACES];
    int n_sub[N_SUBSPACES];
} layer_sv;

static void layer_sv_free(layer_sv *l) {
    int k;
    for (k = 0; k < N_KINDS; k++) free(l->heads[k]), free(l->stacked[k]);
    for (k = 0; k < N_SUBSPACES; k++) free(l->sub[k]);
    memset(l, 0, sizeof *l);
}

static int read_dims(const char *dir, mla_dims *d) {
    char path[1100];
    char *text;
    size_t size;
    ss_json_doc doc;
    const ss_json *root;
    int ok = 1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    memset(&doc, 0, sizeof doc);
    if (ss_file_read(path, &text, &size) != SS_OK) {
        fprintf(stderr, "ss svd: %s\n", ss_last_error_detail());
        return -1;
    }
    if (ss_json_parse(&doc, text, size, path) != SS_OK) {
        fprintf(stderr, "ss svd: %s\n", ss_last_error_detail());
        ss_free(text);
        return -1;
    }
    ss_free(text);
    root = ss_json_root(&doc);
#define GET(key, field)                                                                         \
    if (ok && ss_json_get_int(root, key, &d->field) != SS_OK) {                                 \
        fprintf(stderr, "ss svd: %s: %s\n", path, ss_last_error_detail());                    \
        ok = 0;                                                                                 \
    }
    GET("num_hidden_layers", layers)
    GET("num_attention_heads", H)
    GET("hidden_size", D)
    GET("q_lora_rank", Cq)
    GET("kv_lora_rank", Ckv)
    GET("qk_nope_head_dim", dn)
    GET("qk_rope_head_dim", dr)
    GET("v_head_dim", dv)
#undef GET
    ss_json_doc_free(&doc);
    if (ok && (d->layers < 1 || d->H < 1 || d->D < 1 || d->Cq < 1 || d->Ckv < 1 || d->dn < 1 ||
               d->dr < 0 || d->dv < 1)) {
        fprintf(stderr, "ss svd: %s: a dimension is not positive\n", path);
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* Read a tensor of the expected shape (rows, cols) (cols 0: 1-D of rows) as double. */
static double *read_tensor(ss_shards *sh, const char *name, int rows, int cols) {
    size_t n = (size_t)rows * (size_t)(cols ? cols : 1), i;
    ss_dtype dt;
    int ndim;
    int64_t shape[8];
    float *f;
    double *out;
    if (ss_shards_info(sh, name, &dt, &ndim, shape) != SS_OK) {
        fprintf(stderr, "ss svd: %s\n", ss_last_error_detail());
        return NULL;
    }
    if (ndim != (cols ? 2 : 1) || shape[0] != rows || (cols && shape[1] != cols)) {
        char got[64], want[64];
        if (ndim == 2) snprintf(got, sizeof got, "[%lld, %lld]", (long long)shape[0], (long long)shape[1]);
        else snprintf(got, sizeof got, "[%lld] (%d dims)", (long long)shape[0], ndim);
        if (cols) snprintf(want, sizeof want, "[%d, %d]", rows, cols);
        else snprintf(want, sizeof want, "[%d]", rows);
        fprintf(stderr, "ss svd: %s has shape %s, config.json implies %s\n", name, got, want);
        return NULL;
    }
    f = (float *)malloc(n * sizeof(float));
    out = (double *)malloc(n * sizeof(double));
    if (!f || !out || ss_shards_read_f32(sh, name, f, n) != SS_OK) {
        fprintf(stderr, "ss svd: %s\n", f && out ? ss_last_error_detail() : "out of memory");
        free(f), free(out);
        return NULL;
    }
    for (i = 0; i < n; i++) out[i] = f[i];
    free(f);
    return out;
}

/* Singular values (min(m,n), descending) of the (m,n) matrix A; NULL after printing on failure.
   ss_svd_values (bidiagonalization and dqds): the values alone, at a fraction of the Jacobi
   method's time on the large stacked matrices (7168 x 512 for DeepSeek-V3). */
static double *values_of(const double *A, int m, int n) {
    int k = m < n ? m : n;
    double *s = (double *)malloc((size_t)k * sizeof(double));
    ss_result r;
    if (!s) return NULL;
    r = ss_svd_values_alloc(A, m, n, n, s);
    if (r != SS_OK) {
        fprintf(stderr, "ss svd: SVD of a %dx%d matrix: %s\n", m, n, ss_last_error_detail());
        free(s);
        return NULL;
    }
    return s;
}

/* The singular values of X^T Y, X (r,p), Y (r,q): min(p,q) values, those past rank r zero.
   When p >= r and q >= r they come from R_X R_Y^T (r,r), else from the product itself. When RXY
   is not NULL it gets a (*rows, q) matrix L with L^T L = (X^T Y)^T (X^T Y): R_X Y (r rows), or
   X^T Y itself (p rows); a stack of such L has the singular values of the stack of the X^T Y.
   RXY must hold max(r,p) * q doubles. */
static double *fused_values(const double *X, const double *Y, int r, int p, int q, double *RXY,
                            int *rows) {
    int k = p < q ? p : q, i;
    double *s = (double *)calloc((size_t)k, sizeof(double)), *v = NULL;
    if (!s) return NULL;
    if (p >= r && q >= r) {
        double *RX = (double *)malloc((size_t)r * r * sizeof(double));
        double *RY = (double *)malloc((size_t)r * r * sizeof(double));
        double *M = (double *)malloc((size_t)r * r * sizeof(double));
        int kx, ky;
        if (RX && RY && M && svd_factor(X, r, p, RX, &kx) == 0 && svd_factor(Y, r, q, RY, &ky) == 0) {
            svd_matmul(RX, RY, M, r, r, r, 1);
            v = values_of(M, r, r);
            if (RXY) svd_matmul(RX, Y, RXY, r, r, q, 0), *rows = r;
        }
        free(RX), free(RY), free(M);
    } else {
        double *P = (double *)malloc((size_t)p * q * sizeof(double));
        double *XT = (double *)malloc((size_t)p * r * sizeof(double));
        int a, b;
        if (P && XT) {
            for (a = 0; a < p; a++)
                for (b = 0; b < r; b++) XT[(size_t)a * r + b] = X[(size_t)b * p + a];
            svd_matmul(XT, Y, P, p, r, q, 0);
            v = values_of(P, p, q);
            if (RXY) memcpy(RXY, P, (size_t)p * q * sizeof(double)), *rows = p;
        }
        free(P), free(XT);
    }
    if (!v) {
        free(s);
        return NULL;
    }
    for (i = 0; i < k && i < (p >= r && q >= r ? r : k); i++) s[i] = v[i];
    free(v);
    return s;
}

/* ---- one layer -------------------------------------------------------------------------------- */

typedef struct svd_opts {
    int fold, seed_compat;
} svd_opts;

/* Rows [first, first+n) of the (rows, cols) matrix W as a new (n, cols) copy. */
static double *rows_of(const double *W, int cols, int first, int n) {
    double *out = (double *)malloc((size_t)n * cols * sizeof(double));
    if (out) memcpy(out, W + (size_t)first * cols, (size_t)n * cols * sizeof(double));
    return out;
}

/* Multiply column j of W (rows, cols) by g[j]: W diag(g). */
static void fold_columns(double *W, int rows, int cols, const double *g) {
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) W[(size_t)i * cols + j] *= g[j];
}

static int analyse_layer(ss_shards *sh, const mla_dims *d, int layer, const svd_opts *o,
                         layer_sv *out, tool_progress *prog, double done_before) {
    char name[256];
    const int H = d->H, D = d->D, Cq = d->Cq, Ckv = d->Ckv, dn = d->dn, dr = d->dr, dv = d->dv;
    double *ln = NULL, *qa = NULL, *qaln = NULL, *qb = NULL, *kva = NULL, *kvaln = NULL, *kvb = NULL;
    double *op = NULL, *heads[N_KINDS] = {0}, *stackbuf[N_KINDS] = {0};
    int status = -1, h, k, stack_rows[N_KINDS] = {0}, stack_cols[N_KINDS] = {0};
    memset(out, 0, sizeof *out);
#define READ(var, suffix, r, c)                                                                 \
    snprintf(name, sizeof name, "model.layers.%d.%s", layer, suffix);                           \
    if (!(var = read_tensor(sh, name, r, c))) goto done;
    READ(ln, "input_layernorm.weight", D, 0)
    READ(qa, "self_attn.q_a_proj.weight", Cq, D)
    READ(qaln, "self_attn.q_a_layernorm.weight", Cq, 0)
    READ(qb, "self_attn.q_b_proj.weight", H * (dn + dr), Cq)
    READ(kva, "self_attn.kv_a_proj_with_mqa.weight", Ckv + dr, D)
    READ(kvaln, "self_attn.kv_a_layernorm.weight", Ckv, 0)
    READ(kvb, "self_attn.kv_b_proj.weight", H * (dn + dv), Ckv)
    READ(op, "self_attn.o_proj.weight", D, H * dv)
#undef READ
    if (o->fold) { /* SPEC 4.5: gains into the columns of the next matrix; none into KVA or O */
        fold_columns(qa, Cq, D, ln);
        fold_columns(qb, H * (dn + dr), Cq, qaln);
        fold_columns(kvb, H * (dn + dv), Ckv, kvaln);
    }
    /* subspaces */
    out->n_sub[S_QA] = Cq < D ? Cq : D;
    out->n_sub[S_KVA] = Ckv < D ? Ckv : D;
    out->n_sub[S_KVAPE] = dr < D ? dr : D;
    if (!(out->sub[S_QA] = values_of(qa, Cq, D)) || !(out->sub[S_KVA] = values_of(kva, Ckv, D)) ||
        (dr > 0 && !(out->sub[S_KVAPE] = values_of(kva + (size_t)Ckv * D, dr, D))))
        goto done;
    tool_progress_update(prog, done_before + 0.1);

    /* per-head matrices, as (rows, cols) = out x in */
    {
        int failed = 0;
        out->n_head[K_Q] = dn < Cq ? dn : Cq;
        out->n_head[K_QPE] = dr < Cq ? dr : Cq;
        out->n_head[K_K] = dn < Ckv ? dn : Ckv;
        out->n_head[K_V] = dv < Ckv ? dv : Ckv;
        out->n_head[K_O] = dv < D ? dv : D;
        out->n_head[K_QK] = out->n_head[K_KQ] = Cq < Ckv ? Cq : Ckv;
        out->n_head[K_VO] = Ckv < D ? Ckv : D;
        for (k = 0; k < N_KINDS; k++) {
            out->heads[k] = (double *)calloc((size_t)H * (out->n_head[k] ? out->n_head[k] : 1), sizeof(double));
            if (!out->heads[k]) goto done;
        }
        /* the stacks: plain kinds (H*rows, cols); fused ones through their small factors */
        stack_rows[K_Q] = H * dn, stack_cols[K_Q] = Cq;
        stack_rows[K_QPE] = H * dr, stack_cols[K_QPE] = Cq;
        stack_rows[K_K] = H * dn, stack_cols[K_K] = Ckv;
        stack_rows[K_V] = H * dv, stack_cols[K_V] = Ckv;
        stack_rows[K_O] = H * dv, stack_cols[K_O] = D;
        /* fused kinds stack their small factors (fused_values): R_Q K_h, R_K Q_h, R_V O_h */
        stack_rows[K_QK] = H * (Cq >= dn && Ckv >= dn ? dn : Cq), stack_cols[K_QK] = Ckv;
        stack_rows[K_KQ] = H * (Ckv >= dn && Cq >= dn ? dn : Ckv), stack_cols[K_KQ] = Cq;
        stack_rows[K_VO] = H * (Ckv >= dv && D >= dv ? dv : Ckv), stack_cols[K_VO] = D;
        for (k = 0; k < N_KINDS; k++) {
            if (k == K_QPE && dr == 0) continue;
            stackbuf[k] = (double *)calloc((size_t)stack_rows[k] * stack_cols[k], sizeof(double));
            if (!stackbuf[k]) goto done;
        }
        TOOL_OMP("omp parallel for schedule(dynamic, 1)")
        for (h = 0; h < H; h++) {
            double *Q, *Qpe = NULL, *K, *V, *O;
            double *s[N_KINDS] = {0};
            int i, j, kk, r_qk = 0, r_kq = 0, r_vo = 0;
            double *L_qk, *L_kq, *L_vo;
            if (failed) continue;
            Q = rows_of(qb, Cq, h * (dn + dr), dn);
            if (dr > 0) Qpe = rows_of(qb, Cq, h * (dn + dr) + dn, dr);
            if (o->seed_compat) { /* the seed's halves: "K" = first H*dn rows, "V" = the rest */
                K = rows_of(kvb, Ckv, h * dn, dn);
                V = rows_of(kvb, Ckv, H * dn + h * dv, dv);
            } else { /* DeepSeek's layout: per head [k_nope; v] */
                K = rows_of(kvb, Ckv, h * (dn + dv), dn);
                V = rows_of(kvb, Ckv, h * (dn + dv) + dn, dv);
            }
            O = (double *)malloc((size_t)dv * D * sizeof(double)); /* o_proj columns, transposed */
            L_qk = (double *)malloc((size_t)(dn > Cq ? dn : Cq) * Ckv * sizeof(double));
            L_kq = (double *)malloc((size_t)(dn > Ckv ? dn : Ckv) * Cq * sizeof(double));
            L_vo = (double *)malloc((size_t)(dv > Ckv ? dv : Ckv) * D * sizeof(double));
            if (!Q || (dr > 0 && !Qpe) || !K || !V || !O || !L_qk || !L_kq || !L_vo) {
                failed = 1;
            } else {
                for (i = 0; i < dv; i++)
                    for (j = 0; j < D; j++) O[(size_t)i * D + j] = op[(size_t)j * (H * dv) + h * dv + i];
                s[K_Q] = values_of(Q, dn, Cq);
                s[K_QPE] = dr > 0 ? values_of(Qpe, dr, Cq) : NULL;
                s[K_K] = values_of(K, dn, Ckv);
                s[K_V] = values_of(V, dv, Ckv);
                s[K_O] = values_of(O, dv, D);
                s[K_KQ] = fused_values(K, Q, dn, Ckv, Cq, L_kq, &r_kq); /* K^T Q (Ckv,Cq) */
                s[K_QK] = fused_values(Q, K, dn, Cq, Ckv, L_qk, &r_qk); /* Q^T K (Cq,Ckv) */
                s[K_VO] = fused_values(V, O, dv, Ckv, D, L_vo, &r_vo);  /* V^T O (Ckv,D) */
                for (kk = 0; kk < N_KINDS; kk++)
                    if (!s[kk] && !(kk == K_QPE && dr == 0)) failed = 1;
            }
            if (!failed) {
                /* record the head's values and its normalised block of every stack */
                const double *blocks[N_KINDS];
                int brows[N_KINDS], bcols[N_KINDS];
                blocks[K_Q] = Q, brows[K_Q] = dn, bcols[K_Q] = Cq;
                blocks[K_QPE] = Qpe, brows[K_QPE] = dr, bcols[K_QPE] = Cq;
                blocks[K_K] = K, brows[K_K] = dn, bcols[K_K] = Ckv;
                blocks[K_V] = V, brows[K_V] = dv, bcols[K_V] = Ckv;
                blocks[K_O] = O, brows[K_O] = dv, bcols[K_O] = D;
                blocks[K_QK] = L_qk, brows[K_QK] = r_qk, bcols[K_QK] = Ckv;
                blocks[K_KQ] = L_kq, brows[K_KQ] = r_kq, bcols[K_KQ] = Cq;
                blocks[K_VO] = L_vo, brows[K_VO] = r_vo, bcols[K_VO] = D;
                for (kk = 0; kk < N_KINDS; kk++) {
                    double smax, scale;
                    size_t base, n;
                    if (kk == K_QPE && dr == 0) continue;
                    memcpy(out->heads[kk] + (size_t)h * out->n_head[kk], s[kk], (size_t)out->n_head[kk] * sizeof(double));
                    smax = s[kk][0];
                    scale = smax > 0 ? 1.0 / smax : 0.0;
                    if (o->seed_compat && kk == K_KQ) scale *= scale; /* the seed's sigma_max^2 */
                    n = (size_t)brows[kk] * bcols[kk];
                    base = (size_t)h * n; /* head h's block: the same place for any thread count */
                    for (i = 0; i < (int)n; i++) stackbuf[kk][base + i] = blocks[kk][i] * scale;
                }
            }
            for (kk = 0; kk < N_KINDS; kk++) free(s[kk]);
            free(Q), free(Qpe), free(K), free(V), free(O), free(L_qk), free(L_kq), free(L_vo);
            TOOL_OMP("omp critical")
            tool_progress_update(prog, done_before + 0.1 + 0.4 * (h + 1) / H);
        }
        if (failed) goto done;
    }
    /* the stacked heads */
    for (k = 0; k < N_KINDS; k++) {
        int m = stack_rows[k], n = stack_cols[k];
        if (k == K_QPE && dr == 0) continue;
        out->n_stacked[k] = m < n ? m : n;
        if (!(out->stacked[k] = values_of(stackbuf[k], m, n))) goto done;
        tool_progress_update(prog, done_before + 0.5 + 0.5 * (k + 1) / N_KINDS);
    }
    status = 0;
done:
    free(ln), free(qa), free(qaln), free(qb), free(kva), free(kvaln), free(kvb), free(op);
    for (k = 0; k < N_KINDS; k++) free(heads[k]), free(stackbuf[k]);
    if (status != 0) layer_sv_free(out);
    return status;
}

/* ---- output ----------------------------------------------------------------------------------- */

static void write_values(ss_json_writer *w, const double *s, int n) {
    int i;
    ss_json_write_begin_array(w);
    for (i = 0; i < n; i++) ss_json_write_number(w, (double)(float)s[i]);
    ss_json_write_end_array(w);
}

static int save_layer(const char *dir, int layer, const mla_dims *d, const svd_opts *o,
                      const layer_sv *l) {
    char path[1200];
    ss_json_writer w;
    int k, h, status = -1;
    ss_json_writer_init(&w, 0);
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "layer"), ss_json_write_int(&w, layer);
    ss_json_write_key(&w, "heads_count"), ss_json_write_int(&w, d->H);
    ss_json_write_key(&w, "fold_norms"), ss_json_write_bool(&w, o->fold);
    ss_json_write_key(&w, "kv_split"), ss_json_write_string(&w, o->seed_compat ? "seed-halves" : "per-head");
    ss_json_write_key(&w, "subspaces");
    ss_json_write_begin_object(&w);
    for (k = 0; k < N_SUBSPACES; k++)
        if (l->sub[k]) ss_json_write_key(&w, subspace_names[k]), write_values(&w, l->sub[k], l->n_sub[k]);
    ss_json_write_end_object(&w);
    ss_json_write_key(&w, "stacked");
    ss_json_write_begin_object(&w);
    for (k = 0; k < N_KINDS; k++)
        if (l->stacked[k]) ss_json_write_key(&w, kind_names[k]), write_values(&w, l->stacked[k], l->n_stacked[k]);
    ss_json_write_end_object(&w);
    ss_json_write_key(&w, "heads");
    ss_json_write_begin_object(&w);
    for (k = 0; k < N_KINDS; k++) {
        if (!l->heads[k] || l->n_head[k] == 0) continue;
        ss_json_write_key(&w, kind_names[k]);
        ss_json_write_begin_array(&w);
        for (h = 0; h < d->H; h++) write_values(&w, l->heads[k] + (size_t)h * l->n_head[k], l->n_head[k]);
        ss_json_write_end_array(&w);
    }
    ss_json_write_end_object(&w);
    ss_json_write_end_object(&w);
    snprintf(path, sizeof path, "%s/layers/layer-%03d.json", dir, layer);
    if (ss_json_writer_finish(&w) == SS_OK && ss_file_write_atomic(path, w.text, w.length) == SS_OK)
        status = 0;
    else
        fprintf(stderr, "ss svd: %s not written: %s\n", path, ss_last_error_detail());
    ss_json_writer_free(&w);
    return status;
}

/* Read a finished layer file back (for the CSV and plots of a resumed run). */
static int load_layer(const char *dir, int layer, const mla_dims *d, layer_sv *l) {
    char path[1200];
    char *text;
    size_t size;
    ss_json_doc doc;
    const ss_json *root, *g;
    int k, h, ok = 1;
    memset(l, 0, sizeof *l);
    memset(&doc, 0, sizeof doc);
    snprintf(path, sizeof path, "%s/layers/layer-%03d.json", dir, layer);
    if (access(path, R_OK) != 0) return 1; /* not done yet */
    if (ss_file_read(path, &text, &size) != SS_OK) return -1;
    if (ss_json_parse(&doc, text, size, path) != SS_OK) {
        fprintf(stderr, "ss svd: %s (delete it to recompute the layer)\n", ss_last_error_detail());
        ss_free(text);
        return -1;
    }
    ss_free(text);
    root = ss_json_root(&doc);
    for (k = 0; k < N_SUBSPACES && ok; k++) {
        const ss_json *a = (g = ss_json_get(root, "subspaces")) ? ss_json_get(g, subspace_names[k]) : NULL;
        size_t i, n = a ? ss_json_count(a) : 0;
        if (!a) continue;
        l->sub[k] = (double *)malloc((n ? n : 1) * sizeof(double));
        l->n_sub[k] = (int)n;
        for (i = 0; i < n && l->sub[k]; i++) ok &= ss_json_as_double(ss_json_at(a, i), &l->sub[k][i]) == SS_OK;
    }
    for (k = 0; k < N_KINDS && ok; k++) {
        const ss_json *a = (g = ss_json_get(root, "stacked")) ? ss_json_get(g, kind_names[k]) : NULL;
        const ss_json *hs = (g = ss_json_get(root, "heads")) ? ss_json_get(g, kind_names[k]) : NULL;
        size_t i, n = a ? ss_json_count(a) : 0, nh;
        if (a) {
            l->stacked[k] = (double *)malloc((n ? n : 1) * sizeof(double));
            l->n_stacked[k] = (int)n;
            for (i = 0; i < n && l->stacked[k]; i++)
                ok &= ss_json_as_double(ss_json_at(a, i), &l->stacked[k][i]) == SS_OK;
        }
        if (hs && ss_json_count(hs) == (size_t)d->H) {
            nh = ss_json_count(ss_json_at(hs, 0));
            l->n_head[k] = (int)nh;
            l->heads[k] = (double *)calloc((size_t)d->H * (nh ? nh : 1), sizeof(double));
            for (h = 0; h < d->H && l->heads[k]; h++)
                for (i = 0; i < nh && i < ss_json_count(ss_json_at(hs, (size_t)h)); i++)
                    ok &= ss_json_as_double(ss_json_at(ss_json_at(hs, (size_t)h), i),
                                            &l->heads[k][(size_t)h * nh + i]) == SS_OK;
        }
    }
    ss_json_doc_free(&doc);
    if (!ok) {
        fprintf(stderr, "ss svd: %s: malformed values (delete it to recompute the layer)\n", path);
        layer_sv_free(l);
        return -1;
    }
    return 0;
}

/* ---- effective ranks, plots, FaRR ----------------------------------------------------------- */

static void csv_rows(FILE *f, int layer, const char *group, const char *name, int head,
                     const double *s, int n, int max_rank) {
    fprintf(f, "%d,%s,%s,%d,%d,%d,%d\n", layer, group, name, head, max_rank,
            ss_effective_rank(s, n, 0.01), ss_effective_rank(s, n, 0.001));
}

static void write_csv(FILE *f, int layer, const mla_dims *d, const layer_sv *l) {
    int k, h;
    for (k = 0; k < N_SUBSPACES; k++)
        if (l->sub[k]) csv_rows(f, layer, "subspace", subspace_names[k], -1, l->sub[k], l->n_sub[k], l->n_sub[k]);
    for (k = 0; k < N_KINDS; k++)
        if (l->stacked[k]) csv_rows(f, layer, "stacked", kind_names[k], -1, l->stacked[k], l->n_stacked[k], l->n_stacked[k]);
    for (k = 0; k < N_KINDS; k++)
        for (h = 0; h < d->H && l->heads[k] && l->n_head[k] > 0; h++)
            csv_rows(f, layer, "head", kind_names[k], h, l->heads[k] + (size_t)h * l->n_head[k], l->n_head[k], l->n_head[k]);
}

static int cmp_by_key(const void *a, const void *b) {
    const double *x = (const double *)a, *y = (const double *)b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Layer-wise effective rank (0.1% loss) of the stacked heads and subspaces, one chart per
   number of columns (the maximum rank), with that maximum drawn. */
static void plot_layerwise(const char *dir, const layer_sv *ls, const int *layer_ids, int n_layers) {
    int widths[16], n_widths = 0, w, k, i;
    for (i = 0; i < n_layers; i++) {
        for (k = 0; k < N_KINDS + N_SUBSPACES; k++) {
            int n = k < N_KINDS ? ls[i].n_stacked[k] : ls[i].n_sub[k - N_KINDS], j;
            if (n <= 0) continue;
            for (j = 0; j < n_widths && widths[j] != n; j++) {}
            if (j == n_widths && n_widths < 16) widths[n_widths++] = n;
        }
    }
    for (w = 0; w < n_widths; w++) {
        plot_series series[N_KINDS + N_SUBSPACES];
        double *x = (double *)malloc((size_t)n_layers * sizeof(double));
        double *y = (double *)malloc((size_t)(N_KINDS + N_SUBSPACES) * n_layers * sizeof(double));
        char path[1200], title[160], maxl[64];
        plot_spec spec;
        plot_hline hl;
        int ns = 0;
        if (!x || !y) {
            free(x), free(y);
            return;
        }
        memset(&spec, 0, sizeof spec);
        memset(series, 0, sizeof series);
        for (i = 0; i < n_layers; i++) x[i] = layer_ids[i];
        for (k = 0; k < N_KINDS + N_SUBSPACES; k++) {
            int any = 0;
            double *yy = y + (size_t)ns * n_layers;
            for (i = 0; i < n_layers; i++) {
                const double *s = k < N_KINDS ? ls[i].stacked[k] : ls[i].sub[k - N_KINDS];
                int n = k < N_KINDS ? ls[i].n_stacked[k] : ls[i].n_sub[k - N_KINDS];
                yy[i] = s && n == widths[w] ? ss_effective_rank(s, n, 0.001) : NAN;
                any |= s && n == widths[w];
            }
            if (!any) continue;
            series[ns].name = k < N_KINDS ? kind_names[k] : subspace_names[k - N_KINDS];
            series[ns].x = x, series[ns].y = yy, series[ns].n = n_layers;
            series[ns].dashed = k >= N_KINDS;
            ns++;
        }
        snprintf(title, sizeof title, "Stacked heads and (dashed) latent subspaces of max rank %d: "
                 "effective rank at 0.1%% loss", widths[w]);
        snprintf(maxl, sizeof maxl, "max rank %d", widths[w]);
        hl.y = widths[w], hl.label = maxl;
        spec.title = title, spec.xlabel = "layer", spec.ylabel = "effective rank";
        spec.y_min = 0, spec.y_max = 1.05 * widths[w];
        spec.hlines = &hl, spec.n_hlines = 1, spec.markers = 1;
        snprintf(path, sizeof path, "%s/rank_stacked_%d.svg", dir, widths[w]);
        plot_lines_svg(path, &spec, series, ns);
        free(x), free(y);
    }
}

/* Head-wise ranks of one layer, heads sorted by VO's rank, with the median of VO. */
static void plot_heads(const char *dir, int layer, const mla_dims *d, const layer_sv *l) {
    const int kinds[5] = {K_Q, K_K, K_V, K_O, K_VO};
    double *order = (double *)malloc((size_t)d->H * 2 * sizeof(double));
    double *x = (double *)malloc((size_t)d->H * sizeof(double));
    double *y = (double *)malloc((size_t)5 * d->H * sizeof(double));
    plot_series series[5];
    plot_spec spec;
    plot_hline hl[2];
    char path[1200], title[128], med[64], maxl[64];
    int i, k, ns = 0, max_rank = 0;
    if (!order || !x || !y || !l->heads[K_VO]) {
        free(order), free(x), free(y);
        return;
    }
    for (i = 0; i < d->H; i++) {
        order[2 * i] = ss_effective_rank(l->heads[K_VO] + (size_t)i * l->n_head[K_VO], l->n_head[K_VO], 0.001);
        order[2 * i + 1] = i;
        x[i] = i;
    }
    qsort(order, (size_t)d->H, 2 * sizeof(double), cmp_by_key);
    memset(series, 0, sizeof series);
    for (k = 0; k < 5; k++) {
        int kk = kinds[k];
        if (!l->heads[kk] || l->n_head[kk] <= 0) continue;
        for (i = 0; i < d->H; i++) {
            int h = (int)order[2 * i + 1];
            y[(size_t)ns * d->H + i] = ss_effective_rank(l->heads[kk] + (size_t)h * l->n_head[kk], l->n_head[kk], 0.001);
        }
        if (l->n_head[kk] > max_rank) max_rank = l->n_head[kk];
        series[ns].name = kind_names[kk];
        series[ns].x = x, series[ns].y = y + (size_t)ns * d->H, series[ns].n = d->H;
        series[ns].dashed = kk != K_VO;
        ns++;
    }
    {
        double m = d->H % 2 ? order[2 * (d->H / 2)] : 0.5 * (order[2 * (d->H / 2 - 1)] + order[2 * (d->H / 2)]);
        snprintf(med, sizeof med, "median VO %.1f", m);
        hl[0].y = m, hl[0].label = med;
    }
    snprintf(maxl, sizeof maxl, "max rank %d", max_rank);
    hl[1].y = max_rank, hl[1].label = maxl;
    memset(&spec, 0, sizeof spec);
    snprintf(title, sizeof title, "Layer %d: effective rank per head at 0.1%% loss, sorted by VO", layer);
    spec.title = title, spec.xlabel = "head (sorted by VO)", spec.ylabel = "effective rank";
    spec.y_min = 0, spec.y_max = 1.05 * max_rank;
    spec.hlines = hl, spec.n_hlines = 2, spec.markers = 1;
    snprintf(path, sizeof path, "%s/heads/layer-%03d.svg", dir, layer);
    plot_lines_svg(path, &spec, series, ns);
    free(order), free(x), free(y);
}

/* FaRR (SPEC 4.11): parameters of one head's pair kept at rank r, separately (four factors, both
   at r = max of their ranks) against fused then truncated (two factors at the fused rank). */
static void farr_table(const mla_dims *d, const layer_sv *ls, const int *ids, int n_layers) {
    const double eps[2] = {0.01, 0.001};
    int e, i, h;
    printf("\n| layer | energy loss | QK full | QK separate | QK fused | VO full | VO separate | VO fused |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (e = 0; e < 2; e++) {
        double tot[6] = {0};
        for (i = 0; i < n_layers; i++) {
            const layer_sv *l = &ls[i];
            double row[6] = {0};
            for (h = 0; h < d->H; h++) {
                int rq = ss_effective_rank(l->heads[K_Q] + (size_t)h * l->n_head[K_Q], l->n_head[K_Q], eps[e]);
                int rk = ss_effective_rank(l->heads[K_K] + (size_t)h * l->n_head[K_K], l->n_head[K_K], eps[e]);
                int rqk = ss_effective_rank(l->heads[K_QK] + (size_t)h * l->n_head[K_QK], l->n_head[K_QK], eps[e]);
                int rv = ss_effective_rank(l->heads[K_V] + (size_t)h * l->n_head[K_V], l->n_head[K_V], eps[e]);
                int ro = ss_effective_rank(l->heads[K_O] + (size_t)h * l->n_head[K_O], l->n_head[K_O], eps[e]);
                int rvo = ss_effective_rank(l->heads[K_VO] + (size_t)h * l->n_head[K_VO], l->n_head[K_VO], eps[e]);
                int r1 = rq > rk ? rq : rk, r2 = rv > ro ? rv : ro;
                row[0] += (double)(d->Cq + d->Ckv) * d->dn;
                row[1] += (double)r1 * (d->Cq + d->dn) + (double)r1 * (d->Ckv + d->dn);
                row[2] += (double)rqk * (d->Cq + d->Ckv);
                row[3] += (double)(d->Ckv + d->D) * d->dv;
                row[4] += (double)r2 * (d->Ckv + d->dv) + (double)r2 * (d->dv + d->D);
                row[5] += (double)rvo * (d->Ckv + d->D);
            }
            printf("| %d | %g%% | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", ids[i], 100 * eps[e],
                   row[0], row[1], row[2], row[3], row[4], row[5]);
            for (h = 0; h < 6; h++) tot[h] += row[h];
        }
        printf("| all | %g%% | %.0f | %.0f (%.1f%%) | %.0f (%.1f%%) | %.0f | %.0f (%.1f%%) | %.0f (%.1f%%) |\n",
               100 * eps[e], tot[0], tot[1], 100 * tot[1] / tot[0], tot[2], 100 * tot[2] / tot[0], tot[3],
               tot[4], 100 * tot[4] / tot[3], tot[5], 100 * tot[5] / tot[3]);
    }
    printf("\nQK and VO per head: full = the two matrices as stored; separate = each truncated to the "
           "larger of their effective ranks (four factors); fused = the fused product truncated and "
           "re-split (FaRR, two factors). Parameter counts.\n");
}

/* ---- the command ------------------------------------------------------------------------------ */

static int make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || access(path, W_OK) == 0) return 0;
    fprintf(stderr, "ss svd: cannot create %s\n", path);
    return -1;
}

int cmd_svd(int argc, char **argv) {
    tool_opt opts[] = {
        {"--model", 1, "checkpoint directory: config.json and model.safetensors[.index.json] (required)", NULL, 0},
        {"--layers", 1, "a:b analyses layers a..b-1 (default: all)", NULL, 0},
        {"--out", 1, "output directory (default svd-out); a rerun resumes after the finished layers", NULL, 0},
        {"--no-fold", 0, "do not fold the RMSNorm gains into the following matrices", NULL, 0},
        {"--seed-compat", 0, "the seed's kv_b_proj halves split and sigma_max^2 on stacked KQ", NULL, 0},
        {"--farr", 0, "print the truncation table: separate vs fused-then-truncated parameters", NULL, 0},
        {"--threads", 1, "OpenMP threads (default: all)", NULL, 0},
        {"--quiet", 0, "no progress line", NULL, 0},
        {"--help", 0, "this text", NULL, 0},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1], *out;
    char path[1200];
    int n_pos, first = 0, last, i, n_layers, threads = 0, status = 1;
    mla_dims d;
    svd_opts o;
    ss_shards sh;
    layer_sv *ls = NULL;
    int *ids = NULL;
    tool_progress prog;
    FILE *csv;
    if (!tool_parse("svd", argc, argv, 2, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[8].value) {
        tool_usage("svd", "--model DIR [--layers a:b] [--out DIR]", opts, n_opts);
        return 0;
    }
    if (!opts[0].value) {
        fprintf(stderr, "ss svd: --model DIR is required\n");
        return 2;
    }
    if (!tool_opt_int(&opts[6], 0, 0, 4096, &threads)) return 2;
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
#endif
    out = opts[2].value ? opts[2].value : "svd-out";
    o.fold = opts[3].value == NULL;
    o.seed_compat = opts[4].value != NULL;
    { /* a subspace.h checkpoint (a .safetensors file, or a run's checkpoint directory) */
        size_t n = strlen(opts[0].value);
        char cfg[1100];
        snprintf(cfg, sizeof cfg, "%s/config.json", opts[0].value);
        snprintf(path, sizeof path, "%s/model.safetensors", opts[0].value);
        if ((n > 12 && strcmp(opts[0].value + n - 12, ".safetensors") == 0) ||
            (access(cfg, R_OK) != 0 && access(path, R_OK) == 0)) {
            const char *file = n > 12 && strcmp(opts[0].value + n - 12, ".safetensors") == 0 ? opts[0].value : path;
            if (make_dir(out) != 0) return 1;
            return svd_own_checkpoint(file, out, o.fold) == 0 ? 0 : 1;
        }
    }
    if (read_dims(opts[0].value, &d) != 0) return 1;
    last = d.layers;
    if (opts[1].value) {
        char *end;
        first = (int)strtol(opts[1].value, &end, 10);
        if (*end == ':' && end[1]) last = (int)strtol(end + 1, &end, 10);
        if (*end != '\0' || first < 0 || last > d.layers || first >= last) {
            fprintf(stderr, "ss svd: --layers must be a:b with 0 <= a < b <= %d\n", d.layers);
            return 2;
        }
    }
    memset(&sh, 0, sizeof sh);
    if (ss_shards_open(&sh, opts[0].value) != SS_OK) {
        fprintf(stderr, "ss svd: %s\n", ss_last_error_detail());
        return 1;
    }
    snprintf(path, sizeof path, "%s/layers", out);
    if (make_dir(out) != 0 || make_dir(path) != 0) goto done;
    snprintf(path, sizeof path, "%s/heads", out);
    if (make_dir(path) != 0) goto done;
    n_layers = last - first;
    ls = (layer_sv *)calloc((size_t)n_layers, sizeof *ls);
    ids = (int *)malloc((size_t)n_layers * sizeof(int));
    if (!ls || !ids) goto done;
    tool_progress_init(&prog, "svd layers", n_layers, "layers");
    if (opts[7].value) prog.enabled = 0;
    for (i = 0; i < n_layers; i++) {
        int layer = first + i, r;
        ids[i] = layer;
        r = load_layer(out, layer, &d, &ls[i]);
        if (r < 0) goto done;
        if (r == 0) continue; /* finished in an earlier run */
        if (analyse_layer(&sh, &d, layer, &o, &ls[i], &prog, i) != 0) goto done;
        if (save_layer(out, layer, &d, &o, &ls[i]) != 0) goto done;
        tool_progress_update(&prog, i + 1);
    }
    tool_progress_end(&prog);
    snprintf(path, sizeof path, "%s/effective_rank.csv.tmp", out);
    csv = fopen(path, "w");
    if (!csv) {
        fprintf(stderr, "ss svd: cannot write %s\n", path);
        goto done;
    }
    fprintf(csv, "layer,group,matrix,head,max_rank,rank_1pct,rank_0.1pct\n");
    for (i = 0; i < n_layers; i++) write_csv(csv, ids[i], &d, &ls[i]);
    if (fclose(csv) != 0) goto done;
    {
        char final_path[1200];
        snprintf(final_path, sizeof final_path, "%s/effective_rank.csv", out);
        if (rename(path, final_path) != 0) goto done;
    }
    plot_layerwise(out, ls, ids, n_layers);
    for (i = 0; i < n_layers; i++) plot_heads(out, ids[i], &d, &ls[i]);
    printf("ss svd: %d layers of %s (H %d, D %d, Cq %d, Ckv %d, dn %d, dr %d, dv %d), %s, %s\n",
           n_layers, opts[0].value, d.H, d.D, d.Cq, d.Ckv, d.dn, d.dr, d.dv,
           o.fold ? "norms folded" : "norms not folded",
           o.seed_compat ? "seed-compatible kv_b_proj split" : "per-head kv_b_proj split");
    printf("| layer | QA | KVA | KVA_pe | stacked Q | K | V | O | QK | KQ | VO |  (effective rank at 0.1%% loss)\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (i = 0; i < n_layers; i++) {
        const layer_sv *l = &ls[i];
        int k;
        printf("| %d", ids[i]);
        for (k = 0; k < N_SUBSPACES; k++) printf(" | %d", l->sub[k] ? ss_effective_rank(l->sub[k], l->n_sub[k], 0.001) : 0);
        for (k = 0; k < N_KINDS; k++)
            if (k != K_QPE) printf(" | %d", l->stacked[k] ? ss_effective_rank(l->stacked[k], l->n_stacked[k], 0.001) : 0);
        printf(" |\n");
    }
    if (opts[5].value) farr_table(&d, ls, ids, n_layers);
    printf("\n%s/effective_rank.csv, %s/layers/, %s/rank_stacked_*.svg, %s/heads/\n", out, out, out, out);
    status = 0;
done:
    if (ls)
        for (i = 0; i < last - first; i++) layer_sv_free(&ls[i]);
    free(ls), free(ids);
    ss_shards_close(&sh);
    return status;
}
