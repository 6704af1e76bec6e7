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
 * @param uninjected matched pods without any tokengate sidecar: they need a restart
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
    int injectedAnywhere,
    Map<String, List<String>> lostTo,
    Set<String> overlapping,
    List<Map<String, String>> matchedLabels) {

  public static PodCensus take(
      ApiPolicy policy, Collection<Pod> pods, Collection<ApiPolicy> policies) {
    String name = policy.getMetadata().getName();
    List<ApiPolicy> rivals =
        policies.stream()
            .filter(p -> !p.getMetadata().getName().equals(name))
            .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
            .toList();
    int matched = 0;
    int injected = 0;
    int uninjected = 0;
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
        uninjected++;
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
    return new PodCensus(
        matched, injected, uninjected, injectedAnywhere, lostTo, overlapping, labels);
  }

  /** {@code injected/matched}, as kubectl get shows it. */
  public String pods() {
    return injected + "/" + matched;
  }
}
