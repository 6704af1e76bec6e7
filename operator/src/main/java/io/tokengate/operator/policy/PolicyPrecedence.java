package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Which of the ApiPolicies selecting a pod protects it. A policy with a selector wins over the
 * namespace's default (a policy with an empty selector, {@code selector: {}}) for the pods it
 * selects: that is scope, not a conflict. Between two policies of the same kind (two defaults, or
 * two with selectors) the older one wins (creationTimestamp), and on a tie the one whose name sorts
 * first; the loser reports {@code Conflict}. The admission webhook and the reconciler both decide
 * through this class, so they always name the same winner.
 */
public final class PolicyPrecedence {
  /** Winner first. */
  public static final Comparator<ApiPolicy> ORDER =
      Comparator.comparing(PolicyPrecedence::isNamespaceDefault)
          .thenComparing(PolicyPrecedence::created)
          .thenComparing(p -> p.getMetadata().getName());

  private PolicyPrecedence() {}

  /** The policies of {@code policies} whose selector selects {@code labels}, winner first. */
  public static List<ApiPolicy> selecting(
      Collection<ApiPolicy> policies, Map<String, String> labels) {
    return policies.stream()
        .filter(p -> p.getSpec() != null && PodSelection.matches(p.getSpec().selector, labels))
        .sorted(ORDER)
        .toList();
  }

  /**
   * Whether {@code a} and {@code b}, both selecting a pod, compete for it (and the loser reports
   * Conflict): only policies of the same kind do. A default never competes with a narrower policy.
   */
  public static boolean compete(ApiPolicy a, ApiPolicy b) {
    return isNamespaceDefault(a) == isNamespaceDefault(b);
  }

  /** A policy with an empty selector: it covers every pod of its namespace no other one selects. */
  public static boolean isNamespaceDefault(ApiPolicy policy) {
    LabelSelector selector = policy.getSpec() == null ? null : policy.getSpec().selector;
    return selector != null
        && (selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty())
        && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty());
  }

  private static Instant created(ApiPolicy policy) {
    String ts = policy.getMetadata().getCreationTimestamp();
    // A policy not yet persisted (no timestamp) is the newest of all.
    return ts == null ? Instant.MAX : Instant.parse(ts);
  }
}
