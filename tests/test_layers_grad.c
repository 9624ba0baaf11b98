/* test_layers_grad.c - gradient checks and forward references for the ops of section 5 of
   subspace.h: embedding, linear, RMSNorm, RoPE, SwiGLU, tanh, dropout and cross-entropy
   (attention has its own file, test_attention.c).

   Every `_backward` is checked against central finite differences of a scalar objective
   L = sum_i w_i * out_i with fixed random w (so dout = w), accumulated in double, for every element
   of every input and weight, on tiny random shapes that are not multiples of 4 or 8. Each op prints
   its eps and tolerance (|analytic - numeric| <= atol + rtol * |numeric|). Every backward is also
   called twice from nonzero gradients, which must give start + 2 * (one call's gradient).
   Forward references: RMSNorm, SwiGLU and linear in double, RoPE and its tables by hand from
   SPEC.md 1.6, cross-entropy as -log softmax in double (ignore_index rows, an all-ignored batch,
   the argmax count, probs aliasing logits), dropout against its own mask.

   Build and run from the repository root:
     cc -std=c99 -O2 -o test_layers_grad tests/test_layers_grad.c -lm && ./test_layers_grad
   `./test_layers_grad --mutate` scales every dout (and dloss) given to a backward by 1.01: every
   "fd" check must then FAIL, which shows that the checks can fail. */
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"

/* ---- shared machinery -------------------------------------------------------------------- */

static float dout_scale = 1.0f; /* 1.01 under --mutate */

/* Finite-difference step and the tolerance of one op. */
typedef struct fd_tol {
    float eps;
    double atol, rtol;
} fd_tol;

#define ACCUM_ATOL 1e-5
#define ACCUM_RTOL 1e-5

static void print_tol(const char *op, fd_tol t) {
    printf("# %s: fd eps %g, atol %g, rtol %g; accumulation atol %g, rtol %g\n", op, (double)t.eps,
           t.atol, t.rtol, ACCUM_ATOL, ACCUM_RTOL);
}

static float *copy_of(const float *x, size_t n) {
    float *y = test_alloc(n);
    memcpy(y, x, n * sizeof(float));
    return y;
}

/* The dout handed to a backward: w, times 1.01 under --mutate. */
static float *make_dout(const float *w, size_t n) {
    float *d = test_alloc(n);
    size_t i;
    for (i = 0; i < n; i++) d[i] = w[i] * dout_scale;
    return d;
}

/* Central differences of f with respect to every element of x (restored exactly afterwards),
   compared with analytic. The step actually taken, (x+eps) - (x-eps) in float, is the divisor. */
static int fd_check(const char *name, const float *analytic, float *x, size_t n, objective_fn f,
                    void *ctx, fd_tol t) {
    float *num = test_alloc(n);
    double maxdiff = 0.0, maxnum = 0.0;
    size_t i;
    int ok;
    fd_central(num, x, n, t.eps, f, ctx);
    ok = check_tensor(name, analytic, num, n, t.atol, t.rtol);
    for (i = 0; i < n; i++) {
        double d = fabs((double)analytic[i] - num[i]);
        if (d > maxdiff) maxdiff = d;
        if (fabs(num[i]) > maxnum) maxnum = fabs(num[i]);
    }
    printf("  max |analytic - numeric| %.2g, max |numeric| %.2g\n", maxdiff, maxnum);
    free(num);
    return ok;
}

/* twice: gradient after two backward calls from start; once: one call's gradient from zero. */
static int check_accum(const char *name, const float *twice, const float *start, const float *once,
                       size_t n) {
    float *want = test_alloc(n);
    size_t i;
    int ok;
    for (i = 0; i < n; i++) want[i] = start[i] + 2.0f * once[i];
    ok = check_tensor(name, twice, want, n, ACCUM_ATOL, ACCUM_RTOL);
    free(want);
    return ok;
}

/* ---- embedding --------------------------------------------------------------------------- */

typedef struct emb_ctx {
    float *out, *table;
    const int *ids;
    const float *w;
    int BT, V, D;
} emb_ctx;

static double emb_objective(void *p) {
    emb_ctx *c = (emb_ctx *)p;
    ss_embedding_forward(c->out, c->ids, c->table, c->BT, c->V, c->D);
    return weighted_sum(c->w, c->out, (size_t)c->BT * c->D);
}

static void test_embedding(ss_rng *rng) {
    enum { BT = 5, V = 6, D = 7 };
    static const int ids[BT] = {2, 5, 2, 0, 2}; /* id 2 three times; ids 1, 3, 4 unused */
    const fd_tol tol = {1e-2f, 1e-5, 1e-5};   /* linear in table: only rounding remains */
    float *table = test_alloc(V * D), *out = test_alloc(BT * D), *w = test_alloc(BT * D);
    float *dtable = test_alloc(V * D), *dout, *start = test_alloc(V * D), *twice;
    emb_ctx c;
    int r, same = 1;
    print_tol("embedding", tol);
    test_fill(table, V * D, rng, -1.0f, 1.0f);
    test_fill(w, BT * D, rng, -1.0f, 1.0f);
    ss_embedding_forward(out, ids, table, BT, V, D);
    for (r = 0; r < BT; r++)
        same &= memcmp(out + r * D, table + ids[r] * D, D * sizeof(float)) == 0;
    test_true(same, "embedding forward copies table rows");

    dout = make_dout(w, BT * D);
    ss_embedding_backward(dtable, dout, ids, BT, V, D);
    c.out = out, c.table = table, c.ids = ids, c.w = w, c.BT = BT, c.V = V, c.D = D;
    fd_check("embedding dtable fd (repeated ids)", dtable, table, V * D, emb_objective, &c, tol);

    test_fill(start, V * D, rng, -1.0f, 1.0f);
    twice = copy_of(start, V * D);
    ss_embedding_backward(twice, dout, ids, BT, V, D);
    ss_embedding_backward(twice, dout, ids, BT, V, D);
    check_accum("embedding dtable accumulates", twice, start, dtable, V * D);
    free(table), free(out), free(w), free(dtable), free(dout), free(start), free(twice);
}

/* ---- linear ------------------------------------------------------------------------------ */

typedef struct lin_ctx {
    float *out, *inp, *weight, *bias; /* bias NULL: no bias */
    const float *w;
    int BT, IC, OC;
} lin_ctx;

static double lin_objective(void *p) {
    lin_ctx *c = (lin_ctx *)p;
    ss_linear_forward(c->out, c->inp, c->weight, c->bias, c->BT, c->IC, c->OC);
    return weighted_sum(c->w, c->out, (size_t)c->BT * c->OC);
}

static const fd_tol linear_tol = {1e-2f, 1e-4, 1e-3}; /* linear in each argument: rounding only */

/* One variant: with or without bias, with or without dinp. */
static void linear_case(ss_rng *rng, const char *tag, int has_bias, int want_dinp) {
    enum { BT = 5, IC = 7, OC = 3 };
    const fd_tol tol = linear_tol;
    float *inp = test_alloc(BT * IC), *weight = test_alloc(OC * IC), *bias = test_alloc(OC);
    float *out = test_alloc(BT * OC), *w = test_alloc(BT * OC), *dout, *ref = test_alloc(BT * OC);
    float *dinp = test_alloc(BT * IC), *dweight = test_alloc(OC * IC), *dbias = test_alloc(OC);
    float *s_inp = test_alloc(BT * IC), *s_weight = test_alloc(OC * IC), *s_bias = test_alloc(OC);
    float *t_inp, *t_weight, *t_bias;
    char name[128];
    lin_ctx c;
    int r, o, i;
    test_fill(inp, BT * IC, rng, -1.0f, 1.0f);
    test_fill(weight, OC * IC, rng, -1.0f, 1.0f);
    test_fill(bias, OC, rng, -1.0f, 1.0f);
    test_fill(w, BT * OC, rng, -1.0f, 1.0f);
    c.out = out, c.inp = inp, c.weight = weight, c.bias = has_bias ? bias : NULL, c.w = w;
    c.BT = BT, c.IC = IC, c.OC = OC;

    for (r = 0; r < BT * OC; r++) out[r] = NAN; /* without bias out is written, never read */
    ss_linear_forward(out, inp, weight, c.bias, BT, IC, OC);
    for (r = 0; r < BT; r++)
        for (o = 0; o < OC; o++) {
            double acc = has_bias ? bias[o] : 0.0;
            for (i = 0; i < IC; i++) acc += (double)inp[r * IC + i] * weight[o * IC + i];
            ref[r * OC + o] = (float)acc;
        }
    snprintf(name, sizeof name, "%s forward vs double (out NaN-filled before)", tag);
    check_tensor(name, out, ref, BT * OC, 1e-6, 1e-5);

    dout = make_dout(w, BT * OC);
    ss_linear_backward(want_dinp ? dinp : NULL, dweight, has_bias ? dbias : NULL, dout, inp, weight,
                       BT, IC, OC);
    if (want_dinp) {
        snprintf(name, sizeof name, "%s dinp fd", tag);
        fd_check(name, dinp, inp, BT * IC, lin_objective, &c, tol);
    }
    snprintf(name, sizeof name, "%s dweight fd", tag);
    fd_check(name, dweight, weight, OC * IC, lin_objective, &c, tol);
    if (has_bias) {
        snprintf(name, sizeof name, "%s dbias fd", tag);
        fd_check(name, dbias, bias, OC, lin_objective, &c, tol);
    }

    test_fill(s_inp, BT * IC, rng, -1.0f, 1.0f);
    test_fill(s_weight, OC * IC, rng, -1.0f, 1.0f);
    test_fill(s_bias, OC, rng, -1.0f, 1.0f);
    t_inp = copy_of(s_inp, BT * IC), t_weight = copy_of(s_weight, OC * IC);
    t_bias = copy_of(s_bias, OC);
    for (r = 0; r < 2; r++)
        ss_linear_backward(want_dinp ? t_inp : NULL, t_weight, has_bias ? t_bias : NULL, dout, inp,
                           weight, BT, IC, OC);
    if (want_dinp) {
        snprintf(name, sizeof name, "%s dinp accumulates", tag);
        check_accum(name, t_inp, s_inp, dinp, BT * IC);
    } else {
        snprintf(name, sizeof name, "%s NULL dinp leaves it alone", tag);
        test_true(memcmp(t_inp, s_inp, BT * IC * sizeof(float)) == 0, name);
    }
    snprintf(name, sizeof name, "%s dweight accumulates", tag);
    check_accum(name, t_weight, s_weight, dweight, OC * IC);
    if (has_bias) {
        snprintf(name, sizeof name, "%s dbias accumulates", tag);
        check_accum(name, t_bias, s_bias, dbias, OC);
    }
    free(inp), free(weight), free(bias), free(out), free(w), free(dout), free(ref);
    free(dinp), free(dweight), free(dbias), free(s_inp), free(s_weight), free(s_bias);
    free(t_inp), free(t_weight), free(t_bias);
}

/* A larger shape (several GEMM tiles, ragged edges) against the closed-form gradients in double. */
static void test_linear_medium(ss_rng *rng) {
    enum { BT = 37, IC = 70, OC = 33 };
    float *inp = test_alloc(BT * IC), *weight = test_alloc(OC * IC), *dout = test_alloc(BT * OC);
    float *dinp = test_alloc(BT * IC), *dweight = test_alloc(OC * IC), *dbias = test_alloc(OC);
    float *r_inp = test_alloc(BT * IC), *r_weight = test_alloc(OC * IC), *r_bias = test_alloc(OC);
    int r, o, i;
    test_fill(inp, BT * IC, rng, -1.0f, 1.0f);
    test_fill(weight, OC * IC, rng, -1.0f, 1.0f);
    test_fill(dout, BT * OC, rng, -1.0f, 1.0f);
    ss_linear_backward(dinp, dweight, dbias, dout, inp, weight, BT, IC, OC);
    for (r = 0; r < BT; r++)
        for (i = 0; i < IC; i++) {
            double acc = 0.0;
            for (o = 0; o < OC; o++) acc += (double)dout[r * OC + o] * weight[o * IC + i];
            r_inp[r * IC + i] = (float)acc;
        }
    for (o = 0; o < OC; o++) {
        double bacc = 0.0;
        for (i = 0; i < IC; i++) {
            double acc = 0.0;
            for (r = 0; r < BT; r++) acc += (double)dout[r * OC + o] * inp[r * IC + i];
            r_weight[o * IC + i] = (float)acc;
        }
        for (r = 0; r < BT; r++) bacc += dout[r * OC + o];
        r_bias[o] = (float)bacc;
    }
    printf("# linear_medium (BT=37 IC=70 OC=33) vs double closed form: atol 1e-4, rtol 1e-4\n");
    check_tensor("linear_medium dinp vs double", dinp, r_inp, BT * IC, 1e-4, 1e-4);
    check_tensor("linear_medium dweight vs double", dweight, r_weight, OC * IC, 1e-4, 1e-4);
    check_tensor("linear_medium dbias vs double", dbias, r_bias, OC, 1e-4, 1e-4);
    free(inp), free(weight), free(dout), free(dinp), free(dweight), free(dbias);
    free(r_inp), free(r_weight), free(r_bias);
}

static void test_linear(ss_rng *rng) {
    print_tol("linear", linear_tol);
    linear_case(rng, "linear_bias", 1, 1);
    linear_case(rng, "linear_nobias", 0, 1);
    linear_case(rng, "linear_dinp_null", 1, 0);
    test_linear_medium(rng);
}

/* ---- rmsnorm ----------------------------------------------------------------------------- */

#define RMS_EPS 1e-6f

typedef struct rms_ctx {
    float *out, *rstd, *inp, *gain;
    const float *w;
    int BT, C;
} rms_ctx;

static double rms_objective(void *p) {
    rms_ctx *c = (rms_ctx *)p;
    ss_rmsnorm_forward(c->out, c->rstd, c->inp, c->gain, c->BT, c->C, RMS_EPS);
    return weighted_sum(c->w, c->out, (size_t)c->BT * c->C);
}

static void test_rmsnorm(ss_rng *rng) {
    enum { BT = 5, C = 7 };
    const fd_tol tol = {1e-3f, 5e-4, 3e-3};
    float *inp = test_alloc(BT * C), *gain = test_alloc(C), *out = test_alloc(BT * C);
    float *rstd = test_alloc(BT), *w = test_alloc(BT * C), *dout;
    float *ref = test_alloc(BT * C), *ref_rstd = test_alloc(BT);
    float *dinp = test_alloc(BT * C), *dgain = test_alloc(C);
    float *s_inp = test_alloc(BT * C), *s_gain = test_alloc(C), *t_inp, *t_gain;
    rms_ctx c;
    int r, j;
    print_tol("rmsnorm", tol);
    test_fill(inp, BT * C, rng, -2.0f, 2.0f);
    test_fill(gain, C, rng, 0.5f, 1.5f);
    test_fill(w, BT * C, rng, -1.0f, 1.0f);
    ss_rmsnorm_forward(out, rstd, inp, gain, BT, C, RMS_EPS);
    for (r = 0; r < BT; r++) {
        double ss = 0.0, s;
        for (j = 0; j < C; j++) ss += (double)inp[r * C + j] * inp[r * C + j];
        s = 1.0 / sqrt(ss / C + (double)RMS_EPS);
        ref_rstd[r] = (float)s;
        for (j = 0; j < C; j++) ref[r * C + j] = (float)((double)gain[j] * inp[r * C + j] * s);
    }
    check_tensor("rmsnorm forward vs double", out, ref, BT * C, 1e-6, 1e-6);
    check_tensor("rmsnorm rstd vs double", rstd, ref_rstd, BT, 0.0, 1e-6);

    dout = make_dout(w, BT * C);
    ss_rmsnorm_backward(dinp, dgain, dout, inp, rstd, gain, BT, C);
    c.out = out, c.rstd = rstd, c.inp = inp, c.gain = gain, c.w = w, c.BT = BT, c.C = C;
    fd_check("rmsnorm dinp fd", dinp, inp, BT * C, rms_objective, &c, tol);
    fd_check("rmsnorm dgain fd", dgain, gain, C, rms_objective, &c, tol);

    ss_rmsnorm_forward(out, rstd, inp, gain, BT, C, RMS_EPS); /* the cache of the unperturbed inp */
    test_fill(s_inp, BT * C, rng, -1.0f, 1.0f);
    test_fill(s_gain, C, rng, -1.0f, 1.0f);
    t_inp = copy_of(s_inp, BT * C), t_gain = copy_of(s_gain, C);
    ss_rmsnorm_backward(t_inp, t_gain, dout, inp, rstd, gain, BT, C);
    ss_rmsnorm_backward(t_inp, t_gain, dout, inp, rstd, gain, BT, C);
    check_accum("rmsnorm dinp accumulates", t_inp, s_inp, dinp, BT * C);
    check_accum("rmsnorm dgain accumulates", t_gain, s_gain, dgain, C);
    free(inp), free(gain), free(out), free(rstd), free(w), free(dout), free(ref), free(ref_rstd);
    free(dinp), free(dgain), free(s_inp), free(s_gain), free(t_inp), free(t_gain);
}

/* ---- rope -------------------------------------------------------------------------------- */

#define ROPE_THETA 10000.0f

typedef struct rope_ctx {
    float *out, *inp;
    const float *cos_t, *sin_t, *w;
    int ld, B, T, H, Dh, Dr, P;
} rope_ctx;

static double rope_objective(void *p) {
    rope_ctx *c = (rope_ctx *)p;
    ss_rope_forward(c->out, c->inp, c->ld, c->cos_t, c->sin_t, c->B, c->T, c->H, c->Dh, c->Dr,
                    c->P);
    return weighted_sum(c->w, c->out, (size_t)c->B * c->T * c->H * c->Dh);
}

static const fd_tol rope_tol = {1e-2f, 1e-5, 1e-4}; /* linear in inp: rounding only */

/* Gradient check for one (Dr, ld_inp): FD over the whole strided input buffer, gaps included
   (their gradient must stay 0), and a check that backward never writes the gaps. */
static void rope_case(ss_rng *rng, const char *tag, int Dr, int ld_extra) {
    enum { B = 2, T = 5, H = 2, Dh = 6, P = 7 };
    const fd_tol tol = rope_tol;
    const int HD = H * Dh, ld = HD + ld_extra, nin = B * T * ld, nout = B * T * HD;
    float *cos_t = test_alloc(P * (Dr / 2)), *sin_t = test_alloc(P * (Dr / 2));
    float *inp = test_alloc(nin), *out = test_alloc(nout), *w = test_alloc(nout), *dout;
    float *dinp = test_alloc(nin), *start = test_alloc(nin), *twice, *gapped;
    char name[128];
    rope_ctx c;
    int r, j, gaps_ok = 1;
    ss_rope_tables(cos_t, sin_t, P, Dr, ROPE_THETA);
    test_fill(inp, nin, rng, -1.0f, 1.0f);
    test_fill(w, nout, rng, -1.0f, 1.0f);
    c.out = out, c.inp = inp, c.cos_t = cos_t, c.sin_t = sin_t, c.w = w, c.ld = ld;
    c.B = B, c.T = T, c.H = H, c.Dh = Dh, c.Dr = Dr, c.P = P;
    dout = make_dout(w, nout);
    ss_rope_backward(dinp, ld, dout, cos_t, sin_t, B, T, H, Dh, Dr, P);
    snprintf(name, sizeof name, "%s dinp fd", tag);
    fd_check(name, dinp, inp, nin, rope_objective, &c, tol);

    test_fill(start, nin, rng, -1.0f, 1.0f);
    twice = copy_of(start, nin);
    ss_rope_backward(twice, ld, dout, cos_t, sin_t, B, T, H, Dh, Dr, P);
    ss_rope_backward(twice, ld, dout, cos_t, sin_t, B, T, H, Dh, Dr, P);
    snprintf(name, sizeof name, "%s dinp accumulates", tag);
    check_accum(name, twice, start, dinp, nin);
    if (ld_extra > 0) {
        gapped = copy_of(start, nin);
        ss_rope_backward(gapped, ld, dout, cos_t, sin_t, B, T, H, Dh, Dr, P);
        for (r = 0; r < B * T; r++)
            for (j = HD; j < ld; j++) gaps_ok &= gapped[r * ld + j] == start[r * ld + j];
        snprintf(name, sizeof name, "%s backward leaves row gaps untouched", tag);
        test_true(gaps_ok, name);
        free(gapped);
    }
    free(cos_t), free(sin_t), free(inp), free(out), free(w), free(dout), free(dinp), free(start);
    free(twice);
}

/* Tables and the rotation by hand from SPEC.md 1.6, in double: inv_freq = theta^(-2i/Dr),
   angle = p * inv_freq, pair (j, j + Dr/2). */
static void test_rope_by_hand(ss_rng *rng) {
    enum { B = 1, T = 6, H = 2, Dh = 6, Dr = 4, P = 8, half = Dr / 2, HD = H * Dh, ld = HD + 3 };
    enum { PL = 128, DrL = 16 }; /* the MLA config's table: 128 positions, Dr = 16 */
    float cos_t[P * half], sin_t[P * half], want_c[P * half], want_s[P * half];
    float inp[B * T * ld], out[B * T * HD], want[B * T * HD];
    float *cl = test_alloc(PL * (DrL / 2)), *sl = test_alloc(PL * (DrL / 2));
    double maxdiff = 0.0;
    int p, i, t, h, j, nope_ok = 1, id_ok = 1, long_ok = 1;
    ss_rope_tables(cos_t, sin_t, P, Dr, ROPE_THETA);
    for (p = 0; p < P; p++)
        for (i = 0; i < half; i++) {
            double ang = p * pow(10000.0, -2.0 * i / Dr);
            want_c[p * half + i] = (float)cos(ang);
            want_s[p * half + i] = (float)sin(ang);
        }
    printf("# rope by hand: tables atol 1e-6; rotation atol 2e-6 (float inv_freq and angle)\n");
    check_tensor("rope_tables cos vs formula (Dr=4)", cos_t, want_c, P * half, 1e-6, 0.0);
    check_tensor("rope_tables sin vs formula (Dr=4)", sin_t, want_s, P * half, 1e-6, 0.0);

    /* 128 positions: the float angle p * inv_freq is off by up to ~2 ulp of the angle */
    ss_rope_tables(cl, sl, PL, DrL, ROPE_THETA);
    for (p = 0; p < PL; p++)
        for (i = 0; i < DrL / 2; i++) {
            double ang = p * pow(10000.0, -2.0 * i / DrL), lim = 1e-6 + 3e-7 * ang;
            double dc = fabs(cl[p * (DrL / 2) + i] - cos(ang));
            double ds = fabs(sl[p * (DrL / 2) + i] - sin(ang));
            if (dc > maxdiff) maxdiff = dc;
            if (ds > maxdiff) maxdiff = ds;
            long_ok &= dc <= lim && ds <= lim;
        }
    test_report(long_ok, "rope_tables vs formula (P=128, Dr=16, atol 1e-6 + 3e-7*angle)", maxdiff);

    test_fill(inp, B * T * ld, rng, -1.0f, 1.0f);
    ss_rope_forward(out, inp, ld, cos_t, sin_t, B, T, H, Dh, Dr, P);
    for (t = 0; t < T; t++)
        for (h = 0; h < H; h++) {
            const float *x = inp + t * ld + h * Dh;
            float *y = want + (t * H + h) * Dh;
            for (j = 0; j < half; j++) {
                double ang = t * pow(10000.0, -2.0 * j / Dr), cs = cos(ang), sn = sin(ang);
                y[j] = (float)(x[j] * cs - x[j + half] * sn);
                y[j + half] = (float)(x[j + half] * cs + x[j] * sn);
            }
            for (j = Dr; j < Dh; j++) {
                y[j] = x[j];
                nope_ok &= memcmp(&out[(t * H + h) * Dh + j], &x[j], sizeof(float)) == 0;
            }
            if (t == 0)
                for (j = 0; j < Dh; j++) id_ok &= out[h * Dh + j] == x[j];
        }
    check_tensor("rope forward vs hand rotation (positions 0..5, Dr=4 of Dh=6)", out, want,
                 B * T * HD, 2e-6, 0.0);
    test_true(nope_ok, "rope NoPE dims pass through bit-exact");
    test_true(id_ok, "rope position 0 is the identity");
    free(cl), free(sl);
}

static void test_rope(ss_rng *rng) {
    print_tol("rope", rope_tol);
    rope_case(rng, "rope_partial (Dr=4<Dh=6, ld=H*Dh+3)", 4, 3);
    rope_case(rng, "rope_full (Dr=Dh=6, ld=H*Dh+5)", 6, 5);
    rope_case(rng, "rope_full_contig (Dr=Dh=6, ld=H*Dh)", 6, 0);
    test_rope_by_hand(rng);
}

/* ---- swiglu and tanh --------------------------------------------------------------------- */

typedef struct ew_ctx { /* elementwise ops: out = f(a[, g]) */
    float *out, *a, *g;
    const float *w;
    size_t n;
    int op; /* 0 swiglu, 1 tanh */
} ew_ctx;

static double ew_objective(void *p) {
    ew_ctx *c = (ew_ctx *)p;
    if (c->op == 0)
        ss_swiglu_forward(c->out, c->a, c->g, c->n);
    else
        ss_tanh_forward(c->out, c->a, c->n);
    return weighted_sum(c->w, c->out, c->n);
}

static void test_swiglu(ss_rng *rng) {
    enum { N = 5 * 7 };
    const fd_tol tol = {1e-3f, 3e-4, 2e-3};
    float *a = test_alloc(N), *g = test_alloc(N), *out = test_alloc(N), *w = test_alloc(N);
    float *ref = test_alloc(N), *da = test_alloc(N), *dg = test_alloc(N), *dout;
    float *s_a = test_alloc(N), *s_g = test_alloc(N), *t_a, *t_g;
    ew_ctx c;
    int i;
    print_tol("swiglu", tol);
    test_fill(a, N, rng, -4.0f, 4.0f);
    test_fill(g, N, rng, -1.5f, 1.5f);
    test_fill(w, N, rng, -1.0f, 1.0f);
    ss_swiglu_forward(out, a, g, N);
    for (i = 0; i < N; i++) ref[i] = (float)((double)a[i] / (1.0 + exp(-(double)a[i])) * g[i]);
    check_tensor("swiglu forward vs silu(a)*g in double", out, ref, N, 1e-6, 1e-6);
    dout = make_dout(w, N);
    ss_swiglu_backward(da, dg, dout, a, g, N);
    c.out = out, c.a = a, c.g = g, c.w = w, c.n = N, c.op = 0;
    fd_check("swiglu da fd", da, a, N, ew_objective, &c, tol);
    fd_check("swiglu dg fd", dg, g, N, ew_objective, &c, tol);
    test_fill(s_a, N, rng, -1.0f, 1.0f);
    test_fill(s_g, N, rng, -1.0f, 1.0f);
    t_a = copy_of(s_a, N), t_g = copy_of(s_g, N);
    ss_swiglu_backward(t_a, t_g, dout, a, g, N);
    ss_swiglu_backward(t_a, t_g, dout, a, g, N);
    check_accum("swiglu da accumulates", t_a, s_a, da, N);
    check_accum("swiglu dg accumulates", t_g, s_g, dg, N);
    free(a), free(g), free(out), free(w), free(ref), free(da), free(dg), free(dout);
    free(s_a), free(s_g), free(t_a), free(t_g);
}

/* SwiGLU's vector lanes against its scalar tail: N = 37 values put the first 32 in lanes (two of
   16 or four of 8) and the last 5 in the tail; the tail's 5 (a, g, dout) triples are copied into
   lanes, and both places must give the same bits forward and backward (accumulating and not). */
static void test_swiglu_lanes(void) {
    enum { N = 37 };
    static const float a5[5] = {0.0f, -0.0f, 3.75f, -91.0f, 1e-3f};
    static const float g5[5] = {1.5f, -2.0f, 0.33f, 7.0f, -0.01f};
    static const float d5[5] = {0.25f, 1.0f, -3.0f, 0.5f, 2.0f};
    static const int lane[5] = {0, 7, 13, 22, 31};
    float a[N], g[N], d[N], out[N], da[N], dg[N], da2[N], dg2[N];
    int i, same = 1;
    for (i = 0; i < N; i++) {
        a[i] = (float)sin(0.7 * i) * 5.0f, g[i] = (float)cos(0.3 * i), d[i] = 0.1f * (float)(i % 5);
        da2[i] = 0.5f, dg2[i] = -0.25f;
    }
    for (i = 0; i < 5; i++) {
        a[lane[i]] = a[N - 5 + i] = a5[i];
        g[lane[i]] = g[N - 5 + i] = g5[i];
        d[lane[i]] = d[N - 5 + i] = d5[i];
    }
    ss_swiglu_forward(out, a, g, N);
    ss__swiglu_backward(da, dg, d, a, g, N, 0);
    ss_swiglu_backward(da2, dg2, d, a, g, N);
    for (i = 0; i < 5; i++) {
        const int x = lane[i], y = N - 5 + i;
        same &= memcmp(&out[x], &out[y], sizeof(float)) == 0;
        same &= memcmp(&da[x], &da[y], sizeof(float)) == 0 && memcmp(&dg[x], &dg[y], sizeof(float)) == 0;
        same &= memcmp(&da2[x], &da2[y], sizeof(float)) == 0 && memcmp(&dg2[x], &dg2[y], sizeof(float)) == 0;
    }
    test_true(same, "swiglu: the vector lanes give the scalar tail's bits (forward, backward "
                    "writing and adding)");
}

/* RMSNorm's and RoPE's row steps, lanes against the scalar tail, as test_swiglu_lanes: a row of
   37 (RMSNorm: 32 in lanes, 5 in the tail) and 21 rotated pairs (RoPE: 16 in lanes, 5 in the
   tail), the tail's inputs copied into lanes, forward and backward. */
static void test_rms_rope_lanes(void) {
    enum { C = 37, HALF = 21 };
    static const float v5[5] = {0.0f, -0.0f, 3.75f, -91.0f, 1e-3f};
    static const float w5[5] = {1.5f, -2.0f, 0.33f, 7.0f, -0.01f};
    static const int lane[5] = {0, 5, 9, 12, 15};
    float x[C], g[C], dy[C], y[C], dx[C], rx[2 * HALF], rc[HALF], rs[HALF], ry[2 * HALF];
    float rd[2 * HALF];
    int i, same = 1;
    for (i = 0; i < C; i++)
        x[i] = (float)sin(0.9 * i), g[i] = (float)cos(0.4 * i), dy[i] = 0.2f * (float)(i % 4), dx[i] = 0.75f;
    for (i = 0; i < HALF; i++) {
        rx[i] = (float)sin(0.5 * i), rx[i + HALF] = (float)cos(0.8 * i);
        rc[i] = (float)cos(0.1 * i), rs[i] = (float)sin(0.1 * i), rd[i] = rd[i + HALF] = -0.5f;
    }
    for (i = 0; i < 5; i++) {
        x[lane[i]] = x[C - 5 + i] = v5[i], g[lane[i]] = g[C - 5 + i] = w5[i];
        dy[lane[i]] = dy[C - 5 + i] = w5[4 - i];
        rx[lane[i]] = rx[HALF - 5 + i] = v5[i], rx[lane[i] + HALF] = rx[2 * HALF - 5 + i] = w5[i];
        rc[lane[i]] = rc[HALF - 5 + i] = w5[4 - i], rs[lane[i]] = rs[HALF - 5 + i] = v5[4 - i];
    }
    ss__rms_row(y, NULL, x, g, 1.7f, 0.0f, C);
    ss__rms_row(dx, dy, x, g, 1.7f, -0.3f, C);
    ss__rope_pairs(ry, rx, rc, rs, HALF, 0);
    ss__rope_pairs(rd, rx, rc, rs, HALF, 1);
    for (i = 0; i < 5; i++) {
        const int a = lane[i], b = C - 5 + i, p = lane[i], q = HALF - 5 + i;
        same &= memcmp(&y[a], &y[b], sizeof(float)) == 0 && memcmp(&dx[a], &dx[b], sizeof(float)) == 0;
        same &= memcmp(&ry[p], &ry[q], sizeof(float)) == 0 &&
                memcmp(&ry[p + HALF], &ry[q + HALF], sizeof(float)) == 0;
        same &= memcmp(&rd[p], &rd[q], sizeof(float)) == 0 &&
                memcmp(&rd[p + HALF], &rd[q + HALF], sizeof(float)) == 0;
    }
    test_true(same, "rmsnorm and rope rows: the vector lanes give the scalar tail's bits (forward "
                    "and backward)");
}

static void test_tanh(ss_rng *rng) {
    enum { N = 5 * 7 };
    const fd_tol tol = {1e-3f, 3e-4, 2e-3};
    float *x = test_alloc(N), *out = test_alloc(N), *w = test_alloc(N), *ref = test_alloc(N);
    float *dx = test_alloc(N), *dout, *start = test_alloc(N), *twice;
    ew_ctx c;
    int i;
    print_tol("tanh", tol);
    test_fill(x, N, rng, -2.5f, 2.5f);
    test_fill(w, N, rng, -1.0f, 1.0f);
    ss_tanh_forward(out, x, N);
    for (i = 0; i < N; i++) ref[i] = (float)tanh((double)x[i]);
    check_tensor("tanh forward vs double", out, ref, N, 1e-6, 1e-6);
    dout = make_dout(w, N);
    ss_tanh_backward(dx, dout, out, N);
    c.out = test_alloc(N), c.a = x, c.g = NULL, c.w = w, c.n = N, c.op = 1;
    fd_check("tanh dinp fd", dx, x, N, ew_objective, &c, tol);
    test_fill(start, N, rng, -1.0f, 1.0f);
    twice = copy_of(start, N);
    ss_tanh_backward(twice, dout, out, N);
    ss_tanh_backward(twice, dout, out, N);
    check_accum("tanh dinp accumulates", twice, start, dx, N);
    free(c.out), free(x), free(out), free(w), free(ref), free(dx), free(dout), free(start);
    free(twice);
}

/* ---- dropout ----------------------------------------------------------------------------- */

typedef struct drop_ctx {
    float *out, *inp;
    const unsigned char *mask; /* the mask of one forward, held fixed */
    unsigned char *scratch;    /* (n) mask written by the p = 0 forward */
    float p;
    const float *w;
    size_t n;
} drop_ctx;

/* The objective through the test's own forward with a given mask: inp * mask / (1-p). */
static double drop_objective(void *pv) {
    drop_ctx *c = (drop_ctx *)pv;
    double s = 0.0, scale = 1.0 / (1.0 - (double)c->p);
    size_t i;
    for (i = 0; i < c->n; i++) s += c->mask[i] ? (double)c->w[i] * c->inp[i] * scale : 0.0;
    return s;
}

/* p = 0 through the library forward itself (it draws nothing: the output is a function of inp). */
static double drop0_objective(void *pv) {
    drop_ctx *c = (drop_ctx *)pv;
    ss_dropout_forward(c->out, c->scratch, c->inp, 0.0f, NULL, c->n);
    return weighted_sum(c->w, c->out, c->n);
}

static void test_dropout(ss_rng *rng) {
    enum { N = 5 * 7, NL = 100003 };
    const fd_tol tol = {1e-2f, 1e-5, 1e-5}; /* linear in inp */
    float *inp = test_alloc(N), *out = test_alloc(N), *w = test_alloc(N), *want = test_alloc(N);
    float *dinp = test_alloc(N), *dout, *start = test_alloc(N), *twice, *big, *bigout;
    unsigned char mask[N], mask2[N], scratch[N], *bigmask;
    ss_rng r0, r1;
    drop_ctx c;
    const float p = 0.3f;
    size_t i, dropped = 0;
    int ones = 1;
    double frac;
    print_tol("dropout", tol);
    test_fill(inp, N, rng, -1.0f, 1.0f);
    test_fill(w, N, rng, -1.0f, 1.0f);
    dout = make_dout(w, N);
    c.out = out, c.inp = inp, c.w = w, c.n = N, c.scratch = scratch;

    /* p = 0: identity, all-ones mask, no draw */
    r0 = *rng;
    ss_dropout_forward(out, mask, inp, 0.0f, rng, N);
    for (i = 0; i < N; i++) ones &= mask[i] == 1;
    test_true(ones && memcmp(out, inp, sizeof(float) * N) == 0, "dropout p=0 copies, mask all 1");
    test_true(rng->state == r0.state, "dropout p=0 draws nothing");
    ss_dropout_backward(dinp, dout, mask, 0.0f, N);
    c.mask = mask, c.p = 0.0f;
    fd_check("dropout p=0 dinp fd", dinp, inp, N, drop0_objective, &c, tol);
    test_fill(start, N, rng, -1.0f, 1.0f);
    twice = copy_of(start, N);
    ss_dropout_backward(twice, dout, mask, 0.0f, N);
    ss_dropout_backward(twice, dout, mask, 0.0f, N);
    check_accum("dropout p=0 dinp accumulates", twice, start, dinp, N);

    /* p = 0.3: one forward fixes the mask; the FD objective reuses it */
    r0 = *rng;
    ss_dropout_forward(out, mask, inp, p, rng, N);
    for (i = 0; i < N; i++) want[i] = mask[i] ? inp[i] * (1.0f / (1.0f - p)) : 0.0f;
    check_tensor("dropout p=0.3 forward = inp*mask/(1-p)", out, want, N, 0.0, 1e-6);
    r1 = r0;
    memcpy(twice, inp, sizeof(float) * N);
    ss_dropout_forward(twice, mask2, twice, p, &r1, N); /* in place, same seed */
    test_true(memcmp(mask, mask2, N) == 0 && memcmp(out, twice, sizeof(float) * N) == 0,
              "dropout p=0.3 in place = out of place, same seed = same mask");
    memset(dinp, 0, sizeof(float) * N);
    ss_dropout_backward(dinp, dout, mask, p, N);
    c.mask = mask, c.p = p;
    fd_check("dropout p=0.3 dinp fd (mask fixed)", dinp, inp, N, drop_objective, &c, tol);
    memcpy(twice, start, sizeof(float) * N);
    ss_dropout_backward(twice, dout, mask, p, N);
    ss_dropout_backward(twice, dout, mask, p, N);
    check_accum("dropout p=0.3 dinp accumulates", twice, start, dinp, N);

    big = test_alloc(NL), bigout = test_alloc(NL), bigmask = (unsigned char *)malloc(NL);
    if (!bigmask) exit(2);
    test_fill(big, NL, rng, 0.5f, 1.0f);
    ss_dropout_forward(bigout, bigmask, big, p, rng, NL);
    for (i = 0; i < NL; i++) dropped += bigmask[i] == 0;
    frac = (double)dropped / NL;
    printf("# dropout p=0.3 on %d values: dropped fraction %.4f\n", NL, frac);
    test_true(fabs(frac - 0.3) < 0.006, "dropout p=0.3 drops ~30% (4 sigma)");
    free(big), free(bigout), free(bigmask);
    free(inp), free(out), free(w), free(want), free(dinp), free(dout), free(start), free(twice);
}

/* ---- cross-entropy ----------------------------------------------------------------------- */

#define IGN SS_IGNORE_INDEX

/* -log softmax(logits)[target] per row in double; 0 for ignored rows. */
static void ref_ce(double *loss, double *probs, const float *logits, const int *targets, int N,
                   int V) {
    int r, j;
    for (r = 0; r < N; r++) {
        const float *x = logits + r * V;
        double mx = x[0], sum = 0.0;
        loss[r] = 0.0;
        if (targets[r] == IGN) continue;
        for (j = 1; j < V; j++) mx = x[j] > mx ? x[j] : mx;
        for (j = 0; j < V; j++) sum += exp((double)x[j] - mx);
        for (j = 0; j < V; j++) probs[r * V + j] = exp((double)x[j] - mx) / sum;
        loss[r] = log(sum) - ((double)x[targets[r]] - mx);
    }
}

typedef struct ce_ctx {
    float *logits, *probs, *losses;
    const int *targets;
    int N, V;
} ce_ctx;

static double ce_objective(void *p) { /* the mean loss over kept rows */
    ce_ctx *c = (ce_ctx *)p;
    ss_ce_stats st;
    ss_crossentropy_forward(&st, c->losses, c->probs, c->logits, c->targets, c->N, c->V);
    return st.kept ? st.loss_sum / st.kept : 0.0;
}

static void test_crossentropy(ss_rng *rng) {
    enum { N = 5, V = 7, K = 3 };
    static const int targets[N] = {3, IGN, 0, 6, IGN};
    static const int kept_rows[K] = {0, 2, 3};
    const fd_tol tol = {1e-3f, 1e-4, 2e-3};
    float logits[N * V], probs[N * V], losses[N], dlogits[N * V], start[N * V], twice[N * V];
    float want_loss[N], want_probs[N * V], alias[N * V], losses2[N], d2[N * V];
    float klog[K * V], kprobs[K * V], klosses[K], kd[K * V];
    double rl[N], rp[N * V], mean = 0.0;
    int ktargets[K], r, j, ok;
    ss_ce_stats st, st2, kst;
    ce_ctx c;
    float dloss;
    print_tol("crossentropy", tol);
    test_fill(logits, N * V, rng, -3.0f, 3.0f);
    memset(probs, 0, sizeof probs);
    ss_crossentropy_forward(&st, losses, probs, logits, targets, N, V);
    ref_ce(rl, rp, logits, targets, N, V);
    memset(want_probs, 0, sizeof want_probs);
    for (r = 0; r < N; r++) {
        want_loss[r] = (float)rl[r];
        mean += rl[r];
        if (targets[r] != IGN)
            for (j = 0; j < V; j++) want_probs[r * V + j] = (float)rp[r * V + j];
    }
    mean /= K;
    check_tensor("crossentropy losses vs double -log softmax", losses, want_loss, N, 1e-6, 1e-6);
    check_tensor("crossentropy probs vs double softmax", probs, want_probs, N * V, 1e-7, 1e-5);
    test_true(st.kept == K && fabs(st.loss - mean) <= 1e-6 * mean &&
                  fabs(st.loss_sum - mean * K) <= 1e-6 * mean * K,
              "crossentropy stats loss, loss_sum, kept");
    test_true(losses[1] == 0.0f && losses[4] == 0.0f, "crossentropy ignored rows: loss exactly 0");

    /* gradient: dloss = 1/kept for the mean loss */
    memset(dlogits, 0, sizeof dlogits);
    dloss = dout_scale / (float)st.kept;
    ss_crossentropy_backward(dlogits, dloss, probs, targets, N, V);
    c.logits = logits, c.probs = probs, c.losses = losses, c.targets = targets, c.N = N, c.V = V;
    fd_check("crossentropy dlogits fd (2 of 5 rows ignored, dloss=1/kept)", dlogits, logits, N * V,
             ce_objective, &c, tol);
    ss_crossentropy_forward(&st, losses, probs, logits, targets, N, V);
    test_fill(start, N * V, rng, -1.0f, 1.0f);
    memcpy(twice, start, sizeof twice);
    ss_crossentropy_backward(twice, dloss, probs, targets, N, V);
    ss_crossentropy_backward(twice, dloss, probs, targets, N, V);
    check_accum("crossentropy dlogits accumulates", twice, start, dlogits, N * V);

    /* ignored rows change nothing: the same as a batch of the kept rows alone */
    for (r = 0; r < K; r++) {
        memcpy(klog + r * V, logits + kept_rows[r] * V, sizeof(float) * V);
        ktargets[r] = targets[kept_rows[r]];
    }
    ss_crossentropy_forward(&kst, klosses, kprobs, klog, ktargets, K, V);
    ok = kst.loss_sum == st.loss_sum && kst.kept == st.kept && kst.correct == st.correct &&
         kst.loss == st.loss;
    for (r = 0; r < K; r++) ok &= klosses[r] == losses[kept_rows[r]];
    test_true(ok, "crossentropy ignored rows add nothing to loss, kept, correct");
    memcpy(twice, start, sizeof twice);
    ss_crossentropy_backward(twice, 0.37f, probs, targets, N, V);
    for (r = 0; r < K; r++) memcpy(kd + r * V, start + kept_rows[r] * V, sizeof(float) * V);
    ss_crossentropy_backward(kd, 0.37f, kprobs, ktargets, K, V);
    ok = memcmp(twice + 1 * V, start + 1 * V, sizeof(float) * V) == 0 &&
         memcmp(twice + 4 * V, start + 4 * V, sizeof(float) * V) == 0;
    test_true(ok, "crossentropy ignored rows: dlogits row bit-identical to before");
    ok = 1;
    for (r = 0; r < K; r++)
        ok &= memcmp(kd + r * V, twice + kept_rows[r] * V, sizeof(float) * V) == 0;
    test_true(ok, "crossentropy kept rows' gradient = that of the kept rows alone");

    /* probs aliasing logits */
    memcpy(alias, logits, sizeof alias);
    ss_crossentropy_forward(&st2, losses2, alias, alias, targets, N, V);
    ok = st2.loss_sum == st.loss_sum && st2.kept == st.kept && st2.correct == st.correct;
    for (r = 0; r < K; r++) {
        int row = kept_rows[r];
        ok &= memcmp(alias + row * V, probs + row * V, sizeof(float) * V) == 0;
        ok &= losses2[row] == losses[row];
    }
    test_true(ok, "crossentropy probs aliasing logits = separate buffers");
    memcpy(d2, start, sizeof d2);
    memcpy(twice, start, sizeof twice);
    ss_crossentropy_backward(d2, dloss, alias, targets, N, V);
    ss_crossentropy_backward(twice, dloss, probs, targets, N, V);
    test_true(memcmp(d2, twice, sizeof d2) == 0, "crossentropy backward from aliased probs same");

    /* every row ignored */
    {
        static const int all_ign[4] = {IGN, IGN, IGN, IGN};
        float lg[4 * V], pr[4 * V], ls[4], dl[4 * V], dl0[4 * V];
        ss_ce_stats s0;
        test_fill(lg, 4 * V, rng, -3.0f, 3.0f);
        memcpy(pr, lg, sizeof pr);
        ss_crossentropy_forward(&s0, ls, pr, lg, all_ign, 4, V);
        test_true(s0.loss == 0.0f && s0.loss_sum == 0.0 && s0.kept == 0 && s0.correct == 0 &&
                      !isnan(s0.loss) && ls[0] == 0.0f && ls[1] == 0.0f && ls[2] == 0.0f &&
                      ls[3] == 0.0f,
                  "crossentropy all ignored: loss 0, kept 0, correct 0, no NaN");
        test_fill(dl0, 4 * V, rng, -1.0f, 1.0f);
        memcpy(dl, dl0, sizeof dl);
        ss_crossentropy_backward(dl, 1.0f, pr, all_ign, 4, V);
        test_true(memcmp(dl, dl0, sizeof dl) == 0 && all_finite(dl, 4 * V),
                  "crossentropy all ignored: gradient unchanged");
    }

    /* argmax count on a constructed batch: the first largest logit is the prediction */
    {
        enum { NA = 6, VA = 5 };
        static const float lg[NA * VA] = {
            0.1f, 0.2f, 2.0f, -1.0f, 0.5f,  /* target 2 = max: correct */
            0.1f, 0.2f, 0.3f, 1.0f,  0.5f,  /* target 0, max at 3: wrong */
            0.0f, 1.5f, 0.3f, -2.0f, 1.5f,  /* tie 1 and 4, target 1 (first): correct */
            0.0f, 1.5f, 0.3f, -2.0f, 1.5f,  /* tie 1 and 4, target 4 (second): wrong */
            9.0f, 0.0f, 0.0f, 0.0f,  0.0f,  /* ignored (its max at 0 would not count anyway) */
            0.0f, 0.0f, 0.0f, 0.0f,  0.25f, /* target 4 = max (last id): correct */
        };
        static const int tg[NA] = {2, 0, 1, 4, IGN, 4};
        float pr[NA * VA], ls[NA];
        ss_ce_stats sa;
        ss_crossentropy_forward(&sa, ls, pr, lg, tg, NA, VA);
        printf("# crossentropy argmax case: correct %d kept %d (want 3 and 5)\n", sa.correct,
               sa.kept);
        test_true(sa.correct == 3 && sa.kept == 5, "crossentropy argmax-correct count");
    }

    /* logits far from 0: stays finite and matches double */
    {
        enum { NB = 3, VB = 5 };
        static const float lg[NB * VB] = {300.0f, -300.0f, 0.0f, 299.0f, 250.0f,
                                          -500.0f, -501.0f, -520.0f, -499.5f, -600.0f,
                                          80.0f, 80.0f, 80.0f, 80.0f, -80.0f};
        static const int tg[NB] = {1, 3, 4};
        float pr[NB * VB], ls[NB], wl[NB];
        double rl2[NB], rp2[NB * VB];
        ss_ce_stats sb;
        ss_crossentropy_forward(&sb, ls, pr, lg, tg, NB, VB);
        ref_ce(rl2, rp2, lg, tg, NB, VB);
        for (r = 0; r < NB; r++) wl[r] = (float)rl2[r];
        test_true(all_finite(pr, NB * VB) && isfinite(sb.loss), "crossentropy large logits finite");
        check_tensor("crossentropy large logits losses vs double", ls, wl, NB, 1e-5, 1e-6);
    }
}

/* The column-split reductions (bias sums, RMSNorm's gain gradient, the embedding's rows) give
   the bits of the plain loop, each column summed in double in row order, for any width of the
   column tasks: widths of 64 down to 16 (ss__col_block narrows them for more threads; up to 16
   threads are asked for, whatever the machine has) and the vector passes of 32 and 16 columns
   with a scalar rest. */
static void test_column_sums(ss_rng *rng) {
    enum { R = 37 };
    const int widths[] = {1, 7, 16, 31, 33, 48, 64, 100, 256, 1030};
    const int threads[] = {1, 2, 3, 16};
    int wi, ti;
    for (wi = 0; wi < (int)(sizeof widths / sizeof widths[0]); wi++) {
        const int C = widths[wi];
        float *x = test_alloc((size_t)R * C), *y = test_alloc((size_t)R * C), *sc = test_alloc(R);
        float *want_b = test_alloc(C), *want_g = test_alloc(C), *got_b = test_alloc(C);
        float *got_g = test_alloc(C), *dinp = test_alloc((size_t)R * C), *gain = test_alloc(C);
        int r, c, bad = 0;
        char name[96];
        test_fill(x, (size_t)R * C, rng, -1.0f, 1.0f);
        test_fill(y, (size_t)R * C, rng, -2.0f, 2.0f);
        test_fill(sc, R, rng, 0.5f, 2.0f);
        test_fill(gain, C, rng, 0.5f, 1.5f);
        for (c = 0; c < C; c++) {
            double b = 0.0, g = 0.0;
            for (r = 0; r < R; r++) {
                b += x[(size_t)r * C + c];
                g += (double)x[(size_t)r * C + c] * (y[(size_t)r * C + c] * sc[r]);
            }
            want_b[c] = 0.25f + (float)b; /* both add into a nonzero start */
            want_g[c] = 0.25f + (float)g;
        }
        for (ti = 0; ti < (int)(sizeof threads / sizeof threads[0]); ti++) {
#ifdef _OPENMP
            omp_set_num_threads(threads[ti]);
#else
            if (threads[ti] > 1) continue;
#endif
            for (c = 0; c < C; c++) got_b[c] = got_g[c] = 0.25f;
            ss__add_column_sums(got_b, x, R, C);
            /* dgain_c += sum_r dout_rc * (inp_rc * rstd_r): dout = x, inp = y, rstd = sc */
            ss_rmsnorm_backward(dinp, got_g, x, y, sc, gain, R, C);
            bad += memcmp(got_b, want_b, sizeof(float) * C) != 0;
            bad += memcmp(got_g, want_g, sizeof(float) * C) != 0;
        }
#ifdef _OPENMP
        omp_set_num_threads(omp_get_num_procs());
#endif
        snprintf(name, sizeof name, "column sums, %d columns: plain loop's bits on 1-16 threads", C);
        test_true(bad == 0, name);
        free(x), free(y), free(sc), free(want_b), free(want_g), free(got_b), free(got_g);
        free(dinp), free(gain);
    }
}

int main(int argc, char **argv) {
    ss_rng rng;
    if (argc > 1 && strcmp(argv[1], "--mutate") == 0) {
        dout_scale = 1.01f;
        printf("# --mutate: every dout given to a backward is scaled by 1.01; fd checks must "
               "FAIL\n");
    }
    printf("# %s\n", ss_build_info());
    ss_rng_seed(&rng, 20261127u);
    test_embedding(&rng);
    test_linear(&rng);
    test_rmsnorm(&rng);
    test_rope(&rng);
    test_swiglu(&rng);
    test_swiglu_lanes();
    test_rms_rope_lanes();
    test_tanh(&rng);
    test_dropout(&rng);
    test_crossentropy(&rng);
    test_column_sums(&rng);
    return test_summary("test_layers_grad");
}
