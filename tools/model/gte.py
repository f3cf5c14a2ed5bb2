#!/usr/bin/python3
"""Random-weight GTE "new" NewForSequenceClassification fixtures (Alibaba-NLP/gte-multilingual-reranker-base's layout),
their float64 reference forward, golden logits, the PyTorch float32 baseline for benchmarks, and a self-check.

    /usr/bin/python3 tools/model/gte.py make --all-tiny      # tests/fixtures/models/gte-{a,b}/
    /usr/bin/python3 tools/model/gte.py golden --all-tiny    # .../golden_logits.json
    /usr/bin/python3 tools/model/gte.py selfcheck            # independent unpadded route, fp32 noise, what the fixtures catch
    /usr/bin/python3 tools/model/gte.py make --preset gte-multilingual-reranker-base --out /work/models/gte-multilingual-reranker-base
    /usr/bin/python3 tools/model/gte.py bench --model DIR --ids ids.json [bench_reference.py's options]

The checkpoint's config.json names its code through auto_map: "Alibaba-NLP/new-impl--modeling.NewForSequenceClassification"
(and configuration.NewConfig), custom code on the hub. Read (not copied) from the public mirror of that code in
github.com/xuhaike/SparseCL, gte/modeling.py and gte/configuration.py at commit 03dd0e1c38f438c0c3cd61c02a67df31feb20313
(the copy vendored in that repository's first commit; its later commits add only gradient checkpointing to these
classes), and cross-checked against huggingface/text-embeddings-inference backends/candle/src/models/gte.rs and
layers/rotary.rs (commits 265deb2ad692067eeda77a746b3975b46ba53920, 1a7f78be856d056b8b309bc63ad38be477d64775).
The reference is NewForSequenceClassification's eval forward on the padded path (unpad_inputs false), op for op:
  x = LayerNorm(word_embeddings[ids] + token_type_embeddings[0])   new.embeddings; token_type_ids default to zeros
                                                          (position_ids.mul(0)); no position table with
                                                          position_embedding_type "rope"; LayerNorm eps layer_norm_eps
  rotary tables: inv_freq = 1 / θ^(2j/D), or with rope_scaling {type ntk, factor f} (NTKScalingRotaryEmbedding, mixed_b
                 null): the cache is built for max_position_embeddings·f positions, which exceeds max_position_embeddings,
                 so EVERY position gets base θ·f and inv_freq / f^(2/D); positions 0..T-1 of every row (padded path);
                 emb = cat(freqs, freqs); q·cos + rotate_half(q)·sin (NeoX halves), the same for k
  per layer (NewLayer, post-LN):
    q, k, v = qkv_proj(x).split(H)  -> [B, T, N, D]       pack_qkv true: one Linear(H, 3H) with bias
    s = q kᵀ / sqrt(D) + (1 - mask) · finfo.min           get_extended_attention_mask on the keys
    x = attn_ln(x + o_proj(softmax(s) · v))               o_proj with bias
    up, gate = up_gate_proj(x).split(I)                   Linear(H, 2I) WITHOUT bias; first half up, second gate
    x = mlp_ln(x + down_proj(act(gate) · up))             act = ACT2FN[hidden_act] ("gelu": exact erf); down_proj bias
  pooled = tanh(new.pooler.dense(x[:, 0]))                NewPooler (BertPooler's); NewForSequenceClassification
                                                          always builds it (add_pooling_layer=True)
  logits = classifier(pooled)                             nn.Linear(H, num_labels); dropouts off in eval
unpad_inputs / use_memory_efficient_attention do not change this: the unpadded path concatenates the rows into one
sequence with positions restarting at 0 per row and xformers' block-diagonal mask (each row attends to itself only),
and puts the states back before the pooler; `selfcheck` runs that route independently in numpy.
Not supported (the script refuses them, as RerankSharp does): rope_scaling other than fixed NTK (mixed_b, other
types, factor < 1, where new-impl would scale only long inputs), logn_attention_scale, layer_norm_type rms_norm,
pack_qkv false, position_embedding_type absolute.
The float64 reference keeps float64 throughout (tables included); its float32 path builds the rotary tables as
new-impl does (float32 inv_freq from a float base, float32 positions and einsum) and is what `bench` times.
Weights are drawn per tensor from generators seeded by (seed, crc32(name)) (tools/model/make_model.py): embeddings
N(0, 0.02) with the pad row of the word table zero (nn.Embedding padding_idx, as _init_weights leaves it), Linear
weights N(0, 0.02·sqrt(1024/H)), LayerNorm gamma 1 + N(0, 0.05), beta and biases N(0, 0.02); the pooler like any
Linear; the classifier is scaled on 32 random pairs so the logits have std 2, mean 0.
config.json carries the keys of gte-multilingual-reranker-base's (NewConfig's arguments plus auto_map and the label
maps): the checkpoint's own file could not be read here; its values (hidden 768, 12 layers, 12 heads, intermediate
3072, vocab 250002, 8192 positions, rope_theta 20000, rope_scaling {"factor": 8.0, "type": "ntk"}, type_vocab_size 1,
pack_qkv true, layer_norm_eps 1e-12) agree across the gte-multilingual family's published config (gte-multilingual-base)
and third-party code that reads the reranker's.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert  # noqa: E402  (XLM-R pair ids and the tokenized text pairs)
import fixture_tool  # noqa: E402
import make_model  # noqa: E402
from modernbert import _rotate_half  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
TOKENIZER_DIR = os.path.join(REPO, "tests", "fixtures", "tokenizer")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
SOURCES = ("Alibaba-NLP/new-impl modeling.py + configuration.py as mirrored in github.com/xuhaike/SparseCL gte/ "
           "@03dd0e1c38f438c0c3cd61c02a67df31feb20313; cross-checked with huggingface/text-embeddings-inference "
           "backends/candle/src/models/gte.rs @265deb2ad692067eeda77a746b3975b46ba53920")
PAD, XLMR_VOCAB = 1, 16002          # the XLM-R fixture tokenizer: fairseq ids, <mask> = 16001
AUTO_MAP = {k: f"Alibaba-NLP/new-impl--{v}" for k, v in {
    "AutoConfig": "configuration.NewConfig", "AutoModel": "modeling.NewModel", "AutoModelForMaskedLM": "modeling.NewForMaskedLM",
    "AutoModelForMultipleChoice": "modeling.NewForMultipleChoice", "AutoModelForQuestionAnswering": "modeling.NewForQuestionAnswering",
    "AutoModelForSequenceClassification": "modeling.NewForSequenceClassification",
    "AutoModelForTokenClassification": "modeling.NewForTokenClassification"}.items()}


@dataclass(frozen=True)
class GteSpec:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    vocab: int
    rope_theta: float = 20000.0
    ntk_factor: float | None = 8.0     # rope_scaling {"factor": f, "type": "ntk"}, or None for "rope_scaling": null
    dtype: str = "F32"
    seed: int = 0
    type_vocab: int = 1

    @property
    def linear_std(self) -> float:
        return 0.02 * (1024 / self.hidden) ** 0.5


PRESETS = {
    # The real rope: theta 20000 with fixed NTK scaling x 8. 3 layers, 2 heads of 6 (3 rotary frequencies), F32.
    "gte-a": GteSpec(hidden=12, layers=3, heads=2, intermediate=20, max_positions=512, vocab=XLMR_VOCAB, seed=41),
    # No rope_scaling (plain rope, theta 10000), 2 layers, 2 heads of 10, F16 (the published checkpoint's 16 bits).
    "gte-b": GteSpec(hidden=20, layers=2, heads=2, intermediate=36, max_positions=256, vocab=XLMR_VOCAB, rope_theta=10000.0,
                     ntk_factor=None, dtype="F16", seed=42),
    # Alibaba-NLP/gte-multilingual-reranker-base's shape, for benchmarks (never committed).
    "gte-multilingual-reranker-base": GteSpec(hidden=768, layers=12, heads=12, intermediate=3072, max_positions=8192,
                                              vocab=250002, seed=43),
}
TINY = ("gte-a", "gte-b")


# ---- config ----

def config_json(s: GteSpec) -> dict:
    """gte-multilingual-reranker-base's config.json keys with the sizes of `s`."""
    return {
        "_name_or_path": "Alibaba-NLP/gte-multilingual-reranker-base",
        "architectures": ["NewForSequenceClassification"],
        "attention_probs_dropout_prob": 0.0, "auto_map": AUTO_MAP, "classifier_dropout": 0.0,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": s.hidden,
        "id2label": {"0": "LABEL_0"}, "initializer_range": 0.02, "intermediate_size": s.intermediate,
        "label2id": {"LABEL_0": 0}, "layer_norm_eps": 1e-12, "layer_norm_type": "layer_norm",
        "logn_attention_clip1": False, "logn_attention_scale": False, "max_position_embeddings": s.max_positions,
        "model_type": "new", "num_attention_heads": s.heads, "num_hidden_layers": s.layers, "pack_qkv": True,
        "pad_token_id": PAD, "position_embedding_type": "rope",
        "rope_scaling": None if s.ntk_factor is None else {"factor": s.ntk_factor, "type": "ntk"},
        "rope_theta": s.rope_theta, "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype],
        "transformers_version": "4.39.1", "type_vocab_size": s.type_vocab, "unpad_inputs": False,
        "use_memory_efficient_attention": False, "vocab_size": s.vocab,
    }


def rope_scaling(cfg: dict) -> float | None:
    """The NTK factor new-impl applies to every position, or None; refuses what it does not implement."""
    for key, ok in (("position_embedding_type", "rope"), ("layer_norm_type", "layer_norm")):
        if cfg.get(key, ok) != ok:
            raise ValueError(f"{key} {cfg[key]} is not supported here")
    if not cfg.get("pack_qkv", True) or cfg.get("logn_attention_scale", False):
        raise ValueError("pack_qkv false / logn_attention_scale true are not supported here")
    rs = cfg.get("rope_scaling")
    if rs is None:
        return None
    kind = rs.get("type") or rs.get("rope_type")
    if kind != "ntk" or rs.get("mixed_b") is not None:
        raise ValueError(f"rope_scaling {rs} is not supported here (fixed NTK only)")
    f = float(rs["factor"])
    if f < 1:
        raise ValueError("rope_scaling factor below 1 scales only inputs longer than max_position_embeddings")
    return f if cfg["max_position_embeddings"] * f > cfg["max_position_embeddings"] else None


# ---- forward ----

def _act(name: str):
    f = torch.nn.functional
    acts = {"gelu": f.gelu, "gelu_pytorch_tanh": lambda x: f.gelu(x, approximate="tanh"), "silu": f.silu}
    if name not in acts:
        raise ValueError(f"hidden_act {name} is not supported here")
    return acts[name]


def rope_tables(cfg: dict, D: int, T: int, dtype, bug=None):
    """cos, sin [T, D] as NewEmbeddings' rotary_emb gives them for positions 0..T-1."""
    theta = float(cfg.get("rope_theta", 10000.0))
    f = None if bug == "no_ntk" else rope_scaling(cfg)
    linear = bug == "ntk_linear" and f is not None
    base = theta * f if f is not None and not linear else theta
    if dtype == torch.float64:
        inv = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        t = torch.arange(T, dtype=torch.float64)
    else:   # as new-impl: float32 exponents, a python-float base, float32 positions and einsum
        inv = 1.0 / (base ** (torch.arange(0, D, 2).float() / D))
        t = torch.arange(T, dtype=torch.float32)
    if f is not None and not linear and bug != "ntk_base_only":
        inv = inv / f ** (2 / D)
    if linear:
        t = t / f
    freqs = torch.einsum("i,j->ij", t, inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def forward(w, cfg: dict, ids: torch.Tensor, mask: torch.Tensor, dtype=None, bug=None) -> torch.Tensor:
    """Logits [B, num_labels]. `w` is a Weights or bench_reference.py's WeightSource (float32). `bug` injects one
    mistake (selfcheck only)."""
    if dtype is None:
        dtype = torch.float64 if getattr(w, "np_dtype", np.float32) == np.float64 else torch.float32
    lin, ln = torch.nn.functional.linear, torch.nn.functional.layer_norm
    B, T = ids.shape
    H, N, I = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    D, eps = H // N, cfg.get("layer_norm_eps", 1e-12)
    act = _act("gelu_pytorch_tanh" if bug == "tanh_gelu" else cfg.get("hidden_act", "gelu"))
    norm = lambda x, name: ln(x, (H,), w(name + ".weight"), w(name + ".bias"), eps)  # noqa: E731
    x = w("new.embeddings.word_embeddings.weight")[ids]
    if cfg.get("type_vocab_size", 1) > 0 and bug != "no_token_type":
        x = x + w("new.embeddings.token_type_embeddings.weight")[0]
    x = norm(x, "new.embeddings.LayerNorm")
    cos, sin = rope_tables(cfg, D, T, dtype, bug)
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]                       # [1, T, 1, D] against [B, T, N, D]
    ext = (1.0 - mask.to(dtype))[:, None, None, :] * torch.finfo(dtype).min       # [B, 1, 1, T]
    pre = bug == "pre_ln"
    for i in range(cfg["num_hidden_layers"]):
        p = f"new.encoder.layer.{i}."
        h = norm(x, p + "attn_ln") if pre else x
        q, k, v = (t.view(B, T, N, D) for t in lin(h, w(p + "attention.qkv_proj.weight"), w(p + "attention.qkv_proj.bias")).split(H, dim=-1))
        q, k = q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))                          # [B, N, T, D]
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + ext, dim=-1)
        a = lin((probs @ v).permute(0, 2, 1, 3).reshape(B, T, H), w(p + "attention.o_proj.weight"), w(p + "attention.o_proj.bias"))
        x = x + a if pre else norm(x + a, p + "attn_ln")
        h = norm(x, p + "mlp_ln") if pre else x
        up, gate = lin(h, w(p + "mlp.up_gate_proj.weight")).split(I, dim=-1)
        if bug == "gate_swapped":
            up, gate = gate, up
        m = lin(act(gate) * up, w(p + "mlp.down_proj.weight"), w(p + "mlp.down_proj.bias"))
        x = x + m if pre else norm(x + m, p + "mlp_ln")
    if bug == "mean_pooling":
        mm = mask.to(dtype)[..., None]
        first = (x * mm).sum(1) / mm.sum(1)
    else:
        first = x[:, 0]
    pooled = first if bug == "no_pooler" else torch.tanh(lin(first, w("new.pooler.dense.weight"), w("new.pooler.dense.bias")))
    return lin(pooled, w("classifier.weight"), w("classifier.bias"))


def forward_unpadded(w, cfg: dict, seqs: list[list[int]]) -> np.ndarray:
    """new-impl's unpad_inputs route, independently in numpy float64: the rows concatenated into one sequence,
    positions restarting at 0 per row, attention confined to each row's block (xformers' BlockDiagonalMask), the
    rotation written per pair of dims, the states of each row's first token pooled. Selfcheck only."""
    g = lambda n: w(n).numpy()                                                     # noqa: E731
    H, N, I = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
    D, eps = H // N, cfg.get("layer_norm_eps", 1e-12)
    f = rope_scaling(cfg)
    theta = float(cfg.get("rope_theta", 10000.0)) * (f or 1.0)
    ids = np.concatenate([np.asarray(s) for s in seqs])
    starts = np.cumsum([0] + [len(s) for s in seqs])
    pos = np.concatenate([np.arange(len(s)) for s in seqs])
    block = np.concatenate([np.full(len(s), b) for b, s in enumerate(seqs)])

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g(name + ".weight") + g(name + ".bias")

    def gelu(x):
        return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))

    x = ln(g("new.embeddings.word_embeddings.weight")[ids] + g("new.embeddings.token_type_embeddings.weight")[0], "new.embeddings.LayerNorm")
    for i in range(cfg["num_hidden_layers"]):
        p = f"new.encoder.layer.{i}."
        qkv = x @ g(p + "attention.qkv_proj.weight").T + g(p + "attention.qkv_proj.bias")
        out = np.zeros((len(ids), H))
        for a in range(N):
            q, k = qkv[:, a * D:(a + 1) * D].copy(), qkv[:, H + a * D:H + (a + 1) * D].copy()
            v = qkv[:, 2 * H + a * D:2 * H + (a + 1) * D]
            for j in range(D // 2):
                ang = pos * theta ** (-2.0 * j / D) / (f ** (2.0 / D) if f else 1.0)
                c, s = np.cos(ang), np.sin(ang)
                for t in (q, k):
                    x1, x2 = t[:, j].copy(), t[:, j + D // 2].copy()
                    t[:, j], t[:, j + D // 2] = x1 * c - x2 * s, x2 * c + x1 * s
            for qi in range(len(ids)):
                keys = block == block[qi]
                sc = k[keys] @ q[qi] / math.sqrt(D)
                e = np.exp(sc - sc.max())
                out[qi, a * D:(a + 1) * D] = (e / e.sum()) @ v[keys]
        x = ln(x + out @ g(p + "attention.o_proj.weight").T + g(p + "attention.o_proj.bias"), p + "attn_ln")
        z = x @ g(p + "mlp.up_gate_proj.weight").T
        x = ln(x + (z[:, :I] * gelu(z[:, I:])) @ g(p + "mlp.down_proj.weight").T + g(p + "mlp.down_proj.bias"), p + "mlp_ln")
    pooled = np.tanh(x[starts[:-1]] @ g("new.pooler.dense.weight").T + g("new.pooler.dense.bias"))
    return pooled @ g("classifier.weight")[0] + g("classifier.bias")[0]


# ---- make ----

def shapes(s: GteSpec) -> dict:
    H, I = s.hidden, s.intermediate
    out = {"new.embeddings.word_embeddings.weight": (s.vocab, H)}
    if s.type_vocab > 0:
        out["new.embeddings.token_type_embeddings.weight"] = (s.type_vocab, H)
    out |= {"new.embeddings.LayerNorm.weight": (H,), "new.embeddings.LayerNorm.bias": (H,)}
    for i in range(s.layers):
        p = f"new.encoder.layer.{i}."
        out |= {p + "attention.qkv_proj.weight": (3 * H, H), p + "attention.qkv_proj.bias": (3 * H,),
                p + "attention.o_proj.weight": (H, H), p + "attention.o_proj.bias": (H,),
                p + "attn_ln.weight": (H,), p + "attn_ln.bias": (H,),
                p + "mlp.up_gate_proj.weight": (2 * I, H),
                p + "mlp.down_proj.weight": (H, I), p + "mlp.down_proj.bias": (H,),
                p + "mlp_ln.weight": (H,), p + "mlp_ln.bias": (H,)}
    out |= {"new.pooler.dense.weight": (H, H), "new.pooler.dense.bias": (H,), "classifier.weight": (1, H), "classifier.bias": (1,)}
    return out


def draw(s: GteSpec, name: str, shape) -> np.ndarray:
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    if name.endswith(("LayerNorm.weight", "_ln.weight")):
        return (1.0 + make_model.LN_GAMMA_STD * z).astype(np.float32)
    if name.endswith(".bias"):
        return (make_model.BIAS_STD * z).astype(np.float32)
    if "embeddings" in name:
        z *= np.float32(make_model.EMBEDDING_STD)
        if name == "new.embeddings.word_embeddings.weight":
            z[PAD] = 0.0                                      # nn.Embedding(padding_idx=pad_token_id), zeroed by _init_weights
        return z
    return (np.float32(s.linear_std) * z).astype(np.float32)


def make(s: GteSpec, out: str) -> dict:
    # The tokenizer files are linked to the XLM-R tokenizer fixture, as bert-c's, inside tests/fixtures.
    return fixture_tool.make_fixture(out, s, config_json(s), shapes(s), lambda n, shape: draw(s, n, shape),
                                     lambda rng, n: bert.pair_ids(rng, n, XLMR_VOCAB, "xlmr"), forward, PAD, TOKENIZER_DIR, TOKENIZER_FILES)


# ---- golden ----

def fixture_groups(cfg: dict):
    P = cfg["max_position_embeddings"]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([19, cfg["hidden_size"], P])))
    return fixture_tool.golden_groups(rng, lambda n: bert.pair_ids(rng, n, XLMR_VOCAB, "xlmr"), P, mixed_long=97)


def golden(model_dir: str) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    groups, probe, longest = fixture_groups(cfg)
    texts = bert.text_cases(model_dir, "xlmr")
    cases, all_logits, max32 = fixture_tool.golden_with_text_pairs(model_dir, cfg, groups, texts, forward)
    fixture_tool.write_golden(
        model_dir, "tools/model/gte.py",
        "tools/model/gte.py: float64 re-implementation of new-impl's NewForSequenceClassification forward (eval, padded "
        "path) from " + SOURCES, cfg,
        {"rope_theta": cfg["rope_theta"], "ntk_factor": rope_scaling(cfg),
         "rule": "inv_freq = (theta·f)^(-2j/D) / f^(2/D) at every position when ntk_factor is set"},
        groups, cases, all_logits, max32, {"probe": probe, "max_length": longest})


# ---- selfcheck ----

BUGS = [
    ("no_ntk", "rope_scaling ignored (plain theta)"),
    ("ntk_base_only", "NTK base theta·f without the / f^(2/D)"),
    ("ntk_linear", "linear position scaling (positions / f) instead of NTK"),
    ("pre_ln", "pre-LN (attn_ln / mlp_ln before the sub-blocks) instead of post-LN"),
    ("gate_swapped", "up_gate_proj halves swapped (act(up) · gate)"),
    ("tanh_gelu", "GELU tanh approximation instead of erf"),
    ("no_token_type", "token type embedding 0 not added"),
    ("no_pooler", "no pooler (classifier on the first token's state, TEI without pooler.dense)"),
    ("mean_pooling", "mean over the real tokens instead of the first token"),
]
NTK_BUGS = ("no_ntk", "ntk_base_only", "ntk_linear")


def selfcheck() -> None:
    def seqs_of(cfg):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([29, cfg["hidden_size"]])))
        return [bert.pair_ids(rng, n, XLMR_VOCAB, "xlmr") for n in (5, 9, 14, 20, 27, 33, 41, 50, 64, 77, 96, 120)]

    fixture_tool.selfcheck(
        TINY, FIXTURES, seqs_of, forward,
        lambda w64, cfg, seqs: ("unpad_inputs route: rows concatenated, block-diagonal attention (numpy float64, 6 rows)",
                                torch.from_numpy(forward_unpadded(w64, cfg, seqs[:6]))),
        BUGS, lambda cfg, bug: bug in NTK_BUGS and rope_scaling(cfg) is None, "n/a (no rope_scaling)",
        "torch fp32 (same code, new-impl's float32 rotary tables)")


# ---- main ----

if __name__ == "__main__":
    fixture_tool.main(__doc__, PRESETS, TINY, make, golden, selfcheck)
