#!/usr/bin/python3
"""A Gemma-kind tokenizer for tests/fixtures/gemma-tokenizer/: a SentencePiece BPE model with byte fallback trained here
(sentencepiece 0.1.97) on tools/out/debian_docs.txt with Gemma's trainer settings, written as the tokenizer.json that
transformers' GemmaConverter makes of google/gemma-2b's tokenizer.model (the form bge-reranker-v2-gemma ships):
  normalizer Replace(" " → "▁"); pre_tokenizer null; model BPE with unk "<unk>", fuse_unk, byte_fallback, merges
  extracted from the vocabulary as SentencePieceExtractor does; added tokens: the control pieces (special) and the
  user-defined pieces (not special), all normalized: false; post_processor TemplateProcessing "<bos> $A" /
  "<bos> $A <bos> $B"; decoder Replace("▁" → " "), ByteFallback, Fuse.
Ids as Gemma numbers them: <pad> 0, <eos> 1, <bos> 2, <unk> 3, then user-defined pieces, the 256 byte pieces, the rest.

    /usr/bin/python3 tools/bpe/train_gemma.py tools/out/debian_docs.txt      # bit-identical on rerun
"""

import json
import os
import sys
import tempfile

import sentencepiece as spm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(REPO, "tests", "fixtures", "gemma-tokenizer")
VOCAB_SIZE = 3000
# Gemma's user-defined pieces are of these kinds (turn markers, newline and space runs, a tab, markup tags).
USER_DEFINED = ["<start_of_turn>", "<end_of_turn>", "\n", "\n\n", "\n\n\n", "\t", "▁▁", "▁▁▁", "▁▁▁▁", "<table>", "</table>", "<h1>", "</h1>", "<mask>"]


def train(corpus: str, prefix: str) -> None:
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type="bpe", vocab_size=VOCAB_SIZE, character_coverage=0.9995,
        byte_fallback=True, split_digits=True, split_by_whitespace=True, split_by_unicode_script=True, split_by_number=True,
        allow_whitespace_only_pieces=True, add_dummy_prefix=False, remove_extra_whitespaces=False,
        normalization_rule_name="identity", pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
        bos_piece="<bos>", unk_piece="<unk>", user_defined_symbols=USER_DEFINED, input_sentence_size=200000,
        shuffle_input_sentence=False, num_threads=1, minloglevel=2, max_sentencepiece_length=16)


def merges_of(vocab: dict) -> list:
    """SentencePieceExtractor: every split of a piece into two pieces of the vocabulary, ordered by the piece's id,
    then the left's, then the right's (byte pieces and added pieces take no part)."""
    out = []
    for piece, pid in vocab.items():
        for i in range(1, len(piece)):
            left, right = piece[:i], piece[i:]
            if left in vocab and right in vocab:
                out.append((pid, vocab[left], vocab[right], left, right))
    out.sort()
    return [[m[3], m[4]] for m in out]


def main() -> None:
    corpus = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "gemma")
        train(corpus, prefix)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        pieces = [(sp.id_to_piece(i), sp.is_control(i), sp.is_unused(i), sp.is_byte(i)) for i in range(sp.get_piece_size())]
    user = set(USER_DEFINED)
    vocab = {p: i for i, (p, *_rest) in enumerate(pieces)}
    mergeable = {p: i for p, i in vocab.items() if p not in user and not (p.startswith("<0x") and p.endswith(">")) and i > 3}
    added = []
    for i, (piece, control, _unused, _byte) in enumerate(pieces):
        if control or piece == "<unk>" or piece in user:
            added.append({"id": i, "content": piece, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": control or piece in ("<unk>", "<start_of_turn>", "<end_of_turn>", "<mask>")})
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<bos>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}}},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                                     {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False, "vocab": vocab, "merges": merges_of(mergeable)},
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
        f.write("\n")
    config = {
        "add_bos_token": True, "add_eos_token": False, "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
        "clean_up_tokenization_spaces": False, "model_max_length": 1000000000000000019884624838656, "padding_side": "left",
        "tokenizer_class": "GemmaTokenizer", "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added},
    }
    with open(os.path.join(OUT, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{OUT}: {len(vocab)} ids, {len(tokenizer['model']['merges'])} merges, {len(added)} added tokens", file=sys.stderr)


if __name__ == "__main__":
    main()
