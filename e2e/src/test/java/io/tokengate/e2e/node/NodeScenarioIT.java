package io.tokengate.e2e.node;

import io.tokengate.e2e.scenario.UserPathScenario;

/**
 * The user path ({@link UserPathScenario}) on the real node ({@code start.sh --node}): containerd,
 * runc, the kubelet, kube-proxy and kube-router on this machine, Keycloak on the node's bridge
 * address.
 */
class NodeScenarioIT extends UserPathScenario {
  @Override
  protected NodeCluster startCluster() {
    return NodeCluster.start();
  }
}
