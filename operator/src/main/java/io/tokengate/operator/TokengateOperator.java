package io.tokengate.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.RuntimeInfo;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.tokengate.operator.config.OperatorSettings;
import io.tokengate.operator.issuer.ClusterTokenIssuerReconciler;
import io.tokengate.operator.issuer.IdentityProviderClient;
import io.tokengate.operator.issuer.IssuerServices;
import io.tokengate.operator.issuer.IssuerSnapshots;
import io.tokengate.operator.issuer.TokenIssuerReconciler;
import io.tokengate.operator.policy.ApiPolicyReconciler;
import io.tokengate.operator.policy.PodMetadataClient;
import io.tokengate.operator.status.ResourceEvents;
import java.time.Clock;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reconcilers of tokengate on one java-operator-sdk {@link Operator}: TokenIssuer,
 * ClusterTokenIssuer and ApiPolicy. Plain Java, so the Quarkus application and the tests start the
 * very same thing.
 */
public final class TokengateOperator {
  private final Operator operator;
  private static final Logger LOG = LoggerFactory.getLogger(TokengateOperator.class);
  private final KubernetesClient podMetadataClient;
  private volatile boolean stopping;

  /**
   * @param onLeadershipLost called when this replica stops being the leader without being stopped
   *     (its reconcilers must not go on); the Quarkus application exits so Kubernetes restarts it
   */
  public TokengateOperator(
      KubernetesClient client,
      OperatorSettings settings,
      Optional<MeterRegistry> meters,
      Runnable onLeadershipLost) {
    Clock clock = Clock.systemUTC();
    this.podMetadataClient = PodMetadataClient.from(client);
    this.operator =
        new Operator(
            o -> {
              o.withKubernetesClient(client).withCloseClientOnStop(false);
              meters.ifPresent(m -> o.withMetrics(MicrometerMetrics.withoutPerResourceMetrics(m)));
              if (settings.leaderElection().enabled()) {
                o.withLeaderElectionConfiguration(
                    new LeaderElectionConfiguration(
                        settings.leaderElection().leaseName(),
                        settings
                            .leaderElection()
                            .leaseNamespace()
                            .orElse(settings.operatorNamespace()),
                        LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE,
                        null,
                        new LeaderCallbacks(
                            () -> LOG.info("leading: reconcilers run on this replica"),
                            () -> {
                              if (!stopping) {
                                LOG.error("lost the leader Lease: reconcilers must stop");
                                onLeadershipLost.run();
                              }
                            },
                            leader -> LOG.info("leader is {}", leader)),
                        // JOSDK would System.exit(1), even on a graceful stop.
                        false));
              }
            });
    var events = new ResourceEvents(client, clock);
    var snapshots = new IssuerSnapshots();
    var services =
        new IssuerServices(
            client,
            new IdentityProviderClient(settings.issuers().fetchTimeout()),
            snapshots,
            events,
            settings.issuers().maxRetryInterval(),
            clock);
    var namespaces = settings.watchedNamespaces();
    operator.register(
        new TokenIssuerReconciler(services), o -> namespaces.ifPresent(o::settingNamespaces));
    operator.register(
        new ClusterTokenIssuerReconciler(services, settings.operatorNamespace()), o -> {});
    operator.register(
        new ApiPolicyReconciler(
            podMetadataClient,
            snapshots,
            events,
            clock,
            settings.sidecar().listenPort(),
            settings.sidecar().adminPort()),
        o -> namespaces.ifPresent(o::settingNamespaces));
  }

  public void start() {
    operator.start();
  }

  public void stop() {
    stopping = true;
    try {
      operator.stop();
    } finally {
      podMetadataClient.close();
    }
  }

  public RuntimeInfo runtimeInfo() {
    return operator.getRuntimeInfo();
  }
}
