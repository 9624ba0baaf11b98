#!/usr/bin/env bash
# tests/cli_train.sh - end-to-end tests of `ss pretrain`, `ss finetune`, `ss compare` and
# `ss config`, run by tests/run.sh as separate steps:
#     bash tests/cli_train.sh SCENARIO SS WORK
# SS is the tool and WORK a fresh folder of the scenario's own, where it first writes a small
# built-in data set with `ss data`. Every scenario exits non-zero, with a message, when a check
# fails.
set -eu
scenario=$1 SS=$2 WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
DATA=$WORK/data
"$SS" data --out "$DATA" --train 3000 --valid 200 --cls-train 3000 --cls-dev 300 --quiet
CFG=configs/tiny.json
fail() { echo "FAIL: $*" >&2; exit 1; }
V=$(wc -l <"$DATA/vocab.txt")
# A short tiny run: 60 updates of 16, evaluated (and checkpointed) every 20, logged every 10.
pre() { # pre OUT [extra args...]
    local out=$1
    shift
    "$SS" pretrain --config $CFG --train "$DATA/train.txt" --valid "$DATA/valid.txt" \
        --vocab "$DATA/vocab.txt" --out "$out" --quiet --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=60 --set pre_train.eval_steps=20 \
        --set pre_train.logging_steps=10 "$@"
}
# The metrics without the wall-clock fields (tokens/s, samples/s), which no two runs share.
metrics() { sed -E 's/, "tokens_per_s": [0-9.e+-]+, "samples_per_s": [0-9.e+-]+//' "$1/metrics.jsonl"; }
same_run() { # same_run A B: identical weights, optimizer state and metrics
    cmp "$1/checkpoint-60/model.safetensors" "$2/checkpoint-60/model.safetensors" ||
        fail "$1 and $2: final weights differ"
    cmp "$1/checkpoint-60/optimizer.safetensors" "$2/checkpoint-60/optimizer.safetensors" ||
        fail "$1 and $2: final AdamW state differs"
    diff <(metrics "$1") <(metrics "$2") >/dev/null || fail "$1 and $2: metrics differ"
}

case $scenario in
learns) # the loss falls well below ln(V), accuracy well above chance; outputs exist
    "$SS" pretrain --config $CFG --train "$DATA/train.txt" --valid "$DATA/valid.txt" \
        --vocab "$DATA/vocab.txt" --out "$WORK/run" --quiet --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=800 --set pre_train.eval_steps=200 \
        --set pre_train.learning_rate=0.005 --set pre_train.save_total_limit=1
    for f in metrics.jsonl metrics.csv loss.svg full_config.json config.json vocab.txt; do
        [ -s "$WORK/run/$f" ] || fail "missing $f"
    done
    last=$(grep eval_loss "$WORK/run/metrics.jsonl" | tail -1)
    python3 - "$last" "$V" <<'EOF' || fail "did not learn: $last"
import json, math, sys
m = json.loads(sys.argv[1]); lnv = math.log(int(sys.argv[2]))
print("eval_loss %.3f (ln V = %.3f), accuracy %.3f" % (m["eval_loss"], lnv, m["eval_accuracy"]))
# the unigram stage (every mask predicted as the commonest token) scores ~0.06 here
sys.exit(0 if m["eval_loss"] < 0.75 * lnv and m["eval_accuracy"] > 0.12 else 1)
EOF
    grep -q '"best_checkpoint": "checkpoint-' "$WORK/run/full_config.json" || fail "no best_checkpoint"
    grep -q '"total_elements": ' "$WORK/run/full_config.json" || fail "no stats.total_elements"
    # kept: the last checkpoint (save_total_limit 1) and the best
    best=$(sed -n 's/.*"best_checkpoint": "\(checkpoint-[0-9]*\)".*/\1/p' "$WORK/run/full_config.json")
    want=$(printf '%s\n' checkpoint-800 "$best" | sort -u | tr '\n' ' ')
    have=$(cd "$WORK/run" && ls -d checkpoint-* | sort | tr '\n' ' ')
    [ "$have" = "$want" ] || fail "checkpoints kept: $have (expected $want)"
    grep -q '^step,epoch,loss,grad_norm,learning_rate' "$WORK/run/metrics.csv" || fail "csv header"
    grep -q '<svg' "$WORK/run/loss.svg" || fail "loss.svg is not an SVG"
    ;;
resume) # stop after 30 (as if killed) and resume == one unbroken run, bit for bit
    pre "$WORK/a"
    pre "$WORK/b" --stop-after 30
    [ -d "$WORK/b/checkpoint-30" ] || fail "no checkpoint at the stop"
    [ ! -d "$WORK/b/checkpoint-60" ] || fail "ran past the stop"
    pre "$WORK/b" --resume
    same_run "$WORK/a" "$WORK/b"
    # a stop between evaluations (25 is not a multiple of 20), with gradient accumulation
    # (QUICK=1, the sanitizer build: only the plain stop above)
    if [ "${QUICK:-0}" = 1 ]; then echo "ok: resume (quick)"; exit 0; fi
    pre "$WORK/c" --set pre_train.gradient_accumulation_steps=2
    pre "$WORK/d" --set pre_train.gradient_accumulation_steps=2 --stop-after 25
    pre "$WORK/d" --set pre_train.gradient_accumulation_steps=2 --resume
    same_run "$WORK/c" "$WORK/d"
    # a fresh run refuses a directory that holds checkpoints
    if pre "$WORK/a" 2>"$WORK/err"; then fail "reused a run directory"; fi
    grep -q 'already holds checkpoints' "$WORK/err" || fail "unclear refusal: $(cat "$WORK/err")"
    ;;
determinism) # one seed, same files; thread count does not change the bits
    pre "$WORK/a" --threads 1 --cache "$WORK/cache"
    ls "$WORK"/cache/train.txt.*.tokens >/dev/null || fail "no token cache written"
    pre "$WORK/b" --threads 2 --cache "$WORK/cache" # reads the cache
    same_run "$WORK/a" "$WORK/b"
    pre "$WORK/c" --threads 2 --set pre_train.seed=7
    if cmp -s "$WORK/a/checkpoint-60/model.safetensors" "$WORK/c/checkpoint-60/model.safetensors"; then
        fail "another seed gave the same weights"
    fi
    ;;
nan) # a NaN loss stops training, names the last good checkpoint, and leaves it intact
    pre "$WORK/a"
    if pre "$WORK/b" --nan-at 45 2>"$WORK/err"; then fail "a NaN loss did not stop training"; fi
    grep -q 'update 45: the loss is NaN' "$WORK/err" || fail "unclear message: $(cat "$WORK/err")"
    grep -q 'last good checkpoint is .*checkpoint-40' "$WORK/err" || fail "no checkpoint named: $(cat "$WORK/err")"
    cmp "$WORK/a/checkpoint-40/model.safetensors" "$WORK/b/checkpoint-40/model.safetensors" ||
        fail "the last good checkpoint differs from an unbroken run's"
    [ ! -d "$WORK/b/checkpoint-45" ] || fail "a checkpoint was written after the NaN"
    ;;
sigint) # Ctrl-C: a checkpoint, status 130, and a resume that ends as an unbroken run does
    pre "$WORK/a" --set pre_train.num_train_steps=300 --set pre_train.eval_steps=300
    # the tool itself in the background (not the shell function: $! must be its pid)
    "$SS" pretrain --config $CFG --train "$DATA/train.txt" --valid "$DATA/valid.txt" \
        --vocab "$DATA/vocab.txt" --out "$WORK/b" --quiet --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=300 --set pre_train.eval_steps=300 \
        --set pre_train.logging_steps=10 2>"$WORK/err" &
    pid=$!
    for _ in $(seq 100); do [ -s "$WORK/b/metrics.jsonl" ] && break; sleep 0.1; done
    kill -INT $pid
    rc=0
    wait $pid || rc=$?
    [ "$rc" -eq 130 ] || fail "exit status $rc after SIGINT (130 expected)"
    grep -q 'interrupted at update [0-9]*; checkpoint saved' "$WORK/err" || fail "message: $(cat "$WORK/err")"
    ls -d "$WORK"/b/checkpoint-* >/dev/null 2>&1 || fail "no checkpoint after SIGINT"
    pre "$WORK/b" --set pre_train.num_train_steps=300 --set pre_train.eval_steps=300 --resume
    cmp "$WORK/a/checkpoint-300/model.safetensors" "$WORK/b/checkpoint-300/model.safetensors" ||
        fail "interrupted and resumed run differs from the unbroken one"
    diff <(metrics "$WORK/a") <(metrics "$WORK/b") >/dev/null || fail "metrics differ"
    ;;
finetune) # pre-train, fine-tune, and beat chance (0.5) on the dev set clearly; --from-scratch runs too
    "$SS" pretrain --config $CFG --train "$DATA/train.txt" --valid "$DATA/valid.txt" \
        --vocab "$DATA/vocab.txt" --out "$WORK/pre" --quiet --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=800 --set pre_train.eval_steps=400 \
        --set pre_train.learning_rate=0.005
    "$SS" finetune --from "$WORK/pre" --train "$DATA/cls_train.tsv" --dev "$DATA/cls_dev.tsv" \
        --out "$WORK/ft" --set fine_tune.epochs=6 --set fine_tune.eval_steps=500 >"$WORK/ft.log"
    cat "$WORK/ft.log"
    acc=$(sed -n 's/.*"test_accuracy": \([0-9.e-]*\).*/\1/p' "$WORK/ft/full_config.json")
    [ -n "$acc" ] || fail "no test_accuracy in full_config.json"
    python3 -c "import sys; sys.exit(0 if float('$acc') > 0.62 else 1)" || fail "test accuracy $acc"
    [ -s "$WORK/ft/model.safetensors" ] || fail "no fine-tuned model"
    # examples/classify.c labels the dev sentences from C with the same accuracy
    cc -std=c99 -O2 -o "$WORK/classify" examples/classify.c -lm
    tail -n +2 "$DATA/cls_dev.tsv" | cut -f1 | "$WORK/classify" "$WORK/ft/model.safetensors" \
        "$WORK/ft/vocab.txt" >"$WORK/labels" 2>"$WORK/classify.err" || fail "classify: $(cat "$WORK/classify.err")"
    c_acc=$(paste <(cut -f1 "$WORK/labels") <(tail -n +2 "$DATA/cls_dev.tsv" | cut -f2) |
        awk '{ n++; if ($1 == $2) k++ } END { printf "%.4f", k / n }')
    [ "$c_acc" = "$(printf '%.4f' "$acc")" ] || fail "classify accuracy $c_acc, ss finetune $acc"
    "$SS" finetune --from-scratch --config $CFG --vocab "$DATA/vocab.txt" \
        --train "$DATA/cls_train.tsv" --dev "$DATA/cls_dev.tsv" --out "$WORK/scratch" --quiet \
        --set model.vocab_size="$V" --set fine_tune.epochs=0.5
    grep -q '"test_accuracy"' "$WORK/scratch/full_config.json" || fail "from-scratch: no result"
    ;;
clm) # the decoder direction: a causal LM on packed sequences reports perplexity
    "$SS" pretrain --config $CFG --train "$DATA/train.txt" --valid "$DATA/valid.txt" \
        --vocab "$DATA/vocab.txt" --out "$WORK/run" --objective clm --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=150 --set pre_train.eval_steps=150 \
        --set pre_train.learning_rate=0.003 >"$WORK/log"
    grep -q 'perplexity' "$WORK/log" || fail "no perplexity reported"
    python3 - "$(grep eval_perplexity "$WORK/run/metrics.jsonl" | tail -1)" "$V" <<'EOF' || fail "CLM did not learn"
import json, sys
m = json.loads(sys.argv[1])
sys.exit(0 if m["eval_perplexity"] < int(sys.argv[2]) / 4 else 1)
EOF
    ;;
bad-input) # malformed data and overrides are refused with messages that name the problem
    expect() { # expect PATTERN COMMAND...: the command fails and stderr matches
        local pat=$1
        shift
        if "$@" 2>"$WORK/err" >/dev/null; then fail "accepted: $*"; fi
        grep -q -- "$pat" "$WORK/err" || fail "message for '$*' lacks '$pat': $(cat "$WORK/err")"
    }
    printf 'sentence\tlabel\ngood film\t1\nbad film\tpositive\n' >"$WORK/bad_label.tsv"
    printf 'sentence\tlabel\ngood film\t1\nbad\tfilm\t0\n' >"$WORK/bad_fields.tsv"
    printf 'text\tlabel\ngood film\t1\n' >"$WORK/no_column.tsv"
    printf '\n  \n\t\n' >"$WORK/blank.txt"
    pre "$WORK/ok" --set pre_train.num_train_steps=20 --set pre_train.eval_steps=20
    ft() { "$SS" finetune --from "$WORK/ok" --dev "$DATA/cls_dev.tsv" --quiet --out "$WORK/ft" "$@"; }
    expect "bad_label.tsv:3: column 2: label 'positive' is not an integer in \[0, 2)" ft --train "$WORK/bad_label.tsv"
    expect "bad_fields.tsv:3: 3 tab-separated fields, the header has 2" ft --train "$WORK/bad_fields.tsv"
    expect "no_column.tsv:1: the header needs the columns 'sentence' and 'label'" ft --train "$WORK/no_column.tsv"
    expect "blank.txt: no non-empty line" "$SS" pretrain --config $CFG --train "$WORK/blank.txt" \
        --vocab "$DATA/vocab.txt" --out "$WORK/x" --set model.vocab_size="$V"
    expect "no key 'pre_train.num_train_step'" pre "$WORK/x" --set pre_train.num_train_step=5
    expect "rope_dims = 5: must be even" pre "$WORK/x" --set model.rope_dims=5
    expect "pre_train.lr_schedule" pre "$WORK/x" --set pre_train.lr_schedule='"sawtooth"'
    expect "batch size 16 must be >= 1 and a multiple of gradient_accumulation_steps 3" \
        pre "$WORK/x" --set pre_train.gradient_accumulation_steps=3
    expect "missing.txt" pre "$WORK/x" --train "$WORK/missing.txt"
    expect "has $V tokens but model.vocab_size is 100" "$SS" pretrain --config $CFG \
        --train "$DATA/train.txt" --vocab "$DATA/vocab.txt" --out "$WORK/x" --set model.vocab_size=100
    # training state in a checkpoint that no run can have written is refused by --resume
    cp -r "$WORK/ok" "$WORK/badstate"
    perl -pi -e 's/"best_step":"20"/"best_step":"99"/' "$WORK/badstate/checkpoint-20/optimizer.safetensors"
    expect "cannot resume from checkpoint-20: .*badstate/checkpoint-20/optimizer.safetensors: metadata best_step.* out of range" "$SS" pretrain --resume --out "$WORK/badstate" --config $CFG --train "$DATA/train.txt" \
        --valid "$DATA/valid.txt" --vocab "$DATA/vocab.txt" --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=30
    # a token cache that passes its own checks but holds an id outside the vocabulary is
    # reported and made again from the text (never fed to the embedding)
    cc -std=c99 -O1 -o "$WORK/cache_poke" tests/cache_poke.c -lm || fail "tests/cache_poke.c does not build"
    pre "$WORK/c1" --set pre_train.num_train_steps=5 --cache "$WORK/cache"
    "$WORK/cache_poke" "$(ls "$WORK"/cache/train.txt.*.tokens)" 3 1000000 || fail "cache_poke failed"
    "$SS" pretrain --config $CFG --train "$DATA/train.txt" --valid "$DATA/valid.txt" --vocab "$DATA/vocab.txt" \
        --out "$WORK/c2" --quiet --set model.vocab_size="$V" --set pre_train.num_train_steps=5 \
        --cache "$WORK/cache" 2>"$WORK/err" >/dev/null || fail "a poisoned token cache stopped the run: $(cat "$WORK/err")"
    grep -q "holds a token id outside the vocabulary; tokenizing again" "$WORK/err" ||
        fail "a token id outside the vocabulary in the cache was not reported: $(cat "$WORK/err")"
    cmp -s "$WORK/c1/checkpoint-5/model.safetensors" "$WORK/c2/checkpoint-5/model.safetensors" ||
        fail "the run after the poisoned cache differs from the first one"
    ;;
compare) # the table and the plot for two configs and two seeds, on a tiny budget
    "$SS" compare configs/tiny_mha.json configs/tiny.json --seeds 2 --out "$WORK/cmp" --quiet \
        --train "$DATA/train.txt" --valid "$DATA/valid.txt" --vocab "$DATA/vocab.txt" \
        --cls-train "$DATA/cls_train.tsv" --cls-dev "$DATA/cls_dev.tsv" \
        --set model.vocab_size="$V" --set pre_train.num_train_steps=30 --set pre_train.eval_steps=15 \
        --set fine_tune.epochs=0.1 >"$WORK/out"
    cat "$WORK/out"
    grep -q '^| tiny_mha | MHA | ' "$WORK/out" || fail "no MHA row"
    grep -q '^| tiny | MLA-o | .* | 32 / 16 / 32 | 8 | ' "$WORK/out" || fail "no MLA-o row"
    grep -q '2 seeds per config' "$WORK/out" || fail "seed count"
    grep -q '<svg' "$WORK/cmp/validation.svg" || fail "no SVG"
    [ -d "$WORK/cmp/tiny/seed-43/finetune" ] || fail "second seed not fine-tuned"
    "$SS" compare --base configs/tiny.json --sweep model.o_latent_dim=16,32 --out "$WORK/sw" \
        --quiet --no-finetune --train "$DATA/train.txt" --valid "$DATA/valid.txt" \
        --vocab "$DATA/vocab.txt" --set model.vocab_size="$V" --set pre_train.num_train_steps=10 \
        --set pre_train.eval_steps=10 >"$WORK/sw.out"
    grep -q '^| o_latent_dim=16 | MLA-o | .* | 32 / 16 / 16 |' "$WORK/sw.out" || fail "sweep row 16"
    grep -q '^| o_latent_dim=32 | MLA-o | .* | 32 / 16 / 32 |' "$WORK/sw.out" || fail "sweep row 32"
    ;;
*) fail "unknown scenario $scenario" ;;
esac
echo "ok: $scenario"
