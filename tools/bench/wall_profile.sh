#!/usr/bin/env bash
# tools/bench/wall_profile.sh [CONFIG] [UPDATES] [THREADS] - build tools/bench/wall_profile.c (see
# its header), sample the master thread's stack every 200 us of wall time during UPDATES
# training updates on THREADS OpenMP threads, and print the share of samples per function:
#   name                      the master thread was running this function of ss (or the tool)
#   gemm <- caller            inside ss_gemm, called from caller
#   libgomp <- caller         inside libgomp (mostly waiting for the other threads at the end of
#                             caller's parallel loop), likewise libc (memset, memcpy) and libm;
#   libgomp in gemm <- caller the same inside one of ss_gemm's parallel loops
#   libgomp <- ?              the same at the end of another parallel loop (libgomp keeps no
#                             frame pointer, so which one is not known)
# The binary and its raw output go to $WALL_PROFILE_OUT (default build). A benchmark tool, run by
# hand (x86-64 Linux, glibc, gcc or clang, nm, awk; TOP=N rows, default 40).
set -euo pipefail
config=${1:-configs/best_mla-o.json} updates=${2:-5} threads=${3:-2}
cc=${CC:-cc} out=${WALL_PROFILE_OUT:-build}
mkdir -p "$out"
# the Makefile's flags (-fvect-cost-model=dynamic where the compiler takes it), plus symbols
vect=$("$cc" -Werror -fvect-cost-model=dynamic -x c -c /dev/null -o /dev/null >/dev/null 2>&1 &&
       echo -fvect-cost-model=dynamic || true)
"$cc" -std=c99 -Wall -Wextra -pedantic -O2 $vect -march=native -fopenmp -no-pie \
    -fno-omit-frame-pointer -g -o "$out/wall_profile" tools/bench/wall_profile.c -lm -lrt
OMP_NUM_THREADS=$threads "$out/wall_profile" "$config" "$updates" > "$out/wall_profile.out"
head -1 "$out/wall_profile.out"
nm -n "$out/wall_profile" | awk '$2 ~ /^[tT]$/ {print $1, $3}' > "$out/wall_profile.syms"
awk -v syms="$out/wall_profile.syms" '
function hex(s,   i, c, v) { v = 0; s = tolower(s)
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
    return v }
function sym(a,   lo, hi, mid) {           # the function of the binary holding address a, or ""
    if (n == 0 || a < addr[1] || a > addr[n] + 65536) return ""
    lo = 1; hi = n
    while (lo < hi) { mid = int((lo + hi + 1) / 2); if (addr[mid] <= a) lo = mid; else hi = mid - 1 }
    return name[lo] }
function lib(a,   i) {                     # the shared object holding address a
    for (i = 1; i <= nm_; i++) if (a >= mlo[i] && a < mhi[i]) return mname[i]
    return "?" }
BEGIN { while ((getline l < syms) > 0) { split(l, f, " "); n++; addr[n] = hex(f[1]); name[n] = f[2] } }
/^#/ { next }
/^map / { split($2, r, "-"); obj = $3; sub(/.*\//, "", obj); sub(/\.so.*/, "", obj)
          nm_++; mlo[nm_] = hex(r[1]); mhi[nm_] = hex(r[2]); mname[nm_] = obj; next }
{
    # frames: the interrupted code, then the return addresses of its callers
    k = 1
    top = sym(hex($k)); first = ""; caller = ""; ingemm = 0
    for (i = k; i <= NF; i++) {
        if ($i == "1") { ingemm = 1; continue } # the product under way follows
        s = sym(hex($i))
        if (s != "" && first == "") first = s
        if (s != "" && s !~ /^(ss_+gemm|prof_gemm)/) { caller = s; break }
    }
    if (caller == "") caller = "?"
    if (top == "" && (ingemm || first ~ /^ss_+gemm/)) key = lib(hex($k)) " in gemm <- " caller
    else if (top == "") key = lib(hex($k)) " <- " caller
    else if (top ~ /^(ss_+gemm|prof_gemm)/) key = "gemm <- " caller
    else key = top
    count[key]++; total++
}
END { for (key in count) printf "%6.2f%% %s\n", 100 * count[key] / total, key }
' "$out/wall_profile.out" | sort -rn | head -"${TOP:-40}"
