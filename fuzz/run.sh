#!/usr/bin/env bash
# Fuzzes every parser of outside bytes with afl-fuzz + SharpFuzz, one target after the other.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]      (default 60 s, all targets; `--list` names them)
#
# Prints one line per target (executions, corpus, edges, crashes, hangs) and exits 1 if any target found a
# crash or a hang that replays; each such input is replayed on an uninstrumented build with its stack trace.
# Findings stay in fuzz/out/findings/TARGET (git-ignored); a crash becomes a regression test in tests/.
# Needs afl-fuzz (Debian: apt-get install -y afl++); the SharpFuzz instrumenter is installed into fuzz/.tools.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/out"
seconds="${1:-60}"
shift || true
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz/run.sh: afl-fuzz not found; install it (Debian: apt-get install -y afl++)" >&2
  exit 2
fi
sharpfuzz="$here/.tools/sharpfuzz"
if [ ! -x "$sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$here/.tools" >/dev/null
fi

# Two builds: one instrumented for afl-fuzz, one plain to replay findings on (instrumented code expects afl's map).
rm -rf "$out/instrumented" "$out/replay"
dotnet publish "$here/RerankSharp.Fuzz" -c Release -o "$out/replay" -v quiet -nologo >/dev/null
cp -r "$out/replay" "$out/instrumented"
for dll in RerankSharp.dll RerankSharp.Server.dll rerank.dll Google.Protobuf.dll; do
  "$sharpfuzz" "$out/instrumented/$dll" >/dev/null
done

harness() { dotnet "$out/$1/RerankSharp.Fuzz.dll" "${@:2}"; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(harness replay --list | cut -f1)

# afl-fuzz drives `dotnet`, which carries no afl instrumentation of its own (SharpFuzz's fork server speaks
# the protocol); no CPU binding, as the machine is shared; crashes are unhandled .NET exceptions, not cores.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
# An input that makes the harness allocate without bound fails as OutOfMemoryException: a crash, not a stall.
export DOTNET_GCHeapHardLimit=0x40000000

status=0
printf '%-22s %10s %8s %8s %7s %8s %6s\n' target executions exec/s corpus edges crashes hangs
for target in "${targets[@]}"; do
  findings="$out/findings/$target"
  rm -rf "$findings"
  mkdir -p "$findings"
  afl-fuzz -i "$here/corpus/$target" -o "$findings" -V "$seconds" -t 5000 -m none -x "$here/json.dict" \
    -- dotnet "$out/instrumented/RerankSharp.Fuzz.dll" "$target" >"$findings/afl.log" 2>&1 || {
      echo "$target: afl-fuzz failed; see $findings/afl.log" >&2; tail -n 20 "$findings/afl.log" >&2; status=1; continue; }
  stats="$findings/default/fuzzer_stats"
  value() { sed -n "s/^$1 *: *//p" "$stats"; }
  crashes=$(value saved_crashes); hangs=$(value saved_hangs)
  printf '%-22s %10s %8s %8s %7s %8s %6s\n' "$target" "$(value execs_done)" "$(value execs_per_sec)" "$(value corpus_count)" \
    "$(value edges_found)" "$crashes" "$hangs"
  if [ "$crashes" != 0 ]; then
    status=1
    harness replay --replay "$target" "$findings/default/crashes" | grep -v '^ *at System\.' || true
  fi
  if [ "$hangs" != 0 ]; then
    # A hang under a loaded machine may be a slow run; it counts when it is slow on replay too.
    if ! timeout 60 dotnet "$out/replay/RerankSharp.Fuzz.dll" --replay "$target" "$findings/default/hangs" | tee "$findings/hangs-replay.log" | grep -q '^SLOW\|^FAIL'; then
      echo "$target: the $hangs hang(s) replay in under 2 s each (machine load); not counted" >&2
    else
      status=1; cat "$findings/hangs-replay.log"
    fi
  fi
done
exit $status
