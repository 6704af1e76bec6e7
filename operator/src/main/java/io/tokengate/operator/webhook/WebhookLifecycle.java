package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.tokengate.operator.config.OperatorSettings;
import io.vertx.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Runs the sidecar injection webhook on every replica (it is not leader-elected: every replica
 * answers the API server) on the Vert.x instance Quarkus manages, and reports its readiness on
 * {@code /q/health/ready} so the webhook Service only routes to replicas that can decide.
 */
@ApplicationScoped
public class WebhookLifecycle {
  @Inject Vertx vertx;
  @Inject KubernetesClient client;
  @Inject OperatorSettings settings;
  @Inject MeterRegistry meters;

  private volatile SidecarInjectionWebhook webhook;

  void onStart(@Observes StartupEvent event) {
    webhook =
        new SidecarInjectionWebhook(
            vertx, client, WebhookOptions.from(settings), new AdmissionMetrics(meters));
    webhook.start();
  }

  void onStop(@Observes ShutdownEvent event) {
    SidecarInjectionWebhook running = webhook;
    if (running == null) {
      return;
    }
    try {
      running.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // shutting down anyway: the API server retries on another replica
    }
  }

  public Optional<SidecarInjectionWebhook> webhook() {
    return Optional.ofNullable(webhook);
  }

  @Readiness
  HealthCheck webhookReady() {
    return () -> {
      var builder = HealthCheckResponse.named("sidecar-injection-webhook");
      SidecarInjectionWebhook running = webhook;
      if (running == null) {
        return builder.down().build();
      }
      running.state().forEach((k, v) -> builder.withData(k, String.valueOf(v)));
      return builder.status(running.ready()).build();
    };
  }
}
