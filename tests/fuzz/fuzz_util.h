/* fuzz_util.h - what the libFuzzer targets of tests/fuzz share: a check that aborts (libFuzzer
   then saves the input), the error-path checks, the allocation-failure rerun, a per-process
   scratch directory for the parsers that read files, and the small vocabulary the tokenizer,
   TSV and text targets encode with. Include after fuzz_hooks.h and subspace.h (with
   SS_IMPLEMENTATION defined in the target). */
#ifndef SS_FUZZ_UTIL_H
#define SS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h> /* opendir, to see that nothing is left behind (POSIX) */
#include <unistd.h> /* mkdtemp, rmdir, unlink (POSIX) */

#if defined(__GNUC__) || defined(__clang__)
#define FZ_FN static __attribute__((unused))
#else
#define FZ_FN static
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold: print what and where, then abort so libFuzzer keeps the input. */
#define FZ_CHECK(cond, what)                                                                    \
    do {                                                                                        \
        if (!(cond)) fz_fail(#cond, what, __FILE__, __LINE__);                                  \
    } while (0)

FZ_FN void fz_fail(const char *cond, const char *what, const char *file, int line) {
    fprintf(stderr, "\nFUZZ CHECK FAILED %s:%d: %s\n  (%s)\n  last error detail: %s\n", file, line,
            what, cond, ss_last_error_detail());
    abort();
}

/* Forget the last error detail, so a failure that sets none is caught by fz_check_error. */
FZ_FN void fz_clear_detail(void) {
#ifndef SS_NO_ERROR_STRINGS
    ss__error_detail[0] = '\0';
#endif
}

/* A failed call: a negative code from the list, and a detail saying why. */
FZ_FN void fz_check_error(ss_result r, const char *what) {
    FZ_CHECK(r < 0 && strcmp(ss_result_string(r), "unknown result") != 0, what);
    FZ_CHECK(ss_last_error_detail()[0] != '\0', what);
}

/* A call that must succeed unless an injected allocation failure got in its way. */
FZ_FN void fz_check_ok(ss_result r, const char *what) {
    if (r != SS_OK) {
        fz_check_error(r, what);
        FZ_CHECK(fz_alloc_failed, what);
    }
}

/* FNV-1a of the input: picks the allocation that fails in the second run. */
FZ_FN uint64_t fz_hash(const uint8_t *data, size_t size) {
    uint64_t h = 14695981039346656037ull;
    size_t i;
    for (i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

/* Run one(data, size) normally, then again with one of the allocations it made failing. */
FZ_FN void fz_run_with_failures(void (*one)(const uint8_t *, size_t), const uint8_t *data,
                                size_t size) {
    long made;
    fz_alloc_fail_at = -1;
    fz_alloc_count = 0;
    fz_alloc_failed = 0;
    one(data, size);
    made = fz_alloc_count;
    if (made > 0) {
        fz_alloc_fail_at = (long)(fz_hash(data, size) % (uint64_t)made);
        fz_alloc_count = 0;
        fz_alloc_failed = 0;
        one(data, size);
    }
    fz_alloc_fail_at = -1;
    fz_alloc_failed = 0;
}

/* ---- scratch files ---- */

static char fz_dir_path[64];

FZ_FN void fz_remove_dir(void) {
    if (fz_dir_path[0]) rmdir(fz_dir_path);
}

/* A directory of this process (in /dev/shm when there is one: no disk traffic), made once and
   removed at exit; the targets unlink their files after every input. */
FZ_FN const char *fz_dir(void) {
    if (!fz_dir_path[0]) {
        strcpy(fz_dir_path, "/dev/shm/ss-fuzz-XXXXXX");
        if (!mkdtemp(fz_dir_path)) {
            strcpy(fz_dir_path, "/tmp/ss-fuzz-XXXXXX");
            if (!mkdtemp(fz_dir_path)) {
                perror("fuzz: mkdtemp");
                abort();
            }
        }
        atexit(fz_remove_dir);
    }
    return fz_dir_path;
}

/* "<dir>/<name>" in one of four rotating static buffers. */
FZ_FN const char *fz_path(const char *name) {
    static char bufs[4][128];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, sizeof bufs[0], "%s/%s", fz_dir(), name);
    return b;
}

/* The scratch directory is empty again: a target removed its files, and the library left no
   temporary file behind (a failed crash-safe write removes its "<path>.tmp"). */
FZ_FN void fz_check_dir_empty(void) {
    DIR *d = opendir(fz_dir());
    struct dirent *e;
    FZ_CHECK(d != NULL, "scratch directory");
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        fprintf(stderr, "left behind: %s\n", e->d_name);
        FZ_CHECK(0, "no file left behind in the scratch directory");
    }
    closedir(d);
}

/* Write size bytes to path (a scratch file; failing to write it is the harness's problem). */
FZ_FN void fz_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Whole file into a malloc'ed buffer (NULL when it cannot be read). */
FZ_FN unsigned char *fz_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = (unsigned char *)malloc((size_t)n + 1)) != NULL) {
        if (fread(b, 1, (size_t)n, f) != (size_t)n) {
            free(b);
            b = NULL;
        } else {
            *size = (size_t)n;
        }
    }
    fclose(f);
    return b;
}

/* ---- text ---- */

/* Whether s[0..n) is UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing
   above U+10FFFF): an independent check of what the parsers accept and produce. */
FZ_FN int fz_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) need = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) need = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) need = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (n - i <= need) return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += need + 1;
    }
    return 1;
}

/* The vocabulary the tokenizer, TSV and text targets share: the five specials, printable ASCII,
   "##" continuations of letters and digits, a few words and pieces, and some non-ASCII letters
   (accented, Greek, CJK), one token a line. Written fresh here (no real vocabulary is pasted).
   Returns a static NUL-terminated string. */
FZ_FN const char *fz_vocab_text(void) {
    static char text[4096];
    static const char *const extra[] = {
        "the", "##ing", "##ed", "un", "##able", "hello", "world", "token", "##izer",
        "is", "a", "good", "bad", "movie", "##ly", "not", "very", "\xc3\xa9", "##\xc3\xa9",
        "\xce\xb1", "\xcf\x83", "\xcf\x82", "\xe4\xb8\xad", "\xe6\x96\x87", "caf", "##\xc3\xa9s",
        "i", "\xcc\x87", "##\xcc\x87"};
    size_t used = 0, i;
    int c;
    if (text[0]) return text;
    used += (size_t)sprintf(text + used, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (c = 0x21; c < 0x7F; c++) /* printable ASCII but space; upper case is never reached */
        if (c < 'A' || c > 'Z') used += (size_t)sprintf(text + used, "%c\n", c);
    for (c = 'a'; c <= 'z'; c++) used += (size_t)sprintf(text + used, "##%c\n", c);
    for (c = '0'; c <= '9'; c++) used += (size_t)sprintf(text + used, "##%c\n", c);
    for (i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        if (strlen(extra[i]) == 1 && extra[i][0] >= 0x21 && extra[i][0] < 0x7F) continue;
        used += (size_t)sprintf(text + used, "%s\n", extra[i]);
    }
    return text;
}

/* The structure of a data set: count >= 0 sequences whose offsets start at 0 and grow, each of
   1..max_len tokens (ds->max_len the longest), every token in [0, vocab) (vocab 0: any
   non-negative id). */
FZ_FN void fz_check_dataset(const ss_dataset *ds, int vocab) {
    int64_t i, longest = 0;
    FZ_CHECK(ds->count >= 0 && ds->offsets && ds->tokens, "data set arrays");
    FZ_CHECK(ds->offsets[0] == 0, "first offset 0");
    for (i = 0; i < ds->count; i++) {
        int64_t n = ds->offsets[i + 1] - ds->offsets[i];
        FZ_CHECK(n >= 1 && n <= ds->max_len, "sequence length within 1..max_len");
        if (n > longest) longest = n;
    }
    FZ_CHECK(longest == ds->max_len, "max_len is the longest sequence");
    for (i = 0; i < ds->offsets[ds->count]; i++)
        FZ_CHECK(ds->tokens[i] >= 0 && (vocab == 0 || ds->tokens[i] < vocab), "token id range");
}

/* Two data sets hold the same sequences and labels (bit for bit). */
FZ_FN int fz_same_dataset(const ss_dataset *a, const ss_dataset *b) {
    if (a->count != b->count || a->max_len != b->max_len || !a->labels != !b->labels) return 0;
    if (memcmp(a->offsets, b->offsets, (size_t)(a->count + 1) * sizeof *a->offsets) != 0) return 0;
    if (memcmp(a->tokens, b->tokens, (size_t)a->offsets[a->count] * sizeof *a->tokens) != 0)
        return 0;
    return !a->labels || memcmp(a->labels, b->labels, (size_t)a->count * sizeof *a->labels) == 0;
}

/* The data set through the token cache: saved, loaded with the same key, and compared (a
   stale key is SS_ERR_NOT_FOUND). Files in the scratch directory, removed afterwards. */
FZ_FN void fz_check_cache_round_trip(const ss_dataset *ds) {
    const char *path = fz_path("cache.bin");
    ss_dataset back;
    ss_result r;
    uint64_t key = ss_hash64(ds->tokens, (size_t)ds->offsets[ds->count] * sizeof *ds->tokens,
                             SS_HASH64_INIT);
    r = ss_dataset_save(ds, path, key);
    fz_check_ok(r, "saving a data set");
    if (r == SS_OK) {
        r = ss_dataset_load(&back, path, key);
        fz_check_ok(r, "loading what was saved");
        if (r == SS_OK) FZ_CHECK(fz_same_dataset(ds, &back), "token cache round trip");
        ss_dataset_free(&back);
        fz_clear_detail();
        r = ss_dataset_load(&back, path, key + 1);
        FZ_CHECK(r == SS_ERR_NOT_FOUND && ss_last_error_detail()[0] && back.tokens == NULL,
                 "a stale key is not found");
    }
    unlink(path);
}

/* The tiny model of the checkpoint target and its seeds: one dense MHA layer and one MLA-o
   layer with a decomposed FFN, a vocabulary subspace, attention biases: most kinds of tensor a
   checkpoint holds, in a few kilobytes. */
FZ_FN void fz_tiny_config(ss_config *cfg) {
    ss_config_default(cfg);
    cfg->vocab_size = 8;
    cfg->hidden_size = 4;
    cfg->num_hidden_layers = 2;
    cfg->intermediate_size = 4;
    cfg->num_attention_heads = 1;
    cfg->head_dim = 4;
    cfg->rope_dims = 2;
    cfg->max_position_embeddings = 8;
    cfg->num_dense_layers = 1;
    cfg->q_latent_dim = 2;
    cfg->kv_latent_dim = 2;
    cfg->output_subspace = 1;
    cfg->o_latent_dim = 2;
    cfg->ffn_decompose = 1;
    cfg->ffn_rank = 2;
    cfg->vocab_subspace = 1;
    cfg->vocab_rank = 2;
    cfg->attention_bias = 1;
}

/* The shared vocabulary loaded once (never freed: the leak checker ignores what stays reachable
   from a static). Loaded with the hooks inactive, before any input runs. */
FZ_FN const ss_tokenizer *fz_vocab(void) {
    static ss_tokenizer tok;
    if (!tok.vocab_size) {
        const char *t = fz_vocab_text();
        long saved = fz_alloc_fail_at;
        fz_alloc_fail_at = -1;
        if (ss_tokenizer_init(&tok, t, strlen(t), "fuzz-vocab") != SS_OK) {
            fprintf(stderr, "fuzz: the built-in vocabulary does not load: %s\n",
                    ss_last_error_detail());
            abort();
        }
        fz_alloc_fail_at = saved;
    }
    return &tok;
}

/* A file reader against the memory reader of the same bytes: the same result, and on success
   the same data set. Both are freed (the memory one checked zeroed after), and the file removed. */
FZ_FN void fz_check_file_reader(ss_result r, ss_result rf, ss_dataset *ds, ss_dataset *file_ds,
                                const char *path) {
    if (!fz_alloc_failed) {
        FZ_CHECK(rf == r, "file and memory readers agree");
        if (r == SS_OK) FZ_CHECK(fz_same_dataset(ds, file_ds), "same data set from the file");
    }
    ss_dataset_free(file_ds);
    ss_dataset_free(ds);
    FZ_CHECK(ds->offsets == NULL && ds->count == 0, "freed data set zeroed");
    unlink(path);
}

/* The libFuzzer entry points of a target whose inputs all use the shared vocabulary: it is
   loaded once at start-up, then every input goes through one() twice (fz_run_with_failures). */
#define FZ_MAIN_WITH_VOCAB(one)                                                                    \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                                             \
    int LLVMFuzzerInitialize(int *argc, char ***argv) {                                            \
        (void)argc, (void)argv;                                                                    \
        fz_vocab();                                                                                \
        return 0;                                                                                  \
    }                                                                                              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {                                 \
        fz_run_with_failures(one, data, size);                                                     \
        return 0;                                                                                  \
    }

#endif
