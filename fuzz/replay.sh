#!/usr/bin/env bash
# Replays every committed input under fuzz/corpus/TARGET (seeds and the crashes fuzzing found) through its target,
# uninstrumented: deterministic, ~20 s, no afl-fuzz needed. Prints one line per target and "N passed, N failed"
# (targets), and exits 1 if any input had an outcome other than a result or the code's own refusal.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
harness="$here/RerankSharp.Fuzz/bin/Release/net10.0/RerankSharp.Fuzz.dll"
[ -f "$harness" ] || dotnet build "$here/RerankSharp.Fuzz" -c Release -v quiet -nologo >/dev/null || exit 1
passed=0; failed=0
for target in $(dotnet "$harness" --list | cut -f1); do
  if dotnet "$harness" --replay "$target" "$here/corpus/$target" > "/tmp/rerank-fuzz-replay-$target.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  tail -n 1 "/tmp/rerank-fuzz-replay-$target.log"
done
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
