/* test_gemm.c - section 4: ss_gemm (and ss_gemm_builtin) against the naive double-precision
   reference for all four transpose forms, several alpha and beta, leading dimensions wider than
   the rows, and awkward sizes (1, primes, over 1000, nothing a multiple of a tile); beta = 0 must
   overwrite NaN; nothing outside the C window may change; the built-in kernel's bits must not
   depend on the OpenMP thread count; under SS_USE_CBLAS, OpenBLAS and the built-in kernel agree.
   cc -std=c99 -O2 -march=native -o test_gemm tests/test_gemm.c -lm && ./test_gemm */
#define SS_IMPLEMENTATION
#include "test_alloc.h" /* counts allocations; arm_failure(n) makes one fail */
#include "../subspace.h"
#include "test_util.h"

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

/* One case: op(A) (M,K), op(B) (K,N), C (M,N) inside a wider (M, ldc) buffer with a guard
   pattern in its padding. Tolerance per element: 1e-5 * (|alpha| * sum_k |a||b| + |beta c|),
   the forward error bound of a float dot product of this length, with room to spare. */
static int gemm_case(gemm_fn fn, const char *fname, int tA, int tB, int M, int N, int K,
                     float alpha, float beta, int pad, ss_rng *rng) {
    int lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
    size_t na = (size_t)(tA ? K : M) * lda, nb = (size_t)(tB ? N : K) * ldb, nc = (size_t)M * ldc;
    float *A = test_alloc(na), *B = test_alloc(nb), *C = test_alloc(nc), *R = test_alloc(nc);
    float *absA = test_alloc(na), *absB = test_alloc(nb), *bound = test_alloc(nc);
    size_t i;
    int ok = 1, i0, j0;
    double maxdiff = 0;
    test_fill(A, na, rng, -1.0f, 1.0f);
    test_fill(B, nb, rng, -1.0f, 1.0f);
    for (i = 0; i < na; i++) absA[i] = fabsf(A[i]);
    for (i = 0; i < nb; i++) absB[i] = fabsf(B[i]);
    for (i = 0; i < nc; i++) {
        int col = (int)(i % (size_t)ldc);
        /* beta = 0: C starts as NaN and must be overwritten; padding holds a guard value */
        C[i] = col >= N ? 12345.0f : (beta == 0.0f ? NAN : 2.0f * ss_rng_uniform(rng) - 1.0f);
        R[i] = C[i];
    }
    fn(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    ss__gemm_naive(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    ss__gemm_naive(tA, tB, M, N, K, 1.0f, absA, lda, absB, ldb, 0.0f, bound, ldc);
    for (i0 = 0; i0 < M; i0++)
        for (j0 = 0; j0 < ldc; j0++) {
            size_t at = (size_t)i0 * ldc + j0;
            double d = fabs((double)C[at] - R[at]);
            double tol = j0 >= N ? 0.0
                                 : 1e-5 * (fabs(alpha) * bound[at] + (beta == 0.0f ? 0.0 : fabs(beta * R[at]))) + 1e-30;
            if (!(d <= tol)) { /* NaN fails too */
                if (ok) printf("  first bad (%d,%d): got %.9g want %.9g\n", i0, j0, C[at], R[at]);
                ok = 0;
            }
            if (d > maxdiff) maxdiff = d;
        }
    if (!ok) {
        char name[160];
        sprintf(name, "%s %s%s M=%d N=%d K=%d alpha=%g beta=%g pad=%d", fname, tA ? "T" : "N",
                tB ? "T" : "N", M, N, K, alpha, beta, pad);
        test_report(0, name, maxdiff);
    }
    free(A), free(B), free(C), free(R), free(absA), free(absB), free(bound);
    return ok;
}

static void sweep(gemm_fn fn, const char *fname) {
    static const int shapes[][3] = {{1, 1, 1},    {1, 7, 3},     {5, 1, 9},     {7, 13, 5},
                                    {17, 31, 1},  {16, 16, 16},  {33, 65, 129}, {97, 83, 101},
                                    {130, 257, 71}, {6, 16, 300}, {300, 24, 7},  {1031, 67, 1009},
                                    {37, 45, 2100}}; /* the last: two K slices */
    static const float alphas[] = {1.0f, 0.5f, -1.25f, 0.0f};
    static const float betas[] = {0.0f, 1.0f, -0.3f};
    ss_rng rng;
    int s, t, a, b, all = 1, count = 0;
    char name[96];
    ss_rng_seed(&rng, 2024);
    for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++)
        for (t = 0; t < 4; t++)
            for (a = 0; a < 4; a++)
                for (b = 0; b < 3; b++) {
                    int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                    int big = (double)M * N * K > 2e6;
                    if (big && !((a == 0 && b == 0) || (a == 1 && b == 2))) continue; /* big: two of them */
                    all &= gemm_case(fn, fname, t >> 1, t & 1, M, N, K, alphas[a], betas[b],
                                     (s + a + b) % 3 == 0 ? 0 : 3 + s % 5, &rng);
                    count++;
                }
    /* K = 0 and M, N = 0 are allowed: C = beta C, and nothing at all */
    all &= gemm_case(fn, fname, 0, 0, 5, 4, 0, 1.0f, 0.5f, 1, &rng);
    all &= gemm_case(fn, fname, 1, 1, 3, 3, 0, 1.0f, 0.0f, 1, &rng);
    {
        float c = 7.0f, a1 = 1.0f;
        fn(0, 0, 0, 1, 1, 1.0f, &a1, 1, &a1, 1, 0.0f, &c, 1);
        fn(0, 0, 1, 0, 1, 1.0f, &a1, 1, &a1, 1, 0.0f, &c, 1);
        all &= c == 7.0f;
    }
    sprintf(name, "%s: %d cases against the naive reference", fname, count + 2);
    test_true(all, name);
}

/* The built-in kernel's bits must not depend on the thread count (training-size shapes). The
   last two shapes (a C of at most one tile, K of 4096 and more) are cut into K slices, one of
   them with edges on both sides, a partial last K block and beta != 0. */
static void thread_invariance(void) {
#ifdef _OPENMP
    static const int shapes[][3] = {{515, 300, 777}, {4096, 256, 256}, {256, 256, 4096},
                                    {61, 1003, 129}, {101, 67, 4100}};
    const int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    ss_rng rng;
    int s, t, same = 1, threads = omp_get_max_threads();
    ss_rng_seed(&rng, 5);
    for (s = 0; s < nshapes; s++)
        for (t = 0; t < 4; t++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
            float *A = test_alloc(na), *B = test_alloc(nb), *C0 = test_alloc(nc);
            float *C1 = test_alloc(nc), *C2 = test_alloc(nc);
            float beta = s == nshapes - 1 ? 0.5f : 0.0f;
            int nthreads;
            test_fill(A, na, &rng, -1, 1);
            test_fill(B, nb, &rng, -1, 1);
            test_fill(C0, nc, &rng, -1, 1);
            for (nthreads = 1; nthreads <= 3; nthreads++) {
                float *C = nthreads == 1 ? C1 : C2;
                memcpy(C, C0, nc * sizeof(float));
                omp_set_num_threads(nthreads);
                ss_gemm_builtin(t >> 1, t & 1, M, N, K, 0.7f, A, t >> 1 ? M : K, B, t & 1 ? K : N,
                                beta, C, N);
                if (nthreads > 1 && memcmp(C1, C2, nc * sizeof(float)) != 0) same = 0;
            }
            free(A), free(B), free(C0), free(C1), free(C2);
        }
    omp_set_num_threads(threads);
    test_true(same, "builtin gemm: bit-identical on 1, 2 and 3 threads");
#else
    printf("NOTE thread invariance needs -fopenmp (run by the openmp build of make test)\n");
#endif
}

/* Products called from inside a parallel region (as the attention core calls them, one
   (batch, head) per thread) run on their own thread as one tile, and give the bits of the same
   product called from outside. */
static void nested_calls(void) {
#ifdef _OPENMP
    static const int shapes[][5] = {{0, 1, 64, 128, 32}, {1, 0, 128, 32, 64}, {0, 0, 64, 32, 128},
                                    {0, 1, 300, 200, 600}};
    ss_rng rng;
    int s, same = 1;
    ss_rng_seed(&rng, 19);
    for (s = 0; s < 4; s++) {
        const int tA = shapes[s][0], tB = shapes[s][1], M = shapes[s][2], N = shapes[s][3];
        const int K = shapes[s][4], lda = tA ? M : K, ldb = tB ? K : N;
        const size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
        float *A = test_alloc(na), *B = test_alloc(nb), *C0 = test_alloc(nc);
        float *C = test_alloc(4 * nc);
        int t;
        test_fill(A, na, &rng, -1, 1);
        test_fill(B, nb, &rng, -1, 1);
        ss_gemm_builtin(tA, tB, M, N, K, 0.5f, A, lda, B, ldb, 0.0f, C0, N);
#pragma omp parallel for num_threads(2) schedule(static)
        for (t = 0; t < 4; t++)
            ss_gemm_builtin(tA, tB, M, N, K, 0.5f, A, lda, B, ldb, 0.0f, C + (size_t)t * nc, N);
        for (t = 0; t < 4; t++) same &= memcmp(C0, C + (size_t)t * nc, nc * sizeof(float)) == 0;
        free(A), free(B), free(C0), free(C);
    }
    test_true(same, "builtin gemm: products called inside a parallel region give the same bits");
#else
    printf("NOTE nested calls need -fopenmp (run by the openmp build of make test)\n");
#endif
}

/* Why the bits cannot depend on the thread count: the built-in kernel gives the same bits for
   any tile grid (the grid is what follows the thread count), so grids run directly through
   ss__gemm_run must all equal the default. */
static void grid_invariance(void) {
    static const int cases[][5] = {/* tA, tB, M, N, K */
                                   {0, 1, 300, 200, 600}, {1, 0, 97, 1030, 300},
                                   {1, 1, 61, 77, 513},   {0, 0, 599, 40, 3},
                                   {1, 0, 101, 67, 4100}}; /* the last in K slices */
    ss_rng rng;
    int s, same = 1, grids = 0;
    char name[96];
    ss_rng_seed(&rng, 11);
    for (s = 0; s < (int)(sizeof cases / sizeof cases[0]); s++) {
        int tA = cases[s][0], tB = cases[s][1], M = cases[s][2], N = cases[s][3], K = cases[s][4];
        int lda = tA ? M : K, ldb = tB ? K : N, bm, bn, slices = ss__gemm_slices(M, N, K);
        int pm = (M + SS__GEMM_MR - 1) / SS__GEMM_MR, pn = (N + SS__GEMM_NR - 1) / SS__GEMM_NR;
        int bm_min = (pm + SS__GEMM_MC / SS__GEMM_MR - 1) / (SS__GEMM_MC / SS__GEMM_MR);
        size_t na = (size_t)(tA ? K : M) * lda, nb = (size_t)(tB ? N : K) * ldb, nc = (size_t)M * N;
        float *A = test_alloc(na), *B = test_alloc(nb), *C0 = test_alloc(nc);
        float *C1 = test_alloc(nc), *C2 = test_alloc(nc);
        ss__gemm_job job;
        test_fill(A, na, &rng, -1, 1);
        test_fill(B, nb, &rng, -1, 1);
        test_fill(C0, nc, &rng, -1, 1);
        memcpy(C1, C0, nc * sizeof(float));
        ss_gemm_builtin(tA, tB, M, N, K, 0.75f, A, lda, B, ldb, 0.5f, C1, N);
        job.transA = tA, job.transB = tB, job.M = M, job.N = N, job.K = K;
        job.alpha = 0.75f, job.beta = 0.5f, job.A = A, job.B = B, job.C = C2;
        job.lda = lda, job.ldb = ldb, job.ldc = N;
        for (bm = bm_min; bm <= pm; bm += bm < bm_min + 3 ? 1 : pm / 3 + 1)
            for (bn = 1; bn <= pn; bn += bn < 3 ? 1 : pn / 3 + 1) {
                memcpy(C2, C0, nc * sizeof(float));
                if (slices > 1)
                    ss__gemm_run_sliced(&job, slices, bm, bn);
                else
                    ss__gemm_run(&job, bm, bn);
                grids++;
                if (memcmp(C1, C2, nc * sizeof(float)) != 0) {
                    printf("  grid %dx%d differs (M=%d N=%d K=%d)\n", bm, bn, M, N, K);
                    same = 0;
                }
            }
        free(A), free(B), free(C0), free(C1), free(C2);
    }
    sprintf(name, "builtin gemm: %d tile grids give the default grid's bits", grids);
    test_true(same && grids > 20, name);
}

/* Under SS_USE_CBLAS: the built-in kernel and OpenBLAS agree within 1e-5 relative. */
static void cblas_agreement(void) {
#ifdef SS_USE_CBLAS
    ss_rng rng;
    int t, M = 300, N = 257, K = 513;
    float *A = test_alloc((size_t)M * K), *B = test_alloc((size_t)K * N);
    float *C1 = test_alloc((size_t)M * N), *C2 = test_alloc((size_t)M * N);
    double maxrel = 0;
    ss_rng_seed(&rng, 9);
    test_fill(A, (size_t)M * K, &rng, 0.0f, 1.0f); /* positive: no cancellation, relative error is meaningful */
    test_fill(B, (size_t)K * N, &rng, 0.0f, 1.0f);
    for (t = 0; t < 4; t++) {
        size_t i;
        ss_gemm(t >> 1, t & 1, M, N, K, 1.0f, A, t >> 1 ? M : K, B, t & 1 ? K : N, 0.0f, C1, N);
        ss_gemm_builtin(t >> 1, t & 1, M, N, K, 1.0f, A, t >> 1 ? M : K, B, t & 1 ? K : N, 0.0f, C2, N);
        for (i = 0; i < (size_t)M * N; i++) {
            double rel = fabs((double)C1[i] - C2[i]) / fabs((double)C1[i]);
            if (rel > maxrel || rel != rel) maxrel = rel;
        }
    }
    test_report(maxrel <= 1e-5, "cblas vs builtin: within 1e-5 relative", maxrel);
    free(A), free(B), free(C1), free(C2);
#else
    printf("NOTE cblas agreement is checked by the cblas build of make test\n");
#endif
}

/* The scratch ss_gemm borrows has a fallback for when SS_MALLOC refuses it. For each case the
   product runs with the buffer and with the first allocation refused: both must ask for exactly
   one buffer, take the path the shape says (K slices or not), give the same bits and leave
   nothing allocated. names: what asks, what the fallback gives, what must not leak. */
static void scratch_fallback(const int (*cases)[5], int ncases, int sliced, uint64_t seed,
                             const char *const names[3]) {
    ss_rng rng;
    int s, same = 1, fell_back = 1, leaked = 0;
    ss_rng_seed(&rng, seed);
    for (s = 0; s < ncases; s++) {
        int tA = cases[s][0], tB = cases[s][1], M = cases[s][2], N = cases[s][3], K = cases[s][4];
        int lda = tA ? M : K, ldb = tB ? K : N;
        size_t na = (size_t)(tA ? K : M) * lda, nb = (size_t)(tB ? N : K) * ldb, nc = (size_t)M * N;
        float *A = test_alloc(na), *B = test_alloc(nb), *C0 = test_alloc(nc);
        float *C1 = test_alloc(nc), *C2 = test_alloc(nc);
        const float beta = s == 1 ? 0.0f : -0.5f;
        long live = alloc_live;
        test_fill(A, na, &rng, -1, 1);
        test_fill(B, nb, &rng, -1, 1);
        test_fill(C0, nc, &rng, -1, 1);
        memcpy(C1, C0, nc * sizeof(float));
        memcpy(C2, C0, nc * sizeof(float));
        arm_failure(-1);
        ss_gemm_builtin(tA, tB, M, N, K, 1.25f, A, lda, B, ldb, beta, C1, N);
        fell_back &= alloc_calls == 1; /* asked for, and had */
        arm_failure(0);                /* the scratch is the first allocation */
        ss_gemm_builtin(tA, tB, M, N, K, 1.25f, A, lda, B, ldb, beta, C2, N);
        fell_back &= alloc_calls == 1 && (ss__gemm_slices(M, N, K) > 1) == sliced;
        arm_failure(-1);
        same &= memcmp(C1, C2, nc * sizeof(float)) == 0;
        leaked |= alloc_live != live;
        free(A), free(B), free(C0), free(C1), free(C2);
    }
    test_true(fell_back, names[0]);
    test_true(same, names[1]);
    test_true(!leaked, names[2]);
}

/* K slices keep their partial products on the heap (when that fails: small pieces of C on the
   stack); products with several row blocks pack op(B) once (when that fails: every tile packs
   its own panels). */
static void scratch_fallbacks(void) {
    static const int sliced[][5] = {/* tA, tB, M, N, K */
                                    {1, 0, 256, 256, 4096}, {0, 1, 37, 45, 2100},
                                    {1, 1, 101, 67, 4100}};
    static const int prepacked[][5] = {/* more than MC rows, K blocks, odd edges */
                                       {0, 1, 600, 200, 300}, {0, 0, 700, 130, 517},
                                       {1, 1, 650, 70, 260},  {1, 0, 333, 1030, 64}};
    static const char *const slice_names[3] = {
        "builtin gemm: K slices ask for one buffer (refused here)",
        "builtin gemm: K slices on the stack give the heap path's bits",
        "builtin gemm: K slices leak nothing"};
    static const char *const prepack_names[3] = {
        "builtin gemm: B packed once asks for one buffer (refused here)",
        "builtin gemm: B packed by every tile gives the packed-once bits",
        "builtin gemm: B packed once leaks nothing"};
    scratch_fallback(sliced, 3, 1, 13, slice_names);
    scratch_fallback(prepacked, 4, 0, 17, prepack_names);
}

int main(void) {
    printf("%s\n", ss_build_info());
    sweep(ss_gemm, "ss_gemm");
#ifdef SS_USE_CBLAS
    sweep(ss_gemm_builtin, "ss_gemm_builtin"); /* ss_gemm is OpenBLAS here: test ours too */
#endif
    thread_invariance();
    nested_calls();
    grid_invariance();
    scratch_fallbacks();
    cblas_agreement();
    return test_summary("test_gemm");
}
