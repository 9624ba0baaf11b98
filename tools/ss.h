/* tools/ss.h - what the `ss` sub-commands share: option parsing, the progress line, small
   statistics. Each sub-command lives in its own tools/cmd_*.c file and is listed in tools/ss.c.
   Build (the Makefile runs this over every tools .c file except gen_unicode.c):
       cc -O2 -march=native -fopenmp -o ss tools/ss.c tools/common.c tools/cmd_NAME.c ... -lm */
#ifndef SS_TOOL_H
#define SS_TOOL_H

#include "../subspace.h"

#define TOOL_MAX_VALUES 32 /* occurrences of one repeatable option */

/* One command-line option: "--name value" when takes_value, "--name" otherwise. A repeatable
   option (multi = 1, e.g. --set a=1 --set b=2) keeps every occurrence in values, in order.
   Tables list the first four fields ({"--name", 1, "help", NULL}), plus multi for a repeatable
   one ({"--set", 1, "help", NULL, 1}); tool_parse fills values and n_values. */
typedef struct tool_opt {
    const char *name;  /* "--threads" */
    int takes_value;
    const char *help;  /* one line for the usage text */
    const char *value; /* set by tool_parse: the value (the last one when repeated), or "1" for a
                          flag; NULL when absent */
    int multi;         /* 1: may be given up to TOOL_MAX_VALUES times; 0: the last one wins */
    const char *values[TOOL_MAX_VALUES]; /* multi: set by tool_parse, borrowed from argv */
    int n_values;      /* multi: how many values hold */
} tool_opt;

/* Such tables leave the trailing fields to zero-initialisation, which -Wextra's
   missing-field-initializers reports; that is intended, so the report is turned off for the files
   that include this header (GCC and Clang both read this pragma; the warning is reported where
   the table is, so push/pop around the struct would not do). */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

/* Parse argv[first..argc) into opts; arguments not starting with "--" go to positional (up to
   max_positional; their count in *n_positional). Prints a message naming the bad argument and
   returns 0 on an unknown option, a missing value, too many positional arguments or a repeatable
   option given more than TOOL_MAX_VALUES times. Clears every option's n_values first. */
int tool_parse(const char *cmd, int argc, char **argv, int first, tool_opt *opts, int n_opts,
               const char **positional, int max_positional, int *n_positional);
/* Print "usage: ss <cmd> <args>" and the options' help lines to stdout. */
void tool_usage(const char *cmd, const char *args, const tool_opt *opts, int n_opts);
/* Integer value of an option, default when absent; prints an error and returns 0 on junk. */
int tool_opt_int(const tool_opt *opt, int default_value, int min, int max, int *out);
/* The same for a real number in min..max (strtod syntax: 0.5, 1e-3; NaN never passes). */
int tool_opt_double(const tool_opt *opt, double default_value, double min, double max,
                    double *out);

/* A progress line on stderr, redrawn at most 10 times a second, with rate and ETA; silent when
   stderr is not a terminal (logs and pipes stay clean). */
typedef struct tool_progress {
    const char *label, *unit;
    double total, start, last_draw;
    int enabled;
} tool_progress;
void tool_progress_init(tool_progress *p, const char *label, double total, const char *unit);
void tool_progress_update(tool_progress *p, double done);
void tool_progress_end(tool_progress *p);

/* Median of n values (sorts them in place). */
double tool_median(double *values, int n);

/* The sub-commands: each returns the process exit status (0 success, 1 failure, 2 usage). */
int cmd_bench(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_params(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_finetune(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_synth_mla(int argc, char **argv);
int cmd_svd(int argc, char **argv);
int tokenize_bench(int argc, char **argv);
int bench_train(int argc, char **argv);
double bench_train_flops(const ss_config *cfg, const ss_params *params, int B, int T, int kept);
int bench_train_batch(int vocab_size, int B, int T, int *ids, int *targets);
int bench_train_setup(const char *who, const char *path, int B, int T, ss_config *cfg,
                      ss_model *model, int **ids, int **targets);
void bench_train_update(ss_model *model, ss_adamw *opt, const int *ids, const int *targets, int B,
                        int T, int t);
int bench_svd(int argc, char **argv);
int bench_attention(int argc, char **argv);

#endif
