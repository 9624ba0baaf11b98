/* fuzz_tokenize.c - libFuzzer target: the tokenizer on arbitrary bytes, with the small fixed
   vocabulary of fuzz_util.h (and, for some inputs, a vocabulary trained on the input).
   Input: byte 0 holds switches (bit 0 final_sigma, 1 split_special_tokens, 2 pad, 3
   no_special_tokens, 4 a pair: the text splits at its first 0x1F byte, 5 train a vocabulary on
   the text), byte 1 max_length (0: none); the rest is the text. Properties checked:
   - tokenize, encode, decode and basic tokenization allocate nothing;
   - every id is in [0, V); a second call gives the same ids (deterministic); a smaller buffer
     gets a prefix of the same ids and the same count;
   - tokenize(a + " " + b) = tokenize(a) followed by tokenize(b): a space is a hard word boundary;
   - encode: [CLS] first and [SEP] last with special tokens, the length within max_length, the
     text's ids in between when nothing was cut, mask 1 then 0, type ids 0 then 1 for a pair,
     [PAD] after the end; encode_batch rows equal single encodes;
   - basic tokenization gives non-empty words of valid UTF-8 with at most 100 code points;
   - decode of the ids fits ss_tokenizer_decode_size and is NUL-terminated;
   - a trained vocabulary is valid, and tokenizing the text with it stays in range.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_tokenize.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

#define FZ_CAP 8192 /* ids: more than any 4 KiB input can give (at most one per byte, plus 3) */

static int ids_a[FZ_CAP], ids_b[FZ_CAP], ids_c[FZ_CAP], type_a[FZ_CAP], mask_a[FZ_CAP];

static void check_range(const ss_tokenizer *tok, const int *ids, size_t n, const char *what) {
    size_t i;
    for (i = 0; i < n; i++) FZ_CHECK(ids[i] >= 0 && ids[i] < tok->vocab_size, what);
}

static void on_word(void *user, const char *word, size_t len, int nchars) {
    size_t i, cps = 0;
    (void)user;
    FZ_CHECK(len > 0 && nchars > 0, "words are not empty");
    FZ_CHECK(fz_utf8_valid((const unsigned char *)word, len), "words are UTF-8");
    for (i = 0; i < len; i++) cps += ((unsigned char)word[i] & 0xC0) != 0x80;
    FZ_CHECK(cps <= SS_TOKENIZER_MAX_WORD_CHARS && (int)cps <= nchars, "word length in chars");
    FZ_CHECK(nchars <= SS_TOKENIZER_MAX_WORD_CHARS || cps == SS_TOKENIZER_MAX_WORD_CHARS,
             "a long word comes with its first 100 code points");
}

/* tokenize: in range, deterministic, prefix-consistent; returns the count (ids in ids_a). */
static size_t check_tokenize(const ss_tokenizer *tok, const char *text, size_t len) {
    size_t n = ss_tokenizer_tokenize(tok, text, len, NULL, 0), m, half;
    FZ_CHECK(n <= len + 1 && n < FZ_CAP, "at most one id per byte");
    m = ss_tokenizer_tokenize(tok, text, len, ids_a, FZ_CAP);
    FZ_CHECK(m == n, "count with and without a buffer");
    check_range(tok, ids_a, n, "tokenize ids in range");
    m = ss_tokenizer_tokenize(tok, text, len, ids_b, FZ_CAP);
    FZ_CHECK(m == n && memcmp(ids_a, ids_b, n * sizeof(int)) == 0, "tokenize is deterministic");
    half = n / 2;
    memset(ids_b, 0xff, sizeof ids_b);
    m = ss_tokenizer_tokenize(tok, text, len, half ? ids_b : NULL, half);
    FZ_CHECK(m == n && memcmp(ids_a, ids_b, half * sizeof(int)) == 0 && ids_b[half] == -1,
             "a small buffer gets a prefix, nothing past it");
    return n;
}

/* A space splits: tokenize(text) = tokenize(left) ++ tokenize(right). */
static void check_space_split(const ss_tokenizer *tok, const char *text, size_t len, size_t n) {
    const char *sp = (const char *)memchr(text + len / 2, ' ', len - len / 2);
    size_t nl, nr;
    if (!sp) sp = (const char *)memchr(text, ' ', len);
    if (!sp) return;
    nl = ss_tokenizer_tokenize(tok, text, (size_t)(sp - text), ids_b, FZ_CAP);
    nr = ss_tokenizer_tokenize(tok, sp + 1, len - (size_t)(sp - text) - 1, ids_c, FZ_CAP);
    FZ_CHECK(nl + nr == n && memcmp(ids_a, ids_b, nl * sizeof(int)) == 0 &&
             memcmp(ids_a + nl, ids_c, nr * sizeof(int)) == 0, "a space is a word boundary");
}

static void check_encode(const ss_tokenizer *tok, const ss_encode_options *o, const char *text,
                         size_t len, const char *pair, size_t pair_len, size_t na) {
    size_t nb = pair ? ss_tokenizer_tokenize(tok, pair, pair_len, NULL, 0) : 0;
    size_t total, i, first_b, ml = o->max_length > 0 ? (size_t)o->max_length : 0;
    const int special = !o->no_special_tokens;
    const char *texts[2];
    const char *pairs[2];
    size_t lens[2], pair_lens[2];
    int lengths[2];
    memset(ids_b, 0xff, sizeof ids_b);
    total = ss_tokenizer_encode(tok, o, text, len, pair, pair_len, ids_b, type_a, mask_a, FZ_CAP);
    FZ_CHECK(total < FZ_CAP, "encode fits");
    FZ_CHECK(ml == 0 || total <= ml, "max_length respected");
    FZ_CHECK(total == (size_t)(special ? (pair ? 3 : 2) : 0) + na + nb || (ml && total == ml) ||
             (ml && !pair && special && total == 2), "length: everything, or cut to max_length");
    check_range(tok, ids_b, total, "encode ids in range");
    if (special) {
        FZ_CHECK(total >= 2 && ids_b[0] == tok->cls_id && ids_b[total - 1] == tok->sep_id,
                 "[CLS] first, [SEP] last");
    }
    if (total == (size_t)(special ? (pair ? 3 : 2) : 0) + na + nb)
        FZ_CHECK(memcmp(ids_b + (special ? 1 : 0), ids_a, na * sizeof(int)) == 0,
                 "uncut: the text's ids in between");
    first_b = total;
    for (i = 0; i < total; i++) {
        FZ_CHECK(mask_a[i] == 1, "mask 1 on real tokens");
        FZ_CHECK(type_a[i] == 0 || (pair && type_a[i] == 1), "type ids");
        if (type_a[i] == 1 && first_b == total) first_b = i;
        if (i > first_b) FZ_CHECK(type_a[i] == 1, "type ids 0 then 1");
    }
    if (o->pad && ml)
        for (i = total; i < ml; i++)
            FZ_CHECK(ids_b[i] == tok->pad_id && mask_a[i] == 0 && type_a[i] == 0, "padding");
    if (total == (size_t)(special ? (pair ? 3 : 2) : 0) + na + nb) /* (a cut leaves scratch) */
        FZ_CHECK(ids_b[ml > total && o->pad ? ml : total] == -1, "nothing written past the end");
    if (!ml) return;
    /* encode_batch: two rows, the same input twice, each equal to the single encode */
    texts[0] = texts[1] = text;
    lens[0] = lens[1] = len;
    pairs[0] = pairs[1] = pair;
    pair_lens[0] = pair_lens[1] = pair_len;
    ss_tokenizer_encode_batch(tok, o, texts, lens, pair ? pairs : NULL, pair ? pair_lens : NULL, 2,
                              ids_c, NULL, NULL, lengths);
    FZ_CHECK(lengths[0] == (int)total && lengths[1] == (int)total, "batch lengths");
    for (i = 0; i < ml; i++)
        FZ_CHECK(ids_c[i] == ids_c[ml + i] &&
                 ids_c[i] == (i < total ? ids_b[i] : tok->pad_id), "batch rows");
}

static void check_decode(const ss_tokenizer *tok, const int *ids, size_t n) {
    size_t size = ss_tokenizer_decode_size(tok, ids, n), len;
    char *out = (char *)malloc(size);
    unsigned flags;
    if (!out) return;
    for (flags = 0; flags < 4; flags++) {
        len = ss_tokenizer_decode(tok, ids, n, flags, out);
        FZ_CHECK(len < size && out[len] == '\0', "decode fits its size");
    }
    free(out);
}

static void check_trained(const char *text, size_t len, int final_sigma) {
    ss_vocab_trainer tr;
    ss_vocab_train_options vo;
    ss_tokenizer tok;
    ss_result r;
    memset(&vo, 0, sizeof vo);
    vo.vocab_size = 60;
    vo.min_frequency = 1;
    vo.final_sigma = final_sigma;
    memset(&tok, 0, sizeof tok);
    r = ss_vocab_trainer_init(&tr, &vo);
    fz_check_ok(r, "trainer init");
    if (r == SS_OK) r = ss_vocab_trainer_feed(&tr, text, len);
    if (r == SS_OK) r = ss_vocab_trainer_train(&tr, &tok);
    fz_check_ok(r, "training on any text");
    if (r == SS_OK) {
        size_t n = ss_tokenizer_tokenize(&tok, text, len, ids_c, FZ_CAP);
        int i;
        FZ_CHECK(tok.vocab_size >= 5, "trained vocabulary size");
        for (i = 0; i < tok.vocab_size; i++) {
            const char *t = ss_tokenizer_token(&tok, i);
            FZ_CHECK(t[0] && fz_utf8_valid((const unsigned char *)t, strlen(t)) &&
                     ss_tokenizer_find(&tok, t, strlen(t)) == i, "trained tokens");
        }
        FZ_CHECK(n < FZ_CAP, "trained tokenize count");
        check_range(&tok, ids_c, n, "ids of the trained vocabulary in range");
    }
    ss_tokenizer_free(&tok);
    ss_vocab_trainer_free(&tr);
}

static void one(const uint8_t *data, size_t size) {
    ss_tokenizer tok = *fz_vocab(); /* a shallow copy: only the switches change */
    ss_encode_options o;
    const char *text, *pair = NULL, *cut;
    size_t len, pair_len = 0, n;
    long allocs;
    unsigned sw;
    if (size < 2) return;
    sw = data[0];
    tok.final_sigma = sw & 1;
    tok.split_special_tokens = (sw >> 1) & 1;
    memset(&o, 0, sizeof o);
    o.pad = (sw >> 2) & 1;
    o.no_special_tokens = (sw >> 3) & 1;
    o.max_length = data[1] < 3 && data[1] ? 3 : data[1];
    text = (const char *)data + 2;
    len = size - 2;
    if ((sw >> 4) & 1 && (cut = (const char *)memchr(text, 0x1f, len)) != NULL) {
        pair = cut + 1;
        pair_len = len - (size_t)(pair - text);
        len = (size_t)(cut - text);
    }
    allocs = fz_alloc_count;
    ss_basic_tokenize(text, len, tok.final_sigma, on_word, NULL);
    n = check_tokenize(&tok, text, len);
    check_space_split(&tok, text, len, n);
    check_decode(&tok, ids_a, n);
    check_encode(&tok, &o, text, len, pair, pair_len, n);
    FZ_CHECK(fz_alloc_count == allocs, "tokenize, encode and decode allocate nothing");
    if ((sw >> 5) & 1) check_trained(text, len, tok.final_sigma);
}

FZ_MAIN_WITH_VOCAB(one)
