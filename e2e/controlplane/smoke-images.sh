#!/usr/bin/env bash
# Two docker-archive images for the node's self-test (smoke.sh), made without a daemon:
#   tokengate.local/pause:3.10        the sandbox image: a tiny static Go program that waits for
#                                     SIGTERM/SIGINT and reaps children (used when
#                                     TOKENGATE_IMAGE_PAUSE is not given)
#   tokengate.local/busybox:smoke     Debian's static busybox (httpd, wget, dd, sh, ...)
# Usage: smoke-images.sh OUTDIR    stdout: `export TOKENGATE_IMAGE_...=...` lines; cached in OUTDIR.
set -euo pipefail

OUT=${1:?usage: smoke-images.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
die() {
  printf '\n[smoke-images] ERROR: %s\n\n' "$*" >&2
  exit 1
}

# docker_archive TARBALL TAG ROOTFS_DIR ENTRYPOINT_JSON : one layer, linux/amd64
docker_archive() {
  local tarball=$1 tag=$2 rootfs=$3 entrypoint=$4 work layer_sha config_sha
  work=$(mktemp -d "$OUT/.work.XXXXXX")
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$work/layer.tar" .
  layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mkdir "$work/$layer_sha"
  mv "$work/layer.tar" "$work/$layer_sha/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$entrypoint" "$layer_sha" >"$work/config.json"
  config_sha=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  mv "$work/config.json" "$work/$config_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config_sha" "$tag" "$layer_sha" >"$work/manifest.json"
  tar --owner=0 --group=0 --numeric-owner -C "$work" -cf "$tarball.tmp" manifest.json "$config_sha.json" "$layer_sha"
  mv "$tarball.tmp" "$tarball"
  rm -rf "$work"
}

PAUSE_TAR=$OUT/pause-3.10.tar
if [[ ! -f $PAUSE_TAR ]]; then
  command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || die "go is required to build the pause image"
  src=$(mktemp -d "$OUT/.pause.XXXXXX")
  cat >"$src/go.mod" <<'EOF'
module tokengate.local/pause

go 1.26.0
EOF
  cat >"$src/main.go" <<'EOF'
// pause holds a pod's namespaces: it waits for SIGTERM or SIGINT and reaps orphaned children.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
EOF
  mkdir -p "$src/rootfs"
  (cd "$src" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false go build -trimpath -ldflags '-s -w' -o rootfs/pause .) ||
    die "go build of the pause program failed"
  docker_archive "$PAUSE_TAR" tokengate.local/pause:3.10 "$src/rootfs" '["/pause"]'
  rm -rf "$src"
  echo "[smoke-images] built $PAUSE_TAR" >&2
fi

BUSYBOX_TAR=$OUT/busybox-smoke.tar
if [[ ! -f $BUSYBOX_TAR ]]; then
  BB=$(command -v busybox || true)
  if [[ -z $BB ]] || ! file "$BB" 2>/dev/null | grep -q 'statically linked'; then
    [[ -x /bin/busybox ]] && file /bin/busybox 2>/dev/null | grep -q 'statically linked' && BB=/bin/busybox
  fi
  if [[ -z $BB ]] || ! file "$BB" 2>/dev/null | grep -q 'statically linked'; then
    [[ $(id -u) -eq 0 ]] && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static >&2 ||
      die "a static busybox is required (Debian: apt-get install busybox-static)"
    BB=/bin/busybox
  fi
  root=$(mktemp -d "$OUT/.busybox.XXXXXX")
  mkdir -p "$root/bin" "$root/tmp" "$root/www"
  cp "$BB" "$root/bin/busybox"
  for a in sh httpd wget dd cat echo sleep hostname ls timeout; do ln -s busybox "$root/bin/$a"; done
  echo tokengate-smoke >"$root/www/index.html"
  docker_archive "$BUSYBOX_TAR" tokengate.local/busybox:smoke "$root" '["/bin/busybox"]'
  rm -rf "$root"
  echo "[smoke-images] built $BUSYBOX_TAR" >&2
fi

echo "export TOKENGATE_IMAGE_PAUSE='$PAUSE_TAR'"
echo "export TOKENGATE_IMAGE_SMOKE_BUSYBOX='$BUSYBOX_TAR'"
