#!/usr/bin/python3
"""Seed corpora for fuzz/corpus/<target>/ (called by make_seeds.sh with the tiny tokenizer it trained).

Usage: make_seeds.py WORK_DIR CORPUS_DIR REPO
"""
import json
import os
import shutil
import struct
import sys

work, corpus, repo = sys.argv[1:4]


def write(target, name, data):
    folder = os.path.join(corpus, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes), laid out in order."""
    header, data, offset = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)   # the reference pads the header to 8 bytes
    return struct.pack("<Q", len(text)) + text + data


f32 = struct.pack("<8f", *[0.5 * i for i in range(8)])
write("safetensors", "f32-f16-bf16", safetensors([
    ("roberta.embeddings.word_embeddings.weight", "F32", [4, 2], f32),
    ("half", "F16", [2], struct.pack("<2e", 1.0, -2.0)),
    ("brain", "BF16", [1, 2], b"\x80\x3f\x00\xc0"),
    ("ids", "I64", [1], struct.pack("<q", 7)),
], metadata={"format": "pt"}))
write("safetensors", "empty-tensor", safetensors([("e", "F32", [0, 3], b""), ("s", "F32", [], struct.pack("<f", 1.0))]))
write("safetensors", "truncated", safetensors([("t", "F32", [4], f32[:16])])[:-5])

write("safetensors-index", "two-shards", json.dumps({
    "metadata": {"total_size": 48},
    "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"},
}, indent=2))
write("safetensors-index", "escaping-shard", json.dumps({"weight_map": {"a": "../model.safetensors"}}))

with open(os.path.join(repo, "tests/fixtures/models/tiny-a/config.json"), encoding="utf-8") as f:
    write("config-json", "tiny-a", f.read())
write("config-json", "minimal", json.dumps({
    "architectures": ["XLMRobertaForSequenceClassification"], "model_type": "xlm-roberta", "vocab_size": 10,
    "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
    "max_position_embeddings": 16, "num_labels": 1, "layer_norm_eps": 1e-5, "dtype": "bfloat16"}))

os.makedirs(os.path.join(corpus, "tokenizer-config-json"), exist_ok=True)
shutil.copy(os.path.join(work, "tokenizer_config.json"), os.path.join(corpus, "tokenizer-config-json", "tiny"))
write("tokenizer-config-json", "no-limit", '{"model_max_length": 1000000000000000019884624838656, "bos_token": {"content": "<s>"}, "tokenizer_class": "XLMRobertaTokenizer"}')

os.makedirs(os.path.join(corpus, "tokenizer-json"), exist_ok=True)
shutil.copy(os.path.join(work, "tokenizer.json"), os.path.join(corpus, "tokenizer-json", "tiny"))
os.makedirs(os.path.join(corpus, "sentencepiece-model"), exist_ok=True)
shutil.copy(os.path.join(work, "tiny.model"), os.path.join(corpus, "sentencepiece-model", "tiny"))

# Byte 0: max_length - 4 in the low 6 bits, only_second (0x40), left (0x80); byte 1: cap << 1 | utf16.
write("tokenizer-text", "pair", b"\x0c\x00what is a reranker?\x00It scores a query with a document <mask> together.")
write("tokenizer-text", "only-second-left", b"\xc8\x06" + "Ｆｕｌｌ ﬁne\x00日本語のテキストと Ü 🙂".encode())
write("tokenizer-text", "utf16-lone-surrogate", b"\x10\x01" + "query".encode("utf-16-le") + b"\x00\xd8" + b"\x00\x00" + "doc".encode("utf-16-le"))

write("http-rerank", "tei", json.dumps({"query": "what is deep learning?", "texts": ["Deep learning is ...", "cheese"],
                                        "raw_scores": False, "return_text": True, "truncate": True, "truncation_direction": "left", "top_n": 1}))
write("http-rerank", "jina", json.dumps({"model": "m", "query": "q", "documents": ["a", {"text": "b"}], "top_n": 2, "return_documents": True}))
write("http-v1-rerank", "cohere-v1", json.dumps({"model": "rerank-v3.5", "query": "capital", "documents": [
    {"title": "Paris", "text": "capital of France"}, "Berlin"], "rank_fields": ["title", "text"], "top_n": 5, "return_documents": True, "min_score": 0.1}))
write("http-v1-rerank", "jina", json.dumps({"query": "q", "documents": ["x", "y"]}))
write("http-v2-rerank", "cohere-v2", json.dumps({"model": "rerank-v3.5", "query": "q", "documents": ["one", "two three"], "max_tokens_per_doc": 4, "raw_scores": True}))
write("http-tokenize", "string", json.dumps({"inputs": "hello world <mask>", "add_special_tokens": False}))
write("http-tokenize", "list", json.dumps({"inputs": ["a", "Ｆｕｌｌ ﬁne"]}))

write("score-jsonl", "two-lines", '{"query": "q", "documents": ["a", "b"]}\r\n\n{"query": "Ｆｕｌｌ", "documents": []}\n')
write("score-jsonl", "bom-and-error", '\ufeff{"query": "q", "documents": [1]}\n[1]\n')

# The WordPiece (BERT) and byte-level BPE (Qwen3) tokenizer.json fixtures, cut to a few hundred entries with ids kept
# contiguous, so the tokenizer-json target also starts from the other two families RerankSharp reads.
def shrink_wordpiece(path, keep):
    j = json.load(open(path, encoding="utf-8"))
    specials = {a["content"] for a in j["added_tokens"]}
    vocab = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
    kept = [t for t, i in vocab if i < keep or t in specials]
    ids = {t: n for n, t in enumerate(kept)}
    j["model"]["vocab"] = ids
    for a in j["added_tokens"]:
        a["id"] = ids[a["content"]]
    return json.dumps(j, ensure_ascii=False, separators=(",", ":"))


def shrink_bpe(path, keep, words):
    j = json.load(open(path, encoding="utf-8"))
    vocab = j["model"]["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    made_by = {}
    for m in merges:
        a, b = m.split(" ")
        made_by.setdefault(a + b, (a, b))
    wanted = {t for t, i in vocab.items() if i < keep}
    todo = list(words)
    while todo:   # every piece a kept word is merged from
        t = todo.pop()
        if t in wanted and t not in words:
            continue
        wanted.add(t)
        if t in made_by:
            todo.extend(made_by[t])
    kept = [t for t, i in sorted(vocab.items(), key=lambda kv: kv[1]) if t in wanted]
    ids = {t: n for n, t in enumerate(kept)}
    j["model"]["vocab"] = ids
    j["model"]["merges"] = [m for m in merges if all(p in ids for p in m.split(" ")) and m.replace(" ", "") in ids]
    for n, a in enumerate(j["added_tokens"]):
        a["id"] = len(ids) + n
    return json.dumps(j, ensure_ascii=False, separators=(",", ":"))


write("tokenizer-json", "wordpiece", shrink_wordpiece(os.path.join(repo, "tests/fixtures/wordpiece/uncased/tokenizer.json"), 160))
write("tokenizer-json", "byte-level-bpe", shrink_bpe(os.path.join(repo, "tests/fixtures/bpe/tokenizer.json"), 300, ["yes", "no"]))
