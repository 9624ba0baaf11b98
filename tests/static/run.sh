#!/usr/bin/env bash
# tests/static/run.sh - static checks and memcheck (`make check-static`):
#     bash tests/static/run.sh WORK [cppcheck] [clang-tidy] [valgrind]     (default: all three)
# WORK is a scratch folder (emptied first). Run from anywhere; paths are the repository's.
#   cppcheck    subspace.h through tests/static/ss_impl.c in four configurations (plain, _OPENMP,
#               SS_USE_CBLAS, SS_NO_STDIO) and every tools/*.c, --enable=warning,performance,
#               portability; suppressions, each with its reason: tests/static/cppcheck.supp.
#   clang-tidy  clang-tidy-14 with the repository's .clang-tidy (checks chosen there, with the
#               reasons for those left out) on the same files; single false positives, with
#               reasons, in tests/static/clang-tidy.supp ("file | check | text of the line").
#   valgrind    memcheck (--leak-check=full --error-exitcode=1) on a short `ss pretrain` (and its
#               --resume), `ss finetune`, and `ss synth-mla` + `ss svd`, built with -O1 -g.
# A tool that is not installed is a SKIP with the reason, never a silent pass. Prints PASS, FAIL
# or SKIP per check and a summary; exits non-zero when a check failed.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bash tests/static/run.sh WORK [cppcheck] [clang-tidy] [valgrind]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$1
shift
parts=${*:-cppcheck clang-tidy valgrind}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
start_all=$(date +%s)
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cd "$ROOT"
pass=0 fail=0 skip=0
failed=()
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1${2:+: $2}"; }
skipped() { skip=$((skip + 1)); echo "SKIP $1: $2"; }
have() { command -v "$1" >/dev/null 2>&1; }
TOOLS=$(printf "%s\n" tools/*.c | grep -v gen_unicode) # the Makefile's list

# ---- cppcheck ---------------------------------------------------------------------------------
run_cppcheck() {
    local t0 names=() pids=() name rc i
    t0=$(date +%s)
    if ! have cppcheck; then
        skipped "cppcheck" "cppcheck is not installed (apt-get install cppcheck)"
        return
    fi
    cc_one() { # cc_one NAME ARGS...: one cppcheck run in the background, its report in WORK/NAME
        local name=$1
        shift
        cppcheck --std=c99 --enable=warning,performance,portability --error-exitcode=1 --quiet \
            --suppressions-list=tests/static/cppcheck.supp -D__GNUC__ \
            --template='{file}:{line}: {severity}/{id}: {message}' "$@" >"$WORK/$name.out" 2>&1 &
        names+=("$name")
        pids+=($!)
        if [ ${#pids[@]} -ge "$JOBS" ]; then # JOBS at a time: wait for the oldest
            wait "${pids[-$JOBS]}" && echo 0 >"$WORK/${names[-$JOBS]}.rc" || echo $? >"$WORK/${names[-$JOBS]}.rc"
        fi
    }
    cc_one cppcheck-lib-plain tests/static/ss_impl.c
    cc_one cppcheck-lib-openmp -D_OPENMP tests/static/ss_impl.c
    cc_one cppcheck-lib-cblas -DSS_USE_CBLAS tests/static/ss_impl.c
    cc_one cppcheck-lib-no-stdio -DSS_NO_STDIO tests/static/ss_impl.c
    # shellcheck disable=SC2086 # TOOLS is a list of paths without spaces
    cc_one cppcheck-tools $TOOLS
    cc_one cppcheck-gen-unicode -DSS_GEN_UNICODE tools/gen_unicode.c
    for ((i = 0; i < ${#pids[@]}; i++)); do
        [ -f "$WORK/${names[$i]}.rc" ] && continue
        wait "${pids[$i]}" && echo 0 >"$WORK/${names[$i]}.rc" || echo $? >"$WORK/${names[$i]}.rc"
    done
    for name in "${names[@]}"; do
        rc=$(cat "$WORK/$name.rc")
        if [ "$rc" = 0 ] && ! grep -q . "$WORK/$name.out"; then
            ok "$name"
        else
            bad "$name" "$(wc -l <"$WORK/$name.out") findings (status $rc):"
            sed 's/^/    /' "$WORK/$name.out"
        fi
    done
    echo "    cppcheck: $(($(date +%s) - t0)) s ($(cppcheck --version))"
}

# ---- clang-tidy -------------------------------------------------------------------------------
run_clang_tidy() {
    local t0 tidy="" f raw kept stale
    t0=$(date +%s)
    for f in clang-tidy-14 clang-tidy; do have $f && { tidy=$f; break; }; done
    if [ -z "$tidy" ]; then
        skipped "clang-tidy" "clang-tidy(-14) is not installed (apt-get install clang-tidy-14)"
        return
    fi
    raw=$WORK/clang-tidy.raw
    : >"$raw"
    # one file per job; gen_unicode.c compiles to nothing without SS_GEN_UNICODE
    # shellcheck disable=SC2086
    printf '%s\n' tests/static/ss_impl.c $TOOLS tools/gen_unicode.c |
        xargs -P "$JOBS" -I{} sh -c 'f={}; d=""; [ "$f" = tools/gen_unicode.c ] && d=-DSS_GEN_UNICODE
            '"$tidy"' --quiet "$f" -- -std=c99 $d >"'"$WORK"'/tidy.$(echo "$f" | tr / _).out" 2>&1
            echo $? >"'"$WORK"'/tidy.$(echo "$f" | tr / _).rc"'
    for f in "$WORK"/tidy.*.out; do
        if [ "$(cat "${f%.out}.rc")" != 0 ] && ! grep -q 'warning:' "$f"; then
            bad "clang-tidy: $(basename "$f")" "did not run: $(head -n 3 "$f")"
        fi
        grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$f" >>"$raw" || true
    done
    # paths relative to the repository, each finding once
    sed -E "s|^$ROOT/||; s|^tools/\.\./||; s|^tests/static/\.\./\.\./||" "$raw" | sort -u >"$WORK/clang-tidy.all"
    # drop the listed false positives: "file | check | text" where text is part of the line
    local sfiles=() schecks=() stexts=() used=() sf sc st i
    trim() { local x=$1; x=${x#"${x%%[! ]*}"}; TRIMMED=${x%"${x##*[! ]}"}; }
    while IFS='|' read -r sf sc st; do
        trim "$sf"; sfiles+=("$TRIMMED")
        trim "$sc"; schecks+=("$TRIMMED")
        trim "$st"; stexts+=("$TRIMMED")
        used+=(0)
    done < <(grep -vE '^[[:space:]]*(#|$)' tests/static/clang-tidy.supp)
    kept=$WORK/clang-tidy.kept
    : >"$kept"
    while IFS= read -r line; do
        local file lno check code matched=0
        file=${line%%:*}
        lno=${line#*:}
        lno=${lno%%:*}
        check=${line##*\[}
        check=${check%]}
        code=$(sed -n "${lno}p" "$file" 2>/dev/null || true)
        for ((i = 0; i < ${#sfiles[@]}; i++)); do
            if [ "${sfiles[$i]}" = "$file" ] && [[ ",$check," == *",${schecks[$i]},"* ]] &&
                [ -n "${stexts[$i]}" ] && [[ "$code" == *"${stexts[$i]}"* ]]; then
                matched=1
                used[$i]=1
                break
            fi
        done
        [ $matched = 1 ] || echo "$line" >>"$kept"
    done <"$WORK/clang-tidy.all"
    if [ -s "$kept" ]; then
        bad "clang-tidy" "$(wc -l <"$kept") findings:"
        sed 's/^/    /' "$kept"
    else
        ok "clang-tidy: subspace.h and tools/*.c clean ($(wc -l <"$WORK/clang-tidy.all") findings, all listed false positives)"
    fi
    stale=""
    for ((i = 0; i < ${#sfiles[@]}; i++)); do
        [ "${used[$i]}" = 1 ] || stale+=$'\n'"      ${sfiles[$i]} | ${schecks[$i]} | ${stexts[$i]}"
    done
    [ -z "$stale" ] || printf '    NOTE entries of tests/static/clang-tidy.supp that matched nothing:%s\n' "$stale"
    echo "    clang-tidy: $(($(date +%s) - t0)) s ($($tidy --version | grep -m1 -i version | xargs))"
}

# ---- valgrind ---------------------------------------------------------------------------------
run_valgrind() {
    local t0 SS V D
    t0=$(date +%s)
    if ! have valgrind; then
        skipped "valgrind" "valgrind is not installed (apt-get install valgrind)"
        return
    fi
    SS=$WORK/ss-g
    # shellcheck disable=SC2086
    cc -std=c99 -O1 -g -o "$SS" $TOOLS -lm
    D=$WORK/vg
    "$SS" data --out "$D/data" --train 300 --valid 40 --cls-train 200 --cls-dev 40 --quiet
    V=$(wc -l <"$D/data/vocab.txt")
    vg() { # vg NAME COMMAND...: memcheck clean, and the command itself succeeds
        local name=$1 rc=0
        shift
        valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,possible \
            --errors-for-leak-kinds=definite,possible --log-file="$WORK/$name.vg" \
            "$@" >"$WORK/$name.out" 2>&1 || rc=$?
        if [ $rc -eq 0 ]; then
            ok "valgrind: $name ($(grep -o 'ERROR SUMMARY: [0-9]* errors' "$WORK/$name.vg"))"
        elif [ $rc -eq 99 ]; then
            bad "valgrind: $name" "memcheck errors:"
            grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in)|ERROR SUMMARY' \
                "$WORK/$name.vg" | head -n 20 | sed 's/^/    /'
        else
            bad "valgrind: $name" "the command failed (status $rc): $(tail -n 3 "$WORK/$name.out")"
        fi
    }
    local pre=(pretrain --config configs/tiny.json --train "$D/data/train.txt" --valid "$D/data/valid.txt"
        --vocab "$D/data/vocab.txt" --out "$D/run" --quiet --set model.vocab_size="$V"
        --set pre_train.train_batch_size=4 --set pre_train.eval_batch_size=4
        --set pre_train.max_seq_length=32 --set pre_train.eval_steps=3 --set pre_train.logging_steps=3)
    vg "ss pretrain" "$SS" "${pre[@]}" --set pre_train.num_train_steps=6 --stop-after 3
    vg "ss pretrain --resume" "$SS" "${pre[@]}" --set pre_train.num_train_steps=6 --resume
    vg "ss finetune" "$SS" finetune --from "$D/run" --train "$D/data/cls_train.tsv" \
        --dev "$D/data/cls_dev.tsv" --out "$D/ft" --quiet --set fine_tune.epochs=0.2 \
        --set fine_tune.batch_size=4 --set fine_tune.max_length=32 --set fine_tune.eval_steps=5
    vg "ss synth-mla" "$SS" synth-mla --out "$D/m" --layers 1 --heads 4 --rank 5 --quiet
    vg "ss svd" "$SS" svd --model "$D/m" --out "$D/svd" --quiet
    vg "ss svd (own checkpoint)" "$SS" svd --model "$D/run/checkpoint-6" --out "$D/svd2" --quiet
    echo "    valgrind: $(($(date +%s) - t0)) s ($(valgrind --version))"
}

for part in $parts; do
    case $part in
    cppcheck) run_cppcheck ;;
    clang-tidy) run_clang_tidy ;;
    valgrind) run_valgrind ;;
    *) echo "unknown part '$part' (cppcheck, clang-tidy, valgrind)" >&2; exit 2 ;;
    esac
done
echo "static: $pass passed, $fail failed, $skip skipped; $(($(date +%s) - start_all)) s"
[ $fail -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
