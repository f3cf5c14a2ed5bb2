#!/usr/bin/env bash
# The reliability figures of docs/reliability.md: starts `rerank serve` on loopback, runs one rerank-load mode against
# it with the server's pid (so the resident set measured is the server's alone), then stops the server with SIGTERM.
#
#   bench/reliability.sh overload|soak|cancel MODEL [rerank serve flags...] [-- rerank-load flags...]
#
# e.g. flock /work/bench.lock bench/reliability.sh soak tests/fixtures/models/tiny-a --threads 2 -- --minutes 20 --clients 8
# Benchmarks saturate the machine: run them under the shared lock, one at a time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
mode="$1"; model="$2"; shift 2
serve=(); load=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; load=("$@"); break; fi
  serve+=("$1"); shift
done

dotnet build -c Release -v quiet -nologo "$repo/src/RerankSharp.Cli" >/dev/null
dotnet build -c Release -v quiet -nologo "$repo/bench/RerankSharp.LoadTest" >/dev/null
log="$(mktemp)"
dotnet "$repo/src/RerankSharp.Cli/bin/Release/net10.0/rerank.dll" serve --model "$model" --port 0 --open-metrics "${serve[@]}" 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 600); do
  url=$(sed -n 's/.* on \(http:[^ ]*\) .*/\1/p' "$log" | head -n 1)
  [ -n "$url" ] && break
  kill -0 $server 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { echo "rerank serve did not start" >&2; cat "$log" >&2; exit 1; }
echo "server pid $server on $url: rerank serve --model $model ${serve[*]}" >&2
dotnet "$repo/bench/RerankSharp.LoadTest/bin/Release/net10.0/rerank-load.dll" "$mode" --url "$url" --pid "$server" "${load[@]}"
