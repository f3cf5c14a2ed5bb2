#!/usr/bin/python3
"""Random-weight jina-reranker-v3 fixtures (JinaForRanking: a Qwen3 decoder and a projector, no lm_head), the float64
reference of its listwise scoring, and golden scores.

    node tools/listwise/golden.js                                   # the prompt ids (HF tokenizers), first
    /usr/bin/python3 tools/model/jina_v3.py make --all-tiny         # tests/fixtures/models/jina-v3-{a,b}/
    /usr/bin/python3 tools/model/jina_v3.py golden --all-tiny       # .../golden_scores.json
    /usr/bin/python3 tools/model/jina_v3.py make --preset jina-reranker-v3 --out /work/models/jina-reranker-v3   # never committed

The reference is jina-reranker-v3's modeling.py (JinaForRanking, the hub revision docs/models.md names; read, not
copied), with the Qwen3 forward of decoder.forward_hidden (transformers' modeling_qwen3.py, op for op) in float64:
  per block (tools/listwise/prompts.js builds its ids from the query, the documents, the cuts and the block rule):
    x = Qwen3Model(ids) after the final norm (lm_head is nn.Identity and output_hidden_states[-1] is that state);
    doc_embeds = projector(x[ids == id(<|embed_token|>)]), query_embed = projector(x[ids == id(<|rerank_token|>)]),
    projector = Linear(H, M, bias=False) → ReLU → Linear(M, P, bias=False) (M, P from the checkpoint: the code's
    hidden_size // 2 and 512);
    block scores = cosine(doc_embeds, query_embed); block weight = max((1 + scores) / 2)
  merged query = np.average(query embeds of the blocks, weights=block weights)
  relevance_score[j] = doc_embed[j] · merged / (|merged| · |doc_embed[j]|)   (rerank(), no transform after it)
With one block the merged query is that block's, so the score is the block's cosine.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder  # noqa: E402
import make_model  # noqa: E402
from fixture_tool import Weights  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
TOKENIZER = os.path.join(REPO, "tests", "fixtures", "jina-v3-tokenizer")

QwenSpec = functools.partial(decoder.Spec, "qwen3", max_positions=131072)

PRESETS = {
    # GQA 6 on 2, head_dim 12 ≠ 48/6, theta 1e6, F32; projector 48 → 24 → 24 (the code's hidden // 2 and, as in the
    # published checkpoint, an output as wide as its middle).
    "jina-v3-a": (QwenSpec(hidden=48, layers=2, heads=6, kv_heads=2, head_dim=12, intermediate=70, vocab=6272, tie=True, rope_theta=1000000.0, seed=41), 24, 24),
    # No GQA (4/4), theta 10000, BF16 as published; projector 40 → 20 → 12, so its sizes can only come from the checkpoint.
    "jina-v3-b": (QwenSpec(hidden=40, layers=3, heads=4, kv_heads=4, head_dim=10, intermediate=64, vocab=6272, tie=True, rope_theta=10000.0, dtype="BF16", seed=42), 20, 12),
    # jinaai/jina-reranker-v3's shape (Qwen3-0.6B: 28 layers, H 1024, 16/8 heads of 128, I 3072, 151936 ids, BF16;
    # projector 1024 → 512 → 512 as its code builds it), for benchmarks; it carries the fixture tokenizer.
    "jina-reranker-v3": (QwenSpec(hidden=1024, layers=28, heads=16, kv_heads=8, head_dim=128, intermediate=3072, vocab=151936, tie=True, rope_theta=1000000.0, dtype="BF16", seed=43), 512, 512),
}


def config_json(s: decoder.Spec) -> dict:
    """jina-reranker-v3's config.json (JinaForRanking over model_type qwen3, its code named by auto_map) with `s`'s sizes."""
    return {
        "architectures": ["JinaForRanking"], "auto_map": {"AutoModel": "modeling.JinaForRanking"},
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
        "head_dim": s.head_dim, "hidden_act": "silu", "hidden_size": s.hidden, "initializer_range": 0.02,
        "intermediate_size": s.intermediate, "max_position_embeddings": s.max_positions, "max_window_layers": s.layers,
        "model_type": "qwen3", "num_attention_heads": s.heads, "num_hidden_layers": s.layers, "num_key_value_heads": s.kv_heads,
        "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": s.rope_theta, "sliding_window": None,
        "tie_word_embeddings": s.tie, "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype], "transformers_version": "4.56.0",
        "use_cache": True, "use_sliding_window": False, "vocab_size": s.vocab,
    }


def shapes(s: decoder.Spec, middle: int, out: int) -> dict:
    H, I, d = s.hidden, s.intermediate, s.head_dim
    t = {"model.embed_tokens.weight": (s.vocab, H)}
    for i in range(s.layers):
        p = f"model.layers.{i}."
        t |= {p + "input_layernorm.weight": (H,), p + "self_attn.q_proj.weight": (s.heads * d, H),
              p + "self_attn.k_proj.weight": (s.kv_heads * d, H), p + "self_attn.v_proj.weight": (s.kv_heads * d, H),
              p + "self_attn.o_proj.weight": (H, s.heads * d), p + "self_attn.q_norm.weight": (d,), p + "self_attn.k_norm.weight": (d,),
              p + "post_attention_layernorm.weight": (H,), p + "mlp.gate_proj.weight": (I, H), p + "mlp.up_proj.weight": (I, H),
              p + "mlp.down_proj.weight": (H, I)}
    t["model.norm.weight"] = (H,)
    # nn.Sequential(Linear, ReLU, Linear): the ReLU has no parameters, so the tensors are projector.0 and projector.2.
    t["projector.0.weight"] = (middle, H)
    t["projector.2.weight"] = (out, middle)
    return t


def draw(s: decoder.Spec, name: str, shape) -> np.ndarray:
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    if name.endswith("norm.weight"):
        return (1.0 + 0.05 * z).astype(np.float32)
    if name.startswith("projector."):
        # Kaiming-like, so that half the ReLU's inputs are positive and the cosines spread over [-1, 1].
        return (z / np.float32(np.sqrt(shape[1]))).astype(np.float32)
    return (np.float32(s.std) * z).astype(np.float32)


def make(name: str, out: str) -> dict:
    s, middle, width = PRESETS[name]
    os.makedirs(out, exist_ok=True)
    for stale in os.listdir(out):
        if stale.endswith(".safetensors"):
            os.remove(os.path.join(out, stale))
    tensors = shapes(s, middle, width)
    st.save_file({n: (draw(s, n, shape), s.dtype) for n, shape in tensors.items()}, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(config_json(s), indent=2, sort_keys=True) + "\n")
    fixture = os.path.abspath(out).startswith(os.path.abspath(FIXTURES))
    for fn in ("tokenizer.json", "tokenizer_config.json"):
        target = os.path.join(out, fn)
        if os.path.lexists(target):
            os.remove(target)
        if fixture:
            os.symlink(os.path.join("..", "..", "jina-v3-tokenizer", fn), target)
        elif fn == "tokenizer_config.json":
            # Outside the fixtures the block capacity is Qwen3's model_max_length, 131072, as jina-reranker-v3's tokenizer
            # (Qwen3's with its two markers) carries it: 50 documents of 256 tokens are one block, as with the real model.
            with open(os.path.join(TOKENIZER, fn), encoding="utf-8") as src:
                cfg = json.load(src)
            cfg["model_max_length"] = 131072
            with open(target, "w", encoding="utf-8") as dst:
                json.dump(cfg, dst, ensure_ascii=False, indent=2)
                dst.write("\n")
        else:
            with open(os.path.join(TOKENIZER, fn), "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())
    return {"out": out, "bytes": os.path.getsize(os.path.join(out, "model.safetensors"))}


# ---- float64 reference ----

def marker_ids() -> tuple[int, int]:
    """(document marker, query marker) looked up by their text in the fixture tokenizer."""
    added = json.load(open(os.path.join(TOKENIZER, "tokenizer.json"), encoding="utf-8"))["added_tokens"]
    by_text = {t["content"]: t["id"] for t in added}
    return by_text["<|embed_token|>"], by_text["<|rerank_token|>"]


def projector(w, x):
    return torch.nn.functional.linear(torch.relu(torch.nn.functional.linear(x, w("projector.0.weight"))), w("projector.2.weight"))


def block_embeddings(w, cfg, ids: list[int], doc_id: int, query_id: int):
    """One block's projected document embeddings [n, P] and query embedding [P] (JinaForRanking.forward)."""
    t = torch.tensor([ids], dtype=torch.int64)
    x = decoder.forward_hidden(w, cfg, t, torch.ones_like(t), torch.arange(len(ids))[None])[0]   # [T, H] after model.norm
    docs = x[t[0] == doc_id]
    query = x[t[0] == query_id]
    if query.shape[0] != 1:
        raise RuntimeError(f"expected exactly 1 query embed token, got {query.shape[0]}")
    return projector(w, docs), projector(w, query)[0]


def cosine(a, b):
    return (a @ b) / (torch.linalg.norm(a, dim=-1) * torch.linalg.norm(b))


def rerank_scores(w, cfg, blocks, doc_id: int, query_id: int):
    """rerank(): per block the cosines and the weight max((1 + s) / 2); the query embeddings averaged by those weights;
    the final cosine of every document against that average. Returns (scores, per-block scores, weights)."""
    docs, queries, weights, block_scores = [], [], [], []
    for b in blocks:
        d, q = block_embeddings(w, cfg, b["input_ids"], doc_id, query_id)
        if d.shape[0] != len(b["documents"]):
            raise RuntimeError(f"{d.shape[0]} document markers for {len(b['documents'])} documents")
        s = cosine(d, q)
        docs.append(d)
        queries.append(q)
        block_scores.append(s.tolist())
        weights.append(float(((1.0 + s) / 2.0).max()))
    d = torch.cat(docs)
    wt = torch.tensor(weights, dtype=d.dtype)
    merged = (torch.stack(queries) * wt[:, None]).sum(0) / wt.sum()
    return cosine(d, merged).tolist(), block_scores, weights


GOLDEN_CATEGORIES = ("pairs", "special_query", "special_document", "special_instruction", "empty", "instruction", "cut_documents",
                     "cut_documents_multibyte", "cut_query", "blocks", "blocks_125", "blocks_model_max_length")


def golden(model_dir: str) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    doc_id, query_id = marker_ids()
    lines = open(os.path.join(TOKENIZER, "golden.jsonl"), encoding="utf-8").read().rstrip("\n").split("\n")   # not splitlines: texts hold U+2028
    header = json.loads(lines[0])
    cases = [json.loads(l) for l in lines[1:]]
    # A marker text that survives the reference's one-pass sanitising ("<|rerank_<|embed_token|>token|>" leaves
    # "<|rerank_token|>") gives a block more markers than texts: the reference raises, RerankSharp refuses the request.
    sound = lambda c: all(b["input_ids"].count(doc_id) == len(b["documents"]) and b["input_ids"].count(query_id) == 1 for b in c["blocks"])
    picked = [c for c in cases if c["category"] in GOLDEN_CATEGORIES and c["documents"] and sound(c)]
    picked += [c for c in cases if c["category"] == "texts"][::25]
    w64, w32 = Weights(model_dir, torch.float64), Weights(model_dir, torch.float32)
    out, all_scores, max32 = [], [], 0.0
    for c in picked:
        scores, block_scores, weights = rerank_scores(w64, cfg, c["blocks"], doc_id, query_id)
        s32, _, _ = rerank_scores(w32, cfg, c["blocks"], doc_id, query_id)
        max32 = max(max32, max(abs(a - b) for a, b in zip(scores, s32)))
        all_scores += scores
        out.append({k: c[k] for k in ("category", "query", "documents", "instruction", "max_query_length", "max_doc_length", "model_max_length")}
                   | {"blocks": [b["documents"] for b in c["blocks"]], "block_lengths": [len(b["input_ids"]) for b in c["blocks"]],
                      "block_scores": block_scores, "block_weights": weights, "scores": scores})
    doc = {
        "format": "reranksharp.listwise-scores.v1",
        "generator": "tools/model/jina_v3.py golden",
        "reference": "tools/model/jina_v3.py: float64 JinaForRanking (jina-reranker-v3 modeling.py: Qwen3 hidden states at the markers, "
                     "projector, cosine, rerank()'s block merge) over the prompt ids of tools/listwise/prompts.js",
        "prompts": {k: header[k] for k in ("generator", "tokenizers", "tokenizer_sha256")},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "dtype": "float64",
        "torch": torch.__version__,
        "markers": {"document": doc_id, "query": query_id},
        "torch_fp32_max_abs_diff": max32,
        "cases": out,
    }
    with open(os.path.join(model_dir, "golden_scores.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.write("\n")
    multi = sum(1 for c in out if len(c["blocks"]) > 1)
    print(f"{model_dir}: {len(out)} cases ({multi} of several blocks), {len(all_scores)} scores in [{min(all_scores):.3f}, {max(all_scores):.3f}], "
          f"fp32 max |Δ| {max32:.1e}", file=sys.stderr)


TINY = ("jina-v3-a", "jina-v3-b")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["make", "golden"])
    ap.add_argument("--all-tiny", action="store_true")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--out")
    args = ap.parse_args()
    jobs = [(n, os.path.join(FIXTURES, n)) for n in TINY] if args.all_tiny else [(args.preset, args.out)]
    for name, out in jobs:
        print(json.dumps(make(name, out)) if args.command == "make" else golden(out) or "")


if __name__ == "__main__":
    main()
