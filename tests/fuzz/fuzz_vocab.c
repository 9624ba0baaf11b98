/* fuzz_vocab.c - libFuzzer target: vocab.txt loading (ss_tokenizer_load from a scratch file and
   ss_tokenizer_init from memory, which must agree).
   Input: the file's bytes. Properties checked:
   - load either fails with SS_ERR_FORMAT, a detail and a zeroed tokenizer, or gives V >= 5 tokens
     where every token is non-empty UTF-8 without NUL, CR or LF, find(token) gives its id back,
     the five special ids are distinct and name their tokens, max_token_bytes is the longest;
   - init from the same bytes in memory gives the same result (code, or every token);
   - the tokens joined with "\n" load again to the same vocabulary (what ss_tokenizer_save writes);
   - encoding a few fixed texts with it gives ids in range, and decoding every id fits its size.
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_vocab.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

static int same_vocab(const ss_tokenizer *a, const ss_tokenizer *b) {
    int i;
    if (a->vocab_size != b->vocab_size || a->pad_id != b->pad_id || a->unk_id != b->unk_id ||
        a->cls_id != b->cls_id || a->sep_id != b->sep_id || a->mask_id != b->mask_id ||
        a->max_token_bytes != b->max_token_bytes)
        return 0;
    for (i = 0; i < a->vocab_size; i++)
        if (strcmp(ss_tokenizer_token(a, i), ss_tokenizer_token(b, i)) != 0) return 0;
    return 1;
}

static void check_vocab(const ss_tokenizer *tok) {
    static const char *const specials[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    const int ids[5] = {tok->pad_id, tok->unk_id, tok->cls_id, tok->sep_id, tok->mask_id};
    static const char *const texts[4] = {
        "Hello, World! [MASK] unable caf\xc3\xa9",
        "\xce\xa3\xce\x91\xce\xa3 \xe4\xb8\xad\xe6\x96\x87",
        "[CLS][SEP] a\tb\r\nc",
        ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx longword")}; /* a word of 109 characters: [UNK] */
    int i, k, longest = 0, idbuf[256], all[64];
    char *text;
    FZ_CHECK(tok->vocab_size >= 5, "at least the five specials");
    for (k = 0; k < 5; k++) {
        FZ_CHECK(ids[k] >= 0 && ids[k] < tok->vocab_size, "special id in range");
        FZ_CHECK(strcmp(ss_tokenizer_token(tok, ids[k]), specials[k]) == 0, "special token");
        for (i = 0; i < k; i++) FZ_CHECK(ids[i] != ids[k], "special ids distinct");
    }
    for (i = 0; i < tok->vocab_size; i++) {
        const char *t = ss_tokenizer_token(tok, i);
        size_t n = strlen(t);
        FZ_CHECK(n > 0, "token non-empty");
        FZ_CHECK(n == tok->start[i + 1] - tok->start[i] - 1, "token length");
        FZ_CHECK(!strchr(t, '\n') && !strchr(t, '\r'), "no line end inside a token");
        FZ_CHECK(fz_utf8_valid((const unsigned char *)t, n), "token is UTF-8");
        FZ_CHECK(ss_tokenizer_find(tok, t, n) == i, "find gives the id back");
        if ((int)n > longest) longest = (int)n;
    }
    FZ_CHECK(longest == tok->max_token_bytes, "max_token_bytes");
    FZ_CHECK(ss_tokenizer_find(tok, "", 0) == -1, "the empty string is no token");
    for (k = 0; k < 4; k++) {
        size_t n = ss_tokenizer_encode(tok, NULL, texts[k], strlen(texts[k]), NULL, 0, idbuf, NULL,
                                       NULL, 256), j;
        FZ_CHECK(n >= 2 && n <= 256, "encode length");
        for (j = 0; j < n; j++) FZ_CHECK(idbuf[j] >= 0 && idbuf[j] < tok->vocab_size, "id range");
    }
    /* decode the first and last 32 ids */
    for (i = 0, k = 0; i < tok->vocab_size && k < 64; i++)
        if (i < 32 || i >= tok->vocab_size - 32) all[k++] = i;
    text = (char *)malloc(ss_tokenizer_decode_size(tok, all, (size_t)k));
    if (text) {
        size_t n = ss_tokenizer_decode(tok, all, (size_t)k, 0, text);
        FZ_CHECK(n < ss_tokenizer_decode_size(tok, all, (size_t)k) && strlen(text) == n, "decode");
        free(text);
    }
}

/* The vocabulary as ss_tokenizer_save writes it, loaded again. */
static void check_save_form(const ss_tokenizer *tok) {
    size_t bytes = tok->start[tok->vocab_size], used = 0;
    char *text = (char *)malloc(bytes + 1);
    ss_tokenizer again;
    ss_result r;
    int i;
    if (!text) return;
    for (i = 0; i < tok->vocab_size; i++) {
        const char *t = ss_tokenizer_token(tok, i);
        size_t n = strlen(t);
        memcpy(text + used, t, n);
        used += n;
        text[used++] = '\n';
    }
    r = ss_tokenizer_init(&again, text, used, "saved");
    fz_check_ok(r, "the saved form loads");
    if (r == SS_OK) FZ_CHECK(same_vocab(tok, &again), "the saved form is the same vocabulary");
    ss_tokenizer_free(&again);
    free(text);
}

static void one(const uint8_t *data, size_t size) {
    const char *path = fz_path("vocab.txt");
    ss_tokenizer tok, mem;
    ss_result r, rm;
    fz_write_file(path, data, size);
    fz_clear_detail();
    r = ss_tokenizer_load(&tok, path);
    if (r != SS_OK) {
        fz_check_error(r, "ss_tokenizer_load refusal");
        FZ_CHECK(r == SS_ERR_FORMAT || (fz_alloc_failed && r == SS_ERR_NOMEM), "load error code");
        FZ_CHECK(tok.text == NULL && tok.start == NULL && tok.vocab_size == 0, "zeroed on failure");
    } else {
        check_vocab(&tok);
        check_save_form(&tok);
    }
    fz_clear_detail();
    rm = ss_tokenizer_init(&mem, (const char *)data, size, "vocab.txt");
    if (!fz_alloc_failed) {
        FZ_CHECK(rm == r, "load and init agree");
        if (r == SS_OK) FZ_CHECK(same_vocab(&tok, &mem), "load and init give the same tokens");
    }
    if (rm != SS_OK) fz_check_error(rm, "ss_tokenizer_init refusal");
    ss_tokenizer_free(&mem);
    ss_tokenizer_free(&tok);
    FZ_CHECK(tok.text == NULL && tok.vocab_size == 0, "freed tokenizer zeroed");
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_run_with_failures(one, data, size);
    return 0;
}
