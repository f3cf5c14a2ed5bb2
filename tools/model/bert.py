#!/usr/bin/python3
"""Random-weight BertForSequenceClassification fixtures, their float64 reference forward, and golden logits.

    /usr/bin/python3 tools/model/bert.py make --all-tiny      # tests/fixtures/models/bert-{a,b}/ (config, weights, tokenizer files)
    /usr/bin/python3 tools/model/bert.py golden --all-tiny    # .../golden_logits.json (random ids and tokenized text pairs)
    /usr/bin/python3 tools/model/bert.py make --preset minilm-l6 --out /work/models/minilm-l6   # benchmark shape, never committed

The reference is transformers' modeling_bert.py forward in eval mode, op for op, in float64:
  BertEmbeddings: word[ids] + token_type[token_type_ids] + position[0..T-1]   (absolute positions from 0,
      the same for every row whatever its padding), then LayerNorm(eps = layer_norm_eps)
  BertLayer × L (post-LN, = RoBERTa's): scores q kᵀ / sqrt(d) + (1 - mask) · finfo.min on the keys; softmax; · v;
      LayerNorm(dense(ctx) + x); LayerNorm(dense2(gelu_erf(dense1(x))) + x)
  BertPooler: tanh(dense(x[:, 0]));  classifier: Linear(H, num_labels)          -> logits [B, 1]
Weights are drawn as tools/model/make_model.py draws them (per-tensor generators, encoder std 0.02·sqrt(1024/H));
the pooler is N(0, 0.02·sqrt(1024/H)) and the classifier is scaled on 32 random pairs so the logits have std 2, mean 0.
Text-pair cases take their ids and token type ids from Hugging Face tokenizers (tools/wordpiece/encode_pairs.js).
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
from fixture_tool import Weights  # noqa: E402
import reference  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = make_model.REPO_ROOT
FIXTURES = make_model.FIXTURE_DIR
CLS, SEP, PAD, FIRST_CONTENT = 101, 102, 0, 104
# mMiniLM's kind: BertForSequenceClassification with the XLM-R SentencePiece tokenizer and template
# (<s> q </s></s> d </s>, every token type 0), fairseq ids.
XLMR = {"cls": 0, "sep": 2, "pad": 1, "first": 4}


@dataclass(frozen=True)
class BertSpec:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    vocab: int
    tokenizer: str | None          # tests/fixtures/wordpiece/<name>, copied into the folder
    tokenizer_files: tuple = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")
    dtype: str = "F32"
    seed: int = 0
    type_vocab: int = 2
    family: str = "wordpiece"      # or "xlmr": tokenizer files linked from tests/fixtures/tokenizer

    @property
    def pad(self) -> int:
        return XLMR["pad"] if self.family == "xlmr" else PAD

    @property
    def linear_std(self) -> float:
        return 0.02 * (1024 / self.hidden) ** 0.5


PRESETS = {
    # uncased WordPiece (ms-marco-MiniLM's kind), 3 heads of 12, F32, every tokenizer file.
    "bert-a": BertSpec(hidden=36, layers=2, heads=3, intermediate=50, max_positions=512, vocab=8000, tokenizer="uncased", seed=11),
    # cased WordPiece from vocab.txt + tokenizer_config.json only (the slow files), 5 heads of 8, F16 weights.
    "bert-b": BertSpec(hidden=40, layers=3, heads=5, intermediate=70, max_positions=128, vocab=6000, tokenizer="cased",
                       tokenizer_files=("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"), dtype="F16", seed=12),
    # mMiniLM's kind (cross-encoder/mmarco-mMiniLMv2-L12-H384-v1): XLM-R tokenizer, pad 1, 514 positions from 0; 4 heads of 7.
    "bert-c": BertSpec(hidden=28, layers=2, heads=4, intermediate=45, max_positions=514, vocab=16002, tokenizer="xlmr",
                       tokenizer_files=("tokenizer.json", "tokenizer_config.json"), seed=14, family="xlmr", type_vocab=1),
    # cross-encoder/ms-marco-MiniLM-L6-v2's shape, for benchmarks.
    "minilm-l6": BertSpec(hidden=384, layers=6, heads=12, intermediate=1536, max_positions=512, vocab=30522, tokenizer=None, seed=13),
}


def config_json(s: BertSpec) -> dict:
    """cross-encoder/ms-marco-MiniLM-L6-v2's config.json with the sizes of `s`."""
    return {
        "_name_or_path": "cross-encoder/ms-marco-MiniLM-L6-v2",
        "architectures": ["BertForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "gradient_checkpointing": False,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": s.hidden,
        "id2label": {"0": "LABEL_0"},
        "initializer_range": 0.02,
        "intermediate_size": s.intermediate,
        "label2id": {"LABEL_0": 0},
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": s.max_positions,
        "model_type": "bert",
        "num_attention_heads": s.heads,
        "num_hidden_layers": s.layers,
        "pad_token_id": s.pad,
        "position_embedding_type": "absolute",
        "sbert_ce_default_activation_function": "torch.nn.modules.linear.Identity",
        "torch_dtype": make_model.TORCH_DTYPE_NAME[s.dtype],
        "transformers_version": "4.39.3",
        "type_vocab_size": s.type_vocab,
        "use_cache": True,
        "vocab_size": s.vocab,
    }


def shapes(s: BertSpec) -> dict:
    H, I = s.hidden, s.intermediate
    out = {
        "bert.embeddings.word_embeddings.weight": (s.vocab, H),
        "bert.embeddings.position_embeddings.weight": (s.max_positions, H),
        "bert.embeddings.token_type_embeddings.weight": (s.type_vocab, H),
        "bert.embeddings.LayerNorm.weight": (H,),
        "bert.embeddings.LayerNorm.bias": (H,),
    }
    for i in range(s.layers):
        p = f"bert.encoder.layer.{i}."
        for m in ("query", "key", "value"):
            out[p + f"attention.self.{m}.weight"] = (H, H)
            out[p + f"attention.self.{m}.bias"] = (H,)
        out |= {p + "attention.output.dense.weight": (H, H), p + "attention.output.dense.bias": (H,),
                p + "attention.output.LayerNorm.weight": (H,), p + "attention.output.LayerNorm.bias": (H,),
                p + "intermediate.dense.weight": (I, H), p + "intermediate.dense.bias": (I,),
                p + "output.dense.weight": (H, I), p + "output.dense.bias": (H,),
                p + "output.LayerNorm.weight": (H,), p + "output.LayerNorm.bias": (H,)}
    out |= {"bert.pooler.dense.weight": (H, H), "bert.pooler.dense.bias": (H,), "classifier.weight": (1, H), "classifier.bias": (1,)}
    return out


# ---- float64 reference (transformers modeling_bert.py, eval) ----

def forward(w, cfg: dict, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits [B, 1]. `w(name)` gives a weight as a float64 tensor."""
    lin = torch.nn.functional.linear
    ln = torch.nn.functional.layer_norm
    B, T = ids.shape
    H = cfg["hidden_size"]
    nh = cfg["num_attention_heads"]
    hd = H // nh
    eps = cfg["layer_norm_eps"]
    x = w("bert.embeddings.word_embeddings.weight")[ids] + w("bert.embeddings.token_type_embeddings.weight")[types]
    x = x + w("bert.embeddings.position_embeddings.weight")[torch.arange(T)]
    x = ln(x, (H,), w("bert.embeddings.LayerNorm.weight"), w("bert.embeddings.LayerNorm.bias"), eps)
    ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        heads = lambda t: t.view(B, T, nh, hd).permute(0, 2, 1, 3)  # noqa: E731
        q = heads(lin(x, w(p + "attention.self.query.weight"), w(p + "attention.self.query.bias")))
        k = heads(lin(x, w(p + "attention.self.key.weight"), w(p + "attention.self.key.bias")))
        v = heads(lin(x, w(p + "attention.self.value.weight"), w(p + "attention.self.value.bias")))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + ext, dim=-1)
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(B, T, H)
        x = ln(lin(ctx, w(p + "attention.output.dense.weight"), w(p + "attention.output.dense.bias")) + x, (H,),
               w(p + "attention.output.LayerNorm.weight"), w(p + "attention.output.LayerNorm.bias"), eps)
        inter = torch.nn.functional.gelu(lin(x, w(p + "intermediate.dense.weight"), w(p + "intermediate.dense.bias")))
        x = ln(lin(inter, w(p + "output.dense.weight"), w(p + "output.dense.bias")) + x, (H,),
               w(p + "output.LayerNorm.weight"), w(p + "output.LayerNorm.bias"), eps)
    pooled = torch.tanh(lin(x[:, 0], w("bert.pooler.dense.weight"), w("bert.pooler.dense.bias")))
    return lin(pooled, w("classifier.weight"), w("classifier.bias"))


def token_types(seq: list[int], family: str = "wordpiece") -> list[int]:
    """0 through the first [SEP], 1 after: the BERT pair template's segments (ids made by pair_ids); XLM-R's: all 0."""
    if family == "xlmr":
        return [0] * len(seq)
    first = seq.index(SEP)
    return [0] * (first + 1) + [1] * (len(seq) - first - 1)


def pad(seqs, types, pad_id=PAD):
    T = max(len(s) for s in seqs)
    ids = np.full((len(seqs), T), pad_id, dtype=np.int64)
    tt = np.zeros((len(seqs), T), dtype=np.int64)
    mask = np.zeros((len(seqs), T), dtype=np.int64)
    for b, (s, t) in enumerate(zip(seqs, types)):
        ids[b, :len(s)] = s
        # Padding takes token type 0, as the fast tokenizer's padding does; the mask hides it either way.
        tt[b, :len(t)] = t
        mask[b, :len(s)] = 1
    return ids, tt, mask


def pair_ids(rng: np.random.Generator, length: int, vocab: int, family: str = "wordpiece") -> list[int]:
    if family == "xlmr":
        cls, sep, first = XLMR["cls"], XLMR["sep"], XLMR["first"]
        if length <= 5:
            return [cls] + rng.integers(first, vocab - 1, size=length - 2).tolist() + [sep]
        content = rng.integers(first, vocab - 1, size=length - 4).tolist()
        q = int(rng.integers(1, len(content))) if len(content) > 1 else 1
        return [cls] + content[:q] + [sep, sep] + content[q:] + [sep]
    if length <= 3:
        return [CLS] + rng.integers(FIRST_CONTENT, vocab, size=length - 2).tolist() + [SEP]
    content = rng.integers(FIRST_CONTENT, vocab, size=length - 3).tolist()
    q = int(rng.integers(1, len(content))) if len(content) > 1 else 1
    return [CLS] + content[:q] + [SEP] + content[q:] + [SEP]


# ---- make ----

def make(s: BertSpec, out: str) -> dict:
    os.makedirs(out, exist_ok=True)
    cfg = config_json(s)
    arrays = {}
    spec = make_model.ModelSpec(s.hidden, s.layers, s.heads, s.intermediate, s.max_positions, s.vocab, seed=s.seed)
    for name, shape in shapes(s).items():
        if name.startswith("classifier."):
            continue
        a = make_model.draw(s.seed, name, shape, spec)
        if name == "bert.pooler.dense.weight":
            a = (np.float32(s.linear_std) * make_model.rng_for(s.seed, name).standard_normal(shape, dtype=np.float32)).astype(np.float32)
        if name == "bert.embeddings.word_embeddings.weight":
            a[s.pad] = 0.0                                       # nn.Embedding(padding_idx=pad_token_id) leaves it zero
        arrays[name] = a
    # Classifier: a random direction scaled so 32 random pairs give logits of std 2 around 0.
    rng = make_model.rng_for(s.seed, "calibration-inputs")
    seqs = [pair_ids(rng, int(rng.integers(6, min(48, s.max_positions) + 1)), s.vocab, s.family) for _ in range(32)]
    ids, tt, mask = pad(seqs, [token_types(q, s.family) for q in seqs], s.pad)
    w64 = lambda n: torch.from_numpy(np.asarray(arrays[n], dtype=np.float64))  # noqa: E731
    H = s.hidden
    arrays["classifier.weight"] = np.zeros((1, H), np.float32)
    arrays["classifier.bias"] = np.zeros((1,), np.float32)
    with torch.inference_mode():
        captured = {}

        def w(n):
            if n == "classifier.weight":
                return torch.eye(H, dtype=torch.float64)
            if n == "classifier.bias":
                return torch.zeros(H, dtype=torch.float64)
            return w64(n)
        pooled = forward(w, cfg, torch.from_numpy(ids), torch.from_numpy(tt), torch.from_numpy(mask)).numpy()   # [n, H]
    direction = make_model.rng_for(s.seed, "classifier.weight").standard_normal((1, H))
    logits = pooled @ direction.T
    direction *= make_model.CLASSIFIER_LOGIT_STD / logits.std()
    arrays["classifier.weight"] = direction.astype(np.float32)
    arrays["classifier.bias"] = (-(pooled @ direction.T).mean(axis=0)).astype(np.float32)
    for stale in os.listdir(out):
        if stale.endswith(".safetensors"):
            os.remove(os.path.join(out, stale))
    st.save_file({n: (a, s.dtype) for n, a in arrays.items()}, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    if s.family == "xlmr":
        # Linked like tiny-b's, so the XLM-R tokenizer fixture is stored once.
        for fn in s.tokenizer_files:
            target = os.path.join(out, fn)
            if os.path.lexists(target):
                os.remove(target)
            os.symlink(os.path.join("..", "..", "tokenizer", fn), target)
    elif s.tokenizer:
        for fn in s.tokenizer_files:
            shutil.copyfile(os.path.join(REPO, "tests", "fixtures", "wordpiece", s.tokenizer, fn), os.path.join(out, fn))
    return {"out": out, "bytes": os.path.getsize(os.path.join(out, "model.safetensors"))}


# ---- golden ----

def text_cases(model_dir: str, family: str) -> list[dict]:
    """Tokenized text pairs (tools/model/text_pairs.json) through HF tokenizers on the model's own tokenizer.json."""
    tok = os.path.join(model_dir, "tokenizer.json")
    if family == "xlmr":
        pairs = os.path.join(REPO, "tools", "model", "text_pairs.json")
        out = subprocess.run(["node", os.path.join(REPO, "tools", "model", "encode_pairs.js"), tok, pairs],
                             check=True, capture_output=True, text=True).stdout
        rows = [json.loads(line) for line in out.splitlines()]
        return [{"query": p["query"], "document": p["document"], "input_ids": r["input_ids"], "token_type_ids": [0] * len(r["input_ids"])}
                for p, r in zip(json.load(open(pairs, encoding="utf-8")), rows)]
    if not os.path.exists(tok):
        name = json.load(open(os.path.join(model_dir, "tokenizer_config.json")))["do_lower_case"]
        tok = os.path.join(REPO, "tests", "fixtures", "wordpiece", "uncased" if name else "cased", "tokenizer.json")
    out = subprocess.run(["node", os.path.join(REPO, "tools", "wordpiece", "encode_pairs.js"), tok,
                          os.path.join(REPO, "tools", "model", "text_pairs.json")], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def golden(model_dir: str) -> None:
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    V, P = cfg["vocab_size"], cfg["max_position_embeddings"]
    family = "xlmr" if cfg["pad_token_id"] == XLMR["pad"] else "wordpiece"
    pad_id = cfg["pad_token_id"]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([7, V, P])))
    ids_of = lambda n: pair_ids(rng, n, V, family)  # noqa: E731
    probe = ids_of(23)
    groups = [
        ("b1_len3", [ids_of(3)]),
        ("b1_len6_minimal_pair", [ids_of(6)]),
        ("b1_probe", [probe]),
        ("b1_max_length", [ids_of(P)]),
        ("b3_mixed", [ids_of(9), probe, ids_of(40)]),
        ("b3_same_length_no_padding", [ids_of(17) for _ in range(3)]),
        ("b8_mixed_with_max", [ids_of(n) for n in (3, 5, 12, 31, 64, P // 2, P - 1, P)]),
        ("b8_short", [ids_of(int(n)) for n in rng.integers(4, 20, size=8)]),
        ("b8_probe_repeated", [probe if k % 3 == 0 else ids_of(int(rng.integers(4, 60))) for k in range(8)]),
    ]
    cases = [(n, seqs, [token_types(q, family) for q in seqs]) for n, seqs in groups]
    texts = text_cases(model_dir, family)
    cases.append(("text_pairs", [t["input_ids"] for t in texts], [t["token_type_ids"] for t in texts]))
    w64, w32 = Weights(model_dir, torch.float64), Weights(model_dir, torch.float32)
    out_cases, max32 = [], 0.0
    all_logits = []
    with torch.inference_mode():
        for name, seqs, types in cases:
            ids, tt, mask = pad(seqs, types, pad_id)
            args = (torch.from_numpy(ids), torch.from_numpy(tt), torch.from_numpy(mask))
            logits = forward(w64, cfg, *args)[:, 0]
            l32 = forward(w32, cfg, *args)[:, 0].to(torch.float64)
            max32 = max(max32, float((logits - l32).abs().max()))
            all_logits += logits.tolist()
            case = {"name": name, "input_ids": ids.tolist(), "token_type_ids": tt.tolist(), "attention_mask": mask.tolist(),
                    "logits": [float(v) for v in logits]}
            if name == "text_pairs":
                case["pairs"] = [{"query": t["query"], "document": t["document"]} for t in texts]
            out_cases.append(case)
    probe_places = [[n, i] for n, seqs, _ in cases for i, q in enumerate(seqs) if q == probe]
    doc = {
        "format": "reranksharp.golden-logits.v1",
        "generator": "tools/model/bert.py",
        "reference": "tools/model/bert.py: float64 re-implementation of transformers' BertForSequenceClassification forward (eval)",
        "torch_version": torch.__version__, "numpy_version": np.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "dtype": "float64",
        "model": os.path.basename(os.path.normpath(model_dir)),
        "model_sha256": make_model.sha256_file(os.path.join(model_dir, "model.safetensors")),
        "pad_token_id": pad_id, "torch_fp32_max_abs_diff": max32,
        "logit_range": [min(all_logits), max(all_logits)],
        "cases": out_cases,
        "batch_invariance": {"probe": probe_places},
    }
    with open(os.path.join(model_dir, "golden_logits.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f)
        f.write("\n")
    print(f"{model_dir}: {sum(len(c['logits']) for c in out_cases)} logits in [{min(all_logits):.2f}, {max(all_logits):.2f}], "
          f"fp32 max |Δ| {max32:.1e}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["make", "golden"])
    ap.add_argument("--all-tiny", action="store_true")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--out")
    args = ap.parse_args()
    jobs = [(PRESETS[n], os.path.join(FIXTURES, n)) for n in ("bert-a", "bert-b", "bert-c")] if args.all_tiny else [(PRESETS[args.preset], args.out)]
    for spec, out in jobs:
        if args.command == "make":
            print(json.dumps(make(spec, out)))
        else:
            golden(out)


if __name__ == "__main__":
    main()
