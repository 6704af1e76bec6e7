#!/usr/bin/env bash
# The e2e cluster's node: containerd + runc, CNI bridge, kubelet, kube-scheduler, kube-proxy and
# kube-router (NetworkPolicy enforcer, firewall-only mode), everything under DIR/node.
# start.sh --node calls it; stop.sh calls `node.sh stop`. Not meant to be run by hand.
#
#   node.sh preflight           fails with a message naming what is missing (root, memory cgroup,
#                               binaries, packages, another node running)
#   node.sh network DIR         before the API server: saves sysctls, creates the bridge with the
#                               node address (pods reach the API server and Keycloak there)
#   node.sh start DIR           after the control plane: certificates, containerd, kubelet,
#                               kube-scheduler, kube-proxy, kube-router; returns when the node is Ready
#   node.sh stop DIR            stops all of it and removes what it made (processes, mounts,
#                               netns, bridge, nft/iptables/ipset state, cgroups, dirs outside DIR)
#                               and restores the sysctls
#
# Facts of this machine kind that shape it (DESIGN.md "A real node on these machines"): hybrid
# cgroups (kubelet failCgroupV1: false, cgroupfs), no CAP_SYS_RESOURCE (containerd
# restrict_oom_score_adj), pods' cgroups under the starting process's cgroup.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s%N)
log() { printf '[node %5.1fs] %s\n' "$(( ($(date +%s%N) - T0) / 100000000 ))e-1" "$*" >&2; }
die() {
  printf '\n[node] ERROR: %s\n\n' "$*" >&2
  exit 1
}

# One node per machine: fixed names and addresses (the service CIDR is fixed too).
NODE_NAME=tokengate-node
BRIDGE=tgbr0
POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1 # the bridge's address: the node's InternalIP, reachable from host and pods
SERVICE_CIDR=10.0.0.0/24
OWNER_FILE=/run/tokengate-node.dir
NFT_TABLE=tokengate_node_guard
SYSCTLS="net.ipv4.ip_forward vm.overcommit_memory kernel.panic kernel.panic_on_oops net.bridge.bridge-nf-call-iptables"
# Paths outside DIR that the kubelet, containerd and the CNI plugins write to (removed by stop
# when they did not exist before start).
OUTSIDE_PATHS="/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/mount /run/containerd /var/lib/kube-router /var/run/kube-router"

sysctl_path() { echo "/proc/sys/${1//.//}"; }

# socket_dir : where the node's containerd sockets live. Not under DIR: a unix socket path has at
# most 107 bytes, DIR may be deep, and the ttrpc socket adds ".ttrpc". A short directory of its
# own under /run, named after DIR (so stop finds it), removed by stop.
socket_dir() { echo "/run/tg-$(printf '%s' "$DIR" | sha256sum | cut -c1-12)"; }

load_binaries() {
  if [[ -z ${TOKENGATE_KUBELET:-} || -z ${TOKENGATE_CONTAINERD:-} || -z ${TOKENGATE_KUBE_ROUTER:-} ]]; then
    local exports
    exports=$("$HERE/build.sh" --check 2>/dev/null) || exports=$("$HERE/build.sh") || die "build.sh failed"
    eval "$exports"
  fi
}

# ---- preflight ----
preflight() {
  local missing=()
  [[ $(id -u) -eq 0 ]] || die "the node needs root (it creates a bridge, network namespaces, cgroups and firewall rules); running as uid $(id -u)"
  [[ -d /sys/fs/cgroup/memory ]] || grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null ||
    die "the node needs the memory cgroup controller (neither /sys/fs/cgroup/memory nor memory in /sys/fs/cgroup/cgroup.controllers)"
  [[ -d /sys/fs/cgroup/memory ]] || die "the node needs cgroup v1 controllers under /sys/fs/cgroup (this script does not set up a pure cgroup v2 machine)"
  [[ -d /proc/sys/net/bridge ]] || die "the node needs br_netfilter (/proc/sys/net/bridge is missing): NetworkPolicy and Service hairpin traffic on the bridge must pass netfilter"
  local c
  for c in runc iptables ipset nft ip mount umount; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [[ ${#missing[@]} -eq 0 ]] || die "the node needs these commands: ${missing[*]} (Debian: apt-get install runc iptables ipset nftables iproute2)"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    die "a tokengate node already runs on this machine (bridge $BRIDGE exists; owner: $(cat "$OWNER_FILE" 2>/dev/null || echo unknown)); stop it with stop.sh <its dir>"
  fi
}

# ---- network (before the API server) ----
network() {
  local dir=$1 nd=$1/node s
  mkdir -p "$nd/saved"
  echo "$dir" >"$OWNER_FILE"
  # sysctls as they were, restored by stop (the kubelet and the bridge plugin change them)
  if [[ ! -f $nd/saved/sysctl ]]; then
    for s in $SYSCTLS; do
      [[ -r $(sysctl_path "$s") ]] && echo "$s=$(cat "$(sysctl_path "$s")")"
    done >"$nd/saved/sysctl.tmp"
    mv "$nd/saved/sysctl.tmp" "$nd/saved/sysctl"
  fi
  if [[ ! -f $nd/saved/outside ]]; then
    for s in $OUTSIDE_PATHS; do [[ -e $s ]] && echo "$s"; done >"$nd/saved/outside" || true
  fi
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
  # Nothing but this machine reaches the node's address, the pods or the cluster's ports.
  nft -f - <<EOF
table inet $NFT_TABLE {
  chain input {
    type filter hook input priority -5; policy accept;
    iifname != { "lo", "$BRIDGE" } ip daddr $POD_CIDR drop
  }
  chain forward {
    type filter hook forward priority -5; policy accept;
    iifname != { "lo", "$BRIDGE" } ip daddr $POD_CIDR drop
    oifname != { "lo", "$BRIDGE" } ip saddr $POD_CIDR drop
  }
}
EOF
  log "bridge $BRIDGE up with the node address $NODE_IP ($POD_CIDR); traffic confined to this machine"
}

# guard_port PORT : refuse connections to PORT that arrive from outside this machine
guard_port() {
  nft add rule inet "$NFT_TABLE" input iifname != '{ "lo", "'"$BRIDGE"'" }' tcp dport "$1" drop
}

# ---- start ----
# launch NAME CMD... (same conventions as start.sh: logs/NAME.log, pids/NAME.pid)
launch() {
  local name=$1
  shift
  (exec nohup "$@" </dev/null >"$DIR/logs/$name.log" 2>&1) &
  echo $! >"$DIR/pids/$name.pid"
}
alive() { kill -0 "$(cat "$DIR/pids/$1.pid")" 2>/dev/null; }
wait_for() { # wait_for NAME WHAT TIMEOUT CMD...
  local name=$1 what=$2 deadline=$(($(date +%s) + $3))
  shift 3
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then
      echo "----- last 30 lines of $DIR/logs/$name.log -----" >&2
      tail -n 30 "$DIR/logs/$name.log" >&2
      die "$name exited while waiting for $what (log: $DIR/logs/$name.log)"
    fi
    if [[ $(date +%s) -ge $deadline ]]; then
      echo "----- last 30 lines of $DIR/logs/$name.log -----" >&2
      tail -n 30 "$DIR/logs/$name.log" >&2
      die "timed out waiting for $what (log: $DIR/logs/$name.log)"
    fi
    sleep 0.2
  done
}

read_port_range() {
  read -r EPH_LOW _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || EPH_LOW=32768
  PORT_HI=$((EPH_LOW > 20100 ? EPH_LOW - 1 : 32767))
}
USED_PORTS=" "
pick_port() {
  local var=$1 p
  for _ in $(seq 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % (PORT_HI - 20000)))
    if [[ $USED_PORTS != *" $p "* ]] && [[ -z $(ss -Htan "sport = :$p" 2>/dev/null) ]]; then
      USED_PORTS+="$p "
      printf -v "$var" '%s' "$p"
      return
    fi
  done
  die "no free port found"
}

kubeconfig() { # kubeconfig FILE USER NAME(cert basename)
  local file=$1 user=$2 name=$3
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tokengate-e2e
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 <"$CA_CERT")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$NPKI/$name.crt")
    client-key-data: $(base64 -w0 <"$NPKI/$name.key")
contexts:
- name: default
  context: {cluster: tokengate-e2e, user: $user}
current-context: default
EOF
  chmod 600 "$file"
}

# The cgroup every pod nests under: a child of the starting process's own cgroup, created in
# every v1 hierarchy (the kubelet's cgroupfs driver uses one path in all of them).
make_cgroup_root() {
  local own h path parts p cur
  own=$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
  [[ -n $own ]] || die "cannot read this process's memory cgroup from /proc/self/cgroup"
  CGROUP_ROOT="${own%/}/tokengate-node"
  CGROUP_ROOT=/${CGROUP_ROOT#/}
  : >"$ND/saved/cgroups"
  for h in /sys/fs/cgroup/*/; do
    h=${h%/}
    [[ $(stat -fc %T "$h") == cgroupfs ]] || continue # v1 hierarchies only (cgroup2 is unified)
    [[ -n $(basename "$h") ]] || continue
    cur=$h
    IFS=/ read -ra parts <<<"${CGROUP_ROOT#/}"
    for p in "${parts[@]}"; do
      if [[ ! -d $cur/$p ]]; then
        mkdir "$cur/$p"
        echo "$cur/$p" >>"$ND/saved/cgroups"
        if [[ -f $cur/cpuset.cpus ]]; then
          cat "$cur/cpuset.cpus" >"$cur/$p/cpuset.cpus"
          cat "$cur/cpuset.mems" >"$cur/$p/cpuset.mems"
        fi
      fi
      cur=$cur/$p
    done
  done
  echo "$CGROUP_ROOT" >"$ND/saved/cgroup_root"
  # runc also mirrors pods' cgroups into the unified (cgroup2) hierarchy: remember the deepest
  # part of the path that exists there now; stop removes what appears below it.
  if [[ -d /sys/fs/cgroup/unified ]]; then
    cur=$CGROUP_ROOT
    until [[ -d /sys/fs/cgroup/unified$cur || $cur == / || -z $cur ]]; do cur=$(dirname "$cur"); done
    echo "${cur:-/}" >"$ND/saved/unified_base"
  fi
  log "pods' cgroups under $CGROUP_ROOT"
}

start_node() {
  DIR=$1
  ND=$DIR/node
  load_binaries
  # shellcheck disable=SC1091
  set -a && . "$DIR/cluster.env" && set +a
  read_port_range
  NPKI=$ND/pki
  mkdir -p "$NPKI" "$ND/containerd" "$ND/kubelet" "$ND/cni/net.d" "$ND/cni/ipam" "$ND/cni/cache" \
    "$ND/pod-logs" "$ND/scheduler" "$ND/kube-proxy"
  chmod 700 "$NPKI"

  # ---- certificates (signed by the cluster CA) ----
  printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n' >"$NPKI/openssl.cnf"
  leaf() { # leaf NAME SUBJECT EKU [SAN]
    local name=$1 subj=$2 eku=$3 san=${4:-}
    openssl req -config "$NPKI/openssl.cnf" -x509 -nodes -sha256 -days 3650 \
      -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$NPKI/$name.key" -out "$NPKI/$name.crt" \
      -subj "$subj" -CA "$CA_CERT" -CAkey "$CA_KEY" \
      -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature,keyEncipherment" \
      -addext "extendedKeyUsage=$eku" ${san:+-addext "subjectAltName=$san"} 2>"$NPKI/$name.openssl.log"
  }
  local pids=() pid
  leaf kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth & pids+=($!)
  leaf kubelet-serving "/CN=$NODE_NAME" serverAuth "IP:$NODE_IP,DNS:$NODE_NAME" & pids+=($!)
  leaf kube-scheduler "/CN=system:kube-scheduler" clientAuth & pids+=($!)
  leaf kube-proxy "/CN=system:kube-proxy" clientAuth & pids+=($!)
  leaf kube-router "/CN=system:kube-router" clientAuth & pids+=($!)
  for pid in "${pids[@]}"; do wait "$pid" || die "openssl failed: $(cat "$NPKI"/*.openssl.log)"; done
  rm -f "$NPKI"/*.openssl.log
  kubeconfig "$ND/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet
  kubeconfig "$ND/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
  kubeconfig "$ND/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  kubeconfig "$ND/kube-router.kubeconfig" system:kube-router kube-router
  log "node certificates in $NPKI"

  make_cgroup_root

  # ---- containerd ----
  local sock
  sock=$(socket_dir)/containerd.sock
  mkdir -p -m 0700 "$(socket_dir)"
  mkdir -p "$ND/containerd/root" "$ND/containerd/state" "$ND/containerd/tmp" "$ND/containerd/opt"
  cat >"$ND/containerd/config.toml" <<EOF
version = 3
root = "$ND/containerd/root"
state = "$ND/containerd/state"
temp = "$ND/containerd/tmp"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "$ND/containerd/opt"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "${TOKENGATE_PAUSE_IMAGE:-tokengate.local/pause:3.10}"
  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "$TOKENGATE_RUNC"
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$TOKENGATE_CNI_BIN_DIR"]
      conf_dir = "$ND/cni/net.d"
      max_conf_num = 1
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOF
  cat >"$ND/cni/net.d/10-tokengate.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tokengate",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$ND/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  launch containerd env PATH="$TOKENGATE_BIN_DIR:$PATH" "$TOKENGATE_CONTAINERD" --config "$ND/containerd/config.toml" --log-level warn
  wait_for containerd "the containerd socket" 60 "$TOKENGATE_CTR" -a "$sock" version
  log "containerd ready ($sock)"
  import_images

  # ---- kubelet ----
  local kubelet_port healthz_port
  pick_port kubelet_port
  pick_port healthz_port
  : >"$ND/kubelet/resolv.conf"
  cat >"$ND/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
containerRuntimeEndpoint: unix://$sock
address: $NODE_IP
port: $kubelet_port
healthzBindAddress: 127.0.0.1
healthzPort: $healthz_port
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CA_CERT}
authorization:
  mode: Webhook
tlsCertFile: $NPKI/kubelet-serving.crt
tlsPrivateKeyFile: $NPKI/kubelet-serving.key
failSwapOn: false
protectKernelDefaults: false
makeIPTablesUtilChains: false
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: $ND/kubelet/resolv.conf
clusterDomain: cluster.local
podCIDR: $POD_CIDR
podLogsDir: $ND/pod-logs
syncFrequency: 10s
serializeImagePulls: false
shutdownGracePeriod: 0s
EOF
  guard_port "$kubelet_port"
  launch kubelet "$TOKENGATE_KUBELET" \
    --config="$ND/kubelet/config.yaml" \
    --kubeconfig="$ND/kubelet.kubeconfig" \
    --hostname-override="$NODE_NAME" \
    --node-ip="$NODE_IP" \
    --root-dir="$ND/kubelet/root" \
    --cert-dir="$ND/kubelet/pki" \
    --oom-score-adj="$(cat /proc/self/oom_score_adj)" \
    --v=1
  # ---- kube-scheduler ----
  local sched_port
  pick_port sched_port
  launch kube-scheduler "$TOKENGATE_KUBE_SCHEDULER" \
    --kubeconfig="$ND/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="$ND/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="$ND/kube-scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$sched_port" --cert-dir="$ND/scheduler" \
    --leader-elect=false --profiling=false --v=1
  local K=(kubectl --kubeconfig "$KUBECONFIG")
  wait_for kubelet "node $NODE_NAME to register" 90 "${K[@]}" get node "$NODE_NAME"
  # The kubelet's podCIDR is not the Node's spec (no node IPAM in this cluster): set it once for
  # kube-router, which reads the node's pod CIDR.
  "${K[@]}" patch node "$NODE_NAME" --type merge \
    -p "{\"spec\":{\"podCIDR\":\"$POD_CIDR\",\"podCIDRs\":[\"$POD_CIDR\"]}}" >/dev/null

  # ---- kube-proxy ----
  local kp_healthz kp_metrics
  pick_port kp_healthz
  pick_port kp_metrics
  cat >"$ND/kube-proxy/config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $ND/kube-proxy.kubeconfig
mode: nftables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:$kp_healthz
metricsBindAddress: 127.0.0.1:$kp_metrics
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: $(cat /proc/self/oom_score_adj)
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
  launch kube-proxy "$TOKENGATE_KUBE_PROXY" --config="$ND/kube-proxy/config.yaml" --v=1

  # ---- kube-router: NetworkPolicy only ----
  "${K[@]}" apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "tokengate:kube-router"}
rules:
- apiGroups: [""]
  resources: [namespaces, pods, services, nodes, endpoints]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, watch, create, update]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "tokengate:kube-router"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "tokengate:kube-router"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:kube-router"}
EOF
  local kr_health
  pick_port kr_health
  launch kube-router env PATH="/usr/sbin:/sbin:$PATH" "$TOKENGATE_KUBE_ROUTER" \
    --kubeconfig="$ND/kube-router.kubeconfig" \
    --hostname-override="$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false \
    --enable-cni=false --enable-ipv4=true --enable-ipv6=false --service-cluster-ip-range="$SERVICE_CIDR" \
    --health-port="$kr_health" --metrics-port=0 \
    --v=1

  wait_for kubelet "node $NODE_NAME Ready" 120 "${K[@]}" wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
  wait_for kube-proxy "kube-proxy healthz" 60 curl -sf --max-time 2 "http://127.0.0.1:$kp_healthz/healthz"
  wait_for kube-router "kube-router healthz" 60 curl -sf --max-time 2 "http://127.0.0.1:$kr_health/healthz"
  alive kube-scheduler || die "kube-scheduler exited (log: $DIR/logs/kube-scheduler.log)"
  cat >>"$DIR/cluster.env" <<EOF
NODE_NAME=$NODE_NAME
NODE_IP=$NODE_IP
POD_CIDR=$POD_CIDR
CONTAINERD_SOCKET=$sock
KUBELET_PORT=$kubelet_port
CGROUP_ROOT=$CGROUP_ROOT
EOF
  log "node $NODE_NAME Ready (containerd, kubelet, kube-scheduler, kube-proxy nftables, kube-router firewall)"
}

# import_images : every docker-archive tarball named by TOKENGATE_IMAGE_* (and the pause image)
import_images() {
  local v f
  for v in $(compgen -e | grep '^TOKENGATE_IMAGE_' || true); do
    f=${!v}
    [[ -f $f ]] || die "$v names a missing file: $f"
    "$TOKENGATE_CTR" -a "$(socket_dir)/containerd.sock" -n k8s.io images import "$f" \
      >>"$DIR/logs/image-import.log" 2>&1 || die "ctr images import $f failed (log: $DIR/logs/image-import.log)"
    log "image imported: $v ($(basename "$f"))"
  done
}

# ---- stop ----
stop_node() {
  set +e # take down whatever is there, whatever failed before
  DIR=$1
  ND=$DIR/node
  local name pid
  # the node's processes: kube-router, kube-proxy, scheduler, kubelet, then containerd; the shims
  # (their own process groups) are found by their containerd address
  for name in kube-router kube-proxy kube-scheduler kubelet; do
    [[ -f $DIR/pids/$name.pid ]] || continue
    pid=$(cat "$DIR/pids/$name.pid")
    kill -TERM "$pid" 2>/dev/null && log "stopping $name (pid $pid)"
  done
  for _ in $(seq 100); do
    local any=0
    for name in kube-router kube-proxy kube-scheduler kubelet; do
      [[ -f $DIR/pids/$name.pid ]] && kill -0 "$(cat "$DIR/pids/$name.pid")" 2>/dev/null && any=1
    done
    [[ $any == 0 ]] && break
    sleep 0.1
  done
  for name in kube-router kube-proxy kube-scheduler kubelet; do
    [[ -f $DIR/pids/$name.pid ]] && kill -KILL "$(cat "$DIR/pids/$name.pid")" 2>/dev/null
    rm -f "$DIR/pids/$name.pid"
  done
  # containers: kill every task (pods' processes), then the shims, then containerd
  local sock
  sock=$(socket_dir)/containerd.sock
  if [[ -S $sock ]]; then
    load_binaries 2>/dev/null || true
    local t
    for t in $("${TOKENGATE_CTR:-ctr}" -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      "${TOKENGATE_CTR:-ctr}" -a "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
  fi
  local shims=() p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ $cmd == *containerd-shim-runc-v2* && $cmd == *"$sock"* ]] && shims+=("${p#/proc/}")
  done
  [[ ${#shims[@]} -gt 0 ]] && { log "stopping ${#shims[@]} containerd shims"; kill -TERM "${shims[@]}" 2>/dev/null; sleep 1; kill -KILL "${shims[@]}" 2>/dev/null; }
  if [[ -f $DIR/pids/containerd.pid ]]; then
    pid=$(cat "$DIR/pids/containerd.pid")
    kill -TERM "$pid" 2>/dev/null && log "stopping containerd (pid $pid)"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$DIR/pids/containerd.pid"
  fi
  rm -rf "$(socket_dir)"
  # processes left in the node's cgroups (pods' processes whose shim died first)
  if [[ -f $ND/saved/cgroups ]]; then
    local cg
    for cg in $(tac "$ND/saved/cgroups"); do
      find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    done
  fi
  # mounts under DIR (netns, rootfs, volumes, shm), deepest first
  local m
  for _ in 1 2 3; do
    for m in $(awk -v d="$ND/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
  done
  local owner
  owner=$(cat "$OWNER_FILE" 2>/dev/null || true)
  if [[ -n $owner && $owner != "$DIR" ]]; then
    log "the machine's node network belongs to $owner: leaving the bridge, rules and sysctls alone"
    rm -rf "$ND/containerd/root" "$ND/containerd/state" "$ND/kubelet/root" 2>/dev/null || true
    return 0
  fi
  # network: bridge (and the veths on it), nft guard, kube-proxy's tables, kube-router's chains
  local veth
  for veth in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$veth" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null && log "bridge $BRIDGE removed"
  nft delete table inet "$NFT_TABLE" 2>/dev/null || true
  nft delete table ip kube-proxy 2>/dev/null || true
  nft delete table ip6 kube-proxy 2>/dev/null || true
  cleanup_iptables
  # cgroups the node made (the kubelet's and runc's below them first), unified included
  if [[ -f $ND/saved/cgroups ]]; then
    local cg
    for cg in $(tac "$ND/saved/cgroups"); do
      find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    local root base cur
    root=$(cat "$ND/saved/cgroup_root" 2>/dev/null || true)
    base=$(cat "$ND/saved/unified_base" 2>/dev/null || true)
    if [[ -n $root && -n $base && -d /sys/fs/cgroup/unified$root ]]; then
      find "/sys/fs/cgroup/unified$root" -depth -type d -exec rmdir {} \; 2>/dev/null
      cur=$(dirname "$root")
      while [[ $cur != "$base" && $cur != / && $cur == "$base"/* ]]; do
        rmdir "/sys/fs/cgroup/unified$cur" 2>/dev/null || break
        cur=$(dirname "$cur")
      done
    fi
    for cg in $(tac "$ND/saved/cgroups"); do
      [[ -d $cg ]] && log "WARNING: cgroup $cg could not be removed"
    done
  fi
  # the kubelet's, containerd's and CNI's paths outside DIR that were not there before
  if [[ -f $ND/saved/outside ]]; then
    for p in $OUTSIDE_PATHS; do
      grep -qxF "$p" "$ND/saved/outside" || { [[ -e $p ]] && rm -rf "$p"; }
    done
  fi
  # sysctls as they were
  if [[ -f $ND/saved/sysctl ]]; then
    local kv
    while IFS= read -r kv; do
      [[ -n $kv ]] && echo "${kv#*=}" >"$(sysctl_path "${kv%%=*}")" 2>/dev/null
    done <"$ND/saved/sysctl"
    log "sysctls restored ($(tr '\n' ' ' <"$ND/saved/sysctl"))"
    rm -f "$ND/saved/sysctl"
  fi
  [[ $(cat "$OWNER_FILE" 2>/dev/null) == "$DIR" ]] && rm -f "$OWNER_FILE"
  rm -rf "$ND/containerd/root" "$ND/containerd/state" "$ND/kubelet/root" 2>/dev/null || true
  log "node stopped"
}

# kube-router's and the kubelet's/portmap's iptables chains and ipsets (filter, nat, mangle)
cleanup_iptables() {
  local t c
  for t in filter nat mangle raw; do
    # rules in built-in chains that jump to our chains
    iptables-save -t "$t" 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|CNI-)' |
      sed 's/^-A/-D/' | while IFS= read -r rule; do eval "iptables -t $t $rule" 2>/dev/null || true; done
    for c in $(iptables-save -t "$t" 2>/dev/null | awk '/^:(KUBE-|CNI-)/{print substr($1,2)}'); do
      iptables -t "$t" -F "$c" 2>/dev/null || true
    done
    for c in $(iptables-save -t "$t" 2>/dev/null | awk '/^:(KUBE-|CNI-)/{print substr($1,2)}'); do
      iptables -t "$t" -X "$c" 2>/dev/null || true
    done
  done
  local s
  for s in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router)' || true); do ipset destroy "$s" 2>/dev/null || true; done
}

cmd=${1:-}
case $cmd in
preflight) preflight ;;
network) network "$(cd "${2:?DIR}" && pwd -P)" ;;
guard) guard_port "${3:?PORT}" ;;
start) start_node "$(cd "${2:?DIR}" && pwd -P)" ;;
stop) stop_node "$(cd "${2:?DIR}" && pwd -P)" ;;
*) die "usage: node.sh preflight | network DIR | guard DIR PORT | start DIR | stop DIR" ;;
esac
