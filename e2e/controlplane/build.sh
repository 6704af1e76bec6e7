#!/usr/bin/env bash
# Builds the e2e control plane binaries from their Go modules and caches them:
#   etcd                      go.etcd.io/etcd/server/v3
#   kube-apiserver            k8s.io/kubernetes/cmd/kube-apiserver
#   kube-controller-manager   k8s.io/kubernetes/cmd/kube-controller-manager
#   helm                      helm.sh/helm/v3/cmd/helm
#
# Usage: build.sh [--check]
#   stdout: only `export ...` lines (so `eval "$(build.sh)"` works); progress goes to stderr.
#   --check  build nothing; exit 0 (and print the exports) if every binary is cached, 3 if not.
#
# Cache: ${TOKENGATE_CACHE:-$HOME/.cache/tokengate}
#   bin/<name>-<version>          the binaries (a changed version only rebuilds that binary)
#   bin/set-<versions>/<name>     symlinks with plain names, for PATH
#   src/<component>-<version>/    scratch Go modules the binaries are built in
#   logs/build-<component>-<version>.log
set -euo pipefail

# ---- pinned versions (override with TOKENGATE_*_VERSION only to try another release) ----
ETCD_VERSION="${TOKENGATE_ETCD_VERSION:-v3.6.16}"
KUBERNETES_VERSION="${TOKENGATE_KUBERNETES_VERSION:-v1.37.2}"
HELM_VERSION="${TOKENGATE_HELM_VERSION:-v3.22.0}"
# ------------------------------------------------------------------------------------------

CACHE="${TOKENGATE_CACHE:-$HOME/.cache/tokengate}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
LOGS="$CACHE/logs"
SET_DIR="$BIN/set-etcd-${ETCD_VERSION}_kubernetes-${KUBERNETES_VERSION}_helm-${HELM_VERSION}"

ETCD_BIN="$BIN/etcd-$ETCD_VERSION"
APISERVER_BIN="$BIN/kube-apiserver-$KUBERNETES_VERSION"
KCM_BIN="$BIN/kube-controller-manager-$KUBERNETES_VERSION"
HELM_BIN="$BIN/helm-$HELM_VERSION"

START=$(date +%s)
log() { printf '[controlplane-build %4ss] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() {
  printf '\n[controlplane-build] ERROR: %s\n\n' "$*" >&2
  exit 1
}

print_exports() {
  cat <<EOF
export TOKENGATE_CACHE='$CACHE'
export TOKENGATE_ETCD='$ETCD_BIN'
export TOKENGATE_KUBE_APISERVER='$APISERVER_BIN'
export TOKENGATE_KUBE_CONTROLLER_MANAGER='$KCM_BIN'
export TOKENGATE_HELM='$HELM_BIN'
export TOKENGATE_BIN_DIR='$SET_DIR'
export PATH='$SET_DIR':"\$PATH"
EOF
}

all_cached() { [[ -x $ETCD_BIN && -x $APISERVER_BIN && -x $KCM_BIN && -x $HELM_BIN ]]; }

link_set() {
  mkdir -p "$SET_DIR"
  ln -sfn "$ETCD_BIN" "$SET_DIR/etcd"
  ln -sfn "$APISERVER_BIN" "$SET_DIR/kube-apiserver"
  ln -sfn "$KCM_BIN" "$SET_DIR/kube-controller-manager"
  ln -sfn "$HELM_BIN" "$SET_DIR/helm"
}

if [[ ${1:-} == --check ]]; then
  if all_cached; then
    [[ -d $SET_DIR ]] || link_set
    print_exports
    exit 0
  fi
  log "not cached (run build.sh): etcd $ETCD_VERSION, kubernetes $KUBERNETES_VERSION, helm $HELM_VERSION"
  exit 3
elif [[ $# -gt 0 ]]; then
  die "unknown argument '$1' (usage: build.sh [--check])"
fi

# Fast path: nothing to do, no lock needed (binaries only ever appear by atomic rename).
if all_cached; then
  [[ -d $SET_DIR ]] || link_set
  log "all binaries cached in $BIN"
  print_exports
  exit 0
fi

# ---- toolchain ----
if ! command -v go >/dev/null 2>&1; then
  [[ -x /usr/local/go/bin/go ]] && export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || die "the 'go' command is not installed (need Go >= 1.26, e.g. /usr/local/go/bin/go)"
command -v flock >/dev/null 2>&1 || die "'flock' (util-linux) is required"
GO_VERSION=$(go env GOVERSION)
case "$GO_VERSION" in
go1.2[6-9]* | go1.[3-9][0-9]*) ;;
*) die "Go $GO_VERSION is too old: kubernetes $KUBERNETES_VERSION, etcd $ETCD_VERSION and helm $HELM_VERSION need Go >= 1.26" ;;
esac

export CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOWORK=off
NICE=(nice -n 10)

mkdir -p "$BIN" "$SRC" "$LOGS"

# ---- lock: one build at a time per cache ----
exec 9>"$CACHE/build.lock"
if ! flock -n 9; then
  log "another build holds $CACHE/build.lock; waiting for it"
  flock 9
fi
# Someone else may have finished the work while we waited.
if all_cached; then
  link_set
  log "all binaries cached in $BIN"
  print_exports
  exit 0
fi

# run_logged LOGFILE WHAT CMD... : runs CMD with output in LOGFILE, prints a heartbeat every
# 30 s, and on failure shows the end of the log and exits.
run_logged() {
  local logfile=$1 what=$2
  shift 2
  local t0 pid rc
  t0=$(date +%s)
  {
    echo "+ $*"
  } >>"$logfile"
  "$@" >>"$logfile" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    kill -0 "$pid" 2>/dev/null && log "  $what: still running, $(($(date +%s) - t0))s elapsed"
  done
  rc=0
  wait "$pid" || rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "----- last 40 lines of $logfile -----" >&2
    tail -n 40 "$logfile" >&2
    echo "-------------------------------------" >&2
    die "$what failed (exit $rc); full log: $logfile"
  fi
  log "  $what: done in $(($(date +%s) - t0))s"
}

# new_module DIR : a fresh scratch module (outside any repository).
new_module() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module tokengate.local/controlplane-build

go 1.26.0
EOF
}

# go_build MODULE_DIR LOGFILE OUT PKG LDFLAGS
go_build() {
  local dir=$1 logfile=$2 out=$3 pkg=$4 ldflags=$5
  local name
  name=$(basename "$out")
  (cd "$dir" && run_logged "$logfile" "go build $name" \
    "${NICE[@]}" go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp.$$" "$pkg")
  mv -f "$out.tmp.$$" "$out"
  log "built $out ($(du -h "$out" | cut -f1))"
}

build_etcd() {
  local dir="$SRC/etcd-$ETCD_VERSION" logfile="$LOGS/build-etcd-$ETCD_VERSION.log"
  : >"$logfile"
  log "etcd $ETCD_VERSION: resolving go.etcd.io/etcd/server/v3 (log: $logfile)"
  new_module "$dir"
  (cd "$dir" && run_logged "$logfile" "go get go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    "${NICE[@]}" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  log "etcd $ETCD_VERSION: compiling"
  go_build "$dir" "$logfile" "$ETCD_BIN" go.etcd.io/etcd/server/v3 ""
  "$ETCD_BIN" --version >>"$logfile" 2>&1 || die "built etcd does not run: see $logfile"
}

build_helm() {
  local dir="$SRC/helm-$HELM_VERSION" logfile="$LOGS/build-helm-$HELM_VERSION.log"
  : >"$logfile"
  log "helm $HELM_VERSION: resolving helm.sh/helm/v3 (log: $logfile)"
  new_module "$dir"
  (cd "$dir" && run_logged "$logfile" "go get helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    "${NICE[@]}" go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  # helm's kube version defaults follow its k8s.io/client-go requirement
  local cg minor ldflags
  cg=$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/client-go) || die "cannot read helm's k8s.io/client-go version"
  minor=$(echo "$cg" | cut -d. -f2)
  ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  log "helm $HELM_VERSION: compiling"
  go_build "$dir" "$logfile" "$HELM_BIN" helm.sh/helm/v3/cmd/helm "$ldflags"
  "$HELM_BIN" version >>"$logfile" 2>&1 || die "built helm does not run: see $logfile"
}

build_kubernetes() {
  local dir="$SRC/kubernetes-$KUBERNETES_VERSION" logfile="$LOGS/build-kubernetes-$KUBERNETES_VERSION.log"
  : >"$logfile"
  [[ $KUBERNETES_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "KUBERNETES_VERSION must look like v1.MINOR.PATCH, got $KUBERNETES_VERSION"
  local minor=${BASH_REMATCH[1]} staging="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
  log "kubernetes $KUBERNETES_VERSION: downloading k8s.io/kubernetes (log: $logfile)"
  local tmp="$SRC/.kubernetes-download" gomod
  rm -rf "$tmp" && mkdir -p "$tmp"
  # The module zip is large; fetch it once into the module cache and read its go.mod.
  (cd "$tmp" && run_logged "$logfile" "go mod download k8s.io/kubernetes@$KUBERNETES_VERSION" \
    go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION")
  gomod=$(cd "$tmp" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  rm -rf "$tmp"
  [[ -f $gomod ]] || die "could not locate go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION"

  # Staging modules: those k8s.io/kubernetes replaces with ./staging/src/... and requires.
  local replaced required staging_mods
  replaced=$(awk '/=>[[:space:]]*\.\/staging\//{ for (i=1;i<=NF;i++) if ($i=="=>") print $(i-1) }' "$gomod" | sort -u)
  required=$(awk '/^require[[:space:]]*\(/{r=1;next} r&&/^\)/{r=0} r{print $1} /^require[[:space:]]+[^(]/{print $2}' "$gomod" | sort -u)
  staging_mods=$(comm -12 <(echo "$replaced") <(echo "$required"))
  [[ -n $staging_mods ]] || die "found no staging modules in $gomod"
  log "kubernetes $KUBERNETES_VERSION: mapping $(echo "$staging_mods" | wc -l) staging modules to $staging"

  new_module "$dir"
  {
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "// generated from k8s.io/kubernetes@$KUBERNETES_VERSION go.mod: staging modules -> published $staging"
    echo "replace ("
    for m in $staging_mods; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
    echo ")"
  } >>"$dir/go.mod"
  (cd "$dir" && run_logged "$logfile" "go get (kube-apiserver, kube-controller-manager dependencies)" \
    "${NICE[@]}" go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBERNETES_VERSION")

  # What hack/lib/version.sh stamps into a release build.
  local ldflags="" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  log "kubernetes $KUBERNETES_VERSION: compiling kube-apiserver (the long one: ~10-20 min on 2 cores)"
  go_build "$dir" "$logfile" "$APISERVER_BIN" k8s.io/kubernetes/cmd/kube-apiserver "$ldflags"
  log "kubernetes $KUBERNETES_VERSION: compiling kube-controller-manager"
  go_build "$dir" "$logfile" "$KCM_BIN" k8s.io/kubernetes/cmd/kube-controller-manager "$ldflags"
  "$APISERVER_BIN" --version >>"$logfile" 2>&1 || die "built kube-apiserver does not run: see $logfile"
}

log "building into $BIN with $GO_VERSION (etcd $ETCD_VERSION, kubernetes $KUBERNETES_VERSION, helm $HELM_VERSION)"
[[ -x $ETCD_BIN ]] && log "etcd $ETCD_VERSION: cached" || build_etcd
[[ -x $HELM_BIN ]] && log "helm $HELM_VERSION: cached" || build_helm
if [[ -x $APISERVER_BIN && -x $KCM_BIN ]]; then log "kubernetes $KUBERNETES_VERSION: cached"; else build_kubernetes; fi
link_set

log "done in $(($(date +%s) - START))s:"
for b in "$ETCD_BIN" "$APISERVER_BIN" "$KCM_BIN" "$HELM_BIN"; do log "  $b"; done
print_exports
