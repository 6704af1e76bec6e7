package io.tokengate.operator.policy;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.time.Instant;
import java.util.Comparator;

/**
 * Which of two ApiPolicies selecting the same pod protects it: the older one (creationTimestamp),
 * and on a tie the one whose name sorts first. The admission webhook and the reconciler must use
 * the same order.
 */
public final class PolicyPrecedence {
  /** Winner first. */
  public static final Comparator<ApiPolicy> ORDER =
      Comparator.comparing(PolicyPrecedence::created).thenComparing(p -> p.getMetadata().getName());

  private PolicyPrecedence() {}

  private static Instant created(ApiPolicy policy) {
    String ts = policy.getMetadata().getCreationTimestamp();
    // A policy not yet persisted (no timestamp) is the newest of all.
    return ts == null ? Instant.MAX : Instant.parse(ts);
  }
}
