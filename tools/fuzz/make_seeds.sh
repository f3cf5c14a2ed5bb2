#!/bin/bash
# Writes the seed corpora of the fuzz targets to fuzz/corpus/<target>/: one small valid input per shape the
# parser accepts, plus a few near misses. afl-fuzz mutates from these, so small matters more than complete.
# Needs spm_train (Debian `sentencepiece`) and /usr/bin/python3; the output is committed, the fuzzer needs neither.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/../out/fuzz-seeds"
corpus="$repo/fuzz/corpus"
rm -rf "$out"
mkdir -p "$out"

# A 60-piece Unigram model with a 3-rule normaliser: a precompiled_charsmap of a few hundred bytes rather than
# nmt_nfkc's 240 KB, so the tokenizer seeds stay small enough for afl-fuzz to mutate quickly.
printf '%s\t%s\n' "FF21" "41" "FB01" "66 69" "3000" "20" > "$out/rules.tsv"
for i in $(seq 1 40); do
  echo "the quick brown fox jumps over the lazy dog $i times; Ｆｕｌｌ ﬁne　text"
  echo "a reranker reads the query and the document together and scores them"
done > "$out/corpus.txt"
(cd "$out" && spm_train --input=corpus.txt --model_prefix=tiny --model_type=unigram --vocab_size=60 \
  --normalization_rule_tsv=rules.tsv --add_dummy_prefix=true --remove_extra_whitespaces=true \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 --character_coverage=1.0 --hard_vocab_limit=false --minloglevel=2)
/usr/bin/python3 "$repo/tools/tokenizer/make_tokenizer_json.py" "$out/tiny.model" "$out" --model-max-length 64 >/dev/null

/usr/bin/python3 "$here/make_seeds.py" "$out" "$corpus" "$repo"
