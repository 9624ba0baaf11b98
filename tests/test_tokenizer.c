/* test_tokenizer.c - section 9: the generated Unicode tables, every rule of BERT's basic
   tokenizer on its own input, WordPiece edge cases, encoding (pairs, longest-first truncation,
   padding, masks, batches), decoding, malformed vocabulary files with their file:line details,
   seeded random bytes, allocation failure at every site, the vocabulary trainer (a worked
   example, determinism, a 2000-token vocabulary), and parity with HuggingFace's BertTokenizer
   from tests/ref/bert_parity.tsv (made by tests/ref/make_bert_parity.py).
   The bert-base-uncased vocabulary comes from tests/ref/get_bert_vocab.sh (build/bert-vocab.txt);
   checks that need it or the parity file say SKIP when they are missing.
   cc -std=c99 -O2 -o test_tokenizer tests/test_tokenizer.c -lm && ./test_tokenizer */
#define _POSIX_C_SOURCE 200809L /* WEXITSTATUS, to read get_bert_vocab.sh's exit status */
#include <stdlib.h>
#include <stdio.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#endif

#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"

#define BERT_VOCAB "build/bert-vocab.txt"
#define PARITY_FILE "tests/ref/bert_parity.tsv"

/* Make sure build/bert-vocab.txt is there, fetching it once with tests/ref/get_bert_vocab.sh.
   Returns 1 when it is; else prints why the checks that need it are skipped (npm cannot reach
   its registry) or fails (the script found a wrong file). */
static int bert_vocab_ready(const char *what) {
    static int state = -1; /* -1 unknown, 0 missing (npm unreachable), 1 there, 2 script failed */
    FILE *f = fopen(BERT_VOCAB, "rb");
    if (f) {
        fclose(f);
        return 1;
    }
    if (state < 0) {
        int status = system("bash tests/ref/get_bert_vocab.sh >build/test/get_bert_vocab.log 2>&1");
        int code = status;
#ifdef WEXITSTATUS
        if (status != -1) code = WEXITSTATUS(status);
#endif
        f = fopen(BERT_VOCAB, "rb");
        if (f) fclose(f);
        state = f ? 1 : code == 1 ? 2 : 0;
    }
    if (state == 1) return 1;
    if (state == 2) test_true(0, "tests/ref/get_bert_vocab.sh produced the expected vocabulary (see build/test/get_bert_vocab.log)");
    else printf("SKIP %s: npm cannot reach its registry, no %s (see build/test/get_bert_vocab.log)\n", what, BERT_VOCAB);
    return 0;
}

static int detail_is(const char *want) {
    if (strcmp(ss_last_error_detail(), want) == 0) return 1;
    printf("  detail: \"%s\"\n  wanted: \"%s\"\n", ss_last_error_detail(), want);
    return 0;
}

/* A small vocabulary: the special tokens, then the given tokens separated by spaces. */
static int tiny_vocab(ss_tokenizer *tok, const char *tokens) {
    char text[4096];
    size_t n = (size_t)sprintf(text, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"), i;
    for (i = 0; tokens[i]; i++) text[n++] = tokens[i] == ' ' ? '\n' : tokens[i];
    text[n++] = '\n';
    if (ss_tokenizer_init(tok, text, n, "tiny") == SS_OK) return 1;
    printf("  tiny vocab: %s\n", ss_last_error_detail());
    return 0;
}

/* ---- basic tokenization: collect the words as one "|"-separated string ---- */

typedef struct words_buf {
    char text[8192];
    size_t len;
    int nchars[256], count;
} words_buf;

static void collect_word(void *user, const char *word, size_t len, int nchars) {
    words_buf *w = (words_buf *)user;
    if (w->len + len + 2 >= sizeof w->text) return;
    if (w->count) w->text[w->len++] = '|';
    memcpy(w->text + w->len, word, len);
    w->len += len;
    w->text[w->len] = '\0';
    if (w->count < 256) w->nchars[w->count] = nchars;
    w->count++;
}

static int basic_is(const char *name, const char *input, const char *want, int final_sigma) {
    words_buf w;
    int ok;
    w.len = 0;
    w.count = 0;
    w.text[0] = '\0';
    ss_basic_tokenize(input, strlen(input), final_sigma, collect_word, &w);
    ok = strcmp(w.text, want) == 0;
    if (!ok) printf("  got  \"%s\"\n  want \"%s\"\n", w.text, want);
    test_true(ok, name);
    return ok;
}

static void test_tables(void) {
    uint32_t c, out[3];
    int same = 1, n;
    for (c = 0; c < 128; c++)
        if ((unsigned)(ss__ascii_class[c] - '0') != (ss__uc_class(c) & 7)) {
            printf("  ASCII %u: table %c, Unicode class %u\n", c, ss__ascii_class[c], ss__uc_class(c));
            same = 0;
        }
    test_true(same, "tables: ASCII fast path agrees with the Unicode tables");
    test_true(strcmp(SS_UNICODE_VERSION, SS__UC_VERSION) == 0, "tables: version macro matches the generated tables");
    n = ss__uc_fold(0xC9, out); /* E with acute */
    test_true(n == 1 && out[0] == 'e', "tables: fold U+00C9 -> e");
    n = ss__uc_fold(0x130, out);
    test_true(n == 1 && out[0] == 'i', "tables: fold U+0130 -> i (lower gives i + U+0307, stripped)");
    n = ss__uc_fold(0xD55C, out); /* Hangul syllable HAN */
    test_true(n == 3 && out[0] == 0x1112 && out[1] == 0x1161 && out[2] == 0x11AB, "tables: Hangul syllable -> 3 jamo");
    n = ss__uc_fold(0xF900, out);
    test_true(n == 1 && out[0] == 0x8C48, "tables: CJK compatibility ideograph -> unified");
    n = ss__uc_fold(0x1D160, out);
    test_true(n == 3 && out[0] == 0x1D158 && out[1] == 0x1D165 && out[2] == 0x1D16E, "tables: musical symbol -> 3 code points");
    test_true(ss__uc_ccc(0x1D165) == 216 && (ss__uc_class(0x1D165) & 7) == SS__UC_NONSTARTER, "tables: kept non-starter with its class");
    test_true((ss__uc_class(0x301) & 7) == SS__UC_MN && (ss__uc_class(0x94D) & 7) == SS__UC_MN &&
                  (ss__uc_class(0x941) & 7) == SS__UC_MN_BREAK,
              "tables: Mn non-starter vs Mn starter");
    test_true((ss__uc_class(0xE0100) & 7) == SS__UC_MN_BREAK && ss__uc_class(0xE0001) == SS__UC_DROP &&
                  ss__uc_class(0x10FFFF) == SS__UC_DROP && ss__uc_class(0x40000) == SS__UC_DROP,
              "tables: above the table limit");
    test_true(ss__uc_has(ss__uc_cased, SS__UC_NCASED, 'A') && !ss__uc_has(ss__uc_cased, SS__UC_NCASED, '1') &&
                  ss__uc_has(ss__uc_case_ignorable, SS__UC_NCASE_IGNORABLE, '.') &&
                  ss__uc_has(ss__uc_case_ignorable, SS__UC_NCASE_IGNORABLE, 0x301),
              "tables: Cased and Case_Ignorable");
}

/* Each rule of the basic tokenizer, on an input built for it; expected words written out by hand. */
static void test_basic_rules(void) {
    char longw[400];
    words_buf w;
    int i;
    basic_is("basic: split on spaces", "  hello   world  ", "hello|world", 0);
    {
        const char text[] = "a\0b\xEF\xBF\xBD" "c\x07" "d\xE2\x80\x8B" "e\xC2\x85" "f\xEE\x80\x80g";
        w.len = 0, w.count = 0, w.text[0] = '\0';
        ss_basic_tokenize(text, sizeof text - 1, 0, collect_word, &w);
        test_true(strcmp(w.text, "abcdefg") == 0, "clean: NUL, U+FFFD, BEL, ZWSP (Cf), NEL (C1), U+E000 (Co) dropped");
    }
    basic_is("clean: \\t \\n \\r, NBSP and ideographic space (Zs) are spaces",
             "a\tb\nc\rd\xC2\xA0" "e\xE3\x80\x80" "f", "a|b|c|d|e|f", 0);
    basic_is("clean: \\v \\f and 0x1C-0x1F are controls, dropped", "a\x0b" "b\x0c" "c\x1f" "d", "abcd", 0);
    basic_is("split: U+2028 and U+2029 separate words (Python's str.split)", "a\xE2\x80\xA8" "b\xE2\x80\xA9" "c", "a|b|c", 0);
    basic_is("CJK: each ideograph is a word", "ab\xE4\xB8\xAD\xE6\x96\x87" "cd", "ab|\xE4\xB8\xAD|\xE6\x96\x87|cd", 0);
    basic_is("CJK: compatibility ideograph U+F900 -> U+8C48", "x\xEF\xA4\x80y", "x|\xE8\xB1\x88|y", 0);
    basic_is("CJK: a mark after an ideograph is stripped", "\xE4\xB8\xAD\xCC\x81", "\xE4\xB8\xAD", 0);
    basic_is("CJK: kana are not split, their voicing marks are stripped (NFD)",
             "\xE3\x81\xB2\xE3\x82\x89\xE3\x81\x8C\xE3\x81\xAA", "\xE3\x81\xB2\xE3\x82\x89\xE3\x81\x8B\xE3\x81\xAA", 0);
    basic_is("lowercase: ASCII, Latin-1, Cyrillic", "HeLLo \xC3\x9E \xD0\x96", "hello|\xC3\xBE|\xD0\xB6", 0);
    basic_is("lowercase: U+0130 -> i + U+0307, the dot then stripped", "\xC4\xB0stanbul", "istanbul", 0);
    basic_is("lowercase: sharp s stays, capital sharp s -> sharp s", "Stra\xC3\x9F" "e \xE1\xBA\x9E", "stra\xC3\x9F" "e|\xC3\x9F", 0);
    basic_is("lowercase per character: word-final capital sigma -> sigma",
             "\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3", "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x83", 0);
    basic_is("final_sigma: word-final sigma -> final sigma, elsewhere sigma",
             "\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3 \xCE\xA3\xCE\x91 \xCE\xA3 \xCE\x91\xCE\xA3.",
             "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82|\xCF\x83\xCE\xB1|\xCF\x83|\xCE\xB1\xCF\x82|.", 1);
    basic_is("lowercase: full-width letters have lowercase forms", "\xEF\xBC\xA1\xEF\xBC\xA2", "\xEF\xBD\x81\xEF\xBD\x82", 0);
    basic_is("strip accents: precomposed", "Caf\xC3\xA9 na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m", "cafe|naive|angstrom", 0);
    basic_is("strip accents: decomposed input gives the same", "Cafe\xCC\x81", "cafe", 0);
    basic_is("strip accents: Greek with breathing and circumflex",
             "\xE1\xBC\x88\xCE\xB8\xE1\xBF\x86\xCE\xBD\xCE\xB1\xCE\xB9", "\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1\xCE\xB9", 0);
    basic_is("strip accents: Arabic harakat (Mn) dropped", "\xD9\x83\xD9\x8E\xD8\xAA\xD9\x8E\xD8\xA8\xD9\x8E", "\xD9\x83\xD8\xAA\xD8\xA8", 0);
    basic_is("strip accents: Devanagari virama (Mn) dropped, vowel signs (Mc) kept",
             "\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA5\x8D\xE0\xA4\xA6\xE0\xA5\x80",
             "\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA4\xA6\xE0\xA5\x80", 0);
    basic_is("strip accents: Thai vowel sign above (Mn) dropped", "\xE0\xB8\x81\xE0\xB8\xB4\xE0\xB8\x99", "\xE0\xB8\x81\xE0\xB8\x99", 0);
    basic_is("strip accents: Hangul syllable -> conjoining jamo", "\xED\x95\x9C", "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", 0);
    basic_is("strip accents: canonical reordering of kept marks (ccc 226 after 216)",
             "\xF0\x9D\x85\x98\xF0\x9D\x85\xAD\xF0\x9D\x85\xA5", "\xF0\x9D\x85\x98\xF0\x9D\x85\xA5\xF0\x9D\x85\xAD", 0);
    basic_is("strip accents: no reordering across a dropped starter mark",
             "\xF0\x9D\x85\x98\xF0\x9D\x85\xAD\xE0\xA5\x81\xF0\x9D\x85\xA5", "\xF0\x9D\x85\x98\xF0\x9D\x85\xAD\xF0\x9D\x85\xA5", 0);
    basic_is("punctuation: every ASCII symbol is its own word", "a$b^c`d~e+f", "a|$|b|^|c|`|d|~|e|+|f", 0);
    basic_is("punctuation: contraction and hyphen split", "don't re-use", "don|'|t|re|-|use", 0);
    basic_is("punctuation: Unicode P* (dash, guillemets, inverted question mark)",
             "a\xE2\x80\x94" "b\xC2\xAB" "c\xC2\xBB" "d\xC2\xBF" "e", "a|\xE2\x80\x94|b|\xC2\xAB|c|\xC2\xBB|d|\xC2\xBF|e", 0);
    basic_is("punctuation: full-width exclamation mark (Po)", "hi\xEF\xBC\x81", "hi|\xEF\xBC\x81", 0);
    basic_is("punctuation: U+1FEF (Sk) decomposes to a backquote, which splits", "a\xE1\xBF\xAF" "b", "a|`|b", 0);
    basic_is("not punctuation: currency and other symbols stay in the word", "a\xE2\x82\xAC" "b\xC2\xA9" "c", "a\xE2\x82\xAC" "b\xC2\xA9" "c", 0);
    basic_is("emoji: kept inside the word, ZWJ dropped, variation selector stripped",
             "hi\xF0\x9F\x98\x80there \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB \xE2\x9D\xA4\xEF\xB8\x8F",
             "hi\xF0\x9F\x98\x80there|\xF0\x9F\x91\xA8\xF0\x9F\x92\xBB|\xE2\x9D\xA4", 0);
    basic_is("ligature: U+FB01 has no canonical decomposition, kept", "\xEF\xAC\x81ne", "\xEF\xAC\x81ne", 0);
    basic_is("special tokens are plain text to the basic tokenizer", "a [MASK] b", "a|[|mask|]|b", 0);
    basic_is("invalid UTF-8: bad bytes dropped, valid ones around them kept",
             "a\xFF" "b\xC3(c\xE2\x82" "d\xED\xA0\x80" "e\xC0\xAF" "f", "ab|(|cdef", 0);
    for (i = 0; i < 150; i++) longw[i] = (char)('a' + i % 26);
    longw[150] = '\0';
    w.len = 0, w.count = 0, w.text[0] = '\0';
    ss_basic_tokenize(longw, 150, 0, collect_word, &w);
    test_true(w.count == 1 && w.nchars[0] == 150 && w.len == 100 && memcmp(w.text, longw, 100) == 0,
              "basic: a 150-character word comes with its first 100 and its full length");
}

static void test_wordpiece(void) {
    ss_tokenizer tok;
    int ids[256], i, ok;
    size_t n;
    char word[128];
    memset(&tok, 0, sizeof tok);
    if (!tiny_vocab(&tok, "un unaff ##aff ##able ##a ##b a hello hel ##lo ##l x ##x [ ] mask ' t don")) {
        test_true(0, "wordpiece: tiny vocabulary loads");
        return;
    }
#define TOK(s) (n = ss_tokenizer_tokenize(&tok, s, strlen(s), ids, 256))
    TOK("unaffable");
    test_true(n == 2 && ids[0] == ss_tokenizer_find(&tok, "unaff", 5) && ids[1] == ss_tokenizer_find(&tok, "##able", 6),
              "wordpiece: longest match first (unaff + ##able, not un + ##aff + ##able)");
    TOK("hello hellllo");
    test_true(n == 5 && ids[0] == ss_tokenizer_find(&tok, "hello", 5) && ids[1] == ss_tokenizer_find(&tok, "hel", 3) &&
                  ids[2] == ss_tokenizer_find(&tok, "##l", 3) && ids[3] == ss_tokenizer_find(&tok, "##l", 3) &&
                  ids[4] == ss_tokenizer_find(&tok, "##lo", 4),
              "wordpiece: ## continuations (hel ##l ##l ##lo)");
    TOK("unafz");
    test_true(n == 1 && ids[0] == tok.unk_id, "wordpiece: a word that cannot be covered is one [UNK]");
    /* fuzz finding: the pieces found before the dead end (unaff, ##a) were left in the buffer
       past the returned count */
    for (i = 0; i < 8; i++) ids[i] = -7;
    n = ss_tokenizer_tokenize(&tok, "unaffaz", 7, ids, 8);
    test_true(n == 1 && ids[0] == tok.unk_id && ids[1] == -7 && ids[2] == -7,
              "wordpiece: a word taken back as [UNK] writes nothing past the count");
    TOK("a zz a");
    test_true(n == 3 && ids[0] == ss_tokenizer_find(&tok, "a", 1) && ids[1] == tok.unk_id && ids[2] == ids[0],
              "wordpiece: [UNK] replaces only its word");
    memset(word, 'x', sizeof word);
    n = ss_tokenizer_tokenize(&tok, word, 100, ids, 256);
    ok = n == 100 && ids[0] == ss_tokenizer_find(&tok, "x", 1);
    for (i = 1; i < 100 && ok; i++) ok = ids[i] == ss_tokenizer_find(&tok, "##x", 3);
    test_true(ok, "wordpiece: a 100-character word is still split (x ##x ...)");
    n = ss_tokenizer_tokenize(&tok, word, 101, ids, 256);
    test_true(n == 1 && ids[0] == tok.unk_id, "wordpiece: a 101-character word is [UNK]");
    TOK("don't");
    test_true(n == 3 && ids[1] == ss_tokenizer_find(&tok, "'", 1), "wordpiece: punctuation words");
    TOK("a[MASK]a [CLS][SEP] [mask] [PAD]x");
    test_true(n == 10 && ids[1] == tok.mask_id && ids[3] == tok.cls_id && ids[4] == tok.sep_id &&
                  ids[5] == ss_tokenizer_find(&tok, "[", 1) && ids[6] == ss_tokenizer_find(&tok, "mask", 4) &&
                  ids[8] == tok.pad_id && ids[9] == ss_tokenizer_find(&tok, "x", 1),
              "special tokens in the text become their ids (case-sensitive, anywhere)");
    tok.split_special_tokens = 1;
    TOK("a [MASK]");
    test_true(n == 4 && ids[1] == ss_tokenizer_find(&tok, "[", 1), "split_special_tokens: [MASK] is plain text");
    tok.split_special_tokens = 0;
    n = ss_tokenizer_tokenize(&tok, "a a a a", 7, ids, 2);
    test_true(n == 4, "tokenize: returns the full count when the buffer is short");
    n = ss_tokenizer_tokenize(&tok, "", 0, NULL, 0);
    test_true(n == 0, "tokenize: empty text");
    test_true(ss_tokenizer_find(&tok, "##able", 6) == 8 && strcmp(ss_tokenizer_token(&tok, 8), "##able") == 0 &&
                  ss_tokenizer_find(&tok, "##abl", 5) == -1,
              "find and token: ids are line numbers - 1");
#undef TOK
    ss_tokenizer_free(&tok);
    ss_tokenizer_free(&tok);
    test_true(tok.vocab_size == 0 && tok.text == NULL, "free: leaves the tokenizer zeroed, twice is harmless");
}

static int ids_are(const int *got, size_t n, const int *want, size_t n_want) {
    size_t i;
    if (n != n_want) return 0;
    for (i = 0; i < n; i++)
        if (got[i] != want[i]) return 0;
    return 1;
}

static void test_encode(void) {
    ss_tokenizer tok;
    ss_encode_options o;
    int ids[32], type_ids[32], mask[32], a, b, P, C, S;
    size_t n;
    memset(&tok, 0, sizeof tok);
    if (!tiny_vocab(&tok, "a b")) return;
    a = ss_tokenizer_find(&tok, "a", 1), b = ss_tokenizer_find(&tok, "b", 1);
    P = tok.pad_id, C = tok.cls_id, S = tok.sep_id;
    memset(&o, 0, sizeof o);
    n = ss_tokenizer_encode(&tok, NULL, "a a", 3, NULL, 0, ids, type_ids, mask, 32);
    {
        const int want[] = {C, a, a, S}, wt[] = {0, 0, 0, 0}, wm[] = {1, 1, 1, 1};
        test_true(ids_are(ids, n, want, 4) && ids_are(type_ids, n, wt, 4) && ids_are(mask, n, wm, 4),
                  "encode: [CLS] text [SEP]");
    }
    n = ss_tokenizer_encode(&tok, NULL, "a a", 3, "b", 1, ids, type_ids, mask, 32);
    {
        const int want[] = {C, a, a, S, b, S}, wt[] = {0, 0, 0, 0, 1, 1};
        test_true(ids_are(ids, n, want, 6) && ids_are(type_ids, n, wt, 6), "encode: pair, segment ids 0 then 1");
    }
    o.max_length = 6;
    n = ss_tokenizer_encode(&tok, &o, "a a a a a", 9, "b b", 3, ids, type_ids, mask, 32);
    {
        const int want[] = {C, a, a, S, b, S};
        test_true(ids_are(ids, n, want, 6), "truncation longest-first: 5+2 -> 2+1 (the longer side first)");
    }
    o.max_length = 7;
    n = ss_tokenizer_encode(&tok, &o, "a a a", 5, "b b b", 5, ids, NULL, NULL, 32);
    {
        const int want[] = {C, a, a, S, b, b, S};
        test_true(ids_are(ids, n, want, 7), "truncation longest-first: equal sides lose one each");
    }
    o.max_length = 6;
    n = ss_tokenizer_encode(&tok, &o, "a a a", 5, "b b b", 5, ids, NULL, NULL, 32);
    {
        const int want[] = {C, a, a, S, b, S};
        test_true(ids_are(ids, n, want, 6), "truncation longest-first: of an odd cut, the second side loses more");
    }
    o.max_length = 5;
    n = ss_tokenizer_encode(&tok, &o, "a", 1, "b b b b b b", 11, ids, NULL, NULL, 32);
    {
        const int want[] = {C, a, S, b, S};
        test_true(ids_are(ids, n, want, 5), "truncation longest-first: the long second side is cut alone");
    }
    o.max_length = 4;
    n = ss_tokenizer_encode(&tok, &o, "a a a a a", 9, NULL, 0, ids, NULL, NULL, 32);
    {
        const int want[] = {C, a, a, S};
        test_true(ids_are(ids, n, want, 4), "truncation: a single sequence keeps its start");
    }
    o.max_length = 10;
    o.pad = 1;
    n = ss_tokenizer_encode(&tok, &o, "a a", 3, "b", 1, ids, type_ids, mask, 10);
    {
        const int want[] = {C, a, a, S, b, S, P, P, P, P}, wt[] = {0, 0, 0, 0, 1, 1, 0, 0, 0, 0};
        const int wm[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
        test_true(n == 6 && ids_are(ids, 10, want, 10) && ids_are(type_ids, 10, wt, 10) && ids_are(mask, 10, wm, 10),
                  "padding: [PAD] to max_length, attention mask 0, segment 0");
    }
    o.no_special_tokens = 1;
    o.max_length = 3;
    n = ss_tokenizer_encode(&tok, &o, "a a", 3, NULL, 0, ids, NULL, mask, 3);
    {
        const int want[] = {a, a, P}, wm[] = {1, 1, 0};
        test_true(n == 2 && ids_are(ids, 3, want, 3) && ids_are(mask, 3, wm, 3), "no_special_tokens with padding");
    }
    memset(&o, 0, sizeof o);
    n = ss_tokenizer_encode(&tok, &o, "a a a a a a", 11, "b", 1, ids, NULL, NULL, 4);
    test_true(n == 10 && ids[0] == C && ids[1] == a && ids[3] == a, "encode: full length returned when cap is short");
    /* a batch equals its rows encoded one at a time */
    {
        const char *texts[5] = {"a", "a a a a a a a a a a", "", "b a", "a\xFF b"};
        const char *pairs[5] = {"b", "b b", "a", "", "b b b b b b b b"};
        int bids[5 * 8], btype[5 * 8], bmask[5 * 8], lengths[5], r, same = 1;
        o.max_length = 8;
        ss_tokenizer_encode_batch(&tok, &o, texts, NULL, pairs, NULL, 5, bids, btype, bmask, lengths);
        o.pad = 1;
        for (r = 0; r < 5; r++) {
            n = ss_tokenizer_encode(&tok, &o, texts[r], strlen(texts[r]), pairs[r], strlen(pairs[r]), ids,
                                    type_ids, mask, 8);
            same &= (size_t)lengths[r] == n && ids_are(bids + 8 * r, 8, ids, 8) && ids_are(btype + 8 * r, 8, type_ids, 8) &&
                    ids_are(bmask + 8 * r, 8, mask, 8);
        }
        test_true(same, "batch: rows of (B,T) equal single encodes, padded, with lengths");
    }
    ss_tokenizer_free(&tok);
}

static int decode_is(const ss_tokenizer *tok, const int *ids, size_t n, unsigned flags, const char *want) {
    char out[1024];
    size_t size = ss_tokenizer_decode_size(tok, ids, n), len;
    if (size > sizeof out) return 0;
    len = ss_tokenizer_decode(tok, ids, n, flags, out);
    if (len == strlen(want) && strcmp(out, want) == 0 && len < size) return 1;
    printf("  decoded \"%s\", want \"%s\"\n", out, want);
    return 0;
}

static void test_decode(void) {
    ss_tokenizer tok;
    int ids[64];
    size_t n;
    memset(&tok, 0, sizeof tok);
    if (!tiny_vocab(&tok, "hello , world . don ' t una ##ffa ##ble ? it s ##s")) return;
#define ENC(s) (n = ss_tokenizer_encode(&tok, NULL, s, strlen(s), NULL, 0, ids, NULL, NULL, 64))
    ENC("Hello, world.");
    test_true(decode_is(&tok, ids, n, 0, "[CLS] hello, world. [SEP]"), "decode: specials kept, \" ,\" and \" .\" cleaned");
    test_true(decode_is(&tok, ids, n, SS_DECODE_SKIP_SPECIAL, "hello, world."), "decode: skip_special_tokens");
    test_true(decode_is(&tok, ids, n, SS_DECODE_SKIP_SPECIAL | SS_DECODE_NO_CLEANUP, "hello , world ."),
              "decode: without clean-up");
    ENC("unaffable don't it's");
    test_true(decode_is(&tok, ids, n, SS_DECODE_SKIP_SPECIAL, "unaffable don't it's"),
              "decode: ## pieces glued, \" ' \" and \" 's\" cleaned");
    ENC("hello xyz");
    test_true(decode_is(&tok, ids, n, 0, "[CLS] hello [UNK] [SEP]") &&
                  decode_is(&tok, ids, n, SS_DECODE_SKIP_SPECIAL, "hello"),
              "decode: [UNK] is special too");
    ids[0] = ss_tokenizer_find(&tok, "##ble", 5);
    ids[1] = ss_tokenizer_find(&tok, "hello", 5);
    test_true(decode_is(&tok, ids, 2, 0, "##ble hello"), "decode: a leading continuation keeps its ##");
    test_true(decode_is(&tok, ids, 0, 0, ""), "decode: nothing");
#undef ENC
    ss_tokenizer_free(&tok);
}

static int write_file(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f) fclose(f);
    return ok;
}

static void vocab_error_is(const char *name, const char *file, const char *data, size_t n,
                           const char *want_detail) {
    char path[256];
    ss_tokenizer tok;
    ss_result r;
    sprintf(path, "build/test/%s", file);
    if (!write_file(path, data, n)) {
        test_true(0, name);
        return;
    }
    r = ss_tokenizer_load(&tok, path);
    test_true(r == SS_ERR_FORMAT && detail_is(want_detail) && tok.text == NULL && tok.start == NULL, name);
    ss_tokenizer_free(&tok);
    remove(path);
}

#define SPECIALS "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"

static void test_vocab_files(void) {
    static const char bad_utf8[] = SPECIALS "ok\nbad\xC3(\n";
    static const char nul[] = SPECIALS "a\0b\n";
    static const char crlf[] = "[PAD]\r\n[UNK]\r[CLS]\n[SEP]\r\n[MASK]\r\nlast";
    static const char reversed[] = "[MASK]\n[SEP]\n[CLS]\n[UNK]\n[PAD]\n";
    const char *specials[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    ss_tokenizer tok;
    int k;
    vocab_error_is("vocab: duplicate token, both lines named", "tok_dup.txt", SPECIALS "a\nb\na\n", strlen(SPECIALS) + 6,
                   "build/test/tok_dup.txt:8: duplicate token 'a' (first on line 6)");
    vocab_error_is("vocab: empty line", "tok_empty_line.txt", "[PAD]\n[UNK]\n\n[CLS]\n", 19,
                   "build/test/tok_empty_line.txt:3: empty line");
    vocab_error_is("vocab: two newlines at the end are an empty line", "tok_double_nl.txt", SPECIALS "a\n\n",
                   strlen(SPECIALS) + 3, "build/test/tok_double_nl.txt:7: empty line");
    vocab_error_is("vocab: invalid UTF-8, line and byte", "tok_utf8.txt", bad_utf8, sizeof bad_utf8 - 1,
                   "build/test/tok_utf8.txt:7: invalid UTF-8 at byte 37");
    vocab_error_is("vocab: NUL byte", "tok_nul.txt", nul, sizeof nul - 1, "build/test/tok_nul.txt:6: NUL byte at byte 32");
    vocab_error_is("vocab: empty file", "tok_empty.txt", "", 0, "build/test/tok_empty.txt: empty file, no tokens");
    vocab_error_is("vocab: byte order mark", "tok_bom.txt", "\xEF\xBB\xBF" SPECIALS, strlen(SPECIALS) + 3,
                   "build/test/tok_bom.txt:1: starts with a UTF-8 byte order mark");
    for (k = 0; k < 5; k++) { /* each special token missing in turn */
        char data[128], name[96], want[128];
        size_t n = 0;
        int j;
        for (j = 0; j < 5; j++)
            if (j != k) n += (size_t)sprintf(data + n, "%s\n", specials[j]);
        n += (size_t)sprintf(data + n, "word\n");
        sprintf(name, "vocab: missing %s", specials[k]);
        sprintf(want, "build/test/tok_missing.txt: missing special token %s", specials[k]);
        vocab_error_is(name, "tok_missing.txt", data, n, want);
    }
    test_true(ss_tokenizer_load(&tok, "build/test/no-such-vocab.txt") == SS_ERR_IO &&
                  strstr(ss_last_error_detail(), "no-such-vocab.txt") != NULL,
              "vocab: a missing file is SS_ERR_IO naming it");
    /* lenient where Python's text mode is: \r\n, a lone \r, no newline at the end */
    test_true(ss_tokenizer_init(&tok, crlf, strlen(crlf), "crlf") == SS_OK &&
                  tok.vocab_size == 6 && strcmp(ss_tokenizer_token(&tok, 1), "[UNK]") == 0 &&
                  strcmp(ss_tokenizer_token(&tok, 5), "last") == 0 && tok.mask_id == 4,
              "vocab: \\r\\n, lone \\r and a last line without newline");
    ss_tokenizer_free(&tok);
    test_true(ss_tokenizer_init(&tok, reversed, strlen(reversed), NULL) == SS_OK && tok.pad_id == 4 &&
                  tok.mask_id == 0,
              "vocab: special tokens anywhere");
    ss_tokenizer_free(&tok);
    test_true(ss_tokenizer_init(&tok, "x\n", 2, NULL) == SS_ERR_FORMAT && detail_is("vocab: missing special token [PAD]"),
              "vocab: default source name");
    /* save writes back what was loaded */
    if (tiny_vocab(&tok, "caf\xC3\xA9 ##s")) {
        char *data = NULL;
        size_t size = 0;
        int ok = ss_tokenizer_save(&tok, "build/test/tok_saved.txt") == SS_OK &&
                 ss_file_read("build/test/tok_saved.txt", &data, &size) == SS_OK;
        ok = ok && size == strlen(SPECIALS) + 10 && memcmp(data, SPECIALS "caf\xC3\xA9\n##s\n", size) == 0;
        test_true(ok, "vocab: save writes one token per line");
        ss_free(data);
        ss_tokenizer_free(&tok);
        remove("build/test/tok_saved.txt");
    }
}

/* Seeded random bytes, biased toward UTF-8 fragments, marks, CJK and specials: nothing may crash,
   counts must not depend on the buffer size, every id must be valid. */
static void test_random_bytes(void) {
    static const char *const frags[] = {"\xC3", "\xA9", "\xE4\xB8\xAD", "\xCC\x81", "\xF0\x9F\x98", "\x80",
                                        "[MASK]", "[SEP", " ", "\t", "a", "Z", "\xCE\xA3", "\xE2\x80\x8D",
                                        "\xED\x95\x9C", "\xF0\x9D\x85\xA5", "\xEF\xBF\xBD", "\0", "'", "##"};
    ss_tokenizer tok;
    ss_rng rng;
    char text[400], pair[64];
    int ids[1024], ids2[1024], type_ids[16], mask[16], trial, ok = 1, bounded = 1;
    memset(&tok, 0, sizeof tok);
    if (!tiny_vocab(&tok, "a ##a z ##z ' # ##\xC3\xA9 \xC3\xA9 \xE4\xB8\xAD \xCF\x83 ##\xCF\x83")) return;
    ss_rng_seed(&rng, 2024);
    for (trial = 0; trial < 5000; trial++) {
        size_t len = 0, plen, n, n2, i, cap = ss_rng_u32(&rng) % 8, pl = ss_rng_u32(&rng) % 40;
        ss_encode_options o;
        char out[8192];
        while (len < sizeof text - 8 && ss_rng_u32(&rng) % 64) {
            if (ss_rng_u32(&rng) % 2) {
                text[len++] = (char)ss_rng_u32(&rng);
            } else {
                const char *f = frags[ss_rng_u32(&rng) % 20];
                size_t fl = f[0] ? strlen(f) : 1;
                memcpy(text + len, f, fl);
                len += fl;
            }
        }
        for (plen = 0; plen < pl; plen++) pair[plen] = (char)ss_rng_u32(&rng);
        tok.final_sigma = trial % 3 == 0;
        n = ss_tokenizer_tokenize(&tok, text, len, ids, 1024);
        n2 = ss_tokenizer_tokenize(&tok, text, len, cap ? ids2 : NULL, cap);
        if (n != n2 || n > 1024) ok = 0;
        for (i = 0; i < n && i < cap; i++)
            if (ids2[i] != ids[i]) ok = 0;
        for (i = 0; i < n && i < 1024; i++)
            if (ids[i] < 0 || ids[i] >= tok.vocab_size) ok = 0;
        if (n <= 1024 && ss_tokenizer_decode_size(&tok, ids, n) <= sizeof out) ss_tokenizer_decode(&tok, ids, n, 0, out);
        memset(&o, 0, sizeof o);
        o.max_length = 3 + (int)(ss_rng_u32(&rng) % 14);
        o.pad = 1;
        n = ss_tokenizer_encode(&tok, &o, text, len, trial % 2 ? pair : NULL, plen, ids, type_ids, mask, 16);
        if (n > (size_t)o.max_length) bounded = 0;
    }
    tok.final_sigma = 0;
    test_true(ok, "random bytes: 5000 texts, counts independent of buffer size, ids in range");
    test_true(bounded, "random bytes: truncated pairs never exceed max_length");
    ss_tokenizer_free(&tok);
}

/* Every allocation of loading a vocabulary, failed one at a time: SS_ERR_NOMEM with a detail,
   nothing left allocated. */
static void test_allocation_failures(void) {
    static const char vocab[] = SPECIALS "the\n##s\nword\n";
    const char *path = "build/test/tok_alloc.txt";
    long at;
    int tried = 0, all_reported = 1, none_leaked = 1;
    ss_tokenizer tok;
    arm_failure(-1);
    if (!write_file(path, vocab, sizeof vocab - 1)) {
        test_true(0, "alloc failure: setup");
        return;
    }
    for (at = 0; at < 50; at++) { /* file buffer, index block */
        ss_result r;
        arm_failure(at);
        r = ss_tokenizer_load(&tok, path);
        ss_tokenizer_free(&tok);
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break;
        tried++;
        if (r != SS_ERR_NOMEM || ss_last_error_detail()[0] == '\0') all_reported = 0;
    }
    test_true(tried == 2 && all_reported && none_leaked, "alloc failure: load (2 sites) reports NOMEM, leaks nothing");
    for (at = 0, tried = 0; at < 50; at++) { /* copy, index block */
        ss_result r;
        arm_failure(at);
        r = ss_tokenizer_init(&tok, vocab, sizeof vocab - 1, "mem");
        ss_tokenizer_free(&tok);
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break;
        tried++;
        if (r != SS_ERR_NOMEM || strncmp(ss_last_error_detail(), "mem:", 4) != 0) all_reported = 0;
    }
    test_true(tried == 2 && all_reported && none_leaked, "alloc failure: init (2 sites) names the source");
    /* the trainer: every allocation of feeding and training */
    {
        static const char corpus[] = "hug hug pug pun bun hugs the cat sat on the mat; hugs and puns!\n";
        ss_vocab_train_options o;
        ss_vocab_trainer tr;
        memset(&o, 0, sizeof o);
        o.vocab_size = 40;
        o.min_frequency = 1;
        for (at = 0, tried = 0; at < 5000; at++) {
            ss_result r;
            arm_failure(at);
            r = ss_vocab_trainer_init(&tr, &o);
            if (r == SS_OK) r = ss_vocab_trainer_feed(&tr, corpus, sizeof corpus - 1);
            if (r == SS_OK) r = ss_vocab_trainer_train(&tr, &tok);
            ss_tokenizer_free(&tok);
            ss_vocab_trainer_free(&tr);
            if (alloc_live != 0) none_leaked = 0;
            if (r == SS_OK) break;
            tried++;
            if (r != SS_ERR_NOMEM || ss_last_error_detail()[0] == '\0') all_reported = 0;
        }
        printf("  trainer: %d allocation sites on this corpus\n", tried);
        test_true(tried > 20 && at < 5000 && all_reported && none_leaked,
                  "alloc failure: trainer, every site reports NOMEM and leaks nothing");
    }
    arm_failure(-1);
    remove(path);
}

/* HF's course example of WordPiece training, worked by hand (see decl comment for the rules):
   hug x10, pug x5, pun x12, bun x4, hugs x5. */
static void test_trainer_example(void) {
    static const char *const want =
        SPECIALS "b\ng\nh\nn\np\ns\nu\n##g\n##n\n##s\n##u\n##ug\n##un\nhug\npun\npug\nhugs\nbun\n";
    ss_vocab_train_options o;
    ss_vocab_trainer tr;
    ss_tokenizer tok;
    char text[1024];
    size_t n = 0;
    int i, ok;
    for (i = 0; i < 10; i++) n += (size_t)sprintf(text + n, "hug ");
    for (i = 0; i < 5; i++) n += (size_t)sprintf(text + n, "Pug hugs ");
    for (i = 0; i < 12; i++) n += (size_t)sprintf(text + n, "pun\n");
    for (i = 0; i < 4; i++) n += (size_t)sprintf(text + n, "bun ");
    memset(&o, 0, sizeof o);
    o.vocab_size = 100;
    ok = ss_vocab_trainer_init(&tr, &o) == SS_OK && ss_vocab_trainer_feed(&tr, text, n) == SS_OK &&
         ss_vocab_trainer_train(&tr, &tok) == SS_OK;
    if (ok) {
        char got[1024];
        size_t len = 0;
        int id;
        for (id = 0; id < tok.vocab_size; id++) len += (size_t)sprintf(got + len, "%s\n", ss_tokenizer_token(&tok, id));
        ok = strcmp(got, want) == 0;
        if (!ok) printf("  got:\n%s", got);
        ss_tokenizer_free(&tok);
    }
    test_true(ok, "trainer: worked example (merges ##ug ##un hug pun pug hugs bun; tie by lower ids)");
    tr.options.min_frequency = 5;
    ok = ss_vocab_trainer_train(&tr, &tok) == SS_OK && tok.vocab_size == 22;
    ss_tokenizer_free(&tok);
    test_true(ok, "trainer: min_frequency 5 stops before bun (4)");
    tr.options.min_frequency = 0;
    tr.options.vocab_size = 18;
    ok = ss_vocab_trainer_train(&tr, &tok) == SS_OK && tok.vocab_size == 18 &&
         strcmp(ss_tokenizer_token(&tok, 17), "##un") == 0;
    ss_tokenizer_free(&tok);
    test_true(ok, "trainer: stops at vocab_size");
    tr.options.vocab_size = 100;
    tr.options.limit_alphabet = 6; /* drops the rarest character, b (4): bun is left out */
    ok = ss_vocab_trainer_train(&tr, &tok) == SS_OK && ss_tokenizer_find(&tok, "b", 1) < 0 &&
         ss_tokenizer_find(&tok, "bun", 3) < 0 && ss_tokenizer_find(&tok, "pun", 3) >= 0;
    ss_tokenizer_free(&tok);
    test_true(ok, "trainer: limit_alphabet keeps the most frequent characters");
    ss_vocab_trainer_free(&tr);
    memset(&o, 0, sizeof o);
    test_true(ss_vocab_trainer_init(&tr, &o) == SS_ERR_INVALID, "trainer: vocab_size below 5 is invalid");
    ss_vocab_trainer_free(&tr);
}

/* A corpus of sentences over pseudo-words made of syllables (about 3000 distinct words, Zipf-like
   use), with capitals, punctuation, numbers and a few accents. */
static size_t make_corpus(char *text, size_t cap, uint64_t seed) {
    static const char *const syl[] = {"ka", "lo", "mi", "nu", "re", "sa", "ti", "vo", "ber", "dan", "fel",
                                      "gor", "hin", "jus", "kel", "mon", "pra", "ster", "tion", "ing",
                                      "qua", "z\xC3\xA9", "\xC3\xB1o", ("\xC3\xBC" "ck") /* split: "\xBCck" would read as one hex escape */};
    static const char *const punct[] = {".", ",", "!", "?", ";", ":"};
    size_t len = 0;
    ss_rng rng;
    ss_rng_seed(&rng, seed);
    while (len + 400 < cap) {
        int words = 6 + (int)(ss_rng_u32(&rng) % 10), k;
        for (k = 0; k < words; k++) {
            uint32_t r = ss_rng_u32(&rng);
            uint32_t id = (r >> 8) % (1u + (r & 255u) * 12u); /* Zipf-like: small ids far more often */
            int s, ns = 1 + (int)(id % 3) + (id > 200);
            if (k) text[len++] = ' ';
            for (s = 0; s < ns; s++) {
                const char *x = syl[(id / (s == 0 ? 1u : s == 1 ? 24u : 576u) + (uint32_t)s * 7u) % 24];
                size_t xl = strlen(x);
                memcpy(text + len, x, xl);
                if (k == 0 && s == 0 && x[0] >= 'a' && x[0] <= 'z') text[len] = (char)(x[0] - 32);
                len += xl;
            }
            if (ss_rng_u32(&rng) % 11 == 0) len += (size_t)sprintf(text + len, " %u", ss_rng_u32(&rng) % 2000);
        }
        len += (size_t)sprintf(text + len, "%s\n", punct[ss_rng_u32(&rng) % 6]);
    }
    text[len] = '\0';
    return len;
}

static void test_trainer_corpus(void) {
    static char corpus[200000];
    size_t len = make_corpus(corpus, sizeof corpus, 7), n, total = 0, unk = 0, at;
    ss_vocab_train_options o;
    ss_vocab_trainer tr;
    ss_tokenizer tok;
    char *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    int pass, ok = 1, *ids = (int *)malloc(sizeof(int) * 4096);
    memset(&o, 0, sizeof o);
    o.vocab_size = 2000;
    for (pass = 0; pass < 2 && ok; pass++) {
        ok = ss_vocab_trainer_init(&tr, &o) == SS_OK;
        if (pass == 0) {
            ok = ok && ss_vocab_trainer_feed(&tr, corpus, len) == SS_OK;
        } else { /* the same lines, last first, one at a time */
            size_t end = len;
            while (ok && end > 0) {
                size_t start = end - 1;
                while (start > 0 && corpus[start - 1] != '\n') start--;
                ok = ss_vocab_trainer_feed(&tr, corpus + start, end - start) == SS_OK;
                end = start;
            }
        }
        ok = ok && ss_vocab_trainer_train(&tr, &tok) == SS_OK &&
             ss_tokenizer_save(&tok, pass ? "build/test/tok_train2.txt" : "build/test/tok_train1.txt") == SS_OK;
        if (ok && pass == 0) {
            printf("  trained %d tokens from %zu bytes, %zu distinct words\n", tok.vocab_size, len, tr.words.count);
            test_true(tok.vocab_size == 2000, "trainer: reaches the requested 2000 tokens");
            for (at = 0; at < len;) { /* re-tokenize the corpus line by line */
                const char *nl = strchr(corpus + at, '\n');
                size_t line = (size_t)(nl - (corpus + at)), i;
                n = ss_tokenizer_tokenize(&tok, corpus + at, line, ids, 4096);
                for (i = 0; i < n; i++) unk += ids[i] == tok.unk_id;
                total += n;
                at += line + 1;
            }
            printf("  re-tokenized: %zu tokens, %zu [UNK]\n", total, unk);
            test_true(total > 0 && unk * 100 < total, "trainer: the trained vocabulary covers its corpus (< 1% [UNK])");
        }
        ss_tokenizer_free(&tok);
        ss_vocab_trainer_free(&tr);
    }
    ok = ok && ss_file_read("build/test/tok_train1.txt", &first, &first_size) == SS_OK &&
         ss_file_read("build/test/tok_train2.txt", &second, &second_size) == SS_OK;
    test_true(ok && first_size == second_size && memcmp(first, second, first_size) == 0,
              "trainer: deterministic (same text in another order and chunking -> same vocab.txt)");
    ok = ok && ss_tokenizer_load(&tok, "build/test/tok_train1.txt") == SS_OK && tok.pad_id == 0 && tok.unk_id == 1 &&
         tok.cls_id == 2 && tok.sep_id == 3 && tok.mask_id == 4;
    test_true(ok, "trainer: its vocab.txt loads, special tokens first");
    ss_tokenizer_free(&tok);
    ss_free(first);
    ss_free(second);
    free(ids);
    remove("build/test/tok_train1.txt");
    remove("build/test/tok_train2.txt");
}

/* Checks with the real bert-base-uncased vocabulary. */
static void test_bert_vocab(void) {
    ss_tokenizer tok;
    int ids[64];
    size_t n;
    char *data = NULL, out[256];
    size_t size = 0;
    if (!bert_vocab_ready("bert vocab")) return;
    if (ss_tokenizer_load(&tok, BERT_VOCAB) != SS_OK) {
        test_true(0, "bert: vocabulary loads");
        return;
    }
    test_true(tok.vocab_size == 30522 && tok.pad_id == 0 && tok.unk_id == 100 && tok.cls_id == 101 &&
                  tok.sep_id == 102 && tok.mask_id == 103,
              "bert: 30522 tokens, [PAD]=0 [UNK]=100 [CLS]=101 [SEP]=102 [MASK]=103");
    n = ss_tokenizer_tokenize(&tok, "I have a new GPU!", 17, ids, 64);
    test_true(n == 7 && strcmp(ss_tokenizer_token(&tok, ids[4]), "gp") == 0 &&
                  strcmp(ss_tokenizer_token(&tok, ids[5]), "##u") == 0 && strcmp(ss_tokenizer_token(&tok, ids[6]), "!") == 0,
              "bert: HF's documented example, \"I have a new GPU!\" -> i have a new gp ##u !");
    n = ss_tokenizer_encode(&tok, NULL, "Hello, world", 12, NULL, 0, ids, NULL, NULL, 64);
    test_true(n == 5 && ids[0] == 101 && ids[1] == 7592 && ids[2] == 1010 && ids[3] == 2088 && ids[4] == 102,
              "bert: \"Hello, world\" -> 101 7592 1010 2088 102");
    n = ss_tokenizer_encode(&tok, NULL, "The quick brown fox jumps over the lazy dog, doesn't it?", 56, NULL, 0, ids,
                            NULL, NULL, 64);
    ss_tokenizer_decode(&tok, ids, n, SS_DECODE_SKIP_SPECIAL, out);
    test_true(strcmp(out, "the quick brown fox jumps over the lazy dog, doesn't it?") == 0,
              "bert: decode(encode(s)) gives s lowercased");
    test_true(ss_tokenizer_save(&tok, "build/test/tok_bert_saved.txt") == SS_OK &&
                  ss_file_read("build/test/tok_bert_saved.txt", &data, &size) == SS_OK && size == 231508,
              "bert: save writes the same 231508 bytes back");
    if (data) {
        char *orig = NULL;
        size_t orig_size = 0;
        ss_file_read(BERT_VOCAB, &orig, &orig_size);
        test_true(orig && orig_size == size && memcmp(orig, data, size) == 0, "bert: saved file identical to the original");
        ss_free(orig);
    }
    ss_free(data);
    remove("build/test/tok_bert_saved.txt");
    ss_tokenizer_free(&tok);
}

/* ---- parity with HF's BertTokenizer ---- */

/* Undo make_bert_parity.py's escaping: \\ \t \n \r, \u{HEX} a code point, \xHH a raw byte, the
   word \N (alone) for "none". Returns the length, or -1 for "none" or a malformed escape. */
static long unescape(const char *s, size_t n, char *out) {
    size_t i = 0, len = 0;
    if (n == 2 && s[0] == '\\' && s[1] == 'N') return -1;
    while (i < n) {
        if (s[i] != '\\') {
            out[len++] = s[i++];
            continue;
        }
        if (i + 1 >= n) return -1;
        switch (s[i + 1]) {
        case '\\': out[len++] = '\\'; i += 2; break;
        case 't': out[len++] = '\t'; i += 2; break;
        case 'n': out[len++] = '\n'; i += 2; break;
        case 'r': out[len++] = '\r'; i += 2; break;
        case 'x': {
            unsigned v;
            if (i + 3 >= n || sscanf(s + i + 2, "%2x", &v) != 1) return -1;
            out[len++] = (char)v;
            i += 4;
            break;
        }
        case 'u': {
            unsigned long cp;
            char *end;
            if (i + 2 >= n || s[i + 2] != '{') return -1;
            cp = strtoul(s + i + 3, &end, 16);
            if (*end != '}' || cp > 0x10FFFF) return -1;
            len += (size_t)ss__utf8_encode((uint32_t)cp, (unsigned char *)out + len);
            i = (size_t)(end - s) + 1;
            break;
        }
        default:
            return -1;
        }
    }
    return (long)len;
}

static void test_parity(void) {
    ss_tokenizer tok;
    char *data = NULL, *p;
    size_t size = 0, lines = 0, bad = 0, decoded = 0;
    static char text[1 << 16], pair[1 << 16], want_decode[1 << 16], got_decode[1 << 18];
    static int ids[1 << 15];
    FILE *f = fopen(PARITY_FILE, "rb");
    int final_sigma = 0;
    if (!f) {
        printf("SKIP parity: %s missing (made by tests/ref/make_bert_parity.py where transformers is installed)\n",
               PARITY_FILE);
        return;
    }
    fclose(f);
    if (!bert_vocab_ready("parity")) return;
    if (ss_tokenizer_load(&tok, BERT_VOCAB) != SS_OK) {
        test_true(0, "parity: the bert vocabulary loads");
        return;
    }
    if (ss_file_read(PARITY_FILE, &data, &size) != SS_OK) {
        test_true(0, "parity: read the reference file");
        ss_tokenizer_free(&tok);
        return;
    }
    for (p = data; p < data + size;) {
        char *nl = strchr(p, '\n'), *col[6];
        int ncol = 1, k;
        long tl, pl, dl;
        size_t n, want_n = 0, max_length = 0;
        ss_encode_options o;
        if (!nl) nl = data + size;
        *nl = '\0';
        if (*p == '#') { /* settings of the run that made the file */
            if (strstr(p, "final_sigma=1")) final_sigma = 1;
            p = nl + 1;
            continue;
        }
        if (!*p) {
            p = nl + 1;
            continue;
        }
        col[0] = p;
        for (k = 0; p[k] && ncol < 6; k++)
            if (p[k] == '\t') {
                p[k] = '\0';
                col[ncol++] = p + k + 1;
            }
        tok.final_sigma = final_sigma;
        tl = unescape(col[0], strlen(col[0]), text);
        pl = ncol > 3 ? unescape(col[3], strlen(col[3]), pair) : -1;
        dl = ncol > 2 ? unescape(col[2], strlen(col[2]), want_decode) : -1;
        if (ncol > 4) max_length = (size_t)strtoul(col[4], NULL, 10);
        memset(&o, 0, sizeof o);
        o.max_length = (int)max_length;
        lines++;
        if (tl < 0 || ncol < 2) {
            bad++;
            printf("  line %zu: malformed\n", lines);
            p = nl + 1;
            continue;
        }
        n = ss_tokenizer_encode(&tok, &o, text, (size_t)tl, pl >= 0 ? pair : NULL, pl >= 0 ? (size_t)pl : 0, ids,
                                NULL, NULL, 1 << 15);
        {
            char *q = col[1], *end;
            size_t i = 0;
            int same = 1;
            for (;;) {
                long v = strtol(q, &end, 10);
                if (end == q) break;
                if (i >= n || ids[i] != v) same = 0;
                i++;
                q = end;
            }
            want_n = i;
            if (!same || want_n != n) {
                if (bad < 8) {
                    size_t j;
                    printf("  mismatch on \"%s\"%s\n    HF:  %s\n    ours:", col[0], pl >= 0 ? " (pair)" : "", col[1]);
                    for (j = 0; j < n && j < 40; j++) printf(" %d", ids[j]);
                    printf("\n");
                }
                bad++;
            }
        }
        if (dl >= 0 && n <= (1 << 15)) {
            want_decode[dl] = '\0';
            ss_tokenizer_decode(&tok, ids, n, 0, got_decode);
            decoded++;
            if (strcmp(got_decode, want_decode) != 0) {
                if (bad < 8) printf("  decode mismatch on \"%s\"\n    HF:   %s\n    ours: %s\n", col[0], want_decode, got_decode);
                bad++;
            }
        }
        p = nl + 1;
    }
    printf("  parity: %zu lines (%zu decodes), final_sigma=%d, %zu mismatches\n", lines, decoded, final_sigma, bad);
    test_true(lines > 0 && bad == 0, "parity: ids and decodes equal HF BertTokenizer's on every reference line");
    ss_free(data);
    ss_tokenizer_free(&tok);
}

int main(void) {
    printf("%s, Unicode %s\n", ss_build_info(), SS_UNICODE_VERSION);
    test_tables();
    test_basic_rules();
    test_wordpiece();
    test_encode();
    test_decode();
    test_vocab_files();
    test_random_bytes();
    test_allocation_failures();
    test_trainer_example();
    test_trainer_corpus();
    test_bert_vocab();
    test_parity();
    test_true(alloc_live == 0, "no allocation outstanding at exit");
    return test_summary("test_tokenizer");
}
