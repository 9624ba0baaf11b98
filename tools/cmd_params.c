/* tools/cmd_params.c - `ss params CONFIG`: every tensor of the model a config describes, with its
   PyTorch name, shape and size, the total (exact, and in the seed's binary-M form, where
   "13.47M" means 13.47 * 2^20), and the memory of a training step at a given batch shape. */
#include <stdio.h>
#include <string.h>
#include "ss.h"

static double mib(size_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

int cmd_params(int argc, char **argv) {
    tool_opt opts[] = {
        {"--batch", 1, "batch size B for the activation memory (default 32)", NULL},
        {"--seq", 1, "sequence length T (default: max_position_embeddings)", NULL},
        {"--head", 1, "mlm (default) or classifier", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos, B, T, i;
    ss_config cfg;
    ss_model model;
    ss_model_sizes sizes;
    ss_head head = SS_HEAD_MLM;
    ss_result r;
    size_t total = 0;
    if (!tool_parse("params", argc, argv, 2, opts, n_opts, pos, 1, &n_pos)) return 2;
    if (opts[3].value || n_pos != 1) {
        tool_usage("params", "CONFIG.json [options]", opts, n_opts);
        return opts[3].value ? 0 : 2;
    }
    if (opts[2].value) {
        if (strcmp(opts[2].value, "classifier") == 0) head = SS_HEAD_CLASSIFIER;
        else if (strcmp(opts[2].value, "mlm") != 0) {
            fprintf(stderr, "ss params: --head must be mlm or classifier, got '%s'\n", opts[2].value);
            return 2;
        }
    }
    r = ss_config_load(&cfg, pos[0]);
    if (r != SS_OK) {
        fprintf(stderr, "ss params: %s\n", ss_last_error_detail());
        return 1;
    }
    if (!tool_opt_int(&opts[0], 32, 1, 1 << 20, &B)) return 2;
    if (!tool_opt_int(&opts[1], cfg.max_position_embeddings, 1, cfg.max_position_embeddings, &T)) return 2;
    /* the smallest activation block: only the registry matters for the table */
    r = ss_model_init(&model, &cfg, head, 1, 1, 0);
    if (r == SS_OK) r = ss_model_memory_size(&sizes, &cfg, head, B, T);
    if (r != SS_OK) {
        fprintf(stderr, "ss params: %s: %s\n", ss_result_string(r), ss_last_error_detail());
        ss_model_free(&model);
        return 1;
    }
    printf("| tensor | shape | parameters |\n|---|---|---:|\n");
    for (i = 0; i < model.params.count; i++) {
        const ss_tensor *t = &model.params.tensors[i];
        char shape[64];
        int d, n = 0;
        for (d = 0; d < t->ndim; d++)
            n += sprintf(shape + n, "%s%d", d ? ", " : "", t->shape[d]);
        printf("| %s | (%s) | %zu |\n", t->name, shape, t->numel);
        total += t->numel;
    }
    printf("\n%s: %zu parameters = %.2fM (binary, as the seed prints) = %.2f million\n", pos[0],
           total, (double)total / 1048576.0, (double)total / 1e6);
    printf("memory at batch %d x sequence %d: parameters + gradients + AdamW moments %.1f MiB, "
           "activations %.1f MiB, activation gradients %.1f MiB, total %.1f MiB\n",
           B, T, mib(sizes.param_bytes), mib(sizes.act_bytes), mib(sizes.act_grad_bytes),
           mib(sizes.total_bytes));
    ss_model_free(&model);
    return 0;
}
