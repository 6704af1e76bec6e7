#!/usr/bin/env bash
# Self-test of the control plane: start.sh, then what the e2e tests rely on, then stop.sh.
# Usage: smoke.sh [DIR]   (default: a temporary directory, removed afterwards)
# Needs kubectl; builds the binaries first if they are not cached.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KEEP=0
if [[ -n ${1:-} ]]; then DIR=$1; KEEP=1; else DIR=$(mktemp -d /tmp/tokengate-cp-smoke.XXXXXX); fi
command -v kubectl >/dev/null 2>&1 || { echo "smoke.sh: kubectl is required" >&2; exit 1; }
eval "$("$HERE/build.sh")" || exit 1

PASSED=0 FAILED=0
check() { # check NAME CMD...
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then
    PASSED=$((PASSED + 1)); echo "ok    $name"
  else
    FAILED=$((FAILED + 1)); echo "FAIL  $name"
  fi
}
eventually() { # eventually SECONDS CMD... : retries CMD until it succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do [[ $SECONDS -lt $deadline ]] || return 1; sleep 0.5; done
}
finish() {
  local pids pid alive=""
  pids=$(cat "$DIR"/pids/*.pid 2>/dev/null)
  if [[ $KEEP == 1 ]]; then "$HERE/stop.sh" "$DIR"; else "$HERE/stop.sh" "$DIR" --purge; fi >/dev/null 2>&1
  for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive+=" $pid"; done
  if [[ -z $pids || -n $alive ]]; then
    FAILED=$((FAILED + 1)); echo "FAIL  no process left after stop.sh (still running:${alive:- none recorded})"
  else
    PASSED=$((PASSED + 1)); echo "ok    no process left after stop.sh"
  fi
}

T0=$SECONDS
KUBECONFIG=$("$HERE/start.sh" "$DIR" --owner-pid $$) || { echo "smoke: 0 passed, 1 failed"; exit 1; }
export KUBECONFIG
echo "started in $((SECONDS - T0))s: $KUBECONFIG"
ns=smoke
k() { kubectl "$@"; }
no_pods() { [[ -z $(kubectl -n $ns get rs,pods -o name 2>/dev/null) ]]; }
has_pods() { [[ $(kubectl -n $ns get pods -l app=web -o name 2>/dev/null | wc -l) -eq 2 ]]; }
has_rs() { [[ -n $(kubectl -n $ns get rs -l app=web -o name 2>/dev/null) ]]; }
has_default_sa() { kubectl -n $ns get sa default; }

check "server version is ${TOKENGATE_KUBE_APISERVER##*-}" \
  bash -c "kubectl version -o json 2>/dev/null | grep -q '\"gitVersion\": \"${TOKENGATE_KUBE_APISERVER##*-}\"'"
check "admin is cluster-admin" k auth can-i '*' '*'
check "create namespace" k create namespace $ns
check "default ServiceAccount in new namespace" eventually 30 has_default_sa
check "create deployment" k -n $ns create deployment web --image=registry.invalid/web:1 --replicas=2
check "deployment creates a ReplicaSet" eventually 30 has_rs
check "ReplicaSet creates 2 pods" eventually 30 has_pods
check "create serviceaccount" k -n $ns create serviceaccount reader
TOKEN=$(kubectl -n $ns create token reader --duration=10m 2>/dev/null)
check "kubectl create token" test -n "$TOKEN"
SERVER=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
CA=$DIR/pki/ca.crt
as_reader() { kubectl --kubeconfig=/dev/null --server="$SERVER" --certificate-authority="$CA" --token="$TOKEN" "$@"; }
check "token authenticates as the ServiceAccount" \
  bash -c "kubectl --kubeconfig=/dev/null --server='$SERVER' --certificate-authority='$CA' --token='$TOKEN' auth whoami | grep -q system:serviceaccount:$ns:reader"
check "token is forbidden to list pods without RBAC" bash -c "! kubectl --kubeconfig=/dev/null --server='$SERVER' --certificate-authority='$CA' --token='$TOKEN' -n $ns get pods"
check "auth can-i says no" bash -c "[[ \$(kubectl auth can-i list pods -n $ns --as=system:serviceaccount:$ns:reader) == no ]]"
check "create role and rolebinding" bash -c "kubectl -n $ns create role pod-reader --verb=get,list --resource=pods && kubectl -n $ns create rolebinding reader --role=pod-reader --serviceaccount=$ns:reader"
check "token may list pods after the binding" eventually 10 as_reader -n $ns get pods
check "auth can-i says yes" bash -c "[[ \$(kubectl auth can-i list pods -n $ns --as=system:serviceaccount:$ns:reader) == yes ]]"
check "delete deployment" k -n $ns delete deployment web --wait=false
check "garbage collector removes ReplicaSet and pods" eventually 60 no_pods
check "helm runs" "$TOKENGATE_HELM" version

finish
echo "smoke: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
