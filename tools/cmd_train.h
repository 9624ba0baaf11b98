/* tools/cmd_train.h - pre-training and fine-tuning as functions, for `ss pretrain`,
   `ss finetune` and `ss compare` (which runs them in-process, quietly). */
#ifndef SS_TOOL_CMD_TRAIN_H
#define SS_TOOL_CMD_TRAIN_H

#include "train.h"

typedef struct pretrain_args {
    const char *config_path;        /* NULL with resume: out_dir/config.json */
    const char *const *sets;        /* --set overrides */
    int n_sets;
    const char *train_path, *valid_path, *vocab_path;
    const char *out_dir;            /* NULL: the config's pre_train.output_dir */
    const char *cache_dir;          /* token cache, or NULL */
    const char *objective;          /* "mlm", "clm", or NULL: the config's (default mlm) */
    int resume, quiet, threads;
    int64_t stop_after, nan_at;     /* testing aids (train_job) */
} pretrain_args;

typedef struct finetune_args {
    const char *from_dir;           /* a pre-training output directory */
    const char *config_path;        /* needed with from_scratch; else from_dir/full_config.json */
    const char *const *sets;
    int n_sets;
    const char *train_path, *dev_path, *vocab_path; /* vocab NULL: from_dir/vocab.txt */
    const char *out_dir;            /* NULL: from_dir/finetune-<task> */
    const char *cache_dir;
    int from_scratch, resume, quiet, threads;
    int64_t stop_after, nan_at;
} finetune_args;

/* 0 success, 1 failure (printed), 130 interrupted. *params gets the model's parameter count. */
int pretrain_exec(const pretrain_args *a, train_result *res, size_t *params, ss_config *cfg_out);
int finetune_exec(const finetune_args *a, train_result *res);

void train_set_threads(int threads);
int train_load_data(ss_dataset *ds, const char *path, const ss_tokenizer *tok, int max_len,
                    int pack, int num_labels, int tsv, const char *cache_dir, int quiet);

#endif
