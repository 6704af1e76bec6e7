package io.tokengate.sidecar.admin;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The sidecar's own meters, in the one Prometheus registry the validator also reports into:
 *
 * <ul>
 *   <li>{@code tokengate_requests_total{policy,decision,reason}}: every decision; decision is
 *       {@code allow}, {@code deny} or {@code audit_deny}
 *   <li>{@code tokengate_upstream_seconds{policy}}: histogram of the time until the application's
 *       response headers arrive
 *   <li>{@code tokengate_upstream_failures_total{policy,failure}}: allowed requests the application
 *       did not answer: {@code unavailable} (502) or {@code timeout} (504)
 *   <li>{@code tokengate_upstream_in_flight}: requests forwarded and awaiting the application's
 *       response head
 *   <li>{@code tokengate_config_reloads_total{result}}: {@code success} or {@code error}
 * </ul>
 *
 * Meters are looked up in nested maps keyed by the label values, so the request path allocates
 * nothing once a combination has been seen.
 */
public final class GateMetrics {
  public static final String ALLOW = "allow";
  public static final String DENY = "deny";
  public static final String AUDIT_DENY = "audit_deny";

  private final PrometheusMeterRegistry registry;
  private final ConcurrentHashMap<
          String, ConcurrentHashMap<String, ConcurrentHashMap<String, Counter>>>
      requests = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> upstream = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> upstreamFailures = new ConcurrentHashMap<>();
  private final Counter reloadOk;
  private final Counter reloadError;

  public GateMetrics() {
    this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  public GateMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    this.reloadOk =
        Counter.builder("tokengate.config.reloads")
            .description("Configuration reloads by result")
            .tag("result", "success")
            .register(registry);
    this.reloadError =
        Counter.builder("tokengate.config.reloads")
            .description("Configuration reloads by result")
            .tag("result", "error")
            .register(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public void decision(String policy, String decision, String reason) {
    requests
        .computeIfAbsent(policy, p -> new ConcurrentHashMap<>())
        .computeIfAbsent(decision, d -> new ConcurrentHashMap<>())
        .computeIfAbsent(
            reason,
            r ->
                Counter.builder("tokengate.requests")
                    .description("Requests by policy decision and reason")
                    .tag("policy", policy)
                    .tag("decision", decision)
                    .tag("reason", r)
                    .register(registry))
        .increment();
  }

  public void upstream(String policy, long nanos) {
    upstream
        .computeIfAbsent(
            policy,
            p ->
                Timer.builder("tokengate.upstream")
                    .description("Time until the application's response headers arrive")
                    .tag("policy", p)
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofSeconds(60))
                    .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  public void upstreamFailure(String policy, String failure) {
    upstreamFailures
        .computeIfAbsent(
            policy + "\u0000" + failure,
            k ->
                Counter.builder("tokengate.upstream.failures")
                    .description("Allowed requests the application did not answer")
                    .tag("policy", policy)
                    .tag("failure", failure)
                    .register(registry))
        .increment();
  }

  /** Registers the in-flight gauge, read from {@code inFlight} at each scrape. */
  public void inFlight(java.util.function.IntSupplier inFlight) {
    io.micrometer.core.instrument.Gauge.builder(
            "tokengate.upstream.in_flight", () -> inFlight.getAsInt())
        .description("Requests forwarded and awaiting the application's response head")
        .register(registry);
  }

  public void reload(boolean success) {
    (success ? reloadOk : reloadError).increment();
  }

  /** Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }
}
