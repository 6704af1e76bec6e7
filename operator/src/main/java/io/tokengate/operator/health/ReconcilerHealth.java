package io.tokengate.operator.health;

import io.tokengate.operator.OperatorLifecycle;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;

/**
 * {@code /q/health/ready}: the reconcilers are started and their informers are healthy (on a
 * replica that is not the leader, started is enough: it serves the webhook). {@code /q/health/live}
 * is Quarkus' own.
 */
@ApplicationScoped
public class ReconcilerHealth {
  @Inject OperatorLifecycle lifecycle;

  @Readiness
  HealthCheck reconcilersReady() {
    return () -> {
      var builder = HealthCheckResponse.named("reconcilers");
      var operator = lifecycle.operator();
      if (operator.isEmpty() || !operator.get().runtimeInfo().isStarted()) {
        return builder.down().withData("started", false).build();
      }
      var unhealthy =
          operator.get().runtimeInfo().unhealthyEventSources().entrySet().stream()
              .filter(e -> !e.getValue().isEmpty())
              .collect(
                  java.util.stream.Collectors.toMap(
                      java.util.Map.Entry::getKey, e -> e.getValue().keySet()));
      return builder
          .status(unhealthy.isEmpty())
          .withData("started", true)
          .withData("unhealthyEventSources", unhealthy.toString())
          .build();
    };
  }

  @Liveness
  HealthCheck alive() {
    return () -> HealthCheckResponse.up("operator");
  }
}
