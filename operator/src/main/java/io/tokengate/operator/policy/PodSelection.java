package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;

/** Label selector semantics (matchLabels and matchExpressions), as the API server applies them. */
public final class PodSelection {
  private PodSelection() {}

  /**
   * An empty selector ({@code {}}) matches every pod, as in Kubernetes (a namespace's default
   * policy); a missing one matches nothing.
   */
  public static boolean matches(LabelSelector selector, Map<String, String> labels) {
    if (selector == null) {
      return false;
    }
    Map<String, String> actual = labels == null ? Map.of() : labels;
    Map<String, String> required = selector.getMatchLabels();
    List<LabelSelectorRequirement> expressions = selector.getMatchExpressions();
    if (required != null) {
      for (var e : required.entrySet()) {
        if (!e.getValue().equals(actual.get(e.getKey()))) {
          return false;
        }
      }
    }
    if (expressions != null) {
      for (LabelSelectorRequirement r : expressions) {
        if (!matches(r, actual)) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean matches(LabelSelectorRequirement r, Map<String, String> labels) {
    String value = labels.get(r.getKey());
    List<String> values = r.getValues() == null ? List.of() : r.getValues();
    return switch (r.getOperator()) {
      case "In" -> value != null && values.contains(value);
      case "NotIn" -> value == null || !values.contains(value);
      case "Exists" -> labels.containsKey(r.getKey());
      case "DoesNotExist" -> !labels.containsKey(r.getKey());
      default -> false;
    };
  }

  /** A Service selector (plain equality map) selects {@code labels}. */
  public static boolean serviceSelects(
      Map<String, String> serviceSelector, Map<String, String> labels) {
    if (serviceSelector == null || serviceSelector.isEmpty() || labels == null) {
      return false;
    }
    return serviceSelector.entrySet().stream()
        .allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }
}
