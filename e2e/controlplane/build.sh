#!/usr/bin/env bash
# Builds the e2e cluster's binaries (control plane and node) from their Go modules and caches them:
#   etcd                      go.etcd.io/etcd/server/v3
#   kube-apiserver            k8s.io/kubernetes/cmd/kube-apiserver
#   kube-controller-manager   k8s.io/kubernetes/cmd/kube-controller-manager
#   helm                      helm.sh/helm/v3/cmd/helm
#   kube-scheduler, kubelet, kube-proxy   k8s.io/kubernetes/cmd/... (same scratch module)
#   containerd, containerd-shim-runc-v2, ctr   github.com/containerd/containerd/v2/cmd/...
#   CNI bridge, host-local, loopback, portmap  github.com/containernetworking/plugins/plugins/...
#   crictl                    sigs.k8s.io/cri-tools/cmd/crictl
#   kube-router               github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
#                             (NetworkPolicy enforcer, run in firewall-only mode: iptables + ipset;
#                             kube-network-policies needs the nft `queue` expression, which the
#                             kernels of these machines lack)
# and installs the Debian packages the node needs when they are missing (as root):
#   runc, iptables, nftables, ipset, conntrack
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
CONTAINERD_VERSION="${TOKENGATE_CONTAINERD_VERSION:-v2.4.2}"
CNI_PLUGINS_VERSION="${TOKENGATE_CNI_PLUGINS_VERSION:-v1.10.0}"
CRI_TOOLS_VERSION="${TOKENGATE_CRI_TOOLS_VERSION:-v1.37.0}"
KUBE_ROUTER_VERSION="${TOKENGATE_KUBE_ROUTER_VERSION:-v2.1.0}"
DEBIAN_PACKAGES="runc iptables nftables ipset conntrack" # package names; commands checked below
# ------------------------------------------------------------------------------------------

CACHE="${TOKENGATE_CACHE:-$HOME/.cache/tokengate}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
LOGS="$CACHE/logs"
SET_DIR="$BIN/set-etcd-${ETCD_VERSION}_kubernetes-${KUBERNETES_VERSION}_helm-${HELM_VERSION}"
SET_DIR+="_containerd-${CONTAINERD_VERSION}_cni-${CNI_PLUGINS_VERSION}_crictl-${CRI_TOOLS_VERSION}_kube-router-${KUBE_ROUTER_VERSION}"

ETCD_BIN="$BIN/etcd-$ETCD_VERSION"
APISERVER_BIN="$BIN/kube-apiserver-$KUBERNETES_VERSION"
KCM_BIN="$BIN/kube-controller-manager-$KUBERNETES_VERSION"
HELM_BIN="$BIN/helm-$HELM_VERSION"
SCHEDULER_BIN="$BIN/kube-scheduler-$KUBERNETES_VERSION"
KUBELET_BIN="$BIN/kubelet-$KUBERNETES_VERSION"
KUBE_PROXY_BIN="$BIN/kube-proxy-$KUBERNETES_VERSION"
CONTAINERD_BIN="$BIN/containerd-$CONTAINERD_VERSION"
SHIM_BIN="$BIN/containerd-shim-runc-v2-$CONTAINERD_VERSION"
CTR_BIN="$BIN/ctr-$CONTAINERD_VERSION"
CNI_DIR="$BIN/cni-plugins-$CNI_PLUGINS_VERSION" # bridge, host-local, loopback, portmap
CNI_PLUGINS="bridge host-local loopback portmap"
CRICTL_BIN="$BIN/crictl-$CRI_TOOLS_VERSION"
KUBE_ROUTER_BIN="$BIN/kube-router-$KUBE_ROUTER_VERSION"

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
export TOKENGATE_KUBE_SCHEDULER='$SCHEDULER_BIN'
export TOKENGATE_KUBELET='$KUBELET_BIN'
export TOKENGATE_KUBE_PROXY='$KUBE_PROXY_BIN'
export TOKENGATE_CONTAINERD='$CONTAINERD_BIN'
export TOKENGATE_CONTAINERD_SHIM='$SHIM_BIN'
export TOKENGATE_CTR='$CTR_BIN'
export TOKENGATE_CNI_BIN_DIR='$CNI_DIR'
export TOKENGATE_CRICTL='$CRICTL_BIN'
export TOKENGATE_KUBE_ROUTER='$KUBE_ROUTER_BIN'
export TOKENGATE_RUNC='$(command -v runc 2>/dev/null || echo /usr/sbin/runc)'
export TOKENGATE_BIN_DIR='$SET_DIR'
export PATH='$SET_DIR':"\$PATH"
EOF
}

ALL_BINS=("$ETCD_BIN" "$APISERVER_BIN" "$KCM_BIN" "$HELM_BIN" "$SCHEDULER_BIN" "$KUBELET_BIN" "$KUBE_PROXY_BIN"
  "$CONTAINERD_BIN" "$SHIM_BIN" "$CTR_BIN" "$CRICTL_BIN" "$KUBE_ROUTER_BIN")
for p in $CNI_PLUGINS; do ALL_BINS+=("$CNI_DIR/$p"); done
all_built() {
  local b
  for b in "${ALL_BINS[@]}"; do [[ -x $b ]] || return 1; done
}
# Debian package -> the command it provides (what is checked).
package_command() {
  case $1 in nftables) echo nft ;; *) echo "$1" ;; esac
}
missing_packages() {
  local p out=""
  for p in $DEBIAN_PACKAGES; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$(package_command "$p")" >/dev/null 2>&1 || out+="$p "
  done
  echo "${out% }"
}
all_cached() { all_built && [[ -z $(missing_packages) ]]; }

# The node's packages come from Debian (apt-get). Without root (or apt-get) the node cannot run
# anyway: say what is missing and go on, so the control plane alone still builds.
install_packages() {
  local missing t0
  missing=$(missing_packages)
  [[ -z $missing ]] && return 0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "WARNING: the node needs the Debian packages '$missing' (install them as root: apt-get install $missing)"
    return 0
  fi
  t0=$(date +%s)
  log "installing Debian packages: $missing"
  local logfile="$LOGS/apt-get.log"
  mkdir -p "$LOGS"
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >>"$logfile" 2>&1; then
    log "apt-get install failed; running apt-get update first"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get update >>"$logfile" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >>"$logfile" 2>&1 ||
      die "apt-get install $missing failed (log: $logfile)"
  fi
  log "  Debian packages installed in $(($(date +%s) - t0))s"
}

link_set() {
  mkdir -p "$SET_DIR"
  ln -sfn "$ETCD_BIN" "$SET_DIR/etcd"
  ln -sfn "$APISERVER_BIN" "$SET_DIR/kube-apiserver"
  ln -sfn "$KCM_BIN" "$SET_DIR/kube-controller-manager"
  ln -sfn "$HELM_BIN" "$SET_DIR/helm"
  ln -sfn "$SCHEDULER_BIN" "$SET_DIR/kube-scheduler"
  ln -sfn "$KUBELET_BIN" "$SET_DIR/kubelet"
  ln -sfn "$KUBE_PROXY_BIN" "$SET_DIR/kube-proxy"
  ln -sfn "$CONTAINERD_BIN" "$SET_DIR/containerd"
  ln -sfn "$SHIM_BIN" "$SET_DIR/containerd-shim-runc-v2"
  ln -sfn "$CTR_BIN" "$SET_DIR/ctr"
  ln -sfn "$CRICTL_BIN" "$SET_DIR/crictl"
  ln -sfn "$KUBE_ROUTER_BIN" "$SET_DIR/kube-router"
}

if [[ ${1:-} == --check ]]; then
  if all_cached; then
    [[ -d $SET_DIR ]] || link_set
    print_exports
    exit 0
  fi
  missing=$(missing_packages)
  log "not cached (run build.sh): etcd $ETCD_VERSION, kubernetes $KUBERNETES_VERSION, helm $HELM_VERSION," \
    "containerd $CONTAINERD_VERSION, CNI plugins $CNI_PLUGINS_VERSION, crictl $CRI_TOOLS_VERSION," \
    "kube-router $KUBE_ROUTER_VERSION${missing:+; Debian packages missing: $missing}"
  exit 3
elif [[ $# -gt 0 ]]; then
  die "unknown argument '$1' (usage: build.sh [--check])"
fi

install_packages
# Fast path: nothing to do, no lock needed (binaries only ever appear by atomic rename).
if all_built; then
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
if all_built; then
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

KUBERNETES_MODULE="$SRC/kubernetes-$KUBERNETES_VERSION"
KUBERNETES_LDFLAGS=""

# prepare_kubernetes_module LOGFILE : the scratch module requiring k8s.io/kubernetes, with its
# staging modules mapped to their published versions (kept and reused while it is complete).
prepare_kubernetes_module() {
  local logfile=$1 dir=$KUBERNETES_MODULE
  [[ $KUBERNETES_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "KUBERNETES_VERSION must look like v1.MINOR.PATCH, got $KUBERNETES_VERSION"
  local minor=${BASH_REMATCH[1]} staging="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
  # What hack/lib/version.sh stamps into a release build.
  local p
  KUBERNETES_LDFLAGS=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    KUBERNETES_LDFLAGS+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    KUBERNETES_LDFLAGS+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  if [[ -f $dir/go.sum ]] && grep -q "^require k8s.io/kubernetes $KUBERNETES_VERSION\$" "$dir/go.mod" 2>/dev/null; then
    log "kubernetes $KUBERNETES_VERSION: reusing the scratch module $dir"
    return 0
  fi
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
  local c pkgs=()
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
    pkgs+=("k8s.io/kubernetes/cmd/$c@$KUBERNETES_VERSION")
  done
  (cd "$dir" && run_logged "$logfile" "go get (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy dependencies)" \
    "${NICE[@]}" go get "${pkgs[@]}")
}

# build_kubernetes NAME... : builds k8s.io/kubernetes/cmd/NAME for each NAME whose binary is missing.
build_kubernetes() {
  local logfile="$LOGS/build-kubernetes-$KUBERNETES_VERSION.log" c out
  [[ -f $logfile ]] || : >"$logfile"
  prepare_kubernetes_module "$logfile"
  for c in "$@"; do
    out="$BIN/$c-$KUBERNETES_VERSION"
    if [[ -x $out ]]; then log "kubernetes $KUBERNETES_VERSION: $c cached"; continue; fi
    case $c in
    kube-apiserver) log "kubernetes $KUBERNETES_VERSION: compiling kube-apiserver (the long one: ~10-20 min on 2 cores)" ;;
    *) log "kubernetes $KUBERNETES_VERSION: compiling $c" ;;
    esac
    # a scratch module made by an older build.sh may lack a command's dependencies
    (cd "$KUBERNETES_MODULE" && go list "k8s.io/kubernetes/cmd/$c" >/dev/null 2>&1) ||
      (cd "$KUBERNETES_MODULE" && run_logged "$logfile" "go get k8s.io/kubernetes/cmd/$c" \
        "${NICE[@]}" go get "k8s.io/kubernetes/cmd/$c@$KUBERNETES_VERSION")
    go_build "$KUBERNETES_MODULE" "$logfile" "$out" "k8s.io/kubernetes/cmd/$c" "$KUBERNETES_LDFLAGS"
    "$out" --version >>"$logfile" 2>&1 || die "built $c does not run: see $logfile"
  done
}

# build_module NAME VERSION MODULE CMD_PKG:OUT... : a scratch module requiring MODULE@VERSION,
# then one go build per CMD_PKG (package path relative to MODULE) into OUT.
build_module() {
  local name=$1 version=$2 module=$3
  shift 3
  local dir="$SRC/$name-$version" logfile="$LOGS/build-$name-$version.log" spec pkg out pkgs=()
  : >"$logfile"
  for spec in "$@"; do pkgs+=("$module/${spec%%:*}@$version"); done
  log "$name $version: resolving $module (log: $logfile)"
  new_module "$dir"
  (cd "$dir" && run_logged "$logfile" "go get $module@$version" "${NICE[@]}" go get "${pkgs[@]}")
  log "$name $version: compiling"
  for spec in "$@"; do
    pkg="$module/${spec%%:*}" out=${spec#*:}
    [[ -x $out ]] && { log "  $(basename "$out") cached"; continue; }
    mkdir -p "$(dirname "$out")"
    go_build "$dir" "$logfile" "$out" "$pkg" "$LDFLAGS_EXTRA"
  done
}

build_containerd() {
  local m=github.com/containerd/containerd/v2
  LDFLAGS_EXTRA="-X $m/version.Version=$CONTAINERD_VERSION -X $m/version.Revision=release -X $m/version.Package=$m"
  build_module containerd "$CONTAINERD_VERSION" "$m" \
    "cmd/containerd:$CONTAINERD_BIN" "cmd/containerd-shim-runc-v2:$SHIM_BIN" "cmd/ctr:$CTR_BIN"
  "$CONTAINERD_BIN" --version >>"$LOGS/build-containerd-$CONTAINERD_VERSION.log" 2>&1 || die "built containerd does not run"
}

build_cni() {
  local m=github.com/containernetworking/plugins
  LDFLAGS_EXTRA="-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION"
  build_module cni-plugins "$CNI_PLUGINS_VERSION" "$m" \
    "plugins/main/bridge:$CNI_DIR/bridge" "plugins/ipam/host-local:$CNI_DIR/host-local" \
    "plugins/main/loopback:$CNI_DIR/loopback" "plugins/meta/portmap:$CNI_DIR/portmap"
}

build_crictl() {
  LDFLAGS_EXTRA="-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION"
  build_module cri-tools "$CRI_TOOLS_VERSION" sigs.k8s.io/cri-tools "cmd/crictl:$CRICTL_BIN"
}

build_kube_router() {
  LDFLAGS_EXTRA="-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
  build_module kube-router "$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2 \
    "cmd/kube-router:$KUBE_ROUTER_BIN"
  "$KUBE_ROUTER_BIN" --version >>"$LOGS/build-kube-router-$KUBE_ROUTER_VERSION.log" 2>&1 || die "built kube-router does not run"
}

log "building into $BIN with $GO_VERSION (etcd $ETCD_VERSION, kubernetes $KUBERNETES_VERSION, helm $HELM_VERSION," \
  "containerd $CONTAINERD_VERSION, CNI plugins $CNI_PLUGINS_VERSION, crictl $CRI_TOOLS_VERSION, kube-router $KUBE_ROUTER_VERSION)"
[[ -x $ETCD_BIN ]] && log "etcd $ETCD_VERSION: cached" || build_etcd
[[ -x $HELM_BIN ]] && log "helm $HELM_VERSION: cached" || build_helm
if [[ -x $APISERVER_BIN && -x $KCM_BIN && -x $SCHEDULER_BIN && -x $KUBELET_BIN && -x $KUBE_PROXY_BIN ]]; then
  log "kubernetes $KUBERNETES_VERSION: cached"
else
  build_kubernetes kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy
fi
if [[ -x $CONTAINERD_BIN && -x $SHIM_BIN && -x $CTR_BIN ]]; then log "containerd $CONTAINERD_VERSION: cached"; else build_containerd; fi
cni_ok=1
for p in $CNI_PLUGINS; do [[ -x $CNI_DIR/$p ]] || cni_ok=0; done
[[ $cni_ok == 1 ]] && log "CNI plugins $CNI_PLUGINS_VERSION: cached" || build_cni
[[ -x $CRICTL_BIN ]] && log "crictl $CRI_TOOLS_VERSION: cached" || build_crictl
[[ -x $KUBE_ROUTER_BIN ]] && log "kube-router $KUBE_ROUTER_VERSION: cached" || build_kube_router
link_set

log "done in $(($(date +%s) - START))s:"
for b in "${ALL_BINS[@]}"; do log "  $b"; done
print_exports
