package io.tokengate.operator.injection;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.List;
import java.util.Optional;

/**
 * What the owner of an ApiPolicy should learn about one admission decision. Admission warnings and
 * refusals go to whoever created the pod, which for a Deployment's pods is the ReplicaSet
 * controller: nobody reads them. The webhook reports them as Events on the policy as well.
 *
 * @param policy the policy the decision was about
 * @param reason the Event's reason ({@link #INJECTED_WITH_WARNINGS}, {@link #POD_NOT_INJECTED},
 *     {@link #INJECTION_REFUSED})
 * @param source the pod's controller ({@code ReplicaSet shop/orders-7f9c}), or the pod itself: all
 *     pods of one controller make one Event
 * @param message what happened, without the pod's own name
 */
public record PolicyNotice(
    ApiPolicy policy, String reason, boolean warning, String source, String message) {
  /** The sidecar was injected, and the admission response carries warnings. */
  public static final String INJECTED_WITH_WARNINGS = "InjectedWithWarnings";

  /** A pod the policy selects was admitted without the sidecar (opt-out, hostNetwork, ...). */
  public static final String POD_NOT_INJECTED = "PodNotInjected";

  /** A pod the policy selects was refused: its controller retries and keeps failing until fixed. */
  public static final String INJECTION_REFUSED = "InjectionRefused";

  /** Every Event reason the webhook writes on an ApiPolicy. */
  public static final List<String> REASONS =
      List.of(INJECTED_WITH_WARNINGS, POD_NOT_INJECTED, INJECTION_REFUSED);

  static PolicyNotice of(
      ApiPolicy policy, String reason, String namespace, Pod pod, List<String> messages) {
    return new PolicyNotice(
        policy, reason, true, source(namespace, pod), String.join("; ", messages));
  }

  private static String source(String namespace, Pod pod) {
    Optional<OwnerReference> controller =
        Optional.ofNullable(pod.getMetadata().getOwnerReferences()).orElse(List.of()).stream()
            .filter(o -> Boolean.TRUE.equals(o.getController()))
            .findFirst();
    if (controller.isPresent()) {
      return controller.get().getKind() + " " + namespace + "/" + controller.get().getName();
    }
    String name = pod.getMetadata().getName();
    if (name == null || name.isBlank()) {
      name = Optional.ofNullable(pod.getMetadata().getGenerateName()).orElse("") + "*";
    }
    return "Pod " + namespace + "/" + name;
  }
}
