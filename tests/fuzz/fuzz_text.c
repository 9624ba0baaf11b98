/* fuzz_text.c - libFuzzer target: the plain-text reader (ss_dataset_from_text in memory and
   ss_dataset_read_text on a scratch file, which must agree), one sequence a line or packed, with
   the vocabulary of fuzz_util.h.
   Input: byte 0 picks max_len (byte % 40; below 3 is refused with SS_ERR_INVALID) and pack
   (byte / 128); the rest is the text. Properties checked:
   - a refusal is SS_ERR_INVALID (max_len < 3), SS_ERR_FORMAT (no non-blank line) or
     SS_ERR_NOMEM under an injected failure, with a detail and a zeroed data set;
   - line mode: one sequence per non-blank line, each [CLS] + the line's ids + [SEP], cut to
     max_len ids, equal to ss_tokenizer_encode of the line;
   - pack mode: every sequence [CLS] ... [SEP], all but the last exactly max_len ids, and the ids
     between the specials, concatenated, are the ids of every line in order;
   - the memory and file readers agree, and the token cache gives the data set back.
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_text.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

#define FZ_CAP 8192

static int line_ids[FZ_CAP], all_ids[FZ_CAP];

static int blank(const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

/* Walk the lines as the reader documents them and check ds against them. */
static void check_lines(const ss_dataset *ds, const ss_tokenizer *tok, const char *text,
                        size_t len, int max_len, int pack) {
    ss_encode_options o;
    size_t pos = 0, n_all = 0, k;
    int64_t seq = 0, i;
    memset(&o, 0, sizeof o);
    o.max_length = max_len;
    while (pos < len) {
        const char *line = text + pos, *nl = (const char *)memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        if (n && line[n - 1] == '\r') n--;
        if (blank(line, n)) continue;
        if (!pack) {
            size_t got = ss_tokenizer_encode(tok, &o, line, n, NULL, 0, line_ids, NULL, NULL, FZ_CAP);
            FZ_CHECK(seq < ds->count, "a sequence for every non-blank line");
            FZ_CHECK((int64_t)got == ds->offsets[seq + 1] - ds->offsets[seq] &&
                     memcmp(ds->tokens + ds->offsets[seq], line_ids, got * sizeof(int)) == 0,
                     "the line's sequence is its encoding");
            seq++;
        } else {
            n_all += ss_tokenizer_tokenize(tok, line, n, n_all < FZ_CAP ? all_ids + n_all : NULL,
                                           n_all < FZ_CAP ? FZ_CAP - n_all : 0);
        }
    }
    if (!pack) {
        FZ_CHECK(seq == ds->count, "no sequence but the lines'");
        return;
    }
    if (n_all > FZ_CAP) return;
    FZ_CHECK(ds->count == (int64_t)((n_all + (size_t)max_len - 3) / (size_t)(max_len - 2)),
             "packed: ceil(ids / (max_len - 2)) sequences");
    for (i = 0, k = 0; i < ds->count; i++) {
        const int32_t *s = ds->tokens + ds->offsets[i];
        int64_t n = ds->offsets[i + 1] - ds->offsets[i], j;
        FZ_CHECK(n >= 3 && s[0] == tok->cls_id && s[n - 1] == tok->sep_id, "packed specials");
        FZ_CHECK(n == max_len || i == ds->count - 1, "packed sequences are full but the last");
        for (j = 1; j < n - 1; j++, k++) FZ_CHECK(k < n_all && s[j] == all_ids[k], "packed ids");
    }
    FZ_CHECK(k == n_all, "packed: every id once");
}

static void one(const uint8_t *data, size_t size) {
    const ss_tokenizer *tok = fz_vocab();
    const char *path = fz_path("train.txt"), *text;
    ss_dataset ds, file_ds;
    ss_result r, rf;
    int max_len, pack;
    size_t len;
    if (size < 1) return;
    max_len = data[0] % 40;
    pack = data[0] >= 128;
    text = (const char *)data + 1;
    len = size - 1;
    fz_clear_detail();
    r = ss_dataset_from_text(&ds, tok, text, len, "train.txt", max_len, pack);
    if (r != SS_OK) {
        fz_check_error(r, "ss_dataset_from_text refusal");
        FZ_CHECK((r == SS_ERR_INVALID) == (max_len < 3), "SS_ERR_INVALID iff max_len < 3");
        FZ_CHECK(r == SS_ERR_INVALID || r == SS_ERR_FORMAT || (fz_alloc_failed && r == SS_ERR_NOMEM),
                 "error code");
        FZ_CHECK(ds.offsets == NULL && ds.tokens == NULL && ds.count == 0, "zeroed on failure");
    } else {
        FZ_CHECK(max_len >= 3 && ds.count >= 1 && ds.labels == NULL, "sequences, no labels");
        FZ_CHECK(ds.max_len <= max_len, "sequences within max_len");
        fz_check_dataset(&ds, tok->vocab_size);
        check_lines(&ds, tok, text, len, max_len, pack);
        fz_check_cache_round_trip(&ds);
    }
    fz_write_file(path, text, len);
    rf = ss_dataset_read_text(&file_ds, tok, path, max_len, pack);
    fz_check_file_reader(r, rf, &ds, &file_ds, path);
    fz_check_dir_empty();
}

FZ_MAIN_WITH_VOCAB(one)
