package io.tokengate.operator.injection;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.operator.policy.PolicyPrecedence;
import java.util.List;
import java.util.Map;

/**
 * Which ApiPolicy applies to a pod: those whose selector matches the pod's labels, in {@link
 * PolicyPrecedence} order (a policy with a selector before the namespace's default, then the oldest
 * first), the same selector semantics and order the reconciler uses for its Conflict condition, so
 * the webhook and the policy's status always name the same winner. Policies being deleted select no
 * new pod.
 */
final class PolicySelection {
  private PolicySelection() {}

  /** The live policies selecting {@code labels}, the one that applies first. */
  static List<ApiPolicy> matching(List<ApiPolicy> policies, Map<String, String> labels) {
    return select(policies, labels, false);
  }

  /** The policies selecting {@code labels} that are being deleted. */
  static List<ApiPolicy> deleting(List<ApiPolicy> policies, Map<String, String> labels) {
    return select(policies, labels, true);
  }

  private static List<ApiPolicy> select(
      List<ApiPolicy> policies, Map<String, String> labels, boolean deleting) {
    return PolicyPrecedence.selecting(
        policies.stream()
            .filter(p -> (p.getMetadata().getDeletionTimestamp() != null) == deleting)
            .toList(),
        labels);
  }
}
