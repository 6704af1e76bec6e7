package io.tokengate.e2e.scenario;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.support.Cli;

/**
 * Where {@link UserPathScenario} runs: a cluster whose node runs pods from the images of {@code
 * e2e/images/build.sh} (operator, sidecar, test app, client), and a Keycloak its pods reach under
 * the same issuer URL as the test. The real node ({@code start.sh --node}) and K3s implement it.
 */
public interface ScenarioCluster extends AutoCloseable {
  /** A short name for log lines: {@code node}, {@code k3s}. */
  String name();

  /** Cluster-admin client. */
  KubernetesClient client();

  /** kubectl as cluster admin. */
  Cli kubectl();

  /** helm as cluster admin. */
  Cli helm();

  /** Keycloak with the tokengate realm, started (maybe still booting); pods reach its issuer. */
  Keycloak keycloak();

  /**
   * The HTTP status a GET of {@code url} (a pod IP URL) gets from outside any pod's network
   * namespace, with {@code bearer} as token if not null; polled to time a change without pod
   * creation in the measured interval where the cluster allows it.
   */
  int statusFromNode(String url, String bearer);

  /** Stops everything it started. */
  @Override
  void close();
}
