#!/usr/bin/env bash
# tests/kill_resume.sh - crash-safe training, proven by killing it (`make check-faults`):
#     bash tests/kill_resume.sh SS WORK
# SS is the tool, WORK a scratch folder (emptied first). A short `ss pretrain` of configs/tiny.json
# on the built-in data (60 updates, a checkpoint every 5) is run once without interruption as the
# reference. Then each trial starts the same run and kills it with SIGKILL at a random moment, or
# while a checkpoint is being written (polling for checkpoint-N.tmp, or for a file inside it, and
# killing as soon as it appears, after a random spin of a few microseconds to milliseconds); some
# trials kill the resumed run as well. After every kill:
#   - every checkpoint-N left in the run directory loads as `--resume` loads it (tests/ckpt_verify.c:
#     model.safetensors into a model built from its own metadata, the AdamW moments, the step);
#   - `--resume` exits 0;
# and at the end of the trial the run directory equals the reference's: the same files, the final
# model.safetensors and optimizer.safetensors bit for bit, the same metrics (the wall-clock
# tokens/s and samples/s aside), full_config.json, loss.svg, no leftover *.tmp.
# The random moments come from bash's RANDOM seeded with SEED (printed; default from the clock):
#     SEED=1234 bash tests/kill_resume.sh SS WORK            replays the same choices
#     SEED=1234 ONLY=7 bash tests/kill_resume.sh SS WORK     only trial 7
# (a kill lands where the scheduler puts it, so a replay repeats the plan, not the exact byte).
# TRIALS (default 24) sets the number of trials. Prints PASS or FAIL per trial, a summary, and
# exits non-zero when any trial failed.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bash tests/kill_resume.sh SS WORK" >&2; exit 2; }
SS=$(realpath "$1")
WORK=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRIALS=${TRIALS:-24}
SEED=${SEED:-$(( $(date +%s) % 100000 ))}
ONLY=${ONLY:-0}
STEPS=60 EVERY=5
start_all=$(date +%s)
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
echo "kill_resume: SEED=$SEED TRIALS=$TRIALS ($("$SS" version))"

cc -std=c99 -O2 -o "$WORK/ckpt_verify" "$ROOT/tests/ckpt_verify.c" -lm
"$SS" data --out "$WORK/data" --train 2000 --valid 100 --cls-train 10 --cls-dev 10 --quiet
V=$(wc -l <"$WORK/data/vocab.txt")
CFG=$ROOT/configs/tiny.json

# the run, into ./run of the current folder: "$SS" "${RUN[@]}" [--resume]
RUN=(pretrain --config "$CFG" --train "$WORK/data/train.txt" --valid "$WORK/data/valid.txt"
    --vocab "$WORK/data/vocab.txt" --out run --quiet --set model.vocab_size="$V"
    --set pre_train.num_train_steps="$STEPS" --set pre_train.eval_steps="$EVERY"
    --set pre_train.logging_steps="$EVERY")
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

mkdir -p "$WORK/ref"
t0=$(now_ms)
(cd "$WORK/ref" && "$SS" "${RUN[@]}")
REF_MS=$(($(now_ms) - t0))
echo "reference run: $REF_MS ms; $(ls -d "$WORK"/ref/run/checkpoint-* | wc -l) checkpoints kept"

R=0
draw() { R=$(((RANDOM << 15 | RANDOM) % $1)); } # R uniform in [0, $1); no subshell: the seed holds
RANDOM=$SEED

alive() { # alive PID: running and not yet a zombie (no fork: this runs in a polling loop)
    local st
    [ -r "/proc/$1/stat" ] && read -r st <"/proc/$1/stat" 2>/dev/null || return 1
    st=${st##*) }
    [ "${st:0:1}" != Z ]
}

# kill_at PLAN: start (or resume) the run in the background and SIGKILL it as PLAN says:
#   time:MS           after MS milliseconds
#   glob:MS:SPIN:PAT  after MS milliseconds, then as soon as a path matching PAT (relative to the
#                     trial folder) exists, after SPIN empty loop turns
# Sets KILLED (1 when the kill came before the run ended by itself) and HIT (what was caught).
kill_at() {
    local plan=$1 kind ms spin pat pid f k rc=0
    shift
    IFS=: read -r kind ms spin pat <<<"$plan"
    "$SS" "${RUN[@]}" "$@" >/dev/null 2>"err.log" & # a simple command: $! is ss itself
    pid=$!
    sleep "$(printf '0.%03d' $((ms % 1000)))"
    [ "$ms" -lt 1000 ] || sleep $((ms / 1000))
    HIT="at ${ms} ms"
    if [ "$kind" = glob ]; then
        HIT="not caught (the run ended first)"
        while alive $pid; do
            for f in $pat; do
                if [ -e "$f" ]; then
                    for ((k = 0; k < spin; k++)); do :; done
                    HIT="$f appeared"
                    break 2
                fi
            done
        done
    fi
    KILLED=0
    if alive $pid; then
        kill -KILL $pid 2>/dev/null && KILLED=1
    fi
    wait $pid 2>/dev/null || rc=$? # (no "Killed" line from bash)
    if [ $KILLED = 1 ] && [ $rc -ne 137 ] && [ $rc -ne 0 ]; then
        echo "run exited with status $rc before the kill: $(cat err.log)"
        return 1
    fi
    [ $KILLED = 1 ] || [ $rc -eq 0 ] || { echo "run failed with status $rc: $(cat err.log)"; return 1; }
    return 0
}

# after_kill: the run directory must load; report what a kill left behind
after_kill() {
    local left
    left=$(find run -name '*.tmp' 2>/dev/null | sort | tr '\n' ' ')
    [ -z "$left" ] || { DURING=$((DURING + 1)); echo "    left behind: $left"; }
    if [ -d run ]; then
        "$WORK/ckpt_verify" run >verify.log 2>&1 || { echo "    $(grep -v '^OK' verify.log)"; return 1; }
        echo "    $(tail -n 1 verify.log)"
    fi
}

# same_as_ref: the finished run equals the uninterrupted one
same_as_ref() {
    local ref=$WORK/ref/run f
    diff <(cd "$ref" && find . | sort) <(cd run && find . | sort) >files.diff ||
        { echo "    files differ from the reference: $(tr '\n' ' ' <files.diff)"; return 1; }
    for f in $(cd "$ref" && find . -type f | sort); do
        case $f in
        ./metrics.jsonl)
            diff <(sed -E 's/, "tokens_per_s": [0-9.e+-]+, "samples_per_s": [0-9.e+-]+//' "$ref/$f") \
                <(sed -E 's/, "tokens_per_s": [0-9.e+-]+, "samples_per_s": [0-9.e+-]+//' "run/$f") >/dev/null ||
                { echo "    $f differs"; return 1; } ;;
        ./metrics.csv)
            diff <(cut -d, -f1-5,8- "$ref/$f") <(cut -d, -f1-5,8- "run/$f") >/dev/null ||
                { echo "    $f differs"; return 1; } ;;
        *) cmp -s "$ref/$f" "run/$f" || { echo "    $f differs"; return 1; } ;;
        esac
    done
}

modes=(time ckpt-dir ckpt-file ckpt-commit time-twice resume-early)
pass=0 fail=0 DURING=0 killed_total=0
failed=()
for ((trial = 1; trial <= TRIALS; trial++)); do
    mode=${modes[$(((trial - 1) % ${#modes[@]}))]}
    # every trial draws the same four numbers, so ONLY=N replays trial N's plan
    draw $((REF_MS + REF_MS / 10)); t1=$R
    draw $((REF_MS * 7 / 10)); t2=$R
    draw 150; spin=$R
    draw 400; t3=$R
    case $mode in
    time) plans=("time:$t1") ;;
    ckpt-dir) plans=("glob:$t2:0:run/checkpoint-*.tmp") ;;
    ckpt-file) plans=("glob:$t2:$spin:run/checkpoint-*.tmp/*.safetensors.tmp") ;;
    ckpt-commit) plans=("glob:$t2:0:run/checkpoint-*.tmp/optimizer.safetensors") ;;
    time-twice) plans=("time:$t2" "time:$t1") ;;         # kill the resumed run too
    resume-early) plans=("time:$t1" "time:$((t3 / 4))") ;; # ... while it loads and rewrites logs
    esac
    [ "$ONLY" = 0 ] || [ "$ONLY" = "$trial" ] || continue
    dir=$WORK/trial-$trial
    mkdir -p "$dir"
    cd "$dir"
    echo "trial $trial: $mode, plan ${plans[*]}"
    ok=1
    resume=()
    for plan in "${plans[@]}"; do
        if ! kill_at "$plan" "${resume[@]}"; then ok=0; break; fi
        echo "    killed: $([ $KILLED = 1 ] && echo yes || echo "no (finished)"), $HIT"
        killed_total=$((killed_total + KILLED))
        after_kill || { ok=0; break; }
        resume=(--resume)
    done
    if [ $ok = 1 ]; then
        if "$SS" "${RUN[@]}" --resume >resume.log 2>&1; then
            [ -z "$(find run -name '*.tmp')" ] || { echo "    *.tmp left after the resumed run"; ok=0; }
            [ $ok = 0 ] || same_as_ref || ok=0
        else
            echo "    --resume failed: $(cat resume.log)"
            ok=0
        fi
    fi
    cd "$WORK"
    if [ $ok = 1 ]; then
        pass=$((pass + 1))
        echo "PASS trial $trial ($mode)"
        rm -rf "$dir"
    else
        fail=$((fail + 1))
        failed+=("$trial")
        echo "FAIL trial $trial ($mode): replay with SEED=$SEED ONLY=$trial; left in $dir"
    fi
done
echo "kill_resume: $pass passed, $fail failed; $killed_total kills, $DURING of them inside a checkpoint" \
    "write or removal (a *.tmp left behind); SEED=$SEED; $(($(date +%s) - start_all)) s"
if [ "$ONLY" = 0 ] && [ "$DURING" -lt 3 ]; then
    echo "FAIL fewer than 3 kills landed inside a checkpoint write: the test did not test that"
    fail=$((fail + 1))
fi
[ $fail -eq 0 ] || { echo "failed trials: ${failed[*]:-}"; exit 1; }
