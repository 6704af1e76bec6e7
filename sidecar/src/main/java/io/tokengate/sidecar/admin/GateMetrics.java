package io.tokengate.sidecar.admin;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tokengate.api.BuildInfo;
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
 *   <li>{@code tokengate_config_info{config_hash}}: always 1; the hash of the configuration in
 *       force, computed as the operator's {@code status.configHash}
 *   <li>{@code tokengate_build_info{version,java_version}}: always 1
 *   <li>the JVM's and the process's: {@code jvm_memory_*}, {@code jvm_gc_*}, {@code jvm_threads_*},
 *       {@code jvm_classes_*}, {@code process_cpu_*}, {@code process_files_*}, {@code
 *       process_uptime_seconds}, {@code system_cpu_*}
 * </ul>
 *
 * Meters are looked up in nested maps keyed by the label values, so the request path allocates
 * nothing once a combination has been seen.
 */
public final class GateMetrics {
  public static final String ALLOW = "allow";
  public static final String DENY = "deny";
  public static final String AUDIT_DENY = "audit_deny";

  /** The exposition formats Prometheus' client writes (and negotiates by these exact types). */
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  static final String OPENMETRICS_TEXT =
      "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private final PrometheusMeterRegistry registry;
  private final ConcurrentHashMap<
          String, ConcurrentHashMap<String, ConcurrentHashMap<String, Counter>>>
      requests = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> upstream = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Counter> upstreamFailures = new ConcurrentHashMap<>();
  private final Counter reloadOk;
  private final Counter reloadError;
  private Gauge configInfo;

  public GateMetrics() {
    this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  public GateMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    BuildInfo build = BuildInfo.current();
    Gauge.builder("tokengate.build.info", () -> 1)
        .description("The running tokengate sidecar's version and Java runtime; always 1")
        .tag("version", build.version())
        .tag("java_version", build.javaVersion())
        .register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
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

  /** The configuration now in force: replaces the previous {@code tokengate_config_info}. */
  public synchronized void configHash(String hash) {
    if (configInfo != null) {
      if (hash.equals(configInfo.getId().getTag("config_hash"))) {
        return;
      }
      registry.remove(configInfo);
    }
    configInfo =
        Gauge.builder("tokengate.config.info", () -> 1)
            .description(
                "The configuration in force: config_hash is computed as the ApiPolicy's"
                    + " status.configHash; always 1")
            .tag("config_hash", hash)
            .register(registry);
  }

  public void reload(boolean success) {
    (success ? reloadOk : reloadError).increment();
  }

  /** A scrape in the format the scraper asked for. */
  public record Scrape(String contentType, String body) {}

  /**
   * Every meter, as OpenMetrics text when the {@code Accept} header asks for {@code
   * application/openmetrics-text} (as Prometheus does), else as Prometheus text 0.0.4.
   */
  public Scrape scrape(String accept) {
    String type =
        accept != null && accept.contains("application/openmetrics-text")
            ? OPENMETRICS_TEXT
            : PROMETHEUS_TEXT;
    return new Scrape(type, registry.scrape(type));
  }

  /** Prometheus text exposition of every meter. */
  public String scrape() {
    return registry.scrape();
  }
}
