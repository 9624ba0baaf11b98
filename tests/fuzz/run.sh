#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS BUILD_DIR TARGET... - run each built fuzz target (BUILD_DIR/fuzz_TARGET)
# for SECONDS on a scratch copy of its seeds (tests/fuzz/corpus/TARGET is never written), one
# after the other at nice 10, and print one line per target: executions, executions per second,
# seconds, and whether it found anything. A crash, leak, sanitizer report or failed property
# leaves the input in BUILD_DIR/TARGET-crash-* (or -leak-, -timeout-, -oom-) and the log in BUILD_DIR/TARGET.log; the exit
# status is then 1. Called by `make fuzz` (tests/fuzz/fuzz.mk).
set -u
cd "$(dirname "$0")/../.."
secs=$1
bin=$2
shift 2
failed=()
printf '%-12s %12s %8s %7s  %s\n' target executions exec/s seconds result
for t in "$@"; do
    work="$bin/work/$t"
    log="$bin/$t.log"
    rm -rf "$work" "$bin/$t"-crash-* "$bin/$t"-leak-* "$bin/$t"-timeout-* "$bin/$t"-oom-*
    mkdir -p "$work/corpus"
    cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
    start=$(date +%s)
    nice -n 10 "$bin/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=30 \
        -rss_limit_mb=2048 -artifact_prefix="$bin/$t-" "$work/corpus" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FOUND (exit $rc): $(ls "$bin/$t"-crash-* "$bin/$t"-leak-* "$bin/$t"-timeout-* \
            "$bin/$t"-oom-* 2>/dev/null | head -n 1)"
        failed+=("$t")
    fi
    printf '%-12s %12s %8s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$took" "$result"
done
for t in "${failed[@]}"; do
    printf '\n--- %s (%s) ---\n' "$t" "$bin/$t.log"
    grep -E -A 12 'FUZZ CHECK FAILED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' \
        "$bin/$t.log" | head -n 40
done
[ ${#failed[@]} -eq 0 ]
