#!/usr/bin/env bash
# tests/cli_svd.sh - `ss synth-mla` and `ss svd` end to end (run by tests/run.sh):
#     bash tests/cli_svd.sh SS WORK
# A synthetic DeepSeek-layout checkpoint (FP8 with 128x128 block scales on dimensions that are not
# multiples of 128, two shards and an index, every K and V head of rank 5) must give back the
# planted ranks; the seed-compatible split must pair the matrices as the seed's notebook did; a
# rerun resumes; malformed checkpoints are refused with messages naming the file.
set -eu
SS=$1 WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
"$SS" synth-mla --out "$WORK/m" --layers 2 --heads 4 --rank 5 --quiet
"$SS" svd --model "$WORK/m" --out "$WORK/o" --quiet --farr >"$WORK/log"
cat "$WORK/log"
for f in effective_rank.csv layers/layer-000.json layers/layer-001.json heads/layer-000.svg; do
    [ -s "$WORK/o/$f" ] || fail "missing $f"
done
ls "$WORK"/o/rank_stacked_*.svg >/dev/null || fail "no layer-wise plot"
# every K, V, QK, KQ and VO head has the planted rank 5 at 1% and 0.1% loss; Q and O are full
awk -F, '$2 == "head" && ($3 == "K" || $3 == "V" || $3 == "QK" || $3 == "KQ" || $3 == "VO") &&
         ($6 != 5 || $7 != 5) { bad = bad " " $1 "/" $3 "/" $4 } END { if (bad) { print bad; exit 1 } }' \
    "$WORK/o/effective_rank.csv" || fail "planted rank 5 not found"
awk -F, '$2 == "head" && ($3 == "Q" || $3 == "O") && $7 != $5 { exit 1 }' "$WORK/o/effective_rank.csv" ||
    fail "Q or O heads not of full rank"
awk -F, '$2 == "stacked" && ($3 == "K" || $3 == "V") && $7 != 20 { exit 1 }' "$WORK/o/effective_rank.csv" ||
    fail "stacked K or V is not 4 heads x rank 5"
# the seed's halves split: its "K" head 1 is head 0's v, its "V" head 0 is head 2's k (H = 4)
"$SS" svd --model "$WORK/m" --out "$WORK/sc" --quiet --seed-compat --layers 0:1 >/dev/null
python3 - "$WORK/o/layers/layer-000.json" "$WORK/sc/layers/layer-000.json" <<'PY' || fail "seed-compat pairing"
import json, sys
ph, sc = (json.load(open(p)) for p in sys.argv[1:3])
h, s = ph["heads"], sc["heads"]
assert sc["kv_split"] == "seed-halves" and ph["kv_split"] == "per-head"
assert s["K"][0] == h["K"][0] and s["K"][1] == h["V"][0] and s["K"][2] == h["K"][1]
assert s["V"][0] == h["K"][2] and s["V"][1] == h["V"][2]
assert s["VO"][0] != h["VO"][0]
PY
# resume: a finished layer is kept, a missing one recomputed to the same values
cp "$WORK/o/layers/layer-000.json" "$WORK/l0"
cp "$WORK/o/layers/layer-001.json" "$WORK/l1"
rm "$WORK/o/layers/layer-001.json"
touch -d '2000-01-01' "$WORK/o/layers/layer-000.json"
"$SS" svd --model "$WORK/m" --out "$WORK/o" --quiet >/dev/null
cmp "$WORK/o/layers/layer-001.json" "$WORK/l1" || fail "recomputed layer differs"
[ "$(stat -c %Y "$WORK/o/layers/layer-000.json")" = "$(date -d 2000-01-01 +%s)" ] || fail "finished layer recomputed"
# malformed checkpoints
expect() { # expect PATTERN COMMAND...
    local pat=$1
    shift
    if "$@" >/dev/null 2>"$WORK/err"; then fail "accepted: $*"; fi
    grep -q -- "$pat" "$WORK/err" || fail "message for '$*' lacks '$pat': $(cat "$WORK/err")"
}
cp -r "$WORK/m" "$WORK/bad"
printf '{"weight_map": {"x": "../evil.safetensors"}}' >"$WORK/bad/model.safetensors.index.json"
expect "model.safetensors.index.json" "$SS" svd --model "$WORK/bad" --out "$WORK/x"
printf '{"weight_map": 3}' >"$WORK/bad/model.safetensors.index.json"
expect "weight_map" "$SS" svd --model "$WORK/bad" --out "$WORK/x"
rm -rf "$WORK/bad" && cp -r "$WORK/m" "$WORK/bad"
truncate -s 1000 "$WORK/bad/model-00002-of-00002.safetensors"
expect "model-00002-of-00002.safetensors" "$SS" svd --model "$WORK/bad" --out "$WORK/x"
sed -i 's/"hidden_size": [0-9]*/"hidden_size": 64/' "$WORK/bad/config.json"
expect "config.json implies" "$SS" svd --model "$WORK/bad" --out "$WORK/y"
rm "$WORK/bad/config.json"
expect "config.json" "$SS" svd --model "$WORK/bad" --out "$WORK/z"
# --deepseek-v3: the real attention sizes (one head here, to stay small), random FP8 entries
"$SS" synth-mla --deepseek-v3 --heads 1 --out "$WORK/ds" --quiet
for kv in '"hidden_size": 7168' '"q_lora_rank": 1536' '"kv_lora_rank": 512' \
          '"qk_nope_head_dim": 128' '"qk_rope_head_dim": 64' '"v_head_dim": 128' '"random": true'; do
    grep -q "$kv" "$WORK/ds/config.json" || fail "--deepseek-v3 config.json lacks $kv"
done
[ -f "$WORK/ds/model.safetensors" ] || fail "--deepseek-v3 wrote no model.safetensors"
echo "ok: svd"
