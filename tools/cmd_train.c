/* tools/cmd_train.c - `ss pretrain` and `ss finetune`: the seed's train.py and
   fine_tune_glue.py (SPEC 2), driven by a config's pre_train / fine_tune blocks with --set
   overrides. The loop itself is tools/train.c; this file reads configs, data and checkpoints,
   and writes full_config.json. compare.c runs both through pretrain_exec / finetune_exec.
   Built with MPI=1 and run under mpirun, the two commands start MPI (tools/ddp.h): every process
   reads the config and the data, rank 0 alone prints and writes files. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "train.h"
#include "config.h"
#include "cmd_train.h"
#include "ddp.h"
#ifdef _OPENMP
#include <omp.h>
#endif

void train_set_threads(int threads) {
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
#endif
    (void)threads;
}

/* Whether a data set read from the token cache holds what this run can use: ids within the
   vocabulary, sequences of at most max_len ids, labels that are class numbers (or, for
   regression, finite). The cache's checksum catches damage, not a file written by hand; one
   that fails here is freed, reported and made again from the text. */
static int cached_data_fits(ss_dataset *ds, const char *cache, const ss_tokenizer *tok,
                            int max_len, int num_labels, int tsv) {
    int64_t i;
    const char *why = NULL;
    for (i = 0; !why && i < ds->offsets[ds->count]; i++)
        if (ds->tokens[i] < 0 || ds->tokens[i] >= tok->vocab_size)
            why = "a token id outside the vocabulary";
    for (i = 0; !why && i < ds->count; i++)
        if (ds->offsets[i + 1] - ds->offsets[i] > max_len) why = "a sequence longer than max_len";
    if (!why && tsv != (ds->labels != NULL)) why = tsv ? "no labels" : "labels on plain text";
    for (i = 0; !why && tsv && num_labels > 1 && i < ds->count; i++)
        if (!(ds->labels[i] >= 0 && ds->labels[i] < (float)num_labels &&
              ds->labels[i] == (float)(int)ds->labels[i]))
            why = "a label that is not a class number";
    if (!why) return 1;
    fprintf(stderr, "ss: warning: %s holds %s; tokenizing again\n", cache, why);
    ss_dataset_free(ds);
    return 0;
}

/* Read a token data set, through the cache in cache_dir when given. The cache key covers the
   file's bytes, the vocabulary and every option that shapes the sequences. */
int train_load_data(ss_dataset *ds, const char *path, const ss_tokenizer *tok, int max_len,
                    int pack, int num_labels, int tsv, const char *cache_dir, int quiet) {
    char *text = NULL, cache[1200];
    size_t size;
    uint64_t key = SS_HASH64_INIT;
    int opts[4];
    ss_result r = ss_file_read(path, &text, &size);
    if (r != SS_OK) {
        fprintf(stderr, "ss: %s\n", ss_last_error_detail());
        return -1;
    }
    if (cache_dir) {
        const char *base = strrchr(path, '/');
        opts[0] = max_len, opts[1] = pack, opts[2] = num_labels, opts[3] = tsv;
        key = ss_hash64(text, size, key);
        key = ss_hash64(tok->text, tok->start[tok->vocab_size], key);
        key = ss_hash64(opts, sizeof opts, key);
        snprintf(cache, sizeof cache, "%s/%s.%016llx.tokens", cache_dir, base ? base + 1 : path,
                 (unsigned long long)key);
        if (ss_dataset_load(ds, cache, key) == SS_OK &&
            cached_data_fits(ds, cache, tok, max_len, num_labels, tsv)) {
            ss_free(text);
            if (!quiet) printf("%s: %lld sequences from the token cache %s\n", path, (long long)ds->count, cache);
            return 0;
        }
    }
    r = tsv ? ss_dataset_from_tsv(ds, tok, text, size, path, max_len, num_labels)
            : ss_dataset_from_text(ds, tok, text, size, path, max_len, pack);
    ss_free(text);
    if (r != SS_OK) {
        fprintf(stderr, "ss: %s\n", ss_last_error_detail());
        return -1;
    }
    if (!quiet)
        printf("%s: %lld sequences, %lld tokens, longest %d\n", path, (long long)ds->count,
               (long long)ds->offsets[ds->count], ds->max_len);
    /* several processes read the same files: rank 0 alone writes the cache (the others read it
       once it is complete: it is renamed into place) */
    if (cache_dir && tool_mpi_rank() == 0 &&
        (train_mkdir(cache_dir) != 0 || ss_dataset_save(ds, cache, key) != SS_OK))
        fprintf(stderr, "ss: warning: token cache not written: %s\n", ss_last_error_detail());
    return 0;
}

/* "13.47M"-style count, as the seed's run names. */
static void human_count(size_t n, char *buf, size_t size) {
    if (n >= 1000000) snprintf(buf, size, "%.2fM", (double)n / 1e6);
    else if (n >= 1000) snprintf(buf, size, "%.1fK", (double)n / 1e3);
    else snprintf(buf, size, "%zu", n);
}

/* full_config.json: the resolved config, with `block`'s members `extra` (key, JSON-text pairs)
   set, and "stats": {"total_elements": params}. Written crash-safe. */
static int write_full_config(const char *dir, const char *config_text, const char *block,
                             const char *const *extra, int n_extra, size_t params) {
    ss_json_doc doc, val;
    ss_json_writer w;
    const ss_json *root;
    char path[1100];
    size_t i, n;
    int k, status = -1;
    memset(&doc, 0, sizeof doc);
    if (ss_json_parse(&doc, config_text, strlen(config_text), "config") != SS_OK) return -1;
    root = ss_json_root(&doc);
    ss_json_writer_init(&w, 1);
    ss_json_write_begin_object(&w);
    for (i = 0, n = ss_json_count(root); i < n; i++) {
        const ss_json *c = ss_json_at(root, i);
        if (strcmp(c->key, "stats") == 0) continue;
        ss_json_write_key(&w, c->key);
        if (strcmp(c->key, block) != 0 || c->type != SS_JSON_OBJECT) {
            config_json_copy(&w, c);
            continue;
        }
        ss_json_write_begin_object(&w);
        for (k = 0; k < (int)ss_json_count(c); k++) { /* the block, minus what we set below */
            const ss_json *m = ss_json_at(c, (size_t)k);
            int j, replaced = 0;
            for (j = 0; j < n_extra; j++) replaced |= strcmp(m->key, extra[2 * j]) == 0;
            if (replaced) continue;
            ss_json_write_key(&w, m->key);
            config_json_copy(&w, m);
        }
        for (k = 0; k < n_extra; k++) {
            memset(&val, 0, sizeof val);
            if (ss_json_parse(&val, extra[2 * k + 1], strlen(extra[2 * k + 1]), "value") != SS_OK)
                continue;
            ss_json_write_key(&w, extra[2 * k]);
            config_json_copy(&w, ss_json_root(&val));
            ss_json_doc_free(&val);
        }
        ss_json_write_end_object(&w);
    }
    ss_json_write_key(&w, "stats");
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "total_elements");
    ss_json_write_int(&w, (int64_t)params);
    ss_json_write_end_object(&w);
    ss_json_write_end_object(&w);
    snprintf(path, sizeof path, "%s/full_config.json", dir);
    if (ss_json_writer_finish(&w) == SS_OK) {
        char *text = (char *)malloc(w.length + 2);
        if (text) {
            memcpy(text, w.text, w.length);
            text[w.length] = '\n';
            if (ss_file_write_atomic(path, text, w.length + 1) == SS_OK) status = 0;
            free(text);
        }
    }
    if (status != 0) fprintf(stderr, "ss: %s not written: %s\n", path, ss_last_error_detail());
    ss_json_writer_free(&w);
    ss_json_doc_free(&doc);
    return status;
}

/* Our keys beyond the seed's, with their defaults, added to a config's blocks when missing, so
   that --set can reach them and full_config.json shows every value a run used. */
static const char *const extra_pre_train[] = {
    "warmup_ratio", "0.1", "lr_schedule", "\"linear\"", "max_grad_norm", "1.0",
    "gradient_accumulation_steps", "1", "logging_steps", "50", "save_total_limit", "2",
    "pack_sequences", "false", "objective", "\"mlm\"", NULL};
static const char *const extra_fine_tune[] = {
    "lr_schedule", "\"linear\"", "max_grad_norm", "1.0", "eval_steps", "1000", "logging_steps", "100",
    "gradient_accumulation_steps", "1", "save_total_limit", "2", NULL};

/* The config text with every missing optional key in place (model: num_labels and causal). */
static char *fill_defaults(const char *text, size_t len, const char *source) {
    ss_json_doc doc, val;
    ss_json_writer w;
    const ss_json *root;
    char *out = NULL;
    size_t i, n, k;
    memset(&doc, 0, sizeof doc);
    if (ss_json_parse(&doc, text, len, source) != SS_OK) {
        fprintf(stderr, "ss: %s\n", ss_last_error_detail());
        return NULL;
    }
    root = ss_json_root(&doc);
    if (root->type != SS_JSON_OBJECT) {
        fprintf(stderr, "ss: %s: the config is not a JSON object\n", source);
        ss_json_doc_free(&doc);
        return NULL;
    }
    ss_json_writer_init(&w, 1);
    ss_json_write_begin_object(&w);
    for (i = 0, n = ss_json_count(root); i < n; i++) {
        const ss_json *c = ss_json_at(root, i);
        const char *const *extra = NULL;
        if (strcmp(c->key, "pre_train") == 0) extra = extra_pre_train;
        else if (strcmp(c->key, "fine_tune") == 0) extra = extra_fine_tune;
        ss_json_write_key(&w, c->key);
        if (c->type != SS_JSON_OBJECT || (!extra && strcmp(c->key, "model") != 0)) {
            config_json_copy(&w, c);
            continue;
        }
        ss_json_write_begin_object(&w);
        for (k = 0; k < ss_json_count(c); k++) {
            ss_json_write_key(&w, ss_json_at(c, k)->key);
            config_json_copy(&w, ss_json_at(c, k));
        }
        if (!extra) { /* model */
            if (!ss_json_get(c, "num_labels")) ss_json_write_key(&w, "num_labels"), ss_json_write_int(&w, 2);
            if (!ss_json_get(c, "causal")) ss_json_write_key(&w, "causal"), ss_json_write_bool(&w, 0);
        }
        for (k = 0; extra && extra[k]; k += 2) {
            if (ss_json_get(c, extra[k])) continue;
            memset(&val, 0, sizeof val);
            if (ss_json_parse(&val, extra[k + 1], strlen(extra[k + 1]), "default") != SS_OK) continue;
            ss_json_write_key(&w, extra[k]);
            config_json_copy(&w, ss_json_root(&val));
            ss_json_doc_free(&val);
        }
        ss_json_write_end_object(&w);
    }
    ss_json_write_end_object(&w);
    if (ss_json_writer_finish(&w) == SS_OK && (out = (char *)malloc(w.length + 1)) != NULL)
        memcpy(out, w.text, w.length + 1);
    ss_json_writer_free(&w);
    ss_json_doc_free(&doc);
    return out;
}

/* The resolved config (file, defaults, overrides): its text, the model and the block's options. */
static int load_run_config(const char *path, const char *const *sets, int n_sets, train_task task,
                           char **text, ss_config *cfg, train_opts *o, ss_json_doc *doc) {
    char err[1024], source[1100];
    char *raw = NULL, *filled;
    size_t size;
    const ss_json *root, *model, *block;
    *text = NULL;
    if (ss_file_read(path, &raw, &size) != SS_OK) {
        fprintf(stderr, "ss: %s\n", ss_last_error_detail());
        return -1;
    }
    filled = fill_defaults(raw, size, path);
    ss_free(raw);
    if (!filled) return -1;
    snprintf(source, sizeof source, "%s", path);
    if (config_apply_sets(filled, strlen(filled), source, sets, n_sets, text, err, sizeof err) != 0) {
        fprintf(stderr, "ss: %s\n", err);
        free(filled);
        return -1;
    }
    free(filled);
    memset(doc, 0, sizeof *doc);
    snprintf(source, sizeof source, "%s (with defaults and overrides)", path);
    if (ss_json_parse(doc, *text, strlen(*text), source) != SS_OK) {
        fprintf(stderr, "ss: %s\n", ss_last_error_detail());
        goto fail;
    }
    root = ss_json_root(doc);
    model = ss_json_get(root, "model");
    if (!model) {
        fprintf(stderr, "ss: %s: no \"model\" object\n", path);
        goto fail;
    }
    if (ss_config_from_json(cfg, model) != SS_OK) {
        fprintf(stderr, "ss: %s\n", ss_last_error_detail());
        goto fail;
    }
    block = ss_json_get(root, task == TASK_CLS ? "fine_tune" : "pre_train");
    if (train_opts_from_json(o, block, task, path) != 0) goto fail;
    return 0;
fail:
    ss_json_doc_free(doc);
    free(*text);
    *text = NULL;
    return -1;
}

static int load_vocab(ss_tokenizer *tok, const char *path, const ss_config *cfg) {
    if (ss_tokenizer_load(tok, path) != SS_OK) {
        fprintf(stderr, "ss: %s\n", ss_last_error_detail());
        return -1;
    }
    if (tok->vocab_size > cfg->vocab_size) {
        fprintf(stderr, "ss: %s has %d tokens but model.vocab_size is %d (set it with --set "
                "model.vocab_size=%d)\n", path, tok->vocab_size, cfg->vocab_size, tok->vocab_size);
        ss_tokenizer_free(tok);
        return -1;
    }
    return 0;
}

int pretrain_exec(const pretrain_args *a, train_result *res, size_t *params, ss_config *cfg_out) {
    char *text = NULL, cfg_path[1100], path[1100], *out_dir = NULL;
    const char *config_path = a->config_path;
    ss_json_doc doc;
    ss_config cfg;
    train_opts o;
    ss_tokenizer tok;
    ss_dataset train, valid;
    ss_model model;
    train_job job;
    int status = 1, max_B, lead = tool_mpi_rank() == 0, quiet = a->quiet || !lead;
    memset(&doc, 0, sizeof doc), memset(&tok, 0, sizeof tok), memset(&model, 0, sizeof model);
    memset(&train, 0, sizeof train), memset(&valid, 0, sizeof valid);
    train_set_threads(a->threads);
    if (!config_path) {
        if (!a->resume || !a->out_dir) {
            fprintf(stderr, "ss pretrain: --config is required (or --resume with --out)\n");
            return 1;
        }
        snprintf(cfg_path, sizeof cfg_path, "%s/config.json", a->out_dir);
        config_path = cfg_path;
    }
    if (load_run_config(config_path, a->sets, a->n_sets, TASK_MLM, &text, &cfg, &o, &doc) != 0)
        return 1;
    if (a->objective) {
        if (strcmp(a->objective, "mlm") == 0) o.task = TASK_MLM;
        else if (strcmp(a->objective, "clm") == 0) o.task = TASK_CLM;
        else {
            fprintf(stderr, "ss pretrain: --objective must be mlm or clm, got '%s'\n", a->objective);
            goto done;
        }
    }
    if (o.task == TASK_CLM) cfg.causal = 1, o.pack = 1; /* a decoder on packed sequences */
    if (train_check_split(&o, "pretrain") != 0) goto done;
    if (a->out_dir) {
        out_dir = strdup(a->out_dir);
    } else {
        const ss_json *pre = ss_json_get(ss_json_root(&doc), "pre_train");
        const char *od = NULL;
        if (pre && ss_json_get_string(pre, "output_dir", &od) == SS_OK) out_dir = strdup(od);
    }
    if (!out_dir) {
        fprintf(stderr, "ss pretrain: give --out DIR (the config has no pre_train.output_dir)\n");
        goto done;
    }
    if (!a->train_path || !a->vocab_path) {
        fprintf(stderr, "ss pretrain: --train and --vocab are required\n");
        goto done;
    }
    if (o.max_len > cfg.max_position_embeddings) {
        fprintf(stderr, "ss pretrain: max_seq_length %d exceeds model.max_position_embeddings %d\n",
                o.max_len, cfg.max_position_embeddings);
        goto done;
    }
    if (load_vocab(&tok, a->vocab_path, &cfg) != 0) goto done;
    if (train_load_data(&train, a->train_path, &tok, o.max_len, o.pack, 0, 0, a->cache_dir,
                        quiet) != 0 ||
        (a->valid_path && train_load_data(&valid, a->valid_path, &tok, o.max_len, o.pack, 0, 0,
                                          a->cache_dir, quiet) != 0))
        goto done;
    max_B = o.batch_size / o.grad_accum;
    if (a->valid_path && lead && o.eval_batch_size > max_B) /* rank 0 alone evaluates */
        max_B = o.eval_batch_size;
    if (ss_model_init(&model, &cfg, o.task == TASK_CLM ? SS_HEAD_CAUSAL_LM : SS_HEAD_MLM, max_B,
                      o.max_len, o.seed) != SS_OK) {
        fprintf(stderr, "ss pretrain: %s\n", ss_last_error_detail());
        goto done;
    }
    if (lead && train_mkdir(out_dir) != 0) goto done;
    snprintf(path, sizeof path, "%s/config.json", out_dir);
    /* the run's inputs beside its outputs; config.json last, so that a run killed between the two
       writes both again on --resume */
    if (lead && (!a->resume || access(path, F_OK) != 0)) {
        if ((snprintf(path, sizeof path, "%s/vocab.txt", out_dir), ss_tokenizer_save(&tok, path)) != SS_OK ||
            (snprintf(path, sizeof path, "%s/config.json", out_dir),
             ss_file_write_atomic(path, text, strlen(text))) != SS_OK) {
            fprintf(stderr, "ss pretrain: %s\n", ss_last_error_detail());
            goto done;
        }
    }
    if (!quiet) {
        char n[32];
        human_count(ss_model_param_count(&model), n, sizeof n);
        printf("pretrain: %s parameters, %s, %lld updates of %d sequences (max %d tokens), lr %g, "
               "into %s\n", n, o.task == TASK_CLM ? "causal LM" : "masked LM", (long long)o.steps,
               o.batch_size, o.max_len, o.lr, out_dir);
        if (tool_mpi_size() > 1)
            printf("pretrain: %d processes, %d sequences each per update\n", tool_mpi_size(),
                   o.batch_size / tool_mpi_size());
    }
    memset(&job, 0, sizeof job);
    job.cmd = "pretrain";
    job.out_dir = out_dir;
    job.model = &model;
    job.tok = &tok;
    job.train = &train;
    job.valid = a->valid_path ? &valid : NULL;
    job.o = o;
    job.resume = a->resume;
    job.stop_after = a->stop_after;
    job.nan_at_step = a->nan_at;
    job.quiet = quiet;
    job.config_text = text;
    status = train_run(&job, res);
    if (params) *params = ss_model_param_count(&model);
    if (cfg_out) *cfg_out = cfg;
    if (status == 0 && res->steps == o.steps && lead) {
        char best[64], name[512], n[32], acc[64], loss[64];
        const char *shorthand = "";
        const char *extra[8];
        ss_json_get_string(ss_json_root(&doc), "shorthand", &shorthand);
        human_count(ss_model_param_count(&model), n, sizeof n);
        snprintf(best, sizeof best, "\"checkpoint-%lld\"", (long long)res->best_step);
        snprintf(name, sizeof name, "\"%s - %s\"", n, shorthand);
        snprintf(acc, sizeof acc, "%.9g", o.task == TASK_CLM ? 0.0 : res->eval_acc);
        snprintf(loss, sizeof loss, "%.9g", res->eval_loss);
        extra[0] = "best_checkpoint", extra[1] = best;
        extra[2] = "run_name", extra[3] = name;
        extra[4] = "eval_accuracy", extra[5] = acc;
        extra[6] = "eval_loss", extra[7] = loss;
        if (strchr(shorthand, '"') || strchr(shorthand, '\\')) extra[3] = "\"run\"";
        if (write_full_config(out_dir, text, "pre_train", extra, 4, ss_model_param_count(&model)) != 0)
            status = 1;
        else if (!quiet) {
            if (o.task == TASK_CLM)
                printf("pretrain: done: validation loss %.4f, perplexity %.2f; %s/full_config.json\n",
                       res->eval_loss, exp(res->eval_loss), out_dir);
            else
                printf("pretrain: done: MLM accuracy %.4f (best %.4f at update %lld), %.0f tokens/s; "
                       "%s/full_config.json\n", res->eval_acc, res->best_acc,
                       (long long)res->best_step, res->tokens_per_s, out_dir);
        }
    }
done:
    ss_model_free(&model);
    ss_dataset_free(&train);
    ss_dataset_free(&valid);
    ss_tokenizer_free(&tok);
    ss_json_doc_free(&doc);
    free(text);
    free(out_dir);
    return status;
}

int finetune_exec(const finetune_args *a, train_result *res) {
    char *text = NULL, path[1200], out_buf[1100], vocab_buf[1100];
    const char *config_path = a->config_path, *out_dir = a->out_dir, *vocab = a->vocab_path;
    const char *task_name = "task", *best = NULL;
    ss_json_doc doc;
    ss_config cfg;
    train_opts o;
    ss_tokenizer tok;
    ss_dataset all, train, monitor, test;
    ss_model model;
    train_job job;
    int64_t n_train, per_epoch;
    int status = 1, lead = tool_mpi_rank() == 0, quiet = a->quiet || !lead;
    memset(&doc, 0, sizeof doc), memset(&tok, 0, sizeof tok), memset(&model, 0, sizeof model);
    memset(&all, 0, sizeof all), memset(&train, 0, sizeof train);
    memset(&monitor, 0, sizeof monitor), memset(&test, 0, sizeof test);
    train_set_threads(a->threads);
    if (!a->from_dir && !a->from_scratch) {
        fprintf(stderr, "ss finetune: give --from DIR (a pretrain output) or --from-scratch\n");
        return 1;
    }
    if (!config_path) {
        if (!a->from_dir) {
            fprintf(stderr, "ss finetune: --from-scratch needs --config\n");
            return 1;
        }
        snprintf(path, sizeof path, "%s/full_config.json", a->from_dir);
        config_path = path;
    }
    if (load_run_config(config_path, a->sets, a->n_sets, TASK_CLS, &text, &cfg, &o, &doc) != 0)
        return 1;
    if (train_check_split(&o, "finetune") != 0) goto done;
    {
        const ss_json *ft = ss_json_get(ss_json_root(&doc), "fine_tune");
        const ss_json *pre = ss_json_get(ss_json_root(&doc), "pre_train");
        if (ft) ss_json_get_string(ft, "task", &task_name);
        if (pre && !a->from_scratch) ss_json_get_string(pre, "best_checkpoint", &best);
    }
    if (!vocab) {
        if (!a->from_dir) {
            fprintf(stderr, "ss finetune: --vocab is required with --from-scratch\n");
            goto done;
        }
        snprintf(vocab_buf, sizeof vocab_buf, "%s/vocab.txt", a->from_dir);
        vocab = vocab_buf;
    }
    if (!out_dir) {
        snprintf(out_buf, sizeof out_buf, "%s/finetune-%s%s", a->from_dir ? a->from_dir : ".",
                 task_name, a->from_scratch ? "-scratch" : "");
        out_dir = out_buf;
    }
    if (!a->train_path || !a->dev_path) {
        fprintf(stderr, "ss finetune: --train and --dev are required\n");
        goto done;
    }
    if (!a->from_scratch && !best) {
        fprintf(stderr, "ss finetune: %s has no pre_train.best_checkpoint (did the pre-training "
                "finish?)\n", config_path);
        goto done;
    }
    cfg.causal = 0;
    if (load_vocab(&tok, vocab, &cfg) != 0) goto done;
    if (train_load_data(&all, a->train_path, &tok, o.max_len, 0, cfg.num_labels, 1, a->cache_dir,
                        quiet) != 0 ||
        train_load_data(&test, a->dev_path, &tok, o.max_len, 0, cfg.num_labels, 1, a->cache_dir,
                        quiet) != 0)
        goto done;
    /* the seed's split: first 90% to train, last 10% to watch; the dev file is the test */
    n_train = all.count - all.count / 10;
    if (n_train < 1 || all.count - n_train < 1) {
        fprintf(stderr, "ss finetune: %s: %lld rows are too few to split 90/10\n", a->train_path,
                (long long)all.count);
        goto done;
    }
    if (ss_dataset_slice(&train, &all, 0, n_train) != SS_OK ||
        ss_dataset_slice(&monitor, &all, n_train, all.count - n_train) != SS_OK) {
        fprintf(stderr, "ss finetune: %s\n", ss_last_error_detail());
        goto done;
    }
    per_epoch = (n_train + o.batch_size - 1) / o.batch_size;
    o.steps = (int64_t)ceil(o.epochs * (double)per_epoch);
    if (ss_model_init(&model, &cfg, SS_HEAD_CLASSIFIER, o.batch_size, o.max_len, o.seed) != SS_OK) {
        fprintf(stderr, "ss finetune: %s\n", ss_last_error_detail());
        goto done;
    }
    if (!a->from_scratch) {
        snprintf(path, sizeof path, "%s/%s/model.safetensors", a->from_dir, best);
        if (ss_model_load(&model, path) != SS_OK) {
            fprintf(stderr, "ss finetune: %s\n", ss_last_error_detail());
            goto done;
        }
    }
    if (lead && train_mkdir(out_dir) != 0) goto done;
    if (!quiet)
        printf("finetune: %s from %s: %lld training rows, %lld to watch, %lld to test; %lld updates "
               "(%g epochs of %lld) into %s\n", task_name, a->from_scratch ? "scratch" : path,
               (long long)train.count, (long long)monitor.count, (long long)test.count,
               (long long)o.steps, o.epochs, (long long)per_epoch, out_dir);
    if (!quiet && tool_mpi_size() > 1)
        printf("finetune: %d processes, %d sequences each per update\n", tool_mpi_size(),
               o.batch_size / tool_mpi_size());
    memset(&job, 0, sizeof job);
    job.cmd = "finetune";
    job.out_dir = out_dir;
    job.model = &model;
    job.tok = &tok;
    job.train = &train;
    job.valid = &monitor;
    job.test = &test;
    job.o = o;
    job.resume = a->resume;
    job.stop_after = a->stop_after;
    job.nan_at_step = a->nan_at;
    job.quiet = quiet;
    job.config_text = text;
    status = train_run(&job, res);
    if (status == 0 && res->steps == o.steps && lead) {
        /* the seed tests the final weights (no best-checkpoint reload): save them as the model */
        char acc[64], loss[64];
        const char *extra[4];
        snprintf(path, sizeof path, "%s/model.safetensors", out_dir);
        if (ss_model_save(&model, path) != SS_OK) {
            fprintf(stderr, "ss finetune: %s\n", ss_last_error_detail());
            status = 1;
            goto done;
        }
        snprintf(path, sizeof path, "%s/vocab.txt", out_dir);
        if (ss_tokenizer_save(&tok, path) != SS_OK) status = 1;
        snprintf(acc, sizeof acc, "%.9g", res->test_acc);
        snprintf(loss, sizeof loss, "%.9g", res->test_loss);
        extra[0] = "test_accuracy", extra[1] = acc;
        extra[2] = "test_loss", extra[3] = loss;
        if (write_full_config(out_dir, text, "fine_tune", extra, 2, ss_model_param_count(&model)) != 0)
            status = 1;
        if (!quiet)
            printf("finetune: test accuracy %.4f on %s (%lld rows); monitor accuracy %.4f; "
                   "%s/model.safetensors\n", res->test_acc, a->dev_path, (long long)test.count,
                   res->eval_acc, out_dir);
    }
done:
    ss_model_free(&model);
    ss_dataset_free(&all), ss_dataset_free(&train), ss_dataset_free(&monitor), ss_dataset_free(&test);
    ss_tokenizer_free(&tok);
    ss_json_doc_free(&doc);
    free(text);
    return status;
}

/* ---- the commands ------------------------------------------------------------------------------ */

static int parse_i64(const tool_opt *opt, int64_t *out) {
    char *end;
    long long v;
    *out = 0;
    if (!opt->value) return 1;
    v = strtoll(opt->value, &end, 10);
    if (*opt->value == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "ss: %s must be a non-negative integer, got '%s'\n", opt->name, opt->value);
        return 0;
    }
    *out = v;
    return 1;
}

int cmd_pretrain(int argc, char **argv) {
    tool_opt opts[] = {
        {"--config", 1, "config file (the seed's JSON; default with --resume: OUT/config.json)", NULL, 0},
        {"--set", 1, "override a config value, KEY=VALUE (repeatable): pre_train.num_train_steps=2000", NULL, 1},
        {"--train", 1, "training text: one sequence per line (WikiText-103 raw works as is)", NULL, 0},
        {"--valid", 1, "validation text, evaluated every eval_steps", NULL, 0},
        {"--vocab", 1, "vocab.txt (bert-base-uncased's, or one from `ss vocab train`)", NULL, 0},
        {"--out", 1, "run directory (default: the config's pre_train.output_dir)", NULL, 0},
        {"--objective", 1, "mlm (default, the seed's) or clm (causal LM on packed sequences)", NULL, 0},
        {"--resume", 0, "continue from OUT's last checkpoint (bit-identical to an unbroken run)", NULL, 0},
        {"--cache", 1, "directory for token caches (a corpus is tokenized once)", NULL, 0},
        {"--threads", 1, "OpenMP threads (default: all)", NULL, 0},
        {"--quiet", 0, "no progress or periodic lines", NULL, 0},
        {"--stop-after", 1, "testing aid: checkpoint and stop after N updates, as if killed", NULL, 0},
        {"--nan-at", 1, "testing aid: make the loss of update N NaN", NULL, 0},
        {"--help", 0, "this text", NULL, 0},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos, status;
    pretrain_args a;
    train_result *res;
    if (!tool_parse("pretrain", argc, argv, 2, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[13].value) {
        tool_usage("pretrain", "--config C --train FILE [--valid FILE] --vocab vocab.txt --out DIR", opts, n_opts);
        return 0;
    }
    memset(&a, 0, sizeof a);
    a.config_path = opts[0].value;
    a.sets = opts[1].values;
    a.n_sets = opts[1].n_values;
    a.train_path = opts[2].value;
    a.valid_path = opts[3].value;
    a.vocab_path = opts[4].value;
    a.out_dir = opts[5].value;
    a.objective = opts[6].value;
    a.resume = opts[7].value != NULL;
    a.cache_dir = opts[8].value;
    a.quiet = opts[10].value != NULL;
    if (!tool_opt_int(&opts[9], 0, 0, 4096, &a.threads) || !parse_i64(&opts[11], &a.stop_after) ||
        !parse_i64(&opts[12], &a.nan_at))
        return 2;
    res = (train_result *)malloc(sizeof *res);
    if (!res || tool_mpi_init() != 0) {
        free(res);
        return 1;
    }
    status = pretrain_exec(&a, res, NULL, NULL);
    free(res);
    return tool_mpi_finish(status);
}

int cmd_finetune(int argc, char **argv) {
    tool_opt opts[] = {
        {"--from", 1, "a pretrain run directory (its full_config.json, best checkpoint, vocab.txt)", NULL, 0},
        {"--from-scratch", 0, "an untrained encoder instead (the baseline); needs --config and --vocab", NULL, 0},
        {"--config", 1, "config file (default: FROM/full_config.json)", NULL, 0},
        {"--set", 1, "override a config value, KEY=VALUE (repeatable): fine_tune.epochs=1", NULL, 1},
        {"--train", 1, "GLUE-style TSV with a header (sentence<TAB>label): first 90% train, last 10% watched", NULL, 0},
        {"--dev", 1, "GLUE-style TSV whose accuracy is reported (SST-2's dev.tsv)", NULL, 0},
        {"--vocab", 1, "vocab.txt (default: FROM/vocab.txt)", NULL, 0},
        {"--out", 1, "run directory (default: FROM/finetune-<task>)", NULL, 0},
        {"--resume", 0, "continue from OUT's last checkpoint", NULL, 0},
        {"--cache", 1, "directory for token caches", NULL, 0},
        {"--threads", 1, "OpenMP threads (default: all)", NULL, 0},
        {"--quiet", 0, "no progress or periodic lines", NULL, 0},
        {"--stop-after", 1, "testing aid: checkpoint and stop after N updates", NULL, 0},
        {"--nan-at", 1, "testing aid: make the loss of update N NaN", NULL, 0},
        {"--help", 0, "this text", NULL, 0},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    int n_pos, status;
    finetune_args a;
    train_result *res;
    if (!tool_parse("finetune", argc, argv, 2, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[14].value) {
        tool_usage("finetune", "--from DIR --train train.tsv --dev dev.tsv", opts, n_opts);
        return 0;
    }
    memset(&a, 0, sizeof a);
    a.from_dir = opts[0].value;
    a.from_scratch = opts[1].value != NULL;
    a.config_path = opts[2].value;
    a.sets = opts[3].values;
    a.n_sets = opts[3].n_values;
    a.train_path = opts[4].value;
    a.dev_path = opts[5].value;
    a.vocab_path = opts[6].value;
    a.out_dir = opts[7].value;
    a.resume = opts[8].value != NULL;
    a.cache_dir = opts[9].value;
    a.quiet = opts[11].value != NULL;
    if (!tool_opt_int(&opts[10], 0, 0, 4096, &a.threads) || !parse_i64(&opts[12], &a.stop_after) ||
        !parse_i64(&opts[13], &a.nan_at))
        return 2;
    res = (train_result *)malloc(sizeof *res);
    if (!res || tool_mpi_init() != 0) {
        free(res);
        return 1;
    }
    status = finetune_exec(&a, res);
    free(res);
    return tool_mpi_finish(status);
}
