/* make_seeds.c - writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/: small
   valid inputs made with the library's own writers (configs, safetensors, checkpoints, optimizer
   state, token caches) or written out here, and slightly broken variants of them. Run from the
   repository root; it overwrites the files it makes and nothing else:
     cc -std=c99 -O1 -o build/make_seeds tests/fuzz/make_seeds.c -lm && build/make_seeds */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

#define CORPUS "tests/fuzz/corpus/"

static void check(ss_result r, const char *what) {
    if (r != SS_OK) {
        fprintf(stderr, "make_seeds: %s: %s\n", what, ss_last_error_detail());
        exit(1);
    }
}

static void put(const char *target, const char *name, const void *data, size_t n) {
    char path[256];
    snprintf(path, sizeof path, CORPUS "%s", target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, CORPUS "%s/%s", target, name);
    fz_write_file(path, data, n);
}

static void put_str(const char *target, const char *name, const char *text) {
    put(target, name, text, strlen(text));
}

/* A string literal that may hold NUL bytes, all of it. */
#define PUT_LIT(target, name, lit) put(target, name, lit, sizeof lit - 1)

/* A growable byte buffer for files assembled here. */
typedef struct buf {
    unsigned char data[65536];
    size_t n;
} buf;

static void add(buf *b, const void *p, size_t n) {
    if (b->n + n > sizeof b->data) {
        fprintf(stderr, "make_seeds: buffer full\n");
        exit(1);
    }
    memcpy(b->data + b->n, p, n);
    b->n += n;
}

static void add_le(buf *b, uint64_t v, int bytes) {
    int i;
    for (i = 0; i < bytes; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        add(b, &c, 1);
    }
}

/* A safetensors file from a header written by hand and its data bytes. */
static void safetensors(buf *b, const char *header, const void *data, size_t n) {
    b->n = 0;
    add_le(b, strlen(header), 8);
    add(b, header, strlen(header));
    add(b, data, n);
}

/* The bytes of a file the library wrote. */
static void slurp(buf *b, const char *path) {
    size_t n = 0;
    unsigned char *d = fz_read_file(path, &n);
    if (!d) {
        perror(path);
        exit(1);
    }
    b->n = 0;
    add(b, d, n);
    free(d);
    unlink(path);
}

/* ---- config ---- */

static void seeds_config(void) {
    ss_config cfg;
    ss_json_writer w;
    char *text;
    size_t n;
    fz_tiny_config(&cfg);
    ss_json_writer_init(&w, 1);
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "shorthand");
    ss_json_write_string(&w, "tiny \xce\xb1");
    ss_json_write_key(&w, "model");
    ss_config_write_json(&cfg, &w);
    ss_json_write_key(&w, "pre_train");
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "learning_rate");
    ss_json_write_number(&w, 0.004);
    ss_json_write_key(&w, "fp16");
    ss_json_write_bool(&w, 0);
    ss_json_write_key(&w, "tags");
    ss_json_write_begin_array(&w);
    ss_json_write_int(&w, -3);
    ss_json_write_null(&w);
    ss_json_write_string(&w, "a\"b\\c\n");
    ss_json_write_end_array(&w);
    ss_json_write_end_object(&w);
    ss_json_write_end_object(&w);
    check(ss_json_writer_finish(&w), "config text");
    n = w.length;
    text = (char *)malloc(n + 256);
    memcpy(text, w.text, n);
    put("config", "tiny.json", text, n);
    strcpy(text + n, "\n%%\nmodel.hidden_size=16\nshorthand=hello\nmodel.ffn_rank=null\n"
                     "pre_train.tags=[1,{\"x\":2.5e-3}]");
    put_str("config", "tiny_sets.txt", text);
    strcpy(text + n, "\n%%\nmodel.hidden_size=16, 32\npre_train.tags=[1],[2,\"x,y\"]\n"
                     "shorthand=a,b,c");
    put_str("config", "tiny_sweeps.txt", text);
    strcpy(text + n, "\n%%\nmodel.hidden_sise=16\nmodel.vocab_size=\"big\"\n..=1\nnoequals");
    put_str("config", "tiny_bad_sets.txt", text);
    /* the model object alone, one value wrong */
    memcpy(text, w.text, n);
    text[n] = '\0';
    {
        char *at = strstr(text, "\"rope_dims\": 2");
        if (at) at[13] = '3';
    }
    put("config", "odd_rope_dims.json", text, n);
    free(text);
    ss_json_writer_free(&w);
    put_str("config", "strings.json",
            "[\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\", \"\xe4\xb8\xad\", \"\\u0000key\", 1e308, "
            "-0.0, 123456789012345678901, 0.1e-400, true, false, null, {}, []]");
    put_str("config", "broken.json",
            "{\"a\": [1, 2,], \"b\": 01, \"c\": \"\\ud800\", \"a\": NaN, 'd': 1} // x");
    put_str("config", "deep.json",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]"
            "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
}

/* ---- safetensors ---- */

static void seeds_safetensors(void) {
    static const float f32[6] = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 1e-40f};
    static const float scale[2] = {2.0f, 0.5f};
    ss_safetensors_tensor t[2];
    const char *meta[4] = {"format", "pt", "config", "{\"note\": \"seed\"}"};
    unsigned char data[64];
    buf b;
    size_t n = 0;
    int i;
    memset(t, 0, sizeof t);
    t[0].name = "weight";
    t[0].ndim = 2;
    t[0].shape[0] = 2;
    t[0].shape[1] = 3;
    t[0].data = f32;
    t[1].name = "bias";
    t[1].ndim = 1;
    t[1].shape[0] = 2;
    t[1].data = scale;
    check(ss_safetensors_write(fz_path("w.st"), t, 2, meta, 2), "f32 seed");
    slurp(&b, fz_path("w.st"));
    put("safetensors", "f32_meta.safetensors", b.data, b.n);
    b.data[8 + 20] ^= 0x20; /* one header byte flipped */
    put("safetensors", "f32_flipped.safetensors", b.data, b.n);
    put("safetensors", "f32_truncated.safetensors", b.data, b.n - 5);

    /* every float dtype, and an integer one, by hand */
    for (i = 0; i < 6; i++) data[n++] = (unsigned char)(0x38 + 0x40 * (i & 1)); /* F8_E4M3 (3,2) */
    data[n++] = 0x00, data[n++] = 0x3C, data[n++] = 0x01, data[n++] = 0x7C;      /* F16 [1, nan] */
    data[n++] = 0x80, data[n++] = 0x3F, data[n++] = 0x80, data[n++] = 0xFF;      /* BF16 [1, -inf] */
    data[n++] = 0x3C, data[n++] = 0x7E;                                          /* F8_E5M2 */
    data[n++] = 0, data[n++] = 0, data[n++] = 0, data[n++] = 0;                  /* F64 1.5 */
    data[n++] = 0, data[n++] = 0, data[n++] = 0xF8, data[n++] = 0x3F;
    data[n++] = 0, data[n++] = 0, data[n++] = 0, data[n++] = 0x40;               /* F32 2, 0.5 */
    data[n++] = 0, data[n++] = 0, data[n++] = 0, data[n++] = 0x3F;
    data[n++] = 7, data[n++] = 0, data[n++] = 0, data[n++] = 0;                  /* I32 7 */
    safetensors(&b,
                "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[3,2],\"data_offsets\":[0,6]},"
                "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[6,10]},"
                "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[10,14]},"
                "\"e\":{\"dtype\":\"F8_E5M2\",\"shape\":[2],\"data_offsets\":[14,16]},"
                "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[16,24]},"
                "\"w_scale_inv\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[24,32]},"
                "\"i\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[32,36]},"
                "\"__metadata__\":{\"format\":\"pt\"}}",
                data, n);
    put("safetensors", "dtypes.safetensors", b.data, b.n);
    safetensors(&b,
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                data, 8);
    put("safetensors", "overlap.safetensors", b.data, b.n);
    safetensors(&b,
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
                "\"b\":{\"dtype\":\"F4\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                data, 1);
    put("safetensors", "bad_dtype.safetensors", b.data, b.n);
}

/* ---- shards ---- */

static void seeds_shards(void) {
    static const float one[4] = {1.0f, 2.0f, 3.0f, 4.0f}, sc[1] = {0.5f};
    static const unsigned char f8[6] = {0x38, 0xB8, 0x40, 0x00, 0x7F, 0x01};
    ss_safetensors_tensor t;
    buf a, b, c, all;
    const char *index =
        "{\"metadata\": {\"total_size\": 30}, \"weight_map\": {"
        "\"model.w\": \"a.safetensors\", \"model.x\": \"a.safetensors\","
        "\"model.w_scale_inv\": \"b.safetensors\", \"model.y\": \"c.safetensors\"}}";
    memset(&t, 0, sizeof t);
    safetensors(&a,
                "{\"model.w\":{\"dtype\":\"F8_E4M3\",\"shape\":[3,2],\"data_offsets\":[0,6]},"
                "\"model.x\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[6,8]}}",
                f8, 8);
    t.name = "model.w_scale_inv", t.ndim = 2, t.shape[0] = 1, t.shape[1] = 1, t.data = sc;
    check(ss_safetensors_write(fz_path("b.st"), &t, 1, NULL, 0), "shard b");
    slurp(&b, fz_path("b.st"));
    t.name = "model.y", t.ndim = 1, t.shape[0] = 4, t.data = one;
    check(ss_safetensors_write(fz_path("c.st"), &t, 1, NULL, 0), "shard c");
    slurp(&c, fz_path("c.st"));
    all.n = 0;
    add(&all, index, strlen(index));
    add(&all, "\n%%\n", 4);
    add(&all, a.data, a.n);
    add(&all, "\n%%\n", 4);
    add(&all, b.data, b.n);
    add(&all, "\n%%\n", 4);
    add(&all, c.data, c.n);
    put("shards", "index_three.bin", all.data, all.n);
    all.n = 0;
    add(&all, "\n%%\n", 4);
    add(&all, c.data, c.n);
    put("shards", "single_file.bin", all.data, all.n);
    put_str("shards", "bad_names.bin",
            "{\"weight_map\": {\"a\": \"../a.safetensors\", \"b\": \"\", \"c\": 3}}\n%%\n");
    put_str("shards", "missing_shard.bin",
            "{\"weight_map\": {\"a\": \"a.safetensors\", \"z\": \"zz.safetensors\"}}\n%%\n");
}

/* ---- tokenizer inputs ---- */

static void seeds_vocab(void) {
    put_str("vocab", "builtin.txt", fz_vocab_text());
    put_str("vocab", "small_crlf.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\r\n##lo\rab");
    put_str("vocab", "duplicate.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nx\nx\n");
    put_str("vocab", "missing_mask.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nmask\n");
    put_str("vocab", "bom_empty_line.txt", "\xef\xbb\xbf[PAD]\n\n[UNK]\n");
    PUT_LIT("vocab", "nul_bad_utf8.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\0b\n\xc3(\n");
}

static void seeds_tokenize(void) {
    PUT_LIT("tokenize", "plain.bin", "\x00\x00Hello, World! [MASK] caf\xc3\xa9 un-able.");
    PUT_LIT("tokenize", "pair_truncated.bin", "\x15\x08The movie is very good\x1fnot bad at all, really");
    PUT_LIT("tokenize", "sigma_cjk.bin", "\x21\x10\xce\xa3\xce\x91\xce\xa3 \xe4\xb8\xad\xe6\x96\x87 \xc4\xb0 x\xcc\x81");
    PUT_LIT("tokenize", "invalid_utf8.bin", "\x06\x05\xff\xfe a\xc3 \xed\xa0\x80 [CLS][SEP]\x01\x7f");
}

static void seeds_tsv(void) {
    put_str("tsv", "classes.tsv", "\x25sentence\tlabel\nthe movie is good \t1\nbad movie\t0\n");
    put_str("tsv", "regression_crlf.tsv",
            "\x0fid\tlabel\tsentence\r\n1\t0.5\thello world\r\n2\t-1e3\tcaf\xc3\xa9\r\n\r\n");
    put_str("tsv", "bad_label.tsv", "\x3dsentence\tlabel\nthe cat\t3\nthe dog\t1.0\n\n\n");
    put_str("tsv", "quotes_no_end.tsv", "\x5asentence\tlabel\tx\n\"a\tb\"\t1\t\n\"c\"\t2\tz");
}

static void seeds_text(void) {
    put_str("text", "lines.txt", "\x0cHello world.\n\n  \t\nThe tokenizer is good\r\nun-able caf\xc3\xa9\n");
    put_str("text", "packed.txt",
            "\x88Hello world.\nThe tokenizer is good and the movie is very good\nlast line");
    put_str("text", "blank_only.txt", "\x1e \n\t\r\n\r\n");
    put_str("text", "short_max_len.txt", "\x02one line\n");
}

/* ---- checkpoint and training state ---- */

static void seeds_checkpoint(void) {
    ss_model m, mlm;
    ss_config cfg;
    ss_safetensors_tensor *t;
    char (*names)[SS_MAX_NAME + 2];
    ss_params *p;
    buf b;
    int i, k, n = 0;
    fz_tiny_config(&cfg);
    check(ss_model_init(&m, &cfg, SS_HEAD_CLASSIFIER, 1, 4, 7), "tiny model");
    check(ss_model_init(&mlm, &cfg, SS_HEAD_MLM, 1, 4, 8), "tiny MLM model");
    p = &m.params;
    for (i = 0; i < (int)p->numel; i++) p->m[i] = 0.25f * (float)(i % 7), p->v[i] = 0.01f * (float)(i % 5);
    check(ss_model_save(&m, fz_path("c.st")), "classifier checkpoint");
    slurp(&b, fz_path("c.st"));
    put("checkpoint", "classifier.safetensors", b.data, b.n);
    check(ss_model_save(&mlm, fz_path("m.st")), "MLM checkpoint");
    slurp(&b, fz_path("m.st"));
    put("checkpoint", "mlm_no_head.safetensors", b.data, b.n);
    check(ss_optimizer_save(p, fz_path("o.st"), NULL, 0), "optimizer state");
    slurp(&b, fz_path("o.st"));
    put("checkpoint", "optimizer.safetensors", b.data, b.n);
    /* parameters and moments in one file: both loaders succeed on it */
    t = (ss_safetensors_tensor *)calloc((size_t)p->count * 3, sizeof *t);
    names = (char (*)[SS_MAX_NAME + 2])calloc((size_t)p->count * 3, sizeof *names);
    for (k = 0; k < 3; k++)
        for (i = 0; i < p->count; i++, n++) {
            const ss_tensor *tn = &p->tensors[i];
            int d;
            snprintf(names[n], sizeof names[n], "%s%s", k == 0 ? "" : k == 1 ? "m." : "v.", tn->name);
            t[n].name = names[n];
            t[n].ndim = tn->ndim;
            for (d = 0; d < tn->ndim; d++) t[n].shape[d] = tn->shape[d];
            t[n].data = (k == 0 ? p->param : k == 1 ? p->m : p->v) + tn->offset;
        }
    check(ss_safetensors_write(fz_path("a.st"), t, n, NULL, 0), "combined state");
    slurp(&b, fz_path("a.st"));
    put("checkpoint", "params_and_moments.safetensors", b.data, b.n);
    /* one shape wrong: the first tensor's first dimension one larger, data still in place */
    {
        char *hdr = (char *)b.data + 8, *at = strstr(hdr, "\"shape\":[");
        if (at && at[9] >= '1' && at[9] < '9') at[9]++;
        put("checkpoint", "wrong_shape.safetensors", b.data, b.n);
    }
    free(t);
    free(names);
    ss_model_free(&m);
    ss_model_free(&mlm);
}

static void seeds_token_cache(void) {
    const ss_tokenizer *tok = fz_vocab();
    static const char tsv[] = "sentence\tlabel\nthe movie is good\t1\nbad\t0\nhello world\t1\n";
    static const char text[] = "Hello world.\nThe tokenizer is good\n";
    ss_dataset ds;
    buf b;
    check(ss_dataset_from_tsv(&ds, tok, tsv, strlen(tsv), NULL, 8, 2), "tsv data set");
    check(ss_dataset_save(&ds, fz_path("t.bin"), 0x1122334455667788ull), "labelled cache");
    ss_dataset_free(&ds);
    slurp(&b, fz_path("t.bin"));
    put("token_cache", "labels.bin", b.data, b.n);
    b.data[40 + 8] = 9; /* the second offset: a damaged file, checksum now wrong */
    put("token_cache", "damaged.bin", b.data, b.n);
    check(ss_dataset_from_text(&ds, tok, text, strlen(text), NULL, 16, 0), "text data set");
    check(ss_dataset_save(&ds, fz_path("u.bin"), 42), "text cache");
    ss_dataset_free(&ds);
    slurp(&b, fz_path("u.bin"));
    put("token_cache", "text.bin", b.data, b.n);
    put("token_cache", "header_only.bin", b.data, 40);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { /* fuzz_util.h declares it */
    (void)data, (void)size;
    return 0;
}

int main(void) {
    mkdir("tests/fuzz/corpus", 0755);
    seeds_config();
    seeds_safetensors();
    seeds_shards();
    seeds_vocab();
    seeds_tokenize();
    seeds_tsv();
    seeds_text();
    seeds_checkpoint();
    seeds_token_cache();
    rmdir(fz_dir());
    return 0;
}
