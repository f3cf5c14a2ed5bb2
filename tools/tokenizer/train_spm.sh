#!/bin/bash
# Trains the stand-in SentencePiece Unigram model with XLM-R's trainer and normaliser
# settings (docs/tokenizer.md), only with a 16k vocabulary instead of 250k.
# Input: tools/out/corpus.txt (make_corpus.sh). Output: tests/fixtures/tokenizer/sentencepiece.bpe.model.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/../out"
fixtures="$repo/tests/fixtures/tokenizer"
mkdir -p "$fixtures" "$out/spm"

# XLM-R has <unk>,<s>,</s> at spm ids 0,1,2 and no <pad> piece; fairseq adds <pad> and <mask>.
# Relative paths keep the machine's folders out of the trainer_spec stored in the model.
cd "$out"
spm_train \
  --input=corpus.txt \
  --model_prefix=spm/sentencepiece.bpe \
  --model_type=unigram \
  --vocab_size=16000 \
  --character_coverage=0.9995 \
  --normalization_rule_name=nmt_nfkc \
  --add_dummy_prefix=true \
  --remove_extra_whitespaces=true \
  --split_by_whitespace=true \
  --split_by_unicode_script=true \
  --split_by_number=true \
  --split_digits=false \
  --treat_whitespace_as_suffix=false \
  --byte_fallback=false \
  --max_sentencepiece_length=16 \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --input_sentence_size=2000000 \
  --shuffle_input_sentence=true \
  --random_seed=20240601 \
  --num_threads=2 \
  --minloglevel=1

cp spm/sentencepiece.bpe.model "$fixtures/sentencepiece.bpe.model"
sha256sum "$fixtures/sentencepiece.bpe.model"
