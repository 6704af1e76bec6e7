#!/usr/bin/env bash
# The sidecar inside a memory cgroup at the chart's default limit (128Mi), with the JVM flags
# recommended for that limit, under a burst of 10,000 concurrent connections plus slow heads.
# Records the cgroup's peak memory, its anonymous memory, whether the kernel OOM-killed the
# process, and whether a valid request is answered afterwards. cgroup v1 memory controller;
# root needed. Writes bench/raw/memory-burst.json and prints a summary. Loopback only.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
JAR="${SIDECAR_JAR:-$REPO/sidecar/target/tokengate-sidecar.jar}"
LIMIT_MIB="${LIMIT_MIB:-128}"
CONNECTIONS="${CONNECTIONS:-10000}"
SLOW_HEADS="${SLOW_HEADS:-1000}"
CG=/sys/fs/cgroup/memory/tokengate-burst-$$
# The flags the operator injects for a 128Mi limit (see bench/RESULTS.md).
JVM_FLAGS="${JVM_FLAGS:--XX:+UseSerialGC -Xms16m -Xmx40m -XX:MaxDirectMemorySize=16m -Xss256k \
-XX:MaxMetaspaceSize=40m -XX:ReservedCodeCacheSize=16m -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 \
-XX:+ExitOnOutOfMemoryError -Dio.netty.allocator.numDirectArenas=1 \
-Dio.netty.allocator.numHeapArenas=1 -Dio.netty.allocator.maxOrder=7}"
WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  [[ -d $CG ]] && rmdir "$CG" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The application: answers every request 200 at once.
python3 -c '
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True; request_queue_size = 1024
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' 17451 &
pids+=($!)

cat > "$WORK/issuer.yaml" <<YAML
apiVersion: tokengate.io/v1alpha1
kind: TokenIssuer
metadata: {name: idp, namespace: shop}
spec:
  issuer: https://idp.example.com
  audiences: [orders]
  discovery: false
  jwks:
    keys:
      - {kty: EC, crv: P-256, kid: k1, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, "y": x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0}
YAML
cat > "$WORK/policy.yaml" <<YAML
apiVersion: tokengate.io/v1alpha1
kind: ApiPolicy
metadata: {name: burst, namespace: shop}
spec:
  selector: {matchLabels: {app: burst}}
  issuerRef: {kind: TokenIssuer, name: idp}
  upstream: {port: 17451, timeout: 30s}
  rules:
    - paths: ["/**"]
      action: Allow
YAML

mkdir "$CG"
echo $((LIMIT_MIB * 1024 * 1024)) > "$CG/memory.limit_in_bytes"
echo $((LIMIT_MIB * 1024 * 1024)) > "$CG/memory.memsw.limit_in_bytes" 2>/dev/null || true
# shellcheck disable=SC2086
bash -c "echo \$\$ > $CG/cgroup.procs; exec java $JVM_FLAGS -jar '$JAR' --config '$WORK' \
  --listen-port 17450 --admin-port 17452 --listen-host 127.0.0.1 --admin-host 127.0.0.1" \
  > "$WORK/sidecar.log" 2>&1 &
SIDECAR=$!
pids+=($SIDECAR)
for _ in $(seq 1 100); do
  curl -fs localhost:17452/healthz/ready >/dev/null 2>&1 && break
  sleep 0.1
done
idle_rss=$(awk '/^total_rss /{print $2}' "$CG/memory.stat")
echo "[burst] ready; ${CONNECTIONS} connections + ${SLOW_HEADS} slow heads"
python3 "$BENCH_DIR/lib/burst.py" 17450 "$CONNECTIONS" "$SLOW_HEADS" 61440 5 > "$WORK/burst.json"
alive=false
kill -0 "$SIDECAR" 2>/dev/null && alive=true
after=$(curl -s -o /dev/null -w '%{http_code}' localhost:17450/after || true)
peak=$(cat "$CG/memory.max_usage_in_bytes")
kmem_peak=$(cat "$CG/memory.kmem.max_usage_in_bytes" 2>/dev/null || echo 0)
anon_now=$(awk '/^total_rss /{print $2}' "$CG/memory.stat")
oom_kill=$(awk '/^oom_kill /{print $2}' "$CG/memory.oom_control")
failcnt=$(cat "$CG/memory.failcnt")
max_conn=$(grep -o '"max_connections":"[0-9]*"' "$WORK/sidecar.log" | head -1 | grep -o '[0-9]*' || true)
mkdir -p "$BENCH_DIR/raw"
cat > "$BENCH_DIR/raw/memory-burst.json" <<JSON
{"limit_mib": $LIMIT_MIB, "connections": $CONNECTIONS, "slow_heads": $SLOW_HEADS,
 "jvm_flags": "$(echo $JVM_FLAGS)",
 "max_connections": "${max_conn}",
 "idle_anon_mib": $((idle_rss / 1048576)), "peak_cgroup_mib": $((peak / 1048576)), "peak_kernel_mib": $((kmem_peak / 1048576)),
 "anon_after_mib": $((anon_now / 1048576)), "oom_kill": ${oom_kill:-0}, "limit_hits": $failcnt,
 "alive": $alive, "valid_request_after": "$after",
 "clients": $(cat "$WORK/burst.json")}
JSON
cat "$BENCH_DIR/raw/memory-burst.json"
