/* test_svd_own.c - tools/svd_own.c: the fused-attention SVD analysis of our own checkpoints.

   Two tiny models are built in memory, given planted structure, saved with ss_model_save (files
   test_svd_own_*.safetensors in the current directory) and analysed with svd_own_checkpoint,
   which writes own.json, own_rank.csv, own_heads.svg and own_angles.svg into the current
   directory; the test reads own.json and own_rank.csv back.
     mixed  L 3: layer 0 MHA, layers 1-2 MLA-o (D 16, H 4, Dh 4, Cq 12, Ckv 10, Co 8), random
            RMSNorm gains (so folding shows). Planted: in layer 1 head 1's o_a_proj block = head
            0's (overlap 1), heads 2 and 3 on disjoint latent rows (overlap 0), V of head 0 of
            rank 2; layer 2's o_b_proj = layer 1's times an invertible matrix (the same column
            space: overlap 1); in layer 0 o_proj's columns of heads 2 and 3 equal (overlap 1).
            Fused and stacked singular values (computed through small factors) against the full
            products; subspaces; max ranks; ranks in the CSV; baselines; fold_norms off.
     mla    L 1 MLA with Ckv 6 < Dh 8 (the factor path without a QR).
     small  L 2 MLA-o with Co 3 < Dh 4: the heads' latent subspaces are not compared.
   Also: a missing file and a safetensors file without a config fail with -1.

   cc -std=c99 -O2 -o test_svd_own tests/test_svd_own.c -lm && ./test_svd_own */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#include "../tools/plot.c"
#include "../tools/svd_own.c"

#define TOL 1e-9 /* relative to the largest singular value: both sides are double SVDs */

/* ---- reference computations ------------------------------------------------------------------- */

static ss_config base_config(void) {
    ss_config c;
    ss_config_default(&c);
    c.vocab_size = 37;
    c.hidden_size = 16;
    c.intermediate_size = 24;
    c.max_position_embeddings = 8;
    c.initializer_range = 0.3;
    c.rope_dims = 2;
    c.q_latent_dim = 12;
    c.ffn_decompose = 0;
    c.vocab_subspace = 0;
    return c;
}

/* Singular values of A (m,n) (min(m,n), descending). */
static void svals(const double *A, int m, int n, double *s) {
    ss_result r = ss_svd_alloc(A, m, n, n, s, NULL, NULL, NULL);
    if (r != SS_OK) {
        printf("FAIL svd %dx%d: %s\n", m, n, ss_result_string(r));
        exit(1);
    }
}

/* Rows [row0, row0+rows) of the (.., cols) float matrix W as double, column j times g[j] (g may
   be NULL). Owned: free. */
static double *rows_of(const float *W, int cols, int row0, int rows, const float *g) {
    double *out = (double *)calloc((size_t)rows * cols, sizeof(double));
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            out[i * cols + j] = (double)W[(size_t)(row0 + i) * cols + j] * (g ? g[j] : 1.0f);
    return out;
}

/* Columns [col0, col0+n) of the (rows, ld) float matrix W, transposed: (n, rows). Owned: free. */
static double *cols_of(const float *W, int rows, int ld, int col0, int n) {
    double *out = (double *)calloc((size_t)n * rows, sizeof(double));
    int i, j;
    for (i = 0; i < n; i++)
        for (j = 0; j < rows; j++) out[i * rows + j] = W[(size_t)j * ld + col0 + i];
    return out;
}

/* X^T Y (m,n), X (r,m), Y (r,n). Owned: free. */
static double *xty(const double *X, const double *Y, int r, int m, int n) {
    double *C = (double *)calloc((size_t)m * n, sizeof(double));
    int i, a, b;
    for (i = 0; i < r; i++)
        for (a = 0; a < m; a++)
            for (b = 0; b < n; b++) C[a * n + b] += X[i * m + a] * Y[i * n + b];
    return C;
}

/* Singular values of the stack of the heads' P_h / sigma_max(P_h), each P_h (m,n). */
static void stacked_values(double *const *P, int H, int m, int n, double *s) {
    double *S = (double *)calloc((size_t)H * m * n, sizeof(double));
    double *sh = (double *)calloc((size_t)(m < n ? m : n), sizeof(double));
    int h, i;
    for (h = 0; h < H; h++) {
        svals(P[h], m, n, sh);
        for (i = 0; i < m * n; i++) S[(size_t)h * m * n + i] = P[h][i] / sh[0];
    }
    svals(S, H * m, n, s);
    free(S), free(sh);
}

/* ---- reading the results ---------------------------------------------------------------------- */

typedef struct results {
    char *json_text, *csv;
    size_t json_size, csv_size;
    ss_json_doc doc;
    const ss_json *root;
} results;

static void results_free(results *r) {
    ss_json_doc_free(&r->doc);
    ss_free(r->json_text), ss_free(r->csv);
    memset(r, 0, sizeof *r);
}

/* Save the model, analyse it, read own.json and own_rank.csv. */
static int analyse(ss_model *m, const char *path, int fold, results *res) {
    memset(res, 0, sizeof *res);
    if (ss_model_save(m, path) != SS_OK) {
        printf("FAIL save %s: %s\n", path, ss_last_error_detail());
        return 0;
    }
    if (svd_own_checkpoint(path, ".", fold) != 0) return 0;
    if (ss_file_read("own.json", &res->json_text, &res->json_size) != SS_OK ||
        ss_json_parse(&res->doc, res->json_text, res->json_size, "own.json") != SS_OK ||
        ss_file_read("own_rank.csv", &res->csv, &res->csv_size) != SS_OK) {
        printf("FAIL reading the results: %s\n", ss_last_error_detail());
        return 0;
    }
    res->root = ss_json_root(&res->doc);
    return 1;
}

static const ss_json *layer_of(const results *r, int l) {
    return ss_json_at(ss_json_get(r->root, "layers"), (size_t)l);
}

/* layers[l][group][name]: a spectrum or heads object, NULL when absent. */
static const ss_json *entry(const results *r, int l, const char *group, const char *name) {
    return ss_json_get(ss_json_get(layer_of(r, l), group), name);
}

/* layers[l][group][name].values, and head h's array of a "heads" entry. */
static const ss_json *vals(const results *r, int l, const char *group, const char *name) {
    return ss_json_get(entry(r, l, group, name), "values");
}

static const ss_json *head_vals(const results *r, int l, const char *name, int h) {
    return ss_json_at(vals(r, l, "heads", name), (size_t)h);
}

/* layers[l].head_overlap[space] ("model", "latent"), layers[l].o_b_next. */
static const ss_json *overlap(const results *r, int l, const char *space) {
    return ss_json_get(ss_json_get(layer_of(r, l), "head_overlap"), space);
}

static int json_int(const ss_json *v) {
    int x = -999;
    if (!v || ss_json_as_int(v, &x) != SS_OK) return -999;
    return x;
}

static double json_num(const ss_json *v) {
    double x = NAN;
    if (!v || ss_json_as_double(v, &x) != SS_OK) return NAN;
    return x;
}

/* Element [a][b] of a nested array. */
static double at2(const ss_json *m, int a, int b) {
    return json_num(ss_json_at(ss_json_at(m, (size_t)a), (size_t)b));
}

static int max_rank(const results *r, int l, const char *group, const char *name) {
    return json_int(ss_json_get(entry(r, l, group, name), "max_rank"));
}

/* values (a JSON array) against want (n): the same count, within TOL of the largest. */
static void check_values(const char *name, const ss_json *values, const double *want, int n) {
    double maxdiff = 0.0, scale = n > 0 && want[0] > 1.0 ? want[0] : 1.0;
    int i, ok = values != NULL && ss_json_count(values) == (size_t)n;
    for (i = 0; ok && i < n; i++) {
        double d = fabs(json_num(ss_json_at(values, (size_t)i)) - want[i]);
        if (!(d <= TOL * scale)) ok = 0;
        if (d > maxdiff || d != d) maxdiff = d;
    }
    if (!values)
        printf("  %s: missing\n", name);
    else if (ss_json_count(values) != (size_t)n)
        printf("  %s: %d values, want %d\n", name, (int)ss_json_count(values), n);
    test_report(ok, name, maxdiff);
}

static int file_has(const char *path, const char *needle) {
    char *text = NULL;
    size_t size = 0;
    int ok = ss_file_read(path, &text, &size) == SS_OK && strstr(text, needle) != NULL;
    ss_free(text);
    return ok;
}

static int csv_has(const results *r, const char *row) { return strstr(r->csv, row) != NULL; }

static int is_null(const ss_json *v) { return v && v->type == SS_JSON_NULL; }

/* ---- the mixed MHA / MLA-o model -------------------------------------------------------------- */

enum { MD = 16, MH = 4, MDh = 4, MHD = 16, MCq = 12, MCkv = 10, MCo = 8 };

/* Plant the structure described at the top. */
static void plant_mixed(ss_model *m) {
    float *oa = m->w.layers[1].self_attn.o_a_proj_weight;  /* (Co, HD) */
    float *kvb = m->w.layers[1].self_attn.kv_b_proj_weight; /* (2 HD, Ckv) */
    float *ob1 = m->w.layers[1].self_attn.o_b_proj_weight, *ob2 = m->w.layers[2].self_attn.o_b_proj_weight;
    float *op = m->w.layers[0].self_attn.o_proj_weight;     /* (D, HD) */
    ss_rng rng;
    int i, j, k, l;
    ss_rng_seed(&rng, 99);
    for (l = 0; l < 3; l++) { /* gains away from 1, so that folding shows */
        test_fill(m->w.layers[l].attn_input_norm_weight, MD, &rng, 0.5f, 1.5f);
        if (l > 0) {
            test_fill(m->w.layers[l].self_attn.q_a_norm_weight, MCq, &rng, 0.5f, 1.5f);
            test_fill(m->w.layers[l].self_attn.kv_a_norm_weight, MCkv, &rng, 0.5f, 1.5f);
        }
    }
    /* layer 1: head 1's o_a block = head 0's; heads 2 and 3 on latent rows 0-3 and 4-7 */
    for (i = 0; i < MCo; i++)
        for (j = 0; j < MDh; j++) {
            oa[i * MHD + 1 * MDh + j] = oa[i * MHD + 0 * MDh + j];
            if (i >= 4) oa[i * MHD + 2 * MDh + j] = 0.0f;
            if (i < 4) oa[i * MHD + 3 * MDh + j] = 0.0f;
        }
    /* layer 1: V of head 0 (kv_b_proj rows HD..HD+3) of rank 2 */
    for (j = 0; j < MCkv; j++) {
        float r0 = kvb[(MHD + 0) * MCkv + j], r1 = kvb[(MHD + 1) * MCkv + j];
        kvb[(MHD + 2) * MCkv + j] = r0 + r1;
        kvb[(MHD + 3) * MCkv + j] = r0 - 2.0f * r1;
    }
    /* layer 2's o_b_proj = layer 1's times (I + a strictly upper triangle) */
    for (i = 0; i < MD; i++)
        for (j = 0; j < MCo; j++) {
            double acc = ob1[i * MCo + j];
            for (k = 0; k < j; k++) acc += ob1[i * MCo + k] * (0.3 + 0.1 * ((j + k) % 3));
            ob2[i * MCo + j] = (float)acc;
        }
    /* layer 0: o_proj's columns of head 3 = head 2's */
    for (i = 0; i < MD; i++)
        for (j = 0; j < MDh; j++) op[i * MHD + 3 * MDh + j] = op[i * MHD + 2 * MDh + j];
}

/* Layer 0 (MHA): QK of head 1 and VO of head 2 against the full products. */
static void check_mixed_mha(const ss_model *m, const results *res) {
    const float *qkv = m->w.layers[0].self_attn.qkv_proj_weight;
    const float *g = m->w.layers[0].attn_input_norm_weight;
    double want[MD], *Q, *K, *V, *O, *P;
    Q = rows_of(qkv, MD, 1 * MDh, MDh, g), K = rows_of(qkv, MD, MHD + 1 * MDh, MDh, g);
    P = xty(Q, K, MDh, MD, MD);
    svals(P, MD, MD, want);
    check_values("mixed: MHA QK head 1 = svd(Q^T K), folded", head_vals(res, 0, "QK", 1), want, MD);
    test_true(max_rank(res, 0, "heads", "QK") == MDh, "mixed: MHA QK max_rank Dh");
    free(Q), free(K), free(P);
    V = rows_of(qkv, MD, 2 * MHD + 2 * MDh, MDh, g);
    O = cols_of(m->w.layers[0].self_attn.o_proj_weight, MD, MHD, 2 * MDh, MDh);
    P = xty(V, O, MDh, MD, MD);
    svals(P, MD, MD, want);
    check_values("mixed: MHA VO head 2 = svd(V^T O)", head_vals(res, 0, "VO", 2), want, MD);
    free(V), free(O), free(P);
}

/* Layer 1 (MLA-o): QK and VOO per head and stacked, the subspaces, OA. */
static void check_mixed_mlao(const ss_model *m, const results *res) {
    const ss_attn_weights *w = &m->w.layers[1].self_attn;
    const float *ga = m->w.layers[1].attn_input_norm_weight;
    double want[MD], *P[MH], *VOO[MH], *Q, *K, *V, *O;
    int h, i, j, k;
    for (h = 0; h < MH; h++) {
        Q = rows_of(w->q_b_proj_weight, MCq, h * MDh, MDh, w->q_a_norm_weight);
        K = rows_of(w->kv_b_proj_weight, MCkv, h * MDh, MDh, w->kv_a_norm_weight);
        V = rows_of(w->kv_b_proj_weight, MCkv, MHD + h * MDh, MDh, w->kv_a_norm_weight);
        O = (double *)calloc((size_t)MDh * MD, sizeof(double)); /* (o_b OA_h)^T */
        for (i = 0; i < MDh; i++)
            for (j = 0; j < MD; j++)
                for (k = 0; k < MCo; k++)
                    O[i * MD + j] += (double)w->o_b_proj_weight[j * MCo + k] *
                                     w->o_a_proj_weight[k * MHD + h * MDh + i];
        P[h] = xty(Q, K, MDh, MCq, MCkv);
        VOO[h] = xty(V, O, MDh, MCkv, MD);
        free(Q), free(K), free(V), free(O);
    }
    svals(P[3], MCq, MCkv, want);
    check_values("mixed: MLA-o QK head 3 = svd(Q^T K), folded", head_vals(res, 1, "QK", 3), want, MCkv);
    svals(VOO[3], MCkv, MD, want);
    check_values("mixed: MLA-o VOO head 3 = svd(V^T OA^T o_b^T)", head_vals(res, 1, "VOO", 3), want,
                 MCkv);
    svals(VOO[0], MCkv, MD, want);
    check_values("mixed: MLA-o VOO head 0 (V of rank 2)", head_vals(res, 1, "VOO", 0), want, MCkv);
    stacked_values(P, MH, MCq, MCkv, want);
    check_values("mixed: MLA-o stacked QK", vals(res, 1, "stacked", "QK"), want, MCkv);
    stacked_values(VOO, MH, MCkv, MD, want);
    check_values("mixed: MLA-o stacked VOO", vals(res, 1, "stacked", "VOO"), want, MD);
    test_true(max_rank(res, 1, "stacked", "VOO") == MCo && want[MCo] < 1e-9 * want[0],
              "mixed: stacked VOO has rank <= Co (max_rank Co)");
    test_true(max_rank(res, 1, "heads", "QK") == MDh && max_rank(res, 1, "heads", "VOO") == MDh,
              "mixed: per-head max_rank of QK and VOO is Dh");
    for (h = 0; h < MH; h++) free(P[h]), free(VOO[h]);
    /* the subspaces: QA and KVA with attn_input_norm folded, OB */
    Q = rows_of(w->qkv_a_proj_weight, MD, 0, MCq, ga);
    svals(Q, MCq, MD, want);
    check_values("mixed: QA = svd(qkv_a_proj[0:Cq] diag(g))", vals(res, 1, "subspaces", "QA"), want, MCq);
    free(Q);
    K = rows_of(w->qkv_a_proj_weight, MD, MCq, MCkv, ga);
    svals(K, MCkv, MD, want);
    check_values("mixed: KVA = svd(qkv_a_proj[Cq:] diag(g))", vals(res, 1, "subspaces", "KVA"), want,
                 MCkv);
    free(K);
    O = rows_of(w->o_b_proj_weight, MCo, 0, MD, NULL);
    svals(O, MD, MCo, want);
    check_values("mixed: OB = svd(o_b_proj)", vals(res, 1, "subspaces", "OB"), want, MCo);
    free(O);
    O = cols_of(w->o_a_proj_weight, MCo, MHD, 2 * MDh, MDh); /* OA_2^T: 4 nonzero latent rows */
    svals(O, MDh, MCo, want);
    check_values("mixed: OA head 2 = svd(o_a_proj's columns of head 2)", head_vals(res, 1, "OA", 2),
                 want, MDh);
    free(O);
}

/* The planted overlaps, the baselines and the layer-to-layer angles. */
static void check_mixed_angles(const results *res) {
    const ss_json *lat = overlap(res, 1, "latent"), *mc = ss_json_get(lat, "mean_cos2");
    const ss_json *pairs = ss_json_get(lat, "pairs"), *c01 = ss_json_get(ss_json_at(pairs, 0), "cosines");
    const ss_json *mod0 = overlap(res, 0, "model"), *mod1 = overlap(res, 1, "model");
    const ss_json *n1 = ss_json_get(layer_of(res, 1), "o_b_next");
    test_true(fabs(at2(mc, 0, 1) - 1.0) < 1e-9 && at2(mc, 0, 1) == at2(mc, 1, 0),
              "mixed: latent overlap of identical heads 0, 1 is 1 (symmetric)");
    test_true(fabs(at2(mc, 2, 3)) < 1e-9, "mixed: latent overlap of heads 2, 3 on disjoint rows is 0");
    test_true(at2(mc, 0, 2) > 0.0 && at2(mc, 0, 2) < 1.0, "mixed: latent overlap of heads 0, 2 in (0, 1)");
    test_true(ss_json_count(mc) == MH && at2(mc, 3, 3) == 1.0, "mixed: latent overlap H x H, diagonal 1");
    test_true(ss_json_count(pairs) == MH * (MH - 1) / 2 && ss_json_count(c01) == MDh &&
                  fabs(json_num(ss_json_at(c01, MDh - 1)) - 1.0) < 1e-9,
              "mixed: every pair's cosines stored; heads 0, 1: all cosines 1");
    test_true(fabs(json_num(ss_json_get(lat, "baseline")) - 0.5) < 1e-15 &&
                  json_int(ss_json_get(lat, "space_dim")) == MCo,
              "mixed: latent baseline Dh/Co");
    test_true(fabs(at2(ss_json_get(mod1, "mean_cos2"), 0, 1) - 1.0) < 1e-9 &&
                  fabs(json_num(ss_json_get(mod1, "baseline")) - 0.5) < 1e-15,
              "mixed: model-space overlap of heads 0, 1 (through o_b_proj) is 1; baseline Dh/Co");
    test_true(fabs(at2(ss_json_get(mod0, "mean_cos2"), 2, 3) - 1.0) < 1e-9 &&
                  fabs(json_num(ss_json_get(mod0, "baseline")) - 0.25) < 1e-15,
              "mixed: MHA heads 2, 3 with equal o_proj columns overlap 1; baseline Dh/D");
    test_true(overlap(res, 0, "latent") == NULL, "mixed: no latent overlap in MHA");
    test_true(is_null(ss_json_get(layer_of(res, 0), "o_b_next")) &&
                  is_null(ss_json_get(layer_of(res, 2), "o_b_next")),
              "mixed: o_b_next null after MHA and at the last layer");
    test_true(fabs(json_num(ss_json_get(n1, "mean_cos2")) - 1.0) < 1e-9 &&
                  ss_json_count(ss_json_get(n1, "cosines")) == MCo &&
                  fabs(json_num(ss_json_get(n1, "baseline")) - 0.5) < 1e-15,
              "mixed: o_b_proj of layers 1 and 2 span the same subspace: overlap 1");
}

static void test_mixed(void) {
    ss_config c = base_config();
    ss_model m;
    results res;
    double want[MCq];
    const char *a0 = "", *a1 = "", *a2 = "";
    int fold = 1;
    c.num_hidden_layers = 3;
    c.num_dense_layers = 1;
    c.num_attention_heads = MH;
    c.head_dim = MDh;
    c.kv_latent_dim = MCkv;
    c.output_subspace = 1;
    c.o_latent_dim = MCo;
    memset(&m, 0, sizeof m);
    if (ss_model_init(&m, &c, SS_HEAD_MLM, 1, 8, 7) != SS_OK) {
        printf("FAIL init: %s\n", ss_last_error_detail());
        test_failures++;
        return;
    }
    plant_mixed(&m);
    if (!analyse(&m, "test_svd_own_mixed.safetensors", 1, &res)) {
        test_true(0, "mixed: svd_own_checkpoint");
        ss_model_free(&m);
        results_free(&res);
        return;
    }
    test_true(1, "mixed: svd_own_checkpoint");
    test_true(json_int(ss_json_get(ss_json_get(res.root, "dims"), "Co")) == MCo &&
                  json_int(ss_json_get(ss_json_get(res.root, "dims"), "H")) == MH,
              "mixed: dims");
    ss_json_get_string(layer_of(&res, 0), "attention", &a0);
    ss_json_get_string(layer_of(&res, 1), "attention", &a1);
    ss_json_get_string(layer_of(&res, 2), "attention", &a2);
    test_true(!strcmp(a0, "mha") && !strcmp(a1, "mla-o") && !strcmp(a2, "mla-o"), "mixed: attention kinds");
    test_true(ss_json_count(ss_json_get(layer_of(&res, 0), "subspaces")) == 0 &&
                  entry(&res, 0, "heads", "VO") && !entry(&res, 0, "heads", "VOO") &&
                  !entry(&res, 0, "heads", "OA"),
              "mixed: MHA layer: heads Q K V O QK VO, no subspaces");
    test_true(entry(&res, 1, "heads", "VOO") && entry(&res, 1, "heads", "OA") &&
                  entry(&res, 1, "heads", "O") && !entry(&res, 1, "heads", "VO") &&
                  entry(&res, 1, "subspaces", "OB") && entry(&res, 1, "stacked", "OA"),
              "mixed: MLA-o layer: OA, O, VOO and OB");
    check_mixed_mha(&m, &res);
    check_mixed_mlao(&m, &res);
    {
        const ss_json *v0 = head_vals(&res, 1, "V", 0);
        test_true(json_num(ss_json_at(v0, 1)) > 1e-3 && json_num(ss_json_at(v0, 2)) < 1e-6,
                  "mixed: V head 0: 2 nonzero singular values (up to float rounding)");
    }
    test_true(strstr(res.csv, "layer,group,matrix,head,max_rank,rank_1pct,rank_0.1pct\n") == res.csv,
              "mixed: CSV header");
    test_true(csv_has(&res, "\n1,head,V,0,4,2,2\n"), "mixed: CSV: layer 1 head 0 V has rank 2 at 1% and 0.1%");
    test_true(csv_has(&res, "\n1,stacked,VOO,-1,8,") && csv_has(&res, "\n1,subspace,OB,-1,8,") &&
                  csv_has(&res, "\n0,head,QK,3,4,"),
              "mixed: CSV rows of stacked, subspace and head matrices");
    check_mixed_angles(&res);
    test_true(file_has("own_heads.svg", "<svg") && file_has("own_heads.svg", "VOO") &&
                  file_has("own_angles.svg", "<svg") && file_has("own_angles.svg", "random"),
              "mixed: own_heads.svg and own_angles.svg written");
    results_free(&res);

    /* fold_norms off: QA is qkv_a_proj's rows as stored */
    if (analyse(&m, "test_svd_own_mixed.safetensors", 0, &res)) {
        double *Q = rows_of(m.w.layers[1].self_attn.qkv_a_proj_weight, MD, 0, MCq, NULL);
        svals(Q, MCq, MD, want);
        check_values("mixed, no fold: QA = svd(qkv_a_proj[0:Cq])", vals(&res, 1, "subspaces", "QA"),
                     want, MCq);
        free(Q);
        ss_json_get_bool(res.root, "fold_norms", &fold);
        test_true(fold == 0, "mixed, no fold: fold_norms false in own.json");
    } else {
        test_true(0, "mixed, no fold: svd_own_checkpoint");
    }
    results_free(&res);
    ss_model_free(&m);
}

/* ---- a plain MLA layer with Ckv < Dh ---------------------------------------------------------- */

static void test_mla(void) {
    enum { D = 16, H = 2, Dh = 8, HD = 16, Cq = 12, Ckv = 6 };
    ss_config c = base_config();
    ss_model m;
    results res;
    double want[D], *Q, *K, *V, *O, *VO[H];
    const ss_attn_weights *w;
    int h;
    c.num_hidden_layers = 1;
    c.num_dense_layers = 0;
    c.num_attention_heads = H;
    c.head_dim = Dh;
    c.kv_latent_dim = Ckv;
    c.output_subspace = 0;
    memset(&m, 0, sizeof m);
    if (ss_model_init(&m, &c, SS_HEAD_MLM, 1, 8, 11) != SS_OK) {
        printf("FAIL init: %s\n", ss_last_error_detail());
        test_failures++;
        return;
    }
    w = &m.w.layers[0].self_attn;
    if (!analyse(&m, "test_svd_own_mla.safetensors", 1, &res)) {
        test_true(0, "mla: svd_own_checkpoint");
        ss_model_free(&m);
        results_free(&res);
        return;
    }
    test_true(entry(&res, 0, "heads", "VO") && !entry(&res, 0, "heads", "VOO") &&
                  !entry(&res, 0, "heads", "OA") && !entry(&res, 0, "subspaces", "OB") &&
                  entry(&res, 0, "subspaces", "KVA") && !overlap(&res, 0, "latent"),
              "mla: heads VO (no OA, VOO), subspaces QA KVA, no latent overlap");
    for (h = 0; h < H; h++) {
        V = rows_of(w->kv_b_proj_weight, Ckv, HD + h * Dh, Dh, w->kv_a_norm_weight);
        O = cols_of(w->o_proj_weight, D, HD, h * Dh, Dh);
        VO[h] = xty(V, O, Dh, Ckv, D);
        free(V), free(O);
    }
    Q = rows_of(w->q_b_proj_weight, Cq, 1 * Dh, Dh, w->q_a_norm_weight);
    K = rows_of(w->kv_b_proj_weight, Ckv, 1 * Dh, Dh, w->kv_a_norm_weight);
    V = xty(Q, K, Dh, Cq, Ckv);
    svals(V, Cq, Ckv, want);
    check_values("mla: QK head 1 (Ckv < Dh)", head_vals(&res, 0, "QK", 1), want, Ckv);
    test_true(max_rank(&res, 0, "heads", "QK") == Ckv, "mla: QK max_rank min(Cq, Ckv, Dh)");
    free(Q), free(K), free(V);
    svals(VO[0], Ckv, D, want);
    check_values("mla: VO head 0 (Ckv < Dh)", head_vals(&res, 0, "VO", 0), want, Ckv);
    stacked_values(VO, H, Ckv, D, want);
    check_values("mla: stacked VO", vals(&res, 0, "stacked", "VO"), want, H * Ckv);
    for (h = 0; h < H; h++) free(VO[h]);
    test_true(csv_has(&res, "\n0,head,K,1,6,") && csv_has(&res, "\n0,stacked,K,-1,6,"),
              "mla: CSV K max_rank min(Dh, Ckv)");
    results_free(&res);
    ss_model_free(&m);
}

/* ---- MLA-o with Co < Dh: the heads' latent subspaces are not compared ------------------------- */

static void test_small_latent(void) {
    ss_config c = base_config();
    ss_model m;
    results res;
    c.num_hidden_layers = 2;
    c.num_dense_layers = 0;
    c.num_attention_heads = 2;
    c.head_dim = 4;
    c.kv_latent_dim = 10;
    c.output_subspace = 1;
    c.o_latent_dim = 3;
    memset(&m, 0, sizeof m);
    if (ss_model_init(&m, &c, SS_HEAD_MLM, 1, 8, 5) != SS_OK) {
        printf("FAIL init: %s\n", ss_last_error_detail());
        test_failures++;
        return;
    }
    if (!analyse(&m, "test_svd_own_small.safetensors", 1, &res)) {
        test_true(0, "small latent: svd_own_checkpoint");
    } else {
        test_true(overlap(&res, 0, "latent") == NULL && overlap(&res, 0, "model") != NULL,
                  "small latent (Co 3 < Dh 4): no latent overlap, the model-space one stays");
        test_true(max_rank(&res, 0, "heads", "OA") == 3 && max_rank(&res, 0, "heads", "O") == 3 &&
                      max_rank(&res, 0, "heads", "VOO") == 3,
                  "small latent: per-head OA, O, VOO max_rank Co");
        test_true(!is_null(ss_json_get(layer_of(&res, 0), "o_b_next")), "small latent: o_b_next compared");
    }
    results_free(&res);
    ss_model_free(&m);
}

/* ---- failures --------------------------------------------------------------------------------- */

static void test_failures_reported(void) {
    ss_safetensors_tensor t;
    float x[2] = {1.0f, 2.0f};
    memset(&t, 0, sizeof t);
    t.name = "x", t.ndim = 1, t.shape[0] = 2, t.data = x;
    test_true(svd_own_checkpoint("test_svd_own_absent.safetensors", ".", 1) == -1,
              "a missing file fails with -1");
    test_true(ss_safetensors_write("test_svd_own_plain.safetensors", &t, 1, NULL, 0) == SS_OK &&
                  svd_own_checkpoint("test_svd_own_plain.safetensors", ".", 1) == -1,
              "a safetensors file without a config fails with -1");
}

int main(void) {
    printf("%s\n", ss_build_info());
    test_mixed();
    test_mla();
    test_small_latent();
    test_failures_reported();
    return test_summary("test_svd_own");
}
