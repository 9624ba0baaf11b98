/* tools/train.c - the training engine (see train.h).

   A run is a pure function of (config, data, seed): which sequences make update s, the MLM mask
   of each micro-batch and the dropout stream of each forward are all drawn from streams split by
   the update number (ss_rng_split), never from a state carried from update to update. So a
   checkpoint needs only the weights, the AdamW moments and the update count, and a resumed run
   continues with exactly the bits an uninterrupted run would have had.

   Data parallel (tools/ddp.h, `make MPI=1`, mpirun): every process holds the whole model and runs
   whole micro-batches of each update, so the streams above give every sequence the same mask and
   dropout on any number of processes; the gradients are summed with one all-reduce of the flat
   block, and rank 0 alone evaluates, logs and writes out_dir. Decisions that must be the same
   everywhere (stop on a signal or a non-finite value, a checkpoint that failed) are taken on
   summed values, so all processes stop at the same update.

   out_dir holds:
     checkpoint-<step>/model.safetensors      weights (PyTorch names; loads into the seed's model)
     checkpoint-<step>/optimizer.safetensors  AdamW m and v, metadata: step, best metric and step
     metrics.jsonl, metrics.csv                one record per log and per evaluation
     loss.svg                                  training and validation loss by step
     full_config.json                          the config with the run's results (at the end)
   A checkpoint is written into checkpoint-<step>.tmp and renamed when complete, so a killed run
   leaves only complete checkpoints; the last save_total_limit are kept, and the best. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "train.h"
#include "ddp.h"
#include "plot.h"

/* ---- options ---------------------------------------------------------------------------- */

typedef struct opt_key {
    const char *key;
    char type; /* 'i' int, 'I' int64, 'd' double, 'b' bool, 's' string (accepted, unused),
                  'S' lr_schedule, 'O' objective */
    void *dst;
} opt_key;

static int read_key(const opt_key *k, const ss_json *v, train_opts *o, const char *where) {
    ss_result r = SS_OK;
    const char *s;
    size_t len;
    int64_t i64;
    switch (k->type) {
    case 'i': r = ss_json_as_int(v, (int *)k->dst); break;
    case 'I':
        r = ss_json_as_int64(v, &i64);
        if (r == SS_OK) *(int64_t *)k->dst = i64;
        break;
    case 'd': r = ss_json_as_double(v, (double *)k->dst); break;
    case 'b': r = ss_json_as_bool(v, (int *)k->dst); break;
    case 's':
        if (v->type != SS_JSON_STRING && v->type != SS_JSON_NULL && v->type != SS_JSON_NUMBER &&
            v->type != SS_JSON_BOOL)
            r = SS_ERR_FORMAT;
        break;
    case 'S':
        r = ss_json_as_string(v, &s, &len);
        if (r == SS_OK) {
            if (strcmp(s, "linear") == 0) o->schedule = SS_LR_LINEAR;
            else if (strcmp(s, "cosine") == 0) o->schedule = SS_LR_COSINE;
            else if (strcmp(s, "constant") == 0) o->schedule = SS_LR_CONSTANT;
            else {
                fprintf(stderr, "ss: %s.%s: '%s' is not linear, cosine or constant\n", where, k->key, s);
                return -1;
            }
        }
        break;
    case 'O':
        r = ss_json_as_string(v, &s, &len);
        if (r == SS_OK) {
            if (strcmp(s, "mlm") == 0) o->task = TASK_MLM;
            else if (strcmp(s, "clm") == 0) o->task = TASK_CLM;
            else {
                fprintf(stderr, "ss: %s.%s: '%s' is not mlm or clm\n", where, k->key, s);
                return -1;
            }
        }
        break;
    }
    if (r != SS_OK) {
        fprintf(stderr, "ss: %s.%s (byte %zu): %s\n", where, k->key, v->offset,
                ss_last_error_detail()[0] ? ss_last_error_detail() : "wrong type");
        return -1;
    }
    return 0;
}

int train_opts_from_json(train_opts *o, const ss_json *block, train_task task, const char *source) {
    char where[300];
    size_t i, n;
    int k;
    memset(o, 0, sizeof *o);
    o->task = task;
    o->seed = 42;
    o->grad_accum = 1;
    o->max_grad_norm = 1.0;
    o->mlm_probability = 0.15;
    o->schedule = SS_LR_LINEAR;
    o->save_total_limit = 2;
    if (task == TASK_CLS) { /* fine_tune_glue.py and HF defaults (SPEC 2.7) */
        o->batch_size = o->eval_batch_size = 16;
        o->lr = 2e-5;
        o->epochs = 3;
        o->max_len = 128;
        o->eval_steps = 1000;
        o->logging_steps = 100;
    } else { /* train.py (SPEC 2.3-2.4) */
        o->batch_size = 256;
        o->eval_batch_size = 64;
        o->lr = 5e-4;
        o->weight_decay = 0.01;
        o->warmup_ratio = 0.1;
        o->steps = 50000;
        o->eval_steps = 2000;
        o->logging_steps = 50;
        o->max_len = 128;
    }
    if (!block) return 0;
    snprintf(where, sizeof where, "%s: %s", source, task == TASK_CLS ? "fine_tune" : "pre_train");
    if (block->type != SS_JSON_OBJECT) {
        fprintf(stderr, "ss: %s is not an object\n", where);
        return -1;
    }
    {
        int fp16 = 0;
        const opt_key pre[] = {
            {"output_dir", 's', NULL}, {"seed", 'I', &o->seed}, {"train_batch_size", 'i', &o->batch_size},
            {"learning_rate", 'd', &o->lr}, {"num_train_steps", 'I', &o->steps},
            {"eval_steps", 'i', &o->eval_steps}, {"weight_decay", 'd', &o->weight_decay},
            {"mlm_probability", 'd', &o->mlm_probability}, {"dataset_name", 's', NULL},
            {"dataset_config", 's', NULL}, {"max_seq_length", 'i', &o->max_len},
            {"eval_batch_size", 'i', &o->eval_batch_size}, {"fp16", 'b', &fp16},
            {"warmup_ratio", 'd', &o->warmup_ratio}, {"lr_schedule", 'S', NULL},
            {"max_grad_norm", 'd', &o->max_grad_norm},
            {"gradient_accumulation_steps", 'i', &o->grad_accum},
            {"logging_steps", 'i', &o->logging_steps}, {"save_total_limit", 'i', &o->save_total_limit},
            {"pack_sequences", 'b', &o->pack}, {"objective", 'O', NULL}, {"run_name", 's', NULL},
            {"run_id", 's', NULL}, {"run_url", 's', NULL}, {"best_checkpoint", 's', NULL},
        };
        const opt_key fine[] = {
            {"task", 's', NULL}, {"batch_size", 'i', &o->batch_size}, {"lr", 'd', &o->lr},
            {"epochs", 'd', &o->epochs}, {"seed", 'I', &o->seed}, {"max_length", 'i', &o->max_len},
            {"weight_decay", 'd', &o->weight_decay}, {"warmup_ratio", 'd', &o->warmup_ratio},
            {"lr_schedule", 'S', NULL}, {"max_grad_norm", 'd', &o->max_grad_norm},
            {"eval_steps", 'i', &o->eval_steps}, {"logging_steps", 'i', &o->logging_steps},
            {"gradient_accumulation_steps", 'i', &o->grad_accum},
            {"save_total_limit", 'i', &o->save_total_limit}, {"test_accuracy", 's', NULL},
            {"run_name", 's', NULL},
        };
        const opt_key *keys = task == TASK_CLS ? fine : pre;
        int n_keys = task == TASK_CLS ? (int)(sizeof fine / sizeof fine[0])
                                      : (int)(sizeof pre / sizeof pre[0]);
        n = ss_json_count(block);
        for (i = 0; i < n; i++) {
            const ss_json *v = ss_json_at(block, i);
            for (k = 0; k < n_keys; k++)
                if (strcmp(keys[k].key, v->key) == 0) break;
            if (k == n_keys) {
                fprintf(stderr, "ss: %s.%s (byte %zu): unknown key; known keys:", where, v->key,
                        v->offset);
                for (k = 0; k < n_keys; k++) fprintf(stderr, "%s %s", k ? "," : "", keys[k].key);
                fprintf(stderr, "\n");
                return -1;
            }
            if (read_key(&keys[k], v, o, where) != 0) return -1;
        }
        if (task == TASK_CLS) o->eval_batch_size = o->batch_size;
    }
    if (o->batch_size < 1 || o->eval_batch_size < 1 || o->grad_accum < 1 ||
        o->batch_size % o->grad_accum != 0) {
        fprintf(stderr, "ss: %s: batch size %d must be >= 1 and a multiple of "
                "gradient_accumulation_steps %d\n", where, o->batch_size, o->grad_accum);
        return -1;
    }
    if (o->max_len < 3 || o->lr < 0 || o->eval_steps < 1 || o->logging_steps < 1 ||
        o->save_total_limit < 1 || o->warmup_ratio < 0 || o->warmup_ratio > 1 ||
        o->mlm_probability <= 0 || o->mlm_probability >= 1 || o->weight_decay < 0 ||
        (task != TASK_CLS && o->steps < 1) || (task == TASK_CLS && o->epochs <= 0)) {
        fprintf(stderr, "ss: %s: a value is out of range (max length >= 3, lr >= 0, eval_steps, "
                "logging_steps, save_total_limit >= 1, warmup_ratio in [0,1], mlm_probability in "
                "(0,1), weight_decay >= 0, steps or epochs > 0)\n", where);
        return -1;
    }
    return 0;
}

/* ---- small file helpers ---------------------------------------------------------------------- */

int train_mkdir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "ss: cannot create directory %s: %s\n", path, strerror(errno));
    return -1;
}

static void remove_dir(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    char p[1024];
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        remove(p);
    }
    closedir(d);
    rmdir(path);
}

/* Take a checkpoint directory out of the run in one step: rename it to <path>.del.tmp, then
   remove that. Removing it file by file in place could leave, to a kill, a checkpoint-N without
   its files that still looks complete; remove_partial clears a *.tmp a kill leaves behind. */
static void discard_dir(const char *path) {
    char trash[1100];
    snprintf(trash, sizeof trash, "%s.del.tmp", path);
    remove_dir(trash);
    if (rename(path, trash) == 0) remove_dir(trash);
    else remove_dir(path); /* nothing there (ENOENT), or a rename the file system refuses */
}

/* The steps of out_dir's complete checkpoints, ascending; returns how many (up to cap). */
static int list_checkpoints(const char *dir, int64_t *steps, int cap) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0, i, j;
    if (!d) return 0;
    while ((e = readdir(d)) != NULL && n < cap) {
        char *end;
        long long s;
        if (strncmp(e->d_name, "checkpoint-", 11) != 0) continue;
        s = strtoll(e->d_name + 11, &end, 10);
        if (*end == '\0' && s > 0) steps[n++] = s;
    }
    closedir(d);
    for (i = 1; i < n; i++) /* insertion sort: a handful of entries */
        for (j = i; j > 0 && steps[j - 1] > steps[j]; j--) {
            int64_t t = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = t;
        }
    return n;
}

/* Remove leftovers of a killed run: checkpoint-*.tmp directories and *.tmp files. */
static void remove_partial(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".tmp") != 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (strncmp(e->d_name, "checkpoint-", 11) == 0) remove_dir(p);
        else remove(p);
    }
    closedir(d);
}

/* ---- batches ----------------------------------------------------------------------------- */

/* The buffers of one micro-batch. */
typedef struct batch_buf {
    int64_t *rows;
    int *ids, *mask, *targets;
    float *labels;
    int B, T, kept;
} batch_buf;

static int batch_alloc(batch_buf *b, int B, int T) {
    size_t n = (size_t)B * (size_t)T;
    memset(b, 0, sizeof *b);
    b->rows = (int64_t *)malloc((size_t)B * sizeof(int64_t));
    b->ids = (int *)malloc(n * sizeof(int));
    b->mask = (int *)malloc(n * sizeof(int));
    b->targets = (int *)malloc(n * sizeof(int));
    b->labels = (float *)malloc((size_t)B * sizeof(float));
    return b->rows && b->ids && b->mask && b->targets && b->labels;
}

static void batch_free(batch_buf *b) {
    free(b->rows), free(b->ids), free(b->mask), free(b->targets), free(b->labels);
    memset(b, 0, sizeof *b);
}

/* Fill b with rows b->rows[0..B) of ds and make the task's targets; masks come from rng. */
static void batch_make(batch_buf *b, const ss_dataset *ds, const ss_tokenizer *tok,
                       const ss_model *model, const train_opts *o, ss_rng *rng) {
    int i, n;
    b->T = ss_dataset_batch(ds, b->rows, b->B, tok->pad_id, b->ids, b->mask, b->labels);
    n = b->B * b->T;
    b->kept = 0;
    if (o->task == TASK_MLM) {
        ss_mlm_options mo;
        ss_mlm_options_default(&mo, tok);
        mo.probability = o->mlm_probability;
        mo.vocab_size = model->config.vocab_size;
        b->kept = (int)ss_mlm_mask(&mo, rng, b->ids, b->targets, b->mask, (size_t)n);
    } else if (o->task == TASK_CLM) {
        for (i = 0; i < n; i++) { /* next-token targets inside each row */
            int last = (i + 1) % b->T == 0;
            b->targets[i] = !last && b->mask[i] && b->mask[i + 1] ? b->ids[i + 1] : SS_IGNORE_INDEX;
            b->kept += b->targets[i] != SS_IGNORE_INDEX;
        }
    } else {
        for (i = 0; i < b->B; i++) b->targets[i] = (int)b->labels[i];
        b->kept = b->B;
    }
}

/* ---- evaluation ---------------------------------------------------------------------------- */

void train_evaluate(ss_model *model, const ss_tokenizer *tok, const train_opts *o,
                    const ss_dataset *ds, double *loss, double *acc) {
    batch_buf b;
    ss_rng base, rng;
    double loss_sum = 0, batch_means = 0;
    int64_t first, kept = 0, correct = 0, batches = 0;
    int EB = o->eval_batch_size < model->max_B ? o->eval_batch_size : model->max_B;
    *loss = *acc = 0;
    if (!batch_alloc(&b, EB, ds->max_len)) {
        batch_free(&b);
        return;
    }
    ss_rng_seed(&base, o->seed ^ 0x6576616cull); /* "eval": one fixed stream for every evaluation */
    for (first = 0; first < ds->count; first += EB) {
        ss_model_stats st;
        int i;
        b.B = (int)(ds->count - first < EB ? ds->count - first : EB);
        for (i = 0; i < b.B; i++) b.rows[i] = first + i;
        rng = ss_rng_split(&base, (uint64_t)batches);
        batch_make(&b, ds, tok, model, o, &rng);
        ss_model_forward(model, &st, b.ids, b.mask, b.targets, NULL, b.B, b.T, 0);
        batches++;
        loss_sum += st.loss_sum;
        batch_means += st.loss;
        kept += st.kept;
        correct += st.correct;
    }
    if (o->task == TASK_MLM) *loss = batches ? batch_means / (double)batches : 0.0;
    else *loss = kept ? loss_sum / (double)kept : 0.0;
    *acc = o->task == TASK_CLM || kept == 0 ? 0.0 : (double)correct / (double)kept;
    batch_free(&b);
}

/* ---- signals ---------------------------------------------------------------------------------- */

static volatile sig_atomic_t train_stop_signal = 0;
static void on_signal(int sig) { train_stop_signal = sig; }

/* ---- logs -------------------------------------------------------------------------------------- */

/* The history the plots need, rebuilt from metrics.jsonl on resume. */
typedef struct history {
    double *step, *loss;  /* training-loss log points */
    int n, cap;
    double *estep, *eloss, *eacc; /* evaluations */
    int ne, ecap;
} history;

static int grow_d(double **a, int need, int *cap, int arrays, double **b, double **c) {
    int nc = *cap ? *cap : 64;
    double *na, *nb = NULL, *nc2 = NULL;
    if (need <= *cap) return 1;
    while (nc < need) nc *= 2;
    na = (double *)realloc(*a, (size_t)nc * sizeof(double));
    if (na) *a = na;
    if (arrays > 1 && (nb = (double *)realloc(*b, (size_t)nc * sizeof(double)))) *b = nb;
    if (arrays > 2 && (nc2 = (double *)realloc(*c, (size_t)nc * sizeof(double)))) *c = nc2;
    if (!na || (arrays > 1 && !nb) || (arrays > 2 && !nc2)) return 0;
    *cap = nc;
    return 1;
}

static void history_add_loss(history *h, double step, double loss) {
    if (!grow_d(&h->step, h->n + 1, &h->cap, 2, &h->loss, NULL)) return;
    h->step[h->n] = step;
    h->loss[h->n++] = loss;
}

static void history_add_eval(history *h, double step, double loss, double acc) {
    if (!grow_d(&h->estep, h->ne + 1, &h->ecap, 3, &h->eloss, &h->eacc)) return;
    h->estep[h->ne] = step;
    h->eloss[h->ne] = loss;
    h->eacc[h->ne++] = acc;
}

static void history_free(history *h) {
    free(h->step), free(h->loss), free(h->estep), free(h->eloss), free(h->eacc);
    memset(h, 0, sizeof *h);
}

static void draw_loss(const char *dir, const history *h, const char *title) {
    char path[1024];
    plot_series s[2];
    plot_spec spec;
    memset(s, 0, sizeof s);
    memset(&spec, 0, sizeof spec);
    s[0].name = "training loss";
    s[0].x = h->step, s[0].y = h->loss, s[0].n = h->n;
    s[1].name = "validation loss";
    s[1].x = h->estep, s[1].y = h->eloss, s[1].n = h->ne;
    s[1].dashed = 0;
    spec.title = title;
    spec.xlabel = "update";
    spec.ylabel = "loss";
    spec.y_min = spec.y_max = NAN;
    spec.markers = 0;
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    plot_lines_svg(path, &spec, s, 2);
}

/* Keep the lines of metrics.jsonl / metrics.csv whose step is <= last (the checkpoint a resumed
   run starts from), rebuilding the history; rewritten crash-safe. */
static int truncate_logs(const char *dir, int64_t last, history *h) {
    char path[1024];
    char *text = NULL, *out = NULL;
    size_t size, pos = 0, out_len = 0;
    int which;
    for (which = 0; which < 2; which++) {
        snprintf(path, sizeof path, "%s/%s", dir, which ? "metrics.csv" : "metrics.jsonl");
        if (ss_file_read(path, &text, &size) != SS_OK) continue; /* no log yet */
        out = (char *)malloc(size + 1);
        if (!out) {
            ss_free(text);
            return -1;
        }
        pos = out_len = 0;
        while (pos < size) {
            size_t start = pos, n;
            long long step = -1;
            while (pos < size && text[pos] != '\n') pos++;
            n = pos - start;
            if (pos < size) pos++;
            else break; /* no newline: a line cut short (a kill, a full disk) */
            if (which == 0) {
                ss_json_doc doc;
                memset(&doc, 0, sizeof doc);
                if (ss_json_parse(&doc, text + start, n, path) == SS_OK) {
                    const ss_json *root = ss_json_root(&doc), *v;
                    int64_t s64;
                    double d, a = 0;
                    if ((v = ss_json_get(root, "step")) && ss_json_as_int64(v, &s64) == SS_OK)
                        step = s64;
                    if (step >= 0 && step <= last) {
                        if (ss_json_get_double(root, "loss", &d) == SS_OK) history_add_loss(h, (double)step, d);
                        if (ss_json_get_double(root, "eval_loss", &d) == SS_OK) {
                            ss_json_get_double(root, "eval_accuracy", &a);
                            history_add_eval(h, (double)step, d, a);
                        }
                    }
                }
                ss_json_doc_free(&doc);
            } else {
                step = start == 0 ? 0 : strtoll(text + start, NULL, 10); /* header stays */
            }
            if (step >= 0 && step <= last) {
                memcpy(out + out_len, text + start, n);
                out_len += n;
                out[out_len++] = '\n';
            }
        }
        if (ss_file_write_atomic(path, out, out_len) != SS_OK) {
            fprintf(stderr, "ss: %s\n", ss_last_error_detail());
            free(out), ss_free(text);
            return -1;
        }
        free(out);
        ss_free(text);
        out = NULL;
        text = NULL;
    }
    return 0;
}

/* Append one line to a log file (the logs are appended; a crash loses at most the last line,
   and a resume rewrites them up to its checkpoint anyway). */
static void append_line(const char *dir, const char *name, const char *header, const char *line) {
    char path[1024];
    FILE *f;
    int fresh, bad;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fresh = access(path, F_OK) != 0;
    f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "ss: cannot append to %s: %s\n", path, strerror(errno));
        return;
    }
    if (fresh && header) fputs(header, f);
    fputs(line, f);
    bad = ferror(f);
    if (fclose(f) != 0 || bad) /* a full disk shows here; the resume drops a half line */
        fprintf(stderr, "ss: cannot append to %s: %s\n", path, strerror(errno));
}

static const char *CSV_HEADER =
    "step,epoch,loss,grad_norm,learning_rate,tokens_per_s,samples_per_s,eval_loss,eval_accuracy\n";

static void log_train(const char *dir, int64_t step, double epoch, double loss, double gnorm,
                      double lr, double tps, double sps) {
    char line[512];
    snprintf(line, sizeof line,
             "{\"step\": %lld, \"epoch\": %.4f, \"loss\": %.9g, \"grad_norm\": %.9g, "
             "\"learning_rate\": %.9g, \"tokens_per_s\": %.1f, \"samples_per_s\": %.2f}\n",
             (long long)step, epoch, loss, gnorm, lr, tps, sps);
    append_line(dir, "metrics.jsonl", NULL, line);
    snprintf(line, sizeof line, "%lld,%.4f,%.9g,%.9g,%.9g,%.1f,%.2f,,\n", (long long)step, epoch,
             loss, gnorm, lr, tps, sps);
    append_line(dir, "metrics.csv", CSV_HEADER, line);
}

static void log_eval(const char *dir, int64_t step, double epoch, double loss, double acc,
                     train_task task) {
    char line[512];
    if (task == TASK_CLM)
        snprintf(line, sizeof line,
                 "{\"step\": %lld, \"epoch\": %.4f, \"eval_loss\": %.9g, \"eval_perplexity\": %.9g}\n",
                 (long long)step, epoch, loss, exp(loss));
    else
        snprintf(line, sizeof line,
                 "{\"step\": %lld, \"epoch\": %.4f, \"eval_loss\": %.9g, \"eval_accuracy\": %.9g}\n",
                 (long long)step, epoch, loss, acc);
    append_line(dir, "metrics.jsonl", NULL, line);
    snprintf(line, sizeof line, "%lld,%.4f,,,,,,%.9g,%.9g\n", (long long)step, epoch, loss, acc);
    append_line(dir, "metrics.csv", CSV_HEADER, line);
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

/* What a checkpoint carries besides weights and moments: the update count, the best metric so
   far, and the running training-loss window of the log (so a resumed run logs the same means). */
typedef struct run_state {
    int64_t step, best_step;
    double best, loss_window;
    int n_window;
} run_state;

static int save_checkpoint(const train_job *job, const run_state *rs) {
    char dir[1024], tmp[1100], path[1200], v[5][64];
    const char *meta[10];
    const int64_t step = rs->step;
    ss_result r;
    snprintf(dir, sizeof dir, "%s/checkpoint-%lld", job->out_dir, (long long)step);
    snprintf(tmp, sizeof tmp, "%s.tmp", dir);
    remove_dir(tmp);
    if (train_mkdir(tmp) != 0) return -1;
    snprintf(path, sizeof path, "%s/model.safetensors", tmp);
    r = ss_model_save(job->model, path);
    if (r == SS_OK) {
        snprintf(v[0], sizeof v[0], "%lld", (long long)step);
        snprintf(v[1], sizeof v[1], "%.17g", rs->best);
        snprintf(v[2], sizeof v[2], "%lld", (long long)rs->best_step);
        snprintf(v[3], sizeof v[3], "%.17g", rs->loss_window);
        snprintf(v[4], sizeof v[4], "%d", rs->n_window);
        meta[0] = "step", meta[1] = v[0];
        meta[2] = "best_metric", meta[3] = v[1];
        meta[4] = "best_step", meta[5] = v[2];
        meta[6] = "loss_window", meta[7] = v[3];
        meta[8] = "loss_window_count", meta[9] = v[4];
        snprintf(path, sizeof path, "%s/optimizer.safetensors", tmp);
        r = ss_optimizer_save(&job->model->params, path, meta, 5);
    }
    if (r != SS_OK) {
        fprintf(stderr, "ss %s: checkpoint at update %lld not written: %s\n", job->cmd,
                (long long)step, ss_last_error_detail());
        remove_dir(tmp);
        return -1;
    }
    discard_dir(dir); /* a checkpoint of the same step from an earlier, longer run */
    if (rename(tmp, dir) != 0) {
        fprintf(stderr, "ss %s: cannot rename %s to %s: %s\n", job->cmd, tmp, dir, strerror(errno));
        remove_dir(tmp);
        return -1;
    }
    return 0;
}

/* Keep the newest `keep` checkpoints and the best one. */
static void prune_checkpoints(const train_job *job, int64_t best_step) {
    int64_t steps[4096];
    int n = list_checkpoints(job->out_dir, steps, 4096), i;
    char dir[1024];
    for (i = 0; i < n - job->o.save_total_limit; i++) {
        if (steps[i] == best_step) continue;
        snprintf(dir, sizeof dir, "%s/checkpoint-%lld", job->out_dir, (long long)steps[i]);
        discard_dir(dir);
    }
}

static int load_checkpoint(train_job *job, run_state *rs) {
    const int64_t step = rs->step;
    char path[1200], why[1400] = ""; /* why: a check of this file's, not the library's detail */
    ss_safetensors st;
    const char *v;
    ss_result r;
    snprintf(path, sizeof path, "%s/checkpoint-%lld/model.safetensors", job->out_dir, (long long)step);
    r = ss_model_load(job->model, path);
    if (r == SS_OK) {
        snprintf(path, sizeof path, "%s/checkpoint-%lld/optimizer.safetensors", job->out_dir,
                 (long long)step);
        r = ss_safetensors_open(&st, path);
        if (r == SS_OK) r = ss_optimizer_load(&job->model->params, &st);
        if (r == SS_OK) {
            v = ss_safetensors_metadata(&st, "step");
            if (!v || strtoll(v, NULL, 10) != step) {
                r = SS_ERR_FORMAT;
                snprintf(why, sizeof why, "%s: metadata step is not %lld", path, (long long)step);
            }
            v = ss_safetensors_metadata(&st, "best_metric");
            rs->best = v ? strtod(v, NULL) : -HUGE_VAL;
            v = ss_safetensors_metadata(&st, "best_step");
            rs->best_step = v ? strtoll(v, NULL, 10) : 0;
            v = ss_safetensors_metadata(&st, "loss_window");
            rs->loss_window = v ? strtod(v, NULL) : 0.0;
            v = ss_safetensors_metadata(&st, "loss_window_count");
            rs->n_window = v ? (int)strtol(v, NULL, 10) : 0; /* atoi: undefined out of range */
            /* the state goes on into the run: a value no run can have written is refused */
            if (r == SS_OK && (rs->best_step < 0 || rs->best_step > step || rs->n_window < 0 ||
                               rs->n_window > step || !isfinite(rs->loss_window) ||
                               isnan(rs->best))) {
                r = SS_ERR_FORMAT;
                snprintf(why, sizeof why, "%s: metadata best_step, best_metric, loss_window or "
                         "loss_window_count out of range", path);
            }
        }
        ss_safetensors_close(&st);
    }
    if (r != SS_OK) {
        fprintf(stderr, "ss %s: cannot resume from checkpoint-%lld: %s\n", job->cmd,
                (long long)step, why[0] ? why : ss_last_error_detail());
        return -1;
    }
    return 0;
}

/* ---- the loop ----------------------------------------------------------------------------- */

/* Rows of update `step`. Classification walks epochs batch by batch as HF's dataloader does
   (the last batch of an epoch is short); pre-training draws batch_size samples from an endless
   stream of epochs. */
static int step_rows(ss_sampler *sm, const train_opts *o, int64_t step, int64_t n, int64_t *rows) {
    int i, B = o->batch_size;
    if (o->task == TASK_CLS) {
        int64_t per_epoch = (n + B - 1) / B, epoch = step / per_epoch, j = step % per_epoch;
        int64_t first = j * B;
        if (n - first < B) B = (int)(n - first);
        for (i = 0; i < B; i++) rows[i] = ss_sampler_row(sm, epoch * n + first + i);
        return B;
    }
    for (i = 0; i < B; i++) rows[i] = ss_sampler_row(sm, step * (int64_t)B + i);
    return B;
}

static void progress_line(const train_job *job, int64_t step, int64_t total, double loss,
                          double tps, double elapsed, int64_t done_here) {
    double eta = done_here > 0 ? elapsed / (double)done_here * (double)(total - step) : 0.0;
    fprintf(stderr, "\r%s %lld/%lld  loss %.4f  %.0f tok/s  ETA %d:%02d   ", job->cmd,
            (long long)step, (long long)total, loss, tps, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

int train_check_split(const train_opts *o, const char *cmd) {
    const int procs = tool_mpi_size();
    const char *block = o->task == TASK_CLS ? "fine_tune" : "pre_train";
    const char *batch = o->task == TASK_CLS ? "batch_size" : "train_batch_size";
    int fix;
    if (o->grad_accum % procs == 0) return 0;
    if (tool_mpi_rank() != 0) return -1;
    for (fix = o->grad_accum + 1; fix <= o->batch_size; fix++) /* the next that works */
        if (fix % procs == 0 && o->batch_size % fix == 0) break;
    fprintf(stderr, "ss %s: %s.gradient_accumulation_steps %d is not a multiple of the %d "
            "processes: each process takes whole micro-batches of an update (so that no "
            "sequence's mask or dropout depends on the number of processes); ", cmd, block,
            o->grad_accum, procs);
    if (fix <= o->batch_size)
        fprintf(stderr, "set it with --set %s.gradient_accumulation_steps=%d\n", block, fix);
    else
        fprintf(stderr, "%s.%s %d cannot be split so: make it a multiple of %d\n", block, batch,
                o->batch_size, procs);
    return -1;
}

/* Rank 0 alone touches out_dir: make it, clear a killed run's leftovers, refuse a directory
   that holds checkpoints unless resuming, and start a fresh run's logs. 0 or -1 (printed). */
static int prepare_out_dir(const train_job *job) {
    int64_t ckpts[1];
    if (train_mkdir(job->out_dir) != 0) return -1;
    remove_partial(job->out_dir);
    if (!job->resume && list_checkpoints(job->out_dir, ckpts, 1) > 0) {
        fprintf(stderr, "ss %s: %s already holds checkpoints: pass --resume to continue that run, "
                "or choose another --out\n", job->cmd, job->out_dir);
        return -1;
    }
    if (!job->resume) { /* a fresh run starts fresh logs */
        char p[1024];
        snprintf(p, sizeof p, "%s/metrics.jsonl", job->out_dir), remove(p);
        snprintf(p, sizeof p, "%s/metrics.csv", job->out_dir), remove(p);
    }
    return 0;
}

/* Several processes: copy rank 0's weights and AdamW moments to the others. */
static void share_state(ss_model *model) {
    const size_t bytes = model->params.numel * sizeof(float);
    tool_mpi_bcast(model->params.param, bytes);
    tool_mpi_bcast(model->params.m, bytes);
    tool_mpi_bcast(model->params.v, bytes);
}

/* After rank 0 wrote a checkpoint (written: whether it could; the others pass 1): 1 when it was
   written, so that every process goes on or stops together. Every process should still hold
   rank 0's weights bit for bit, as each applies the same AdamW step to the same all-reduced
   gradient; an MPI library whose all-reduce handed the processes differently rounded sums would
   let them drift apart unseen, so a hash of the weights is compared here, and rank 0's state
   copied to the others (with a warning) when they differ. */
static int checkpoint_agreed(const train_job *job, int written) {
    ss_model *model = job->model;
    uint64_t h, h0;
    double v[2];
    if (tool_mpi_size() == 1) return written;
    h = h0 = ss_hash64(model->params.param, model->params.numel * sizeof(float), SS_HASH64_INIT);
    tool_mpi_bcast(&h0, sizeof h0);
    v[0] = !written, v[1] = h != h0;
    tool_mpi_sum_doubles(v, 2);
    if (v[1] > 0) {
        if (tool_mpi_rank() == 0)
            fprintf(stderr, "ss %s: warning: the weights of %.0f process(es) differ from rank "
                    "0's (the MPI all-reduce did not give every process the same sum); copying "
                    "rank 0's\n", job->cmd, v[1]);
        share_state(model);
    }
    return v[0] == 0;
}

int train_run(train_job *job, train_result *res) {
    const train_opts *o = &job->o;
    ss_model *model = job->model;
    const int64_t n_train = job->train->count;
    const int micro = o->batch_size / o->grad_accum;
    /* Data parallel: process r runs micro-batches [k0, k1) of every update. The masks and the
       dropout are drawn per micro-batch (streams keyed by update and micro-batch), so handing
       out whole micro-batches keeps every sequence's randomness what it is in one process, and
       N processes compute the update one process computes, up to the order of float sums. */
    const int rank = tool_mpi_rank(), procs = tool_mpi_size(), lead = rank == 0;
    const int k0 = rank * (o->grad_accum / procs), k1 = k0 + o->grad_accum / procs;
    const int quiet = job->quiet || !lead;
    ss_lr_schedule sched;
    ss_adamw adamw;
    ss_sampler sampler;
    ss_rng mask_base, drop_base;
    batch_buf *mb = NULL;
    run_state rs;
    int64_t *rows = NULL, steps_here = 0, tokens_window = 0, samples_window = 0, ckpts[4096];
    double t_start, t_window, gnorm = 0, tokens_all = 0;
    int i, status = 1, ok = 1, tty = isatty(fileno(stderr)) && !quiet;
    history h;
    struct sigaction sa, old_int, old_term, old_usr1;
    char title[256];

    memset(res, 0, sizeof *res);
    memset(&h, 0, sizeof h);
    memset(&rs, 0, sizeof rs);
    memset(&sampler, 0, sizeof sampler);
    rs.best = -HUGE_VAL;
    if (train_check_split(o, job->cmd) != 0) return 1; /* the same on every process */

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    train_stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGUSR1, &sa, &old_usr1); /* what mpirun forwards to every process as it is */

    if (lead) ok = prepare_out_dir(job) == 0;
    sched.kind = o->schedule;
    sched.peak = o->lr;
    sched.total_steps = o->steps;
    sched.warmup_steps = ss_warmup_steps(o->warmup_ratio, o->steps);
    ss_adamw_default(&adamw);
    adamw.weight_decay = o->weight_decay;
    ss_rng_seed(&mask_base, o->seed ^ 0x6d61736bull); /* "mask" */
    ss_rng_seed(&drop_base, o->seed ^ 0x64726f70ull); /* "drop" */
    rows = (int64_t *)malloc((size_t)o->batch_size * sizeof(int64_t));
    mb = (batch_buf *)calloc((size_t)o->grad_accum, sizeof(batch_buf));
    if (ss_sampler_init(&sampler, n_train, o->seed, 1) != SS_OK || !rows || !mb) {
        fprintf(stderr, "ss %s: out of memory for the batch buffers\n", job->cmd);
        ok = 0;
    }
    for (i = 0; ok && i < o->grad_accum; i++)
        if (!batch_alloc(&mb[i], micro, job->train->max_len)) {
            fprintf(stderr, "ss %s: out of memory for the batch buffers\n", job->cmd);
            ok = 0;
        }

    if (ok && lead && job->resume) {
        int n = list_checkpoints(job->out_dir, ckpts, 4096);
        if (n == 0) { /* killed before its first checkpoint: what it logged goes too */
            if (!quiet)
                fprintf(stderr, "ss %s: --resume: no checkpoint in %s yet; starting from the "
                        "beginning\n", job->cmd, job->out_dir);
            ok = truncate_logs(job->out_dir, 0, &h) == 0;
        } else {
            rs.step = ckpts[n - 1];
            ok = load_checkpoint(job, &rs) == 0 && truncate_logs(job->out_dir, rs.step, &h) == 0;
            /* a run killed while pruning after its last checkpoint has no later prune to finish it */
            if (ok) prune_checkpoints(job, rs.best_step);
            if (ok && !quiet)
                fprintf(stderr, "ss %s: resuming from %s/checkpoint-%lld\n", job->cmd,
                        job->out_dir, (long long)rs.step);
        }
    }
    /* the run's first collective (tool_mpi_finish relies on it): every process is ready */
    if (!tool_mpi_all(ok)) {
        if (ok && lead)
            fprintf(stderr, "ss %s: another process failed (its message says why)\n", job->cmd);
        goto done;
    }
    if (procs > 1) { /* every process starts from rank 0's weights, moments and update count */
        tool_mpi_bcast(&rs, sizeof rs);
        share_state(model);
    }

    snprintf(title, sizeof title, "%s: %s", job->cmd, job->out_dir);
    t_start = t_window = ss_time_seconds();
    while (rs.step < o->steps) {
        const int64_t step = rs.step;
        int B = step_rows(&sampler, o, step, n_train, rows), k, kept = 0, n_micro = 0, stop;
        double step_loss = 0, lr = ss_lr_at(&sched, step), tokens = 0, sums[4];
        ss_model_zero_grad(model);
        /* split the update's rows into micro-batches; make every batch first so that each
           backward knows its share of the update's kept rows. Every process makes all of them:
           copying the ids and drawing the masks costs microseconds next to a forward, and so
           each process knows the update's count of scored tokens (the loss's denominator)
           without a message; it runs forward and backward on its own micro-batches only. */
        for (k = 0; k < o->grad_accum; k++) {
            batch_buf *b = &mb[k];
            ss_rng rng = ss_rng_split(&mask_base, (uint64_t)(step * o->grad_accum + k));
            int first = k * micro, c;
            b->B = B - first < micro ? B - first : micro;
            if (b->B <= 0) break;
            for (c = 0; c < b->B; c++) b->rows[c] = rows[first + c];
            batch_make(b, job->train, job->tok, model, o, &rng);
            kept += b->kept;
            n_micro++;
        }
        for (k = k0; k < k1 && k < n_micro; k++) {
            batch_buf *b = &mb[k];
            ss_model_stats st;
            model->rng = ss_rng_split(&drop_base, (uint64_t)(step * o->grad_accum + k));
            ss_model_forward(model, &st, b->ids, b->mask, b->targets, b->labels, b->B, b->T, 1);
            if (b->kept > 0) ss_model_backward(model, (float)b->kept / (float)kept);
            step_loss += st.loss_sum;
            tokens += (double)b->B * b->T;
        }
        /* Several processes: each gradient holds its micro-batches' shares of the update's mean
           (kept / total kept), so their sum is the update's gradient: one all-reduce of the flat
           block. Then one small one for what every process must agree on: the loss, the tokens
           (for tokens/s), a stop request and a non-finite gradient norm. */
        tool_mpi_sum_floats(model->params.grad, model->params.numel);
        gnorm = ss_clip_grad_norm(&model->params, o->max_grad_norm);
        sums[0] = step_loss, sums[1] = tokens;
        sums[2] = train_stop_signal != 0, sums[3] = !isfinite(gnorm);
        tool_mpi_sum_doubles(sums, 4);
        stop = sums[2] > 0;
        tokens_window += (int64_t)sums[1];
        tokens_all += sums[1];
        samples_window += B;
        step_loss = kept ? sums[0] / kept : 0.0;
        if (job->nan_at_step > 0 && step + 1 == job->nan_at_step) step_loss = NAN;
        if (!isfinite(step_loss) || sums[3] > 0) {
            int bad_loss = !isfinite(step_loss);
            double bad = bad_loss ? step_loss : gnorm;
            if (lead) {
                int n = list_checkpoints(job->out_dir, ckpts, 4096);
                if (tty) fprintf(stderr, "\n");
                fprintf(stderr, "ss %s: update %lld: the %s is %s; stopping before applying it. ",
                        job->cmd, (long long)step + 1, bad_loss ? "loss" : "gradient norm",
                        isnan(bad) ? "NaN" : "infinite");
                if (n > 0)
                    fprintf(stderr, "The last good checkpoint is %s/checkpoint-%lld.\n", job->out_dir,
                            (long long)ckpts[n - 1]);
                else
                    fprintf(stderr, "No checkpoint was written yet.\n");
            }
            goto done;
        }
        ss_adamw_step(&model->params, &adamw, lr, step + 1);
        rs.step++;
        steps_here++;
        rs.loss_window += step_loss;
        rs.n_window++;

        if (lead && (rs.step % o->logging_steps == 0 || rs.step == o->steps)) {
            double now = ss_time_seconds(), dt = now - t_window > 0 ? now - t_window : 1e-9;
            double tps = (double)tokens_window / dt, sps = (double)samples_window / dt;
            double epoch = (double)rs.step * o->batch_size / (double)n_train;
            double mean = rs.loss_window / rs.n_window;
            log_train(job->out_dir, rs.step, epoch, mean, gnorm, lr, tps, sps);
            history_add_loss(&h, (double)rs.step, mean);
            if (tty)
                progress_line(job, rs.step, o->steps, mean, tps, now - t_start, steps_here);
            else if (!quiet) {
                printf("%s update %lld/%lld loss %.4f grad_norm %.3f lr %.3g %.0f tok/s\n",
                       job->cmd, (long long)rs.step, (long long)o->steps, mean, gnorm, lr, tps);
                fflush(stdout); /* a pipe (mpirun's too) shows it now, not at exit */
            }
            rs.loss_window = 0, rs.n_window = 0, tokens_window = samples_window = 0;
            t_window = ss_time_seconds();
        }
        if ((rs.step % o->eval_steps == 0 || rs.step == o->steps) && job->valid) {
            int written = 1;
            if (lead) { /* rank 0 alone evaluates and writes; the others wait in checkpoint_agreed */
                double el, ea, metric, epoch = (double)rs.step * o->batch_size / (double)n_train;
                double t0 = ss_time_seconds();
                train_evaluate(model, job->tok, o, job->valid, &el, &ea);
                metric = o->task == TASK_CLM ? -el : ea;
                log_eval(job->out_dir, rs.step, epoch, el, ea, o->task);
                history_add_eval(&h, (double)rs.step, el, ea);
                if (metric > rs.best) rs.best = metric, rs.best_step = rs.step;
                if (tty) fprintf(stderr, "\n");
                if (!quiet) {
                    if (o->task == TASK_CLM)
                        printf("%s eval at %lld: loss %.4f perplexity %.2f\n", job->cmd,
                               (long long)rs.step, el, exp(el));
                    else
                        printf("%s eval at %lld: loss %.4f accuracy %.4f\n", job->cmd,
                               (long long)rs.step, el, ea);
                    fflush(stdout);
                }
                written = save_checkpoint(job, &rs) == 0;
                if (written) {
                    prune_checkpoints(job, rs.best_step);
                    draw_loss(job->out_dir, &h, title);
                }
                t_window += ss_time_seconds() - t0; /* evaluation time is not training time */
            }
            if (!checkpoint_agreed(job, written)) goto done;
        }
        if (stop || (job->stop_after > 0 && rs.step == job->stop_after)) {
            int written = 1;
            if (lead) {
                int n = list_checkpoints(job->out_dir, ckpts, 4096);
                if (n == 0 || ckpts[n - 1] != rs.step) {
                    written = save_checkpoint(job, &rs) == 0;
                    if (written) prune_checkpoints(job, rs.best_step);
                }
            }
            if (!checkpoint_agreed(job, written)) goto done;
            if (tty) fprintf(stderr, "\n");
            if (stop && lead)
                fprintf(stderr, "ss %s: interrupted at update %lld; checkpoint saved in %s; "
                        "continue with --resume\n", job->cmd, (long long)rs.step, job->out_dir);
            status = stop ? 130 : 0;
            res->steps = rs.step;
            goto done;
        }
    }
    if (tty) fprintf(stderr, "\r%72s\r", "");
    if (!job->valid) { /* no evaluations: still leave a final checkpoint, the "best" */
        int written = 1;
        rs.best_step = rs.step;
        if (lead && (written = save_checkpoint(job, &rs) == 0)) prune_checkpoints(job, rs.best_step);
        if (!checkpoint_agreed(job, written)) goto done;
    }
    if (lead) draw_loss(job->out_dir, &h, title);
    res->steps = rs.step;
    res->seconds = ss_time_seconds() - t_start;
    res->tokens_per_s = res->seconds > 0 ? tokens_all / res->seconds : 0;
    res->samples_per_s = res->seconds > 0 ? (double)steps_here * o->batch_size / res->seconds : 0;
    res->best_acc = rs.best;
    res->best_step = rs.best_step;
    if (h.ne > 0) res->eval_loss = h.eloss[h.ne - 1], res->eval_acc = h.eacc[h.ne - 1];
    res->n_evals = h.ne < TRAIN_MAX_EVALS ? h.ne : TRAIN_MAX_EVALS;
    for (i = 0; i < res->n_evals; i++) {
        res->eval_steps[i] = h.estep[i];
        res->eval_losses[i] = h.eloss[i];
        res->eval_accs[i] = h.eacc[i];
    }
    if (job->test && lead) train_evaluate(model, job->tok, o, job->test, &res->test_loss, &res->test_acc);
    status = 0;
done:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
    ss_sampler_free(&sampler);
    free(rows);
    if (mb)
        for (i = 0; i < o->grad_accum; i++) batch_free(&mb[i]);
    free(mb);
    history_free(&h);
    return status;
}
