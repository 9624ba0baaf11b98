/* fuzz_checkpoint.c - libFuzzer target: loading a checkpoint with its training state from a fuzzed
   safetensors file: ss_model_load (a tiny classifier model, fz_tiny_config), the config in the
   checkpoint's metadata (as the tools read it back), ss_safetensors_load_params, and
   ss_optimizer_load (the AdamW moments "m.<name>", "v.<name>").
   Input: the file's bytes. Properties checked, against an oracle computed from the file's own
   table (ss_safetensors_open):
   - ss_model_load succeeds exactly when every encoder tensor of the model is in the file with
     its shape and a float dtype, the file has no encoder tensor the model lacks, and the file
     holds all of the head's tensors (with their shapes and float dtypes) or none; on success
     every loaded tensor equals ss_safetensors_read_f32 of it, bit for bit;
   - ss_optimizer_load succeeds exactly when every moment is there with its shape and a float
     dtype, and then m and v equal the file's values;
   - a "config" metadata string that reads as a config validates;
   - every refusal has a detail.
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_checkpoint.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"

static ss_model model;
static float *scratch; /* one tensor */

/* Whether file entry e can fill registry tensor t: same dims and a float dtype. */
static int fits(const ss_safetensors_entry *e, const ss_tensor *t) {
    int d;
    if (e->ndim != t->ndim || !ss_dtype_is_float(e->dtype)) return 0;
    for (d = 0; d < t->ndim; d++)
        if (e->shape[d] != t->shape[d]) return 0;
    return 1;
}

static int is_encoder(const char *name) { return strncmp(name, "encoder_model.", 14) == 0; }

/* The outcome ss_model_load must have on this file. */
static int model_load_should_work(const ss_safetensors *st) {
    const ss_params *p = &model.params;
    int i, head = 0, head_found = 0, head_fit = 1;
    for (i = 0; i < p->count; i++) {
        int at = ss_safetensors_find(st, p->tensors[i].name);
        if (is_encoder(p->tensors[i].name)) {
            if (at < 0 || !fits(&st->entries[at], &p->tensors[i])) return 0;
        } else {
            head++;
            if (at >= 0) head_found++, head_fit &= fits(&st->entries[at], &p->tensors[i]);
        }
    }
    for (i = 0; i < st->count; i++)
        if (is_encoder(st->entries[i].name) && ss_params_find(p, st->entries[i].name) < 0) return 0;
    return head_found == 0 || (head_found == head && head_fit);
}

/* Every tensor the file has equals the registry's block (param, or m / v under a prefix). */
static void check_values(ss_safetensors *st, const float *block, const char *prefix) {
    const ss_params *p = &model.params;
    char name[SS_MAX_NAME + 2];
    int i;
    for (i = 0; i < p->count; i++) {
        const ss_tensor *t = &p->tensors[i];
        int at;
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        at = ss_safetensors_find(st, name);
        if (at < 0) continue;
        FZ_CHECK(ss_safetensors_read_f32(st, at, scratch, t->numel) == SS_OK, "read again");
        FZ_CHECK(memcmp(scratch, block + t->offset, t->numel * sizeof(float)) == 0,
                 "loaded values equal the file's");
    }
}

/* The outcome ss_optimizer_load must have. */
static int optimizer_load_should_work(const ss_safetensors *st) {
    const ss_params *p = &model.params;
    char name[SS_MAX_NAME + 2];
    int i, k;
    for (k = 0; k < 2; k++)
        for (i = 0; i < p->count; i++) {
            int at;
            snprintf(name, sizeof name, "%c.%s", k ? 'v' : 'm', p->tensors[i].name);
            at = ss_safetensors_find(st, name);
            if (at < 0 || !fits(&st->entries[at], &p->tensors[i])) return 0;
        }
    return 1;
}

static void check_metadata_config(const ss_safetensors *st) {
    const char *text = ss_safetensors_metadata(st, "config");
    ss_json_doc doc;
    ss_config cfg;
    ss_result r;
    if (!text) return;
    r = ss_json_parse(&doc, text, strlen(text), "checkpoint config");
    if (r == SS_OK) {
        fz_clear_detail();
        r = ss_config_from_json(&cfg, ss_json_root(&doc));
        if (r == SS_OK) FZ_CHECK(ss_config_validate(&cfg) == SS_OK, "metadata config validates");
        else fz_check_error(r, "metadata config refusal");
    } else {
        fz_check_error(r, "metadata config JSON refusal");
    }
    ss_json_doc_free(&doc);
}

static void one(const uint8_t *data, size_t size) {
    const char *path = fz_path("model.safetensors");
    ss_safetensors st;
    ss_result r, ro;
    int should;
    fz_write_file(path, data, size);
    fz_clear_detail();
    r = ss_model_load(&model, path);
    if (r != SS_OK) fz_check_error(r, "ss_model_load refusal");
    fz_clear_detail();
    ro = ss_safetensors_open(&st, path);
    if (ro != SS_OK) {
        fz_check_error(ro, "open refusal");
        if (!fz_alloc_failed) FZ_CHECK(r == ro, "ss_model_load fails as the open does");
    } else {
        should = model_load_should_work(&st);
        if (!fz_alloc_failed) FZ_CHECK((r == SS_OK) == should, "ss_model_load outcome");
        if (r == SS_OK) check_values(&st, model.params.param, "");
        check_metadata_config(&st);

        fz_clear_detail();
        r = ss_safetensors_load_params(&st, &model.params, (int)(size & 1));
        if (r != SS_OK) fz_check_error(r, "ss_safetensors_load_params refusal");
        else check_values(&st, model.params.param, "");

        fz_clear_detail();
        r = ss_optimizer_load(&model.params, &st);
        if (r != SS_OK) fz_check_error(r, "ss_optimizer_load refusal");
        FZ_CHECK((r == SS_OK) == optimizer_load_should_work(&st), "ss_optimizer_load outcome");
        if (r == SS_OK) {
            check_values(&st, model.params.m, "m.");
            check_values(&st, model.params.v, "v.");
        }
    }
    ss_safetensors_close(&st);
    unlink(path);
    fz_check_dir_empty();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    ss_config cfg;
    size_t most = 0;
    int i;
    (void)argc, (void)argv;
    fz_tiny_config(&cfg);
    if (ss_model_init(&model, &cfg, SS_HEAD_CLASSIFIER, 1, 4, 1) != SS_OK) {
        fprintf(stderr, "fuzz: tiny model: %s\n", ss_last_error_detail());
        abort();
    }
    for (i = 0; i < model.params.count; i++)
        if (model.params.tensors[i].numel > most) most = model.params.tensors[i].numel;
    scratch = (float *)malloc(most * sizeof(float));
    if (!scratch) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_run_with_failures(one, data, size);
    return 0;
}
