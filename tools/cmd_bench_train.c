/* tools/cmd_bench_train.c - `ss bench train`: one full training update (forward, backward,
   gradient clipping, AdamW) at batch B x T on random ids with ~15% of positions scored, as the
   seed's MLM step, for each config given (default: the seed's three). Each config runs in a
   child process so that its peak memory (ru_maxrss) is its own. Figures are medians. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ss.h"
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct bench_train_out {
    double ms, tokens_per_s, peak_mib;
    size_t params;
    int ok;
} bench_train_out;

static void bench_train_one(const char *path, int B, int T, int reps, bench_train_out *out) {
    ss_config cfg;
    ss_model model;
    ss_model_stats stats;
    ss_adamw opt;
    ss_rng rng;
    struct rusage ru;
    double t[64];
    int *ids, *targets, i, rep;
    memset(out, 0, sizeof *out);
    memset(&model, 0, sizeof model);
    if (ss_config_load(&cfg, path) != SS_OK || ss_model_init(&model, &cfg, SS_HEAD_MLM, B, T, 42) != SS_OK) {
        fprintf(stderr, "ss bench train: %s\n", ss_last_error_detail());
        return;
    }
    ids = (int *)malloc((size_t)B * T * sizeof(int));
    targets = (int *)malloc((size_t)B * T * sizeof(int));
    if (!ids || !targets) {
        free(ids), free(targets), ss_model_free(&model);
        return;
    }
    ss_rng_seed(&rng, 7);
    for (i = 0; i < B * T; i++) {
        ids[i] = (int)(ss_rng_u32(&rng) % (uint32_t)cfg.vocab_size);
        targets[i] = ss_rng_uniform(&rng) < 0.15f ? ids[i] : SS_IGNORE_INDEX;
    }
    ss_adamw_default(&opt);
    for (rep = -1; rep < reps; rep++) { /* rep -1 warms up */
        double t0 = ss_time_seconds();
        ss_model_zero_grad(&model);
        ss_model_forward(&model, &stats, ids, NULL, targets, NULL, B, T, 1);
        ss_model_backward(&model, 1.0f);
        ss_clip_grad_norm(&model.params, 1.0);
        ss_adamw_step(&model.params, &opt, 5e-4, rep + 2);
        if (rep >= 0) t[rep] = ss_time_seconds() - t0;
    }
    out->ms = 1e3 * tool_median(t, reps);
    out->tokens_per_s = B * T / (out->ms / 1e3);
    out->params = ss_model_param_count(&model);
    getrusage(RUSAGE_SELF, &ru);
    out->peak_mib = (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
    out->ok = 1;
    free(ids), free(targets);
    ss_model_free(&model);
}

int bench_train(int argc, char **argv) {
    tool_opt opts[] = {
        {"--config", 1, "a config to measure (repeatable; also positional)", NULL, 1},
        {"--batch", 1, "batch size B (default 32)", NULL, 0},
        {"--seq", 1, "sequence length T (default 128)", NULL, 0},
        {"--reps", 1, "timed updates, median reported (default 5)", NULL, 0},
        {"--threads", 1, "OpenMP threads (default: all processors)", NULL, 0},
        {"--help", 0, "this text", NULL, 0},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *defaults[3] = {"configs/mha_rope_baseline.json", "configs/best_mla.json",
                               "configs/best_mla-o.json"};
    const char *pos[16 + TOOL_MAX_VALUES], **configs;
    int n_pos, B, T, reps, threads = 1, i;
    if (!tool_parse("bench train", argc, argv, 3, opts, n_opts, pos, 16, &n_pos)) return 2;
    for (i = 0; i < opts[0].n_values; i++) pos[n_pos++] = opts[0].values[i];
    if (opts[5].value) {
        tool_usage("bench train", "[CONFIG.json...] (default: the seed's three configs)", opts, n_opts);
        return 0;
    }
#ifdef _OPENMP
    threads = omp_get_num_procs();
#endif
    if (!tool_opt_int(&opts[1], 32, 1, 4096, &B) || !tool_opt_int(&opts[2], 128, 1, 1 << 16, &T) ||
        !tool_opt_int(&opts[3], 5, 1, 64, &reps) || !tool_opt_int(&opts[4], threads, 1, 1024, &threads))
        return 2;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    configs = n_pos ? pos : defaults;
    if (!n_pos) n_pos = 3;
    printf("# ss bench train: %s\n", ss_build_info());
    printf("# batch %d x %d, %d thread%s, one update = forward + backward + clip + AdamW, median of %d\n",
           B, T, threads, threads > 1 ? "s" : "", reps);
    printf("| config | parameters | ms/update | tokens/s | peak RSS MiB |\n|---|---:|---:|---:|---:|\n");
    fflush(stdout);
    for (i = 0; i < n_pos; i++) {
        bench_train_out out;
        int fd[2], st;
        pid_t pid;
        memset(&out, 0, sizeof out);
        if (pipe(fd) != 0) return 1;
        pid = fork();
        if (pid == 0) {
            close(fd[0]);
            bench_train_one(configs[i], B, T, reps, &out);
            if (write(fd[1], &out, sizeof out) != (ssize_t)sizeof out) _exit(1);
            _exit(out.ok ? 0 : 1);
        }
        close(fd[1]);
        if (pid < 0 || read(fd[0], &out, sizeof out) != (ssize_t)sizeof out) out.ok = 0;
        close(fd[0]);
        if (pid > 0) waitpid(pid, &st, 0);
        if (!out.ok) {
            fprintf(stderr, "ss bench train: %s failed\n", configs[i]);
            return 1;
        }
        printf("| %s | %zu | %.1f | %.0f | %.0f |\n", configs[i], out.params, out.ms,
               out.tokens_per_s, out.peak_mib);
        fflush(stdout);
    }
    return 0;
}
