package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Services that reach a policy's application port without the sidecar. The sidecar takes over the
 * port's name, so a Service targeting the name reaches the sidecar; one targeting the number, or
 * the name the application port is renamed to ({@code app-<port>}), reaches the application
 * directly, without token validation (unless the interception blocks it).
 */
public final class BypassRisk {
  private BypassRisk() {}

  /** The Services found, each {@code "<service> (port P -> N)"}, sorted. */
  public record Findings(List<String> byNumber, List<String> byRenamedName) {
    public boolean none() {
      return byNumber.isEmpty() && byRenamedName.isEmpty();
    }
  }

  public static Findings find(
      ApiPolicy policy, Collection<Service> services, List<Map<String, String>> podLabels) {
    int appPort = policy.getSpec().upstream.port;
    return new Findings(
        matching(policy, services, podLabels, p -> targetsByNumber(p, appPort)),
        matching(
            policy,
            services,
            podLabels,
            p ->
                p.getTargetPort() != null
                    && isRenamedAppPort(p.getTargetPort().getStrVal(), appPort)));
  }

  /** The name the webhook gives the application port: {@code app-<port>}, or {@code -2}... */
  public static boolean isRenamedAppPort(String name, int appPort) {
    if (name == null) {
      return false;
    }
    String base = "app-" + appPort;
    return name.equals(base) || name.matches(java.util.regex.Pattern.quote(base) + "-[0-9]+");
  }

  private static List<String> matching(
      ApiPolicy policy,
      Collection<Service> services,
      List<Map<String, String>> podLabels,
      java.util.function.Predicate<ServicePort> bypasses) {
    int appPort = policy.getSpec().upstream.port;
    return services.stream()
        .filter(s -> s.getSpec() != null && selectsPolicyPods(s, policy, podLabels))
        .flatMap(
            s ->
                ports(s).stream()
                    .filter(bypasses)
                    .map(
                        p ->
                            s.getMetadata().getName()
                                + " (port "
                                + p.getPort()
                                + " -> "
                                + (p.getTargetPort() != null
                                        && p.getTargetPort().getStrVal() != null
                                    ? p.getTargetPort().getStrVal()
                                    : Integer.toString(appPort))
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
