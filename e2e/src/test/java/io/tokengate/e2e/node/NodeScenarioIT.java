package io.tokengate.e2e.node;

import io.tokengate.e2e.scenario.ScenarioCluster;
import io.tokengate.e2e.scenario.UserPathScenario;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The user path ({@link UserPathScenario}) on the real node ({@code start.sh --node}): containerd,
 * runc, the kubelet, kube-proxy and kube-router on this machine, Keycloak on the node's bridge
 * address. It runs on the {@link SharedNode} (after {@code InterceptionModesIT}, which leaves the
 * cluster as it found it) and is its last user.
 */
@ExtendWith(SharedNode.ClosedAtTheEnd.class)
class NodeScenarioIT extends UserPathScenario {
  @Override
  protected NodeCluster startCluster() {
    return SharedNode.acquire();
  }

  @Override
  protected void closeCluster(ScenarioCluster cluster) {
    SharedNode.close();
  }
}
