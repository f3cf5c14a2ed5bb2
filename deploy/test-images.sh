#!/usr/bin/env bash
# Builds deploy/Dockerfile and deploy/Dockerfile.cuda with a Docker engine on this machine and checks the images for
# real: /health, each rerank route family against `rerank score` on the host, demo, HEALTHCHECK, non-root with a
# writable cache volume, a model baked in at build time from the tests' fake hub started offline, docker stop during a
# long request, the CUDA image's CPU fallback without a GPU, and compose.yaml. Ends with "N passed, N failed".
#
# From a clean Debian machine, as root (or with sudo): installs docker.io, mmdebstrap, docker-compose and jq when missing,
# starts dockerd when none answers, and makes local stand-ins for the base images, which cannot be pulled here:
# mcr.microsoft.com/dotnet/{runtime-deps,aspnet,sdk}:10.0 from a Debian bookworm root filesystem plus this machine's .NET,
# and the nvidia/cuda tag of Dockerfile.cuda from Debian trixie (Ubuntu 24.04's t64 package names) without CUDA. An
# image already under such a tag that is not a stand-in (a real pull) is used as it is. docs/deploy.md says what the
# stand-ins verify and what only the real images can.
#
# Builds use the legacy builder (DOCKER_BUILDKIT=0): Debian's docker.io has no buildx, and BuildKit would fetch the
# `# syntax=docker/dockerfile:1` frontend from Docker Hub. Builds run with --network host, so they reach NuGet and
# Debian exactly as this machine does (same resolver, same CA bundle). Containers under test run with --network host
# and RERANK_HOST=127.0.0.1, or --network none; every request goes to 127.0.0.1.
#
# Usage: deploy/test-images.sh
#   RERANK_IMAGES_MODEL=DIR  mount this model folder instead of tests/fixtures/models/tiny-a (e.g. the full-size random
#                            model of tools/model/make_model.py, to measure start-to-ready)
#   RERANK_IMAGES_WORK=DIR   working folder (default /var/tmp/reranksharp-images): logs, the host's rerank build
#   RERANK_IMAGES_NO_CACHE=1 build the images without the layer cache (the first build's times)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=${RERANK_IMAGES_WORK:-/var/tmp/reranksharp-images}
model=$(readlink -f "${RERANK_IMAGES_MODEL:-$repo/tests/fixtures/models/tiny-a}")
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOCKER_BUILDKIT=0
mkdir -p "$work"

cpu_image=reranksharp-test:cpu
baked_image=reranksharp-test:cpu-baked
cuda_image=reranksharp-test:cuda
baked_model=test-org/tiny-reranker
cuda_base=$(sed -n 's/^ARG CUDA_IMAGE=//p' deploy/Dockerfile.cuda)
stand_in_label=org.reranksharp.stand-in

passed=0 failed=0
say() { echo "images: $*"; }
now_ms() { date +%s%3N; }
seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }
# check NAME FUNCTION [ARGS...]: the function returns 0 to pass; otherwise it leaves the reason in $why.
check() {
  local name=$1; shift
  why="returned non-zero"
  if "$@"; then passed=$((passed + 1)); say "PASS $name"
  else failed=$((failed + 1)); say "FAIL $name: $why"; fi
}
finished=0
finish() {
  finished=1
  echo "${passed} passed, ${failed} failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit
}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Everything this run starts is removed when it ends, however it ends; images stay (the next run reuses them).
containers=() volumes=() hub_pid=""
cpu=rerank-test-cpu-$$ baked=rerank-test-baked-$$ cuda=rerank-test-cuda-$$ cache_volume=rerank-test-cache-$$
port="" base_url="" cpu_ready="" cuda_ready="" build_requests=0 hub_endpoint=""
cleanup() {
  local status=$? c v
  if [ "$finished" = 0 ]; then   # stopped by an error or a signal: still the summary line, with this as a failure
    failed=$((failed + 1)); say "FAIL the run stopped before its end (status $status)"; echo "${passed} passed, ${failed} failed"
  fi
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  for v in "${volumes[@]}"; do docker volume rm -f "$v" >/dev/null 2>&1 || true; done
  if [ -n "$hub_pid" ]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'say "error at line $LINENO: $BASH_COMMAND"' ERR
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# ---------------------------------------------------------------------------------------------------------------------
# The tools, and a Docker engine.

missing=()
{ command -v dockerd || [ -x /usr/sbin/dockerd ]; } >/dev/null || missing+=(docker.io)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
command -v ss >/dev/null || missing+=(iproute2)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian's ${missing[*]}"
  as_root apt-get update -qq
  if ! DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >"$work/apt.log" 2>&1; then
    tail -n 20 "$work/apt.log"
    failed=$((failed + 1)); say "FAIL install: apt-get install ${missing[*]} failed ($work/apt.log)"; finish
  fi
fi
# Debian's client, which matches its engine (a newer client elsewhere on PATH may want buildx for `docker build`).
docker_cli=$(command -v /usr/bin/docker || command -v docker)
docker() { "$docker_cli" "$@"; }

if ! docker info >/dev/null 2>&1; then
  say "no Docker engine answers; starting dockerd (log: $work/dockerd.log)"
  as_root setsid dockerd >"$work/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not start within 60 s; the end of its log:"
    tail -n 20 "$work/dockerd.log" | sed 's/^/images:   /'
    failed=$((failed + 1)); say "FAIL dockerd: no Docker engine on this machine"; finish
  fi
fi
say "engine: Docker $(docker version -f '{{.Server.Version}}'), storage $(docker info -f '{{.Driver}}'), client $docker_cli, legacy builder"

# ---------------------------------------------------------------------------------------------------------------------
# Stand-in base images.

dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
latest() { ls "$1" | grep -E '^10\.' | sort -V | tail -n 1; }
runtime_version=$(latest "$dotnet_root/shared/Microsoft.NETCore.App")
aspnet_version=$(latest "$dotnet_root/shared/Microsoft.AspNetCore.App")
sdk_version=$(latest "$dotnet_root/sdk")
host_ca=/etc/ssl/certs/ca-certificates.crt

# The real images' variables (github.com/dotnet/dotnet-docker, src/*/10.0/noble/amd64/Dockerfile; NVIDIA's CUDA image).
runtime_deps_env=(APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true)
aspnet_env=(DOTNET_VERSION="$runtime_version" ASPNET_VERSION="$aspnet_version")
sdk_env=(DOTNET_GENERATE_ASPNET_CERTIFICATE=false DOTNET_NOLOGO=true DOTNET_SDK_VERSION="$sdk_version"
  DOTNET_USE_POLLING_FILE_WATCHER=true NUGET_XMLDOC_MODE=skip POWERSHELL_DISTRIBUTION_CHANNEL=PSDocker-DotnetSDK-Debian-12)
# Not in the real SDK image: this machine's own NuGet setting (signature revocation is checked offline, as the host
# does; there is no route to the certificate authorities' revocation servers from here).
sdk_host_env=(NUGET_CERT_REVOCATION_MODE=offline)
cuda_env=(NVARCH=x86_64 CUDA_VERSION=13.0.1 "NVIDIA_REQUIRE_CUDA=cuda>=13.0" NV_CUDNN_VERSION=9.13.0.50-1
  NV_CUDNN_PACKAGE_NAME=libcudnn9-cuda-13 NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
  LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64
  PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)

# A Debian root filesystem as the tar file OUT: the packages the real runtime-deps image installs (Debian's names),
# trimmed and configured as Ubuntu's minimized container images are (no manuals, documentation or translations; apt
# keeps no caches; /usr merged by directory links as debootstrap does, not by the usrmerge package, which brings perl),
# the host's CA bundle (also where update-ca-certificates keeps it), and the given users.
rootfs() {
  local out=$1 suite=$2 packages=$3; shift 3
  local path trims=()
  for path in /usr/share/man/ /usr/share/doc/ /usr/share/info/ /usr/share/locale/ /usr/share/lintian/ /usr/share/groff/; do
    trims+=(--dpkgopt="path-exclude=$path*")
  done
  trims+=(--dpkgopt='path-include=/usr/share/doc/*/copyright')
  local hooks=(
    --customize-hook='printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "Dir::Cache::pkgcache \"\";" "Dir::Cache::srcpkgcache \"\";" >"$1/etc/apt/apt.conf.d/docker-clean"'
    --customize-hook='rm -f "$1"/var/cache/apt/*.bin'
    --customize-hook='echo "Acquire::Languages \"none\";" >"$1/etc/apt/apt.conf.d/docker-no-languages"'
    --customize-hook='echo "Acquire::GzipIndexes \"true\";" >"$1/etc/apt/apt.conf.d/docker-gzip-indexes"'
    --customize-hook='cp /etc/ssl/certs/ca-certificates.crt "$1/etc/ssl/certs/ca-certificates.crt"'
    --customize-hook='mkdir -p "$1/usr/local/share/ca-certificates" && cp /etc/ssl/certs/ca-certificates.crt "$1/usr/local/share/ca-certificates/host-bundle.crt"')
  local user
  for user in "$@"; do   # NAME:UID
    hooks+=(--customize-hook="chroot \"\$1\" groupadd --gid ${user#*:} ${user%%:*} && chroot \"\$1\" useradd --no-log-init --uid ${user#*:} --gid ${user#*:} --create-home ${user%%:*}")
  done
  mmdebstrap --quiet --variant=apt --include="$packages" --hook-dir=/usr/share/mmdebstrap/hooks/maybe-merged-usr \
    "${trims[@]}" "${hooks[@]}" "$suite" "$out" \
    "deb $mirror/debian $suite main" "deb $mirror/debian $suite-updates main" "deb $mirror/debian-security $suite-security main" \
    2>"$work/mmdebstrap-$suite.log" || { tail -n 20 "$work/mmdebstrap-$suite.log" | sed 's/^/images:   /'; return 1; }
}

env_changes() { local kv; for kv in "$@"; do printf -- '--change\nENV %s\n' "${kv%%=*}=\"${kv#*=}\""; done; }

# A Dockerfile (standard input) built over a context folder with the legacy builder and the host's network.
build_stand_in() {
  local tag=$1 context=$2
  docker build --network host --quiet -t "$tag" -f - "$context" >/dev/null
}

make_stand_ins() {
  local hash=$1 context="$work/stand-in-context" changes
  rm -rf "$context"; mkdir -p "$context"

  say "stand-in mcr.microsoft.com/dotnet/runtime-deps:10.0: mmdebstrap bookworm"
  mapfile -t changes < <(env_changes "${runtime_deps_env[@]}")
  rootfs "$context/bookworm.tar" bookworm ca-certificates,libc6,libgcc-s1,libicu72,libssl3,libstdc++6,tzdata,passwd app:1654 \
    && docker import "${changes[@]}" --change "LABEL $stand_in_label=$hash" --change 'CMD ["bash"]' "$context/bookworm.tar" \
      mcr.microsoft.com/dotnet/runtime-deps:10.0 >/dev/null || return 1
  rm -f "$context/bookworm.tar"

  say "stand-in mcr.microsoft.com/dotnet/aspnet:10.0: + .NET $runtime_version and ASP.NET Core $aspnet_version runtimes from $dotnet_root"
  mkdir -p "$context/aspnet/dotnet/shared/Microsoft.NETCore.App" "$context/aspnet/dotnet/shared/Microsoft.AspNetCore.App"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/LICENSE.txt" "$dotnet_root/ThirdPartyNotices.txt" "$context/aspnet/dotnet/"
  cp -a "$dotnet_root/shared/Microsoft.NETCore.App/$runtime_version" "$context/aspnet/dotnet/shared/Microsoft.NETCore.App/"
  cp -a "$dotnet_root/shared/Microsoft.AspNetCore.App/$aspnet_version" "$context/aspnet/dotnet/shared/Microsoft.AspNetCore.App/"
  build_stand_in mcr.microsoft.com/dotnet/aspnet:10.0 "$context/aspnet" <<EOF || return 1
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
ENV ${aspnet_env[*]}
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
LABEL $stand_in_label=$hash
EOF

  say "stand-in mcr.microsoft.com/dotnet/sdk:10.0: + .NET SDK $sdk_version from $dotnet_root"
  mkdir -p "$context/sdk/dotnet"
  local entry
  for entry in "$dotnet_root"/*; do
    case "$(basename "$entry")" in dotnet|host|shared|LICENSE.txt|ThirdPartyNotices.txt) ;; *) cp -a "$entry" "$context/sdk/dotnet/" ;; esac
  done
  build_stand_in mcr.microsoft.com/dotnet/sdk:10.0 "$context/sdk" <<EOF || return 1
FROM mcr.microsoft.com/dotnet/aspnet:10.0
ENV ${sdk_env[*]} ${sdk_host_env[*]}
RUN apt-get update && apt-get install -y --no-install-recommends curl git libatomic1 wget && rm -rf /var/lib/apt/lists/*
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dnx /usr/bin/dnx && dotnet help >/dev/null
LABEL $stand_in_label=$hash
EOF

  say "stand-in $cuda_base: mmdebstrap trixie, no CUDA libraries"
  mapfile -t changes < <(env_changes "${cuda_env[@]}")
  rootfs "$context/trixie.tar" trixie ca-certificates,passwd ubuntu:1000 \
    && docker import "${changes[@]}" --change "LABEL $stand_in_label=$hash" --change 'CMD ["bash"]' "$context/trixie.tar" "$cuda_base" >/dev/null || return 1
  rm -rf "$context"
}

# The stand-ins are remade when their recipe, the host's .NET or its CA bundle change.
stand_in_hash=$( { declare -f rootfs env_changes make_stand_ins; declare -p runtime_deps_env aspnet_env sdk_env sdk_host_env cuda_env;
  echo "$dotnet_root $runtime_version $aspnet_version $sdk_version $mirror"; sha256sum "$host_ca"; } | sha256sum | cut -c1-16)
stand_ins() {
  local tag label state=reuse real=()
  for tag in mcr.microsoft.com/dotnet/runtime-deps:10.0 mcr.microsoft.com/dotnet/aspnet:10.0 mcr.microsoft.com/dotnet/sdk:10.0 "$cuda_base"; do
    if ! label=$(docker image inspect -f "{{index .Config.Labels \"$stand_in_label\"}}" "$tag" 2>/dev/null); then state=make
    elif [ -z "$label" ] || [ "$label" = "<no value>" ]; then real+=("$tag")
    elif [ "$label" != "$stand_in_hash" ]; then state=make; fi
  done
  if [ "${#real[@]}" -gt 0 ]; then say "real base images present, used as they are: ${real[*]}"; [ "${#real[@]}" -eq 4 ] && return 0; fi
  if [ "$state" = reuse ]; then say "stand-ins reused (recipe $stand_in_hash)"; return 0; fi
  [ "${#real[@]}" -eq 0 ] || { why="some base images are real and some are not: ${real[*]}; remove them or pull the rest"; return 1; }
  local start; start=$(now_ms)
  make_stand_ins "$stand_in_hash" || { why="could not make the stand-ins"; return 1; }
  say "stand-ins made in $(seconds_since "$start") s (recipe $stand_in_hash)"
  docker image prune -f --filter "label=$stand_in_label" >/dev/null   # the stand-ins they replace
}
check "base images (stand-ins)" stand_ins

# ---------------------------------------------------------------------------------------------------------------------
# The host's side: `rerank` built from this checkout (the reference scores), and the tests' fake hub.

say "building rerank and the fake hub on the host"
host_rerank="$work/host-cli/rerank.dll"
fake_hub="$repo/tools/ci/fake-hub/bin/Release/net10.0/FakeHub.Server.dll"
if ! { dotnet build src/RerankSharp.Cli -c Release -o "$work/host-cli" -nologo -v q >"$work/host-build.log" 2>&1 \
       && dotnet build tools/ci/fake-hub -c Release -nologo -v q >>"$work/host-build.log" 2>&1; }; then
  tail -n 20 "$work/host-build.log"
  failed=$((failed + 1)); say "FAIL host build ($work/host-build.log)"; finish
fi
rerank() { dotnet "$host_rerank" "$@"; }

# ---------------------------------------------------------------------------------------------------------------------
# Helpers for containers.

# -v flags that show the model folder, and every folder its links point into, at their own paths: the fixtures'
# tokenizer files are relative links into tests/fixtures/tokenizer.
model_mounts=(-v "$model:$model:ro")
declare -A mounted=(["$model"]=1)
for link in "$model"/*; do
  [ -L "$link" ] || continue
  target=$(dirname "$(readlink -f "$link")")
  case "$target/" in "$model"/*) continue ;; esac
  [ -n "${mounted[$target]:-}" ] || { model_mounts+=(-v "$target:$target:ro"); mounted[$target]=1; }
done

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    [ -z "$(ss -Htln "sport = :$p")" ] && { echo "$p"; return 0; }
  done
  return 1
}

# wait_ready CONTAINER URL_OR_- SECONDS: until /health answers 200 (from the host, or inside the container with -).
wait_ready() {
  local container=$1 url=$2 limit=$3 start; start=$(now_ms)
  while [ $(( ($(now_ms) - start) / 1000 )) -lt "$limit" ]; do
    if [ "$url" = - ]; then docker exec "$container" curl -fsS -o /dev/null "http://127.0.0.1:8080/health" 2>/dev/null && return 0
    else curl -fsS -o /dev/null "$url/health" 2>/dev/null && return 0; fi
    [ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null)" = true ] || { why="the container exited: $(docker logs --tail 5 "$container" 2>&1 | tr '\n' ' ')"; return 1; }
    sleep 0.2
  done
  why="/health did not answer 200 within $limit s"; return 1
}

image_mb() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f", $1 / 1e6 }'; }

# The query and documents every route is asked, and the host's scores for them (input order).
query='中国的首都是哪里?'
documents='["北京是中国的政治中心和首都。", "首都机场位于北京,是中国重要交通枢纽。", "上海是中国最大的城市,经济发达。", "A cross-encoder reads query and passage together.", "Bananas are yellow."]'
# host_scores MODEL: rerank score on the host for the query and documents, as a JSON array. With --prepack true, as
# serve has it by default: the re-laid weight matrices take other GEMM kernels, ~2e-6 apart on the full-size model.
host_scores() {
  jq -cn --arg q "$query" --argjson d "$documents" '{query: $q, documents: $d}' \
    | rerank score --model "$1" --prepack true 2>"$work/host-score.err" | jq -c .scores
}
reference=$(host_scores "$model") || reference=""
if [ -z "$reference" ]; then
  failed=$((failed + 1)); say "FAIL rerank score on the host: $(head -c 300 "$work/host-score.err")"; finish
fi
say "host: rerank score on $(basename "$model"): $reference"

# same_scores NAME JSON: scores in input order equal the host's (float32 rounding, ~1e-7; allowed 1e-6).
same_scores() {
  local got=$1 diff
  diff=$(jq -n --argjson a "$reference" --argjson b "$got" \
    'if ($a | length) != ($b | length) or ($a | length) == 0 then "count" else [range($a | length) | ($a[.] - $b[.]) | fabs] | max end')
  [[ $diff =~ ^[0-9.eE+-]+$ ]] || { why="${got:-no scores} against the host's $reference"; return 1; }
  awk -v d="$diff" 'BEGIN { exit !(d <= 1e-6) }' || { why="max difference $diff: $got against the host's $reference"; return 1; }
}

# post PATH BODY: the body goes through standard input (a long one does not fit in an argument).
post() { curl -sS -H 'Content-Type: application/json' --data-binary @- "$base_url$1" <<<"$2"; }

# ---------------------------------------------------------------------------------------------------------------------
# The CPU image.

nocache=(); [ "${RERANK_IMAGES_NO_CACHE:-}" = 1 ] && nocache=(--no-cache)
declare -A built_seconds=()
build_image() {   # build_image TAG DOCKERFILE [ARGS...]
  local tag=$1 file=$2; shift 2
  local start; start=$(now_ms)
  if ! docker build --network host "${nocache[@]}" -f "$file" -t "$tag" "$@" . >"$work/build-${tag##*:}.log" 2>&1; then
    tail -n 15 "$work/build-${tag##*:}.log" | sed 's/^/images:   /'
    why="docker build failed ($work/build-${tag##*:}.log)"; return 1
  fi
  built_seconds[$tag]=$(seconds_since "$start")
  say "built $tag in ${built_seconds[$tag]} s: $(image_mb "$tag") MB"
}
check "build deploy/Dockerfile" build_image "$cpu_image" deploy/Dockerfile

run_cpu() {
  docker image inspect "$cpu_image" >/dev/null 2>&1 || { why="no image"; return 1; }
  port=$(free_port) || { why="no free port"; return 1; }
  base_url="http://127.0.0.1:$port"
  containers+=("$cpu"); volumes+=("$cache_volume")
  local start; start=$(now_ms)
  # The image's HEALTHCHECK, polled every second instead of every 30 s (test, timeout, retries and start period stay).
  docker run -d --name "$cpu" --network host -e RERANK_HOST=127.0.0.1 -e RERANK_PORT="$port" -e RERANK_MODEL="$model" \
    -e RERANK_SHUTDOWN_TIMEOUT=25 "${model_mounts[@]}" -v "$cache_volume:/data/huggingface" --health-interval 1s \
    -e RERANK_MAX_DOCUMENTS=8000 -e RERANK_MAX_BODY_BYTES=64000000 \
    "$cpu_image" >/dev/null || { why="docker run failed"; return 1; }
  wait_ready "$cpu" "$base_url" 300 || return 1
  cpu_ready=$(seconds_since "$start")
  say "CPU container ready (first /health 200) $cpu_ready s after docker run"
}
check "CPU image starts on 127.0.0.1 with the mounted model" run_cpu

listens_on_loopback_only() {
  local sockets; sockets=$(ss -Htln "sport = :$port" | awk '{ print $4 }' | tr '\n' ' ')
  [ "$sockets" = "127.0.0.1:$port " ] || { why="listening sockets on port $port: '$sockets'"; return 1; }
}
check "the server listens on 127.0.0.1 only" listens_on_loopback_only

health() {
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' "$base_url/health")
  [ "$code" = 200 ] || { why="GET /health answered $code"; return 1; }
}
check "GET /health" health

tei_rerank() {
  local reply; reply=$(post /rerank "$(jq -cn --arg q "$query" --argjson d "$documents" '{query: $q, texts: $d}')") || { why="no answer"; return 1; }
  same_scores "$(jq -c 'sort_by(.index) | map(.score)' <<<"$reply" 2>/dev/null || echo '[]')"
}
check "TEI POST /rerank {query, texts} = rerank score" tei_rerank

jina_rerank() {
  local reply; reply=$(post /rerank "$(jq -cn --arg q "$query" --argjson d "$documents" '{query: $q, documents: $d}')") || { why="no answer"; return 1; }
  same_scores "$(jq -c '.results | sort_by(.index) | map(.relevance_score)' <<<"$reply" 2>/dev/null || echo '[]')"
}
check "Jina POST /rerank {query, documents} = rerank score" jina_rerank

cohere_rerank() {
  local version=$1 reply
  reply=$(post "/$version/rerank" "$(jq -cn --arg q "$query" --argjson d "$documents" '{model: "m", query: $q, documents: $d, top_n: ($d | length)}')") || { why="no answer"; return 1; }
  same_scores "$(jq -c '.results | sort_by(.index) | map(.relevance_score)' <<<"$reply" 2>/dev/null || echo '[]')"
}
check "Cohere/Jina POST /v1/rerank = rerank score" cohere_rerank v1
check "Cohere POST /v2/rerank = rerank score" cohere_rerank v2

tei_tokenize() {
  local expected got
  expected=$(jq -cn --arg t "$query" '{text: $t}' | rerank tokenize --model "$model" 2>/dev/null | jq -c .input_ids)
  got=$(post /tokenize "$(jq -cn --arg t "$query" '{inputs: $t}')" | jq -c '.[0] | map(.id)' 2>/dev/null)
  [ -n "$expected" ] && [ "$got" = "$expected" ] || { why="ids $got, rerank tokenize $expected"; return 1; }
}
check "TEI POST /tokenize = rerank tokenize" tei_tokenize

healthcheck_healthy() {
  local test status start; start=$(now_ms)
  test=$(docker inspect -f '{{json .Config.Healthcheck.Test}}' "$cpu")
  [[ $test == *'curl -fsS'*'/health'* ]] || { why="the container's health check is $test, not the image's"; return 1; }
  while [ $(( ($(now_ms) - start) / 1000 )) -lt 30 ]; do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$cpu")
    [ "$status" = healthy ] && { say "health check: $(docker inspect -f '{{json .State.Health}}' "$cpu" | jq -r '"\(.Status) after \(.Log | length) probes, the last exit \(.Log[-1].ExitCode)"')"; return 0; }
    sleep 0.5
  done
  why="health status '$status' after 30 s: $(docker inspect -f '{{json .State.Health.Log}}' "$cpu" | head -c 300)"; return 1
}
check "HEALTHCHECK reaches healthy" healthcheck_healthy

non_root() {
  local pid uid name
  pid=$(docker inspect -f '{{.State.Pid}}' "$cpu")
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
  name=$(docker exec "$cpu" id -un)
  [ "$uid" = 1654 ] && [ "$name" = app ] || { why="the server process runs as uid $uid, exec user $name"; return 1; }
}
check "the server runs as app (uid 1654), not root" non_root

cache_writable() {
  local owner
  owner=$(docker exec "$cpu" stat -c %u /data/huggingface)
  docker exec "$cpu" sh -c 'f=/data/huggingface/.write-check-$$ && echo ok > "$f" && rm "$f"' \
    || { why="app cannot write to the volume at /data/huggingface (owner uid $owner)"; return 1; }
  [ "$owner" = 1654 ] || { why="/data/huggingface belongs to uid $owner"; return 1; }
}
check "the cache volume /data/huggingface is app's and writable" cache_writable

# The documents of a request that takes ~10 s here (at least one document, which must end within the 25 s drain):
# shorter ones are timed first, doubling from one document until one takes a second (after one that warms the
# shapes), so a large model is not kept busy for minutes.
long_request() {
  local count=$1
  jq -cn --argjson n "$count" --arg d "$(printf 'the quick brown fox jumps over the lazy dog %.0s' $(seq 60))" \
    '{query: "what does the fox do?", texts: [range($n) | "\(.) \($d)"]}'
}
stop_during_request() {
  local t0 t1 took per_doc count reply_file="$work/long-reply.json" code_file="$work/long-code" curl_pid in_flight stop_start stopped exit_code code results
  post /rerank "$(long_request 1)" >/dev/null || { why="the warm-up request failed"; return 1; }
  local timed=1 ms=0
  while true; do
    t0=$(now_ms); post /rerank "$(long_request "$timed")" >/dev/null || { why="the timing request failed"; return 1; }
    ms=$(( $(now_ms) - t0 ))
    [ "$ms" -lt 1000 ] && [ "$timed" -lt 512 ] || break
    timed=$((timed * 2))
  done
  per_doc=$(awk -v ms="$ms" -v n="$timed" 'BEGIN { print ms / n }')
  # About 10 s of work. On a fast CPU the tiny model scores 1,000 documents in about a second, so the container takes
  # up to 8,000 per request here (RERANK_MAX_DOCUMENTS and RERANK_MAX_BODY_BYTES above), or the request would end
  # before docker stop could catch it in flight.
  count=$(awk -v p="$per_doc" 'BEGIN { n = int(10000 / p); print (n < 1 ? 1 : (n > 8000 ? 8000 : n)) }')
  long_request "$count" >"$work/long-request.json"
  rm -f "$reply_file" "$code_file"
  t1=$(now_ms)
  curl -sS -o "$reply_file" -w '%{http_code}' -H 'Content-Type: application/json' -d @"$work/long-request.json" "$base_url/rerank" >"$code_file" &
  curl_pid=$!
  sleep 1.5
  in_flight=$(curl -s "$base_url/metrics" | awk '$1 == "rerank_requests_in_flight" { print $2 }')
  kill -0 "$curl_pid" 2>/dev/null && [ "${in_flight%.*}" -ge 1 ] 2>/dev/null \
    || { wait "$curl_pid"; why="the request of $count documents was not in flight 1.5 s after it was sent (rerank_requests_in_flight '$in_flight')"; return 1; }
  stop_start=$(now_ms)
  docker stop -t 30 "$cpu" >/dev/null
  stopped=$(seconds_since "$stop_start")
  wait "$curl_pid" || true
  took=$(seconds_since "$t1")
  code=$(cat "$code_file"); exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$cpu")
  results=$(jq length "$reply_file" 2>/dev/null || echo 0)
  say "docker stop 1.5 s into a request of $count documents (~${per_doc} ms each): it answered $code with $results results" \
    "$took s after it was sent; the container exited $exit_code, $stopped s after SIGTERM"
  [ "$code" = 200 ] && [ "$results" = "$count" ] || { why="the in-flight request got $code with $results of $count results"; return 1; }
  [ "$exit_code" = 0 ] || { why="the container exited $exit_code"; return 1; }
  awk -v s="$stopped" 'BEGIN { exit !(s < 30) }' || { why="docker stop took $stopped s: the grace period ran out"; return 1; }
}
check "docker stop during a long request: it finishes, exit 0 within the grace period" stop_during_request

# demo's ranking lines (rank, score, bar, passage) as on the host; timings differ.
demo() {
  local expected got
  expected=$(rerank demo --model "$model" 2>/dev/null | grep -E '^[0-9]+  [0-9.]+  ')
  got=$(docker run --rm --network none -e RERANK_MODEL="$model" "${model_mounts[@]}" "$cpu_image" demo 2>"$work/demo.err" | grep -E '^[0-9]+  [0-9.]+  ') \
    || { why="docker run $cpu_image demo failed: $(head -c 300 "$work/demo.err")"; return 1; }
  [ -n "$expected" ] && [ "$got" = "$expected" ] || { why="ranking lines differ from the host's: $(diff <(echo "$expected") <(echo "$got") | head -n 4 | tr '\n' ' ')"; return 1; }
  say "demo in the image (no network): $(echo "$got" | wc -l) ranked passages, as on the host"
}
check "docker run IMAGE demo (no network) = rerank demo on the host" demo

# ---------------------------------------------------------------------------------------------------------------------
# A model baked in at build time, from the tests' fake hub on 127.0.0.1.

start_hub() {
  dotnet "$fake_hub" "$baked_model" tiny-a >"$work/hub.log" 2>&1 &
  hub_pid=$!
  for _ in $(seq 100); do grep -q '^endpoint ' "$work/hub.log" && break; sleep 0.1; done
  hub_endpoint=$(sed -n 's/^endpoint //p' "$work/hub.log")
  [ -n "$hub_endpoint" ] || { why="the fake hub did not start: $(head -c 300 "$work/hub.log")"; return 1; }
  say "fake hub $hub_endpoint serving $baked_model (tests/fixtures/models/tiny-a)"
}
hub_requests() { grep -c '^request ' "$work/hub.log" || true; }

build_baked() {
  start_hub || return 1
  build_image "$baked_image" deploy/Dockerfile --build-arg MODEL="$baked_model" --build-arg HF_ENDPOINT="$hub_endpoint" || return 1
  build_requests=$(hub_requests)
  [ "$build_requests" -gt 0 ] || { why="the build never asked the fake hub"; return 1; }
  docker run --rm --network none --entrypoint sh "$baked_image" -c 'ls /opt/rerank/hub/models--test-org--tiny-reranker/snapshots/*/model.safetensors' >/dev/null \
    || { why="the image has no model.safetensors under /opt/rerank/hub"; return 1; }
  say "the build downloaded $baked_model from the fake hub ($build_requests requests)"
}
check "build with --build-arg MODEL (downloaded from the fake hub during the build)" build_baked

baked_offline() {
  docker image inspect "$baked_image" >/dev/null 2>&1 || { why="no image"; return 1; }
  local start reply env info
  containers+=("$baked")
  start=$(now_ms)
  docker run -d --name "$baked" --network none --health-interval 1s "$baked_image" >/dev/null || { why="docker run failed"; return 1; }
  wait_ready "$baked" - 120 || return 1
  say "baked container ready $(seconds_since "$start") s after docker run, with no network"
  env=$(docker exec "$baked" sh -c 'echo "$HF_HUB_OFFLINE $HF_HUB_CACHE $RERANK_MODEL"')
  [ "$env" = "1 /opt/rerank/hub $baked_model" ] || { why="HF_HUB_OFFLINE HF_HUB_CACHE RERANK_MODEL are '$env'"; return 1; }
  reply=$(docker exec "$baked" curl -sS -H 'Content-Type: application/json' \
    -d "$(jq -cn --arg q "$query" --argjson d "$documents" '{query: $q, texts: $d}')" http://127.0.0.1:8080/rerank)
  same_scores "$(jq -c 'sort_by(.index) | map(.score)' <<<"$reply" 2>/dev/null || echo '[]')" || return 1
  info=$(docker exec "$baked" curl -sS http://127.0.0.1:8080/info | jq -r .model_id)
  [ "$info" = "$baked_model" ] || { why="/info names $info"; return 1; }
  [ "$(hub_requests)" = "$build_requests" ] || { why="the hub was asked after the build"; return 1; }
  docker stop -t 30 "$baked" >/dev/null
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$baked")" = 0 ] || { why="exit code $(docker inspect -f '{{.State.ExitCode}}' "$baked")"; return 1; }
}
# Only when the mounted model is tiny-a, whose scores the baked copy must give.
if [ "$model" = "$(readlink -f "$repo/tests/fixtures/models/tiny-a")" ]; then
  check "the baked image starts with HF_HUB_OFFLINE=1 and no network, same scores" baked_offline
else
  say "baked image: scores compared only when the mounted model is tiny-a; checking that it starts offline"
  reference_saved=$reference
  reference=$(host_scores "$repo/tests/fixtures/models/tiny-a") || reference="[]"
  check "the baked image starts with HF_HUB_OFFLINE=1 and no network, same scores" baked_offline
  reference=$reference_saved
fi
if [ -n "$hub_pid" ]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; hub_pid=""; fi

# ---------------------------------------------------------------------------------------------------------------------
# The CUDA image, on a machine without a GPU.

check "build deploy/Dockerfile.cuda" build_image "$cuda_image" deploy/Dockerfile.cuda

cuda_fallback() {
  docker image inspect "$cuda_image" >/dev/null 2>&1 || { why="no image"; return 1; }
  local start logs provider reply uid diff
  containers+=("$cuda")
  port=$(free_port) || { why="no free port"; return 1; }
  base_url="http://127.0.0.1:$port"
  start=$(now_ms)
  docker run -d --name "$cuda" --network host -e RERANK_HOST=127.0.0.1 -e RERANK_PORT="$port" -e RERANK_MODEL="$model" \
    "${model_mounts[@]}" "$cuda_image" >/dev/null || { why="docker run failed"; return 1; }
  wait_ready "$cuda" "$base_url" 300 || return 1
  cuda_ready=$(seconds_since "$start")
  say "CUDA container ready $cuda_ready s after docker run"
  logs=$(docker logs "$cuda" 2>&1)
  echo "$logs" | grep -E '^(warn|warning)' | sed 's/^/images:   log: /' | cut -c1-220
  grep -q 'CUDA was requested but could not be initialised' <<<"$logs" || { why="no CUDA fallback warning in the log"; return 1; }
  grep -q 'fp16 runs natively on the CUDA provider only' <<<"$logs" || { why="no fp16-on-CPU warning in the log"; return 1; }
  provider=$(curl -s "$base_url/info" | jq -r .execution_provider)
  [ "$provider" = CPUExecutionProvider ] || { why="/info says $provider"; return 1; }
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$(docker inspect -f '{{.State.Pid}}' "$cuda")/status")
  [ "$uid" = 1654 ] || { why="runs as uid $uid"; return 1; }
  # fp16 weights on the CPU: within the fp16 budget of the tests (2e-2 relative) of the host's fp32 scores.
  reply=$(post /rerank "$(jq -cn --arg q "$query" --argjson d "$documents" '{query: $q, texts: $d}')")
  diff=$(jq -n --argjson a "$reference" --argjson b "$(jq -c 'sort_by(.index) | map(.score)' <<<"$reply")" \
    '[range($a | length) | (($a[.] - $b[.]) / $a[.]) | fabs] | max')
  [[ $diff =~ ^[0-9.eE+-]+$ ]] && awk -v d="$diff" 'BEGIN { exit !(d <= 2e-2) }' || { why="fp16 scores differ from fp32 by up to $diff (relative)"; return 1; }
  say "CUDA image on the CPU: fp16 scores within $diff (relative) of the host's fp32"
  docker stop -t 30 "$cuda" >/dev/null
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$cuda")" = 0 ] || { why="exit code $(docker inspect -f '{{.State.ExitCode}}' "$cuda")"; return 1; }
}
check "the CUDA image without a GPU serves on the CPU with the documented warnings" cuda_fallback

# ---------------------------------------------------------------------------------------------------------------------
# compose.yaml, as Debian's docker-compose reads it.

compose_valid() {
  local services
  docker-compose -f deploy/compose.yaml config -q 2>"$work/compose.err" || { why="$(head -c 300 "$work/compose.err")"; return 1; }
  services=$(docker-compose -f deploy/compose.yaml --profile gpu config --services 2>>"$work/compose.err" | sort | tr '\n' ' ')
  [ "$services" = "rerank rerank-gpu " ] || { why="services with --profile gpu: '$services'"; return 1; }
  say "compose.yaml: valid for docker-compose $(docker-compose version --short 2>/dev/null)"
}
check "compose.yaml validates with docker-compose config" compose_valid

# ---------------------------------------------------------------------------------------------------------------------
# The legacy builder keeps each build's stages as untagged images (its layer cache, 3-4 GB with the restored packages):
# those built on the stand-ins that this run's builds did not use are removed, so repeated runs do not fill the disk.

unused=0
keep=" $(grep -ho -- '---> [0-9a-f]\{12\}' "$work"/build-*.log 2>/dev/null | cut -c6- | tr '\n' ' ') "
for image in $(docker images -q --no-trunc -f dangling=true -f "label=$stand_in_label" 2>/dev/null); do
  short=${image#sha256:}; short=${short:0:12}
  [[ $keep == *" $short "* ]] && continue
  docker rmi "$image" >/dev/null 2>&1 && unused=$((unused + 1))
done
say "removed $unused untagged images of earlier builds; Docker's disk: $(docker system df --format '{{.Type}} {{.Size}}' | head -n 2 | tr '\n' ' ')"

say "sizes: $cpu_image $(image_mb "$cpu_image" 2>/dev/null || echo '?') MB (base mcr.microsoft.com/dotnet/aspnet:10.0 $(image_mb mcr.microsoft.com/dotnet/aspnet:10.0 2>/dev/null || echo '?') MB)," \
  "$baked_image $(image_mb "$baked_image" 2>/dev/null || echo '?') MB, $cuda_image $(image_mb "$cuda_image" 2>/dev/null || echo '?') MB (base $cuda_base $(image_mb "$cuda_base" 2>/dev/null || echo '?') MB)"
say "/app: $(docker run --rm --network none --entrypoint du "$cpu_image" -sm /app 2>/dev/null | cut -f1) MB in $cpu_image," \
  "$(docker run --rm --network none --entrypoint du "$cuda_image" -sm /app 2>/dev/null | cut -f1) MB in $cuda_image"
say "times: build cpu ${built_seconds[$cpu_image]:-?} s, baked ${built_seconds[$baked_image]:-?} s, cuda ${built_seconds[$cuda_image]:-?} s;" \
  "start to ready with $(basename "$model"): cpu ${cpu_ready:-?} s, cuda ${cuda_ready:-?} s"
finish
