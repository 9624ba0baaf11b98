/* classify.c - label sentences with a fine-tuned classifier: the embedding use case, a program
   that another C project can copy.

       classify CHECKPOINT.safetensors vocab.txt < sentences.txt

   reads one sentence per line (any length; "\n" or "\r\n" ends) and prints for each, tab-separated,
   the predicted label, its probability and the sentence; a regression checkpoint (num_labels 1)
   prints its score instead of label and probability. At the end it reports the number of
   sentences and sentences/s to stderr. The checkpoint is what `ss finetune` writes, with the
   vocab.txt beside it: a safetensors file whose __metadata__ holds "config" (the model object as
   JSON text) and "head" = "classifier".

   Build (add -fopenmp to spread the tokenizer and the forward pass over every core):
       cc -O2 -march=native -o classify examples/classify.c -lm

   The steps: open the checkpoint, check its head and parse its config (ss_safetensors_open,
   ss_json_parse, ss_config_from_json); build the model and fill it from the open file
   (ss_model_init, ss_safetensors_load_params); load the vocabulary (ss_tokenizer_load); then per
   batch of up to MAX_B lines: encode (ss_tokenizer_encode_batch), cut the padding down to the
   batch's longest line, run the encoder and the classifier head (ss_model_forward without
   targets, training = 0) and read acts.cls_probs. Sentences longer than
   max_T tokens are truncated, as `ss finetune` truncates them. */
#define SS_IMPLEMENTATION
#include "../subspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_B = 32, MAX_T = 128 }; /* lines per forward pass; tokens per line, [CLS] and [SEP] in */

/* One line of stdin into *buf, grown as needed, without its "\n" or "\r\n"; NUL-terminated.
   Returns its length, -1 at the end of input, -2 when out of memory. */
static long read_line(char **buf, size_t *cap) {
    size_t len = 0;
    int c;
    for (;;) {
        c = getchar();
        if (len + 1 >= *cap) {
            size_t new_cap = *cap ? 2 * *cap : 256;
            char *p = (char *)realloc(*buf, new_cap);
            if (!p) return -2;
            *buf = p, *cap = new_cap;
        }
        if (c == EOF || c == '\n') break;
        (*buf)[len++] = (char)c;
    }
    if (c == EOF && len == 0) return -1;
    if (len > 0 && (*buf)[len - 1] == '\r') len--;
    (*buf)[len] = '\0';
    return (long)len;
}

int main(int argc, char **argv) {
    static int ids[MAX_B * MAX_T], mask[MAX_B * MAX_T];
    ss_safetensors st;
    ss_json_doc doc;
    ss_config cfg;
    ss_model model;
    ss_tokenizer tok;
    ss_encode_options enc;
    const char *head, *config, *why = NULL;
    char *line[MAX_B];
    const char *text[MAX_B];
    size_t cap[MAX_B], len[MAX_B];
    int lengths[MAX_B], i, n = MAX_B, max_T, status = 1;
    long got = 0, count = 0;
    double t0;
    if (argc != 3) {
        fprintf(stderr, "usage: classify CHECKPOINT.safetensors vocab.txt < sentences.txt\n"
                        "prints label<TAB>probability<TAB>sentence for each line of input\n");
        return 2;
    }
    memset(&st, 0, sizeof st), memset(&doc, 0, sizeof doc);
    memset(&model, 0, sizeof model), memset(&tok, 0, sizeof tok);
    memset(line, 0, sizeof line), memset(cap, 0, sizeof cap);

    /* 1. The checkpoint's header: its head must be a classifier; its config builds the model. */
    if (ss_safetensors_open(&st, argv[1]) != SS_OK) goto fail;
    head = ss_safetensors_metadata(&st, "head");
    config = ss_safetensors_metadata(&st, "config");
    if (!head || strcmp(head, "classifier") != 0) {
        fprintf(stderr, "classify: %s: the head is '%s', not 'classifier' (use a checkpoint of "
                "`ss finetune`)\n", argv[1], head ? head : "(none)");
        goto done;
    }
    if (!config) {
        fprintf(stderr, "classify: %s: no \"config\" in its __metadata__\n", argv[1]);
        goto done;
    }
    if (ss_json_parse(&doc, config, strlen(config), argv[1]) != SS_OK ||
        ss_config_from_json(&cfg, ss_json_root(&doc)) != SS_OK)
        goto fail;

    /* 2. The model, for batches of MAX_B x max_T (seed 0: the file overwrites every weight), then
       its weights from the open file. strict = 1: every tensor of the model must be there with
       its shape, and the file may hold no other. */
    max_T = cfg.max_position_embeddings < MAX_T ? cfg.max_position_embeddings : MAX_T;
    if (ss_model_init(&model, &cfg, SS_HEAD_CLASSIFIER, MAX_B, max_T, 0) != SS_OK ||
        ss_safetensors_load_params(&st, &model.params, 1) != SS_OK)
        goto fail;
    ss_safetensors_close(&st);

    /* 3. The vocabulary: its ids must be ids of the model's embedding. */
    if (ss_tokenizer_load(&tok, argv[2]) != SS_OK) goto fail;
    if (tok.vocab_size > cfg.vocab_size) {
        fprintf(stderr, "classify: %s: %d tokens, more than the model's %d (another model's "
                "vocabulary?)\n", argv[2], tok.vocab_size, cfg.vocab_size);
        goto done;
    }

    /* 4. Batches of lines. encode_batch truncates and pads every row to max_T; the forward pass
       then needs only the batch's longest row, so the rows are packed to that length T (row i
       moves from i * max_T to i * T, never onto a row still to be moved). */
    memset(&enc, 0, sizeof enc);
    enc.max_length = max_T, enc.pad = 1;
    t0 = ss_time_seconds();
    while (n == MAX_B) {
        int T = 1, L = cfg.num_labels;
        for (n = 0; n < MAX_B && (got = read_line(&line[n], &cap[n])) >= 0; n++)
            text[n] = line[n], len[n] = (size_t)got;
        if (got == -2 || ferror(stdin)) {
            why = got == -2 ? "out of memory" : "cannot read standard input";
            break;
        }
        if (n == 0) break;
        ss_tokenizer_encode_batch(&tok, &enc, text, len, NULL, NULL, n, ids, NULL, mask, lengths);
        for (i = 0; i < n; i++)
            if (lengths[i] > T) T = lengths[i] < max_T ? lengths[i] : max_T;
        for (i = 1; i < n; i++) {
            memmove(ids + i * T, ids + i * max_T, (size_t)T * sizeof(int));
            memmove(mask + i * T, mask + i * max_T, (size_t)T * sizeof(int));
        }
        ss_model_forward(&model, NULL, ids, mask, NULL, NULL, n, T, 0);
        /* acts.cls_probs (B, num_labels) holds the softmax; a regression head has its score in
           acts.cls_logits (B, 1) */
        for (i = 0; i < n; i++, count++) {
            const float *p = model.acts.cls_probs + (size_t)i * L;
            int k, best = 0;
            for (k = 1; k < L; k++)
                if (p[k] > p[best]) best = k;
            if (L == 1) printf("%.4f\t", model.acts.cls_logits[i]);
            else printf("%d\t%.4f\t", best, p[best]);
            fwrite(line[i], 1, len[i], stdout);
            putchar('\n');
        }
    }
    if (!why && fflush(stdout) != 0) why = "cannot write standard output";
    if (why) {
        fprintf(stderr, "classify: %s\n", why);
        goto done;
    }
    fprintf(stderr, "classify: %ld sentences in %.2f s, %.0f sentences/s (%s)\n", count,
            ss_time_seconds() - t0, count / (ss_time_seconds() - t0 + 1e-9), ss_build_info());
    status = 0;
    goto done;
fail: /* every failing call above left a detail naming the file */
    fprintf(stderr, "classify: %s\n", ss_last_error_detail());
done:
    ss_safetensors_close(&st);
    ss_json_doc_free(&doc);
    ss_model_free(&model);
    ss_tokenizer_free(&tok);
    for (i = 0; i < MAX_B; i++) free(line[i]);
    return status;
}
