#!/usr/bin/python3
"""Random-weight Qwen3-Reranker fixtures (Qwen3ForCausalLM and the converted Qwen3ForSequenceClassification "seq-cls"
form), their float64 reference forward, and golden scores.

    /usr/bin/python3 tools/model/qwen3.py make --all-tiny     # tests/fixtures/models/qwen3-{a,b,c}/
    /usr/bin/python3 tools/model/qwen3.py golden --all-tiny   # .../golden_logits.json
    /usr/bin/python3 tools/model/qwen3.py make --preset reranker-0.6b --out /work/models/qwen3-0.6b   # benchmark shape, never committed

The reference is transformers' modeling_qwen3.py forward (eval), op for op, in float64:
  x = embed_tokens[ids]
  per layer: h = RMSNorm(x) (x · rsqrt(mean(x²) + eps) · w);  q = q_proj(h).view(B, T, nh, d), k, v likewise with nkv heads;
      q = q_norm(q), k = k_norm(k) (RMSNorm over d);  RoPE (rotate_half form, inv_freq = theta^(-2i/d), positions 0..T-1);
      scores = q kᵀ · d^-0.5 + causal and key-padding mask (finfo.min); softmax; · v, each kv head shared by nh/nkv query
      heads;  x += o_proj(ctx);  x += down_proj(silu(gate_proj(RMSNorm(x))) · up_proj(RMSNorm(x)))
  x = norm(x); the model card reads the last position: logits = lm_head(x[:, -1]) over the full vocabulary (lm_head =
  embed_tokens when tie_word_embeddings), score logit = logits[yes] − logits[no] (softmax over the two = sigmoid of it).
  The seq-cls form has score.weight = lm_head[yes] − lm_head[no] and returns score(x_last) directly.
Rows are right-padded here with positions 0..len-1 (the row alone); the model card pads on the left and lets positions
run over the pads, which RoPE makes the same up to rounding: golden_logits.json records the measured difference.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decoder  # noqa: E402
import make_model  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
BPE = os.path.join(REPO, "tests", "fixtures", "bpe")


# decoder.Spec with Qwen3's family and its 40960 positions.
QwenSpec = functools.partial(decoder.Spec, "qwen3", max_positions=40960)


PRESETS = {
    # GQA (6 query heads share 2 kv heads), explicit head_dim 12 (not hidden/heads = 8), tied embeddings, theta 1e6.
    "qwen3-a": QwenSpec(hidden=48, layers=2, heads=6, kv_heads=2, head_dim=12, intermediate=70, vocab=6272, tie=True, rope_theta=1000000.0, seed=21),
    # No GQA (4 kv heads for 4 query heads), untied lm_head, theta 10000, BF16 weights.
    "qwen3-b": QwenSpec(hidden=40, layers=3, heads=4, kv_heads=4, head_dim=10, intermediate=64, vocab=6272, tie=False, rope_theta=10000.0, dtype="BF16", seed=22),
    # qwen3-a converted to the seq-cls form: score.weight = lm_head[yes] - lm_head[no].
    "qwen3-c": QwenSpec(hidden=48, layers=2, heads=6, kv_heads=2, head_dim=12, intermediate=70, vocab=6272, tie=True, rope_theta=1000000.0, seed=21, seq_cls_of="qwen3-a"),
    # Qwen/Qwen3-Reranker-0.6B's shape (151669 ids), for benchmarks.
    "reranker-0.6b": QwenSpec(hidden=1024, layers=28, heads=16, kv_heads=8, head_dim=128, intermediate=3072, vocab=151669, tie=True, rope_theta=1000000.0, dtype="BF16", seed=23),
}


def config_json(s: decoder.Spec) -> dict:
    """Qwen/Qwen3-Reranker-0.6B's config.json with the sizes of `s`."""
    cfg = {
        "architectures": ["Qwen3ForSequenceClassification" if s.seq_cls_of else "Qwen3ForCausalLM"],
        "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
        "head_dim": s.head_dim, "hidden_act": "silu", "hidden_size": s.hidden, "initializer_range": 0.02,
        "intermediate_size": s.intermediate, "max_position_embeddings": s.max_positions, "max_window_layers": s.layers,
        "model_type": "qwen3", "num_attention_heads": s.heads, "num_hidden_layers": s.layers, "num_key_value_heads": s.kv_heads,
        "rms_norm_eps": 1e-06, "rope_scaling": None, "rope_theta": s.rope_theta, "sliding_window": None,
        "tie_word_embeddings": s.tie, "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype], "transformers_version": "4.51.0",
        "use_cache": True, "use_sliding_window": False, "vocab_size": s.vocab,
    }
    if s.seq_cls_of:
        cfg |= {"id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}, "pad_token_id": yes_no()[2]}
    return cfg


def yes_no() -> tuple[int, int, int]:
    vocab = json.load(open(os.path.join(BPE, "vocab.json"), encoding="utf-8"))
    added = json.load(open(os.path.join(BPE, "tokenizer.json"), encoding="utf-8"))["added_tokens"]
    pad = next(t["id"] for t in added if t["content"] == "<|endoftext|>")
    return vocab["yes"], vocab["no"], pad


def shapes(s: decoder.Spec) -> dict:
    H, I, d = s.hidden, s.intermediate, s.head_dim
    out = {"model.embed_tokens.weight": (s.vocab, H)}
    for i in range(s.layers):
        p = f"model.layers.{i}."
        out |= {p + "input_layernorm.weight": (H,), p + "self_attn.q_proj.weight": (s.heads * d, H),
                p + "self_attn.k_proj.weight": (s.kv_heads * d, H), p + "self_attn.v_proj.weight": (s.kv_heads * d, H),
                p + "self_attn.o_proj.weight": (H, s.heads * d), p + "self_attn.q_norm.weight": (d,), p + "self_attn.k_norm.weight": (d,),
                p + "post_attention_layernorm.weight": (H,), p + "mlp.gate_proj.weight": (I, H), p + "mlp.up_proj.weight": (I, H),
                p + "mlp.down_proj.weight": (H, I)}
    out["model.norm.weight"] = (H,)
    if not s.tie:
        out["lm_head.weight"] = (s.vocab, H)
    return out


def draw(s: decoder.Spec, name: str, shape) -> np.ndarray:
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    if name.endswith("norm.weight"):
        return (1.0 + 0.05 * z).astype(np.float32)
    return (np.float32(s.std) * z).astype(np.float32)


def make(s: decoder.Spec, out: str) -> dict:
    os.makedirs(out, exist_ok=True)
    for stale in os.listdir(out):
        if stale.endswith(".safetensors"):
            os.remove(os.path.join(out, stale))
    if s.seq_cls_of:
        base = PRESETS[s.seq_cls_of]
        arrays = {n: draw(base, n, shape) for n, shape in shapes(base).items()}
        yes, no, _ = yes_no()
        head = arrays["model.embed_tokens.weight"] if base.tie else arrays.pop("lm_head.weight")
        # The conversion of tomaarsen/Qwen3-Reranker-0.6B-seq-cls: one label whose weight is the yes row minus the no row.
        arrays["score.weight"] = (head[yes].astype(np.float64) - head[no].astype(np.float64)).astype(np.float32)[None, :]
    else:
        arrays = {n: draw(s, n, shape) for n, shape in shapes(s).items()}
    st.save_file({n: (a, s.dtype) for n, a in arrays.items()}, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(config_json(s), indent=2, sort_keys=True) + "\n")
    if s.vocab < 150000:
        files = ("tokenizer.json", "tokenizer_config.json") if s.seq_cls_of is None and s.tie else ("vocab.json", "merges.txt", "tokenizer_config.json")
        for fn in files:
            target = os.path.join(out, fn)
            if os.path.lexists(target):
                os.remove(target)
            os.symlink(os.path.join("..", "..", "bpe", fn), target)
    else:
        # A benchmark shape: the tokenizer trained here (tools/bpe), whose ids all lie inside the full vocabulary, so the
        # folder runs end to end (rerank bench, rerank-bench prefix) on text; copied, as the folder lives outside the repo.
        for fn in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(BPE, fn), os.path.join(out, fn))
    return {"out": out, "bytes": os.path.getsize(os.path.join(out, "model.safetensors"))}


# ---- float64 reference: decoder.forward_hidden, the Qwen2/Qwen3/Gemma forward (Qwen3's q/k norms by model_type) ----

def scores(w, cfg, ids, mask, last, yes, no, positions) -> torch.Tensor:
    """The score logit of each row at index `last` [B]: logits[yes] − logits[no] from the full vocabulary, or score()."""
    x = decoder.forward_hidden(w, cfg, ids, mask, positions)
    h = x[torch.arange(ids.shape[0]), last]                                         # [B, H]
    if cfg["architectures"][0] == "Qwen3ForSequenceClassification":
        return torch.nn.functional.linear(h, w("score.weight"))[:, 0]
    head = w("model.embed_tokens.weight") if cfg["tie_word_embeddings"] else w("lm_head.weight")
    logits = torch.nn.functional.linear(h, head)                                   # [B, V], all of it, as the model card does
    return logits[:, yes] - logits[:, no]


def text_cases() -> list[dict]:
    pairs = json.load(open(os.path.join(REPO, "tools", "model", "text_pairs.json"), encoding="utf-8"))
    pairs = pairs[:8] + [dict(p, instruction="Given a question, retrieve passages that answer it") for p in pairs[8:12]] + [dict(pairs[12], instruction="")]
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"qwen3-pairs-{os.getpid()}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(pairs, f, ensure_ascii=False)
    try:
        out = subprocess.run(["node", os.path.join(REPO, "tools", "bpe", "encode_prompts.js"), os.path.join(BPE, "tokenizer.json"), path],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.remove(path)
    return [json.loads(line) for line in out.splitlines()]


def golden(model_dir: str) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    yes, no, pad = yes_no()
    V = cfg["vocab_size"]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([9, V])))
    groups, probe = decoder.id_groups(rng, lambda n: rng.integers(0, 6256, size=n).tolist())   # vocabulary ids, specials excluded
    texts = text_cases()
    groups.append(("text_prompts", [t["input_ids"] for t in texts]))
    decoder.write_golden(model_dir, groups, probe, texts, pad,
                         lambda w, ids, mask, last, positions: scores(w, cfg, ids, mask, last, yes, no, positions),
                         "tools/model/qwen3.py",
                         "tools/model/qwen3.py: float64 re-implementation of transformers' Qwen3 forward (eval) and the Qwen3-Reranker "
                         "model card's scoring: logits[yes] - logits[no] at the last position, over the full vocabulary",
                         {"yes_id": yes, "no_id": no})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["make", "golden"])
    ap.add_argument("--all-tiny", action="store_true")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--out")
    args = ap.parse_args()
    jobs = [(PRESETS[n], os.path.join(FIXTURES, n)) for n in ("qwen3-a", "qwen3-b", "qwen3-c")] if args.all_tiny else [(PRESETS[args.preset], args.out)]
    for spec, out in jobs:
        print(json.dumps(make(spec, out)) if args.command == "make" else golden(out) or "")


if __name__ == "__main__":
    main()
