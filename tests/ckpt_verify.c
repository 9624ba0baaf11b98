/* tests/ckpt_verify.c - load every complete checkpoint of a run directory the way `--resume`
   does, and say which ones fail (used by tests/kill_resume.sh after each SIGKILL):
       cc -std=c99 -O2 -o ckpt_verify tests/ckpt_verify.c -lm
       ckpt_verify RUN_DIR
   A checkpoint is a directory checkpoint-<step> (no suffix): its model.safetensors must open,
   carry the model config in its metadata, and load into a model built from that config; its
   optimizer.safetensors must hold every AdamW moment and the metadata step <step>. Leftovers
   named *.tmp are what a killed run may leave (the next run removes them) and are only counted.
   Prints one line per checkpoint, "OK checkpoint-N" or "BAD checkpoint-N: why", then
   "checkpoints: N, bad: N, leftovers: N"; exits 1 when any is bad, 0 otherwise (also with none). */
#define _POSIX_C_SOURCE 200809L
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include <dirent.h>

/* Load one checkpoint directory; 0, or -1 with why filled. */
static int verify(const char *dir, long long step, char *why, size_t why_size) {
    char path[1200];
    ss_safetensors st;
    ss_json_doc doc;
    ss_config cfg;
    ss_model model;
    const char *meta, *head;
    ss_head h = SS_HEAD_MLM;
    int status = -1;
    memset(&st, 0, sizeof st), memset(&doc, 0, sizeof doc), memset(&model, 0, sizeof model);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (ss_safetensors_open(&st, path) != SS_OK) goto fail;
    meta = ss_safetensors_metadata(&st, "config");
    head = ss_safetensors_metadata(&st, "head");
    if (!meta || !head) {
        snprintf(why, why_size, "%s: no config or head in the metadata", path);
        goto done;
    }
    if (strcmp(head, "classifier") == 0) h = SS_HEAD_CLASSIFIER;
    else if (strcmp(head, "causal_lm") == 0) h = SS_HEAD_CAUSAL_LM;
    if (ss_json_parse(&doc, meta, strlen(meta), path) != SS_OK ||
        ss_config_from_json(&cfg, ss_json_root(&doc)) != SS_OK ||
        ss_model_init(&model, &cfg, h, 1, 4, 1) != SS_OK || ss_model_load(&model, path) != SS_OK)
        goto fail;
    ss_safetensors_close(&st);
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    if (ss_safetensors_open(&st, path) != SS_OK || ss_optimizer_load(&model.params, &st) != SS_OK)
        goto fail;
    meta = ss_safetensors_metadata(&st, "step");
    if (!meta || strtoll(meta, NULL, 10) != step) {
        snprintf(why, why_size, "%s: metadata step %s, expected %lld", path, meta ? meta : "missing",
                 step);
        goto done;
    }
    status = 0;
    goto done;
fail:
    snprintf(why, why_size, "%s", ss_last_error_detail());
done:
    ss_model_free(&model);
    ss_json_doc_free(&doc);
    ss_safetensors_close(&st);
    return status;
}

int main(int argc, char **argv) {
    DIR *d;
    struct dirent *e;
    int n = 0, bad = 0, leftovers = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: ckpt_verify RUN_DIR\n");
        return 2;
    }
    d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "ckpt_verify: cannot open %s\n", argv[1]);
        return 2;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char dir[1100], why[2048], *end;
        long long step;
        if (len >= 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) {
            leftovers++;
            continue;
        }
        if (strncmp(e->d_name, "checkpoint-", 11) != 0) continue;
        step = strtoll(e->d_name + 11, &end, 10);
        if (*end != '\0' || step <= 0) continue;
        snprintf(dir, sizeof dir, "%s/%s", argv[1], e->d_name);
        n++;
        why[0] = '\0';
        if (verify(dir, step, why, sizeof why) == 0) {
            printf("OK %s\n", e->d_name);
        } else {
            printf("BAD %s: %s\n", e->d_name, why);
            bad++;
        }
    }
    closedir(d);
    printf("checkpoints: %d, bad: %d, leftovers: %d\n", n, bad, leftovers);
    return bad ? 1 : 0;
}
