#!/usr/bin/python3
"""Makes a random-weight XLMRobertaForSequenceClassification model folder in Hugging Face's layout:
config.json like BAAI/bge-reranker-v2-m3's, model.safetensors (or shards + index) with HF's tensor
names, and optionally the tokenizer files.

    /usr/bin/python3 tools/model/make_model.py --preset tiny-a --out tests/fixtures/models/tiny-a
    /usr/bin/python3 tools/model/make_model.py --all-tiny            # tiny-a, tiny-b, tiny-c in tests/fixtures/models
    /usr/bin/python3 tools/model/make_model.py --preset full --out /work/models/full
    /usr/bin/python3 tools/model/make_model.py --hidden 64 --layers 2 --heads 4 --intermediate 100 \
        --max-positions 258 --vocab 16002 --dtype F16 --seed 7 --out /tmp/m

Weights (per tensor, each from its own generator seeded by (seed, crc32(name)), so a tensor does not
depend on the order or the dtype it is written in):
- embeddings N(0, 0.02); row pad_token_id (1) of the word and position tables is zero, as HF's
  `_init_weights` leaves an nn.Embedding's padding_idx row;
- encoder Linear weights N(0, weight_std), biases N(0, 0.02); weight_std defaults to
  0.02·sqrt(1024/H): exactly 0.02 for the real shape (H = 1024), and for tiny models the same
  per-layer signal as the full-size random model (see README: with a literal 0.02 at H = 32 the
  attention is uniform to 1% and a missing 1/sqrt(d) or a tanh GELU does not show in the logits);
- LayerNorm gamma 1 + N(0, 0.05), beta N(0, 0.02);
- classifier calibrated on random pair inputs so the logits spread over a few units: dense rows
  N(0,1) scaled so each pre-tanh unit has std 1.5 over the calibration inputs and its bias centres
  it; out_proj scaled so the logits have std 2 and mean 0 over them.
All values are drawn in float32 and rounded once to the stored dtype (F16, BF16 round to nearest even).

Tensors are generated and written one at a time (the word table in blocks of rows), and the
calibration runs layer by layer beside the writing, so the full model needs ~0.2 GB of RAM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import zlib
from dataclasses import dataclass, replace

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402
import safetensors_io as st  # noqa: E402

TOKENIZER_FILES = ["sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
PAD_ID, BOS_ID, EOS_ID = 1, 0, 2
TORCH_DTYPE_NAME = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURE_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "models")

EMBEDDING_STD = 0.02
BIAS_STD = 0.02
LN_GAMMA_STD = 0.05
LN_BETA_STD = 0.02
CLASSIFIER_PRE_TANH_STD = 1.5
CLASSIFIER_LOGIT_STD = 2.0
WORD_BLOCK_ROWS = 16384


@dataclass(frozen=True)
class ModelSpec:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    vocab: int
    dtype: str = "F32"
    seed: int = 0
    shards: int = 1
    weight_std: float | None = None   # None: 0.02 * sqrt(1024 / hidden)

    @property
    def linear_std(self) -> float:
        return self.weight_std if self.weight_std is not None else 0.02 * (1024 / self.hidden) ** 0.5


PRESETS = {
    "tiny-a": ModelSpec(hidden=32, layers=2, heads=4, intermediate=37, max_positions=514, vocab=16002,
                        dtype="F32", seed=1),
    "tiny-b": ModelSpec(hidden=48, layers=3, heads=3, intermediate=100, max_positions=130, vocab=16002,
                        dtype="F16", seed=2),
    # tiny-a's weights (same spec and seed, so the same float32 draws and calibration), stored as BF16 in 2 shards.
    "tiny-c": ModelSpec(hidden=32, layers=2, heads=4, intermediate=37, max_positions=514, vocab=16002,
                        dtype="BF16", seed=1, shards=2),
    "full": ModelSpec(hidden=1024, layers=24, heads=16, intermediate=4096, max_positions=8194, vocab=250002,
                      dtype="F32", seed=0),
}


def config_json(spec: ModelSpec) -> dict:
    """BAAI/bge-reranker-v2-m3's config.json with the sizes (and torch_dtype) of `spec`."""
    return {
        "_name_or_path": "BAAI/bge-m3",
        "architectures": ["XLMRobertaForSequenceClassification"],
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": BOS_ID,
        "classifier_dropout": None,
        "eos_token_id": EOS_ID,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": spec.hidden,
        "id2label": {"0": "LABEL_0"},
        "initializer_range": 0.02,
        "intermediate_size": spec.intermediate,
        "label2id": {"LABEL_0": 0},
        "layer_norm_eps": 1e-05,
        "max_position_embeddings": spec.max_positions,
        "model_type": "xlm-roberta",
        "num_attention_heads": spec.heads,
        "num_hidden_layers": spec.layers,
        "output_past": True,
        "pad_token_id": PAD_ID,
        "position_embedding_type": "absolute",
        "torch_dtype": TORCH_DTYPE_NAME[spec.dtype],
        "transformers_version": "4.38.1",
        "type_vocab_size": 1,
        "use_cache": True,
        "vocab_size": spec.vocab,
    }


def tensor_specs(spec: ModelSpec) -> list[st.TensorSpec]:
    """Every tensor, in the order `XLMRobertaForSequenceClassification.state_dict()` lists them."""
    H, I, d = spec.hidden, spec.intermediate, spec.dtype
    out = [
        st.TensorSpec("roberta.embeddings.word_embeddings.weight", d, (spec.vocab, H)),
        st.TensorSpec("roberta.embeddings.position_embeddings.weight", d, (spec.max_positions, H)),
        st.TensorSpec("roberta.embeddings.token_type_embeddings.weight", d, (1, H)),
        st.TensorSpec("roberta.embeddings.LayerNorm.weight", d, (H,)),
        st.TensorSpec("roberta.embeddings.LayerNorm.bias", d, (H,)),
    ]
    for i in range(spec.layers):
        p = f"roberta.encoder.layer.{i}."
        for m in ("query", "key", "value"):
            out += [st.TensorSpec(p + f"attention.self.{m}.weight", d, (H, H)),
                    st.TensorSpec(p + f"attention.self.{m}.bias", d, (H,))]
        out += [
            st.TensorSpec(p + "attention.output.dense.weight", d, (H, H)),
            st.TensorSpec(p + "attention.output.dense.bias", d, (H,)),
            st.TensorSpec(p + "attention.output.LayerNorm.weight", d, (H,)),
            st.TensorSpec(p + "attention.output.LayerNorm.bias", d, (H,)),
            st.TensorSpec(p + "intermediate.dense.weight", d, (I, H)),
            st.TensorSpec(p + "intermediate.dense.bias", d, (I,)),
            st.TensorSpec(p + "output.dense.weight", d, (H, I)),
            st.TensorSpec(p + "output.dense.bias", d, (H,)),
            st.TensorSpec(p + "output.LayerNorm.weight", d, (H,)),
            st.TensorSpec(p + "output.LayerNorm.bias", d, (H,)),
        ]
    out += [
        st.TensorSpec("classifier.dense.weight", d, (H, H)),
        st.TensorSpec("classifier.dense.bias", d, (H,)),
        st.TensorSpec("classifier.out_proj.weight", d, (1, H)),
        st.TensorSpec("classifier.out_proj.bias", d, (1,)),
    ]
    return out


def rng_for(seed: int, name: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode())])))


def draw(seed: int, name: str, shape: tuple, spec: ModelSpec) -> np.ndarray:
    """float32 initial value of one (non-embedding-table, non-classifier) tensor."""
    rng = rng_for(seed, name)
    z = rng.standard_normal(shape, dtype=np.float32)
    if name.endswith("LayerNorm.weight"):
        return (1.0 + LN_GAMMA_STD * z).astype(np.float32)
    if name.endswith("LayerNorm.bias"):
        return (LN_BETA_STD * z).astype(np.float32)
    if name.endswith(".bias"):
        return (BIAS_STD * z).astype(np.float32)
    if "embeddings" in name:
        return (EMBEDDING_STD * z).astype(np.float32)
    return (np.float32(spec.linear_std) * z).astype(np.float32)


def calibration_inputs(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Random `<s> q </s></s> d </s>` pairs, right-padded."""
    rng = rng_for(spec.seed, "calibration-inputs")
    count = 32
    longest = min(48, spec.max_positions - 2)
    seqs = []
    for _ in range(count):
        n = int(rng.integers(6, longest + 1))
        content = n - 4
        q = int(rng.integers(1, content))
        ids = rng.integers(4, spec.vocab - 1, size=content).tolist()
        seqs.append([BOS_ID] + ids[:q] + [EOS_ID, EOS_ID] + ids[q:] + [EOS_ID])
    return reference.pad_batch(seqs, PAD_ID)


class _CalibrationTensors(reference.DictTensors):
    """In-memory weights for the calibration forward; the word table holds only the rows it uses."""

    def __init__(self):
        super().__init__({})
        self.word_rows: dict[int, np.ndarray] = {}

    def get_rows(self, name, rows, out_dtype=np.float32):
        if name == "roberta.embeddings.word_embeddings.weight":
            return np.stack([self.word_rows[int(r)] for r in rows]).astype(out_dtype)
        return super().get_rows(name, rows, out_dtype)


def generate(spec: ModelSpec, out_dir: str, tokenizer_dir: str | None = None, log=print) -> dict:
    """Writes the model folder; returns a summary (files, sizes, sha256, seconds, logit spread)."""
    t0 = time.time()
    os.makedirs(out_dir, exist_ok=True)
    for stale in os.listdir(out_dir):
        if stale.endswith(".safetensors") or stale == st.INDEX_FILE:
            os.remove(os.path.join(out_dir, stale))
    cfg = config_json(spec)
    specs = tensor_specs(spec)
    cal_ids, cal_mask = calibration_inputs(spec)
    cal = _CalibrationTensors()
    w = reference.WeightSource(cal, torch.float64)

    # The calibration sees the float32 draws, not the stored rounding, so tiny-c (BF16) keeps tiny-a's classifier.
    shapes = {s.name: s.shape for s in specs}
    with st.ModelWriter(out_dir, specs, spec.shards) as mw:
        # Embeddings. The word table goes out in blocks of rows; only calibration rows are kept.
        name = "roberta.embeddings.word_embeddings.weight"
        needed = set(np.unique(cal_ids).tolist())
        rng = rng_for(spec.seed, name)
        for r0 in range(0, spec.vocab, WORD_BLOCK_ROWS):
            n = min(WORD_BLOCK_ROWS, spec.vocab - r0)
            block = (EMBEDDING_STD * rng.standard_normal((n, spec.hidden), dtype=np.float32)).astype(np.float32)
            if r0 <= PAD_ID < r0 + n:
                block[PAD_ID - r0] = 0.0
            mw.write_rows(name, r0, block)
            for r in needed:
                if r0 <= r < r0 + n:
                    cal.word_rows[r] = block[r - r0].copy()
        name = "roberta.embeddings.position_embeddings.weight"
        a = draw(spec.seed, name, (spec.max_positions, spec.hidden), spec)
        a[PAD_ID] = 0.0
        mw.write(name, a)
        cal.arrays[name] = a
        for name in ("roberta.embeddings.token_type_embeddings.weight", "roberta.embeddings.LayerNorm.weight",
                     "roberta.embeddings.LayerNorm.bias"):
            a = draw(spec.seed, name, shapes[name], spec)
            mw.write(name, a)
            cal.arrays[name] = a

        # Encoder layers, each written and then applied to the calibration activations.
        with torch.inference_mode():
            ids_t, mask_t = torch.from_numpy(cal_ids), torch.from_numpy(cal_mask)
            x = reference.embeddings(w, cfg, ids_t)
            ext = reference.extended_attention_mask(mask_t, torch.float64)
            for i in range(spec.layers):
                prefix = f"roberta.encoder.layer.{i}."
                for s in specs:
                    if s.name.startswith(prefix):
                        a = draw(spec.seed, s.name, shapes[s.name], spec)
                        mw.write(s.name, a)
                        cal.arrays[s.name] = a
                x = reference.encoder_layer(w, cfg, i, x, ext)
                for s in specs:
                    if s.name.startswith(prefix):
                        del cal.arrays[s.name]
                log(f"  layer {i + 1}/{spec.layers} written ({time.time() - t0:.1f} s)")
            h = x[:, 0].numpy()                                                   # [n, H] token 0

        cal_logits = write_calibrated_head(mw, spec.seed, h)

    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        # transformers' PretrainedConfig.to_json_string: indent 2, sorted keys, trailing newline.
        f.write(json.dumps(cfg, indent=2, sort_keys=True) + "\n")

    copied = []
    if tokenizer_dir:
        if not os.path.isdir(tokenizer_dir):
            raise SystemExit(f"--tokenizer-dir {tokenizer_dir} is not a folder")
        for fn in TOKENIZER_FILES:
            src = os.path.join(tokenizer_dir, fn)
            if os.path.exists(src):
                shutil.copyfile(src, os.path.join(out_dir, fn))
                copied.append(fn)
        missing = [fn for fn in TOKENIZER_FILES if fn not in copied]
        if missing:
            log(f"  tokenizer dir lacks {', '.join(missing)}; copied {', '.join(copied) or 'nothing'}")

    files = {}
    for fn in sorted(os.listdir(out_dir)):
        path = os.path.join(out_dir, fn)
        if fn.endswith(".safetensors") or fn in (st.INDEX_FILE, "config.json"):
            files[fn] = {"bytes": os.path.getsize(path), "sha256": sha256_file(path)}
    return {"out": out_dir, "spec": spec.__dict__ | {"linear_std": spec.linear_std}, "files": files,
            "tokenizer_files": copied, "seconds": round(time.time() - t0, 1),
            "calibration_logits": {"min": float(cal_logits.min()), "max": float(cal_logits.max()),
                                   "std": float(cal_logits.std())}}


def write_calibrated_head(mw, seed: int, h: np.ndarray) -> np.ndarray:
    """XLMRobertaClassificationHead calibrated on the token-0 states h [n, H] of the calibration pairs (see the module
    docstring), written to `mw`; returns the calibration logits [n]."""
    H = h.shape[1]
    mu = h.mean(axis=0)
    wd = rng_for(seed, "classifier.dense.weight").standard_normal((H, H))
    z = (h - mu) @ wd.T
    wd *= (CLASSIFIER_PRE_TANH_STD / z.std(axis=0))[:, None]
    bd = -(wd @ mu)
    wd, bd = wd.astype(np.float32), bd.astype(np.float32)
    t = np.tanh(h @ wd.astype(np.float64).T + bd.astype(np.float64))
    wo = rng_for(seed, "classifier.out_proj.weight").standard_normal((1, H))
    logits = t @ wo.T
    wo *= CLASSIFIER_LOGIT_STD / logits.std()
    bo = -(t @ wo.T).mean(axis=0)
    mw.write("classifier.dense.weight", wd)
    mw.write("classifier.dense.bias", bd)
    mw.write("classifier.out_proj.weight", wo.astype(np.float32))
    mw.write("classifier.out_proj.bias", bo.astype(np.float32))
    return (t @ wo.T + bo)[:, 0]


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--all-tiny", action="store_true", help="regenerate tiny-a, tiny-b, tiny-c under tests/fixtures/models")
    ap.add_argument("--out", help="output folder (created if missing)")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--intermediate", type=int)
    ap.add_argument("--max-positions", type=int)
    ap.add_argument("--vocab", type=int)
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"])
    ap.add_argument("--seed", type=int)
    ap.add_argument("--shards", type=int, help="number of safetensors shards (1 = model.safetensors)")
    ap.add_argument("--weight-std", type=float, help="std of encoder Linear weights (default 0.02*sqrt(1024/H))")
    ap.add_argument("--tokenizer-dir", help="copy sentencepiece.bpe.model, tokenizer.json, tokenizer_config.json, "
                                            "special_tokens_map.json from here (those present)")
    args = ap.parse_args()

    if args.all_tiny:
        jobs = [(PRESETS[n], os.path.join(FIXTURE_DIR, n)) for n in ("tiny-a", "tiny-b", "tiny-c")]
    else:
        if not args.out:
            ap.error("--out is required (or --all-tiny)")
        if args.preset:
            spec = PRESETS[args.preset]
        else:
            need = ["hidden", "layers", "heads", "intermediate", "max_positions", "vocab"]
            lacking = [n for n in need if getattr(args, n) is None]
            if lacking:
                ap.error("without --preset, give " + ", ".join("--" + n.replace("_", "-") for n in lacking))
            spec = ModelSpec(args.hidden, args.layers, args.heads, args.intermediate, args.max_positions, args.vocab)
        overrides = {k: getattr(args, k) for k in ("hidden", "layers", "heads", "intermediate", "max_positions",
                                                    "vocab", "dtype", "seed", "shards", "weight_std")
                     if getattr(args, k) is not None}
        spec = replace(spec, **overrides)
        jobs = [(spec, args.out)]

    for spec, out in jobs:
        if spec.hidden % spec.heads:
            raise SystemExit(f"hidden {spec.hidden} is not a multiple of heads {spec.heads}")
        print(f"making {out}", file=sys.stderr)
        summary = generate(spec, out, args.tokenizer_dir, log=lambda m: print(m, file=sys.stderr))
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
