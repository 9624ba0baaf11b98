/* tools/cmd_compare.c - `ss compare`: the seed's experiment in one command. Pre-trains and
   fine-tunes each config (or each point of a sweep over one base config) on the same data and
   budget, with several seeds, and prints the seed's results table as Markdown (attention,
   accuracy mean +- std over seeds, parameters, latent sizes, RoPE dims, tokens/s), writing
   OUT/results.md and OUT/validation.svg (validation curves, mean over seeds with a min-max band).
   Without data options it uses the built-in synthetic data set (`ss data`), made once in OUT/data. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd_train.h"
#include "config.h"
#include "plot.h"

#define COMPARE_MAX_RUNS 64
#define COMPARE_MAX_SEEDS 16

typedef struct compare_run {
    char name[256];
    const char *config_path;
    char **sets;       /* the sweep point's overrides (borrowed from the combos) */
    int n_sets;
    ss_config cfg;
    size_t params;
    int n_done;        /* seeds that finished */
    double mlm_acc[COMPARE_MAX_SEEDS], test_acc[COMPARE_MAX_SEEDS], tps[COMPARE_MAX_SEEDS];
    double eval_loss[COMPARE_MAX_SEEDS];
    int n_evals;
    double steps[TRAIN_MAX_EVALS], curve[COMPARE_MAX_SEEDS][TRAIN_MAX_EVALS];
} compare_run;

static void mean_std(const double *x, int n, double *mean, double *std) {
    double s = 0, q = 0;
    int i;
    for (i = 0; i < n; i++) s += x[i];
    *mean = n ? s / n : 0;
    for (i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *std = n > 1 ? sqrt(q / (n - 1)) : 0; /* sample standard deviation */
}

/* "MHA", "MLA", "MLA-o", or a mix such as "1 MHA + 5 MLA-o". */
static void attention_label(const ss_config *c, char *buf, size_t size) {
    int dense = c->num_dense_layers, latent = c->num_hidden_layers - dense;
    const char *kind = c->output_subspace ? "MLA-o" : "MLA";
    if (latent <= 0) snprintf(buf, size, "MHA");
    else if (dense == 0) snprintf(buf, size, "%s", kind);
    else snprintf(buf, size, "%d MHA + %d %s", dense, latent, kind);
}

static void latent_label(const ss_config *c, char *buf, size_t size) {
    if (c->num_dense_layers >= c->num_hidden_layers) snprintf(buf, size, "-");
    else if (c->output_subspace) snprintf(buf, size, "%d / %d / %d", c->q_latent_dim, c->kv_latent_dim, c->o_latent_dim);
    else snprintf(buf, size, "%d / %d / -", c->q_latent_dim, c->kv_latent_dim);
}

/* Make the built-in data set in dir unless it is there already. */
static int builtin_data(const char *dir, int quiet) {
    char vocab[1200];
    char *av[5];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
    if (access(vocab, R_OK) == 0) return 0;
    av[0] = (char *)"ss", av[1] = (char *)"data", av[2] = (char *)"--out", av[3] = (char *)dir;
    av[4] = (char *)"--quiet";
    return cmd_data(quiet ? 5 : 4, av) == 0 ? 0 : -1;
}

static int write_table(FILE *f, const compare_run *runs, int n_runs, int n_seeds, int finetune,
                       int clm) {
    int i;
    fprintf(f, "| config | attention | parameters | q / kv / o latent | RoPE dims | %s | %s | tokens/s |\n",
            clm ? "valid. perplexity" : "MLM accuracy", finetune ? "test accuracy" : "-");
    fprintf(f, "|---|---|---:|---|---:|---:|---:|---:|\n");
    for (i = 0; i < n_runs; i++) {
        const compare_run *r = &runs[i];
        char att[64], lat[64], n[32], a1[64], a2[64];
        double m, s, ppl[COMPARE_MAX_SEEDS];
        int k;
        attention_label(&r->cfg, att, sizeof att);
        latent_label(&r->cfg, lat, sizeof lat);
        snprintf(n, sizeof n, "%.3fM", (double)r->params / 1e6);
        if (clm) {
            for (k = 0; k < r->n_done; k++) ppl[k] = exp(r->eval_loss[k]);
            mean_std(ppl, r->n_done, &m, &s);
            snprintf(a1, sizeof a1, "%.2f ± %.2f", m, s);
        } else {
            mean_std(r->mlm_acc, r->n_done, &m, &s);
            snprintf(a1, sizeof a1, "%.2f ± %.2f", 100 * m, 100 * s);
        }
        mean_std(r->test_acc, r->n_done, &m, &s);
        if (finetune) snprintf(a2, sizeof a2, "%.2f ± %.2f", 100 * m, 100 * s);
        else snprintf(a2, sizeof a2, "-");
        mean_std(r->tps, r->n_done, &m, &s);
        fprintf(f, "| %s | %s | %s | %s | %d | %s | %s | %.0f |\n", r->name, att, n, lat,
                r->cfg.rope_dims, a1, a2, m);
    }
    fprintf(f, "\n%d seed%s per config; accuracies in %% as mean ± sample std over seeds.\n",
            n_seeds, n_seeds == 1 ? "" : "s");
    return 0;
}

static void draw_curves(const char *path, const compare_run *runs, int n_runs, int clm) {
    plot_series s[COMPARE_MAX_RUNS];
    static double mean[COMPARE_MAX_RUNS][TRAIN_MAX_EVALS], lo[COMPARE_MAX_RUNS][TRAIN_MAX_EVALS],
        hi[COMPARE_MAX_RUNS][TRAIN_MAX_EVALS];
    plot_spec spec;
    int i, j, k;
    memset(s, 0, sizeof s);
    memset(&spec, 0, sizeof spec);
    for (i = 0; i < n_runs; i++) {
        const compare_run *r = &runs[i];
        for (j = 0; j < r->n_evals; j++) {
            double sum = 0, a = HUGE_VAL, b = -HUGE_VAL;
            for (k = 0; k < r->n_done; k++) {
                double v = r->curve[k][j];
                sum += v;
                if (v < a) a = v;
                if (v > b) b = v;
            }
            mean[i][j] = r->n_done ? sum / r->n_done : NAN;
            lo[i][j] = a, hi[i][j] = b;
        }
        s[i].name = r->name;
        s[i].x = r->steps;
        s[i].y = mean[i];
        s[i].y_lo = r->n_done > 1 ? lo[i] : NULL;
        s[i].y_hi = r->n_done > 1 ? hi[i] : NULL;
        s[i].n = r->n_evals;
    }
    spec.title = clm ? "Validation loss during pre-training (mean over seeds, band: min-max)"
                     : "Validation MLM accuracy during pre-training (mean over seeds, band: min-max)";
    spec.xlabel = "update";
    spec.ylabel = clm ? "validation loss" : "MLM accuracy";
    spec.y_min = spec.y_max = NAN;
    spec.markers = 1;
    plot_lines_svg(path, &spec, s, n_runs);
}

int cmd_compare(int argc, char **argv) {
    tool_opt opts[] = {
        {"--base", 1, "base config for --sweep", NULL, 0},
        {"--sweep", 1, "KEY=V1,V2,... a grid over the base config (repeatable)", NULL, 1},
        {"--seeds", 1, "seeds per config (default 1): pre_train.seed and fine_tune.seed + 0, 1, ...", NULL, 0},
        {"--set", 1, "override for every config, KEY=VALUE (repeatable)", NULL, 1},
        {"--train", 1, "pre-training text (default: the built-in data)", NULL, 0},
        {"--valid", 1, "validation text", NULL, 0},
        {"--cls-train", 1, "classification TSV to fine-tune on (first 90% train, last 10% watched)", NULL, 0},
        {"--cls-dev", 1, "classification TSV whose accuracy is reported", NULL, 0},
        {"--vocab", 1, "vocab.txt", NULL, 0},
        {"--out", 1, "output directory (default compare-out)", NULL, 0},
        {"--objective", 1, "mlm (default) or clm: compare decoders by validation perplexity", NULL, 0},
        {"--no-finetune", 0, "pre-train only", NULL, 0},
        {"--threads", 1, "OpenMP threads (default: all)", NULL, 0},
        {"--quiet", 0, "only the table", NULL, 0},
        {"--resume", 0, "continue an interrupted compare in the same --out (finished runs are kept)", NULL, 0},
        {"--help", 0, "this text", NULL, 0},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *configs[COMPARE_MAX_RUNS];
    char data_dir[1100], path[1200], err[1024];
    const char *out = NULL, *train = NULL, *valid = NULL, *cls_train = NULL, *cls_dev = NULL,
               *vocab = NULL;
    char train_b[1200], valid_b[1200], clst_b[1200], clsd_b[1200], vocab_b[1200];
    int n_configs = 0, n_seeds = 1, threads = 0, i, k, n_runs = 0, finetune, quiet, clm, status = 1;
    config_combo *combos = NULL;
    int n_combos = 0;
    compare_run *runs = NULL;
    train_result *res = NULL;
    FILE *f;
    if (!tool_parse("compare", argc, argv, 2, opts, n_opts, configs, COMPARE_MAX_RUNS, &n_configs))
        return 2;
    if (opts[15].value) {
        tool_usage("compare", "CONFIG.json... | --base C.json --sweep KEY=V1,V2 [--seeds N]", opts, n_opts);
        return 0;
    }
    if (!tool_opt_int(&opts[2], 1, 1, COMPARE_MAX_SEEDS, &n_seeds) ||
        !tool_opt_int(&opts[12], 0, 0, 4096, &threads))
        return 2;
    if ((n_configs > 0) == (opts[0].value != NULL)) {
        fprintf(stderr, "ss compare: give config files, or --base with --sweep (not both)\n");
        return 2;
    }
    out = opts[9].value ? opts[9].value : "compare-out";
    finetune = opts[11].value == NULL;
    quiet = opts[13].value != NULL;
    clm = opts[10].value && strcmp(opts[10].value, "clm") == 0;
    if (clm) finetune = 0;
    train = opts[4].value, valid = opts[5].value, cls_train = opts[6].value, cls_dev = opts[7].value;
    vocab = opts[8].value;
    if (train_mkdir(out) != 0) return 1;
    if (!train && !valid && !cls_train && !cls_dev && !vocab) {
        snprintf(data_dir, sizeof data_dir, "%s/data", out);
        if (builtin_data(data_dir, quiet) != 0) return 1;
        snprintf(train_b, sizeof train_b, "%s/train.txt", data_dir), train = train_b;
        snprintf(valid_b, sizeof valid_b, "%s/valid.txt", data_dir), valid = valid_b;
        snprintf(clst_b, sizeof clst_b, "%s/cls_train.tsv", data_dir), cls_train = clst_b;
        snprintf(clsd_b, sizeof clsd_b, "%s/cls_dev.tsv", data_dir), cls_dev = clsd_b;
        snprintf(vocab_b, sizeof vocab_b, "%s/vocab.txt", data_dir), vocab = vocab_b;
    } else if (!train || !vocab || (finetune && (!cls_train || !cls_dev))) {
        fprintf(stderr, "ss compare: with your own data give --train, --vocab and (unless "
                "--no-finetune) --cls-train and --cls-dev\n");
        return 2;
    }
    runs = (compare_run *)calloc(COMPARE_MAX_RUNS, sizeof *runs);
    res = (train_result *)malloc(sizeof *res);
    if (!runs || !res) goto done;
    if (opts[0].value) {
        const char *base = strrchr(opts[0].value, '/');
        if (config_expand_sweeps(opts[1].values, opts[1].n_values, &combos, &n_combos, err, sizeof err) != 0) {
            fprintf(stderr, "ss compare: %s\n", err);
            goto done;
        }
        if (n_combos > COMPARE_MAX_RUNS) {
            fprintf(stderr, "ss compare: %d sweep points; at most %d\n", n_combos, COMPARE_MAX_RUNS);
            goto done;
        }
        for (i = 0; i < n_combos; i++) {
            compare_run *r = &runs[n_runs++];
            r->config_path = opts[0].value;
            r->sets = combos[i].sets;
            r->n_sets = combos[i].n_sets;
            snprintf(r->name, sizeof r->name, "%s", combos[i].name[0] ? combos[i].name : (base ? base + 1 : opts[0].value));
        }
    } else {
        for (i = 0; i < n_configs; i++) {
            compare_run *r = &runs[n_runs++];
            const char *b = strrchr(configs[i], '/');
            char *dot;
            r->config_path = configs[i];
            snprintf(r->name, sizeof r->name, "%s", b ? b + 1 : configs[i]);
            if ((dot = strstr(r->name, ".json")) != NULL) *dot = '\0';
        }
    }
    for (i = 0; i < n_runs; i++) {
        compare_run *r = &runs[i];
        for (k = 0; k < n_seeds; k++) {
            const char *sets[TOOL_MAX_VALUES + 40];
            char seed_pre[64], seed_ft[64], run_dir[1200];
            int n_sets = 0, j, rc;
            pretrain_args pa;
            finetune_args fa;
            for (j = 0; j < r->n_sets; j++) sets[n_sets++] = r->sets[j];
            for (j = 0; j < opts[3].n_values; j++) sets[n_sets++] = opts[3].values[j];
            snprintf(seed_pre, sizeof seed_pre, "pre_train.seed=%d", 42 + k);
            snprintf(seed_ft, sizeof seed_ft, "fine_tune.seed=%d", 42 + k);
            sets[n_sets++] = seed_pre;
            snprintf(run_dir, sizeof run_dir, "%s/%s", out, r->name);
            if (train_mkdir(run_dir) != 0) goto done;
            snprintf(run_dir, sizeof run_dir, "%s/%s/seed-%d", out, r->name, 42 + k);
            if (!quiet) printf("== %s, seed %d: pre-training\n", r->name, 42 + k), fflush(stdout);
            memset(&pa, 0, sizeof pa);
            pa.config_path = r->config_path;
            pa.sets = sets;
            pa.n_sets = n_sets;
            pa.train_path = train, pa.valid_path = valid, pa.vocab_path = vocab;
            pa.out_dir = run_dir;
            pa.objective = opts[10].value;
            pa.quiet = 1;
            pa.threads = threads;
            pa.resume = opts[14].value != NULL;
            rc = pretrain_exec(&pa, res, &r->params, &r->cfg);
            if (rc != 0) goto done;
            r->mlm_acc[k] = res->eval_acc;
            r->eval_loss[k] = res->eval_loss;
            r->tps[k] = res->tokens_per_s;
            r->n_evals = res->n_evals;
            for (j = 0; j < res->n_evals; j++) {
                r->steps[j] = res->eval_steps[j];
                r->curve[k][j] = clm ? res->eval_losses[j] : res->eval_accs[j];
            }
            if (!quiet)
                printf("   %s %.4f, %.0f tokens/s\n", clm ? "validation loss" : "MLM accuracy",
                       clm ? res->eval_loss : res->eval_acc, res->tokens_per_s);
            if (finetune) {
                char ft_dir[1300];
                const char *fsets[TOOL_MAX_VALUES + 2];
                int nf = 0;
                for (j = 0; j < opts[3].n_values; j++) fsets[nf++] = opts[3].values[j];
                fsets[nf++] = seed_ft;
                snprintf(ft_dir, sizeof ft_dir, "%s/finetune", run_dir);
                memset(&fa, 0, sizeof fa);
                fa.from_dir = run_dir;
                fa.sets = fsets;
                fa.n_sets = nf;
                fa.train_path = cls_train, fa.dev_path = cls_dev;
                fa.out_dir = ft_dir;
                fa.quiet = 1;
                fa.threads = threads;
                fa.resume = opts[14].value != NULL;
                if (!quiet) printf("   fine-tuning\n"), fflush(stdout);
                rc = finetune_exec(&fa, res);
                if (rc != 0) goto done;
                r->test_acc[k] = res->test_acc;
                if (!quiet) printf("   test accuracy %.4f\n", res->test_acc);
            }
            r->n_done = k + 1;
        }
    }
    if (!quiet) printf("\n");
    write_table(stdout, runs, n_runs, n_seeds, finetune, clm);
    snprintf(path, sizeof path, "%s/results.md", out);
    f = fopen(path, "w");
    if (f) {
        write_table(f, runs, n_runs, n_seeds, finetune, clm);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/validation.svg", out);
    draw_curves(path, runs, n_runs, clm);
    printf("\nresults: %s/results.md\nvalidation curves: %s\n", out, path);
    status = 0;
done:
    if (combos) config_combos_free(combos, n_combos);
    free(runs);
    free(res);
    return status;
}
