#!/usr/bin/env bash
# tools/bench/torch_compare.sh - subspace.h's training update against PyTorch's, same model, same
# machine, same run.
#
# WHAT
#   For each seed config (mha_rope_baseline, best_mla, best_mla-o) and each thread count it times
#   one full MLM training update (forward, backward, gradient clipping at 1.0, AdamW) at batch
#   32 x 128 with ~15% of positions scored and the tied 256 x 30522 head on those rows only:
#     (a) PyTorch: /usr/bin/python3 tools/bench/torch_step.py (our own PyTorch model of SPEC.md,
#         see its header), in the TUNED environment below; with --as-installed also in the
#         caller's environment untouched ("as installed"), to show what the tuning buys;
#     (b) subspace.h: build/omp/ss bench train --config C --threads T --reps STEPS.
#   The runs of one (config, threads) cell follow each other, alternating, so both see the same
#   machine load; with --rounds R the cell is measured R times, the order reversed every other
#   round, and the table gives the median over rounds. Each run is its own process, so its peak
#   RSS (getrusage ru_maxrss) is its own. It prints a Markdown table: config, threads, PyTorch
#   tokens/s, ms/update, peak RSS, ss tokens/s, ms/update, peak RSS, and ss/PyTorch (ratio of
#   tokens/s: above 1 means ss is faster). Before timing it checks that both implementations have
#   the same parameters: torch_step.py --params-only against `ss params`, name by name.
#
# HOW
#   tools/bench/torch_compare.sh                         threads "1 2", 3 warm-up + 10 timed
#   tools/bench/torch_compare.sh --threads "1 2 4 8 16"  (the 16-core device machine)
#   options: --threads "LIST"  --configs "a.json b.json"  --warmup N  --steps N  --rounds N
#            --as-installed  --foreach (AdamW foreach=True in PyTorch)  --mask-8010
#            --ss-wait-policy P (OMP_WAIT_POLICY for the ss runs; default: the caller's)
#            --no-install  --no-build  --out DIR (default build/bench/torch_compare-DATE)
#            --python PATH (a python3 with torch; default /usr/bin/python3)
#            --no-jemalloc (where libjemalloc2 cannot be installed, such as the device machine
#            with its own PyTorch: the tuned runs then go without the preload, and say so)
#   It installs what is missing (apt-get install -y --no-install-recommends python3-torch
#   libjemalloc2: Debian bookworm, torch 1.13; needs root, or sudo) and builds ss with OpenMP
#   (make OPENMP=1 BUILD=build/omp build/omp/ss). Raw results: DIR/results.jsonl (one JSON object
#   per run), DIR/log.txt (everything the runs printed), DIR/table.md, and DIR/scaling.svg (tokens/s
#   against threads, drawn by tools/bench/scaling_plot.c from results.jsonl).
#   A benchmark run by hand (or on the device machine); never part of `make test`. With about
#   10 s per update at 1 thread, the default run takes 15 to 25 minutes on 2 cores.
#
# THE TUNED ENVIRONMENT (PyTorch) and why
#   - OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset: Debian's torch does its matrix products in the
#     system OpenBLAS (DYNAMIC_ARCH build). Left alone it detects the CPU and picks its kernels and
#     cache blocking; an override inherited from the environment (set for some other program,
#     or to pin results) can force an older core's kernels or a wrong blocking. The JSON line
#     records the core OpenBLAS chose (blas_core).
#   - LD_PRELOAD=libjemalloc.so.2, MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1: every update
#     allocates and frees activations of 4 to 17 MB each; glibc malloc serves blocks that large
#     with mmap and returns them with munmap, so each update faults in (and the kernel zeroes)
#     its whole working set again - seconds of system time per update here. jemalloc with decay
#     disabled keeps freed pages mapped and reuses them: no faults after warm-up. The price is
#     that freed memory is not returned, which can raise the peak RSS a little.
#   - OMP_WAIT_POLICY=PASSIVE: torch's OpenMP threads (elementwise ops, softmax) and OpenBLAS's
#     own pthreads (the GEMMs) are two pools on the same cores; libgomp's default spin-wait after
#     each parallel region keeps cores busy that the other pool needs (and, on a shared machine,
#     that other users need). Passive waiting sleeps instead.
#   - torch.set_num_threads(T), OMP_NUM_THREADS=T, OPENBLAS_NUM_THREADS=T (also set through
#     openblas_set_num_threads by torch_step.py): torch.set_num_threads does not reach OpenBLAS's
#     pool, which would otherwise use every core. These thread settings are applied in the
#     "as installed" runs too: the thread count is what is being compared, not a tuning.
#   ss runs in the caller's environment with OMP_NUM_THREADS unset (it takes --threads) and, with
#   --ss-wait-policy, OMP_WAIT_POLICY set (libgomp's default spin-wait costs ss dearly when the
#   cores are shared with other work, as on a busy 2-core machine); it does
#   one allocation for the whole model, so the allocator does not matter to it. It warms up with
#   one update (fixed in `ss bench train`) before its timed ones.
set -euo pipefail

cd "$(dirname "$0")/../.."

THREADS="1 2"
CONFIGS="configs/mha_rope_baseline.json configs/best_mla.json configs/best_mla-o.json"
WARMUP=3
STEPS=10
ROUNDS=1
AS_INSTALLED=0
INSTALL=1
BUILD=1
TORCH_EXTRA=()
OUT=""
SS_WAIT=""
PY=/usr/bin/python3
USE_JEMALLOC=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --configs) CONFIGS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --as-installed) AS_INSTALLED=1; shift ;;
    --foreach) TORCH_EXTRA+=(--foreach); shift ;;
    --mask-8010) TORCH_EXTRA+=(--mask-8010); shift ;;
    --ss-wait-policy) SS_WAIT="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --python) PY="$2"; shift 2 ;;
    --no-jemalloc) USE_JEMALLOC=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "torch_compare.sh: unknown option $1 (--help lists them)" >&2; exit 2 ;;
    esac
done
for n in $WARMUP $STEPS $ROUNDS $THREADS; do
    case "$n" in '' | *[!0-9]*) echo "torch_compare.sh: '$n' is not a number" >&2; exit 2 ;; esac
done
if [ "$STEPS" -lt 1 ] || [ "$STEPS" -gt 64 ]; then
    echo "torch_compare.sh: --steps must be 1..64 (ss bench train's --reps range)" >&2; exit 2
fi
[ "$ROUNDS" -ge 1 ] || { echo "torch_compare.sh: --rounds must be at least 1" >&2; exit 2; }

SS=build/omp/ss

# --- what it needs -------------------------------------------------------------------------------
find_jemalloc() {
    local p
    p=$(ldconfig -p 2>/dev/null | awk '/libjemalloc\.so\.2 /{print $NF; exit}')
    if [ -z "$p" ]; then
        for p in /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
            [ -e "$p" ] && break
        done
    fi
    [ -e "$p" ] && echo "$p"
    return 0
}
have_torch() { [ -x "$PY" ] && "$PY" -c 'import torch' >/dev/null 2>&1; }
JEMALLOC=$(find_jemalloc)
[ "$USE_JEMALLOC" = 1 ] || JEMALLOC=none
if ! have_torch || [ -z "$JEMALLOC" ]; then
    if [ "$INSTALL" = 0 ]; then
        echo "torch_compare.sh: python3-torch or libjemalloc2 missing (and --no-install)" >&2; exit 1
    fi
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "# installing python3-torch libjemalloc2 (apt-get)" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        python3-torch libjemalloc2 >&2
    JEMALLOC=$(find_jemalloc)
    have_torch || { echo "torch_compare.sh: torch still not importable" >&2; exit 1; }
    [ -n "$JEMALLOC" ] || { echo "torch_compare.sh: libjemalloc.so.2 not found" >&2; exit 1; }
fi
if [ "$BUILD" = 1 ]; then
    make --no-print-directory OPENMP=1 BUILD=build/omp build/omp/ss >&2
fi
[ -x "$SS" ] || { echo "torch_compare.sh: $SS missing (drop --no-build)" >&2; exit 1; }

[ -n "$OUT" ] || OUT=build/bench/torch_compare-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
LOG=$OUT/log.txt
: >"$RESULTS"
: >"$LOG"

# --- the machine and the builds ------------------------------------------------------------------
{
    echo "# torch_compare $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
    echo "# cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cores usable"
    echo "# load at start: $(uptime | sed 's/.*load average/load average/')"
    echo "# ss: $("$SS" version 2>/dev/null | head -1), tree $(git describe --always --dirty 2>/dev/null || echo '?')"
    echo "# torch $("$PY" -c 'import torch; print(torch.__version__)'), python $("$PY" -c 'import platform; print(platform.python_version())'), jemalloc $JEMALLOC"
    echo "# caller's env: OMP_WAIT_POLICY='${OMP_WAIT_POLICY:-}' OPENBLAS_CORETYPE='${OPENBLAS_CORETYPE:-}' OPENBLAS_L2_SIZE='${OPENBLAS_L2_SIZE:-}' LD_PRELOAD='${LD_PRELOAD:-}'"
    echo "# ss runs with OMP_WAIT_POLICY='${SS_WAIT:-${OMP_WAIT_POLICY:-}}' (empty: libgomp's default, spin then sleep)"
    echo "# PyTorch: $WARMUP warm-up + $STEPS timed updates per run; ss: 1 warm-up + $STEPS timed; median; $ROUNDS round(s)"
} | tee -a "$LOG"

# --- same parameters? ----------------------------------------------------------------------------
echo "" | tee -a "$LOG"
echo "| config | PyTorch parameters | ss parameters | tensor lists (name, shape, count) |" | tee -a "$LOG"
echo "|---|---:|---:|---|" | tee -a "$LOG"
for c in $CONFIGS; do
    tp=$("$PY" tools/bench/torch_step.py --config "$c" --params-only) ||
        { echo "torch_compare.sh: torch_step.py --params-only failed for $c" >&2; exit 1; }
    sp=$("$SS" params "$c") || { echo "torch_compare.sh: ss params failed for $c" >&2; exit 1; }
    tn=$(printf '%s\n' "$tp" | sed -n 's/.*: \([0-9]*\) parameters$/\1/p')
    sn=$(printf '%s\n' "$sp" | sed -n 's/.*: \([0-9]*\) parameters = .*/\1/p')
    if diff <(printf '%s\n' "$tp" | grep '^| encoder') <(printf '%s\n' "$sp" | grep '^| encoder') \
        >>"$LOG" 2>&1; then same="identical"; else same="DIFFER (see $LOG)"; fi
    echo "| $(basename "$c" .json) | $tn | $sn | $same |" | tee -a "$LOG"
done

# --- the runs ------------------------------------------------------------------------------------
run_torch() { # MODE CONFIG THREADS ROUND
    local mode=$1 c=$2 t=$3 r=$4 line
    local args=(tools/bench/torch_step.py --config "$c" --threads "$t" --warmup "$WARMUP"
        --steps "$STEPS" --label "$mode" ${TORCH_EXTRA[@]+"${TORCH_EXTRA[@]}"})
    echo "## torch $mode $c threads $t round $r ($(uptime | sed 's/.*load average: //'))" >>"$LOG"
    # shellcheck disable=SC2094  # the log is only appended to, by both writers
    if [ "$mode" = tuned ]; then
        local preload=$JEMALLOC
        [ "$preload" != none ] || preload=${LD_PRELOAD:-}
        line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_PRELOAD="$preload" \
            MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1 OMP_WAIT_POLICY=PASSIVE \
            OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" "$PY" "${args[@]}" 2>>"$LOG" | tee -a "$LOG" | tail -1) || true
    else
        line=$(OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" "$PY" "${args[@]}" 2>>"$LOG" | tee -a "$LOG" | tail -1) || true
    fi
    case "$line" in
    '{'*) printf '%s\n' "$line" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); d["round"]=int(sys.argv[1]); print(json.dumps(d, sort_keys=True))' "$r" >>"$RESULTS" ;;
    *) echo "torch_compare.sh: torch_step.py gave no result for $c, $t threads ($mode); see $LOG" >&2; exit 1 ;;
    esac
}
run_ss() { # CONFIG THREADS ROUND
    local c=$1 t=$2 r=$3 out row
    echo "## ss $c threads $t round $r ($(uptime | sed 's/.*load average: //'))" >>"$LOG"
    local envs=(-u OMP_NUM_THREADS)
    [ -z "$SS_WAIT" ] || envs+=(OMP_WAIT_POLICY="$SS_WAIT")
    out=$(env "${envs[@]}" "$SS" bench train --config "$c" --threads "$t" --reps "$STEPS" 2>&1) || {
        printf '%s\n' "$out" >>"$LOG"
        echo "torch_compare.sh: ss bench train failed for $c, $t threads; see $LOG" >&2; exit 1
    }
    printf '%s\n' "$out" >>"$LOG"
    # the table row: | config | parameters | ms/update | tokens/s | peak RSS MiB | GFLOP/update | GFLOP/s |
    row=$(printf '%s\n' "$out" | grep -F "| $c |" | tail -1)
    [ -n "$row" ] || { echo "torch_compare.sh: no result row from ss for $c; see $LOG" >&2; exit 1; }
    printf '%s\n' "$row" | "$PY" -c '
import json, sys
cells = [x.strip() for x in sys.stdin.read().strip().strip("|").split("|")]
cfg, params, ms, tps, rss, gflop, gflops = cells
print(json.dumps({"impl": "ss", "label": "ss", "config": cfg, "threads": int(sys.argv[1]),
                  "round": int(sys.argv[2]), "params": int(params), "ms_median": float(ms),
                  "tokens_per_s": float(tps), "peak_rss_mib": float(rss),
                  "gflop_per_update": float(gflop), "gflop_per_s": float(gflops)},
                 sort_keys=True))' "$t" "$r" >>"$RESULTS"
}

for c in $CONFIGS; do
    for t in $THREADS; do
        for r in $(seq 1 "$ROUNDS"); do
            echo "# $(basename "$c" .json), $t thread(s), round $r/$ROUNDS: $(uptime | sed 's/.*load average: /load /')" >&2
            if [ $((r % 2)) = 1 ]; then
                run_torch tuned "$c" "$t" "$r"
                [ "$AS_INSTALLED" = 0 ] || run_torch as-installed "$c" "$t" "$r"
                run_ss "$c" "$t" "$r"
            else
                run_ss "$c" "$t" "$r"
                [ "$AS_INSTALLED" = 0 ] || run_torch as-installed "$c" "$t" "$r"
                run_torch tuned "$c" "$t" "$r"
            fi
        done
    done
done
echo "# load at end: $(uptime | sed 's/.*load average/load average/')" | tee -a "$LOG"

# --- the table -----------------------------------------------------------------------------------
"$PY" - "$RESULTS" "$AS_INSTALLED" "$CONFIGS" "$THREADS" <<'EOF' | tee "$OUT/table.md"
import json, statistics, sys
path, as_installed, configs, threads = sys.argv[1], sys.argv[2] == "1", sys.argv[3].split(), sys.argv[4].split()
runs = [json.loads(line) for line in open(path) if line.strip()]

def pick(label, cfg, t):
    rs = [r for r in runs if r["label"] == label and r["config"] == cfg and r["threads"] == int(t)]
    if not rs:
        return None
    return {k: statistics.median(r[k] for r in rs) for k in ("ms_median", "tokens_per_s", "peak_rss_mib")} | \
        {"import": statistics.median(r.get("rss_after_import_mib", 0) for r in rs), "n": len(rs)}

head = ["config", "threads", "PyTorch tokens/s", "PyTorch ms/update", "PyTorch peak RSS MiB (import)",
        "ss tokens/s", "ss ms/update", "ss peak RSS MiB", "ss/PyTorch"]
if as_installed:
    head += ["PyTorch as installed tokens/s", "as installed ms/update", "as installed peak RSS MiB",
             "tuned/as installed"]
print()
print("| " + " | ".join(head) + " |")
print("|---|---:|" + "---:|" * (len(head) - 2))
for cfg in configs:
    for t in threads:
        a, b = pick("tuned", cfg, t), pick("ss", cfg, t)
        if a is None or b is None:
            continue
        cells = [cfg.split("/")[-1].removesuffix(".json"), t,
                 "%.0f" % a["tokens_per_s"], "%.1f" % a["ms_median"],
                 "%.0f (%.0f)" % (a["peak_rss_mib"], a["import"]),
                 "%.0f" % b["tokens_per_s"], "%.1f" % b["ms_median"], "%.0f" % b["peak_rss_mib"],
                 "%.2f" % (b["tokens_per_s"] / a["tokens_per_s"])]
        if as_installed:
            u = pick("as-installed", cfg, t)
            cells += ["%.0f" % u["tokens_per_s"], "%.1f" % u["ms_median"], "%.0f" % u["peak_rss_mib"],
                      "%.2f" % (a["tokens_per_s"] / u["tokens_per_s"])] if u else ["-"] * 4
        print("| " + " | ".join(str(c) for c in cells) + " |")
print()
print("ss/PyTorch = ss tokens/s / PyTorch tokens/s (above 1: ss faster). Peak RSS of PyTorch includes")
print("the interpreter and torch's libraries (in brackets: RSS right after `import torch`).")
EOF
# the scaling chart (tokens/s against threads), drawn by our own plot code
if cc -std=c99 -O2 -o "$OUT/scaling_plot" tools/bench/scaling_plot.c tools/plot.c -lm 2>>"$LOG" &&
    "$OUT/scaling_plot" "$OUT/scaling.svg" "Training update 32x128: ss (solid), PyTorch (dashed)" \
        "$RESULTS" 2>>"$LOG"; then
    echo "(chart: $OUT/scaling.svg)"
fi
echo "(raw: $RESULTS, log: $LOG)"
