package io.tokengate.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.tokengate.api.BuildInfo;
import io.tokengate.operator.config.OperatorSettings;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the reconcilers when Quarkus has started (with the Quarkus-configured {@link
 * KubernetesClient}: in-cluster service account or the current kubeconfig context) and stops them
 * gracefully on shutdown, letting running reconciliations finish.
 */
@ApplicationScoped
public class OperatorLifecycle {
  private static final Logger LOG = LoggerFactory.getLogger(OperatorLifecycle.class);

  @Inject KubernetesClient client;
  @Inject OperatorSettings settings;
  @Inject MeterRegistry meters;

  private volatile TokengateOperator operator;

  void onStart(@Observes StartupEvent event) {
    BuildInfo build = BuildInfo.current();
    Gauge.builder("tokengate.build.info", () -> 1)
        .description("The running tokengate operator's version and Java runtime; always 1")
        .tag("version", build.version())
        .tag("java_version", build.javaVersion())
        .register(meters);
    LOG.info(
        "{} starting against {} (namespaces: {}, leader election: {})",
        build.describe("tokengate-operator"),
        client.getConfiguration().getMasterUrl(),
        settings.watchedNamespaces().map(Object::toString).orElse("all"),
        settings.leaderElection().enabled());
    operator =
        new TokengateOperator(
            client, settings, Optional.of(meters), () -> io.quarkus.runtime.Quarkus.asyncExit(1));
    operator.start();
  }

  void onStop(@Observes ShutdownEvent event) {
    TokengateOperator running = operator;
    if (running != null) {
      LOG.info("tokengate operator stopping");
      running.stop();
    }
  }

  /** The running operator, once started. */
  public Optional<TokengateOperator> operator() {
    return Optional.ofNullable(operator);
  }
}
