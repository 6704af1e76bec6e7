package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.Condition;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicyStatus;
import io.tokengate.operator.status.StatusConditions;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Aggregates everything the ApiPolicy reconciler found into the policy's next status. */
final class PolicyStatusComposer {
  /** The next status, and the conditions worth an Event. */
  record Composed(ApiPolicyStatus status, List<Condition> changed) {}

  private final Clock clock;

  PolicyStatusComposer(Clock clock) {
    this.clock = clock;
  }

  Composed compose(
      ApiPolicy policy,
      PolicyIssuers issuer,
      String configHash,
      String specProblem,
      PodCensus census,
      BypassRisk.Findings bypass,
      ApiPolicyReconciler.Interception interception) {
    ApiPolicyStatus previous = previous(policy);
    ApiPolicyStatus next = counted(previous, census);
    next.observedGeneration = policy.getMetadata().getGeneration();
    next.issuer = issuer.identifiers() != null ? issuer.identifiers() : previous.issuer;
    next.configHash = configHash != null ? configHash : previous.configHash;
    next.configMapName =
        next.configHash == null
            ? null
            : SidecarConfigRenderer.configMapName(policy.getMetadata().getName());
    var conditions =
        new StatusConditions(previous.conditions, policy.getMetadata().getGeneration(), clock);
    if (specProblem != null) {
      conditions.set(Conditions.READY, false, Reasons.INVALID_SPEC, specProblem);
    } else if (!issuer.resolved()
        && configHash != null
        && issuer.reason().equals(Reasons.SOME_ISSUERS_NOT_READY)) {
      conditions.set(
          Conditions.READY,
          true,
          Reasons.SOME_ISSUERS_NOT_READY,
          "serving with the issuers that have keys; " + issuer.message());
    } else if (!issuer.resolved()) {
      String kept =
          configHash == null
              ? ""
              : "; the sidecars keep the configuration rendered with the issuer's last keys";
      conditions.set(Conditions.READY, false, issuer.reason(), issuer.message() + kept);
    } else if (census.uninjected() > 0) {
      conditions.set(
          Conditions.READY,
          true,
          Reasons.PODS_NEED_RESTART,
          census.uninjected()
              + " matched pod(s) run without the sidecar (created before the policy or before"
              + " the namespace was labelled for injection): restart them to protect them"
              + (census.excludedCount() > 0 ? ". Besides, " + excluded(policy, census) : ""));
    } else if (census.excludedCount() > 0) {
      conditions.set(Conditions.READY, true, Reasons.PODS_EXCLUDED, excluded(policy, census));
    } else {
      conditions.set(
          Conditions.READY,
          true,
          Reasons.READY,
          "sidecar configuration rendered into ConfigMap " + next.configMapName);
    }
    conditions.set(
        Conditions.ISSUER_RESOLVED, issuer.resolved(), issuer.reason(), issuer.message());
    setConflict(conditions, census);
    InterceptionConditions.setBypassRisk(conditions, policy, bypass, interception);
    InterceptionConditions.setProtected(conditions, policy, bypass, census, interception);
    next.conditions = conditions.build();
    return new Composed(next, conditions.changed());
  }

  /** The status of a policy waiting for its injected pods to go before it is removed. */
  Composed deleting(ApiPolicy policy, PodCensus census) {
    ApiPolicyStatus previous = previous(policy);
    ApiPolicyStatus next = counted(previous, census);
    next.observedGeneration = previous.observedGeneration;
    next.issuer = previous.issuer;
    next.configHash = previous.configHash;
    next.configMapName = previous.configMapName;
    next.clientSecrets = previous.clientSecrets;
    var conditions =
        new StatusConditions(previous.conditions, policy.getMetadata().getGeneration(), clock);
    conditions.set(
        Conditions.READY,
        false,
        Reasons.DELETING,
        census.injectedAnywhere()
            + " injected pod(s) still run this policy's sidecar; their configuration is now"
            + " deny-all, and the policy is removed once they are gone");
    previous.conditions.stream()
        .filter(c -> !Conditions.READY.equals(c.getType()))
        .forEach(
            c ->
                conditions.set(
                    c.getType(), "True".equals(c.getStatus()), c.getReason(), c.getMessage()));
    next.conditions = conditions.build();
    return new Composed(next, conditions.changed());
  }

  /**
   * The matched pods a restart would not protect, by why, and what to change for each: the message
   * of reason {@code PodsExcluded}.
   */
  static String excluded(ApiPolicy policy, PodCensus census) {
    String namespace = policy.getMetadata().getNamespace();
    List<String> parts = new java.util.ArrayList<>();
    census
        .excluded()
        .forEach(
            (why, names) ->
                parts.add(
                    names.size()
                        + " "
                        + why.description()
                        + " ("
                        + shown(names)
                        + "): "
                        + switch (why) {
                          case OPTED_OUT ->
                              "remove the opt-out from the workload's pod template, or leave"
                                  + " these pods out of spec.selector";
                          case HOST_NETWORK ->
                              "hostNetwork pods are never injected (the sidecar's ports would be"
                                  + " the node's); leave them out of spec.selector";
                          case NAMESPACE_NOT_ENABLED ->
                              "the webhook never sees this namespace's pods; run kubectl label"
                                  + " namespace "
                                  + namespace
                                  + " "
                                  + io.tokengate.api.v1alpha1.ApiGroup.INJECTION_LABEL
                                  + "=enabled, then restart them";
                        }));
    return census.excludedCount()
        + " matched pod(s) run without the sidecar and a restart would not change that: "
        + String.join("; ", parts);
  }

  private static void setConflict(StatusConditions conditions, PodCensus census) {
    if (census.lostTo().isEmpty()) {
      conditions.set(
          Conditions.CONFLICT,
          false,
          Reasons.NO_CONFLICT,
          census.overlapping().isEmpty()
              ? "no other ApiPolicy selects these pods"
              : "this policy protects the pods it shares with newer ApiPolicies "
                  + String.join(", ", census.overlapping()));
      return;
    }
    String detail =
        census.lostTo().entrySet().stream()
            .map(e -> "ApiPolicy " + e.getKey() + " protects " + pods(e))
            .collect(Collectors.joining("; "));
    conditions.set(
        Conditions.CONFLICT,
        true,
        Reasons.OVERLAPPING_POLICY,
        "older policies select the same pods and win: " + detail);
  }

  private static String pods(Map.Entry<String, List<String>> e) {
    return shown(e.getValue());
  }

  private static String shown(List<String> names) {
    String shown = String.join(", ", names.subList(0, Math.min(5, names.size())));
    return names.size() > 5 ? shown + " and " + (names.size() - 5) + " more" : shown;
  }

  private static ApiPolicyStatus previous(ApiPolicy policy) {
    return policy.getStatus() == null ? new ApiPolicyStatus() : policy.getStatus();
  }

  private static ApiPolicyStatus counted(ApiPolicyStatus previous, PodCensus census) {
    ApiPolicyStatus next = new ApiPolicyStatus();
    next.matchedPods = census.matched();
    next.injectedPods = census.injected();
    next.uninjectedPods = census.uninjected();
    next.excludedPods = census.excludedCount();
    next.pods = census.pods();
    return next;
  }
}
