#!/usr/bin/env bash
# tokengate benchmark: the upstream directly, nginx, oauth2-proxy and the tokengate sidecar,
# measured in one run on this machine, plus the sidecar's 10,000-connection burst in a memory
# cgroup and its start to ready as the image starts it. Installs what it needs, builds the
# sidecar's jar and image when missing or older than their sources, sends traffic only to
# 127.0.0.1, stops everything it started, and gives up after BENCH_TIMEOUT seconds (default 2400).
# Writes bench/RESULTS.md, bench/results.png and bench/raw/. See bench/README.md.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
export TOKENGATE_CACHE="${TOKENGATE_CACHE:-$HOME/.cache/tokengate}"
BIN="$TOKENGATE_CACHE/bin"
VENV="$TOKENGATE_CACHE/venv-bench"
OAUTH2_PROXY_VERSION=v7.15.6
VEGETA_VERSION=v12.13.0
mkdir -p "$BIN"

say() { echo "[bench] $*"; }

# --- tools from Debian: nginx (the proxy baseline and the upstream) and wrk
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Go tools, built from their modules: oauth2-proxy (the peer) and vegeta (open-loop load)
# (go install leaves the binaries' own version strings empty: ask the Go build info instead)
if ! go version -m "$BIN/oauth2-proxy" 2>/dev/null | grep -q "oauth2-proxy/v7[[:space:]]*${OAUTH2_PROXY_VERSION}"; then
  say "go install oauth2-proxy ${OAUTH2_PROXY_VERSION} (first run: a few minutes)"
  GOBIN="$BIN" go install "github.com/oauth2-proxy/oauth2-proxy/v7@${OAUTH2_PROXY_VERSION}"
fi
if ! go version -m "$BIN/vegeta" 2>/dev/null | grep -q "vegeta/v12[[:space:]]*${VEGETA_VERSION}"; then
  say "go install vegeta ${VEGETA_VERSION}"
  GOBIN="$BIN" go install "github.com/tsenart/vegeta/v12@${VEGETA_VERSION}"
fi

# --- Python for the issuer, the token minter and the chart
if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
  say "python venv with matplotlib in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'matplotlib>=3.8'
fi

# --- the sidecar: build it when the jar (or, for the startup scenario, the image) is missing or
# older than the sources it is made of. The image (Jib tarball: jlink-ed JDK 25 + AOT cache) is
# what "start to ready as the image starts it" measures; building it also builds the jar.
JAR="${SIDECAR_JAR:-$REPO/sidecar/target/tokengate-sidecar.jar}"
IMAGE="${SIDECAR_IMAGE:-$REPO/sidecar/target/jib-image.tar}"
stale() { [[ ! -f $1 ]] || [[ -n "$(find "$REPO/sidecar/src/main" "$REPO/api/src/main" "$REPO/sidecar/pom.xml" "${@:2}" -newer "$1" -print -quit)" ]]; }
if [[ "${SKIP_BUILD:-0}" != 1 && -d "$REPO/sidecar/src/main" ]]; then
  if [[ ",${SCENARIOS:-startup}," == *,startup,* && -z ${SIDECAR_IMAGE:-} ]] && stale "$IMAGE" "$REPO/helm/images"; then
    say "building the sidecar and its image: ./mvnw -B -q -Pimages -pl sidecar -am package -DskipTests"
    (cd "$REPO" && ./mvnw -B -q -Pimages -pl sidecar -am package -DskipTests) ||
      say "sidecar image build failed: the image's start will be reported as not measured"
  fi
  if stale "$JAR"; then
    say "building the sidecar: ./mvnw -B -q -pl sidecar -am package -DskipTests"
    (cd "$REPO" && ./mvnw -B -q -pl sidecar -am package -DskipTests) ||
      say "sidecar build failed: its scenarios will be skipped if no jar exists"
  fi
fi
# A jar written by two builds at once is corrupt and fails only at the first class it misses.
if [[ -f "$JAR" ]] && ! "$VENV/bin/python" -c 'import sys, zipfile; sys.exit(zipfile.ZipFile(sys.argv[1]).testzip() is not None)' "$JAR"; then
  say "$JAR is corrupt: rebuilding"
  (cd "$REPO" && ./mvnw -B -q -pl sidecar -am package -DskipTests)
fi

# The command as given, with the settings it was given, for RESULTS.md.
settings=""
for v in DURATION WARMUP CONNECTIONS THREADS RATE RATE_WARMUP RATE_DURATION TOKENS STARTS ROUNDS SCENARIOS \
  MAX_IN_FLIGHT BENCH_NICE QUIET_LOAD QUIET_WAIT SIDECAR_JAVA_OPTS SIDECAR_ALT_JAVA_OPTS SIDECAR_JAR SIDECAR_IMAGE \
  BURST_CONNECTIONS SLOW_HEADS JAVA SKIP_BUILD AGGREGATE; do
  if [[ -n "${!v:-}" ]]; then settings+="$v=$(printf '%q' "${!v}") "; fi
done
export BENCH_COMMAND="${settings}bench/run.sh${*:+ $*}"
say "running (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
cd "$REPO"
exec timeout --kill-after=30 "${BENCH_TIMEOUT:-2400}" "$VENV/bin/python" "$BENCH_DIR/lib/bench.py" "$@"
