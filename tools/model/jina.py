#!/usr/bin/python3
"""Random-weight jina-reranker-v2 fixtures (XLMRobertaForSequenceClassification run by its own modeling code), their
float64 reference forward, golden logits, the PyTorch float32 baseline for benchmarks, and a self-check.

    /usr/bin/python3 tools/model/jina.py make --all-tiny      # tests/fixtures/models/jina-{a,b}/
    /usr/bin/python3 tools/model/jina.py golden --all-tiny    # .../golden_logits.json
    /usr/bin/python3 tools/model/jina.py selfcheck            # independent routes, fp32 noise, what the fixtures catch
    /usr/bin/python3 tools/model/jina.py make --preset jina-reranker-v2-base --out /work/models/jina-reranker-v2-base   # never committed
    /usr/bin/python3 tools/model/jina.py bench --model DIR --ids ids.json [bench_reference.py's options]

jinaai/jina-reranker-v2-base-multilingual names XLMRobertaForSequenceClassification in `architectures`, but its
config.json's auto_map sends transformers (trust_remote_code) to the code shipped beside the weights:
AutoConfig -> configuration_xlm_roberta.XLMRobertaFlashConfig, AutoModelForSequenceClassification ->
modeling_xlm_roberta.XLMRobertaForSequenceClassification. Written from that code as mirrored in the public repository
shreyansh26/Accelerating-Cross-Encoder-Inference, folder jina-reranker-v2-base-multilingual/, at commit
8f2b5173c7e37872716ea4b9bef5c22c5aaec280 ("Revert to original files"; identical to the first dump 67c981548fcc but
for a final newline): config.json, configuration_xlm_roberta.py, modeling_xlm_roberta.py, block.py, mha.py, mlp.py,
embedding.py, xlm_padding.py, tokenizer_config.json (read, not copied).

Module tree, hence the tensor names (state_dict order; no conversion or remapping code exists in those files, so the
checkpoint's names are the module paths):
  roberta.embeddings.word_embeddings.weight      [V, H]   nn.Embedding(padding_idx=pad_token_id)
  roberta.embeddings.position_embeddings.weight  [P, H]   only when position_embedding_type == "absolute" (else P = -1:
                                                          no table and no positions at all; refused here)
  roberta.embeddings.token_type_embeddings.weight [type_vocab_size, H]
  roberta.emb_ln.{weight,bias}                   the embedding LayerNorm sits in XLMRobertaModel, not in the embeddings
  roberta.encoder.layers.{i}.mixer.Wqkv.{weight,bias}      [3H, H]: MHA, rearranged "(three h d)": rows q | k | v
  roberta.encoder.layers.{i}.mixer.out_proj.{weight,bias}
  roberta.encoder.layers.{i}.norm1.{weight,bias}           after the attention residual
  roberta.encoder.layers.{i}.mlp.fc1.{weight,bias}         [I, H]
  roberta.encoder.layers.{i}.mlp.fc2.{weight,bias}         [H, I]
  roberta.encoder.layers.{i}.norm2.{weight,bias}           after the MLP residual
  classifier.dense.{weight,bias}, classifier.out_proj.{weight,bias}   XLMRobertaClassificationHead; no pooler
                                                          (XLMRobertaModel(config, add_pooling_layer=False))
The reference is XLMRobertaForSequenceClassification's eval forward, op for op:
  pos = cumsum(ids != pad) * (ids != pad) + pad            create_position_ids_from_input_ids (transformers'), so real
                                                          tokens get 2, 3, ... and pads 1 (embedding.py; the arange
                                                          alternative there is commented out)
  x = emb_ln(word[ids] + position[pos] + token_type[0])    token_type_ids None -> zeros (the XLM-R tokenizer gives none)
  per layer (Block with prenorm=False, return_residual=True: post-LN):
    qkv = Wqkv(x).view(B, T, 3, N, D); q, k, v = unbind   ("... (three h d) -> ... three h d")
    s = einsum(q, k · D^-0.5) + (-10000 on padded keys)    SelfAttention: key_padding_mask = attention_mask.bool(),
                                                          an additive -10000.0 (not finfo.min), no causal mask
    x = norm1(x + out_proj(softmax(s) · v))
    x = norm2(x + fc2(gelu(fc1(x))))                      Mlp; F.gelu(approximate="tanh") for hidden_act gelu_new /
                                                          gelu_fast / gelu_pytorch_tanh, exact erf for "gelu"
  logits = out_proj(tanh(dense(x[:, 0])))                  dropouts off
  eps = layer_norm_eps for every LayerNorm (XLMRobertaFlashConfig's default 1e-12; the checkpoint says 1e-5).
use_flash_attn: get_use_flash_attn() is false without CUDA and flash_attn, and then the code above runs. With them, the
encoder unpads the batch (xlm_padding.unpad_input), runs flash_attn_varlen_qkvpacked_func over each row's real tokens
only, and pads back; the [CLS] state is that of the row alone, which the padded path gives too (a -10000 bias is an
exact zero after exp in float32 and float64). The flash kernels take only fp16/bf16 (FlashSelfAttention asserts it), so
that path is a precision choice, not other math. The selfcheck measures both routes: padded batch vs each row alone.
This is XLM-R's math under other names: transformers' XLMRobertaForSequenceClassification (tools/model/reference.py)
on the same tensors renamed (Wqkv split into q, k, v rows; emb_ln -> embeddings.LayerNorm; norm1 ->
attention.output.LayerNorm; fc1 -> intermediate.dense; fc2 -> output.dense; norm2 -> output.LayerNorm) gives the same
logits (selfcheck). What RerankSharp must get right is the names and the recognition, not new math.
Config keys that would change the module tree or the math, refused by RerankSharp and by this script:
position_embedding_type other than "absolute", last_layer_subset (the last layer becomes a cross-attention with Wq and
Wkv), pad_vocab_size_multiple other than 1 (the word table grows), num_labels other than 1. fused_bias_fc, fused_mlp
and fused_dropout_add_ln swap in CUDA kernels of the same math and names; lora_* and emb_pooler are not read by
XLMRobertaForSequenceClassification.
Weights are drawn as tools/model/make_model.py draws XLM-R's (per tensor, seeded by (seed, crc32(name))): embeddings
N(0, 0.02) with the word table's pad row zero (nn.Embedding's padding_idx, zeroed by _init_weights; the position
table has no padding_idx here, so its row 1 stays random), Linear weights N(0, 0.02·sqrt(1024/H)), biases N(0, 0.02),
LayerNorm gamma 1 + N(0, 0.05), beta N(0, 0.02); the classification head calibrated on 32 random pairs as make_model.py
does (pre-tanh units of std 1.5, logits of std 2 and mean 0).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_logits  # noqa: E402  (fixture_cases, write_json, model_hashes)
import make_model  # noqa: E402
import reference  # noqa: E402  (create_position_ids, pad_batch, and the XLM-R forward of the selfcheck)
import safetensors_io as st  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
TOKENIZER_DIR = os.path.join(REPO, "tests", "fixtures", "tokenizer")
LINKED_TOKENIZER_FILES = ("tokenizer.json", "special_tokens_map.json")
TEXT_PAIRS = os.path.join(REPO, "tests", "fixtures", "text_pairs.json")
SOURCE = ("jina-reranker-v2-base-multilingual's modeling_xlm_roberta.py, block.py, mha.py, mlp.py, embedding.py, "
          "configuration_xlm_roberta.py as mirrored in shreyansh26/Accelerating-Cross-Encoder-Inference "
          "@8f2b5173c7e37872716ea4b9bef5c22c5aaec280")
AUTO_MAP = {
    "AutoConfig": "configuration_xlm_roberta.XLMRobertaFlashConfig",
    "AutoModel": "modeling_xlm_roberta.XLMRobertaModel",
    "AutoModelForSequenceClassification": "modeling_xlm_roberta.XLMRobertaForSequenceClassification",
}
TANH_GELU = ("gelu_new", "gelu_fast", "gelu_pytorch_tanh")


@dataclass(frozen=True)
class JinaSpec(make_model.ModelSpec):
    """make_model.py's XLM-R sizes (Linear weights N(0, 0.02·sqrt(1024/H))), plus the GELU form."""
    hidden_act: str = "gelu"


PRESETS = {
    # F32, exact GELU, the real 1026-row position table (max length 1024); 2 layers of 2 heads of 4.
    "jina-a": JinaSpec(hidden=8, layers=2, heads=2, intermediate=24, max_positions=1026, vocab=16002, seed=41),
    # BF16 as the real checkpoint is stored, hidden_act gelu_new (the code's tanh GELU), 130 positions (max length 128);
    # 3 layers of 2 heads of 8.
    "jina-b": JinaSpec(hidden=16, layers=3, heads=2, intermediate=40, max_positions=130, vocab=16002, dtype="BF16", seed=42,
                       hidden_act="gelu_new"),
    # jinaai/jina-reranker-v2-base-multilingual's shape (config.json above), BF16 as published, for benchmarks.
    "jina-reranker-v2-base": JinaSpec(hidden=768, layers=12, heads=12, intermediate=3072, max_positions=1026, vocab=250002,
                                      dtype="BF16", seed=43),
}
TINY = ("jina-a", "jina-b")


# ---- config ----

def config_json(s: JinaSpec) -> dict:
    """jina-reranker-v2-base-multilingual's config.json (its keys, in its order; no model_type) with the sizes of `s`."""
    return {
        "_name_or_path": "jina-reranker-v2-base-multilingual",
        "architectures": ["XLMRobertaForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1,
        "auto_map": dict(AUTO_MAP),
        "bos_token_id": 0,
        "classifier_dropout": None,
        "emb_pooler": None,
        "eos_token_id": 2,
        "hidden_act": s.hidden_act,
        "hidden_dropout_prob": 0.1,
        "hidden_size": s.hidden,
        "num_labels": 1,
        "id2label": {"0": "LABEL_0"},
        "initializer_range": 0.02,
        "intermediate_size": s.intermediate,
        "label2id": {"LABEL_0": 0},
        "layer_norm_eps": 1e-5,
        "max_position_embeddings": s.max_positions,
        "num_attention_heads": s.heads,
        "num_hidden_layers": s.layers,
        "output_past": True,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype],
        "transformers_version": "4.40.0",
        "type_vocab_size": 1,
        "use_cache": False,
        "use_flash_attn": True,
        "vocab_size": s.vocab,
    }


def tokenizer_config_json() -> dict:
    """jina's tokenizer_config.json (model_max_length 1024), with the fixture tokenizer's <mask> id."""
    fixture = json.load(open(os.path.join(TOKENIZER_DIR, "tokenizer_config.json"), encoding="utf-8"))
    added = fixture["added_tokens_decoder"]
    return {
        "added_tokens_decoder": added,
        "bos_token": "<s>", "clean_up_tokenization_spaces": True, "cls_token": "<s>", "eos_token": "</s>",
        "mask_token": "<mask>", "model_max_length": 1024, "pad_token": "<pad>", "sep_token": "</s>",
        "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>",
    }


def check_config(cfg: dict) -> None:
    """What the modeling code would build differently, refused (see the module docstring)."""
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"position_embedding_type {cfg['position_embedding_type']!r}: the code builds no position table")
    if cfg.get("last_layer_subset", False):
        raise ValueError("last_layer_subset: the last layer becomes a cross-attention (Wq, Wkv)")
    if cfg.get("pad_vocab_size_multiple", 1) != 1:
        raise ValueError("pad_vocab_size_multiple != 1 pads the word table")
    if cfg["hidden_act"] not in ("gelu",) + TANH_GELU:
        raise ValueError(f"hidden_act {cfg['hidden_act']!r}: XLMRobertaModel asserts gelu, gelu_new, gelu_fast or gelu_pytorch_tanh")


def is_jina(cfg: dict) -> bool:
    """A config whose auto_map runs jina's XLMRobertaFlash code (bench_reference.py's dispatch)."""
    return (cfg.get("auto_map") or {}).get("AutoConfig", "").split("--")[-1] == AUTO_MAP["AutoConfig"]


# ---- forward ----

def weights(source, dtype) -> reference.WeightSource:
    """Tensors of a model folder (safetensors_io.ModelTensors) or of a {name: array} dict, as torch tensors of `dtype`."""
    return reference.WeightSource(source if hasattr(source, "get_rows") else reference.DictTensors(source), dtype)


def gather(w: reference.WeightSource, name: str, ids: torch.Tensor) -> torch.Tensor:
    """Rows `ids` ([B, T]) of a table, reading only the rows used (the real word table has 250002)."""
    uniq, inv = np.unique(ids.numpy(), return_inverse=True)
    return w.rows(name, uniq)[torch.from_numpy(inv.reshape(tuple(ids.shape)))]


def _gelu(name: str, x: torch.Tensor, bug=None) -> torch.Tensor:
    tanh = name in TANH_GELU
    if bug == "gelu_form_swapped":
        tanh = not tanh
    return torch.nn.functional.gelu(x, approximate="tanh" if tanh else "none")


def embed(w, cfg: dict, ids: torch.Tensor, bug=None) -> torch.Tensor:
    """XLMRobertaEmbeddings then roberta.emb_ln: [B, T] -> [B, T, H]."""
    p = "roberta.embeddings."
    if bug == "positions_from_zero":                      # embedding.py's commented-out arange
        pos = torch.arange(ids.shape[1]).expand_as(ids)
    else:
        pos = reference.create_position_ids(ids, cfg["pad_token_id"])
    x = gather(w, p + "word_embeddings.weight", ids) + gather(w, p + "position_embeddings.weight", pos)
    if bug != "no_token_type":
        x = x + w(p + "token_type_embeddings.weight")[0]
    if bug == "no_emb_ln":
        return x
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w("roberta.emb_ln.weight"), w("roberta.emb_ln.bias"), cfg["layer_norm_eps"])


def layer(w, cfg: dict, i: int, x: torch.Tensor, keep: torch.Tensor, bug=None) -> torch.Tensor:
    """One Block (prenorm=False): MHA (merged Wqkv, SelfAttention) and Mlp, each followed by its residual and norm."""
    lin = torch.nn.functional.linear
    p = f"roberta.encoder.layers.{i}."
    B, T, H = x.shape
    N = cfg["num_attention_heads"]
    D = H // N
    eps = cfg["layer_norm_eps"]

    def norm(name, t):
        return torch.nn.functional.layer_norm(t, (H,), w(p + name + ".weight"), w(p + name + ".bias"), eps)

    h = norm("norm1", x) if bug == "pre_ln" else x
    qkv = lin(h, w(p + "mixer.Wqkv.weight"), w(p + "mixer.Wqkv.bias"))             # [B, T, 3H]
    if bug == "qkv_per_head":                                                       # "(h three d)" instead of "(three h d)"
        qkv = qkv.view(B, T, N, 3, D).transpose(2, 3)
    else:
        qkv = qkv.view(B, T, 3, N, D)
    q, k, v = qkv.unbind(dim=2)                                                     # [B, T, N, D]
    if bug == "q_k_swapped":
        q, k = k, q
    scores = torch.einsum("bthd,bshd->bhts", q, k * (1.0 / math.sqrt(D)))           # [B, N, T, T]
    big = torch.finfo(scores.dtype).min if bug == "finfo_min_mask" else -10000.0
    padding = torch.full((B, T), big, dtype=scores.dtype).masked_fill(keep, 0.0)
    scores = scores + padding[:, None, None, :]
    ctx = torch.einsum("bhts,bshd->bthd", torch.softmax(scores, dim=-1), v).reshape(B, T, H)
    attn = lin(ctx, w(p + "mixer.out_proj.weight"), w(p + "mixer.out_proj.bias"))
    if bug == "pre_ln":
        x = x + attn
        m = lin(_gelu(cfg["hidden_act"], lin(norm("norm2", x), w(p + "mlp.fc1.weight"), w(p + "mlp.fc1.bias"))),
                w(p + "mlp.fc2.weight"), w(p + "mlp.fc2.bias"))
        return x + m
    x = norm("norm1", x + attn)
    m = lin(_gelu(cfg["hidden_act"], lin(x, w(p + "mlp.fc1.weight"), w(p + "mlp.fc1.bias")), bug),
            w(p + "mlp.fc2.weight"), w(p + "mlp.fc2.bias"))
    return norm("norm2", x + m)


def head(w, cls: torch.Tensor) -> torch.Tensor:
    """XLMRobertaClassificationHead on the <s> state: [B, H] -> [B, num_labels]."""
    lin = torch.nn.functional.linear
    return lin(torch.tanh(lin(cls, w("classifier.dense.weight"), w("classifier.dense.bias"))),
               w("classifier.out_proj.weight"), w("classifier.out_proj.bias"))


def encode(w, cfg: dict, ids: torch.Tensor, mask: torch.Tensor, bug=None, layers=None) -> torch.Tensor:
    """Encoder output [B, T, H]; `layers` limits the layers run (the calibration feeds them one at a time)."""
    check_config(cfg)
    longest = int((ids != cfg["pad_token_id"]).sum(dim=1).max())
    if longest + cfg["pad_token_id"] >= cfg["max_position_embeddings"]:
        raise ValueError(f"{longest} tokens do not fit {cfg['max_position_embeddings']} positions starting at pad + 1")
    x = embed(w, cfg, ids, bug)
    keep = mask.bool() if bug != "no_padding_mask" else torch.ones_like(mask, dtype=torch.bool)
    for i in range(cfg["num_hidden_layers"] if layers is None else layers):
        x = layer(w, cfg, i, x, keep, bug)
    return x


def forward(w, cfg: dict, ids: torch.Tensor, mask: torch.Tensor, bug=None) -> torch.Tensor:
    """Logits [B, num_labels]. `w` is a reference.WeightSource (weights(), or bench_reference.py's float32 one)."""
    with torch.inference_mode():
        return head(w, encode(w, cfg, ids, mask, bug)[:, 0])


# ---- make ----

def tensor_specs(s: JinaSpec) -> list[st.TensorSpec]:
    """Every tensor, in the order XLMRobertaForSequenceClassification.state_dict() lists them. The embedding tables and
    the head are transformers' XLM-R's (make_model.py's list for the same sizes); emb_ln and the layers are jina's."""
    H, I, d = s.hidden, s.intermediate, s.dtype
    xlmr = make_model.tensor_specs(s)
    out = [t for t in xlmr if t.name.startswith("roberta.embeddings.") and ".LayerNorm." not in t.name]
    out += [st.TensorSpec("roberta.emb_ln.weight", d, (H,)), st.TensorSpec("roberta.emb_ln.bias", d, (H,))]
    for i in range(s.layers):
        p = f"roberta.encoder.layers.{i}."
        for name, shape in (("mixer.Wqkv", (3 * H, H)), ("mixer.out_proj", (H, H)), ("norm1", (H,)),
                            ("mlp.fc1", (I, H)), ("mlp.fc2", (H, I)), ("norm2", (H,))):
            out += [st.TensorSpec(p + name + ".weight", d, shape), st.TensorSpec(p + name + ".bias", d, (shape[0],))]
    return out + [t for t in xlmr if t.name.startswith("classifier.")]


def draw(s: JinaSpec, name: str, shape) -> np.ndarray:
    """float32 initial value of one tensor (not the word table, not the head)."""
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    module = name.rsplit(".", 1)[0]
    if module.endswith(("emb_ln", "norm1", "norm2")):
        std = make_model.LN_GAMMA_STD if name.endswith(".weight") else make_model.LN_BETA_STD
        return ((1.0 if name.endswith(".weight") else 0.0) + std * z).astype(np.float32)
    if name.endswith(".bias"):
        return (make_model.BIAS_STD * z).astype(np.float32)
    if "embeddings" in name:
        return (make_model.EMBEDDING_STD * z).astype(np.float32)
    return (np.float32(s.linear_std) * z).astype(np.float32)


def calibration_inputs(s: JinaSpec):
    """32 random `<s> q </s></s> d </s>` pairs of 6-48 tokens, right-padded."""
    rng = make_model.rng_for(s.seed, "calibration-inputs")
    seqs = [golden_logits.make_sequence(rng, int(rng.integers(6, min(48, s.max_positions - 2) + 1)), s.vocab) for _ in range(32)]
    ids, mask = reference.pad_batch(seqs, 1)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def make(s: JinaSpec, out: str) -> dict:
    """Writes the model folder: config.json, model.safetensors, jina's tokenizer_config.json, the fixture tokenizer."""
    os.makedirs(out, exist_ok=True)
    for stale in os.listdir(out):
        if stale.endswith(".safetensors") or stale == st.INDEX_FILE:
            os.remove(os.path.join(out, stale))
    cfg = config_json(s)
    specs = tensor_specs(s)
    shapes = {t.name: t.shape for t in specs}
    ids, mask = calibration_inputs(s)
    cal = make_model._CalibrationTensors()        # the word table: only the rows the calibration pairs use
    w = weights(cal, torch.float64)
    # Written tensor by tensor (the word table in blocks of rows) beside a calibration forward layer by layer, so the
    # real shape needs little memory; the calibration sees the float32 draws, not the stored rounding.
    with st.ModelWriter(out, specs, 1) as mw:
        name = "roberta.embeddings.word_embeddings.weight"
        rng = make_model.rng_for(s.seed, name)
        used = np.unique(ids.numpy())
        for r0 in range(0, s.vocab, make_model.WORD_BLOCK_ROWS):
            n = min(make_model.WORD_BLOCK_ROWS, s.vocab - r0)
            block = (make_model.EMBEDDING_STD * rng.standard_normal((n, s.hidden), dtype=np.float32)).astype(np.float32)
            if r0 <= 1 < r0 + n:
                block[1 - r0] = 0.0                 # padding_idx row, zeroed by _init_weights
            mw.write_rows(name, r0, block)
            for r in used[(used >= r0) & (used < r0 + n)]:
                cal.word_rows[int(r)] = block[r - r0].copy()
        for name in ("roberta.embeddings.position_embeddings.weight", "roberta.embeddings.token_type_embeddings.weight",
                     "roberta.emb_ln.weight", "roberta.emb_ln.bias"):
            cal.arrays[name] = draw(s, name, shapes[name])
            mw.write(name, cal.arrays[name])
        with torch.inference_mode():
            x = embed(w, cfg, ids)
            for i in range(s.layers):
                prefix = f"roberta.encoder.layers.{i}."
                for t in specs:
                    if t.name.startswith(prefix):
                        cal.arrays[t.name] = draw(s, t.name, shapes[t.name])
                        mw.write(t.name, cal.arrays[t.name])
                x = layer(w, cfg, i, x, mask.bool())
                for t in specs:
                    if t.name.startswith(prefix):
                        del cal.arrays[t.name]
                print(f"  layer {i + 1}/{s.layers} written", file=sys.stderr)
            h = x[:, 0].numpy()                                                            # [32, H]
        cal_logits = make_model.write_calibrated_head(mw, s.seed, h)
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(cfg, indent=2) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(tokenizer_config_json(), indent=2) + "\n")
    inside = os.path.abspath(out).startswith(os.path.abspath(FIXTURES) + os.sep)
    for fn in LINKED_TOKENIZER_FILES:
        target = os.path.join(out, fn)
        if os.path.lexists(target):
            os.remove(target)
        if inside:      # linked, so the tokenizer fixture is stored once
            os.symlink(os.path.join("..", "..", "tokenizer", fn), target)
        else:
            with open(os.path.join(TOKENIZER_DIR, fn), "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())
    path = os.path.join(out, "model.safetensors")
    return {"out": out, "bytes": os.path.getsize(path), "sha256": make_model.sha256_file(path),
            "parameters": sum(int(np.prod(t.shape)) for t in specs),
            "calibration_logits": {"min": float(cal_logits.min()), "max": float(cal_logits.max()), "std": float(cal_logits.std())}}


# ---- golden ----

def text_cases(model_dir: str) -> list[dict]:
    """tests/fixtures/text_pairs.json through HF tokenizers on the model's tokenizer.json (tools/model/encode_pairs.js)."""
    out = subprocess.run(["node", os.path.join(REPO, "tools", "model", "encode_pairs.js"), os.path.join(model_dir, "tokenizer.json"),
                          TEXT_PAIRS], check=True, capture_output=True, text=True).stdout
    pairs = json.load(open(TEXT_PAIRS, encoding="utf-8"))
    return [json.loads(line) | {"query": p["query"], "document": p["document"]} for line, p in zip(out.splitlines(), pairs)]


def golden(model_dir: str, seed: int) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json"), encoding="utf-8"))
    groups, invariance = golden_logits.fixture_cases(cfg, seed)
    texts = text_cases(model_dir)
    groups.append(("text_pairs", [x["input_ids"] for x in texts]))
    mt = st.ModelTensors(model_dir)
    w64, w32 = weights(mt, torch.float64), weights(mt, torch.float32)
    cases, all_logits, max32 = [], [], 0.0
    for name, seqs in groups:
        ids, mask = (torch.from_numpy(a) for a in reference.pad_batch(seqs, cfg["pad_token_id"]))
        l64 = forward(w64, cfg, ids, mask)[:, 0]
        l32 = forward(w32, cfg, ids, mask)[:, 0].to(torch.float64)
        max32 = max(max32, float((l64 - l32).abs().max()))
        all_logits += l64.tolist()
        case = {"name": name, "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": [float(v) for v in l64]}
        if name == "text_pairs":
            case["pairs"] = [{"query": x["query"], "document": x["document"]} for x in texts]
        cases.append(case)
    doc = {
        "format": "reranksharp.golden-logits.v1",
        "generator": "tools/model/jina.py",
        "reference": "tools/model/jina.py: float64 re-implementation of jina-reranker-v2's XLMRobertaForSequenceClassification "
                     "forward (eval, the non-flash path) from " + SOURCE,
        "torch_version": torch.__version__, "numpy_version": np.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "dtype": "float64",
        "model": os.path.basename(os.path.normpath(model_dir)),
        "model_sha256": golden_logits.model_hashes(model_dir),
        "pad_token_id": cfg["pad_token_id"],
        "max_sequence_length": cfg["max_position_embeddings"] - cfg["pad_token_id"] - 1,
        "torch_fp32_max_abs_diff": max32,
        "logit_range": [min(all_logits), max(all_logits)],
        "cases": cases,
        "batch_invariance": invariance,
    }
    golden_logits.write_json(os.path.join(model_dir, "golden_logits.json"), doc)
    print(f"{model_dir}: {len(all_logits)} logits in [{min(all_logits):.2f}, {max(all_logits):.2f}], fp32 max |Δ| {max32:.1e}",
          file=sys.stderr)


GOLDEN_SEEDS = {"jina-a": 51, "jina-b": 52}


# ---- selfcheck ----

def as_xlm_roberta(mt, cfg: dict) -> dict:
    """The tensors under transformers' XLMRobertaForSequenceClassification names (float64), Wqkv split into its rows."""
    H = cfg["hidden_size"]
    out = {}
    for name in mt.keys():
        a = np.asarray(mt.get(name, np.float64))
        if name == "roberta.emb_ln.weight" or name == "roberta.emb_ln.bias":
            out[name.replace("emb_ln", "embeddings.LayerNorm")] = a
        elif name.startswith("roberta.encoder.layers."):
            i, rest = name[len("roberta.encoder.layers."):].split(".", 1)
            p = f"roberta.encoder.layer.{i}."
            module, kind = rest.rsplit(".", 1)
            if module == "mixer.Wqkv":
                for j, m in enumerate(("query", "key", "value")):
                    out[f"{p}attention.self.{m}.{kind}"] = a[j * H:(j + 1) * H]
            else:
                renamed = {"mixer.out_proj": "attention.output.dense", "norm1": "attention.output.LayerNorm",
                           "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense", "norm2": "output.LayerNorm"}[module]
                out[f"{p}{renamed}.{kind}"] = a
        else:
            out[name] = a
    return out


def forward_alone_numpy(w, cfg: dict, seq: list[int]) -> float:
    """One sequence unpadded (what the flash path's unpad_input leaves of a row), in numpy float64, loops per head."""
    g = lambda n: w(n).numpy()                                                     # noqa: E731
    H, N, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    D, n = H // N, len(seq)

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g(name + ".weight") + g(name + ".bias")

    def gelu(x):
        if cfg["hidden_act"] in TANH_GELU:
            return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))

    e = "roberta.embeddings."
    x = g(e + "word_embeddings.weight")[seq] + g(e + "position_embeddings.weight")[2:2 + n] + g(e + "token_type_embeddings.weight")[0]
    x = ln(x, "roberta.emb_ln")
    for i in range(cfg["num_hidden_layers"]):
        p = f"roberta.encoder.layers.{i}."
        qkv = x @ g(p + "mixer.Wqkv.weight").T + g(p + "mixer.Wqkv.bias")
        ctx = np.zeros((n, H))
        for a in range(N):
            q, k, v = (qkv[:, j * H + a * D:j * H + (a + 1) * D] for j in range(3))
            s = q @ k.T / math.sqrt(D)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            ctx[:, a * D:(a + 1) * D] = (s / s.sum(axis=1, keepdims=True)) @ v
        x = ln(x + ctx @ g(p + "mixer.out_proj.weight").T + g(p + "mixer.out_proj.bias"), p + "norm1")
        m = gelu(x @ g(p + "mlp.fc1.weight").T + g(p + "mlp.fc1.bias")) @ g(p + "mlp.fc2.weight").T + g(p + "mlp.fc2.bias")
        x = ln(x + m, p + "norm2")
    t = np.tanh(x[0] @ g("classifier.dense.weight").T + g("classifier.dense.bias"))
    return float(t @ g("classifier.out_proj.weight")[0] + g("classifier.out_proj.bias")[0])


BUGS = [
    ("qkv_per_head", "Wqkv rows read per head, \"(h three d)\", instead of q, k, v blocks"),
    ("q_k_swapped", "query and key projections swapped"),
    ("positions_from_zero", "positions 0, 1, ... (BERT) instead of from pad_token_id + 1"),
    ("no_token_type", "token_type_embeddings row 0 not added"),
    ("no_emb_ln", "roberta.emb_ln not applied"),
    ("pre_ln", "pre-LN blocks (prenorm=True) instead of post-LN"),
    ("gelu_form_swapped", "erf and tanh GELU swapped"),
    ("no_padding_mask", "padded keys not masked"),
]
EQUIVALENT = [("finfo_min_mask", "finfo.min instead of -10000 on padded keys (transformers' XLM-R)")]


def selfcheck() -> None:
    rows, failures = {}, []
    for name in TINY:
        d = os.path.join(FIXTURES, name)
        cfg = json.load(open(os.path.join(d, "config.json"), encoding="utf-8"))
        mt = st.ModelTensors(d)
        w64, w32 = weights(mt, torch.float64), weights(mt, torch.float32)
        rng = np.random.default_rng(23)
        longest = min(120, cfg["max_position_embeddings"] - 2)
        seqs = [golden_logits.make_sequence(rng, n, cfg["vocab_size"]) for n in (5, 9, 14, 20, 27, 33, 41, 50, 64, 77, 96, longest)]
        ids, mask = (torch.from_numpy(a) for a in reference.pad_batch(seqs, cfg["pad_token_id"]))
        ref = forward(w64, cfg, ids, mask)[:, 0]
        alone = torch.stack([forward(w64, cfg, *(torch.from_numpy(a) for a in reference.pad_batch([q], 1)))[0, 0] for q in seqs])
        numpy_route = torch.tensor([forward_alone_numpy(w64, cfg, q) for q in seqs[:6]], dtype=torch.float64)
        xlmr_cfg = dict(cfg, model_type="xlm-roberta")
        xlmr = reference.forward(reference.WeightSource(reference.DictTensors(as_xlm_roberta(mt, cfg)), torch.float64), xlmr_cfg, ids, mask)[:, 0] \
            if cfg["hidden_act"] == "gelu" else None        # reference.py computes the erf GELU only
        res = {"padded batch vs each row alone (float64; the flash path's unpadding)": float((ref - alone).abs().max()),
               "independent unpadded numpy route (float64, 6 rows)": float((ref[:6] - numpy_route).abs().max()),
               "reference.py (transformers' XLM-R) on the tensors renamed": None if xlmr is None else float((ref - xlmr).abs().max()),
               "torch fp32 (same code, float32)": float((ref - forward(w32, cfg, ids, mask)[:, 0].double()).abs().max())}
        for bug, _ in EQUIVALENT + BUGS:
            res[bug] = float((ref - forward(w64, cfg, ids, mask, bug=bug)[:, 0]).abs().max())
        rows[name] = res
        noise = res["torch fp32 (same code, float32)"]
        same = [k for k in list(res)[:3] if res[k] is not None and res[k] > 1e-10] + [b for b, _ in EQUIVALENT if res[b] > 1e-12]
        if same:
            failures.append(f"{name}: the reference disagrees with itself: {', '.join(same)}")
        for bug, _ in BUGS:
            if res[bug] < 10 * max(noise, 1e-6):
                failures.append(f"{name}: {bug} moves logits by {res[bug]:.1e}, within 10x the fp32 noise {noise:.1e}")
    labels = {b: d for b, d in BUGS} | {b: d for b, d in EQUIVALENT}
    print("| | " + " | ".join(TINY) + " |")
    print("| --- |" + " --- |" * len(TINY))
    for key in rows[TINY[0]]:
        cells = []
        for n in TINY:
            v = rows[n][key]
            cells.append("n/a (tanh GELU)" if v is None else f"{v:.1e}" if v < 0.01 else f"{v:.2g}")
        label = (f"bug: {labels[key]}" if any(key == b for b, _ in BUGS) else f"same math: {labels[key]}") if key in labels else key
        print(f"| {label} | " + " | ".join(cells) + " |")
    if failures:
        raise SystemExit("\n".join(failures))
    print("selfcheck passed", file=sys.stderr)


# ---- main ----

def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "bench":
        import bench_reference
        bench_reference.main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["make", "golden", "selfcheck", "bench"])
    ap.add_argument("--all-tiny", action="store_true")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--out", help="model folder (make: created; golden: read)")
    args = ap.parse_args()
    if args.command == "selfcheck":
        selfcheck()
        return
    if args.all_tiny:
        jobs = [(n, os.path.join(FIXTURES, n)) for n in TINY]
    elif args.out and (args.preset or args.command == "golden"):
        jobs = [(args.preset, args.out)]
    else:
        ap.error("give --all-tiny, or --preset and --out (golden: --out)")
    for preset, out in jobs:
        if args.command == "make":
            print(json.dumps(make(PRESETS[preset], out)))
        else:
            golden(out, GOLDEN_SEEDS.get(os.path.basename(os.path.normpath(out)), 53))


if __name__ == "__main__":
    main()
