#!/usr/bin/python3
"""The float32 reference as an ONNX export in optimum's layout, for the transformers.js contender (issue 24).

    /usr/bin/python3 tools/model/export_onnx.py --model DIR --out OUT

DIR is a model folder this repository generates or converts (XLMRobertaForSequenceClassification: bge-reranker-v2-m3's
shape; BertForSequenceClassification: MiniLM-L6's). OUT gets what `optimum-cli export onnx --task text-classification`
writes and transformers.js reads: `config.json` (copied), `onnx/model.onnx` with inputs `input_ids`, `attention_mask`
(and `token_type_ids` for BERT), int64 [batch_size, sequence_length], and output `logits` [batch_size, 1], both axes
dynamic. The forward is Hugging Face's eager one, as tools/model/reference.py computes it (post-LN, exact erf GELU,
padding-aware positions from pad + 1 for XLM-R), written as a torch module so torch.onnx.export can trace it; weights
are float32 initializers. Above protobuf's 2 GB limit torch writes one external file per tensor; `rerank-bench
onnx-external` then gathers them into the single `model.onnx_data` that transformers.js loads
(`use_external_data_format`).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


class Encoder(torch.nn.Module):
    def __init__(self, model_dir: str):
        super().__init__()
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            self.cfg = json.load(f)
        self.bert = self.cfg["model_type"] == "bert"
        self.prefix = "bert." if self.bert else "roberta."
        tensors = safetensors_io.ModelTensors(model_dir)
        # Parameters under their checkpoint names ('.' is not allowed in a parameter name, so it is swapped).
        self.w = torch.nn.ParameterDict({
            name.replace(".", "/"): torch.nn.Parameter(torch.from_numpy(np.array(tensors.get(name, np.float32), order="C")), requires_grad=False)
            for name in tensors.keys() if not name.endswith("position_ids")})

    def p(self, name):
        return self.w[name.replace(".", "/")]

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        cfg, P = self.cfg, self.p
        pre = self.prefix
        B, T = input_ids.shape
        H, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
        hd = H // nh
        lin, ln = torch.nn.functional.linear, torch.nn.functional.layer_norm
        if self.bert:
            positions = torch.arange(T, device=input_ids.device).unsqueeze(0)
            types = token_type_ids
        else:
            # create_position_ids_from_input_ids: positions count real tokens from padding_idx + 1.
            pad = cfg["pad_token_id"]
            real = (input_ids != pad).to(torch.int64)
            positions = torch.cumsum(real, dim=1) * real + pad
            types = torch.zeros_like(input_ids)
        x = P(pre + "embeddings.word_embeddings.weight")[input_ids] + P(pre + "embeddings.token_type_embeddings.weight")[types] \
            + P(pre + "embeddings.position_embeddings.weight")[positions]
        x = ln(x, (H,), P(pre + "embeddings.LayerNorm.weight"), P(pre + "embeddings.LayerNorm.bias"), eps)
        ext = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for i in range(cfg["num_hidden_layers"]):
            p = f"{pre}encoder.layer.{i}."

            def heads(t):
                return t.view(B, T, nh, hd).permute(0, 2, 1, 3)
            q = heads(lin(x, P(p + "attention.self.query.weight"), P(p + "attention.self.query.bias")))
            k = heads(lin(x, P(p + "attention.self.key.weight"), P(p + "attention.self.key.bias")))
            v = heads(lin(x, P(p + "attention.self.value.weight"), P(p + "attention.self.value.bias")))
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + ext, dim=-1)
            ctx = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, H)
            x = ln(lin(ctx, P(p + "attention.output.dense.weight"), P(p + "attention.output.dense.bias")) + x, (H,),
                   P(p + "attention.output.LayerNorm.weight"), P(p + "attention.output.LayerNorm.bias"), eps)
            inter = torch.nn.functional.gelu(lin(x, P(p + "intermediate.dense.weight"), P(p + "intermediate.dense.bias")))
            x = ln(lin(inter, P(p + "output.dense.weight"), P(p + "output.dense.bias")) + x, (H,),
                   P(p + "output.LayerNorm.weight"), P(p + "output.LayerNorm.bias"), eps)
        cls = x[:, 0]
        if self.bert:
            pooled = torch.tanh(lin(cls, P("bert.pooler.dense.weight"), P("bert.pooler.dense.bias")))
            return lin(pooled, P("classifier.weight"), P("classifier.bias"))
        h = torch.tanh(lin(cls, P("classifier.dense.weight"), P("classifier.dense.bias")))
        return lin(h, P("classifier.out_proj.weight"), P("classifier.out_proj.bias"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--opset", type=int, default=14)
    a = ap.parse_args()
    model = Encoder(a.model).eval()
    os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
    shutil.copyfile(os.path.join(a.model, "config.json"), os.path.join(a.out, "config.json"))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "sentencepiece.bpe.model"):
        if os.path.exists(os.path.join(a.model, name)):
            shutil.copyfile(os.path.join(a.model, name), os.path.join(a.out, name))
    ids = torch.tensor([[model.cfg.get("bos_token_id", 0) if not model.bert else 101, 7, 8, 9]], dtype=torch.int64).repeat(2, 1)
    mask = torch.ones_like(ids)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if model.bert else [])
    args = (ids, mask, torch.zeros_like(ids)) if model.bert else (ids, mask)
    axes = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
    axes["logits"] = {0: "batch_size"}
    with torch.no_grad():
        torch.onnx.export(model, args, os.path.join(a.out, "onnx", "model.onnx"), input_names=names, output_names=["logits"],
                          dynamic_axes=axes, opset_version=a.opset, do_constant_folding=True)
    print(json.dumps({"out": a.out, "inputs": names, "opset": a.opset}))


if __name__ == "__main__":
    main()
