#!/usr/bin/env bash
# Builds the container images the real-node e2e imports into containerd
# (`ctr -n k8s.io images import FILE`), as docker-archive tarballs; no Docker, no registry.
#
#   TOKENGATE_IMAGE_PAUSE     tokengate.local/pause:3.10      the pod sandbox (cmd/pause)
#   TOKENGATE_IMAGE_TESTAPP   tokengate.local/testapp:0.1.0   HTTP/1.1 echo app (cmd/testapp)
#   TOKENGATE_IMAGE_CLIENT    tokengate.local/client:0.1.0    HTTP client CLI (cmd/client)
#   TOKENGATE_IMAGE_OPERATOR  tokengate/operator:<appVersion> Jib, operator/target/jib-image.tar
#   TOKENGATE_IMAGE_SIDECAR   tokengate/sidecar:<appVersion>  Jib, sidecar/target/jib-image.tar
#   TOKENGATE_IMAGE_REDIRECT_INIT  tokengate/redirect-init:<appVersion>  the product's init program
#                             for `interception: Redirect` (redirect-init/, a Go module of its own)
#
# The three test images are static Go programs (CGO_ENABLED=0) on an empty base, one layer each,
# running as 65532 (pause as 65535, like the upstream pause image); cmd/imagetar writes them.
# The operator and sidecar tarballs are Maven's (`./mvnw -Pimages package`, see
# helm/tokengate/README.md); this script runs that build when a tarball is missing or older
# than any source it is made from (api/, operator/, sidecar/, helm/images/, the poms), unless
# TOKENGATE_IMAGES_NO_MAVEN=1 (then a missing or stale tarball is an error: the caller, e.g.
# a Maven build that already made them, is responsible). Every tarball is checked with
# `imagetar verify` (digests, tag, entrypoint, loader and libraries, non-root user, /tmp)
# before its path is exported. <appVersion> is helm/tokengate/Chart.yaml's appVersion: the
# Jib tags must match it, so a version drift fails here.
#
# Usage: build.sh [--test]
#   stdout: only `export ...` lines (so `eval "$(build.sh)"` works); progress goes to stderr.
#   --test  also run the Go tests (tarball checks, the programs run from their tarballs).
#
# Cache: ${TOKENGATE_CACHE:-$HOME/.cache/tokengate}/images/<hash>/ where <hash> covers this
# directory's sources and the Go version; one flock (images/build.lock) serialises builders.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${TOKENGATE_CACHE:-$HOME/.cache/tokengate}"
IMAGES="$CACHE/images"
RUN_TESTS=0
for arg in "$@"; do
  case $arg in
    --test) RUN_TESTS=1 ;;
    *) echo "usage: build.sh [--test]" >&2; exit 2 ;;
  esac
done

START=$(date +%s)
log() { printf '[images %4ss] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { printf '\n[images] ERROR: %s\n\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is required (https://go.dev/dl); 'go' is not on PATH"
command -v flock >/dev/null 2>&1 || die "'flock' (util-linux) is required"

APP_VERSION=$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}.*/\1/p' "$REPO/helm/tokengate/Chart.yaml")
[[ -n $APP_VERSION ]] || die "no appVersion in $REPO/helm/tokengate/Chart.yaml"

REDIRECT_INIT="$REPO/redirect-init"
HASH=$( { go version; echo "$APP_VERSION"; cd "$REPO" && find e2e/images redirect-init -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -name build.sh \) | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
OUT="$IMAGES/$HASH"
mkdir -p "$IMAGES"

# ---- the Go images: cached by source hash ----
exec 9>"$IMAGES/build.lock"
if ! flock -n 9; then
  log "another build holds $IMAGES/build.lock; waiting for it"
  flock 9
fi
if [[ -f $OUT/.complete ]]; then
  log "test images cached in $OUT"
else
  log "building pause, testapp, client, imagetar and redirect-init (Go $(go env GOVERSION)) into $OUT"
  rm -rf "$OUT.tmp"
  mkdir -p "$OUT.tmp/bin"
  (cd "$HERE" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$OUT.tmp/bin/" ./cmd/...) >&2
  (cd "$REDIRECT_INIT" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$OUT.tmp/bin/redirect-init" .) >&2
  tool="$OUT.tmp/bin/imagetar"
  "$tool" build --tag tokengate.local/pause:3.10 --binary "$OUT.tmp/bin/pause" --name /pause --user 65535:65535 --out "$OUT.tmp/pause.tar"
  "$tool" build --tag tokengate.local/testapp:0.1.0 --binary "$OUT.tmp/bin/testapp" --name /testapp --out "$OUT.tmp/testapp.tar"
  "$tool" build --tag tokengate.local/client:0.1.0 --binary "$OUT.tmp/bin/client" --name /client --out "$OUT.tmp/client.tar"
  "$tool" verify --static --tag tokengate.local/pause:3.10 "$OUT.tmp/pause.tar"
  "$tool" verify --static --tag tokengate.local/testapp:0.1.0 "$OUT.tmp/testapp.tar"
  "$tool" verify --static --tag tokengate.local/client:0.1.0 "$OUT.tmp/client.tar"
  # Runs as root in the pod (runAsUser 0 with NET_ADMIN only, see operator/README.md); the image's
  # own user stays non-root like every other image.
  "$tool" build --tag "tokengate/redirect-init:$APP_VERSION" --binary "$OUT.tmp/bin/redirect-init" --name /redirect-init --out "$OUT.tmp/redirect-init.tar"
  "$tool" verify --static --tag "tokengate/redirect-init:$APP_VERSION" "$OUT.tmp/redirect-init.tar"
  touch "$OUT.tmp/.complete"
  rm -rf "$OUT"
  mv "$OUT.tmp" "$OUT"
  # Older builds of other source versions are dead weight.
  find "$IMAGES" -mindepth 1 -maxdepth 1 -type d ! -name "$HASH" -exec rm -rf {} +
  log "test images built: $(du -sh "$OUT" | cut -f1)"
fi
flock -u 9

# ---- the Jib images: Maven's, rebuilt when stale ----
OPERATOR_TAR="$REPO/operator/target/jib-image.tar"
SIDECAR_TAR="$REPO/sidecar/target/jib-image.tar"
stale() {
  local tar=$1 module=$2
  [[ -f $tar ]] || return 0
  [[ -n $(find "$REPO/api" "$REPO/$module" "$REPO/helm/images" "$REPO/pom.xml" -type f -newer "$tar" \
    -not -path '*/target/*' -print -quit) ]]
}
need=()
stale "$OPERATOR_TAR" operator && need+=(operator)
stale "$SIDECAR_TAR" sidecar && need+=(sidecar)
if ((${#need[@]})); then
  [[ ${TOKENGATE_IMAGES_NO_MAVEN:-0} == 1 ]] &&
    die "missing or stale: ${need[*]} image tarball(s); build them with: ./mvnw -B -Pimages -pl $(IFS=,; echo "${need[*]}") -am package -DskipTests"
  log "building the ${need[*]} image(s) with Maven (./mvnw -Pimages; a few minutes)"
  (cd "$REPO" && ./mvnw -B -q -Pimages -pl "$(IFS=,; echo "${need[*]}")" -am package -DskipTests ${TOKENGATE_MAVEN_ARGS:-}) >&2 ||
    die "the Maven image build failed (output above)"
fi
"$OUT/bin/imagetar" verify --tag "tokengate/operator:$APP_VERSION" "$OPERATOR_TAR"
"$OUT/bin/imagetar" verify --tag "tokengate/sidecar:$APP_VERSION" "$SIDECAR_TAR"

exports() {
  cat <<EOF
export TOKENGATE_IMAGE_PAUSE='$OUT/pause.tar'
export TOKENGATE_IMAGE_TESTAPP='$OUT/testapp.tar'
export TOKENGATE_IMAGE_CLIENT='$OUT/client.tar'
export TOKENGATE_IMAGE_OPERATOR='$OPERATOR_TAR'
export TOKENGATE_IMAGE_SIDECAR='$SIDECAR_TAR'
export TOKENGATE_IMAGE_REDIRECT_INIT='$OUT/redirect-init.tar'
EOF
}

if ((RUN_TESTS)); then
  log "go test ./... on the exported images"
  (eval "$(exports)" && cd "$HERE" && CGO_ENABLED=0 go test -count=1 ./...) >&2 || die "image tests failed (output above)"
  (cd "$REDIRECT_INIT" && CGO_ENABLED=0 go test -count=1 ./...) >&2 || die "redirect-init tests failed (output above)"
fi
log "done"
exports
