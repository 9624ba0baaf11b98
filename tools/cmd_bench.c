/* tools/cmd_bench.c - `ss bench gemm`: GFLOP/s of the matrix products a training step runs, for
   the built-in kernel and, in the same run, for OpenBLAS when the tool is built with CBLAS=1
   (`make bench` does that when libopenblas is installed), on 1 thread and on all threads.
   Each training shape (M,K,N) is the forward product y(M,N) = x(M,K) W^T; its two backward
   products follow from it: dx = dy W (NN) and dW = dy^T x (TN). Figures are medians. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ss.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef SS_USE_CBLAS
#include <cblas.h>
#endif

typedef void (*bench_gemm_fn)(int, int, int, int, int, float, const float *, int, const float *,
                              int, float, float *, int);

typedef struct bench_form {
    const char *name, *what;
    int tA, tB;
} bench_form;

static const bench_form forms[3] = {
    {"NT", "y = x W^T", 0, 1},
    {"NN", "dx = dy W", 0, 0},
    {"TN", "dW = dy^T x", 1, 0},
};

/* The product of form f for the forward shape (M,K,N): its m, n, k. */
static void form_dims(int f, int M, int K, int N, int *m, int *n, int *k) {
    if (f == 0) *m = M, *n = N, *k = K;      /* y (M,N) = x (M,K) W^T, W (N,K) */
    else if (f == 1) *m = M, *n = K, *k = N; /* dx (M,K) = dy (M,N) W (N,K) */
    else *m = N, *n = K, *k = M;             /* dW (N,K) = dy^T (N,M) x (M,K) */
}

static void bench_set_threads(int threads) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
#if defined(SS_USE_CBLAS) && defined(OPENBLAS_VERSION)
    openblas_set_num_threads(threads);
#endif
    (void)threads;
}

/* Seconds of one call of fn, form f, on `threads` threads. */
static double bench_call(bench_gemm_fn fn, int threads, int f, int m, int n, int k,
                         const float *A, const float *B, float *C) {
    int lda = forms[f].tA ? m : k, ldb = forms[f].tB ? k : n;
    double t0;
    bench_set_threads(threads);
    t0 = ss_time_seconds();
    fn(forms[f].tA, forms[f].tB, m, n, k, 1.0f, A, lda, B, ldb, 0.0f, C, n);
    return ss_time_seconds() - t0;
}

/* Median over repetitions of t_num[r] / t_den[r]: a ratio of two runs that follow each other,
   so that a change of the machine's speed between repetitions cancels out. */
static double bench_ratio(const double *t_num, const double *t_den, int reps) {
    double q[64];
    int r;
    for (r = 0; r < reps; r++) q[r] = t_num[r] / t_den[r];
    return tool_median(q, reps);
}

static void print_cpu(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) printf("cpu: %s", colon + 2);
            break;
        }
    fclose(f);
}

static int bench_gemm(int argc, char **argv) {
    tool_opt opts[] = {
        {"--threads", 1, "the multi-thread column (default: all processors)", NULL},
        {"--reps", 1, "timed repetitions per figure, median reported (default 5)", NULL},
        {"--quick", 0, "small shapes, 2 repetitions: a smoke test, not a measurement", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    int shapes[5][3] = {{4096, 256, 256}, {4096, 256, 768}, {4096, 256, 1024},
                        {4096, 1024, 256}, {4096, 256, 30522}};
    int threads_max = 1, reps = 5, n_pos, s, f, n_threads;
    const char *pos[1];
    size_t max_a = 0, max_b = 0, max_c = 0, i;
    float *A, *B, *C;
    ss_rng rng;
    tool_progress progress;
    int have_blas = 0;
#ifdef SS_USE_CBLAS
    have_blas = 1;
#endif
#ifdef _OPENMP
    threads_max = omp_get_num_procs();
#endif
    if (!tool_parse("bench gemm", argc, argv, 3, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[3].value) {
        tool_usage("bench gemm", "[options]", opts, n_opts);
        return 0;
    }
    if (!tool_opt_int(&opts[0], threads_max, 1, 1024, &threads_max)) return 2;
    if (!tool_opt_int(&opts[1], opts[2].value ? 2 : 5, 1, 64, &reps)) return 2;
    if (opts[2].value)
        for (s = 0; s < 5; s++) {
            shapes[s][0] = 512;
            if (shapes[s][2] > 2000) shapes[s][2] = 3001;
        }
#ifndef _OPENMP
    threads_max = 1; /* built without -fopenmp: one thread only */
#endif
    n_threads = threads_max > 1 ? 2 : 1;

    for (s = 0; s < 5; s++) /* every operand of every form fits in the largest M*K, K*N, M*N */
        for (f = 0; f < 3; f++) {
            int m, n, k;
            form_dims(f, shapes[s][0], shapes[s][1], shapes[s][2], &m, &n, &k);
            if ((size_t)m * k > max_a) max_a = (size_t)m * k;
            if ((size_t)k * n > max_b) max_b = (size_t)k * n;
            if ((size_t)m * n > max_c) max_c = (size_t)m * n;
        }
    A = (float *)malloc(max_a * sizeof(float));
    B = (float *)malloc(max_b * sizeof(float));
    C = (float *)malloc(max_c * sizeof(float));
    if (!A || !B || !C) {
        fprintf(stderr, "ss bench gemm: out of memory for %zu floats\n", max_a + max_b + max_c);
        free(A), free(B), free(C);
        return 1;
    }
    ss_rng_seed(&rng, 1);
    for (i = 0; i < max_a; i++) A[i] = ss_rng_uniform(&rng) - 0.5f;
    for (i = 0; i < max_b; i++) B[i] = ss_rng_uniform(&rng) - 0.5f;

    printf("# ss bench gemm: %s\n", ss_build_info());
    print_cpu();
#if defined(SS_USE_CBLAS) && defined(OPENBLAS_VERSION)
    printf("reference: %s(%s)\n", OPENBLAS_VERSION, openblas_get_config());
    if (getenv("OPENBLAS_CORETYPE"))
        printf("note: OPENBLAS_CORETYPE=%s is set and may hold OpenBLAS to an older kernel\n",
               getenv("OPENBLAS_CORETYPE"));
    /* OpenBLAS's threads spin for ~2^28 cycles after each call; on a small machine they take a
       core from the columns timed next (ours on 2 threads measured 1.0x its one-thread speed on
       the shorter products, 1.8-2.0x with them asleep). Our threads sleep at once with
       OMP_WAIT_POLICY=PASSIVE; OPENBLAS_THREAD_TIMEOUT=4 puts OpenBLAS's on the same footing.
       OpenBLAS reads it when it loads, so it is set from outside (make bench does). */
    if (n_threads > 1 && !getenv("OPENBLAS_THREAD_TIMEOUT"))
        printf("note: OPENBLAS_THREAD_TIMEOUT is unset: OpenBLAS's idle threads spin and slow the\n"
               "columns after 'BLAS Nt'; run with OPENBLAS_THREAD_TIMEOUT=4 as make bench does\n");
#elif defined(SS_USE_CBLAS)
    printf("reference: cblas_sgemm\n");
#else
    printf("reference: none (build with CBLAS=1 to compare against OpenBLAS)\n");
#endif
    printf("GFLOP/s: median of %d; 1 thread%s. Each repetition runs every column once, one after\n"
           "the other; ratio and speed-up are medians of the ratios within a repetition.\n\n",
           reps, n_threads > 1 ? " and all threads" : "");
    printf("| forward (M,K,N) | form | m x k x n | ours 1t |%s", have_blas ? " BLAS 1t | ratio |" : "");
    if (n_threads > 1)
        printf(" ours %dt |%s speed-up |", threads_max, have_blas ? " BLAS Nt | ratio |" : "");
    printf("\n|---|---|---|---:|%s%s\n", have_blas ? "---:|---:|" : "",
           n_threads > 1 ? (have_blas ? "---:|---:|---:|---:|" : "---:|---:|") : "");

    tool_progress_init(&progress, "bench", 15.0, "products");
    for (s = 0; s < 5; s++)
        for (f = 0; f < 3; f++) {
            /* column c: ours (c even) or the reference (c odd), on 1 thread (c < 2) or all */
            static double t[4][64];
            bench_gemm_fn fn[4] = {ss_gemm_builtin, ss_gemm, ss_gemm_builtin, ss_gemm};
            double ratio[3];
            int m, n, k, c, r, step = have_blas ? 1 : 2;
            form_dims(f, shapes[s][0], shapes[s][1], shapes[s][2], &m, &n, &k);
            printf("| (%d,%d,%d) | %s %s | %dx%dx%d |", shapes[s][0], shapes[s][1], shapes[s][2],
                   forms[f].name, forms[f].what, m, k, n);
            for (r = -1; r < reps; r++) /* r = -1: a warm-up call of each column */
                for (c = 0; c < 2 * n_threads; c += step) {
                    double sec = bench_call(fn[c], c < 2 ? 1 : threads_max, f, m, n, k, A, B, C);
                    if (r >= 0) t[c][r] = sec;
                }
            /* the ratios first: tool_median sorts what it is given */
            ratio[0] = have_blas ? bench_ratio(t[1], t[0], reps) : 0.0;
            ratio[1] = have_blas && n_threads > 1 ? bench_ratio(t[3], t[2], reps) : 0.0;
            ratio[2] = n_threads > 1 ? bench_ratio(t[0], t[2], reps) : 0.0;
            for (c = 0; c < 2 * n_threads; c += 2) {
                printf(" %.1f |", 2.0 * m * n * k / tool_median(t[c], reps) / 1e9);
                if (have_blas)
                    printf(" %.1f | %.2f |", 2.0 * m * n * k / tool_median(t[c + 1], reps) / 1e9,
                           ratio[c / 2]);
            }
            if (n_threads > 1) printf(" %.2f |", ratio[2]);
            printf("\n");
            fflush(stdout);
            tool_progress_update(&progress, s * 3.0 + f + 1);
        }
    tool_progress_end(&progress);
    free(A), free(B), free(C);
    return 0;
}

/* `ss bench step`: one training step's forward and backward (no optimizer yet) of a config's
   MLM model on a random batch with 15% of the positions as targets, the seed's masking rate. */
static int bench_step(int argc, char **argv) {
    tool_opt opts[] = {
        {"--config", 1, "model config (default configs/best_mla-o.json)", NULL},
        {"--batch", 1, "batch size B (default 32)", NULL},
        {"--seq", 1, "sequence length T (default 128)", NULL},
        {"--reps", 1, "timed steps, median reported (default 5)", NULL},
        {"--threads", 1, "OpenMP threads (default: all processors)", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1], *path;
    int n_pos, B, T, reps, threads = 1, i, rep;
    ss_config cfg;
    ss_model model;
    ss_model_stats stats;
    ss_rng rng;
    ss_result r;
    int *ids, *targets;
    double t[64], fwd[64];
    if (!tool_parse("bench step", argc, argv, 3, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[5].value) {
        tool_usage("bench step", "[options]", opts, n_opts);
        return 0;
    }
    path = opts[0].value ? opts[0].value : "configs/best_mla-o.json";
#ifdef _OPENMP
    threads = omp_get_num_procs();
#endif
    if (!tool_opt_int(&opts[1], 32, 1, 4096, &B) || !tool_opt_int(&opts[2], 128, 1, 1 << 16, &T) ||
        !tool_opt_int(&opts[3], 5, 1, 64, &reps) || !tool_opt_int(&opts[4], threads, 1, 1024, &threads))
        return 2;
    bench_set_threads(threads);
    r = ss_config_load(&cfg, path);
    if (r == SS_OK) r = ss_model_init(&model, &cfg, SS_HEAD_MLM, B, T, 42);
    if (r != SS_OK) {
        fprintf(stderr, "ss bench step: %s: %s\n", ss_result_string(r), ss_last_error_detail());
        return 1;
    }
    ids = (int *)malloc((size_t)B * T * sizeof(int));
    targets = (int *)malloc((size_t)B * T * sizeof(int));
    if (!ids || !targets) {
        fprintf(stderr, "ss bench step: out of memory\n");
        free(ids), free(targets), ss_model_free(&model);
        return 1;
    }
    ss_rng_seed(&rng, 7);
    for (i = 0; i < B * T; i++) {
        ids[i] = (int)(ss_rng_u32(&rng) % (uint32_t)cfg.vocab_size);
        targets[i] = ss_rng_uniform(&rng) < 0.15f ? ids[i] : SS_IGNORE_INDEX;
    }
    for (rep = -1; rep < reps; rep++) { /* rep -1 warms up */
        double t0 = ss_time_seconds(), t1;
        ss_model_zero_grad(&model);
        ss_model_forward(&model, &stats, ids, NULL, targets, NULL, B, T, 1);
        t1 = ss_time_seconds();
        ss_model_backward(&model, 1.0f);
        if (rep >= 0) {
            fwd[rep] = t1 - t0;
            t[rep] = ss_time_seconds() - t0;
        }
    }
    {
        double step = tool_median(t, reps), f = tool_median(fwd, reps);
        printf("# ss bench step: %s\n", ss_build_info());
        print_cpu();
        printf("%s: %zu parameters, batch %d x %d, %d thread%s, %d of %d positions scored\n", path,
               ss_model_param_count(&model), B, T, threads, threads > 1 ? "s" : "", stats.kept,
               B * T);
        printf("forward %.1f ms, forward+backward %.1f ms (median of %d), %.0f tokens/s, loss %.4f\n",
               1e3 * f, 1e3 * step, reps, B * T / step, stats.loss);
    }
    free(ids), free(targets);
    ss_model_free(&model);
    return 0;
}

/* ---- ss bench peak: the FP32 multiply-add peak the matrix products are measured against ----
   Every thread runs PEAK_CHAINS independent chains of vector FMAs (x = x * a + b, enough chains
   to hide the FMA latency on two pipes), nothing else, for about 0.3 s; GFLOP/s = 2 x lanes x
   FMAs / wall time. It is what `-march=native` code can reach on this machine at this thread
   count (clocks fall as more cores run wide vectors), so "% of peak" elsewhere divides by it. */
#if defined(__AVX512F__)
#include <immintrin.h>
#define PEAK_LANES 16
typedef __m512 peak_vec;
#define PEAK_SET1(x) _mm512_set1_ps(x)
#define PEAK_FMA(x, a, b) _mm512_fmadd_ps(x, a, b)
#define PEAK_SUM(x) _mm512_reduce_add_ps(x)
#define PEAK_ISA "AVX-512 FMA"
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PEAK_LANES 8
typedef __m256 peak_vec;
#define PEAK_SET1(x) _mm256_set1_ps(x)
#define PEAK_FMA(x, a, b) _mm256_fmadd_ps(x, a, b)
static float peak_sum8(__m256 x) {
    float f[8], s = 0.0f;
    int i;
    _mm256_storeu_ps(f, x);
    for (i = 0; i < 8; i++) s += f[i];
    return s;
}
#define PEAK_SUM(x) peak_sum8(x)
#define PEAK_ISA "AVX2 FMA"
#endif

#ifdef PEAK_LANES
#define PEAK_CHAINS 12
/* FMAs of one thread's run: `iters` rounds of PEAK_CHAINS vector FMAs; the sum is returned so
   that the compiler keeps the work. */
static float peak_run(long iters) {
    const peak_vec a = PEAK_SET1(0.9999999f), b = PEAK_SET1(1e-7f);
    peak_vec x0 = PEAK_SET1(0.5f), x1 = PEAK_SET1(0.6f), x2 = PEAK_SET1(0.7f);
    peak_vec x3 = PEAK_SET1(0.8f), x4 = PEAK_SET1(0.9f), x5 = PEAK_SET1(1.0f);
    peak_vec x6 = PEAK_SET1(1.1f), x7 = PEAK_SET1(1.2f), x8 = PEAK_SET1(1.3f);
    peak_vec x9 = PEAK_SET1(1.4f), x10 = PEAK_SET1(1.5f), x11 = PEAK_SET1(1.6f);
    long i;
    for (i = 0; i < iters; i++) {
        x0 = PEAK_FMA(x0, a, b), x1 = PEAK_FMA(x1, a, b), x2 = PEAK_FMA(x2, a, b);
        x3 = PEAK_FMA(x3, a, b), x4 = PEAK_FMA(x4, a, b), x5 = PEAK_FMA(x5, a, b);
        x6 = PEAK_FMA(x6, a, b), x7 = PEAK_FMA(x7, a, b), x8 = PEAK_FMA(x8, a, b);
        x9 = PEAK_FMA(x9, a, b), x10 = PEAK_FMA(x10, a, b), x11 = PEAK_FMA(x11, a, b);
    }
    return PEAK_SUM(x0) + PEAK_SUM(x1) + PEAK_SUM(x2) + PEAK_SUM(x3) + PEAK_SUM(x4) +
           PEAK_SUM(x5) + PEAK_SUM(x6) + PEAK_SUM(x7) + PEAK_SUM(x8) + PEAK_SUM(x9) +
           PEAK_SUM(x10) + PEAK_SUM(x11);
}

/* GFLOP/s of `threads` threads running peak_run(iters) at once. */
static double peak_gflops(int threads, long iters) {
    double t0, dt;
    volatile float sink = 0.0f;
    int t;
    t0 = ss_time_seconds();
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static, 1)
#endif
    for (t = 0; t < threads; t++) {
        float s = peak_run(iters);
        if (s == 12345.0f) sink = s; /* never true; keeps the result alive */
    }
    dt = ss_time_seconds() - t0;
    (void)sink;
    return 2.0 * PEAK_LANES * PEAK_CHAINS * (double)iters * threads / dt / 1e9;
}
#endif

static int bench_peak(int argc, char **argv) {
    tool_opt opts[] = {
        {"--threads", 1, "thread counts to measure (repeatable; default 1 and all processors)", NULL, 1},
        {"--reps", 1, "timed runs per thread count, median reported (default 5)", NULL, 0},
        {"--help", 0, "this text", NULL, 0},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos, reps, procs = 1;
    if (!tool_parse("bench peak", argc, argv, 3, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[2].value) {
        tool_usage("bench peak", "[options]", opts, n_opts);
        return 0;
    }
    if (!tool_opt_int(&opts[1], 5, 1, 64, &reps)) return 2;
#ifdef _OPENMP
    procs = omp_get_num_procs();
#endif
#ifndef PEAK_LANES
    (void)procs;
    fprintf(stderr, "ss bench peak: this build has no FMA vectors (built without AVX2+FMA or "
                    "AVX-512; the default -march=native has them on any x86-64 since 2013)\n");
    return 1;
#else
    {
        int list[TOOL_MAX_VALUES + 2], n = 0, i, r;
        const long iters = 20000000; /* about 0.3 s at 3 GHz, two FMA pipes */
        if (opts[0].n_values == 0) {
            list[n++] = 1;
            if (procs > 1) list[n++] = procs;
        }
        for (i = 0; i < opts[0].n_values; i++) {
            tool_opt one = opts[0];
            one.value = opts[0].values[i];
            if (!tool_opt_int(&one, 1, 1, 1024, &list[n])) return 2;
            n++;
        }
#ifndef _OPENMP
        for (i = 0; i < n; i++)
            if (list[i] > 1) {
                fprintf(stderr, "ss bench peak: built without OpenMP, so one thread only\n");
                return 2;
            }
#endif
        printf("# ss bench peak: %s, %s, %d chains of %d-lane FMAs per thread, median of %d\n",
               ss_build_info(), PEAK_ISA, PEAK_CHAINS, PEAK_LANES, reps);
        print_cpu();
        printf("| threads | GFLOP/s | GFLOP/s per thread |\n|---:|---:|---:|\n");
        peak_gflops(list[0], iters / 10); /* wake the clocks and the thread team */
        for (i = 0; i < n; i++) {
            double g[64];
            for (r = 0; r < reps; r++) g[r] = peak_gflops(list[i], iters);
            printf("| %d | %.1f | %.1f |\n", list[i], tool_median(g, reps),
                   tool_median(g, reps) / list[i]);
            fflush(stdout);
        }
    }
    return 0;
#endif
}

int cmd_bench(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[2], "gemm") == 0) return bench_gemm(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "step") == 0) return bench_step(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "tokenize") == 0) return tokenize_bench(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "train") == 0) return bench_train(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "svd") == 0) return bench_svd(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "attention") == 0) return bench_attention(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "peak") == 0) return bench_peak(argc, argv);
    fprintf(stderr, "usage: ss bench gemm [--threads N] [--reps N] [--quick]\n"
                    "       ss bench step [--config C] [--batch B] [--seq T] [--reps N] [--threads N]\n"
                    "       ss bench tokenize --vocab vocab.txt [--input FILE]\n"
                    "       ss bench train [--config C]... [--batch B] [--seq T] [--reps N] [--threads N]\n"
                    "       ss bench svd [--sizes ...] [--reps N] [--threads N] [--quick]\n"
                    "       ss bench attention [--hidden ...] [--seq ...] [--latent-scale ...] [--quick]\n"
                    "       ss bench peak [--threads N]... [--reps N]\n");
    return argc >= 3 && strcmp(argv[2], "--help") == 0 ? 0 : 2;
}
