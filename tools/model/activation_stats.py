#!/usr/bin/python3
"""Activation statistics that decide int8's quality (issue 24): what enters each quantized matrix, per layer.

Per-tensor dynamic int8 (`DynamicQuantizeMatMul`) gives the whole activation tensor one scale, max|x| / 127 (uint8:
range / 255). One channel that is 20x larger than the rest (the "outlier features" of trained transformers,
Dettmers et al. 2022, LLM.int8()) makes that step 20x coarser for every other channel. This script measures, on
real text, the input of every encoder Linear of a BERT (`bert.`) or XLM-R (`roberta.`) checkpoint:

- max|x|: the largest activation, which sets a per-tensor scale;
- channel ratio: max over channels of (the channel's abs max) / median over channels of it — how far the worst
  channel stands out. Per-channel weight scales cannot absorb it (they scale output channels); SmoothQuant can;
- outliers: channels whose abs max exceeds 6x the median channel's (LLM.int8's magnitude-6 rule made relative, so
  random and trained models are measured alike), and the top three channel ids with their abs max;
- token ratio: max|x| / median over tokens of the token's abs max — what per-token (row) scales gain.

    /usr/bin/python3 tools/model/activation_stats.py --model DIR --ids IDS.json [--pairs 200] [--calibration-out FILE]

--calibration-out also writes the per-channel maxima as the int8 recipe's SmoothQuant statistics
({"maxima": {module: [a_j, ...]}}, keyed by the module each input enters: `per-tensor;smooth=FILE`). Calibrate on
other text than the ranking is measured on (real_text_pairs.py --seed 7, say), as SmoothQuant calibrates on Pile.

IDS.json is `rerank-bench ids --model DIR --pairs tools-made.jsonl --out IDS.json` (real text through the engine's
tokenizer). Each pair runs alone (no padding, so no mask), float32, in torch: the statistics, not the arithmetic,
are the point.
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
import safetensors_io  # noqa: E402

KINDS = ("qkv input", "attention.output.dense", "intermediate.dense", "output.dense")


class Weights:
    def __init__(self, model_dir):
        self.t = safetensors_io.ModelTensors(model_dir)
        self.cache = {}

    def __call__(self, name):
        if name not in self.cache:
            self.cache[name] = torch.from_numpy(np.array(self.t.get(name, np.float32), order="C"))
        return self.cache[name]

    def rows(self, name, ids):
        return torch.from_numpy(np.array(self.t.get_rows(name, ids, np.float32), order="C"))


def embed(w, cfg, prefix, ids):
    """[T] ids -> [T, H]: BERT (positions from 0, token types by segment) or XLM-R (positions from pad + 1, type 0)."""
    T = len(ids)
    uniq, inverse = np.unique(np.array(ids), return_inverse=True)
    word = w.rows(f"{prefix}embeddings.word_embeddings.weight", uniq)[torch.from_numpy(inverse)]
    if prefix == "bert.":
        sep = ids.index(102)
        types = torch.tensor([0] * (sep + 1) + [1] * (T - sep - 1))
        positions = torch.arange(T)
    else:
        types = torch.zeros(T, dtype=torch.long)
        positions = torch.arange(T) + cfg["pad_token_id"] + 1
    x = word + w(f"{prefix}embeddings.token_type_embeddings.weight")[types] + w(f"{prefix}embeddings.position_embeddings.weight")[positions]
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w(f"{prefix}embeddings.LayerNorm.weight"),
                                          w(f"{prefix}embeddings.LayerNorm.bias"), cfg["layer_norm_eps"])


def layer(w, cfg, prefix, i, x, seen):
    """One post-LN layer over x [T, H]; seen(kind, activation) receives each Linear's input."""
    p = f"{prefix}encoder.layer.{i}."
    T, H = x.shape
    nh = cfg["num_attention_heads"]
    hd = H // nh
    lin, ln = torch.nn.functional.linear, torch.nn.functional.layer_norm
    eps = cfg["layer_norm_eps"]
    seen("qkv input", x)
    q, k, v = (lin(x, w(p + f"attention.self.{n}.weight"), w(p + f"attention.self.{n}.bias")).view(T, nh, hd).transpose(0, 1)
               for n in ("query", "key", "value"))
    context = (torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1) @ v).transpose(0, 1).reshape(T, H)
    seen("attention.output.dense", context)
    x = ln(lin(context, w(p + "attention.output.dense.weight"), w(p + "attention.output.dense.bias")) + x, (H,),
           w(p + "attention.output.LayerNorm.weight"), w(p + "attention.output.LayerNorm.bias"), eps)
    seen("intermediate.dense", x)
    inter = torch.nn.functional.gelu(lin(x, w(p + "intermediate.dense.weight"), w(p + "intermediate.dense.bias")))
    seen("output.dense", inter)
    return ln(lin(inter, w(p + "output.dense.weight"), w(p + "output.dense.bias")) + x, (H,),
              w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias"), eps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--pairs", type=int, default=200, help="how many of the ids' pairs to run")
    ap.add_argument("--calibration-out")
    a = ap.parse_args()
    torch.set_num_threads(2)
    with open(os.path.join(a.model, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    prefix = "bert." if cfg["model_type"] == "bert" else "roberta."
    with open(a.ids, encoding="utf-8") as f:
        sequences = json.load(f)[:a.pairs]
    w = Weights(a.model)
    L = cfg["num_hidden_layers"]
    channel_max = {}      # (layer, kind) -> [C] abs max over every token seen
    token_max = {}        # (layer, kind) -> list of per-token abs max
    with torch.inference_mode():
        for ids in sequences:
            x = embed(w, cfg, prefix, ids)
            for i in range(L):
                def seen(kind, act, i=i):
                    key = (i, kind)
                    m = act.abs().amax(dim=0)
                    channel_max[key] = m if key not in channel_max else torch.maximum(channel_max[key], m)
                    token_max.setdefault(key, []).extend(act.abs().amax(dim=1).tolist())
                x = layer(w, cfg, prefix, i, x, seen)

    if a.calibration_out:
        modules = {"qkv input": ["attention.self.query", "attention.self.key", "attention.self.value"],
                   "attention.output.dense": ["attention.output.dense"], "intermediate.dense": ["intermediate.dense"],
                   "output.dense": ["output.dense"]}
        maxima = {f"{prefix}encoder.layer.{i}.{m}": [float(v) for v in channel_max[(i, kind)]]
                  for i in range(L) for kind in KINDS for m in modules[kind]}
        with open(a.calibration_out, "w", encoding="utf-8") as f:
            json.dump({"model": a.model, "pairs": len(sequences), "maxima": maxima}, f)

    name = os.path.basename(os.path.normpath(a.model))
    tokens = sum(len(s) for s in sequences)
    print(f"### {name}: {L} layers, hidden {cfg['hidden_size']}; {len(sequences)} pairs, {tokens} tokens\n")
    print("| layer | matrix input | max\\|x\\| | median channel max | channel ratio | outlier channels (>6x median) | top channels (abs max) | token ratio |")
    print("|---|---|---|---|---|---|---|---|")
    summary = {k: [] for k in KINDS}
    for i in range(L):
        for kind in KINDS:
            c = channel_max[(i, kind)]
            med = float(c.median())
            top = torch.topk(c, 3)
            ratio = float(c.max()) / med
            outliers = int((c > 6 * med).sum())
            token_ratio = float(c.max()) / float(np.median(token_max[(i, kind)]))
            summary[kind].append((ratio, outliers, token_ratio, float(c.max())))
            tops = ", ".join(f"{int(j)} ({float(v):.1f})" for v, j in zip(top.values, top.indices))
            print(f"| {i} | {kind} | {float(c.max()):.2f} | {med:.2f} | {ratio:.1f} | {outliers} | {tops} | {token_ratio:.1f} |")
    print("\nSummary over layers (max of each column):\n")
    print("| matrix input | max\\|x\\| | channel ratio | outlier channels | token ratio |")
    print("|---|---|---|---|---|")
    for kind in KINDS:
        rows = summary[kind]
        print(f"| {kind} | {max(r[3] for r in rows):.2f} | {max(r[0] for r in rows):.1f} | {max(r[1] for r in rows)} | {max(r[2] for r in rows):.1f} |")


if __name__ == "__main__":
    main()
