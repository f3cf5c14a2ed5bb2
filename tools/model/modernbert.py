#!/usr/bin/python3
"""Random-weight ModernBertForSequenceClassification fixtures, their float64 reference forward, golden logits,
the PyTorch float32 baseline for benchmarks, and a self-check.

    /usr/bin/python3 tools/model/modernbert.py make --all-tiny      # tests/fixtures/models/modernbert-{a,b}/
    /usr/bin/python3 tools/model/modernbert.py golden --all-tiny    # .../golden_logits.json
    /usr/bin/python3 tools/model/modernbert.py selfcheck            # independent route, fp32 noise, what the fixtures catch
    /usr/bin/python3 tools/model/modernbert.py make --preset modernbert-base --out /work/models/modernbert-base   # never committed
    /usr/bin/python3 tools/model/modernbert.py bench --model DIR --ids ids.json [bench_reference.py's options]

Written from transformers' src/transformers/models/modernbert/ (read, not copied):
  modeling_modernbert.py at commit 000c33fdfde12e1ffafbfcdb3c926df5727a00b6 (the 4.5x layout: _update_attention_mask,
  eager/sdpa/flash attention functions), and modular_modernbert.py + configuration_modernbert.py at commit
  001f85b38fb432858ace93f18622f07cec46d874 (the 5.x layout: layer_types, rope_parameters, masking_utils masks).
The reference is ModernBertForSequenceClassification's eval forward on the eager/sdpa path (padded batches), op for op:
  x = LayerNorm(tok_embeddings[ids])                      model.embeddings.norm, eps norm_eps, bias iff norm_bias;
                                                          no position embeddings, no token types
  per layer i (pre-LN):
    h = x if i == 0 else LayerNorm(x)                     layer 0's attn_norm is nn.Identity (no weights)
    qkv = Wqkv(h).view(B, T, 3, N, D); q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  -> [B, N, T, D]
    q, k = RoPE(q), RoPE(k)                               rotate_half (NeoX) form: x·cos + rotate_half(x)·sin,
                                                          inv_freq = theta^(-2j/D), positions 0..T-1 for every row,
                                                          emb = cat(freqs, freqs); theta of the layer's type
    s = q kᵀ · D^-0.5 + mask                              mask [B, 1, T, T]: 0 or finfo.min on padded keys; on
                                                          sliding layers ALSO finfo.min where |i - j| > local_attention // 2
                                                          (masked_fill, so a padded key out of the band is finfo.min once)
    x = x + Wo(softmax(s) · v)
    input, gate = Wi(LayerNorm(x)).chunk(2, -1)           mlp_norm; first half is the input, second the gate
    x = x + mlp.Wo(act(input) · gate)                     act = ACT2FN[hidden_activation]: "gelu" is exact erf GELU,
                                                          "gelu_pytorch_tanh"/"gelu_new" the tanh form, "silu"/"swish" SiLU
  x = LayerNorm(x)                                        model.final_norm
  pooled = x[:, 0] (classifier_pooling "cls")  or  (x · mask).sum(1) / mask.sum(1)  ("mean", pads excluded)
  logits = classifier(LayerNorm(act_c(head.dense(pooled))))   head.dense bias iff classifier_bias, act_c =
                                                          ACT2FN[classifier_activation], head.norm eps norm_eps bias iff
                                                          norm_bias; classifier is nn.Linear(H, num_labels): bias ALWAYS
  Biases of Wqkv/Wo iff attention_bias, of Wi/mlp.Wo iff mlp_bias. Dropouts are off.
Which layers are global, and the rope thetas, from either config style:
  - published checkpoints (transformers 4.48-4.5x): layer i is global iff i % global_attn_every_n_layers == 0;
    theta = global_rope_theta on global layers, local_rope_theta on sliding ones, or global_rope_theta when
    local_rope_theta is null (4.5x: `config.local_rope_theta if config.local_rope_theta is not None else
    config.global_rope_theta`); defaults 3, 160000, 10000.
  - transformers 5.x: layer_types[i] in {"full_attention", "sliding_attention"} (built from global_attn_every_n_layers
    when absent) and rope_parameters[type]["rope_theta"] (rope_type "default" only here); convert_rope_params_to_dict
    fills rope_parameters from global_rope_theta / local_rope_theta when a 4.x config is loaded. Note: it pops
    local_rope_theta with a 10000 default, so a 4.x config with "local_rope_theta": null would get None there, not the
    global theta; this script follows 4.5x (global theta) and says so. 5.x also still decides the flash-attention
    window by layer_idx % global_attn_every_n_layers while the eager/sdpa masks and the thetas follow layer_types: this
    script reads layer_types when present and refuses a config where the two disagree.
The eager path upcasts the softmax to float32; the float64 reference keeps float64 throughout. Its float32 path
computes the rotary tables as HF does (float32 inv_freq and positions) and is what `bench` times.
Weights are drawn per tensor from generators seeded by (seed, crc32(name)) (tools/model/make_model.py): embeddings
N(0, 0.02), Linear weights N(0, 0.02·sqrt(1024/H)), LayerNorm gamma 1 + N(0, 0.05), beta and biases N(0, 0.02). The
embedding's pad row is left random, as ModernBERT's _init_weights (trunc_normal_ over the whole table) leaves it. The
head is calibrated on 32 random pairs: head.dense rows are N(0,1) directions with the mean pooled state projected out,
scaled so each pre-activation unit has std 1.5; the classifier is scaled so the logits have std 2 and mean 0.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_tool  # noqa: E402
import make_model  # noqa: E402
import safetensors_io as st  # noqa: E402
from fixture_tool import right_pad  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
TOKENIZER_DIR = os.path.join(REPO, "tests", "fixtures", "modernbert-tokenizer")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
TEXT_PAIRS = os.path.join(REPO, "tests", "fixtures", "text_pairs.json")
SOURCES = ("transformers src/transformers/models/modernbert: modeling_modernbert.py @000c33fdfde12e1ffafbfcdb3c926df5727a00b6, "
           "modular_modernbert.py and configuration_modernbert.py @001f85b38fb432858ace93f18622f07cec46d874")


@dataclass(frozen=True)
class MBSpec:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    local_attention: int
    global_every: int
    max_positions: int
    vocab: int
    pooling: str                       # "cls" or "mean"
    biases: bool                       # attention_bias, mlp_bias, norm_bias, classifier_bias together
    global_theta: float = 160000.0
    local_theta: float | None = 10000.0
    style: str = "old"                 # "old": global/local_rope_theta keys; "new": layer_types + rope_parameters
    dtype: str = "F32"
    seed: int = 0
    hidden_activation: str = "gelu"
    classifier_activation: str = "gelu"
    name_or_path: str = "gte-reranker-modernbert-base"

    @property
    def linear_std(self) -> float:
        return 0.02 * (1024 / self.hidden) ** 0.5


PRESETS = {
    # Old-style keys, as the published checkpoints; 3 layers (0 and 2 global, 1 sliding), window 16 (|i-j| <= 8), CLS
    # pooling, no biases, F32.
    "modernbert-a": MBSpec(hidden=48, layers=3, heads=4, intermediate=56, local_attention=16, global_every=2, max_positions=512,
                           vocab=2816, pooling="cls", biases=False, seed=31),
    # transformers 5.x keys (layer_types, rope_parameters) with thetas unlike the defaults, every bias on, mean pooling,
    # 4 layers (0 and 3 global), window 8 (|i-j| <= 4), BF16.
    "modernbert-b": MBSpec(hidden=40, layers=4, heads=5, intermediate=44, local_attention=8, global_every=3, max_positions=256,
                           vocab=2816, pooling="mean", biases=True, global_theta=80000.0, local_theta=20000.0, style="new",
                           dtype="BF16", seed=32),
    # answerdotai/ModernBERT-base's shape with gte-reranker-modernbert-base's head (mean pooling, 1 label), for benchmarks.
    "modernbert-base": MBSpec(hidden=768, layers=22, heads=12, intermediate=1152, local_attention=128, global_every=3,
                              max_positions=8192, vocab=50368, pooling="mean", biases=False, seed=33),
    # jhu-clsp/ettin-encoder-32m's shape, from the Ettin pretraining config (JHU-CLSP/ettin-encoder-vs-decoder,
    # pretraining/configs/standard/tiny/prolong_decay/encoder_tiny.yaml @86fe50c4): 10 layers, H 384, I 576, 6 heads,
    # sliding window 128 every layer but each third, rotary base 160000 for global AND local layers after the decay phase.
    # Its Hugging Face config.json was not found; pooling "mean" and max_position_embeddings 7999 are guesses.
    "ettin-32m": MBSpec(hidden=384, layers=10, heads=6, intermediate=576, local_attention=128, global_every=3, max_positions=7999,
                        vocab=50368, pooling="mean", biases=False, local_theta=160000.0, seed=34, name_or_path="jhu-clsp/ettin-encoder-32m"),
}
TINY = ("modernbert-a", "modernbert-b")


# ---- config ----

def tokenizer_ids() -> dict:
    tok = json.load(open(os.path.join(TOKENIZER_DIR, "tokenizer.json"), encoding="utf-8"))
    ids = {t["content"]: t["id"] for t in tok["added_tokens"]}
    first_added = min(t["id"] for t in tok["added_tokens"] if t["id"] > 1)
    return {"unk": ids["[UNK]"], "cls": ids["[CLS]"], "sep": ids["[SEP]"], "pad": ids["[PAD]"], "mask": ids["[MASK]"],
            "content": (2, first_added), "vocab": max(ids.values()) + 1}


def config_json(s: MBSpec) -> dict:
    """gte-reranker-modernbert-base's config.json (4.48 keys) or a transformers 5.x save of it, with the sizes of `s`."""
    t = tokenizer_ids()
    if s.vocab < t["vocab"]:
        raise SystemExit(f"vocab {s.vocab} is smaller than the tokenizer's {t['vocab']} ids")
    cfg = {
        "_name_or_path": s.name_or_path,
        "architectures": ["ModernBertForSequenceClassification"],
        "attention_bias": s.biases, "attention_dropout": 0.0,
        "bos_token_id": t["cls"], "classifier_activation": s.classifier_activation, "classifier_bias": s.biases,
        "classifier_dropout": 0.0, "classifier_pooling": s.pooling, "cls_token_id": t["cls"], "decoder_bias": True,
        "deterministic_flash_attn": False, "embedding_dropout": 0.0, "eos_token_id": t["sep"],
        "global_attn_every_n_layers": s.global_every, "global_rope_theta": s.global_theta, "gradient_checkpointing": False,
        "hidden_activation": s.hidden_activation, "hidden_size": s.hidden, "id2label": {"0": "LABEL_0"},
        "initializer_cutoff_factor": 2.0, "initializer_range": 0.02, "intermediate_size": s.intermediate,
        "label2id": {"LABEL_0": 0}, "layer_norm_eps": 1e-05, "local_attention": s.local_attention,
        "local_rope_theta": s.local_theta, "max_position_embeddings": s.max_positions, "mlp_bias": s.biases,
        "mlp_dropout": 0.0, "model_type": "modernbert", "norm_bias": s.biases, "norm_eps": 1e-05,
        "num_attention_heads": s.heads, "num_hidden_layers": s.layers, "pad_token_id": t["pad"],
        "position_embedding_type": "absolute", "sep_token_id": t["sep"], "sparse_pred_ignore_index": -100,
        "sparse_prediction": False, "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype],
        "transformers_version": "4.48.0.dev0", "vocab_size": s.vocab,
    }
    if s.style == "new":
        local = s.local_theta if s.local_theta is not None else s.global_theta
        for k in ("global_rope_theta", "local_rope_theta", "torch_dtype"):
            del cfg[k]
        cfg |= {
            "dtype": make_model.TORCH_DTYPE_NAME[s.dtype],
            "layer_types": ["sliding_attention" if i % s.global_every else "full_attention" for i in range(s.layers)],
            "repad_logits_with_grad": False,
            "rope_parameters": {"full_attention": {"rope_theta": s.global_theta, "rope_type": "default"},
                                "sliding_attention": {"rope_theta": local, "rope_type": "default"}},
            "tie_word_embeddings": True, "transformers_version": "5.0.0",
        }
    return cfg


def resolve(cfg: dict) -> dict:
    """Per-layer attention kind and rope theta from either config style (see the module docstring)."""
    L = cfg["num_hidden_layers"]
    every = cfg.get("global_attn_every_n_layers", 3)
    pattern = ["sliding_attention" if i % every else "full_attention" for i in range(L)]
    types = cfg.get("layer_types") or pattern
    if len(types) != L or any(t not in ("full_attention", "sliding_attention") for t in types):
        raise ValueError(f"bad layer_types {types}")
    if "global_attn_every_n_layers" in cfg and cfg.get("layer_types") and types != pattern:
        raise ValueError("layer_types and global_attn_every_n_layers disagree; transformers 5.x would use one for the "
                         "eager masks and the other for flash attention")
    rp = cfg.get("rope_parameters")
    if rp:
        for k in ("full_attention", "sliding_attention"):
            if rp[k].get("rope_type", "default") != "default":
                raise ValueError(f"rope_type {rp[k]['rope_type']} is not supported here")
        thetas = {k: float(rp[k]["rope_theta"]) for k in ("full_attention", "sliding_attention")}
    else:
        g = float(cfg.get("global_rope_theta", 160000.0))
        local = cfg.get("local_rope_theta", 10000.0)
        thetas = {"full_attention": g, "sliding_attention": g if local is None else float(local)}
    return {"layer_types": types, "rope_theta": thetas, "half_window": cfg["local_attention"] // 2}


# ---- forward ----

def _act(name: str):
    f = torch.nn.functional
    acts = {"gelu": f.gelu, "gelu_pytorch_tanh": lambda x: f.gelu(x, approximate="tanh"),
            "gelu_new": lambda x: f.gelu(x, approximate="tanh"), "silu": f.silu, "swish": f.silu}
    if name not in acts:
        raise ValueError(f"activation {name} is not supported here")
    return acts[name]


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _rope_tables(theta: float, d: int, T: int, dtype, interleaved=False):
    if dtype == torch.float64:
        inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    else:   # as HF: float32 inv_freq and positions, float32 outer product
        inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        freqs = (inv_freq[:, None] @ torch.arange(T, dtype=torch.float32)[None, :]).T
    emb = torch.repeat_interleave(freqs, 2, dim=-1) if interleaved else torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)            # [T, d]


def _rotate_pairs(x):        # GPT-J form, for the selfcheck's bug only
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def _ln(x, w, name, eps):
    H = x.shape[-1]
    bias = w.get(name + ".bias")
    return torch.nn.functional.layer_norm(x, (H,), w(name + ".weight"), bias, eps)


class Weights:
    """Tensors of a model folder as torch tensors of one dtype; `get` returns None for a missing (bias) tensor."""

    def __init__(self, source, dtype):
        self.source = source            # safetensors_io.ModelTensors or a dict of numpy arrays
        self.np_dtype = np.float64 if dtype == torch.float64 else np.float32
        self.cache = {}
        self.have = set(source.keys())

    def __call__(self, name):
        if name not in self.cache:
            if isinstance(self.source, dict):
                a = np.asarray(self.source[name], dtype=self.np_dtype)
            else:
                a = self.source.get(name, self.np_dtype)
            self.cache[name] = torch.from_numpy(np.array(a, order="C"))
        return self.cache[name]

    def get(self, name):
        return self(name) if name in self.have else None


def masks(mask: torch.Tensor, half_window: int, dtype, bug=None):
    """The [B, 1, T, T] additive masks of the full and the sliding layers, as _update_attention_mask builds them."""
    B, T = mask.shape
    big = torch.finfo(dtype).min
    full = torch.zeros(B, 1, T, T, dtype=dtype).masked_fill(~mask.bool()[:, None, None, :], big)
    pos = torch.arange(T)
    dist = (pos[:, None] - pos[None, :]).abs()
    inside = dist < half_window if bug == "band_off_by_one" else dist <= half_window
    sliding = full if bug == "no_band" else full.masked_fill(~inside[None, None], big)
    return full, sliding


def encode(w, cfg: dict, ids: torch.Tensor, mask: torch.Tensor, dtype=torch.float64, bug=None) -> torch.Tensor:
    """Pooled states [B, H] (after model.final_norm and the pooling). `bug` injects one mistake (selfcheck only)."""
    lin = torch.nn.functional.linear
    B, T = ids.shape
    H, N = cfg["hidden_size"], cfg["num_attention_heads"]
    D = H // N
    eps = cfg["norm_eps"]
    act = _act("gelu_pytorch_tanh" if bug == "tanh_gelu" and cfg["hidden_activation"] == "gelu" else cfg["hidden_activation"])
    r = resolve(cfg)
    types = r["layer_types"]
    if bug == "pattern_shifted":
        types = types[1:] + types[:1]
    full, sliding = masks(mask, r["half_window"], dtype, bug)
    tables = {}
    for kind, theta in r["rope_theta"].items():
        if bug == "local_theta" and kind == "sliding_attention":
            theta = r["rope_theta"]["full_attention"]
        tables[kind] = _rope_tables(theta, D, T, dtype, interleaved=bug == "rope_interleaved")
    rot = _rotate_pairs if bug == "rope_interleaved" else _rotate_half
    x = _ln(w("model.embeddings.tok_embeddings.weight")[ids], w, "model.embeddings.norm", eps)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        if i > 0:
            h = _ln(x, w, p + "attn_norm", eps)
        elif bug == "attn_norm_layer0":
            h = torch.nn.functional.layer_norm(x, (H,), None, None, eps)
        else:
            h = x
        qkv = lin(h, w(p + "attn.Wqkv.weight"), w.get(p + "attn.Wqkv.bias")).view(B, T, 3, N, D)
        q, k, v = (qkv[:, :, j].transpose(1, 2) for j in range(3))                  # [B, N, T, D]
        cos, sin = tables[types[i]]
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        scores = (q @ k.transpose(-1, -2)) * D ** -0.5 + (sliding if types[i] == "sliding_attention" else full)
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, H)
        del scores
        x = x + lin(ctx, w(p + "attn.Wo.weight"), w.get(p + "attn.Wo.bias"))
        inp, gate = lin(_ln(x, w, p + "mlp_norm", eps), w(p + "mlp.Wi.weight"), w.get(p + "mlp.Wi.bias")).chunk(2, dim=-1)
        if bug == "wi_swapped":
            inp, gate = gate, inp
        x = x + lin(act(inp) * gate, w(p + "mlp.Wo.weight"), w.get(p + "mlp.Wo.bias"))
    x = _ln(x, w, "model.final_norm", eps)
    pooling = cfg["classifier_pooling"]
    if bug == "pooling_swapped":
        pooling = "mean" if pooling == "cls" else "cls"
    if pooling == "cls":
        return x[:, 0]
    m = torch.ones_like(mask) if bug == "mean_over_pads" else mask
    m = m.to(x.dtype)
    return (x * m[..., None]).sum(dim=1) / m.sum(dim=1, keepdim=True)


def head(w, cfg: dict, pooled: torch.Tensor, bug=None) -> torch.Tensor:
    lin = torch.nn.functional.linear
    name = cfg["classifier_activation"]
    act = _act("gelu_pytorch_tanh" if bug == "tanh_gelu" and name == "gelu" else name)
    h = _ln(act(lin(pooled, w("head.dense.weight"), w.get("head.dense.bias"))), w, "head.norm", cfg["norm_eps"])
    return lin(h, w("classifier.weight"), w("classifier.bias"))


def forward(w, cfg: dict, ids: torch.Tensor, mask: torch.Tensor, dtype=None, bug=None) -> torch.Tensor:
    """Logits [B, num_labels]. `w` is a Weights, or bench_reference.py's reference.WeightSource (float32)."""
    if dtype is None:
        dtype = torch.float64 if getattr(w, "np_dtype", np.float32) == np.float64 else torch.float32
    if not hasattr(w, "get"):
        w = _Lenient(w)
    return head(w, cfg, encode(w, cfg, ids, mask, dtype, bug), bug)


class _Lenient:
    """Adds get() (None for a missing tensor) to bench_reference.py's WeightSource."""

    def __init__(self, source):
        self.source = source
        self.have = set(source.tensors.arrays.keys()) if hasattr(source.tensors, "arrays") else set(source.tensors.keys())

    def __call__(self, name):
        return self.source(name)

    def get(self, name):
        return self.source(name) if name in self.have else None


def forward_unpadded(w, cfg: dict, seq: list[int]) -> float:
    """An independent route for one sequence, unpadded, in numpy float64: explicit per-query key ranges for the
    sliding layers (flash-attention's varlen window), the rotation written per pair of dims. Selfcheck only."""
    g = lambda n: w(n).numpy()                                                     # noqa: E731
    gb = lambda n: (w.get(n).numpy() if w.get(n) is not None else 0.0)            # noqa: E731
    H, N = cfg["hidden_size"], cfg["num_attention_heads"]
    D, n, eps = H // N, len(seq), cfg["norm_eps"]
    r = resolve(cfg)

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g(name + ".weight") + gb(name + ".bias")

    def gelu(x, name):
        if name == "gelu":
            return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
        if name in ("gelu_pytorch_tanh", "gelu_new"):
            return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
        return x / (1.0 + np.exp(-x))

    x = ln(g("model.embeddings.tok_embeddings.weight")[seq], "model.embeddings.norm")
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = x if i == 0 else ln(x, p + "attn_norm")
        qkv = h @ g(p + "attn.Wqkv.weight").T + gb(p + "attn.Wqkv.bias")
        theta = r["rope_theta"][r["layer_types"][i]]
        out = np.zeros((n, H))
        for a in range(N):
            q = qkv[:, a * D:(a + 1) * D].copy()
            k = qkv[:, H + a * D:H + (a + 1) * D].copy()
            v = qkv[:, 2 * H + a * D:2 * H + (a + 1) * D]
            for j in range(D // 2):
                ang = np.arange(n) * theta ** (-2.0 * j / D)
                c, s = np.cos(ang), np.sin(ang)
                for t in (q, k):
                    x1, x2 = t[:, j].copy(), t[:, j + D // 2].copy()
                    t[:, j], t[:, j + D // 2] = x1 * c - x2 * s, x2 * c + x1 * s
            for qi in range(n):
                lo, hi = 0, n
                if r["layer_types"][i] == "sliding_attention":
                    lo, hi = max(0, qi - r["half_window"]), min(n, qi + r["half_window"] + 1)
                sc = k[lo:hi] @ q[qi] / math.sqrt(D)
                e = np.exp(sc - sc.max())
                out[qi, a * D:(a + 1) * D] = (e / e.sum()) @ v[lo:hi]
        x = x + out @ g(p + "attn.Wo.weight").T + gb(p + "attn.Wo.bias")
        z = ln(x, p + "mlp_norm") @ g(p + "mlp.Wi.weight").T + gb(p + "mlp.Wi.bias")
        I = z.shape[-1] // 2
        x = x + (gelu(z[:, :I], cfg["hidden_activation"]) * z[:, I:]) @ g(p + "mlp.Wo.weight").T + gb(p + "mlp.Wo.bias")
    x = ln(x, "model.final_norm")
    pooled = x[0] if cfg["classifier_pooling"] == "cls" else x.mean(0)
    hd = ln(gelu(pooled @ g("head.dense.weight").T + gb("head.dense.bias"), cfg["classifier_activation"]), "head.norm")
    return float(hd @ g("classifier.weight")[0] + g("classifier.bias")[0])


# ---- make ----

def shapes(s: MBSpec) -> dict:
    H, I = s.hidden, s.intermediate
    out = {"model.embeddings.tok_embeddings.weight": (s.vocab, H)}

    def norm(name):
        out[name + ".weight"] = (H,)
        if s.biases:
            out[name + ".bias"] = (H,)

    def linear(name, o, i, bias):
        out[name + ".weight"] = (o, i)
        if bias:
            out[name + ".bias"] = (o,)

    norm("model.embeddings.norm")
    for i in range(s.layers):
        p = f"model.layers.{i}."
        if i > 0:
            norm(p + "attn_norm")
        linear(p + "attn.Wqkv", 3 * H, H, s.biases)
        linear(p + "attn.Wo", H, H, s.biases)
        norm(p + "mlp_norm")
        linear(p + "mlp.Wi", 2 * I, H, s.biases)
        linear(p + "mlp.Wo", H, I, s.biases)
    norm("model.final_norm")
    linear("head.dense", H, H, s.biases)
    norm("head.norm")
    linear("classifier", 1, H, True)
    return out


def draw(s: MBSpec, name: str, shape) -> np.ndarray:
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    if "norm" in name.rsplit(".", 2)[-2] and name.endswith(".weight"):
        return (1.0 + make_model.LN_GAMMA_STD * z).astype(np.float32)
    if name.endswith(".bias"):
        return (make_model.BIAS_STD * z).astype(np.float32)
    if "embeddings" in name:
        return (make_model.EMBEDDING_STD * z).astype(np.float32)
    return (np.float32(s.linear_std) * z).astype(np.float32)


def pair_ids(rng: np.random.Generator, length: int, t: dict) -> list[int]:
    """[CLS] q [SEP] d [SEP] of random content ids (lengths < 5: [CLS] x [SEP])."""
    lo, hi = t["content"]
    if length < 5:
        return [t["cls"]] + rng.integers(lo, hi, size=length - 2).tolist() + [t["sep"]]
    content = rng.integers(lo, hi, size=length - 3).tolist()
    q = int(rng.integers(1, len(content)))
    return [t["cls"]] + content[:q] + [t["sep"]] + content[q:] + [t["sep"]]


def make(s: MBSpec, out: str, log=print) -> dict:
    os.makedirs(out, exist_ok=True)
    cfg = config_json(s)
    t = tokenizer_ids()
    arrays = {n: draw(s, n, shape) for n, shape in shapes(s).items() if not n.startswith(("head.dense.", "classifier."))}
    # Head calibrated on random pairs, from the float32 draws (so a BF16 copy keeps the same head).
    rng = make_model.rng_for(s.seed, "calibration-inputs")
    seqs = [pair_ids(rng, int(rng.integers(6, min(48, s.max_positions) + 1)), t) for _ in range(32)]
    ids, mask = right_pad(seqs, t["pad"])
    with torch.inference_mode():
        pooled = encode(Weights(arrays, torch.float64), cfg, ids, mask).numpy()             # [32, H]
    H = s.hidden
    u = pooled.mean(axis=0)
    u /= np.linalg.norm(u)
    wd = make_model.rng_for(s.seed, "head.dense.weight").standard_normal((H, H))
    wd -= (wd @ u)[:, None] * u[None, :]                      # rows orthogonal to the mean state: no offset to cancel
    wd *= (make_model.CLASSIFIER_PRE_TANH_STD / (pooled @ wd.T).std(axis=0))[:, None]
    pre = pooled @ wd.T
    if s.biases:
        bd = -pre.mean(axis=0)
        arrays["head.dense.bias"] = bd.astype(np.float32)
        pre = pre + bd
    arrays["head.dense.weight"] = wd.astype(np.float32)
    with torch.inference_mode():
        hw = Weights(arrays, torch.float64)
        hn = torch.nn.functional.layer_norm(_act(s.classifier_activation)(torch.from_numpy(pre)), (H,),
                                            hw("head.norm.weight"), hw.get("head.norm.bias"), cfg["norm_eps"]).numpy()
    c = make_model.rng_for(s.seed, "classifier.weight").standard_normal((1, H))
    c *= make_model.CLASSIFIER_LOGIT_STD / (hn @ c.T).std()
    arrays["classifier.weight"] = c.astype(np.float32)
    arrays["classifier.bias"] = (-(hn @ c.T).mean(axis=0)).astype(np.float32)
    cal = (hn @ c.T)[:, 0] + arrays["classifier.bias"][0]
    return fixture_tool.write_folder(out, arrays, s.dtype, cfg, TOKENIZER_DIR, TOKENIZER_FILES) | {
        "calibration_logits": {"min": float(cal.min()), "max": float(cal.max()), "std": float(cal.std())}}


# ---- golden ----

def text_cases(model_dir: str) -> list[dict]:
    """tests/fixtures/text_pairs.json through HF tokenizers on the model's tokenizer.json (ids and type ids)."""
    out = subprocess.run(["node", os.path.join(REPO, "tools", "wordpiece", "encode_pairs.js"), os.path.join(model_dir, "tokenizer.json"),
                          TEXT_PAIRS], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def fixture_groups(cfg: dict):
    t = tokenizer_ids()
    P, W = cfg["max_position_embeddings"], cfg["local_attention"]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([17, cfg["vocab_size"], P, W])))
    ids_of = lambda n: pair_ids(rng, n, t)  # noqa: E731
    probe = ids_of(2 * W + 7)                                  # past the window: its sliding layers see a band
    longest = ids_of(P)
    half = W // 2
    groups = [
        ("b1_len3", [ids_of(3)]),
        ("b1_len6_minimal_pair", [ids_of(6)]),
        ("b1_probe", [probe]),
        ("b1_max_length", [longest]),
        ("b3_mixed", [ids_of(9), probe, ids_of(3 * W + 5)]),
        ("b3_same_length_no_padding", [ids_of(W + 9) for _ in range(3)]),
        # lengths at the band's edges: up to half + 1 tokens every distance is inside the band
        ("b8_window_edges", [ids_of(n) for n in (half, half + 1, half + 2, W - 1, W, W + 1, 2 * W + 1, 4 * W + 3)]),
        ("b8_mixed_with_max", [ids_of(n) for n in (3, 5, 20, 37, 64, 120, P - 1)] + [longest]),
        ("b8_short", [ids_of(int(n)) for n in rng.integers(4, 20, size=8)]),
        ("b8_probe_repeated", [probe if k in (0, 3, 6) else ids_of(int(rng.integers(4, 6 * W))) for k in range(8)]),
    ]
    return groups, probe, longest


def golden(model_dir: str) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    groups, probe, longest = fixture_groups(cfg)
    texts = text_cases(model_dir)
    groups.append(("text_pairs", [x["input_ids"] for x in texts]))
    P = cfg["max_position_embeddings"]
    if max(len(q) for _, seqs in groups for q in seqs) > P:
        raise SystemExit("a sequence is longer than max_position_embeddings")
    mt = st.ModelTensors(model_dir)
    cases, all_logits, max32 = fixture_tool.golden_batches(groups, forward, Weights(mt, torch.float64), Weights(mt, torch.float32), cfg)
    case = cases[-1]                                           # text_pairs
    T = len(case["input_ids"][0])
    case["token_type_ids"] = [x["token_type_ids"] + [0] * (T - len(x["token_type_ids"])) for x in texts]
    case["pairs"] = [{"query": x["query"], "document": x["document"]} for x in texts]
    r = resolve(cfg)
    fixture_tool.write_golden(
        model_dir, "tools/model/modernbert.py",
        "tools/model/modernbert.py: float64 re-implementation of transformers' ModernBertForSequenceClassification "
        "forward (eval, eager/sdpa path) from " + SOURCES, cfg,
        {"layer_types": r["layer_types"], "rope_theta": r["rope_theta"], "half_window": r["half_window"],
         "rule": "sliding layers mask |i - j| > half_window; pads masked on every layer"},
        groups, cases, all_logits, max32, {"probe": probe, "max_length": longest})


# ---- selfcheck ----

BUGS = [
    ("local_theta", "global theta on the sliding layers (local_rope_theta ignored)"),
    ("no_band", "no sliding-window band (every layer global)"),
    ("band_off_by_one", "band of distance < W/2 instead of <= W/2"),
    ("pattern_shifted", "global/sliding pattern shifted by one layer"),
    ("attn_norm_layer0", "attn_norm (a LayerNorm) applied on layer 0"),
    ("wi_swapped", "Wi halves swapped (gate first)"),
    ("tanh_gelu", "GELU tanh approximation instead of erf"),
    ("rope_interleaved", "rotary on interleaved pairs (GPT-J) instead of halves"),
    ("mean_over_pads", "mean pooling over the pads too"),
    ("pooling_swapped", "cls and mean pooling swapped"),
]


def selfcheck() -> None:
    def seqs_of(cfg):
        t = tokenizer_ids()
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([23, cfg["local_attention"]])))
        return [pair_ids(rng, n, t) for n in (5, 9, 14, 20, 27, 33, 41, 50, 64, 77, 96, 120)]

    # Mean pooling over the pads changes nothing under cls pooling.
    fixture_tool.selfcheck(
        TINY, FIXTURES, seqs_of, forward,
        lambda w64, cfg, seqs: ("independent unpadded numpy route (float64, 6 rows)",
                                torch.tensor([forward_unpadded(w64, cfg, q) for q in seqs[:6]], dtype=torch.float64)),
        BUGS, lambda cfg, bug: bug == "mean_over_pads" and cfg["classifier_pooling"] == "cls", "n/a (cls pooling)",
        "torch fp32 (same code, float32)")


# ---- main ----

if __name__ == "__main__":
    fixture_tool.main(__doc__, PRESETS, TINY, make, golden, selfcheck)
