#!/usr/bin/env bash
# tests/faults.sh - what `ss` does when the machine or the inputs let it down (`make check-faults`):
#     bash tests/faults.sh SS WORK
# SS is the tool, WORK a scratch folder (emptied first). Every check prints PASS, FAIL or SKIP
# (with the reason: only for a fault this machine cannot make), then a summary; the exit status
# is non-zero when a check failed.
#   1. A checkpoint write that fails (a file-size limit, `ulimit -f`; a full disk, a small tmpfs
#      when one can be mounted; ENOSPC from /dev/full) ends the run with a non-zero status and a
#      message naming the file; the previous checkpoint is still complete and loadable, no
#      half-written one is left, and a later --resume ends with the same weights as a run that
#      never failed.
#   2. A read-only run directory: the message names the path and the checkpoint stays intact.
#      chmod does not stop root, so as root the run is made by the user nobody (setpriv), or,
#      without setpriv, in a read-only bind mount; if neither can be had, SKIP says so.
#   3. Missing and truncated inputs (config, vocabulary, text, TSV, checkpoint, safetensors,
#      full_config.json) are refused with a non-zero status and a message naming the file; a
#      checkpoint that cannot be read stops --resume (it never silently starts over).
#   4. Allocation failure at every allocation site of model build, save and load, vocabulary
#      load and save, data sets and the SVD: tests/test_alloc_fail.c.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bash tests/faults.sh SS WORK" >&2; exit 2; }
SS=$(realpath "$1")
WORK=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
start_all=$(date +%s)
undo_mounts() { # a failed check must not leave a mount behind (or a folder rm cannot empty)
    local d
    for d in full ro ro_fresh; do
        if mountpoint -q "$WORK/$d" 2>/dev/null; then umount "$WORK/$d" || true; fi
    done
    chmod -R u+w "$WORK" 2>/dev/null || true
}
[ ! -d "$WORK" ] || undo_mounts
trap undo_mounts EXIT
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
cd "$WORK"
echo "faults: $("$SS" version); uid $(id -u)"

pass=0 fail=0 skip=0
failed=()
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1: $2"; }
skipped() { skip=$((skip + 1)); echo "SKIP $1: $2"; }

# expect NAME PATTERN COMMAND...: COMMAND fails with a status in 1..127 (an error, not a signal)
# and its stderr matches the extended regex PATTERN. Returns 0 when so (and prints nothing).
expect() {
    local name=$1 pat=$2 rc=0
    shift 2
    "$@" >"$WORK/out.log" 2>"$WORK/err.log" || rc=$?
    if [ $rc -eq 0 ]; then
        bad "$name" "accepted (exit status 0)"
        return 1
    elif [ $rc -ge 128 ]; then
        bad "$name" "ended by a signal (status $rc), message: $(head -c 300 "$WORK/err.log")"
        return 1
    elif ! grep -qE -- "$pat" "$WORK/err.log"; then
        bad "$name" "status $rc but the message lacks /$pat/: $(head -c 300 "$WORK/err.log")"
        return 1
    fi
    echo "    $(head -n 1 "$WORK/err.log")"
}
check() { # check NAME PATTERN COMMAND...: expect, then PASS
    expect "$@" && ok "$1"
}
limited() { (ulimit -f "$1" && shift && "$@"); } # limited KB COMMAND...: under a file-size limit

cc -std=c99 -O2 -o ckpt_verify "$ROOT/tests/ckpt_verify.c" -lm
"$SS" data --out data --train 2000 --valid 100 --cls-train 300 --cls-dev 100 --quiet
V=$(wc -l <data/vocab.txt)
CFG=$ROOT/configs/tiny.json
# 60 updates, a checkpoint every 20: checkpoint-20 holds model.safetensors (~580 KB) and
# optimizer.safetensors (~1.2 MB)
pre() { # pre OUT [args...]
    local out=$1
    shift
    "$SS" pretrain --config "$CFG" --train "$WORK/data/train.txt" --valid "$WORK/data/valid.txt" \
        --vocab "$WORK/data/vocab.txt" --out "$out" --quiet --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=60 --set pre_train.eval_steps=20 \
        --set pre_train.logging_steps=10 "$@"
}
pre ref
pre base --stop-after 20
[ -d base/checkpoint-20 ] && [ ! -d base/checkpoint-40 ] || { echo "FAIL setup: no base run"; exit 1; }

intact() { # intact RUN: checkpoint-20 as written, loadable, and nothing newer or half-written
    local run=$1 why=""
    cmp -s "$run/checkpoint-20/model.safetensors" base/checkpoint-20/model.safetensors &&
        cmp -s "$run/checkpoint-20/optimizer.safetensors" base/checkpoint-20/optimizer.safetensors ||
        why="checkpoint-20 changed"
    "$WORK/ckpt_verify" "$run" >verify.log 2>&1 || why="$why; $(grep -v '^OK' verify.log | tr '\n' ' ')"
    grep -q '^checkpoints: 1, bad: 0, leftovers: 0$' verify.log ||
        why="$why; $(tail -n 1 verify.log) (expected checkpoint-20 alone, no *.tmp)"
    [ -z "$(find "$run" -name '*.tmp')" ] || why="$why; left: $(find "$run" -name '*.tmp' | tr '\n' ' ')"
    [ -z "$why" ] || { echo "$why"; return 1; }
}
recovers() { # recovers RUN: --resume, no fault, gives the uninterrupted run's final weights
    pre "$1" --resume >/dev/null 2>resume.log || { echo "--resume failed: $(cat resume.log)"; return 1; }
    cmp -s "$1/checkpoint-60/model.safetensors" ref/checkpoint-60/model.safetensors &&
        cmp -s "$1/checkpoint-60/optimizer.safetensors" ref/checkpoint-60/optimizer.safetensors ||
        { echo "final weights differ from the uninterrupted run's"; return 1; }
}
write_fault() { # write_fault NAME RUN PATTERN COMMAND...: fails naming the file, intact, recovers
    local name=$1 run=$2 pat=$3 why
    shift 3
    expect "$name" "$pat" "$@" || return 0
    if ! why=$(intact "$run"); then bad "$name" "after the failure: $why"; return 0; fi
    if ! why=$(recovers "$run"); then bad "$name" "$why"; return 0; fi
    ok "$name (checkpoint-20 intact; the resumed run ends bit-identical)"
}

echo "-- 1. checkpoint writes that fail"
cp -r base fsize1
write_fault "file-size limit hit in optimizer.safetensors (ulimit -f 800)" fsize1 \
    'fsize1/checkpoint-40\.tmp/optimizer\.safetensors\.tmp: write failed.*File too large' \
    limited 800 pre fsize1 --resume
cp -r base fsize2
write_fault "file-size limit hit in model.safetensors (ulimit -f 100)" fsize2 \
    'fsize2/checkpoint-40\.tmp/model\.safetensors\.tmp: write failed.*File too large' \
    limited 100 pre fsize2 --resume

# a full disk: a tmpfs holding the run with ~880 KB to spare (model.safetensors fits, the
# optimizer's 1.2 MB does not)
mkdir -p full
if mount_err=$(mount -t tmpfs -o size=2600k tmpfs full 2>&1); then
    cp -r base full/run
    expect "disk full in a checkpoint (2.6 MB tmpfs)" \
        'full/run/checkpoint-40\.tmp/optimizer\.safetensors\.tmp: write failed.*No space left on device' \
        pre full/run --resume && {
        if why=$(intact full/run); then
            cp -r full/run fullcopy # room again: the same run resumes on the ordinary disk
            if why=$(recovers fullcopy); then
                ok "disk full in a checkpoint (2.6 MB tmpfs): checkpoint-20 intact; the resumed run ends bit-identical"
            else bad "disk full in a checkpoint" "$why"; fi
        else bad "disk full in a checkpoint" "after the failure: $why"; fi
    }
    umount full
else
    skipped "disk full in a checkpoint (tmpfs)" "cannot mount a tmpfs here (${mount_err//$'\n'/ }); the \
file-size-limit checks above take the same write-error path, and ENOSPC itself is checked next"
fi
# ENOSPC without a mount: the temporary files of the run's first writes are links to /dev/full
if [ -c /dev/full ]; then
    mkdir -p devfull
    ln -s /dev/full devfull/vocab.txt.tmp
    ln -s /dev/full devfull/config.json.tmp
    check "no space left for the run's first files (/dev/full)" \
        'devfull/(vocab\.txt|config\.json)\.tmp: write failed.*No space left on device' pre devfull
else
    skipped "no space left (/dev/full)" "/dev/full is missing on this machine"
fi

echo "-- 2. a read-only run directory"
cp -r base ro
mkdir -p ro_fresh
chmod -R a-w ro ro_fresh
ro_how=""
if [ "$(id -u)" != 0 ]; then
    ro_how="chmod a-w"
    as_ro() { "$@"; }
elif command -v setpriv >/dev/null 2>&1 && chmod a+rx "$WORK" && # nobody reads, writes nothing
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        sh -c "test -x '$SS' && test -r '$WORK/data/train.txt' && test -r '$CFG'" 2>/dev/null; then
    ro_how="chmod a-w, run as nobody (root ignores chmod)"
    as_ro() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
elif mount --bind ro ro 2>/dev/null && mount -o remount,ro,bind ro 2>/dev/null &&
    mount --bind ro_fresh ro_fresh 2>/dev/null && mount -o remount,ro,bind ro_fresh 2>/dev/null; then
    ro_how="a read-only bind mount (root ignores chmod)"
    as_ro() { "$@"; }
fi
if [ -z "$ro_how" ]; then
    skipped "read-only run directory" "running as root, which chmod does not stop, and neither \
setpriv (to run as nobody, who must be able to read the tool and the data) nor a read-only bind \
mount is available"
else
    echo "    made read-only by: $ro_how"
    if expect "read-only run directory: --resume" \
        '(ro/[a-z_.]+\.tmp|ro/checkpoint-40\.tmp).*(Permission denied|Read-only file system)' \
        as_ro "$SS" pretrain --config "$CFG" --train data/train.txt --valid data/valid.txt \
        --vocab data/vocab.txt --out ro --quiet --set model.vocab_size="$V" \
        --set pre_train.num_train_steps=60 --set pre_train.eval_steps=20 --resume; then
        if why=$(intact ro); then ok "read-only run directory: --resume refused naming the file; checkpoint-20 intact"
        else bad "read-only run directory" "after the failure: $why"; fi
    fi
    check "read-only run directory: a fresh run" \
        'ro_fresh/(vocab\.txt|config\.json)\.tmp.*(Permission denied|Read-only file system)' \
        as_ro "$SS" pretrain --config "$CFG" --train data/train.txt --vocab data/vocab.txt \
        --out ro_fresh --quiet --set model.vocab_size="$V" --set pre_train.num_train_steps=5
    for d in ro ro_fresh; do if mountpoint -q $d 2>/dev/null; then umount $d; fi; done
fi
chmod -R u+w ro ro_fresh

echo "-- 3. missing and truncated inputs"
head -c 300 "$CFG" >trunc_config.json
check "config missing" 'nope\.json: cannot open' pre x --config nope.json
check "config truncated" 'trunc_config\.json:[0-9]+:[0-9]+' pre x --config "$WORK/trunc_config.json"
head -c 20 data/vocab.txt >trunc_vocab.txt
check "vocabulary missing" 'nope\.txt: cannot open' pre x --vocab nope.txt
check "vocabulary truncated (inside the special tokens)" 'trunc_vocab\.txt: missing special token' \
    pre x --vocab "$WORK/trunc_vocab.txt"
echo "    NOTE a vocabulary or text cut after a complete line is a valid shorter file: nothing to detect"
check "training text missing" 'nope\.txt: cannot open' pre x --train nope.txt
check "validation text missing" 'nope_valid\.txt: cannot open' pre x --valid nope_valid.txt
ft() { "$SS" finetune --quiet --set fine_tune.epochs=0.1 "$@"; }
head -c 25 data/cls_train.tsv >trunc_row.tsv
head -c 10 data/cls_train.tsv >trunc_header.tsv
check "TSV missing" 'nope\.tsv: cannot open' ft --from ref --train nope.tsv --dev data/cls_dev.tsv --out ftx
check "TSV truncated inside a row" 'trunc_row\.tsv:2: 1 tab-separated fields' \
    ft --from ref --train trunc_row.tsv --dev data/cls_dev.tsv --out ftx
check "TSV truncated inside the header" "trunc_header\\.tsv:1: the header needs" \
    ft --from ref --train trunc_header.tsv --dev data/cls_dev.tsv --out ftx
check "dev TSV missing" 'nope_dev\.tsv: cannot open' \
    ft --from ref --train data/cls_train.tsv --dev nope_dev.tsv --out ftx
best=$(sed -n 's/.*"best_checkpoint": "\(checkpoint-[0-9]*\)".*/\1/p' ref/full_config.json)
cp -r ref ck1 && rm -rf "ck1/$best"
check "fine-tuning: best checkpoint missing" "ck1/$best/model\\.safetensors: cannot open" \
    ft --from ck1 --train data/cls_train.tsv --dev data/cls_dev.tsv --out ftx
cp -r ref ck2 && truncate -s 300000 "ck2/$best/model.safetensors"
check "fine-tuning: best checkpoint truncated" "ck2/$best/model\\.safetensors: .*(do not fit|shorter|runs past)" \
    ft --from ck2 --train data/cls_train.tsv --dev data/cls_dev.tsv --out ftx
cp -r ref ck3 && rm ck3/full_config.json
check "fine-tuning: full_config.json missing" 'ck3/full_config\.json: cannot open' \
    ft --from ck3 --train data/cls_train.tsv --dev data/cls_dev.tsv --out ftx
cp -r ref ck4 && truncate -s 200 ck4/full_config.json
check "fine-tuning: full_config.json truncated" 'ck4/full_config\.json.*:[0-9]+:[0-9]+' \
    ft --from ck4 --train data/cls_train.tsv --dev data/cls_dev.tsv --out ftx
# --resume must stop at a checkpoint it cannot read, not start again from the beginning
cp -r base rs1 && truncate -s 300000 rs1/checkpoint-20/model.safetensors
check "--resume: model.safetensors truncated" 'rs1/checkpoint-20/model\.safetensors' pre rs1 --resume
cp -r base rs2 && truncate -s 500000 rs2/checkpoint-20/optimizer.safetensors
check "--resume: optimizer.safetensors truncated" 'rs2/checkpoint-20/optimizer\.safetensors' pre rs2 --resume
cp -r base rs3 && rm rs3/checkpoint-20/optimizer.safetensors
check "--resume: optimizer.safetensors missing" 'rs3/checkpoint-20/optimizer\.safetensors: cannot open' \
    pre rs3 --resume
cp -r base rs4 && : >rs4/checkpoint-20/model.safetensors
check "--resume: model.safetensors empty" 'rs4/checkpoint-20/model\.safetensors' pre rs4 --resume
cp ref/checkpoint-60/model.safetensors whole.safetensors
head -c 300000 whole.safetensors >trunc.safetensors
head -c 6 whole.safetensors >six.safetensors
check "svd: safetensors truncated in the data" 'trunc\.safetensors: .*do not fit' \
    "$SS" svd --model trunc.safetensors --out sv --quiet
check "svd: safetensors truncated in the header length" 'six\.safetensors: the file is 6 bytes' \
    "$SS" svd --model six.safetensors --out sv --quiet
check "svd: checkpoint missing" 'nope\.safetensors' "$SS" svd --model nope.safetensors --out sv --quiet

echo "-- 4. allocation failure at every site (tests/test_alloc_fail.c)"
mkdir -p alloc/build/test && ln -sfn "$ROOT/configs" alloc/configs
if cc -std=c99 -Wall -Wextra -pedantic -O2 -o alloc/test_alloc_fail "$ROOT/tests/test_alloc_fail.c" -lm &&
    (cd alloc && ./test_alloc_fail >log 2>&1); then
    ok "allocation failures: $(tail -n 1 alloc/log)"
else
    bad "allocation failures" "$(grep -v '^OK' alloc/log 2>/dev/null | tail -n 5 | tr '\n' ' ')"
fi

echo "faults: $pass passed, $fail failed, $skip skipped; $(($(date +%s) - start_all)) s"
[ $fail -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
