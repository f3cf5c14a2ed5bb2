"""What the per-architecture fixture scripts (modernbert.py, gte.py) share: writing a model folder, running the golden
batches through a reference forward, printing the selfcheck table, and the make/golden/selfcheck/bench command line."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from dataclasses import replace

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model  # noqa: E402
import safetensors_io as st  # noqa: E402


class Weights:
    """A model folder's tensors by safetensors name, as torch tensors in float64 or float32, each read once."""

    def __init__(self, model_dir: str, dtype):
        self.t = st.ModelTensors(model_dir)
        self.np_dtype = np.float64 if dtype == torch.float64 else np.float32
        self.cache = {}

    def __call__(self, name):
        if name not in self.cache:
            self.cache[name] = torch.from_numpy(np.array(self.t.get(name, self.np_dtype), order="C"))
        return self.cache[name]


def right_pad(seqs, pad_id):
    """Token id lists as int64 [B, T] ids (pads on the right) and the attention mask."""
    T = max(len(q) for q in seqs)
    ids = np.full((len(seqs), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), T), dtype=np.int64)
    for b, q in enumerate(seqs):
        ids[b, :len(q)] = q
        mask[b, :len(q)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def write_folder(out: str, arrays: dict, dtype: str, cfg: dict, tokenizer_dir: str, tokenizer_files) -> dict:
    """model.safetensors (every array stored as `dtype`, replacing any earlier weight files), config.json, and the
    tokenizer files: linked when `out` is a fixture folder, so a tokenizer fixture is stored once, copied elsewhere."""
    for stale in os.listdir(out):
        if stale.endswith(".safetensors"):
            os.remove(os.path.join(out, stale))
    st.save_file({n: (a, dtype) for n, a in arrays.items()}, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    inside = os.path.abspath(out).startswith(os.path.abspath(make_model.FIXTURE_DIR) + os.sep)
    for fn in tokenizer_files:
        target = os.path.join(out, fn)
        if os.path.lexists(target):
            os.remove(target)
        if inside:
            os.symlink(os.path.relpath(os.path.join(tokenizer_dir, fn), out), target)
        else:
            with open(os.path.join(tokenizer_dir, fn), "rb") as src, open(target, "wb") as dst:
                dst.write(src.read())
    path = os.path.join(out, "model.safetensors")
    return {"out": out, "bytes": os.path.getsize(path), "sha256": make_model.sha256_file(path)}


def golden_batches(groups, forward, w64, w32, cfg: dict):
    """Each (name, sequences) group right-padded and run through `forward` in float64 (the golden logits) and float32:
    the golden-logits cases, every logit, and the largest float32 difference."""
    cases, all_logits, max32 = [], [], 0.0
    with torch.inference_mode():
        for name, seqs in groups:
            ids, mask = right_pad(seqs, cfg["pad_token_id"])
            l64 = forward(w64, cfg, ids, mask)[:, 0]
            l32 = forward(w32, cfg, ids, mask)[:, 0].to(torch.float64)
            max32 = max(max32, float((l64 - l32).abs().max()))
            all_logits += l64.tolist()
            cases.append({"name": name, "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": [float(v) for v in l64]})
    return cases, all_logits, max32


def write_golden(model_dir: str, generator: str, reference: str, cfg: dict, resolved: dict, groups, cases, all_logits, max32: float,
                 repeated: dict) -> None:
    """golden_logits.json (reranksharp.golden-logits.v1) of `golden_batches`' results; `repeated` names sequences
    (the probe, the longest) whose places in `groups` make the batch_invariance groups."""
    doc = {
        "format": "reranksharp.golden-logits.v1",
        "generator": generator,
        "reference": reference,
        "torch_version": torch.__version__, "numpy_version": np.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "dtype": "float64",
        "model": os.path.basename(os.path.normpath(model_dir)),
        "model_sha256": make_model.sha256_file(os.path.join(model_dir, "model.safetensors")),
        "pad_token_id": cfg["pad_token_id"], "max_sequence_length": cfg["max_position_embeddings"],
        "resolved": resolved,
        "torch_fp32_max_abs_diff": max32,
        "logit_range": [min(all_logits), max(all_logits)],
        "cases": cases,
        "batch_invariance": {key: [[n, i] for n, seqs in groups for i, q in enumerate(seqs) if q == seq] for key, seq in repeated.items()},
    }
    with open(os.path.join(model_dir, "golden_logits.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
        f.write("\n")
    print(f"{model_dir}: {len(all_logits)} logits in [{min(all_logits):.2f}, {max(all_logits):.2f}], fp32 max |Δ| {max32:.1e}",
          file=sys.stderr)


def print_table(rows: dict, fixtures, labels: dict, not_applicable: str) -> None:
    """The selfcheck's markdown table: one row per measurement, one column per fixture; a None cell is not applicable."""
    print("| | " + " | ".join(fixtures) + " |")
    print("| --- |" + " --- |" * len(fixtures))
    for key in rows[fixtures[0]]:
        cells = []
        for n in fixtures:
            v = rows[n][key]
            cells.append(not_applicable if v is None else f"{v:.1e}" if v < 0.01 else f"{v:.2g}")
        print(f"| {'bug: ' + labels[key] if key in labels else key} | " + " | ".join(cells) + " |")


def main(doc: str, presets: dict, tiny, make, golden, selfcheck) -> None:
    """make / golden / selfcheck over the tiny fixtures or a preset; `bench ARGS` is bench_reference.py's."""
    if len(sys.argv) > 1 and sys.argv[1] == "bench":
        import bench_reference
        bench_reference.main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["make", "golden", "selfcheck", "bench"])
    ap.add_argument("--all-tiny", action="store_true")
    ap.add_argument("--preset", choices=sorted(presets))
    ap.add_argument("--out", help="model folder (make: created; golden: read)")
    ap.add_argument("--dtype", choices=["F32", "F16", "BF16"], help="override the preset's stored dtype")
    args = ap.parse_args()
    if args.command == "selfcheck":
        selfcheck()
        return
    if args.all_tiny:
        jobs = [(presets[n], os.path.join(make_model.FIXTURE_DIR, n)) for n in tiny]
    elif args.out and (args.preset or args.command == "golden"):
        jobs = [(presets.get(args.preset), args.out)]
    else:
        ap.error("give --all-tiny, or --preset and --out (golden: --out)")
    for spec, out in jobs:
        if args.command == "make":
            if args.dtype:
                spec = replace(spec, dtype=args.dtype)
            print(json.dumps(make(spec, out)))
        else:
            golden(out)
