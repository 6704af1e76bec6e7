#!/usr/bin/env bash
# Stages the sidecar's application directory for its image (/opt/tokengate): the shaded jar,
# the JVM's argument file, and an AOT cache (JDK 25, JEP 483/514: classes loaded and linked,
# method profiles) trained here by one real start of the sidecar on the image's own jlink-ed
# runtime, to ready and through a few hundred requests. The cache roughly halves the CPU time
# to ready (bench/startup.md).
#
# Usage: aot-cache.sh OUTPUT_DIR RUNTIME_DIR SIDECAR_JAR [JIB_APPLICATION_CACHE]
#   OUTPUT_DIR   becomes /opt/tokengate in the image
#   RUNTIME_DIR  what runtime.sh staged (OUTPUT_DIR/opt/java is the image's Java); when it
#                holds no runtime (a base image brings Java), no cache is trained and the
#                argument file stays empty
#   JIB_APPLICATION_CACHE  emptied here: Jib reuses a cached layer whose files' paths and
#                modification times are unchanged, and every staged file carries the image's fixed
#                time, so a kept cache would ship the previous build's jar
# Called by the `images` Maven profile of sidecar/ after runtime.sh.
#
# The cache is only used by the JVM it was trained with and with the same flags that shape
# objects (compact object headers); the image's entrypoint passes exactly TRAIN_FLAGS below,
# and the operator's JAVA_TOOL_OPTIONS (GC, heap, stack size) are given to the training run too.
# A cache the JVM cannot use is ignored with a warning (-XX:AOTMode=auto): never a failed start.
set -euo pipefail

out=${1:?usage: aot-cache.sh OUTPUT_DIR RUNTIME_DIR SIDECAR_JAR}
runtime=${2:?usage: aot-cache.sh OUTPUT_DIR RUNTIME_DIR SIDECAR_JAR}
jar=${3:?usage: aot-cache.sh OUTPUT_DIR RUNTIME_DIR SIDECAR_JAR}
jib_cache=${4:-}
java="$runtime/opt/java/bin/java"

log() { echo "[aot-cache] $*"; }
die() {
  echo "[aot-cache] ERROR: $*" >&2
  exit 1
}
[[ -f $jar ]] || die "no sidecar jar at $jar (package the sidecar first)"

rm -rf "$out"
[[ -z $jib_cache ]] || rm -rf "$jib_cache"
mkdir -p "$out"
cp "$jar" "$out/tokengate-sidecar.jar"
if [[ ! -x $java ]]; then
  log "no staged runtime in $runtime: the base image brings Java; no AOT cache"
  : >"$out/jvm.args"
  exit 0
fi
feature=$("$java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')
if ((${feature:-0} < 25)); then
  log "the staged runtime is Java $feature: the AOT cache needs 25 or newer; no cache"
  : >"$out/jvm.args"
  exit 0
fi
for tool in openssl curl basenc; do
  command -v "$tool" >/dev/null || die "'$tool' is needed to train the AOT cache"
done

# Flags that must be identical when the cache is written and when it is used.
TRAIN_FLAGS=(-XX:+UseCompactObjectHeaders)
# The GC the operator injects (SidecarJvmOptions), without its explicit size caps: training with
# the 128Mi set (-XX:MaxMetaspaceSize=40m and the rest) made the dump fail with "Unable to
# allocate from 'ro' region".
INJECTED=(-XX:+UseSerialGC -XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError -Xss512k)
# Netty's native transport and Unsafe use, allowed explicitly instead of warned about on stderr.
QUIET=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)

# Jib writes every file with the modification time 1970-01-01T00:00:01Z; the JVM checks the
# runtime's and the jar's times against the cache, so train on files with that time.
find "$runtime" "$out" -exec touch -h -d @1 {} +

work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A throw-away issuer key, static keys in the TokenIssuer, and one valid token.
b64url() { basenc --base64url -w0 | tr -d '='; }
openssl genrsa -out "$work/key.pem" 2048 2>/dev/null
n=$(openssl rsa -in "$work/key.pem" -noout -modulus | cut -d= -f2 | basenc --base16 -d | b64url)
issuer=https://idp.training.invalid/realms/training
mkdir "$work/config"
cat >"$work/config/issuer.yaml" <<EOF
apiVersion: tokengate.io/v1alpha1
kind: TokenIssuer
metadata: {name: training-idp, namespace: training}
spec:
  issuer: $issuer
  discovery: false
  jwks: {"keys": [{"kty": "RSA", "kid": "training", "alg": "RS256", "use": "sig", "n": "$n", "e": "AQAB"}]}
  audiences: [api://training]
EOF
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 20000)); }
listen=$(port)
admin=$(port)
upstream=$(port) # nothing listens there: forwarded requests exercise the 502 path
cat >"$work/config/policy.yaml" <<EOF
apiVersion: tokengate.io/v1alpha1
kind: ApiPolicy
metadata: {name: training-api, namespace: training}
spec:
  selector: {matchLabels: {app: training}}
  issuerRef: {kind: TokenIssuer, name: training-idp}
  upstream: {port: $upstream}
  rules:
    - paths: ["/healthz"]
      action: Allow
    - paths: ["/**"]
      require: {scopes: [training.read]}
  forwardClaims: {sub: X-Auth-Subject}
EOF
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT","kid":"training"}' | b64url)
claims=$(printf '{"iss":"%s","aud":"api://training","sub":"training","scope":"training.read","iat":%d,"nbf":%d,"exp":%d}' \
  "$issuer" "$now" "$now" "$((now + 3600))" | b64url)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$work/key.pem" | b64url)
token="$header.$claims.$signature"

log "training run: $java ${TRAIN_FLAGS[*]} -XX:AOTCacheOutput=... -jar tokengate-sidecar.jar"
# Started from the staged directory so the jar's path has the image's shape (/opt/tokengate/).
"$java" "${INJECTED[@]}" "${TRAIN_FLAGS[@]}" "${QUIET[@]}" -XX:AOTCacheOutput="$out/sidecar.aot" \
  -jar "$out/tokengate-sidecar.jar" --config "$work/config" --listen-port "$listen" --admin-port "$admin" \
  --drain-seconds 0 >"$work/sidecar.log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  curl -fsS -o /dev/null "http://127.0.0.1:$admin/healthz/ready" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || die "the sidecar exited during training:$(tail -20 "$work/sidecar.log")"
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$admin/healthz/ready" || die "the sidecar was not ready after 120 s"
codes=$(for _ in $(seq 1 100); do
  curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $token" "http://127.0.0.1:$listen/items"
  curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$listen/items"
  curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer ${token%????}AAAA" "http://127.0.0.1:$listen/items"
  curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$listen/healthz"
  curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$admin/metrics"
done | tr ' ' '\n' | sort | uniq -c | xargs)
log "training requests answered: $codes"
# A valid token reaches the (absent) upstream: 502; no token or a bad signature: 401.
[[ $codes == *" 401"* && $codes == *" 502"* ]] || die "unexpected answers while training: $codes"
kill -TERM "$pid"
wait "$pid" || true
pid=
[[ -s $out/sidecar.aot ]] || die "no AOT cache written:$(tail -20 "$work/sidecar.log")"
printf '%s\n' "-XX:AOTCache=/opt/tokengate/sidecar.aot" "${TRAIN_FLAGS[@]}" "${QUIET[@]}" >"$out/jvm.args"
find "$out" -exec touch -h -d @1 {} +
log "AOT cache $(du -h "$out/sidecar.aot" | cut -f1); jvm.args: $(xargs <"$out/jvm.args")"
