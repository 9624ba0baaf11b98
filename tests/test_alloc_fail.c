/* test_alloc_fail.c - every allocation of building, saving and loading a model, of loading and
   saving a vocabulary, of reading data sets and of the SVD, failed one at a time: allocation k
   (k = 0, 1, ...) returns NULL until the call gets through. Each failing call must return an
   error (SS_ERR_NOMEM) with a detail (naming the file for the file calls), and afterwards no
   block may stay allocated (tests/test_alloc.h counts mallocs against frees). test_model.c,
   test_tokenizer.c and test_core.c do the same for ss_model_init's classifier, ss_tokenizer_load
   and the registry; this file covers the other heads and attention kinds and the calls they
   leave out.
       cc -std=c99 -O2 -o test_alloc_fail tests/test_alloc_fail.c -lm   (from the repository root;
       it reads configs/tiny.json and writes scratch files under build/test/) */
#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"

#define SCRATCH "build/test/alloc_fail"

/* What the calls work on; everything here is made before the failures are armed. */
typedef struct fixture {
    ss_config cfg;
    ss_head head;
    ss_model model, other;  /* model: built and saved; other: a second one to load into */
    ss_tokenizer tok, tok2;
    ss_dataset ds;
    ss_safetensors st;
    double A[40 * 24], B[40 * 6], s[24], U[40 * 24], V[40 * 24], cosines[6];
    int m, n, want_u, want_v;
    const char *text;
    size_t len;
} fixture;

typedef ss_result (*call_fn)(fixture *f);
typedef void (*undo_fn)(fixture *f);

/* Fail allocation 0, 1, 2, ... of call until it succeeds (at most 100000 tries). Reports the
   number of sites, and fails the check when a failing call did not return an error with a detail
   (naming file, when given), when anything stayed allocated after undo, or when the sites are
   fewer than min_sites (a call that stopped allocating would pass vacuously). */
static void every_site(const char *name, fixture *f, call_fn call, undo_fn undo, const char *file,
                       int min_sites) {
    long at, base = alloc_live;
    int sites = 0, reported = 1, leaked = 0, wrong = 0;
    char label[256];
    ss_result r = SS_OK;
    for (at = 0; at < 100000; at++) {
        arm_failure(at);
        r = call(f);
        arm_failure(-1);
        if (r != SS_OK) {
            const char *d = ss_last_error_detail();
            sites++;
            if (d[0] == '\0' || (file && !strstr(d, file))) {
                if (reported) printf("  %s: allocation %ld: detail '%s'\n", name, at, d);
                reported = 0;
            }
            if (r != SS_ERR_NOMEM) {
                if (!wrong) printf("  %s: allocation %ld: %s\n", name, at, ss_result_string(r));
                wrong = 1;
            }
        }
        if (undo) undo(f);
        if (alloc_live != base) {
            if (!leaked) printf("  %s: allocation %ld: %ld blocks left\n", name, at, alloc_live - base);
            leaked = 1;
            alloc_live = base; /* report each leak once, not at every later try */
        }
        if (r == SS_OK) break;
    }
    snprintf(label, sizeof label, "alloc failure: %s: %d sites, each an error with a detail%s, "
             "nothing leaked", name, sites, file ? " naming the file" : "");
    test_true(r == SS_OK && reported && !wrong && !leaked && sites >= min_sites, label);
}

/* ---- model --------------------------------------------------------------------------------- */

static ss_result model_init(fixture *f) { return ss_model_init(&f->other, &f->cfg, f->head, 2, 4, 7); }
static void other_free(fixture *f) { ss_model_free(&f->other); }
static ss_result config_load(fixture *f) { return ss_config_load(&f->cfg, "configs/tiny.json"); }
static ss_result model_save(fixture *f) { return ss_model_save(&f->model, SCRATCH "_model.safetensors"); }
static ss_result model_load(fixture *f) { return ss_model_load(&f->other, SCRATCH "_model.safetensors"); }
static ss_result optimizer_save(fixture *f) {
    static const char *const meta[] = {"step", "3"};
    return ss_optimizer_save(&f->model.params, SCRATCH "_opt.safetensors", meta, 1);
}
static ss_result optimizer_load(fixture *f) {
    ss_result r = ss_safetensors_open(&f->st, SCRATCH "_opt.safetensors");
    if (r == SS_OK) r = ss_optimizer_load(&f->other.params, &f->st);
    return r;
}
static void st_close(fixture *f) { ss_safetensors_close(&f->st); }

static void test_model(void) {
    static const char *const kinds[] = {"MHA", "MLA", "MLA-o", "MLA-o, decomposed FFN and vocab"};
    static const ss_head heads[] = {SS_HEAD_MLM, SS_HEAD_CLASSIFIER, SS_HEAD_CAUSAL_LM};
    static const char *const head_names[] = {"MLM", "classifier", "causal LM"};
    fixture *f = (fixture *)calloc(1, sizeof *f);
    char name[200];
    int k, h;
    if (!f) return;
    for (k = 0; k < 4; k++) {
        for (h = 0; h < 3; h++) {
            ss_config_default(&f->cfg);
            f->cfg.vocab_size = 37, f->cfg.hidden_size = 16, f->cfg.num_hidden_layers = 3;
            f->cfg.intermediate_size = 24, f->cfg.num_attention_heads = 2, f->cfg.head_dim = 8;
            f->cfg.rope_dims = 4, f->cfg.q_latent_dim = 12, f->cfg.kv_latent_dim = 10;
            f->cfg.max_position_embeddings = 8;
            if (k == 0) f->cfg.num_dense_layers = 3;
            if (k == 1) f->cfg.num_dense_layers = 1;
            if (k >= 2) f->cfg.output_subspace = 1, f->cfg.o_latent_dim = 9;
            if (k == 3) f->cfg.ffn_decompose = 1, f->cfg.ffn_rank = 7, f->cfg.vocab_subspace = 1, f->cfg.vocab_rank = 6;
            f->cfg.causal = heads[h] == SS_HEAD_CAUSAL_LM;
            f->head = heads[h];
            snprintf(name, sizeof name, "ss_model_init (%s, %s head)", kinds[k], head_names[h]);
            every_site(name, f, model_init, other_free, NULL, 2);
        }
    }
    every_site("ss_config_load", f, config_load, NULL, "tiny.json", 1);
    /* save and load: a built model, a second one to load into */
    f->head = SS_HEAD_MLM;
    f->cfg.causal = 0;
    if (ss_model_init(&f->model, &f->cfg, f->head, 2, 4, 7) != SS_OK ||
        ss_model_init(&f->other, &f->cfg, f->head, 2, 4, 8) != SS_OK) {
        test_true(0, "alloc failure: setup models");
    } else {
        every_site("ss_model_save", f, model_save, NULL, "alloc_fail_model.safetensors", 1);
        every_site("ss_model_load", f, model_load, NULL, "alloc_fail_model.safetensors", 1);
        test_true(memcmp(f->model.params.param, f->other.params.param,
                         f->model.params.numel * sizeof(float)) == 0,
                  "alloc failure: the model loaded after the failures equals the saved one");
        every_site("ss_optimizer_save", f, optimizer_save, NULL, "alloc_fail_opt.safetensors", 1);
        every_site("ss_safetensors_open + ss_optimizer_load", f, optimizer_load, st_close,
                   "alloc_fail_opt.safetensors", 1);
    }
    ss_model_free(&f->model);
    ss_model_free(&f->other);
    remove(SCRATCH "_model.safetensors");
    remove(SCRATCH "_opt.safetensors");
    free(f);
}

/* ---- tokenizer and data -------------------------------------------------------------------- */

static ss_result tok_load(fixture *f) { return ss_tokenizer_load(&f->tok2, SCRATCH "_vocab.txt"); }
static void tok2_free(fixture *f) { ss_tokenizer_free(&f->tok2); }
static ss_result tok_save(fixture *f) { return ss_tokenizer_save(&f->tok, SCRATCH "_vocab2.txt"); }
static ss_result from_text(fixture *f) {
    return ss_dataset_from_text(&f->ds, &f->tok, f->text, f->len, "corpus.txt", 8, 0);
}
static ss_result from_text_packed(fixture *f) {
    return ss_dataset_from_text(&f->ds, &f->tok, f->text, f->len, "corpus.txt", 8, 1);
}
static ss_result from_tsv(fixture *f) {
    return ss_dataset_from_tsv(&f->ds, &f->tok, f->text, f->len, "sst.tsv", 8, 2);
}
static void ds_free(fixture *f) { ss_dataset_free(&f->ds); }
static ss_result cache_save(fixture *f) { return ss_dataset_save(&f->ds, SCRATCH "_cache.bin", 42); }
static ss_result cache_load(fixture *f) { return ss_dataset_load(&f->ds, SCRATCH "_cache.bin", 42); }

static void test_tokenizer_and_data(void) {
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\n##s\n.\n";
    static const char corpus[] = "the cat sat on the mat.\n\nthe cats sat.\nmats on cats\n";
    static const char tsv[] = "sentence\tlabel\nthe cat sat\t1\nthe mat\t0\ncats .\t1\n";
    fixture *f = (fixture *)calloc(1, sizeof *f);
    if (!f) return;
    if (ss_file_write_atomic(SCRATCH "_vocab.txt", vocab, sizeof vocab - 1) != SS_OK ||
        ss_tokenizer_load(&f->tok, SCRATCH "_vocab.txt") != SS_OK) {
        test_true(0, "alloc failure: setup vocabulary");
        free(f);
        return;
    }
    every_site("ss_tokenizer_load", f, tok_load, tok2_free, "alloc_fail_vocab.txt", 2);
    every_site("ss_tokenizer_save", f, tok_save, NULL, "alloc_fail_vocab2.txt", 1);
    f->text = corpus, f->len = sizeof corpus - 1;
    every_site("ss_dataset_from_text", f, from_text, ds_free, "corpus.txt", 1);
    every_site("ss_dataset_from_text (packed)", f, from_text_packed, ds_free, "corpus.txt", 1);
    f->text = tsv, f->len = sizeof tsv - 1;
    every_site("ss_dataset_from_tsv", f, from_tsv, ds_free, "sst.tsv", 1);
    if (from_tsv(f) == SS_OK) {
        every_site("ss_dataset_save", f, cache_save, NULL, "alloc_fail_cache.bin", 1);
        ss_dataset_free(&f->ds);
        every_site("ss_dataset_load", f, cache_load, ds_free, "alloc_fail_cache.bin", 1);
    }
    ss_dataset_free(&f->ds);
    ss_tokenizer_free(&f->tok);
    remove(SCRATCH "_vocab.txt");
    remove(SCRATCH "_vocab2.txt");
    remove(SCRATCH "_cache.bin");
    free(f);
}

/* ---- SVD ------------------------------------------------------------------------------------- */

static ss_result svd(fixture *f) {
    return ss_svd_alloc(f->A, f->m, f->n, f->n, f->s, f->want_u ? f->U : NULL,
                        f->want_v ? f->V : NULL, NULL);
}
static ss_result angles(fixture *f) { return ss_principal_angles(f->A, 24, f->B, 6, 40, 24, 6, f->cosines); }

static void test_svd(void) {
    fixture *f = (fixture *)calloc(1, sizeof *f);
    ss_rng rng;
    char name[160];
    int i, shape;
    if (!f) return;
    ss_rng_seed(&rng, 5);
    for (i = 0; i < 40 * 24; i++) f->A[i] = ss_rng_uniform(&rng) - 0.5;
    for (i = 0; i < 40 * 6; i++) f->B[i] = ss_rng_uniform(&rng) - 0.5;
    for (shape = 0; shape < 2; shape++) {
        f->m = shape ? 24 : 40, f->n = shape ? 40 : 24; /* tall, then wide (through the transpose) */
        for (i = 0; i < 4; i++) {
            f->want_u = i & 1, f->want_v = (i >> 1) & 1;
            snprintf(name, sizeof name, "ss_svd_alloc (%dx%d, U %s, V %s)", f->m, f->n,
                     f->want_u ? "yes" : "no", f->want_v ? "yes" : "no");
            every_site(name, f, svd, NULL, NULL, 1);
        }
    }
    every_site("ss_principal_angles", f, angles, NULL, NULL, 1);
    free(f);
}

int main(void) {
    printf("%s\n", ss_build_info());
    test_model();
    test_tokenizer_and_data();
    test_svd();
    test_true(alloc_live == 0, "no allocation outstanding at exit");
    return test_summary("test_alloc_fail");
}
