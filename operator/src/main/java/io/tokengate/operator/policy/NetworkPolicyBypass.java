package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * NetworkPolicies add up: any other NetworkPolicy that selects a policy's pods and admits ingress
 * to the application port re-opens the path around the sidecar. This finds them (by name, with the
 * rule that admits the port), for {@code BypassRisk=True} reason {@code
 * NetworkPolicyAdmitsAppPort}.
 */
public final class NetworkPolicyBypass {
  private NetworkPolicyBypass() {}

  /** {@code "<name> (<why>)"} for every other NetworkPolicy admitting the app port, sorted. */
  public static List<String> find(
      ApiPolicy policy,
      Collection<NetworkPolicy> networkPolicies,
      List<Map<String, String>> podLabels) {
    int appPort = policy.getSpec().upstream.port;
    String own = InterceptionNetworkPolicy.name(policy.getMetadata().getName());
    return networkPolicies.stream()
        .filter(np -> np.getSpec() != null && !own.equals(np.getMetadata().getName()))
        .filter(np -> governsIngress(np) && selectsPolicyPods(np, policy, podLabels))
        .flatMap(
            np ->
                admission(np, appPort).stream()
                    .map(why -> np.getMetadata().getName() + " (" + why + ")"))
        .sorted()
        .toList();
  }

  private static boolean governsIngress(NetworkPolicy np) {
    List<String> types = np.getSpec().getPolicyTypes();
    return types == null || types.isEmpty() || types.contains("Ingress");
  }

  private static boolean selectsPolicyPods(
      NetworkPolicy np, ApiPolicy policy, List<Map<String, String>> podLabels) {
    LabelSelector selector = np.getSpec().getPodSelector();
    boolean all =
        selector == null
            || ((selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty())
                && (selector.getMatchExpressions() == null
                    || selector.getMatchExpressions().isEmpty()));
    if (all) {
      return true;
    }
    // Pods there now, or pods that would carry just the policy's required labels.
    Map<String, String> required = policy.getSpec().selector.getMatchLabels();
    return podLabels.stream().anyMatch(l -> PodSelection.matches(selector, l))
        || (required != null && !required.isEmpty() && PodSelection.matches(selector, required));
  }

  /** Why {@code np} admits the port, or empty. */
  private static java.util.Optional<String> admission(NetworkPolicy np, int appPort) {
    List<NetworkPolicyIngressRule> rules = np.getSpec().getIngress();
    if (rules == null) {
      return java.util.Optional.empty();
    }
    for (NetworkPolicyIngressRule rule : rules) {
      if (rule.getPorts() == null || rule.getPorts().isEmpty()) {
        return java.util.Optional.of("admits every port");
      }
      for (NetworkPolicyPort port : rule.getPorts()) {
        if (admits(port, appPort)) {
          return java.util.Optional.of("admits port " + describe(port));
        }
      }
    }
    return java.util.Optional.empty();
  }

  private static boolean admits(NetworkPolicyPort port, int appPort) {
    String protocol = port.getProtocol();
    if (protocol != null && !"TCP".equals(protocol)) {
      return false;
    }
    IntOrString p = port.getPort();
    if (p == null || (p.getIntVal() == null && p.getStrVal() == null)) {
      return true; // every port of the protocol
    }
    if (p.getIntVal() != null) {
      int from = p.getIntVal();
      int to = port.getEndPort() == null ? from : port.getEndPort();
      return from <= appPort && appPort <= to;
    }
    // A named port: the application's port after the takeover is app-<port>[-n].
    return BypassRisk.isRenamedAppPort(p.getStrVal(), appPort)
        || p.getStrVal().equals(Integer.toString(appPort));
  }

  private static String describe(NetworkPolicyPort port) {
    IntOrString p = port.getPort();
    if (p == null || (p.getIntVal() == null && p.getStrVal() == null)) {
      return "(all " + (port.getProtocol() == null ? "TCP" : port.getProtocol()) + " ports)";
    }
    String base = p.getIntVal() != null ? p.getIntVal().toString() : p.getStrVal();
    return port.getEndPort() == null ? base : base + "-" + port.getEndPort();
  }
}
