#!/usr/bin/python3
"""PyTorch baseline for benchmarks: the reference forward (reference.py) in float32 eager mode,
the same ops as transformers' eager XLM-R path (linear, view/permute, matmul, softmax, layer_norm,
erf gelu), under torch.inference_mode(). A model whose config.json names a ModernBert architecture runs
tools/model/modernbert.py's forward instead (its float32 path: the ops of transformers' eager ModernBERT, [B,1,T,T]
masks and T x T scores included); `modernbert.py bench ARGS` is the same as `bench_reference.py ARGS`. A config whose
auto_map names jina-reranker-v2's XLMRobertaFlashConfig runs tools/model/jina.py's forward (the ops of its own code's
non-flash path: merged Wqkv, einsum scores, a -10000 padding bias); `jina.py bench ARGS` is the same. A GTE
NewForSequenceClassification config runs tools/model/gte.py's float32 forward (new-impl's eager ops, its float32 rotary
tables), likewise `gte.py bench ARGS`. A DebertaV2ForSequenceClassification config (mxbai-rerank-v1) runs
tools/model/deberta.py's float32 forward (transformers' eager DeBERTa-v2 ops: c2p / p2c through torch.gather over
[B, N, T, 2S] products, the [B, 1, T, T] XSoftmax mask), likewise `deberta.py bench ARGS`. A Qwen3/Qwen2/Gemma
ForCausalLM config (the decoder rerankers) runs tools/model/decoder.py's bench_forward in float32: the whole prompt per
row, no key/value reuse, the last token through the full-vocabulary head. A BertForSequenceClassification config
(ms-marco-MiniLM and the other BERT cross-encoders) runs tools/model/bert.py's forward in float32, token types 1 after
the first [SEP] as the pair template sets them.

    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1000000000000 \\
    /usr/bin/python3 tools/model/bench_reference.py --model /work/models/full --ids ids.json \\
        --threads 2 --batch-size 10 --warmup 2 --runs 5

or `--tuned-malloc` to have it set those two variables itself. Why: with glibc's default malloc,
PyTorch mmaps and munmaps every tensor above 32 MB, and on this VM touching fresh pages runs at
~0.5 GB/s, so the default-malloc baseline is ~3x slower at 10x512 tokens and ~8x at 1x4096
(shared/research/ort.md, finding 9). State which one a published number used: the output's
"malloc" field says it.

- ids.json: a JSON list of id lists, or JSON Lines of {"input_ids": [...]}. Sequences are sorted
  by length, cut into batches of --batch-size, and each batch is right-padded to its own longest.
- Weights are read into memory as float32 (F16/BF16 upcast) with plain file reads, no mapping, so
  peak RSS is one copy of the weights plus activations, as for a transformers model.
- One run = every batch once; --warmup runs are not timed in the results.
- Threads: --threads N sets torch.set_num_threads(N) and, by re-executing itself when needed,
  OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = N (Debian's torch does its fp32 GEMMs in OpenBLAS,
  which reads its own variable).
- After the timed runs it times a [5120,1024] x [1024,4096] fp32 matmul (42.9 GFLOP): above
  100 GFLOP/s means OpenBLAS (not the reference BLAS) is doing the GEMMs (ort.md measured 160-187).

Prints one JSON object on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time

TUNED_MALLOC = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "1000000000000"}


def _parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--ids", required=True, help="JSON list of id lists, or JSON Lines of {\"input_ids\": [...]}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs before the timed ones")
    ap.add_argument("--runs", type=int, default=5, help="timed runs")
    ap.add_argument("--tuned-malloc", action="store_true",
                    help="re-run itself with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1000000000000")
    ap.add_argument("--gemm-reps", type=int, default=5, help="timed repetitions of the GEMM check (0: skip)")
    ap.add_argument("--print-logits", action="store_true", help="include the logits (input order) in the output")
    return ap.parse_args(argv)


def _ensure_environment(args) -> None:
    """Threads and malloc settings must be in the environment before torch/OpenBLAS/glibc read them."""
    want = {"OMP_NUM_THREADS": str(args.threads), "OPENBLAS_NUM_THREADS": str(args.threads)}
    if args.tuned_malloc:
        want |= TUNED_MALLOC
    if any(os.environ.get(k) != v for k, v in want.items()):
        env = dict(os.environ) | want
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main(argv=None) -> None:
    args = _parse_args(argv)
    _ensure_environment(args)

    import numpy as np
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import golden_logits  # noqa: E402  (read_ids)
    import reference  # noqa: E402
    import safetensors_io as st  # noqa: E402

    torch.set_num_threads(args.threads)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731

    # ---- load
    t0 = time.perf_counter()
    cfg = reference.load_config(args.model)
    mt = st.ModelTensors(args.model)
    arrays = {}
    for name in mt.keys():
        f = mt.where[name]
        info = f.header[name]
        count = int(np.prod(info["shape"], dtype=np.int64))
        stored = np.fromfile(f.path, dtype=st.DTYPES[info["dtype"]][1], count=count,
                             offset=f.data_start + info["data_offsets"][0]).reshape(info["shape"])
        arrays[name] = st.decode(stored, info["dtype"], np.float32)
        del stored
    del mt
    weights = reference.WeightSource(reference.DictTensors(arrays), torch.float32)
    # ModernBERT checkpoints run modernbert.py's forward (same ops as transformers' eager path), jina-reranker-v2 jina.py's,
    # GTE ones gte.py's, DeBERTa-v2/v3 ones deberta.py's;
    # anything else is XLM-R.
    engine = "pytorch eager float32 (tools/model/reference.py), torch.inference_mode"
    forward = reference.forward
    if (cfg.get("architectures") or [""])[0].startswith("ModernBert"):
        import modernbert  # noqa: E402
        engine = "pytorch eager float32 (tools/model/modernbert.py: transformers' eager ModernBERT ops), torch.inference_mode"
        forward = modernbert.forward
    elif (cfg.get("architectures") or [""])[0] == "NewForSequenceClassification":
        import gte  # noqa: E402
        engine = "pytorch eager float32 (tools/model/gte.py: new-impl's eager NewForSequenceClassification ops), torch.inference_mode"
        forward = gte.forward
    elif (cfg.get("architectures") or [""])[0] == "DebertaV2ForSequenceClassification":
        import deberta  # noqa: E402
        engine = "pytorch eager float32 (tools/model/deberta.py: transformers' eager DebertaV2ForSequenceClassification ops), torch.inference_mode"
        forward = deberta.forward
    elif (cfg.get("architectures") or [""])[0] == "BertForSequenceClassification":
        import bert  # noqa: E402
        engine = "pytorch eager float32 (tools/model/bert.py: transformers' eager BertForSequenceClassification ops), torch.inference_mode"

        def forward(w, cfg, ids, mask):
            # The pair template's segments: 0 through the first [SEP], 1 after it (padding stays 0, masked anyway).
            after_sep = (torch.cumsum((ids == bert.SEP).to(torch.int64), dim=1) - (ids == bert.SEP).to(torch.int64)) > 0
            return bert.forward(w, cfg, ids, (after_sep & (mask > 0)).to(torch.int64), mask)
    elif (cfg.get("architectures") or [""])[0] in ("Qwen3ForCausalLM", "Qwen2ForCausalLM", "GemmaForCausalLM"):
        import decoder  # noqa: E402
        engine = "pytorch eager float32 (tools/model/decoder.py: transformers' eager Qwen2/Qwen3/Gemma decoder ops, the whole prompt per row), torch.inference_mode"
        forward = decoder.bench_forward
    import jina  # noqa: E402
    if jina.is_jina(cfg):
        engine = "pytorch eager float32 (tools/model/jina.py: jina-reranker-v2's own code, non-flash path), torch.inference_mode"
        forward = jina.forward
    load_seconds = time.perf_counter() - t0
    rss_after_load = _status_mib("VmRSS")
    log(f"loaded {args.model} in {load_seconds:.1f} s, RSS {rss_after_load:.0f} MiB")

    # ---- batches
    seqs = golden_logits.read_ids(args.ids)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    batches = []
    for b0 in range(0, len(order), args.batch_size):
        chunk = order[b0:b0 + args.batch_size]
        # Decoder configs may name no pad id; padding is masked, so any id does.
        ids, mask = reference.pad_batch([seqs[i] for i in chunk], cfg.get("pad_token_id") or 0)
        batches.append((chunk, torch.from_numpy(ids), torch.from_numpy(mask)))
    tokens = sum(len(s) for s in seqs)
    padded_tokens = sum(int(ids.numel()) for _, ids, _ in batches)

    def one_run():
        out = [0.0] * len(seqs)
        with torch.inference_mode():
            for chunk, ids, mask in batches:
                logits = forward(weights, cfg, ids, mask)[:, 0]
                for i, v in zip(chunk, logits.tolist()):
                    out[i] = v
        return out

    for r in range(args.warmup):
        t = time.perf_counter()
        one_run()
        log(f"warm-up {r + 1}/{args.warmup}: {time.perf_counter() - t:.3f} s")
    times = []
    logits = None
    for r in range(args.runs):
        t = time.perf_counter()
        logits = one_run()
        times.append(time.perf_counter() - t)
        log(f"run {r + 1}/{args.runs}: {times[-1]:.3f} s")
    peak_rss = _status_mib("VmHWM")

    # ---- GEMM check (after the runs, so its buffers do not count in the model's peak RSS)
    gemm = None
    if args.gemm_reps > 0:
        M, K, N = 5120, 1024, 4096
        a = torch.randn(M, K)
        b = torch.randn(K, N)
        c = torch.empty(M, N)
        torch.mm(a, b, out=c)          # warm-up: first touch of c, thread pool start
        gemm_ms = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(args.gemm_reps):
            t = time.perf_counter()
            torch.mm(a, b, out=c)
            gemm_ms.append((time.perf_counter() - t) * 1e3)
        # CPU seconds per wall second of this process: below ~0.9 x threads, other processes took
        # cores from it, and a low GFLOP/s says more about the host than about the BLAS.
        busy = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        gflops = 2 * M * K * N / (statistics.median(gemm_ms) / 1e3) / 1e9
        gemm = {"shape_mkn": [M, K, N], "gflop": round(2 * M * K * N / 1e9, 1), "runs_ms": [round(x, 1) for x in gemm_ms],
                "median_gflops": round(gflops, 1), "openblas_active": gflops > 100,
                "cpu_per_wall": round(busy, 2), "loadavg": open("/proc/loadavg").read().split()[:3]}

    # Debian builds torch with BLAS_INFO=generic: libblas.so.3, which the alternatives system points
    # at OpenBLAS (or the slow reference BLAS); the mapped library tells which one is in use.
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas_info = "BLAS_INFO=" + (found.group(1) if found else "?")
    with open("/proc/self/maps") as f:
        blas_libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    blas = {"torch_build": blas_info, "mapped_libraries": blas_libs}
    median = statistics.median(times) if times else float("nan")
    env_keys = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_"]
    result = {
        "engine": engine,
        "torch_version": torch.__version__,
        "blas": blas,
        "threads": args.threads,
        "malloc": "tuned" if all(os.environ.get(k) == v for k, v in TUNED_MALLOC.items()) else "default",
        "env": {k: os.environ.get(k) for k in env_keys},
        "model": os.path.abspath(args.model),
        "model_shape": {k: cfg[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                            "intermediate_size", "vocab_size", "max_position_embeddings")},
        "load_seconds": round(load_seconds, 2),
        "sequences": len(seqs),
        "tokens": tokens,
        "padded_tokens": padded_tokens,
        "batch_size": args.batch_size,
        "batches_b_x_t": [list(ids.shape) for _, ids, _ in batches],
        "warmup_runs": args.warmup,
        "run_seconds": [round(t, 4) for t in times],
        "median_seconds": round(median, 4),
        "min_seconds": round(min(times), 4) if times else None,
        "tokens_per_second": round(tokens / median, 1),
        "padded_tokens_per_second": round(padded_tokens / median, 1),
        "rss_after_load_mib": round(rss_after_load, 1),
        "peak_rss_mib": round(peak_rss, 1),
        "gemm_check": gemm,
    }
    if args.print_logits:
        result["logits"] = logits
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
