#!/usr/bin/env bash
# Copies the generated CRDs (top-level crds/, generated from the Java model in api/) into the
# chart's crds/ directory. Helm installs a chart's crds/ before its templates and never
# upgrades or deletes them (see helm/tokengate/README.md).
#
# Usage: helm/sync-crds.sh           copy crds/*.yaml|*.yml into helm/tokengate/crds/
#        helm/sync-crds.sh --check   change nothing; exit 1 and name the files that differ
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/crds"
dst="$root/helm/tokengate/crds"

case "${1:-}" in
--check)
  stale=0
  for f in "$src"/*.yaml "$src"/*.yml "$dst"/*.yaml "$dst"/*.yml; do
    [[ -e $f ]] || continue
    name=$(basename "$f")
    if ! cmp -s "$src/$name" "$dst/$name"; then
      echo "differs: crds/$name vs helm/tokengate/crds/$name" >&2
      stale=1
    fi
  done
  if [[ $stale -ne 0 ]]; then
    echo "helm/tokengate/crds is stale; fix: helm/sync-crds.sh" >&2
    exit 1
  fi
  echo "helm/tokengate/crds is identical to crds/"
  exit 0
  ;;
"") ;;
*)
  echo "usage: $0 [--check]" >&2
  exit 2
  ;;
esac

mkdir -p "$dst"
find "$dst" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) -delete
shopt -s nullglob
files=("$src"/*.yaml "$src"/*.yml)
for f in "${files[@]}"; do cp "$f" "$dst/"; done
echo "copied ${#files[@]} CRD file(s) from crds/ to helm/tokengate/crds/"
