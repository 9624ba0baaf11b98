/* test_util.h - the few helpers every test file shares: plain C, no framework.
   Include after subspace.h (with SS_IMPLEMENTATION defined in that test file).
   A check prints "OK <name>" or "FAIL <name> maxdiff=..." and counts failures; a test's main ends
   with `return test_summary("file");`, which exits non-zero when anything failed. */
#ifndef SS_TEST_UTIL_H
#define SS_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Helpers a test file does not use must not warn: the same trick as SS_PRIVATE. */
#if defined(__GNUC__) || defined(__clang__)
#define TEST_FN static __attribute__((unused))
#else
#define TEST_FN static
#endif

static int test_failures = 0;
static int test_checks = 0;

/* Record one named check. */
TEST_FN void test_report(int ok, const char *name, double maxdiff) {
    test_checks++;
    if (ok) {
        printf("OK %s\n", name);
    } else {
        test_failures++;
        printf("FAIL %s maxdiff=%.3g\n", name, maxdiff);
    }
}

/* A boolean check with a formatted name. */
TEST_FN void test_true(int ok, const char *name) { test_report(ok, name, ok ? 0.0 : 1.0); }

/* Compare got against want elementwise: |got - want| <= atol + rtol * |want|, and NaN in either
   fails. On failure print the first few mismatching pairs. Returns 1 when all match. */
TEST_FN int check_tensor(const char *name, const float *got, const float *want, size_t n,
                        double atol, double rtol) {
    double maxdiff = 0.0;
    size_t i, shown = 0;
    int ok = 1;
    for (i = 0; i < n; i++) {
        double g = got[i], w = want[i], d = fabs(g - w);
        int bad = !(d <= atol + rtol * fabs(w)); /* NaN compares false: counted as bad */
        if (d > maxdiff || d != d) maxdiff = d;
        if (bad) {
            ok = 0;
            if (shown++ < 5) printf("  %s[%zu]: got %.9g want %.9g\n", name, i, g, w);
        }
    }
    test_report(ok, name, maxdiff);
    return ok;
}

/* Fill with uniform values in [lo, hi). */
TEST_FN void test_fill(float *x, size_t n, ss_rng *rng, float lo, float hi) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = lo + (hi - lo) * ss_rng_uniform(rng);
}

/* calloc that aborts the test on failure (tests are not where allocation failure is exercised). */
TEST_FN float *test_alloc(size_t n) {
    float *p = (float *)calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "test: out of memory\n");
        exit(2);
    }
    return p;
}

/* sum_i w_i * out_i in double: the scalar objective of the finite-difference checks, whose
   gradient with respect to out is w. */
TEST_FN double weighted_sum(const float *w, const float *out, size_t n) {
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)w[i] * (double)out[i];
    return s;
}

/* A scalar objective of the test's inputs, for finite differences. */
typedef double (*objective_fn)(void *ctx);

/* num[i] = central difference (f(x+eps) - f(x-eps)) / step of f in x[i], for every i; x is
   restored exactly. The divisor is the step actually taken in float, not 2*eps. */
TEST_FN void fd_central(float *num, float *x, size_t n, float eps, objective_fn f, void *ctx) {
    size_t i;
    for (i = 0; i < n; i++) {
        float x0 = x[i], xp = x0 + eps, xm = x0 - eps;
        double lp, lm;
        x[i] = xp;
        lp = f(ctx);
        x[i] = xm;
        lm = f(ctx);
        x[i] = x0;
        num[i] = (float)((lp - lm) / ((double)xp - (double)xm));
    }
}

/* 1 when no element is NaN or infinite. */
TEST_FN int all_finite(const float *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Whether the last error detail mentions needle (a file, a key, a byte offset). */
TEST_FN int detail_has(const char *needle) { return strstr(ss_last_error_detail(), needle) != NULL; }

TEST_FN int test_summary(const char *file) {
    printf("%s: %d checks, %d failed\n", file, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
