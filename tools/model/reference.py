#!/usr/bin/python3
"""Reference forward of Hugging Face `XLMRobertaForSequenceClassification` (inference, dropout off),
re-implemented in plain PyTorch ops, in float64 (the golden path) or float32 (to measure fp32 error).

Written from the structure of transformers' `modeling_xlm_roberta.py` (= `modeling_roberta.py`):

  XLMRobertaEmbeddings
    position_ids = create_position_ids_from_input_ids(input_ids, padding_idx=pad_token_id):
        mask = input_ids != pad;  positions = cumsum(mask) * mask + pad
        (so real tokens get 2, 3, ...; pads get 1 = padding_idx)
    token_type_ids = 0 (the registered all-zero buffer)
    LayerNorm(word + token_type + position), eps = layer_norm_eps
  XLMRobertaLayer × num_hidden_layers (post-LayerNorm)
    self-attention: q, k, v = Linear(x); scores = q kᵀ / sqrt(head_dim) + extended_mask;
        extended_mask = (1 - attention_mask[:, None, None, :]) * finfo(dtype).min   (keys only)
        softmax over keys; context = probs v; heads concatenated
    x = LayerNorm(dense(context) + x)
    x = LayerNorm(dense2(gelu_erf(dense1(x))) + x)
  XLMRobertaClassificationHead on token 0: out_proj(tanh(dense(x[:, 0])))   -> logits [B, num_labels]

Weights are read from the model folder with `safetensors_io` (F16/BF16 upcast exactly), one layer at
a time, so the full-size model never sits in memory in float64; only the embedding rows the batch
uses are read.

    /usr/bin/python3 tools/model/reference.py --model DIR --ids ids.json [--dtype float64|float32]
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

# Attention score memory above which heads are processed one group at a time (bytes).
_ATTENTION_CHUNK_BYTES = 512 * 1024 * 1024


def load_config(model_dir: str) -> dict:
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


class WeightSource:
    """Gives tensors of a model as torch tensors of the requested dtype.

    `tensors` is anything with get(name, out_dtype) and get_rows(name, rows, out_dtype) returning
    numpy arrays: a `safetensors_io.ModelTensors`, or `DictTensors` for weights held in memory."""

    def __init__(self, tensors, dtype: torch.dtype):
        self.tensors = tensors
        self.dtype = dtype
        self.np_dtype = np.float64 if dtype == torch.float64 else np.float32

    def __call__(self, name: str) -> torch.Tensor:
        return _to_torch(self.tensors.get(name, self.np_dtype))

    def rows(self, name: str, ids: np.ndarray) -> torch.Tensor:
        return _to_torch(self.tensors.get_rows(name, ids, self.np_dtype))


def _to_torch(a: np.ndarray) -> torch.Tensor:
    # An F32 tensor read as float32 is a read-only view of the file mapping; torch wants writable memory.
    if not a.flags.writeable or not a.flags.c_contiguous:
        a = np.array(a, order="C")
    return torch.from_numpy(a)


class DictTensors:
    """In-memory {name: float array} with the ModelTensors interface."""

    def __init__(self, arrays: dict):
        self.arrays = arrays

    def get(self, name, out_dtype=np.float32):
        return np.asarray(self.arrays[name]).astype(out_dtype, copy=False)

    def get_rows(self, name, rows, out_dtype=np.float32):
        return np.asarray(self.arrays[name])[np.asarray(rows)].astype(out_dtype, copy=False)


def create_position_ids(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """HF `create_position_ids_from_input_ids` (past_key_values_length = 0)."""
    mask = (input_ids != padding_idx).to(torch.int64)
    return torch.cumsum(mask, dim=1) * mask + padding_idx


def embeddings(w: WeightSource, cfg: dict, input_ids: torch.Tensor) -> torch.Tensor:
    """[B, T] ids -> [B, T, H]."""
    pad = cfg["pad_token_id"]
    positions = create_position_ids(input_ids, pad)                    # [B, T]
    # Gather only the rows used: the full word table is 1 GB at fp32 for the real model.
    uniq_ids, inv_ids = np.unique(input_ids.numpy(), return_inverse=True)
    uniq_pos, inv_pos = np.unique(positions.numpy(), return_inverse=True)
    shape = tuple(input_ids.shape)
    word = w.rows("roberta.embeddings.word_embeddings.weight", uniq_ids)[torch.from_numpy(inv_ids.reshape(shape))]
    pos = w.rows("roberta.embeddings.position_embeddings.weight", uniq_pos)[torch.from_numpy(inv_pos.reshape(shape))]
    token_type = w.rows("roberta.embeddings.token_type_embeddings.weight", np.array([0]))[0]
    x = word + token_type + pos                                         # HF adds in this order
    return torch.nn.functional.layer_norm(
        x, (x.shape[-1],), w("roberta.embeddings.LayerNorm.weight"), w("roberta.embeddings.LayerNorm.bias"),
        cfg["layer_norm_eps"])


def extended_attention_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, T] of 0/1 -> additive [B, 1, 1, T]: 0 for keys to attend, finfo(dtype).min for padding."""
    m = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


def encoder_layer(w: WeightSource, cfg: dict, i: int, x: torch.Tensor, ext_mask: torch.Tensor) -> torch.Tensor:
    """One post-LN XLMRobertaLayer. x [B, T, H] -> [B, T, H]."""
    p = f"roberta.encoder.layer.{i}."
    eps = cfg["layer_norm_eps"]
    B, T, H = x.shape
    nh = cfg["num_attention_heads"]
    hd = H // nh
    lin = torch.nn.functional.linear

    def heads(t):                                                       # [B, T, H] -> [B, nh, T, hd]
        return t.view(B, T, nh, hd).permute(0, 2, 1, 3)

    q = heads(lin(x, w(p + "attention.self.query.weight"), w(p + "attention.self.query.bias")))
    k = heads(lin(x, w(p + "attention.self.key.weight"), w(p + "attention.self.key.bias")))
    v = heads(lin(x, w(p + "attention.self.value.weight"), w(p + "attention.self.value.bias")))

    # Heads in groups so an 8k-token float64 score tensor ([B, nh, T, T]) stays bounded.
    per_head = B * T * T * x.element_size()
    group = max(1, min(nh, _ATTENTION_CHUNK_BYTES // max(per_head, 1)))
    context = torch.empty_like(q)                                       # [B, nh, T, hd]
    for h0 in range(0, nh, group):
        sl = slice(h0, min(nh, h0 + group))
        scores = torch.matmul(q[:, sl], k[:, sl].transpose(-1, -2)) / math.sqrt(hd) + ext_mask
        probs = torch.softmax(scores, dim=-1)
        context[:, sl] = torch.matmul(probs, v[:, sl])
        del scores, probs
    context = context.permute(0, 2, 1, 3).reshape(B, T, H)

    attn = lin(context, w(p + "attention.output.dense.weight"), w(p + "attention.output.dense.bias"))
    x = torch.nn.functional.layer_norm(attn + x, (H,), w(p + "attention.output.LayerNorm.weight"),
                                       w(p + "attention.output.LayerNorm.bias"), eps)
    inter = torch.nn.functional.gelu(lin(x, w(p + "intermediate.dense.weight"), w(p + "intermediate.dense.bias")))
    out = lin(inter, w(p + "output.dense.weight"), w(p + "output.dense.bias"))
    return torch.nn.functional.layer_norm(out + x, (H,), w(p + "output.LayerNorm.weight"),
                                          w(p + "output.LayerNorm.bias"), eps)


def classification_head(w: WeightSource, cls: torch.Tensor) -> torch.Tensor:
    """[B, H] hidden state of token 0 -> [B, num_labels] logits."""
    lin = torch.nn.functional.linear
    x = torch.tanh(lin(cls, w("classifier.dense.weight"), w("classifier.dense.bias")))
    return lin(x, w("classifier.out_proj.weight"), w("classifier.out_proj.bias"))


def _check_inputs(cfg: dict, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
    if input_ids.shape != attention_mask.shape or input_ids.dim() != 2:
        raise ValueError("input_ids and attention_mask must both be [B, T]")
    if int(input_ids.min()) < 0 or int(input_ids.max()) >= cfg["vocab_size"]:
        raise ValueError(f"ids must be in [0, {cfg['vocab_size']})")
    # Positions run to (number of non-pad ids) + pad_token_id and must stay inside the table.
    longest = int((input_ids != cfg["pad_token_id"]).sum(dim=1).max())
    if longest + cfg["pad_token_id"] >= cfg["max_position_embeddings"]:
        raise ValueError(f"a sequence has {longest} non-pad tokens; the model takes at most "
                         f"{cfg['max_position_embeddings'] - cfg['pad_token_id'] - 1}")


def forward_hidden(w: WeightSource, cfg: dict, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   layer_callback=None) -> torch.Tensor:
    """Encoder output [B, T, H]. `layer_callback(i, x)` sees the input of layer i (i = num_layers: output)."""
    _check_inputs(cfg, input_ids, attention_mask)
    x = embeddings(w, cfg, input_ids)
    ext = extended_attention_mask(attention_mask, w.dtype)
    for i in range(cfg["num_hidden_layers"]):
        if layer_callback:
            layer_callback(i, x)
        x = encoder_layer(w, cfg, i, x, ext)
    if layer_callback:
        layer_callback(cfg["num_hidden_layers"], x)
    return x


def forward(w: WeightSource, cfg: dict, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Logits [B, num_labels]."""
    with torch.inference_mode():
        x = forward_hidden(w, cfg, input_ids, attention_mask)
        return classification_head(w, x[:, 0])


class Reference:
    """A model folder ready to run: Reference(dir).logits(input_ids, attention_mask, dtype)."""

    def __init__(self, model_dir: str):
        self.model_dir = model_dir
        self.cfg = load_config(model_dir)
        self.tensors = safetensors_io.ModelTensors(model_dir)

    def logits(self, input_ids, attention_mask, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        ids = torch.as_tensor(np.asarray(input_ids, dtype=np.int64))
        mask = torch.as_tensor(np.asarray(attention_mask, dtype=np.int64))
        return forward(WeightSource(self.tensors, dtype), self.cfg, ids, mask)


def pad_batch(sequences: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pads to the longest: (input_ids [B, T], attention_mask [B, T]) as int64."""
    T = max(len(s) for s in sequences)
    ids = np.full((len(sequences), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), T), dtype=np.int64)
    for b, s in enumerate(sequences):
        ids[b, :len(s)] = s
        mask[b, :len(s)] = 1
    return ids, mask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder (config.json + model.safetensors or shards)")
    ap.add_argument("--ids", required=True, help="JSON list of id lists (each starting with <s> = 0)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = ap.parse_args()
    ref = Reference(args.model)
    with open(args.ids, encoding="utf-8") as f:
        seqs = json.load(f)
    ids, mask = pad_batch(seqs, ref.cfg["pad_token_id"])
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    logits = ref.logits(ids, mask, dtype)
    print(json.dumps([float(v) for v in logits[:, 0]]))


if __name__ == "__main__":
    main()
