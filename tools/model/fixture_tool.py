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


def golden_with_text_pairs(model_dir: str, cfg: dict, groups, texts, forward):
    """golden_batches over `groups` plus the case `text_pairs` (the tokenized `texts`, each with its query and document)
    for the fixture in `model_dir`: (cases, every logit, the largest float32 difference)."""
    groups.append(("text_pairs", [x["input_ids"] for x in texts]))
    mt = st.ModelTensors(model_dir)
    cases, all_logits, max32 = golden_batches(groups, forward, _Weights(mt, torch.float64), _Weights(mt, torch.float32), cfg)
    cases[-1]["pairs"] = [{"query": x["query"], "document": x["document"]} for x in texts]
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


def make_fixture(out: str, s, cfg: dict, shapes: dict, draw, pair_of, forward, pad_id: int, tokenizer_dir: str, tokenizer_files) -> dict:
    """A model folder of spec `s` (its seed, dtype, max_positions): every tensor of `shapes` drawn by `draw(name, shape)`
    but the classifier, which is calibrated on 32 random pairs (`pair_of(rng, length)`) through `forward`; then
    write_folder. Returns write_folder's summary and the parameter count."""
    os.makedirs(out, exist_ok=True)
    arrays = {n: draw(n, shape) for n, shape in shapes.items() if not n.startswith("classifier.")}
    rng = make_model.rng_for(s.seed, "calibration-inputs")
    seqs = [pair_of(rng, int(rng.integers(6, min(48, s.max_positions) + 1))) for _ in range(32)]
    arrays["classifier.weight"], arrays["classifier.bias"] = calibrated_classifier(forward, arrays, cfg, seqs, pad_id, s.seed)
    return write_folder(out, {n: arrays[n] for n in shapes}, s.dtype, cfg, tokenizer_dir, tokenizer_files) | {
        "parameters": int(sum(np.prod(shape) for shape in shapes.values()))}


def calibrated_classifier(forward, arrays: dict, cfg: dict, seqs, pad_id: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """classifier.weight [1, H] and .bias [1]: a random direction (seeded by `seed` and the tensor's name) scaled so that
    `seqs` give logits of std 2 around 0 (as bert.py's), from the float64 pooled states of `forward` over `arrays`."""
    H = cfg["hidden_size"]
    ids, mask = right_pad(seqs, pad_id)
    eye = {"classifier.weight": np.eye(H), "classifier.bias": np.zeros(H)}
    with torch.inference_mode():
        pooled = forward(_Weights(arrays | eye, torch.float64), cfg, ids, mask).numpy()      # [len(seqs), H]
    direction = make_model.rng_for(seed, "classifier.weight").standard_normal((1, H))
    direction *= make_model.CLASSIFIER_LOGIT_STD / (pooled @ direction.T).std()
    return direction.astype(np.float32), (-(pooled @ direction.T).mean(axis=0)).astype(np.float32)


def golden_groups(rng: np.random.Generator, ids_of, P: int, mixed_long: int):
    """The golden batches every fixture has (gte.py's, deberta.py's): single rows of 3, 6, 23 (the probe) and P tokens,
    three mixed rows (9, the probe, `mixed_long`), three of 17 unpadded, eight from 3 to P, eight short, and the probe
    repeated among padded rows; `ids_of(n)` makes one sequence of n ids from `rng`. Returns (groups, probe, longest)."""
    probe = ids_of(23)
    longest = ids_of(P)
    groups = [
        ("b1_len3", [ids_of(3)]),
        ("b1_len6_minimal_pair", [ids_of(6)]),
        ("b1_probe", [probe]),
        ("b1_max_length", [longest]),
        ("b3_mixed", [ids_of(9), probe, ids_of(mixed_long)]),
        ("b3_same_length_no_padding", [ids_of(17) for _ in range(3)]),
        ("b8_mixed_with_max", [ids_of(n) for n in (3, 5, 12, 31, 64, P // 2, P - 1)] + [longest]),
        ("b8_short", [ids_of(int(n)) for n in rng.integers(4, 20, size=8)]),
        ("b8_probe_repeated", [probe if k % 3 == 0 else ids_of(int(rng.integers(4, min(120, P)))) for k in range(8)]),
    ]
    return groups, probe, longest


def selfcheck(fixtures, fixture_dir: str, seqs_of, forward, route, bugs, not_applicable, na_label: str, fp32_label: str) -> None:
    """The selfcheck of a fixture script: for each fixture, 12 sequences (`seqs_of(cfg)`) in one padded batch through
    `forward` in float64 against each row alone, against an independent `route(w64, cfg, seqs)` -> (label, logits of its
    first rows), against the float32 path, and against each of `bugs` ((name, label) injected through forward's `bug`;
    skipped where `not_applicable(cfg, bug)`); prints the table and exits non-zero when the reference disagrees with
    itself or a bug hides within 10x the fp32 noise."""
    rows, failures = {}, []
    for name in fixtures:
        d = os.path.join(fixture_dir, name)
        cfg = json.load(open(os.path.join(d, "config.json")))
        mt = st.ModelTensors(d)
        w64, w32 = _Weights(mt, torch.float64), _Weights(mt, torch.float32)
        seqs = seqs_of(cfg)
        ids, mask = right_pad(seqs, cfg["pad_token_id"])
        with torch.inference_mode():
            ref = forward(w64, cfg, ids, mask)[:, 0]
            alone = torch.stack([forward(w64, cfg, *right_pad([q], cfg["pad_token_id"]))[0, 0] for q in seqs])
            route_label, routed = route(w64, cfg, seqs)
            res = {"padded batch vs each row alone (float64)": float((ref - alone).abs().max()),
                   route_label: float((ref[:len(routed)] - routed).abs().max()),
                   fp32_label: float((ref - forward(w32, cfg, ids, mask)[:, 0].double()).abs().max())}
            for bug, _ in bugs:
                res[bug] = None if not_applicable(cfg, bug) else float((ref - forward(w64, cfg, ids, mask, bug=bug)[:, 0]).abs().max())
        rows[name] = res
        noise = res[fp32_label]
        if res["padded batch vs each row alone (float64)"] > 1e-12 or res[route_label] > 1e-10:
            failures.append(f"{name}: the reference disagrees with itself")
        for bug, _ in bugs:
            if res[bug] is not None and res[bug] < 10 * max(noise, 1e-6):
                failures.append(f"{name}: {bug} moves logits by {res[bug]:.1e}, within 10x the fp32 noise {noise:.1e}")
    print_table(rows, fixtures, dict(bugs), na_label)
    if failures:
        raise SystemExit("\n".join(failures))
    print("selfcheck passed", file=sys.stderr)


def _Weights(source, dtype):
    from modernbert import Weights   # modernbert.py imports this module: resolved at call time
    return Weights(source, dtype)


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
