package io.tokengate.operator.injection;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which ApiPolicy applies to a pod: the policies whose selector matches the pod's labels, the
 * oldest first (creationTimestamp, then name), so every replica and the reconciler's Conflict
 * condition agree on the winner. Policies being deleted select nothing new.
 */
public final class PolicySelection {
  /** Oldest first; a policy without a timestamp (not yet persisted) sorts last. */
  public static final Comparator<ApiPolicy> PRECEDENCE =
      Comparator.comparing(PolicySelection::createdAt)
          .thenComparing(p -> p.getMetadata().getName());

  private PolicySelection() {}

  /** The policies selecting {@code labels}, the one that applies first; empty when none does. */
  public static List<ApiPolicy> matching(List<ApiPolicy> policies, Map<String, String> labels) {
    return policies.stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .filter(p -> p.getSpec() != null && selects(p.getSpec().selector, labels))
        .sorted(PRECEDENCE)
        .toList();
  }

  /** The policies selecting {@code labels} that are being deleted. */
  public static List<ApiPolicy> deleting(List<ApiPolicy> policies, Map<String, String> labels) {
    return policies.stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() != null)
        .filter(p -> p.getSpec() != null && selects(p.getSpec().selector, labels))
        .sorted(PRECEDENCE)
        .toList();
  }

  /**
   * Kubernetes label selector semantics, except that an empty or missing selector selects
   * nothing: the CRD refuses one, and a policy must never grab every pod of a namespace by
   * accident. An unknown operator selects nothing.
   */
  public static boolean selects(LabelSelector selector, Map<String, String> labels) {
    if (selector == null) {
      return false;
    }
    Map<String, String> matchLabels = Optional.ofNullable(selector.getMatchLabels()).orElse(Map.of());
    List<LabelSelectorRequirement> expressions =
        Optional.ofNullable(selector.getMatchExpressions()).orElse(List.of());
    if (matchLabels.isEmpty() && expressions.isEmpty()) {
      return false;
    }
    Map<String, String> podLabels = labels == null ? Map.of() : labels;
    for (Map.Entry<String, String> required : matchLabels.entrySet()) {
      if (!required.getValue().equals(podLabels.get(required.getKey()))) {
        return false;
      }
    }
    return expressions.stream().allMatch(e -> satisfies(e, podLabels));
  }

  private static boolean satisfies(LabelSelectorRequirement requirement, Map<String, String> labels) {
    String value = labels.get(requirement.getKey());
    List<String> values = Optional.ofNullable(requirement.getValues()).orElse(List.of());
    return switch (String.valueOf(requirement.getOperator())) {
      case "In" -> value != null && values.contains(value);
      case "NotIn" -> value == null || !values.contains(value);
      case "Exists" -> value != null;
      case "DoesNotExist" -> value == null;
      default -> false;
    };
  }

  private static Instant createdAt(ApiPolicy policy) {
    String timestamp = policy.getMetadata().getCreationTimestamp();
    if (timestamp == null) {
      return Instant.MAX;
    }
    try {
      return Instant.parse(timestamp);
    } catch (DateTimeParseException e) {
      return Instant.MAX;
    }
  }
}
