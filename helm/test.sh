#!/usr/bin/env bash
# Runs the Helm chart's tests (e2e/src/test/java/io/tokengate/e2e/chart/ChartIT.java): helm lint
# --strict and helm template golden files for every helm/tokengate/tests/values/*.yaml, values
# schema refusals, RBAC without wildcards, restricted operator pods, chart CRDs == crds/.
# They also run as part of `./mvnw -B verify`.
#
# Usage: helm/test.sh            run the tests
#        helm/test.sh --update   rewrite helm/tokengate/tests/golden/ (review the diff!)
# Needs helm from e2e/controlplane/build.sh (or TOKENGATE_HELM=/path/to/helm).
set -euo pipefail
cd "$(dirname "$0")/.."
update=false
case "${1:-}" in
--update) update=true ;;
"") ;;
*)
  echo "usage: $0 [--update]" >&2
  exit 2
  ;;
esac
# helm comes from the control-plane cache (a no-op once built).
e2e/controlplane/build.sh >/dev/null
# Only the chart test, through surefire's test filter: no other module's tests, no control
# plane, no Keycloak.
exec ./mvnw -B -q -pl e2e -am test -Dtest=ChartIT -Dsurefire.failIfNoSpecifiedTests=false \
  -Dtokengate.golden.update="$update"
