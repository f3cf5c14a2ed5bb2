#!/usr/bin/python3
"""Write tokenizer.json, tokenizer_config.json and special_tokens_map.json for a SentencePiece model.

Usage: make_tokenizer_json.py MODEL OUT_DIR [--model-max-length 8192]

The layout follows transformers' XLMRobertaConverter (the SpmConverter version that emits
Sequence[Precompiled, Replace(" {2,}", " ")], as in the published bge-reranker-v2-m3 files),
serialised the way tokenizers >= 0.19 does: 2-space indent, raw UTF-8, keys in its order.
Stdlib only: the model protobuf is read with a small wire-format reader, and pieces and
scores are cross-checked against the `sentencepiece` module when it is installed.
"""
import argparse
import base64
import json
import os
import struct
import re
import sys

VOCAB_PAIR = re.compile(r'\[\n\s+("(?:[^"\\]|\\.)*"),\n\s+(-?[0-9][0-9.eE+-]*)\n\s+\]')


def read_varint(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """Yield (field_number, wire_type, value) of one protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def read_model(path):
    with open(path, "rb") as f:
        data = f.read()
    pieces = []
    normalizer = {}
    trainer = {}
    for number, _, value in fields(data):
        if number == 1:  # SentencePiece
            piece, score, kind = None, 0.0, 1
            for n, _, v in fields(value):
                if n == 1:
                    piece = v.decode("utf-8")
                elif n == 2:
                    score = struct.unpack("<f", v)[0]
                elif n == 3:
                    kind = v
            pieces.append((piece, score, kind))
        elif number == 2:  # TrainerSpec: only what the checks below need
            for n, _, v in fields(value):
                if n in (3, 40, 41, 42, 43):
                    trainer[n] = v - (1 << 64) if v >= 1 << 63 else v
                elif n == 35:
                    trainer[n] = bool(v)
        elif number == 3:  # NormalizerSpec
            for n, _, v in fields(value):
                normalizer[n] = v
    return pieces, normalizer, trainer


def cross_check(path, pieces):
    try:
        import sentencepiece as spm
    except ImportError:
        print("sentencepiece module not installed; skipping the cross-check", file=sys.stderr)
        return
    sp = spm.SentencePieceProcessor(model_file=path)
    assert sp.get_piece_size() == len(pieces), "piece count differs from sentencepiece"
    for i, (piece, score, _) in enumerate(pieces):
        assert sp.id_to_piece(i) == piece, f"piece {i} differs"
        assert sp.get_score(i) == score, f"score {i} differs"


def added(id_, content, lstrip=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": False, "normalized": False, "special": True}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out_dir")
    ap.add_argument("--model-max-length", type=int, default=8192)
    args = ap.parse_args()

    pieces, normalizer, trainer = read_model(args.model)
    cross_check(args.model, pieces)
    # The converter assumes XLM-R's layout; refuse anything else rather than write a wrong file.
    assert trainer.get(3, 1) == 1, "model_type is not UNIGRAM"
    assert (trainer.get(40, 0), trainer.get(41, 1), trainer.get(42, 2), trainer.get(43, 3)) == (0, 1, 2, -1), \
        "expected unk/bos/eos = spm 0/1/2 and no pad piece (XLM-R layout)"
    assert not trainer.get(35, False), "byte_fallback models are not XLM-R"
    charsmap = normalizer.get(2, b"")
    assert charsmap, "model has no precompiled_charsmap"

    mask_id = len(pieces) + 1
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p, s] for p, s, _ in pieces[3:]]
    vocab += [["<mask>", 0.0]]
    assert len(vocab) == mask_id + 1

    def special(piece):
        return {"SpecialToken": {"id": piece, "type_id": 0}}

    seq = lambda name: {"Sequence": {"id": name, "type_id": 0}}
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"),
                         added(mask_id, "<mask>", lstrip=True)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("<s>"), seq("A"), special("</s>")],
            "pair": [special("<s>"), seq("A"), special("</s>"), special("</s>"), seq("B"), special("</s>")],
            # tokenizers serialises this map as a BTreeMap, hence sorted keys.
            "special_tokens": {
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]},
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }

    def entry(content, lstrip=False):
        return {"content": content, "lstrip": lstrip, "normalized": False, "rstrip": False,
                "single_word": False, "special": True}

    config = {
        "added_tokens_decoder": {
            "0": entry("<s>"), "1": entry("<pad>"), "2": entry("</s>"), "3": entry("<unk>"),
            str(mask_id): entry("<mask>", lstrip=True),
        },
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": "<mask>",
        "model_max_length": args.model_max_length,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "sp_model_kwargs": {},
        "tokenizer_class": "XLMRobertaTokenizer",
        "unk_token": "<unk>",
    }

    def role(content, lstrip=False):
        return {"content": content, "lstrip": lstrip, "normalized": False, "rstrip": False, "single_word": False}

    special_map = {
        "bos_token": role("<s>"), "cls_token": role("<s>"), "eos_token": role("</s>"),
        "mask_token": role("<mask>", lstrip=True), "pad_token": role("<pad>"), "sep_token": role("</s>"),
        "unk_token": role("<unk>"),
    }

    os.makedirs(args.out_dir, exist_ok=True)
    for name, obj in (("tokenizer.json", tokenizer), ("tokenizer_config.json", config),
                      ("special_tokens_map.json", special_map)):
        text = json.dumps(obj, indent=2, ensure_ascii=False)
        # One [piece, score] pair per line instead of four keeps the fixture at half the size;
        # it is the same JSON value.
        text = VOCAB_PAIR.sub(r"[\1, \2]", text)
        assert json.loads(text) == obj
        with open(os.path.join(args.out_dir, name), "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(f"vocab {len(vocab)} ids (<mask>={mask_id}), charsmap {len(charsmap)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
