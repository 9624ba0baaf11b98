#!/usr/bin/env bash
# tools/bench/soak.sh - a long training run, watched (by hand; not part of CI):
#     nice -n 10 bash tools/bench/soak.sh [SS] [WORK]        (defaults: build/ss, build/soak)
# `ss pretrain` of configs/tiny.json on the built-in data for STEPS updates (default 20,000; a
# checkpoint every 1,000, a log line every 100) while the resident set size (VmRSS of
# /proc/PID/status) is sampled every INTERVAL seconds (default 3) into WORK/rss.csv
# (seconds,rss_kb,update). Checks, each PASS or FAIL:
#   - the run ends with status 0 and reaches STEPS;
#   - every logged metric (loss, grad_norm, learning_rate, eval_loss, eval_accuracy) is finite;
#   - after the warm-up (the first 10% of the samples, at least 30 s) RSS stays in a band of
#     BAND_KB (default 4096 KB) and its least-squares slope over that time adds up to less than
#     DRIFT_KB (default 1024 KB): no leak, no growth with the number of updates.
# Prints the RSS curve's summary (min, max, mean after the warm-up, slope) and exits non-zero
# when a check failed. About 8 to 10 minutes on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SS=$(realpath "${1:-$ROOT/build/ss}")
WORK=${2:-$ROOT/build/soak}
STEPS=${STEPS:-20000}
INTERVAL=${INTERVAL:-3}
BAND_KB=${BAND_KB:-4096}
DRIFT_KB=${DRIFT_KB:-1024}
[ -x "$SS" ] || { echo "soak: no tool at $SS (make first)" >&2; exit 2; }
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
cd "$WORK"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

echo "soak: $("$SS" version); $STEPS updates of configs/tiny.json; RSS every $INTERVAL s"
"$SS" data --out data --train 20000 --valid 500 --cls-train 10 --cls-dev 10 --quiet
V=$(wc -l <data/vocab.txt)
start=$(date +%s)
"$SS" pretrain --config "$ROOT/configs/tiny.json" --train data/train.txt --valid data/valid.txt \
    --vocab data/vocab.txt --out run --quiet --set model.vocab_size="$V" \
    --set pre_train.num_train_steps="$STEPS" --set pre_train.eval_steps=1000 \
    --set pre_train.logging_steps=100 >run.log 2>&1 &
pid=$!
echo "seconds,rss_kb,update" >rss.csv
while kill -0 $pid 2>/dev/null; do
    read -r name rss < <(awk '/^Name:/ { n = $2 } /^VmRSS:/ { r = $2 } END { print n, r }' \
        "/proc/$pid/status" 2>/dev/null || true)
    [ -n "${rss:-}" ] || break # ended between the test and the read (or a zombie: no VmRSS)
    [ "$name" = "$(basename "$SS")" ] || { sleep 0.2; continue; } # not yet exec'd: the shell
    step=$(tail -n 1 run/metrics.jsonl 2>/dev/null | sed -n 's/^{"step": \([0-9]*\).*/\1/p' || true)
    echo "$(($(date +%s) - start)),$rss,${step:-0}" >>rss.csv
    sleep "$INTERVAL"
done
rc=0
wait $pid || rc=$?
elapsed=$(($(date +%s) - start))
last=$(grep -c '"loss"' run/metrics.jsonl || true)
if [ $rc -eq 0 ] && [ -d "run/checkpoint-$STEPS" ]; then
    ok "the run ended (status 0) with checkpoint-$STEPS after $elapsed s ($last log lines)"
else
    bad "the run: status $rc, $(tail -n 3 run.log)"
fi

# every metric finite: the JSONL numbers are printed with %.9g, so a NaN or an infinity would
# show as nan or inf
nonfinite=$(grep -ciE '": -?(nan|inf)' run/metrics.jsonl || true)
if [ "$nonfinite" = 0 ]; then
    ok "no non-finite value in $(wc -l <run/metrics.jsonl) metrics lines"
else
    bad "$nonfinite metrics lines hold a NaN or an infinity: $(grep -iE '": -?(nan|inf)' run/metrics.jsonl | head -n 2)"
fi

# the RSS curve after the warm-up
awk -F, -v band="$BAND_KB" -v drift="$DRIFT_KB" '
    BEGIN { n = 0 }
    NR > 1 { t[n] = $1; r[n] = $2; u[n] = $3; n++ }
    END {
        if (n < 10) { printf "FAIL only %d RSS samples\n", n; exit 1 }
        w = int(n / 10); while (w < n - 5 && t[w] < 30) w++  # warm-up: 10%, at least 30 s
        lo = 1e18; hi = 0; st = 0; sr = 0; stt = 0; str = 0; m = n - w
        for (i = w; i < n; i++) {
            if (r[i] < lo) lo = r[i]
            if (r[i] > hi) hi = r[i]
            st += t[i]; sr += r[i]; stt += t[i] * t[i]; str += t[i] * r[i]
        }
        mean = sr / m
        den = m * stt - st * st
        slope = den > 0 ? (m * str - st * sr) / den : 0   # KB per second
        span = t[n - 1] - t[w]
        printf "    RSS: %d samples over %d s; at start %d KB, after the warm-up (%d s, update %d): " \
               "min %d KB, max %d KB, mean %.0f KB, band %d KB; slope %+.2f KB/min " \
               "(%+.0f KB over %d s); final %d KB at update %d\n",
               n, t[n - 1], r[0], t[w], u[w], lo, hi, mean, hi - lo, slope * 60, slope * span,
               span, r[n - 1], u[n - 1]
        bad = 0
        if (hi - lo > band) { printf "FAIL RSS band %d KB after the warm-up exceeds %d KB\n", hi - lo, band; bad = 1 }
        else printf "PASS RSS stays within %d KB after the warm-up (limit %d KB)\n", hi - lo, band
        d = slope * span; if (d < 0) d = -d
        if (d > drift) { printf "FAIL RSS drifts %+.0f KB over %d s (limit %d KB)\n", slope * span, span, drift; bad = 1 }
        else printf "PASS RSS drift %+.0f KB over %d s (limit %d KB)\n", slope * span, span, drift
        exit bad
    }' rss.csv >rss.summary || true
cat rss.summary
pass=$((pass + $(grep -c '^PASS' rss.summary || true)))
fail=$((fail + $(grep -c '^FAIL' rss.summary || true)))
echo "soak: $pass passed, $fail failed; $elapsed s; samples in $WORK/rss.csv"
[ $fail -eq 0 ]
