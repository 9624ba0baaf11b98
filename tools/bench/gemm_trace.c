/* tools/bench/gemm_trace.c - where the matrix-product time of one training update goes: every
   ss_gemm call of `reps` updates (`ss bench train`'s batch and update, from
   tools/cmd_bench_train.c) is timed through the SS_SGEMM hook of section 4 and
   added up per shape, then printed with calls per update, milliseconds per update and GFLOP/s.
     cc -std=c99 -O2 -march=native -fopenmp -o build/gemm_trace tools/bench/gemm_trace.c -lm
     OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE build/gemm_trace configs/best_mla-o.json 3
   Calls made inside a parallel region (the tiled attention core's per-head products) are timed
   on their own thread, so their milliseconds add up thread time, not wall time: the report says
   which shapes ran that way. A benchmark, run by hand. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void trace_gemm(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc);
#define SS_SGEMM trace_gemm
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "../common.c"
#include "../cmd_bench_train.c"

typedef struct trace_shape {
    int tA, tB, M, N, K;
    long calls, nested; /* nested: calls made inside a parallel region */
    double seconds;
} trace_shape;

#define TRACE_MAX 1024
static trace_shape shapes[TRACE_MAX];
static int n_shapes, tracing, overflow;

static void trace_gemm(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    double t0 = ss_time_seconds(), dt;
    int nested = 0, i;
    ss_gemm_builtin(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    dt = ss_time_seconds() - t0;
#ifdef _OPENMP
    nested = omp_in_parallel();
#endif
    if (!tracing) return;
#ifdef _OPENMP
#pragma omp critical(gemm_trace)
#endif
    {
        for (i = 0; i < n_shapes; i++)
            if (shapes[i].tA == tA && shapes[i].tB == tB && shapes[i].M == M &&
                shapes[i].N == N && shapes[i].K == K)
                break;
        if (i == n_shapes && n_shapes < TRACE_MAX) {
            memset(&shapes[i], 0, sizeof shapes[i]);
            shapes[i].tA = tA, shapes[i].tB = tB, shapes[i].M = M, shapes[i].N = N, shapes[i].K = K;
            n_shapes++;
        }
        if (i < n_shapes) {
            shapes[i].calls++, shapes[i].nested += nested, shapes[i].seconds += dt;
        } else {
            overflow = 1;
        }
    }
}

static int by_time(const void *a, const void *b) {
    double x = ((const trace_shape *)a)->seconds, y = ((const trace_shape *)b)->seconds;
    return x < y ? 1 : x > y ? -1 : 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "configs/best_mla-o.json";
    const int reps = argc > 2 ? atoi(argv[2]) : 3, B = 32, T = 128;
    ss_config cfg;
    ss_model model;
    ss_adamw opt;
    int *ids, *targets, i, rep;
    double update_s = 0.0, wall_gemm = 0.0, nested_gemm = 0.0;
    if (reps < 1 || reps > 100) {
        fprintf(stderr, "usage: gemm_trace [CONFIG.json] [updates 1-100]\n");
        return 2;
    }
    if (bench_train_setup("gemm_trace", path, B, T, &cfg, &model, &ids, &targets) < 0) return 1;
    ss_adamw_default(&opt);
    for (rep = -1; rep < reps; rep++) { /* update -1 warms up, untraced */
        double t0 = ss_time_seconds();
        tracing = rep >= 0;
        bench_train_update(&model, &opt, ids, targets, B, T, rep + 2);
        if (tracing) update_s += ss_time_seconds() - t0;
    }
    qsort(shapes, (size_t)n_shapes, sizeof shapes[0], by_time);
    for (i = 0; i < n_shapes; i++) {
        if (shapes[i].nested) nested_gemm += shapes[i].seconds;
        else wall_gemm += shapes[i].seconds;
    }
    printf("# gemm_trace: %s, %s, batch %d x %d, sums over %d updates\n",
           ss_build_info(), path, B, T, reps);
    printf("update %.1f ms; products outside parallel regions %.1f ms (%.0f%% of the update); "
           "inside them %.1f ms of thread time\n", 1e3 * update_s / reps, 1e3 * wall_gemm / reps,
           100.0 * wall_gemm / update_s, 1e3 * nested_gemm / reps);
    printf("| form | M | N | K | calls/update | ms/update | GFLOP/s | in parallel region |\n"
           "|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (i = 0; i < n_shapes; i++) {
        const trace_shape *s = &shapes[i];
        printf("| %c%c | %d | %d | %d | %.0f | %.2f | %.1f | %s |\n", s->tA ? 'T' : 'N',
               s->tB ? 'T' : 'N', s->M, s->N, s->K, (double)s->calls / reps,
               1e3 * s->seconds / reps, 2.0 * s->M * s->N * s->K * s->calls / s->seconds / 1e9,
               s->nested == s->calls ? "yes (thread time)" : s->nested ? "partly" : "no");
    }
    if (overflow) printf("(more than %d shapes: the rest were not counted)\n", TRACE_MAX);
    free(ids), free(targets);
    ss_model_free(&model);
    return 0;
}
