/* tools/common.c - option parsing, progress line and statistics shared by the `ss` commands. */
#define _POSIX_C_SOURCE 200809L /* isatty, fileno */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ss.h"

int tool_parse(const char *cmd, int argc, char **argv, int first, tool_opt *opts, int n_opts,
               const char **positional, int max_positional, int *n_positional) {
    int i, k;
    *n_positional = 0;
    for (k = 0; k < n_opts; k++) opts[k].n_values = 0;
    for (i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (*n_positional == max_positional) {
                fprintf(stderr, "ss %s: unexpected argument '%s'\n", cmd, a);
                return 0;
            }
            positional[(*n_positional)++] = a;
            continue;
        }
        for (k = 0; k < n_opts; k++)
            if (strcmp(a, opts[k].name) == 0) break;
        if (k == n_opts) {
            fprintf(stderr, "ss %s: unknown option '%s' (see ss %s --help)\n", cmd, a, cmd);
            return 0;
        }
        if (opts[k].takes_value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ss %s: option %s needs a value\n", cmd, a);
                return 0;
            }
            opts[k].value = argv[++i];
        } else {
            opts[k].value = "1";
        }
        if (opts[k].multi) {
            if (opts[k].n_values == TOOL_MAX_VALUES) {
                fprintf(stderr, "ss %s: option %s given more than %d times\n", cmd, a,
                        TOOL_MAX_VALUES);
                return 0;
            }
            opts[k].values[opts[k].n_values++] = opts[k].value;
        }
    }
    return 1;
}

void tool_usage(const char *cmd, const char *args, const tool_opt *opts, int n_opts) {
    int k;
    printf("usage: ss %s %s\n", cmd, args);
    for (k = 0; k < n_opts; k++)
        printf("  %-14s %s %s\n", opts[k].name, opts[k].takes_value ? "N" : " ", opts[k].help);
}

int tool_opt_int(const tool_opt *opt, int default_value, int min, int max, int *out) {
    char *end;
    long v;
    if (!opt->value) {
        *out = default_value;
        return 1;
    }
    v = strtol(opt->value, &end, 10);
    if (*opt->value == '\0' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "ss: %s must be an integer in %d..%d, got '%s'\n", opt->name, min, max,
                opt->value);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int tool_opt_double(const tool_opt *opt, double default_value, double min, double max,
                    double *out) {
    char *end;
    double v;
    if (!opt->value) {
        *out = default_value;
        return 1;
    }
    v = strtod(opt->value, &end);
    /* written so that NaN fails the range test: every comparison with NaN is false */
    if (*opt->value == '\0' || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, "ss: %s must be a number in %g..%g, got '%s'\n", opt->name, min, max,
                opt->value);
        return 0;
    }
    *out = v;
    return 1;
}

void tool_progress_init(tool_progress *p, const char *label, double total, const char *unit) {
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->start = ss_time_seconds();
    p->last_draw = 0.0;
    p->enabled = isatty(fileno(stderr));
}

void tool_progress_update(tool_progress *p, double done) {
    double now = ss_time_seconds(), elapsed = now - p->start, rate, eta;
    if (!p->enabled || now - p->last_draw < 0.1) return;
    p->last_draw = now;
    rate = elapsed > 0.0 ? done / elapsed : 0.0;
    eta = rate > 0.0 ? (p->total - done) / rate : 0.0;
    fprintf(stderr, "\r%s %.0f/%.0f %s  %.3g %s/s  ETA %d:%02d  ", p->label, done, p->total,
            p->unit, rate, p->unit, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

void tool_progress_end(tool_progress *p) {
    if (p->enabled) fprintf(stderr, "\r%*s\r", 72, "");
}

static int tool_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double tool_median(double *values, int n) {
    qsort(values, (size_t)n, sizeof(double), tool_cmp_double);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}
