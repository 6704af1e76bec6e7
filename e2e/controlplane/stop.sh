#!/usr/bin/env bash
# Stops the control plane that start.sh started in DIR and checks that none of its processes remain.
# Usage: stop.sh DIR [--purge]     --purge also deletes DIR afterwards.
# Exit code 0 when nothing of it runs any more (also when it was not running).
set -uo pipefail

[[ $# -ge 1 ]] || { echo "usage: stop.sh DIR [--purge]" >&2; exit 1; }
[[ -d $1 ]] || { echo "[controlplane-stop] $1 does not exist: nothing to stop" >&2; exit 0; }
DIR=$(cd "$1" && pwd -P)
PURGE=0
[[ ${2:-} == --purge ]] && PURGE=1
log() { echo "[controlplane-stop] $*" >&2; }

# ours PID : the pid is alive and is one of our processes for this DIR (guards against pid reuse)
ours() {
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$DIR"
}

# stop_pids TIMEOUT_SECONDS NAME... : SIGTERM, wait, then SIGKILL
stop_group() {
  local timeout=$1
  shift
  local name pid pids=()
  for name in "$@"; do
    [[ -f $DIR/pids/$name.pid ]] || continue
    pid=$(cat "$DIR/pids/$name.pid")
    if [[ $pid != "$$" ]] && ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && log "stopping $name (pid $pid)"
    fi
  done
  local deadline=$((SECONDS + timeout)) left
  while :; do
    left=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    [[ ${#left[@]} -eq 0 ]] && break
    if [[ $SECONDS -ge $deadline ]]; then
      log "still running after ${timeout}s, killing: ${left[*]}"
      kill -KILL "${left[@]}" 2>/dev/null
      sleep 0.2
      break
    fi
    sleep 0.1
  done
  for name in "$@"; do rm -f "$DIR/pids/$name.pid"; done
}

# The watchdog first (unless it is the one running us), then the node (node.sh: pods,
# containerd, kubelet, ...; it also removes its bridge, rules, mounts and cgroups and restores
# sysctls), then the API server and its client together, etcd last (an API server that loses
# etcd first waits for request timeouts).
stop_group 2 watchdog
if [[ -d $DIR/node ]]; then
  "$(dirname "${BASH_SOURCE[0]}")/node.sh" stop "$DIR" || log "ERROR: node.sh stop failed"
fi
stop_group 15 kube-controller-manager kube-apiserver
stop_group 10 etcd

# Anything else still referring to DIR (e.g. pid files lost): our binaries only, by pid.
leftover=()
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  [[ $pid == "$$" || $pid == "$PPID" ]] && continue
  cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
  [[ $cmd == *"$DIR"* ]] || continue
  argv0=${cmd%% *}
  case "${argv0##*/}" in
  etcd* | kube-apiserver* | kube-controller-manager* | kube-scheduler* | kubelet* | kube-proxy* | kube-router* | containerd*) leftover+=("$pid") ;;
  *) [[ $cmd == *tokengate-controlplane-watchdog* ]] && leftover+=("$pid") ;;
  esac
done
if [[ ${#leftover[@]} -gt 0 ]]; then
  log "killing leftover processes of $DIR: ${leftover[*]}"
  kill -KILL "${leftover[@]}" 2>/dev/null
  sleep 0.3
  for pid in "${leftover[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "ERROR: process $pid is still running"
      exit 1
    fi
  done
fi

if [[ $PURGE == 1 ]]; then
  rm -rf "$DIR"
  log "stopped; removed $DIR"
else
  log "stopped; logs and data kept in $DIR"
fi
