/* test_train.c - section 8 of subspace.h (training): AdamW against a double-precision reference
   written from the update rule (decay, moments, bias correction, no-decay tensors, the sign
   property of the first step), the learning-rate schedules against SPEC 2.3's formulas, the
   global gradient norm and clipping (NaN and Inf gradients, thread-count determinism), MLM
   masking statistics on 200,000 positions and its extreme options, the text reader (blank lines,
   CRLF, truncation, packing), the GLUE TSV reader and every malformed-file class with its
   source:line detail, slices and padded batches, the token cache (the documented byte layout,
   checked byte by byte, and corrupted files), the sampler, optimizer state files, allocation
   failure at every site of the readers, and a tiny MLM model that memorises one masked batch.
   Expected values come from this file's own formulas and its own word list, never from the
   functions under test. Scratch files go to the current directory under a per-run prefix.
   cc -std=c99 -O2 -o test_train tests/test_train.c -lm && ./test_train */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- a small vocabulary built in memory ---------------------------------------------------- */

static const char *const WORDS[] = {"the",   "cat",  "sat", "on",    "mat", "a",   "dog", "ran",
                                    "fast",  "hello", "world", ".",  ",",   "\"",  "red", "blue",
                                    "green", "big",  "small", "and", "is",  "it"};
#define NWORDS ((int)(sizeof WORDS / sizeof WORDS[0]))
enum { PAD = 0, UNK = 1, CLS = 2, SEP = 3, MASK = 4, FIRST_WORD = 5 };
static ss_tokenizer tok;

static void make_vocab(void) {
    char text[1024];
    size_t n = (size_t)sprintf(text, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    int i;
    for (i = 0; i < NWORDS; i++) n += (size_t)sprintf(text + n, "%s\n", WORDS[i]);
    if (ss_tokenizer_init(&tok, text, n, "test-vocab") != SS_OK) {
        fprintf(stderr, "test: vocabulary: %s\n", ss_last_error_detail());
        exit(2);
    }
    test_true(tok.vocab_size == FIRST_WORD + NWORDS && tok.pad_id == PAD && tok.unk_id == UNK &&
                  tok.cls_id == CLS && tok.sep_id == SEP && tok.mask_id == MASK,
              "setup: the in-memory vocabulary has the expected special ids");
}

/* The id of a word by this file's own list (not the tokenizer's lookup). */
static int wid(const char *w, size_t len) {
    int i;
    for (i = 0; i < NWORDS; i++)
        if (strlen(WORDS[i]) == len && memcmp(WORDS[i], w, len) == 0) return FIRST_WORD + i;
    return UNK;
}

/* Ids of the space-separated words of line[0, len); writes at most cap, returns the count. */
static int words_ids(const char *line, size_t len, int *out, int cap) {
    size_t i = 0;
    int n = 0;
    while (i < len) {
        size_t j;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        if (i >= len) break;
        j = i;
        while (j < len && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') j++;
        if (n < cap) out[n] = wid(line + i, j - i);
        n++;
        i = j;
    }
    return n;
}

/* [CLS] words [SEP] truncated to max_len ids; returns the length. */
static int line_seq(const char *line, int max_len, int *out) {
    int n = words_ids(line, strlen(line), out + 1, max_len - 2);
    if (n > max_len - 2) n = max_len - 2;
    out[0] = CLS;
    out[n + 1] = SEP;
    return n + 2;
}

static int seq_eq(const ss_dataset *ds, int64_t i, const int *want, int n) {
    int64_t k;
    if (i < 0 || i >= ds->count || ds->offsets[i + 1] - ds->offsets[i] != n) return 0;
    for (k = 0; k < n; k++)
        if (ds->tokens[ds->offsets[i] + k] != want[k]) return 0;
    return 1;
}

/* Sequence i of ds equals [CLS] line [SEP] truncated to max_len. */
static int seq_is_line(const ss_dataset *ds, int64_t i, const char *line, int max_len) {
    int want[256];
    int n = line_seq(line, max_len, want);
    return seq_eq(ds, i, want, n);
}

static int ds_zeroed(const ss_dataset *ds) {
    return ds->count == 0 && ds->offsets == NULL && ds->tokens == NULL && ds->labels == NULL &&
           ds->max_len == 0;
}

/* ---- scratch files ---------------------------------------------------------------------- */

static char tmp_prefix[64];

static void make_prefix(void) {
    int local = 0;
    void *addr = &local;
    time_t now = time(NULL);
    clock_t c = clock();
    uint64_t h = 14695981039346656037ull;
    const unsigned char *b;
    size_t i;
    b = (const unsigned char *)&now;
    for (i = 0; i < sizeof now; i++) h = (h ^ b[i]) * 1099511628211ull;
    b = (const unsigned char *)&c;
    for (i = 0; i < sizeof c; i++) h = (h ^ b[i]) * 1099511628211ull;
    b = (const unsigned char *)&addr;
    for (i = 0; i < sizeof addr; i++) h = (h ^ b[i]) * 1099511628211ull;
    snprintf(tmp_prefix, sizeof tmp_prefix, "test_train_%08lx_", (unsigned long)(h & 0xffffffffu));
}

static const char *tmp_path(char *buf, size_t size, const char *base) {
    snprintf(buf, size, "%s%s", tmp_prefix, base);
    return buf;
}

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    unsigned char *d;
    long end;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "test: cannot read %s\n", path);
        exit(2);
    }
    d = (unsigned char *)malloc((size_t)end + 1);
    if (!d || fread(d, 1, (size_t)end, f) != (size_t)end) {
        fprintf(stderr, "test: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *n = (size_t)end;
    return d;
}

static void spit(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n)) {
        fprintf(stderr, "test: cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static uint64_t get_le(const unsigned char *b, int n) {
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static void put_le(unsigned char *b, uint64_t v, int n) {
    int i;
    for (i = 0; i < n; i++) b[i] = (unsigned char)(v >> (8 * i));
}

/* FNV-1a 64, written from its definition (offset basis and prime of the FNV specification). */
static uint64_t fnv1a(const unsigned char *d, size_t n) {
    uint64_t h = 14695981039346656037ull;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= d[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ---- the registries of the optimizer checks ------------------------------------------------ */

static void make_params(ss_params *p, int n, const char *const *names, const int (*shapes)[2],
                        const int *ndims, const unsigned *flags) {
    int i;
    memset(p, 0, sizeof *p);
    for (i = 0; i < n; i++)
        if (ss_params_add(p, names[i], ndims[i], shapes[i], flags[i], NULL) != SS_OK) {
            fprintf(stderr, "test: ss_params_add %s: %s\n", names[i], ss_last_error_detail());
            exit(2);
        }
    if (ss_params_init(p) != SS_OK) {
        fprintf(stderr, "test: ss_params_init: %s\n", ss_last_error_detail());
        exit(2);
    }
}

/* got (float) against want (double): |got - want| <= rtol * scale, where scale is |want| or, when
   given, the magnitude of the terms that made want (float rounding scales with those, not with a
   result that cancels). */
static int check_rel(const char *name, const float *got, const double *want, const double *scale,
                     int n, double rtol) {
    int i, ok = 1, shown = 0;
    double worst = 0.0;
    for (i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]), sc = scale ? scale[i] : fabs(want[i]);
        double rel = sc > 0.0 ? d / sc : d;
        if (rel > worst || rel != rel) worst = rel;
        if (!(d <= rtol * sc)) {
            ok = 0;
            if (shown++ < 4)
                printf("  %s[%d]: got %.10g want %.10g (error %.3g of the scale %.3g)\n", name, i, got[i], want[i], rel, sc);
        }
    }
    test_report(ok, name, worst);
    return ok;
}

/* ---- 1. AdamW -------------------------------------------------------------------------------- */

static void test_adamw(void) {
    static const char *const names[2] = {"dense.weight", "dense.bias"};
    static const int shapes[2][2] = {{2, 3}, {3, 1}}, ndims[2] = {2, 1};
    static const unsigned flags[2] = {0, SS_PARAM_NO_DECAY};
    const double lrs[4] = {1e-2, 2e-2, 1.5e-2, 5e-3}, wd = 0.05;
    ss_params p;
    ss_adamw opt;
    float *P[9], *G[9], *M[9], *V[9], got_p[9], got_m[9], got_v[9];
    double rp[9], rm[9], rv[9], sp[9], sm[9];
    int i, t, iw, ib;
    char name[128];

    make_params(&p, 2, names, shapes, ndims, flags);
    iw = ss_params_find(&p, "dense.weight");
    ib = ss_params_find(&p, "dense.bias");
    for (i = 0; i < 9; i++) {
        size_t off = i < 6 ? p.tensors[iw].offset + (size_t)i : p.tensors[ib].offset + (size_t)(i - 6);
        P[i] = p.param + off, G[i] = p.grad + off, M[i] = p.m + off, V[i] = p.v + off;
    }
    ss_adamw_default(&opt);
    test_true(opt.beta1 == 0.9 && opt.beta2 == 0.999 && opt.eps == 1e-8 && opt.weight_decay == 0.01,
              "adamw: defaults are torch's betas 0.9/0.999, eps 1e-8 and the seed's decay 0.01");
    opt.weight_decay = wd;
    for (i = 0; i < 9; i++) {
        *P[i] = (float)(0.75 - 0.23 * i);
        rp[i] = *P[i], rm[i] = 0.0, rv[i] = 0.0;
        sp[i] = fabs(rp[i]), sm[i] = 0.0;
    }
    for (t = 1; t <= 4; t++) {
        const double lr = lrs[t - 1];
        const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        for (i = 0; i < 9; i++) {
            double g = sin(1.3 * i + 0.7 * t) * (i == 4 ? 1e-3 : i == 7 ? 30.0 : 1.0);
            double gd;
            *G[i] = (float)g;
            gd = *G[i];
            double step;
            if (i < 6) rp[i] *= 1.0 - lr * wd; /* dense.bias (i >= 6) is SS_PARAM_NO_DECAY */
            rm[i] = b1 * rm[i] + (1.0 - b1) * gd;
            rv[i] = b2 * rv[i] + (1.0 - b2) * gd * gd;
            step = lr / (1.0 - pow(b1, t)) * rm[i] / (sqrt(rv[i]) / sqrt(1.0 - pow(b2, t)) + eps);
            rp[i] -= step;
            sm[i] = b1 * sm[i] + (1.0 - b1) * fabs(gd); /* magnitudes: every term counted positive */
            sp[i] = sp[i] + fabs(step);
        }
        ss_adamw_step(&p, &opt, lr, t);
        for (i = 0; i < 9; i++) got_p[i] = *P[i], got_m[i] = *M[i], got_v[i] = *V[i];
        snprintf(name, sizeof name, "adamw: step %d parameters (decay on weight, none on bias) vs double reference, rel 1e-6", t);
        check_rel(name, got_p, rp, sp, 9, 1e-6);
        snprintf(name, sizeof name, "adamw: step %d first moment m vs double reference, rel 1e-6", t);
        check_rel(name, got_m, rm, sm, 9, 1e-6);
        snprintf(name, sizeof name, "adamw: step %d second moment v vs double reference, rel 1e-6", t);
        check_rel(name, got_v, rv, NULL, 9, 1e-6);
    }

    /* Zero gradient and zero moments: only the decoupled decay moves a weight, never a bias. */
    {
        double want[9];
        int bias_same = 1;
        float before[9];
        for (i = 0; i < 9; i++) {
            *G[i] = 0.0f, *M[i] = 0.0f, *V[i] = 0.0f;
            before[i] = *P[i];
            want[i] = i < 6 ? (double)before[i] * (1.0 - 0.1 * wd) : (double)before[i];
        }
        ss_adamw_step(&p, &opt, 0.1, 3);
        for (i = 0; i < 9; i++) got_p[i] = *P[i];
        check_rel("adamw: zero gradient: weights shrink by exactly (1 - lr*wd)", got_p, want, NULL, 6, 1e-6);
        for (i = 6; i < 9; i++) bias_same &= memcmp(&before[i], P[i], sizeof(float)) == 0;
        test_true(bias_same, "adamw: zero gradient: the SS_PARAM_NO_DECAY tensor keeps its bits (no decay)");
    }

    /* t = 1 from zero moments: m^ = g, v^ = g^2, so each weight moves by lr * sign(g) (Adam's
       first step has the size of the learning rate whatever the gradient's scale). */
    {
        const double lr = 0.01;
        const float gs[9] = {3.0f, -2e-3f, 0.5f, -7.0f, 1e-4f, -0.25f, 42.0f, -1.0f, 0.0f};
        float before[9];
        int ok = 1;
        opt.weight_decay = 0.0;
        for (i = 0; i < 9; i++) {
            *P[i] = (float)(0.5 - 0.1 * i);
            before[i] = *P[i];
            *G[i] = gs[i], *M[i] = 0.0f, *V[i] = 0.0f;
        }
        ss_adamw_step(&p, &opt, lr, 1);
        for (i = 0; i < 9; i++) {
            double moved = (double)*P[i] - (double)before[i];
            double want = gs[i] > 0 ? -lr : gs[i] < 0 ? lr : 0.0;
            if (!(fabs(moved - want) <= 1e-3 * lr)) {
                ok = 0;
                printf("  element %d: g %g moved %.9g want %.9g\n", i, gs[i], moved, want);
            }
        }
        test_true(ok, "adamw: first step from zero moments moves each weight by lr*sign(g) (0 for g = 0)");
    }

    /* Never allocates. */
    arm_failure(0);
    ss_adamw_step(&p, &opt, 1e-3, 5);
    test_true(alloc_calls == 0, "adamw: a step allocates nothing");
    arm_failure(-1);
    ss_params_free(&p);
}

/* The vector lanes against the scalar code: a 2500-value tensor (blocks of 1024, lanes and a
   scalar tail) and a 7-value one (fewer than any vector width: scalar in every build) holding
   copies of seven of its values must give the same bits, step after step. */
static void test_adamw_lanes(void) {
    static const char *const names[2] = {"big.weight", "small.weight"};
    static const int shapes[2][2] = {{50, 50}, {7, 1}}, ndims[2] = {2, 1};
    static const unsigned flags[2] = {0, 0};
    static const int pick[7] = {0, 17, 1000, 1500, 2047, 2100, 2499}; /* the last in the tail */
    ss_params p;
    ss_adamw opt;
    float *big, *small;
    int i, t, same = 1;
    make_params(&p, 2, names, shapes, ndims, flags);
    big = p.param + p.tensors[0].offset, small = p.param + p.tensors[1].offset;
    ss_adamw_default(&opt);
    for (i = 0; i < 2500; i++) big[i] = (float)sin(0.37 * i);
    for (i = 0; i < 7; i++) small[i] = big[pick[i]];
    for (t = 1; t <= 3; t++) {
        float *gb = p.grad + p.tensors[0].offset, *gs = p.grad + p.tensors[1].offset;
        for (i = 0; i < 2500; i++) gb[i] = (float)(cos(0.11 * i + t) * (i % 3 ? 1.0 : 1e-3));
        for (i = 0; i < 7; i++) gs[i] = gb[pick[i]];
        ss_adamw_step(&p, &opt, 3e-3, t);
        for (i = 0; i < 7; i++) {
            const size_t ob = p.tensors[0].offset + (size_t)pick[i];
            const size_t os = p.tensors[1].offset + (size_t)i;
            same &= memcmp(p.param + ob, p.param + os, sizeof(float)) == 0 &&
                    memcmp(p.m + ob, p.m + os, sizeof(float)) == 0 &&
                    memcmp(p.v + ob, p.v + os, sizeof(float)) == 0;
        }
    }
    test_true(same, "adamw: the vector lanes give the scalar code's bits (weights, m, v; 3 steps)");
    ss_params_free(&p);
}

/* ---- 2. learning-rate schedules ------------------------------------------------------------ */

static int near(double got, double want) {
    int ok = fabs(got - want) <= 1e-12 * fabs(want) + 1e-18;
    if (!ok) printf("  got %.17g want %.17g\n", got, want);
    return ok;
}

static void test_schedule(void) {
    ss_lr_schedule s;
    const double peak = 5e-4;
    int ok;
    const int64_t warm_steps[] = {1, 2, 2500, 4999};
    const int64_t decay_steps[] = {5000, 5001, 12345, 27500, 49999};
    size_t k;

    /* SPEC 2.3: lr(s) = 5e-4 * s/5000 for s < 5000, 5e-4 * (50000 - s)/45000 after. */
    s.kind = SS_LR_LINEAR, s.peak = peak, s.warmup_steps = 5000, s.total_steps = 50000;
    test_true(ss_lr_at(&s, 0) == 0.0, "lr linear: the first update (step 0) has lr 0");
    ok = 1;
    for (k = 0; k < sizeof warm_steps / sizeof warm_steps[0]; k++)
        ok &= near(ss_lr_at(&s, warm_steps[k]), peak * (double)warm_steps[k] / 5000.0);
    test_true(ok, "lr linear: warmup is 5e-4 * s / 5000 (s = 1, 2, 2500, 4999)");
    test_true(near(ss_lr_at(&s, 5000), peak), "lr linear: the peak at step = warmup");
    ok = 1;
    for (k = 0; k < sizeof decay_steps / sizeof decay_steps[0]; k++)
        ok &= near(ss_lr_at(&s, decay_steps[k]), peak * (double)(50000 - decay_steps[k]) / 45000.0);
    test_true(ok, "lr linear: decay is 5e-4 * (50000 - s) / 45000 (s = 5000 ... 49999)");
    test_true(ss_lr_at(&s, 50000) == 0.0 && ss_lr_at(&s, 60000) == 0.0,
              "lr linear: 0 at total and after it (never negative)");

    s.warmup_steps = 0, s.total_steps = 11367, s.peak = 2e-5;
    test_true(near(ss_lr_at(&s, 0), 2e-5) && near(ss_lr_at(&s, 11366), 2e-5 / 11367.0) &&
                  near(ss_lr_at(&s, 5000), 2e-5 * 6367.0 / 11367.0) && ss_lr_at(&s, 11367) == 0.0,
              "lr linear, warmup 0: full lr at step 0, (total - s)/total after, 0 at total");

    s.kind = SS_LR_COSINE, s.peak = 1e-3, s.warmup_steps = 100, s.total_steps = 1100;
    test_true(ss_lr_at(&s, 0) == 0.0 && near(ss_lr_at(&s, 50), 5e-4) && near(ss_lr_at(&s, 100), 1e-3) &&
                  near(ss_lr_at(&s, 350), 1e-3 * 0.5 * (1.0 + cos(3.14159265358979323846 * 0.25))) &&
                  near(ss_lr_at(&s, 600), 5e-4) &&
                  near(ss_lr_at(&s, 850), 1e-3 * 0.5 * (1.0 + cos(3.14159265358979323846 * 0.75))) &&
                  fabs(ss_lr_at(&s, 1100)) <= 1e-18,
              "lr cosine: warmup, peak, peak*(1+cos(pi*p))/2 at p = 1/4, 1/2, 3/4, 0 at total");
    s.warmup_steps = 0;
    test_true(near(ss_lr_at(&s, 0), 1e-3) && near(ss_lr_at(&s, 550), 5e-4),
              "lr cosine, warmup 0: peak at step 0, half at mid-run");

    s.kind = SS_LR_CONSTANT, s.peak = 3e-4, s.warmup_steps = 0, s.total_steps = 100;
    test_true(ss_lr_at(&s, 0) == 3e-4 && ss_lr_at(&s, 99) == 3e-4 && ss_lr_at(&s, 1000) == 3e-4,
              "lr constant, warmup 0: the peak at every step");
    s.warmup_steps = 10;
    test_true(ss_lr_at(&s, 0) == 0.0 && near(ss_lr_at(&s, 5), 1.5e-4) && ss_lr_at(&s, 10) == 3e-4 &&
                  ss_lr_at(&s, 100000) == 3e-4,
              "lr constant with warmup: linear ramp, then the peak");

    test_true(ss_warmup_steps(0.1, 50000) == 5000, "warmup steps: 0.1 of 50000 is 5000 (the seed's)");
    test_true(ss_warmup_steps(0.1, 11367) == 1137, "warmup steps: 0.1 of 11367 is 1137 (ceil of 1136.7)");
    test_true(ss_warmup_steps(0.0, 11367) == 0, "warmup steps: ratio 0 gives 0");
    {
        const double ratios[] = {0.01, 0.06, 0.07, 0.1, 0.25, 1.0 / 3.0, 0.5};
        const int64_t totals[] = {1, 7, 100, 1000, 11367, 50000};
        size_t a, b;
        ok = 1;
        for (a = 0; a < sizeof ratios / sizeof ratios[0]; a++)
            for (b = 0; b < sizeof totals / sizeof totals[0]; b++) {
                int64_t want = (int64_t)ceil(ratios[a] * (double)totals[b]);
                int64_t got = ss_warmup_steps(ratios[a], totals[b]);
                if (got != want) {
                    ok = 0;
                    printf("  ratio %.17g total %lld: got %lld want %lld\n", ratios[a],
                           (long long)totals[b], (long long)got, (long long)want);
                }
            }
        test_true(ok, "warmup steps: equal to ceil(ratio * total) in double, as HF (42 cases)");
    }
}

/* ---- 3. gradient norm and clipping ------------------------------------------------------- */

static double ref_norm(const ss_params *p) {
    double s = 0.0;
    int k;
    size_t i;
    for (k = 0; k < p->count; k++)
        for (i = 0; i < p->tensors[k].numel; i++) {
            double g = p->grad[p->tensors[k].offset + i];
            s += g * g;
        }
    return sqrt(s);
}

static void test_clip(void) {
    static const char *const names[3] = {"a.weight", "b.bias", "c.weight"};
    static const int shapes[3][2] = {{1000, 1}, {37, 3}, {50, 100}}, ndims[3] = {1, 2, 2};
    static const unsigned flags[3] = {0, SS_PARAM_NO_DECAY, 0};
    ss_params p;
    ss_rng rng;
    float *saved;
    double norm, ref, ret, after, max_norm, scale;
    size_t i;
    int ok;

    make_params(&p, 3, names, shapes, ndims, flags);
    ss_rng_seed(&rng, 77);
    for (i = 0; i < p.numel; i++) p.grad[i] = 0.0f;
    {
        int k;
        for (k = 0; k < p.count; k++)
            test_fill(p.grad + p.tensors[k].offset, p.tensors[k].numel, &rng, -2.0f, 2.0f);
    }
    saved = test_alloc(p.numel);
    memcpy(saved, p.grad, p.numel * sizeof(float));
    ref = ref_norm(&p);
    norm = ss_grad_norm(&p);
    test_true(fabs(norm - ref) <= 1e-12 * ref, "grad norm: equals the double-precision L2 norm of every tensor");

    max_norm = ref / 4.0;
    ret = ss_clip_grad_norm(&p, max_norm);
    after = ref_norm(&p);
    test_true(fabs(ret - ref) <= 1e-12 * ref, "clip: returns the norm before clipping");
    test_true(fabs(after - max_norm) <= 1e-6 * max_norm, "clip: the norm after clipping is max_norm");
    scale = max_norm / (ref + 1e-6);
    ok = 1;
    for (i = 0; i < p.numel; i++) {
        double want = (double)saved[i] * scale;
        if (!(fabs((double)p.grad[i] - want) <= 1e-6 * fabs(want) + 1e-30)) ok = 0;
    }
    test_true(ok, "clip: every gradient scaled by max_norm / (norm + 1e-6)");

    memcpy(p.grad, saved, p.numel * sizeof(float));
    ret = ss_clip_grad_norm(&p, ref * 2.0);
    test_true(fabs(ret - ref) <= 1e-12 * ref && memcmp(p.grad, saved, p.numel * sizeof(float)) == 0,
              "clip: below max_norm nothing changes (bits) and the norm is returned");
    ret = ss_clip_grad_norm(&p, 0.0);
    ok = memcmp(p.grad, saved, p.numel * sizeof(float)) == 0;
    ret = ss_clip_grad_norm(&p, -1.0);
    test_true(ok && memcmp(p.grad, saved, p.numel * sizeof(float)) == 0 && fabs(ret - ref) <= 1e-12 * ref,
              "clip: max_norm <= 0 clips nothing");

    {
        size_t bad = p.tensors[2].offset + 17;
        float keep = p.grad[bad];
        p.grad[bad] = (float)NAN;
        memcpy(saved, p.grad, p.numel * sizeof(float));
        norm = ss_grad_norm(&p);
        ret = ss_clip_grad_norm(&p, 1.0);
        test_true(norm != norm && ret != ret && memcmp(p.grad, saved, p.numel * sizeof(float)) == 0,
                  "clip: a NaN gradient gives a NaN norm and scales nothing");
        p.grad[bad] = (float)INFINITY;
        memcpy(saved, p.grad, p.numel * sizeof(float));
        ret = ss_clip_grad_norm(&p, 1.0);
        test_true(isinf(ret) && memcmp(p.grad, saved, p.numel * sizeof(float)) == 0,
                  "clip: an infinite gradient gives an infinite norm and scales nothing");
        p.grad[bad] = keep;
    }

    arm_failure(0);
    (void)ss_grad_norm(&p);
    (void)ss_clip_grad_norm(&p, 1e-3);
    test_true(alloc_calls == 0, "clip: norm and clipping allocate nothing");
    arm_failure(-1);

#ifdef _OPENMP
    {
        int was = omp_get_max_threads();
        double n1, n2, c1, c2;
        float *g1 = test_alloc(p.numel);
        memcpy(saved, p.grad, p.numel * sizeof(float));
        omp_set_num_threads(1);
        n1 = ss_grad_norm(&p);
        c1 = ss_clip_grad_norm(&p, n1 / 3.0);
        memcpy(g1, p.grad, p.numel * sizeof(float));
        memcpy(p.grad, saved, p.numel * sizeof(float));
        omp_set_num_threads(2);
        n2 = ss_grad_norm(&p);
        c2 = ss_clip_grad_norm(&p, n2 / 3.0);
        omp_set_num_threads(was);
        test_true(memcmp(&n1, &n2, sizeof n1) == 0 && memcmp(&c1, &c2, sizeof c1) == 0 &&
                      memcmp(g1, p.grad, p.numel * sizeof(float)) == 0,
                  "grad norm: the same bits with 1 and 2 OpenMP threads (and clipped gradients too)");
        free(g1);
    }
#endif
    free(saved);
    ss_params_free(&p);
}

/* ---- 4. MLM masking -------------------------------------------------------------------------- */

#define MLM_N 200000
#define MLM_V 1000
static int mlm_ids0[MLM_N], mlm_ids[MLM_N], mlm_tg[MLM_N], mlm_km[MLM_N], mlm_ids2[MLM_N], mlm_tg2[MLM_N];

static void mlm_opts(ss_mlm_options *o) {
    int k;
    memset(o, 0, sizeof *o);
    o->probability = 0.15, o->mask_ratio = 0.8, o->random_ratio = 0.1;
    o->mask_id = MASK, o->vocab_size = MLM_V;
    for (k = 0; k < 5; k++) o->special_ids[k] = k; /* PAD UNK CLS SEP MASK are 0..4 */
    o->n_special = 5;
}

static void test_mlm(void) {
    ss_mlm_options o, d;
    ss_rng rng, rng_copy;
    size_t sel, i;
    long eligible = 0, nsel = 0, nmask = 0, nkeep = 0, nrand = 0, rand_special = 0;
    long bad_special = 0, bad_unsel = 0, bad_target = 0, bad_range = 0, nspecial_in = 0, npad = 0;
    int rand_min = MLM_V, rand_max = -1;
    double sum_rand = 0.0;
    char name[200];

    ss_mlm_options_default(&d, &tok);
    {
        int found[5] = {0, 0, 0, 0, 0}, k;
        for (k = 0; k < d.n_special; k++)
            if (d.special_ids[k] >= 0 && d.special_ids[k] < 5) found[d.special_ids[k]] = 1;
        test_true(d.probability == 0.15 && d.mask_ratio == 0.8 && d.random_ratio == 0.1 &&
                      d.mask_id == MASK && d.vocab_size == tok.vocab_size && d.n_special == 5 &&
                      found[0] && found[1] && found[2] && found[3] && found[4],
                  "mlm: default options are 0.15/0.8/0.1 with the tokenizer's five special ids");
    }

    ss_rng_seed(&rng, 4242);
    for (i = 0; i < MLM_N; i++) {
        uint32_t r = ss_rng_u32(&rng) % 1000u;
        mlm_ids0[i] = r < 30 ? (int)(r % 5u) : FIRST_WORD + (int)(ss_rng_u32(&rng) % (uint32_t)(MLM_V - FIRST_WORD));
        mlm_km[i] = ss_rng_u32(&rng) % 100u >= 5u; /* 5% padding (with ordinary ids under it) */
    }
    memcpy(mlm_ids, mlm_ids0, sizeof mlm_ids);
    mlm_opts(&o);
    ss_rng_seed(&rng, 2024);
    rng_copy = rng;
    sel = ss_mlm_mask(&o, &rng, mlm_ids, mlm_tg, mlm_km, MLM_N);
    for (i = 0; i < MLM_N; i++) {
        int special = mlm_ids0[i] < 5;
        if (special || !mlm_km[i]) {
            nspecial_in += special;
            npad += !mlm_km[i];
            if (mlm_tg[i] != SS_IGNORE_INDEX || mlm_ids[i] != mlm_ids0[i]) bad_special++;
            continue;
        }
        eligible++;
        if (mlm_tg[i] == SS_IGNORE_INDEX) {
            if (mlm_ids[i] != mlm_ids0[i]) bad_unsel++;
            continue;
        }
        if (mlm_tg[i] != mlm_ids0[i]) bad_target++;
        nsel++;
        if (mlm_ids[i] < 0 || mlm_ids[i] >= MLM_V) bad_range++;
        if (mlm_ids[i] == MASK) {
            nmask++;
        } else if (mlm_ids[i] == mlm_ids0[i]) {
            nkeep++;
        } else {
            nrand++;
            sum_rand += mlm_ids[i];
            rand_special += mlm_ids[i] < 5;
            if (mlm_ids[i] < rand_min) rand_min = mlm_ids[i];
            if (mlm_ids[i] > rand_max) rand_max = mlm_ids[i];
        }
    }
    test_true(nspecial_in > 3000 && npad > 5000 && bad_special == 0,
              "mlm: special ids and padding are never selected (target -100, id unchanged)");
    test_true(bad_unsel == 0, "mlm: unselected positions keep their id (target -100)");
    test_true(bad_target == 0, "mlm: selected positions have their original id as target");
    test_true((long)sel == nsel, "mlm: returns the number of selected positions");
    {
        double rate = (double)nsel / (double)eligible;
        snprintf(name, sizeof name, "mlm: selection rate %.4f of %ld eligible is 0.15 +- 0.005", rate, eligible);
        test_true(fabs(rate - 0.15) <= 0.005, name);
    }
    {
        /* A random draw hits the original id or mask_id with probability 1/V each: those land in
           "unchanged" and "mask". */
        const double pm = 0.8 + 0.1 / MLM_V, pr = 0.1 * (1.0 - 2.0 / MLM_V), pk = 0.1 + 0.1 / MLM_V;
        double fm = (double)nmask / (double)nsel, fr = (double)nrand / (double)nsel, fk = (double)nkeep / (double)nsel;
        snprintf(name, sizeof name, "mlm: of the selected %.4f mask, %.4f random, %.4f unchanged (80/10/10 +- 0.01)", fm, fr, fk);
        test_true(fabs(fm - pm) <= 0.01 && fabs(fr - pr) <= 0.01 && fabs(fk - pk) <= 0.01, name);
    }
    /* ~2850 random draws: none below 5 or none above V - 6 has probability 0.995^2850 < 1e-6. */
    test_true(bad_range == 0 && rand_special > 0 && rand_min < 5 && rand_max >= MLM_V - 5 &&
                  fabs(sum_rand / (double)nrand - (MLM_V - 1) / 2.0) <= 0.05 * MLM_V,
              "mlm: random ids are uniform over [0, vocab_size), both ends and special ids included");
    {
        /* Bernoulli per position, not a fixed share: counts over blocks of 20 eligible positions
           have the binomial variance 20 * 0.15 * 0.85 = 2.55. */
        long blocks = 0, in_block = 0, count = 0;
        double s = 0.0, s2 = 0.0, mean, var;
        for (i = 0; i < MLM_N; i++) {
            if (mlm_ids0[i] < 5 || !mlm_km[i]) continue;
            count += mlm_tg[i] != SS_IGNORE_INDEX;
            if (++in_block == 20) {
                s += (double)count, s2 += (double)count * count;
                blocks++, in_block = 0, count = 0;
            }
        }
        mean = s / blocks;
        var = s2 / blocks - mean * mean;
        snprintf(name, sizeof name, "mlm: independent selection (variance %.3f per 20 positions, binomial 2.55)", var);
        test_true(var > 2.2 && var < 2.9, name);
    }

    memcpy(mlm_ids2, mlm_ids0, sizeof mlm_ids2);
    arm_failure(0);
    (void)ss_mlm_mask(&o, &rng_copy, mlm_ids2, mlm_tg2, mlm_km, MLM_N);
    test_true(alloc_calls == 0, "mlm: masking allocates nothing");
    arm_failure(-1);
    test_true(memcmp(mlm_ids2, mlm_ids, sizeof mlm_ids) == 0 && memcmp(mlm_tg2, mlm_tg, sizeof mlm_tg) == 0,
              "mlm: the same rng state gives the same ids and targets");
    memcpy(mlm_ids2, mlm_ids0, sizeof mlm_ids2);
    ss_rng_seed(&rng, 2025);
    (void)ss_mlm_mask(&o, &rng, mlm_ids2, mlm_tg2, mlm_km, MLM_N);
    test_true(memcmp(mlm_tg2, mlm_tg, sizeof mlm_tg) != 0, "mlm: another seed gives another mask");

    /* Extreme options, key_mask NULL (every position real; [PAD] excluded as a special id). */
    {
        enum { N = 4000 };
        static int a[N], t[N];
        int ok_all = 1, ok_none = 1, ok_keep = 1, ok_rand = 1;
        long rand_changed = 0, real = 0;
        size_t got_all, got_none, got_keep;
        for (i = 0; i < N; i++) a[i] = (int)(i % 50 == 0 ? PAD : i % 50 == 1 ? CLS : FIRST_WORD + (int)(i % 900));
        o.probability = 1.0, o.mask_ratio = 1.0, o.random_ratio = 0.0;
        ss_rng_seed(&rng, 1);
        got_all = ss_mlm_mask(&o, &rng, a, t, NULL, N);
        for (i = 0; i < N; i++) {
            int orig = (int)(i % 50 == 0 ? PAD : i % 50 == 1 ? CLS : FIRST_WORD + (int)(i % 900));
            int sp = i % 50 <= 1;
            real += !sp;
            if (sp ? (a[i] != orig || t[i] != SS_IGNORE_INDEX) : (a[i] != MASK || t[i] != orig)) ok_all = 0;
            a[i] = orig;
        }
        test_true(ok_all && (long)got_all == real,
                  "mlm: probability 1, mask 1, key_mask NULL: every non-special id becomes [MASK]");
        o.probability = 0.0;
        got_none = ss_mlm_mask(&o, &rng, a, t, NULL, N);
        for (i = 0; i < N; i++)
            if (t[i] != SS_IGNORE_INDEX || a[i] != (int)(i % 50 == 0 ? PAD : i % 50 == 1 ? CLS : FIRST_WORD + (int)(i % 900))) ok_none = 0;
        test_true(ok_none && got_none == 0, "mlm: probability 0 selects nothing");
        o.probability = 1.0, o.mask_ratio = 0.0, o.random_ratio = 0.0;
        got_keep = ss_mlm_mask(&o, &rng, a, t, NULL, N);
        for (i = 0; i < N; i++) {
            int orig = (int)(i % 50 == 0 ? PAD : i % 50 == 1 ? CLS : FIRST_WORD + (int)(i % 900));
            if (a[i] != orig || (i % 50 > 1 && t[i] != orig)) ok_keep = 0;
        }
        test_true(ok_keep && (long)got_keep == real, "mlm: mask 0, random 0: selected ids stay, targets set");
        o.mask_ratio = 0.0, o.random_ratio = 1.0;
        (void)ss_mlm_mask(&o, &rng, a, t, NULL, N);
        for (i = 0; i < N; i++) {
            int orig = (int)(i % 50 == 0 ? PAD : i % 50 == 1 ? CLS : FIRST_WORD + (int)(i % 900));
            if (i % 50 <= 1) continue;
            if (a[i] < 0 || a[i] >= MLM_V || t[i] != orig) ok_rand = 0;
            rand_changed += a[i] != orig;
        }
        test_true(ok_rand && rand_changed > (long)(0.99 * (double)real),
                  "mlm: random 1: selected ids replaced by ids in [0, V)");
    }
}

/* ---- 5. the text reader ------------------------------------------------------------------- */

static void test_text(void) {
    ss_dataset ds;
    ss_result r;
    const char *text = "the cat sat\nhello world\r\n\n   \t \r\n\r\n\t\na dog ran fast\nthe mat";
    int ok;

    r = ss_dataset_from_text(&ds, &tok, text, strlen(text), "lines.txt", 16, 0);
    test_true(r == SS_OK && ds.count == 4 && seq_is_line(&ds, 0, "the cat sat", 16) &&
                  seq_is_line(&ds, 1, "hello world", 16) && seq_is_line(&ds, 2, "a dog ran fast", 16) &&
                  seq_is_line(&ds, 3, "the mat", 16) && ds.labels == NULL && ds.max_len == 6 &&
                  ds.offsets[0] == 0 && ds.offsets[4] == 5 + 4 + 6 + 4,
              "text: one [CLS] ... [SEP] per non-blank line; blank, whitespace-only and \"\\r\\n\" lines skipped");
    ss_dataset_free(&ds);
    test_true(ds_zeroed(&ds), "text: ss_dataset_free leaves the struct zeroed");
    ss_dataset_free(&ds); /* safe on a zeroed struct */

    {
        const char *lf = "hello world\nthe cat\n", *crlf = "hello world\r\nthe cat\r\n";
        ss_dataset a, b;
        ss_result ra = ss_dataset_from_text(&a, &tok, lf, strlen(lf), NULL, 8, 0);
        ss_result rb = ss_dataset_from_text(&b, &tok, crlf, strlen(crlf), NULL, 8, 0);
        test_true(ra == SS_OK && rb == SS_OK && a.count == 2 && b.count == 2 &&
                      a.offsets[2] == b.offsets[2] && memcmp(a.tokens, b.tokens, (size_t)a.offsets[2] * 4) == 0 &&
                      seq_is_line(&b, 1, "the cat", 8),
                  "text: \"\\r\\n\" line ends read as \"\\n\"");
        ss_dataset_free(&a);
        ss_dataset_free(&b);
    }

    {
        const char *lng = "a big red dog ran fast and it is small\n";
        r = ss_dataset_from_text(&ds, &tok, lng, strlen(lng), NULL, 6, 0);
        test_true(r == SS_OK && ds.count == 1 && seq_is_line(&ds, 0, "a big red dog", 6) && ds.max_len == 6,
                  "text: a long line is truncated to max_len ids, [CLS] and [SEP] included");
        ss_dataset_free(&ds);
        r = ss_dataset_from_text(&ds, &tok, lng, strlen(lng), NULL, 3, 0);
        test_true(r == SS_OK && ds.count == 1 && seq_is_line(&ds, 0, "a", 3),
                  "text: max_len 3 keeps one token");
        ss_dataset_free(&ds);
        ds.count = 77, ds.max_len = 5;
        r = ss_dataset_from_text(&ds, &tok, lng, strlen(lng), "short.txt", 2, 0);
        test_true(r == SS_ERR_INVALID && ds_zeroed(&ds) && detail_has("short.txt"),
                  "text: max_len 2 is rejected with SS_ERR_INVALID, struct zeroed");
        r = ss_dataset_from_text(&ds, &tok, lng, strlen(lng), NULL, 2, 1);
        test_true(r == SS_ERR_INVALID && ds_zeroed(&ds), "text: max_len 2 is rejected in pack mode too");
    }

    {
        const char *blank = "\n   \n\t\r\n\r\n  \t";
        ds.count = 3;
        r = ss_dataset_from_text(&ds, &tok, blank, strlen(blank), "blank.txt", 16, 0);
        test_true(r == SS_ERR_FORMAT && ds_zeroed(&ds) && detail_has("blank.txt") && detail_has("no non-empty line"),
                  "text: an all-blank file is SS_ERR_FORMAT \"<source>: no non-empty line\"");
        r = ss_dataset_from_text(&ds, &tok, blank, strlen(blank), "blank.txt", 16, 1);
        test_true(r == SS_ERR_FORMAT && ds_zeroed(&ds), "text: an all-blank file is SS_ERR_FORMAT in pack mode too");
        r = ss_dataset_from_text(&ds, &tok, "", 0, NULL, 16, 0);
        test_true(r == SS_ERR_FORMAT && ds_zeroed(&ds) && detail_has("text"),
                  "text: an empty input is SS_ERR_FORMAT, named \"text\" without a source");
    }

    /* Pack: the lines' tokens in order, max_len - 2 of them between [CLS] and [SEP]. */
    {
        const char *lines[] = {"the cat sat on the mat", "hello world", "   ", "a big red dog ran fast and it is small",
                               "green", "", "blue , the dog . it ran"};
        char packed[512];
        int want[128], nwant = 0, got[128], ngot = 0, max_len = 6;
        size_t k, n = 0;
        int64_t s;
        int shape_ok = 1;
        for (k = 0; k < sizeof lines / sizeof lines[0]; k++) {
            n += (size_t)sprintf(packed + n, "%s%s", lines[k], k % 2 ? "\r\n" : "\n");
            nwant += words_ids(lines[k], strlen(lines[k]), want + nwant, 128 - nwant);
        }
        r = ss_dataset_from_text(&ds, &tok, packed, n, "pack.txt", max_len, 1);
        for (s = 0; r == SS_OK && s < ds.count; s++) {
            int64_t a = ds.offsets[s], b = ds.offsets[s + 1], j;
            if (b - a < 3 || (s + 1 < ds.count && b - a != max_len) || b - a > max_len || ds.tokens[a] != CLS ||
                ds.tokens[b - 1] != SEP)
                shape_ok = 0;
            for (j = a + 1; j < b - 1; j++) {
                if (ds.tokens[j] == CLS || ds.tokens[j] == SEP) shape_ok = 0;
                if (ngot < 128) got[ngot++] = ds.tokens[j];
            }
        }
        test_true(r == SS_OK && shape_ok && ds.count == (nwant + max_len - 3) / (max_len - 2) && ds.max_len == max_len,
                  "pack: full sequences of max_len ids, each [CLS] ... [SEP], the last one shorter");
        test_true(r == SS_OK && ngot == nwant && memcmp(got, want, (size_t)nwant * sizeof(int)) == 0,
                  "pack: the pieces between the specials are all lines' tokens, in order");
        ss_dataset_free(&ds);
    }
    {
        const char *exact = "the cat sat on\nthe mat hello world\n";
        int w1[6] = {CLS, 0, 0, 0, 0, SEP}, w2[6] = {CLS, 0, 0, 0, 0, SEP};
        words_ids("the cat sat on", 14, w1 + 1, 4);
        words_ids("the mat hello world", 19, w2 + 1, 4);
        r = ss_dataset_from_text(&ds, &tok, exact, strlen(exact), NULL, 6, 1);
        test_true(r == SS_OK && ds.count == 2 && seq_eq(&ds, 0, w1, 6) && seq_eq(&ds, 1, w2, 6),
                  "pack: tokens filling the last sequence exactly leave no [CLS] [SEP] stub");
        ss_dataset_free(&ds);
        r = ss_dataset_from_text(&ds, &tok, "the cat\nsat", 11, NULL, 3, 1);
        {
            int a[3] = {CLS, FIRST_WORD + 0, SEP}, b[3] = {CLS, FIRST_WORD + 1, SEP}, c[3] = {CLS, FIRST_WORD + 2, SEP};
            test_true(r == SS_OK && ds.count == 3 && seq_eq(&ds, 0, a, 3) && seq_eq(&ds, 1, b, 3) && seq_eq(&ds, 2, c, 3),
                      "pack: max_len 3 gives one token per sequence");
        }
        ss_dataset_free(&ds);
    }

    /* From a file: the same data set; errors name the path; a missing file is SS_ERR_IO. */
    {
        char path[128], missing[128];
        ss_dataset a;
        tmp_path(path, sizeof path, "lines.txt");
        spit(path, text, strlen(text));
        r = ss_dataset_read_text(&ds, &tok, path, 16, 0);
        ss_dataset_from_text(&a, &tok, text, strlen(text), NULL, 16, 0);
        ok = r == SS_OK && ds.count == a.count && ds.offsets[ds.count] == a.offsets[a.count] &&
             memcmp(ds.tokens, a.tokens, (size_t)a.offsets[a.count] * 4) == 0;
        test_true(ok, "text: ss_dataset_read_text reads the same data set from a file");
        ss_dataset_free(&ds);
        ss_dataset_free(&a);
        spit(path, "\n \n", 3);
        r = ss_dataset_read_text(&ds, &tok, path, 16, 0);
        test_true(r == SS_ERR_FORMAT && detail_has(path) && ds_zeroed(&ds), "text: a file's errors name its path");
        remove(path);
        tmp_path(missing, sizeof missing, "no_such_file.txt");
        r = ss_dataset_read_text(&ds, &tok, missing, 16, 0);
        test_true(r == SS_ERR_IO && detail_has(missing) && ds_zeroed(&ds), "text: a missing file is SS_ERR_IO naming it");
    }
}

/* ---- 6. the TSV reader ------------------------------------------------------------------------ */

/* Expect SS_ERR_FORMAT with every needle in the detail. */
static void tsv_bad(const char *name, const char *text, int num_labels, const char *n1, const char *n2) {
    ss_dataset ds;
    ss_result r;
    int ok;
    ds.count = 5;
    r = ss_dataset_from_tsv(&ds, &tok, text, strlen(text), "sst.tsv", 16, num_labels);
    ok = r == SS_ERR_FORMAT && ds_zeroed(&ds) && (!n1 || detail_has(n1)) && (!n2 || detail_has(n2));
    if (!ok && r == SS_OK) printf("  accepted: %lld rows, last label %.9g\n", (long long)ds.count, ds.labels ? ds.labels[ds.count - 1] : 0.0f);
    else if (!ok) printf("  result %d, detail \"%s\"\n", (int)r, ss_last_error_detail());
    test_true(ok, name);
    if (r == SS_OK) ss_dataset_free(&ds);
}

static void test_tsv(void) {
    ss_dataset ds;
    ss_result r;

    {
        const char *text = "idx\tlabel\tjunk\tsentence\n"
                           "0\t1\tx\tthe cat sat\n"
                           "1\t0\t\"q\tthe dog ran fast\n"
                           "2\t1\t\ta big red cat sat on the mat\n";
        r = ss_dataset_from_tsv(&ds, &tok, text, strlen(text), "sst.tsv", 6, 2);
        test_true(r == SS_OK && ds.count == 3 && ds.labels && ds.labels[0] == 1.0f && ds.labels[1] == 0.0f &&
                      ds.labels[2] == 1.0f && seq_is_line(&ds, 0, "the cat sat", 6) &&
                      seq_is_line(&ds, 1, "the dog ran fast", 6) && seq_is_line(&ds, 2, "a big red cat", 6) &&
                      ds.max_len == 6,
                  "tsv: columns found by name in any order, extras ignored, labels read, long rows truncated");
        ss_dataset_free(&ds);
    }
    {
        const char *text = "sentence\tlabel\r\nthe cat\t1\r\nhello world .\t0\r\n";
        int w[5] = {CLS, 0, 0, 0, SEP};
        words_ids("hello world .", 13, w + 1, 3);
        r = ss_dataset_from_tsv(&ds, &tok, text, strlen(text), "crlf.tsv", 16, 2);
        test_true(r == SS_OK && ds.count == 2 && ds.labels[0] == 1.0f && ds.labels[1] == 0.0f &&
                      seq_is_line(&ds, 0, "the cat", 16) && seq_eq(&ds, 1, w, 5),
                  "tsv: a CRLF file (header \"label\\r\" and labels \"1\\r\" read without the \\r)");
        ss_dataset_free(&ds);
    }
    {
        const char *text = "sentence\tlabel\n\"the cat\"\t1\n";
        int w[6] = {CLS, 0, FIRST_WORD + 0, FIRST_WORD + 1, 0, SEP};
        w[1] = w[4] = wid("\"", 1);
        r = ss_dataset_from_tsv(&ds, &tok, text, strlen(text), NULL, 16, 2);
        test_true(r == SS_OK && ds.count == 1 && seq_eq(&ds, 0, w, 6), "tsv: quotes are text (quoting off)");
        ss_dataset_free(&ds);
        tsv_bad("tsv: a quoted tab still splits fields (wrong field count on line 2)",
                "sentence\tlabel\n\"the\tcat\"\t1\n", 2, "sst.tsv:2", NULL);
    }
    {
        const char *text = "sentence\tlabel\nthe cat\t1\nthe dog\t2\n";
        r = ss_dataset_from_tsv(&ds, &tok, text, strlen(text), NULL, 16, 3);
        test_true(r == SS_OK && ds.count == 2 && ds.labels[1] == 2.0f, "tsv: label 2 is valid with num_labels 3");
        ss_dataset_free(&ds);
    }
    {
        const char *one = "sentence\tlabel\nthe cat\t1\n\n", *none = "sentence\tlabel\nthe cat\t1";
        r = ss_dataset_from_tsv(&ds, &tok, one, strlen(one), NULL, 16, 2);
        test_true(r == SS_OK && ds.count == 1, "tsv: one final empty line is allowed");
        ss_dataset_free(&ds);
        r = ss_dataset_from_tsv(&ds, &tok, none, strlen(none), NULL, 16, 2);
        test_true(r == SS_OK && ds.count == 1 && ds.labels[0] == 1.0f, "tsv: a last row without a line end");
        ss_dataset_free(&ds);
    }
    {
        const char *text = "label\tsentence\n3.5\tthe cat\n-0.25\tthe dog\n1e-3\ta cat\n";
        r = ss_dataset_from_tsv(&ds, &tok, text, strlen(text), NULL, 16, 1);
        test_true(r == SS_OK && ds.count == 3 && ds.labels[0] == 3.5f && ds.labels[1] == -0.25f &&
                      ds.labels[2] == (float)1e-3,
                  "tsv: regression (num_labels 1) reads decimal labels");
        ss_dataset_free(&ds);
    }

    tsv_bad("tsv: header without 'label' -> sst.tsv:1", "sentence\tlbl\nthe cat\t1\n", 2, "sst.tsv:1", NULL);
    tsv_bad("tsv: header without 'sentence' -> sst.tsv:1", "label\tidx\n1\t0\n", 2, "sst.tsv:1", NULL);
    tsv_bad("tsv: a row with an extra field -> sst.tsv:3", "sentence\tlabel\nthe cat\t1\nthe dog\t0\tx\n", 2, "sst.tsv:3", NULL);
    tsv_bad("tsv: a row with a missing field -> sst.tsv:3", "sentence\tlabel\nthe cat\t1\nthe dog\n", 2, "sst.tsv:3", NULL);
    tsv_bad("tsv: an empty label -> sst.tsv:2", "sentence\tlabel\nthe cat\t\n", 2, "sst.tsv:2", NULL);
    tsv_bad("tsv: a non-integer label -> sst.tsv:2 naming it", "sentence\tlabel\nthe cat\tpositive\n", 2, "sst.tsv:2", "positive");
    tsv_bad("tsv: label '1.0' is not an integer -> sst.tsv:3", "sentence\tlabel\nthe dog\t0\nthe cat\t1.0\n", 2, "sst.tsv:3", "1.0");
    tsv_bad("tsv: label ' 1' (space) -> sst.tsv:2", "sentence\tlabel\nthe cat\t 1\n", 2, "sst.tsv:2", NULL);
    tsv_bad("tsv: label 2 out of range with 2 labels -> sst.tsv:4", "sentence\tlabel\na\t0\nthe\t1\nthe cat\t2\n", 2, "sst.tsv:4", NULL);
    tsv_bad("tsv: a huge label -> sst.tsv:2", "sentence\tlabel\nthe cat\t99999999999999999999999\n", 2, "sst.tsv:2", NULL);
    tsv_bad("tsv: a negative label -> sst.tsv:2", "sentence\tlabel\nthe cat\t-1\n", 2, "sst.tsv:2", "-1");
    tsv_bad("tsv: an empty line in the middle -> sst.tsv:3", "sentence\tlabel\nthe cat\t1\n\nthe dog\t0\n", 2, "sst.tsv:3", NULL);
    tsv_bad("tsv: an empty CRLF line in the middle -> sst.tsv:3", "sentence\tlabel\r\nthe cat\t1\r\n\r\nthe dog\t0\r\n", 2, "sst.tsv:3", NULL);
    tsv_bad("tsv: two empty lines at the end -> sst.tsv:3", "sentence\tlabel\nthe cat\t1\n\n\n", 2, "sst.tsv:3", NULL);
    tsv_bad("tsv: an empty file", "", 2, "sst.tsv", NULL);
    tsv_bad("tsv: regression rejects 'nan' -> sst.tsv:2", "sentence\tlabel\nthe cat\tnan\n", 1, "sst.tsv:2", "nan");
    tsv_bad("tsv: regression rejects 'abc' -> sst.tsv:3", "sentence\tlabel\nthe cat\t1\nthe dog\tabc\n", 1, "sst.tsv:3", "abc");
    tsv_bad("tsv: regression rejects 'inf' -> sst.tsv:2", "sentence\tlabel\nthe cat\tinf\n", 1, "sst.tsv:2", NULL);
    tsv_bad("tsv: regression rejects an empty label -> sst.tsv:2", "sentence\tlabel\nthe cat\t\n", 1, "sst.tsv:2", NULL);
    tsv_bad("tsv: regression rejects '3.5x' -> sst.tsv:2", "sentence\tlabel\nthe cat\t3.5x\n", 1, "sst.tsv:2", NULL);
    /* 1e39 is finite as text but not as the float label it would be stored as. */
    tsv_bad("tsv: regression rejects '1e39' (not finite as a float label) -> sst.tsv:2",
            "sentence\tlabel\nthe cat\t1e39\n", 1, "sst.tsv:2", NULL);
    {   /* fuzz finding: strtod stopped at a NUL byte and "1\0xyz" was read as the label 1 */
        static const char nul[] = "sentence\tlabel\nthe cat\t1\0xyz\n";
        ds.count = 5;
        r = ss_dataset_from_tsv(&ds, &tok, nul, sizeof nul - 1, "sst.tsv", 16, 1);
        test_true(r == SS_ERR_FORMAT && ds_zeroed(&ds) && detail_has("sst.tsv:2"),
                  "tsv: regression rejects a label with a NUL byte inside -> sst.tsv:2");
        if (r == SS_OK) ss_dataset_free(&ds);
    }
    r = ss_dataset_from_tsv(&ds, &tok, "sentence\tlabel\na\t0\n", 19, NULL, 16, 0);
    test_true(r == SS_ERR_INVALID && ds_zeroed(&ds), "tsv: num_labels 0 is SS_ERR_INVALID");
    {
        char path[128];
        const char *bad = "sentence\tlabel\nthe cat\t1\nthe dog\tx\n";
        tmp_path(path, sizeof path, "bad.tsv");
        spit(path, bad, strlen(bad));
        r = ss_dataset_read_tsv(&ds, &tok, path, 16, 2);
        {
            char where[160];
            snprintf(where, sizeof where, "%s:3", path);
            test_true(r == SS_ERR_FORMAT && detail_has(where) && ds_zeroed(&ds), "tsv: a file's errors name path:line");
        }
        remove(path);
    }
}

/* ---- 7. slices and batches ------------------------------------------------------------------ */

static const char *const BATCH_LINES[] = {"the cat sat on the mat", "hello", "a big red dog ran fast and it is small",
                                          "the dog ran", "green blue"};

static void test_slice_batch(void) {
    ss_dataset src, ds, tsv;
    ss_result r;
    char text[512];
    size_t n = 0, k;
    int ok;
    const int NL = (int)(sizeof BATCH_LINES / sizeof BATCH_LINES[0]);

    for (k = 0; k < (size_t)NL; k++) n += (size_t)sprintf(text + n, "%s\n", BATCH_LINES[k]);
    if (ss_dataset_from_text(&src, &tok, text, n, NULL, 32, 0) != SS_OK || src.count != NL) {
        test_true(0, "slice: source data set");
        return;
    }
    r = ss_dataset_slice(&ds, &src, 1, 3);
    ok = r == SS_OK && ds.count == 3 && ds.offsets[0] == 0 && ds.labels == NULL;
    for (k = 0; ok && k < 3; k++) ok = seq_is_line(&ds, (int64_t)k, BATCH_LINES[k + 1], 32);
    test_true(ok && ds.max_len == 12, "slice: sequences [1, 4) copied, offsets from 0, max_len of the slice");
    ss_dataset_free(&ds);
    r = ss_dataset_slice(&ds, &src, 0, NL);
    ok = r == SS_OK && ds.count == NL && memcmp(ds.offsets, src.offsets, (size_t)(NL + 1) * 8) == 0 &&
         memcmp(ds.tokens, src.tokens, (size_t)src.offsets[NL] * 4) == 0 && ds.max_len == src.max_len;
    test_true(ok, "slice: the whole range is a copy");
    ss_dataset_free(&ds);
    r = ss_dataset_slice(&ds, &src, 4, 1);
    test_true(r == SS_OK && ds.count == 1 && seq_is_line(&ds, 0, BATCH_LINES[4], 32) && ds.max_len == 4,
              "slice: the last sequence alone");
    ss_dataset_free(&ds);
    r = ss_dataset_slice(&ds, &src, NL, 0);
    test_true(r == SS_OK && ds.count == 0, "slice: an empty range at the end is an empty data set");
    ss_dataset_free(&ds);
    {
        const int64_t bad[][2] = {{-1, 2}, {0, -1}, {NL + 1, 0}, {3, NL - 2}, {-5, 3}};
        ok = 1;
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            ds.count = 9;
            r = ss_dataset_slice(&ds, &src, bad[k][0], bad[k][1]);
            if (r != SS_ERR_INVALID || !ds_zeroed(&ds)) {
                ok = 0;
                printf("  slice [%lld, +%lld): result %d\n", (long long)bad[k][0], (long long)bad[k][1], (int)r);
            }
        }
        test_true(ok, "slice: ranges outside the data set are SS_ERR_INVALID, struct zeroed");
    }

    /* Batches: padded to the longest chosen row, pad_id after each sequence. */
    {
        const int64_t rows[3] = {3, 0, 1};
        int ids[3 * 32], km[3 * 32], want[32], T, b, t, Twant = 0;
        float labels[3] = {-7.0f, -7.0f, -7.0f};
        for (k = 0; k < 3 * 32; k++) ids[k] = -7, km[k] = -7;
        for (b = 0; b < 3; b++) {
            int len = line_seq(BATCH_LINES[rows[b]], 32, want);
            if (len > Twant) Twant = len;
        }
        arm_failure(0);
        T = ss_dataset_batch(&src, rows, 3, 99, ids, km, labels);
        test_true(alloc_calls == 0, "batch: allocates nothing");
        arm_failure(-1);
        ok = T == Twant;
        for (b = 0; ok && b < 3; b++) {
            int len = line_seq(BATCH_LINES[rows[b]], 32, want);
            for (t = 0; t < T; t++) {
                int wi = t < len ? want[t] : 99, wm = t < len;
                if (ids[b * T + t] != wi || km[b * T + t] != wm) ok = 0;
            }
        }
        for (k = (size_t)(3 * T); k < 3 * 32; k++)
            if (ids[k] != -7 || km[k] != -7) ok = 0;
        test_true(ok && T == 8, "batch: (B,T) rows padded with pad_id to the longest row, key_mask 1/0");
        test_true(labels[0] == -7.0f && labels[1] == -7.0f && labels[2] == -7.0f,
                  "batch: a data set without labels leaves the labels buffer alone");
    }
    {
        const char *t = "label\tsentence\n1\tthe cat\n0\ta big dog\n1\thello\n";
        const int64_t rows[4] = {2, 2, 0, 1};
        int ids[4 * 16], km[4 * 16], T, w0[16], w1[16], w2[16], n0, n1, n2;
        float labels[4];
        r = ss_dataset_from_tsv(&tsv, &tok, t, strlen(t), NULL, 16, 2);
        T = r == SS_OK ? ss_dataset_batch(&tsv, rows, 4, PAD, ids, km, labels) : 0;
        n0 = line_seq("hello", 16, w0);
        n1 = line_seq("the cat", 16, w1);
        n2 = line_seq("a big dog", 16, w2);
        ok = r == SS_OK && T == n2 && labels[0] == 1.0f && labels[1] == 1.0f && labels[2] == 1.0f && labels[3] == 0.0f &&
             memcmp(ids, w0, (size_t)n0 * 4) == 0 && memcmp(ids + T, w0, (size_t)n0 * 4) == 0 &&
             memcmp(ids + 2 * T, w1, (size_t)n1 * 4) == 0 && memcmp(ids + 3 * T, w2, (size_t)n2 * 4) == 0 &&
             ids[n0] == PAD && km[n0] == 0 && km[n0 - 1] == 1 && km[3 * T + T - 1] == 1;
        test_true(ok, "batch: labels of the chosen rows (repeats allowed), rows in the given order");
        ss_dataset_free(&tsv);
        (void)r;
    }
    ss_dataset_free(&src);
}

/* ---- 8. the token cache -------------------------------------------------------------------- */

static int ds_equal(const ss_dataset *a, const ss_dataset *b) {
    if (a->count != b->count || a->max_len != b->max_len || !a->offsets || !b->offsets) return 0;
    if (memcmp(a->offsets, b->offsets, (size_t)(a->count + 1) * 8) != 0) return 0;
    if (memcmp(a->tokens, b->tokens, (size_t)a->offsets[a->count] * 4) != 0) return 0;
    if ((a->labels == NULL) != (b->labels == NULL)) return 0;
    return !a->labels || memcmp(a->labels, b->labels, (size_t)a->count * 4) == 0;
}

/* Write bytes to bad_path and expect ss_dataset_load to fail with want naming the file. */
static void cache_bad(const char *name, const char *bad_path, const unsigned char *d, size_t n, uint64_t key,
                      ss_result want) {
    ss_dataset ds;
    ss_result r;
    int ok;
    spit(bad_path, d, n);
    ds.count = 4;
    r = ss_dataset_load(&ds, bad_path, key);
    ok = r == want && ds_zeroed(&ds) && detail_has(bad_path);
    if (!ok && r == SS_OK) printf("  accepted: %lld sequences, labels %s\n", (long long)ds.count, ds.labels ? "present" : "absent");
    else if (!ok) printf("  result %d, detail \"%s\"\n", (int)r, ss_last_error_detail());
    test_true(ok, name);
    if (r == SS_OK) ss_dataset_free(&ds);
}

static void test_cache(void) {
    const char *text = "label\tsentence\n1\tthe cat sat\n0\thello world\n1\ta big red dog ran fast\n0\tit\n";
    const uint64_t key = 0x0123456789abcdefull;
    char path[128], bad[128], missing[128], tmp[160];
    ss_dataset src, ds, txt;
    unsigned char *d, *c;
    size_t n, count, ntok, k;
    ss_result r;
    int layout = 1;

    /* FNV-1a 64 against the published test vectors. */
    test_true(ss_hash64("", 0, SS_HASH64_INIT) == 0xcbf29ce484222325ull &&
                  ss_hash64("a", 1, SS_HASH64_INIT) == 0xaf63dc4c8601ec8cull &&
                  ss_hash64("foobar", 6, SS_HASH64_INIT) == 0x85944171f73967e8ull &&
                  ss_hash64("bar", 3, ss_hash64("foo", 3, SS_HASH64_INIT)) == 0x85944171f73967e8ull,
              "hash64: FNV-1a 64 test vectors (\"\", \"a\", \"foobar\"), continued in pieces");

    tmp_path(path, sizeof path, "cache.bin");
    tmp_path(bad, sizeof bad, "bad_cache.bin");
    tmp_path(missing, sizeof missing, "missing_cache.bin");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (ss_dataset_from_tsv(&src, &tok, text, strlen(text), NULL, 16, 2) != SS_OK) {
        test_true(0, "cache: source data set");
        return;
    }
    src.labels[1] = -0.0f; /* the bits of every label travel, a negative zero included */
    r = ss_dataset_save(&src, path, key);
    test_true(r == SS_OK && file_exists(path) && !file_exists(tmp), "cache: save writes the file, no .tmp left");
    r = ss_dataset_load(&ds, path, key);
    test_true(r == SS_OK && ds_equal(&ds, &src), "cache: load gives the saved data set (offsets, tokens, label bits, max_len)");
    ss_dataset_free(&ds);

    /* The documented layout, read byte by byte. */
    d = slurp(path, &n);
    count = (size_t)src.count, ntok = (size_t)src.offsets[src.count];
    layout = n == 40 + 8 * (count + 1) + 4 * ntok + 4 * count + 8 && memcmp(d, "SSTOKS1\n", 8) == 0 &&
             get_le(d + 8, 8) == key && get_le(d + 16, 8) == count && get_le(d + 24, 8) == ntok &&
             get_le(d + 32, 4) == (uint64_t)src.max_len && get_le(d + 36, 4) == 1;
    for (k = 0; layout && k <= count; k++) layout = get_le(d + 40 + 8 * k, 8) == (uint64_t)src.offsets[k];
    for (k = 0; layout && k < ntok; k++) layout = get_le(d + 40 + 8 * (count + 1) + 4 * k, 4) == (uint64_t)(uint32_t)src.tokens[k];
    for (k = 0; layout && k < count; k++) {
        uint32_t u;
        memcpy(&u, &src.labels[k], 4);
        layout = get_le(d + 40 + 8 * (count + 1) + 4 * ntok + 4 * k, 4) == u;
    }
    test_true(layout && get_le(d + n - 8, 8) == fnv1a(d, n - 8),
              "cache: the file is the documented little-endian layout with an FNV-1a of all before it");

    r = ss_dataset_load(&ds, path, key ^ 1);
    test_true(r == SS_ERR_NOT_FOUND && ds_zeroed(&ds) && detail_has(path), "cache: another key is SS_ERR_NOT_FOUND (stale cache)");

    c = (unsigned char *)malloc(n);
    if (!c) exit(2);
    cache_bad("cache: truncated by one byte -> SS_ERR_FORMAT naming the file", bad, d, n - 1, key, SS_ERR_FORMAT);
    cache_bad("cache: truncated to 20 bytes -> SS_ERR_FORMAT", bad, d, 20, key, SS_ERR_FORMAT);
    cache_bad("cache: an empty file -> SS_ERR_FORMAT", bad, d, 0, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    c[40 + 8 * (count + 1) + 5] ^= 0x10;
    cache_bad("cache: a flipped byte in the tokens -> SS_ERR_FORMAT (checksum)", bad, c, n, key, SS_ERR_FORMAT);
    test_true(detail_has("byte"), "cache: the checksum error names a byte offset");
    memcpy(c, d, n);
    c[n - 1] ^= 0x01;
    cache_bad("cache: a damaged checksum -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    c[6] = '2';
    cache_bad("cache: a wrong magic -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 16, count + 1, 8);
    cache_bad("cache: the header's count inflated -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 16, (uint64_t)1 << 62, 8);
    cache_bad("cache: a huge count -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 24, ntok + 1, 8);
    cache_bad("cache: the header's token count inflated -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 36, 2, 4);
    cache_bad("cache: has_labels 2 -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    /* Damage with the checksum made right again: the field checks alone must catch these. */
    memcpy(c, d, n);
    put_le(c + 40 + 8 * 2, get_le(c + 40 + 8 * 1, 8) - 1, 8); /* offsets[2] < offsets[1] */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: decreasing offsets (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 40 + 8 * count, ntok + 3, 8); /* the last offset beyond the tokens */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: an offset beyond the tokens (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    /* fuzz finding: a most-negative offset overflowed the length computed from it */
    memcpy(c, d, n);
    put_le(c + 40 + 8 * 2, (uint64_t)1 << 63, 8); /* offsets[2] = INT64_MIN */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: an offset of -2^63 (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 40, 1, 8); /* offsets[0] = 1 */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: a first offset of 1 (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 40 + 8 * (count + 1) + 4 * 2, 0xfffffff0u, 4); /* a negative token */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: a negative token (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 36, 2, 4);
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: has_labels 2 (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 36, 0xffffffffu, 4); /* has_labels must be 0 or 1 */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: has_labels 0xffffffff (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    /* fuzz finding: a NaN or infinite label was loaded, which no reader makes */
    memcpy(c, d, n);
    put_le(c + 40 + 8 * (count + 1) + 4 * ntok + 4 * 2, 0x7fc00000u, 4); /* label 2 = NaN */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: a NaN label (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    memcpy(c, d, n);
    put_le(c + 40 + 8 * (count + 1) + 4 * ntok, 0xff800000u, 4); /* label 0 = -inf */
    put_le(c + n - 8, fnv1a(c, n - 8), 8);
    cache_bad("cache: an infinite label (valid checksum) -> SS_ERR_FORMAT", bad, c, n, key, SS_ERR_FORMAT);
    remove(bad);
    r = ss_dataset_load(&ds, missing, key);
    test_true(r == SS_ERR_IO && ds_zeroed(&ds) && detail_has(missing), "cache: a missing file is SS_ERR_IO naming it");
    free(c);
    free(d);

    /* Without labels (a text data set). */
    if (ss_dataset_from_text(&txt, &tok, "the cat\nhello world .\n", 22, NULL, 16, 0) == SS_OK) {
        r = ss_dataset_save(&txt, path, 7);
        d = slurp(path, &n);
        test_true(r == SS_OK && n == 40 + 8 * 3 + 4 * (size_t)txt.offsets[2] + 8 && get_le(d + 36, 4) == 0,
                  "cache: a data set without labels is stored with has_labels 0 and no label block");
        free(d);
        r = ss_dataset_load(&ds, path, 7);
        test_true(r == SS_OK && ds.labels == NULL && ds_equal(&ds, &txt), "cache: round trip without labels");
        ss_dataset_free(&ds);
        ss_dataset_free(&txt);
    }
    remove(path);
    ss_dataset_free(&src);
}

/* ---- 9. the sampler ----------------------------------------------------------------------- */

static void test_sampler(void) {
    enum { C = 1000, EP = 4 };
    static int64_t seq[EP * C];
    static unsigned char seen[C];
    ss_sampler s, s2;
    int64_t g;
    int e, ok = 1, differ = 1, same = 1, ok_access = 1;
    ss_rng rng;

    if (ss_sampler_init(&s, C, 99, 1) != SS_OK) {
        test_true(0, "sampler: init");
        return;
    }
    for (g = 0; g < EP * C; g++) seq[g] = ss_sampler_row(&s, g);
    for (e = 0; e < EP; e++) {
        memset(seen, 0, sizeof seen);
        for (g = 0; g < C; g++) {
            int64_t r = seq[e * C + g];
            if (r < 0 || r >= C || seen[r]) ok = 0;
            else seen[r] = 1;
        }
    }
    test_true(ok, "sampler: each epoch is a permutation of [0, count)");
    for (e = 1; e < EP; e++)
        if (memcmp(seq, seq + e * C, C * sizeof(int64_t)) == 0) differ = 0;
    {
        int64_t fixed = 0;
        for (g = 0; g < C; g++) fixed += seq[g] == g;
        test_true(differ && fixed < 10, "sampler: epochs differ and are shuffled (not the identity)");
    }
    if (ss_sampler_init(&s2, C, 99, 1) == SS_OK) {
        for (g = 0; g < EP * C; g++) same &= ss_sampler_row(&s2, g) == seq[g];
        test_true(same, "sampler: the same seed gives the same order");
        ss_sampler_free(&s2);
    }
    /* Random access in any order, on a fresh sampler, equals the sequential walk. */
    if (ss_sampler_init(&s2, C, 99, 1) == SS_OK) {
        ss_rng_seed(&rng, 5);
        for (e = 0; e < 3000; e++) {
            g = (int64_t)(ss_rng_u32(&rng) % (uint32_t)(EP * C));
            if (ss_sampler_row(&s2, g) != seq[g]) ok_access = 0;
        }
        for (g = EP * C - 1; g >= 0; g -= 7)
            if (ss_sampler_row(&s2, g) != seq[g]) ok_access = 0;
        test_true(ok_access, "sampler: ss_sampler_row(g) in any order equals sequential access");
        ss_sampler_free(&s2);
    }
    if (ss_sampler_init(&s2, C, 100, 1) == SS_OK) {
        int64_t diff = 0;
        for (g = 0; g < C; g++) diff += ss_sampler_row(&s2, g) != seq[g];
        test_true(diff > C / 2, "sampler: another seed gives another order");
        ss_sampler_free(&s2);
    }
    ss_sampler_free(&s);
    test_true(s.perm == NULL && s.count == 0, "sampler: free leaves the struct zeroed");

    if (ss_sampler_init(&s, 37, 99, 0) == SS_OK) {
        ok = 1;
        for (g = 0; g < 500; g++) ok &= ss_sampler_row(&s, g) == g % 37;
        test_true(ok, "sampler: shuffle 0 gives g % count");
        ss_sampler_free(&s);
    }
    if (ss_sampler_init(&s, 1, 3, 1) == SS_OK) {
        ok = 1;
        for (g = 0; g < 10; g++) ok &= ss_sampler_row(&s, g) == 0;
        test_true(ok, "sampler: one sequence is always row 0");
        ss_sampler_free(&s);
    }
    test_true(ss_sampler_init(&s, 0, 1, 1) == SS_ERR_INVALID && s.perm == NULL, "sampler: count 0 is SS_ERR_INVALID");

    /* Uniformity: over 3000 epochs of 8 rows, each row lands at position 0 about 375 times, and
       a permutation has one fixed point on average (a biased shuffle such as Sattolo's has none). */
    if (ss_sampler_init(&s, 8, 1234, 1) == SS_OK) {
        long first[8] = {0, 0, 0, 0, 0, 0, 0, 0}, fixed = 0;
        int r, lo = 1;
        for (g = 0; g < 8 * 3000; g++) {
            int64_t row = ss_sampler_row(&s, g);
            if (g % 8 == 0) first[row]++;
            fixed += row == g % 8;
        }
        for (r = 0; r < 8; r++) lo &= first[r] > 375 - 80 && first[r] < 375 + 80;
        test_true(lo && fixed > 2700 && fixed < 3300, "sampler: permutations are uniform (first row, fixed points)");
        arm_failure(0);
        (void)ss_sampler_row(&s, 123456);
        test_true(alloc_calls == 0, "sampler: ss_sampler_row allocates nothing");
        arm_failure(-1);
        ss_sampler_free(&s);
    }
}

/* ---- 10. optimizer state ------------------------------------------------------------------ */

static void test_optimizer_state(void) {
    static const char *const names[3] = {"enc.weight", "enc.bias", "emb"};
    static const int shapes[3][2] = {{3, 4}, {4, 1}, {5, 2}}, ndims[3] = {2, 1, 2};
    static const int bad_shapes[3][2] = {{4, 3}, {4, 1}, {5, 2}};
    static const unsigned flags[3] = {0, SS_PARAM_NO_DECAY, 0};
    static const char *const meta[4] = {"step", "1234", "best_metric", "0.875"};
    ss_params p, q;
    ss_safetensors st;
    ss_rng rng;
    char path[128], path2[128];
    ss_result r;
    int k, same = 1;

    tmp_path(path, sizeof path, "optim.safetensors");
    tmp_path(path2, sizeof path2, "optim_part.safetensors");
    make_params(&p, 3, names, shapes, ndims, flags);
    ss_rng_seed(&rng, 31);
    for (k = 0; k < p.count; k++) {
        test_fill(p.m + p.tensors[k].offset, p.tensors[k].numel, &rng, -1.0f, 1.0f);
        test_fill(p.v + p.tensors[k].offset, p.tensors[k].numel, &rng, 0.0f, 1e-3f);
        test_fill(p.param + p.tensors[k].offset, p.tensors[k].numel, &rng, -1.0f, 1.0f);
    }
    p.m[p.tensors[0].offset + 1] = -0.0f;
    p.v[p.tensors[2].offset + 3] = 1e-40f; /* a subnormal keeps its bits too */
    r = ss_optimizer_save(&p, path, meta, 2);
    test_true(r == SS_OK, "optimizer: save");
    memset(&st, 0, sizeof st);
    r = ss_safetensors_open(&st, path);
    test_true(r == SS_OK && st.count == 6 && ss_safetensors_find(&st, "m.enc.weight") >= 0 &&
                  ss_safetensors_find(&st, "v.emb") >= 0 && ss_safetensors_find(&st, "enc.weight") < 0,
              "optimizer: the file holds m.<name> and v.<name> for every tensor, no parameters");
    test_true(r == SS_OK && ss_safetensors_metadata(&st, "step") && strcmp(ss_safetensors_metadata(&st, "step"), "1234") == 0 &&
                  ss_safetensors_metadata(&st, "best_metric") &&
                  strcmp(ss_safetensors_metadata(&st, "best_metric"), "0.875") == 0,
              "optimizer: the metadata reads back through ss_safetensors_metadata");
    make_params(&q, 3, names, shapes, ndims, flags);
    r = ss_optimizer_load(&q, &st);
    for (k = 0; k < p.count; k++) {
        size_t o = p.tensors[k].offset, oq = q.tensors[k].offset, nb = p.tensors[k].numel * sizeof(float);
        same &= memcmp(p.m + o, q.m + oq, nb) == 0 && memcmp(p.v + o, q.v + oq, nb) == 0;
    }
    test_true(r == SS_OK && same, "optimizer: load into a fresh registry gives the same m and v bits");
    ss_safetensors_close(&st);
    ss_params_free(&q);

    /* Shape mismatch, and a file lacking a tensor. */
    make_params(&q, 3, names, bad_shapes, ndims, flags);
    if (ss_safetensors_open(&st, path) == SS_OK) {
        r = ss_optimizer_load(&q, &st);
        test_true(r == SS_ERR_FORMAT && detail_has("enc.weight"), "optimizer: a moment of another shape is SS_ERR_FORMAT naming it");
        ss_safetensors_close(&st);
    }
    ss_params_free(&q);
    make_params(&q, 1, names + 2, shapes + 2, ndims + 2, flags + 2); /* only "emb" */
    for (k = 0; k < (int)q.numel; k++) q.m[k] = 1.0f, q.v[k] = 2.0f;
    r = ss_optimizer_save(&q, path2, NULL, 0);
    ss_params_free(&q);
    if (r == SS_OK && ss_safetensors_open(&st, path2) == SS_OK) {
        r = ss_optimizer_load(&p, &st);
        test_true(r == SS_ERR_NOT_FOUND && detail_has("m.enc.weight"),
                  "optimizer: a file lacking a tensor is SS_ERR_NOT_FOUND naming it");
        ss_safetensors_close(&st);
    } else {
        test_true(0, "optimizer: save of a one-tensor registry");
    }
    remove(path);
    remove(path2);
    ss_params_free(&p);
}

/* ---- 11. allocation failure --------------------------------------------------------------- */

/* Random lines of this file's words. */
static char *random_text(ss_rng *rng, int lines, int words, size_t *len) {
    char *t = (char *)malloc((size_t)lines * ((size_t)words * 7 + 2) + 1);
    size_t n = 0;
    int l, w;
    if (!t) exit(2);
    for (l = 0; l < lines; l++) {
        for (w = 0; w < words; w++) {
            const char *word = WORDS[ss_rng_u32(rng) % (uint32_t)NWORDS];
            n += (size_t)sprintf(t + n, "%s%s", w ? " " : "", word);
        }
        t[n++] = '\n';
    }
    t[n] = '\0';
    *len = n;
    return t;
}

typedef struct alloc_case {
    const char *name;
    int kind; /* 0 text, 1 text pack, 2 tsv, 3 load, 4 sampler, 5 slice */
} alloc_case;

static void test_alloc_failures(void) {
    ss_rng rng;
    size_t lines_len, long_len, tsv_len;
    char *lines, *long_lines, *tsv, path[128];
    ss_dataset big;
    const alloc_case cases[] = {{"ss_dataset_from_text", 0}, {"ss_dataset_from_text (pack)", 1},
                                {"ss_dataset_from_tsv", 2},  {"ss_dataset_load", 3},
                                {"ss_sampler_init", 4},      {"ss_dataset_slice", 5}};
    const int min_sites[] = {4, 10, 5, 2, 1, 2};
    size_t c;
    ss_rng_seed(&rng, 8);
    /* > 1024 lines and > 16384 tokens: every array of the builder grows. */
    lines = random_text(&rng, 1100, 15, &lines_len);
    long_lines = random_text(&rng, 60, 300, &long_len);
    {
        size_t n = 0;
        int l;
        tsv = (char *)malloc(1100 * 120 + 64);
        if (!tsv) exit(2);
        n += (size_t)sprintf(tsv, "sentence\tlabel\n");
        for (l = 0; l < 1100; l++) {
            size_t ll;
            char *one = random_text(&rng, 1, 12, &ll);
            one[ll - 1] = '\0';
            n += (size_t)sprintf(tsv + n, "%s\t%d\n", one, l % 2);
            free(one);
        }
        tsv_len = n;
    }
    tmp_path(path, sizeof path, "alloc_cache.bin");
    if (ss_dataset_from_tsv(&big, &tok, tsv, tsv_len, NULL, 64, 2) != SS_OK || ss_dataset_save(&big, path, 5) != SS_OK) {
        test_true(0, "alloc failure: setup");
        return;
    }
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long at, base = alloc_live;
        int tried = 0, all_nomem = 1, none_leaked = 1, zeroed = 1, succeeded = 0;
        char name[200];
        for (at = 0; at < 100000; at++) {
            ss_dataset ds;
            ss_sampler s;
            ss_result r = SS_OK;
            memset(&ds, 0, sizeof ds);
            memset(&s, 0, sizeof s);
            ds.count = 3, s.count = 3;
            arm_failure(at);
            switch (cases[c].kind) {
            case 0: r = ss_dataset_from_text(&ds, &tok, lines, lines_len, NULL, 20, 0); break;
            case 1: r = ss_dataset_from_text(&ds, &tok, long_lines, long_len, NULL, 128, 1); break;
            case 2: r = ss_dataset_from_tsv(&ds, &tok, tsv, tsv_len, NULL, 20, 2); break;
            case 3: r = ss_dataset_load(&ds, path, 5); break;
            case 4: r = ss_sampler_init(&s, 5000, 1, 1); break;
            case 5: r = ss_dataset_slice(&ds, &big, 10, 1000); break;
            }
            arm_failure(-1);
            if (r == SS_OK) {
                succeeded = cases[c].kind == 4 ? s.count == 5000 : ds.count > 0;
                ss_dataset_free(&ds);
                ss_sampler_free(&s);
                if (alloc_live != base) none_leaked = 0;
                break;
            }
            tried++;
            if (r != SS_ERR_NOMEM || ss_last_error_detail()[0] == '\0') all_nomem = 0;
            if (cases[c].kind == 4 ? (s.perm != NULL || s.count != 0) : !ds_zeroed(&ds)) zeroed = 0;
            if (alloc_live != base) none_leaked = 0;
        }
        snprintf(name, sizeof name, "alloc failure: %s at each of its %d allocations: SS_ERR_NOMEM, struct zeroed, no leak",
                 cases[c].name, tried);
        test_true(succeeded && tried >= min_sites[c] && all_nomem && none_leaked && zeroed, name);
    }
    remove(path);
    ss_dataset_free(&big);
    free(lines);
    free(long_lines);
    free(tsv);
}

/* ---- the pieces together: a tiny MLM model memorises one masked batch ------------------------ */

static void test_end_to_end(void) {
    const char *text = "the cat sat on the mat\nthe dog ran fast\nhello world , it is a big red cat\n"
                       "a small green dog and a blue cat sat\n";
    enum { B = 4, MAXT = 16 };
    ss_dataset ds;
    ss_sampler s;
    ss_mlm_options o;
    ss_adamw opt;
    ss_lr_schedule sch;
    ss_config c;
    ss_model m;
    ss_model_stats st;
    ss_rng rng;
    int64_t rows[B];
    int ids[B * MAXT], km[B * MAXT], targets[B * MAXT], T, b, step;
    size_t sel;
    float first = 0.0f, last = 0.0f;
    int finite = 1;
    char name[160];

    if (ss_dataset_from_text(&ds, &tok, text, strlen(text), "e2e", MAXT, 0) != SS_OK ||
        ss_sampler_init(&s, ds.count, 3, 1) != SS_OK) {
        test_true(0, "e2e: data set and sampler");
        return;
    }
    for (b = 0; b < B; b++) rows[b] = ss_sampler_row(&s, b);
    T = ss_dataset_batch(&ds, rows, B, tok.pad_id, ids, km, NULL);
    ss_mlm_options_default(&o, &tok);
    ss_rng_seed(&rng, 5);
    sel = ss_mlm_mask(&o, &rng, ids, targets, km, (size_t)(B * T));

    ss_config_default(&c);
    c.vocab_size = tok.vocab_size;
    c.hidden_size = 64, c.num_hidden_layers = 2, c.intermediate_size = 128;
    c.num_attention_heads = 4, c.head_dim = 16, c.rope_dims = 8;
    c.q_latent_dim = 32, c.kv_latent_dim = 16, c.o_latent_dim = 32, c.output_subspace = 1;
    c.max_position_embeddings = 32;
    /* Init std 0.1, not BERT's 0.02: with 0.02 the attention starts uniform, [MASK] positions of
       one row look alike, and for some masks the loss sits on a plateau near 30% of its start for
       longer than 60 steps; 0.1 breaks the symmetry at once and every mask tried memorises. */
    c.initializer_range = 0.1;
    c.hidden_dropout_prob = 0.0, c.attention_dropout_prob = 0.0, c.classifier_dropout = 0.0;
    if (ss_model_init(&m, &c, SS_HEAD_MLM, B, T, 42) != SS_OK) {
        printf("  model: %s\n", ss_last_error_detail());
        test_true(0, "e2e: model init");
        ss_sampler_free(&s);
        ss_dataset_free(&ds);
        return;
    }
    ss_adamw_default(&opt);
    sch.kind = SS_LR_CONSTANT, sch.peak = 3e-3, sch.warmup_steps = 0, sch.total_steps = 60;
    for (step = 0; step < 60; step++) {
        ss_model_zero_grad(&m);
        ss_model_forward(&m, &st, ids, km, targets, NULL, B, T, 1);
        if (step == 0) first = st.loss;
        if (!(st.loss == st.loss)) finite = 0;
        ss_model_backward(&m, 1.0f);
        (void)ss_clip_grad_norm(&m.params, 1.0);
        ss_adamw_step(&m.params, &opt, ss_lr_at(&sch, step), step + 1);
    }
    ss_model_forward(&m, &st, ids, km, targets, NULL, B, T, 0);
    last = st.loss;
    snprintf(name, sizeof name, "e2e: 60 AdamW steps on one masked batch (%d targets): loss %.3f -> %.3f, below 30%%",
             (int)sel, first, last);
    test_true(sel >= 3 && st.kept == (int)sel && finite && first > 1.0f && last < 0.3f * first, name);
    ss_model_free(&m);
    ss_sampler_free(&s);
    ss_dataset_free(&ds);
}

/* Slices whose end overflows int64: still SS_ERR_INVALID. Run last, because an implementation
   that computes first + count (signed overflow, undefined behaviour) stops the sanitizer build
   here, and every other check has reported by then. */
static void test_slice_overflow(void) {
    const int64_t bad[][2] = {{1, INT64_MAX}, {INT64_MAX, 1}, {INT64_MAX, INT64_MAX}};
    ss_dataset src, ds;
    size_t k;
    int ok = 1;
    if (ss_dataset_from_text(&src, &tok, "the cat\nhello\n", 14, NULL, 8, 0) != SS_OK) {
        test_true(0, "slice overflow: source data set");
        return;
    }
    fflush(stdout); /* an aborting sanitizer must not swallow the reports printed so far */
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ss_result r;
        ds.count = 9;
        r = ss_dataset_slice(&ds, &src, bad[k][0], bad[k][1]);
        if (r != SS_ERR_INVALID || !ds_zeroed(&ds)) ok = 0;
    }
    test_true(ok, "slice: ranges whose end overflows int64 are SS_ERR_INVALID (no overflow on the way)");
    ss_dataset_free(&src);
}

int main(void) {
    double t0 = ss_time_seconds();
    printf("# %s\n", ss_build_info());
    make_prefix();
    make_vocab();
    test_adamw();
    test_adamw_lanes();
    test_schedule();
    test_clip();
    test_mlm();
    test_text();
    test_tsv();
    test_slice_batch();
    test_cache();
    test_sampler();
    test_optimizer_state();
    test_alloc_failures();
    test_end_to_end();
    test_slice_overflow();
    ss_tokenizer_free(&tok);
    test_true(alloc_live == 0, "no allocation outstanding at exit");
    printf("# %.2f s\n", ss_time_seconds() - t0);
    return test_summary("test_train");
}
