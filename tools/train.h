/* tools/train.h - the training engine behind `ss pretrain`, `ss finetune` and `ss compare`: one
   loop for the three objectives (masked LM, causal LM, sentence classification) with evaluation,
   logging (metrics.jsonl, metrics.csv, loss.svg), checkpoints that resume bit for bit, a
   progress line, Ctrl-C handling and a stop on non-finite values. */
#ifndef SS_TOOL_TRAIN_H
#define SS_TOOL_TRAIN_H

#include "ss.h"

typedef enum train_task { TASK_MLM, TASK_CLM, TASK_CLS } train_task;

/* What the config's pre_train / fine_tune block sets (seed key names in comments). */
typedef struct train_opts {
    train_task task;
    uint64_t seed;           /* seed */
    int batch_size;          /* train_batch_size / batch_size: sequences per optimizer update */
    int grad_accum;          /* gradient_accumulation_steps: micro-batches per update */
    int eval_batch_size;     /* eval_batch_size (fine-tuning: batch_size) */
    int max_len;             /* max_seq_length / max_length */
    double lr;               /* learning_rate / lr */
    double weight_decay;     /* weight_decay */
    double warmup_ratio;     /* warmup_ratio (pre-training: 0.1, as the seed's script) */
    double max_grad_norm;    /* max_grad_norm (1.0, HF's default) */
    double mlm_probability;  /* mlm_probability */
    ss_lr_kind schedule;     /* lr_schedule: "linear" (seed), "cosine", "constant" */
    int64_t steps;           /* num_train_steps; fine-tuning: epochs * ceil(n / batch) */
    double epochs;           /* epochs (fine-tuning) */
    int eval_steps;          /* eval_steps (fine-tuning: 1000 as the seed) */
    int logging_steps;       /* logging_steps (50 pre-training, 100 fine-tuning) */
    int save_total_limit;    /* save_total_limit: checkpoints kept besides the best (2) */
    int pack;                /* pack_sequences: pack lines into full sequences (CLM always) */
} train_opts;

/* Read a config's "pre_train" (task MLM/CLM) or "fine_tune" (task CLS) object into o, starting
   from the seed's defaults; unknown keys and wrong types are errors naming the key. Returns 0,
   or -1 after printing the error. A NULL block gives the defaults. */
int train_opts_from_json(train_opts *o, const ss_json *block, train_task task, const char *source);

/* One run. The caller builds the model and the data; the engine owns the loop and out_dir. */
typedef struct train_job {
    const char *cmd;          /* "pretrain", "finetune": prefixes messages */
    const char *out_dir;      /* created if missing */
    ss_model *model;
    const ss_tokenizer *tok;
    const ss_dataset *train;  /* required */
    const ss_dataset *valid;  /* evaluated every eval_steps and at the end; may be NULL */
    const ss_dataset *test;   /* evaluated once at the end (fine-tuning's reported accuracy) */
    train_opts o;
    int resume;               /* continue from out_dir's last checkpoint */
    int64_t stop_after;       /* > 0: return after this many updates as if killed (tests) */
    int64_t nan_at_step;      /* > 0: make the loss of this update NaN (tests) */
    int quiet;                /* no progress line, no periodic lines */
    const char *config_text;  /* the resolved config JSON: full_config.json is made from it */
} train_job;

#define TRAIN_MAX_EVALS 512
typedef struct train_result {
    int64_t steps;                 /* updates done */
    double eval_loss, eval_acc;    /* the last evaluation (acc: MLM or classification accuracy) */
    double best_acc;               /* best eval accuracy (CLM: lowest loss, as -loss) */
    int64_t best_step;
    double test_loss, test_acc;    /* on job->test */
    double tokens_per_s, samples_per_s, seconds;
    int n_evals;                   /* the validation curve, for plots */
    double eval_steps[TRAIN_MAX_EVALS], eval_losses[TRAIN_MAX_EVALS], eval_accs[TRAIN_MAX_EVALS];
} train_result;

/* 0 done, 1 failed (message printed), 130 interrupted by SIGINT, SIGTERM or SIGUSR1 after a
   checkpoint. Under MPI (tools/ddp.h) every process calls it: each runs its share of every
   update's micro-batches, the gradients are summed over the processes, and rank 0 alone
   evaluates, logs, prints and writes out_dir; all return the same status. */
int train_run(train_job *job, train_result *res);

/* Whether the processes can share an update: each takes whole micro-batches, so
   gradient_accumulation_steps must be a multiple of their number. 0, or -1 (rank 0 prints the
   setting that would do). Always 0 in one process. */
int train_check_split(const train_opts *o, const char *cmd);

/* Evaluate on a data set: mean loss as the seed reports it (MLM: mean of batch means; CLM:
   token mean; classification: example mean) and accuracy (MLM: argmax correct over masked
   positions; classification: over examples; CLM: 0). Masks are drawn from a fixed stream, so
   every evaluation of a run sees the same corruption. */
void train_evaluate(ss_model *model, const ss_tokenizer *tok, const train_opts *o,
                    const ss_dataset *ds, double *loss, double *acc);

/* mkdir -p for one level; 0 or -1 (message printed). */
int train_mkdir(const char *path);

#endif
