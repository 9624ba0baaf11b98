#!/usr/bin/env bash
# tests/run.sh - every test of subspace.h in every build the project promises (`make test`).
#
# Builds: gcc and clang at -O2 with -Werror, OpenMP on 2 threads, AddressSanitizer +
# UndefinedBehaviorSanitizer, and OpenBLAS (SS_USE_CBLAS) where libopenblas is installed (.ci/run
# installs it). Then the compile matrix: C++, two translation units, SS_STATIC, SS_NO_STDIO,
# allocator hooks, the examples and the `ss` tool. Each step prints PASS or FAIL; the last line is
# "N passed, N failed" and the exit status is non-zero when anything failed. Steps run JOBS at a
# time (default: the number of processors); each prints PASS or FAIL as it ends, and the logs of
# the failed ones follow at the end.
set -u
cd "$(dirname "$0")/.."
CC=${CC:-cc}
ARCH=${ARCH:--march=native}
OUT=build/test
mkdir -p "$OUT"
WARN="-std=c99 -Wall -Wextra -pedantic -Werror"
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)} # steps run side by side, JOBS at a time
export OMP_WAIT_POLICY=PASSIVE                 # idle OpenMP threads sleep: steps share the cores
names=()
start=$(date +%s)
rm -rf "$OUT/status"
mkdir -p "$OUT/status"

step() { # step NAME COMMAND...: run in the background, log to $OUT/NAME.log, record pass or fail
    local name=$1 key=${1//\//_}
    shift
    names+=("$name")
    (t0=$(date +%s)
     if "$@" >"$OUT/$key.log" 2>&1; then r=PASS; else r=FAIL; fi
     echo "$r" >"$OUT/status/$key"
     printf '%s %s (%ds)\n' "$r" "$name" $(($(date +%s) - t0))) & # progress while the matrix runs
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
}
barrier() { wait; } # the steps after this one use what the steps before it built

# Each build runs its tests in a folder of its own (the tests write scratch files under
# build/test/), so the same test of two builds never shares a file while they run side by side.
ROOT=$(pwd)
bash tests/ref/get_bert_vocab.sh >"$OUT/get_bert_vocab.log" 2>&1 || true # the tokenizer's parity data
for tag in gcc clang omp san cblas; do
    mkdir -p "$OUT/run-$tag/build/test"
    ln -sfn "$ROOT/configs" "$OUT/run-$tag/configs"
    ln -sfn "$ROOT/tests" "$OUT/run-$tag/tests"
    [ -f build/bert-vocab.txt ] && ln -sf "$ROOT/build/bert-vocab.txt" "$OUT/run-$tag/build/bert-vocab.txt"
done

build_run() { # build_run NAME CC FLAGS LIBS SRC [ENV...]: compile one test, run it in its build's folder
    local name=$1 cc=$2 flags=$3 libs=$4 src=$5 dir="$OUT/run-${1%%-*}"
    shift 5
    $cc $flags -o "$OUT/$name" "$src" $libs && (cd "$dir" && env "$@" "$ROOT/$OUT/$name")
}

TESTS=$(ls tests/test_*.c)
TOOL_TESTS="test_cfgtool test_plot_synth test_svd_own test_bench_flops" # tools/*.c under test
NO_THREAD_TESTS="test_json test_safetensors test_shards test_alloc_fail" # threads change nothing they test
GEMM_TESTS="test_gemm test_layers_grad test_attention test_model test_train test_config test_core"
have() { command -v "$1" >/dev/null 2>&1; }

TOOL_SRC=$(ls tools/*.c | grep -v gen_unicode | tr '\n' ' ') # the Makefile's list
# The longest step goes first, so that it runs beside the others instead of after them: the
# resume scenario of tests/cli_train.sh in an ASan + UBSan build of the tool.
step "train-san/resume" sh -c "gcc $WARN -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -o $OUT/ss-san $TOOL_SRC -lm && QUICK=1 bash tests/cli_train.sh resume $OUT/ss-san $OUT/train-san-resume"

# 1. Unit tests in each build.
for t in $TESTS; do
    n=$(basename "$t" .c)
    step "gcc-O2/$n" build_run "gcc-$n" gcc "$WARN -O2 $ARCH" "-lm" "$t"
    # tests of tool code (tools/*.c included directly) and of code without threads skip the
    # builds that cannot change what they test: OpenMP for both; clang for both too, as they
    # hold no numerics that a compiler could change (the header's clang -Werror build is in
    # the syntax steps, their undefined behaviour is UBSan's and the fuzzers' to find)
    case " $TOOL_TESTS $NO_THREAD_TESTS " in *" $n "*) tool_test=1 ;; *) tool_test=0 ;; esac
    [ $tool_test = 0 ] && have clang && step "clang-O2/$n" build_run "clang-$n" clang "$WARN -O2 $ARCH" "-lm" "$t"
    case " $TOOL_TESTS $NO_THREAD_TESTS " in
    *" $n "*) ;;
    *) step "openmp-2threads/$n" build_run "omp-$n" gcc "$WARN -O2 $ARCH -fopenmp" "-lm" "$t" OMP_NUM_THREADS=2 ;;
    esac
    step "asan-ubsan/$n" build_run "san-$n" gcc \
        "$WARN -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $ARCH" \
        "-lm" "$t" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
done

# The AVX-512 kernel's other register tile (12 x 32, -DSS__GEMM_MR=12), where the CPU runs it
# (-march=native builds above test the default tile of whichever kernel the CPU has).
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    step "avx512-mr12/test_gemm" build_run "gcc-mr12-test_gemm" gcc \
        "$WARN -O2 -mavx512f -mavx2 -mfma -fopenmp -DSS__GEMM_MR=12" "-lm" tests/test_gemm.c OMP_NUM_THREADS=2
    # and the AVX2 code (the 6 x 16 GEMM tile, the 8-lane e^x) that -march=native skips here
    for n in test_gemm test_core; do
        step "avx2-only/$n" build_run "gcc-avx2-$n" gcc "$WARN -O2 -march=native -mno-avx512f -fopenmp" \
            "-lm" tests/$n.c OMP_NUM_THREADS=2
    done
else
    printf 'NOTE the 12 x 32 AVX-512 tile not run: this CPU has no AVX-512\n'
fi

barrier
# The gradient checks must be able to fail: with --mutate every dout reaching a backward is
# scaled by 1.01, and the finite-difference checks have to catch it.
for n in test_layers_grad test_attention test_model; do
    step "mutation-caught/$n" sh -c "$OUT/gcc-$n --mutate | grep -q '^FAIL .* fd'"
done

# 2. OpenBLAS build: ss_gemm goes through cblas_sgemm; the built-in kernel must agree with it.
if printf '#include <cblas.h>\nint main(void){return 0;}\n' | gcc -x c - -o /dev/null -lopenblas 2>/dev/null; then
    for n in $GEMM_TESTS; do # the tests whose results go through ss_gemm
        t=tests/$n.c
        step "cblas/$n" build_run "cblas-$n" gcc "$WARN -O2 $ARCH -DSS_USE_CBLAS -fopenmp" \
            "-lopenblas -lm" "$t" OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
    done
else
    printf 'NOTE cblas build not run: <cblas.h> or -lopenblas missing (apt-get install libopenblas-dev; .ci/run does)\n'
fi

# 3. Compile matrix.
hdr_syntax() { # the header alone, both halves, with extra flags
    printf '#define SS_IMPLEMENTATION\n#include "subspace.h"\nint main(void){return 0;}\n' |
        $1 $WARN $2 -fsyntax-only -x c - -I.
}
for cc in gcc clang; do
    have $cc || continue
    step "syntax/$cc" hdr_syntax $cc "-O2"
    step "syntax/$cc-openmp" hdr_syntax $cc "-O2 -fopenmp"
    step "syntax/$cc-cblas" hdr_syntax $cc "-O2 -DSS_USE_CBLAS"
    step "syntax/$cc-no-arch" hdr_syntax $cc "-O2 -march=x86-64"
    step "syntax/$cc-avx512" hdr_syntax $cc "-O2 -mavx512f -mavx2 -mfma"
    step "syntax/$cc-avx512-mr8" hdr_syntax $cc "-O2 -mavx512f -mavx2 -mfma -DSS__GEMM_MR=8"
    # a full compile at -O3: warnings such as -Warray-bounds come from the optimiser's passes,
    # which -fsyntax-only skips
    step "compile/$cc-O3" sh -c "printf '#define SS_IMPLEMENTATION\n#include \"subspace.h\"\nint main(void){return 0;}\n' | $cc $WARN -O3 -march=native -fopenmp -Werror -c -x c - -I. -o $OUT/o3-$cc.o"
done
C=tests/compile
step "compile/two-tu" sh -c "gcc $WARN -O2 -o $OUT/two_tu $C/impl.c $C/use.c -lm && $OUT/two_tu"
step "compile/ss-static" sh -c "gcc $WARN -O2 -o $OUT/static $C/static_a.c $C/static_b.c -lm && $OUT/static"
step "compile/no-stdio" sh -c "gcc $WARN -O2 -o $OUT/nostdio $C/nostdio.c -lm && $OUT/nostdio"
step "compile/hooks" sh -c "gcc $WARN -O2 -o $OUT/hooks $C/hooks.c -lm && $OUT/hooks"
step "compile/partial-hooks-rejected" sh -c "gcc $WARN -fsyntax-only $C/partial_hooks.c 2>&1 | grep -q 'define all of SS_MALLOC'"
step "compile/g++" sh -c "g++ -Wall -Wextra -pedantic -Werror -O2 -o $OUT/cpp $C/cpp.cpp -lm && $OUT/cpp"
have clang++ && step "compile/clang++" sh -c "clang++ -Wall -Wextra -pedantic -Werror -O2 -o $OUT/cpp2 $C/cpp.cpp -lm && $OUT/cpp2"

# 4. Examples and the tool, built as a user builds them, then run.
for e in examples/*.c; do
    n=$(basename "$e" .c)
    if [ "$n" = classify ]; then # needs a checkpoint: tests/cli_train.sh finetune runs it for real
        step "example/$n" sh -c "gcc $WARN -O2 $ARCH -o $OUT/$n $e -lm && { $OUT/$n 2>&1 | grep -q usage; $OUT/$n 2>/dev/null; test \$? -eq 2; }"
    else
        step "example/$n" sh -c "gcc $WARN -O2 $ARCH -o $OUT/$n $e -lm && $OUT/$n"
    fi
done
step "tool/build" sh -c "gcc $WARN -O2 $ARCH -fopenmp -o $OUT/ss $TOOL_SRC -lm"
barrier
step "tool/version" sh -c "$OUT/ss version | grep -q '^subspace '"
step "tool/help" sh -c "$OUT/ss help | grep -q 'bench'"
step "tool/unknown-command" sh -c "$OUT/ss frobnicate 2>&1 | grep -q 'unknown command' && { $OUT/ss frobnicate 2>/dev/null; test \$? -eq 2; }"
step "tool/bench-gemm-quick" sh -c "$OUT/ss bench gemm --quick --threads 2"
step "tool/bench-peak" sh -c "$OUT/ss bench peak --threads 1 --threads 2 --reps 1 | awk -F'|' '/^\| [12] \| /{n++; if (\$3 + 0 <= 1) bad=1} END{exit !(n == 2 && !bad)}'"
step "tool/bench-step-tiny" sh -c "$OUT/ss bench step --config configs/tiny.json --batch 4 --seq 32 --reps 1"
step "tool/bench-train-tiny" sh -c "$OUT/ss bench train --config configs/tiny.json --batch 4 --seq 32 --reps 1 | grep -q '^| configs/tiny.json | 146400 | '"
step "tool/bench-attention-quick" sh -c "rm -rf $OUT/attn && $OUT/ss bench attention --quick --threads 2 --out $OUT/attn | grep -q '^## Where MLA-o beats MLA' && test -s $OUT/attn/attention.svg && test \$(grep -c '^| .* | MLA-o | ' $OUT/attn/attention.md) -eq 4 && grep -q '^64,4,16,32,4,128,1,16,8,16,MLA-o,[^,]*,[^,]*,[^,]*,[^,]*,1.9456e-05,5.8368e-05,' $OUT/attn/attention.csv"
# long sequences: the tiled attention core keeps no (T,T) matrix, so batch 2 x 2048 needs the
# activation memory of 32 x 128 (same tokens), and a training update at T = 2048 runs
step "tool/long-sequence" sh -c "sed 's/\"max_position_embeddings\": 128/\"max_position_embeddings\": 2048/' configs/best_mla-o.json > $OUT/p2048.json && sed 's/\"max_position_embeddings\": [0-9]*/\"max_position_embeddings\": 2048/' configs/tiny.json > $OUT/tiny2048.json && a=\$($OUT/ss params $OUT/p2048.json --batch 2 --seq 2048 | sed -n 's/.*activations \([0-9.]*\) MiB.*/\1/p') && b=\$($OUT/ss params $OUT/p2048.json --batch 32 --seq 128 | sed -n 's/.*activations \([0-9.]*\) MiB.*/\1/p') && test -n \"\$a\" && test \"\$a\" = \"\$b\" && $OUT/ss bench train --config $OUT/tiny2048.json --batch 1 --seq 2048 --reps 1 | grep -q '^| .*tiny2048.json | '"
# the blocking-tuning harness builds with its blocking set from outside (run by hand: 1.5 GB)
step "tool/gemm-tune-build" sh -c "gcc $WARN -Werror -O2 $ARCH -fopenmp -DSS__GEMM_KC=192 -DSS__GEMM_MC=384 -o $OUT/gemm_tune tools/bench/gemm_tune.c -lm"
# the per-shape GEMM profile of a training update (SS_SGEMM hook) runs on the tiny config
step "tool/gemm-trace" sh -c "gcc $WARN -Werror -O2 $ARCH -fopenmp -o $OUT/gemm_trace tools/bench/gemm_trace.c -lm && OMP_NUM_THREADS=2 $OUT/gemm_trace configs/tiny.json 1 > $OUT/gemm_trace.txt && grep -q '^update [0-9.]* ms; products outside parallel regions' $OUT/gemm_trace.txt && grep -q '^| NT | 4096 | ' $OUT/gemm_trace.txt && grep -q '| yes (thread time) |' $OUT/gemm_trace.txt"
# the benchmark chart helper: draws the committed device results; a malformed line is named
step "tool/wall-profile" sh -c "WALL_PROFILE_OUT=$OUT/wall CC=gcc TOP=100 bash tools/bench/wall_profile.sh configs/tiny.json 2 2 > $OUT/wall_profile.txt && grep -q '^# update [0-9.]* ms (configs/tiny.json' $OUT/wall_profile.txt && grep -q '% gemm <- ss_linear_forward\$' $OUT/wall_profile.txt && awk '/%/{s += \$1} END{exit !(s > 99 && s < 101)}' $OUT/wall_profile.txt"
step "tool/scaling-plot" sh -c "gcc $WARN -Werror -O2 -o $OUT/scaling_plot tools/bench/scaling_plot.c tools/plot.c -lm && $OUT/scaling_plot $OUT/scaling.svg t docs/data/torch_compare_device_20261129_run1.jsonl && test \$(grep -c '<path' $OUT/scaling.svg) -eq 6 && printf '{\"impl\": \"ss\"}\n' > $OUT/bad.jsonl && ! $OUT/scaling_plot $OUT/bad.svg t $OUT/bad.jsonl 2> $OUT/bad.err && grep -q 'bad.jsonl line 1: .*label.*missing' $OUT/bad.err && test ! -e $OUT/bad.svg"
step "tool/tokenize" sh -c "printf 'Hello, world!\\n' > $OUT/hello.txt && $OUT/ss vocab train --size 200 --out $OUT/v.txt $OUT/hello.txt && $OUT/ss tokenize --vocab $OUT/v.txt $OUT/hello.txt > $OUT/hello.ids && grep -qE '^[0-9]+( [0-9]+)+\$' $OUT/hello.ids && ! grep -qw 1 $OUT/hello.ids"

# The Unicode tables in subspace.h are what tools/gen_unicode.c makes of Debian's unicode-data.
if [ -f /usr/share/unicode/UnicodeData.txt ]; then
    uc_current() {
        gcc -std=c99 -O2 -DSS_GEN_UNICODE -o "$OUT/gen_unicode" tools/gen_unicode.c &&
            "$OUT/gen_unicode" /usr/share/unicode >"$OUT/unicode_tables.inc" &&
            gen=$(cat "$OUT/unicode_tables.inc") && hdr=$(cat subspace.h) && [[ "$hdr" == *"$gen"* ]]
    }
    step "unicode-tables-regenerate" uc_current
else
    printf 'NOTE unicode table check not run: /usr/share/unicode missing (apt-get install unicode-data; .ci/run does)\n'
fi
for c in mha_rope_baseline:14121984 best_mla:13286976 best_mla-o:13090368; do
    step "tool/params-${c%%:*}" sh -c "$OUT/ss params configs/${c%%:*}.json | grep -q '^configs/${c%%:*}.json: ${c##*:} parameters'"
done
step "tool/params-bad-config" sh -c "$OUT/ss params tests/compile/impl.c 2>&1 | grep -q 'impl.c:1:'"
# Training end to end (tests/cli_train.sh): learning, exact resume, determinism across thread
# counts, a NaN stop, fine-tuning, the causal LM, bad input, compare; resume also runs in a
# sanitized build of the tool.
for s in learns resume determinism nan sigint finetune clm bad-input compare; do
    step "train/$s" bash tests/cli_train.sh "$s" "$OUT/ss" "$OUT/train-$s"
done
step "svd/synthetic-mla" bash tests/cli_svd.sh "$OUT/ss" "$OUT/svd-synthetic"

barrier
pass=0
fail=0
failed=()
for name in "${names[@]}"; do
    key=${name//\//_}
    if [ "$(cat "$OUT/status/$key" 2>/dev/null)" = PASS ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        failed+=("$name")
        printf '\nFAIL %s (log: %s)\n' "$name" "$OUT/$key.log"
        tail -n 25 "$OUT/$key.log" | sed 's/^/    /'
    fi
done
printf '\n%d steps in %d s, %d at a time\n' "${#names[@]}" $(($(date +%s) - start)) "$JOBS"
if [ "$fail" -gt 0 ]; then printf 'failed: %s\n' "${failed[*]}"; fi
printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
