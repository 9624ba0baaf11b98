/* tools/synth.h - the built-in data set: a small synthetic English for the demo and the tests,
   made from a seed with no external files.

   The language has a vocabulary of about 580 words and enough structure that a masked word can
   be told from its context: number agreement (the dog runs / the dogs run, is / are, does / do,
   there is / there are, across relative clauses and "and"), a / an before vowels, determiners
   that match the noun's number (a, every, this / some, many, these, two), selectional
   restrictions (animals eat food, people read texts, vehicles drive along roads, people wait for
   vehicles and listen to songs), adjectives that belong to a noun class, a fixed preposition per
   verb (walk to, swim in, jump into, look at, think about) and per place (in the park, at the
   market, on the farm), tense that follows a time phrase (yesterday -> ate, now -> is eating,
   tomorrow -> will eat), fixed phrases ("once upon a time", "all of a sudden", "a lot of",
   "not ... at all"), capitals at sentence starts and ".", "!" or "?" at the ends. Nouns and verbs
   inflect (-s, -es, -ies, -ed, -ing, irregular forms), and there are adverbs in -ly, so a
   WordPiece vocabulary learns "##" continuations.

   The classification task is sentiment (1 positive, 0 negative), carried by evaluative
   adjectives, verbs and adverbs (wonderful / awful, loves / hates, beautifully / badly), flipped
   by negation (does not love, is not awful, never), decided by the second clause of
   "X, but Y" and "although X, Y", among neutral words. Classes are balanced; 3% of labels are
   flipped (label noise).

   Everything is a function of the rng state: the same seed gives the same text on every
   platform. Thread-safe for distinct rng states. */
#ifndef SS_TOOL_SYNTH_H
#define SS_TOOL_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "../subspace.h"

/* One line of text (1..3 sentences) into buf (NUL-terminated, truncated safely at cap); returns
   its length (what buf holds; 0 when cap is 0). No tabs or newlines. */
size_t synth_line(ss_rng *rng, char *buf, size_t cap);

/* One labelled sentence for classification; *label gets 0 or 1. Same buffer rules as synth_line. */
size_t synth_labelled(ss_rng *rng, char *buf, size_t cap, int *label);

/* Write the built-in data set into dir (which must exist): train.txt (n_train lines), valid.txt
   (n_valid lines), cls_train.tsv and cls_dev.tsv (GLUE SST-2 layout: a header line
   "sentence\tlabel", then one "sentence<TAB>label" per line; n_cls_train and n_cls_dev rows),
   each file written crash-safe (a temporary file renamed over the old one). The four files come
   from independent streams of the seed (ss_rng_split), so changing one count does not change the
   other files. Counts must be >= 0. Returns 0, or prints "ss: <path>: <reason>" to stderr and
   returns -1. */
int synth_write_dataset(const char *dir, uint64_t seed, int n_train, int n_valid, int n_cls_train,
                        int n_cls_dev);

#endif
