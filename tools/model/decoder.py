#!/usr/bin/python3
"""Random-weight decoder-reranker fixtures beside Qwen3's (qwen3.py): Qwen2ForCausalLM read as mxbai-rerank-v2 and
GemmaForCausalLM read as bge-reranker-v2-gemma, their float64 reference forward, and golden scores.

    /usr/bin/python3 tools/model/decoder.py make --all-tiny     # tests/fixtures/models/{mxbai-a,mxbai-b,gemma-a,gemma-b}/
    /usr/bin/python3 tools/model/decoder.py golden --all-tiny   # .../golden_logits.json
    /usr/bin/python3 tools/model/decoder.py make --preset mxbai-rerank-base-v2 --out /work/models/mxbai-base   # never committed

The reference is transformers' forward (eval), op for op, in float64, written from modeling_qwen2.py (commit
00d4b3d2142cb4ced2f51b90614b5d26bc045015) and modeling_gemma.py (commit 0125ac68d92d1866341d531c52af7165af06f3e9):
  x = embed_tokens[ids]; Gemma: x *= torch.tensor(hidden_size ** 0.5, dtype=x.dtype)
  per layer: h = RMSNorm(x): x · rsqrt(mean(x²) + eps) · w (Qwen2), · (1 + w) (GemmaRMSNorm);
      q = q_proj(h) (+ bias, Qwen2), k, v likewise with nkv heads (Gemma-2B: 1, multi-query); RoPE (rotate_half form,
      inv_freq = theta^(-2i/d), positions 0..T-1); scores = q kᵀ · head_dim^-0.5 + causal and key-padding mask
      (finfo.min); softmax; · v (repeat_kv); x += o_proj(ctx) (no bias);
      x += down_proj(act(gate_proj(RMSNorm(x))) · up_proj(RMSNorm(x))), act = silu (Qwen2, hidden_act) or, for Gemma,
      config.hidden_activation, gelu_pytorch_tanh when that is absent (GemmaMLP ignores hidden_act)
  x = norm(x); logits = lm_head(x[:, last]) over the full vocabulary (lm_head = embed_tokens when tied).
Scores, as the reference packages compute them before their sigmoid:
  mxbai-rerank-v2 (mxbai_rerank_v2.py @ 03324ea9): logits[id("1")] − logits[id("0")]
  bge-reranker-v2-gemma (FlagEmbedding decoder_only/base.py @ dfdace38, normalize=False): logits[id("Yes")]
Rows are right-padded with positions 0..len-1; the packages pad on the left (golden_logits.json records the difference).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model  # noqa: E402
from fixture_tool import Weights, right_pad  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
BPE = os.path.join(REPO, "tests", "fixtures", "bpe")                            # tools/bpe/train.js (Qwen's kind)
GEMMA_TOKENIZER = os.path.join(REPO, "tests", "fixtures", "gemma-tokenizer")   # tools/bpe/train_gemma.py


@dataclass(frozen=True)
class Spec:
    family: str                 # "qwen2", "gemma", or "qwen3" (tools/model/qwen3.py)
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
    hidden_activation: str | None = None   # Gemma: the key GemmaMLP reads (absent: gelu_pytorch_tanh)
    max_positions: int = 32768
    seq_cls_of: str | None = None          # Qwen3: convert this preset's weights to Qwen3ForSequenceClassification

    @property
    def std(self) -> float:
        return 0.02 * (1024 / self.hidden) ** 0.5


PRESETS = {
    # Sizes keep each folder under 1 MB (the 6272-row embedding table dominates).
    # Qwen2 with QKV bias, GQA 6 query heads on 2 kv heads, tied embeddings (as Qwen2.5-0.5B, mxbai-rerank-base-v2's base), BF16.
    "mxbai-a": Spec("qwen2", hidden=48, layers=2, heads=6, kv_heads=2, head_dim=8, intermediate=74, vocab=6272, tie=True, rope_theta=1000000.0, dtype="BF16", seed=31),
    # Qwen2, no GQA (4/4 heads), untied lm_head, BF16, theta 10000.
    "mxbai-b": Spec("qwen2", hidden=32, layers=3, heads=4, kv_heads=4, head_dim=8, intermediate=66, vocab=6272, tie=False, rope_theta=10000.0, dtype="BF16", seed=32),
    # Gemma, F32, multi-query (4 query heads, 1 kv head), head_dim 12 ≠ hidden/heads = 8, hidden_act "gelu" with
    # hidden_activation "gelu_pytorch_tanh" as bge-reranker-v2-gemma's config.json has them.
    "gemma-a": Spec("gemma", hidden=32, layers=2, heads=4, kv_heads=1, head_dim=12, intermediate=90, vocab=6272, tie=True, rope_theta=10000.0, seed=33,
                    hidden_activation="gelu_pytorch_tanh"),
    # Gemma, GQA 4 on 2, head_dim = hidden/heads, BF16, no hidden_activation key (GemmaMLP then uses gelu_pytorch_tanh).
    "gemma-b": Spec("gemma", hidden=40, layers=3, heads=4, kv_heads=2, head_dim=10, intermediate=70, vocab=6272, tie=True, rope_theta=10000.0, dtype="BF16", seed=34),
    # Benchmark shapes, never committed: mxbai-rerank-base-v2 (Qwen2.5-0.5B) and bge-reranker-v2-gemma (Gemma-2B).
    "mxbai-rerank-base-v2": Spec("qwen2", hidden=896, layers=24, heads=14, kv_heads=2, head_dim=64, intermediate=4864, vocab=151936, tie=True,
                                 rope_theta=1000000.0, dtype="BF16", seed=35),
    "bge-reranker-v2-gemma": Spec("gemma", hidden=2048, layers=18, heads=8, kv_heads=1, head_dim=256, intermediate=16384, vocab=256000, tie=True,
                                  rope_theta=10000.0, dtype="BF16", seed=36, hidden_activation="gelu_pytorch_tanh", max_positions=8192),
}


def config_json(s: Spec) -> dict:
    """The published config.json (mxbai-rerank-base-v2's, bge-reranker-v2-gemma's) with the sizes of `s`."""
    common = {"attention_dropout": 0.0, "head_dim": s.head_dim, "hidden_size": s.hidden, "initializer_range": 0.02,
              "intermediate_size": s.intermediate, "max_position_embeddings": s.max_positions, "num_attention_heads": s.heads,
              "num_hidden_layers": s.layers, "num_key_value_heads": s.kv_heads, "rope_theta": s.rope_theta,
              "tie_word_embeddings": s.tie, "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype], "use_cache": True, "vocab_size": s.vocab}
    if s.family == "qwen2":
        return common | {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu", "rms_norm_eps": 1e-06,
                         "bos_token_id": 151643, "eos_token_id": 151645, "rope_scaling": None, "sliding_window": None,
                         "use_sliding_window": False, "max_window_layers": s.layers, "transformers_version": "4.49.0"}
    cfg = common | {"architectures": ["GemmaForCausalLM"], "model_type": "gemma", "hidden_act": "gelu", "rms_norm_eps": 1e-06,
                    "attention_bias": False, "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "transformers_version": "4.38.1"}
    if s.hidden_activation:
        cfg["hidden_activation"] = s.hidden_activation
    return cfg


def shapes(s: Spec) -> dict:
    H, I, d = s.hidden, s.intermediate, s.head_dim
    out = {"model.embed_tokens.weight": (s.vocab, H)}
    for i in range(s.layers):
        p = f"model.layers.{i}."
        out |= {p + "input_layernorm.weight": (H,), p + "self_attn.q_proj.weight": (s.heads * d, H),
                p + "self_attn.k_proj.weight": (s.kv_heads * d, H), p + "self_attn.v_proj.weight": (s.kv_heads * d, H),
                p + "self_attn.o_proj.weight": (H, s.heads * d), p + "post_attention_layernorm.weight": (H,),
                p + "mlp.gate_proj.weight": (I, H), p + "mlp.up_proj.weight": (I, H), p + "mlp.down_proj.weight": (H, I)}
        if s.family == "qwen2":
            out |= {p + "self_attn.q_proj.bias": (s.heads * d,), p + "self_attn.k_proj.bias": (s.kv_heads * d,),
                    p + "self_attn.v_proj.bias": (s.kv_heads * d,)}
    out["model.norm.weight"] = (H,)
    if not s.tie:
        out["lm_head.weight"] = (s.vocab, H)
    return out


def draw(s: Spec, name: str, shape) -> np.ndarray:
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    if name.endswith("norm.weight"):
        # Gemma stores the offset from 1 (GemmaRMSNorm multiplies by 1 + w), the others the scale itself.
        return ((0.0 if s.family == "gemma" else 1.0) + 0.05 * z).astype(np.float32)
    if name.endswith(".bias"):
        return (np.float32(0.5) * z).astype(np.float32)   # large enough that a dropped bias moves the score
    return (np.float32(s.std) * z).astype(np.float32)


def make(s: Spec, out: str) -> dict:
    os.makedirs(out, exist_ok=True)
    for stale in os.listdir(out):
        if stale.endswith(".safetensors"):
            os.remove(os.path.join(out, stale))
    arrays = {n: draw(s, n, shape) for n, shape in shapes(s).items()}
    st.save_file({n: (a, s.dtype) for n, a in arrays.items()}, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(config_json(s), indent=2, sort_keys=True) + "\n")
    if s.vocab < 150000:
        # Qwen2: the byte-level BPE fixture Qwen3's use (mxbai-rerank-v2 ships Qwen2.5's tokenizer); Gemma: the
        # byte-fallback BPE fixture. Their ids all lie below the model's vocab_size, which is padded past them as Gemma's is.
        files = ("tokenizer.json", "tokenizer_config.json") if s.tie else ("vocab.json", "merges.txt", "tokenizer_config.json")
        for fn in files:
            target = os.path.join(out, fn)
            if os.path.lexists(target):
                os.remove(target)
            os.symlink(os.path.join("..", "..", "bpe" if s.family == "qwen2" else "gemma-tokenizer", fn), target)
    else:
        # A benchmark shape: the same tokenizer fixture, copied (the folder lives outside the repository), so that it
        # runs end to end on text (rerank bench, rerank-bench prefix); all its ids lie inside the full vocabulary.
        for fn in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(BPE if s.family == "qwen2" else GEMMA_TOKENIZER, fn), os.path.join(out, fn))
    return {"out": out, "bytes": os.path.getsize(os.path.join(out, "model.safetensors"))}


# ---- float64 reference (Qwen3's too: tools/model/qwen3.py) ----

def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rms_norm(x, w, eps, plus_one: bool = False):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * ((1.0 + w) if plus_one else w)


def activation(cfg) -> str:
    """GemmaMLP: config.hidden_activation, gelu_pytorch_tanh when it is None (hidden_act ignored); Qwen: hidden_act."""
    if cfg["model_type"] == "gemma":
        return cfg.get("hidden_activation") or "gelu_pytorch_tanh"
    return cfg["hidden_act"]


def act_fn(name: str, x):
    if name == "silu":
        return torch.nn.functional.silu(x)
    if name == "gelu_pytorch_tanh":
        return torch.nn.functional.gelu(x, approximate="tanh")
    if name == "gelu":
        return torch.nn.functional.gelu(x)
    raise ValueError(name)


def forward_hidden(w, cfg, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Final-norm hidden states [B, T, H] of a Qwen2, Qwen3 or Gemma decoder. positions [B, T]."""
    B, T = ids.shape
    H, nh, nkv, d = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps, kind = cfg["rms_norm_eps"], cfg["model_type"]
    gemma, qk_norm, bias = kind == "gemma", kind == "qwen3", kind == "qwen2"
    act = activation(cfg)
    lin = torch.nn.functional.linear
    x = w("model.embed_tokens.weight")[ids]
    if gemma:
        x = x * torch.tensor(H ** 0.5, dtype=x.dtype)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = positions.to(torch.float64)[..., None] * inv_freq                      # [B, T, d/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None].to(x.dtype), emb.sin()[:, None].to(x.dtype)       # [B, 1, T, d]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None, None] & mask.bool()[:, None, None, :]
    additive = torch.zeros(B, 1, T, T, dtype=x.dtype).masked_fill(~allowed, torch.finfo(x.dtype).min)

    def proj(name, h):
        return lin(h, w(name + ".weight"), w(name + ".bias") if bias and not name.endswith("o_proj") else None)

    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w(p + "input_layernorm.weight"), eps, gemma)
        q = proj(p + "self_attn.q_proj", h).view(B, T, nh, d)
        k = proj(p + "self_attn.k_proj", h).view(B, T, nkv, d)
        if qk_norm:
            q = rms_norm(q, w(p + "self_attn.q_norm.weight"), eps, False)
            k = rms_norm(k, w(p + "self_attn.k_norm.weight"), eps, False)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = proj(p + "self_attn.v_proj", h).view(B, T, nkv, d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)                                  # repeat_kv
        v = v.repeat_interleave(nh // nkv, dim=1)
        probs = torch.softmax(q @ k.transpose(-1, -2) * d ** -0.5 + additive, dim=-1)
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, nh * d)
        x = x + proj(p + "self_attn.o_proj", ctx)
        h = rms_norm(x, w(p + "post_attention_layernorm.weight"), eps, gemma)
        x = x + lin(act_fn(act, lin(h, w(p + "mlp.gate_proj.weight"))) * lin(h, w(p + "mlp.up_proj.weight")), w(p + "mlp.down_proj.weight"))
    return rms_norm(x, w("model.norm.weight"), eps, gemma)


def scores(w, cfg, ids, mask, last, true_id, false_id, positions) -> torch.Tensor:
    """Each row's score at index `last` [B] from the full vocabulary: logits[true] (− logits[false])."""
    x = forward_hidden(w, cfg, ids, mask, positions)
    h = x[torch.arange(ids.shape[0]), last]                                         # [B, H]
    head = w("model.embed_tokens.weight") if cfg["tie_word_embeddings"] else w("lm_head.weight")
    logits = torch.nn.functional.linear(h, head)                                   # [B, V], all of it, as the packages do
    return logits[:, true_id] - logits[:, false_id] if false_id is not None else logits[:, true_id]


def bench_forward(w, cfg, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """bench_reference.py's PyTorch baseline for decoder rerankers: the whole prompt per row in the weights' dtype
    (float32 there), positions 0.., each row's last real token through the full-vocabulary head as the packages
    compute it, [B, 1]. Timing only: the true/false ids are fixed (0 and 1), not the tokenizer's."""
    positions = torch.arange(ids.shape[1])[None].expand(ids.shape[0], -1)
    return scores(w, cfg, ids, mask, mask.sum(dim=1) - 1, 0, 1, positions)[:, None]


def text_cases(family: str) -> list[dict]:
    pairs = json.load(open(os.path.join(REPO, "tools", "model", "text_pairs.json"), encoding="utf-8"))
    pairs = pairs[:8] + [dict(p, instruction="Given a question, retrieve passages that answer it") for p in pairs[8:12]]
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"decoder-pairs-{os.getpid()}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(pairs, f, ensure_ascii=False)
    try:
        tokenizer = os.path.join(BPE if family == "mxbai" else GEMMA_TOKENIZER, "tokenizer.json")
        out = subprocess.run(["node", os.path.join(REPO, "tools", "bpe", "encode_decoder_prompts.js"), family, tokenizer, path],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.remove(path)
    return [json.loads(line) for line in out.splitlines()]


def id_groups(rng, rand) -> tuple[list, list]:
    """The batches of random ids every decoder golden file holds: lengths 1 to 200, padding, a probe alone and in batches."""
    probe = rand(23)
    groups = [("b1_len1", [rand(1)]), ("b1_probe", [probe]), ("b1_len200", [rand(200)]),
              ("b3_mixed", [rand(9), probe, rand(60)]), ("b3_same_length_no_padding", [rand(17) for _ in range(3)]),
              ("b8_mixed", [rand(n) for n in (2, 5, 12, 31, 64, 100, 150, 199)]),
              ("b8_probe_repeated", [probe if k % 3 == 0 else rand(int(rng.integers(4, 60))) for k in range(8)])]
    return groups, probe


def write_golden(model_dir: str, groups, probe, texts, pad: int, score, generator: str, reference: str, ids: dict) -> None:
    """Scores every group in float64 (and float32, and left-padded as the packages batch) with score(w, ids, mask, last,
    positions), and writes golden_logits.json."""
    w64, w32 = Weights(model_dir, torch.float64), Weights(model_dir, torch.float32)
    cases, all_scores, max32, max_left = [], [], 0.0, 0.0
    with torch.inference_mode():
        for name, seqs in groups:
            ids_, mask = right_pad(seqs, pad)
            last = mask.sum(1) - 1
            positions = torch.arange(ids_.shape[1])[None].expand_as(ids_)
            s64 = score(w64, ids_, mask, last, positions)
            s32 = score(w32, ids_, mask, last, positions).to(torch.float64)
            # The references' batches: padded on the left, positions counting the pads (HF's cache_position), last index -1.
            T = ids_.shape[1]
            left = torch.full_like(ids_, pad)
            lmask = torch.zeros_like(mask)
            for b, q in enumerate(seqs):
                left[b, T - len(q):] = torch.tensor(q)
                lmask[b, T - len(q):] = 1
            s_left = score(w64, left, lmask, torch.full((len(seqs),), T - 1), positions)
            max32 = max(max32, float((s64 - s32).abs().max()))
            max_left = max(max_left, float((s64 - s_left).abs().max()))
            all_scores += s64.tolist()
            case = {"name": name, "input_ids": ids_.tolist(), "attention_mask": mask.tolist(), "logits": [float(v) for v in s64]}
            if name == "text_prompts":
                case["prompts"] = [{k: t[k] for k in ("query", "document", "instruction") if k in t} for t in texts]
            cases.append(case)
    doc = {
        "format": "reranksharp.golden-logits.v1", "generator": generator, "reference": reference,
        "torch_version": torch.__version__, "numpy_version": np.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "dtype": "float64",
        "model": os.path.basename(os.path.normpath(model_dir)),
        "model_sha256": make_model.sha256_file(os.path.join(model_dir, "model.safetensors")),
        "pad_token_id": pad, **ids,
        "torch_fp32_max_abs_diff": max32, "left_padding_max_abs_diff": max_left,
        "logit_range": [min(all_scores), max(all_scores)], "cases": cases,
        "batch_invariance": {"probe": [[n, i] for n, seqs in groups for i, q in enumerate(seqs) if q == probe]},
    }
    with open(os.path.join(model_dir, "golden_logits.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.write("\n")
    print(f"{model_dir}: {len(all_scores)} scores in [{min(all_scores):.2f}, {max(all_scores):.2f}], fp32 max |Δ| {max32:.1e}, "
          f"left padding max |Δ| {max_left:.1e}", file=sys.stderr)


def qwen_pad_id() -> int:
    added = json.load(open(os.path.join(BPE, "tokenizer.json"), encoding="utf-8"))["added_tokens"]
    return next(t["id"] for t in added if t["content"] == "<|endoftext|>")


def golden(model_dir: str) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    qwen2 = cfg["model_type"] == "qwen2"
    V = cfg["vocab_size"]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([11, V, cfg["hidden_size"]])))
    groups, probe = id_groups(rng, lambda n: rng.integers(3, 6256, size=n).tolist())   # vocabulary ids, specials excluded
    texts = text_cases("mxbai" if qwen2 else "bge")
    true_id, false_id = texts[0]["true_id"], texts[0]["false_id"]
    groups.append(("text_prompts", [t["input_ids"] for t in texts]))
    reference = ("mxbai-rerank-v2 (mxbai_rerank_v2.py @ 03324ea9): logits[id('1')] - logits[id('0')]" if qwen2
                 else "bge-reranker-v2-gemma (FlagEmbedding decoder_only/base.py @ dfdace38, normalize=False): logits[id('Yes')]")
    write_golden(model_dir, groups, probe, texts, qwen_pad_id() if qwen2 else cfg["pad_token_id"],
                 lambda w, ids, mask, last, positions: scores(w, cfg, ids, mask, last, true_id, false_id, positions),
                 "tools/model/decoder.py",
                 f"tools/model/decoder.py: float64 re-implementation of transformers' {cfg['architectures'][0]} forward (eval) and "
                 f"{reference} at the last position, over the full vocabulary", {"true_id": true_id, "false_id": false_id})


TINY = ("mxbai-a", "mxbai-b", "gemma-a", "gemma-b")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["make", "golden"])
    ap.add_argument("--all-tiny", action="store_true")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--out")
    ap.add_argument("--layers", type=int, help="fewer layers than the preset (a benchmark shape that must fit the time)")
    args = ap.parse_args()
    jobs = [(PRESETS[n], os.path.join(FIXTURES, n)) for n in TINY] if args.all_tiny else [(PRESETS[args.preset], args.out)]
    if args.layers:
        jobs = [(dataclasses.replace(spec, layers=args.layers), out) for spec, out in jobs]
    for spec, out in jobs:
        print(json.dumps(make(spec, out)) if args.command == "make" else golden(out) or "")


if __name__ == "__main__":
    main()
