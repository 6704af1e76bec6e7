#!/usr/bin/env bash
# The sidecar inside a memory cgroup at the chart's default limit (128Mi), with the JVM flags the
# operator injects for that limit, under a burst of 10,000 concurrent connections plus slow heads.
# Records the process's peak RSS (VmHWM), the cgroup's peak memory, its anonymous memory, whether
# the kernel OOM-killed the process, how the connections ended (503 with Retry-After, refused
# connects) and whether a valid request is answered afterwards. cgroup v1 memory controller;
# root needed. Writes ${BENCH_OUT:-bench}/raw/memory-burst.json and prints it. Loopback only.
# bench/run.sh runs it as its "memory-burst" scenario; it also runs on its own.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
JAR="${SIDECAR_JAR:-$REPO/sidecar/target/tokengate-sidecar.jar}"
JAVA="${JAVA:-java}"
OUT_FILE="${BURST_OUT:-${BENCH_OUT:-$BENCH_DIR}/raw/memory-burst.json}"
CONNECTIONS="${BURST_CONNECTIONS:-10000}"
SLOW_HEADS="${SLOW_HEADS:-1000}"
# What the operator injects with the chart's defaults: the limit and the decision log from
# helm/tokengate/values.yaml, the JVM flags from the operator's SidecarJvmOptions (see
# lib/injected.py). LIMIT_MIB or JVM_FLAGS given in the environment win.
eval "$(JAVA="$JAVA" python3 "$BENCH_DIR/lib/injected.py" shell ${LIMIT_MIB:+--limit "${LIMIT_MIB}Mi"})"
JVM_FLAGS="${BURST_JVM_FLAGS:-$JVM_FLAGS}"
[[ -f $JAR ]] || { echo "[burst] no sidecar jar at $JAR" >&2; exit 1; }
WORK=$(mktemp -d)
CG=
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -n $CG ]] && python3 "$BENCH_DIR/lib/memcg.py" remove "$CG"
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
LISTEN=$(port)
ADMIN=$(port)
UPSTREAM=$(port)

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
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$UPSTREAM" &
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
  upstream: {port: $UPSTREAM, timeout: 30s}
  rules:
    - paths: ["/**"]
      action: Allow
YAML

CG=$(python3 "$BENCH_DIR/lib/memcg.py" create burst "$LIMIT_BYTES")
# As the pod runs it: the flags in JAVA_TOOL_OPTIONS, the limit in TOKENGATE_MEMORY_LIMIT_BYTES.
JAVA_TOOL_OPTIONS="$JVM_FLAGS" TOKENGATE_MEMORY_LIMIT_BYTES="$LIMIT_BYTES" \
  python3 "$BENCH_DIR/lib/memcg.py" exec "$CG" -- "$JAVA" -jar "$JAR" --config "$WORK" \
  --listen-port "$LISTEN" --admin-port "$ADMIN" --listen-host 127.0.0.1 --admin-host 127.0.0.1 \
  --decision-log-allowed "$DECISION_LOG_ALLOWED" > "$WORK/sidecar.log" 2>&1 &
SIDECAR=$!
pids+=($SIDECAR)
for _ in $(seq 1 600); do
  curl -fs "localhost:$ADMIN/healthz/ready" >/dev/null 2>&1 && break
  kill -0 "$SIDECAR" 2>/dev/null || { echo "[burst] the sidecar exited:" >&2; tail -20 "$WORK/sidecar.log" >&2; exit 1; }
  sleep 0.1
done
idle_rss_kib=$(awk '/^VmRSS:/{print $2}' "/proc/$SIDECAR/status")
echo "[burst] ready (VmRSS $((idle_rss_kib / 1024)) MiB); ${CONNECTIONS} connections + ${SLOW_HEADS} slow heads" >&2
# The highest anonymous RSS while the burst runs (VmHWM has the peak of the whole RSS only).
(
  peak=0
  while kill -0 "$SIDECAR" 2>/dev/null; do
    a=$(awk '/^RssAnon:/{print $2}' "/proc/$SIDECAR/status" 2>/dev/null || echo 0)
    ((${a:-0} > peak)) && peak=$a && echo "$peak" > "$WORK/anon-peak"
    sleep 0.1
  done
) &
pids+=($!)
t0=$(date +%s.%N)
python3 "$BENCH_DIR/lib/burst.py" "$LISTEN" "$CONNECTIONS" "$SLOW_HEADS" 61440 5 > "$WORK/burst.json"
t1=$(date +%s.%N)
alive=false
hwm_kib=0
if kill -0 "$SIDECAR" 2>/dev/null; then
  alive=true
  hwm_kib=$(awk '/^VmHWM:/{print $2}' "/proc/$SIDECAR/status")
fi
after=$(curl -s -o /dev/null -w '%{http_code}' "localhost:$LISTEN/after" || true)
max_conn=$(grep -o '"max_connections":"[0-9]*"' "$WORK/sidecar.log" | head -1 | grep -o '[0-9]*' || true)
cgroup=$(python3 "$BENCH_DIR/lib/memcg.py" stats "$CG")
mkdir -p "$(dirname "$OUT_FILE")"
python3 - "$OUT_FILE" <<PY
import json, sys
clients = json.load(open("$WORK/burst.json"))
cg = json.loads('''$cgroup''')
out = {
    "limit_mib": cg["limit_mib"], "connections": $CONNECTIONS, "slow_heads": $SLOW_HEADS,
    "jvm_flags": """$JVM_FLAGS""", "decision_log_allowed": "$DECISION_LOG_ALLOWED",
    "max_connections": "$max_conn",
    "idle_rss_mib": round($idle_rss_kib / 1024, 1),
    "peak_rss_mib": round($hwm_kib / 1024, 1) if $hwm_kib else None,
    "peak_rss_anon_mib": round($(cat "$WORK/anon-peak" 2>/dev/null || echo 0) / 1024, 1),
    "peak_cgroup_mib": cg["peak_mib"], "peak_kernel_mib": cg["peak_kernel_mib"],
    "anon_after_mib": cg["anon_now_mib"], "oom_kill": cg["oom_kill"], "limit_hits": cg["limit_hits"],
    "alive": "$alive" == "true", "valid_request_after": "$after",
    "burst_seconds": round($t1 - $t0, 1),
    "clients": clients,
}
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps(out, indent=1))
PY
