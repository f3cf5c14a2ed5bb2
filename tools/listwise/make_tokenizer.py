#!/usr/bin/env python3
"""tests/fixtures/jina-v3-tokenizer/: the byte-level BPE fixture (tests/fixtures/bpe, Qwen's kind) with jina-reranker-v3's
two marker tokens added as its tokenizer carries them: <|embed_token|> (after each document) and <|rerank_token|> (after
the query), special added tokens. jina-reranker-v3 numbers them 151670 and 151671 in Qwen3's 151k vocabulary; here they
are 6266 and 6265 (the query marker first), so that code which hard-codes an order or an id fails the tests.

model_max_length is 4096 (Qwen3 ships 131072) so that a list of a few thousand tokens already needs more than one block (the reference
fills a block until model_max_length - 2·query tokens - the documents' tokens reaches max_doc_length).

    python3 tools/listwise/make_tokenizer.py     # bit-identical on rerun; plain JSON, no packages
"""
import json
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(REPO, "tests", "fixtures", "bpe")
OUT = os.path.join(REPO, "tests", "fixtures", "jina-v3-tokenizer")
MARKERS = [(6265, "<|rerank_token|>"), (6266, "<|embed_token|>")]


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(SRC, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    taken = {t["id"] for t in tok["added_tokens"]} | set(tok["model"]["vocab"].values())
    for id_, content in MARKERS:
        assert id_ not in taken, id_
        tok["added_tokens"].append({"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                                    "normalized": False, "special": True})
    tok["added_tokens"].sort(key=lambda t: t["id"])
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(os.path.join(SRC, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    for id_, content in MARKERS:
        cfg["added_tokens_decoder"][str(id_)] = {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                                                 "single_word": False, "special": True}
    cfg["added_tokens_decoder"] = dict(sorted(cfg["added_tokens_decoder"].items(), key=lambda kv: int(kv[0])))
    cfg["model_max_length"] = 4096
    with open(os.path.join(OUT, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print(OUT)


if __name__ == "__main__":
    main()
