/* tools/cmd_bench_attention.c - `ss bench attention`: one isolated attention layer, MHA, MLA and
   MLA-o, forward and forward+backward, over a grid of hidden size, heads x head size, sequence
   length and latent sizes; time, tokens/s, matrix-product FLOPs and GFLOP/s; and the region of
   the grid where MLA-o (MLA with a shared output latent) is faster than MLA, the seed's open
   question (SEED.md, "Throughput Analysis").

   What one grid point is. A hidden size D, H heads of size Dh and a sequence length T, with a
   batch B = max(1, tokens / T) so that every point processes about the same number of tokens.
   Its variants (MHA, then MLA and MLA-o for each latent scale) are timed in one loop and
   interleaved inside every repetition, the order rotating, so that load drifting on a shared
   machine hits them alike; the big attention buffers (probabilities, q and k after RoPE, the
   context) are shared between them, which the interleaving allows because each variant's
   backward runs right after its own forward. Times are medians of --reps repetitions after one
   warm-up. The MLA-o/MLA speed ratio is the median over repetitions of MLA's time divided by
   MLA-o's time in the same repetition (> 1: MLA-o faster): pairing cancels slow drift that
   separate medians would keep.

   The layer. Latent sizes follow the seed's best configs (configs/best_mla.json and
   configs/best_mla-o.json, D = 256: q latent 64, kv latent 32, output latent 64) as fractions
   of D: Cq = D/4, Ckv = D/8, Co = D/4, each times --latent-scale. RoPE turns every dim of each
   head (Dr = Dh, as the seed's MHA and MLA-o configs do) in all three variants, so that they
   differ only in their projections; no bias (attention_bias is false in every seed config); no
   padding mask; attention dropout only with --dropout (training runs 0.1, which adds the same
   cost to all three variants). The attention core is the model's, the tiled one (memory linear
   in T); --core full times the one that keeps the (T,T) probabilities instead.

   FLOPs, counted analytically: 2 m n k for each matrix product; per token, forward (HD = H*Dh):
     MHA    qkv 2*D*3HD  + scores 2*T*HD + att@v 2*T*HD + o 2*HD*D
     MLA    qkv_a 2*D*(Cq+Ckv) + q_b 2*Cq*HD + kv_b 2*Ckv*2HD + 4*T*HD + o 2*HD*D
     MLA-o  as MLA, with o_a 2*HD*Co + o_b 2*Co*D in place of o
   Backward runs two products the size of each forward one (the input and the weight gradient of
   every projection; dA', dv, dq and dk in attention), so forward+backward is 3 x forward.
   RMSNorm, RoPE and softmax are not counted. MLA-o has fewer FLOPs than MLA exactly when
   Co*(HD + D) < HD*D, i.e. Co < D/2 when HD = D.

   Outputs: the Markdown table on stdout and in DIR/attention.md (with the summary), the same
   rows in DIR/attention.csv, and DIR/attention.svg (the forward+backward speed ratio against
   sequence length, one line per hidden size and head shape, with the 1.0 line). The summary of
   where MLA-o wins is computed from the measured rows. On a machine shared with other work run
   with OMP_WAIT_POLICY=PASSIVE (spinning OpenMP threads lose their core to the others) and read
   the figures as noisy; the load average is recorded before and after. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plot.h"
#include "ss.h"
#include "train.h" /* train_mkdir */
#ifdef _OPENMP
#include <omp.h>
#endif

#define BA_CMD "bench attention"
#define BA_MAX_LIST 16  /* values in one list option */
#define BA_MAX_REPS 64
#define BA_TIE 0.03     /* |ratio - 1| up to this counts as a tie, not a win or a loss */
#define BA_ALIGN 16     /* buffers start on 64-byte boundaries, as the library's own blocks */

/* The seed's latent sizes as fractions of D (best configs, D = 256: 64, 32, 64). */
#define BA_Q_FRAC (64.0 / 256.0)
#define BA_KV_FRAC (32.0 / 256.0)
#define BA_O_FRAC (64.0 / 256.0)

static const char *const ba_kind_names[3] = {"MHA", "MLA", "MLA-o"};

/* One measured row of the table. */
typedef struct ba_row {
    int D, H, Dh, T, B;
    ss_attn_kind kind;
    double scale;               /* latent scale; 0 for MHA */
    int Cq, Ckv, Co;            /* 0 where the variant has no such latent */
    double fwd_s, fb_s;         /* median seconds: forward, forward+backward */
    double flop_fwd;            /* matrix-product FLOPs per token, forward */
    double speed_fwd, speed_fb; /* MLA-o rows: median paired MLA/MLA-o time; else NAN */
    double flop_ratio;          /* MLA-o rows: MLA FLOPs / MLA-o FLOPs; else NAN */
} ba_row;

/* What every variant of a grid point shares: input, output and their gradients, the RoPE
   tables, and the attention buffers whose shape does not depend on the variant. */
typedef struct ba_core {
    float *inp, *out, *dinp, *dout; /* (B,T,D) */
    float *cos_t, *sin_t;           /* (T, Dh/2) */
    ss_attn_acts a;                 /* q_rot, k_rot, att, att_drop, drop_mask, ctx */
    ss_attn_grads g;                /* dq_rot, dk_rot, datt, dctx */
    float *block;                   /* owned: everything above */
} ba_core;

/* One variant at one grid point: its weights, weight gradients, own activations and scratch. */
typedef struct ba_variant {
    ss_attn_kind kind;
    double scale;
    ss_attn_dims d;
    ss_attn_weights w, dw;
    ss_attn_acts a;   /* own fields plus the shared ones copied from the core */
    ss_attn_grads g;
    float *block;     /* owned: the variant's own buffers */
    double t_fwd[BA_MAX_REPS], t_fb[BA_MAX_REPS];
} ba_variant;

/* One buffer of a block being laid out: where to store its address, and its length in floats. */
typedef struct ba_slot {
    float **p;
    size_t n;
} ba_slot;

/* ---- text to stdout and a file at once ------------------------------------------------------ */

/* Where formatted text goes: stdout (echo) and/or a crash-safe file writer. */
typedef struct ba_sink {
    FILE *echo;       /* NULL: none */
    ss_writer *file;  /* NULL: none; its first error sticks and shows at commit */
} ba_sink;

static void ba_printf(const ba_sink *s, const char *fmt, ...) {
    char small[1024], *heap = NULL;
    const char *text = small;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof small) { /* a long line: format it again into a buffer that fits */
        heap = (char *)malloc((size_t)n + 1);
        if (!heap) {
            fprintf(stderr, "ss %s: out of memory for %d bytes of output\n", BA_CMD, n);
            return;
        }
        va_start(ap, fmt);
        vsnprintf(heap, (size_t)n + 1, fmt, ap);
        va_end(ap);
        text = heap;
    }
    if (s->echo) fputs(text, s->echo);
    if (s->file) ss_writer_write(s->file, text, (size_t)n);
    free(heap);
}

/* ---- options --------------------------------------------------------------------------------- */

static void ba_sort_ints(int *v, int n) {
    int i, j;
    for (i = 1; i < n; i++) {
        int x = v[i];
        for (j = i; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
        v[j] = x;
    }
}

/* A comma-separated list of integers in min..max (fallback when the option is absent), sorted
   ascending so that the table and the plot run in order. Prints an error naming the option. */
static int ba_parse_ints(const tool_opt *opt, const char *fallback, int min, int max, int *out,
                         int *n) {
    const char *text = opt->value ? opt->value : fallback, *p = text;
    *n = 0;
    for (;;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < min || v > max || *n == BA_MAX_LIST || (*end != ',' && *end != '\0')) {
            fprintf(stderr,
                    "ss %s: %s '%s': expected up to %d comma-separated integers in %d..%d\n",
                    BA_CMD, opt->name, text, BA_MAX_LIST, min, max);
            return 0;
        }
        out[(*n)++] = (int)v;
        if (*end == '\0') break;
        p = end + 1;
    }
    ba_sort_ints(out, *n);
    return 1;
}

/* The same for real numbers in (min, max]; NaN never passes. */
static int ba_parse_doubles(const tool_opt *opt, const char *fallback, double min, double max,
                            double *out, int *n) {
    const char *text = opt->value ? opt->value : fallback, *p = text;
    *n = 0;
    for (;;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v > min && v <= max) || *n == BA_MAX_LIST ||
            (*end != ',' && *end != '\0')) {
            fprintf(stderr,
                    "ss %s: %s '%s': expected up to %d comma-separated numbers in (%g, %g]\n",
                    BA_CMD, opt->name, text, BA_MAX_LIST, min, max);
            return 0;
        }
        out[(*n)++] = v;
        if (*end == '\0') break;
        p = end + 1;
    }
    return 1;
}

/* ---- FLOPs ----------------------------------------------------------------------------------- */

/* Matrix-product FLOPs per token of one forward pass (see the top of the file). */
static double ba_flop_fwd(ss_attn_kind kind, int D, int HD, int T, int Cq, int Ckv, int Co) {
    const double d = D, hd = HD, attention = 2.0 * T * hd + 2.0 * T * hd; /* scores, att @ v */
    if (kind == SS_ATTN_MHA) return 2.0 * d * 3.0 * hd + attention + 2.0 * hd * d;
    return 2.0 * d * (Cq + Ckv) + 2.0 * Cq * hd + 2.0 * Ckv * 2.0 * hd + attention +
           (kind == SS_ATTN_MLA ? 2.0 * hd * d : 2.0 * hd * Co + 2.0 * Co * d);
}

/* The latent sizes at hidden size D and latent scale s, rounded to whole dims, at least 1. */
static void ba_latents(int D, double s, int *Cq, int *Ckv, int *Co) {
    *Cq = (int)floor(D * BA_Q_FRAC * s + 0.5);
    *Ckv = (int)floor(D * BA_KV_FRAC * s + 0.5);
    *Co = (int)floor(D * BA_O_FRAC * s + 0.5);
    if (*Cq < 1) *Cq = 1;
    if (*Ckv < 1) *Ckv = 1;
    if (*Co < 1) *Co = 1;
}

/* ---- memory ---------------------------------------------------------------------------------- */

/* a*b*c, or SIZE_MAX when it does not fit (the layout then fails as too large). */
static size_t ba_mul(size_t a, size_t b, size_t c) {
    if (a && b > SIZE_MAX / a) return SIZE_MAX;
    a *= b;
    if (a && c > SIZE_MAX / a) return SIZE_MAX;
    return a * c;
}

/* Lay n slots out one after another in block, each start rounded up to BA_ALIGN floats; with
   block NULL only the total is computed. A slot of length 0 gets NULL. Returns the total in
   floats, or 0 when it does not fit in size_t bytes. */
static size_t ba_carve(const ba_slot *s, int n, float *block) {
    size_t total = 0;
    int i;
    for (i = 0; i < n; i++) {
        size_t len;
        if (s[i].n > SIZE_MAX / sizeof(float) - BA_ALIGN) return 0;
        len = (s[i].n + BA_ALIGN - 1) / BA_ALIGN * BA_ALIGN;
        if (len > SIZE_MAX / sizeof(float) - total) return 0;
        if (block) *s[i].p = s[i].n ? block + total : NULL;
        total += len;
    }
    return total;
}

/* Allocate one zeroed block for the slots (zeroing also touches every page, so no page fault
   lands inside a timed call). Returns 0 and prints what failed when it cannot. */
static int ba_alloc(const ba_slot *s, int n, float **block, const char *what,
                    const ss_attn_dims *d) {
    size_t total = ba_carve(s, n, NULL);
    *block = total ? (float *)malloc(total * sizeof(float)) : NULL;
    if (!*block) {
        char need[48] = "more than size_t counts";
        if (total)
            snprintf(need, sizeof need, "%.0f MiB",
                     (double)total * (double)sizeof(float) / 1048576.0);
        fprintf(stderr,
                "ss %s: out of memory: %s need %s at hidden %d, %dx%d heads, seq %d, batch %d "
                "(lower --tokens, --seq or --hidden)\n",
                BA_CMD, what, need, d->D, d->H, d->Dh, d->T, d->B);
        return 0;
    }
    memset(*block, 0, total * sizeof(float));
    ba_carve(s, n, *block);
    return 1;
}

#define BA_SLOT(ptr, count) (s[n].p = &(ptr), s[n].n = (count), n++)

/* The core's buffers: d gives the shapes, dropout whether the dropout caches exist; full: the
   (T,T) probabilities of ss_attention_forward, else the per-row lse of the tiled core. */
static int ba_core_alloc(ba_core *c, const ss_attn_dims *d, int full) {
    const size_t B = (size_t)d->B, T = (size_t)d->T, H = (size_t)d->H, HD = H * d->Dh;
    float *mask = NULL;
    ba_slot s[16];
    int n = 0;
    memset(c, 0, sizeof *c);
    BA_SLOT(c->inp, ba_mul(B, T, d->D));
    BA_SLOT(c->out, ba_mul(B, T, d->D));
    BA_SLOT(c->dinp, ba_mul(B, T, d->D));
    BA_SLOT(c->dout, ba_mul(B, T, d->D));
    BA_SLOT(c->cos_t, ba_mul(T, d->Dr / 2, 1));
    BA_SLOT(c->sin_t, ba_mul(T, d->Dr / 2, 1));
    BA_SLOT(c->a.q_rot, ba_mul(B, T, HD));
    BA_SLOT(c->a.k_rot, ba_mul(B, T, HD));
    BA_SLOT(c->a.ctx, ba_mul(B, T, HD));
    BA_SLOT(c->g.dq_rot, ba_mul(B, T, HD));
    BA_SLOT(c->g.dk_rot, ba_mul(B, T, HD));
    BA_SLOT(c->g.dctx, ba_mul(B, T, HD));
    if (!full) BA_SLOT(c->a.lse, ba_mul(B * H, T, 1));
    if (full) BA_SLOT(c->a.att, ba_mul(B * H, T, T));
    if (full) BA_SLOT(c->g.datt, ba_mul(B * H, T, T));
    if (full && d->dropout_p > 0.0f) {
        BA_SLOT(c->a.att_drop, ba_mul(B * H, T, T));
        BA_SLOT(mask, (ba_mul(B * H, T, T) + 3) / 4); /* one byte per probability */
    }
    if (!ba_alloc(s, n, &c->block, "the shared attention buffers", d)) return 0;
    c->a.drop_mask = (unsigned char *)mask;
    return 1;
}

/* Uniform in [-a, a) with a = sqrt(3 / fan_in): variance 1/fan_in, so every projection keeps
   unit-variance inputs at unit variance and no value drifts towards subnormals or overflow. */
static void ba_fill(float *p, size_t n, double fan_in, ss_rng *rng) {
    const float a = (float)sqrt(3.0 / fan_in);
    size_t i;
    for (i = 0; i < n; i++) p[i] = a * (2.0f * ss_rng_uniform(rng) - 1.0f);
}

/* A variant's own buffers, its weights drawn from rng, and the shared ones from the core. */
static int ba_variant_alloc(ba_variant *v, const ba_core *c, ss_rng *rng) {
    static const char *const what[3] = {"MHA's buffers", "MLA's buffers", "MLA-o's buffers"};
    const ss_attn_dims *d = &v->d;
    const size_t BT = (size_t)d->B * d->T, D = d->D, HD = (size_t)d->H * d->Dh;
    const size_t Cq = d->Cq, Ckv = d->Ckv, Co = d->Co;
    ba_slot s[40];
    int n = 0, pass;
    size_t i;
    for (pass = 0; pass < 2; pass++) { /* the weights, then their gradients in the same shapes */
        ss_attn_weights *w = pass ? &v->dw : &v->w;
        if (v->kind == SS_ATTN_MHA) {
            BA_SLOT(w->qkv_proj_weight, ba_mul(3, HD, D));
            BA_SLOT(w->o_proj_weight, ba_mul(D, HD, 1));
            continue;
        }
        BA_SLOT(w->qkv_a_proj_weight, ba_mul(Cq + Ckv, D, 1));
        BA_SLOT(w->q_a_norm_weight, Cq);
        BA_SLOT(w->kv_a_norm_weight, Ckv);
        BA_SLOT(w->q_b_proj_weight, ba_mul(HD, Cq, 1));
        BA_SLOT(w->kv_b_proj_weight, ba_mul(2, HD, Ckv));
        if (v->kind == SS_ATTN_MLA) {
            BA_SLOT(w->o_proj_weight, ba_mul(D, HD, 1));
        } else {
            BA_SLOT(w->o_a_proj_weight, ba_mul(Co, HD, 1));
            BA_SLOT(w->o_b_proj_weight, ba_mul(D, Co, 1));
        }
    }
    if (v->kind == SS_ATTN_MHA) {
        BA_SLOT(v->a.qkv, ba_mul(BT, 3, HD));
        BA_SLOT(v->g.dqkv, ba_mul(BT, 3, HD));
    } else {
        BA_SLOT(v->a.q_lat, ba_mul(BT, Cq, 1));
        BA_SLOT(v->a.kv_lat, ba_mul(BT, Ckv, 1));
        BA_SLOT(v->a.q_rstd, BT);
        BA_SLOT(v->a.kv_rstd, BT);
        BA_SLOT(v->a.q_latn, ba_mul(BT, Cq, 1));
        BA_SLOT(v->a.kv_latn, ba_mul(BT, Ckv, 1));
        BA_SLOT(v->a.q, ba_mul(BT, HD, 1));
        BA_SLOT(v->a.kv, ba_mul(BT, 2, HD));
        BA_SLOT(v->g.dq_lat, ba_mul(BT, Cq, 1));
        BA_SLOT(v->g.dkv_lat, ba_mul(BT, Ckv, 1));
        BA_SLOT(v->g.dq_latn, ba_mul(BT, Cq, 1));
        BA_SLOT(v->g.dkv_latn, ba_mul(BT, Ckv, 1));
        BA_SLOT(v->g.dq, ba_mul(BT, HD, 1));
        BA_SLOT(v->g.dkv, ba_mul(BT, 2, HD));
        if (v->kind == SS_ATTN_MLA_O) {
            BA_SLOT(v->a.o_lat, ba_mul(BT, Co, 1));
            BA_SLOT(v->g.do_lat, ba_mul(BT, Co, 1));
        }
    }
    if (!ba_alloc(s, n, &v->block, what[v->kind], d)) return 0;
    if (v->kind == SS_ATTN_MHA) {
        ba_fill(v->w.qkv_proj_weight, 3 * HD * D, (double)D, rng);
        ba_fill(v->w.o_proj_weight, D * HD, (double)HD, rng);
    } else {
        ba_fill(v->w.qkv_a_proj_weight, (Cq + Ckv) * D, (double)D, rng);
        for (i = 0; i < Cq; i++) v->w.q_a_norm_weight[i] = 1.0f; /* RMSNorm gains start at 1 */
        for (i = 0; i < Ckv; i++) v->w.kv_a_norm_weight[i] = 1.0f;
        ba_fill(v->w.q_b_proj_weight, HD * Cq, (double)Cq, rng);
        ba_fill(v->w.kv_b_proj_weight, 2 * HD * Ckv, (double)Ckv, rng);
        if (v->kind == SS_ATTN_MLA) {
            ba_fill(v->w.o_proj_weight, D * HD, (double)HD, rng);
        } else {
            ba_fill(v->w.o_a_proj_weight, Co * HD, (double)HD, rng);
            ba_fill(v->w.o_b_proj_weight, D * Co, (double)Co, rng);
        }
    }
    v->a.q_rot = c->a.q_rot, v->a.k_rot = c->a.k_rot, v->a.ctx = c->a.ctx, v->a.att = c->a.att;
    v->a.att_drop = c->a.att_drop, v->a.drop_mask = c->a.drop_mask, v->a.lse = c->a.lse;
    v->g.dq_rot = c->g.dq_rot, v->g.dk_rot = c->g.dk_rot, v->g.dctx = c->g.dctx;
    v->g.datt = c->g.datt;
    return 1;
}

/* ---- one grid point -------------------------------------------------------------------------- */

static void ba_forward(ba_variant *v, const ba_core *c, ss_rng *rng) {
    if (v->kind == SS_ATTN_MHA)
        ss_mha_forward(c->out, &v->a, c->inp, NULL, rng, &v->w, c->cos_t, c->sin_t, &v->d);
    else if (v->kind == SS_ATTN_MLA)
        ss_mla_forward(c->out, &v->a, c->inp, NULL, rng, &v->w, c->cos_t, c->sin_t, &v->d);
    else
        ss_mlao_forward(c->out, &v->a, c->inp, NULL, rng, &v->w, c->cos_t, c->sin_t, &v->d);
}

/* Backward adds into dinp and dw on every repetition; the sums only grow by the repetition
   count, and nothing reads them. */
static void ba_backward(ba_variant *v, const ba_core *c) {
    if (v->kind == SS_ATTN_MHA)
        ss_mha_backward(c->dinp, &v->dw, &v->g, c->dout, c->inp, &v->a, &v->w, c->cos_t,
                        c->sin_t, &v->d);
    else if (v->kind == SS_ATTN_MLA)
        ss_mla_backward(c->dinp, &v->dw, &v->g, c->dout, c->inp, &v->a, &v->w, c->cos_t,
                        c->sin_t, &v->d);
    else
        ss_mlao_backward(c->dinp, &v->dw, &v->g, c->dout, c->inp, &v->a, &v->w, c->cos_t,
                         c->sin_t, &v->d);
}

/* Median over repetitions of num[r] / den[r]. */
static double ba_paired_median(const double *num, const double *den, int reps) {
    double q[BA_MAX_REPS];
    int r;
    for (r = 0; r < reps; r++) q[r] = num[r] / den[r];
    return tool_median(q, reps);
}

/* Measure every variant of one grid point; append its rows. Returns 0 when out of memory. */
static int ba_point(const ss_attn_dims *base, int full, const double *scales, int n_scales,
                    int reps, ba_row *rows, int *n_rows, tool_progress *progress, double *done) {
    const int nv = 1 + 2 * n_scales, BT = base->B * base->T, HD = base->H * base->Dh;
    ba_variant *v = (ba_variant *)calloc((size_t)nv, sizeof *v);
    ba_core core;
    ss_rng rng, drop_rng;
    double t_med[BA_MAX_REPS];
    int i, r, k, ok = 0;
    memset(&core, 0, sizeof core);
    if (!v) {
        fprintf(stderr, "ss %s: out of memory for %d variants\n", BA_CMD, nv);
        return 0;
    }
    for (i = 0; i < nv; i++) { /* MHA, then MLA and MLA-o for each latent scale */
        double s = i == 0 ? 0.0 : scales[(i - 1) / 2];
        v[i].kind = i == 0 ? SS_ATTN_MHA : (i % 2 ? SS_ATTN_MLA : SS_ATTN_MLA_O);
        v[i].scale = s;
        v[i].d = *base;
        if (i > 0) ba_latents(base->D, s, &v[i].d.Cq, &v[i].d.Ckv, &v[i].d.Co);
        if (v[i].kind != SS_ATTN_MLA_O) v[i].d.Co = 0;
    }
    if (!ba_core_alloc(&core, base, full)) goto done;
    ss_rng_seed(&rng, 1234);
    ss_rng_seed(&drop_rng, 99);
    for (i = 0; i < nv; i++)
        if (!ba_variant_alloc(&v[i], &core, &rng)) goto done;
    ba_fill(core.inp, (size_t)BT * base->D, 1.0, &rng);  /* unit variance, like a normed stream */
    ba_fill(core.dout, (size_t)BT * base->D, 1.0, &rng);
    ss_rope_tables(core.cos_t, core.sin_t, base->T, base->Dr, 10000.0f);

    for (r = -1; r < reps; r++) /* r = -1 warms up: caches, the thread pool, GEMM buffers */
        for (k = 0; k < nv; k++) {
            ba_variant *x = &v[(k + r + 1 + nv) % nv]; /* the order turns by one each time */
            double t0, t1, t2;
            t0 = ss_time_seconds();
            ba_forward(x, &core, &drop_rng);
            t1 = ss_time_seconds();
            ba_backward(x, &core);
            t2 = ss_time_seconds();
            if (r >= 0) x->t_fwd[r] = t1 - t0, x->t_fb[r] = t2 - t0;
            *done += 3.0 * BT *
                     ba_flop_fwd(x->kind, base->D, HD, base->T, x->d.Cq, x->d.Ckv, x->d.Co) / 1e9;
            tool_progress_update(progress, *done);
        }

    for (i = 0; i < nv; i++) {
        ba_row *row = &rows[(*n_rows)++];
        memset(row, 0, sizeof *row);
        row->D = base->D, row->H = base->H, row->Dh = base->Dh, row->T = base->T;
        row->B = base->B, row->kind = v[i].kind, row->scale = v[i].scale;
        row->Cq = v[i].kind == SS_ATTN_MHA ? 0 : v[i].d.Cq;
        row->Ckv = v[i].kind == SS_ATTN_MHA ? 0 : v[i].d.Ckv;
        row->Co = v[i].d.Co;
        for (r = 0; r < reps; r++) t_med[r] = v[i].t_fwd[r];
        row->fwd_s = tool_median(t_med, reps);
        for (r = 0; r < reps; r++) t_med[r] = v[i].t_fb[r];
        row->fb_s = tool_median(t_med, reps);
        row->flop_fwd = ba_flop_fwd(v[i].kind, base->D, HD, base->T, row->Cq, row->Ckv, row->Co);
        row->speed_fwd = row->speed_fb = row->flop_ratio = NAN;
        if (v[i].kind == SS_ATTN_MLA_O) { /* v[i - 1] is the MLA of the same latent scale */
            row->speed_fwd = ba_paired_median(v[i - 1].t_fwd, v[i].t_fwd, reps);
            row->speed_fb = ba_paired_median(v[i - 1].t_fb, v[i].t_fb, reps);
            row->flop_ratio = rows[*n_rows - 2].flop_fwd / row->flop_fwd;
        }
    }
    ok = 1;
done:
    for (i = 0; i < nv; i++) free(v[i].block);
    free(v);
    free(core.block);
    return ok;
}

/* ---- output ---------------------------------------------------------------------------------- */

static void ba_table_head(const ba_sink *s) {
    ba_printf(s, "| hidden | heads x dim | seq | batch | latents q/kv/o | variant | fwd ms | "
                 "fwd+bwd ms | tokens/s fwd+bwd | GFLOP/token fwd+bwd | GFLOP/s fwd+bwd | "
                 "MLA-o/MLA speed |\n");
    ba_printf(s, "|---:|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
}

static void ba_table_row(const ba_sink *s, const ba_row *r) {
    const double tokens = (double)r->B * r->T, flop_fb = 3.0 * r->flop_fwd;
    char lat[64], speed[32];
    if (r->kind == SS_ATTN_MHA)
        snprintf(lat, sizeof lat, "-");
    else if (r->kind == SS_ATTN_MLA)
        snprintf(lat, sizeof lat, "%d/%d/-", r->Cq, r->Ckv);
    else
        snprintf(lat, sizeof lat, "%d/%d/%d", r->Cq, r->Ckv, r->Co);
    if (r->kind == SS_ATTN_MLA_O)
        snprintf(speed, sizeof speed, "%.2f", r->speed_fb);
    else
        snprintf(speed, sizeof speed, " ");
    ba_printf(s, "| %d | %dx%d | %d | %d | %s | %s | %.2f | %.2f | %.0f | %.4g | %.1f | %s |\n",
              r->D, r->H, r->Dh, r->T, r->B, lat, ba_kind_names[r->kind], 1e3 * r->fwd_s,
              1e3 * r->fb_s, tokens / r->fb_s, flop_fb / 1e9, tokens * flop_fb / r->fb_s / 1e9,
              speed);
}

static void ba_csv_row(const ba_sink *s, const ba_row *r) {
    const double tokens = (double)r->B * r->T;
    char ratios[96] = ",,";
    if (r->kind == SS_ATTN_MLA_O)
        snprintf(ratios, sizeof ratios, "%.4f,%.4f,%.4f", r->speed_fwd, r->speed_fb, r->flop_ratio);
    ba_printf(s, "%d,%d,%d,%d,%d,%.0f,%g,%d,%d,%d,%s,%.4f,%.4f,%.1f,%.1f,%.6g,%.6g,%.2f,%.2f,%s\n",
              r->D, r->H, r->Dh, r->T, r->B, tokens, r->scale, r->Cq, r->Ckv, r->Co,
              ba_kind_names[r->kind], 1e3 * r->fwd_s, 1e3 * r->fb_s, tokens / r->fwd_s,
              tokens / r->fb_s, r->flop_fwd / 1e9, 3.0 * r->flop_fwd / 1e9,
              tokens * r->flop_fwd / r->fwd_s / 1e9, tokens * 3.0 * r->flop_fwd / r->fb_s / 1e9,
              ratios);
}

/* Rows a and b lie on the same line of the plot and the summary: same hidden size, head shape
   and latent scale, differing only in sequence length. */
static int ba_same_line(const ba_row *a, const ba_row *b) {
    return a->D == b->D && a->H == b->H && a->Dh == b->Dh && a->scale == b->scale;
}

static void ba_line_name(char *buf, size_t n, const ba_row *r, int n_scales) {
    if (n_scales > 1)
        snprintf(buf, n, "hidden %d, %dx%d, latents x%g", r->D, r->H, r->Dh, r->scale);
    else
        snprintf(buf, n, "hidden %d, %dx%d", r->D, r->H, r->Dh);
}

/* -1 slower, 0 tie, 1 faster, for a speed ratio MLA time / MLA-o time. */
static int ba_class(double ratio) {
    return ratio > 1.0 + BA_TIE ? 1 : ratio < 1.0 - BA_TIE ? -1 : 0;
}

/* The forward+backward speed ratio against sequence length, one line per hidden size and head
   shape (and latent scale), with the 1.0 line. */
static int ba_plot(const char *path, const ba_row *rows, int n_rows, int n_scales) {
    /* at most one series per row and two values per row; + 1 keeps every size above 0 */
    plot_series *series = (plot_series *)calloc((size_t)n_rows + 1, sizeof *series);
    double *xy = (double *)malloc((2 * (size_t)n_rows + 1) * sizeof(double));
    char (*names)[64] = (char (*)[64])malloc(((size_t)n_rows + 1) * sizeof *names);
    plot_hline one = {1.0, "MLA-o = MLA"};
    plot_spec spec;
    double lo = 1.0, hi = 1.0, pad;
    int i, j, ns = 0, used = 0, status;
    if (!series || !xy || !names) {
        fprintf(stderr, "ss %s: %s: out of memory for the plot\n", BA_CMD, path);
        free(series), free(xy), free(names);
        return -1;
    }
    for (i = 0; i < n_rows; i++) {
        plot_series *s;
        int first = 1;
        if (rows[i].kind != SS_ATTN_MLA_O) continue;
        for (j = 0; j < i && first; j++)
            if (rows[j].kind == SS_ATTN_MLA_O && ba_same_line(&rows[j], &rows[i])) first = 0;
        if (!first) continue;
        s = &series[ns];
        ba_line_name(names[ns], sizeof names[ns], &rows[i], n_scales);
        s->name = names[ns];
        s->x = xy + used;
        for (j = i; j < n_rows; j++) /* rows run in ascending seq, so the line does too */
            if (rows[j].kind == SS_ATTN_MLA_O && ba_same_line(&rows[j], &rows[i]))
                xy[used++] = rows[j].T;
        s->n = (int)(xy + used - s->x);
        s->y = xy + used;
        for (j = i; j < n_rows; j++)
            if (rows[j].kind == SS_ATTN_MLA_O && ba_same_line(&rows[j], &rows[i])) {
                xy[used++] = rows[j].speed_fb;
                lo = fmin(lo, rows[j].speed_fb), hi = fmax(hi, rows[j].speed_fb);
            }
        ns++;
    }
    /* explicit limits with a margin, so that the 1.0 line never sits on the frame */
    pad = fmax(0.05, 0.08 * (hi - lo));
    memset(&spec, 0, sizeof spec);
    spec.title = "MLA-o vs MLA, one attention layer, forward+backward (above 1: MLA-o faster)";
    spec.xlabel = "sequence length";
    spec.ylabel = "MLA time / MLA-o time";
    spec.y_min = lo - pad;
    spec.y_max = hi + pad;
    spec.hlines = &one;
    spec.n_hlines = 1;
    spec.markers = 1;
    status = plot_lines_svg(path, &spec, series, ns);
    free(series), free(xy), free(names);
    return status;
}

/* "seq 128, 512" into buf: the sequence lengths of line `first` whose class is cls. Returns how
   many there were. */
static int ba_seq_list(char *buf, size_t n, const ba_row *rows, int n_rows, int first, int cls,
                       double *lo, double *hi) {
    size_t len = 0;
    int j, count = 0;
    buf[0] = '\0';
    for (j = first; j < n_rows; j++) {
        const ba_row *r = &rows[j];
        if (r->kind != SS_ATTN_MLA_O || !ba_same_line(r, &rows[first]) ||
            ba_class(r->speed_fb) != cls)
            continue;
        if (len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%d", count ? ", " : "seq ", r->T);
        if (r->speed_fb < *lo) *lo = r->speed_fb;
        if (r->speed_fb > *hi) *hi = r->speed_fb;
        count++;
    }
    return count;
}

/* The paragraph on where MLA-o beats MLA, every statement computed from the rows. */
static void ba_summary(const ba_sink *s, const ba_row *rows, int n_rows, int n_scales) {
    static const char *const cls_word[3] = {"slower", "tied", "faster"};
    int i, j, n = 0, count[3] = {0, 0, 0}, fwd_faster = 0, n_lines = 0, n_with_seqs = 0;
    int falling = 0;
    int slower_fewer_flops = 0, threshold = -1, broke_at = -1;
    double lo = INFINITY, hi = -INFINITY, flo = INFINITY, fhi = -INFINITY;
    double fwd_lo = INFINITY, fwd_hi = -INFINITY;
    ba_printf(s, "\n## Where MLA-o beats MLA\n\n");
    for (i = 0; i < n_rows; i++) {
        const ba_row *r = &rows[i];
        if (r->kind != SS_ATTN_MLA_O) continue;
        n++;
        count[ba_class(r->speed_fb) + 1]++;
        if (ba_class(r->speed_fwd) == 1) fwd_faster++;
        if (ba_class(r->speed_fb) == -1 && r->flop_ratio > 1.0) slower_fewer_flops++;
        lo = fmin(lo, r->speed_fb), hi = fmax(hi, r->speed_fb);
        flo = fmin(flo, r->flop_ratio), fhi = fmax(fhi, r->flop_ratio);
        fwd_lo = fmin(fwd_lo, r->speed_fwd), fwd_hi = fmax(fwd_hi, r->speed_fwd);
    }
    if (n == 0) {
        ba_printf(s, "No MLA-o points were measured.\n");
        return;
    }
    /* The smallest hidden size from which on every point is a win, if there is one. Rows run
       in ascending hidden size, so walk back from the end until the first point that is not a
       win; if that point shares its hidden size with the last win, the boundary moves up to the
       next hidden size. */
    for (i = n_rows - 1; i >= 0; i--) {
        if (rows[i].kind != SS_ATTN_MLA_O) continue;
        if (ba_class(rows[i].speed_fb) != 1) {
            broke_at = rows[i].D;
            break;
        }
        threshold = rows[i].D;
    }
    if (threshold > 0 && threshold == broke_at) {
        threshold = -1;
        for (j = 0; j < n_rows; j++)
            if (rows[j].kind == SS_ATTN_MLA_O && rows[j].D > broke_at &&
                (threshold < 0 || rows[j].D < threshold))
                threshold = rows[j].D;
    }
    ba_printf(s,
              "Forward+backward, MLA-o was faster than MLA (speed ratio MLA time / MLA-o time "
              "above %.2f) at %d of %d points, slower (below %.2f) at %d and tied (within "
              "%.0f%%) at %d; the ratios span %.2f-%.2f. ",
              1.0 + BA_TIE, count[2], n, 1.0 - BA_TIE, count[0], 100.0 * BA_TIE, count[1], lo, hi);
    if (threshold > 0 && broke_at < 0)
        ba_printf(s, "MLA-o won at every point of the grid. ");
    else if (threshold > 0)
        ba_printf(s, "The region where MLA-o wins: every point with hidden >= %d. ", threshold);
    else if (count[2] == 0)
        ba_printf(s, "There is no region where MLA-o wins in this grid. ");
    else
        ba_printf(s, "No hidden size marks a clean boundary: the wins are scattered as listed. ");
    ba_printf(s, "Per hidden size and head shape: ");
    for (i = 0; i < n_rows; i++) {
        char name[96], list[256];
        int first = 1, c, shown = 0, t_lo = 0, t_hi = 0;
        double a_lo = NAN, a_hi = NAN;
        if (rows[i].kind != SS_ATTN_MLA_O) continue;
        for (j = 0; j < i && first; j++)
            if (rows[j].kind == SS_ATTN_MLA_O && ba_same_line(&rows[j], &rows[i])) first = 0;
        if (!first) continue;
        ba_line_name(name, sizeof name, &rows[i], n_scales);
        ba_printf(s, "%s%s: ", n_lines ? "; " : "", name);
        for (c = 1; c >= -1; c--) { /* faster, tied, slower */
            double c_lo = INFINITY, c_hi = -INFINITY;
            int k = ba_seq_list(list, sizeof list, rows, n_rows, i, c, &c_lo, &c_hi);
            if (!k) continue;
            if (c_lo == c_hi)
                ba_printf(s, "%s%s at %s (%.2f)", shown ? ", " : "", cls_word[c + 1], list, c_lo);
            else
                ba_printf(s, "%s%s at %s (%.2f-%.2f)", shown ? ", " : "", cls_word[c + 1], list,
                          c_lo, c_hi);
            shown = 1;
        }
        for (j = i; j < n_rows; j++) /* the ratio at the shortest and the longest seq */
            if (rows[j].kind == SS_ATTN_MLA_O && ba_same_line(&rows[j], &rows[i])) {
                if (!t_lo || rows[j].T < t_lo) t_lo = rows[j].T, a_lo = rows[j].speed_fb;
                if (!t_hi || rows[j].T > t_hi) t_hi = rows[j].T, a_hi = rows[j].speed_fb;
            }
        if (t_hi > t_lo) n_with_seqs++;
        if (t_hi > t_lo && a_hi < a_lo) falling++;
        n_lines++;
    }
    ba_printf(s, ". ");
    if (falling > 0)
        ba_printf(s,
                  "The ratio is lower at the longest sequence than at the shortest on %d of %d "
                  "lines: attention's 4*T*H*Dh FLOPs per token, the same in both variants, dilute "
                  "the output-projection saving as T grows. ",
                  falling, n_with_seqs);
    else if (n_with_seqs > 0)
        ba_printf(s, "On no line is the ratio lower at the longest sequence than at the "
                     "shortest. ");
    ba_printf(s,
              "By the FLOP count MLA-o needs fewer FLOPs than MLA at every point where "
              "Co*(H*Dh + D) < H*Dh*D; here the FLOP ratio MLA/MLA-o spans %.2f-%.2f",
              flo, fhi);
    if (slower_fewer_flops > 0)
        ba_printf(s,
                  ", so at the %d point%s where MLA-o was slower with fewer FLOPs the loss comes "
                  "from costs outside the count (the extra, narrower products and their memory "
                  "traffic, at sizes where a GEMM runs below its peak). ",
                  slower_fewer_flops, slower_fewer_flops == 1 ? "" : "s");
    else
        ba_printf(s, ". ");
    ba_printf(s, "Forward alone, MLA-o was faster at %d of %d points (ratios %.2f-%.2f).\n",
              fwd_faster, n, fwd_lo, fwd_hi);
}

/* The 1, 5 and 15 minute load averages as the kernel writes them, or "unknown" where
   /proc/loadavg is missing (the text is copied, not converted). */
static void ba_loadavg(char *buf, size_t n) {
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128];
    int fields = 0;
    size_t i;
    snprintf(buf, n, "unknown");
    if (!f) return;
    if (fgets(line, sizeof line, f)) {
        for (i = 0; line[i] && line[i] != '\n'; i++)
            if (line[i] == ' ' && ++fields == 3) break;
        line[i] = '\0';
        if (fields >= 2) snprintf(buf, n, "%s", line);
    }
    fclose(f);
}

/* ---- the command ----------------------------------------------------------------------------- */

int bench_attention(int argc, char **argv) {
    tool_opt opts[] = {
        {"--hidden", 1, "hidden sizes D, comma-separated (default 256,1024,4096)", NULL},
        {"--head-dim", 1, "head sizes Dh, heads = D/Dh (default 64)", NULL},
        {"--heads", 1, "head counts H instead, head size = D/H", NULL},
        {"--seq", 1, "sequence lengths T (default 128,512,2048)", NULL},
        {"--latent-scale", 1, "multipliers of the seed's latents D/4, D/8, D/4 (default 1)", NULL},
        {"--tokens", 1, "tokens per point; batch = max(1, tokens/T) (default 2048)", NULL},
        {"--reps", 1, "timed repetitions after one warm-up, median reported (default 3)", NULL},
        {"--threads", 1, "OpenMP threads (default: all processors)", NULL},
        {"--dropout", 1, "attention-probability dropout, 0..0.9 (default 0)", NULL},
        {"--core", 1, "attention core: tiled (the model's, default) or full", NULL},
        {"--out", 1, "directory for attention.md, .csv, .svg (default attention-out)", NULL},
        {"--quick", 0, "a tiny grid and 2 repetitions: a smoke test, not a measurement", NULL},
        {"--help", 0, "this text", NULL},
    };
    enum { O_HIDDEN, O_HEAD_DIM, O_HEADS, O_SEQ, O_SCALE, O_TOKENS, O_REPS, O_THREADS, O_DROPOUT,
           O_CORE, O_OUT, O_QUICK, O_HELP, N_OPTS };
    int hidden[BA_MAX_LIST], heads_or_dims[BA_MAX_LIST], seq[BA_MAX_LIST];
    double scales[BA_MAX_LIST], dropout, total_gflop = 0.0, done = 0.0;
    int n_hidden, n_hd, n_seq, n_scales, tokens, reps, threads = 1, quick, by_heads, n_pos, full;
    int a, b, c, i, n_rows = 0, max_rows, status = 1;
    const char *pos[1], *out_dir;
    char path[1024], load_start[64], load_end[64];
    ss_writer md_w, csv_w;
    ba_sink both, csv;
    ba_row *rows = NULL;
    tool_progress progress;

    memset(&md_w, 0, sizeof md_w), memset(&csv_w, 0, sizeof csv_w);
    if (!tool_parse(BA_CMD, argc, argv, 3, opts, N_OPTS, pos, 0, &n_pos)) return 2;
    if (opts[O_HELP].value) {
        tool_usage(BA_CMD, "[options]", opts, N_OPTS);
        printf("Times one attention layer of each variant, forward and forward+backward, on every\n"
               "point of the grid hidden x head shape x seq x latent scale, and says where MLA-o\n"
               "is faster than MLA. Lists are comma-separated: --hidden 256,1024 --seq 128,512.\n");
        return 0;
    }
    quick = opts[O_QUICK].value != NULL;
    full = opts[O_CORE].value && strcmp(opts[O_CORE].value, "full") == 0;
    if (opts[O_CORE].value && !full && strcmp(opts[O_CORE].value, "tiled") != 0) {
        fprintf(stderr, "ss %s: --core '%s': give tiled or full\n", BA_CMD, opts[O_CORE].value);
        return 2;
    }
    by_heads = opts[O_HEADS].value != NULL;
    if (by_heads && opts[O_HEAD_DIM].value) {
        fprintf(stderr, "ss %s: give --heads or --head-dim, not both\n", BA_CMD);
        return 2;
    }
#ifdef _OPENMP
    threads = omp_get_num_procs();
#endif
    if (!ba_parse_ints(&opts[O_HIDDEN], quick ? "64,128" : "256,1024,4096", 2, 65536, hidden,
                       &n_hidden) ||
        !(by_heads ? ba_parse_ints(&opts[O_HEADS], "", 1, 65536, heads_or_dims, &n_hd)
                   : ba_parse_ints(&opts[O_HEAD_DIM], quick ? "16" : "64", 2, 65536,
                                   heads_or_dims, &n_hd)) ||
        !ba_parse_ints(&opts[O_SEQ], quick ? "32,64" : "128,512,2048", 1, 65536, seq, &n_seq) ||
        !ba_parse_doubles(&opts[O_SCALE], "1", 0.0, 16.0, scales, &n_scales) ||
        !tool_opt_int(&opts[O_TOKENS], quick ? 128 : 2048, 1, 1 << 22, &tokens) ||
        !tool_opt_int(&opts[O_REPS], quick ? 2 : 3, 1, BA_MAX_REPS, &reps) ||
        !tool_opt_int(&opts[O_THREADS], threads, 1, 1024, &threads) ||
        !tool_opt_double(&opts[O_DROPOUT], 0.0, 0.0, 0.9, &dropout))
        return 2;
    /* Every hidden size must split evenly into heads whose size RoPE can turn (even). */
    for (a = 0; a < n_hidden; a++)
        for (b = 0; b < n_hd; b++) {
            int D = hidden[a], x = heads_or_dims[b], Dh = by_heads ? D / x : x;
            if (D % x != 0) {
                fprintf(stderr, "ss %s: %s %d does not divide --hidden %d\n", BA_CMD,
                        by_heads ? "--heads" : "--head-dim", x, D);
                return 2;
            }
            if (!full && Dh > SS_ATT_TILED_DH_MAX) {
                fprintf(stderr, "ss %s: head size %d: the tiled core takes at most %d (--core full "
                        "has no limit)\n", BA_CMD, Dh, SS_ATT_TILED_DH_MAX);
                return 2;
            }
            if (Dh % 2 != 0) {
                fprintf(stderr,
                        "ss %s: --hidden %d with %s %d gives head size %d; it must be even "
                        "(RoPE turns pairs of dims)\n",
                        BA_CMD, D, by_heads ? "--heads" : "--head-dim", x, Dh);
                return 2;
            }
        }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    threads = 1; /* built without -fopenmp: one thread only */
#endif
    out_dir = opts[O_OUT].value ? opts[O_OUT].value : "attention-out";
    if (strlen(out_dir) > sizeof path - 32) {
        fprintf(stderr, "ss %s: --out '%s': path too long\n", BA_CMD, out_dir);
        return 2;
    }
    max_rows = n_hidden * n_hd * n_seq * (1 + 2 * n_scales);
    rows = (ba_row *)malloc((size_t)max_rows * sizeof *rows);
    if (!rows) {
        fprintf(stderr, "ss %s: out of memory for %d result rows\n", BA_CMD, max_rows);
        return 1;
    }
    for (a = 0; a < n_hidden; a++) /* the whole grid's FLOPs, for the progress line's ETA */
        for (b = 0; b < n_hd; b++)
            for (c = 0; c < n_seq; c++) {
                const int D = hidden[a], T = seq[c], Bt = tokens / T > 1 ? tokens / T : 1;
                double f = ba_flop_fwd(SS_ATTN_MHA, D, D, T, 0, 0, 0);
                for (i = 0; i < n_scales; i++) {
                    int Cq, Ckv, Co;
                    ba_latents(D, scales[i], &Cq, &Ckv, &Co);
                    f += ba_flop_fwd(SS_ATTN_MLA, D, D, T, Cq, Ckv, Co) +
                         ba_flop_fwd(SS_ATTN_MLA_O, D, D, T, Cq, Ckv, Co);
                }
                total_gflop += (reps + 1.0) * Bt * T * 3.0 * f / 1e9;
            }
    if (train_mkdir(out_dir) != 0) goto done;
    snprintf(path, sizeof path, "%s/attention.md", out_dir);
    if (ss_writer_init(&md_w, path) != SS_OK) {
        fprintf(stderr, "ss %s: %s\n", BA_CMD, ss_last_error_detail());
        goto done;
    }
    snprintf(path, sizeof path, "%s/attention.csv", out_dir);
    if (ss_writer_init(&csv_w, path) != SS_OK) {
        fprintf(stderr, "ss %s: %s\n", BA_CMD, ss_last_error_detail());
        goto done;
    }
    both.echo = stdout, both.file = &md_w;
    csv.echo = NULL, csv.file = &csv_w;
    ba_loadavg(load_start, sizeof load_start);

    ba_printf(&both, "# ss bench attention%s\n\n",
              quick ? " --quick (a smoke test, not a measurement)" : "");
    ba_printf(&both, "%s; %d thread%s; about %d tokens per point (batch = max(1, %d / seq)); "
                     "times are medians of %d after 1 warm-up; float32.\n",
              ss_build_info(), threads, threads > 1 ? "s" : "", tokens, tokens, reps);
    ba_printf(&both, "Load average at start: %s. On a shared machine the figures are noisy.\n",
              load_start);
    ba_printf(&both,
              "Latents q/kv/o = hidden x (1/4, 1/8, 1/4) x latent scale (the seed's best MLA and "
              "MLA-o configs); RoPE on every head dim; no bias; attention dropout %g; the %s "
              "attention core.\n",
              dropout, full ? "full (T,T)" : "tiled (linear-memory)");
    ba_printf(&both,
              "GFLOP: matrix products only, counted analytically (fwd+bwd = 3 x fwd). MLA-o/MLA "
              "speed: median over repetitions of MLA fwd+bwd time / MLA-o fwd+bwd time in the "
              "same repetition (above 1: MLA-o faster).\n\n");
    ba_table_head(&both);
    fflush(stdout);
    ba_printf(&csv, "hidden,heads,head_dim,seq,batch,tokens,latent_scale,q_latent,kv_latent,"
                    "o_latent,variant,fwd_ms,fwd_bwd_ms,tokens_per_s_fwd,tokens_per_s_fwd_bwd,"
                    "gflop_per_token_fwd,gflop_per_token_fwd_bwd,gflops_fwd,gflops_fwd_bwd,"
                    "mlao_speedup_fwd,mlao_speedup_fwd_bwd,flop_ratio_mla_over_mlao\n");

    tool_progress_init(&progress, "bench attention", total_gflop, "GFLOP");
    for (a = 0; a < n_hidden; a++)
        for (b = 0; b < n_hd; b++)
            for (c = 0; c < n_seq; c++) {
                ss_attn_dims d;
                int first = n_rows;
                memset(&d, 0, sizeof d);
                d.D = hidden[a];
                d.H = by_heads ? heads_or_dims[b] : d.D / heads_or_dims[b];
                d.Dh = d.D / d.H;
                d.Dr = d.Dh;
                d.T = seq[c];
                d.B = tokens / d.T > 1 ? tokens / d.T : 1;
                d.P = d.T;
                d.eps = 1e-6f;
                d.dropout_p = (float)dropout;
                if (!ba_point(&d, full, scales, n_scales, reps, rows, &n_rows, &progress, &done)) {
                    tool_progress_end(&progress);
                    goto done;
                }
                tool_progress_end(&progress);
                for (i = first; i < n_rows; i++) {
                    ba_table_row(&both, &rows[i]);
                    ba_csv_row(&csv, &rows[i]);
                }
                fflush(stdout);
            }
    ba_summary(&both, rows, n_rows, n_scales);
    ba_loadavg(load_end, sizeof load_end);
    ba_printf(&both, "\nLoad average at the end: %s.\n", load_end);
    snprintf(path, sizeof path, "%s/attention.svg", out_dir);
    if (ba_plot(path, rows, n_rows, n_scales) != 0) goto done;
    if (ss_writer_commit(&md_w) != SS_OK || ss_writer_commit(&csv_w) != SS_OK) {
        fprintf(stderr, "ss %s: %s\n", BA_CMD, ss_last_error_detail());
        goto done;
    }
    printf("\nfiles: %s/attention.md, %s/attention.csv, %s/attention.svg\n", out_dir, out_dir,
           out_dir);
    status = 0;
done:
    ss_writer_free(&md_w);
    ss_writer_free(&csv_w);
    free(rows);
    return status;
}
