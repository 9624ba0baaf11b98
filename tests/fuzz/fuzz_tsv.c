/* fuzz_tsv.c - libFuzzer target: the GLUE-style TSV reader (ss_dataset_from_tsv in memory and
   ss_dataset_read_tsv on a scratch file, which must agree), with the vocabulary of fuzz_util.h.
   Input: byte 0 picks max_len (2 + byte % 30) and num_labels (1 + byte / 30 % 4; 1 is
   regression); the rest is the file. Properties checked:
   - a refusal is SS_ERR_FORMAT (or SS_ERR_NOMEM when an allocation was made to fail) with a
     detail, and leaves the data set zeroed;
   - an accepted file gives at least one row; every row is [CLS] ... [SEP] of 2..max_len ids in
     range; labels are integers in [0, num_labels), or finite for regression;
   - the count is the number of data lines (the header and one final empty line excluded), each
     row the encoding of its line's sentence field, each label its label field read strictly;
   - the memory and file readers give the same data set, and so does the token cache (saved and
     loaded again).
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_tsv.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

/* Data lines of the file: the lines after the header, where a line ends at "\n" (the last one
   may lack it) and one final line that is empty (or a lone "\r") does not count. */
static int64_t data_lines(const char *text, size_t len) {
    int64_t lines = 0;
    size_t start = 0, i, last_start = 0, last_len = 0;
    for (i = 0; i <= len; i++) {
        if (i == len && start == len) break; /* nothing after the last "\n" */
        if (i == len || text[i] == '\n') {
            lines++;
            last_start = start;
            last_len = i - start;
            start = i + 1;
        }
    }
    if (lines > 1 && (last_len == 0 || (last_len == 1 && text[last_start] == '\r'))) lines--;
    return lines - 1;
}

/* Field col of line[0..n) split on tabs, or NULL. */
static const char *field(const char *line, size_t n, int col, size_t *flen) {
    size_t start = 0, i;
    int c = 0;
    for (i = 0; i <= n; i++)
        if (i == n || line[i] == '\t') {
            if (c++ == col) {
                *flen = i - start;
                return line + start;
            }
            start = i + 1;
        }
    return NULL;
}

/* Each row against its line: the ids are the encoding of the sentence field, and the label is
   the label field read strictly (digits only for classes; for regression the whole field, no
   NUL, no leading space, is one number). */
static void check_rows(const ss_dataset *ds, const ss_tokenizer *tok, const char *text, size_t len,
                       int max_len, int num_labels) {
    static int ids[64];
    const char *line = text, *nl = (const char *)memchr(text, '\n', len);
    size_t n = nl ? (size_t)(nl - text) : len, flen = 0, slen = 0;
    int col_s = -1, col_l = -1, c;
    int64_t i;
    ss_encode_options o;
    memset(&o, 0, sizeof o);
    o.max_length = max_len;
    if (n && line[n - 1] == '\r') n--;
    for (c = 0; field(line, n, c, &flen); c++) {
        const char *f = field(line, n, c, &flen);
        if (flen == 8 && memcmp(f, "sentence", 8) == 0) col_s = c;
        if (flen == 5 && memcmp(f, "label", 5) == 0) col_l = c;
    }
    FZ_CHECK(col_s >= 0 && col_l >= 0, "an accepted header has both columns");
    for (i = 0; i < ds->count; i++) {
        const char *sentence, *label;
        char buf[64], *end;
        size_t got;
        line = nl + 1;
        nl = (const char *)memchr(line, '\n', len - (size_t)(line - text));
        n = nl ? (size_t)(nl - line) : len - (size_t)(line - text);
        if (n && line[n - 1] == '\r') n--;
        sentence = field(line, n, col_s, &slen);
        label = field(line, n, col_l, &flen);
        FZ_CHECK(sentence && label, "a row has the header's columns");
        got = ss_tokenizer_encode(tok, &o, sentence, slen, NULL, 0, ids, NULL, NULL, 64);
        FZ_CHECK((int64_t)got == ds->offsets[i + 1] - ds->offsets[i] &&
                 memcmp(ds->tokens + ds->offsets[i], ids, got * sizeof(int)) == 0,
                 "a row is the encoding of its sentence");
        FZ_CHECK(flen > 0 && flen < sizeof buf && !memchr(label, '\0', flen),
                 "an accepted label is a short field without NUL");
        memcpy(buf, label, flen);
        buf[flen] = '\0';
        if (num_labels >= 2) {
            FZ_CHECK(strspn(buf, "0123456789") == flen && ds->labels[i] == (float)atoi(buf),
                     "a class label is its digits");
        } else {
            double v = strtod(buf, &end);
            FZ_CHECK(*end == '\0' && buf[0] != ' ' && ds->labels[i] == (float)v,
                     "a regression label is the number of the whole field");
        }
    }
}

static void one(const uint8_t *data, size_t size) {
    const ss_tokenizer *tok = fz_vocab();
    const char *path = fz_path("train.tsv"), *text;
    ss_dataset ds, file_ds;
    ss_result r, rf;
    int max_len, num_labels;
    size_t len;
    int64_t i;
    if (size < 1) return;
    max_len = 2 + data[0] % 30;
    num_labels = 1 + data[0] / 30 % 4;
    text = (const char *)data + 1;
    len = size - 1;
    fz_clear_detail();
    r = ss_dataset_from_tsv(&ds, tok, text, len, "train.tsv", max_len, num_labels);
    if (r != SS_OK) {
        fz_check_error(r, "ss_dataset_from_tsv refusal");
        FZ_CHECK(r == SS_ERR_FORMAT || (fz_alloc_failed && r == SS_ERR_NOMEM), "error code");
        FZ_CHECK(ds.offsets == NULL && ds.tokens == NULL && ds.labels == NULL && ds.count == 0,
                 "a refusal leaves the data set zeroed");
    } else {
        fz_check_dataset(&ds, tok->vocab_size);
        FZ_CHECK(ds.count >= 1 && ds.labels != NULL, "rows and labels");
        FZ_CHECK(ds.count == data_lines(text, len), "one row per data line");
        FZ_CHECK(ds.max_len <= max_len, "rows within max_len");
        for (i = 0; i < ds.count; i++) {
            const int32_t *seq = ds.tokens + ds.offsets[i];
            int64_t n = ds.offsets[i + 1] - ds.offsets[i];
            float label = ds.labels[i];
            FZ_CHECK(n >= 2 && seq[0] == tok->cls_id && seq[n - 1] == tok->sep_id,
                     "[CLS] ... [SEP]");
            if (num_labels >= 2)
                FZ_CHECK(label >= 0 && label < (float)num_labels && label == (float)(int)label,
                         "class label in range");
            else
                FZ_CHECK(label - label == 0.0f, "regression label finite");
        }
        check_rows(&ds, tok, text, len, max_len, num_labels);
        fz_check_cache_round_trip(&ds);
    }
    fz_write_file(path, text, len);
    rf = ss_dataset_read_tsv(&file_ds, tok, path, max_len, num_labels);
    fz_check_file_reader(r, rf, &ds, &file_ds, path);
    fz_check_dir_empty();
}

FZ_MAIN_WITH_VOCAB(one)
