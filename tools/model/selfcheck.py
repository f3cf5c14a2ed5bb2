#!/usr/bin/python3
"""Checks reference.py by independent routes, and measures what the tiny fixtures can catch.

1. `torch.nn` route: the model rebuilt from nn.Embedding / nn.LayerNorm / nn.TransformerEncoderLayer
   (post-LN, exact GELU, nn.MultiheadAttention with q/k/v packed into in_proj) / nn.Linear, position
   ids from a Python loop, in float64. Must equal reference.py to ~1e-12.
2. einsum route: a second hand-written forward (per-head einsum, explicit softmax, GELU from erf),
   with switches for common engine bugs. Off: must equal reference.py; on: how far each bug moves the
   logits, next to the fp32 error — a golden test with a tolerance between the two catches the bug.
3. fp32: reference.py in float32 against float64 on every tiny model.

    /usr/bin/python3 tools/model/selfcheck.py [--models tests/fixtures/models/tiny-a ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402
import safetensors_io as st  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


# ---------------------------------------------------------------------------------------------- inputs

def random_batch(cfg: dict, rng: np.random.Generator, count: int, longest: int):
    """Random pair-template sequences of mixed lengths, right-padded."""
    seqs = []
    for i in range(count):
        n = longest if i == 0 else int(rng.integers(6, longest + 1))
        ids = rng.integers(4, cfg["vocab_size"] - 1, size=n - 4).tolist()
        q = int(rng.integers(1, n - 4))
        seqs.append([0] + ids[:q] + [2, 2] + ids[q:] + [2])
    return reference.pad_batch(seqs, cfg["pad_token_id"])


# ---------------------------------------------------------------------------------------------- route 1

class NnModel(torch.nn.Module):
    def __init__(self, cfg: dict, tensors: st.ModelTensors):
        super().__init__()
        H, nh, I = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
        eps = cfg["layer_norm_eps"]
        self.cfg = cfg

        def t(name):
            return torch.from_numpy(np.ascontiguousarray(tensors.get(name, np.float64)))

        self.word = torch.nn.Embedding.from_pretrained(t("roberta.embeddings.word_embeddings.weight"))
        self.pos = torch.nn.Embedding.from_pretrained(t("roberta.embeddings.position_embeddings.weight"))
        self.tt = torch.nn.Embedding.from_pretrained(t("roberta.embeddings.token_type_embeddings.weight"))
        self.ln = torch.nn.LayerNorm(H, eps=eps).double()
        self.ln.weight.data = t("roberta.embeddings.LayerNorm.weight")
        self.ln.bias.data = t("roberta.embeddings.LayerNorm.bias")
        self.layers = torch.nn.ModuleList()
        for i in range(cfg["num_hidden_layers"]):
            p = f"roberta.encoder.layer.{i}."
            L = torch.nn.TransformerEncoderLayer(H, nh, dim_feedforward=I, dropout=0.0, activation="gelu",
                                                 layer_norm_eps=eps, batch_first=True, norm_first=False).double()
            L.self_attn.in_proj_weight.data = torch.cat([t(p + f"attention.self.{m}.weight") for m in ("query", "key", "value")])
            L.self_attn.in_proj_bias.data = torch.cat([t(p + f"attention.self.{m}.bias") for m in ("query", "key", "value")])
            L.self_attn.out_proj.weight.data = t(p + "attention.output.dense.weight")
            L.self_attn.out_proj.bias.data = t(p + "attention.output.dense.bias")
            L.norm1.weight.data = t(p + "attention.output.LayerNorm.weight")
            L.norm1.bias.data = t(p + "attention.output.LayerNorm.bias")
            L.linear1.weight.data = t(p + "intermediate.dense.weight")
            L.linear1.bias.data = t(p + "intermediate.dense.bias")
            L.linear2.weight.data = t(p + "output.dense.weight")
            L.linear2.bias.data = t(p + "output.dense.bias")
            L.norm2.weight.data = t(p + "output.LayerNorm.weight")
            L.norm2.bias.data = t(p + "output.LayerNorm.bias")
            self.layers.append(L)
        self.dense = torch.nn.Linear(H, H).double()
        self.dense.weight.data = t("classifier.dense.weight")
        self.dense.bias.data = t("classifier.dense.bias")
        self.out_proj = torch.nn.Linear(H, 1).double()
        self.out_proj.weight.data = t("classifier.out_proj.weight")
        self.out_proj.bias.data = t("classifier.out_proj.bias")
        self.eval()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pad = self.cfg["pad_token_id"]
        pos = torch.full_like(ids, pad)
        for b in range(ids.shape[0]):            # fairseq's rule, spelled out: the k-th non-pad token gets pad + k
            k = 0
            for t in range(ids.shape[1]):
                if int(ids[b, t]) != pad:
                    k += 1
                    pos[b, t] = pad + k
        x = self.ln(self.word(ids) + self.tt(torch.zeros_like(ids)) + self.pos(pos))
        key_padding = mask == 0
        for L in self.layers:
            x = L(x, src_key_padding_mask=key_padding)
        return self.out_proj(torch.tanh(self.dense(x[:, 0])))


# ---------------------------------------------------------------------------------------------- route 2

def einsum_forward(cfg, tensors, ids, mask, bug=None):
    """float64 forward written differently from reference.py; `bug` switches on one known engine mistake."""
    g = lambda n: torch.from_numpy(np.ascontiguousarray(tensors.get(n, np.float64)))  # noqa: E731
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    eps = 1e-12 if bug == "eps_1e-12" else cfg["layer_norm_eps"]
    pad = cfg["pad_token_id"]
    B, T = ids.shape

    def ln(x, p):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + eps) * g(p + ".weight") + g(p + ".bias")

    def gelu(x):
        if bug == "gelu_tanh":
            return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))

    real = (ids != pad).long()
    if bug == "positions_from_0":
        pos = torch.arange(T).expand(B, T)
    elif bug == "positions_from_1":
        pos = torch.arange(T).expand(B, T) + 1
    else:
        pos = (torch.cumsum(real, 1) + pad) * real + pad * (1 - real)
    word_table = g("roberta.embeddings.word_embeddings.weight")
    x = word_table[ids] + g("roberta.embeddings.position_embeddings.weight")[pos] \
        + g("roberta.embeddings.token_type_embeddings.weight")[0]
    x = ln(x, "roberta.embeddings.LayerNorm")
    keep = mask.bool() if bug != "no_padding_mask" else torch.ones_like(mask, dtype=torch.bool)
    for i in range(cfg["num_hidden_layers"]):
        p = f"roberta.encoder.layer.{i}."
        proj = lambda n, v: torch.einsum("bti,oi->bto", v, g(p + n + ".weight")) + g(p + n + ".bias")  # noqa: E731
        q, k, v = (proj(f"attention.self.{m}", x) for m in ("query", "key", "value"))
        if bug == "heads_interleaved":           # split H as [hd, nh] instead of [nh, hd]
            split = lambda t: t.reshape(B, T, hd, nh).transpose(2, 3)  # noqa: E731
        else:
            split = lambda t: t.reshape(B, T, nh, hd)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        s = torch.einsum("bqhd,bkhd->bhqk", q, k)
        if bug != "no_score_scale":
            s = s / math.sqrt(hd)
        s = s.masked_fill(~keep[:, None, None, :], -math.inf)
        s = s - s.amax(-1, keepdim=True)
        e = torch.exp(s)
        a = e / e.sum(-1, keepdim=True)
        ctx = torch.einsum("bhqk,bkhd->bqhd", a, v)
        if bug == "heads_interleaved":
            ctx = ctx.transpose(2, 3)
        ctx = ctx.reshape(B, T, H)
        x = ln(proj("attention.output.dense", ctx) + x, p + "attention.output.LayerNorm")
        f = gelu(proj("intermediate.dense", x))
        x = ln(proj("output.dense", f) + x, p + "output.LayerNorm")
    c = x[:, 0] if bug != "cls_is_last_token" else x[torch.arange(B), real.sum(1) - 1]
    hidden = torch.tanh(c @ g("classifier.dense.weight").T + g("classifier.dense.bias"))
    return hidden @ g("classifier.out_proj.weight").T + g("classifier.out_proj.bias")


BUGS = ["no_score_scale", "gelu_tanh", "eps_1e-12", "positions_from_0", "positions_from_1",
        "no_padding_mask", "heads_interleaved", "cls_is_last_token"]


def check_model(model_dir: str, rng_seed: int = 0, with_nn: bool = True) -> dict:
    ref = reference.Reference(model_dir)
    cfg = ref.cfg
    rng = np.random.default_rng(rng_seed)
    longest = min(cfg["max_position_embeddings"] - 2, 96)
    ids, mask = random_batch(cfg, rng, 12, longest)
    ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
    f64 = ref.logits(ids, mask, torch.float64)[:, 0]
    f32 = ref.logits(ids, mask, torch.float32)[:, 0].double()
    out = {"model": os.path.relpath(model_dir, REPO), "batch": list(ids.shape),
           "logit_min": float(f64.min()), "logit_max": float(f64.max()), "logit_std": float(f64.std()),
           "fp32_vs_fp64_max_abs": float((f32 - f64).abs().max()),
           "fp32_vs_fp64_max_abs_over_logit_std": float((f32 - f64).abs().max() / f64.std())}
    with torch.inference_mode():
        if with_nn:
            nn_logits = NnModel(cfg, ref.tensors)(ids_t, mask_t)[:, 0]
            out["nn_route_vs_reference_max_abs"] = float((nn_logits - f64).abs().max())
        e = einsum_forward(cfg, ref.tensors, ids_t, mask_t)[:, 0]
        out["einsum_route_vs_reference_max_abs"] = float((e - f64).abs().max())
        out["bug_max_abs_logit_change"] = {b: float((einsum_forward(cfg, ref.tensors, ids_t, mask_t, b)[:, 0] - f64).abs().max())
                                           for b in BUGS}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", default=[os.path.join(REPO, "tests", "fixtures", "models", n)
                                                     for n in ("tiny-a", "tiny-b", "tiny-c")])
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    results = [check_model(m) for m in args.models]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    bad = [r["model"] for r in results
           if r.get("nn_route_vs_reference_max_abs", 0) > 1e-10 or r["einsum_route_vs_reference_max_abs"] > 1e-10]
    if bad:
        raise SystemExit(f"independent routes disagree with reference.py on {bad}")


if __name__ == "__main__":
    main()
