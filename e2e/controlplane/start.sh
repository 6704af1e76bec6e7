#!/usr/bin/env bash
# Starts a real control plane (etcd + kube-apiserver + kube-controller-manager) on 127.0.0.1
# with its state, certificates and logs under DIR; with --node also a real node (node.sh:
# containerd + runc, CNI bridge, kubelet, kube-scheduler, kube-proxy, kube-router), so pods run.
# Without --node pods stay Pending.
#
# Usage: start.sh DIR [--owner-pid PID] [--node]
#   stdout: the admin kubeconfig path (DIR/admin.kubeconfig), nothing else; progress on stderr.
#   --owner-pid PID (or TOKENGATE_OWNER_PID): stop the control plane when process PID exits,
#                   e.g. the JVM running the tests, so a crashed test run leaves no processes.
#   --node (or TOKENGATE_NODE=1): also start the node (needs root and the memory cgroup
#                   controller; fails at once naming what is missing). One node per machine.
#                   Images: every TOKENGATE_IMAGE_* variable naming a docker-archive tarball is
#                   imported into containerd; TOKENGATE_PAUSE_IMAGE names the sandbox image
#                   (default tokengate.local/pause:3.10).
# Environment (all optional):
#   TOKENGATE_ETCD, TOKENGATE_KUBE_APISERVER, TOKENGATE_KUBE_CONTROLLER_MANAGER  binaries
#                   (default: from build.sh's cache; build.sh runs if they are not built yet)
#   TOKENGATE_APISERVER_PORT, TOKENGATE_ETCD_PORT, TOKENGATE_ETCD_PEER_PORT,
#   TOKENGATE_KCM_PORT  fixed ports (default: random free ports in 20000-32767)
#   TOKENGATE_START_TIMEOUT  seconds to wait for readiness (default 90)
# Files written: DIR/admin.kubeconfig, DIR/cluster.env (KEY=VALUE: ports, URL, paths),
#   DIR/pki/, DIR/etcd/, DIR/logs/<component>.log, DIR/pids/<component>.pid
# Stop with: stop.sh DIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s%N)
log() { printf '[controlplane-start %5.1fs] %s\n' "$(( ($(date +%s%N) - T0) / 100000000 ))e-1" "$*" >&2; }
die() {
  printf '\n[controlplane-start] ERROR: %s\n\n' "$*" >&2
  exit 1
}

[[ $# -ge 1 ]] || die "usage: start.sh DIR [--owner-pid PID] [--node]"
DIR_ARG=$1
shift
OWNER_PID="${TOKENGATE_OWNER_PID:-}"
NODE="${TOKENGATE_NODE:-0}"
while [[ $# -gt 0 ]]; do
  case "$1" in
  --owner-pid) OWNER_PID=${2:?--owner-pid needs a PID}; shift 2 ;;
  --node) NODE=1; shift ;;
  *) die "unknown argument '$1'" ;;
  esac
done
[[ -z $OWNER_PID || $OWNER_PID =~ ^[0-9]+$ ]] || die "--owner-pid must be a number"

mkdir -p "$DIR_ARG"
DIR=$(cd "$DIR_ARG" && pwd -P)
[[ $DIR =~ ^[A-Za-z0-9_./+-]+$ ]] || die "DIR must be a path without spaces or special characters: $DIR"
TIMEOUT="${TOKENGATE_START_TIMEOUT:-90}"

for tool in openssl curl base64; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required"
done
[[ $NODE == 1 ]] && { "$HERE/node.sh" preflight || exit 1; }

# ---- refuse to start twice in the same DIR ----
for c in etcd kube-apiserver kube-controller-manager; do
  if [[ -f $DIR/pids/$c.pid ]]; then
    pid=$(cat "$DIR/pids/$c.pid")
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$DIR/"; then
      die "$c is already running from $DIR (pid $pid); run stop.sh $DIR first"
    fi
  fi
done

# ---- binaries ----
if [[ -z ${TOKENGATE_ETCD:-} || -z ${TOKENGATE_KUBE_APISERVER:-} || -z ${TOKENGATE_KUBE_CONTROLLER_MANAGER:-} ]]; then
  exports=$("$HERE/build.sh" --check 2>/dev/null) || {
    log "control plane binaries are not built yet: running build.sh (first time: ~20-40 min)"
    exports=$("$HERE/build.sh") || die "build.sh failed"
  }
  eval "$exports"
fi
for b in "$TOKENGATE_ETCD" "$TOKENGATE_KUBE_APISERVER" "$TOKENGATE_KUBE_CONTROLLER_MANAGER"; do
  [[ -x $b ]] || die "binary not found or not executable: $b"
done

# ---- fresh state (a previous run's data in DIR is discarded) ----
[[ -d $DIR/node ]] && "$HERE/node.sh" stop "$DIR" 2>/dev/null
rm -rf "$DIR/pki" "$DIR/etcd" "$DIR/logs" "$DIR/pids" "$DIR/admin.kubeconfig" \
  "$DIR/kube-controller-manager.kubeconfig" "$DIR/cluster.env" "$DIR/node"
mkdir -p "$DIR/pki" "$DIR/etcd" "$DIR/logs" "$DIR/pids"
chmod 700 "$DIR/etcd" "$DIR/pki"
PKI=$DIR/pki

# ---- certificates ----
SA_ISSUER="https://kubernetes.default.svc.cluster.local"
SERVICE_CIDR="10.0.0.0/24"
SERVICE_IP="10.0.0.1"
# ECDSA P-256 keys (instant) for the CA and TLS; RSA 2048 for the admin client key (what every
# Kubernetes client library reads) and the service-account signing key (RS256 tokens, as in
# kubeadm clusters). One openssl call per certificate, all in parallel after the CA.
printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n' >"$PKI/openssl.cnf"
OSSL_REQ=(openssl req -config "$PKI/openssl.cnf" -x509 -nodes -sha256 -days 3650)
EC_KEY=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
RSA_KEY=(-newkey rsa:2048)
# ca: the cluster CA (serving certs, client certs, CSR signing); front-proxy-ca: request-header
# authentication for aggregated API servers, kept apart as kubeadm does.
for ca in ca front-proxy-ca; do
  "${OSSL_REQ[@]}" "${EC_KEY[@]}" -keyout "$PKI/$ca.key" -out "$PKI/$ca.crt" -subj "/CN=tokengate-e2e-$ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    2>"$PKI/openssl.log" || die "openssl: cannot create $ca: $(cat "$PKI/openssl.log")"
done

# leaf NAME KEYTYPE SUBJECT EKU [SAN] : a certificate signed by the CA (run in the background)
leaf() {
  local name=$1 keytype=$2 subj=$3 eku=$4 san=${5:-} key ca=${LEAF_CA:-ca}
  if [[ $keytype == rsa ]]; then key=("${RSA_KEY[@]}"); else key=("${EC_KEY[@]}"); fi
  "${OSSL_REQ[@]}" "${key[@]}" -keyout "$PKI/$name.key" -out "$PKI/$name.crt" -subj "$subj" \
    -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
    -addext "extendedKeyUsage=$eku" ${san:+-addext "subjectAltName=$san"} 2>"$PKI/$name.openssl.log"
}
LOCAL_SAN="IP:127.0.0.1,DNS:localhost"
NODE_IP=10.244.0.1 # node.sh's bridge address (with --node the API server is advertised there)
pids=()
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>"$PKI/sa.openssl.log" &
pids+=($!)
leaf apiserver ec "/CN=kube-apiserver" serverAuth \
  "$LOCAL_SAN,IP:$NODE_IP,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" &
pids+=($!)
leaf etcd-server ec "/CN=etcd" serverAuth,clientAuth "$LOCAL_SAN" &
pids+=($!)
leaf apiserver-etcd-client ec "/O=system:masters/CN=kube-apiserver-etcd-client" clientAuth &
pids+=($!)
leaf admin rsa "/O=system:masters/CN=kubernetes-admin" clientAuth &
pids+=($!)
leaf apiserver-kubelet-client ec "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth &
pids+=($!)
leaf kube-controller-manager ec "/CN=system:kube-controller-manager" clientAuth &
pids+=($!)
leaf kcm-serving ec "/CN=kube-controller-manager" serverAuth "$LOCAL_SAN" &
pids+=($!)
LEAF_CA=front-proxy-ca leaf front-proxy-client ec "/CN=front-proxy-client" clientAuth &
pids+=($!)
for pid in "${pids[@]}"; do
  wait "$pid" || die "openssl failed: $(cat "$PKI"/*.openssl.log)"
done
openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null || die "openssl: cannot write sa.pub"
rm -f "$PKI"/*.openssl.log "$PKI/openssl.log"
log "certificates generated in $PKI"

# ---- ports ----
read -r EPH_LOW _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || EPH_LOW=32768
PORT_HI=$((EPH_LOW > 20100 ? EPH_LOW - 1 : 32767))
port_free() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]] || return 1
  fi
  ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}
USED_PORTS=" "
pick_port() { # pick_port VAR [FIXED] : sets VAR to FIXED or to a random free port
  local var=$1 fixed=${2:-} p
  if [[ -n $fixed ]]; then printf -v "$var" '%s' "$fixed"; return; fi
  for _ in $(seq 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % (PORT_HI - 20000)))
    if [[ $USED_PORTS != *" $p "* ]] && port_free "$p"; then
      USED_PORTS+="$p "
      printf -v "$var" '%s' "$p"
      return
    fi
  done
  die "no free port found in 20000-$PORT_HI"
}

# ---- processes ----
# launch NAME BIN ARGS... : starts a component in the background, logs in DIR/logs/NAME.log
launch() {
  local name=$1
  shift
  # stdin/stdout/stderr are detached from the caller so callers reading our stdout get EOF.
  nohup "$@" </dev/null >"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/pids/$name.pid"
}
alive() { kill -0 "$(cat "$DIR/pids/$1.pid")" 2>/dev/null; }
port_clash() { grep -qiE 'address already in use|bind: address' "$DIR/logs/$1.log" 2>/dev/null; }

CURL_ADMIN=(curl -sS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key")

cleanup_on_failure() {
  local rc=$?
  if [[ $rc -ne 0 && ${STARTED_OK:-0} != 1 ]]; then
    "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
  fi
}
trap cleanup_on_failure EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# wait_for NAME WHAT CMD... : polls CMD until it succeeds; fails if NAME's process dies or on timeout.
# returns 2 if the process died because of a port clash (caller retries with other ports).
wait_for() {
  local name=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      port_clash "$name" && return 2
      echo "----- last 30 lines of $DIR/logs/$name.log -----" >&2
      tail -n 30 "$DIR/logs/$name.log" >&2
      die "$name exited while waiting for $what (log: $DIR/logs/$name.log)"
    fi
    if [[ $(date +%s) -ge $deadline ]]; then
      echo "----- last 30 lines of $DIR/logs/$name.log -----" >&2
      tail -n 30 "$DIR/logs/$name.log" >&2
      die "timed out after ${TIMEOUT}s waiting for $what (log: $DIR/logs/$name.log)"
    fi
    sleep 0.2
  done
}

stop_one() {
  local f=$DIR/pids/$1.pid pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

# start_with_retry NAME START_FUNCTION [FIXED_PORT_VAR...] : re-picks random ports on a port
# clash (up to 3 tries); a clash on a port fixed by the environment fails at once.
start_with_retry() {
  local name=$1 fn=$2 rc v
  shift 2
  for attempt in 1 2 3; do
    rc=0
    "$fn" || rc=$?
    [[ $rc -eq 0 ]] && return 0
    [[ $rc -eq 2 ]] || exit "$rc"
    for v in "$@"; do
      [[ -n ${!v:-} ]] && die "$name: a port is already in use ($v=${!v}): $(grep -m1 -iE 'address already in use' "$DIR/logs/$name.log")"
    done
    log "$name: port clash, retrying with other ports (attempt $attempt)"
    stop_one "$name"
  done
  die "$name: could not bind a free port after 3 attempts (log: $DIR/logs/$name.log)"
}

start_etcd() {
  pick_port ETCD_PORT "${TOKENGATE_ETCD_PORT:-}"
  pick_port ETCD_PEER_PORT "${TOKENGATE_ETCD_PEER_PORT:-}"
  launch etcd "$TOKENGATE_ETCD" \
    --name=tokengate \
    --data-dir="$DIR/etcd" \
    --listen-client-urls="https://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="https://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="tokengate=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --cert-file="$PKI/etcd-server.crt" --key-file="$PKI/etcd-server.key" \
    --trusted-ca-file="$PKI/ca.crt" --client-cert-auth=true \
    --unsafe-no-fsync=true \
    --log-level=warn
  wait_for etcd "etcd /health" curl -sf --max-time 2 --cacert "$PKI/ca.crt" \
    --cert "$PKI/apiserver-etcd-client.crt" --key "$PKI/apiserver-etcd-client.key" \
    "https://127.0.0.1:$ETCD_PORT/health"
}

ADMISSION_PLUGINS="NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction,TaintNodesByCondition"
ADMISSION_PLUGINS+=",Priority,DefaultTolerationSeconds,DefaultStorageClass,StorageObjectInUseProtection"
ADMISSION_PLUGINS+=",PersistentVolumeClaimResize,RuntimeClass,CertificateApproval,CertificateSigning"
ADMISSION_PLUGINS+=",ClusterTrustBundleAttest,CertificateSubjectRestriction,DefaultIngressClass"
ADMISSION_PLUGINS+=",PodSecurity,MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook,ResourceQuota"

if [[ $NODE == 1 ]]; then
  # Pods reach the API server through the kubernetes Service, whose endpoint is the node's
  # address; node.sh drops connections to the port from outside this machine.
  APISERVER_ADDRESSES=(--bind-address=0.0.0.0 --advertise-address="$NODE_IP")
else
  APISERVER_ADDRESSES=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --endpoint-reconciler-type=none)
fi
start_apiserver() {
  pick_port APISERVER_PORT "${TOKENGATE_APISERVER_PORT:-}"
  launch kube-apiserver "$TOKENGATE_KUBE_APISERVER" \
    "${APISERVER_ADDRESSES[@]}" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --secure-port="$APISERVER_PORT" \
    --etcd-servers="https://127.0.0.1:$ETCD_PORT" \
    --etcd-cafile="$PKI/ca.crt" \
    --etcd-certfile="$PKI/apiserver-etcd-client.crt" \
    --etcd-keyfile="$PKI/apiserver-etcd-client.key" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins="$ADMISSION_PLUGINS" \
    --allow-privileged=true \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --service-account-issuer="$SA_ISSUER" \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --cert-dir="$DIR/pki/generated" \
    --profiling=false \
    --v=1
  wait_for kube-apiserver "kube-apiserver /readyz" "${CURL_ADMIN[@]}" -f \
    "https://127.0.0.1:$APISERVER_PORT/readyz"
}

write_kubeconfig() { # write_kubeconfig FILE USER CERT KEY
  local file=$1 user=$2 cert=$3 key=$4
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tokengate-e2e
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$cert")
    client-key-data: $(base64 -w0 <"$key")
contexts:
- name: $user@tokengate-e2e
  context:
    cluster: tokengate-e2e
    user: $user
    namespace: default
current-context: $user@tokengate-e2e
preferences: {}
EOF
  chmod 600 "$file"
}

start_kcm() {
  pick_port KCM_PORT "${TOKENGATE_KCM_PORT:-}"
  local kc="$DIR/kube-controller-manager.kubeconfig"
  launch kube-controller-manager "$TOKENGATE_KUBE_CONTROLLER_MANAGER" \
    --kubeconfig="$kc" \
    --authentication-kubeconfig="$kc" \
    --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 \
    --secure-port="$KCM_PORT" \
    --tls-cert-file="$PKI/kcm-serving.crt" \
    --tls-private-key-file="$PKI/kcm-serving.key" \
    --client-ca-file="$PKI/ca.crt" \
    --controllers='*' \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" \
    --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --cluster-name=tokengate-e2e \
    --leader-elect=false \
    --profiling=false \
    --v=1
  # ready = its secure port answers and the serviceaccount controller has made default/default
  wait_for kube-controller-manager "kube-controller-manager /healthz" curl -sf --max-time 2 \
    --cacert "$PKI/ca.crt" "https://127.0.0.1:$KCM_PORT/healthz"
}

export NO_PROXY="127.0.0.1,localhost,${NO_PROXY:-}" no_proxy="127.0.0.1,localhost,${no_proxy:-}"

if [[ $NODE == 1 ]]; then
  "$HERE/node.sh" network "$DIR" || exit 1
fi
start_with_retry etcd start_etcd TOKENGATE_ETCD_PORT TOKENGATE_ETCD_PEER_PORT
log "etcd ready on https://127.0.0.1:$ETCD_PORT"
start_with_retry kube-apiserver start_apiserver TOKENGATE_APISERVER_PORT
log "kube-apiserver ready on https://127.0.0.1:$APISERVER_PORT"
[[ $NODE == 1 ]] && { "$HERE/node.sh" guard "$DIR" "$APISERVER_PORT" || exit 1; }
KUBECONFIG_FILE="$DIR/admin.kubeconfig"
write_kubeconfig "$KUBECONFIG_FILE" kubernetes-admin "$PKI/admin.crt" "$PKI/admin.key"
write_kubeconfig "$DIR/kube-controller-manager.kubeconfig" system:kube-controller-manager \
  "$PKI/kube-controller-manager.crt" "$PKI/kube-controller-manager.key"
start_with_retry kube-controller-manager start_kcm TOKENGATE_KCM_PORT
log "kube-controller-manager running (healthz on https://127.0.0.1:$KCM_PORT)"
wait_for kube-controller-manager "ServiceAccount default/default" "${CURL_ADMIN[@]}" -f \
  "https://127.0.0.1:$APISERVER_PORT/api/v1/namespaces/default/serviceaccounts/default"

cat >"$DIR/cluster.env" <<EOF
TOKENGATE_CP_DIR=$DIR
KUBECONFIG=$KUBECONFIG_FILE
APISERVER_URL=https://127.0.0.1:$APISERVER_PORT
APISERVER_PORT=$APISERVER_PORT
ETCD_URL=https://127.0.0.1:$ETCD_PORT
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
KCM_PORT=$KCM_PORT
CA_CERT=$PKI/ca.crt
CA_KEY=$PKI/ca.key
FRONT_PROXY_CA_CERT=$PKI/front-proxy-ca.crt
ADMIN_CERT=$PKI/admin.crt
ADMIN_KEY=$PKI/admin.key
SERVICE_ACCOUNT_ISSUER=$SA_ISSUER
SERVICE_CLUSTER_IP_RANGE=$SERVICE_CIDR
EOF

if [[ $NODE == 1 ]]; then
  "$HERE/node.sh" start "$DIR" || exit 1
fi

if [[ -n $OWNER_PID ]]; then
  # Watchdog: stops the control plane when the owner exits (or when stop.sh removed the pid files).
  nohup bash -c '
    while kill -0 "$1" 2>/dev/null && [[ -f "$2/pids/kube-apiserver.pid" ]]; do sleep 1; done
    [[ -f "$2/pids/kube-apiserver.pid" ]] && exec "$3" "$2"
  ' tokengate-controlplane-watchdog "$OWNER_PID" "$DIR" "$HERE/stop.sh" </dev/null >>"$DIR/logs/watchdog.log" 2>&1 &
  echo $! >"$DIR/pids/watchdog.pid"
  log "watchdog: stops the control plane when pid $OWNER_PID exits"
fi

STARTED_OK=1
log "control plane ready; kubeconfig: $KUBECONFIG_FILE (stop with: $HERE/stop.sh $DIR)"
echo "$KUBECONFIG_FILE"
