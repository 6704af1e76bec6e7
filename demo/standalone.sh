#!/usr/bin/env bash
# Standalone demo: a local issuer, a stand-in app and the tokengate sidecar in front of it,
# on 127.0.0.1, outside Kubernetes. Prints the answers to three requests: no token (401),
# a token without the needed scope (403) and a good token (200).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JAR="$ROOT/sidecar/target/tokengate-sidecar.jar"
WORK="$(mktemp -d -t tokengate-demo.XXXXXX)"
ISSUER_PORT="${ISSUER_PORT:-19000}"; APP_PORT="${APP_PORT:-18080}"
LISTEN_PORT="${LISTEN_PORT:-7450}"; ADMIN_PORT="${ADMIN_PORT:-7451}"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -f "$JAR" ]]; then
  echo "==> building the sidecar ($JAR)"
  (cd "$ROOT" && ./mvnw -B -q -pl sidecar -am package -DskipTests)
fi

wait_for() { # url, what
  for _ in $(seq 1 100); do
    if curl -fs -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "error: $2 did not come up at $1" >&2; exit 1
}

echo "==> starting a local issuer on :$ISSUER_PORT and the app on :$APP_PORT"
python3 "$ROOT/demo/issuer.py" --port "$ISSUER_PORT" --state-dir "$WORK/issuer" >"$WORK/issuer.log" 2>&1 &
PIDS+=($!)
python3 "$ROOT/demo/upstream.py" "$APP_PORT" >"$WORK/app.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$ISSUER_PORT/.well-known/openid-configuration" "the issuer"
wait_for "http://127.0.0.1:$APP_PORT/" "the app"

mkdir -p "$WORK/config"
cat >"$WORK/config/issuer.yaml" <<YAML
apiVersion: tokengate.io/v1alpha1
kind: TokenIssuer
metadata: {name: demo-idp, namespace: demo}
spec:
  issuer: http://127.0.0.1:$ISSUER_PORT
  allowInsecureHttp: true   # the demo issuer speaks plain HTTP on loopback
  audiences: [api://orders]
YAML
cat >"$WORK/config/policy.yaml" <<YAML
apiVersion: tokengate.io/v1alpha1
kind: ApiPolicy
metadata: {name: orders-api, namespace: demo}
spec:
  selector: {matchLabels: {app: orders}}
  issuerRef: {name: demo-idp}
  audiences: [api://orders]
  upstream: {port: $APP_PORT}
  rules:
    - paths: ["/healthz"]
      action: Allow
    - paths: ["/orders/**"]
      require: {scopes: [orders.read]}
  defaultAction: Deny
  forwardClaims: {sub: X-Auth-Subject, azp: X-Auth-Client}
YAML

echo "==> starting the sidecar on :$LISTEN_PORT (admin :$ADMIN_PORT)"
java -jar "$JAR" --config "$WORK/config" --listen-port "$LISTEN_PORT" --admin-port "$ADMIN_PORT" \
  >"$WORK/sidecar.log" 2>&1 &
PIDS+=($!)
if ! (wait_for "http://127.0.0.1:$ADMIN_PORT/healthz/ready" "the sidecar"); then
  cat "$WORK/sidecar.log" >&2; exit 1
fi

mint() { curl -fs "http://127.0.0.1:$ISSUER_PORT/mint?aud=api://orders&sub=alice&client=demo-client&scope=$1"; }
show() { # title, curl args...
  local title="$1"; shift
  local out; out="$(curl -s -o "$WORK/body" -w '%{http_code}' "$@" "http://127.0.0.1:$LISTEN_PORT/orders/42")"
  printf '\n%s\n  -> %s\n' "$title" "$out"
  grep -i '^www-authenticate' "$WORK/headers" 2>/dev/null | sed 's/^/     /' || true
  sed 's/^/     /' "$WORK/body"; echo
}
echo
echo "GET /orders/42 through the sidecar:"
show "1. no token" -D "$WORK/headers"
show "2. token with scope 'profile' (orders.read needed)" -D "$WORK/headers" -H "Authorization: Bearer $(mint profile)"
show "3. token with scope 'orders.read'" -D "$WORK/headers" -H "Authorization: Bearer $(mint orders.read)"
echo
echo "Decision log (every refusal, allowed requests sampled; never the token):"
grep '"decision"' "$WORK/sidecar.log" | tail -3 | sed 's/^/  /'
