/* tools/bench/gemm_tune.c - GFLOP/s of the built-in GEMM on the 15 products of a training step
   (the shapes of `ss bench gemm`), for one build's register tile and cache blocking. The
   blocking macros of subspace.h section 4 (SS__GEMM_MR under AVX-512, SS__GEMM_KC, _MC, _NB)
   take -D values, so that one script can build several variants and time them side by side on
   a new machine; docs/data/gemm_avx512_tune_20261129.txt holds such a run.
     cc -std=c99 -O2 -march=native -fopenmp -DSS__GEMM_KC=192 -DSS__GEMM_MC=384 \
        -o build/gemm_tune tools/bench/gemm_tune.c -lm
     taskset -c 2 build/gemm_tune 3 1      (median of 3 calls per product, 1 thread)
   Prints the blocking, one line per product (form, m x k x n, GFLOP/s) and their geometric
   mean. A benchmark, never a test: run by hand. */
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include <stdio.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    static const int shapes[5][3] = {{4096, 256, 256}, {4096, 256, 768}, {4096, 256, 1024},
                                     {4096, 1024, 256}, {4096, 256, 30522}};
    static const char *form_names[3] = {"NT", "NN", "TN"};
    const int reps = argc > 1 ? atoi(argv[1]) : 5, threads = argc > 2 ? atoi(argv[2]) : 1;
    const size_t n = (size_t)4096 * 30522; /* the largest operand of any product */
    float *A, *B, *C;
    double t[65], log_sum = 0.0;
    int s, f, r, count = 0;
    size_t i;
    if (reps < 1 || reps > 64 || threads < 1) {
        fprintf(stderr, "usage: gemm_tune [reps 1-64] [threads]\n");
        return 2;
    }
    A = (float *)malloc(n * sizeof(float));
    B = (float *)malloc(n * sizeof(float));
    C = (float *)malloc(n * sizeof(float));
    if (!A || !B || !C) {
        fprintf(stderr, "gemm_tune: out of memory\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        A[i] = (float)(i * 7919 % 1000) / 1000.0f - 0.5f;
        B[i] = (float)(i * 104729 % 997) / 997.0f - 0.5f;
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    printf("MR=%d NR=%d KC=%d MC=%d NB=%d threads=%d\n", SS__GEMM_MR, SS__GEMM_NR, SS__GEMM_KC,
           SS__GEMM_MC, SS__GEMM_NB, threads);
    for (s = 0; s < 5; s++)
        for (f = 0; f < 3; f++) { /* the forward y = x W^T and its two backward products */
            const int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
            const int tA = f == 2, tB = f == 0;
            const int m = f == 2 ? N : M, nn = f == 0 ? N : K, k = f == 0 ? K : f == 1 ? N : M;
            double gflops;
            for (r = 0; r <= reps; r++) { /* call 0 warms the caches and pages up */
                double t0 = ss_time_seconds();
                ss_gemm_builtin(tA, tB, m, nn, k, 1.0f, A, tA ? m : k, B, tB ? k : nn, 0.0f, C, nn);
                t[r] = ss_time_seconds() - t0;
            }
            qsort(t + 1, (size_t)reps, sizeof(double), cmp_double);
            gflops = 2.0 * m * nn * k / t[1 + reps / 2] / 1e9;
            log_sum += log(gflops), count++;
            printf("%s %5dx%5dx%5d %7.1f\n", form_names[f], m, k, nn, gflops);
        }
    printf("geomean %.1f\n", exp(log_sum / count));
    free(A), free(B), free(C);
    return 0;
}
