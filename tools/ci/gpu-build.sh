#!/usr/bin/env bash
# Restores and compiles the GPU variant (-p:RerankGpu=cuda: Microsoft.ML.OnnxRuntime.Gpu.Linux instead of
# Microsoft.ML.OnnxRuntime), in its own artifacts folder so the CPU build's obj/ and bin/ are left alone, then checks
# that the CUDA provider library is in the output and runs the fixture model with --device cuda. Without a GPU (or
# without CUDA 13 / cuDNN 9 on the library path) that run must warn once and score on the CPU; with them, on CUDA.
# Prints the time and size of each step. Usage: tools/ci/gpu-build.sh [ARTIFACTS_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

artifacts="${1:-$PWD/artifacts/gpu}"
project=src/RerankSharp.Cli/RerankSharp.Cli.csproj
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
gpu_version=$(sed -n 's/.*"Microsoft.ML.OnnxRuntime.Gpu.Linux" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)

step() { local name=$1; shift; local start=$SECONDS; "$@"; echo "gpu-build: $name took $((SECONDS - start)) s"; }

step restore dotnet restore "$project" -p:RerankGpu=cuda --artifacts-path "$artifacts"
step build dotnet build "$project" -c Release -p:RerankGpu=cuda --artifacts-path "$artifacts" --no-restore -warnaserror

out="$artifacts/bin/RerankSharp.Cli/release"
native="$out/runtimes/linux-x64/native"
for lib in libonnxruntime.so libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
  [ -f "$native/$lib" ] || { echo "gpu-build: $native/$lib is missing: the GPU runtime was not swapped in" >&2; exit 1; }
done
echo "gpu-build: package Microsoft.ML.OnnxRuntime.Gpu.Linux $gpu_version: $(du -sh "$packages/microsoft.ml.onnxruntime.gpu.linux/$gpu_version" | cut -f1) in $packages"
echo "gpu-build: output $(du -sh "$out" | cut -f1) ($out), CUDA provider $(du -h "$native/libonnxruntime_providers_cuda.so" | cut -f1)"
echo "gpu-build: the CUDA provider needs: $(readelf -d "$native/libonnxruntime_providers_cuda.so" | sed -n 's/.*NEEDED.*\[\(libcu[^]]*\)\]/\1/p' | tr '\n' ' ')"

# The GPU build on this machine: --device cuda must give the same scores as the CPU build, with one warning when
# the CUDA provider cannot start.
input='{"query": "what is a reranker?", "documents": ["A cross-encoder reads query and passage together.", "Bananas are yellow."]}'
stderr=$(mktemp)
scores=$(echo "$input" | dotnet "$out/rerank.dll" score --model tests/fixtures/models/tiny-a --device cuda --precision fp16 2>"$stderr")
echo "gpu-build: rerank score --device cuda --precision fp16 on tiny-a: $scores"
sed 's/^/gpu-build: stderr: /' "$stderr"
others=$(grep -cv '^warning: ' "$stderr" || true)
rm -f "$stderr"
[ -n "$scores" ] || { echo "gpu-build: no scores" >&2; exit 1; }
# Only our own warnings: ONNX Runtime's raw log lines (a failed provider load) must not reach the user.
[ "$others" -eq 0 ] || { echo "gpu-build: $others lines on standard error besides warnings" >&2; exit 1; }
echo "gpu-build: ok"
