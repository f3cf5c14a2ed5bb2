#!/usr/bin/python3
"""A small DeBERTa-v3-style tokenizer fixture: a SentencePiece Unigram model trained the way microsoft/deberta-v3's
spm.model is laid out ([PAD]=0, [CLS]=1, [SEP]=2, [UNK]=3 inside the model, nmt_nfkc, dummy prefix), and the
tokenizer.json transformers' DebertaV2Converter writes for it, which is what mixedbread-ai/mxbai-rerank-*-v1 ship.

Usage: /usr/bin/python3 tools/tokenizer/make_deberta_tokenizer.py [OUT_DIR]   (default tests/fixtures/deberta-tokenizer)

The converter followed is transformers' src/transformers/convert_slow_tokenizer.py, DebertaV2Converter (read, not
copied, from a third-party copy of that file whose transformers revision is not recorded):
  normalizer     Sequence[Strip(left, right), Precompiled(charsmap), Replace(Regex(" {2,}"), " ")]
                 (Lowercase first when do_lower_case, which the mxbai tokenizers do not set)
  pre_tokenizer  Sequence[Metaspace("▁", prepend_scheme "always", split true)]
                 (Punctuation(isolated) first when split_by_punct, which they do not set)
  post_processor TemplateProcessing "[CLS]:0 $A:0 [SEP]:0" / "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"
  model          Unigram over the spm pieces in spm order (the specials are pieces 0..3), unk_id from the trainer
  added_tokens   [PAD] [CLS] [SEP] [UNK] at their piece ids and [MASK] after the last piece (DebertaV2Tokenizer adds it
                 as deberta-v3's added_tokens.json does: 128000 there)

The training text is built only from files committed in this repository (the XLM-R tokenizer golden texts, the text
pairs, the synthetic BEIR corpus), so the fixture can be rebuilt offline; sentencepiece's trainer is deterministic for
one thread and a fixed input. Needs Debian's python3-sentencepiece.
"""
import base64
import json
import os
import re
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from make_tokenizer_json import VOCAB_PAIR, cross_check, read_model  # noqa: E402

VOCAB_SIZE = 3000


def corpus_lines():
    lines = []
    with open(os.path.join(REPO, "tests", "fixtures", "tokenizer", "golden.jsonl"), encoding="utf-8") as f:
        for row in map(json.loads, list(f)[1:]):
            lines += [row[k] for k in ("text", "query", "document") if row.get(k)]
    for pair in json.load(open(os.path.join(REPO, "tools", "model", "text_pairs.json"), encoding="utf-8")):
        lines += [pair["query"], pair["document"]]
    with open(os.path.join(REPO, "tests", "fixtures", "beir-synthetic", "corpus.jsonl"), encoding="utf-8") as f:
        for row in map(json.loads, f):
            lines += [row.get("title", ""), row.get("text", "")]
    # One sentence per line, no control characters (the trainer reads lines), no duplicates, a fixed order.
    out, seen = [], set()
    for text in lines:
        for line in text.splitlines():
            line = "".join(c for c in line if c >= " " and c != "\x7f").strip()
            # Runs of one character (the golden file's 'x' * 300) would give pieces of 15 and 16 x's whose exact float64
            # ties HF's lattice breaks differently from RerankSharp's UnigramModel (an open question, see
            # tools/model/README.md's DeBERTa section); real vocabularies have no such pieces.
            if line and line not in seen and len(line) < 4000 and not re.search(r"(.)\1{7}", line):
                seen.add(line)
                out.append(line)
    return out


def train(model_prefix):
    corpus = model_prefix + ".corpus.txt"
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(corpus_lines()) + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=model_prefix, model_type="unigram", vocab_size=VOCAB_SIZE, hard_vocab_limit=False,
        normalization_rule_name="nmt_nfkc", character_coverage=0.9995, add_dummy_prefix=True, remove_extra_whitespaces=True,
        split_by_whitespace=True, split_by_unicode_script=True, split_by_number=True, max_sentencepiece_length=16,
        pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]",
        num_threads=1, seed_sentencepiece_size=200000, input_sentence_size=0, shuffle_input_sentence=False,
        minloglevel=2)
    os.remove(corpus)


def added(id_, content):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests", "fixtures", "deberta-tokenizer"))
    os.makedirs(out, exist_ok=True)
    prefix = os.path.join(out, "spm")
    train(prefix)
    os.remove(prefix + ".vocab")
    model = prefix + ".model"
    pieces, normalizer, trainer = read_model(model)
    cross_check(model, pieces)
    assert [p for p, _, _ in pieces[:4]] == ["[PAD]", "[CLS]", "[SEP]", "[UNK]"], "specials are not spm pieces 0..3"
    charsmap = normalizer.get(2, b"")
    assert charsmap, "model has no precompiled_charsmap"
    mask_id = len(pieces)
    vocab = [[p, s] for p, s, _ in pieces]
    special = lambda piece, type_id: {"SpecialToken": {"id": piece, "type_id": type_id}}  # noqa: E731
    seq = lambda name, type_id: {"Sequence": {"id": name, "type_id": type_id}}  # noqa: E731
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "[PAD]"), added(1, "[CLS]"), added(2, "[SEP]"), added(3, "[UNK]"), added(mask_id, "[MASK]")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [metaspace]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)],
            "pair": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}},
        },
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }
    entry = lambda c: {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}  # noqa: E731
    config = {
        "added_tokens_decoder": {str(i): entry(c) for i, c in ((0, "[PAD]"), (1, "[CLS]"), (2, "[SEP]"), (3, "[UNK]"), (mask_id, "[MASK]"))},
        "bos_token": "[CLS]", "clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "do_lower_case": False,
        "eos_token": "[SEP]", "mask_token": "[MASK]", "model_max_length": 512, "pad_token": "[PAD]", "sep_token": "[SEP]",
        "sp_model_kwargs": {}, "split_by_punct": False, "tokenizer_class": "DebertaV2Tokenizer", "unk_token": "[UNK]",
        "vocab_type": "spm",
    }
    role = lambda c: {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}  # noqa: E731
    special_map = {"bos_token": role("[CLS]"), "cls_token": role("[CLS]"), "eos_token": role("[SEP]"), "mask_token": role("[MASK]"),
                   "pad_token": role("[PAD]"), "sep_token": role("[SEP]"), "unk_token": role("[UNK]")}
    for name, obj in (("tokenizer.json", tokenizer), ("tokenizer_config.json", config), ("special_tokens_map.json", special_map),
                      ("added_tokens.json", {"[MASK]": mask_id})):
        text = VOCAB_PAIR.sub(r"[\1, \2]", json.dumps(obj, indent=2, ensure_ascii=False))
        assert json.loads(text) == obj
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(f"{out}: vocab {len(vocab) + 1} ids ([MASK]={mask_id}), charsmap {len(charsmap)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
