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
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
BPE = os.path.join(REPO, "tests", "fixtures", "bpe")


@dataclass(frozen=True)
class QwenSpec:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tie: bool
    rope_theta: float
    dtype: str = "F32"
    seed: int = 0
    max_positions: int = 40960
    seq_cls_of: str | None = None      # convert this preset's weights to Qwen3ForSequenceClassification

    @property
    def std(self) -> float:
        return 0.02 * (1024 / self.hidden) ** 0.5


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


def config_json(s: QwenSpec) -> dict:
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


def shapes(s: QwenSpec) -> dict:
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


def draw(s: QwenSpec, name: str, shape) -> np.ndarray:
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    if name.endswith("norm.weight"):
        return (1.0 + 0.05 * z).astype(np.float32)
    return (np.float32(s.std) * z).astype(np.float32)


def make(s: QwenSpec, out: str) -> dict:
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
    return {"out": out, "bytes": os.path.getsize(os.path.join(out, "model.safetensors"))}


# ---- float64 reference ----

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward_hidden(w, cfg, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Final-norm hidden states [B, T, H]. positions [B, T]."""
    B, T = ids.shape
    H, nh, nkv, d = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    lin = torch.nn.functional.linear
    x = w("model.embed_tokens.weight")[ids]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = positions.to(torch.float64)[..., None] * inv_freq                      # [B, T, d/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None].to(x.dtype), emb.sin()[:, None].to(x.dtype)       # [B, 1, T, d]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None, None] & mask.bool()[:, None, None, :]
    additive = torch.zeros(B, 1, T, T, dtype=x.dtype).masked_fill(~allowed, torch.finfo(x.dtype).min)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w(p + "input_layernorm.weight"), eps)
        q = rms_norm(lin(h, w(p + "self_attn.q_proj.weight")).view(B, T, nh, d), w(p + "self_attn.q_norm.weight"), eps).transpose(1, 2)
        k = rms_norm(lin(h, w(p + "self_attn.k_proj.weight")).view(B, T, nkv, d), w(p + "self_attn.k_norm.weight"), eps).transpose(1, 2)
        v = lin(h, w(p + "self_attn.v_proj.weight")).view(B, T, nkv, d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)                                  # repeat_kv
        v = v.repeat_interleave(nh // nkv, dim=1)
        probs = torch.softmax(q @ k.transpose(-1, -2) * d ** -0.5 + additive, dim=-1)
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, nh * d)
        x = x + lin(ctx, w(p + "self_attn.o_proj.weight"))
        h = rms_norm(x, w(p + "post_attention_layernorm.weight"), eps)
        x = x + lin(torch.nn.functional.silu(lin(h, w(p + "mlp.gate_proj.weight"))) * lin(h, w(p + "mlp.up_proj.weight")), w(p + "mlp.down_proj.weight"))
    return rms_norm(x, w("model.norm.weight"), eps)


def scores(w, cfg, ids, mask, last, yes, no, positions) -> torch.Tensor:
    """The score logit of each row at index `last` [B]: logits[yes] − logits[no] from the full vocabulary, or score()."""
    x = forward_hidden(w, cfg, ids, mask, positions)
    h = x[torch.arange(ids.shape[0]), last]                                         # [B, H]
    if cfg["architectures"][0] == "Qwen3ForSequenceClassification":
        return torch.nn.functional.linear(h, w("score.weight"))[:, 0]
    head = w("model.embed_tokens.weight") if cfg["tie_word_embeddings"] else w("lm_head.weight")
    logits = torch.nn.functional.linear(h, head)                                   # [B, V], all of it, as the model card does
    return logits[:, yes] - logits[:, no]


class Weights:
    def __init__(self, model_dir: str, dtype):
        self.t = st.ModelTensors(model_dir)
        self.np_dtype = np.float64 if dtype == torch.float64 else np.float32
        self.cache = {}

    def __call__(self, name):
        if name not in self.cache:
            self.cache[name] = torch.from_numpy(np.array(self.t.get(name, self.np_dtype), order="C"))
        return self.cache[name]


def right_pad(seqs, pad_id):
    T = max(len(q) for q in seqs)
    ids = np.full((len(seqs), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), T), dtype=np.int64)
    for b, q in enumerate(seqs):
        ids[b, :len(q)] = q
        mask[b, :len(q)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


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
    rand = lambda n: rng.integers(0, 6256, size=n).tolist()  # noqa: E731   (vocabulary ids, specials excluded)
    probe = rand(23)
    groups = [("b1_len1", [rand(1)]), ("b1_probe", [probe]), ("b1_len200", [rand(200)]),
              ("b3_mixed", [rand(9), probe, rand(60)]), ("b3_same_length_no_padding", [rand(17) for _ in range(3)]),
              ("b8_mixed", [rand(n) for n in (2, 5, 12, 31, 64, 100, 150, 199)]),
              ("b8_probe_repeated", [probe if k % 3 == 0 else rand(int(rng.integers(4, 60))) for k in range(8)])]
    texts = text_cases()
    groups.append(("text_prompts", [t["input_ids"] for t in texts]))
    w64, w32 = Weights(model_dir, torch.float64), Weights(model_dir, torch.float32)
    cases, all_scores, max32, max_left = [], [], 0.0, 0.0
    with torch.inference_mode():
        for name, seqs in groups:
            ids, mask = right_pad(seqs, pad)
            last = mask.sum(1) - 1
            positions = torch.arange(ids.shape[1])[None].expand_as(ids)
            s64 = scores(w64, cfg, ids, mask, last, yes, no, positions)
            s32 = scores(w32, cfg, ids, mask, last, yes, no, positions).to(torch.float64)
            # The model card's batches: padded on the left, positions counting the pads (HF's cache_position), last index -1.
            T = ids.shape[1]
            left = torch.full_like(ids, pad)
            lmask = torch.zeros_like(mask)
            for b, q in enumerate(seqs):
                left[b, T - len(q):] = torch.tensor(q)
                lmask[b, T - len(q):] = 1
            s_left = scores(w64, cfg, left, lmask, torch.full((len(seqs),), T - 1), yes, no, positions)
            max32 = max(max32, float((s64 - s32).abs().max()))
            max_left = max(max_left, float((s64 - s_left).abs().max()))
            all_scores += s64.tolist()
            case = {"name": name, "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": [float(v) for v in s64]}
            if name == "text_prompts":
                case["prompts"] = [{k: t[k] for k in ("query", "document", "instruction") if k in t} for t in texts]
            cases.append(case)
    doc = {
        "format": "reranksharp.golden-logits.v1",
        "generator": "tools/model/qwen3.py",
        "reference": "tools/model/qwen3.py: float64 re-implementation of transformers' Qwen3 forward (eval) and the Qwen3-Reranker "
                     "model card's scoring: logits[yes] - logits[no] at the last position, over the full vocabulary",
        "torch_version": torch.__version__, "numpy_version": np.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "dtype": "float64",
        "model": os.path.basename(os.path.normpath(model_dir)),
        "model_sha256": make_model.sha256_file(os.path.join(model_dir, "model.safetensors")),
        "pad_token_id": pad, "yes_id": yes, "no_id": no,
        "torch_fp32_max_abs_diff": max32, "left_padding_max_abs_diff": max_left,
        "logit_range": [min(all_scores), max(all_scores)], "cases": cases,
        "batch_invariance": {"probe": [[n, i] for n, seqs in groups for i, q in enumerate(seqs) if q == probe]},
    }
    with open(os.path.join(model_dir, "golden_logits.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.write("\n")
    print(f"{model_dir}: {len(all_scores)} scores in [{min(all_scores):.2f}, {max(all_scores):.2f}], fp32 max |Δ| {max32:.1e}, "
          f"left padding max |Δ| {max_left:.1e}", file=sys.stderr)


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
