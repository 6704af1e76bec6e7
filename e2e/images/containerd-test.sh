#!/usr/bin/env bash
# Imports every image of build.sh into a throw-away containerd and runs them with runc, as the
# node will: the test app and the sidecar (Java 25 runtime, AOT cache, the chart's default
# 128Mi memory limit and the operator's JAVA_TOOL_OPTIONS) on the host network, the client
# through the sidecar: a valid token reaches the app with the spoofed identity header
# replaced, no token gets 401 with a Bearer challenge; the sidecar maps its AOT cache; pause
# exits on SIGTERM. Everything lives under a temporary directory and is removed at the end.
#
# Usage: containerd-test.sh   (root; containerd, ctr and containerd-shim-runc-v2 from
#   ${TOKENGATE_CACHE:-~/.cache/tokengate}/bin as e2e/controlplane/build.sh leaves them, or on
#   PATH; runc on PATH). Without them it says what is missing and exits 0 (skipped).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TOKENGATE_CACHE:-$HOME/.cache/tokengate}"
log() { echo "[containerd-test] $*" >&2; }
skip() { echo "[containerd-test] SKIPPED: $*" >&2; exit 0; }
fail() { echo "[containerd-test] FAILED: $*" >&2; exit 1; }

find_bin() {
  local name=$1 f
  f=$(ls -1 "$CACHE/bin/$name"-v* 2>/dev/null | sort -V | tail -1)
  [[ -n $f ]] && { echo "$f"; return; }
  command -v "$name" || true
}
CONTAINERD=$(find_bin containerd)
CTR=$(find_bin ctr)
SHIM=$(find_bin containerd-shim-runc-v2)
[[ $(id -u) == 0 ]] || skip "needs root (containerd and runc)"
[[ -n $CONTAINERD && -n $CTR && -n $SHIM ]] || skip "containerd, ctr or containerd-shim-runc-v2 not built yet (e2e/controlplane/build.sh)"
command -v runc >/dev/null || skip "runc is not installed"
command -v curl >/dev/null || skip "curl is not installed"

eval "$("$HERE/build.sh")"

DIR=$(mktemp -d /tmp/tokengate-containerd-test.XXXXXX)
CTD_PID=
cleanup() {
  if [[ -n $CTD_PID ]]; then
    for id in $($CTR_CMD tasks ls -q 2>/dev/null); do $CTR_CMD tasks kill -s KILL "$id" >/dev/null 2>&1 || true; done
    sleep 1
    for id in $($CTR_CMD containers ls -q 2>/dev/null); do
      $CTR_CMD tasks delete -f "$id" >/dev/null 2>&1 || true
      $CTR_CMD containers delete "$id" >/dev/null 2>&1 || true
    done
    kill "$CTD_PID" 2>/dev/null || true
    wait "$CTD_PID" 2>/dev/null || true
  fi
  # Snapshots are mounted only while a task runs; anything left is unmounted before removal.
  grep -o " $DIR[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

mkdir -p "$DIR/bin"
ln -s "$SHIM" "$DIR/bin/containerd-shim-runc-v2"
cat >"$DIR/config.toml" <<EOF
version = 3
root = "$DIR/root"
state = "$DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri"]
[grpc]
  address = "$DIR/containerd.sock"
[ttrpc]
  address = "$DIR/containerd.sock.ttrpc"
[debug]
  address = "$DIR/debug.sock"
EOF
PATH="$DIR/bin:$PATH" "$CONTAINERD" --config "$DIR/config.toml" >"$DIR/containerd.log" 2>&1 &
CTD_PID=$!
CTR_CMD="$CTR -a $DIR/containerd.sock -n k8s.io"
for _ in $(seq 1 100); do $CTR_CMD version >/dev/null 2>&1 && break; sleep 0.1; done
$CTR_CMD version >/dev/null 2>&1 || fail "containerd did not start: $(tail -5 "$DIR/containerd.log")"

for var in TOKENGATE_IMAGE_PAUSE TOKENGATE_IMAGE_TESTAPP TOKENGATE_IMAGE_CLIENT TOKENGATE_IMAGE_OPERATOR TOKENGATE_IMAGE_SIDECAR; do
  $CTR_CMD images import "${!var}" >/dev/null 2>&1 || fail "ctr images import ${!var} ($var) failed"
done
images=$($CTR_CMD images ls -q 2>/dev/null | xargs)
log "imported: $images"
for want in tokengate.local/pause:3.10 tokengate.local/testapp:0.1.0 tokengate.local/client:0.1.0 docker.io/tokengate/operator: docker.io/tokengate/sidecar:; do
  [[ " $images" == *" $want"* ]] || fail "$want missing after import (have: $images)"
done
sidecar_image=$(tr ' ' '\n' <<<"$images" | grep '^docker.io/tokengate/sidecar:')
operator_image=$(tr ' ' '\n' <<<"$images" | grep '^docker.io/tokengate/operator:')

# The operator needs an API server to start; here its image's Java runs, as its user, and
# reaches the CA certificates (the trust store loads with entries).
jv=$($CTR_CMD run --rm "$operator_image" operator-java java -XshowSettings:properties \
  -Djavax.net.ssl.trustStore=/opt/java/lib/security/cacerts -version 2>&1 | grep -E 'java.version =|user.name =' | xargs)
[[ $jv == *"java.version = "* && $jv == *"user.name = nonroot"* ]] || fail "the operator image's java did not run as nonroot: $jv"
log "operator image: $jv"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
APP=$(port) LISTEN=$(port) ADMIN=$(port)

# Static keys and a token, written by the startup benchmark's helper (one source of truth).
mkdir "$DIR/config"
(cd "$HERE/../../bench" && python3 -c "import startup, sys; print(startup.write_config(sys.argv[1], int(sys.argv[2])))" "$DIR/config" "$APP") >"$DIR/token" ||
  fail "could not write the sidecar configuration (python3 with 'cryptography' is needed)"
chmod -R a+rX "$DIR/config"
TOKEN=$(cat "$DIR/token")

$CTR_CMD run -d --net-host tokengate.local/testapp:0.1.0 testapp /testapp --port "$APP" --listen 127.0.0.1 >/dev/null 2>&1 ||
  fail "the testapp container did not start"
$CTR_CMD run -d --net-host --memory-limit 134217728 \
  --env 'JAVA_TOOL_OPTIONS=-XX:+UseSerialGC -XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError -Xss512k -Djava.io.tmpdir=/tmp' \
  --mount "type=bind,src=$DIR/config,dst=/etc/tokengate,options=rbind:ro" "$sidecar_image" sidecar \
  java @/opt/tokengate/jvm.args -jar /opt/tokengate/tokengate-sidecar.jar \
  --config /etc/tokengate --listen-port "$LISTEN" --admin-port "$ADMIN" >/dev/null 2>&1 || fail "the sidecar container did not start"
start=$(date +%s%N)
for _ in $(seq 1 600); do
  curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/healthz/ready" && break
  sleep 0.05
done
curl -fs -o /dev/null "http://127.0.0.1:$ADMIN/healthz/ready" || fail "the sidecar was not ready after 30 s"
log "sidecar ready $(((($(date +%s%N) - start)) / 1000000)) ms after its task started"

client() { $CTR_CMD run --rm --net-host tokengate.local/client:0.1.0 "client-$RANDOM" /client "$@" 2>/dev/null; }
ok=$(client get -H "Authorization: Bearer $TOKEN" -H "X-Auth-Subject: mallory" "http://127.0.0.1:$LISTEN/orders?id=1" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["json"]["path"], d["json"]["headers"].get("x-auth-subject"))')
[[ $ok == "200 /orders?id=1 ['bench']" ]] || fail "valid token through the sidecar: got '$ok', want 200 with X-Auth-Subject from the token"
denied=$(client get "http://127.0.0.1:$LISTEN/orders" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["headers"].get("Www-Authenticate", [""])[0].split(" ")[0])')
[[ $denied == "401 Bearer" ]] || fail "no token: got '$denied', want 401 with a Bearer challenge"
log "client pod through the sidecar: valid token 200 (spoofed X-Auth-Subject replaced), no token 401"

java_pid=$(pgrep -f -- "--listen-port $LISTEN" | head -1)
[[ -n $java_pid ]] && grep -q 'sidecar.aot' "/proc/$java_pid/maps" || fail "the sidecar's JVM has not mapped /opt/tokengate/sidecar.aot"
[[ $(stat -c %u "/proc/$java_pid") == 65532 ]] || fail "the sidecar does not run as 65532"
log "sidecar: AOT cache mapped, user 65532, RSS $(awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$java_pid/status")"

$CTR_CMD run -d tokengate.local/pause:3.10 pause >/dev/null 2>&1 || fail "the pause container did not start"
sleep 0.5
$CTR_CMD tasks kill -s SIGTERM pause >/dev/null 2>&1
for _ in $(seq 1 50); do
  status=$($CTR_CMD tasks ls 2>/dev/null | awk '$1 == "pause" {print $3}')
  [[ $status == STOPPED ]] && break
  sleep 0.1
done
[[ $status == STOPPED ]] || fail "pause still $status 5 s after SIGTERM"
log "pause stopped on SIGTERM"
log "passed"
