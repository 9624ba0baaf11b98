/* train_tiny.c - a complete masked-language-model trainer in one file: made-up text, a WordPiece
   vocabulary learned from it, a small MLA-o encoder and its training loop, all from subspace.h.

   Build and run (one core; add -fopenmp for threads):
       cc -O2 -march=native -o train_tiny examples/train_tiny.c -lm && ./train_tiny

   The text comes from a tiny grammar ("these old dogs chase a small cat .") with number agreement:
   the determiner tells the noun's number and the subject's number the verb's form, so a masked
   word can often be told from its context. The loss starts near ln(V), a uniform guess, and falls
   far below it; the program exits 1 unless the held-out loss ends below 0.6 ln(V) (a test too).

   The steps, in order:
     1. generate the text: training and held-out lines
     2. learn a WordPiece vocabulary from it    ss_vocab_trainer_init / _feed / _train
     3. tokenize the text into data sets        ss_dataset_from_text
     4. build a small MLA-o model               ss_config_default, ss_model_init
     5. train: sample, pad, mask, forward, backward, clip, schedule, AdamW
     6. held-out MLM loss and accuracy          ss_model_forward with training = 0
     7. fill in a [MASK] with the model's best guess
     8. free everything */
#define SS_IMPLEMENTATION
#include "../subspace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 32, MAX_T = 64, STEPS = 1200, N_TRAIN = 4000, N_VALID = 400, LINE_BYTES = 96 };

/* The grammar's words. In each pair, [0] is singular and [1] plural. */
static const char *det[2][4] = {{"the", "a", "this", "every"}, {"the", "some", "these", "two"}};
static const char *adj[8] = {"big", "small", "old", "young", "happy", "lazy", "red", "black"};
static const char *noun[8][2] = {{"dog", "dogs"}, {"cat", "cats"}, {"bird", "birds"},
                                 {"fox", "foxes"}, {"horse", "horses"}, {"child", "children"},
                                 {"man", "men"}, {"girl", "girls"}};
static const char *verb[7][2] = {{"sees", "see"}, {"likes", "like"}, {"chases", "chase"},
                                 {"follows", "follow"}, {"watches", "watch"}, {"finds", "find"},
                                 {"is", "are"}}; /* the last one takes an adjective */
#define PICK(rng, n) ((int)(ss_rng_u32(rng) % (n)))

/* Append a noun phrase of number pl ("the big dog", "some cats") to s. */
static void noun_phrase(ss_rng *rng, char *s, int pl) {
    strcat(strcat(s, det[pl][PICK(rng, 4)]), " ");
    if (PICK(rng, 2)) strcat(strcat(s, adj[PICK(rng, 8)]), " ");
    strcat(s, noun[PICK(rng, 8)][pl]);
}

/* n lines into one malloc'd text: subject, a verb that agrees with it, object or adjective. */
static char *make_text(ss_rng *rng, int n, size_t *len) {
    char *text = (char *)malloc((size_t)n * LINE_BYTES), *s = text;
    int i;
    if (!text) return NULL;
    for (i = 0; i < n; i++, s += strlen(s)) {
        const int pl = PICK(rng, 2), v = PICK(rng, 7);
        *s = '\0';
        noun_phrase(rng, s, pl);
        strcat(strcat(strcat(s, " "), verb[v][pl]), " ");
        if (v == 6) strcat(s, adj[PICK(rng, 8)]);
        else noun_phrase(rng, s, PICK(rng, 2));
        strcat(s, " .\n");
    }
    *len = (size_t)(s - text);
    return text;
}

static int fail(const char *what) {
    return fprintf(stderr, "train_tiny: %s: %s\n", what, ss_last_error_detail()), 1;
}

int main(void) {
    static const char *probe[2] = {"this lazy cat [MASK] happy .", "some old dogs [MASK] red ."};
    ss_rng rng, text_rng;
    size_t train_len = 0, valid_len = 0;
    char *train_text, *valid_text;
    ss_vocab_train_options vopt;
    ss_vocab_trainer trainer;
    ss_tokenizer tok;
    ss_dataset train, valid;
    ss_config cfg;
    ss_model model;
    ss_sampler sampler;
    ss_adamw adamw;
    ss_lr_schedule sched;
    ss_mlm_options mlm;
    ss_model_stats st;
    int ids[B * MAX_T], key_mask[B * MAX_T], targets[B * MAX_T];
    int T, i, k, V, best, kept = 0, correct = 0, n_log = 0;
    int64_t step, rows[B];
    double t0 = ss_time_seconds(), loss_sum = 0.0, valid_loss, log_sum = 0.0;
    printf("%s\n", ss_build_info());

    /* 1. Text, from a seeded stream: the same every run, on every platform. */
    ss_rng_seed(&text_rng, 1234);
    train_text = make_text(&text_rng, N_TRAIN, &train_len);
    valid_text = make_text(&text_rng, N_VALID, &valid_len);
    if (!train_text || !valid_text) return fprintf(stderr, "train_tiny: out of memory\n"), 1;

    /* 2. Vocabulary: count the words, then merge characters into WordPiece tokens. 400 is more
       than this grammar needs, so merging stops once every word is a single token. */
    memset(&vopt, 0, sizeof vopt);
    vopt.vocab_size = 400;
    if (ss_vocab_trainer_init(&trainer, &vopt) != SS_OK ||
        ss_vocab_trainer_feed(&trainer, train_text, train_len) != SS_OK ||
        ss_vocab_trainer_train(&trainer, &tok) != SS_OK)
        return fail("vocabulary");
    V = tok.vocab_size;

    /* 3. Data sets: one sequence per line, [CLS] tokens [SEP], at most MAX_T ids. */
    if (ss_dataset_from_text(&train, &tok, train_text, train_len, "train", MAX_T, 0) != SS_OK ||
        ss_dataset_from_text(&valid, &tok, valid_text, valid_len, "valid", MAX_T, 0) != SS_OK)
        return fail("data");

    /* 4. Model: the default MLA-o config, shrunk; one batch of B x MAX_T at most. */
    ss_config_default(&cfg);
    cfg.vocab_size = V;
    cfg.hidden_size = 64, cfg.num_hidden_layers = 2, cfg.intermediate_size = 128;
    cfg.num_attention_heads = 4, cfg.head_dim = 16, cfg.rope_dims = 8;
    cfg.q_latent_dim = 32, cfg.kv_latent_dim = 16, cfg.o_latent_dim = 32;
    cfg.hidden_dropout_prob = 0.1, cfg.attention_dropout_prob = 0.1;
    cfg.max_position_embeddings = MAX_T;
    if (ss_model_init(&model, &cfg, SS_HEAD_MLM, B, MAX_T, 42) != SS_OK) return fail("model");
    printf("V %d, %lld training lines, %zu parameters; ln V = %.3f\n", V, (long long)train.count,
           ss_model_param_count(&model), log((double)V));

    /* 5. Training. The sampler shuffles the lines epoch by epoch; each batch is padded to its
       longest line; 30% of its real tokens become targets (80% of those are replaced by [MASK],
       10% by a random token, 10% stay). BERT takes 15%, but our lines are short and the run is
       brief: twice the targets learn agreement much sooner. AdamW's beta2 is RoBERTa's 0.98, for
       a short run. The learning rate rises linearly over 50 updates, then falls linearly to 0.
       Gradients are zeroed for each update, because backward adds into them. */
    if (ss_sampler_init(&sampler, train.count, 7, 1) != SS_OK) return fail("sampler");
    ss_adamw_default(&adamw);
    adamw.beta2 = 0.98;
    sched.kind = SS_LR_LINEAR, sched.peak = 1e-2;
    sched.warmup_steps = 50, sched.total_steps = STEPS;
    ss_mlm_options_default(&mlm, &tok);
    mlm.probability = 0.3;
    ss_rng_seed(&rng, 99);
    for (step = 0; step < STEPS; step++) {
        for (i = 0; i < B; i++) rows[i] = ss_sampler_row(&sampler, step * B + i);
        T = ss_dataset_batch(&train, rows, B, tok.pad_id, ids, key_mask, NULL);
        ss_mlm_mask(&mlm, &rng, ids, targets, key_mask, (size_t)B * T);
        ss_model_zero_grad(&model);
        ss_model_forward(&model, &st, ids, key_mask, targets, NULL, B, T, 1);
        ss_model_backward(&model, 1.0f);
        ss_clip_grad_norm(&model.params, 1.0);
        ss_adamw_step(&model.params, &adamw, ss_lr_at(&sched, step), step + 1);
        log_sum += st.loss, n_log++;
        if (step == 0 || (step + 1) % 50 == 0) {
            printf("update %4d  loss %.3f\n", (int)step + 1, log_sum / n_log);
            log_sum = 0.0, n_log = 0;
        }
    }

    /* 6. Held-out loss and accuracy: the same masking, no dropout (training = 0). */
    for (i = 0; i < valid.count; i += B) {
        int b, n = valid.count - i < B ? (int)(valid.count - i) : B;
        for (b = 0; b < n; b++) rows[b] = i + b;
        T = ss_dataset_batch(&valid, rows, n, tok.pad_id, ids, key_mask, NULL);
        ss_mlm_mask(&mlm, &rng, ids, targets, key_mask, (size_t)n * T);
        ss_model_forward(&model, &st, ids, key_mask, targets, NULL, n, T, 0);
        loss_sum += st.loss_sum, kept += st.kept, correct += st.correct;
    }
    valid_loss = loss_sum / kept;
    printf("held-out: loss %.3f, accuracy %.3f over %d masked tokens (%.1f s)\n", valid_loss,
           (double)correct / kept, kept, ss_time_seconds() - t0);

    /* 7. Fill in a [MASK]. The tokenizer reads "[MASK]" in text as its id. The LM head computes
       logits only for rows that have a target, packed in order into acts.lm_logits (all at
       once, or SS_LM_CHUNK rows at a time past acts.lm_cap), and turns them into probabilities
       in place. So give exactly the masked row
       a target (any valid id: it decides only the loss): row 0 of acts.lm_logits is then that
       position's distribution over the V tokens, and its argmax is the model's guess. */
    for (k = 0; k < 2; k++) {
        const float *p = model.acts.lm_logits;
        T = (int)ss_tokenizer_encode(&tok, NULL, probe[k], strlen(probe[k]), NULL, 0, ids, NULL,
                                     NULL, MAX_T);
        for (i = 0; i < T; i++) targets[i] = ids[i] == tok.mask_id ? 0 : SS_IGNORE_INDEX;
        ss_model_forward(&model, NULL, ids, NULL, targets, NULL, 1, T, 0);
        for (i = 1, best = 0; i < V; i++)
            if (p[i] > p[best]) best = i;
        printf("%-28s [MASK] = '%s' (p = %.2f)\n", probe[k], ss_tokenizer_token(&tok, best),
               p[best]);
    }

    /* 8. Free everything, then pass or fail. */
    free(train_text), free(valid_text);
    ss_sampler_free(&sampler);
    ss_model_free(&model);
    ss_dataset_free(&train), ss_dataset_free(&valid);
    ss_tokenizer_free(&tok);
    ss_vocab_trainer_free(&trainer);
    if (!(valid_loss < 0.6 * log((double)V))) {
        printf("FAIL train_tiny: held-out loss %.3f, not below 0.6 ln V\n", valid_loss);
        return 1;
    }
    printf("OK train_tiny\n");
    return 0;
}
