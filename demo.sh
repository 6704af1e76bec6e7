#!/usr/bin/env bash
# tokengate demo: one command from a clean clone to protected pods on Kubernetes.
# Run ./demo.sh --help for what it does and its flags.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s)

usage() {
  cat <<'EOF'
Usage: ./demo.sh [--use-current-context] [--keep] [--namespace NS]
       ./demo.sh --standalone [ARGS...]
       ./demo.sh --stop DIR
       ./demo.sh --help

Shows tokengate end to end on a real one-node Kubernetes cluster built on this machine
(e2e/controlplane/start.sh --node: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kubelet, kube-proxy, containerd + runc, CNI bridge, kube-router; no Docker, no registry):
builds the images (operator and sidecar with Jib, a test app and an HTTP client) and imports them
into the node's containerd, starts Keycloak with the tokengate realm on the node's bridge address,
`helm install`s the chart (the operator runs in the cluster, 2 replicas), applies a TokenIssuer
for Keycloak and examples/apipolicy.yaml, labels the namespace and applies a Deployment of the
test app. The webhook injects the sidecar; `kubectl get pods -A` shows the pods 2/2 Running.
A client pod then sends no token -> 401, a token without the needed scope -> 403, a good
Keycloak client-credentials token -> 200 through the Service, and the demo prints
`kubectl get apipolicy -A -o wide` and `kubectl get tokenissuer -A`. Everything is removed on
exit. The node needs root and the cgroup v1 memory controller (start.sh says what is missing).

First run on a new machine: the cluster's binaries build from their Go modules (about 20-30
minutes on 2 cores), Keycloak is fetched (2 minutes), the images build (a few minutes); every
step says what it builds and roughly how long it takes. Afterwards about 2-3 minutes, mostly
Keycloak's startup.

Options:
  --use-current-context  Use the cluster of the current kube context instead of starting one.
                         Installs the chart normally, Keycloak as a Deployment (image
                         quay.io/keycloak/keycloak), the test app and the client pod. The images
                         (e2e/images/build.sh) must be usable by the cluster's nodes: the demo
                         loads the tarballs into kind, k3d or minikube clusters itself; anywhere
                         else load/push them first and say where with --image-registry. Tokens come
                         through a `kubectl port-forward` to Keycloak. Removes what it created on
                         exit (CRDs stay).
  --image-registry REG   (with --use-current-context) registry prefix of the operator and sidecar.
  --image-tag TAG        (with --use-current-context) their tag (default: the chart's appVersion).
  --keep                 Leave everything running at the end (also after a failure), print how
                         to reach it and how to stop it (./demo.sh --stop DIR).
  --namespace NS         Namespace of the example TokenIssuer, ApiPolicy and app (default shop).
  --standalone           Run demo/standalone.sh instead: the sidecar in front of a local app
                         with a local issuer, no Kubernetes at all.
  --stop DIR             Stop a demo left running by --keep (DIR is printed at its end).
  -h, --help             This text.

Environment: TOKENGATE_CACHE (cache of built binaries, images and Keycloak, default
~/.cache/tokengate), TOKENGATE_KEYCLOAK_JAVA_HOME (a Java 21+ JDK for Keycloak, default
/usr/lib/jvm/temurin-25-jdk-amd64), TMPDIR (where the demo's work directory goes).
Needs: a JDK 17, kubectl, python3, openssl, curl, Go >= 1.26 (the images and the first build of
the cluster's binaries). One node per machine: a second local demo waits for nothing and fails
naming the running node.
EOF
}

MODE=local
KEEP=0
NS=shop
STOP_DIR=""
IMAGE_REGISTRY=""
IMAGE_TAG=""
KEYCLOAK_IMAGE=quay.io/keycloak/keycloak:26.7.3
while [[ $# -gt 0 ]]; do
  case "$1" in
  --standalone) shift; exec "$ROOT/demo/standalone.sh" "$@" ;;
  --use-current-context) MODE=cluster; shift ;;
  --keep) KEEP=1; shift ;;
  --namespace) NS=${2:?--namespace needs a name}; shift 2 ;;
  --image-registry) IMAGE_REGISTRY=${2:?--image-registry needs a value}; shift 2 ;;
  --image-tag) IMAGE_TAG=${2:?--image-tag needs a value}; shift 2 ;;
  --stop) STOP_DIR=${2:?--stop needs the demo directory}; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) echo "demo.sh: unknown argument '$1' (see ./demo.sh --help)" >&2; exit 2 ;;
  esac
done
[[ $NS =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || { echo "demo.sh: --namespace: not a namespace name: $NS" >&2; exit 2; }

RELEASE=tokengate
SYSTEM_NS=tokengate-system
IDP_NS=tokengate-demo-idp
POLICY=orders-api
ISSUER_NAME=corp-idp
APP_PORT=8080
NODE_IP=10.244.0.1 # the node's bridge address (e2e/controlplane/README.md): pods reach Keycloak here
TESTAPP_IMAGE=tokengate.local/testapp:0.1.0
CLIENT_IMAGE=tokengate.local/client:0.1.0

# shellcheck source=demo/cluster/lib.sh
. "$ROOT/demo/cluster/lib.sh"

k() { kubectl "${KCTX[@]}" "$@"; }
h() { "$HELM" ${DEMO_CONTEXT:+--kube-context "$DEMO_CONTEXT"} "$@"; }
KCTX=()
DEMO_CONTEXT=""
cd "$ROOT"

# ---- stopping (trap on exit, --stop, and the watchdog if the demo is killed) ---------------
stop_all() {
  local quiet=${1:-}
  if [[ -f $WORK/demo.env ]]; then
    # shellcheck disable=SC1091
    . "$WORK/demo.env"
  fi
  if [[ ${DEMO_MODE:-local} == cluster && -n ${DEMO_CONTEXT:-} ]]; then
    KCTX=(--context "$DEMO_CONTEXT")
    [[ -n $quiet ]] || say "removing what the demo created in context $DEMO_CONTEXT (the CRDs stay, as after any helm uninstall)"
    {
      k delete deployment orders -n "$DEMO_NS" --ignore-not-found --wait=true --timeout=90s
      k delete apipolicy "$POLICY" -n "$DEMO_NS" --ignore-not-found --wait=true --timeout=90s
      k delete tokenissuer "$ISSUER_NAME" -n "$DEMO_NS" --ignore-not-found --timeout=60s
      k delete namespace "$DEMO_NS" "$IDP_NS" --ignore-not-found --wait=false
      "${DEMO_HELM:-helm}" --kube-context "$DEMO_CONTEXT" uninstall "$RELEASE" -n "$SYSTEM_NS" --wait --timeout 2m
      [[ -z ${DEMO_CREATED_SYSTEM_NS:-} ]] || k delete namespace "$SYSTEM_NS" --ignore-not-found --wait=false
    } >>"$WORK/logs/cleanup.log" 2>&1 || true
  fi
  # Keycloak holds nothing worth a long shutdown (in-memory database): 10 s, then it is killed.
  stop_all_of 10 keycloak pf-keycloak
  if [[ -d $WORK/cp ]]; then
    # Removes the node too: pods, containerd, the bridge, rules, mounts, cgroups, sysctls.
    "$ROOT/e2e/controlplane/stop.sh" "$WORK/cp" --purge >>"$WORK/logs/cleanup.log" 2>&1 ||
      echo "warning: stopping the cluster failed; see $WORK/logs/cleanup.log" >&2
  fi
  if [[ $(pid_of watchdog) != "$$" ]]; then stop_one watchdog 1; fi
  if [[ -f $WORK/.tokengate-demo && ! -d $WORK/cp ]]; then
    rm -rf "$WORK"
  fi
}

if [[ -n $STOP_DIR ]]; then
  WORK=$(cd "$STOP_DIR" 2>/dev/null && pwd) || { echo "demo.sh --stop: no directory $STOP_DIR" >&2; exit 1; }
  [[ -f $WORK/.tokengate-demo ]] || { echo "demo.sh --stop: $WORK is not a demo directory" >&2; exit 1; }
  [[ -n ${TOKENGATE_DEMO_QUIET:-} ]] || say "stopping the demo in $WORK"
  stop_all "${TOKENGATE_DEMO_QUIET:-}"
  [[ -n ${TOKENGATE_DEMO_QUIET:-} ]] || say "stopped; $WORK removed"
  exit 0
fi

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH=/usr/local/go/bin:$PATH; fi
for tool in java kubectl python3 openssl curl setsid go; do
  command -v "$tool" >/dev/null 2>&1 || { echo "demo.sh: '$tool' is required (see ./demo.sh --help)" >&2; exit 1; }
done

# The node keeps its containerd sockets in a short directory of its own under /run (node.sh).
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokengate-demo.XXXXXX")
touch "$WORK/.tokengate-demo"
LOGS=$WORK/logs
mkdir -p "$LOGS"

on_exit() {
  local rc=$?
  trap - ERR
  set +e
  if [[ $KEEP == 1 ]]; then
    stop_one watchdog 1
    if [[ $rc -ne 0 ]]; then
      echo "The demo failed; everything is left running for a look (--keep). Logs: $LOGS"
      echo "Stop it with: ./demo.sh --stop $WORK"
    fi
    exit "$rc"
  fi
  say "cleaning up (Keycloak, the cluster and its node, $WORK)"
  stop_all
  say "done in $(($(date +%s) - T0)) s"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'die "command failed (exit $?) at demo.sh line $LINENO: $BASH_COMMAND"' ERR

if [[ $KEEP == 0 ]]; then
  # If this shell is killed outright (no trap runs), the watchdog still removes everything.
  launch watchdog /dev/null bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
    TOKENGATE_DEMO_QUIET=1 exec "$2" --stop "$3"' demo-watchdog "$$" "$ROOT/demo.sh" "$WORK"
fi
echo "tokengate demo ($([[ $MODE == local ]] && echo "a real node on this machine" || echo "current kube context")); work directory $WORK"

# ---- 1. build (each script prints what it builds, with times, on stderr) ------------------
HELM=""
if [[ $MODE == local ]] || ! command -v helm >/dev/null 2>&1; then
  if "$ROOT/e2e/controlplane/build.sh" --check >/dev/null 2>&1; then
    step "build: the cluster's binaries and helm are cached (e2e/controlplane/build.sh)" "$LOGS/controlplane-build.log"
  else
    step "build: the cluster's binaries and helm from their Go modules (e2e/controlplane/build.sh; once, about 20-30 minutes on 2 cores)" "$LOGS/controlplane-build.log"
  fi
  exports=$(build_step "$LOGS/controlplane-build.log" "$ROOT/e2e/controlplane/build.sh") || die "e2e/controlplane/build.sh failed"
  eval "$exports"
  HELM=$TOKENGATE_HELM
else
  HELM=$(command -v helm)
fi

step "build: the images: operator and sidecar (Jib, ./mvnw -Pimages when stale: a few minutes), test app and client (Go, under a minute) (e2e/images/build.sh)" "$LOGS/images-build.log"
exports=$(build_step "$LOGS/images-build.log" "$ROOT/e2e/images/build.sh") || die "e2e/images/build.sh failed"
eval "$exports"

if [[ $MODE == local ]]; then
  step "build: Keycloak 26.7.3 distribution (e2e/keycloak/fetch.sh; once, about 2 minutes)" "$LOGS/keycloak-fetch.log"
  KC_DIST=$(build_step "$LOGS/keycloak-fetch.log" "$ROOT/e2e/keycloak/fetch.sh") || die "e2e/keycloak/fetch.sh failed"
fi

# ---- 2. the cluster ------------------------------------------------------------------------
if [[ $MODE == local ]]; then
  step "starting the cluster with its node: control plane v1.37.2, containerd, kubelet, kube-proxy, kube-router; importing the images (e2e/controlplane/start.sh --node, about 20-30 s)" "$LOGS/controlplane.log"
  KUBECONFIG=$(build_step "$LOGS/controlplane.log" "$ROOT/e2e/controlplane/start.sh" "$WORK/cp" --node) ||
    die "e2e/controlplane/start.sh --node failed" "$LOGS/controlplane.log"
  # shellcheck disable=SC1091
  . "$WORK/cp/cluster.env"
  export KUBECONFIG
  echo "$APISERVER_URL, node $NODE_NAME ($NODE_IP)   export KUBECONFIG=$KUBECONFIG" | detail
  k get nodes -o wide | detail
else
  step "using the current kube context" "$LOGS/cluster.log"
  DEMO_CONTEXT=$(kubectl config current-context 2>>"$LOGS/cluster.log") || die "no current kube context (kubectl config current-context)"
  KCTX=(--context "$DEMO_CONTEXT")
  k version >>"$LOGS/cluster.log" 2>&1 || die "the cluster of context $DEMO_CONTEXT is not reachable"
  echo "context $DEMO_CONTEXT: $(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')" | detail
  if h status "$RELEASE" -n "$SYSTEM_NS" >/dev/null 2>&1; then
    die "a release '$RELEASE' already exists in $SYSTEM_NS: the demo installs its own; helm uninstall it first"
  fi
  for n in "$NS" "$IDP_NS"; do
    if k get namespace "$n" >/dev/null 2>&1; then
      die "namespace $n already exists: the demo creates and deletes its own (use --namespace for another name)"
    fi
  done
  nodes=$(k get nodes -o name 2>>"$LOGS/cluster.log" | wc -l)
  [[ $nodes -gt 0 ]] || die "the cluster of context $DEMO_CONTEXT has no nodes, so no pod can run: run ./demo.sh without --use-current-context (a real node on this machine)"
  echo "$nodes node(s)" | detail
  k get namespace "$SYSTEM_NS" >/dev/null 2>&1 || CREATED_SYSTEM_NS=1
  load_images_into_context
fi
cat >"$WORK/demo.env" <<EOF
DEMO_MODE=$MODE
DEMO_CONTEXT=$DEMO_CONTEXT
DEMO_NS=$NS
DEMO_HELM=$HELM
DEMO_CREATED_SYSTEM_NS=${CREATED_SYSTEM_NS:-}
EOF

# ---- 3. Keycloak (boots while the chart installs) -----------------------------------------
if [[ $MODE == local ]]; then
  step "starting Keycloak 26.7.3 with the tokengate realm on the node's address $NODE_IP (boots in the background, about a minute)" "$LOGS/keycloak.log"
  start_local_keycloak "$NODE_IP"
  echo "$KC_ISSUER (log: $LOGS/keycloak.log)" | detail
else
  step "starting Keycloak in namespace $IDP_NS ($KEYCLOAK_IMAGE)" "$LOGS/keycloak.log"
  KC_ADMIN_PASSWORD=$(openssl rand -hex 12)
  run "$LOGS/keycloak.log" k create namespace "$IDP_NS"
  run "$LOGS/keycloak.log" k create configmap keycloak-realm -n "$IDP_NS" \
    --from-file=tokengate-realm.json="$ROOT/e2e/keycloak/tokengate-realm.json"
  sed -e "s#__NS__#$IDP_NS#g" -e "s#__IMAGE__#$KEYCLOAK_IMAGE#g" -e "s#__ADMIN_PASSWORD__#$KC_ADMIN_PASSWORD#g" \
    "$ROOT/demo/cluster/manifests/keycloak.yaml" >"$WORK/keycloak.yaml"
  run "$LOGS/keycloak.log" k apply -f "$WORK/keycloak.yaml"
  KC_ISSUER=http://keycloak.$IDP_NS.svc.cluster.local:8080/realms/tokengate
  KC_CURL=()
fi

# ---- 4. the chart: the operator in the cluster ---------------------------------------------
image_values=(--set replicaCount=2)
if [[ $MODE == local ]]; then
  # Imported into containerd, never pulled.
  image_values+=(--set image.pullPolicy=Never --set sidecar.image.pullPolicy=IfNotPresent)
else
  [[ -z $IMAGE_TAG ]] || image_values+=(--set "image.tag=$IMAGE_TAG" --set "sidecar.image.tag=$IMAGE_TAG")
  [[ -z $IMAGE_REGISTRY ]] || image_values+=(--set "image.registry=$IMAGE_REGISTRY" --set "sidecar.image.registry=$IMAGE_REGISTRY")
fi
step "helm install $RELEASE helm/tokengate -n $SYSTEM_NS ${image_values[*]} (operator Deployment, webhook behind its Service; about a minute)" "$LOGS/helm.log"
if ! h install "$RELEASE" "$ROOT/helm/tokengate" --namespace "$SYSTEM_NS" \
  --create-namespace "${image_values[@]}" --wait --timeout 5m >>"$LOGS/helm.log" 2>&1; then
  k get pods -n "$SYSTEM_NS" -o wide >>"$LOGS/helm.log" 2>&1 || true
  k get events -n "$SYSTEM_NS" --sort-by=.lastTimestamp >>"$LOGS/helm.log" 2>&1 || true
  die "helm install failed or the operator did not become ready (ImagePullBackOff means the images are not on the nodes: see --help)"
fi
h status "$RELEASE" -n "$SYSTEM_NS" 2>/dev/null | grep -E '^(NAME|NAMESPACE|STATUS|REVISION):' | paste -sd' ' | detail || true
for crd in apipolicies tokenissuers clustertokenissuers; do
  run "$LOGS/helm.log" k wait --for=condition=Established "crd/$crd.tokengate.io" --timeout=60s
done
run "$LOGS/helm.log" k wait --for=condition=Ready pod -n "$SYSTEM_NS" -l app.kubernetes.io/component=operator --timeout=180s
k get pods -n "$SYSTEM_NS" -o wide | detail

# ---- 5. issuer and policy ------------------------------------------------------------------
if [[ $MODE == local ]]; then
  step "waiting for Keycloak to serve the realm's discovery document" "$LOGS/keycloak.log"
  wait_until 300 "Keycloak's discovery at $KC_ISSUER" keycloak "$LOGS/keycloak.log" \
    curl -fsS --max-time 5 --cacert "$KC_CA" "$KC_ISSUER/.well-known/openid-configuration"
  echo "$KC_ISSUER is up after $(($(date +%s) - T0)) s" | detail
  TOKEN_URL=$KC_ISSUER/protocol/openid-connect/token
else
  step "waiting for Keycloak in the cluster" "$LOGS/keycloak.log"
  if ! k rollout status deployment/keycloak -n "$IDP_NS" --timeout=10m >>"$LOGS/keycloak.log" 2>&1; then
    k logs deployment/keycloak -n "$IDP_NS" --tail=40 >>"$LOGS/keycloak.log" 2>&1 || true
    die "Keycloak did not become ready in namespace $IDP_NS"
  fi
  PF_KC_PORT=$(free_port)
  launch pf-keycloak "$LOGS/pf-keycloak.log" kubectl "${KCTX[@]}" port-forward -n "$IDP_NS" svc/keycloak "$PF_KC_PORT:8080"
  TOKEN_URL=http://127.0.0.1:$PF_KC_PORT/realms/tokengate/protocol/openid-connect/token
  wait_until 60 "the port-forward to Keycloak" pf-keycloak "$LOGS/pf-keycloak.log" \
    curl -fsS --max-time 5 "http://127.0.0.1:$PF_KC_PORT/realms/tokengate/.well-known/openid-configuration"
fi

run "$LOGS/apply.log" k create namespace "$NS"
if [[ $MODE == local ]]; then
  tokenissuer_yaml "$KC_ISSUER" "$NS" "$KC_CA" >"$WORK/tokenissuer.yaml"
else
  tokenissuer_yaml "$KC_ISSUER" "$NS" "" "allowInsecureHttp: true   # in-cluster Keycloak on plain HTTP: demo only" >"$WORK/tokenissuer.yaml"
fi
apipolicy_yaml "$APP_PORT" "$NS" >"$WORK/apipolicy.yaml"

step "kubectl apply: examples/tokenissuer.yaml (issuer $KC_ISSUER) and examples/apipolicy.yaml (upstream.port $APP_PORT)" "$LOGS/apply.log"
if ! k apply -f "$WORK/tokenissuer.yaml" -f "$WORK/apipolicy.yaml" 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  die "kubectl apply refused the example resources ($WORK/tokenissuer.yaml, $WORK/apipolicy.yaml)"
fi
explain_not_ready() { # KIND NAME
  k get "$1" "$2" -n "$NS" -o go-template='{{range .status.conditions}}{{.type}}={{.status}} {{.reason}}: {{.message}}{{"\n"}}{{end}}' >>"$LOGS/apply.log" 2>&1 || true
  k logs -n "$SYSTEM_NS" -l app.kubernetes.io/component=operator --tail=40 >>"$LOGS/apply.log" 2>&1 || true
  die "$1/$2 did not become Ready; its conditions and the operator's log are at the end of $LOGS/apply.log" "$LOGS/apply.log"
}
if ! k wait --for=condition=Ready "tokenissuer/$ISSUER_NAME" -n "$NS" --timeout=180s 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  explain_not_ready tokenissuer "$ISSUER_NAME"
fi
if ! k wait --for=condition=Ready "apipolicy/$POLICY" -n "$NS" --timeout=180s 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  explain_not_ready apipolicy "$POLICY"
fi
k get tokenissuer "$ISSUER_NAME" -n "$NS" -o go-template='keys in status: {{range .status.keys}}{{.kid}} ({{.alg}}) {{end}}{{"\n"}}' | detail

# ---- 6. the workload -----------------------------------------------------------------------
step "kubectl label namespace $NS tokengate.io/injection=enabled; kubectl apply a 2-replica Deployment of the test app ($TESTAPP_IMAGE, port $APP_PORT) and its Service" "$LOGS/apply.log"
if ! k label namespace "$NS" tokengate.io/injection=enabled 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  die "kubectl label namespace $NS failed"
fi
sed -e "s#__NS__#$NS#g" -e "s#__PORT__#$APP_PORT#g" -e "s#__IMAGE__#$TESTAPP_IMAGE#g" \
  "$ROOT/demo/cluster/manifests/orders.yaml" >"$WORK/orders.yaml"
if ! k apply -f "$WORK/orders.yaml" 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  die "kubectl apply of the Deployment failed"
fi
if ! k rollout status deployment/orders -n "$NS" --timeout=5m >>"$LOGS/apply.log" 2>&1; then
  k describe pods -n "$NS" -l app=orders >>"$LOGS/apply.log" 2>&1 || true
  die "the orders pods did not become Ready (their description is at the end of the log)"
fi
POD=$(k get pods -n "$NS" -l app=orders -o jsonpath='{.items[0].metadata.name}')
step "the webhook injected the sidecar into pod $NS/$POD (a native sidecar: an init container that keeps running)" "$LOGS/apply.log"
k get pod "$POD" -n "$NS" -o go-template='{{range .spec.initContainers}}initContainer {{.name}}  restartPolicy={{.restartPolicy}}  image={{.image}}  ports={{range .ports}}{{.name}}:{{.containerPort}} {{end}}
  args: {{range .args}}{{.}} {{end}}
{{end}}{{range .spec.containers}}container     {{.name}}  image={{.image}}  ports={{range .ports}}{{.name}}:{{.containerPort}} {{end}}{{with .readinessProbe}}{{with .httpGet}} readinessProbe.httpGet.port={{.port}}{{end}}{{end}}
{{end}}annotations:
{{range $k, $v := .metadata.annotations}}  {{$k}}: {{$v}}
{{end}}' | detail
wait_until 60 "the ApiPolicy to count both injected pods" "" "$LOGS/apply.log" \
  bash -c '[[ $(kubectl "$@" get apipolicy "'"$POLICY"'" -n "'"$NS"'" -o jsonpath="{.status.pods}") == 2/2 ]]' _ "${KCTX[@]}"

step "kubectl get pods -A -o wide (READY 2/2: the sidecar and the app)" ""
echo
k get pods -A -o wide | detail

# ---- 7. requests from a client pod ---------------------------------------------------------
token() { # token [SCOPE...]: a client-credentials access token of orders-client
  local args=(-sS --max-time 30 "${KC_CURL[@]}" -d grant_type=client_credentials -d client_id=orders-client
    -d client_secret=orders-client-secret) resp
  [[ $# -eq 0 ]] || args+=(--data-urlencode "scope=$*")
  resp=$(curl "${args[@]}" "$TOKEN_URL") || die "Keycloak's token endpoint $TOKEN_URL did not answer"
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"$resp" 2>/dev/null ||
    die "no access_token from Keycloak: $resp"
}
SERVICE_URL=http://$(k get service orders -n "$NS" -o jsonpath='{.spec.clusterIP}')/orders/42
FAILED=()
# What the client pod printed (JSON: status, headers, the echo app's JSON), for people.
SHOW_ANSWER='
import json, sys
r = json.loads(sys.argv[1][sys.argv[1].find("{"):])
print("HTTP %s" % r.get("status", "(no answer: %s)" % r.get("error", "")))
for v in (r.get("headers") or {}).get("Www-Authenticate", []):
    print("WWW-Authenticate: " + v)
if r.get("status") == 200 and r.get("json"):
    seen = r["json"]["headers"]
    print("the app saw: " + ", ".join("%s: %s" % (h, seen[h][0]) for h in ("x-auth-subject", "x-auth-client") if h in seen))
elif r.get("body"):
    print("body: " + r["body"][:300])
'
request() { # request TITLE EXPECTED_STATUS [TOKEN]
  local title=$1 expected=$2 bearer=${3:-} out code
  printf '\n   %s\n' "$title"
  [[ -z $bearer ]] || echo "token: $(jwt_claims "$bearer")" | detail
  out=$(client_get "$SERVICE_URL" "$bearer") || die "the client pod failed: $out"
  code=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1][sys.argv[1].find("{"):]).get("status", "no answer"))' "$out") ||
    die "the client pod printed no JSON: $out"
  python3 -c "$SHOW_ANSWER" "$out" | detail
  [[ $code == "$expected" ]] || FAILED+=("$title: expected $expected, got $code")
}

step "GET $SERVICE_URL from a client pod ($CLIENT_IMAGE) through the Service (the policy: '/**' needs scope orders.read)" "$LOGS/apply.log"
NO_SCOPE_TOKEN=$(token)
GOOD_TOKEN=$(token orders.read)
request "1. no token" 401
request "2. Keycloak client-credentials token of orders-client, without scope orders.read" 403 "$NO_SCOPE_TOKEN"
request "3. Keycloak client-credentials token of orders-client with scope orders.read" 200 "$GOOD_TOKEN"
echo
echo "   the sidecar's decision log (one JSON line per request, never the token):"
k logs -n "$NS" -l app=orders -c tokengate-sidecar --tail=50 --prefix=false 2>/dev/null | grep '"decision"' | sort | tail -n 3 | cut -c1-400 | detail || true
[[ ${#FAILED[@]} -eq 0 ]] || die "unexpected answers: ${FAILED[*]}"

step "kubectl get apipolicy -A -o wide; kubectl get tokenissuer -A" ""
echo
k get apipolicy -A -o wide | detail
echo
k get tokenissuer -A | detail
echo
say "all three answers as expected"

if [[ $KEEP == 1 ]]; then
  ca_arg=""
  [[ -z ${KC_CA:-} ]] || ca_arg=" --cacert $KC_CA"
  cat <<EOF

The demo keeps running (--keep). Reach it:
  ${KUBECONFIG:+export KUBECONFIG=$KUBECONFIG}${DEMO_CONTEXT:+kubectl config use-context $DEMO_CONTEXT}
  kubectl get pods -A; kubectl get apipolicy,tokenissuer -A; kubectl describe apipolicy $POLICY -n $NS
  TOKEN=\$(curl -s$ca_arg -d grant_type=client_credentials -d client_id=orders-client \\
      -d client_secret=orders-client-secret -d scope=orders.read $TOKEN_URL \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  kubectl run -n $NS client --rm -i --restart=Never --image=$CLIENT_IMAGE --image-pull-policy=Never \\
    -- get -H "Authorization: Bearer \$TOKEN" $SERVICE_URL
  Change the policy (kubectl edit apipolicy $POLICY -n $NS): the kubelet updates the pods'
  ConfigMap volume within seconds and the sidecars reload it without a restart.
EOF
  [[ $MODE != local ]] || echo "  Keycloak: $KC_URL/admin (admin / $KC_ADMIN_PASSWORD; CA $KC_CA). Logs: $LOGS/, $WORK/cp/logs/"
  echo "Stop everything: ./demo.sh --stop $WORK"
fi
