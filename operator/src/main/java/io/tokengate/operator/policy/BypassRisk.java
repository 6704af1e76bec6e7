package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Services that reach a policy's application port by number. The sidecar takes over the port's
 * name, so a Service targeting the name reaches the sidecar; one targeting the number reaches the
 * application directly, without token validation.
 */
public final class BypassRisk {
  private BypassRisk() {}

  /** {@code "<service> (port P -> N)"} for every such Service port, sorted. */
  public static List<String> find(
      ApiPolicy policy, Collection<Service> services, List<Map<String, String>> podLabels) {
    int appPort = policy.getSpec().upstream.port;
    return services.stream()
        .filter(s -> s.getSpec() != null && selectsPolicyPods(s, policy, podLabels))
        .flatMap(
            s ->
                ports(s).stream()
                    .filter(p -> targetsByNumber(p, appPort))
                    .map(
                        p ->
                            s.getMetadata().getName()
                                + " (port "
                                + p.getPort()
                                + " -> "
                                + appPort
                                + ")"))
        .sorted()
        .toList();
  }

  private static boolean selectsPolicyPods(
      Service service, ApiPolicy policy, List<Map<String, String>> podLabels) {
    Map<String, String> selector = service.getSpec().getSelector();
    if (selector == null || selector.isEmpty()) {
      return false;
    }
    // Pods there now, or pods that would carry just the Service's labels.
    return podLabels.stream().anyMatch(l -> PodSelection.serviceSelects(selector, l))
        || PodSelection.matches(policy.getSpec().selector, selector);
  }

  private static List<ServicePort> ports(Service service) {
    return service.getSpec().getPorts() == null ? List.of() : service.getSpec().getPorts();
  }

  private static boolean targetsByNumber(ServicePort port, int appPort) {
    IntOrString target = port.getTargetPort();
    if (target == null || (target.getIntVal() == null && target.getStrVal() == null)) {
      return port.getPort() != null && port.getPort() == appPort;
    }
    if (target.getIntVal() != null) {
      return target.getIntVal() == appPort;
    }
    return target.getStrVal().equals(Integer.toString(appPort));
  }
}
