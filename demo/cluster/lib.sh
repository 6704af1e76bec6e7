# Helpers for demo.sh (sourced): progress lines, loud failures, processes the demo owns, ports,
# Keycloak on this machine, images for another cluster, client pods. The cluster itself, the
# images and Keycloak's distribution come from the e2e's scripts (e2e/controlplane/,
# e2e/images/build.sh, e2e/keycloak/fetch.sh), which this file only calls.
# Expects ROOT and WORK to be set by the caller.

T0=${T0:-$(date +%s)}
STEP="starting"
STEP_LOG=""

# ==> progress line with the elapsed time
say() { printf '==> [%4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
# indented detail under a progress line
detail() { sed 's/^/      /'; }

# step NAME [LOG]: names the current step (and its log) for failure messages
step() {
  STEP=$1
  STEP_LOG=${2:-}
  say "$1"
}

# die MESSAGE [LOG...]: says which step failed, what happened, and the end of the relevant logs
die() {
  local msg=$1
  shift
  local logs=("$@")
  # A failure inside $(...) is reported once, where it happened; the caller's exit stays quiet.
  if [[ -n ${WORK:-} && -d $WORK ]]; then
    [[ ! -e $WORK/.failed ]] || exit 1
    : >"$WORK/.failed"
  fi
  [[ ${#logs[@]} -gt 0 || -z $STEP_LOG ]] || logs=("$STEP_LOG")
  {
    printf '\n!!! demo failed in step "%s"\n!!! %s\n' "$STEP" "$msg"
    for l in "${logs[@]}"; do
      if [[ -s $l ]]; then
        printf '\n----- last 40 lines of %s -----\n' "$l"
        tail -n 40 "$l"
        printf -- '----- end of %s -----\n' "$l"
      fi
    done
    echo
  } >&2
  exit 1
}

# run LOG CMD...: runs CMD with its output appended to LOG; on failure dies with the log's end
run() {
  local log=$1
  shift
  printf '\n$ %s\n' "$*" >>"$log"
  "$@" >>"$log" 2>&1 || die "'$*' failed (exit $?)" "$log"
}

# build_step LOG CMD...: runs one of the e2e's scripts; its stdout is the result (exports, a
# path), its progress (stderr, with the time of every step) is shown indented as it comes and
# kept in LOG. No pipe reaches the script: start.sh leaves daemons behind, and a daemon holding
# a pipe of ours would keep the demo waiting for its end.
build_step() {
  local log=$1 out=$WORK/.build-step.out pid rc=0 from
  shift
  touch "$log"
  from=$(($(stat -c %s "$log") + 1))
  "$@" >"$out" 2>>"$log" </dev/null &
  pid=$!
  tail -c "+$from" -f --pid="$pid" "$log" | detail >&2
  wait "$pid" || rc=$?
  cat "$out"
  return "$rc"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# launch NAME LOG CMD...: starts CMD in its own session (process group), detached from the
# terminal, records its pid (= process group id) in WORK/pids/NAME.pid
launch() {
  local name=$1 log=$2
  shift 2
  mkdir -p "$WORK/pids"
  TOKENGATE_DEMO_DIR=$WORK setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$WORK/pids/$name.pid"
}

pid_of() { cat "$WORK/pids/$1.pid" 2>/dev/null; }
alive() {
  local pid
  pid=$(pid_of "$1") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# ours PID: the process was started by this demo (its environment names this WORK dir), so a
# recycled pid is never signalled
ours() {
  [[ -r /proc/$1/environ ]] && tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qx "TOKENGATE_DEMO_DIR=$WORK"
}

# stop_all_of GRACE_SECONDS NAME...: SIGTERM to each process group at once, SIGKILL to those
# still running after the grace period
stop_all_of() {
  local grace=$1 name pid pids=()
  shift
  for name in "$@"; do
    pid=$(pid_of "$name") || continue
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && ours "$pid"; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$WORK/pids/$name.pid"
  done
  for _ in $(seq $((grace * 5))); do
    local running=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
    [[ $running == 1 ]] || break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
stop_one() { stop_all_of "${2:-20}" "$1"; }

# wait_until SECONDS WHAT NAME LOG CMD...: polls CMD; dies if process NAME exits or on timeout
wait_until() {
  local timeout=$1 what=$2 name=$3 log=$4
  shift 4
  local deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $name ]] && ! alive "$name"; then
      die "$name exited while waiting for $what" "$log"
    fi
    if [[ $(date +%s) -ge $deadline ]]; then
      die "timed out after ${timeout}s waiting for $what" "$log"
    fi
    sleep 1
  done
}

# tokengate_issuer_yaml ISSUER NS CA_FILE|"" [EXTRA_LINE]: examples/tokenissuer.yaml with the
# issuer URL and namespace replaced and (optionally) the IdP's CA as caBundle; the rest as is
tokenissuer_yaml() {
  local issuer=$1 ns=$2 ca=${3:-} extra=${4:-}
  awk -v issuer="$issuer" -v ns="$ns" -v ca="$ca" -v extra="$extra" '
    /^  namespace:/ { print "  namespace: " ns; next }
    /^  issuer:/ {
      print "  issuer: " issuer
      if (extra != "") print "  " extra
      if (ca != "") {
        print "  caBundle: |"
        while ((getline line < ca) > 0) print "    " line
      }
      next
    }
    { print }
  ' "$ROOT/examples/tokenissuer.yaml"
}

# apipolicy_yaml PORT NS: examples/apipolicy.yaml with the app port and namespace replaced
apipolicy_yaml() {
  local port=$1 ns=$2
  awk -v port="$port" -v ns="$ns" '
    /^  namespace:/ { print "  namespace: " ns; next }
    /^  upstream:/ { up = 1; print; next }
    up && /^    port:/ { print "    port: " port; up = 0; next }
    { print }
  ' "$ROOT/examples/apipolicy.yaml"
}

# jwt_claims TOKEN: the payload's scope, aud, azp and iss (what the demo explains), one line
jwt_claims() {
  python3 - "$1" <<'EOF'
import base64, json, sys
payload = sys.argv[1].split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
aud = claims.get("aud")
print(f'scope="{claims.get("scope", "")}" aud={json.dumps(aud)} azp={claims.get("azp")} iss={claims.get("iss")}')
EOF
}

# start_local_keycloak ADDRESS: Keycloak (the distribution KC_DIST from e2e/keycloak/fetch.sh)
# with the tokengate realm, HTTPS on ADDRESS only, its issuer https://ADDRESS:PORT for this
# machine and the pods alike (the same options as e2e/.../idp/Keycloak.java). Sets KC_URL,
# KC_ISSUER, KC_CA, KC_CURL, KC_ADMIN_PASSWORD.
KC_JAVA_HOME=${TOKENGATE_KEYCLOAK_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
start_local_keycloak() {
  local address=$1 kc=$WORK/keycloak home=$WORK/keycloak/home pw port
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
  run "$LOGS/keycloak-tls.log" "${req[@]}" -keyout "$kc/tls.key" -out "$kc/tls.crt" -subj "/CN=$address" \
    -CA "$kc/ca.pem" -CAkey "$kc/ca.key" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=IP:$address"
  pw=$(openssl rand -hex 16)
  run "$LOGS/keycloak-tls.log" openssl pkcs12 -export -in "$kc/tls.crt" -inkey "$kc/tls.key" -certfile "$kc/ca.pem" \
    -out "$kc/tls.p12" -passout "pass:$pw"
  KC_ADMIN_PASSWORD=$(openssl rand -hex 12)
  port=$(free_port)
  KC_CA=$kc/ca.pem
  KC_URL=https://$address:$port
  KC_ISSUER=$KC_URL/realms/tokengate
  KC_CURL=(--cacert "$KC_CA")
  # fetch.sh pre-built it for an in-memory database and a local cache, so this is --optimized;
  # should anything still open a JGroups channel, it stays on loopback.
  (cd "$home" && launch keycloak "$LOGS/keycloak.log" env JAVA_HOME="$KC_JAVA_HOME" \
    KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD="$KC_ADMIN_PASSWORD" \
    JAVA_OPTS_KC_HEAP="-Xms256m -Xmx1g" JAVA_OPTS_APPEND="-XX:TieredStopAtLevel=1 -Djgroups.bind_addr=127.0.0.1" \
    "$home/bin/kc.sh" start --optimized --http-enabled=false --http-host="$address" \
    --https-port="$port" --https-key-store-file="$kc/tls.p12" --https-key-store-password="$pw" \
    --https-key-store-type=PKCS12 --hostname="$KC_URL" --import-realm)
}

# load_images_into_context: the operator, sidecar, test app and client tarballs
# (TOKENGATE_IMAGE_* from e2e/images/build.sh) onto the nodes of a kind, k3d or minikube cluster
load_images_into_context() {
  local images=("$TOKENGATE_IMAGE_OPERATOR" "$TOKENGATE_IMAGE_SIDECAR" "$TOKENGATE_IMAGE_TESTAPP" "$TOKENGATE_IMAGE_CLIENT") i
  step "loading the images into the cluster (operator, sidecar, test app, client)" "$LOGS/images.log"
  if [[ -n $IMAGE_REGISTRY ]]; then
    echo "operator and sidecar from $IMAGE_REGISTRY (pushed by you); the test app and client must be on the nodes" | detail
  elif [[ $DEMO_CONTEXT == kind-* ]] && command -v kind >/dev/null 2>&1; then
    for i in "${images[@]}"; do run "$LOGS/images.log" kind load image-archive "$i" --name "${DEMO_CONTEXT#kind-}"; done
    echo "loaded into kind cluster ${DEMO_CONTEXT#kind-}" | detail
  elif [[ $DEMO_CONTEXT == k3d-* ]] && command -v k3d >/dev/null 2>&1; then
    run "$LOGS/images.log" k3d image import "${images[@]}" -c "${DEMO_CONTEXT#k3d-}"
    echo "imported into k3d cluster ${DEMO_CONTEXT#k3d-}" | detail
  elif [[ $DEMO_CONTEXT == minikube ]] && command -v minikube >/dev/null 2>&1; then
    for i in "${images[@]}"; do run "$LOGS/images.log" minikube image load "$i"; done
    echo "loaded into minikube" | detail
  else
    {
      echo "not a kind, k3d or minikube context: the nodes must already have the images, e.g."
      echo "  ctr -n k8s.io images import FILE   (on each node, for each of: ${images[*]})"
      echo "  or push operator and sidecar to a registry and pass --image-registry REGISTRY"
    } | detail
  fi
}

# client_get URL [TOKEN]: GET URL from a client pod (the client image) in namespace NS, so the
# request comes through the Service like any workload's; prints the client's JSON answer
client_get() {
  local url=$1 bearer=${2:-} name phase="" args
  name=client-$(date +%s%N | tail -c 7)
  args='"get", "--timeout", "10s"'
  [[ -z $bearer ]] || args+=", \"-H\", \"Authorization: Bearer $bearer\""
  args+=", \"$url\""
  k apply -f - >>"$LOGS/clients.log" 2>&1 <<EOF
apiVersion: v1
kind: Pod
metadata: { name: $name, namespace: $NS, labels: { app: client } }
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  containers:
    - name: client
      image: $CLIENT_IMAGE
      imagePullPolicy: IfNotPresent
      args: [$args]
EOF
  for _ in $(seq 120); do
    phase=$(k get pod "$name" -n "$NS" -o jsonpath='{.status.phase}' 2>>"$LOGS/clients.log" || true)
    [[ $phase != Succeeded && $phase != Failed ]] || break
    sleep 1
  done
  k logs "$name" -n "$NS" 2>>"$LOGS/clients.log" || true
  k delete pod "$name" -n "$NS" --wait=false >>"$LOGS/clients.log" 2>&1 || true
  [[ $phase == Succeeded || $phase == Failed ]]
}
