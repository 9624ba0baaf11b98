/* test_attention.c - ss_attention_forward and ss_attention_backward of subspace.h.

   Forward against a double-precision reference written with explicit loops, for: no mask; a key
   mask with padding (inside the sequence and a whole-padding tail); causal; causal + key mask; rows
   with no visible key (zero probabilities, zero output); q, k, v read with strides out of fused
   buffers (q rows of stride H*Dh+5, k and v in one kv buffer with ldk = ldv = 2*H*Dh).
   Backward (dq, dk, dv) against central finite differences of L = sum_i w_i * out_i (dout = w) for
   each of those options, with dropout_p = 0 and 0.25. L runs through a double reference forward
   that takes the dropout mask as input (the mask of one library forward, held fixed; never
   re-drawn), first checked against ss_attention_forward's output for the same inputs and mask;
   for two cases L also runs through ss_attention_forward itself (p = 0, looser tolerance, as its
   output is float). Also: accumulation (two backward calls add twice), datt and out/att are
   written before they are read (NaN-filled scratch), dropout statistics and determinism, results
   independent of the OpenMP thread count, one larger forward (B=2 T=33 H=3 Dh=16) and sampled
   finite differences on it.

   Build and run from the repository root:
     cc -std=c99 -O2 -o test_attention tests/test_attention.c -lm && ./test_attention
   (add -fopenmp to check the thread-count independence). `./test_attention --mutate` scales every
   dout given to backward by 1.01: every "fd" check must then FAIL, which shows they can fail. */
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- shared machinery -------------------------------------------------------------------- */

static float dout_scale = 1.0f; /* 1.01 under --mutate */

#define FD_EPS 1e-3f
#define FD_ATOL 2e-5 /* differences of the double reference */
#define FD_RTOL 1e-4
#define FD_LIB_ATOL 5e-4 /* differences of ss_attention_forward itself (float output) */
#define FD_LIB_RTOL 3e-3
#define FWD_ATOL 2e-6 /* forward against the double reference */
#define FWD_RTOL 1e-5
#define ACCUM_ATOL 1e-5
#define ACCUM_RTOL 1e-5
#define DROP_P 0.25f
#define TMAX 160 /* longest T of the double reference */
#define TILED_ATOL 2e-6 /* tiled core against the full one (another summation order) */
#define TILED_RTOL 2e-5

/* The dout handed to backward: w, times 1.01 under --mutate. */
static float *make_dout(const float *w, size_t n) {
    float *d = test_alloc(n);
    size_t i;
    for (i = 0; i < n; i++) d[i] = w[i] * dout_scale;
    return d;
}

/* Print the largest |analytic - numeric| of a gradient check, to show the tolerance's margin. */
static void print_margin(const float *a, const float *n, size_t cnt) {
    double md = 0.0, mn = 0.0;
    size_t i;
    for (i = 0; i < cnt; i++) {
        if (fabs((double)a[i] - n[i]) > md) md = fabs((double)a[i] - n[i]);
        if (fabs(n[i]) > mn) mn = fabs(n[i]);
    }
    printf("  max |analytic - numeric| %.2g, max |numeric| %.2g\n", md, mn);
}

static void to_float(float *dst, const double *src, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) dst[i] = (float)src[i];
}

/* num[i] = central difference of f in x[i], with this file's step. */
static void fd_numeric(float *num, float *x, size_t n, objective_fn f, void *ctx) {
    fd_central(num, x, n, FD_EPS, f, ctx);
}

/* q, k and v inside two buffers, laid out as the model's projections leave them.
   plain: q (B,T,H*Dh); kv holds k (B,T,H*Dh) and then v (B,T,H*Dh).
   fused: q rows of stride ldq = H*Dh + 5 (a wider projection); kv rows [k | v], ldk = ldv = 2*H*Dh.
   Gradients use the same layout in their own buffers. */
typedef struct att_layout {
    int B, T, H, Dh, HD, fused;
    int ldq, ldk, ldv;
    size_t nq, nkv, koff, voff, nout, natt;
} att_layout;

static att_layout make_layout(int B, int T, int H, int Dh, int fused) {
    att_layout L;
    L.B = B, L.T = T, L.H = H, L.Dh = Dh, L.HD = H * Dh, L.fused = fused;
    L.nout = (size_t)B * T * L.HD;
    L.natt = (size_t)B * H * T * T;
    if (fused) {
        L.ldq = L.HD + 5, L.ldk = L.ldv = 2 * L.HD;
        L.nq = (size_t)B * T * L.ldq, L.nkv = (size_t)B * T * 2 * L.HD;
        L.koff = 0, L.voff = (size_t)L.HD;
    } else {
        L.ldq = L.ldk = L.ldv = L.HD;
        L.nq = L.nout, L.nkv = 2 * L.nout;
        L.koff = 0, L.voff = L.nout;
    }
    return L;
}

/* dst (B,T,H*Dh) contiguous <- rows of stride ld starting at src. */
static void gather(float *dst, const float *src, int ld, const att_layout *L) {
    int r;
    for (r = 0; r < L->B * L->T; r++)
        memcpy(dst + (size_t)r * L->HD, src + (size_t)r * ld, sizeof(float) * L->HD);
}

/* Is key j visible to query i of batch row b? */
static int visible(const int *key_mask, int causal, int b, int i, int j, int T) {
    return (!causal || j <= i) && (!key_mask || key_mask[b * T + j]);
}

/* The definition, in double: S = q k^T / sqrt(Dh) over visible keys, att = softmax(S) (all zero
   when no key is visible), att' = att * mask / (1-p) when mask is given, out = att' v.
   out (B,T,H,Dh), att (B,H,T,T) before dropout. */
static void ref_attention(double *out, double *att, const float *q, const float *k, const float *v,
                          const int *key_mask, int causal, const unsigned char *mask, double p,
                          const att_layout *L) {
    const int B = L->B, T = L->T, H = L->H, Dh = L->Dh;
    const double scale = 1.0 / sqrt((double)Dh);
    int b, h, i, j, d;
    for (b = 0; b < B; b++)
        for (h = 0; h < H; h++)
            for (i = 0; i < T; i++) {
                double s[TMAX], mx = -HUGE_VAL, sum = 0.0;
                double *a = att + (((size_t)b * H + h) * T + i) * T;
                double *o = out + ((size_t)b * T + i) * L->HD + (size_t)h * Dh;
                const float *qi = q + ((size_t)b * T + i) * L->ldq + (size_t)h * Dh;
                for (j = 0; j < T; j++) {
                    const float *kj = k + ((size_t)b * T + j) * L->ldk + (size_t)h * Dh;
                    double dot = 0.0;
                    for (d = 0; d < Dh; d++) dot += (double)qi[d] * kj[d];
                    s[j] = dot * scale;
                    if (visible(key_mask, causal, b, i, j, T) && s[j] > mx) mx = s[j];
                }
                for (j = 0; j < T; j++) {
                    a[j] = visible(key_mask, causal, b, i, j, T) ? exp(s[j] - mx) : 0.0;
                    sum += a[j];
                }
                for (j = 0; j < T; j++) a[j] = sum > 0.0 ? a[j] / sum : 0.0;
                for (d = 0; d < Dh; d++) o[d] = 0.0;
                for (j = 0; j < T; j++) {
                    const float *vj = v + ((size_t)b * T + j) * L->ldv + (size_t)h * Dh;
                    double pj = a[j];
                    if (mask)
                        pj = mask[(((size_t)b * H + h) * T + i) * T + j] ? pj / (1.0 - p) : 0.0;
                    for (d = 0; d < Dh; d++) o[d] += pj * vj[d];
                }
            }
}

/* Everything one objective evaluation needs. */
typedef struct att_ctx {
    const att_layout *L;
    float *qb, *kvb; /* the buffers the differences perturb */
    const int *key_mask;
    int causal;
    int use_ref;               /* 0: L through ss_attention_forward with p = 0 */
    const unsigned char *mask; /* 1: L through ref_attention, with this dropout mask (or NULL) */
    float p;                   /*    held fixed, and this p */
    const float *w;
    float *out, *att;   /* library scratch */
    double *rout, *ratt; /* reference scratch */
} att_ctx;

static double att_objective(void *pv) {
    att_ctx *c = (att_ctx *)pv;
    const att_layout *L = c->L;
    const float *q = c->qb, *k = c->kvb + L->koff, *v = c->kvb + L->voff;
    double s = 0.0;
    size_t i;
    if (!c->use_ref) {
        ss_attention_forward(c->out, c->att, NULL, NULL, q, k, v, c->key_mask, c->causal, 0.0f,
                             NULL, L->B, L->T, L->H, L->Dh, L->ldq, L->ldk, L->ldv);
        return weighted_sum(c->w, c->out, L->nout);
    }
    ref_attention(c->rout, c->ratt, q, k, v, c->key_mask, c->causal, c->mask, c->p, L);
    for (i = 0; i < L->nout; i++) s += (double)c->w[i] * c->rout[i];
    return s;
}

/* Compare the analytic gradient buffers with numeric ones as dq, dk and dv, and check that the
   gaps of the q buffer (columns H*Dh..ldq-1) stay 0 in both (backward started from zeros). */
static void check_grads(const char *tag, const att_layout *L, const float *dqb, const float *dkvb,
                        const float *nq, const float *nkv, double atol, double rtol) {
    float *ga = test_alloc(L->nout), *gn = test_alloc(L->nout);
    char name[256];
    int r, j, gaps_ok = 1;
    gather(ga, dqb, L->ldq, L), gather(gn, nq, L->ldq, L);
    snprintf(name, sizeof name, "%s dq fd", tag);
    check_tensor(name, ga, gn, L->nout, atol, rtol);
    print_margin(ga, gn, L->nout);
    gather(ga, dkvb + L->koff, L->ldk, L), gather(gn, nkv + L->koff, L->ldk, L);
    snprintf(name, sizeof name, "%s dk fd", tag);
    check_tensor(name, ga, gn, L->nout, atol, rtol);
    print_margin(ga, gn, L->nout);
    gather(ga, dkvb + L->voff, L->ldv, L), gather(gn, nkv + L->voff, L->ldv, L);
    snprintf(name, sizeof name, "%s dv fd", tag);
    check_tensor(name, ga, gn, L->nout, atol, rtol);
    print_margin(ga, gn, L->nout);
    if (L->ldq > L->HD) {
        for (r = 0; r < L->B * L->T; r++)
            for (j = L->HD; j < L->ldq; j++)
                gaps_ok &= dqb[(size_t)r * L->ldq + j] == 0.0f &&
                           nq[(size_t)r * L->ldq + j] == 0.0f;
        snprintf(name, sizeof name, "%s dq row gaps stay 0", tag);
        test_true(gaps_ok, name);
    }
    free(ga), free(gn);
}

/* Masked entries exactly 0, and rows with no visible key all zero in att and out. */
static void check_masking(const char *tag, const att_layout *L, const float *att, const float *out,
                          const int *key_mask, int causal) {
    const int T = L->T;
    int b, h, i, j, d, hidden_ok = 1, empty_ok = 1, empty = 0;
    char name[256];
    for (b = 0; b < L->B; b++)
        for (i = 0; i < T; i++) {
            int any = 0;
            for (j = 0; j < T; j++) any |= visible(key_mask, causal, b, i, j, T);
            empty += !any;
            for (h = 0; h < L->H; h++) {
                const float *a = att + (((size_t)b * L->H + h) * T + i) * T;
                const float *o = out + ((size_t)b * T + i) * L->HD + (size_t)h * L->Dh;
                for (j = 0; j < T; j++)
                    if (!visible(key_mask, causal, b, i, j, T)) hidden_ok &= a[j] == 0.0f;
                if (!any)
                    for (d = 0; d < L->Dh; d++) empty_ok &= o[d] == 0.0f;
            }
        }
    snprintf(name, sizeof name, "%s hidden keys get probability exactly 0", tag);
    test_true(hidden_ok, name);
    if (empty) {
        snprintf(name, sizeof name, "%s %d rows with no visible key: zero att and zero out", tag,
                 empty);
        test_true(hidden_ok && empty_ok, name);
    }
}

/* log sum_j exp(S_ij) over the visible keys, in double (+inf for a row with none): the lse the
   tiled core keeps. lse (B,H,T). */
static void ref_lse(float *lse, const float *q, const float *k, const int *key_mask, int causal,
                    const att_layout *L) {
    const int B = L->B, T = L->T, H = L->H, Dh = L->Dh;
    int b, h, i, j, d;
    for (b = 0; b < B; b++)
        for (h = 0; h < H; h++)
            for (i = 0; i < T; i++) {
                double s[TMAX], mx = -HUGE_VAL, sum = 0.0;
                const float *qi = q + ((size_t)b * T + i) * L->ldq + (size_t)h * Dh;
                for (j = 0; j < T; j++) {
                    const float *kj = k + ((size_t)b * T + j) * L->ldk + (size_t)h * Dh;
                    double dot = 0.0;
                    for (d = 0; d < Dh; d++) dot += (double)qi[d] * kj[d];
                    s[j] = dot / sqrt((double)Dh);
                    if (visible(key_mask, causal, b, i, j, T) && s[j] > mx) mx = s[j];
                }
                for (j = 0; j < T; j++)
                    if (visible(key_mask, causal, b, i, j, T)) sum += exp(s[j] - mx);
                lse[((size_t)b * H + h) * T + i] = sum > 0.0 ? (float)(mx + log(sum)) : INFINITY;
            }
}

/* The tiled core's forward with a fresh rng seeded `seed` (the same draw the full core makes),
   then its backward from zero gradients into dqb and dkvb. */
static void tiled_run(float *out, float *lse, float *dqb, float *dkvb, const float *dout,
                      const float *qb, const float *kvb, const int *key_mask, int causal, float p,
                      uint64_t seed, const att_layout *L) {
    const float *q = qb, *k = kvb + L->koff, *v = kvb + L->voff;
    uint64_t drop_seed = 0;
    ss_rng drng;
    ss_rng_seed(&drng, seed);
    ss_attention_tiled_forward(out, lse, &drop_seed, q, k, v, key_mask, causal, p, &drng, L->B,
                               L->T, L->H, L->Dh, L->ldq, L->ldk, L->ldv);
    memset(dqb, 0, sizeof(float) * L->nq), memset(dkvb, 0, sizeof(float) * L->nkv);
    ss_attention_tiled_backward(dqb, dkvb + L->koff, dkvb + L->voff, dout, q, k, v, out, lse,
                                drop_seed, key_mask, causal, p, L->B, L->T, L->H, L->Dh, L->ldq,
                                L->ldk, L->ldv);
}

/* lse against the reference; a +inf (no visible key) must meet a +inf, and then counts as 0. */
static void check_lse(const char *name, const float *got, const float *want, size_t n) {
    float *g = test_alloc(n), *w = test_alloc(n);
    size_t i;
    for (i = 0; i < n; i++) {
        const int both = got[i] == INFINITY && want[i] == INFINITY;
        g[i] = both ? 0.0f : got[i], w[i] = both ? 0.0f : want[i];
    }
    check_tensor(name, g, w, n, FWD_ATOL, FWD_RTOL);
    free(g), free(w);
}

/* Rows with no visible key: lse +inf and a zero output in the tiled core too. */
static void check_tiled_empty(const char *tag, const att_layout *L, const float *lse,
                              const float *out, const int *key_mask, int causal) {
    int b, h, i, j, d, ok = 1, empty = 0;
    char name[256];
    for (b = 0; b < L->B; b++)
        for (i = 0; i < L->T; i++) {
            int any = 0;
            for (j = 0; j < L->T; j++) any |= visible(key_mask, causal, b, i, j, L->T);
            if (any) continue;
            empty++;
            for (h = 0; h < L->H; h++) {
                const float *o = out + ((size_t)b * L->T + i) * L->HD + (size_t)h * L->Dh;
                ok &= lse[((size_t)b * L->H + h) * L->T + i] == INFINITY;
                for (d = 0; d < L->Dh; d++) ok &= o[d] == 0.0f;
            }
        }
    if (!empty) return;
    snprintf(name, sizeof name, "%s %d rows with no visible key: lse +inf, zero out", tag, empty);
    test_true(ok, name);
}

/* ---- the tiny cases: forward, masking, finite differences -------------------------------- */

enum { TB = 2, TT = 5, TH = 2, TDh = 6 };

static const int km_pad[TB * TT] = {1, 1, 0, 1, 1, /* padding inside */
                                    1, 1, 1, 0, 0}; /* a padding tail */
static const int km_causal[TB * TT] = {0, 1, 1, 1, 0, /* query 0 sees only key 0: padded */
                                       1, 0, 1, 0, 0};
static const int km_allpad[TB * TT] = {1, 1, 1, 1, 0, /* tail */
                                       0, 0, 0, 0, 0}; /* every key padded: no row sees any */

typedef struct att_case {
    const char *name;
    const int *key_mask;
    int causal, fused;
    int library_fd; /* also differentiate ss_attention_forward itself (p = 0) */
} att_case;

static void attention_case(ss_rng *rng, const att_case *cs, uint64_t seed) {
    const att_layout L = make_layout(TB, TT, TH, TDh, cs->fused);
    float *qb = test_alloc(L.nq), *kvb = test_alloc(L.nkv), *w = test_alloc(L.nout), *dout;
    float *out = test_alloc(L.nout), *att = test_alloc(L.natt), *att_drop = test_alloc(L.natt);
    float *datt = test_alloc(L.natt), *want = test_alloc(L.natt), *sc_out = test_alloc(L.nout);
    float *sc_att = test_alloc(L.natt), *dqb = test_alloc(L.nq), *dkvb = test_alloc(L.nkv);
    float *nq = test_alloc(L.nq), *nkv = test_alloc(L.nkv);
    double *rout = (double *)calloc(L.nout, sizeof(double));
    double *ratt = (double *)calloc(L.natt, sizeof(double));
    unsigned char *drop_mask = (unsigned char *)calloc(L.natt, 1);
    float *t_out = test_alloc(L.nout), *t_lse = test_alloc((size_t)L.B * L.H * L.T);
    float *r_lse = test_alloc((size_t)L.B * L.H * L.T), *t_dq = test_alloc(L.nq);
    float *t_dkv = test_alloc(L.nkv);
    const float *q = qb, *k = kvb + L.koff, *v = kvb + L.voff;
    char tag[96], name[256];
    ss_rng drng;
    att_ctx c;
    size_t i;
    if (!rout || !ratt || !drop_mask) exit(2);
    test_fill(qb, L.nq, rng, -1.0f, 1.0f);
    test_fill(kvb, L.nkv, rng, -1.0f, 1.0f);
    test_fill(w, L.nout, rng, -1.0f, 1.0f);
    dout = make_dout(w, L.nout);

    /* p = 0: forward against the reference */
    snprintf(tag, sizeof tag, "attention %s", cs->name);
    ss_attention_forward(out, att, NULL, NULL, q, k, v, cs->key_mask, cs->causal, 0.0f, NULL, L.B,
                         L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    ref_attention(rout, ratt, q, k, v, cs->key_mask, cs->causal, NULL, 0.0, &L);
    to_float(sc_out, rout, L.nout), to_float(sc_att, ratt, L.natt);
    snprintf(name, sizeof name, "%s forward out vs double", tag);
    check_tensor(name, out, sc_out, L.nout, FWD_ATOL, FWD_RTOL);
    snprintf(name, sizeof name, "%s forward att vs double", tag);
    check_tensor(name, att, sc_att, L.natt, FWD_ATOL, FWD_RTOL);
    check_masking(tag, &L, att, out, cs->key_mask, cs->causal);

    /* p = 0: gradients against differences of the reference (checked against the library just
       above); for two cases also of the library forward itself (looser: its output is float) */
    ss_attention_backward(dqb, dkvb + L.koff, dkvb + L.voff, datt, dout, q, k, v, att, NULL, NULL,
                          0.0f, L.B, L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    c.L = &L, c.qb = qb, c.kvb = kvb, c.key_mask = cs->key_mask, c.causal = cs->causal;
    c.use_ref = 1, c.mask = NULL, c.p = 0.0f, c.w = w;
    c.out = sc_out, c.att = sc_att, c.rout = rout, c.ratt = ratt;
    fd_numeric(nq, qb, L.nq, att_objective, &c);
    fd_numeric(nkv, kvb, L.nkv, att_objective, &c);
    snprintf(tag, sizeof tag, "attention %s p=0", cs->name);
    check_grads(tag, &L, dqb, dkvb, nq, nkv, FD_ATOL, FD_RTOL);
    /* the tiled core: same output, its own lse, and the same differences */
    tiled_run(t_out, t_lse, t_dq, t_dkv, dout, qb, kvb, cs->key_mask, cs->causal, 0.0f, 1, &L);
    snprintf(tag, sizeof tag, "attention tiled %s p=0", cs->name);
    snprintf(name, sizeof name, "%s out vs full core", tag);
    check_tensor(name, t_out, out, L.nout, TILED_ATOL, TILED_RTOL);
    ref_lse(r_lse, q, k, cs->key_mask, cs->causal, &L);
    snprintf(name, sizeof name, "%s lse vs double", tag);
    check_lse(name, t_lse, r_lse, (size_t)L.B * L.H * L.T);
    check_tiled_empty(tag, &L, t_lse, t_out, cs->key_mask, cs->causal);
    check_grads(tag, &L, t_dq, t_dkv, nq, nkv, FD_ATOL, FD_RTOL);
    snprintf(tag, sizeof tag, "attention %s p=0", cs->name);
    if (cs->library_fd) {
        c.use_ref = 0;
        fd_numeric(nq, qb, L.nq, att_objective, &c);
        fd_numeric(nkv, kvb, L.nkv, att_objective, &c);
        snprintf(tag, sizeof tag, "attention %s p=0 (library forward)", cs->name);
        check_grads(tag, &L, dqb, dkvb, nq, nkv, FD_LIB_ATOL, FD_LIB_RTOL);
    }

    /* p = 0.25: one library forward draws the mask; the reference reproduces it with that mask */
    ss_rng_seed(&drng, seed);
    ss_attention_forward(out, att, att_drop, drop_mask, q, k, v, cs->key_mask, cs->causal, DROP_P,
                         &drng, L.B, L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    snprintf(tag, sizeof tag, "attention %s p=0.25", cs->name);
    for (i = 0; i < L.natt; i++) want[i] = drop_mask[i] ? att[i] * (1.0f / (1.0f - DROP_P)) : 0.0f;
    snprintf(name, sizeof name, "%s att_drop = att*mask/(1-p)", tag);
    check_tensor(name, att_drop, want, L.natt, 0.0, 1e-6);
    ref_attention(rout, ratt, q, k, v, cs->key_mask, cs->causal, drop_mask, DROP_P, &L);
    to_float(sc_out, rout, L.nout), to_float(sc_att, ratt, L.natt);
    snprintf(name, sizeof name, "%s forward out vs double with its mask", tag);
    check_tensor(name, out, sc_out, L.nout, FWD_ATOL, FWD_RTOL);
    snprintf(name, sizeof name, "%s forward att vs double", tag);
    check_tensor(name, att, sc_att, L.natt, FWD_ATOL, FWD_RTOL);

    memset(dqb, 0, sizeof(float) * L.nq), memset(dkvb, 0, sizeof(float) * L.nkv);
    ss_attention_backward(dqb, dkvb + L.koff, dkvb + L.voff, datt, dout, q, k, v, att, att_drop,
                          drop_mask, DROP_P, L.B, L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    c.use_ref = 1, c.mask = drop_mask, c.p = DROP_P;
    fd_numeric(nq, qb, L.nq, att_objective, &c);
    fd_numeric(nkv, kvb, L.nkv, att_objective, &c);
    check_grads(tag, &L, dqb, dkvb, nq, nkv, FD_ATOL, FD_RTOL);
    /* the tiled core with the same rng state decides the same keeps: same out, same gradients */
    tiled_run(t_out, t_lse, t_dq, t_dkv, dout, qb, kvb, cs->key_mask, cs->causal, DROP_P, seed, &L);
    snprintf(tag, sizeof tag, "attention tiled %s p=0.25", cs->name);
    snprintf(name, sizeof name, "%s out vs full core (same keeps)", tag);
    check_tensor(name, t_out, out, L.nout, TILED_ATOL, TILED_RTOL);
    check_grads(tag, &L, t_dq, t_dkv, nq, nkv, FD_ATOL, FD_RTOL);

    free(qb), free(kvb), free(w), free(dout), free(out), free(att), free(att_drop), free(datt);
    free(want), free(sc_out), free(sc_att), free(dqb), free(dkvb), free(nq), free(nkv);
    free(rout), free(ratt), free(drop_mask), free(t_out), free(t_lse), free(r_lse), free(t_dq);
    free(t_dkv);
}

/* Two backward calls from nonzero gradients add twice; datt is scratch (NaN there is harmless). */
static void test_accumulation(ss_rng *rng) {
    const att_layout L = make_layout(TB, TT, TH, TDh, 1);
    float *qb = test_alloc(L.nq), *kvb = test_alloc(L.nkv), *w = test_alloc(L.nout), *dout;
    float *out = test_alloc(L.nout), *att = test_alloc(L.natt), *att_drop = test_alloc(L.natt);
    float *datt = test_alloc(L.natt), *dq1 = test_alloc(L.nq), *dkv1 = test_alloc(L.nkv);
    float *sq = test_alloc(L.nq), *skv = test_alloc(L.nkv), *tq = test_alloc(L.nq);
    float *tkv = test_alloc(L.nkv), *wq = test_alloc(L.nq), *wkv = test_alloc(L.nkv);
    unsigned char *drop_mask = (unsigned char *)calloc(L.natt, 1);
    const float *q = qb, *k = kvb + L.koff, *v = kvb + L.voff;
    ss_rng drng;
    size_t i;
    int n;
    if (!drop_mask) exit(2);
    test_fill(qb, L.nq, rng, -1.0f, 1.0f);
    test_fill(kvb, L.nkv, rng, -1.0f, 1.0f);
    test_fill(w, L.nout, rng, -1.0f, 1.0f);
    dout = make_dout(w, L.nout);
    for (i = 0; i < L.nout; i++) out[i] = NAN;
    for (i = 0; i < L.natt; i++) att[i] = att_drop[i] = datt[i] = NAN;
    ss_rng_seed(&drng, 99);
    ss_attention_forward(out, att, att_drop, drop_mask, q, k, v, km_pad, 1, DROP_P, &drng, L.B, L.T,
                         L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    test_true(all_finite(out, L.nout) && all_finite(att, L.natt) && all_finite(att_drop, L.natt),
              "attention forward writes every out, att, att_drop entry (NaN-filled before)");
    ss_attention_backward(dq1, dkv1 + L.koff, dkv1 + L.voff, datt, dout, q, k, v, att, att_drop,
                          drop_mask, DROP_P, L.B, L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    test_fill(sq, L.nq, rng, -1.0f, 1.0f);
    test_fill(skv, L.nkv, rng, -1.0f, 1.0f);
    memcpy(tq, sq, sizeof(float) * L.nq), memcpy(tkv, skv, sizeof(float) * L.nkv);
    for (n = 0; n < 2; n++) {
        for (i = 0; i < L.natt; i++) datt[i] = NAN; /* scratch: must be overwritten, not read */
        ss_attention_backward(tq, tkv + L.koff, tkv + L.voff, datt, dout, q, k, v, att, att_drop,
                              drop_mask, DROP_P, L.B, L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    }
    for (i = 0; i < L.nq; i++) wq[i] = sq[i] + 2.0f * dq1[i];
    for (i = 0; i < L.nkv; i++) wkv[i] = skv[i] + 2.0f * dkv1[i];
    printf("# accumulation: atol %g, rtol %g\n", ACCUM_ATOL, ACCUM_RTOL);
    check_tensor("attention dq accumulates (strided, causal+keymask, p=0.25, NaN datt)", tq, wq,
                 L.nq, ACCUM_ATOL, ACCUM_RTOL);
    check_tensor("attention dk,dv accumulate (fused kv, causal+keymask, p=0.25, NaN datt)", tkv,
                 wkv, L.nkv, ACCUM_ATOL, ACCUM_RTOL);
    free(qb), free(kvb), free(w), free(dout), free(out), free(att), free(att_drop), free(datt);
    free(dq1), free(dkv1), free(sq), free(skv), free(tq), free(tkv), free(wq), free(wkv);
    free(drop_mask);
}

/* ---- dropout: statistics, determinism, thread count -------------------------------------- */

typedef struct att_run { /* one forward + backward and everything it produced */
    float *out, *att, *att_drop, *dq, *dk, *dv, *datt;
    unsigned char *mask;
} att_run;

static void run_alloc(att_run *r, const att_layout *L) {
    r->out = test_alloc(L->nout), r->att = test_alloc(L->natt), r->att_drop = test_alloc(L->natt);
    r->dq = test_alloc(L->nout), r->dk = test_alloc(L->nout), r->dv = test_alloc(L->nout);
    r->datt = test_alloc(L->natt);
    r->mask = (unsigned char *)calloc(L->natt, 1);
    if (!r->mask) exit(2);
}

static void run_free(att_run *r) {
    free(r->out), free(r->att), free(r->att_drop), free(r->dq), free(r->dk), free(r->dv);
    free(r->datt), free(r->mask);
}

static void run_once(att_run *r, const att_layout *L, const float *q, const float *k,
                     const float *v, const float *dout, const int *key_mask, uint64_t seed) {
    ss_rng rng;
    memset(r->dq, 0, sizeof(float) * L->nout), memset(r->dk, 0, sizeof(float) * L->nout);
    memset(r->dv, 0, sizeof(float) * L->nout); /* backward adds: start each run from zero */
    ss_rng_seed(&rng, seed);
    ss_attention_forward(r->out, r->att, r->att_drop, r->mask, q, k, v, key_mask, 1, DROP_P, &rng,
                         L->B, L->T, L->H, L->Dh, L->ldq, L->ldk, L->ldv);
    ss_attention_backward(r->dq, r->dk, r->dv, r->datt, dout, q, k, v, r->att, r->att_drop, r->mask,
                          DROP_P, L->B, L->T, L->H, L->Dh, L->ldq, L->ldk, L->ldv);
}

static int same_run(const att_run *a, const att_run *b, const att_layout *L) {
    return memcmp(a->out, b->out, sizeof(float) * L->nout) == 0 &&
           memcmp(a->att, b->att, sizeof(float) * L->natt) == 0 &&
           memcmp(a->att_drop, b->att_drop, sizeof(float) * L->natt) == 0 &&
           memcmp(a->mask, b->mask, L->natt) == 0 &&
           memcmp(a->dq, b->dq, sizeof(float) * L->nout) == 0 &&
           memcmp(a->dk, b->dk, sizeof(float) * L->nout) == 0 &&
           memcmp(a->dv, b->dv, sizeof(float) * L->nout) == 0;
}

static void test_dropout(ss_rng *rng) {
    const att_layout L = make_layout(2, 64, 4, 8, 0);
    float *q = test_alloc(L.nout), *k = test_alloc(L.nout), *v = test_alloc(L.nout);
    float *dout = test_alloc(L.nout), *want = test_alloc(L.natt);
    int *key_mask = (int *)malloc(sizeof(int) * L.B * L.T);
    att_run a, b;
    ss_rng r0, r1;
    size_t i, dropped = 0;
    double frac;
    int t, differ;
    if (!key_mask) exit(2);
    for (t = 0; t < L.B * L.T; t++) key_mask[t] = !(t >= 50 && t < 64) && t != 70; /* tail, pad */
    test_fill(q, L.nout, rng, -1.0f, 1.0f);
    test_fill(k, L.nout, rng, -1.0f, 1.0f);
    test_fill(v, L.nout, rng, -1.0f, 1.0f);
    test_fill(dout, L.nout, rng, -1.0f, 1.0f);
    run_alloc(&a, &L), run_alloc(&b, &L);

    ss_rng_seed(&r0, 7);
    r1 = r0;
    ss_attention_forward(a.out, a.att, a.att_drop, a.mask, q, k, v, key_mask, 1, DROP_P, &r0, L.B,
                         L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
    ss_rng_u64(&r1);
    test_true(r0.state == r1.state, "attention dropout advances rng by exactly one draw");
    for (i = 0; i < L.natt; i++) {
        dropped += a.mask[i] == 0;
        want[i] = a.mask[i] ? a.att[i] * (1.0f / (1.0f - DROP_P)) : 0.0f;
    }
    frac = (double)dropped / (double)L.natt;
    printf("# attention dropout p=0.25 over %zu probabilities: dropped fraction %.4f\n", L.natt,
           frac);
    test_true(fabs(frac - 0.25) < 0.01, "attention dropout drops ~25% (4 sigma)");
    check_tensor("attention dropout att_drop = att*mask/(1-p) (large)", a.att_drop, want, L.natt,
                 0.0, 1e-6);
    differ = 1;
    for (t = 0; t < L.B * L.H; t++) { /* each (b,h) has its own stream: no two masks alike */
        int u;
        for (u = t + 1; u < L.B * L.H; u++)
            differ &= memcmp(a.mask + (size_t)t * L.T * L.T, a.mask + (size_t)u * L.T * L.T,
                             (size_t)L.T * L.T) != 0;
    }
    test_true(differ, "attention dropout: every (b,h) draws its own mask");

    run_once(&a, &L, q, k, v, dout, key_mask, 1234);
    run_once(&b, &L, q, k, v, dout, key_mask, 1234);
    test_true(same_run(&a, &b, &L), "attention dropout: same seed, bit-identical mask/out/grads");
    run_once(&b, &L, q, k, v, dout, key_mask, 1235);
    differ = memcmp(a.mask, b.mask, L.natt) != 0;
    test_true(differ, "attention dropout: another seed, another mask");
#ifdef _OPENMP
    {
        int saved = omp_get_max_threads();
        omp_set_num_threads(4);
        run_once(&a, &L, q, k, v, dout, key_mask, 1234);
        omp_set_num_threads(1);
        run_once(&b, &L, q, k, v, dout, key_mask, 1234);
        omp_set_num_threads(saved);
        test_true(same_run(&a, &b, &L),
                  "attention 4 threads vs 1: bit-identical out, att, att_drop, mask, grads");
    }
#else
    printf("# built without OpenMP: the thread-count check runs under -fopenmp\n");
#endif
    run_free(&a), run_free(&b);
    free(q), free(k), free(v), free(dout), free(want), free(key_mask);
}

/* ---- a larger forward, and sampled differences on it ------------------------------------- */

/* The tiled core's vector row steps against their scalar tails. ss__att_ds_row over 35 keys (32
   in lanes, 3 in the tail): the tail's (A, dA', A') triples copied into lanes give the same bits,
   with dropout (A' = 0: dropped; NaN: kept, as C's != says) and without. ss__max_f: the value of
   the plain loop `if (x > m) m = x` for every length 0-40, with -inf, NaN and signed zeros. */
static void test_row_lanes(void) {
    enum { NK = 35 };
    static const float r3[3] = {0.25f, 0.0f, 1.0f}, d3[3] = {-2.0f, 3.5f, 0.125f};
    static const int lane[3] = {3, 16, 30};
    float row[NK], prow[NK], d_drop[NK], d_plain[NK], x[40];
    int i, n, same = 1, same_max = 1;
    const float p3[3] = {0.0f, 1.25f, NAN};
    for (i = 0; i < NK; i++) {
        row[i] = 0.01f * (float)i, prow[i] = (float)(i % 3), d_drop[i] = d_plain[i] = 0.5f * (float)i;
    }
    for (i = 0; i < 3; i++) {
        row[lane[i]] = row[NK - 3 + i] = r3[i];
        prow[lane[i]] = prow[NK - 3 + i] = p3[i];
        d_drop[lane[i]] = d_drop[NK - 3 + i] = d_plain[lane[i]] = d_plain[NK - 3 + i] = d3[i];
    }
    ss__att_ds_row(d_drop, row, prow, 1.0f / 0.9f, 0.3f, NK);
    ss__att_ds_row(d_plain, row, NULL, 1.0f / 0.9f, 0.3f, NK);
    for (i = 0; i < 3; i++) {
        same &= memcmp(&d_drop[lane[i]], &d_drop[NK - 3 + i], sizeof(float)) == 0;
        same &= memcmp(&d_plain[lane[i]], &d_plain[NK - 3 + i], sizeof(float)) == 0;
    }
    test_true(same, "ds row: the vector lanes give the scalar tail's bits (with and without dropout)");
    for (i = 0; i < 40; i++) x[i] = (float)sin(1.3 * i) * (float)(i % 7);
    x[5] = NAN, x[9] = -INFINITY, x[17] = -0.0f, x[33] = 6.5f;
    for (n = 0; n <= 40; n++) {
        float m = -INFINITY;
        for (i = 0; i < n; i++)
            if (x[i] > m) m = x[i];
        same_max &= ss__max_f(x, n, -INFINITY) == m && ss__max_f(x, n, 2.0f) == (m > 2.0f ? m : 2.0f);
    }
    test_true(same_max, "row max: the lanes give the plain loop's value for lengths 0-40");
}

static void test_large(ss_rng *rng) {
    enum { B = 2, T = 33, H = 3, Dh = 16, NS = 24 };
    static const char *names[3] = {"nomask", "causal_keymask strided", "keymask p=0.25"};
    int km[B * T], t, cs;
    for (t = 0; t < B * T; t++) km[t] = 1;
    km[5] = km[17] = 0;
    for (t = 28; t < T; t++) km[t] = 0;         /* batch 0: pads inside and a tail */
    for (t = T + 10; t < 2 * T; t++) km[t] = 0; /* batch 1: a long tail */
    for (cs = 0; cs < 3; cs++) {
        const att_layout L = make_layout(B, T, H, Dh, cs == 1);
        const int *key_mask = cs == 0 ? NULL : km;
        const int causal = cs == 1;
        const float p = cs == 2 ? DROP_P : 0.0f;
        float *qb = test_alloc(L.nq), *kvb = test_alloc(L.nkv), *out = test_alloc(L.nout);
        float *att = test_alloc(L.natt), *att_drop = test_alloc(L.natt), *fo = test_alloc(L.nout);
        float *fa = test_alloc(L.natt);
        double *rout = (double *)calloc(L.nout, sizeof(double));
        double *ratt = (double *)calloc(L.natt, sizeof(double));
        unsigned char *mask = (unsigned char *)calloc(L.natt, 1);
        const float *q = qb, *k = kvb + L.koff, *v = kvb + L.voff;
        char name[256];
        ss_rng drng;
        size_t i;
        if (!rout || !ratt || !mask) exit(2);
        test_fill(qb, L.nq, rng, -1.5f, 1.5f);
        test_fill(kvb, L.nkv, rng, -1.5f, 1.5f);
        for (i = 0; i < L.nout; i++) out[i] = NAN;
        for (i = 0; i < L.natt; i++) att[i] = NAN;
        ss_rng_seed(&drng, 5);
        ss_attention_forward(out, att, p > 0.0f ? att_drop : NULL, p > 0.0f ? mask : NULL, q, k, v,
                             key_mask, causal, p, p > 0.0f ? &drng : NULL, B, T, H, Dh, L.ldq,
                             L.ldk, L.ldv);
        ref_attention(rout, ratt, q, k, v, key_mask, causal, p > 0.0f ? mask : NULL, p, &L);
        to_float(fo, rout, L.nout), to_float(fa, ratt, L.natt);
        snprintf(name, sizeof name, "attention_large %s out vs double", names[cs]);
        check_tensor(name, out, fo, L.nout, FWD_ATOL, FWD_RTOL);
        snprintf(name, sizeof name, "attention_large %s att vs double", names[cs]);
        check_tensor(name, att, fa, L.natt, FWD_ATOL, FWD_RTOL);
        snprintf(name, sizeof name, "attention_large %s", names[cs]);
        check_masking(name, &L, att, out, key_mask, causal);

        if (cs == 1) { /* sampled central differences of the (just validated) reference */
            float *w = test_alloc(L.nout), *dout, *dqb = test_alloc(L.nq);
            float *dkvb = test_alloc(L.nkv);
            float *datt = test_alloc(L.natt), ga[2 * NS], gn[2 * NS];
            att_ctx c;
            int s;
            test_fill(w, L.nout, rng, -1.0f, 1.0f);
            dout = make_dout(w, L.nout);
            ss_attention_backward(dqb, dkvb + L.koff, dkvb + L.voff, datt, dout, q, k, v, att, NULL,
                                  NULL, 0.0f, B, T, H, Dh, L.ldq, L.ldk, L.ldv);
            c.L = &L, c.qb = qb, c.kvb = kvb, c.key_mask = key_mask, c.causal = causal;
            c.use_ref = 1, c.mask = NULL, c.p = 0.0f, c.w = w; /* the reference checked above */
            c.out = fo, c.att = fa, c.rout = rout, c.ratt = ratt;
            for (s = 0; s < NS; s++) { /* q elements inside heads, and any kv elements */
                size_t r = (size_t)(ss_rng_u32(rng) % (uint32_t)(B * T));
                size_t iq = r * L.ldq + ss_rng_u32(rng) % (uint32_t)L.HD;
                size_t ikv = ss_rng_u32(rng) % (uint32_t)L.nkv;
                ga[s] = dqb[iq], ga[NS + s] = dkvb[ikv];
                fd_numeric(&gn[s], &qb[iq], 1, att_objective, &c);
                fd_numeric(&gn[NS + s], &kvb[ikv], 1, att_objective, &c);
            }
            check_tensor("attention_large causal_keymask strided dq,dk,dv fd (48 sampled)", ga, gn,
                         2 * NS, FD_ATOL, FD_RTOL);
            print_margin(ga, gn, 2 * NS);
            free(w), free(dout), free(dqb), free(dkvb), free(datt);
        }
        free(qb), free(kvb), free(out), free(att), free(att_drop), free(fo), free(fa);
        free(rout), free(ratt), free(mask);
    }
}

/* ---- the tiled core across tiles ---------------------------------------------------------
   T = 150 spans three query tiles and two key tiles (64 and 128 wide), so the online softmax
   rescales, causal rows end inside a tile and padding crosses tile edges. Against the full core
   (forward and backward, same keeps), lse against double, sampled differences of the double
   reference with the full core's mask, two backward calls add twice, NaN-filled outputs are all
   written, and 4 threads give the bits of 1. Then T = 1100 (nine query tiles) against the full
   core. */
static void test_tiled_tiles(ss_rng *rng) {
    enum { B = 2, T = 150, H = 2, Dh = 5, NS = 20 };
    static const char *names[4] = {"nomask", "keymask p=0.25", "causal_keymask strided",
                                   "causal_keymask strided p=0.25"};
    int km[B * T], t, cs;
    for (t = 0; t < B * T; t++) km[t] = 1;
    km[3] = km[64] = km[127] = km[128] = 0;      /* batch 0: pads at tile edges */
    for (t = T + 100; t < 2 * T; t++) km[t] = 0; /* batch 1: a tail across the key-tile edge */
    for (cs = 0; cs < 4; cs++) {
        const att_layout L = make_layout(B, T, H, Dh, cs >= 2);
        const int *key_mask = cs == 0 ? NULL : km;
        const int causal = cs >= 2;
        const float p = cs % 2 ? DROP_P : 0.0f;
        const size_t nl = (size_t)B * H * T;
        float *qb = test_alloc(L.nq), *kvb = test_alloc(L.nkv), *w = test_alloc(L.nout), *dout;
        float *out = test_alloc(L.nout), *att = test_alloc(L.natt), *att_drop = test_alloc(L.natt);
        float *datt = test_alloc(L.natt), *dqb = test_alloc(L.nq), *dkvb = test_alloc(L.nkv);
        float *t_out = test_alloc(L.nout), *t_lse = test_alloc(nl), *r_lse = test_alloc(nl);
        float *t_dq = test_alloc(L.nq), *t_dkv = test_alloc(L.nkv), *u_dq = test_alloc(L.nq);
        float *u_dkv = test_alloc(L.nkv), *u_out = test_alloc(L.nout), *u_lse = test_alloc(nl);
        float *fo = test_alloc(L.nout), *fa = test_alloc(L.natt), ga[2 * NS], gn[2 * NS];
        double *rout = (double *)calloc(L.nout, sizeof(double));
        double *ratt = (double *)calloc(L.natt, sizeof(double));
        unsigned char *mask = (unsigned char *)calloc(L.natt, 1);
        const float *q = qb, *k = kvb + L.koff, *v = kvb + L.voff;
        uint64_t drop_seed = 0;
        char tag[96], name[256];
        ss_rng drng;
        att_ctx c;
        size_t i;
        int s, n;
        if (!rout || !ratt || !mask) exit(2);
        test_fill(qb, L.nq, rng, -2.0f, 2.0f); /* wide scores: the running max moves */
        test_fill(kvb, L.nkv, rng, -2.0f, 2.0f);
        test_fill(w, L.nout, rng, -1.0f, 1.0f);
        dout = make_dout(w, L.nout);
        snprintf(tag, sizeof tag, "attention tiled T=150 %s", names[cs]);

        ss_rng_seed(&drng, 77);
        ss_attention_forward(out, att, att_drop, mask, q, k, v, key_mask, causal, p, &drng, B, T, H,
                             Dh, L.ldq, L.ldk, L.ldv);
        ss_attention_backward(dqb, dkvb + L.koff, dkvb + L.voff, datt, dout, q, k, v, att,
                              att_drop, mask, p, B, T, H, Dh, L.ldq, L.ldk, L.ldv);
        for (i = 0; i < L.nout; i++) t_out[i] = NAN;
        for (i = 0; i < nl; i++) t_lse[i] = NAN;
        tiled_run(t_out, t_lse, t_dq, t_dkv, dout, qb, kvb, key_mask, causal, p, 77, &L);
        snprintf(name, sizeof name, "%s out vs full core", tag);
        check_tensor(name, t_out, out, L.nout, TILED_ATOL, TILED_RTOL);
        ref_lse(r_lse, q, k, key_mask, causal, &L);
        snprintf(name, sizeof name, "%s lse vs double", tag);
        check_lse(name, t_lse, r_lse, nl);
        snprintf(name, sizeof name, "%s dq vs full core", tag);
        check_tensor(name, t_dq, dqb, L.nq, TILED_ATOL, TILED_RTOL);
        snprintf(name, sizeof name, "%s dk,dv vs full core", tag);
        check_tensor(name, t_dkv, dkvb, L.nkv, TILED_ATOL, TILED_RTOL);

        /* sampled central differences of the double reference, with the full core's mask */
        ref_attention(rout, ratt, q, k, v, key_mask, causal, p > 0.0f ? mask : NULL, p, &L);
        to_float(fo, rout, L.nout);
        snprintf(name, sizeof name, "%s out vs double", tag);
        check_tensor(name, t_out, fo, L.nout, FWD_ATOL, FWD_RTOL);
        c.L = &L, c.qb = qb, c.kvb = kvb, c.key_mask = key_mask, c.causal = causal;
        c.use_ref = 1, c.mask = p > 0.0f ? mask : NULL, c.p = p, c.w = w;
        c.out = fo, c.att = fa, c.rout = rout, c.ratt = ratt;
        for (s = 0; s < NS; s++) {
            size_t r = (size_t)(ss_rng_u32(rng) % (uint32_t)(B * T));
            size_t iq = r * L.ldq + ss_rng_u32(rng) % (uint32_t)L.HD;
            size_t ikv = ss_rng_u32(rng) % (uint32_t)L.nkv;
            ga[s] = t_dq[iq], ga[NS + s] = t_dkv[ikv];
            fd_numeric(&gn[s], &qb[iq], 1, att_objective, &c);
            fd_numeric(&gn[NS + s], &kvb[ikv], 1, att_objective, &c);
        }
        snprintf(name, sizeof name, "%s dq,dk,dv fd (%d sampled)", tag, 2 * NS);
        check_tensor(name, ga, gn, 2 * NS, FD_ATOL, FD_RTOL);
        print_margin(ga, gn, 2 * NS);

        /* backward adds: twice from t_dq gives t_dq + 2 dq */
        memcpy(u_dq, t_dq, sizeof(float) * L.nq), memcpy(u_dkv, t_dkv, sizeof(float) * L.nkv);
        ss_rng_seed(&drng, 77);
        ss_attention_tiled_forward(u_out, u_lse, &drop_seed, q, k, v, key_mask, causal, p, &drng, B,
                                   T, H, Dh, L.ldq, L.ldk, L.ldv);
        for (n = 0; n < 2; n++)
            ss_attention_tiled_backward(u_dq, u_dkv + L.koff, u_dkv + L.voff, dout, q, k, v,
                                        u_out, u_lse, drop_seed, key_mask, causal, p, B, T, H, Dh,
                                        L.ldq, L.ldk, L.ldv);
        for (i = 0; i < L.nq; i++) t_dq[i] *= 3.0f;
        for (i = 0; i < L.nkv; i++) t_dkv[i] *= 3.0f;
        snprintf(name, sizeof name, "%s dq: two backward calls add twice", tag);
        check_tensor(name, u_dq, t_dq, L.nq, ACCUM_ATOL, ACCUM_RTOL);
        snprintf(name, sizeof name, "%s dk,dv: two backward calls add twice", tag);
        check_tensor(name, u_dkv, t_dkv, L.nkv, ACCUM_ATOL, ACCUM_RTOL);
#ifdef _OPENMP
        {
            int saved = omp_get_max_threads();
            omp_set_num_threads(1);
            tiled_run(t_out, t_lse, t_dq, t_dkv, dout, qb, kvb, key_mask, causal, p, 77, &L);
            omp_set_num_threads(4);
            tiled_run(u_out, u_lse, u_dq, u_dkv, dout, qb, kvb, key_mask, causal, p, 77, &L);
            omp_set_num_threads(saved);
            snprintf(name, sizeof name, "%s 4 threads vs 1: bit-identical out, lse, grads", tag);
            test_true(memcmp(t_out, u_out, sizeof(float) * L.nout) == 0 &&
                          memcmp(t_lse, u_lse, sizeof(float) * nl) == 0 &&
                          memcmp(t_dq, u_dq, sizeof(float) * L.nq) == 0 &&
                          memcmp(t_dkv, u_dkv, sizeof(float) * L.nkv) == 0,
                      name);
        }
#endif
        free(qb), free(kvb), free(w), free(dout), free(out), free(att), free(att_drop), free(datt);
        free(dqb), free(dkvb), free(t_out), free(t_lse), free(r_lse), free(t_dq), free(t_dkv);
        free(u_dq), free(u_dkv), free(u_out), free(u_lse), free(fo), free(fa);
        free(rout), free(ratt), free(mask);
    }
    { /* a long causal sequence: nine query tiles, the last one partial */
        const att_layout L = make_layout(1, 1100, 1, 16, 0);
        float *qb = test_alloc(L.nq), *kvb = test_alloc(L.nkv), *dout = test_alloc(L.nout);
        float *out = test_alloc(L.nout), *att = test_alloc(L.natt), *datt = test_alloc(L.natt);
        float *dqb = test_alloc(L.nq), *dkvb = test_alloc(L.nkv), *t_out = test_alloc(L.nout);
        float *t_lse = test_alloc(L.T), *t_dq = test_alloc(L.nq), *t_dkv = test_alloc(L.nkv);
        const float *q = qb, *k = kvb + L.koff, *v = kvb + L.voff;
        test_fill(qb, L.nq, rng, -1.0f, 1.0f);
        test_fill(kvb, L.nkv, rng, -1.0f, 1.0f);
        test_fill(dout, L.nout, rng, -1.0f, 1.0f);
        ss_attention_forward(out, att, NULL, NULL, q, k, v, NULL, 1, 0.0f, NULL, L.B, L.T, L.H,
                             L.Dh, L.ldq, L.ldk, L.ldv);
        ss_attention_backward(dqb, dkvb + L.koff, dkvb + L.voff, datt, dout, q, k, v, att, NULL,
                              NULL, 0.0f, L.B, L.T, L.H, L.Dh, L.ldq, L.ldk, L.ldv);
        tiled_run(t_out, t_lse, t_dq, t_dkv, dout, qb, kvb, NULL, 1, 0.0f, 1, &L);
        check_tensor("attention tiled T=1100 causal out vs full core", t_out, out, L.nout,
                     TILED_ATOL, TILED_RTOL);
        check_tensor("attention tiled T=1100 causal dq vs full core", t_dq, dqb, L.nq, TILED_ATOL,
                     TILED_RTOL);
        check_tensor("attention tiled T=1100 causal dk,dv vs full core", t_dkv, dkvb, L.nkv,
                     TILED_ATOL, TILED_RTOL);
        free(qb), free(kvb), free(dout), free(out), free(att), free(datt), free(dqb), free(dkvb);
        free(t_out), free(t_lse), free(t_dq), free(t_dkv);
    }
}

int main(int argc, char **argv) {
    static const att_case cases[] = {
        {"nomask", NULL, 0, 0, 0},
        {"keymask", km_pad, 0, 0, 0},
        {"causal", NULL, 1, 0, 0},
        {"causal_keymask", km_causal, 1, 0, 1},
        {"allpad_batch", km_allpad, 0, 0, 0},
        {"strided", NULL, 0, 1, 0},
        {"strided_causal_keymask", km_pad, 1, 1, 1},
    };
    ss_rng rng;
    size_t i;
    if (argc > 1 && strcmp(argv[1], "--mutate") == 0) {
        dout_scale = 1.01f;
        printf("# --mutate: every dout given to backward is scaled by 1.01; fd checks must FAIL\n");
    }
    printf("# %s\n", ss_build_info());
    printf("# B=%d T=%d H=%d Dh=%d; fd eps %g; fd of the double reference atol %g, rtol %g; fd of "
           "the library forward atol %g, rtol %g; forward atol %g, rtol %g\n",
           TB, TT, TH, TDh, (double)FD_EPS, FD_ATOL, FD_RTOL, FD_LIB_ATOL, FD_LIB_RTOL, FWD_ATOL,
           FWD_RTOL);
    ss_rng_seed(&rng, 20261128u);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) attention_case(&rng, &cases[i], 100 + i);
    test_accumulation(&rng);
    test_dropout(&rng);
    test_row_lanes();
    test_large(&rng);
    test_tiled_tiles(&rng);
    return test_summary("test_attention");
}
