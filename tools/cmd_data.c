/* tools/cmd_data.c - the built-in data set:
     ss data --out DIR [--seed N] [--train N] [--valid N] [--cls-train N] [--cls-dev N]
             [--vocab-size N]
   writes DIR/train.txt and DIR/valid.txt (pre-training text, one line of 1-3 sentences each),
   DIR/cls_train.tsv and DIR/cls_dev.tsv (sentiment, GLUE SST-2 layout) and DIR/vocab.txt (a
   WordPiece vocabulary trained on train.txt). The language is described in tools/synth.h. */
#define _POSIX_C_SOURCE 200809L /* mkdir, stat, strdup */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "ss.h"
#include "synth.h"

/* Create dir and any missing parents (mkdir -p). Prints the reason and returns 0 on failure. */
static int data_mkdir(const char *dir) {
    char *path = strdup(dir), *p;
    struct stat st;
    int ok = 1;
    if (!path) {
        fprintf(stderr, "ss data: out of memory\n");
        return 0;
    }
    for (p = path + 1; ok; p++) {
        char c = *p;
        if (c != '/' && c != '\0') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "ss data: cannot create directory %s (%s)\n", path, strerror(errno));
            ok = 0;
        }
        *p = c;
        if (c == '\0') break;
    }
    if (ok && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "ss data: %s exists and is not a directory\n", dir);
        ok = 0;
    }
    free(path);
    return ok;
}

/* "DIR/name" into out (cap bytes); 0 when it does not fit. */
static int data_path(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    int w = snprintf(out, cap, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
    if (w < 0 || (size_t)w >= cap) {
        fprintf(stderr, "ss data: path too long: %s/%s\n", dir, name);
        return 0;
    }
    return 1;
}

/* One line of the report: the file, its lines and its bytes (and what the lines are). */
static void data_report(const char *path, long lines, const char *what) {
    struct stat st;
    long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    printf("%s: %ld lines%s, %lld bytes\n", path, lines, what, bytes);
}

static void data_progress(void *user, const char *stage, double done, double total) {
    tool_progress *p = (tool_progress *)user;
    p->label = stage;
    p->total = total;
    tool_progress_update(p, done);
}

/* Train a WordPiece vocabulary of (at most) vocab_size tokens on the text file src and save it
   to dst. Returns the tokenizer's size, or 0 after printing the reason. */
static int data_vocab(const char *src, const char *dst, int vocab_size) {
    ss_vocab_train_options to;
    ss_vocab_trainer tr;
    ss_tokenizer tok;
    tool_progress progress;
    char *text = NULL;
    size_t len = 0;
    int size = 0;
    memset(&to, 0, sizeof to);
    memset(&tok, 0, sizeof tok);
    to.vocab_size = vocab_size;
    to.progress = data_progress;
    to.progress_user = &progress;
    if (ss_vocab_trainer_init(&tr, &to) != SS_OK) {
        fprintf(stderr, "ss data: %s\n", ss_last_error_detail());
        return 0;
    }
    tool_progress_init(&progress, "vocabulary", 1.0, "steps");
    if (ss_file_read(src, &text, &len) != SS_OK || ss_vocab_trainer_feed(&tr, text, len) != SS_OK ||
        ss_vocab_trainer_train(&tr, &tok) != SS_OK || ss_tokenizer_save(&tok, dst) != SS_OK) {
        tool_progress_end(&progress);
        fprintf(stderr, "ss data: %s\n", ss_last_error_detail());
    } else {
        tool_progress_end(&progress);
        size = tok.vocab_size;
    }
    ss_free(text);
    ss_tokenizer_free(&tok);
    ss_vocab_trainer_free(&tr);
    return size;
}

int cmd_data(int argc, char **argv) {
    tool_opt opts[] = {
        {"--out", 1, "directory to write (created if missing; required)", NULL},
        {"--seed", 1, "random seed (default 1)", NULL},
        {"--train", 1, "lines of pre-training text in train.txt (default 20000)", NULL},
        {"--valid", 1, "lines in valid.txt (default 1000)", NULL},
        {"--cls-train", 1, "labelled rows in cls_train.tsv (default 4000)", NULL},
        {"--cls-dev", 1, "labelled rows in cls_dev.tsv (default 500)", NULL},
        {"--vocab-size", 1, "WordPiece vocabulary size, specials included (default 2048)", NULL},
        {"--quiet", 0, "print nothing but errors", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1], *dir;
    static const char *const names[4] = {"train.txt", "valid.txt", "cls_train.tsv", "cls_dev.tsv"};
    int n_pos, seed, n_train, n_valid, n_cls_train, n_cls_dev, vocab_size, got, i, quiet;
    long lines[4];
    char path[4096], vocab_path[4096], what[96];
    double t0 = ss_time_seconds();
    if (!tool_parse("data", argc, argv, 2, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[8].value) {
        tool_usage("data", "--out DIR [options]", opts, n_opts);
        printf("Writes the built-in synthetic data set into DIR: train.txt and valid.txt (text\n"
               "for masked-language-model pre-training), cls_train.tsv and cls_dev.tsv (sentence\n"
               "sentiment, 1 positive / 0 negative, GLUE SST-2 layout with a header line) and\n"
               "vocab.txt (a WordPiece vocabulary trained on train.txt). The same seed gives\n"
               "the same files; each file has its own stream: a count changes only its file.\n");
        return 0;
    }
    if (!opts[0].value) {
        fprintf(stderr, "ss data: --out is required (see ss data --help)\n");
        return 2;
    }
    if (!tool_opt_int(&opts[1], 1, 0, 2147483647, &seed) ||
        !tool_opt_int(&opts[2], 20000, 1, 100000000, &n_train) ||
        !tool_opt_int(&opts[3], 1000, 0, 100000000, &n_valid) ||
        !tool_opt_int(&opts[4], 4000, 0, 100000000, &n_cls_train) ||
        !tool_opt_int(&opts[5], 500, 0, 100000000, &n_cls_dev) ||
        !tool_opt_int(&opts[6], 2048, 5, 1 << 20, &vocab_size))
        return 2;
    quiet = opts[7].value != NULL;
    lines[0] = n_train;
    lines[1] = n_valid;
    lines[2] = n_cls_train + 1L;
    lines[3] = n_cls_dev + 1L;
    dir = opts[0].value;
    if (*dir == '\0') {
        fprintf(stderr, "ss data: --out needs a directory name\n");
        return 2;
    }
    if (!data_mkdir(dir)) return 1;
    if (!data_path(path, sizeof path, dir, "cls_train.tsv")) return 1; /* the longest name */
    if (synth_write_dataset(dir, (uint64_t)seed, n_train, n_valid, n_cls_train, n_cls_dev) != 0)
        return 1;
    for (i = 0; i < 4 && !quiet; i++) {
        what[0] = '\0';
        if (i >= 2) snprintf(what, sizeof what, " (a header and %ld rows)", lines[i] - 1);
        data_path(path, sizeof path, dir, names[i]);
        data_report(path, lines[i], what);
    }
    data_path(path, sizeof path, dir, "train.txt");
    data_path(vocab_path, sizeof vocab_path, dir, "vocab.txt");
    got = data_vocab(path, vocab_path, vocab_size);
    if (!got) return 1;
    if (quiet) return 0;
    snprintf(what, sizeof what, " (a vocabulary of %d tokens; %d asked for)", got, vocab_size);
    data_report(vocab_path, got, what);
    printf("done in %.1f s\n", ss_time_seconds() - t0);
    return 0;
}
