package io.tokengate.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
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

/**
 * The reconcilers of tokengate on one java-operator-sdk {@link Operator}: TokenIssuer,
 * ClusterTokenIssuer and ApiPolicy. Plain Java, so the Quarkus application and the tests start the
 * very same thing.
 */
public final class TokengateOperator {
  private final Operator operator;
  private final KubernetesClient podMetadataClient;

  public TokengateOperator(
      KubernetesClient client, OperatorSettings settings, Optional<MeterRegistry> meters) {
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
                            .orElse(settings.operatorNamespace())));
              }
            });
    var events = new ResourceEvents(client, settings.operatorNamespace(), clock);
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
        new ApiPolicyReconciler(podMetadataClient, snapshots, events, clock),
        o -> namespaces.ifPresent(o::settingNamespaces));
  }

  public void start() {
    operator.start();
  }

  public void stop() {
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
