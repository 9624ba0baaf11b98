/* test_config.c - configs and checkpoints (section 10, >>checkpoint): the seed's config files load
   unchanged and give the seed's exact parameter counts; malformed configs fail naming the file,
   the key and its byte offset; a config written back reads back equal; a checkpoint round trip is
   bit-exact; a classifier starts from an MLM checkpoint with a fresh head; a checkpoint of another
   architecture or a damaged file is refused with the tensor named.
   cc -std=c99 -O2 -o test_config tests/test_config.c -lm && ./test_config   (from the repo root) */
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) exit(2);
    fputs(text, f);
    fclose(f);
}

/* The seed's model keys for a small MLA-o model; %s slots let a test splice in a change. */
#define TINY_MODEL                                                                                 \
    "{\"shorthand\": \"t\", \"notes\": \"\", \"pre_train\": {}, \"fine_tune\": {},\n"              \
    " \"model\": {\n"                                                                              \
    "  \"hidden_size\": 16, \"num_hidden_layers\": 2, \"intermediate_size\": 24,\n"                \
    "  \"hidden_dropout_prob\": 0.1, \"attention_dropout_prob\": 0.1, \"classifier_dropout\": null,\n" \
    "  \"initializer_range\": 0.2, \"layer_norm_eps\": 1e-12, \"rms_norm_eps\": 1e-6,\n"          \
    "  \"vocab_size\": 37, \"rope_theta\": 10000.0, \"rope_scaling\": null,\n"                     \
    "  \"max_position_embeddings\": 8, \"num_dense_layers\": %s, \"q_latent_dim\": 12,\n"         \
    "  \"kv_latent_dim\": 10, \"num_attention_heads\": 2, \"head_dim\": 8, \"rope_dims\": %s,\n"   \
    "  \"attention_bias\": false, \"output_subspace\": true, \"o_latent_dim\": %s,\n"              \
    "  \"attention_backend\": \"sdpa\", \"ffn_decompose\": false, \"ffn_rank\": null,\n"           \
    "  \"vocab_subspace\": false, \"vocab_rank\": null%s}}\n"

static ss_result load_variant(ss_config *cfg, const char *dense, const char *rope, const char *o_lat,
                              const char *extra) {
    char text[4096];
    sprintf(text, TINY_MODEL, dense, rope, o_lat, extra);
    write_text("build/test/config_variant.json", text);
    return ss_config_load(cfg, "build/test/config_variant.json");
}

static void test_seed_configs(void) {
    static const struct { const char *path; size_t params; } seeds[] = {
        {"configs/mha_rope_baseline.json", 14121984},
        {"configs/best_mla.json", 13286976},
        {"configs/best_mla-o.json", 13090368},
    };
    int i;
    for (i = 0; i < 3; i++) {
        ss_config cfg;
        ss_model_sizes sizes;
        char name[128];
        int ok = ss_config_load(&cfg, seeds[i].path) == SS_OK &&
                 ss_model_memory_size(&sizes, &cfg, SS_HEAD_MLM, 32, 128) == SS_OK &&
                 sizes.param_count == seeds[i].params;
        sprintf(name, "%s loads, %zu parameters", seeds[i].path, seeds[i].params);
        test_true(ok, name);
    }
    {
        ss_config cfg;
        test_true(ss_config_load(&cfg, "configs/tiny.json") == SS_OK && cfg.output_subspace == 1,
                  "configs/tiny.json loads");
    }
}

static void test_bad_configs(void) {
    ss_config cfg;
    ss_result r;
    r = load_variant(&cfg, "0", "4", "9", "");
    test_true(r == SS_OK && cfg.o_latent_dim == 9 && cfg.classifier_dropout < 0 && cfg.num_labels == 2,
              "variant: valid, nulls and defaults");
    r = load_variant(&cfg, "0", "5", "9", "");
    test_true(r == SS_ERR_INVALID && detail_has("config_variant.json") && detail_has("rope_dims"),
              "bad value: odd rope_dims names file and key");
    r = load_variant(&cfg, "0", "4", "null", "");
    test_true(r == SS_ERR_INVALID && detail_has("o_latent_dim"), "o_latent_dim null with output_subspace");
    r = load_variant(&cfg, "\"0\"", "4", "9", "");
    test_true(r == SS_ERR_FORMAT && detail_has("num_dense_layers") && detail_has("byte "),
              "wrong type: string for an integer names key and byte");
    r = load_variant(&cfg, "0.5", "4", "9", "");
    test_true(r == SS_ERR_FORMAT && detail_has("num_dense_layers"), "wrong type: fraction for an integer");
    r = load_variant(&cfg, "0", "4", "9", ", \"rope_dim\": 4");
    test_true(r == SS_ERR_FORMAT && detail_has("rope_dim") && detail_has("unknown key"),
              "unknown key named");
    r = load_variant(&cfg, "0", "4", "9", ", \"num_labels\": 3, \"causal\": true");
    test_true(r == SS_OK && cfg.num_labels == 3 && cfg.causal == 1, "optional keys num_labels, causal");
    write_text("build/test/config_missing.json", "{\"model\": {\"hidden_size\": 16}}");
    r = ss_config_load(&cfg, "build/test/config_missing.json");
    test_true(r == SS_ERR_FORMAT && detail_has("missing key"), "missing key named");
    write_text("build/test/config_broken.json", "{\"model\": {\"hidden_size\": 16,}}");
    r = ss_config_load(&cfg, "build/test/config_broken.json");
    test_true(r == SS_ERR_FORMAT && detail_has("config_broken.json:1:"), "not JSON: file:line:col");
    write_text("build/test/config_nomodel.json", "{\"pre_train\": {}}");
    r = ss_config_load(&cfg, "build/test/config_nomodel.json");
    test_true(r == SS_ERR_FORMAT && detail_has("no \"model\""), "no model object");
    r = ss_config_load(&cfg, "build/test/config_absent.json");
    test_true(r == SS_ERR_IO && detail_has("config_absent.json"), "missing file named");
}

static void test_config_round_trip(void) {
    ss_config a, b;
    ss_json_writer w;
    ss_json_doc doc;
    int ok;
    ss_config_load(&a, "configs/best_mla.json");
    ss_json_writer_init(&w, 1);
    ss_config_write_json(&a, &w);
    ok = ss_json_writer_finish(&w) == SS_OK && ss_json_parse(&doc, w.text, w.length, "written") == SS_OK &&
         ss_config_from_json(&b, ss_json_root(&doc)) == SS_OK && memcmp(&a, &b, sizeof a) == 0;
    test_true(ok, "config: write then read gives the same struct");
    ss_json_doc_free(&doc);
    ss_json_writer_free(&w);
}

static int params_equal(const ss_model *a, const ss_model *b, int encoder_only) {
    int i;
    if (a->params.count < (encoder_only ? 0 : b->params.count)) return 0;
    for (i = 0; i < a->params.count; i++) {
        const ss_tensor *t = &a->params.tensors[i];
        int j = ss_params_find(&b->params, t->name);
        if (encoder_only && strncmp(t->name, "encoder_model.", 14) != 0) continue;
        if (j < 0 || memcmp(ss_params_data(&a->params, i), ss_params_data(&b->params, j),
                            t->numel * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

static void test_checkpoints(void) {
    const char *path = "build/test/ckpt.safetensors";
    ss_config cfg, mha;
    ss_model a, b, cls, fresh_cls, other;
    ss_safetensors st;
    ss_result r;
    load_variant(&cfg, "1", "4", "9", "");
    ss_model_init(&a, &cfg, SS_HEAD_MLM, 2, 8, 1);
    ss_model_init(&b, &cfg, SS_HEAD_MLM, 2, 8, 2); /* another seed: different values */
    test_true(!params_equal(&a, &b, 0), "checkpoint: two seeds differ before loading");
    test_true(ss_model_save(&a, path) == SS_OK, "checkpoint: save");
    r = ss_model_load(&b, path);
    test_true(r == SS_OK && params_equal(&a, &b, 0), "checkpoint: load is bit-exact");
    /* the file is plain safetensors with the config and head in its metadata */
    r = ss_safetensors_open(&st, path);
    test_true(r == SS_OK && ss_safetensors_find(&st, "encoder_model.layers.1.self_attn.o_a_proj.weight") >= 0 &&
                  ss_safetensors_metadata(&st, "config") &&
                  strstr(ss_safetensors_metadata(&st, "config"), "\"o_latent_dim\":9") &&
                  strcmp(ss_safetensors_metadata(&st, "head"), "mlm") == 0,
              "checkpoint: PyTorch names, config and head in the metadata");
    ss_safetensors_close(&st);
    /* classifier from the MLM checkpoint: the encoder loads, the head keeps its fresh init */
    ss_model_init(&cls, &cfg, SS_HEAD_CLASSIFIER, 2, 8, 3);
    ss_model_init(&fresh_cls, &cfg, SS_HEAD_CLASSIFIER, 2, 8, 3);
    r = ss_model_load(&cls, path);
    test_true(r == SS_OK && params_equal(&a, &cls, 1), "classifier from MLM: encoder loaded");
    test_true(memcmp(cls.w.dense_weight, fresh_cls.w.dense_weight, 16 * 16 * sizeof(float)) == 0 &&
                  memcmp(cls.w.classifier_weight, fresh_cls.w.classifier_weight, 2 * 16 * sizeof(float)) == 0,
              "classifier from MLM: head keeps its fresh initialisation");
    /* a checkpoint of another architecture is refused, naming the tensor */
    mha = cfg;
    mha.num_dense_layers = 2;
    ss_model_init(&other, &mha, SS_HEAD_MLM, 2, 8, 4);
    r = ss_model_load(&other, path);
    test_true(r != SS_OK && detail_has("encoder_model.layers.1."), "other architecture refused, tensor named");
    ss_model_free(&other);
    /* a damaged file: cut short after the header */
    {
        char *data = NULL;
        size_t size = 0;
        ss_file_read(path, &data, &size);
        ss_file_write_atomic("build/test/ckpt_cut.safetensors", data, size / 2);
        ss_free(data);
        r = ss_model_load(&b, "build/test/ckpt_cut.safetensors");
        test_true(r == SS_ERR_FORMAT && detail_has("ckpt_cut.safetensors"), "truncated checkpoint refused");
    }
    ss_model_free(&a), ss_model_free(&b), ss_model_free(&cls), ss_model_free(&fresh_cls);
    remove(path);
    remove("build/test/ckpt_cut.safetensors");
}

int main(void) {
    printf("%s\n", ss_build_info());
    test_seed_configs();
    test_bad_configs();
    test_config_round_trip();
    test_checkpoints();
    return test_summary("test_config");
}
