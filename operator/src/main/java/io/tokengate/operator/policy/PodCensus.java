package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.Pod;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a policy's pods look like now, from pod metadata only.
 *
 * @param matched pods the selector matches (for a namespace default: those no policy with a
 *     selector selects)
 * @param injected of those, pods annotated with this policy and a config hash (running its sidecar)
 * @param uninjected matched pods without any tokengate sidecar that a restart would protect
 * @param excluded matched pods without the sidecar that a restart would not protect, by why (see
 *     {@link Exclusion}), each with the pod names in order
 * @param injectedAnywhere pods in the namespace annotated with this policy, matched or not (what
 *     deletion waits for)
 * @param lostTo winner policy name to the pods it protects instead of this policy
 * @param overlapping other policies of the same kind (both defaults, or both with a selector)
 *     selecting at least one of this policy's pods
 * @param matchedLabels the label sets of the matched pods (for Service matching)
 */
public record PodCensus(
    int matched,
    int injected,
    int uninjected,
    Map<Exclusion, List<String>> excluded,
    int injectedAnywhere,
    Map<String, List<String>> lostTo,
    Set<String> overlapping,
    List<Map<String, String>> matchedLabels) {

  /**
   * Why a matched pod runs without the sidecar and would again after a restart. Pod metadata says
   * it: the opt-out (annotation or label {@code tokengate.io/inject: "false"}), the reason the
   * webhook stamped when it declined the pod (annotation {@code tokengate.io/not-injected}: {@code
   * hostNetwork} is in the pod's spec, which the census never reads), or the namespace's labels.
   */
  public enum Exclusion {
    OPTED_OUT("opted out with tokengate.io/inject: \"false\""),
    HOST_NETWORK("hostNetwork"),
    NAMESPACE_NOT_ENABLED(
        "in a namespace without the label " + ApiGroup.INJECTION_LABEL + "=enabled");

    private final String description;

    Exclusion(String description) {
      this.description = description;
    }

    public String description() {
      return description;
    }
  }

  /** A census in a namespace labelled for injection. */
  public static PodCensus take(
      ApiPolicy policy, Collection<Pod> pods, Collection<ApiPolicy> policies) {
    return take(policy, pods, policies, true);
  }

  /**
   * @param injectionEnabled the namespace has the label {@code tokengate.io/injection=enabled}, so
   *     the webhook sees its new pods
   */
  public static PodCensus take(
      ApiPolicy policy,
      Collection<Pod> pods,
      Collection<ApiPolicy> policies,
      boolean injectionEnabled) {
    String name = policy.getMetadata().getName();
    List<ApiPolicy> rivals =
        policies.stream()
            .filter(p -> !p.getMetadata().getName().equals(name))
            .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
            .toList();
    int matched = 0;
    int injected = 0;
    int uninjected = 0;
    Map<Exclusion, List<String>> excluded = new java.util.EnumMap<>(Exclusion.class);
    int injectedAnywhere = 0;
    Map<String, List<String>> lostTo = new TreeMap<>();
    Set<String> overlapping = new TreeSet<>();
    List<Map<String, String>> labels = new java.util.ArrayList<>();
    for (Pod pod : pods) {
      Map<String, String> annotations = pod.getMetadata().getAnnotations();
      String injectedBy = annotations == null ? null : annotations.get(ApiGroup.POLICY_ANNOTATION);
      boolean runsThisPolicy =
          name.equals(injectedBy) && annotations.get(ApiGroup.CONFIG_HASH_ANNOTATION) != null;
      if (runsThisPolicy) {
        injectedAnywhere++;
      }
      if (!PodSelection.matches(policy.getSpec().selector, pod.getMetadata().getLabels())) {
        continue;
      }
      List<ApiPolicy> selecting = PolicyPrecedence.selecting(rivals, pod.getMetadata().getLabels());
      if (PolicyPrecedence.isNamespaceDefault(policy)
          && selecting.stream().anyMatch(r -> !PolicyPrecedence.isNamespaceDefault(r))) {
        // A policy with a selector covers this pod: it is not the default's to count.
        continue;
      }
      matched++;
      labels.add(pod.getMetadata().getLabels());
      if (runsThisPolicy) {
        injected++;
      } else if (injectedBy == null) {
        Exclusion exclusion = exclusion(pod, injectionEnabled);
        if (exclusion == null) {
          uninjected++;
        } else {
          excluded
              .computeIfAbsent(exclusion, k -> new java.util.ArrayList<>())
              .add(pod.getMetadata().getName());
        }
      }
      ApiPolicy winner = policy;
      for (ApiPolicy rival : selecting) {
        if (PolicyPrecedence.compete(rival, policy)) {
          overlapping.add(rival.getMetadata().getName());
          if (PolicyPrecedence.ORDER.compare(rival, winner) < 0) {
            winner = rival;
          }
        }
      }
      if (winner != policy) {
        lostTo
            .computeIfAbsent(winner.getMetadata().getName(), k -> new java.util.ArrayList<>())
            .add(pod.getMetadata().getName());
      }
    }
    lostTo.values().forEach(l -> l.sort(null));
    excluded.values().forEach(l -> l.sort(null));
    return new PodCensus(
        matched, injected, uninjected, excluded, injectedAnywhere, lostTo, overlapping, labels);
  }

  private static Exclusion exclusion(Pod pod, boolean injectionEnabled) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    Map<String, String> podLabels = pod.getMetadata().getLabels();
    if ((annotations != null
            && "false".equalsIgnoreCase(annotations.get(ApiGroup.INJECT_ANNOTATION)))
        || (podLabels != null
            && "false".equalsIgnoreCase(podLabels.get(ApiGroup.INJECT_ANNOTATION)))) {
      return Exclusion.OPTED_OUT;
    }
    String declined =
        annotations == null ? null : annotations.get(ApiGroup.NOT_INJECTED_ANNOTATION);
    if (ApiGroup.NOT_INJECTED_HOST_NETWORK.equals(declined)) {
      return Exclusion.HOST_NETWORK;
    }
    if (ApiGroup.NOT_INJECTED_OPTED_OUT.equals(declined)) {
      return Exclusion.OPTED_OUT;
    }
    return injectionEnabled ? null : Exclusion.NAMESPACE_NOT_ENABLED;
  }

  /**
   * Whether the namespace has {@code tokengate.io/injection=enabled}, so the webhook sees its new
   * pods. A namespace not cached (yet) counts as enabled: never claim a restart would not help.
   */
  public static boolean injectionEnabled(
      java.util.Optional<io.fabric8.kubernetes.api.model.Namespace> ns) {
    return ns.map(
            n ->
                n.getMetadata().getLabels() != null
                    && "enabled".equals(n.getMetadata().getLabels().get(ApiGroup.INJECTION_LABEL)))
        .orElse(true);
  }

  /** Matched pods that a restart would not protect. */
  public int excludedCount() {
    return excluded.values().stream().mapToInt(List::size).sum();
  }

  /** {@code injected/matched}, as kubectl get shows it. */
  public String pods() {
    return injected + "/" + matched;
  }
}
