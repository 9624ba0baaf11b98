/* tools/svd_own.c - svd_own_checkpoint: the seed's fused-attention SVD analysis (SPEC 4.6-4.9),
   which it ran on DeepSeek checkpoints, run on a checkpoint of ours (ss pretrain / ss finetune
   output), in double precision, for every attention kind; plus the question the seed leaves open
   for MLA-o: how the heads' output maps share the one output latent.

   Matrices per layer, "out x in" as torch stores them, heads split as our model lays them out
   (SPEC 1.5 and 8): qkv_proj rows [q; k; v] and kv_b_proj rows [k; v], H*Dh rows each,
   head-major. With fold_norms each RMSNorm gain goes into the columns of the matrix after it,
   W diag(g): attn_input_norm into qkv_proj (MHA) or into both latents of qkv_a_proj (MLA, MLA-o;
   the seed folded it into QA only), q_a_norm into q_b_proj, kv_a_norm into kv_b_proj.
     MHA    Q_h, K_h, V_h (Dh,D) from qkv_proj; O_h (Dh,D) = o_proj's columns of head h,
            transposed; fused QK_h = Q_h^T K_h (D,D) and VO_h = V_h^T O_h (D,D)
     MLA    subspaces QA = qkv_a_proj rows [0,Cq) (Cq,D) and KVA = rows [Cq,Cq+Ckv) (Ckv,D);
            Q_h (Dh,Cq) from q_b_proj; K_h, V_h (Dh,Ckv) from kv_b_proj; O_h (Dh,D) from o_proj;
            QK_h (Cq,Ckv), VO_h (Ckv,D)
     MLA-o  as MLA, but the output goes through o_a_proj (Co,H*Dh), then o_b_proj (D,Co):
            OA_h (Co,Dh) = o_a_proj's columns of head h (stacked as OA_h^T (Dh,Co), so that the
              dimension the heads share is the latent one, as D is for O);
            O_h (Dh,D) = (o_b_proj OA_h)^T, the head's effective output map (comparable to MLA's);
            VOO_h = V_h^T OA_h^T o_b_proj^T = V_h^T O_h (Ckv,D), the fused value-output map;
            subspace OB = o_b_proj (D,Co)
   Our q and k heads have no separate RoPE part: the first Dr dims of every head are turned, so
   QK_h here includes them (it is the bilinear form at relative position 0).
   Stacked heads (SPEC 4.8): each head's matrix divided by its own largest singular value, the
   heads stacked by rows, for every kind above.
   Fused products are never formed at full size: with X^T = Q_X F_X (F_X the R of a Householder
   QR of X^T, or X^T itself when it has fewer rows than columns), X^T Y has the singular values
   of the small F_X F_Y^T, and L = F_X Y has L^T L = (X^T Y)^T (X^T Y), so a stack of such L has
   the singular values of the stack of the products.
   Sharing of output spaces, by principal angles: the overlap of two subspaces is the mean cos^2
   of their min(dims) principal angles (1: the same subspace, 0: orthogonal). Two random
   subspaces of dims a <= b in R^m have E[sum cos^2] = a b / m, so the random baseline of the
   overlap is min(1, b/m).
     model   every pair of heads: the column spaces of their effective output maps O_h^T (D,Dh),
             every kind; baseline Dh/D, but Dh/Co for MLA-o, whose heads' maps all lie in the
             Co-dim column space of o_b_proj (random heads there overlap about Dh/Co)
     latent  MLA-o, every pair of heads: the column spaces of OA_h (Co,Dh) inside the shared
             latent; baseline Dh/Co
     next    an MLA-o layer followed by one: the column spaces of the two o_b_proj (D,Co);
             baseline Co/D
   (Pairs are compared only when the subspace dim is at most the space's: Dh <= D, Dh <= Co,
   Co <= D.) Effective rank r(eps) (SPEC 4.9) at eps = 1% and 0.1% energy loss, of everything.

   own.json (compact):
   {"format": "ss svd own 1", "checkpoint": PATH, "fold_norms": BOOL,
    "dims": {"layers", "D", "H", "Dh", "Dr", "Cq", "Ckv", "Co"} (0: the model has no such latent),
    "layers": [{"layer": i, "attention": "mha" | "mla" | "mla-o",
                "subspaces": {NAME: SPECTRUM}  QA, KVA (MLA, MLA-o), OB (MLA-o); {} for MHA
                "stacked": {NAME: SPECTRUM}    Q, K, V, O, QK, then VO (MHA, MLA) or OA, VOO (MLA-o)
                "heads": {NAME: {"max_rank": r, "values": [[head 0's values], [head 1's], ...]}}
                "head_overlap": {"model": OVERLAP, "latent": OVERLAP (MLA-o only)} (each absent
                                where not compared),
                "o_b_next": null, or {"space_dim": D, "subspace_dim": Co, "baseline": Co/D,
                            "mean_cos2": x, "cosines": [Co values, descending]}}, ...]}
   SPECTRUM = {"max_rank": r, "values": [...]}: every one of the min(rows, cols) singular values,
     descending (past the rank a fused or stacked product can reach they are 0); max_rank is
     that reachable rank (a fused head: min(rows, cols, Dh)).
   OVERLAP = {"space_dim": m, "subspace_dim": Dh, "baseline": min(1, Dh/m) (model, MLA-o: Dh/Co),
     "mean_cos2": [[H x H]] (symmetric, 1 on the diagonal),
     "pairs": [{"heads": [a, b], "cosines": [min(Dh, m) values, descending]}, ...] every a < b}
   own_rank.csv: layer, group (subspace | stacked | head), matrix, head (-1 unless a head),
   max_rank, rank_1pct, rank_0.1pct. own_heads.svg: the effective rank (0.1%) of every head,
   layer after layer. own_angles.svg: per layer the mean (band: min..max) pairwise head overlap,
   the layer-to-layer o_b_proj overlap, and the random baselines. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../subspace.h"
#include "plot.h"
#include "svd_own.h"

enum { OWN_Q, OWN_K, OWN_V, OWN_O, OWN_OA, OWN_QK, OWN_VO, OWN_VOO, OWN_KINDS };
static const char *const own_kind_names[OWN_KINDS] = {"Q", "K", "V", "O", "OA", "QK", "VO", "VOO"};
enum { OWN_QA, OWN_KVA, OWN_OB, OWN_SUBS };
static const char *const own_sub_names[OWN_SUBS] = {"QA", "KVA", "OB"};

/* The singular values of one matrix. */
typedef struct own_spectrum {
    double *s; /* (n) descending; NULL: the layer has no such matrix */
    int n;
    int max_rank;
} own_spectrum;

/* Pairwise overlaps of the heads' subspaces (dim sub_dim) in a space of dim space_dim. */
typedef struct own_overlap {
    double *mean_cos2; /* (H,H); NULL: not computed for this layer */
    double *cosines;   /* (H,H,k): pair (a,b), a < b, at (a*H + b)*k */
    int k, space_dim, sub_dim;
    double baseline;
} own_overlap;

/* Everything measured on one layer. */
typedef struct own_layer {
    ss_attn_kind attn;
    own_spectrum sub[OWN_SUBS];
    own_spectrum stacked[OWN_KINDS];
    double *heads[OWN_KINDS]; /* (H, n_head[k]); NULL: not in this layer */
    int n_head[OWN_KINDS], max_head[OWN_KINDS];
    own_overlap model, latent;
    double *next_cos; /* (n_next) o_b_proj against the next layer's; NULL: none */
    int n_next;
    double next_overlap, next_baseline;
} own_layer;

typedef struct own_dims {
    int L, D, H, Dh, Dr, Cq, Ckv, Co; /* Cq, Ckv, Co: 0 when no layer has them */
} own_dims;

/* One layer's weights as double, norms folded; pointers the layer's kind lacks are NULL. */
typedef struct own_weights {
    double *norm;               /* attn_input_norm (D) */
    double *qkv;                /* MHA (3*H*Dh, D) */
    double *qkv_a;              /* MLA, MLA-o (Cq+Ckv, D) */
    double *q_a_norm, *kv_a_norm; /* (Cq), (Ckv) */
    double *q_b;                /* (H*Dh, Cq) */
    double *kv_b;               /* (2*H*Dh, Ckv) */
    double *o;                  /* (D, H*Dh): o_proj, or o_b_proj o_a_proj for MLA-o */
    double *o_a;                /* MLA-o (Co, H*Dh) */
    double *o_b;                /* MLA-o (D, Co) */
} own_weights;

static int own_fail(const char *fmt, ...) {
    va_list ap;
    fputs("ss svd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static double *own_alloc(size_t n) {
    double *p = (double *)calloc(n ? n : 1, sizeof(double));
    if (!p) own_fail("out of memory (%lu doubles)", (unsigned long)n);
    return p;
}

static int own_min(int a, int b) { return a < b ? a : b; }

/* ---- linear algebra --------------------------------------------------------------------------- */

/* C (m,n) = A (m,k) B (k,n), or A B^T when bt (B is then (n,k)). */
void svd_matmul(const double *A, const double *B, double *C, int m, int k, int n, int bt) {
    int i, j, l;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double s = 0.0;
            for (l = 0; l < k; l++)
                s += A[(size_t)i * k + l] * (bt ? B[(size_t)j * k + l] : B[(size_t)l * n + j]);
            C[(size_t)i * n + j] = s;
        }
}

/* s (min(m,n), descending) = the singular values of A (m,n), by ss_svd_values (values only). */
static int own_values(const double *A, int m, int n, double *s) {
    ss_result r = ss_svd_values_alloc(A, m, n, n, s);
    if (r != SS_OK)
        return own_fail("SVD of a %dx%d matrix: %s (%s)", m, n, ss_result_string(r),
                        ss_last_error_detail());
    return 0;
}

/* F (k,r), k = min(p,r): X^T = Q F for some Q (p,k) with orthonormal columns, X (r,p). F is the
   R of a Householder QR of X^T when p >= r, else X^T itself (Q = I). */
int svd_factor(const double *X, int r, int p, double *F, int *k) {
    double *T, *tau;
    int i, j;
    if (p < r) {
        for (i = 0; i < p; i++)
            for (j = 0; j < r; j++) F[(size_t)i * r + j] = X[(size_t)j * p + i];
        *k = p;
        return 0;
    }
    T = own_alloc((size_t)p * r), tau = own_alloc((size_t)r);
    if (!T || !tau) {
        free(T), free(tau);
        return -1;
    }
    for (i = 0; i < p; i++)
        for (j = 0; j < r; j++) T[(size_t)i * r + j] = X[(size_t)j * p + i];
    ss_qr(T, p, r, r, tau);
    for (i = 0; i < r; i++)
        for (j = 0; j < r; j++) F[(size_t)i * r + j] = j >= i ? T[(size_t)i * r + j] : 0.0;
    free(T), free(tau);
    *k = r;
    return 0;
}

/* The singular values of X^T Y (p,q), X (r,p), Y (r,q), into s (min(p,q), descending, zeros past
   the rank), from F_X F_Y^T; and L = F_X Y (*rows = min(r,p), q), L^T L = (X^T Y)^T (X^T Y). */
static int own_fused(const double *X, const double *Y, int r, int p, int q, double *s, double *L,
                     int *rows) {
    int kx = 0, ky = 0, status = -1;
    double *FX = own_alloc((size_t)own_min(r, p) * r), *FY = own_alloc((size_t)own_min(r, q) * r);
    double *M = NULL, *v = NULL;
    if (FX && FY && svd_factor(X, r, p, FX, &kx) == 0 && svd_factor(Y, r, q, FY, &ky) == 0 &&
        (M = own_alloc((size_t)kx * ky)) && (v = own_alloc((size_t)own_min(kx, ky)))) {
        svd_matmul(FX, FY, M, kx, r, ky, 1);
        if (own_values(M, kx, ky, v) == 0) {
            memset(s, 0, (size_t)own_min(p, q) * sizeof(double));
            memcpy(s, v, (size_t)own_min(kx, ky) * sizeof(double));
            svd_matmul(FX, Y, L, kx, r, q, 0);
            *rows = kx;
            status = 0;
        }
    }
    free(FX), free(FY), free(M), free(v);
    return status;
}

/* ---- reading a layer -------------------------------------------------------------------------- */

/* The tensor called name, of shape (rows, cols) (cols 0: a vector of rows), as double. */
static double *own_read(ss_safetensors *st, const char *name, int rows, int cols) {
    const ss_safetensors_entry *e;
    size_t n = (size_t)rows * (size_t)(cols ? cols : 1), i;
    int at = ss_safetensors_find(st, name);
    float *f;
    double *out;
    if (at < 0) {
        own_fail("%s: no tensor '%s' (the config in its metadata implies one)", st->path, name);
        return NULL;
    }
    e = &st->entries[at];
    if (e->ndim != (cols ? 2 : 1) || e->shape[0] != rows || (cols && e->shape[1] != cols)) {
        own_fail("%s: tensor '%s' has %d dims [%lld, %lld, ...], the config implies [%d, %d]",
                 st->path, name, e->ndim, (long long)e->shape[0],
                 (long long)(e->ndim > 1 ? e->shape[1] : 0), rows, cols);
        return NULL;
    }
    f = (float *)malloc(n * sizeof(float));
    out = own_alloc(n);
    if (!f || !out) {
        if (!f) own_fail("out of memory reading '%s'", name);
        free(f), free(out);
        return NULL;
    }
    if (ss_safetensors_read_f32(st, at, f, n) != SS_OK) {
        own_fail("%s", ss_last_error_detail());
        free(f), free(out);
        return NULL;
    }
    for (i = 0; i < n; i++) out[i] = f[i];
    free(f);
    return out;
}

static void own_weights_free(own_weights *w) {
    free(w->norm), free(w->qkv), free(w->qkv_a), free(w->q_a_norm), free(w->kv_a_norm);
    free(w->q_b), free(w->kv_b), free(w->o), free(w->o_a), free(w->o_b);
    memset(w, 0, sizeof *w);
}

/* Multiply column j of W (rows, cols) by g[j]: W diag(g). */
static void own_fold(double *W, int rows, int cols, const double *g) {
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) W[(size_t)i * cols + j] *= g[j];
}

static int own_load(ss_safetensors *st, const own_dims *d, int layer, ss_attn_kind attn, int fold,
                    own_weights *w) {
    char name[160];
    const int D = d->D, HD = d->H * d->Dh, Cq = d->Cq, Ckv = d->Ckv, Co = d->Co;
    memset(w, 0, sizeof *w);
#define OWN_READ(var, suffix, r, c)                                                            \
    snprintf(name, sizeof name, "encoder_model.layers.%d.%s", layer, suffix);                  \
    if (!(w->var = own_read(st, name, r, c))) goto fail;
    OWN_READ(norm, "attn_input_norm.weight", D, 0)
    if (attn == SS_ATTN_MHA) {
        OWN_READ(qkv, "self_attn.qkv_proj.weight", 3 * HD, D)
        OWN_READ(o, "self_attn.o_proj.weight", D, HD)
        if (fold) own_fold(w->qkv, 3 * HD, D, w->norm);
        return 0;
    }
    OWN_READ(qkv_a, "self_attn.qkv_a_proj.weight", Cq + Ckv, D)
    OWN_READ(q_a_norm, "self_attn.q_a_norm.weight", Cq, 0)
    OWN_READ(kv_a_norm, "self_attn.kv_a_norm.weight", Ckv, 0)
    OWN_READ(q_b, "self_attn.q_b_proj.weight", HD, Cq)
    OWN_READ(kv_b, "self_attn.kv_b_proj.weight", 2 * HD, Ckv)
    if (attn == SS_ATTN_MLA) {
        OWN_READ(o, "self_attn.o_proj.weight", D, HD)
    } else {
        OWN_READ(o_a, "self_attn.o_a_proj.weight", Co, HD)
        OWN_READ(o_b, "self_attn.o_b_proj.weight", D, Co)
        if (!(w->o = own_alloc((size_t)D * HD))) goto fail;
        svd_matmul(w->o_b, w->o_a, w->o, D, Co, HD, 0); /* the effective o_proj */
    }
#undef OWN_READ
    if (fold) {
        own_fold(w->qkv_a, Cq + Ckv, D, w->norm);
        own_fold(w->q_b, HD, Cq, w->q_a_norm);
        own_fold(w->kv_b, 2 * HD, Ckv, w->kv_a_norm);
    }
    return 0;
fail:
    own_weights_free(w);
    return -1;
}

/* ---- one layer ------------------------------------------------------------------------------ */

static void own_layer_free(own_layer *l) {
    int k;
    for (k = 0; k < OWN_SUBS; k++) free(l->sub[k].s);
    for (k = 0; k < OWN_KINDS; k++) free(l->stacked[k].s), free(l->heads[k]);
    free(l->model.mean_cos2), free(l->model.cosines);
    free(l->latent.mean_cos2), free(l->latent.cosines);
    free(l->next_cos);
    memset(l, 0, sizeof *l);
}

/* Head h's values of kind k. */
static double *own_head(const own_layer *l, int k, int h) {
    return l->heads[k] + (size_t)h * l->n_head[k];
}

/* The effective rank at 0.1% energy loss (SPEC 4.9): the one the plots and the summary show. */
static int own_rank(const double *s, int n) { return ss_effective_rank(s, n, 0.001); }

static int own_subspace(own_spectrum *sp, const double *W, int rows, int cols) {
    sp->n = sp->max_rank = own_min(rows, cols);
    if (!(sp->s = own_alloc((size_t)sp->n))) return -1;
    return own_values(W, rows, cols, sp->s);
}

/* The heads' subspaces: head h's is the column space of its sub_dim columns of W (m, H*sub_dim);
   reach: the dim of the space they can lie in (m, or less), for the baseline. Nothing is computed (mean_cos2 stays NULL) when sub_dim > m: such subspaces are not defined by
   principal angles (and every full-rank one is the whole space). */
static int own_head_overlap(const double *W, int m, int reach, int H, int sub_dim, own_overlap *o) {
    double *c;
    int a, b, i;
    if (sub_dim > m) return 0;
    c = own_alloc((size_t)sub_dim);
    o->space_dim = m, o->sub_dim = sub_dim;
    o->k = own_min(sub_dim, m);
    o->baseline = (double)sub_dim / reach < 1.0 ? (double)sub_dim / reach : 1.0;
    o->mean_cos2 = own_alloc((size_t)H * H);
    o->cosines = own_alloc((size_t)H * H * o->k);
    if (!c || !o->mean_cos2 || !o->cosines) {
        free(c);
        return -1;
    }
    for (a = 0; a < H; a++) {
        o->mean_cos2[(size_t)a * H + a] = 1.0;
        for (b = a + 1; b < H; b++) {
            double sum = 0.0;
            ss_result r = ss_principal_angles(W + (size_t)a * sub_dim, H * sub_dim,
                                              W + (size_t)b * sub_dim, H * sub_dim, m, sub_dim,
                                              sub_dim, c);
            if (r != SS_OK) {
                free(c);
                return own_fail("principal angles of heads %d and %d: %s (%s)", a, b,
                                ss_result_string(r), ss_last_error_detail());
            }
            for (i = 0; i < o->k; i++) sum += c[i] * c[i];
            memcpy(o->cosines + ((size_t)a * H + b) * o->k, c, (size_t)o->k * sizeof(double));
            o->mean_cos2[(size_t)a * H + b] = o->mean_cos2[(size_t)b * H + a] = sum / o->k;
        }
    }
    free(c);
    return 0;
}

/* Singular values of every head matrix, of the fused products and of the stacks; the overlaps. */
static int own_analyse(const own_dims *d, const own_weights *w, ss_attn_kind attn, own_layer *l) {
    const int H = d->H, Dh = d->Dh, D = d->D, HD = H * Dh, Co = d->Co;
    const int vo = attn == SS_ATTN_MLA_O ? OWN_VOO : OWN_VO;
    const double *qsrc, *ksrc, *vsrc;
    int in_q, in_k, in_v, h, k, status = -1;
    int use[OWN_KINDS] = {0}, rows[OWN_KINDS] = {0}, cols[OWN_KINDS] = {0}, true_rows[OWN_KINDS] = {0};
    double *stack[OWN_KINDS] = {0}, *O = NULL, *OAt = NULL, *Lqk = NULL, *Lvo = NULL, *v = NULL;
    l->attn = attn;
    if (attn == SS_ATTN_MHA) {
        qsrc = w->qkv, ksrc = w->qkv + (size_t)HD * D, vsrc = w->qkv + (size_t)2 * HD * D;
        in_q = in_k = in_v = D;
    } else {
        qsrc = w->q_b, ksrc = w->kv_b, vsrc = w->kv_b + (size_t)HD * d->Ckv;
        in_q = d->Cq, in_k = in_v = d->Ckv;
        if (own_subspace(&l->sub[OWN_QA], w->qkv_a, d->Cq, D) != 0 ||
            own_subspace(&l->sub[OWN_KVA], w->qkv_a + (size_t)d->Cq * D, d->Ckv, D) != 0)
            goto done;
        if (attn == SS_ATTN_MLA_O && own_subspace(&l->sub[OWN_OB], w->o_b, D, Co) != 0) goto done;
    }
    /* one head's matrix: (rows, cols) as it goes into its stack; true_rows as the seed stacks it */
    use[OWN_Q] = use[OWN_K] = use[OWN_V] = use[OWN_O] = use[OWN_QK] = use[vo] = 1;
    use[OWN_OA] = attn == SS_ATTN_MLA_O;
    rows[OWN_Q] = rows[OWN_K] = rows[OWN_V] = rows[OWN_O] = rows[OWN_OA] = Dh;
    cols[OWN_Q] = in_q, cols[OWN_K] = in_k, cols[OWN_V] = in_v, cols[OWN_O] = D, cols[OWN_OA] = Co;
    rows[OWN_QK] = own_min(Dh, in_q), cols[OWN_QK] = in_k, true_rows[OWN_QK] = in_q;
    rows[vo] = own_min(Dh, in_v), cols[vo] = D, true_rows[vo] = in_v;
    for (k = 0; k < OWN_KINDS; k++) {
        if (!use[k]) continue;
        if (k != OWN_QK && k != vo) {
            true_rows[k] = rows[k];
            l->n_head[k] = l->max_head[k] = own_min(rows[k], cols[k]);
        } else {
            l->n_head[k] = own_min(true_rows[k], cols[k]);
            l->max_head[k] = own_min(l->n_head[k], Dh);
        }
        if (attn == SS_ATTN_MLA_O && (k == OWN_O || k == OWN_VOO)) /* through o_b_proj: rank <= Co */
            l->max_head[k] = own_min(l->max_head[k], Co);
        l->heads[k] = own_alloc((size_t)H * l->n_head[k]);
        stack[k] = own_alloc((size_t)H * rows[k] * cols[k]);
        if (!l->heads[k] || !stack[k]) goto done;
    }
    O = own_alloc((size_t)Dh * D), OAt = own_alloc((size_t)Dh * (Co > 0 ? Co : 1));
    Lqk = own_alloc((size_t)rows[OWN_QK] * cols[OWN_QK]), Lvo = own_alloc((size_t)rows[vo] * cols[vo]);
    if (!O || !OAt || !Lqk || !Lvo) goto done;
    for (h = 0; h < H; h++) {
        const double *mats[OWN_KINDS];
        int i, j, r1 = 0, r2 = 0;
        for (i = 0; i < Dh; i++)
            for (j = 0; j < D; j++) O[(size_t)i * D + j] = w->o[(size_t)j * HD + (size_t)h * Dh + i];
        if (use[OWN_OA])
            for (i = 0; i < Dh; i++)
                for (j = 0; j < Co; j++)
                    OAt[(size_t)i * Co + j] = w->o_a[(size_t)j * HD + (size_t)h * Dh + i];
        mats[OWN_Q] = qsrc + (size_t)h * Dh * in_q;
        mats[OWN_K] = ksrc + (size_t)h * Dh * in_k;
        mats[OWN_V] = vsrc + (size_t)h * Dh * in_v;
        mats[OWN_O] = O, mats[OWN_OA] = OAt;
        mats[OWN_QK] = Lqk, mats[OWN_VO] = mats[OWN_VOO] = Lvo;
        for (k = 0; k <= OWN_OA; k++)
            if (use[k] && own_values(mats[k], rows[k], cols[k], own_head(l, k, h)) != 0) goto done;
        if (own_fused(mats[OWN_Q], mats[OWN_K], Dh, in_q, in_k, own_head(l, OWN_QK, h), Lqk, &r1) != 0 ||
            own_fused(mats[OWN_V], O, Dh, in_v, D, own_head(l, vo, h), Lvo, &r2) != 0)
            goto done;
        for (k = 0; k < OWN_KINDS; k++) { /* head h's block of each stack, over its sigma_max */
            double smax, scale;
            size_t n, e;
            if (!use[k]) continue;
            smax = own_head(l, k, h)[0];
            scale = smax > 0.0 ? 1.0 / smax : 0.0;
            n = (size_t)rows[k] * cols[k];
            for (e = 0; e < n; e++) stack[k][(size_t)h * n + e] = mats[k][e] * scale;
        }
    }
    for (k = 0; k < OWN_KINDS; k++) {
        own_spectrum *sp = &l->stacked[k];
        int m = H * rows[k], got;
        if (!use[k]) continue;
        got = own_min(m, cols[k]);
        sp->n = own_min(H * true_rows[k], cols[k]);
        sp->max_rank = attn == SS_ATTN_MLA_O && (k == OWN_O || k == OWN_VOO) ? own_min(got, Co) : got;
        if (!(sp->s = own_alloc((size_t)sp->n)) || !(v = own_alloc((size_t)got))) goto done;
        if (own_values(stack[k], m, cols[k], v) != 0) goto done;
        memcpy(sp->s, v, (size_t)got * sizeof(double)); /* the rest: zeros of the taller stack */
        free(v), v = NULL;
    }
    /* the heads' output subspaces: in model space always, in the latent for MLA-o */
    if (own_head_overlap(w->o, D, attn == SS_ATTN_MLA_O ? own_min(D, Co) : D, H, Dh, &l->model) != 0)
        goto done;
    if (attn == SS_ATTN_MLA_O && own_head_overlap(w->o_a, Co, Co, H, Dh, &l->latent) != 0) goto done;
    status = 0;
done:
    for (k = 0; k < OWN_KINDS; k++) free(stack[k]);
    free(O), free(OAt), free(Lqk), free(Lvo), free(v);
    return status;
}

/* Layer l's o_b_proj (prev) against layer l+1's (cur), both (D, Co), into layer l. */
static int own_next_layer(const double *prev, const double *cur, int D, int Co, own_layer *l) {
    double sum = 0.0;
    int i;
    ss_result r;
    if (Co > D) return 0; /* o_b_proj's columns span R^D, or fewer dims than Co: not compared */
    l->n_next = own_min(Co, D);
    if (!(l->next_cos = own_alloc((size_t)Co))) return -1;
    r = ss_principal_angles(prev, Co, cur, Co, D, Co, Co, l->next_cos);
    if (r != SS_OK)
        return own_fail("principal angles of two o_b_proj: %s (%s)", ss_result_string(r),
                        ss_last_error_detail());
    for (i = 0; i < l->n_next; i++) sum += l->next_cos[i] * l->next_cos[i];
    l->next_overlap = sum / l->n_next;
    l->next_baseline = (double)Co / D < 1.0 ? (double)Co / D : 1.0;
    return 0;
}

/* ---- output ----------------------------------------------------------------------------------- */

static const char *own_attn_name(ss_attn_kind a) {
    return a == SS_ATTN_MHA ? "mha" : a == SS_ATTN_MLA ? "mla" : "mla-o";
}

static const char *own_attn_label(ss_attn_kind a) {
    return a == SS_ATTN_MHA ? "MHA" : a == SS_ATTN_MLA ? "MLA" : "MLA-o";
}

static void own_json_values(ss_json_writer *w, const double *s, int n) {
    int i;
    ss_json_write_begin_array(w);
    for (i = 0; i < n; i++) ss_json_write_number(w, s[i]);
    ss_json_write_end_array(w);
}

static void own_json_spectrum(ss_json_writer *w, const char *name, const own_spectrum *sp) {
    ss_json_write_key(w, name);
    ss_json_write_begin_object(w);
    ss_json_write_key(w, "max_rank"), ss_json_write_int(w, sp->max_rank);
    ss_json_write_key(w, "values"), own_json_values(w, sp->s, sp->n);
    ss_json_write_end_object(w);
}

static void own_json_overlap(ss_json_writer *w, const char *name, const own_overlap *o, int H) {
    int a, b;
    ss_json_write_key(w, name);
    ss_json_write_begin_object(w);
    ss_json_write_key(w, "space_dim"), ss_json_write_int(w, o->space_dim);
    ss_json_write_key(w, "subspace_dim"), ss_json_write_int(w, o->sub_dim);
    ss_json_write_key(w, "baseline"), ss_json_write_number(w, o->baseline);
    ss_json_write_key(w, "mean_cos2");
    ss_json_write_begin_array(w);
    for (a = 0; a < H; a++) own_json_values(w, o->mean_cos2 + (size_t)a * H, H);
    ss_json_write_end_array(w);
    ss_json_write_key(w, "pairs");
    ss_json_write_begin_array(w);
    for (a = 0; a < H; a++)
        for (b = a + 1; b < H; b++) {
            ss_json_write_begin_object(w);
            ss_json_write_key(w, "heads");
            ss_json_write_begin_array(w);
            ss_json_write_int(w, a), ss_json_write_int(w, b);
            ss_json_write_end_array(w);
            ss_json_write_key(w, "cosines");
            own_json_values(w, o->cosines + ((size_t)a * H + b) * o->k, o->k);
            ss_json_write_end_object(w);
        }
    ss_json_write_end_array(w);
    ss_json_write_end_object(w);
}

static int own_write_json(const char *path, const char *ckpt, int fold, const own_dims *d,
                          const own_layer *ls) {
    ss_json_writer w;
    int i, k, h, status = -1;
    ss_json_writer_init(&w, 0);
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "format"), ss_json_write_string(&w, "ss svd own 1");
    ss_json_write_key(&w, "checkpoint"), ss_json_write_string(&w, ckpt);
    ss_json_write_key(&w, "fold_norms"), ss_json_write_bool(&w, fold);
    ss_json_write_key(&w, "dims");
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "layers"), ss_json_write_int(&w, d->L);
    ss_json_write_key(&w, "D"), ss_json_write_int(&w, d->D);
    ss_json_write_key(&w, "H"), ss_json_write_int(&w, d->H);
    ss_json_write_key(&w, "Dh"), ss_json_write_int(&w, d->Dh);
    ss_json_write_key(&w, "Dr"), ss_json_write_int(&w, d->Dr);
    ss_json_write_key(&w, "Cq"), ss_json_write_int(&w, d->Cq);
    ss_json_write_key(&w, "Ckv"), ss_json_write_int(&w, d->Ckv);
    ss_json_write_key(&w, "Co"), ss_json_write_int(&w, d->Co);
    ss_json_write_end_object(&w);
    ss_json_write_key(&w, "layers");
    ss_json_write_begin_array(&w);
    for (i = 0; i < d->L; i++) {
        const own_layer *l = &ls[i];
        ss_json_write_begin_object(&w);
        ss_json_write_key(&w, "layer"), ss_json_write_int(&w, i);
        ss_json_write_key(&w, "attention"), ss_json_write_string(&w, own_attn_name(l->attn));
        ss_json_write_key(&w, "subspaces");
        ss_json_write_begin_object(&w);
        for (k = 0; k < OWN_SUBS; k++)
            if (l->sub[k].s) own_json_spectrum(&w, own_sub_names[k], &l->sub[k]);
        ss_json_write_end_object(&w);
        ss_json_write_key(&w, "stacked");
        ss_json_write_begin_object(&w);
        for (k = 0; k < OWN_KINDS; k++)
            if (l->stacked[k].s) own_json_spectrum(&w, own_kind_names[k], &l->stacked[k]);
        ss_json_write_end_object(&w);
        ss_json_write_key(&w, "heads");
        ss_json_write_begin_object(&w);
        for (k = 0; k < OWN_KINDS; k++) {
            if (!l->heads[k]) continue;
            ss_json_write_key(&w, own_kind_names[k]);
            ss_json_write_begin_object(&w);
            ss_json_write_key(&w, "max_rank"), ss_json_write_int(&w, l->max_head[k]);
            ss_json_write_key(&w, "values");
            ss_json_write_begin_array(&w);
            for (h = 0; h < d->H; h++) own_json_values(&w, own_head(l, k, h), l->n_head[k]);
            ss_json_write_end_array(&w);
            ss_json_write_end_object(&w);
        }
        ss_json_write_end_object(&w);
        ss_json_write_key(&w, "head_overlap");
        ss_json_write_begin_object(&w);
        if (l->model.mean_cos2) own_json_overlap(&w, "model", &l->model, d->H);
        if (l->latent.mean_cos2) own_json_overlap(&w, "latent", &l->latent, d->H);
        ss_json_write_end_object(&w);
        ss_json_write_key(&w, "o_b_next");
        if (!l->next_cos) {
            ss_json_write_null(&w);
        } else {
            ss_json_write_begin_object(&w);
            ss_json_write_key(&w, "space_dim"), ss_json_write_int(&w, d->D);
            ss_json_write_key(&w, "subspace_dim"), ss_json_write_int(&w, d->Co);
            ss_json_write_key(&w, "baseline"), ss_json_write_number(&w, l->next_baseline);
            ss_json_write_key(&w, "mean_cos2"), ss_json_write_number(&w, l->next_overlap);
            ss_json_write_key(&w, "cosines"), own_json_values(&w, l->next_cos, l->n_next);
            ss_json_write_end_object(&w);
        }
        ss_json_write_end_object(&w);
    }
    ss_json_write_end_array(&w);
    ss_json_write_end_object(&w);
    if (ss_json_writer_finish(&w) == SS_OK && ss_file_write_atomic(path, w.text, w.length) == SS_OK)
        status = 0;
    else
        own_fail("%s not written: %s", path, ss_last_error_detail());
    ss_json_writer_free(&w);
    return status;
}

/* A growable text buffer for the CSV. */
typedef struct own_text {
    char *s;
    size_t len, cap;
    int failed;
} own_text;

static void own_printf(own_text *t, const char *fmt, ...) {
    va_list ap;
    int n;
    if (t->failed) return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->s && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        } else {
            size_t cap = t->cap ? t->cap * 2 : 4096;
            char *p;
            while (cap < t->len + (size_t)n + 1) cap *= 2;
            p = (char *)realloc(t->s, cap);
            if (!p) {
                t->failed = 1;
                return;
            }
            t->s = p, t->cap = cap;
        }
    }
}

static void own_csv_row(own_text *t, int layer, const char *group, const char *name, int head,
                        const double *s, int n, int max_rank) {
    own_printf(t, "%d,%s,%s,%d,%d,%d,%d\n", layer, group, name, head, max_rank,
               ss_effective_rank(s, n, 0.01), ss_effective_rank(s, n, 0.001));
}

static int own_write_csv(const char *path, const own_dims *d, const own_layer *ls) {
    own_text t;
    int i, k, h, status = -1;
    memset(&t, 0, sizeof t);
    own_printf(&t, "layer,group,matrix,head,max_rank,rank_1pct,rank_0.1pct\n");
    for (i = 0; i < d->L; i++) {
        const own_layer *l = &ls[i];
        for (k = 0; k < OWN_SUBS; k++)
            if (l->sub[k].s)
                own_csv_row(&t, i, "subspace", own_sub_names[k], -1, l->sub[k].s, l->sub[k].n,
                            l->sub[k].max_rank);
        for (k = 0; k < OWN_KINDS; k++)
            if (l->stacked[k].s)
                own_csv_row(&t, i, "stacked", own_kind_names[k], -1, l->stacked[k].s,
                            l->stacked[k].n, l->stacked[k].max_rank);
        for (k = 0; k < OWN_KINDS; k++)
            for (h = 0; h < d->H && l->heads[k]; h++)
                own_csv_row(&t, i, "head", own_kind_names[k], h, own_head(l, k, h), l->n_head[k],
                            l->max_head[k]);
    }
    if (t.failed)
        own_fail("%s: out of memory", path);
    else if (ss_file_write_atomic(path, t.s, t.len) != SS_OK)
        own_fail("%s", ss_last_error_detail());
    else
        status = 0;
    free(t.s);
    return status;
}

/* The effective rank at 0.1% loss of every head, layer after layer: x = layer + (h + 0.5)/H, with
   a gap between layers. */
static int own_plot_heads(const char *path, const own_dims *d, const own_layer *ls) {
    const int H = d->H, n = d->L * (H + 1);
    plot_series series[OWN_KINDS];
    plot_spec spec;
    plot_hline hl;
    char title[200], maxl[64];
    double *x = own_alloc((size_t)n), *y = own_alloc((size_t)OWN_KINDS * n);
    int k, i, h, ns = 0, r;
    if (!x || !y) {
        free(x), free(y);
        return -1;
    }
    memset(series, 0, sizeof series);
    for (i = 0; i < d->L; i++) {
        for (h = 0; h < H; h++) x[i * (H + 1) + h] = i + (h + 0.5) / H;
        x[i * (H + 1) + H] = i + 1.0; /* the gap */
    }
    for (k = 0; k < OWN_KINDS; k++) {
        double *yy = y + (size_t)ns * n;
        int any = 0;
        for (i = 0; i < d->L; i++) {
            const own_layer *l = &ls[i];
            for (h = 0; h < H; h++)
                yy[i * (H + 1) + h] = l->heads[k] ? own_rank(own_head(l, k, h), l->n_head[k]) : NAN;
            yy[i * (H + 1) + H] = NAN;
            any |= l->heads[k] != NULL;
        }
        if (!any) continue;
        series[ns].name = own_kind_names[k];
        series[ns].x = x, series[ns].y = yy, series[ns].n = n;
        series[ns].dashed = k < OWN_QK; /* the fused products solid */
        ns++;
    }
    memset(&spec, 0, sizeof spec);
    snprintf(title, sizeof title, "Effective rank of each head, 0.1%% energy loss (%d per layer, "
             "in order)", H);
    snprintf(maxl, sizeof maxl, "Dh = %d", d->Dh);
    hl.y = d->Dh, hl.label = maxl;
    spec.title = title;
    spec.xlabel = "layer (its heads across [layer, layer + 1); dashed: single matrices, solid: fused)";
    spec.ylabel = "effective rank";
    spec.y_min = 0, spec.y_max = 1.05 * d->Dh;
    spec.hlines = &hl, spec.n_hlines = 1, spec.markers = 1;
    r = plot_lines_svg(path, &spec, series, ns);
    free(x), free(y);
    return r == 0 ? 0 : own_fail("%s not written", path);
}

/* Per layer: mean (band min..max) pairwise head overlap in model space and in the output latent,
   the o_b_proj overlap with the next layer (at layer + 0.5), and the random baselines. */
static int own_plot_angles(const char *path, const own_dims *d, const own_layer *ls) {
    const int L = d->L, H = d->H;
    double *buf = own_alloc((size_t)11 * L);
    double *x, *xn, *m_mean, *m_lo, *m_hi, *l_mean, *l_lo, *l_hi, *nx;
    plot_series series[3];
    plot_hline hl[3];
    char labels[3][96];
    plot_spec spec;
    int i, a, b, ns = 0, nh = 0, any_lat = 0, any_plain = 0, any_next = 0, r;
    if (!buf) return -1;
    x = buf, xn = buf + L, m_mean = buf + 2 * L, m_lo = buf + 3 * L, m_hi = buf + 4 * L;
    l_mean = buf + 5 * L, l_lo = buf + 6 * L, l_hi = buf + 7 * L, nx = buf + 8 * L;
    for (i = 0; i < L; i++) {
        const own_overlap *o[2];
        double *mean[2], *lo[2], *hi[2];
        int j;
        o[0] = &ls[i].model, o[1] = &ls[i].latent;
        mean[0] = m_mean, lo[0] = m_lo, hi[0] = m_hi, mean[1] = l_mean, lo[1] = l_lo, hi[1] = l_hi;
        x[i] = i, xn[i] = i + 0.5;
        for (j = 0; j < 2; j++) {
            double sum = 0.0, mn = INFINITY, mx = -INFINITY;
            int pairs = 0;
            for (a = 0; o[j]->mean_cos2 && a < H; a++)
                for (b = a + 1; b < H; b++) {
                    double v = o[j]->mean_cos2[(size_t)a * H + b];
                    sum += v, pairs++;
                    mn = v < mn ? v : mn, mx = v > mx ? v : mx;
                }
            mean[j][i] = pairs ? sum / pairs : NAN;
            lo[j][i] = pairs ? mn : NAN;
            hi[j][i] = pairs ? mx : NAN;
        }
        any_lat |= ls[i].attn == SS_ATTN_MLA_O;
        any_plain |= ls[i].attn != SS_ATTN_MLA_O;
        nx[i] = ls[i].next_cos ? ls[i].next_overlap : NAN;
        any_next |= ls[i].next_cos != NULL;
    }
    memset(series, 0, sizeof series);
    memset(hl, 0, sizeof hl);
    series[ns].name = "heads in model space (O_h^T, D x Dh)";
    series[ns].x = x, series[ns].y = m_mean, series[ns].n = L;
    series[ns].y_lo = m_lo, series[ns].y_hi = m_hi;
    ns++;
    if (any_lat) {
        series[ns].name = "heads in the output latent (OA_h, Co x Dh)";
        series[ns].x = x, series[ns].y = l_mean, series[ns].n = L;
        series[ns].y_lo = l_lo, series[ns].y_hi = l_hi;
        ns++;
    }
    if (any_next) {
        series[ns].name = "o_b_proj, layer l against l + 1";
        series[ns].x = xn, series[ns].y = nx, series[ns].n = L, series[ns].dashed = 1;
        ns++;
    }
    /* the baselines, merged where they coincide */
    {
        double ys[3];
        const char *names[3];
        int n = 0, j, t;
        if (any_plain) ys[n] = d->Dh < d->D ? (double)d->Dh / d->D : 1.0, names[n++] = "Dh/D";
        if (any_lat) ys[n] = d->Dh < d->Co ? (double)d->Dh / d->Co : 1.0, names[n++] = "Dh/Co";
        if (any_next) ys[n] = d->Co < d->D ? (double)d->Co / d->D : 1.0, names[n++] = "Co/D";
        for (j = 0; j < n; j++) {
            for (t = 0; t < nh && fabs(hl[t].y - ys[j]) > 1e-12; t++) {}
            if (t == nh) {
                snprintf(labels[nh], sizeof labels[nh], "random: %s = %.3g", names[j], ys[j]);
                hl[nh].y = ys[j], hl[nh].label = labels[nh];
                nh++;
            } else {
                size_t len = strlen(labels[t]);
                snprintf(labels[t] + len, sizeof labels[t] - len, ", %s", names[j]);
            }
        }
    }
    memset(&spec, 0, sizeof spec);
    spec.title = "Overlap of output subspaces (mean cos^2 of principal angles; band: min..max)";
    spec.xlabel = "layer";
    spec.ylabel = "overlap (mean cos^2)";
    spec.y_min = 0, spec.y_max = 1.05;
    spec.hlines = hl, spec.n_hlines = nh, spec.markers = 1;
    r = plot_lines_svg(path, &spec, series, ns);
    free(buf);
    return r == 0 ? 0 : own_fail("%s not written", path);
}

static int own_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The Markdown summary. */
static void own_summary(const char *ckpt, const char *out_dir, int fold, const own_dims *d,
                        const own_layer *ls) {
    int i, k, h, has_sub[OWN_SUBS] = {0}, has_kind[OWN_KINDS] = {0}, any_lat = 0, any_next = 0;
    double ranks[1024];
    for (i = 0; i < d->L; i++) {
        for (k = 0; k < OWN_SUBS; k++) has_sub[k] |= ls[i].sub[k].s != NULL;
        for (k = 0; k < OWN_KINDS; k++) has_kind[k] |= ls[i].heads[k] != NULL;
        any_lat |= ls[i].latent.mean_cos2 != NULL;
        any_next |= ls[i].next_cos != NULL;
    }
    printf("ss svd: %s: %d layers, D %d, H %d, Dh %d, Dr %d", ckpt, d->L, d->D, d->H, d->Dh, d->Dr);
    if (d->Cq) printf(", Cq %d, Ckv %d", d->Cq, d->Ckv);
    if (d->Co) printf(", Co %d", d->Co);
    printf("; norms %s\n\n", fold ? "folded" : "not folded");
    printf("Effective rank at 0.1%% energy loss / largest possible: latent subspaces and stacked "
           "heads\n\n");
    printf("| layer | attention |");
    for (k = 0; k < OWN_SUBS; k++)
        if (has_sub[k]) printf(" %s |", own_sub_names[k]);
    for (k = 0; k < OWN_KINDS; k++)
        if (has_kind[k]) printf(" stacked %s |", own_kind_names[k]);
    printf("\n|---:|---|");
    for (k = 0; k < OWN_SUBS; k++)
        if (has_sub[k]) printf("---:|");
    for (k = 0; k < OWN_KINDS; k++)
        if (has_kind[k]) printf("---:|");
    printf("\n");
    for (i = 0; i < d->L; i++) {
        const own_layer *l = &ls[i];
        printf("| %d | %s |", i, own_attn_label(l->attn));
        for (k = 0; k < OWN_SUBS; k++) {
            if (!has_sub[k]) continue;
            if (l->sub[k].s) printf(" %d/%d |", own_rank(l->sub[k].s, l->sub[k].n), l->sub[k].max_rank);
            else printf(" - |");
        }
        for (k = 0; k < OWN_KINDS; k++) {
            if (!has_kind[k]) continue;
            if (l->stacked[k].s)
                printf(" %d/%d |", own_rank(l->stacked[k].s, l->stacked[k].n), l->stacked[k].max_rank);
            else printf(" - |");
        }
        printf("\n");
    }
    printf("\nPer head: median over the %d heads of the effective rank at 0.1%% energy loss / largest "
           "possible\n\n", d->H);
    printf("| layer | attention |");
    for (k = 0; k < OWN_KINDS; k++)
        if (has_kind[k]) printf(" %s |", own_kind_names[k]);
    printf("\n|---:|---|");
    for (k = 0; k < OWN_KINDS; k++)
        if (has_kind[k]) printf("---:|");
    printf("\n");
    for (i = 0; i < d->L; i++) {
        const own_layer *l = &ls[i];
        printf("| %d | %s |", i, own_attn_label(l->attn));
        for (k = 0; k < OWN_KINDS; k++) {
            int n = 0;
            if (!has_kind[k]) continue;
            if (!l->heads[k]) {
                printf(" - |");
                continue;
            }
            for (h = 0; h < d->H && n < 1024; h++)
                ranks[n++] = own_rank(own_head(l, k, h), l->n_head[k]);
            qsort(ranks, (size_t)n, sizeof(double), own_cmp_double);
            printf(" %g/%d |", n % 2 ? ranks[n / 2] : 0.5 * (ranks[n / 2 - 1] + ranks[n / 2]),
                   l->max_head[k]);
        }
        printf("\n");
    }
    printf("\nOutput-space sharing: overlap = mean cos^2 of the principal angles (1 = same subspace, "
           "0 = orthogonal); head pairs as mean (min..max); random = the expected overlap of random "
           "subspaces\n\n");
    printf("| layer | attention | heads in model space | random |");
    if (any_lat) printf(" heads in the output latent | random |");
    if (any_next) printf(" o_b_proj vs layer + 1 | random |");
    printf("\n|---:|---|---:|---:|");
    if (any_lat) printf("---:|---:|");
    if (any_next) printf("---:|---:|");
    printf("\n");
    for (i = 0; i < d->L; i++) {
        const own_layer *l = &ls[i];
        const own_overlap *o[2];
        int j, a, b;
        o[0] = &l->model, o[1] = &l->latent;
        printf("| %d | %s |", i, own_attn_label(l->attn));
        for (j = 0; j < (any_lat ? 2 : 1); j++) {
            double sum = 0.0, mn = INFINITY, mx = -INFINITY;
            int pairs = 0;
            for (a = 0; o[j]->mean_cos2 && a < d->H; a++)
                for (b = a + 1; b < d->H; b++) {
                    double v = o[j]->mean_cos2[(size_t)a * d->H + b];
                    sum += v, pairs++;
                    mn = v < mn ? v : mn, mx = v > mx ? v : mx;
                }
            if (!o[j]->mean_cos2) printf(" - | - |");
            else if (!pairs) printf(" - | %.3f |", o[j]->baseline);
            else printf(" %.3f (%.3f..%.3f) | %.3f |", sum / pairs, mn, mx, o[j]->baseline);
        }
        if (any_next) {
            if (l->next_cos) printf(" %.3f | %.3f |", l->next_overlap, l->next_baseline);
            else printf(" - | - |");
        }
        printf("\n");
    }
    printf("\n%s/own.json, %s/own_rank.csv, %s/own_heads.svg, %s/own_angles.svg\n", out_dir, out_dir,
           out_dir, out_dir);
}

/* ---- the analysis ----------------------------------------------------------------------------- */

int svd_own_checkpoint(const char *path, const char *out_dir, int fold_norms) {
    ss_safetensors st;
    ss_json_doc doc;
    ss_config cfg;
    own_dims d;
    own_layer *ls = NULL;
    own_weights w;
    double *prev_ob = NULL;
    const char *text;
    char file[1200], source[1100];
    int i, status = -1, any_latent = 0;
    memset(&st, 0, sizeof st);
    memset(&doc, 0, sizeof doc);
    memset(&w, 0, sizeof w);
    memset(&d, 0, sizeof d);
    fold_norms = fold_norms != 0;
    if (ss_safetensors_open(&st, path) != SS_OK) {
        own_fail("%s", ss_last_error_detail());
        goto done;
    }
    text = ss_safetensors_metadata(&st, "config");
    if (!text) {
        own_fail("%s: no \"config\" in its __metadata__ (not a subspace.h checkpoint?)", path);
        goto done;
    }
    snprintf(source, sizeof source, "%s: __metadata__.config", path);
    if (ss_json_parse(&doc, text, strlen(text), source) != SS_OK ||
        ss_config_from_json(&cfg, ss_json_root(&doc)) != SS_OK) {
        own_fail("%s", ss_last_error_detail());
        goto done;
    }
    d.L = cfg.num_hidden_layers, d.D = cfg.hidden_size, d.H = cfg.num_attention_heads;
    d.Dh = cfg.head_dim, d.Dr = cfg.rope_dims;
    for (i = 0; i < d.L; i++) any_latent |= ss_config_attn_kind(&cfg, i) != SS_ATTN_MHA;
    if (any_latent) {
        d.Cq = cfg.q_latent_dim, d.Ckv = cfg.kv_latent_dim;
        if (cfg.output_subspace) d.Co = cfg.o_latent_dim;
    }
    ls = (own_layer *)calloc((size_t)(d.L > 0 ? d.L : 1), sizeof *ls);
    if (!ls) {
        own_fail("out of memory");
        goto done;
    }
    for (i = 0; i < d.L; i++) {
        const ss_attn_kind attn = ss_config_attn_kind(&cfg, i);
        if (own_load(&st, &d, i, attn, fold_norms, &w) != 0 || own_analyse(&d, &w, attn, &ls[i]) != 0)
            goto done;
        if (prev_ob && attn == SS_ATTN_MLA_O &&
            own_next_layer(prev_ob, w.o_b, d.D, d.Co, &ls[i - 1]) != 0)
            goto done;
        free(prev_ob);
        prev_ob = w.o_b; /* kept for the next layer (NULL unless MLA-o) */
        w.o_b = NULL;
        own_weights_free(&w);
    }
#define OWN_FILE(name) (snprintf(file, sizeof file, "%s/%s", out_dir, name), file)
    if (own_write_json(OWN_FILE("own.json"), path, fold_norms, &d, ls) != 0 ||
        own_write_csv(OWN_FILE("own_rank.csv"), &d, ls) != 0 ||
        own_plot_heads(OWN_FILE("own_heads.svg"), &d, ls) != 0 ||
        own_plot_angles(OWN_FILE("own_angles.svg"), &d, ls) != 0)
        goto done;
#undef OWN_FILE
    own_summary(path, out_dir, fold_norms, &d, ls);
    status = 0;
done:
    if (ls)
        for (i = 0; i < d.L; i++) own_layer_free(&ls[i]);
    free(ls), free(prev_ob);
    own_weights_free(&w);
    ss_json_doc_free(&doc);
    ss_safetensors_close(&st);
    return status;
}
