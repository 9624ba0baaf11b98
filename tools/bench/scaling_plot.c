/* tools/bench/scaling_plot.c - the thread-scaling chart of torch_compare.sh's results: tokens/s of
   one training update against the thread count, one line per (config, implementation), ss solid
   and PyTorch dashed, log-scaled tokens/s so that equal ratios look equal at every thread count.
   Reads any number of results.jsonl files (one JSON object per run, as torch_compare.sh writes
   them: impl, label, config, threads, tokens_per_s; several rounds of a cell give their median)
   and writes one SVG through tools/plot.c.

   cc -std=c99 -O2 -o build/scaling_plot tools/bench/scaling_plot.c tools/plot.c -lm
   build/scaling_plot OUT.svg "TITLE" results.jsonl [results.jsonl...] */
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../plot.h"

#define SP_MAX_RUNS 512
#define SP_MAX_LINES 16
#define SP_MAX_THREADS 16 /* distinct thread counts on the x axis */

typedef struct sp_run {
    char line[96]; /* "best_mla-o ss", "best_mla-o PyTorch" */
    int threads;
    double tokens_per_s;
} sp_run;

static int sp_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Append every run of one results.jsonl file. Returns 0, or 1 with a message naming the file. */
static int sp_read(const char *path, sp_run *runs, int *n) {
    char *text = NULL, *line, *end;
    size_t size = 0;
    int lineno = 0;
    if (ss_file_read(path, &text, &size) != SS_OK) {
        fprintf(stderr, "scaling_plot: %s\n", ss_last_error_detail());
        return 1;
    }
    for (line = text; line < text + size; line = end + 1) {
        ss_json_doc doc;
        const char *impl = "", *label = "", *config = "", *base;
        double tps = 0.0;
        int threads = 0;
        end = strchr(line, '\n');
        if (!end) end = text + size;
        lineno++;
        if (end == line) continue;
        memset(&doc, 0, sizeof doc);
        if (ss_json_parse(&doc, line, (size_t)(end - line), path) != SS_OK ||
            ss_json_get_string(ss_json_root(&doc), "impl", &impl) != SS_OK ||
            ss_json_get_string(ss_json_root(&doc), "label", &label) != SS_OK ||
            ss_json_get_string(ss_json_root(&doc), "config", &config) != SS_OK ||
            ss_json_get_int(ss_json_root(&doc), "threads", &threads) != SS_OK ||
            ss_json_get_double(ss_json_root(&doc), "tokens_per_s", &tps) != SS_OK) {
            fprintf(stderr, "scaling_plot: %s line %d: %s\n", path, lineno, ss_last_error_detail());
            ss_json_doc_free(&doc);
            free(text);
            return 1;
        }
        if (*n == SP_MAX_RUNS) {
            fprintf(stderr, "scaling_plot: more than %d runs\n", SP_MAX_RUNS);
            ss_json_doc_free(&doc);
            free(text);
            return 1;
        }
        base = strrchr(config, '/') ? strrchr(config, '/') + 1 : config;
        if (strcmp(impl, "ss") == 0 || strcmp(label, "tuned") == 0) { /* as-installed: not drawn */
            snprintf(runs[*n].line, sizeof runs[*n].line, "%.*s %s",
                     (int)(strstr(base, ".json") ? strstr(base, ".json") - base : (long)strlen(base)),
                     base, strcmp(impl, "ss") == 0 ? "ss" : "PyTorch");
            runs[*n].threads = threads;
            runs[*n].tokens_per_s = tps;
            (*n)++;
        }
        ss_json_doc_free(&doc);
    }
    free(text);
    return 0;
}

int main(int argc, char **argv) {
    static sp_run runs[SP_MAX_RUNS];
    char names[SP_MAX_LINES][96];
    double xs[SP_MAX_THREADS], ys[SP_MAX_LINES][SP_MAX_THREADS], cell[SP_MAX_RUNS];
    plot_series series[SP_MAX_LINES];
    plot_spec spec;
    int n = 0, n_lines = 0, n_x = 0, n_series = 0, i, j, l;
    if (argc < 4) {
        fprintf(stderr, "usage: scaling_plot OUT.svg TITLE results.jsonl [results.jsonl...]\n");
        return 2;
    }
    for (i = 3; i < argc; i++)
        if (sp_read(argv[i], runs, &n) != 0) return 1;
    for (i = 0; i < n; i++) { /* the lines and the x values, in order of appearance / size */
        for (l = 0; l < n_lines && strcmp(names[l], runs[i].line) != 0; l++) continue;
        if (l == n_lines) {
            if (n_lines == SP_MAX_LINES) return fprintf(stderr, "scaling_plot: too many lines\n"), 1;
            memcpy(names[n_lines++], runs[i].line, sizeof names[0]); /* same size, NUL inside */
        }
        for (j = 0; j < n_x && xs[j] != runs[i].threads; j++) continue;
        if (j == n_x) {
            if (n_x == SP_MAX_THREADS) return fprintf(stderr, "scaling_plot: too many thread counts\n"), 1;
            xs[n_x++] = runs[i].threads;
        }
    }
    qsort(xs, (size_t)n_x, sizeof xs[0], sp_cmp_double);
    for (l = 0; l < n_lines; l++) {
        const int is_ss = strstr(names[l], " ss") != NULL;
        for (j = 0; j < n_x; j++) { /* the median of the cell's rounds, NaN (a gap) if none */
            int m = 0;
            for (i = 0; i < n; i++)
                if (strcmp(runs[i].line, names[l]) == 0 && runs[i].threads == xs[j])
                    cell[m++] = runs[i].tokens_per_s;
            qsort(cell, (size_t)m, sizeof cell[0], sp_cmp_double);
            ys[n_series][j] = m ? (m % 2 ? cell[m / 2] : 0.5 * (cell[m / 2 - 1] + cell[m / 2])) : NAN;
            if (!(ys[n_series][j] > 0.0)) ys[n_series][j] = NAN; /* the log axis: a gap */
        }
        memset(&series[n_series], 0, sizeof series[0]);
        series[n_series].name = names[l];
        series[n_series].x = xs;
        series[n_series].y = ys[n_series];
        series[n_series].n = n_x;
        series[n_series].dashed = !is_ss;
        n_series++;
    }
    memset(&spec, 0, sizeof spec);
    spec.title = argv[2];
    spec.xlabel = "threads";
    spec.ylabel = "tokens/s (log scale)";
    spec.log_y = 1;
    spec.y_min = spec.y_max = NAN;
    spec.markers = 1;
    spec.width = 760;
    spec.height = 480;
    return plot_lines_svg(argv[1], &spec, series, n_series) == 0 ? 0 : 1;
}
