#!/usr/bin/env bash
# Operator heap at scale: the tokengate operator's heap after a full GC, its RSS and the time it
# takes to reconcile everything, with 1,000 ApiPolicies and 10,000 pods known, against the same
# operator on an empty cluster in the same run (target: heap <= 256 MiB loaded).
#
# Starts a fresh local control plane (e2e/controlplane/start.sh: etcd + kube-apiserver +
# kube-controller-manager on 127.0.0.1, no kubelet, pods stay Pending), runs the operator jar
# outside the cluster with the JVM options of the chart's image, and stops everything it
# started. Writes bench/operator-heap.md and bench/operator-heap/ (raw figures).
#
# Usage: bench/operator-heap.sh            measure (10-20 min on a busy 2-core machine)
#        bench/operator-heap.sh --render   re-render the report from bench/operator-heap/report-vars.sh
#                                          (e.g. after editing bench/operator-heap/analysis.md)
# Environment (all optional):
#   NAMESPACES=50 POLICIES=1000 PODS=10000  scale (policies and pods spread evenly over namespaces)
#   INJECTED_PERCENT=50   share of pods annotated as running their policy's sidecar
#   POD_BATCH=500 CREATE_PARALLEL=4   pods per `kubectl create -f` and how many run at once
#   CREATE_TIMEOUT=600    seconds for creating pods; the run measures at the scale reached
#   RECONCILE_TIMEOUT=600 seconds the loaded operator gets to reconcile every policy
#   SETTLE=20             seconds of quiet before the heap is measured
#   BENCH_TIMEOUT=1500    hard limit for the whole script
#   OPERATOR_JAVA_OPTS    JVM options (default: the image's entrypoint options, see jvm_options)
#   JAVA=java SKIP_BUILD=1 KEEP_WORKDIR=1
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH_DIR")"
RAW="$BENCH_DIR/operator-heap"
REPORT="$BENCH_DIR/operator-heap.md"

NAMESPACES=${NAMESPACES:-50}
POLICIES=${POLICIES:-1000}
PODS=${PODS:-10000}
INJECTED_PERCENT=${INJECTED_PERCENT:-50}
POD_BATCH=${POD_BATCH:-500}
CREATE_PARALLEL=${CREATE_PARALLEL:-4}
CREATE_TIMEOUT=${CREATE_TIMEOUT:-600}
RECONCILE_TIMEOUT=${RECONCILE_TIMEOUT:-600}
SETTLE=${SETTLE:-20}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1500}
JAVA=${JAVA:-java}
COMMAND_LINE="bench/operator-heap.sh"
for v in NAMESPACES POLICIES PODS INJECTED_PERCENT POD_BATCH CREATE_PARALLEL CREATE_TIMEOUT RECONCILE_TIMEOUT SETTLE BENCH_TIMEOUT; do
  case $v in
  NAMESPACES) d=50 ;; POLICIES) d=1000 ;; PODS) d=10000 ;; INJECTED_PERCENT) d=50 ;; POD_BATCH) d=500 ;;
  CREATE_PARALLEL) d=4 ;; CREATE_TIMEOUT) d=600 ;; RECONCILE_TIMEOUT) d=600 ;; SETTLE) d=20 ;; BENCH_TIMEOUT) d=1500 ;;
  esac
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$v must be a number" >&2; exit 1; }
  [[ ${!v} == "$d" ]] || COMMAND_LINE="$v=${!v} $COMMAND_LINE"
done
((POLICIES % NAMESPACES == 0 && PODS % POLICIES == 0)) ||
  { echo "POLICIES must be a multiple of NAMESPACES and PODS a multiple of POLICIES" >&2; exit 1; }
PER_NS=$((POLICIES / NAMESPACES))
PODS_PER_POLICY=$((PODS / POLICIES))

T0=$(date +%s)
say() { printf '[operator-heap %4ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
elapsed() { echo $(($(date +%s) - T0)); }
left() { echo $((BENCH_TIMEOUT - $(elapsed))); }

# ---------------------------------------------------------------- report
# Everything the report needs is saved in $RAW/report-vars.sh, so `--render` re-renders
# bench/operator-heap.md (e.g. after editing bench/operator-heap/analysis.md) without measuring.
REPORT_VARS=(NAMESPACES PER_NS PODS_PER_POLICY INJECTED_PERCENT POD_BATCH CREATE_PARALLEL CREATE_TIMEOUT
  RECONCILE_TIMEOUT COMMAND_LINE JAVA JAVA_OPTS_USED JAVA_VERSION CHART_LIMIT CHART_ENTRY OPERATOR_COMMIT
  POLICIES_CREATED PODS_CREATED POL_SECONDS PODS_SECONDS POD_BATCHES_SKIPPED BASE_READY LOADED_READY
  RECONCILE_SECONDS RECONCILED READY_POLICIES MATCHED INJECTED CONFIGMAPS BASE_PEAK_KB LOADED_PEAK_KB
  FULL_GCS WARN_COUNT WARN_SUMMARY LOAD_BASE LOAD_CREATE LOAD_LOADED CPU_MODEL MEM_TOTAL NPROC KERNEL
  RUN_DATE TOTAL_SECONDS)
for _l in base loaded; do
  for _m in HEAP_KB OLD_KB META_KB HEAPCAP_KB RSS_KB HWM_KB THREADS MAXHEAP GC; do REPORT_VARS+=("M_${_l}_${_m}"); done
done
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if(b>0) printf "%.2f×", a/b; else printf "n/a"}'; }
delta() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.1f", (a-b)/1024}'; }
thousands() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
render_report() {
  TARGET_KB=$((256 * 1024))
  if ((M_loaded_HEAP_KB <= TARGET_KB)); then VERDICT="**PASS**"; else VERDICT="**MISS**"; fi
  FULL_SCALE=1
  ((POLICIES_CREATED == 1000 && PODS_CREATED == 10000)) || FULL_SCALE=0
  # increment scaled to 1,000 policies + 10,000 pods (pods dominate informer memory; a linear estimate)
  per_unit=$(awk -v d="$((M_loaded_HEAP_KB - M_base_HEAP_KB))" -v p="$PODS_CREATED" 'BEGIN{if(p>0) printf "%.1f", d/1024*10000/p; else print "n/a"}')
  BASE_GC=${M_base_GC:-unknown}
  MAXHEAP_MIB=$(awk -v b="${M_loaded_MAXHEAP:-0}" 'BEGIN{printf "%.0f", b/1048576}')
  RECONCILE_CELL=${RECONCILE_SECONDS:+${RECONCILE_SECONDS} s}
  RECONCILE_CELL=${RECONCILE_CELL:-"not finished: $RECONCILED of $POLICIES_CREATED after ${RECONCILE_TIMEOUT} s"}
  POL_FMT=$(thousands "$POLICIES_CREATED")
  PODS_FMT=$(thousands "$PODS_CREATED")
  READY_REASONS=$(awk '{printf "%s`%s` × %s", (NR>1?", ":""), $1, $2}' "$RAW/loaded-ready-reasons.txt" 2>/dev/null)
  SCALE_NOTE=""
  ((FULL_SCALE)) || SCALE_NOTE=", at the reduced scale below"
  PER_UNIT_NOTE=""
  ((FULL_SCALE)) || PER_UNIT_NOTE=" measured ($per_unit MiB per 10,000 pods, scaled linearly)"
  case $CHART_LIMIT in
  *Mi) LIMIT_KB=$((${CHART_LIMIT%Mi} * 1024)) ;; *Gi) LIMIT_KB=$((${CHART_LIMIT%Gi} * 1048576)) ;; *) LIMIT_KB=$((512 * 1024)) ;;
  esac
  NONHEAP_BASE_KB=$((M_base_RSS_KB - M_base_HEAPCAP_KB))
  NONHEAP_LOADED_KB=$((M_loaded_RSS_KB - M_loaded_HEAPCAP_KB))
  LEFT_KB=$((LIMIT_KB - ${M_loaded_MAXHEAP:-0} / 1024))
  if ((M_loaded_HWM_KB <= LIMIT_KB)); then
    LIMIT_NOTE="peak RSS $(mib "$M_loaded_HWM_KB") MiB stayed **within** the chart's \`limits.memory: $CHART_LIMIT\`."
  else
    LIMIT_NOTE="peak RSS $(mib "$M_loaded_HWM_KB") MiB is **over** the chart's \`limits.memory: $CHART_LIMIT\` ($(mib "$LIMIT_KB") MiB): a pod with that limit would very likely have been OOM-killed during this start-up (the cgroup counts this anonymous memory). The heap may grow to $MAXHEAP_MIB MiB, which leaves $(mib "$LEFT_KB") MiB of the limit for everything else, while this JVM's memory outside the heap (RSS − committed heap) is $(mib "$NONHEAP_BASE_KB") MiB idle and $(mib "$NONHEAP_LOADED_KB") MiB loaded; and the heap did grow: $(mib "$LOADED_PEAK_KB") MiB used at the peak between GCs, $(mib "$M_loaded_HEAPCAP_KB") MiB still committed after the full GCs."
  fi
  ANALYSIS=""
  [[ -f $RAW/analysis.md ]] && ANALYSIS=$(cat "$RAW/analysis.md")
  SKIP_NOTE=""
  ((POD_BATCHES_SKIPPED == 0)) || SKIP_NOTE="; **$POD_BATCHES_SKIPPED batches not created before the $CREATE_TIMEOUT s limit**"

  jq -n --arg date "$RUN_DATE" --arg commit "$OPERATOR_COMMIT" --arg opts "$JAVA_OPTS_USED" --arg java "$JAVA_VERSION" \
    --argjson policies "$POLICIES_CREATED" --argjson pods "$PODS_CREATED" --argjson namespaces "$NAMESPACES" \
    --argjson baseHeapKb "$M_base_HEAP_KB" --argjson loadedHeapKb "$M_loaded_HEAP_KB" \
    --argjson baseRssKb "$M_base_RSS_KB" --argjson loadedRssKb "$M_loaded_RSS_KB" \
    --argjson baseHwmKb "$M_base_HWM_KB" --argjson loadedHwmKb "$M_loaded_HWM_KB" \
    --argjson baseMetaKb "$M_base_META_KB" --argjson loadedMetaKb "$M_loaded_META_KB" \
    --argjson basePeakKb "${BASE_PEAK_KB:-0}" --argjson loadedPeakKb "${LOADED_PEAK_KB:-0}" \
    --arg baseReady "$BASE_READY" --arg loadedReady "${LOADED_READY:-}" --arg reconcileSeconds "${RECONCILE_SECONDS:-}" \
    --argjson baseHeapCommittedKb "$M_base_HEAPCAP_KB" --argjson loadedHeapCommittedKb "$M_loaded_HEAPCAP_KB" \
    --arg chartMemoryLimit "$CHART_LIMIT" --argjson maxHeapBytes "${M_loaded_MAXHEAP:-0}" \
    --argjson reconciled "$RECONCILED" --argjson readyPolicies "$READY_POLICIES" \
    --argjson matchedPods "$MATCHED" --argjson injectedPods "$INJECTED" --argjson configMaps "$CONFIGMAPS" \
    '$ARGS.named' >"$RAW/results.json"

  {
    cat <<EOF
# Operator heap with 1,000 ApiPolicies and 10,000 pods

\`bench/operator-heap.sh\` starts a fresh local control plane (etcd, kube-apiserver and
kube-controller-manager v1.37.2 on 127.0.0.1, no kubelet), runs the operator jar outside the
cluster with the JVM options of the chart's image, and measures it twice in the same run: on the
empty cluster (baseline), then with $POL_FMT ApiPolicies in $NAMESPACES namespaces and $PODS_FMT Pods known
(a fresh JVM that starts, lists everything and reconciles every policy). Heap is measured after
two full GCs (\`jcmd GC.run\`, then \`jstat -gc\`: survivor + eden + old used).

Target: heap after GC ≤ 256 MiB with 1,000 policies and 10,000 pods. Result: $VERDICT
($(mib "$M_loaded_HEAP_KB") MiB$SCALE_NOTE).

| | baseline: 0 policies, 0 pods | loaded: $POL_FMT policies, $PODS_FMT pods | loaded − baseline | loaded / baseline |
| --- | ---: | ---: | ---: | ---: |
| **heap used after full GC** | $(mib "$M_base_HEAP_KB") MiB | **$(mib "$M_loaded_HEAP_KB") MiB** | $(delta "$M_loaded_HEAP_KB" "$M_base_HEAP_KB") MiB | $(ratio "$M_loaded_HEAP_KB" "$M_base_HEAP_KB") |
| of which old generation | $(mib "$M_base_OLD_KB") MiB | $(mib "$M_loaded_OLD_KB") MiB | $(delta "$M_loaded_OLD_KB" "$M_base_OLD_KB") MiB | |
| peak heap used between GCs (jstat every 2 s) | $(mib "${BASE_PEAK_KB:-0}") MiB | $(mib "${LOADED_PEAK_KB:-0}") MiB | | |
| heap committed after full GC | $(mib "$M_base_HEAPCAP_KB") MiB | $(mib "$M_loaded_HEAPCAP_KB") MiB | $(delta "$M_loaded_HEAPCAP_KB" "$M_base_HEAPCAP_KB") MiB | |
| metaspace + class space used | $(mib "$M_base_META_KB") MiB | $(mib "$M_loaded_META_KB") MiB | $(delta "$M_loaded_META_KB" "$M_base_META_KB") MiB | |
| RSS after GC | $(mib "$M_base_RSS_KB") MiB | $(mib "$M_loaded_RSS_KB") MiB | $(delta "$M_loaded_RSS_KB" "$M_base_RSS_KB") MiB | $(ratio "$M_loaded_RSS_KB" "$M_base_RSS_KB") |
| RSS − committed heap (metaspace, code cache, thread stacks, native) | $(mib "$NONHEAP_BASE_KB") MiB | $(mib "$NONHEAP_LOADED_KB") MiB | $(delta "$NONHEAP_LOADED_KB" "$NONHEAP_BASE_KB") MiB | |
| peak RSS (VmHWM) | $(mib "$M_base_HWM_KB") MiB | $(mib "$M_loaded_HWM_KB") MiB | $(delta "$M_loaded_HWM_KB" "$M_base_HWM_KB") MiB | |
| JVM start → \`/q/health/ready\` | ${BASE_READY} s | ${LOADED_READY:-never} s | | |
| JVM start → every policy has \`status.observedGeneration\` | — | $RECONCILE_CELL | | |
| live threads | $M_base_THREADS | $M_loaded_THREADS | | |

Heap increment per 1,000 policies + 10,000 pods: $(delta "$M_loaded_HEAP_KB" "$M_base_HEAP_KB") MiB$PER_UNIT_NOTE.
Max heap of this configuration: ${MAXHEAP_MIB} MiB (75 % of the chart's ${CHART_LIMIT} limit), collector ${BASE_GC}; the
loaded operator ran ${FULL_GCS:-?} full GCs while reconciling and settling (from the jstat samples, including the two forced ones) and logged ${WARN_COUNT:-0} WARN/ERROR lines.

Memory limit: $LIMIT_NOTE

What the loaded operator reported (read from the API server after it settled): $RECONCILED of
$POLICIES_CREATED policies reconciled (\`observedGeneration\` = \`generation\`), $READY_POLICIES \`Ready=True\`;
Σ \`matchedPods\` = $MATCHED and Σ \`injectedPods\` = $INJECTED (of $PODS_CREATED pods, ${INJECTED_PERCENT} % annotated
\`tokengate.io/policy\` + \`tokengate.io/config-hash\`, the others as created before any policy
existed: uninjected, so reason \`PodsNeedRestart\`); $CONFIGMAPS rendered \`tokengate-*\` ConfigMaps.
Ready condition (status/reason): ${READY_REASONS:-none}.

Setup: one ClusterTokenIssuer (static \`jwks\` with one RSA-2048 public key generated by the
script, \`discovery: false\`: no network), shared by every policy (a namespaced TokenIssuer
can only be referenced from its own namespace). $PER_NS policies per namespace, each like
\`examples/apipolicy.yaml\` (three rules, two token sources, claim forwarding) selecting its own
\`app\` label; $PODS_PER_POLICY pods per policy (five labels, one container with a port, env,
resources and a probe), created before the operator starts. Objects created in: policies ${POL_SECONDS} s,
pods ${PODS_SECONDS} s ($CREATE_PARALLEL parallel \`kubectl create -f\` of $POD_BATCH-pod files$SKIP_NOTE).

${ANALYSIS:+## Analysis (hand-written: \`bench/operator-heap/analysis.md\`)

$ANALYSIS

}## How the operator was run

\`\`\`sh
KUBECONFIG=<control plane>/admin.kubeconfig TOKENGATE_OPERATOR_NAMESPACE=tokengate-system \\
  TOKENGATE_LEADER_ELECTION_ENABLED=false TOKENGATE_WEBHOOK_URL=https://127.0.0.1:<port>/mutate-pods \\
  QUARKUS_HTTP_PORT=<port> QUARKUS_HTTP_HOST=127.0.0.1 \\
  $JAVA $JAVA_OPTS_USED -jar operator/target/quarkus-app/quarkus-run.jar
\`\`\`

The chart runs the image's entrypoint (\`operator/pom.xml\`, Jib \`<entrypoint>\`: \`java
${CHART_ENTRY% }\`) with \`resources.limits.memory: ${CHART_LIMIT}\`
(\`helm/tokengate/values.yaml\`). Outside a container, \`-XX:MaxRAM\` gives the JVM the same
memory to size its heap from, and \`-XX:+UseSerialGC\` is the collector it picks by itself in
such a container (under 1792 MB it is not a "server-class machine"). Leader election is off
(one replica run by hand; the chart's Lease adds nothing measurable). A
MutatingWebhookConfiguration \`tokengate-sidecar-injector\` exists as the chart creates it (with
\`url:\`), selecting only namespaces labelled \`tokengate.io/injection=enabled\`, which the
benchmark's are not. JVM: ${JAVA_VERSION}; operator at commit ${OPERATOR_COMMIT}.

## Operator log (loaded run)

Distinct WARN/ERROR lines (count, logger, start of message):

\`\`\`
${WARN_SUMMARY:-none}
\`\`\`

## Where the loaded heap goes

Top of \`jcmd <pid> GC.class_histogram\` after the full GCs (loaded; baseline and the top 40 in
\`bench/operator-heap/\`):

\`\`\`
$(sed -n 2,28p "$RAW/loaded-class-histogram.txt")
$(tail -1 "$RAW/loaded-class-histogram.txt")
\`\`\`

Baseline for comparison:

\`\`\`
$(sed -n 2,15p "$RAW/base-class-histogram.txt")
$(tail -1 "$RAW/base-class-histogram.txt")
\`\`\`

## Machine and run

- $NPROC cores ($CPU_MODEL), $MEM_TOTAL memory, $KERNEL.
- The machine is shared and was heavily loaded by other builds and tests during the run.
  1-minute load average (min / mean / max): baseline $LOAD_BASE; creating the objects
  $LOAD_CREATE; loaded operator $LOAD_LOADED. Times above (ready, reconcile, object creation)
  are inflated by that load and are only comparable within this run; heap figures after a
  full GC depend on what is reachable, not on the load.
- Date: $RUN_DATE; whole script: ${TOTAL_SECONDS} s.
- Command: \`$COMMAND_LINE\`
- Raw figures: \`bench/operator-heap/\` (\`results.json\`, per phase \`*-heap-info.txt\`,
  \`*-jstat-gc.txt\`, \`*-class-histogram.txt\`, \`*-proc-status.txt\`, \`*-vm-flags.txt\`;
  \`report-vars.sh\` re-renders this page: \`bench/operator-heap.sh --render\`).

Nothing here gates CI: absolute figures depend on the machine; the baseline in the same run is
what the loaded figures are read against.
EOF
  } >"$REPORT"
}
if [[ ${1:-} == --render ]]; then
  [[ -f $RAW/report-vars.sh ]] || { echo "no $RAW/report-vars.sh: run the benchmark first" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$RAW/report-vars.sh"
  render_report
  echo "re-rendered $REPORT from $RAW/report-vars.sh" >&2
  exit 0
fi

for tool in kubectl curl jq openssl xxd jcmd jstat "$JAVA"; do
  command -v "$tool" >/dev/null || die "'$tool' is required"
done

WORK=$(mktemp -d /tmp/operator-heap.XXXXXX)
CP="$WORK/cp"
OPERATOR_PID=""
SAMPLER_PIDS=()
WATCHDOG_PID=""
LOAD_PID=""

stop_operator() {
  [[ -n $OPERATOR_PID ]] || return 0
  if kill -0 "$OPERATOR_PID" 2>/dev/null; then
    kill -TERM "$OPERATOR_PID" 2>/dev/null || true
    for _ in $(seq 70); do kill -0 "$OPERATOR_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$OPERATOR_PID" 2>/dev/null || true
  fi
  wait "$OPERATOR_PID" 2>/dev/null || true
  OPERATOR_PID=""
}
stop_samplers() {
  local p
  for p in "${SAMPLER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SAMPLER_PIDS=()
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $WATCHDOG_PID ]] && { kill "$WATCHDOG_PID" 2>/dev/null || true; wait "$WATCHDOG_PID" 2>/dev/null || true; }
  stop_operator
  stop_samplers
  [[ -n $LOAD_PID ]] && { kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; }
  if [[ -d $CP ]]; then "$REPO/e2e/controlplane/stop.sh" "$CP" --purge >/dev/null 2>&1 || true; fi
  if [[ ${KEEP_WORKDIR:-0} == 1 ]]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  [[ $rc -eq 0 ]] || say "failed (exit $rc) after $(elapsed)s; everything started was stopped"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "stopped (time limit of ${BENCH_TIMEOUT}s or SIGTERM)"; exit 143' TERM
# Hard time limit: SIGTERM to this script; every wait below is short, so the trap runs promptly.
(sleep "$BENCH_TIMEOUT" && kill -TERM $$ 2>/dev/null) </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!

mkdir -p "$RAW"
rm -f "$RAW"/*.txt "$RAW"/*.json

# ---------------------------------------------------------------- the operator jar and its JVM
APP="$REPO/operator/target/quarkus-app"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  if [[ ! -f $APP/quarkus-run.jar ]] || [[ -n $(find "$REPO/operator/src/main" "$REPO/api/src/main" "$REPO/operator/pom.xml" -newer "$APP/quarkus-run.jar" -print -quit) ]]; then
    say "building the operator: ./mvnw -B -q -o -pl operator -am package -DskipTests"
    (cd "$REPO" && ./mvnw -B -q -o -pl operator -am package -DskipTests) >"$WORK/build.log" 2>&1 ||
      { tail -30 "$WORK/build.log" >&2; die "operator build failed"; }
  fi
fi
[[ -f $APP/quarkus-run.jar ]] || die "no operator jar at $APP/quarkus-run.jar"
# A private copy: a concurrent build rewriting target/ must not change the jars under measurement.
cp -r "$APP" "$WORK/app"
OPERATOR_COMMIT=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The chart runs the image's entrypoint (operator/pom.xml, jib <entrypoint>) in a container with
# resources.limits.memory (helm/tokengate/values.yaml). Outside a container the same heap sizing
# needs -XX:MaxRAM=<limit>, and the collector the JVM picks by itself in such a container (fewer
# than 1792 MB: not a "server-class machine") is Serial, so it is named explicitly.
jvm_options() {
  local entry limit mem
  entry=$(sed -n '/<entrypoint>/,/<\/entrypoint>/p' "$REPO/operator/pom.xml" | sed -n 's:.*<arg>\(.*\)</arg>.*:\1:p' |
    awk '$0=="-jar"{exit} NR>1{printf "%s ", $0}')
  limit=$(awk '/^resources:/{r=1} r&&/limits:/{l=1} r&&l&&/memory:/{print $2; exit}' "$REPO/helm/tokengate/values.yaml")
  CHART_LIMIT=${limit:-512Mi}
  case $CHART_LIMIT in
  *Mi) mem="${CHART_LIMIT%Mi}m" ;; *Gi) mem="$((${CHART_LIMIT%Gi} * 1024))m" ;; *) mem=512m ;;
  esac
  CHART_ENTRY=${entry:-"-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"}
  DEFAULT_OPTS="-XX:MaxRAM=$mem -XX:+UseSerialGC ${CHART_ENTRY% }"
}
jvm_options
JAVA_OPTS_USED=${OPERATOR_JAVA_OPTS:-$DEFAULT_OPTS}
JAVA_VERSION=$("$JAVA" -version 2>&1 | sed -n 2p)
say "JVM: $JAVA_VERSION; options: $JAVA_OPTS_USED (chart: limits.memory $CHART_LIMIT, entrypoint $CHART_ENTRY)"

# ---------------------------------------------------------------- load average, sampled throughout
LOAD_FILE="$WORK/load.txt"
(while :; do echo "$(date +%s) $(cut -d' ' -f1 /proc/loadavg)"; sleep 5; done) >"$LOAD_FILE" 2>/dev/null &
LOAD_PID=$!
PHASES=()
phase() { PHASES+=("$1 $(date +%s)"); }
load_between() { # load_between FROM TO : "min/mean/max" of the 1-minute load average
  awk -v a="$1" -v b="$2" '$1>=a && $1<=b {n++; s+=$2; if(n==1||$2<mn)mn=$2; if($2>mx)mx=$2}
    END{if(n) printf "%.1f / %.1f / %.1f", mn, s/n, mx; else printf "n/a"}' "$LOAD_FILE"
}

# ---------------------------------------------------------------- control plane
phase controlplane
say "starting a fresh control plane in $CP"
KUBECONFIG=$("$REPO/e2e/controlplane/start.sh" "$CP" --owner-pid $$ 2>"$WORK/controlplane.log") ||
  { tail -20 "$WORK/controlplane.log" >&2; die "control plane did not start"; }
export KUBECONFIG
# shellcheck disable=SC1091
. "$CP/cluster.env"
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
API=(curl -sS --max-time 60 --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY")
K=(kubectl --request-timeout=120s)

pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port"
}
HTTP_PORT=$(pick_port)
WEBHOOK_PORT=$(pick_port)
[[ $HTTP_PORT != "$WEBHOOK_PORT" ]] || WEBHOOK_PORT=$(pick_port)
WEBHOOK_URL="https://127.0.0.1:$WEBHOOK_PORT/mutate-pods"

"${K[@]}" apply -f "$REPO/crds/" >/dev/null
"${K[@]}" wait --for=condition=Established --timeout=120s crd/apipolicies.tokengate.io \
  crd/tokenissuers.tokengate.io crd/clustertokenissuers.tokengate.io >/dev/null
"${K[@]}" create namespace tokengate-system >/dev/null
# The chart's MutatingWebhookConfiguration (the operator patches its caBundle), given as a URL for
# an operator outside the cluster. It selects namespaces labelled tokengate.io/injection=enabled,
# and none of the benchmark's namespaces is: pods are created without admission calls.
"${K[@]}" apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: tokengate-sidecar-injector
webhooks:
  - name: sidecar-injector.tokengate.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Ignore
    timeoutSeconds: 6
    rules:
      - operations: [CREATE]
        apiGroups: [""]
        apiVersions: [v1]
        resources: [pods]
        scope: Namespaced
    namespaceSelector:
      matchLabels:
        tokengate.io/injection: enabled
    clientConfig:
      url: "$WEBHOOK_URL"
EOF

# ---------------------------------------------------------------- the operator, measured
OPERATOR_LOG=""
start_operator() { # start_operator LABEL
  OPERATOR_LOG="$WORK/operator-$1.log"
  # shellcheck disable=SC2086
  env KUBECONFIG="$KUBECONFIG" TOKENGATE_OPERATOR_NAMESPACE=tokengate-system \
    TOKENGATE_LEADER_ELECTION_ENABLED=false TOKENGATE_WEBHOOK_URL="$WEBHOOK_URL" \
    QUARKUS_HTTP_PORT="$HTTP_PORT" QUARKUS_HTTP_HOST=127.0.0.1 \
    "$JAVA" $JAVA_OPTS_USED -jar "$WORK/app/quarkus-run.jar" </dev/null >"$OPERATOR_LOG" 2>&1 &
  OPERATOR_PID=$!
  OPERATOR_START=$(date +%s%N)
}
operator_alive() {
  kill -0 "$OPERATOR_PID" 2>/dev/null ||
    { tail -40 "$OPERATOR_LOG" >&2; die "the operator exited (log above)"; }
}
wait_ready() { # wait_ready TIMEOUT : sets READY_SECONDS
  local deadline=$(($(date +%s) + $1))
  until curl -sf --max-time 3 "http://127.0.0.1:$HTTP_PORT/q/health/ready" >/dev/null 2>&1; do
    operator_alive
    [[ $(date +%s) -lt $deadline ]] || { tail -40 "$OPERATOR_LOG" >&2; die "operator not ready after $1 s"; }
    sleep 1
  done
  READY_SECONDS=$(awk -v a="$OPERATOR_START" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
}
jstat_col() { # jstat_col FILE COLUMN... : sum of the named columns of jstat -gc's last line
  awk -v cols="${*:2}" 'NR==1{for(i=1;i<=NF;i++)h[$i]=i; next} {last=$0}
    END{n=split(cols,c," "); split(last,v," "); s=0; for(i=1;i<=n;i++) s+=v[h[c[i]]]; printf "%.0f", s}' "$1"
}
# measure LABEL : full GC, then heap used, metaspace, RSS and threads into M_<LABEL>_*
measure() {
  local label=$1 pid=$OPERATOR_PID f
  operator_alive
  jcmd "$pid" GC.run >/dev/null
  sleep 1
  jcmd "$pid" GC.run >/dev/null
  sleep 1
  jcmd "$pid" GC.heap_info >"$RAW/$label-heap-info.txt"
  jstat -gc "$pid" >"$RAW/$label-jstat-gc.txt"
  jcmd "$pid" GC.class_histogram >"$WORK/$label-histogram-full.txt"
  head -43 "$WORK/$label-histogram-full.txt" >"$RAW/$label-class-histogram.txt"
  tail -1 "$WORK/$label-histogram-full.txt" >>"$RAW/$label-class-histogram.txt"
  grep -E '^(VmRSS|VmHWM|Threads|RssAnon|RssFile)' "/proc/$pid/status" >"$RAW/$label-proc-status.txt"
  jcmd "$pid" VM.flags >"$RAW/$label-vm-flags.txt" 2>&1 || true
  f="$RAW/$label-jstat-gc.txt"
  printf -v "M_${label}_HEAP_KB" '%s' "$(jstat_col "$f" S0U S1U EU OU)"
  printf -v "M_${label}_OLD_KB" '%s' "$(jstat_col "$f" OU)"
  printf -v "M_${label}_META_KB" '%s' "$(jstat_col "$f" MU CCSU)"
  printf -v "M_${label}_HEAPCAP_KB" '%s' "$(jstat_col "$f" S0C S1C EC OC)"
  printf -v "M_${label}_RSS_KB" '%s' "$(awk '/^VmRSS/{print $2}' "$RAW/$label-proc-status.txt")"
  printf -v "M_${label}_HWM_KB" '%s' "$(awk '/^VmHWM/{print $2}' "$RAW/$label-proc-status.txt")"
  printf -v "M_${label}_THREADS" '%s' "$(awk '/^Threads/{print $2}' "$RAW/$label-proc-status.txt")"
  printf -v "M_${label}_MAXHEAP" '%s' "$(grep -o -- '-XX:MaxHeapSize=[0-9]*' "$RAW/$label-vm-flags.txt" | cut -d= -f2)"
  printf -v "M_${label}_GC" '%s' "$(grep -o -E 'Use[A-Za-z0-9]*GC' "$RAW/$label-vm-flags.txt" | head -1)"
  local h="M_${label}_HEAP_KB" r="M_${label}_RSS_KB"
  say "$label: heap used after full GC $((${!h} / 1024)) MiB, RSS $((${!r} / 1024)) MiB"
}
# Distinct WARN/ERROR messages: logger and message with times, threads, names, URLs and ids removed.
warn_summary() {
  sed -E 's/^[0-9:.]+ +//; s/ \([^)]*\) / /; s/ExecutionScope.*pending\.: //; s#https?://127\.0\.0\.1:[0-9]+##g;
    s#/namespaces/[a-z0-9-]+/#/namespaces/<ns>/#g; s#(apipolicies|configmaps|events)/[a-z0-9.-]+#\1/<name>#g;
    s/(on (apipolicy|clustertokenissuer|tokenissuer)) [a-z0-9.-]+/\1 <name>/; s/"[a-z0-9-]+\.[0-9a-f]+"/"<event>"/g;
    s/Failure executing: [A-Z]+ at: [^ ]+\. Message: (.*)\. Received status.*/\1/;
    s/io\.(fabric8|javaoperatorsdk)[a-zA-Z.]*\.([A-Za-z]+Exception): /\2: /g' |
    cut -c1-210 | sort | uniq -c | sort -rn | head -8
}
# A jstat sampler while the operator works: the peak heap before collection and the GC counts.
start_gc_sampler() { # start_gc_sampler LABEL
  jstat -gc "$OPERATOR_PID" 2000 >"$WORK/$1-jstat-samples.txt" 2>/dev/null &
  SAMPLER_PIDS+=($!)
}
peak_heap_kb() { # peak_heap_kb LABEL : max over samples of S0U+S1U+EU+OU
  awk 'NR==1{for(i=1;i<=NF;i++)h[$i]=i; next} $1!="S0C" && NF>5 {u=$h["S0U"]+$h["S1U"]+$h["EU"]+$h["OU"]; if(u>m)m=u}
    END{printf "%.0f", m}' "$WORK/$1-jstat-samples.txt"
}

# ---------------------------------------------------------------- phase 1: baseline, empty cluster
phase baseline
say "baseline: the operator with 0 policies and 0 pods"
start_operator baseline
start_gc_sampler baseline
wait_ready 300
BASE_READY=$READY_SECONDS
say "baseline: ready after ${BASE_READY}s; settling ${SETTLE}s"
sleep "$SETTLE"
measure base
BASE_PEAK_KB=$(peak_heap_kb baseline)
grep -E ' (WARN|ERROR) ' "$OPERATOR_LOG" | head -20 >"$RAW/base-operator-warnings.txt" || true
stop_operator
stop_samplers

# ---------------------------------------------------------------- phase 2: the objects
phase objects
ISSUER_NAME=bench-idp
ISSUER_URL="https://idp.bench.invalid/realms/bench"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/issuer.key" 2>/dev/null
openssl pkey -in "$WORK/issuer.key" -pubout -out "$WORK/issuer.pub" 2>/dev/null
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
JWK_N=$(openssl rsa -pubin -in "$WORK/issuer.pub" -noout -modulus | cut -d= -f2 | xxd -r -p | b64url)
JWK_E=$(printf '%s' "$(openssl rsa -pubin -in "$WORK/issuer.pub" -noout -text | awk '/Exponent/{print $2}')" |
  awk '{printf "%06x", $1}' | xxd -r -p | b64url)
JWK_KID=$(printf '%s' "$JWK_N" | sha256sum | cut -c1-16)
# One issuer for every namespace: a TokenIssuer is referenced from its own namespace only, so the
# issuer all 1,000 policies share is a ClusterTokenIssuer (the same reconciliation and snapshot).
"${K[@]}" apply -f - >/dev/null <<EOF
apiVersion: tokengate.io/v1alpha1
kind: ClusterTokenIssuer
metadata:
  name: $ISSUER_NAME
spec:
  issuer: $ISSUER_URL
  discovery: false
  audiences: ["api://bench"]
  algorithms: [RS256]
  jwks:
    keys:
      - { "kty": "RSA", "kid": "$JWK_KID", "alg": "RS256", "use": "sig", "n": "$JWK_N", "e": "$JWK_E" }
EOF

ns_name() { printf 'bench-%02d' "$1"; }
{
  for ((n = 0; n < NAMESPACES; n++)); do
    printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: { team: team-%02d }\n' "$(ns_name "$n")" $((n % 10))
  done
} >"$WORK/namespaces.yaml"
"${K[@]}" create -f "$WORK/namespaces.yaml" >/dev/null

# Policies: PER_NS per namespace, each selecting its own app label, like the example policy.
# Written into a few large files (one kubectl process each: its start-up costs more than a create).
mkdir -p "$WORK/policies" "$WORK/pods"
POLICY_FILES=4
for ((n = 0; n < NAMESPACES; n++)); do
  ns=$(ns_name "$n")
  for ((p = 0; p < PER_NS; p++)); do
    printf -v app 'svc-%02d' "$p"
    printf -- '---
apiVersion: tokengate.io/v1alpha1
kind: ApiPolicy
metadata:
  name: %s-api
  namespace: %s
spec:
  selector:
    matchLabels: { app: %s }
  issuerRef: { kind: ClusterTokenIssuer, name: %s }
  audiences: ["api://%s/%s"]
  mode: Enforce
  upstream: { port: 8080 }
  tokenSources:
    - header: { name: Authorization, prefix: "Bearer " }
    - cookie: { name: access_token }
  rules:
    - { paths: ["/healthz", "/metrics"], action: Allow }
    - { paths: ["/admin/**"], methods: [POST, DELETE], require: { scopes: [%s.admin] } }
    - { paths: ["/**"], require: { scopes: [%s.read] } }
  defaultAction: Authenticated
  claimSources: { scopes: [scope, scp], roles: [roles, realm_access.roles] }
  forwardClaims: { sub: X-Auth-Subject, azp: X-Auth-Client }
  forwardToken: true
' "$app" "$ns" "$app" "$ISSUER_NAME" "$ns" "$app" "$app" "$app"
  done >>"$WORK/policies/$((n % POLICY_FILES)).yaml"
done
T_POL=$(date +%s%N)
ls "$WORK"/policies/*.yaml | xargs -P 2 -n 1 kubectl --request-timeout=300s create -o name -f >/dev/null ||
  die "creating the policies failed"
POLICIES_CREATED=$("${API[@]}" "$APISERVER_URL/apis/tokengate.io/v1alpha1/apipolicies" | jq '.items | length')
POL_SECONDS=$(awk -v a="$T_POL" -v b="$(date +%s%N)" 'BEGIN{printf "%.0f", (b-a)/1e9}')
say "created $POLICIES_CREATED ApiPolicies in ${POL_SECONDS}s"

# Pods: PODS_PER_POLICY per policy, labelled like a Deployment's pods; INJECTED_PERCENT of them
# annotated as running their policy's sidecar (tokengate.io/policy + tokengate.io/config-hash).
# A realistic spec (the API server stores it; the operator's informer receives metadata only).
injected_per_policy=$((PODS_PER_POLICY * INJECTED_PERCENT / 100))
batch=0
count=0
out=""
new_batch() { batch=$((batch + 1)); printf -v out '%s/pods/%04d.yaml' "$WORK" "$batch"; : >"$out"; count=0; }
new_batch
for ((n = 0; n < NAMESPACES; n++)); do
  ns=$(ns_name "$n")
  for ((p = 0; p < PER_NS; p++)); do
    printf -v app 'svc-%02d' "$p"
    hash=$(printf '%s/%s' "$ns" "$app" | sha256sum | cut -c1-10)
    for ((i = 0; i < PODS_PER_POLICY; i++)); do
      if ((i < injected_per_policy)); then
        printf -v ann '  annotations: { tokengate.io/policy: %s-api, tokengate.io/config-hash: "sha256:%064d" }' "$app" "$i"
      else
        ann='  annotations: { kubectl.kubernetes.io/restartedAt: "2026-01-01T00:00:00Z" }'
      fi
      printf -- '---
apiVersion: v1
kind: Pod
metadata:
  name: %s-%s-%05d
  namespace: %s
  labels: { app: %s, app.kubernetes.io/name: %s, app.kubernetes.io/part-of: bench, pod-template-hash: "%s", tier: backend }
%s
spec:
  automountServiceAccountToken: false
  containers:
    - name: app
      image: registry.example.com/%s:1.4.2
      ports: [{ name: http, containerPort: 8080 }]
      env: [{ name: APP_NAME, value: %s }, { name: APP_PORT, value: "8080" }]
      resources: { requests: { cpu: 10m, memory: 32Mi }, limits: { memory: 64Mi } }
      readinessProbe: { httpGet: { path: /healthz, port: http } }
' "$app" "$hash" "$i" "$ns" "$app" "$app" "$hash" "$ann" "$app" "$app" >>"$out"
      count=$((count + 1))
      ((count < POD_BATCH)) || new_batch
    done
  done
done
[[ -s $out ]] || rm -f "$out"

# Pods need their namespace's default ServiceAccount (made by kube-controller-manager).
sa_count() {
  "${API[@]}" "$APISERVER_URL/api/v1/serviceaccounts?fieldSelector=metadata.name%3Ddefault" |
    jq '[.items[] | select(.metadata.namespace | startswith("bench-"))] | length'
}
for _ in $(seq 120); do [[ $(sa_count) -ge $NAMESPACES ]] && break; sleep 1; done

phase pods
say "creating $PODS pods: $(ls "$WORK"/pods | wc -l) batches of $POD_BATCH, $CREATE_PARALLEL at a time (limit ${CREATE_TIMEOUT}s)"
T_PODS=$(date +%s)
pod_deadline=$((T_PODS + CREATE_TIMEOUT))
# Leave the loaded phase time: at least half its reconcile timeout (3 min minimum), settle, cleanup.
reserve=$((RECONCILE_TIMEOUT / 2)); ((reserve >= 180)) || reserve=180
hard=$((T0 + BENCH_TIMEOUT - reserve - SETTLE - 90))
((pod_deadline < hard)) || pod_deadline=$hard
running=0
POD_BATCHES_SKIPPED=0
for f in "$WORK"/pods/*.yaml; do
  while ((running >= CREATE_PARALLEL)); do wait -n || true; running=$((running - 1)); done
  if (($(date +%s) >= pod_deadline)); then POD_BATCHES_SKIPPED=$((POD_BATCHES_SKIPPED + 1)); continue; fi
  "${K[@]}" create -f "$f" >/dev/null 2>>"$WORK/pod-create-errors.txt" &
  running=$((running + 1))
done
while ((running > 0)); do wait -n || true; running=$((running - 1)); done
PODS_SECONDS=$(($(date +%s) - T_PODS))
PODS_CREATED=$("${API[@]}" "$APISERVER_URL/api/v1/pods?limit=100000" -H 'Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' |
  jq '[(.items // [])[] | select(.metadata.namespace | startswith("bench-"))] | length')
say "created $PODS_CREATED pods in ${PODS_SECONDS}s ($POD_BATCHES_SKIPPED batches skipped at the time limit)"
[[ -s $WORK/pod-create-errors.txt ]] && head -5 "$WORK/pod-create-errors.txt" >"$RAW/pod-create-errors.txt"
[[ $PODS_CREATED -gt 0 ]] || { head -5 "$WORK/pod-create-errors.txt" >&2; die "no pod could be created"; }

# ---------------------------------------------------------------- phase 3: loaded operator
phase loaded
policy_progress() { # sets RECONCILED READY_POLICIES MATCHED INJECTED (kept on a failed read)
  local line
  line=$(fetch_progress 2>/dev/null) || return 0
  [[ $line =~ ^[0-9]+[[:space:]][0-9]+[[:space:]][0-9]+[[:space:]][0-9]+$ ]] || return 0
  read -r RECONCILED READY_POLICIES MATCHED INJECTED <<<"$line"
}
RECONCILED=0 READY_POLICIES=0 MATCHED=0 INJECTED=0
fetch_progress() {
  "${API[@]}" "$APISERVER_URL/apis/tokengate.io/v1alpha1/apipolicies" | jq -r '
    [.items[] | select(.status.observedGeneration != null and .status.observedGeneration == .metadata.generation)] as $r
    | [($r | length),
       ([$r[] | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length),
       ([$r[].status.matchedPods // 0] | add // 0),
       ([$r[].status.injectedPods // 0] | add // 0)] | @tsv'
}
say "loaded: the operator with $POLICIES_CREATED policies and $PODS_CREATED pods"
start_operator loaded
start_gc_sampler loaded
deadline=$(($(date +%s) + RECONCILE_TIMEOUT))
((deadline < T0 + BENCH_TIMEOUT - SETTLE - 60)) || deadline=$((T0 + BENCH_TIMEOUT - SETTLE - 60))
LOADED_READY=""
next_log=0
while :; do
  operator_alive
  if [[ -z $LOADED_READY ]] && curl -sf --max-time 3 "http://127.0.0.1:$HTTP_PORT/q/health/ready" >/dev/null 2>&1; then
    LOADED_READY=$(awk -v a="$OPERATOR_START" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
    say "loaded: ready after ${LOADED_READY}s"
  fi
  policy_progress
  now=$(date +%s)
  if ((RECONCILED >= POLICIES_CREATED)); then
    RECONCILE_SECONDS=$(awk -v a="$OPERATOR_START" -v b="$(date +%s%N)" 'BEGIN{printf "%.0f", (b-a)/1e9}')
    say "loaded: all $RECONCILED policies reconciled after ${RECONCILE_SECONDS}s (from JVM start)"
    break
  fi
  if ((now >= deadline)); then
    RECONCILE_SECONDS=""
    say "loaded: time limit reached with $RECONCILED of $POLICIES_CREATED policies reconciled"
    break
  fi
  if ((now >= next_log)); then say "loaded: $RECONCILED/$POLICIES_CREATED reconciled"; next_log=$((now + 30)); fi
  sleep 3
done
say "loaded: settling ${SETTLE}s"
sleep "$SETTLE"
policy_progress
CONFIGMAPS=$("${API[@]}" "$APISERVER_URL/api/v1/configmaps?limit=100000" -H 'Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' |
  jq '[(.items // [])[] | select(.metadata.name | startswith("tokengate-"))] | length')
"${API[@]}" "$APISERVER_URL/apis/tokengate.io/v1alpha1/apipolicies" |
  jq -r '[.items[] | (.status.conditions // [])[] | select(.type == "Ready") | "\(.status)/\(.reason)"] | group_by(.) | map("\(.[0]) \(length)") | .[]' \
    >"$RAW/loaded-ready-reasons.txt" || true
measure loaded
LOADED_PEAK_KB=$(peak_heap_kb loaded)
FULL_GCS=$(jstat_col "$WORK/loaded-jstat-samples.txt" FGC)
grep -E ' (WARN|ERROR) ' "$OPERATOR_LOG" | head -20 >"$RAW/loaded-operator-warnings.txt" || true
WARN_SUMMARY=$(grep -E ' (WARN|ERROR) ' "$OPERATOR_LOG" | warn_summary || true)
curl -sf --max-time 10 "http://127.0.0.1:$HTTP_PORT/q/metrics" 2>/dev/null |
  grep -E '^operator_sdk_(reconciliations|events)' >"$RAW/loaded-reconcile-metrics.txt" || true
WARN_COUNT=$(grep -c -E ' (WARN|ERROR) ' "$OPERATOR_LOG" || true)
stop_operator
stop_samplers
phase end

# ---------------------------------------------------------------- report
ph() { local name=$1 i; for i in "${PHASES[@]}"; do [[ ${i%% *} == "$name" ]] && { echo "${i##* }"; return; }; done; }
LOAD_BASE=$(load_between "$(ph baseline)" "$(ph objects)")
LOAD_CREATE=$(load_between "$(ph objects)" "$(ph loaded)")
LOAD_LOADED=$(load_between "$(ph loaded)" "$(ph end)")
CPU_MODEL=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
MEM_TOTAL=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
TOTAL_SECONDS=$(elapsed)
NPROC=$(nproc)
KERNEL=$(uname -sr)
declare -p "${REPORT_VARS[@]}" >"$RAW/report-vars.sh" || true
render_report
say "wrote $REPORT ($VERDICT: $(mib "$M_loaded_HEAP_KB") MiB heap after GC with $POLICIES_CREATED policies and $PODS_CREATED pods)"
