package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code tokengate_webhook_admission_seconds{outcome}}: how long each admission took in the
 * operator (decode, decide, patch, encode) and what it answered: {@code injected}, {@code
 * unchanged}, {@code refused}, or {@code malformed} (HTTP 400, no AdmissionReview to answer); and
 * {@code tokengate_webhook_policy_reads_total}: decisions that read the API server's current
 * ApiPolicies because the in-memory index alone would have admitted the pod without the sidecar.
 */
public final class AdmissionMetrics {
  static final String INJECTED = "injected";
  static final String UNCHANGED = "unchanged";
  static final String REFUSED = "refused";
  static final String MALFORMED = "malformed";

  private final Map<String, Timer> timers;
  private final Counter currentPoliciesReads;

  public AdmissionMetrics(MeterRegistry registry) {
    this.timers =
        Map.of(
            INJECTED, timer(registry, INJECTED),
            UNCHANGED, timer(registry, UNCHANGED),
            REFUSED, timer(registry, REFUSED),
            MALFORMED, timer(registry, MALFORMED));
    this.currentPoliciesReads =
        Counter.builder("tokengate.webhook.policy.reads")
            .description(
                "Admissions decided from the API server's current ApiPolicies because the"
                    + " in-memory index would have admitted the pod without the sidecar")
            .register(registry);
  }

  void currentPoliciesRead() {
    currentPoliciesReads.increment();
  }

  long currentPoliciesReads() {
    return (long) currentPoliciesReads.count();
  }

  /** Metrics kept in memory only (tests, benchmarks). */
  public static AdmissionMetrics inMemory() {
    return new AdmissionMetrics(new SimpleMeterRegistry());
  }

  void record(AdmissionResponse response, long nanos) {
    String outcome =
        !Boolean.TRUE.equals(response.getAllowed())
            ? REFUSED
            : response.getPatch() != null ? INJECTED : UNCHANGED;
    record(outcome, nanos);
  }

  void record(String outcome, long nanos) {
    timers.get(outcome).record(nanos, TimeUnit.NANOSECONDS);
  }

  long count(String outcome) {
    return timers.get(outcome).count();
  }

  private static Timer timer(MeterRegistry registry, String outcome) {
    return Timer.builder("tokengate.webhook.admission")
        .description("Admission requests answered by the sidecar injection webhook")
        .tag("outcome", outcome)
        .publishPercentileHistogram()
        .register(registry);
  }
}
