package io.tokengate.operator.health;

import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/**
 * {@code /q/metrics} in the format the scraper prefers. Quarkus' own handler answers Prometheus
 * text whenever the {@code Accept} header mentions {@code text/plain} at all, and Prometheus lists
 * it (at a lower weight) beside OpenMetrics; this route answers first and serves OpenMetrics
 * whenever it is acceptable, as the sidecar does.
 */
@ApplicationScoped
public class MetricsEndpoint {
  static final String PATH = "/q/metrics";
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  static final String OPENMETRICS_TEXT =
      "application/openmetrics-text; version=1.0.0; charset=utf-8";

  @Inject PrometheusMeterRegistry registry;

  void route(@Observes Router router) {
    // Ahead of Quarkus' handler for the same path.
    router.get(PATH).order(-100).blockingHandler(this::scrape, false);
  }

  void scrape(RoutingContext context) {
    String type = contentType(context.request().getHeader("Accept"));
    context.response().putHeader("Content-Type", type).end(registry.scrape(type));
  }

  static String contentType(String accept) {
    return accept != null && accept.contains("application/openmetrics-text")
        ? OPENMETRICS_TEXT
        : PROMETHEUS_TEXT;
  }
}
