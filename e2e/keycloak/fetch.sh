#!/usr/bin/env bash
# Fetches the Keycloak server distribution the e2e uses as its identity provider, from Maven
# Central only (org.keycloak:keycloak-quarkus-dist:<version>:zip), and unpacks it into the cache:
#   ${TOKENGATE_CACHE:-$HOME/.cache/tokengate}/keycloak-<version>/
# and pre-builds it ("kc.sh build") for the options the e2e runs it with, so each start is a
# `kc.sh start --optimized` that skips Quarkus re-augmentation (about a minute on 2 cores).
# Idempotent and cached: a second run does nothing. Safe to run concurrently (flock).
# Prints the distribution directory on stdout; progress goes to stderr.
# Environment: TOKENGATE_KEYCLOAK_JAVA_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64; 21+).
set -euo pipefail

KEYCLOAK_VERSION="${TOKENGATE_KEYCLOAK_VERSION:-26.7.3}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${TOKENGATE_CACHE:-$HOME/.cache/tokengate}"
DIST="$CACHE/keycloak-$KEYCLOAK_VERSION"
ARTIFACT="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
KC_JAVA_HOME="${TOKENGATE_KEYCLOAK_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
# Build-time options; io.tokengate.e2e.idp.Keycloak starts the server with matching runtime ones.
# dev-mem: a fresh in-memory database per start (no state shared between runs); local cache:
# one node, no cluster discovery; health/metrics endpoints are not used by the tests.
BUILD_OPTIONS=(--db=dev-mem --cache=local --health-enabled=false --metrics-enabled=false)
MARKER_TEXT="$KEYCLOAK_VERSION ${BUILD_OPTIONS[*]}"
MARKER=".tokengate-build"

log() { printf '[keycloak-fetch] %s\n' "$*" >&2; }

built() { [[ -x $DIST/bin/kc.sh && -f $DIST/$MARKER && $(cat "$DIST/$MARKER") == "$MARKER_TEXT" ]]; }

if built; then
  log "cached: $DIST"
  echo "$DIST"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/keycloak-fetch.lock"
flock 9
if built; then
  echo "$DIST"
  exit 0
fi
[[ -x $KC_JAVA_HOME/bin/java ]] || {
  log "ERROR: Keycloak needs Java 21+: no JDK at $KC_JAVA_HOME (set TOKENGATE_KEYCLOAK_JAVA_HOME)"
  exit 1
}

command -v unzip >/dev/null 2>&1 || { log "ERROR: 'unzip' is required"; exit 1; }

if [[ ! -x $DIST/bin/kc.sh ]]; then
  WORK="$(mktemp -d "$CACHE/keycloak-fetch.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  log "resolving $ARTIFACT through Maven (about 200 MB on the first run)"
  # -N: the root pom only; the goal needs no project module. The zip lands in ~/.m2 as well, so a
  # wiped cache re-fetches nothing.
  "$ROOT/mvnw" -B -q -N -f "$ROOT/pom.xml" "$DEPENDENCY_PLUGIN:copy" \
    -Dartifact="$ARTIFACT" -DoutputDirectory="$WORK" -Dmdep.useBaseVersion=true >&2
  ZIP="$WORK/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
  [[ -f $ZIP ]] || { log "ERROR: Maven did not produce $ZIP"; exit 1; }

  log "unpacking into $DIST"
  unzip -q "$ZIP" -d "$WORK/unpacked"
  TOP="$(find "$WORK/unpacked" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  [[ -x $TOP/bin/kc.sh ]] || chmod +x "$TOP"/bin/*.sh
  rm -rf "$DIST"
  mv "$TOP" "$DIST"
fi

log "pre-building Keycloak for ${BUILD_OPTIONS[*]} (about a minute, once)"
rm -f "$DIST/$MARKER"
JAVA_HOME="$KC_JAVA_HOME" "$DIST/bin/kc.sh" build "${BUILD_OPTIONS[@]}" >"$CACHE/keycloak-build.log" 2>&1 || {
  tail -n 30 "$CACHE/keycloak-build.log" >&2
  log "ERROR: kc.sh build failed; full log: $CACHE/keycloak-build.log"
  exit 1
}
echo "$MARKER_TEXT" >"$DIST/$MARKER"
log "ready: $DIST"
echo "$DIST"
