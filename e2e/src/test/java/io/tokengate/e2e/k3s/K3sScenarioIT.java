package io.tokengate.e2e.k3s;

import io.tokengate.e2e.scenario.UserPathScenario;

/**
 * The user path ({@link UserPathScenario}) in a full K3s cluster (Testcontainers). Where no Docker
 * engine exists the whole class is skipped with a message saying so: it is the only e2e suite
 * allowed to skip; the real node ({@code NodeScenarioIT}) runs the same steps everywhere else.
 */
class K3sScenarioIT extends UserPathScenario {
  @Override
  protected K3sCluster startCluster() throws Exception {
    return K3sCluster.start();
  }
}
