/* tools/cmd_tokenize.c - the tokenizer commands (subspace.h section 9):
     ss tokenize --vocab vocab.txt [FILE]          ids of each input line (stdin without FILE)
     ss vocab train --size N --out vocab.txt FILES  train a WordPiece vocabulary
     ss bench tokenize [--vocab vocab.txt]          single-thread MB/s (called by `ss bench`)
   The BERT vocabulary for the benchmark comes from tests/ref/get_bert_vocab.sh (build/bert-vocab.txt). */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ss.h"

#define TOOL_DEFAULT_VOCAB "build/bert-vocab.txt"

static int tokenize_load(const char *cmd, const char *path, int final_sigma, ss_tokenizer *tok) {
    if (ss_tokenizer_load(tok, path) != SS_OK) {
        fprintf(stderr, "ss %s: %s\n", cmd, ss_last_error_detail());
        if (strcmp(path, TOOL_DEFAULT_VOCAB) == 0)
            fprintf(stderr, "ss %s: get it with tests/ref/get_bert_vocab.sh, or pass --vocab\n", cmd);
        return 0;
    }
    tok->final_sigma = final_sigma;
    return 1;
}

/* ---- ss tokenize ---------------------------------------------------------------------------- */

int cmd_tokenize(int argc, char **argv) {
    tool_opt opts[] = {
        {"--vocab", 1, "vocab.txt to use (required)", NULL},
        {"--special", 0, "add [CLS] and [SEP] around each line, as HF's encode()", NULL},
        {"--max-length", 1, "truncate each line's ids to N (with --special, N counts them)", NULL},
        {"--tokens", 0, "print the tokens instead of their ids", NULL},
        {"--final-sigma", 0, "lowercase whole words (word-final sigma), as BertTokenizerLegacy", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos, max_length = 0, status = 0;
    ss_tokenizer tok;
    ss_encode_options eo;
    FILE *in;
    char *line = NULL;
    size_t line_cap = 0, cap = 4096, i;
    int *ids;
    long got;
    if (!tool_parse("tokenize", argc, argv, 2, opts, n_opts, pos, 1, &n_pos)) return 2;
    if (opts[5].value) {
        tool_usage("tokenize", "--vocab vocab.txt [FILE]", opts, n_opts);
        printf("Writes one line per input line: its token ids, space-separated. Reads stdin without FILE.\n");
        return 0;
    }
    if (!opts[0].value) {
        fprintf(stderr, "ss tokenize: --vocab is required (see ss tokenize --help)\n");
        return 2;
    }
    if (!tool_opt_int(&opts[2], 0, opts[1].value ? 2 : 1, 1 << 30, &max_length)) return 2;
    if (!tokenize_load("tokenize", opts[0].value, opts[4].value != NULL, &tok)) return 1;
    in = n_pos ? fopen(pos[0], "r") : stdin;
    if (!in) {
        fprintf(stderr, "ss tokenize: cannot open %s (%s)\n", pos[0], strerror(errno));
        ss_tokenizer_free(&tok);
        return 1;
    }
    ids = (int *)malloc(cap * sizeof(int));
    if (!ids) {
        fprintf(stderr, "ss tokenize: out of memory\n");
        if (in != stdin) fclose(in);
        ss_tokenizer_free(&tok);
        return 1;
    }
    memset(&eo, 0, sizeof eo);
    eo.max_length = max_length;
    eo.no_special_tokens = opts[1].value == NULL;
    while ((got = (long)getline(&line, &line_cap, in)) >= 0) {
        size_t len = (size_t)got, n;
        if (len && line[len - 1] == '\n') len--;
        while ((n = ss_tokenizer_encode(&tok, &eo, line, len, NULL, 0, ids, NULL, NULL, cap)) > cap) {
            int *grown = (int *)realloc(ids, n * sizeof(int));
            if (!grown) {
                fprintf(stderr, "ss tokenize: out of memory for %zu ids\n", n);
                status = 1;
                break;
            }
            ids = grown;
            cap = n;
        }
        if (status) break;
        for (i = 0; i < n; i++) {
            if (opts[3].value) printf(i ? " %s" : "%s", ss_tokenizer_token(&tok, ids[i]));
            else printf(i ? " %d" : "%d", ids[i]);
        }
        printf("\n");
    }
    if (ferror(in)) {
        fprintf(stderr, "ss tokenize: read error on %s\n", n_pos ? pos[0] : "stdin");
        status = 1;
    }
    if (in != stdin) fclose(in);
    free(line);
    free(ids);
    ss_tokenizer_free(&tok);
    return status;
}

/* ---- ss vocab train -------------------------------------------------------------------------- */

static void vocab_progress(void *user, const char *stage, double done, double total) {
    tool_progress *p = (tool_progress *)user;
    p->label = stage;
    p->total = total;
    tool_progress_update(p, done);
}

static int vocab_train(int argc, char **argv) {
    tool_opt opts[] = {
        {"--size", 1, "vocabulary size, special tokens included (required)", NULL},
        {"--out", 1, "vocab.txt to write (required)", NULL},
        {"--min-frequency", 1, "never merge pairs seen fewer times (default 2)", NULL},
        {"--limit-alphabet", 1, "keep at most N characters (default 1000)", NULL},
        {"--final-sigma", 0, "lowercase whole words (word-final sigma)", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *files[1024];
    int n_files, f, status = 0;
    ss_vocab_train_options to;
    ss_vocab_trainer tr;
    ss_tokenizer tok;
    tool_progress progress;
    char *line = NULL;
    size_t line_cap = 0;
    double t0 = ss_time_seconds(), bytes = 0.0;
    if (!tool_parse("vocab train", argc, argv, 3, opts, n_opts, files, 1024, &n_files)) return 2;
    if (opts[5].value) {
        tool_usage("vocab train", "--size N --out vocab.txt FILES...", opts, n_opts);
        printf("Trains a WordPiece vocabulary on the text files (BERT basic tokenization, BPE-style\n"
               "merges with ## continuations) and writes a vocab.txt that BertTokenizer loads.\n");
        return 0;
    }
    memset(&to, 0, sizeof to);
    if (!opts[0].value || !opts[1].value || n_files == 0) {
        fprintf(stderr, "ss vocab train: --size, --out and at least one file are required\n");
        return 2;
    }
    if (!tool_opt_int(&opts[0], 0, 5, 1 << 24, &to.vocab_size) ||
        !tool_opt_int(&opts[2], 2, 1, 1 << 30, &to.min_frequency) ||
        !tool_opt_int(&opts[3], 1000, 1, 1 << 24, &to.limit_alphabet))
        return 2;
    to.final_sigma = opts[4].value != NULL;
    to.progress = vocab_progress;
    to.progress_user = &progress;
    if (ss_vocab_trainer_init(&tr, &to) != SS_OK) {
        fprintf(stderr, "ss vocab train: %s\n", ss_last_error_detail());
        return 2;
    }
    for (f = 0; f < n_files && status == 0; f++) {
        FILE *in = fopen(files[f], "r");
        long got;
        if (!in) {
            fprintf(stderr, "ss vocab train: cannot open %s (%s)\n", files[f], strerror(errno));
            status = 1;
            break;
        }
        tool_progress_init(&progress, files[f], 0.0, "MB");
        while (status == 0 && (got = (long)getline(&line, &line_cap, in)) >= 0) {
            if (ss_vocab_trainer_feed(&tr, line, (size_t)got) != SS_OK) {
                fprintf(stderr, "ss vocab train: %s\n", ss_last_error_detail());
                status = 1;
            }
            bytes += (double)got;
            tool_progress_update(&progress, bytes / 1e6);
        }
        if (ferror(in)) {
            fprintf(stderr, "ss vocab train: read error on %s\n", files[f]);
            status = 1;
        }
        fclose(in);
        tool_progress_end(&progress);
    }
    free(line);
    if (status == 0) {
        tool_progress_init(&progress, "merges", 1.0, "tokens");
        if (ss_vocab_trainer_train(&tr, &tok) != SS_OK ||
            ss_tokenizer_save(&tok, opts[1].value) != SS_OK) {
            tool_progress_end(&progress);
            fprintf(stderr, "ss vocab train: %s\n", ss_last_error_detail());
            status = 1;
        } else {
            tool_progress_end(&progress);
            printf("%s: %d tokens from %.1f MB (%.0f words, %zu distinct) in %.1f s\n",
                   opts[1].value, tok.vocab_size, bytes / 1e6, (double)tr.total_words,
                   tr.words.count, ss_time_seconds() - t0);
        }
        ss_tokenizer_free(&tok);
    }
    ss_vocab_trainer_free(&tr);
    return status;
}

int cmd_vocab(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[2], "train") == 0) return vocab_train(argc, argv);
    fprintf(stderr, "usage: ss vocab train --size N --out vocab.txt FILES...  (ss vocab train --help)\n");
    return argc >= 3 && strcmp(argv[2], "--help") == 0 ? 0 : 2;
}

/* ---- ss bench tokenize ----------------------------------------------------------------------- */

/* Varied English text: sentences from word lists, with capitals, numbers, commas, quotes,
   contractions, hyphens and a few accented names. Deterministic for a seed. */
static char *bench_text(size_t bytes, uint64_t seed, size_t *len) {
    static const char *const subj[] = {
        "the committee", "a young engineer", "my grandmother", "the old lighthouse keeper",
        "our neighbours", "the research team", "a small startup", "the city council", "she", "he",
        "nobody", "the museum in Z\xC3\xBCrich", "every student", "the quiet librarian", "they",
        "the caf\xC3\xA9 owner", "a retired pilot", "the orchestra", "two journalists", "the mayor"};
    static const char *const verb[] = {
        "announced", "discovered", "rebuilt", "questioned", "described", "painted", "measured",
        "couldn't explain", "didn't expect", "carefully reviewed", "quickly forgot", "translated",
        "celebrated", "photographed", "re-examined", "donated", "borrowed", "designed",
        "has been studying", "will publish"};
    static const char *const obj[] = {
        "a remarkable theory about tides", "the unfinished manuscript", "three broken clocks",
        "an unusually cold winter", "the results of the survey", "a na\xC3\xAFve but honest proposal",
        "the bridge over the river", "several thousand letters", "the company's annual report",
        "a recipe for apple pie", "the election results", "an ancient map of the coast",
        "the new railway timetable", "a collection of rare stamps", "the school's library",
        "hundreds of migrating birds", "the long-term forecast", "a strange signal from space",
        "the price of electricity", "their grandfather's violin"};
    static const char *const tail[] = {
        "", "", "", " last year", " in 1987", " after a long debate", " without telling anyone",
        " because it was raining", ", which surprised everyone", " for the third time",
        " before the deadline", " at 7:30 in the morning", " despite the protests",
        ", according to the report", " with great enthusiasm", " near the harbour"};
    static const char *const end[] = {".", ".", ".", ".", "!", "?", "...", ";"};
    char *text = (char *)malloc(bytes + 512);
    size_t at = 0;
    ss_rng rng;
    if (!text) return NULL;
    ss_rng_seed(&rng, seed);
    while (at < bytes) {
        int s, n_sent = 1 + (int)(ss_rng_u32(&rng) % 6);
        for (s = 0; s < n_sent && at < bytes; s++) {
            const char *a = subj[ss_rng_u32(&rng) % 20], *b = verb[ss_rng_u32(&rng) % 20];
            const char *c = obj[ss_rng_u32(&rng) % 20], *d = tail[ss_rng_u32(&rng) % 16];
            const char *e = end[ss_rng_u32(&rng) % 8];
            int quote = ss_rng_u32(&rng) % 9 == 0, number = ss_rng_u32(&rng) % 7 == 0;
            at += (size_t)sprintf(text + at, "%s%s%c%s %s %s%s", s ? " " : "", quote ? "\"" : "",
                                  a[0] - ('a' <= a[0] && a[0] <= 'z' ? 32 : 0), a + 1, b, c, d);
            if (number)
                at += (size_t)sprintf(text + at, " (%u.%u%%)", ss_rng_u32(&rng) % 100,
                                      ss_rng_u32(&rng) % 10);
            at += (size_t)sprintf(text + at, "%s%s", e, quote ? "\"" : "");
        }
        text[at++] = '\n';
    }
    text[at] = '\0';
    *len = at;
    return text;
}

int tokenize_bench(int argc, char **argv) {
    tool_opt opts[] = {
        {"--vocab", 1, "vocab.txt (default " TOOL_DEFAULT_VOCAB ")", NULL},
        {"--input", 1, "a text file to tokenize (default: generated English text)", NULL},
        {"--mb", 1, "size of the generated text in MB (default 50)", NULL},
        {"--reps", 1, "timed passes, median reported (default 3)", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos, mb = 50, reps = 3, r;
    ss_tokenizer tok;
    char *text = NULL;
    size_t len = 0, cap = 1 << 16, tokens = 0, lines = 0;
    int *ids;
    double t[64];
    if (!tool_parse("bench tokenize", argc, argv, 3, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[4].value) {
        tool_usage("bench tokenize", "[options]", opts, n_opts);
        return 0;
    }
    if (!tool_opt_int(&opts[2], 50, 1, 4096, &mb) || !tool_opt_int(&opts[3], 3, 1, 64, &reps))
        return 2;
    if (!tokenize_load("bench tokenize", opts[0].value ? opts[0].value : TOOL_DEFAULT_VOCAB, 0, &tok))
        return 1;
    if (opts[1].value) {
        if (ss_file_read(opts[1].value, &text, &len) != SS_OK) {
            fprintf(stderr, "ss bench tokenize: %s\n", ss_last_error_detail());
            ss_tokenizer_free(&tok);
            return 1;
        }
    } else {
        text = bench_text((size_t)mb * 1000000, 1, &len);
    }
    ids = (int *)malloc(cap * sizeof(int));
    if (!text || !ids) {
        fprintf(stderr, "ss bench tokenize: out of memory\n");
        if (opts[1].value) ss_free(text);
        else free(text);
        free(ids);
        ss_tokenizer_free(&tok);
        return 1;
    }
    printf("# ss bench tokenize: %s\n", ss_build_info());
    printf("text: %s, %.1f MB; vocab: %s (%d tokens); one thread, line by line\n",
           opts[1].value ? opts[1].value : "generated English", (double)len / 1e6,
           opts[0].value ? opts[0].value : TOOL_DEFAULT_VOCAB, tok.vocab_size);
    for (r = 0; r < reps; r++) {
        const char *p = text, *end = text + len;
        double t0 = ss_time_seconds();
        tokens = lines = 0;
        while (p < end) {
            const char *nl = (const char *)memchr(p, '\n', (size_t)(end - p));
            size_t n, line_len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            while ((n = ss_tokenizer_tokenize(&tok, p, line_len, ids, cap)) > cap) {
                int *grown = (int *)realloc(ids, n * sizeof(int));
                if (!grown) break;
                ids = grown;
                cap = n;
            }
            tokens += n;
            lines++;
            p += line_len + 1;
        }
        t[r] = ss_time_seconds() - t0;
    }
    {
        double sec = tool_median(t, reps);
        printf("%.1f MB/s, %.2f M tokens/s (%zu tokens, %zu lines; median of %d passes, %.3f s each)\n",
               (double)len / 1e6 / sec, (double)tokens / 1e6 / sec, tokens, lines, reps, sec);
    }
    if (opts[1].value) ss_free(text);
    else free(text);
    free(ids);
    ss_tokenizer_free(&tok);
    return 0;
}
