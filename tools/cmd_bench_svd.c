/* tools/cmd_bench_svd.c - `ss bench svd`: seconds and accuracy of ss_svd, values only and full
   (U and V), and of ss_svd_values (values only), at the shapes the rank studies meet (SPEC 4.8:
   square heads up to 2048, stacked heads 7168 x 512), beside LAPACK's dgesvd and dgesdd in the
   same run when the tool is built with -DSS_BENCH_LAPACK and linked with -llapacke (Debian:
   liblapacke-dev), e.g.
       make OPENMP=1 BUILD=build/lapack CFLAGS=-DSS_BENCH_LAPACK LDLIBS=-llapacke build/lapack/ss
   (--jacobi adds LAPACK's own one-sided Jacobi routines: dgesvj, and dgejsv, the preconditioned
   algorithm of Drmac and Veselic that ss_svd also follows; both need m >= n).
   Times are medians of --reps calls on a Gaussian random matrix; a call over 10 s is not
   repeated. Accuracy: on a matrix of the same shape with the known graded spectrum
   sigma_j = 10^(-12 j / (k-1)), 1 down to 1e-12, the largest |s_j - sigma_j| / sigma_j (each
   value against itself, not against sigma_0); on the random matrix, ||A - U S V^T||_F / ||A||_F,
   max |U^T U - I| and max |V^T V - I| of the full call ("-" for a values-only method). The graded
   matrix is Q [diag(sigma) G; 0] P: G four layers of Givens rotations of neighbouring columns, Q
   eight Householder reflections of Gaussian vectors, P a random order of the columns, so every
   sigma_j is fixed to ~1e-15 of itself by the entries while large and small columns are
   interleaved. With LAPACK the last two columns give each time over dgesdd's in the same run.
   LAPACK's threads are its own (OPENBLAS_NUM_THREADS for OpenBLAS); ours follow --threads. On a
   machine shared with other work, run with OMP_WAIT_POLICY=PASSIVE: spinning OpenMP threads lose
   their core to others. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ss.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef SS_BENCH_LAPACK
#include <lapacke.h>
#endif

#define BSVD_MAX_SHAPES 16
#define BSVD_METHODS 6
#define BSVD_VALUES 1 /* ss_svd_values: no full call */
#define BSVD_GESDD 3  /* the reference of the ratio columns */

static const char *const bsvd_names[BSVD_METHODS] = {
    "ss_svd (one-sided Jacobi)", "ss_svd_values (bidiagonal + dqds)", "LAPACK dgesvd",
    "LAPACK dgesdd", "LAPACK dgesvj", "LAPACK dgejsv"};

typedef struct bsvd_result {
    double t_values, t_full; /* median seconds */
    double sigma_err;        /* graded matrix: max_j |s_j - sigma_j| / sigma_j */
    double recon, orth_u, orth_v;
    int ran, ok;
} bsvd_result;

static double bsvd_uniform(ss_rng *rng) {
    return (double)(ss_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

static double bsvd_normal(ss_rng *rng) {
    double u = bsvd_uniform(rng), v = bsvd_uniform(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* The graded matrix A (m,n), m >= n, row stride n, singular values sigma (n), as described at
   the top. Returns 0 when out of memory. */
static int bsvd_graded(double *A, int m, int n, const double *sigma, ss_rng *rng) {
    double *u = (double *)malloc((size_t)m * sizeof(double));
    double *w = (double *)malloc((size_t)n * sizeof(double));
    int i, j, t;
    if (!u || !w) {
        free(u), free(w);
        return 0;
    }
    memset(A, 0, (size_t)m * n * sizeof(double));
    for (j = 0; j < n; j++) A[(size_t)j * n + j] = sigma[j];
    for (t = 0; t < 4; t++) /* G: rotate columns j, j+1 for every j of one parity */
        for (j = t & 1; j + 1 < n; j += 2) {
            double th = 6.283185307179586 * bsvd_uniform(rng), c = cos(th), s = sin(th);
            for (i = 0; i < n; i++) {
                double *x = &A[(size_t)i * n + j], a = x[0], b = x[1];
                x[0] = c * a - s * b;
                x[1] = s * a + c * b;
            }
        }
    for (t = 0; t < 8; t++) { /* Q: A -= 2 u (u^T A) / (u^T u) */
        double uu = 0.0;
        for (i = 0; i < m; i++) u[i] = bsvd_normal(rng), uu += u[i] * u[i];
        memset(w, 0, (size_t)n * sizeof(double));
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++) w[j] += u[i] * A[(size_t)i * n + j];
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++) A[(size_t)i * n + j] -= 2.0 * u[i] * w[j] / uu;
    }
    for (j = n - 1; j > 0; j--) { /* P: Fisher-Yates over the columns */
        int r = (int)(ss_rng_u64(rng) % (uint64_t)(j + 1));
        for (i = 0; i < m; i++) {
            double x = A[(size_t)i * n + j];
            A[(size_t)i * n + j] = A[(size_t)i * n + r], A[(size_t)i * n + r] = x;
        }
    }
    free(u), free(w);
    return 1;
}

/* One SVD of A (m,n) by method; s (k); U (m,k) and V (n,k), row stride k, when U is not NULL
   (LAPACK's V^T is transposed into V; ss_svd_values has no U and V: it fails then). work: the
   largest of ss_svd_work_size(m, n, 1, 1), ss_svd_values_work_size(m, n) and m*n + n*n + 8n
   doubles; copy: m*n doubles (LAPACK overwrites its input). Returns 0 on success. */
static int bsvd_call(int method, const double *A, int m, int n, double *s, double *U, double *V,
                     double *work, double *copy) {
    if (method == 0) return ss_svd(A, m, n, n, s, U, V, work, NULL) != SS_OK;
    if (method == BSVD_VALUES) return U != NULL || ss_svd_values(A, m, n, n, s, work) != SS_OK;
#ifdef SS_BENCH_LAPACK
    {
        const int k = m < n ? m : n, full = U != NULL;
        double *vt = work, *stat = work + (size_t)n * n;
        lapack_int info = 0, istat[3];
        int i, j;
        memcpy(copy, A, (size_t)m * n * sizeof(double));
        switch (method) {
        case 2:
            info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, full ? 'S' : 'N', full ? 'S' : 'N', m, n, copy,
                                  n, s, U, k, vt, n, stat);
            break;
        case 3:
            info =
                LAPACKE_dgesdd(LAPACK_ROW_MAJOR, full ? 'S' : 'N', m, n, copy, n, s, U, k, vt, n);
            break;
        case 4: /* U comes back in copy, V (n,n) */
            info = LAPACKE_dgesvj(LAPACK_ROW_MAJOR, 'G', full ? 'U' : 'N', full ? 'V' : 'N', m, n,
                                  copy, n, s, 0, full ? V : vt, n, stat);
            for (j = 0; j < n; j++) s[j] *= stat[0];
            if (full) memcpy(U, copy, (size_t)m * n * sizeof(double));
            break;
        default: /* 5: dgejsv, high relative accuracy for column-scaled matrices ('C') */
            info = LAPACKE_dgejsv(LAPACK_ROW_MAJOR, 'C', full ? 'U' : 'N', full ? 'V' : 'N', 'R',
                                  'N', 'N', m, n, copy, n, s, full ? U : vt, n, full ? V : vt, n,
                                  stat, istat);
            for (j = 0; j < n; j++) s[j] *= stat[0] / stat[1];
            break;
        }
        if (info != 0) return 1;
        if (full && method <= 3)
            for (i = 0; i < k; i++)
                for (j = 0; j < n; j++) V[(size_t)j * k + i] = vt[(size_t)i * n + j];
        return 0;
    }
#else
    (void)copy;
    return 1;
#endif
}

/* ||A - U diag(s) V^T||_F / ||A||_F: row i of U diag(s) against every row of V. */
static double bsvd_recon(const double *A, int m, int n, const double *s, const double *U,
                         const double *V) {
    const int k = m < n ? m : n;
    double err = 0.0, norm = 0.0;
    int i;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : err, norm)
#endif
    for (i = 0; i < m; i++) {
        double *us = (double *)malloc((size_t)k * sizeof(double));
        int j, l;
        if (!us) continue;
        for (l = 0; l < k; l++) us[l] = U[(size_t)i * k + l] * s[l];
        for (j = 0; j < n; j++) {
            double r = A[(size_t)i * n + j];
            const double *v = V + (size_t)j * k;
            for (l = 0; l < k; l++) r -= us[l] * v[l];
            err += r * r;
            norm += A[(size_t)i * n + j] * A[(size_t)i * n + j];
        }
        free(us);
    }
    return sqrt(err / norm);
}

/* max |Q^T Q - I| of Q (rows,k), row stride k. */
static double bsvd_orth(const double *Q, int rows, int k) {
    double worst = 0.0;
    int a;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 8) reduction(max : worst)
#endif
    for (a = 0; a < k; a++) {
        double *g = (double *)calloc((size_t)k, sizeof(double));
        int i, b;
        if (!g) continue;
        for (i = 0; i < rows; i++) {
            const double *q = Q + (size_t)i * k, qa = q[a];
            for (b = a; b < k; b++) g[b] += qa * q[b];
        }
        for (b = a; b < k; b++) {
            double d = fabs(g[b] - (a == b ? 1.0 : 0.0));
            if (d > worst) worst = d;
        }
        free(g);
    }
    return worst;
}

/* Median seconds of up to reps calls, stopping after one that took over 10 s. */
static double bsvd_time(int method, const double *A, int m, int n, double *s, double *U, double *V,
                        double *work, double *copy, int reps, int *failed) {
    double t[64];
    int r, done = 0;
    for (r = 0; r < reps; r++) {
        double t0 = ss_time_seconds();
        if (bsvd_call(method, A, m, n, s, U, V, work, copy)) *failed = 1;
        t[done++] = ss_time_seconds() - t0;
        if (t[done - 1] > 10.0) break;
    }
    return tool_median(t, done);
}

/* "512,1024,7168x512" -> shapes. */
static int bsvd_parse_shapes(const char *text, int shapes[][2], int *count) {
    const char *p = text;
    *count = 0;
    while (*p) {
        char *end;
        long m = strtol(p, &end, 10), n = m;
        if (end == p || m < 1 || m > 65536) return 0;
        if (*end == 'x') {
            p = end + 1;
            n = strtol(p, &end, 10);
            if (end == p || n < 1 || n > 65536) return 0;
        }
        if (*count == BSVD_MAX_SHAPES) return 0;
        shapes[*count][0] = (int)m, shapes[*count][1] = (int)n, (*count)++;
        if (*end == ',')
            end++;
        else if (*end)
            return 0;
        p = end;
    }
    return *count > 0;
}

/* Every method wanted on one shape. */
static void bsvd_shape(int m, int n, int reps, const int *wanted, bsvd_result res[BSVD_METHODS]) {
    const int k = m < n ? m : n, M = m > n ? m : n;
    const size_t mn = (size_t)m * n, jac = ss_svd_work_size(m, n, 1, 1);
    const size_t vals = ss_svd_values_work_size(m, n), lapack = mn + (size_t)n * n + 8 * (size_t)n;
    const size_t ours = jac > vals ? jac : vals;
    double *A = (double *)malloc(mn * sizeof(double)), *G = (double *)malloc(mn * sizeof(double));
    double *copy = (double *)malloc(mn * sizeof(double));
    double *work = (double *)malloc((ours > lapack ? ours : lapack) * sizeof(double));
    double *s = (double *)malloc((size_t)k * sizeof(double));
    double *sigma = (double *)malloc((size_t)k * sizeof(double));
    double *U = (double *)malloc(mn * sizeof(double)),
           *V = (double *)malloc((size_t)n * n * sizeof(double));
    ss_rng rng;
    size_t i;
    int method, j;
    memset(res, 0, BSVD_METHODS * sizeof(bsvd_result));
    if (!A || !G || !copy || !work || !s || !sigma || !U || !V) goto done;
    ss_rng_seed(&rng, 42);
    for (i = 0; i < mn; i++) A[i] = bsvd_normal(&rng);
    for (j = 0; j < k; j++) sigma[j] = k > 1 ? pow(10.0, -12.0 * j / (k - 1)) : 1.0;
    if (m >= n) {
        if (!bsvd_graded(G, m, n, sigma, &rng)) goto done;
    } else { /* the transpose of a tall one */
        if (!bsvd_graded(copy, M, k, sigma, &rng)) goto done;
        for (i = 0; i < (size_t)M; i++)
            for (j = 0; j < k; j++) G[(size_t)j * n + i] = copy[i * k + j];
    }
    for (method = 0; method < BSVD_METHODS; method++) {
        bsvd_result *r = &res[method];
        int failed = 0;
        if (!wanted[method] || (method >= 4 && m < n)) continue;
        r->ran = 1;
        r->t_values = bsvd_time(method, A, m, n, s, NULL, NULL, work, copy, reps, &failed);
        if (method != BSVD_VALUES) {
            r->t_full = bsvd_time(method, A, m, n, s, U, V, work, copy, reps, &failed);
            r->recon = bsvd_recon(A, m, n, s, U, V);
            r->orth_u = bsvd_orth(U, m, k);
            r->orth_v = bsvd_orth(V, n, k);
        }
        if (bsvd_call(method, G, m, n, s, NULL, NULL, work, copy)) failed = 1;
        for (j = 1; j < k; j++) { /* descending, whatever the routine's order (insertion) */
            double x = s[j];
            int l = j;
            for (; l > 0 && s[l - 1] < x; l--) s[l] = s[l - 1];
            s[l] = x;
        }
        for (j = 0; j < k; j++) {
            double e = fabs(s[j] - sigma[j]) / sigma[j];
            if (!(e <= r->sigma_err)) r->sigma_err = e;
        }
        r->ok = !failed;
    }
done:
    free(A), free(G), free(copy), free(work), free(s), free(sigma), free(U), free(V);
}

int bench_svd(int argc, char **argv) {
    tool_opt opts[] = {
        {"--sizes", 1, "shapes N or MxN, comma-separated (default 512,1024,2048,7168x512)", NULL},
        {"--reps", 1, "timed calls per figure, median reported (default 3)", NULL},
        {"--threads", 1, "OpenMP threads of ss_svd and ss_svd_values (default: all processors)",
         NULL},
        {"--quick", 0, "shapes 128,256,1024x128: a smoke test, not a measurement", NULL},
        {"--jacobi", 0, "also LAPACK's dgesvj and dgejsv (with -DSS_BENCH_LAPACK)", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    int shapes[BSVD_MAX_SHAPES][2], n_shapes = 0, reps, threads = 1, n_pos, sh, method;
    int wanted[BSVD_METHODS] = {1, 1, 0, 0, 0, 0}, have_lapack = 0;
    const char *pos[1], *sizes;
#ifdef SS_BENCH_LAPACK
    have_lapack = 1;
#endif
    if (!tool_parse("bench svd", argc, argv, 3, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[5].value) {
        tool_usage("bench svd", "[options]", opts, n_opts);
        return 0;
    }
#ifdef _OPENMP
    threads = omp_get_num_procs();
#endif
    if (!tool_opt_int(&opts[1], 3, 1, 64, &reps) ||
        !tool_opt_int(&opts[2], threads, 1, 1024, &threads))
        return 2;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    threads = 1;
#endif
    sizes = opts[0].value   ? opts[0].value
            : opts[3].value ? "128,256,1024x128"
                            : "512,1024,2048,7168x512";
    if (!bsvd_parse_shapes(sizes, shapes, &n_shapes)) {
        fprintf(stderr,
                "ss bench svd: --sizes '%s': expected N or MxN (1..65536), "
                "comma-separated, at most %d\n",
                sizes, BSVD_MAX_SHAPES);
        return 2;
    }
    wanted[2] = wanted[3] = have_lapack;
    wanted[4] = wanted[5] = have_lapack && opts[4].value;
    printf("# ss bench svd: %s, %d thread%s\n", ss_build_info(), threads, threads > 1 ? "s" : "");
    if (have_lapack)
        printf("# LAPACK through LAPACKE; its threads: OPENBLAS_NUM_THREADS=%s\n",
               getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    else
        printf("# LAPACK not built in (-DSS_BENCH_LAPACK and -llapacke add dgesvd and dgesdd)\n");
    printf("# seconds: median of up to %d calls on a Gaussian matrix; sigma error: graded spectrum "
           "1..1e-12, max_j |s_j - sigma_j| / sigma_j\n\n",
           reps);
    printf("| m x n | method | values s | full s | sigma rel. error (graded) | ||A-USV^T||/||A|| "
           "| max|U^TU-I| | max|V^TV-I| |%s\n",
           have_lapack ? " values time / dgesdd | full time / dgesdd |" : "");
    printf("|---|---|---:|---:|---:|---:|---:|---:|%s\n", have_lapack ? "---:|---:|" : "");
    fflush(stdout);
    for (sh = 0; sh < n_shapes; sh++) {
        const int m = shapes[sh][0], n = shapes[sh][1];
        bsvd_result res[BSVD_METHODS];
        bsvd_shape(m, n, reps, wanted, res);
        for (method = 0; method < BSVD_METHODS; method++) {
            const bsvd_result *r = &res[method];
            if (!r->ran) continue;
            if (!r->ok) {
                printf("| %dx%d | %s | failed |\n", m, n, bsvd_names[method]);
                continue;
            }
            if (method == BSVD_VALUES) {
                printf("| %dx%d | %s | %.3f | - | %.1e | - | - | - |", m, n, bsvd_names[method],
                       r->t_values, r->sigma_err);
            } else {
                printf("| %dx%d | %s | %.3f | %.3f | %.1e | %.1e | %.1e | %.1e |", m, n,
                       bsvd_names[method], r->t_values, r->t_full, r->sigma_err, r->recon,
                       r->orth_u, r->orth_v);
            }
            if (have_lapack) {
                const bsvd_result *ref = &res[BSVD_GESDD];
                if (!ref->ok)
                    printf(" - | - |");
                else if (method == BSVD_VALUES)
                    printf(" %.2f | - |", r->t_values / ref->t_values);
                else
                    printf(" %.2f | %.2f |", r->t_values / ref->t_values, r->t_full / ref->t_full);
            }
            printf("\n");
        }
        fflush(stdout);
    }
    return 0;
}
