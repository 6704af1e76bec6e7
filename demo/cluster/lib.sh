# Helpers for demo.sh (sourced): progress lines, loud failures, processes the demo owns, ports.
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
