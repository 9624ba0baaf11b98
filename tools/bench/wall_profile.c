/* tools/bench/wall_profile.c - where the wall-clock time of a training update goes, on machines
   without perf: a timer on the calling (master) thread's id interrupts it every 200 us of wall
   time, and the handler records the interrupted call stack (glibc backtrace, primed before the
   timer starts so that the handler allocates nothing). The master thread's stack says what the
   update is doing at that moment: a serial step, its share of a parallel loop, or waiting in
   libgomp for the other threads. tools/bench/wall_profile.sh builds this, runs it and turns the
   stacks into a table of functions. Linux and glibc only; a benchmark tool, run by hand.
     tools/bench/wall_profile.sh configs/best_mla-o.json 10 16     (config, updates, threads)
   Output (stdout): "# update ..." then one "map START-END PATH" line per executable mapping of
   the process, then one line per sample: its return addresses in hex, innermost first. */
#define _GNU_SOURCE
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "../common.c"
#include "../cmd_bench_train.c"

#define PROF_SAMPLES 100000
#define PROF_DEPTH 12
static void *prof_stack[PROF_SAMPLES][PROF_DEPTH];
static int prof_depth[PROF_SAMPLES];
static volatile sig_atomic_t prof_on;
static volatile int prof_n;

static void prof_handler(int sig) {
    (void)sig;
    if (prof_on && prof_n < PROF_SAMPLES) {
        const int i = prof_n++; /* only the master thread receives the signal */
        prof_depth[i] = backtrace(prof_stack[i], PROF_DEPTH);
    }
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "configs/best_mla-o.json";
    const int reps = argc > 2 ? atoi(argv[2]) : 5, B = 32, T = 128;
    ss_config cfg;
    ss_model model;
    ss_adamw opt;
    struct sigevent sev;
    struct itimerspec its;
    timer_t timer;
    void *prime[4];
    int *ids, *targets, rep, i, j;
    double seconds = 0.0;
    char line[512];
    FILE *maps;
    if (reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: wall_profile [CONFIG.json] [updates 1-1000]\n");
        return 2;
    }
    memset(&model, 0, sizeof model);
    if (ss_config_load(&cfg, path) != SS_OK ||
        ss_model_init(&model, &cfg, SS_HEAD_MLM, B, T, 42) != SS_OK) {
        fprintf(stderr, "wall_profile: %s\n", ss_last_error_detail());
        return 1;
    }
    ids = (int *)malloc(sizeof(int) * B * T);
    targets = (int *)malloc(sizeof(int) * B * T);
    if (!ids || !targets) return 1;
    bench_train_batch(cfg.vocab_size, B, T, ids, targets);
    ss_adamw_default(&opt);
    backtrace(prime, 4); /* loads the unwinder now, not inside the handler */
    signal(SIGRTMIN, prof_handler);
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
        for (j = 0; j < prof_depth[i]; j++) printf("%s%lx", j ? " " : "", (unsigned long)prof_stack[i][j]);
        printf("\n");
    }
    free(ids), free(targets);
    ss_model_free(&model);
    return 0;
}
