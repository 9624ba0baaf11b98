/* tools/ss.h - what the `ss` sub-commands share: option parsing, the progress line, small
   statistics. Each sub-command lives in its own tools/cmd_*.c file and is listed in tools/ss.c.
   Build (the Makefile runs exactly this, over every .c file in tools/):
       cc -O2 -march=native -fopenmp -o ss tools/common.c tools/ss.c tools/cmd_*.c -lm */
#ifndef SS_TOOL_H
#define SS_TOOL_H

#include "../subspace.h"

/* One command-line option: "--name value" when takes_value, "--name" otherwise. */
typedef struct tool_opt {
    const char *name;  /* "--threads" */
    int takes_value;
    const char *help;  /* one line for the usage text */
    const char *value; /* set by tool_parse: the value, or "1" for a flag; NULL when absent */
} tool_opt;

/* Parse argv[first..argc) into opts; arguments not starting with "--" go to positional (up to
   max_positional; their count in *n_positional). Prints a message naming the bad argument and
   returns 0 on an unknown option, a missing value or too many positional arguments. */
int tool_parse(const char *cmd, int argc, char **argv, int first, tool_opt *opts, int n_opts,
               const char **positional, int max_positional, int *n_positional);
/* Print "usage: ss <cmd> <args>" and the options' help lines to stdout. */
void tool_usage(const char *cmd, const char *args, const tool_opt *opts, int n_opts);
/* Integer value of an option, default when absent; prints an error and returns 0 on junk. */
int tool_opt_int(const tool_opt *opt, int default_value, int min, int max, int *out);

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
int cmd_params(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int tokenize_bench(int argc, char **argv);

#endif
