#!/usr/bin/python3
"""Golden logits from the float64 reference (reference.py).

Fixture mode: for each tiny model writes tests/fixtures/models/<name>/golden_logits.json with padded
batches of random pair-template ids (batch sizes 1, 3, 8; lengths 3 .. max_position_embeddings - 2;
one probe sequence alone and inside padded batches, for batch invariance):

    /usr/bin/python3 tools/model/golden_logits.py --all-tiny
    /usr/bin/python3 tools/model/golden_logits.py --model tests/fixtures/models/tiny-a      # one model, in place

Ids mode: logits for externally given ids (e.g. tokenized text pairs), one case per sequence:

    /usr/bin/python3 tools/model/golden_logits.py --model DIR --ids ids.json --out out.json [--batch-size 8]

ids.json is a JSON list of id lists ([[0, 9, 2, 2, 17, 2], ...]), or JSON Lines of {"input_ids": [...]}
(what `rerank tokenize` prints). Each list is the full sequence with its specials; no padding.

Output format (both modes):
{
  "format": "reranksharp.golden-logits.v1",
  "generator": "tools/model/golden_logits.py", "reference": "...", "torch_version": "...", "numpy_version": "...",
  "date": "2025-01-01T00:00:00Z", "dtype": "float64",
  "model": "tiny-a", "model_sha256": {"config.json": "...", "model.safetensors": "..."},
  "pad_token_id": 1, "torch_fp32_max_abs_diff": 1.2e-05,
  "cases": [{"name": "...", "input_ids": [[...]], "attention_mask": [[...]], "logits": [...]}],
  "batch_invariance": {"probe": [["b1_probe", 0], ["b3_mixed", 1], ...], ...}      (fixture mode only)
}
input_ids/attention_mask are [B][T] (right-padded with pad_token_id, mask 0 on pads); logits[b] is
the single logit (num_labels = 1) of row b, a float64 printed with 17 significant digits.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURE_DIR = os.path.join(REPO, "tests", "fixtures", "models")
TINY = ("tiny-a", "tiny-b", "tiny-c")
BOS, EOS = 0, 2
FIRST_CONTENT_ID = 4   # after <s>, <pad>, </s>, <unk>


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def model_hashes(model_dir: str) -> dict:
    return {fn: sha256_file(os.path.join(model_dir, fn)) for fn in sorted(os.listdir(model_dir))
            if fn == "config.json" or fn.endswith(".safetensors") or fn == "model.safetensors.index.json"}


def header(model_dir: str, cfg: dict) -> dict:
    return {
        "format": "reranksharp.golden-logits.v1",
        "generator": "tools/model/golden_logits.py",
        "reference": "tools/model/reference.py: float64 re-implementation of transformers' "
                     "XLMRobertaForSequenceClassification forward (eval, dropout off)",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dtype": "float64",
        "model": os.path.basename(os.path.normpath(model_dir)),
        "model_sha256": model_hashes(model_dir),
        "pad_token_id": cfg["pad_token_id"],
        "max_sequence_length": cfg["max_position_embeddings"] - cfg["pad_token_id"] - 1,
    }


# ---------------------------------------------------------------------------------------------- sequences

def make_sequence(rng: np.random.Generator, length: int, vocab: int) -> list[int]:
    """`<s> q </s></s> d </s>` with random content ids in [4, vocab - 2] (vocab - 1 is <mask>);
    lengths 3..5 are too short for a pair with both parts non-empty and use `<s> t </s>`."""
    if length < 3:
        raise ValueError("length must be >= 3")
    if length < 6:
        return [BOS] + rng.integers(FIRST_CONTENT_ID, vocab - 1, size=length - 2).tolist() + [EOS]
    content = rng.integers(FIRST_CONTENT_ID, vocab - 1, size=length - 4).tolist()
    q = int(rng.integers(1, length - 4))
    return [BOS] + content[:q] + [EOS, EOS] + content[q:] + [EOS]


def fixture_cases(cfg: dict, seed: int) -> tuple[list[tuple[str, list[list[int]]]], dict]:
    """The named batches of one tiny model and where the repeated sequences sit in them."""
    rng = np.random.default_rng(seed)
    V = cfg["vocab_size"]
    L = cfg["max_position_embeddings"] - cfg["pad_token_id"] - 1     # longest sequence the positions allow
    seq = lambda n: make_sequence(rng, n, V)  # noqa: E731
    probe = seq(23)
    longest = seq(L)
    len3 = seq(3)
    mid = min(L - 1, max(7, L // 3))
    cases = [
        ("b1_len3", [len3]),
        ("b1_len6_minimal_pair", [seq(6)]),
        ("b1_probe", [probe]),
        ("b1_max_length", [longest]),
        ("b3_mixed", [seq(mid), probe, seq(4)]),
        ("b3_same_length_no_padding", [seq(40), seq(40), seq(40)]),
        ("b8_mixed_with_max", [seq(9), len3, seq(mid), seq(5), longest, probe, seq(L - 1), seq(64)]),
        ("b8_short", [seq(int(n)) for n in rng.integers(6, 41, size=5)] + [probe, seq(6), seq(12)]),
        ("b8_probe_repeated", [probe, seq(30), probe, seq(7), seq(50), probe, seq(3), probe]),
    ]
    invariance: dict[str, list] = {}
    for label, s in (("probe", probe), ("max_length", longest), ("len3", len3)):
        invariance[label] = [[name, r] for name, batch in cases for r, row in enumerate(batch) if row == s]
    return cases, invariance


# ---------------------------------------------------------------------------------------------- output

def _dump(obj, indent=0) -> str:
    """JSON with objects indented, lists of scalars inline, lists of lists one inner list per line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad}  {json.dumps(k)}: {_dump(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"
        items = [f"{pad}  {_dump(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    if isinstance(obj, float):
        return repr(obj)          # shortest repr that round-trips the float64
    return json.dumps(obj)


def write_json(path: str, obj: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(_dump(obj) + "\n")


def run_case(ref: reference.Reference, seqs: list[list[int]]) -> tuple[dict, float]:
    ids, mask = reference.pad_batch(seqs, ref.cfg["pad_token_id"])
    f64 = ref.logits(ids, mask, torch.float64)[:, 0]
    f32 = ref.logits(ids, mask, torch.float32)[:, 0].double()
    case = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": [float(v) for v in f64]}
    return case, float((f32 - f64).abs().max())


def fixture_golden(model_dir: str, seed: int) -> dict:
    ref = reference.Reference(model_dir)
    out = header(model_dir, ref.cfg)
    cases, invariance = fixture_cases(ref.cfg, seed)
    worst = 0.0
    out_cases = []
    for name, seqs in cases:
        case, d = run_case(ref, seqs)
        worst = max(worst, d)
        out_cases.append({"name": name} | case)
    out["torch_fp32_max_abs_diff"] = worst
    all_logits = [v for c in out_cases for v in c["logits"]]
    out["logit_range"] = [min(all_logits), max(all_logits)]
    out["cases"] = out_cases
    out["batch_invariance"] = invariance
    return out


def read_ids(path: str) -> list[list[int]]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    seqs = [d["input_ids"] if isinstance(d, dict) else d for d in data]
    if not seqs or not all(isinstance(s, list) and s and all(isinstance(i, int) for i in s) for s in seqs):
        raise SystemExit(f"{path}: expected a JSON list of non-empty id lists, or JSON Lines of {{\"input_ids\": [...]}}")
    return seqs


def ids_golden(model_dir: str, seqs: list[list[int]], batch_size: int) -> dict:
    ref = reference.Reference(model_dir)
    out = header(model_dir, ref.cfg)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))     # batches of similar length
    logits = [0.0] * len(seqs)
    worst = 0.0
    for b0 in range(0, len(order), batch_size):
        chunk = order[b0:b0 + batch_size]
        case, d = run_case(ref, [seqs[i] for i in chunk])
        worst = max(worst, d)
        for i, v in zip(chunk, case["logits"]):
            logits[i] = v
        print(f"  {min(b0 + batch_size, len(order))}/{len(order)} sequences", file=sys.stderr)
    out["torch_fp32_max_abs_diff"] = worst
    out["cases"] = [{"name": f"ids[{i}]", "input_ids": [s], "attention_mask": [[1] * len(s)], "logits": [logits[i]]}
                    for i, s in enumerate(seqs)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all-tiny", action="store_true", help="write golden_logits.json into tiny-a, tiny-b, tiny-c")
    ap.add_argument("--model", help="model folder")
    ap.add_argument("--ids", help="ids mode: JSON list of id lists, or JSON Lines of {\"input_ids\": [...]}")
    ap.add_argument("--out", help="output file (default in fixture mode: MODEL/golden_logits.json)")
    ap.add_argument("--batch-size", type=int, default=8, help="ids mode: sequences per padded batch")
    ap.add_argument("--seed", type=int, default=1234, help="fixture mode: seed of the random sequences")
    args = ap.parse_args()

    if args.ids:
        if not args.model or not args.out:
            ap.error("--ids needs --model and --out")
        write_json(args.out, ids_golden(args.model, read_ids(args.ids), args.batch_size))
        print(f"wrote {args.out}", file=sys.stderr)
        return
    models = [os.path.join(FIXTURE_DIR, n) for n in TINY] if args.all_tiny else [args.model] if args.model else []
    if not models:
        ap.error("give --all-tiny, --model DIR, or --model DIR --ids FILE --out FILE")
    if args.out and len(models) > 1:
        ap.error("--out names one file; use it with --model")
    for m in models:
        path = args.out or os.path.join(m, "golden_logits.json")
        g = fixture_golden(m, args.seed)
        write_json(path, g)
        print(f"wrote {path}: {sum(len(c['logits']) for c in g['cases'])} logits in {len(g['cases'])} cases, "
              f"range [{g['logit_range'][0]:.3f}, {g['logit_range'][1]:.3f}], "
              f"torch fp32 max |diff| {g['torch_fp32_max_abs_diff']:.2e}, {os.path.getsize(path)} bytes",
              file=sys.stderr)


if __name__ == "__main__":
    main()
