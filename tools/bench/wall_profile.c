/* tools/bench/wall_profile.c - where the wall-clock time of a training update goes, on machines
   without perf: a timer on the calling (master) thread's id interrupts it every 200 us of wall
   time, and the handler records the interrupted instruction and the return addresses found by
   walking the frame-pointer chain (the tool is built with -fno-omit-frame-pointer). The walk
   reads only inside the master thread's stack, so it cannot fault (glibc's backtrace() could,
   in a signal handler, and did on the device machine). libgomp keeps no frame pointer, so the
   chain of a thread inside a parallel region ends there; the caller of the matrix product under
   way is recorded instead by the SS_SGEMM hook (section 4), which the master thread's products
   pass through, and appended to the sample after a 1. The master thread's
   stack says what the update is doing at that moment: a serial step, its share of a parallel
   loop, or waiting in libgomp for the other threads. tools/bench/wall_profile.sh builds this,
   runs it and turns the stacks into a table of functions. x86-64 Linux with glibc; a benchmark
   tool, run by hand.
     tools/bench/wall_profile.sh configs/best_mla-o.json 10 16     (config, updates, threads)
   Output (stdout): "# update ..." then one "map START-END PATH" line per executable mapping of
   the process, then one line per sample: the interrupted address and the return addresses in
   hex, innermost first. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
static void prof_gemm(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc);
#define SS_SGEMM prof_gemm
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "../common.c"
#include "../cmd_bench_train.c"

#define PROF_SAMPLES 100000
#define PROF_DEPTH 12
static uintptr_t prof_stack[PROF_SAMPLES][PROF_DEPTH];
static int prof_depth[PROF_SAMPLES];
static volatile sig_atomic_t prof_on;
static volatile int prof_n;
static uintptr_t stack_lo, stack_hi; /* the master thread's stack */
static volatile uintptr_t gemm_ra[2]; /* return addresses of the master's product under way */

/* The hook: the product itself, with its two innermost return addresses (inside ss_gemm or its
   caller, then one up) published while it runs on the master thread outside parallel regions. */
static __attribute__((noinline)) void prof_gemm(int tA, int tB, int M, int N, int K, float alpha,
                                                const float *A, int lda, const float *B, int ldb,
                                                float beta, float *C, int ldc) {
    const int outer = !omp_in_parallel();
    if (outer) {
        const uintptr_t *fp = (const uintptr_t *)__builtin_frame_address(0);
        const uintptr_t *up = (const uintptr_t *)fp[0];
        gemm_ra[1] = (uintptr_t)up >= stack_lo && (uintptr_t)up + 16 <= stack_hi ? up[1] : 0;
        gemm_ra[0] = fp[1];
    }
    ss_gemm_builtin(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (outer) gemm_ra[0] = gemm_ra[1] = 0;
}

/* The interrupted instruction, then the return address of each frame on the rbp chain while
   the chain stays inside the stack, 8-byte aligned and growing towards its base. */
static void prof_handler(int sig, siginfo_t *info, void *context) {
    const ucontext_t *uc = (const ucontext_t *)context;
    uintptr_t fp;
    int i, d = 0;
    (void)sig, (void)info;
    if (!prof_on || prof_n >= PROF_SAMPLES) return;
    i = prof_n++; /* only the master thread receives the signal */
    prof_stack[i][d++] = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    while (d < PROF_DEPTH - 3 && fp >= stack_lo && fp + 16 <= stack_hi && fp % 8 == 0) {
        const uintptr_t next = ((const uintptr_t *)fp)[0], ret = ((const uintptr_t *)fp)[1];
        if (ret == 0) break;
        prof_stack[i][d++] = ret;
        if (next <= fp) break;
        fp = next;
    }
    if (gemm_ra[0]) /* 1 marks the appended pair */
        prof_stack[i][d++] = 1, prof_stack[i][d++] = gemm_ra[0], prof_stack[i][d++] = gemm_ra[1];
    prof_depth[i] = d;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "configs/best_mla-o.json";
    const int reps = argc > 2 ? atoi(argv[2]) : 5, B = 32, T = 128;
    ss_config cfg;
    ss_model model;
    ss_adamw opt;
    struct sigevent sev;
    struct sigaction sa;
    struct itimerspec its;
    pthread_attr_t attr;
    void *stack_addr;
    size_t stack_size;
    timer_t timer;
    int *ids, *targets, rep, i, j;
    double seconds = 0.0;
    char line[512];
    FILE *maps;
    if (reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: wall_profile [CONFIG.json] [updates 1-1000]\n");
        return 2;
    }
    if (bench_train_setup("wall_profile", path, B, T, &cfg, &model, &ids, &targets) < 0) return 1;
    ss_adamw_default(&opt);
    if (pthread_getattr_np(pthread_self(), &attr) != 0 ||
        pthread_attr_getstack(&attr, &stack_addr, &stack_size) != 0) {
        fprintf(stderr, "wall_profile: cannot find the thread's stack\n");
        return 1;
    }
    pthread_attr_destroy(&attr);
    stack_lo = (uintptr_t)stack_addr, stack_hi = stack_lo + stack_size;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = prof_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN, &sa, NULL);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGRTMIN;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    its.it_interval.tv_sec = 0;
    its.it_interval.tv_nsec = 200000;
    its.it_value = its.it_interval;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0 || timer_settime(timer, 0, &its, NULL) != 0) {
        perror("wall_profile: timer");
        return 1;
    }
    for (rep = -1; rep < reps; rep++) { /* update -1 warms up, unsampled */
        double t0 = ss_time_seconds();
        prof_on = rep >= 0;
        bench_train_update(&model, &opt, ids, targets, B, T, rep + 2);
        if (rep >= 0) seconds += ss_time_seconds() - t0;
    }
    prof_on = 0;
    timer_delete(timer);
    printf("# update %.1f ms (%s, %s, %d updates), %d samples\n", 1e3 * seconds / reps, path,
           ss_build_info(), reps, prof_n);
    maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        char range[64], perm[8], file[400];
        if (sscanf(line, "%63s %7s %*s %*s %*s %399s", range, perm, file) == 3 && perm[2] == 'x')
            printf("map %s %s\n", range, file);
    }
    if (maps) fclose(maps);
    for (i = 0; i < prof_n; i++) {
        for (j = 0; j < prof_depth[i]; j++)
            printf("%s%lx", j ? " " : "", (unsigned long)prof_stack[i][j]);
        printf("\n");
    }
    free(ids), free(targets);
    ss_model_free(&model);
    return 0;
}
