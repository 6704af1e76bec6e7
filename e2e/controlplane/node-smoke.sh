#!/usr/bin/env bash
# Self-test of the node: start.sh --node, then what only a real node shows (a pod Running and
# Ready through its probe, exec and logs, a Service through kube-proxy from the host and from a
# pod, a NetworkPolicy enforced (deny, then allow), a memory limit enforced by the cgroup), then
# stop.sh, checking it left nothing behind (processes, bridge, rules, mounts, cgroups, sysctls).
# Usage: node-smoke.sh [DIR]   (default: a temporary directory, removed afterwards)
# Needs root, kubectl; builds the binaries and the two smoke images first if not cached.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KEEP=0
if [[ -n ${1:-} ]]; then DIR=$1; KEEP=1; else DIR=$(mktemp -d /tmp/tokengate-node-smoke.XXXXXX); fi
command -v kubectl >/dev/null 2>&1 || { echo "node-smoke.sh: kubectl is required" >&2; exit 1; }
eval "$("$HERE/build.sh")" || exit 1
CACHE_IMAGES="${TOKENGATE_CACHE:-$HOME/.cache/tokengate}/images/smoke"
eval "$("$HERE/smoke-images.sh" "$CACHE_IMAGES")" || exit 1

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
  until "$@" >/dev/null 2>&1; do [[ $SECONDS -lt $deadline ]] || return 1; sleep 0.5; done
}
sysctls() { cat /proc/sys/net/ipv4/ip_forward /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic /proc/sys/kernel/panic_on_oops /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null | tr '\n' ' '; }
SYSCTLS_BEFORE=$(sysctls)
CG_OWN=$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)

T0=$SECONDS
KUBECONFIG=$("$HERE/start.sh" "$DIR" --owner-pid $$ --node) || {
  "$HERE/stop.sh" "$DIR" >/dev/null 2>&1
  echo "node-smoke: 0 passed, 1 failed"
  exit 1
}
export KUBECONFIG
echo "cluster with node started in $((SECONDS - T0))s: $KUBECONFIG"
set -a && . "$DIR/cluster.env" && set +a
ns=smoke
K=(kubectl -n $ns)
check "node $NODE_NAME Ready" kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=30s
kubectl create namespace $ns >/dev/null
eventually 30 kubectl -n $ns get sa default

"${K[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: tokengate.local/busybox:smoke
    args: [httpd, -f, -p, "8080", -h, /www]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /index.html, port: http}, periodSeconds: 1}
    resources: {limits: {memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {role: client}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sh
    image: tokengate.local/busybox:smoke
    args: [sleep, "3600"]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
YAML
check "pod web Running and Ready (readiness probe through the pod network)" "${K[@]}" wait --for=condition=Ready pod/web --timeout=90s
check "pod client Ready" "${K[@]}" wait --for=condition=Ready pod/client --timeout=60s
echo "--- kubectl get pods -A -o wide"
kubectl get pods -A -o wide
check "kubectl exec" bash -c "[[ \$(kubectl -n $ns exec web -- cat /www/index.html) == tokengate-smoke ]]"
check "kubectl logs" "${K[@]}" logs web
WEB_IP=$("${K[@]}" get pod web -o jsonpath='{.status.podIP}')
SVC_IP=$("${K[@]}" get svc web -o jsonpath='{.spec.clusterIP}')
check "pod IP $WEB_IP in the pod CIDR $POD_CIDR" bash -c "[[ $WEB_IP == ${POD_CIDR%.*}.* ]]"
check "host -> pod IP" bash -c "curl -sf --max-time 5 http://$WEB_IP:8080/index.html | grep -qx tokengate-smoke"
check "host -> ClusterIP $SVC_IP (kube-proxy)" eventually 30 bash -c "curl -sf --max-time 3 http://$SVC_IP/index.html | grep -qx tokengate-smoke"
fetch_from_client() { "${K[@]}" exec client -- timeout 3 wget -q -O- "$1" 2>/dev/null | grep -qx tokengate-smoke; }
check "pod -> ClusterIP (kube-proxy, same bridge)" eventually 30 fetch_from_client "http://$SVC_IP/index.html"
# The API server speaks TLS; busybox wget does not, so a plain-HTTP request proves the TCP path:
# Go's TLS server answers it with "400 Bad Request".
apiserver_answers() { { "${K[@]}" exec client -- timeout 3 wget -O- "$1" 2>&1 || true; } | grep -q '400 Bad Request'; }
check "pod -> API server at the node address $NODE_IP:$APISERVER_PORT" eventually 20 apiserver_answers "http://$NODE_IP:$APISERVER_PORT/"
check "pod -> kubernetes Service 10.0.0.1:443 (endpoint: the API server)" eventually 20 apiserver_answers "http://10.0.0.1:443/"

# NetworkPolicy: deny all ingress to web, then allow the client pods
"${K[@]}" apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-deny-all}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
YAML
denied() { ! fetch_from_client "http://$WEB_IP:8080/index.html"; }
check "NetworkPolicy deny-all: client -> web refused" eventually 30 denied
check "NetworkPolicy deny-all: still refused via the ClusterIP" bash -c "! kubectl -n $ns exec client -- timeout 3 wget -q -O- http://$SVC_IP/index.html"
"${K[@]}" apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-allow-client}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {role: client}}}]}]
YAML
check "NetworkPolicy allow role=client: client -> web answered" eventually 30 fetch_from_client "http://$WEB_IP:8080/index.html"

# memory limit: a 200 MiB allocation in a 48Mi container ends OOMKilled
"${K[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: tokengate.local/busybox:smoke
    args: [dd, if=/dev/zero, of=/dev/null, bs=200M, count=1]
    resources: {limits: {memory: 48Mi}}
YAML
oomkilled() { [[ $("${K[@]}" get pod hog -o jsonpath='{.status.containerStatuses[0].state.terminated.reason}') == OOMKilled ]]; }
check "memory limit enforced: hog OOMKilled" eventually 60 oomkilled
check "pods' cgroups nest under this process's cgroup ($CG_OWN)" \
  bash -c "[[ $CGROUP_ROOT == ${CG_OWN%/}/* && -d /sys/fs/cgroup/memory$CGROUP_ROOT/kubepods ]]"
check "pod deletion (SIGTERM) completes" "${K[@]}" delete pod web --timeout=60s

# stop and check what is left
pids=$(cat "$DIR"/pids/*.pid 2>/dev/null)
if [[ $KEEP == 1 ]]; then "$HERE/stop.sh" "$DIR"; else "$HERE/stop.sh" "$DIR" --purge; fi >/dev/null 2>&1
alive=""
for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive+=" $pid"; done
check "no process left after stop.sh" test -z "$alive"
check "no containerd shim left" bash -c "! pgrep -f 'containerd-shim-runc-v[2].*$CONTAINERD_SOCKET'"
check "containerd's socket directory removed" test ! -e "$(dirname "$CONTAINERD_SOCKET")"
check "bridge removed" bash -c "! ip link show tgbr0"
check "nft tables removed" bash -c "! nft list tables | grep -qE 'tokengate_node_guard|kube-proxy'"
check "kube-router's iptables chains and ipsets removed" bash -c "! iptables-save | grep -q KUBE- && ! ipset list -n | grep -q KUBE-"
check "no mount left under $DIR" bash -c "! grep -q ' $DIR/' /proc/self/mounts"
check "node cgroups removed" bash -c "[[ ! -d /sys/fs/cgroup/memory$CGROUP_ROOT && ! -d /sys/fs/cgroup/cpu$CGROUP_ROOT ]]"
check "sysctls restored ($SYSCTLS_BEFORE)" bash -c "[[ '$(sysctls)' == '$SYSCTLS_BEFORE' ]]"
echo "node-smoke: $PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
