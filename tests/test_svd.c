/* test_svd.c - section 11 (>>linalg): Householder QR, the one-sided Jacobi SVD, the values-only
   SVD (ss_svd_values: bidiagonalization and dqds), effective rank and lost energy, principal
   angles.
   Matrices with known spectra are built as Q1 [diag(sigma) G; 0] Q2^T-style products of
   Householder reflections and Givens rotations applied in double: every applied orthogonal factor
   perturbs each column by a few ulps of that column's norm, which moves every singular value by a
   few ulps of itself as long as the columns are graded (a column's norm comes from one sigma and
   its neighbours). The graded cases (sigma from 1 down to 1e-12) mix each column only with a few
   neighbours (Givens layers), so their singular values are known to ~1e-15 relative; mixing every
   column with every other one (a dense Q2) would make sigma_min 1e-12 undetermined beyond
   1e-16 * sigma_max by the rounding of A itself, so dense mixing is used for spectra in [1, 10].
   cc -std=c99 -O2 -o test_svd tests/test_svd.c -lm     (add -fopenmp: 1 and 2 threads agree) */
#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#include <float.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* What ss_svd_values reaches on the graded matrices below (relative error of each value): at
   most 3e-14 in the builds of tests/run.sh (gcc and clang, AVX2 or not); 10x that as the bound. */
#define SVDV_GRADED_TOL 3e-13

/* ---- random numbers and matrices (double) ---- */

static double rnd_uniform(ss_rng *rng) {
    return (double)(ss_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

static double rnd_normal(ss_rng *rng) {
    double u = rnd_uniform(rng), v = rnd_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

static double *dalloc(size_t n) {
    double *p = (double *)calloc(n ? n : 1, sizeof(double));
    if (!p) {
        fprintf(stderr, "test: out of memory\n");
        exit(2);
    }
    return p;
}

/* A (rows,cols), stride ld: A = H A (side 0, H acting on rows, u of length rows) or A = A H
   (side 1, on columns, u of length cols), H = I - 2 u u^T / (u^T u), u Gaussian. */
static void reflect(double *A, int rows, int cols, int ld, int side, ss_rng *rng) {
    int len = side ? cols : rows, i, j;
    double *u = dalloc((size_t)len), uu = 0.0;
    for (i = 0; i < len; i++) u[i] = rnd_normal(rng), uu += u[i] * u[i];
    if (side == 0) {
        double *w = dalloc((size_t)cols);
        for (i = 0; i < rows; i++)
            for (j = 0; j < cols; j++) w[j] += u[i] * A[(size_t)i * ld + j];
        for (i = 0; i < rows; i++)
            for (j = 0; j < cols; j++) A[(size_t)i * ld + j] -= 2.0 * u[i] * w[j] / uu;
        free(w);
    } else {
        for (i = 0; i < rows; i++) {
            double *row = A + (size_t)i * ld, d = 0.0;
            for (j = 0; j < cols; j++) d += row[j] * u[j];
            for (j = 0; j < cols; j++) row[j] -= 2.0 * d * u[j] / uu;
        }
    }
    free(u);
}

/* Columns j, j+1 (side 1) or rows (side 0) of A rotated by a random angle, for every j of one
   parity: a layer of Givens rotations that mixes neighbours only. */
static void givens_layer(double *A, int rows, int cols, int ld, int side, int parity, ss_rng *rng) {
    int len = side ? cols : rows, j, i;
    for (j = parity; j + 1 < len; j += 2) {
        double th = 6.283185307179586 * rnd_uniform(rng), c = cos(th), s = sin(th);
        for (i = 0; i < (side ? rows : cols); i++) {
            double *x = side ? &A[(size_t)i * ld + j] : &A[(size_t)j * ld + i];
            double *y = side ? &A[(size_t)i * ld + j + 1] : &A[(size_t)(j + 1) * ld + i];
            double a = *x, b = *y;
            *x = c * a - s * b;
            *y = s * a + c * b;
        }
    }
}

/* Columns (side 1) or rows (side 0) of A in a random order (Fisher-Yates). */
static void shuffle(double *A, int rows, int cols, int ld, int side, ss_rng *rng) {
    int len = side ? cols : rows, j, i;
    for (j = len - 1; j > 0; j--) {
        int r = (int)(ss_rng_u64(rng) % (uint64_t)(j + 1));
        for (i = 0; i < (side ? rows : cols) && r != j; i++) {
            double *x = side ? &A[(size_t)i * ld + j] : &A[(size_t)j * ld + i];
            double *y = side ? &A[(size_t)i * ld + r] : &A[(size_t)r * ld + i], t = *x;
            *x = *y, *y = t;
        }
    }
}

/* A (m,n) stride ld with singular values sigma (min(m,n)):
   dense: Q1 diag(sigma) Q2^T with left_refl reflections on the left, n reflections on the right;
   graded (dense 0): Q1 [diag(sigma) G; 0] P with G 4 Givens layers (neighbour mixing, column
   grading kept), left_refl reflections on the left and P a random column order (large and small
   columns interleaved); for m < n the transpose of that. */
static void make_matrix(double *A, int m, int n, int ld, const double *sigma, int dense,
                        int left_refl, ss_rng *rng) {
    int k = m < n ? m : n, i, j, t;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) A[(size_t)i * ld + j] = 0.0;
    for (i = 0; i < k; i++) A[(size_t)i * ld + i] = sigma[i];
    if (dense) {
        for (t = 0; t < n; t++) reflect(A, m, n, ld, 1, rng);
        for (t = 0; t < left_refl; t++) reflect(A, m, n, ld, 0, rng);
        return;
    }
    if (m >= n) {
        for (t = 0; t < 4; t++) givens_layer(A, m, n, ld, 1, t & 1, rng);
        for (t = 0; t < left_refl; t++) reflect(A, m, n, ld, 0, rng);
        shuffle(A, m, n, ld, 1, rng);
    } else { /* the transpose: rows graded, rows mixed with neighbours, columns reflected */
        for (t = 0; t < 4; t++) givens_layer(A, m, n, ld, 0, t & 1, rng);
        for (t = 0; t < left_refl; t++) reflect(A, m, n, ld, 1, rng);
        shuffle(A, m, n, ld, 0, rng);
    }
}

/* Two scales in one 40x30 matrix (row stride 30): Q [B1 0; 0 1e-200 B2; 0 0], B1 and B2 dense
   15x15 with singular values in [1, 10], Q 40 reflections; its singular values into sigma (30).
   The products of the small columns' entries underflow, their norms must not. */
static void two_scales(double *A, double *sigma, ss_rng *rng) {
    double *B = dalloc(15 * 15), sig15[15];
    int i, j, l;
    memset(A, 0, 40 * 30 * sizeof(double));
    for (l = 0; l < 2; l++) {
        for (j = 0; j < 15; j++) sig15[j] = 10.0 - 9.0 * j / 14.0;
        make_matrix(B, 15, 15, 15, sig15, 1, 15, rng);
        for (i = 0; i < 15; i++)
            for (j = 0; j < 15; j++)
                A[(size_t)(i + 15 * l) * 30 + j + 15 * l] = B[i * 15 + j] * (l ? 1e-200 : 1.0);
    }
    for (j = 0; j < 40; j++) reflect(A, 40, 30, 30, 0, rng);
    for (j = 0; j < 30; j++) sigma[j] = (10.0 - 9.0 * (j % 15) / 14.0) * (j < 15 ? 1.0 : 1e-200);
    free(B);
}

/* sigma_j = 10^(-12 j / (k-1)): 1 down to 1e-12 */
static void graded_sigma(double *sigma, int k) {
    int j;
    for (j = 0; j < k; j++) sigma[j] = k > 1 ? pow(10.0, -12.0 * j / (k - 1)) : 1.0;
}

/* ---- measures ---- */

static double fro(const double *A, int m, int n, int ld) {
    double s = 0.0;
    int i, j;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) s += A[(size_t)i * ld + j] * A[(size_t)i * ld + j];
    return sqrt(s);
}

/* ||A - U diag(s) V^T||_F / ||A||_F (the absolute error when A is zero), everything divided by
   the largest |A[i][j]| first so that 1e300-sized entries do not overflow the squares. */
static double recon_error(const double *A, int m, int n, int ld, const double *s, const double *U,
                          const double *V) {
    int k = m < n ? m : n, i, j, l;
    double err = 0.0, a = 0.0, big = 0.0;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) big = fmax(big, fabs(A[(size_t)i * ld + j]));
    if (big == 0.0) big = 1.0;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double r = A[(size_t)i * ld + j] / big;
            a += r * r;
            for (l = 0; l < k; l++) r -= U[(size_t)i * k + l] * (s[l] / big) * V[(size_t)j * k + l];
            err += r * r;
        }
    return a > 0.0 ? sqrt(err / a) : sqrt(err);
}

/* max |Q^T Q - I| over the k columns of Q (rows, k), row stride k */
static double orth_error(const double *Q, int rows, int k) {
    double worst = 0.0;
    int a, b, i;
    for (a = 0; a < k; a++)
        for (b = a; b < k; b++) {
            double d = 0.0;
            for (i = 0; i < rows; i++) d += Q[(size_t)i * k + a] * Q[(size_t)i * k + b];
            d = fabs(d - (a == b ? 1.0 : 0.0));
            if (d > worst) worst = d;
        }
    return worst;
}

/* max_j |s_j - sigma_j| / max(sigma_j, floor) (absolute where both are 0) */
static double sigma_error(const double *s, const double *sigma, int k, double floor) {
    double worst = 0.0;
    int j;
    for (j = 0; j < k; j++) {
        double den = sigma[j] > floor ? sigma[j] : floor;
        double e = den > 0.0 ? fabs(s[j] - sigma[j]) / den : fabs(s[j] - sigma[j]);
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

static int descending(const double *s, int k) {
    int j;
    for (j = 0; j < k; j++)
        if (!(s[j] >= 0.0) || (j > 0 && s[j] > s[j - 1])) return 0;
    return 1;
}

/* The full call and the values-only call on A; checks order, vectors, reconstruction, and that
   both calls give the same values bit for bit; sigma (known, sorted) or NULL. rel: tolerance of
   |s_j - sigma_j| / max(sigma_j, floor). */
static void check_svd(const char *name, const double *A, int m, int n, int ld, const double *sigma,
                      double rel, double floor) {
    int k = m < n ? m : n;
    double *s = dalloc((size_t)k), *s2 = dalloc((size_t)k), *U = dalloc((size_t)m * k);
    double *V = dalloc((size_t)n * k), *work = dalloc(ss_svd_work_size(m, n, 1, 1));
    double *work2 = dalloc(ss_svd_work_size(m, n, 0, 0));
    char label[400];
    ss_result r = ss_svd(A, m, n, ld, s, U, V, work, NULL);
    ss_result r2 = ss_svd(A, m, n, ld, s2, NULL, NULL, work2, NULL);
    double rec, ou, ov;
    snprintf(label, sizeof label, "%s: ss_svd returns SS_OK (%.200s)", name,
             ss_last_error_detail());
    test_true(r == SS_OK && r2 == SS_OK, label);
    snprintf(label, sizeof label, "%s: descending, non-negative", name);
    test_true(descending(s, k), label);
    snprintf(label, sizeof label, "%s: values-only call gives the same bits", name);
    test_true(memcmp(s, s2, (size_t)k * sizeof(double)) == 0, label);
    rec = recon_error(A, m, n, ld, s, U, V);
    ou = orth_error(U, m, k);
    ov = orth_error(V, n, k);
    snprintf(label, sizeof label, "%s: ||A - U S V^T|| / ||A|| = %.2e", name, rec);
    test_report(rec < 1e-13, label, rec);
    snprintf(label, sizeof label, "%s: max|U^T U - I| = %.2e, max|V^T V - I| = %.2e", name, ou, ov);
    test_report(ou < 1e-13 && ov < 1e-13, label, ou > ov ? ou : ov);
    if (sigma) {
        double e = sigma_error(s, sigma, k, floor);
        snprintf(label, sizeof label, "%s: max relative error of sigma = %.2e (smallest %.3g)",
                 name, e, s[k - 1]);
        test_report(e <= rel, label, e);
    }
    free(s), free(s2), free(U), free(V), free(work), free(work2);
}

/* Transpose of A (m,n) stride ld into T (n,m) stride m. */
static void transpose(const double *A, int m, int n, int ld, double *T) {
    int i, j;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) T[(size_t)j * m + i] = A[(size_t)i * ld + j];
}

/* ---- the tests ---- */

static void test_qr(ss_rng *rng) {
    const int m = 70, n = 40, lda = 45;
    double *A = dalloc((size_t)m * lda), *F = dalloc((size_t)m * lda), *Q = dalloc((size_t)m * m);
    double *tau = dalloc((size_t)n), err = 0.0, orth = 0.0, below = 0.0;
    int i, j, k, l;
    for (i = 0; i < m * lda; i++) A[i] = rnd_normal(rng);
    memcpy(F, A, (size_t)m * lda * sizeof(double));
    ss_qr(F, m, n, lda, tau);
    /* Q (m,m) = H_0 ... H_{n-1}: apply to I from the last reflection to the first */
    for (i = 0; i < m; i++) Q[(size_t)i * m + i] = 1.0;
    for (k = n - 1; k >= 0; k--)
        for (j = 0; j < m; j++) {
            double w = Q[(size_t)k * m + j];
            for (i = k + 1; i < m; i++) w += F[(size_t)i * lda + k] * Q[(size_t)i * m + j];
            w *= tau[k];
            Q[(size_t)k * m + j] -= w;
            for (i = k + 1; i < m; i++) Q[(size_t)i * m + j] -= w * F[(size_t)i * lda + k];
        }
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double r = A[(size_t)i * lda + j];
            for (l = 0; l <= j && l < n; l++) r -= Q[(size_t)i * m + l] * F[(size_t)l * lda + j];
            if (fabs(r) > err) err = fabs(r);
        }
    orth = orth_error(Q, m, m);
    for (k = 0; k < n; k++)
        if (tau[k] != 0.0 && (tau[k] < 1.0 || tau[k] > 2.0)) below = 1.0;
    test_report(err < 1e-13 * fro(A, m, n, lda), "ss_qr: A = Q R (R the upper triangle)", err);
    test_report(orth < 1e-14, "ss_qr: Q orthogonal", orth);
    test_true(below == 0.0, "ss_qr: tau in [1, 2]");
    /* the stride's padding columns are not touched */
    for (i = 0; i < m; i++)
        for (j = n; j < lda; j++)
            if (F[(size_t)i * lda + j] != A[(size_t)i * lda + j]) below = 2.0;
    test_true(below == 0.0, "ss_qr: columns beyond n untouched");
    /* a column that is zero below the diagonal: tau 0 */
    for (i = 0; i < 3 * 2; i++) F[i] = 0.0;
    F[0] = 2.0, F[1] = 1.0, F[3] = 5.0; /* (3,2): [[2,1],[0,5],[0,0]] */
    ss_qr(F, 3, 2, 2, tau);
    test_true(tau[0] == 0.0 && F[0] == 2.0 && F[1] == 1.0,
              "ss_qr: already triangular column gives tau 0");
    free(A), free(F), free(Q), free(tau);
}

static void test_known_spectra(ss_rng *rng) {
    const int shapes[][2] = {{60, 60}, {200, 50}, {50, 200}, {37, 23}, {23, 37}};
    double *A = dalloc(200 * 200), *T = dalloc(200 * 200), sigma[200];
    char name[96];
    int t, j;
    /* diagonal, with signs and an unsorted order: exact up to the last bit or two */
    {
        const double d[5] = {-3.0, 0.5, 7.0, -1e-9, 2.0}, want[5] = {7.0, 3.0, 2.0, 0.5, 1e-9};
        double D[6 * 5];
        memset(D, 0, sizeof D);
        for (j = 0; j < 5; j++) D[j * 5 + j] = d[j];
        check_svd("diagonal 6x5 (a zero row)", D, 6, 5, 5, want, 4 * DBL_EPSILON, 0.0);
    }
    /* dense random orthogonal mixing, spectrum in [1, 10] */
    for (t = 0; t < 5; t++) {
        int m = shapes[t][0], n = shapes[t][1], k = m < n ? m : n;
        for (j = 0; j < k; j++) sigma[j] = 10.0 - 9.0 * j / (k > 1 ? k - 1 : 1);
        make_matrix(A, m, n, n, sigma, 1, m < 64 ? m : 64, rng);
        snprintf(name, sizeof name, "dense %dx%d, sigma 10..1", m, n);
        check_svd(name, A, m, n, n, sigma, 1e-12, 0.0);
    }
    /* graded: sigma 1 .. 1e-12, every sigma to relative accuracy */
    for (t = 0; t < 5; t++) {
        int m = shapes[t][0], n = shapes[t][1], k = m < n ? m : n;
        graded_sigma(sigma, k);
        make_matrix(A, m, n, n, sigma, 0, 24, rng);
        snprintf(name, sizeof name, "graded %dx%d, sigma 1..1e-12", m, n);
        check_svd(name, A, m, n, n, sigma, 1e-12, 0.0);
        if (m == n) { /* its transpose: graded by rows instead of columns */
            transpose(A, m, n, n, T);
            snprintf(name, sizeof name, "graded %dx%d transposed (rows graded)", m, n);
            check_svd(name, T, n, m, m, sigma, 1e-12, 0.0);
        }
    }
    /* tall m = 4n */
    for (j = 0; j < 50; j++) sigma[j] = 1.0 + j % 7;
    for (j = 0; j < 50; j++) { /* sorted: 7 x8, 6 x7, ... */
        int a, b;
        for (a = 0; a < 49; a++)
            for (b = a + 1; b < 50; b++)
                if (sigma[b] > sigma[a]) {
                    double x = sigma[a];
                    sigma[a] = sigma[b], sigma[b] = x;
                }
    }
    make_matrix(A, 200, 50, 50, sigma, 1, 64, rng);
    check_svd("tall 200x50, repeated values 7..1", A, 200, 50, 50, sigma, 1e-12, 0.0);
    /* a larger graded tall one, 4n x n */
    graded_sigma(sigma, 48);
    make_matrix(A, 192, 48, 48, sigma, 0, 48, rng);
    check_svd("graded tall 192x48", A, 192, 48, 48, sigma, 1e-12, 0.0);
    /* scaled far up and far down: the power-of-two scaling keeps everything */
    for (j = 0; j < 30; j++) sigma[j] = 1e300 * (10.0 - 9.0 * j / 29.0);
    make_matrix(A, 40, 30, 30, sigma, 1, 40, rng);
    check_svd("dense 40x30 scaled by 1e300", A, 40, 30, 30, sigma, 1e-12, 0.0);
    for (j = 0; j < 30; j++) sigma[j] = 1e-300 * (10.0 - 9.0 * j / 29.0);
    make_matrix(A, 40, 30, 30, sigma, 1, 40, rng);
    check_svd("dense 40x30 scaled by 1e-300", A, 40, 30, 30, sigma, 1e-12, 0.0);
    two_scales(A, sigma, rng);
    check_svd("40x30 with singular values at 1..10 and at 1e-200..1e-199", A, 40, 30, 30, sigma,
              1e-12, 0.0);
    free(A), free(T);
}

static void test_degenerate(ss_rng *rng) {
    static const double zeros[64] = {0};
    double *A = dalloc(200 * 200), sigma[200];
    int j, i;
    /* rank 20 of 60: the zero values come out at ~eps * sigma_max */
    for (j = 0; j < 60; j++) sigma[j] = j < 20 ? 5.0 - 4.0 * j / 19.0 : 0.0;
    make_matrix(A, 80, 60, 60, sigma, 1, 64, rng);
    check_svd("rank 20 of 80x60", A, 80, 60, 60, sigma, 1e-12, 5.0);
    /* exact zero columns and a repeated column (exact zero singular values) */
    for (i = 0; i < 30 * 12; i++) A[i] = rnd_normal(rng);
    for (i = 0; i < 30; i++)
        A[i * 12 + 3] = 0.0, A[i * 12 + 7] = 0.0, A[i * 12 + 9] = A[i * 12 + 1];
    check_svd("30x12 with two zero columns and a repeated one", A, 30, 12, 12, NULL, 0, 0);
    {
        double s[12], *w = dalloc(ss_svd_work_size(30, 12, 0, 0));
        ss_svd(A, 30, 12, 12, s, NULL, NULL, w, NULL);
        test_report(s[8] > 0.1 && s[9] < 1e-14 * s[0] && s[10] == 0.0 && s[11] == 0.0,
                    "30x12 rank 9: three values at zero (two exact)", s[10] / s[0]);
        free(w);
    }
    /* vectors and single entries */
    {
        double row[7] = {3, 0, -4, 0, 0, 0, 0}, one = 12.0, neg = -2.5, z[6] = {0};
        const double five = 5.0, zero = 0.0, twelve = 12.0, two5 = 2.5;
        double col[7 * 3];
        check_svd("1x7 row", row, 1, 7, 7, &five, 2 * DBL_EPSILON, 0);
        for (i = 0; i < 7; i++) col[i * 3] = row[i], col[i * 3 + 1] = col[i * 3 + 2] = 99.0;
        check_svd("7x1 column (stride 3)", col, 7, 1, 3, &five, 2 * DBL_EPSILON, 0);
        check_svd("1x1", &one, 1, 1, 1, &twelve, 0, 0);
        check_svd("1x1 negative", &neg, 1, 1, 1, &two5, 0, 0);
        check_svd("1x1 zero", z, 1, 1, 1, &zero, 0, 0);
        check_svd("2x3 zero", z, 2, 3, 3, zeros, 0, 0);
        check_svd("3x2 zero", z, 3, 2, 2, zeros, 0, 0);
    }
    memset(A, 0, 50 * 20 * sizeof(double));
    check_svd("50x20 zero", A, 50, 20, 20, zeros, 0, 0);
    check_svd("20x50 zero", A, 20, 50, 50, zeros, 0, 0);
    free(A);
}

static void test_errors(ss_rng *rng) {
    double A[40 * 40], s[40], U[40 * 40], V[40 * 40], *w = dalloc(ss_svd_work_size(40, 40, 1, 1));
    double sigma[40];
    ss_svd_options o;
    ss_result r;
    int j;
    for (j = 0; j < 40; j++) sigma[j] = 1.0 + j; /* a dense, hard matrix */
    for (j = 0; j < 20; j++) {
        double t = sigma[j];
        sigma[j] = sigma[39 - j], sigma[39 - j] = t;
    }
    make_matrix(A, 40, 40, 40, sigma, 1, 40, rng);
    memset(&o, 0, sizeof o);
    o.max_sweeps = 1;
    r = ss_svd(A, 40, 40, 40, s, U, V, w, &o);
    test_true(r == SS_ERR_NOT_CONVERGED && detail_has("1 Jacobi sweeps"),
              "max_sweeps 1 on a dense 40x40: SS_ERR_NOT_CONVERGED, no hang");
    test_true(descending(s, 40) && orth_error(U, 40, 40) < 1e-13,
              "not converged: sorted values and an orthogonal U still returned");
    o.max_sweeps = 0;
    o.tol = 1e-10;
    r = ss_svd(A, 40, 40, 40, s, U, V, w, &o);
    test_true(r == SS_OK && sigma_error(s, sigma, 40, 0) < 1e-12,
              "tol 1e-10: converges, values fine");
    o.tol = -1.0;
    test_true(ss_svd(A, 40, 40, 40, s, U, V, w, &o) == SS_ERR_INVALID && detail_has("tol"),
              "negative tol: SS_ERR_INVALID");
    A[5 * 40 + 7] = NAN;
    test_true(ss_svd(A, 40, 40, 40, s, U, V, w, NULL) == SS_ERR_NONFINITE && detail_has("A[5][7]"),
              "NaN: SS_ERR_NONFINITE naming A[5][7]");
    A[5 * 40 + 7] = -INFINITY;
    test_true(ss_svd(A, 40, 40, 40, s, NULL, NULL, w, NULL) == SS_ERR_NONFINITE,
              "-Inf: SS_ERR_NONFINITE");
    test_true(ss_svd(A, 0, 40, 40, s, NULL, NULL, w, NULL) == SS_ERR_INVALID &&
                  detail_has("0 x 40"),
              "m = 0: SS_ERR_INVALID");
    test_true(ss_svd(A, 40, 40, 39, s, NULL, NULL, w, NULL) == SS_ERR_INVALID &&
                  detail_has("lda 39"),
              "lda < n: SS_ERR_INVALID");
    test_true(ss_svd_alloc(A, 40, -1, 40, s, NULL, NULL, NULL) == SS_ERR_INVALID,
              "ss_svd_alloc, n = -1: SS_ERR_INVALID");
    test_true(ss_svd_work_size(0, 5, 1, 1) == 0 &&
                  ss_svd_work_size(3, 5, 1, 0) == 15 + 9 + 15 + 10 &&
                  ss_svd_work_size(3, 5, 0, 1) == 15 + 9 + 9 + 15 + 10,
              "ss_svd_work_size: the documented formula");
    free(w);
}

static void test_rank(void) {
    const double s[3] = {3, 2, 1}, z[4] = {0, 0, 0, 0}, one[1] = {2};
    const double flat[4] = {1, 1, 1, 1};
    double tiny[3] = {1e-200, 1e-201, 0};
    /* energies 9, 4, 1 of 14: lost after k = 1, 2, 3: 5/14 = 0.357, 1/14 = 0.0714, 0 */
    test_true(ss_effective_rank(s, 3, 0.01) == 3, "r(0.01) of {3,2,1} = 3");
    test_true(ss_effective_rank(s, 3, 0.1) == 2, "r(0.1) of {3,2,1} = 2");
    test_true(ss_effective_rank(s, 3, 0.3) == 2, "r(0.3) of {3,2,1} = 2");
    test_true(ss_effective_rank(s, 3, 0.36) == 1, "r(0.36) of {3,2,1} = 1");
    test_true(ss_effective_rank(s, 3, 0.0) == 3, "r(0) of {3,2,1} = 3 (all energy needed)");
    test_true(ss_effective_rank(s, 3, -1.0) == 3, "r(-1): never reached, n");
    test_true(ss_effective_rank(s, 3, 1.0) == 1, "r(1) = 1 (k starts at 1)");
    test_true(ss_effective_rank(z, 4, 0.01) == 0, "r of an all-zero spectrum = 0");
    test_true(ss_effective_rank(z, 0, 0.01) == 0, "r of an empty spectrum = 0");
    test_true(ss_effective_rank(one, 1, 0.01) == 1, "r of one value = 1");
    test_true(ss_effective_rank(flat, 4, 0.25) == 3 && ss_effective_rank(flat, 4, 0.2499) == 4,
              "r of a flat spectrum {1,1,1,1}: 0.25 -> 3, 0.2499 -> 4");
    test_true(ss_effective_rank(tiny, 3, 0.005) == 2 && ss_effective_rank(tiny, 3, 0.01) == 1,
              "r of {1e-200, 1e-201, 0}: 0.005 -> 2, 0.01 -> 1 (no underflow)");
    test_report(fabs(ss_energy_lost(s, 3, 1) - 5.0 / 14.0) < 1e-16, "lost(1) of {3,2,1} = 5/14",
                fabs(ss_energy_lost(s, 3, 1) - 5.0 / 14.0));
    test_report(fabs(ss_energy_lost(s, 3, 2) - 1.0 / 14.0) < 3e-17, "lost(2) of {3,2,1} = 1/14",
                fabs(ss_energy_lost(s, 3, 2) - 1.0 / 14.0));
    test_true(ss_energy_lost(s, 3, 3) == 0.0 && ss_energy_lost(s, 3, 9) == 0.0,
              "lost(3), lost(9) = 0");
    test_true(ss_energy_lost(s, 3, 0) == 1.0 && ss_energy_lost(s, 3, -2) == 1.0, "lost(0) = 1");
    test_true(ss_energy_lost(z, 4, 1) == 0.0, "lost of a zero spectrum = 0");
    test_report(fabs(ss_energy_lost(tiny, 3, 1) - 1.0 / 101.0) < 3e-18,
                "lost(1) of {1e-200, 1e-201, 0} = 1/101",
                fabs(ss_energy_lost(tiny, 3, 1) - 1.0 / 101.0));
}

static void test_angles(ss_rng *rng) {
    const int m = 50;
    double *A = dalloc((size_t)m * 12), *B = dalloc((size_t)m * 12), cs[12], M[36], th = 0.3;
    int i, j, l;
    ss_result r;
    /* identical spaces through different bases: B = A M, M random 6x6 */
    for (i = 0; i < m * 6; i++) A[i] = rnd_normal(rng);
    for (i = 0; i < 36; i++) M[i] = rnd_normal(rng) + (i % 7 == 0 ? 3.0 : 0.0);
    for (i = 0; i < m; i++)
        for (j = 0; j < 6; j++) {
            double v = 0.0;
            for (l = 0; l < 6; l++) v += A[i * 6 + l] * M[l * 6 + j];
            B[i * 6 + j] = v;
        }
    r = ss_principal_angles(A, 6, B, 6, m, 6, 6, cs);
    for (j = 0, th = 0.0; j < 6; j++) th = fmax(th, fabs(cs[j] - 1.0));
    test_report(r == SS_OK && th < 1e-13, "angles: the same space in two bases, cosines 1", th);
    /* orthogonal spaces: A in rows 0..24, B in rows 25..49 (non-orthonormal bases) */
    memset(A, 0, (size_t)m * 12 * sizeof(double));
    memset(B, 0, (size_t)m * 12 * sizeof(double));
    for (i = 0; i < 25; i++)
        for (j = 0; j < 4; j++)
            A[i * 4 + j] = rnd_normal(rng), B[(i + 25) * 3 + j % 3] = rnd_normal(rng);
    r = ss_principal_angles(A, 4, B, 3, m, 4, 3, cs);
    test_report(r == SS_OK && cs[0] < 1e-14, "angles: orthogonal spaces, cosines 0", cs[0]);
    /* a plane rotated by theta about e0: span(e0, e1) vs span(e0, cos t e1 + sin t e2), both in
       skewed bases (strides 5 and 7) */
    th = 0.3;
    memset(A, 0, (size_t)m * 12 * sizeof(double));
    memset(B, 0, (size_t)m * 12 * sizeof(double));
    A[0 * 5 + 0] = 2.0, A[1 * 5 + 1] = 3.0, A[0 * 5 + 1] = 1.0;
    B[0 * 7 + 0] = 1.0, B[1 * 7 + 0] = cos(th), B[2 * 7 + 0] = sin(th);
    B[1 * 7 + 1] = cos(th), B[2 * 7 + 1] = sin(th);
    r = ss_principal_angles(A, 5, B, 7, 3, 2, 2, cs);
    test_report(r == SS_OK && fabs(cs[0] - 1.0) < 1e-15 && fabs(cs[1] - cos(th)) < 1e-15,
                "angles: plane rotated by 0.3 rad about a line, cosines 1 and cos 0.3",
                fabs(cs[1] - cos(th)));
    r = ss_principal_angles(A, 5, B, 7, 1, 1, 1, cs); /* 2 and 1 in R^1 */
    test_report(r == SS_OK && cs[0] == 1.0, "angles: 1x1 spaces, cosine 1", cs[0]);
    test_true(ss_principal_angles(A, 5, B, 7, 3, 4, 2, cs) == SS_ERR_INVALID && detail_has("ka"),
              "angles: ka > m, SS_ERR_INVALID");
    A[1] = NAN;
    test_true(ss_principal_angles(A, 5, B, 7, 3, 2, 2, cs) == SS_ERR_NONFINITE &&
                  detail_has("A[0][1]"),
              "angles: NaN, SS_ERR_NONFINITE");
    free(A), free(B);
}

static void test_alloc_failure(ss_rng *rng) {
    double A[30 * 20], B[30 * 5], s[20], U[30 * 20];
    int i;
    for (i = 0; i < 600; i++) A[i] = rnd_normal(rng);
    for (i = 0; i < 150; i++) B[i] = rnd_normal(rng);
    arm_failure(0);
    test_true(ss_svd_alloc(A, 30, 20, 20, s, U, NULL, NULL) == SS_ERR_NOMEM &&
                  detail_has("workspace"),
              "ss_svd_alloc: allocation failure gives SS_ERR_NOMEM");
    arm_failure(0);
    test_true(ss_principal_angles(A, 20, B, 5, 30, 20, 5, s) == SS_ERR_NOMEM,
              "ss_principal_angles: allocation failure gives SS_ERR_NOMEM");
    arm_failure(-1);
    test_true(ss_svd_alloc(A, 30, 20, 20, s, U, NULL, NULL) == SS_OK &&
                  orth_error(U, 30, 20) < 1e-13,
              "ss_svd_alloc: works otherwise (U only)");
    test_true(alloc_live == 0, "no block left allocated");
}

/* ---- values only: ss_svd_values ---- */

/* ss_svd_values on A (m,n), stride ld, against known sigma (sorted; NULL: none) with tolerance
   rel on |s_j - sigma_j| / max(sigma_j, floor), and against ss_svd's values (the Jacobi method)
   when min(m,n) <= 100, to 1e-13 s[0]. The workspace starts as NaN (it may hold anything), and A
   must come back untouched. Returns the largest relative error against sigma (0 without). */
static double check_values(const char *name, const double *A, int m, int n, int ld,
                           const double *sigma, double rel, double floor) {
    const int k = m < n ? m : n;
    const size_t nw = ss_svd_values_work_size(m, n), na = (size_t)(m - 1) * ld + n;
    double *s = dalloc((size_t)k), *work = dalloc(nw), *copy = dalloc(na), e = 0.0;
    char label[400];
    size_t i;
    ss_result r;
    for (i = 0; i < nw; i++) work[i] = NAN;
    memcpy(copy, A, na * sizeof(double));
    r = ss_svd_values(A, m, n, ld, s, work);
    snprintf(label, sizeof label, "values %s: SS_OK, descending, A untouched (%.200s)", name,
             r == SS_OK ? "" : ss_last_error_detail());
    test_true(r == SS_OK && descending(s, k) && memcmp(copy, A, na * sizeof(double)) == 0, label);
    if (sigma) {
        e = sigma_error(s, sigma, k, floor);
        snprintf(label, sizeof label,
                 "values %s: max relative error of sigma = %.2e (smallest %.3g)", name, e,
                 s[k - 1]);
        test_report(e <= rel, label, e);
    }
    if (k <= 100) {
        double *sj = dalloc((size_t)k), *wj = dalloc(ss_svd_work_size(m, n, 0, 0)), d = 0.0;
        int j;
        ss_svd(A, m, n, ld, sj, NULL, NULL, wj, NULL);
        for (j = 0; j < k; j++) d = fmax(d, fabs(s[j] - sj[j]));
        d = sj[0] > 0.0 ? d / sj[0] : d;
        snprintf(label, sizeof label, "values %s: against ss_svd, max |s - s_jacobi| / s_0 = %.2e",
                 name, d);
        test_report(d <= 1e-13, label, d);
        free(sj), free(wj);
    }
    free(s), free(work), free(copy);
    return e;
}

/* Known spectra on both reductions: the one-stage one (fewer than 160 columns after the
   transpose, and after the QR of a tall matrix) and the two-stage one (band, then chase). */
static void test_values_known(ss_rng *rng) {
    const int shapes[][2] = {{60, 60},  {37, 23},  {23, 37},   {200, 50},  {50, 200},
                             {200, 200}, {240, 170}, {170, 240}, {300, 170}, {700, 50}};
    const int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    double *A = dalloc(700 * 240), *T = dalloc(700 * 240), sigma[240];
    char name[96];
    int t, j;
    {   /* diagonal, with signs and an unsorted order */
        const double d[5] = {-3.0, 0.5, 7.0, -1e-9, 2.0}, want[5] = {7.0, 3.0, 2.0, 0.5, 1e-9};
        double D[6 * 5];
        memset(D, 0, sizeof D);
        for (j = 0; j < 5; j++) D[j * 5 + j] = d[j];
        check_values("diagonal 6x5 (a zero row)", D, 6, 5, 5, want, 4 * DBL_EPSILON, 0.0);
    }
    {   /* [1 2; 3 4]: sigma^2 = 15 +- sqrt(221), sigma_1 sigma_2 = |det| = 2 */
        const double B[4] = {1, 2, 3, 4}, s1 = sqrt(15.0 + sqrt(221.0));
        const double want[2] = {s1, 2.0 / s1};
        check_values("2x2 [1 2; 3 4]", B, 2, 2, 2, want, 4 * DBL_EPSILON, 0.0);
    }
    for (t = 0; t < nshapes; t++) { /* dense orthogonal mixing, spectrum in [1, 10] */
        const int m = shapes[t][0], n = shapes[t][1], k = m < n ? m : n;
        for (j = 0; j < k; j++) sigma[j] = 10.0 - 9.0 * j / (k > 1 ? k - 1 : 1);
        make_matrix(A, m, n, n, sigma, 1, m < 64 ? m : 64, rng);
        snprintf(name, sizeof name, "dense %dx%d, sigma 10..1", m, n);
        check_values(name, A, m, n, n, sigma, 1e-13, 0.0);
    }
    for (t = 0; t < nshapes; t++) { /* graded 1 .. 1e-12, as `ss bench svd` builds them */
        const int m = shapes[t][0], n = shapes[t][1], k = m < n ? m : n;
        graded_sigma(sigma, k);
        make_matrix(A, m, n, n, sigma, 0, 8, rng);
        snprintf(name, sizeof name, "graded %dx%d, sigma 1..1e-12", m, n);
        check_values(name, A, m, n, n, sigma, SVDV_GRADED_TOL, 0.0);
        if (m == n) { /* the transpose: graded by rows */
            transpose(A, m, n, n, T);
            snprintf(name, sizeof name, "graded %dx%d transposed (rows graded)", m, n);
            check_values(name, T, n, m, m, sigma, SVDV_GRADED_TOL, 0.0);
        }
    }
    {   /* graded by rows and taller than square (below 1.6): the QR first, then turned over;
           built as the transpose of a graded 170x170 with 70 zero rows mixed in */
        double *B = dalloc(240 * 170);
        int i, r = 0;
        graded_sigma(sigma, 170);
        make_matrix(A, 170, 170, 170, sigma, 0, 8, rng);
        transpose(A, 170, 170, 170, T);
        for (i = 0; i < 240; i++) /* rows 0, 3, 6, ... (while 70 last) are zero */
            if (i % 3 == 0 && i / 3 < 70)
                memset(B + (size_t)i * 170, 0, 170 * sizeof(double));
            else
                memcpy(B + (size_t)i * 170, T + (size_t)r++ * 170, 170 * sizeof(double));
        check_values("graded by rows 240x170 (70 zero rows)", B, 240, 170, 170, sigma,
                     SVDV_GRADED_TOL, 0.0);
        free(B);
    }
    for (j = 0; j < 50; j++) sigma[j] = 7.0 - (double)(j / 8); /* 7 x8, 6 x8, ..., 1 x2 */
    make_matrix(A, 200, 50, 50, sigma, 1, 64, rng);
    check_values("tall 200x50, repeated values 7..1", A, 200, 50, 50, sigma, 1e-13, 0.0);
    for (j = 0; j < 200; j++) sigma[j] = 1.0; /* orthogonal: one cluster of 200 */
    make_matrix(A, 200, 200, 200, sigma, 1, 64, rng);
    check_values("orthogonal 200x200 (all values 1)", A, 200, 200, 200, sigma, 1e-13, 0.0);
    for (j = 0; j < 30; j++) sigma[j] = 1e200 * (10.0 - 9.0 * j / 29.0);
    make_matrix(A, 40, 30, 30, sigma, 1, 40, rng);
    check_values("dense 40x30 scaled by 1e200", A, 40, 30, 30, sigma, 1e-13, 0.0);
    for (j = 0; j < 30; j++) sigma[j] = 1e-200 * (10.0 - 9.0 * j / 29.0);
    make_matrix(A, 40, 30, 30, sigma, 1, 40, rng);
    check_values("dense 40x30 scaled by 1e-200", A, 40, 30, 30, sigma, 1e-13, 0.0);
    for (j = 0; j < 170; j++) sigma[j] = 1e-300 * (10.0 - 9.0 * j / 169.0);
    make_matrix(A, 170, 170, 170, sigma, 1, 64, rng);
    check_values("dense 170x170 scaled by 1e-300", A, 170, 170, 170, sigma, 1e-13, 0.0);
    two_scales(A, sigma, rng); /* Q [B1 0; 0 1e-200 B2; 0 0] */
    check_values("40x30 with values at 1..10 and at 1e-200..1e-199", A, 40, 30, 30, sigma,
                 1e-13, 0.0);
    free(A), free(T);
}

static void test_values_degenerate(ss_rng *rng) {
    static const double zeros[200] = {0};
    double *A = dalloc(200 * 200), sigma[200], s[12], *w = dalloc(ss_svd_values_work_size(30, 12));
    int i, j;
    for (j = 0; j < 60; j++) sigma[j] = j < 20 ? 5.0 - 4.0 * j / 19.0 : 0.0; /* rank 20 of 60 */
    make_matrix(A, 80, 60, 60, sigma, 1, 64, rng);
    check_values("rank 20 of 80x60", A, 80, 60, 60, sigma, 1e-13, 5.0);
    for (j = 0; j < 180; j++) sigma[j] = j < 90 ? 3.0 - 2.0 * j / 89.0 : 0.0; /* two-stage */
    make_matrix(A, 180, 180, 180, sigma, 1, 64, rng);
    check_values("rank 90 of 180x180", A, 180, 180, 180, sigma, 1e-13, 3.0);
    for (i = 0; i < 30 * 12; i++) A[i] = rnd_normal(rng);
    for (i = 0; i < 30; i++) /* two zero columns and a repeated one: three values at zero */
        A[i * 12 + 3] = 0.0, A[i * 12 + 7] = 0.0, A[i * 12 + 9] = A[i * 12 + 1];
    check_values("30x12 with two zero columns and a repeated one", A, 30, 12, 12, NULL, 0, 0);
    test_true(ss_svd_values(A, 30, 12, 12, s, w) == SS_OK && s[8] > 0.1 && s[9] < 1e-14 * s[0] &&
                  s[11] < 1e-14 * s[0],
              "values 30x12 rank 9: three values at zero");
    {   /* vectors, single entries, zeros */
        double row[7] = {3, 0, -4, 0, 0, 0, 0}, one = 12.0, neg = -2.5, col[7 * 3];
        const double five = 5.0, zero = 0.0, twelve = 12.0, two5 = 2.5;
        check_values("1x7 row", row, 1, 7, 7, &five, 2 * DBL_EPSILON, 0);
        for (i = 0; i < 7; i++) col[i * 3] = row[i], col[i * 3 + 1] = col[i * 3 + 2] = 99.0;
        check_values("7x1 column (stride 3)", col, 7, 1, 3, &five, 2 * DBL_EPSILON, 0);
        check_values("1x1", &one, 1, 1, 1, &twelve, 0, 0);
        check_values("1x1 negative", &neg, 1, 1, 1, &two5, 0, 0);
        check_values("1x1 zero", zeros, 1, 1, 1, &zero, 0, 0);
        check_values("2x3 zero", zeros, 2, 3, 3, zeros, 0, 0);
    }
    memset(A, 0, 200 * 200 * sizeof(double));
    check_values("50x20 zero", A, 50, 20, 20, zeros, 0, 0);
    check_values("170x200 zero", A, 170, 200, 200, zeros, 0, 0);
    free(A), free(w);
}

static void test_values_errors(ss_rng *rng) {
    double A[40 * 40], s[40], t[40], *w = dalloc(ss_svd_values_work_size(40, 40)), sigma[40];
    int j;
    for (j = 0; j < 40; j++) sigma[j] = 1.0 + j;
    make_matrix(A, 40, 40, 40, sigma, 1, 40, rng);
    for (j = 0; j < 40; j++) s[j] = -1.0;
    A[5 * 40 + 7] = NAN;
    test_true(ss_svd_values(A, 40, 40, 40, s, w) == SS_ERR_NONFINITE && detail_has("A[5][7]") &&
                  s[0] == -1.0,
              "values, NaN: SS_ERR_NONFINITE naming A[5][7], s untouched");
    A[5 * 40 + 7] = 0.0, A[39 * 40 + 2] = INFINITY;
    test_true(ss_svd_values(A, 40, 40, 40, s, w) == SS_ERR_NONFINITE && detail_has("A[39][2]"),
              "values, +Inf: SS_ERR_NONFINITE naming A[39][2]");
    A[39 * 40 + 2] = -INFINITY;
    test_true(ss_svd_values(A, 4, 40, 40, s, w) == SS_OK, "values, -Inf outside the 4 rows read");
    test_true(ss_svd_values(A, 0, 40, 40, s, w) == SS_ERR_INVALID && detail_has("0 x 40"),
              "values, m = 0: SS_ERR_INVALID");
    test_true(ss_svd_values(A, 40, -1, 40, s, w) == SS_ERR_INVALID,
              "values, n = -1: SS_ERR_INVALID");
    test_true(ss_svd_values(A, 40, 40, 39, s, w) == SS_ERR_INVALID && detail_has("lda 39"),
              "values, lda < n: SS_ERR_INVALID");
    test_true(ss_svd_values_alloc(A, 40, 0, 40, s) == SS_ERR_INVALID,
              "ss_svd_values_alloc, n = 0: SS_ERR_INVALID");
    {   /* the documented size: M*N' + 96 M + 267 N + 8864, N' = N up to an odd number of 8s */
        const size_t a = ss_svd_values_work_size(700, 170), b = ss_svd_values_work_size(16, 300);
        test_true(ss_svd_values_work_size(0, 5) == 0 && ss_svd_values_work_size(5, -2) == 0 &&
                      a == 700 * 184 + 96 * 700 + 267 * 170 + 8864 &&
                      b == 300 * 24 + 96 * 300 + 267 * 16 + 8864,
                  "ss_svd_values_work_size: the documented formula");
    }
    make_matrix(A, 40, 40, 40, sigma, 1, 40, rng);
    arm_failure(0);
    test_true(ss_svd_values_alloc(A, 40, 40, 40, s) == SS_ERR_NOMEM && detail_has("workspace"),
              "ss_svd_values_alloc: allocation failure gives SS_ERR_NOMEM");
    arm_failure(-1);
    test_true(ss_svd_values_alloc(A, 40, 40, 40, s) == SS_OK &&
                  ss_svd_values(A, 40, 40, 40, t, w) == SS_OK && memcmp(s, t, sizeof s) == 0 &&
                  alloc_live == 0,
              "ss_svd_values_alloc: the same bits as with a given workspace, nothing leaked");
    free(w);
}

#ifdef _OPENMP
/* The same bits with 1 and 2 threads: every parallel loop is taken at these sizes (the pivoted
   QR's trailing columns, the Jacobi block pairs, the blocked Q applied to Z; ss_qr's trailing
   columns and Q applied in ss_principal_angles). */
static void test_threads(ss_rng *rng) {
    const int m = 500, n = 160;
    double *A = dalloc((size_t)m * n), sigma[160], *s[2], *U[2], *V[2], cs[2][150];
    double *w = dalloc(ss_svd_work_size(m, n, 1, 1));
    int t, j;
    for (j = 0; j < n; j++) sigma[j] = 1.0 + 0.05 * (n - j);
    make_matrix(A, m, n, n, sigma, 1, 16, rng);
    for (t = 0; t < 2; t++) {
        s[t] = dalloc(n), U[t] = dalloc((size_t)m * n), V[t] = dalloc((size_t)n * n);
        omp_set_num_threads(t + 1);
        ss_svd(A, m, n, n, s[t], U[t], V[t], w, NULL);
        ss_principal_angles(A, n, A + 10, n, m, 150, 150, cs[t]);
    }
    test_true(memcmp(s[0], s[1], n * sizeof(double)) == 0 &&
                  memcmp(U[0], U[1], (size_t)m * n * sizeof(double)) == 0 &&
                  memcmp(V[0], V[1], (size_t)n * n * sizeof(double)) == 0,
              "ss_svd 500x160: 1 and 2 threads give the same bits");
    test_true(memcmp(cs[0], cs[1], sizeof cs[0]) == 0 && cs[0][139] > 1.0 - 1e-14 &&
                  cs[0][140] < 1.0 - 1e-6,
              "ss_principal_angles 500 x (150, 150), 140 columns shared: 1 and 2 threads agree, "
              "140 cosines at 1");
    for (t = 0; t < 2; t++) free(s[t]), free(U[t]), free(V[t]);
    free(A), free(w);
    {   /* ss_svd_values: the two-stage reduction (square and wide) and the QR of a tall matrix */
        const int shapes[3][2] = {{320, 256}, {256, 320}, {640, 200}};
        double *B = dalloc(640 * 200), *v[2], *wv = dalloc(ss_svd_values_work_size(640, 200));
        int c, same = 1;
        for (c = 0; c < 3; c++) {
            const int m = shapes[c][0], n = shapes[c][1], k = m < n ? m : n;
            for (j = 0; j < m * n; j++) B[j] = rnd_normal(rng);
            for (t = 0; t < 2; t++) {
                v[t] = dalloc((size_t)k);
                omp_set_num_threads(t + 1);
                ss_svd_values(B, m, n, n, v[t], wv);
            }
            same = same && memcmp(v[0], v[1], (size_t)k * sizeof(double)) == 0;
            free(v[0]), free(v[1]);
        }
        test_true(same, "ss_svd_values 320x256, 256x320, 640x200: 1 and 2 threads, same bits");
        free(B), free(wv);
    }
}
#endif

int main(void) {
    ss_rng rng;
    double t0 = ss_time_seconds();
    ss_rng_seed(&rng, 2024);
    printf("%s\n", ss_build_info());
    test_qr(&rng);
    test_known_spectra(&rng);
    test_degenerate(&rng);
    test_errors(&rng);
    test_rank();
    test_angles(&rng);
    test_alloc_failure(&rng);
    test_values_known(&rng);
    test_values_degenerate(&rng);
    test_values_errors(&rng);
#ifdef _OPENMP
    test_threads(&rng);
#endif
    printf("%.1f s\n", ss_time_seconds() - t0);
    return test_summary("test_svd");
}
