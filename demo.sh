#!/usr/bin/env bash
# tokengate demo: one command from a clean clone to a protected workload on Kubernetes.
# Run ./demo.sh --help for what it does and its flags.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T0=$(date +%s)

usage() {
  cat <<'EOF'
Usage: ./demo.sh [--use-current-context] [--keep] [--skip-build] [--namespace NS]
       ./demo.sh --standalone [ARGS...]
       ./demo.sh --stop DIR
       ./demo.sh --help

Shows tokengate end to end on Kubernetes: builds what it needs, starts a local control plane
(etcd, kube-apiserver, kube-controller-manager; no Docker, no kubelet) and Keycloak with the
tokengate realm, runs the operator as the chart's ServiceAccount, `helm install`s the chart,
applies a TokenIssuer for Keycloak and examples/apipolicy.yaml, labels the namespace, applies a
Deployment whose pod the webhook injects, runs that pod's sidecar like a kubelet would (with a
stand-in app), and shows no token -> 401, a token without the needed scope -> 403, a good
Keycloak client-credentials token -> 200, then `kubectl get apipolicy -A` and
`kubectl get tokenissuer -A`. Everything is removed on exit. A few minutes once the binaries
are cached (Keycloak's startup dominates); the first run builds the control plane from its Go
modules (about 20 minutes).

Options:
  --use-current-context  Use the cluster of the current kube context instead of starting one.
                         Installs the chart normally (operator Deployment, in-cluster webhook),
                         Keycloak as a Deployment (image quay.io/keycloak/keycloak), and the app
                         (image python:3.13-alpine); the pod runs for real and the demo reaches
                         its sidecar and Keycloak through `kubectl port-forward`. The operator and
                         sidecar images must be usable by the cluster's nodes: the demo builds the
                         Jib tarballs (./mvnw -Pimages) and loads them into kind, k3d or minikube
                         clusters itself; anywhere else load/push them first and say where with
                         --image-registry. Removes what it created on exit (CRDs stay).
  --image-registry REG   (with --use-current-context) registry prefix of both images.
  --image-tag TAG        (with --use-current-context) tag of both images (default: the
                         project version, e.g. 0.1.0-SNAPSHOT).
  --keep                 Leave everything running at the end (also after a failure), print how
                         to reach it and how to stop it (./demo.sh --stop DIR).
  --skip-build           Use sidecar/target and operator/target as they are, even when older
                         than the sources (they must exist).
  --namespace NS         Namespace of the example TokenIssuer, ApiPolicy and app (default shop).
  --standalone           Run demo/standalone.sh instead: the sidecar in front of a local app
                         with a local issuer, no Kubernetes at all.
  --stop DIR             Stop a demo left running by --keep (DIR is printed at its end).
  -h, --help             This text.

Environment: TOKENGATE_CACHE (cache of built binaries and Keycloak, default ~/.cache/tokengate),
TOKENGATE_KEYCLOAK_JAVA_HOME (a Java 21+ JDK for Keycloak, default
/usr/lib/jvm/temurin-25-jdk-amd64), TMPDIR (where the demo's work directory goes).
Needs: a JDK 17 (java on PATH), kubectl, python3, openssl, curl; Go >= 1.26 for the first build
of the control plane binaries.
EOF
}

MODE=local
KEEP=0
SKIP_BUILD=0
NS=shop
STOP_DIR=""
IMAGE_REGISTRY=""
IMAGE_TAG=""
KEYCLOAK_IMAGE=quay.io/keycloak/keycloak:26.7.3
APP_IMAGE=python:3.13-alpine
while [[ $# -gt 0 ]]; do
  case "$1" in
  --standalone) shift; exec "$ROOT/demo/standalone.sh" "$@" ;;
  --use-current-context) MODE=cluster; shift ;;
  --keep) KEEP=1; shift ;;
  --skip-build) SKIP_BUILD=1; shift ;;
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
  stop_all_of 10 keycloak pf-keycloak &
  local quick=$!
  stop_all_of 30 podrunner pf-app operator
  wait "$quick"
  if [[ -d $WORK/cp ]]; then
    "$ROOT/e2e/controlplane/stop.sh" "$WORK/cp" --purge >>"$WORK/logs/cleanup.log" 2>&1 ||
      echo "warning: stopping the control plane failed; see $WORK/logs/cleanup.log" >&2
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

for tool in java kubectl python3 openssl curl setsid; do
  command -v "$tool" >/dev/null 2>&1 || { echo "demo.sh: '$tool' is required (see ./demo.sh --help)" >&2; exit 1; }
done

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
  say "cleaning up (processes, control plane, $WORK)"
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
echo "tokengate demo ($([[ $MODE == local ]] && echo "local control plane" || echo "current kube context")); work directory $WORK"

# ---- 1. build ----------------------------------------------------------------------------
# stale_reason ARTIFACT PATH...: prints why ARTIFACT must be (re)built, or fails if it is fresh
stale_reason() {
  local artifact=$1 newer
  shift
  [[ -f $artifact ]] || { echo "missing"; return 0; }
  newer=$(cd "$ROOT" && find "$@" -type f -newer "$artifact" -print -quit 2>/dev/null)
  [[ -n $newer ]] || return 1
  echo "older than $newer"
}

build_jars() {
  step "build: sidecar and operator $([[ $MODE == local ]] && echo jars || echo "images (Jib tarballs)")" "$LOGS/build.log"
  SIDECAR_JAR=$ROOT/sidecar/target/tokengate-sidecar.jar
  OPERATOR_JAR=$ROOT/operator/target/quarkus-app/quarkus-run.jar
  COMMON_SRC=(pom.xml api/pom.xml api/src/main)
  if [[ $MODE == local ]]; then
    ARTIFACTS=("sidecar:$SIDECAR_JAR" "operator:$OPERATOR_JAR")
    BUILD=(./mvnw -B -q -Dmaven.test.skip=true package)
  else
    ARTIFACTS=("sidecar:$ROOT/sidecar/target/jib-image.tar" "operator:$ROOT/operator/target/jib-image.tar")
    BUILD=(./mvnw -B -q -Pimages -Dmaven.test.skip=true package)
  fi
  MODULES=()
  for a in "${ARTIFACTS[@]}"; do
    module=${a%%:*} artifact=${a#*:}
    if why=$(stale_reason "$artifact" "${COMMON_SRC[@]}" "$module/pom.xml" "$module/src/main"); then
      if [[ $SKIP_BUILD == 1 && $why != missing ]]; then
        echo "$module: ${artifact#"$ROOT"/} is $why; using it anyway (--skip-build)" | detail
      else
        echo "$module: ${artifact#"$ROOT"/} is $why: rebuilding" | detail
        MODULES+=("$module")
      fi
    else
      echo "$module: ${artifact#"$ROOT"/} is up to date" | detail
    fi
  done
  if [[ ${#MODULES[@]} -gt 0 ]]; then
    [[ $SKIP_BUILD == 0 ]] || die "--skip-build, but ${MODULES[*]} is not built: run without --skip-build"
    echo "${BUILD[*]} -pl $(IFS=,; echo "${MODULES[*]}") -am   (log: $LOGS/build.log)" | detail
    run "$LOGS/build.log" "${BUILD[@]}" -pl "$(IFS=,; echo "${MODULES[*]}")" -am
  fi
}

HELM=""
if [[ $MODE == local ]] || ! command -v helm >/dev/null 2>&1; then
  step "build: control plane binaries and helm (e2e/controlplane/build.sh)" "$LOGS/controlplane-build.log"
  if ! "$ROOT/e2e/controlplane/build.sh" --check >/dev/null 2>&1; then
    echo "not cached yet: building etcd, kube-apiserver, kube-controller-manager and helm from their Go modules (about 20 minutes, once)" | detail
    exports=$("$ROOT/e2e/controlplane/build.sh" 2> >(tee -a "$LOGS/controlplane-build.log" | detail >&2)) ||
      die "e2e/controlplane/build.sh failed"
  else
    exports=$("$ROOT/e2e/controlplane/build.sh" 2>>"$LOGS/controlplane-build.log") || die "e2e/controlplane/build.sh failed"
  fi
  eval "$exports"
  HELM=$TOKENGATE_HELM
  echo "cached in $TOKENGATE_BIN_DIR" | detail
else
  HELM=$(command -v helm)
fi

if [[ $MODE == local ]]; then
  step "build: Keycloak distribution (e2e/keycloak/fetch.sh)" "$LOGS/keycloak-fetch.log"
  KC_DIST=$("$ROOT/e2e/keycloak/fetch.sh" 2> >(tee -a "$LOGS/keycloak-fetch.log" | grep -v '^\[keycloak-fetch\] cached' | detail >&2)) ||
    die "e2e/keycloak/fetch.sh failed"
  echo "$KC_DIST" | detail
fi

# ---- 2. Keycloak (local mode: a process; it boots while the jars build and the cluster is set up)
KC_JAVA_HOME=${TOKENGATE_KEYCLOAK_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
start_local_keycloak() {
  local kc=$WORK/keycloak home=$WORK/keycloak/home pw
  [[ -x $KC_JAVA_HOME/bin/java ]] || die "Keycloak needs Java 21+: no JDK at $KC_JAVA_HOME (set TOKENGATE_KEYCLOAK_JAVA_HOME)"
  mkdir -p "$home/data/import"
  cp -R "$KC_DIST/bin" "$KC_DIST/conf" "$home/"
  for shared in lib providers themes; do ln -s "$KC_DIST/$shared" "$home/$shared"; done
  cp "$ROOT/e2e/keycloak/tokengate-realm.json" "$home/data/import/"
  # TLS from a throwaway CA: the TokenIssuer trusts it through spec.caBundle.
  printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\n' >"$kc/openssl.cnf"
  local req=(openssl req -config "$kc/openssl.cnf" -x509 -nodes -sha256 -days 7 -newkey rsa:2048)
  run "$LOGS/keycloak-tls.log" "${req[@]}" -keyout "$kc/ca.key" -out "$kc/ca.pem" -subj "/CN=tokengate-demo-idp-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  run "$LOGS/keycloak-tls.log" "${req[@]}" -keyout "$kc/tls.key" -out "$kc/tls.crt" -subj "/CN=127.0.0.1" \
    -CA "$kc/ca.pem" -CAkey "$kc/ca.key" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
  pw=$(openssl rand -hex 16)
  run "$LOGS/keycloak-tls.log" openssl pkcs12 -export -in "$kc/tls.crt" -inkey "$kc/tls.key" -certfile "$kc/ca.pem" \
    -out "$kc/tls.p12" -passout "pass:$pw"
  KC_ADMIN_PASSWORD=$(openssl rand -hex 12)
  KC_PORT=$(free_port)
  KC_CA=$kc/ca.pem
  KC_URL=https://127.0.0.1:$KC_PORT
  KC_ISSUER=$KC_URL/realms/tokengate
  KC_CURL=(--cacert "$KC_CA")
  # The same options as the e2e's Keycloak (e2e/src/test/java/io/tokengate/e2e/idp/Keycloak.java):
  # fetch.sh pre-built it for an in-memory database and a local cache, so this is --optimized.
  (cd "$home" && launch keycloak "$LOGS/keycloak.log" env JAVA_HOME="$KC_JAVA_HOME" \
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD="$KC_ADMIN_PASSWORD" \
    JAVA_OPTS_KC_HEAP="-Xms256m -Xmx1g" JAVA_OPTS_APPEND="-XX:TieredStopAtLevel=1" \
    "$home/bin/kc.sh" start --optimized --http-enabled=false --http-host=127.0.0.1 \
    --https-port="$KC_PORT" --https-key-store-file="$kc/tls.p12" --https-key-store-password="$pw" \
    --https-key-store-type=PKCS12 --hostname-strict=false --import-realm)
}

if [[ $MODE == local ]]; then
  step "starting Keycloak 26.7.3 with the tokengate realm (boots in the background)" "$LOGS/keycloak.log"
  start_local_keycloak
  echo "https://127.0.0.1:$KC_PORT (log: $LOGS/keycloak.log)" | detail
fi

# Keycloak boots while the jars build (both take a while on a small machine).
build_jars

# ---- 3. the cluster ------------------------------------------------------------------------
if [[ $MODE == local ]]; then
  step "starting the local control plane: etcd, kube-apiserver, kube-controller-manager v1.37.2" "$LOGS/controlplane.log"
  KUBECONFIG=$("$ROOT/e2e/controlplane/start.sh" "$WORK/cp" 2>>"$LOGS/controlplane.log") ||
    die "e2e/controlplane/start.sh failed" "$LOGS/controlplane.log"
  # shellcheck disable=SC1091
  . "$WORK/cp/cluster.env"
  export KUBECONFIG
  echo "$APISERVER_URL   export KUBECONFIG=$KUBECONFIG" | detail
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
  [[ $nodes -gt 0 ]] || die "the cluster of context $DEMO_CONTEXT has no nodes, so no pod can run: run ./demo.sh without --use-current-context (a local control plane with a kubelet-like pod runner)"
  echo "$nodes node(s)" | detail
  k get namespace "$SYSTEM_NS" >/dev/null 2>&1 || CREATED_SYSTEM_NS=1
fi
cat >"$WORK/demo.env" <<EOF
DEMO_MODE=$MODE
DEMO_CONTEXT=$DEMO_CONTEXT
DEMO_NS=$NS
DEMO_HELM=$HELM
DEMO_CREATED_SYSTEM_NS=${CREATED_SYSTEM_NS:-}
EOF
KUBECTL_ENV=""
[[ $MODE == local ]] && KUBECTL_ENV="export KUBECONFIG=$KUBECONFIG"

if [[ $MODE == cluster ]]; then
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

# ---- 4. the chart and the operator ---------------------------------------------------------
if [[ $MODE == local ]]; then
  WEBHOOK_PORT=$(free_port)
  OPERATOR_HTTP_PORT=$(free_port)
  step "helm install $RELEASE helm/tokengate -n $SYSTEM_NS --set webhook.url=https://127.0.0.1:$WEBHOOK_PORT/mutate-pods" "$LOGS/helm.log"
  run "$LOGS/helm.log" "$HELM" install "$RELEASE" "$ROOT/helm/tokengate" --namespace "$SYSTEM_NS" --create-namespace \
    --set "webhook.url=https://127.0.0.1:$WEBHOOK_PORT/mutate-pods" \
    --set "ports.webhook=$WEBHOOK_PORT" --set "ports.http=$OPERATOR_HTTP_PORT" --wait --timeout 2m
else
  tag=${IMAGE_TAG:-$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$ROOT/pom.xml" | head -n 1)}
  step "loading the operator and sidecar images (tokengate/*:$tag) into the cluster" "$LOGS/images.log"
  if [[ -n $IMAGE_REGISTRY ]]; then
    echo "using $IMAGE_REGISTRY/tokengate/{operator,sidecar}:$tag (pushed by you)" | detail
  elif [[ $DEMO_CONTEXT == kind-* ]] && command -v kind >/dev/null 2>&1; then
    for m in operator sidecar; do run "$LOGS/images.log" kind load image-archive "$ROOT/$m/target/jib-image.tar" --name "${DEMO_CONTEXT#kind-}"; done
    echo "loaded into kind cluster ${DEMO_CONTEXT#kind-}" | detail
  elif [[ $DEMO_CONTEXT == k3d-* ]] && command -v k3d >/dev/null 2>&1; then
    run "$LOGS/images.log" k3d image import "$ROOT/operator/target/jib-image.tar" "$ROOT/sidecar/target/jib-image.tar" -c "${DEMO_CONTEXT#k3d-}"
    echo "imported into k3d cluster ${DEMO_CONTEXT#k3d-}" | detail
  elif [[ $DEMO_CONTEXT == minikube ]] && command -v minikube >/dev/null 2>&1; then
    for m in operator sidecar; do run "$LOGS/images.log" minikube image load "$ROOT/$m/target/jib-image.tar"; done
    echo "loaded into minikube" | detail
  else
    {
      echo "not a kind, k3d or minikube context: the nodes must already have the images, e.g."
      echo "  k3s ctr images import operator/target/jib-image.tar; k3s ctr images import sidecar/target/jib-image.tar   (on each node)"
      echo "  crane push operator/target/jib-image.tar REGISTRY/tokengate/operator:$tag   (then --image-registry REGISTRY)"
    } | detail
  fi
  image_values=(--set "image.tag=$tag" --set "sidecar.image.tag=$tag")
  [[ -z $IMAGE_REGISTRY ]] || image_values+=(--set "image.registry=$IMAGE_REGISTRY" --set "sidecar.image.registry=$IMAGE_REGISTRY")
  step "helm install $RELEASE helm/tokengate -n $SYSTEM_NS (operator Deployment, in-cluster webhook)" "$LOGS/helm.log"
  if ! h install "$RELEASE" "$ROOT/helm/tokengate" --namespace "$SYSTEM_NS" \
    --create-namespace "${image_values[@]}" --wait --timeout 5m >>"$LOGS/helm.log" 2>&1; then
    k get pods -n "$SYSTEM_NS" -o wide >>"$LOGS/helm.log" 2>&1 || true
    k get events -n "$SYSTEM_NS" --sort-by=.lastTimestamp >>"$LOGS/helm.log" 2>&1 || true
    die "helm install failed or the operator did not become ready (ImagePullBackOff means the images are not on the nodes: see --help)"
  fi
fi
h status "$RELEASE" -n "$SYSTEM_NS" 2>/dev/null | grep -E '^(NAME|NAMESPACE|STATUS|REVISION):' | paste -sd' ' | detail || true
for crd in apipolicies tokenissuers clustertokenissuers; do
  run "$LOGS/helm.log" k wait --for=condition=Established "crd/$crd.tokengate.io" --timeout=60s
done

if [[ $MODE == local ]]; then
  step "starting the operator as a local process, as the chart's ServiceAccount" "$LOGS/operator.log"
  SA=$(k get serviceaccount -n "$SYSTEM_NS" -l "app.kubernetes.io/instance=$RELEASE" -o jsonpath='{.items[0].metadata.name}')
  [[ -n $SA ]] || die "the chart installed no ServiceAccount in $SYSTEM_NS"
  SA_TOKEN=$(k create token "$SA" -n "$SYSTEM_NS" --duration=24h)
  OP_KUBECONFIG=$WORK/operator.kubeconfig
  run "$LOGS/operator-setup.log" kubectl --kubeconfig="$OP_KUBECONFIG" config set-cluster demo --server="$APISERVER_URL" \
    --certificate-authority="$CA_CERT" --embed-certs=true
  run "$LOGS/operator-setup.log" kubectl --kubeconfig="$OP_KUBECONFIG" config set-credentials "$SA" --token="$SA_TOKEN"
  run "$LOGS/operator-setup.log" kubectl --kubeconfig="$OP_KUBECONFIG" config set-context demo --cluster=demo --user="$SA"
  run "$LOGS/operator-setup.log" kubectl --kubeconfig="$OP_KUBECONFIG" config use-context demo
  can=$(kubectl --kubeconfig="$OP_KUBECONFIG" auth can-i create clusterroles 2>/dev/null || true)
  echo "identity system:serviceaccount:$SYSTEM_NS:$SA (can it create clusterroles? $can)" | detail
  # The operator's environment is the chart's settings ConfigMap, exactly as the Deployment gets it.
  SETTINGS_CM=$(k get configmap -n "$SYSTEM_NS" -l "app.kubernetes.io/instance=$RELEASE" -o name | grep -- '-settings$' | head -n 1 || true)
  [[ -n $SETTINGS_CM ]] || die "the chart installed no <fullname>-settings ConfigMap in $SYSTEM_NS"
  SETTINGS=$(k get "$SETTINGS_CM" -n "$SYSTEM_NS" -o go-template='{{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}')
  mapfile -t SETTINGS_ENV <<<"$SETTINGS"
  printf '%s\n' "${SETTINGS_ENV[@]}" >"$WORK/operator.env"
  echo "environment from the chart's settings ConfigMap ($WORK/operator.env): ${#SETTINGS_ENV[@]} variables" | detail
  launch operator "$LOGS/operator.log" env "${SETTINGS_ENV[@]}" KUBECONFIG="$OP_KUBECONFIG" \
    POD_NAME=demo-operator-0 HOSTNAME=demo-operator-0 \
    java -Xmx384m -XX:TieredStopAtLevel=1 -jar "$OPERATOR_JAR"
  wait_until 180 "the operator's readiness (/q/health/ready)" operator "$LOGS/operator.log" \
    curl -fsS --max-time 3 "http://127.0.0.1:$OPERATOR_HTTP_PORT/q/health/ready"
  WEBHOOK_CONFIG=$(grep '^TOKENGATE_WEBHOOK_CONFIGURATION_NAME=' "$WORK/operator.env" | cut -d= -f2-)
  wait_until 60 "the operator to patch its CA into MutatingWebhookConfiguration $WEBHOOK_CONFIG" operator "$LOGS/operator.log" \
    bash -c '[[ -n $(kubectl get mutatingwebhookconfiguration "$1" -o jsonpath="{.webhooks[0].clientConfig.caBundle}") ]]' _ "$WEBHOOK_CONFIG"
  echo "ready: webhook https://127.0.0.1:$WEBHOOK_PORT/mutate-pods, health http://127.0.0.1:$OPERATOR_HTTP_PORT/q/health (log: $LOGS/operator.log)" | detail
fi

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
  APP_PORT=$(free_port)
  tokenissuer_yaml "$KC_ISSUER" "$NS" "$KC_CA" >"$WORK/tokenissuer.yaml"
else
  APP_PORT=8080
  tokenissuer_yaml "$KC_ISSUER" "$NS" "" "allowInsecureHttp: true   # in-cluster Keycloak on plain HTTP: demo only" >"$WORK/tokenissuer.yaml"
fi
apipolicy_yaml "$APP_PORT" "$NS" >"$WORK/apipolicy.yaml"

step "kubectl apply: examples/tokenissuer.yaml (issuer $KC_ISSUER) and examples/apipolicy.yaml (upstream.port $APP_PORT)" "$LOGS/apply.log"
if ! k apply -f "$WORK/tokenissuer.yaml" -f "$WORK/apipolicy.yaml" 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  die "kubectl apply refused the example resources ($WORK/tokenissuer.yaml, $WORK/apipolicy.yaml)"
fi
explain_not_ready() { # KIND NAME
  k get "$1" "$2" -n "$NS" -o go-template='{{range .status.conditions}}{{.type}}={{.status}} {{.reason}}: {{.message}}{{"\n"}}{{end}}' >>"$LOGS/apply.log" 2>&1 || true
  die "$1/$2 did not become Ready; its conditions are at the end of $LOGS/apply.log" "$LOGS/apply.log" "$LOGS/operator.log"
}
if ! k wait --for=condition=Ready "tokenissuer/$ISSUER_NAME" -n "$NS" --timeout=180s 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  explain_not_ready tokenissuer "$ISSUER_NAME"
fi
if ! k wait --for=condition=Ready "apipolicy/$POLICY" -n "$NS" --timeout=180s 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  explain_not_ready apipolicy "$POLICY"
fi
k get tokenissuer "$ISSUER_NAME" -n "$NS" -o go-template='keys in status: {{range .status.keys}}{{.kid}} ({{.alg}}) {{end}}{{"\n"}}' | detail

# ---- 6. the workload -----------------------------------------------------------------------
step "kubectl label namespace $NS tokengate.io/injection=enabled; kubectl apply the orders Deployment (app port $APP_PORT)" "$LOGS/apply.log"
if ! k label namespace "$NS" tokengate.io/injection=enabled 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  die "kubectl label namespace $NS failed"
fi
awk -v ns="$NS" -v port="$APP_PORT" -v image="$APP_IMAGE" -v py="$ROOT/demo/upstream.py" -v probes="$MODE" '
  /__UPSTREAM_PY__/ { while ((getline line < py) > 0) print "    " line; next }
  probes == "cluster" && /#probe$/ { next }
  { gsub(/__NS__/, ns); gsub(/__PORT__/, port); gsub(/__APP_IMAGE__/, image); print }
' "$ROOT/demo/cluster/manifests/orders.yaml" >"$WORK/orders.yaml"
if ! k apply -f "$WORK/orders.yaml" 2>&1 | tee -a "$LOGS/apply.log" | detail; then
  die "kubectl apply of the Deployment failed"
fi

pod_name() { k get pods -n "$NS" -l app=orders -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }
wait_until 90 "the controller-manager to create the Deployment's pod" "" "$LOGS/apply.log" \
  bash -c '[[ -n $(kubectl "$@" get pods -n "'"$NS"'" -l app=orders -o name) ]]' _ "${KCTX[@]}"
POD=$(pod_name)
if [[ -z $(k get pod "$POD" -n "$NS" -o jsonpath='{.metadata.annotations.tokengate\.io/policy}') ]]; then
  die "pod $POD was admitted without the sidecar (no tokengate.io/policy annotation)" "$LOGS/operator.log"
fi
step "the webhook injected the sidecar into pod $NS/$POD" "$LOGS/apply.log"
k get pod "$POD" -n "$NS" -o go-template='{{range .spec.initContainers}}initContainer {{.name}}  restartPolicy={{.restartPolicy}}  image={{.image}}  ports={{range .ports}}{{.name}}:{{.containerPort}} {{end}}
  args: {{range .args}}{{.}} {{end}}
{{end}}{{range .spec.containers}}container     {{.name}}  image={{.image}}  ports={{range .ports}}{{.name}}:{{.containerPort}} {{end}}{{with .readinessProbe}}{{with .httpGet}} readinessProbe.httpGet.port={{.port}}{{end}}{{end}}
{{end}}annotations:
{{range $k, $v := .metadata.annotations}}  {{$k}}: {{$v}}
{{end}}' | detail
wait_until 60 "the ApiPolicy to count the injected pod" "" "$LOGS/apply.log" \
  bash -c '[[ $(kubectl "$@" get apipolicy "'"$POLICY"'" -n "'"$NS"'" -o jsonpath="{.status.injectedPods}") == 1 ]]' _ "${KCTX[@]}"

if [[ $MODE == local ]]; then
  step "running the pod like a kubelet: its sidecar's args with the ConfigMap volume laid out, plus the stand-in app" "$WORK/pod/runner.log"
  mkdir -p "$WORK/pod"
  launch podrunner "$WORK/pod/runner.log" python3 "$ROOT/demo/cluster/podrunner.py" --namespace "$NS" --selector app=orders \
    --jar "$SIDECAR_JAR" --app "$ROOT/demo/upstream.py" --dir "$WORK/pod"
  wait_until 150 "the pod's sidecar to be ready" podrunner "$WORK/pod/runner.log" test -f "$WORK/pod/ready.env"
  # shellcheck disable=SC1091
  . "$WORK/pod/ready.env"
  grep -E 'laid out|container:' "$WORK/pod/runner.log" | sed 's/^\[podrunner [0-9:]*\] //' | detail
  SIDECAR_URL=http://127.0.0.1:$LISTEN_PORT
  SIDECAR_LOG=$WORK/pod/sidecar.log
else
  step "waiting for pod $POD to run (sidecar ready once Keycloak's keys are loaded)" "$LOGS/apply.log"
  if ! k wait --for=condition=Ready "pod/$POD" -n "$NS" --timeout=5m >>"$LOGS/apply.log" 2>&1; then
    k describe pod "$POD" -n "$NS" >>"$LOGS/apply.log" 2>&1 || true
    die "pod $POD did not become Ready (see its description at the end of the log)"
  fi
  LISTEN=$(k get pod "$POD" -n "$NS" -o jsonpath='{range .spec.initContainers[?(@.name=="tokengate-sidecar")]}{.ports[?(@.name=="http")].containerPort}{end}{range .spec.containers[?(@.name=="tokengate-sidecar")]}{.ports[?(@.name=="http")].containerPort}{end}')
  PF_APP_PORT=$(free_port)
  launch pf-app "$LOGS/pf-app.log" kubectl "${KCTX[@]}" port-forward -n "$NS" "pod/$POD" "$PF_APP_PORT:${LISTEN:-7450}"
  SIDECAR_URL=http://127.0.0.1:$PF_APP_PORT
  wait_until 60 "the port-forward to the pod's sidecar" pf-app "$LOGS/pf-app.log" \
    bash -c 'curl -s -o /dev/null --max-time 3 "$1/healthz"' _ "$SIDECAR_URL"
  SIDECAR_LOG=""
fi

# ---- 7. requests ---------------------------------------------------------------------------
token() { # token [SCOPE...]: a client-credentials access token of orders-client
  local args=(-sS --max-time 30 "${KC_CURL[@]}" -d grant_type=client_credentials -d client_id=orders-client
    -d client_secret=orders-client-secret) resp
  [[ $# -eq 0 ]] || args+=(--data-urlencode "scope=$*")
  resp=$(curl "${args[@]}" "$TOKEN_URL") || die "Keycloak's token endpoint $TOKEN_URL did not answer"
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"$resp" 2>/dev/null ||
    die "no access_token from Keycloak: $resp"
}
FAILED=()
request() { # request TITLE EXPECTED_STATUS [TOKEN]
  local title=$1 expected=$2 bearer=${3:-} code
  local args=(-sS --max-time 30 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}')
  [[ -z $bearer ]] || args+=(-H "Authorization: Bearer $bearer")
  code=$(curl "${args[@]}" "$SIDECAR_URL/orders/42") || die "the request to the sidecar failed" "$SIDECAR_LOG"
  printf '\n   %s\n' "$title"
  [[ -z $bearer ]] || echo "token: $(jwt_claims "$bearer")" | detail
  { head -n 1 "$WORK/headers" | tr -d '\r'
    grep -i '^www-authenticate:' "$WORK/headers" | tr -d '\r' || true
    [[ ! -s $WORK/body ]] || echo "body: $(head -c 300 "$WORK/body")"
  } | detail
  [[ $code == "$expected" ]] || FAILED+=("$title: expected $expected, got $code")
}

step "GET $SIDECAR_URL/orders/42 through the sidecar (the policy: '/**' needs scope orders.read)" "$SIDECAR_LOG"
NO_SCOPE_TOKEN=$(token)
GOOD_TOKEN=$(token orders.read)
request "1. no token" 401
request "2. Keycloak client-credentials token of orders-client, without scope orders.read" 403 "$NO_SCOPE_TOKEN"
request "3. Keycloak client-credentials token of orders-client with scope orders.read" 200 "$GOOD_TOKEN"
echo
if [[ -n $SIDECAR_LOG ]]; then
  echo "   the sidecar's decision log (one JSON line per request, never the token):"
  grep '"decision"' "$SIDECAR_LOG" | tail -n 3 | cut -c1-400 | detail || true
fi
[[ ${#FAILED[@]} -eq 0 ]] || die "unexpected answers: ${FAILED[*]}" "$SIDECAR_LOG"

step "kubectl get apipolicy -A; kubectl get tokenissuer -A" ""
echo
k get apipolicy -A | detail
echo
k get tokenissuer -A | detail
echo
say "all three answers as expected"

if [[ $KEEP == 1 ]]; then
  cat >>"$WORK/demo.env" <<EOF
SIDECAR_URL=$SIDECAR_URL
TOKEN_URL=$TOKEN_URL
KEYCLOAK_CA=${KC_CA:-}
EOF
  ca_arg=""
  [[ -z ${KC_CA:-} ]] || ca_arg=" --cacert $KC_CA"
  cat <<EOF

The demo keeps running (--keep). Reach it:
  ${KUBECTL_ENV:-kubectl config use-context $DEMO_CONTEXT}
  kubectl get apipolicy,tokenissuer -A; kubectl describe apipolicy $POLICY -n $NS
  TOKEN=\$(curl -s$ca_arg -d grant_type=client_credentials -d client_id=orders-client \\
      -d client_secret=orders-client-secret -d scope=orders.read $TOKEN_URL \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -i -H "Authorization: Bearer \$TOKEN" $SIDECAR_URL/orders/42
EOF
  if [[ $MODE == local ]]; then
    cat <<EOF
  Keycloak: $KC_URL/admin (admin / $KC_ADMIN_PASSWORD; CA $KC_CA)
  Change the policy (kubectl edit apipolicy $POLICY -n $NS): the pod runner re-reads the
  ConfigMap every 5 s like a kubelet, and the sidecar reloads it without a restart.
  Logs: $LOGS/ and $WORK/pod/ (sidecar.log, app.log, runner.log)
EOF
  fi
  cat <<EOF
Stop everything: ./demo.sh --stop $WORK
EOF
fi
