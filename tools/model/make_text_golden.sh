#!/usr/bin/env bash
# End-to-end golden scores for text pairs: HF `tokenizers` ids (encode_pairs.js) → float64 reference
# logits (golden_logits.py) for each tiny model. Writes tests/fixtures/text_pairs.json (the pairs)
# and tests/fixtures/models/<model>/golden_text_logits.json (one case per pair, same order).
# Needs: node with `npm ci` done in tools/tokenizer, and /usr/bin/python3 with python3-torch.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cp tools/model/text_pairs.json tests/fixtures/text_pairs.json
ids=$(mktemp)
node tools/model/encode_pairs.js tests/fixtures/tokenizer/tokenizer.json tests/fixtures/text_pairs.json > "$ids"
for model in tiny-a tiny-b tiny-c; do
  /usr/bin/python3 tools/model/golden_logits.py --model "tests/fixtures/models/$model" --ids "$ids" \
    --out "tests/fixtures/models/$model/golden_text_logits.json"
done
rm -f "$ids"
