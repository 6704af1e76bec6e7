# Source me:  . e2e/controlplane/env.sh
# Builds the control plane binaries if they are not cached yet (see build.sh), then exports
# TOKENGATE_ETCD, TOKENGATE_KUBE_APISERVER, TOKENGATE_KUBE_CONTROLLER_MANAGER, TOKENGATE_HELM,
# TOKENGATE_BIN_DIR, TOKENGATE_CACHE and puts etcd/kube-apiserver/kube-controller-manager/helm on PATH.
# Returns non-zero (without exiting your shell) when the build fails.
_tokengate_cp_here=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
if _tokengate_cp_exports=$("$_tokengate_cp_here/build.sh"); then
  eval "$_tokengate_cp_exports"
  unset _tokengate_cp_here _tokengate_cp_exports
else
  unset _tokengate_cp_here _tokengate_cp_exports
  echo "env.sh: build.sh failed" >&2
  false
fi
