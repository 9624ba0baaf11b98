#!/usr/bin/env bash
# tests/mpi_equiv.sh - data-parallel training (`make check-mpi`):
#     bash tests/mpi_equiv.sh SS_MPI SS WORK
# SS_MPI is `ss` built with MPI=1, SS the default build, WORK a scratch folder. Checks, on the
# built-in data and configs/tiny.json (MLA-o), every process single-threaded:
#   - the MPI build on 1 process writes the same files, bit for bit, as the default build;
#   - 2 processes give the single process's loss curve within a relative 1e-4 per logged loss
#     and per evaluation loss, and its evaluation accuracies within 0.005 (they are the same
#     computation summed in another order: see README, "Several processes");
#   - fine-tuning likewise, with epochs whose last batch leaves the second process no rows;
#   - on 2 processes, a run stopped after update 25 and one stopped by SIGUSR1 (what mpirun
#     forwards) resume to the unbroken 2-process run's files, bit for bit;
#   - a NaN stops every process with one message; a gradient_accumulation_steps that the
#     processes cannot share, and a file missing for one process only, end the job with a
#     message instead of hanging.
# Fails loudly when mpirun is missing or SS_MPI is not an MPI build: never skips.
set -eu
SSM=$1 SS=$2 WORK=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v mpirun >/dev/null 2>&1 || fail "mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"
[ -x "$SSM" ] && [ -x "$SS" ] || fail "usage: tests/mpi_equiv.sh SS_MPI SS WORK (built tools)"
start=$(date +%s)
rm -rf "$WORK"
mkdir -p "$WORK"
export OMP_NUM_THREADS=1 # one thread per process: the processes are the parallelism
# --oversubscribe: more processes than free cores is fine here; CI runs as root. The timeout
# turns a hang (a process left waiting in a collective) into a failure.
mpi() { # mpi N COMMAND...
    local n=$1
    shift
    timeout 300 mpirun --oversubscribe --allow-run-as-root -np "$n" "$@"
}
DATA=$WORK/data
# 500 labelled rows: 450 to train, so every epoch ends with a batch of 2 (450 = 28 x 16 + 2)
"$SS" data --out "$DATA" --train 3000 --valid 200 --cls-train 500 --cls-dev 300 --quiet
V=$(wc -l <"$DATA/vocab.txt")
CFG=configs/tiny.json
# 60 updates of 16 as 2 micro-batches of 8 (one per process), evaluated every 20, logged every 10
PRE=(pretrain --config $CFG --train "$DATA/train.txt" --valid "$DATA/valid.txt"
    --vocab "$DATA/vocab.txt" --set model.vocab_size="$V"
    --set pre_train.num_train_steps=60 --set pre_train.eval_steps=20 --set pre_train.logging_steps=10
    --set pre_train.gradient_accumulation_steps=2)
metrics() { sed -E 's/, "tokens_per_s": [0-9.e+-]+, "samples_per_s": [0-9.e+-]+//' "$1/metrics.jsonl"; }
same_files() { # same_files A B STEP: identical weights, AdamW state and metrics
    cmp "$1/checkpoint-$3/model.safetensors" "$2/checkpoint-$3/model.safetensors" ||
        fail "$1 and $2: weights differ"
    cmp "$1/checkpoint-$3/optimizer.safetensors" "$2/checkpoint-$3/optimizer.safetensors" ||
        fail "$1 and $2: AdamW state differs"
    diff <(metrics "$1") <(metrics "$2") >/dev/null || fail "$1 and $2: metrics differ"
}
close_curves() { # close_curves A B: every logged and evaluation loss within rel 1e-4, accuracy 0.005
    python3 - "$1/metrics.jsonl" "$2/metrics.jsonl" <<'EOF' || fail "$1 and $2: the curves differ"
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
if len(a) != len(b) or not a: sys.exit("%d and %d records" % (len(a), len(b)))
worst, worst_acc, bad = 0.0, 0.0, []
for x, y in zip(a, b):
    if x["step"] != y["step"]: sys.exit("steps %s and %s" % (x["step"], y["step"]))
    for k in ("loss", "eval_loss"):
        if k in x:
            r = abs(x[k] - y[k]) / abs(x[k])
            worst = max(worst, r)
            if r > 1e-4: bad.append("%s at %d: %.9g vs %.9g" % (k, x["step"], x[k], y[k]))
    if "eval_accuracy" in x:
        d = abs(x["eval_accuracy"] - y["eval_accuracy"])
        worst_acc = max(worst_acc, d)
        if d > 0.005: bad.append("accuracy at %d: %.6f vs %.6f" % (x["step"], x["eval_accuracy"], y["eval_accuracy"]))
print("  %d records: largest relative loss difference %.1e, accuracy difference %.4f; final "
      "accuracy %.4f vs %.4f" % (len(a), worst, worst_acc, [r for r in a if "eval_accuracy" in r][-1]["eval_accuracy"],
                                 [r for r in b if "eval_accuracy" in r][-1]["eval_accuracy"]))
if bad: sys.exit("\n".join(bad))
EOF
}

echo "pre-training: default build, MPI build on 1 process, on 2 processes"
"$SS" "${PRE[@]}" --quiet --out "$WORK/one"
mpi 1 "$SSM" "${PRE[@]}" --quiet --out "$WORK/np1"
same_files "$WORK/one" "$WORK/np1" 60
echo "  1 process of the MPI build = the default build, bit for bit"
mpi 2 "$SSM" "${PRE[@]}" --out "$WORK/np2" >"$WORK/np2.log" ||
    fail "2 processes: $(tail -n 5 "$WORK/np2.log")"
grep -q '^pretrain: 2 processes, 8 sequences each per update' "$WORK/np2.log" ||
    fail "$SSM did not run as 2 processes (not an MPI build?): $(head -n 3 "$WORK/np2.log")"
[ "$(grep -c '^pretrain: done' "$WORK/np2.log")" = 1 ] || fail "not exactly one process reported"
close_curves "$WORK/one" "$WORK/np2"

echo "resume on 2 processes: stopped after update 25, then --resume"
mpi 2 "$SSM" "${PRE[@]}" --quiet --out "$WORK/np2r" --stop-after 25
[ -d "$WORK/np2r/checkpoint-25" ] && [ ! -d "$WORK/np2r/checkpoint-40" ] || fail "no stop at 25"
mpi 2 "$SSM" "${PRE[@]}" --quiet --out "$WORK/np2r" --resume
same_files "$WORK/np2" "$WORK/np2r" 60
echo "  = the unbroken 2-process run, bit for bit"

echo "SIGUSR1 to mpirun on 2 processes: a checkpoint, status 130, and a resume"
LONG=(--set pre_train.num_train_steps=120 --set pre_train.eval_steps=120)
mpi 2 "$SSM" "${PRE[@]}" "${LONG[@]}" --quiet --out "$WORK/long"
# mpirun itself in the background (not through `mpi`: $! must be mpirun's pid); no background
# watchdog (a sleeping one would hold the caller's output pipe open), a bounded wait instead
mpirun --oversubscribe --allow-run-as-root -np 2 "$SSM" "${PRE[@]}" "${LONG[@]}" --quiet \
    --out "$WORK/usr1" 2>"$WORK/usr1.err" &
pid=$!
for _ in $(seq 300); do [ -s "$WORK/usr1/metrics.jsonl" ] && break; sleep 0.1; done
kill -USR1 $pid
for _ in $(seq 600); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
if kill -0 $pid 2>/dev/null; then
    kill -KILL $pid
    fail "still running 5 minutes after SIGUSR1"
fi
rc=0
wait $pid || rc=$?
[ "$rc" -eq 130 ] || fail "exit status $rc after SIGUSR1 (130 expected): $(cat "$WORK/usr1.err")"
[ "$(grep -c 'interrupted at update [0-9]*; checkpoint saved' "$WORK/usr1.err")" = 1 ] ||
    fail "message: $(cat "$WORK/usr1.err")"
mpi 2 "$SSM" "${PRE[@]}" "${LONG[@]}" --quiet --out "$WORK/usr1" --resume
same_files "$WORK/long" "$WORK/usr1" 120
echo "  = the unbroken 2-process run, bit for bit"

echo "fine-tuning: one process against 2 (2 epochs of 29 updates)"
FT=(finetune --from "$WORK/one" --train "$DATA/cls_train.tsv" --dev "$DATA/cls_dev.tsv" --quiet
    --set fine_tune.gradient_accumulation_steps=2 --set fine_tune.epochs=2
    --set fine_tune.eval_steps=20 --set fine_tune.logging_steps=5)
"$SS" "${FT[@]}" --out "$WORK/ft1"
mpi 2 "$SSM" "${FT[@]}" --out "$WORK/ft2"
close_curves "$WORK/ft1" "$WORK/ft2"
t1=$(sed -n 's/.*"test_accuracy": \([0-9.e-]*\).*/\1/p' "$WORK/ft1/full_config.json")
t2=$(sed -n 's/.*"test_accuracy": \([0-9.e-]*\).*/\1/p' "$WORK/ft2/full_config.json")
[ -n "$t1" ] && [ "$t1" = "$t2" ] || fail "test accuracy $t1 (one process) vs $t2 (two)"
echo "  test accuracy $t1 on both"

echo "failures on 2 processes end the job with one message"
expect() { # expect PATTERN COMMAND...: fails, says PATTERN, within the timeout
    local pat=$1 rc=0
    shift
    "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "accepted: $*"
    [ "$rc" -ne 124 ] || fail "hung (killed by the timeout): $*"
    grep -q -- "$pat" "$WORK/err" || fail "message for '$*' lacks '$pat': $(cat "$WORK/err")"
}
expect 'update 45: the loss is NaN; .*last good checkpoint is .*checkpoint-40' \
    mpi 2 "$SSM" "${PRE[@]}" --quiet --out "$WORK/nan" --nan-at 45
[ "$(grep -c 'the loss is NaN' "$WORK/err")" = 1 ] || fail "NaN reported more than once"
cmp "$WORK/np2/checkpoint-40/model.safetensors" "$WORK/nan/checkpoint-40/model.safetensors" ||
    fail "the last good checkpoint differs"
expect 'gradient_accumulation_steps 1 is not a multiple of the 2 processes.*--set pre_train.gradient_accumulation_steps=2' \
    mpi 2 "$SSM" "${PRE[@]}" --quiet --out "$WORK/split" --set pre_train.gradient_accumulation_steps=1
# rank 1 alone lacks its training file (a host without the data)
expect 'another process failed' mpi 2 bash -c 'T=$1; shift; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && T=$T.missing
    exec "$@" --train "$T"' _ "$DATA/train.txt" "$SSM" "${PRE[@]}" --quiet --out "$WORK/missing"
grep -q 'train.txt.missing' "$WORK/err" || fail "the failing process said nothing: $(cat "$WORK/err")"

echo "ok: mpi_equiv in $(($(date +%s) - start)) s"
