#!/usr/bin/python3
"""Random-weight DeBERTa-v2/v3 DebertaV2ForSequenceClassification fixtures (mixedbread-ai/mxbai-rerank-*-v1's layout),
their float64 reference forward, golden logits, the PyTorch float32 baseline for benchmarks, and a self-check.

    /usr/bin/python3 tools/model/deberta.py make --all-tiny      # tests/fixtures/models/deberta-{a,b}/
    /usr/bin/python3 tools/model/deberta.py golden --all-tiny    # .../golden_logits.json
    /usr/bin/python3 tools/model/deberta.py selfcheck            # independent per-score route, fp32 noise, what the fixtures catch
    /usr/bin/python3 tools/model/deberta.py make --preset mxbai-rerank-base-v1 --out /work/models/mxbai-rerank-base-v1
    /usr/bin/python3 tools/model/deberta.py bench --model DIR --ids ids.json [bench_reference.py's options]

Read (not copied) from transformers' src/transformers/models/deberta_v2/modeling_deberta_v2.py and
configuration_deberta_v2.py at huggingface/transformers@0038a3caa5c7d0c5014704005dd67ab347451ddc. The reference is DebertaV2ForSequenceClassification's eval forward, op for op:
  x = word_embeddings[ids]                                   nn.Embedding(vocab, embedding_size, padding_idx=pad_token_id)
      + position_embeddings[0..T-1]                          only when position_biased_input (v3: false)
      + token_type_embeddings[token_type_ids]                only when type_vocab_size > 0 (v3: 0); the tokenizer's types
                                                             ([CLS] A [SEP] 0, B [SEP] 1), here read from the ids
  x = embed_proj(x)                                          Linear(embedding_size, H, bias=False) when they differ
  x = LayerNorm(x) * attention_mask[..., None]               eps layer_norm_eps (1e-7 in v3)
  rel = LayerNorm(encoder.rel_embeddings.weight)             encoder.LayerNorm when norm_rel_ebd has "layer_norm"
  r(i, j) = i - j, log-bucketed when position_buckets > 0:   make_log_bucket_position(r, position_buckets, max_relative_positions),
             mid = buckets // 2; |r| <= mid stays r, else   sign(r) * (ceil(log(|r|/mid) / log((max_rel - 1)/mid) * (mid - 1)) + mid),
             computed in float32 as torch does             (max_relative_positions < 1 means max_position_embeddings)
  S = position_buckets if > 0 else max_relative_positions   att_span; rel rows 0..2S-1 are used
  idx(i, j) = clamp(r(i, j) + S, 0, 2S - 1)
  per layer (post-LN):
    q, k, v = query_proj(x), key_proj(x), value_proj(x)      [B, N, T, D]
    sf = 1 + ("c2p" in pos_att_type) + ("p2c" in pos_att_type); scale = sqrt(D · sf)
    pk = key_proj(rel) or pos_key_proj(rel); pq = query_proj(rel) or pos_query_proj(rel)   share_att_key picks
    s[i, j] = q_i·k_j / scale
            + q_i·pk[idx(i, j)] / scale                      c2p: bmm(q, pkᵀ) gathered at idx along the last dim
            + k_j·pq[idx(j, i)'] / scale                     p2c: bmm(k, pqᵀ) gathered at clamp(-r + S) then transposed,
                                                             which is k_j · pq[idx(i, j)] since the buckets are odd in r
    p = XSoftmax(s, mask_i · mask_j)                          masked fill with finfo.min, softmax, masked fill 0
    x = attention.output.LayerNorm(x + attention.output.dense(p · v))
    x = output.LayerNorm(x + output.dense(act(intermediate.dense(x))))   act = ACT2FN[hidden_act] ("gelu": erf)
  pooled = ACT2FN[pooler_hidden_act](pooler.dense(x[:, 0]))   ContextPooler; pooler_dropout off
  logits = classifier(pooled)                                nn.Linear(pooler_hidden_size, num_labels)
Refused (the script and RerankSharp): conv_kernel_size > 0 (ConvLayer), relative_attention false, an attention_head_size
other than H / N, pos_att_type entries other than c2p / p2c, pooler_hidden_size other than H.
The float64 reference keeps float64 throughout but for the bucket table, which torch computes in float32 whatever the
model's dtype; `selfcheck` also runs an independent numpy route that writes each score from the formula above.
Weights are drawn per tensor from generators seeded by (seed, crc32(name)) (tools/model/make_model.py): embeddings
N(0, 0.02) with the pad row of the word table zero (padding_idx), rel_embeddings N(0, 0.5) so the relative terms matter
at the fixtures' sizes, Linear weights N(0, 0.02·sqrt(1024/H)), LayerNorm gamma 1 + N(0, 0.05), beta and biases N(0, 0.02);
the classifier is scaled on 32 random pairs so the logits have std 2, mean 0.
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
import bert  # noqa: E402  (the text pairs through the fixture's tokenizer.json)
import fixture_tool  # noqa: E402
import make_model  # noqa: E402
from fixture_tool import right_pad  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
TOKENIZER_DIR = os.path.join(REPO, "tests", "fixtures", "deberta-tokenizer")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "spm.model")
SOURCES = "transformers src/transformers/models/deberta_v2/modeling_deberta_v2.py @0038a3caa5c7d0c5014704005dd67ab347451ddc"
PAD, CLS, SEP, FIRST_CONTENT = 0, 1, 2, 4
TOKENIZER_VOCAB = 3001             # tests/fixtures/deberta-tokenizer: 3,000 spm pieces and [MASK] = 3000
REL_STD = 0.5


@dataclass(frozen=True)
class DebertaSpec:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    vocab: int
    position_buckets: int = 256
    max_relative_positions: int = -1
    pos_att_type: object = "p2c|c2p"
    share_att_key: bool = True
    norm_rel_ebd: str = "layer_norm"
    position_biased_input: bool = False
    type_vocab: int = 0
    embedding_size: int | None = None
    pooler_act: str = "gelu"
    dtype: str = "F32"
    seed: int = 0

    @property
    def linear_std(self) -> float:
        return 0.02 * (1024 / self.hidden) ** 0.5


PRESETS = {
    # DeBERTa-v3's attention: shared keys, LayerNorm'd rel embeddings, 8 log buckets (mid 4) over 160 positions, so the
    # fixtures' sequences of up to 160 tokens reach far past the buckets. F32.
    "deberta-a": DebertaSpec(hidden=24, layers=2, heads=2, intermediate=40, max_positions=160, vocab=TOKENIZER_VOCAB,
                             position_buckets=8, seed=51),
    # DeBERTa-v2's other options: separate pos_key_proj, c2p only (a list), no buckets, distances clipped at 24, no
    # rel LayerNorm, absolute positions added, token types, embed_proj (embedding 16 -> hidden 20), tanh pooler, F16.
    "deberta-b": DebertaSpec(hidden=20, layers=3, heads=4, intermediate=36, max_positions=96, vocab=TOKENIZER_VOCAB,
                             position_buckets=-1, max_relative_positions=24, pos_att_type=["c2p"], share_att_key=False,
                             norm_rel_ebd="none", position_biased_input=True, type_vocab=2, embedding_size=16,
                             pooler_act="tanh", dtype="F16", seed=52),
    # mixedbread-ai/mxbai-rerank-base-v1 (DeBERTa-v3-base), for benchmarks (never committed).
    "mxbai-rerank-base-v1": DebertaSpec(hidden=768, layers=12, heads=12, intermediate=3072, max_positions=512, vocab=128100,
                                        seed=53),
}
TINY = ("deberta-a", "deberta-b")


# ---- config ----

def config_json(s: DebertaSpec) -> dict:
    """mxbai-rerank-base-v1's config.json keys with the sizes and options of `s`."""
    cfg = {
        "_name_or_path": "mixedbread-ai/mxbai-rerank-base-v1",
        "architectures": ["DebertaV2ForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": s.hidden,
        "id2label": {"0": "LABEL_0"}, "initializer_range": 0.02, "intermediate_size": s.intermediate,
        "label2id": {"LABEL_0": 0}, "layer_norm_eps": 1e-7, "max_position_embeddings": s.max_positions,
        "max_relative_positions": s.max_relative_positions, "model_type": "deberta-v2", "norm_rel_ebd": s.norm_rel_ebd,
        "num_attention_heads": s.heads, "num_hidden_layers": s.layers, "pad_token_id": PAD, "pooler_dropout": 0,
        "pooler_hidden_act": s.pooler_act, "pooler_hidden_size": s.hidden, "pos_att_type": s.pos_att_type,
        "position_biased_input": s.position_biased_input, "position_buckets": s.position_buckets,
        "relative_attention": True, "share_att_key": s.share_att_key, "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype],
        "transformers_version": "4.36.2", "type_vocab_size": s.type_vocab, "vocab_size": s.vocab,
    }
    if s.embedding_size is not None:
        cfg["embedding_size"] = s.embedding_size
    return cfg


def resolve(cfg: dict) -> dict:
    """The derived settings DebertaV2Encoder / DisentangledSelfAttention compute; refuses what RerankSharp refuses."""
    if cfg.get("conv_kernel_size", 0) > 0:
        raise ValueError("conv_kernel_size > 0 (ConvLayer) is not supported here")
    if not cfg.get("relative_attention", False):
        raise ValueError("relative_attention false is not supported here")
    H, N = cfg["hidden_size"], cfg["num_attention_heads"]
    if cfg.get("attention_head_size", H // N) != H // N or cfg.get("pooler_hidden_size", H) != H:
        raise ValueError("attention_head_size / pooler_hidden_size other than H / N, H are not supported here")
    pos = cfg.get("pos_att_type") or []
    if isinstance(pos, str):      # DebertaV2Config: "p2c|c2p" -> ["p2c", "c2p"]
        pos = [x.strip() for x in pos.lower().split("|")]
    if any(p not in ("c2p", "p2c") for p in pos):
        raise ValueError(f"pos_att_type {pos} is not supported here")
    max_rel = cfg.get("max_relative_positions", -1)
    if max_rel < 1:
        max_rel = cfg["max_position_embeddings"]
    buckets = cfg.get("position_buckets", -1)
    return {"pos_att_type": pos, "max_relative_positions": max_rel, "position_buckets": buckets,
            "span": buckets if buckets > 0 else max_rel, "scale_factor": 1 + len([p for p in ("c2p", "p2c") if p in pos]),
            "norm_rel_ebd": [x.strip() for x in cfg.get("norm_rel_ebd", "none").lower().split("|")],
            "embedding_size": cfg.get("embedding_size", H)}


# ---- forward ----

def log_bucket(rel: torch.Tensor, bucket_size: int, max_position: int) -> torch.Tensor:
    """make_log_bucket_position: torch's default float32 for the logarithms, whatever the model's dtype."""
    sign = torch.sign(rel)
    mid = bucket_size // 2
    abs_pos = torch.where((rel < mid) & (rel > -mid), torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign)


def relative_positions(T: int, r: dict, bug=None) -> torch.Tensor:
    """build_relative_position: [T, T] long, query minus key, log-bucketed when position_buckets > 0."""
    ids = torch.arange(T)
    rel = ids[:, None] - ids[None, :]
    if bug == "rel_sign":
        rel = -rel
    if r["position_buckets"] > 0 and r["max_relative_positions"] > 0 and bug != "no_buckets":
        rel = log_bucket(rel, r["position_buckets"], r["max_relative_positions"])
    return rel.to(torch.long)


def token_types(ids: torch.Tensor) -> torch.Tensor:
    """The tokenizer's token_type_ids read from the ids: 0 up to and including the first [SEP], 1 after it."""
    seen = (ids == SEP).to(torch.long).cumsum(dim=1)
    return ((seen - (ids == SEP).to(torch.long)) > 0).to(torch.long)


def _act(name: str):
    f = torch.nn.functional
    acts = {"gelu": f.gelu, "gelu_pytorch_tanh": lambda x: f.gelu(x, approximate="tanh"), "silu": f.silu, "tanh": torch.tanh}
    if name not in acts:
        raise ValueError(f"activation {name} is not supported here")
    return acts[name]


def forward(w, cfg: dict, ids: torch.Tensor, mask: torch.Tensor, dtype=None, bug=None) -> torch.Tensor:
    """Logits [B, num_labels]. `w` is a Weights or bench_reference.py's WeightSource (float32). `bug` injects one
    mistake (selfcheck only)."""
    if dtype is None:
        dtype = torch.float64 if getattr(w, "np_dtype", np.float32) == np.float64 else torch.float32
    r = resolve(cfg)
    lin, ln = torch.nn.functional.linear, torch.nn.functional.layer_norm
    B, T = ids.shape
    H, N = cfg["hidden_size"], cfg["num_attention_heads"]
    D, eps = H // N, cfg.get("layer_norm_eps", 1e-7)
    norm = lambda x, name: ln(x, (H,), w(name + ".weight"), w(name + ".bias"), eps)  # noqa: E731
    p = "deberta.embeddings."
    x = w(p + "word_embeddings.weight")[ids]
    if cfg.get("position_biased_input", True):
        x = x + w(p + "position_embeddings.weight")[:T]
    if cfg.get("type_vocab_size", 0) > 0:
        x = x + w(p + "token_type_embeddings.weight")[token_types(ids)]
    if r["embedding_size"] != H:
        x = lin(x, w(p + "embed_proj.weight"))
    x = norm(x, p + "LayerNorm") * mask.to(dtype)[..., None]

    rel = w("deberta.encoder.rel_embeddings.weight")
    if "layer_norm" in r["norm_rel_ebd"] and bug != "no_rel_norm":
        rel = norm(rel, "deberta.encoder.LayerNorm")
    S, pos = r["span"], r["pos_att_type"]
    rel = rel[:2 * S]                                                            # [2S, H]
    rp = relative_positions(T, r, bug)                                           # [T, T]
    c2p_idx = torch.clamp(rp + S, 0, 2 * S - 1)
    p2c_idx = torch.clamp(-rp + S, 0, 2 * S - 1)
    scale = math.sqrt(D * (1 if bug == "plain_scale" else r["scale_factor"]))
    keep = mask.to(torch.bool)
    pair_mask = (keep[:, None, :, None] & keep[:, None, None, :])                 # [B, 1, T, T], get_attention_mask
    heads = lambda t: t.view(t.shape[0], -1, N, D).transpose(1, 2)               # noqa: E731  [.., N, T, D]
    act = _act("gelu_pytorch_tanh" if bug == "tanh_gelu" else cfg.get("hidden_act", "gelu"))
    for i in range(cfg["num_hidden_layers"]):
        a = f"deberta.encoder.layer.{i}.attention.self."
        q = heads(lin(x, w(a + "query_proj.weight"), w(a + "query_proj.bias")))
        k = heads(lin(x, w(a + "key_proj.weight"), w(a + "key_proj.bias")))
        v = heads(lin(x, w(a + "value_proj.weight"), w(a + "value_proj.bias")))
        s = q @ k.transpose(-1, -2) / scale                                       # [B, N, T, T]
        shared = cfg.get("share_att_key", False)
        if "c2p" in pos and bug != "no_c2p":
            pk = heads(lin(rel[None], w(a + ("key_proj" if shared else "pos_key_proj") + ".weight"),
                           w(a + ("key_proj" if shared else "pos_key_proj") + ".bias")))[0]      # [N, 2S, D]
            c2p = q @ pk.transpose(-1, -2)                                        # [B, N, T, 2S]
            s = s + torch.gather(c2p, -1, c2p_idx.expand(B, N, T, T)) / scale
        if "p2c" in pos and bug != "no_p2c":
            pq = heads(lin(rel[None], w(a + ("query_proj" if shared else "pos_query_proj") + ".weight"),
                           w(a + ("query_proj" if shared else "pos_query_proj") + ".bias")))[0]  # [N, 2S, D]
            p2c = k @ pq.transpose(-1, -2)                                        # [B, N, T(key), 2S]
            p2c = torch.gather(p2c, -1, p2c_idx.expand(B, N, T, T))
            s = s + (p2c if bug == "p2c_not_transposed" else p2c.transpose(-1, -2)) / scale
        probs = torch.softmax(s.masked_fill(~pair_mask, torch.finfo(dtype).min), dim=-1).masked_fill(~pair_mask, 0)
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, H)
        o = f"deberta.encoder.layer.{i}."
        x = norm(x + lin(ctx, w(o + "attention.output.dense.weight"), w(o + "attention.output.dense.bias")), o + "attention.output.LayerNorm")
        h = act(lin(x, w(o + "intermediate.dense.weight"), w(o + "intermediate.dense.bias")))
        x = norm(x + lin(h, w(o + "output.dense.weight"), w(o + "output.dense.bias")), o + "output.LayerNorm")
    pooled = _act("tanh" if bug == "tanh_pooler" else cfg.get("pooler_hidden_act", "gelu"))(
        lin(x[:, 0], w("pooler.dense.weight"), w("pooler.dense.bias")))
    return lin(pooled, w("classifier.weight"), w("classifier.bias"))


def forward_scores(w, cfg: dict, seq: list[int]) -> float:
    """One unpadded row, independently in numpy float64: every attention score written from the formula
    s[i, j] = (q_i·k_j + q_i·pk[idx(i, j)] + k_j·pq[idx(i, j)]) / sqrt(D·sf), with idx from a bucket function written
    again here (math.log in float64, then float32 checks at the boundaries are not needed for these lengths). Selfcheck only."""
    g = lambda n: w(n).numpy()                                                     # noqa: E731
    r = resolve(cfg)
    H, N = cfg["hidden_size"], cfg["num_attention_heads"]
    D, eps = H // N, cfg.get("layer_norm_eps", 1e-7)
    T, S, pos = len(seq), r["span"], r["pos_att_type"]

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g(name + ".weight") + g(name + ".bias")

    def act(x, name):
        return np.tanh(x) if name == "tanh" else 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))

    def bucket(d):
        b, mx = r["position_buckets"], r["max_relative_positions"]
        if b <= 0:
            return d
        mid = b // 2
        if abs(d) <= mid:
            return d
        return int(math.copysign(math.ceil(math.log(abs(d) / mid) / math.log((mx - 1) / mid) * (mid - 1)) + mid, d))

    idx = np.array([[min(max(bucket(i - j) + S, 0), 2 * S - 1) for j in range(T)] for i in range(T)])
    ids = np.asarray(seq)
    p = "deberta.embeddings."
    x = g(p + "word_embeddings.weight")[ids]
    if cfg.get("position_biased_input", True):
        x = x + g(p + "position_embeddings.weight")[:T]
    if cfg.get("type_vocab_size", 0) > 0:
        x = x + g(p + "token_type_embeddings.weight")[token_types(torch.tensor([seq]))[0].numpy()]
    if r["embedding_size"] != H:
        x = x @ g(p + "embed_proj.weight").T
    x = ln(x, p + "LayerNorm")
    rel = g("deberta.encoder.rel_embeddings.weight")
    if "layer_norm" in r["norm_rel_ebd"]:
        rel = ln(rel, "deberta.encoder.LayerNorm")
    rel = rel[:2 * S]
    for i in range(cfg["num_hidden_layers"]):
        a = f"deberta.encoder.layer.{i}.attention.self."
        lin = lambda t, n: t @ g(a + n + ".weight").T + g(a + n + ".bias")       # noqa: E731
        q, k, v = lin(x, "query_proj"), lin(x, "key_proj"), lin(x, "value_proj")
        shared = cfg.get("share_att_key", False)
        pk = lin(rel, "key_proj" if shared else "pos_key_proj") if "c2p" in pos else None
        pq = lin(rel, "query_proj" if shared else "pos_query_proj") if "p2c" in pos else None
        out = np.zeros((T, H))
        for h in range(N):
            sl = slice(h * D, (h + 1) * D)
            s = np.zeros((T, T))
            for qi in range(T):
                for kj in range(T):
                    t = q[qi, sl] @ k[kj, sl]
                    if pk is not None:
                        t += q[qi, sl] @ pk[idx[qi, kj], sl]
                    if pq is not None:
                        t += k[kj, sl] @ pq[idx[qi, kj], sl]
                    s[qi, kj] = t / math.sqrt(D * r["scale_factor"])
            e = np.exp(s - s.max(-1, keepdims=True))
            out[:, sl] = (e / e.sum(-1, keepdims=True)) @ v[:, sl]
        o = f"deberta.encoder.layer.{i}."
        x = ln(x + out @ g(o + "attention.output.dense.weight").T + g(o + "attention.output.dense.bias"), o + "attention.output.LayerNorm")
        hdn = act(x @ g(o + "intermediate.dense.weight").T + g(o + "intermediate.dense.bias"), cfg.get("hidden_act", "gelu"))
        x = ln(x + hdn @ g(o + "output.dense.weight").T + g(o + "output.dense.bias"), o + "output.LayerNorm")
    pooled = act(x[0] @ g("pooler.dense.weight").T + g("pooler.dense.bias"), cfg.get("pooler_hidden_act", "gelu"))
    return float(pooled @ g("classifier.weight")[0] + g("classifier.bias")[0])


# ---- make ----

def shapes(s: DebertaSpec) -> dict:
    H, I, E = s.hidden, s.intermediate, s.embedding_size or s.hidden
    S = s.position_buckets if s.position_buckets > 0 else (s.max_relative_positions if s.max_relative_positions >= 1 else s.max_positions)
    p = "deberta.embeddings."
    out = {p + "word_embeddings.weight": (s.vocab, E)}
    if s.position_biased_input:
        out[p + "position_embeddings.weight"] = (s.max_positions, E)
    if s.type_vocab > 0:
        out[p + "token_type_embeddings.weight"] = (s.type_vocab, E)
    if E != H:
        out[p + "embed_proj.weight"] = (H, E)
    out |= {p + "LayerNorm.weight": (H,), p + "LayerNorm.bias": (H,)}
    pos = resolve(config_json(s))["pos_att_type"]
    for i in range(s.layers):
        a = f"deberta.encoder.layer.{i}.attention."
        for m in ("query_proj", "key_proj", "value_proj"):
            out |= {a + f"self.{m}.weight": (H, H), a + f"self.{m}.bias": (H,)}
        if not s.share_att_key:
            for kind, m in (("c2p", "pos_key_proj"), ("p2c", "pos_query_proj")):
                if kind in pos:
                    out |= {a + f"self.{m}.weight": (H, H), a + f"self.{m}.bias": (H,)}
        o = f"deberta.encoder.layer.{i}."
        out |= {a + "output.dense.weight": (H, H), a + "output.dense.bias": (H,),
                a + "output.LayerNorm.weight": (H,), a + "output.LayerNorm.bias": (H,),
                o + "intermediate.dense.weight": (I, H), o + "intermediate.dense.bias": (I,),
                o + "output.dense.weight": (H, I), o + "output.dense.bias": (H,),
                o + "output.LayerNorm.weight": (H,), o + "output.LayerNorm.bias": (H,)}
    out["deberta.encoder.rel_embeddings.weight"] = (2 * S, H)
    if s.norm_rel_ebd == "layer_norm":
        out |= {"deberta.encoder.LayerNorm.weight": (H,), "deberta.encoder.LayerNorm.bias": (H,)}
    out |= {"pooler.dense.weight": (H, H), "pooler.dense.bias": (H,), "classifier.weight": (1, H), "classifier.bias": (1,)}
    return out


def draw(s: DebertaSpec, name: str, shape) -> np.ndarray:
    z = make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)
    if name.endswith("LayerNorm.weight"):
        return (1.0 + make_model.LN_GAMMA_STD * z).astype(np.float32)
    if name.endswith(".bias"):
        return (make_model.BIAS_STD * z).astype(np.float32)
    if name == "deberta.encoder.rel_embeddings.weight":
        return (np.float32(REL_STD) * z).astype(np.float32)
    if "embeddings." in name and not name.endswith("embed_proj.weight"):
        z *= np.float32(make_model.EMBEDDING_STD)
        if name == "deberta.embeddings.word_embeddings.weight":
            z[PAD] = 0.0                                      # nn.Embedding(padding_idx=pad_token_id), zeroed by _init_weights
        return z
    return (np.float32(s.linear_std) * z).astype(np.float32)


def pair_ids(rng: np.random.Generator, length: int, vocab: int) -> list[int]:
    """[CLS] q [SEP] d [SEP] of random content ids (no special id, no [MASK]); [CLS] t [SEP] below 5 tokens."""
    top = min(vocab, TOKENIZER_VOCAB - 1)
    if length <= 4:
        return [CLS] + rng.integers(FIRST_CONTENT, top, size=length - 2).tolist() + [SEP]
    content = rng.integers(FIRST_CONTENT, top, size=length - 3).tolist()
    q = int(rng.integers(1, len(content)))
    return [CLS] + content[:q] + [SEP] + content[q:] + [SEP]


def make(s: DebertaSpec, out: str) -> dict:
    return fixture_tool.make_fixture(out, s, config_json(s), shapes(s), lambda n, shape: draw(s, n, shape),
                                     lambda rng, n: pair_ids(rng, n, s.vocab), forward, PAD, TOKENIZER_DIR, TOKENIZER_FILES)


# ---- golden ----

def fixture_groups(cfg: dict):
    P = cfg["max_position_embeddings"]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([23, cfg["hidden_size"], P])))
    return fixture_tool.golden_groups(rng, lambda n: pair_ids(rng, n, cfg["vocab_size"]), P, mixed_long=P - 7)


def golden(model_dir: str) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    groups, probe, longest = fixture_groups(cfg)
    texts = bert.text_cases(model_dir, "deberta")
    cases, all_logits, max32 = fixture_tool.golden_with_text_pairs(model_dir, cfg, groups, texts, forward)
    for x, row in zip(texts, token_types(torch.tensor(right_pad([t["input_ids"] for t in texts], PAD)[0].tolist())).tolist()):
        assert row[:len(x["token_type_ids"])] == x["token_type_ids"], "token types read from the ids differ from the tokenizer's"
    r = resolve(cfg)
    fixture_tool.write_golden(
        model_dir, "tools/model/deberta.py",
        "tools/model/deberta.py: float64 re-implementation of transformers' DebertaV2ForSequenceClassification forward (eval) "
        "from " + SOURCES, cfg,
        {k: r[k] for k in ("pos_att_type", "max_relative_positions", "position_buckets", "span", "scale_factor")}
        | {"token_type_ids": "0 up to and including the first [SEP], 1 after it (the tokenizer's template)"},
        groups, cases, all_logits, max32, {"probe": probe, "max_length": longest})


BUCKET_CONFIGS = [(512, 256), (160, 8), (24, -1), (2048, 256), (512, 64)]   # (max_relative_positions, position_buckets)


def bucket_tables(out: str) -> None:
    """idx(d) = clamp(bucket(d) + S, 0, 2S - 1) for d = -M .. M, M = 2·max(max_relative_positions, S), as torch computes it
    (make_log_bucket_position in float32): for DeBERTa-v3's 512 / 256 (every mxbai-rerank-v1), the fixtures', and two
    more, so RerankSharp's table (DebertaV2Graph.RelativeIndexTable) is checked where the golden sequences do not reach."""
    tables = []
    for max_rel, buckets in BUCKET_CONFIGS:
        S = buckets if buckets > 0 else max_rel
        M = 2 * max(max_rel, S)
        d = torch.arange(-M, M + 1)
        b = log_bucket(d, buckets, max_rel) if buckets > 0 else d
        tables.append({"max_relative_positions": max_rel, "position_buckets": buckets, "reach": M,
                       "index": torch.clamp(b.to(torch.long) + S, 0, 2 * S - 1).tolist()})
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/model/deberta.py golden --all-tiny", "torch_version": torch.__version__,
                   "rule": "clamp(make_log_bucket_position(d, position_buckets, max_relative_positions) + S, 0, 2S - 1)",
                   "tables": tables}, f)
        f.write("\n")


# ---- selfcheck ----

BUGS = [
    ("no_buckets", "relative distances not log-bucketed"),
    ("rel_sign", "relative distance key - query instead of query - key"),
    ("p2c_not_transposed", "p2c scores not transposed back (position of the key, not the query)"),
    ("no_c2p", "c2p term left out"),
    ("no_p2c", "p2c term left out"),
    ("plain_scale", "scale 1/sqrt(D) instead of 1/sqrt(D·(1 + len(pos_att_type)))"),
    ("no_rel_norm", "rel_embeddings not LayerNorm'd (norm_rel_ebd)"),
    ("tanh_gelu", "GELU tanh approximation instead of erf"),
    ("tanh_pooler", "tanh instead of the pooler's GELU"),
]


def selfcheck() -> None:
    def seqs_of(cfg):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([31, cfg["hidden_size"]])))
        return [pair_ids(rng, n, cfg["vocab_size"]) for n in (5, 9, 14, 20, 27, 33, 41, 50, 64, 77, 90, 96)]

    fixture_tool.selfcheck(
        TINY, FIXTURES, seqs_of, forward,
        lambda w64, cfg, seqs: ("independent route: each score from the formula, numpy float64 (5 rows)",
                                torch.tensor([forward_scores(w64, cfg, q) for q in seqs[:5]], dtype=torch.float64)),
        BUGS, lambda cfg, bug: bug in not_applicable(cfg), "n/a", "torch fp32 (same code)")


def not_applicable(cfg: dict) -> tuple:
    """The bugs a fixture's config cannot show: no buckets, no p2c term, no rel LayerNorm, a tanh pooler already."""
    r = resolve(cfg)
    return (("no_buckets",) if r["position_buckets"] <= 0 else ()) + (("no_p2c", "p2c_not_transposed") if "p2c" not in r["pos_att_type"] else ()) \
        + (("no_rel_norm",) if "layer_norm" not in r["norm_rel_ebd"] else ()) + (("tanh_pooler",) if cfg.get("pooler_hidden_act") == "tanh" else ())


# ---- main ----

if __name__ == "__main__":
    if sys.argv[1:] == ["golden", "--all-tiny"]:
        bucket_tables(os.path.join(REPO, "tests", "fixtures", "deberta-relative-buckets.json"))
    fixture_tool.main(__doc__, PRESETS, TINY, make, golden, selfcheck)
