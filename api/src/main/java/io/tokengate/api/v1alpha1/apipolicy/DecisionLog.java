package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/**
 * Which decisions the sidecar writes to its log. Refusals are always written; allowed requests,
 * most of the traffic of a healthy API, are sampled unless a policy or the installation says
 * otherwise.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DecisionLog {
  /** What happens to the log lines of allowed requests. */
  public enum Allowed {
    /**
     * Allowed requests are counted in the metrics but not logged. (Not "Off": YAML 1.1 readers,
     * kubectl's among them, turn an unquoted Off into the boolean false.)
     */
    None,
    /** At most {@code sampledPerSecond} allowed requests a second are logged. */
    Sampled,
    /** Every allowed request is logged. */
    All
  }

  /** Allowed lines a second when sampling and the policy does not say. */
  public static final int DEFAULT_SAMPLED_PER_SECOND = 1;

  @JsonPropertyDescription(
      "Log lines for allowed requests: None, Sampled (at most sampledPerSecond a second) or All."
          + " Refusals (deny, audit_deny) are always logged, and every decision is counted in"
          + " tokengate_requests_total whatever this says. Unset: the installation's default"
          + " (the chart's sidecar.decisionLog.allowed, Sampled unless changed).")
  public Allowed allowed;

  @Min(1)
  @Max(10000)
  @JsonPropertyDescription(
      "With allowed: Sampled, how many allowed requests a second are logged at most (per pod;"
          + " default 1).")
  public Integer sampledPerSecond;
}
