/* tools/cmd_bench_train.c - `ss bench train`: one full training update (forward, backward,
   gradient clipping, AdamW) at batch B x T on random ids with ~15% of positions scored, as the
   seed's MLM step, for each config given (default: the seed's three). Each config runs in a
   child process so that its peak memory (ru_maxrss) is its own. Figures are medians.
   GFLOP/update counts the matrix products the model defines (bench_train_flops), so that
   GFLOP/s can be set against the machine's FP32 peak. */
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
    double ms, tokens_per_s, peak_mib, flops;
    size_t params;
    int ok;
} bench_train_out;

/* Matrix-product FLOPs of one training update (forward and backward; 2 m n k per product), as
   the model defines them rather than as a kernel computes them (the tiled attention core's
   backward recomputes Q K^T, which is not counted):
   - every 2-D weight (out, in) of the registry but the vocabulary embedding multiplies all
     B*T rows: 2*out*in per row forward, twice that backward (dX and dW): 6*out*in per row;
   - the attention core of each layer, per head: Q K^T and P V forward, dP, dV, dQ and dK
     backward, six products of 2*T*T*Dh: 12*B*H*T^2*Dh;
   - the output projection, tied to the embedding, scores only the `kept` rows (the masked
     positions): 6*kept*D*V, or with the vocabulary subspace 6*kept*(D*Rv + Rv*V) (the
     vocab_proj weight is counted once more here, on the output side).
   RMSNorm, RoPE, softmax, SwiGLU and AdamW are not counted. */
double bench_train_flops(const ss_config *cfg, const ss_params *params, int B, int T, int kept) {
    const double N = (double)B * T;
    double flops = 0.0;
    int i;
    for (i = 0; i < params->count; i++) {
        const ss_tensor *t = &params->tensors[i];
        if (t->ndim == 2 && strcmp(t->name, "encoder_model.vocab_embed.weight") != 0)
            flops += 6.0 * N * (double)t->numel;
    }
    flops += 12.0 * cfg->num_hidden_layers * (double)B * cfg->num_attention_heads * (double)T * T *
             cfg->head_dim;
    if (cfg->vocab_subspace)
        flops += 6.0 * kept * ((double)cfg->hidden_size * cfg->vocab_rank +
                               (double)cfg->vocab_rank * cfg->vocab_size);
    else
        flops += 6.0 * kept * (double)cfg->hidden_size * cfg->vocab_size;
    return flops;
}

/* The benchmark's batch: B*T random ids and ~15% of positions scored (their own id as the
   target, the rest SS_IGNORE_INDEX), the same for every run. Returns the scored count. */
int bench_train_batch(int vocab_size, int B, int T, int *ids, int *targets) {
    ss_rng rng;
    int i, kept = 0;
    ss_rng_seed(&rng, 7);
    for (i = 0; i < B * T; i++) {
        ids[i] = (int)(ss_rng_u32(&rng) % (uint32_t)vocab_size);
        targets[i] = ss_rng_uniform(&rng) < 0.15f ? ids[i] : SS_IGNORE_INDEX;
        kept += targets[i] != SS_IGNORE_INDEX;
    }
    return kept;
}

/* What every training bench starts from: config `path`, its MLM model for batch B x T (seed
   42) and the benchmark's batch in fresh *ids and *targets. Returns the scored count, or -1
   with the error printed after `who` and nothing left allocated. */
int bench_train_setup(const char *who, const char *path, int B, int T, ss_config *cfg,
                      ss_model *model, int **ids, int **targets) {
    memset(model, 0, sizeof *model);
    *ids = *targets = NULL;
    if (ss_config_load(cfg, path) != SS_OK ||
        ss_model_init(model, cfg, SS_HEAD_MLM, B, T, 42) != SS_OK) {
        fprintf(stderr, "%s: %s\n", who, ss_last_error_detail());
        return -1;
    }
    *ids = (int *)malloc((size_t)B * T * sizeof(int));
    *targets = (int *)malloc((size_t)B * T * sizeof(int));
    if (!*ids || !*targets) {
        fprintf(stderr, "%s: out of memory\n", who);
        free(*ids), free(*targets), ss_model_free(model);
        *ids = *targets = NULL;
        return -1;
    }
    return bench_train_batch(cfg->vocab_size, B, T, *ids, *targets);
}

/* One timed unit: a full training update (zero grad, forward, backward, clip, AdamW step t). */
void bench_train_update(ss_model *model, ss_adamw *opt, const int *ids, const int *targets, int B,
                        int T, int t) {
    ss_model_stats stats;
    ss_model_zero_grad(model);
    ss_model_forward(model, &stats, ids, NULL, targets, NULL, B, T, 1);
    ss_model_backward(model, 1.0f);
    ss_clip_grad_norm(&model->params, 1.0);
    ss_adamw_step(&model->params, opt, 5e-4, t);
}

static void bench_train_one(const char *path, int B, int T, int reps, bench_train_out *out) {
    ss_config cfg;
    ss_model model;
    ss_adamw opt;
    struct rusage ru;
    double t[64];
    int *ids, *targets, rep, kept;
    memset(out, 0, sizeof *out);
    kept = bench_train_setup("ss bench train", path, B, T, &cfg, &model, &ids, &targets);
    if (kept < 0) return;
    ss_adamw_default(&opt);
    for (rep = -1; rep < reps; rep++) { /* rep -1 warms up */
        double t0 = ss_time_seconds();
        bench_train_update(&model, &opt, ids, targets, B, T, rep + 2);
        if (rep >= 0) t[rep] = ss_time_seconds() - t0;
    }
    out->ms = 1e3 * tool_median(t, reps);
    out->tokens_per_s = B * T / (out->ms / 1e3);
    out->params = ss_model_param_count(&model);
    out->flops = bench_train_flops(&cfg, &model.params, B, T, kept);
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
    printf("| config | parameters | ms/update | tokens/s | peak RSS MiB | GFLOP/update | GFLOP/s |\n"
           "|---|---:|---:|---:|---:|---:|---:|\n");
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
        printf("| %s | %zu | %.1f | %.0f | %.0f | %.2f | %.1f |\n", configs[i], out.params, out.ms,
               out.tokens_per_s, out.peak_mib, out.flops / 1e9, out.flops / (out.ms * 1e6));
        fflush(stdout);
    }
    return 0;
}
