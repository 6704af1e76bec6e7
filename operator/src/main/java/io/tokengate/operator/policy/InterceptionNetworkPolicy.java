package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPortBuilder;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The NetworkPolicy that makes the sidecar the only way to the application port ({@code
 * interception: NetworkPolicy}): it selects the policy's pods and admits ingress, from anywhere, to
 * the sidecar's listen and admin ports, to the pods' other declared ports (the {@code
 * tokengate.io/open-ports} annotation the webhook writes) and to {@code spec.allowedPorts}, and to
 * nothing else, so never to {@code upstream.port}. Egress is not restricted (policyTypes: Ingress).
 * Owned by the ApiPolicy: garbage collection removes it with the policy.
 */
public final class InterceptionNetworkPolicy {
  private InterceptionNetworkPolicy() {}

  public static String name(String policyName) {
    return "tokengate-" + policyName;
  }

  /** What should exist for {@code policy}, given the pods it injected. */
  public static NetworkPolicy desired(
      ApiPolicy policy, int listenPort, int adminPort, Collection<Pod> injectedPods) {
    return desired(policy, listenPort, adminPort, injectedPods, List.of());
  }

  /**
   * What should exist for {@code policy}, given the pods it injected and the application ports of
   * the policies that win over it for some of the pods its NetworkPolicy selects. A namespace
   * default's NetworkPolicy ({@code podSelector: {}}) also selects the pods of every narrower
   * policy, and NetworkPolicies add up: were it to admit one of their application ports (because
   * one of the default's own pods declares that port, or allowedPorts lists it), it would re-open
   * the bypass the narrower policy closes. So those ports stay closed here too; a default pod that
   * really serves such a port needs it in a NetworkPolicy of its own.
   */
  public static NetworkPolicy desired(
      ApiPolicy policy,
      int listenPort,
      int adminPort,
      Collection<Pod> injectedPods,
      Collection<Integer> narrowerAppPorts) {
    int appPort = policy.getSpec().upstream.port;
    // port -> protocols, sorted, so the rendering is stable.
    Map<Integer, TreeSet<String>> open = new TreeMap<>();
    open.computeIfAbsent(listenPort, p -> new TreeSet<>()).add("TCP");
    open.computeIfAbsent(adminPort, p -> new TreeSet<>()).add("TCP");
    if (policy.getSpec().allowedPorts != null) {
      policy
          .getSpec()
          .allowedPorts
          .forEach(p -> open.computeIfAbsent(p, x -> new TreeSet<>()).add("TCP"));
    }
    for (Pod pod : injectedPods) {
      var annotations = pod.getMetadata().getAnnotations();
      String declared =
          annotations == null ? null : annotations.get(ApiGroup.OPEN_PORTS_ANNOTATION);
      if (declared == null || declared.isBlank()) {
        continue;
      }
      for (String entry : declared.split(",")) {
        String[] parts = entry.trim().split("/", 2);
        try {
          int port = Integer.parseInt(parts[0]);
          String protocol = parts.length == 2 ? parts[1] : "TCP";
          if (port >= 1 && port <= 65535 && List.of("TCP", "UDP", "SCTP").contains(protocol)) {
            open.computeIfAbsent(port, x -> new TreeSet<>()).add(protocol);
          }
        } catch (NumberFormatException e) {
          // An annotation edited by hand: ignore what is not a port, never open more.
        }
      }
    }
    open.remove(appPort); // whatever asked for it, the application port stays closed
    narrowerAppPorts.forEach(open::remove);
    List<NetworkPolicyPort> ports =
        open.entrySet().stream()
            .flatMap(
                e ->
                    e.getValue().stream()
                        .map(
                            protocol ->
                                new NetworkPolicyPortBuilder()
                                    .withProtocol(protocol)
                                    .withPort(new IntOrString(e.getKey()))
                                    .build()))
            .toList();
    String name = policy.getMetadata().getName();
    return new NetworkPolicyBuilder()
        .withMetadata(
            new ObjectMetaBuilder()
                .withName(name(name))
                .withNamespace(policy.getMetadata().getNamespace())
                .withLabels(
                    new TreeMap<>(
                        Map.of(
                            SidecarConfigRenderer.MANAGED_BY,
                            SidecarConfigRenderer.MANAGER,
                            ApiGroup.POLICY_ANNOTATION,
                            name)))
                .withOwnerReferences(owner(policy))
                .build())
        .withNewSpec()
        .withPodSelector(new LabelSelectorBuilder(policy.getSpec().selector).build())
        .withPolicyTypes("Ingress")
        .addNewIngress()
        .withPorts(ports)
        .endIngress()
        .endSpec()
        .build();
  }

  /** For a namespace default: the application ports of the live policies with a selector. */
  public static List<Integer> narrowerAppPorts(ApiPolicy policy, List<ApiPolicy> policies) {
    if (!PolicyPrecedence.isNamespaceDefault(policy)) {
      return List.of();
    }
    return policies.stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .filter(p -> p.getSpec() != null && p.getSpec().upstream != null)
        .filter(p -> !PolicyPrecedence.isNamespaceDefault(p))
        .map(p -> p.getSpec().upstream.port)
        .distinct()
        .sorted()
        .toList();
  }

  private static io.fabric8.kubernetes.api.model.OwnerReference owner(HasMetadata policy) {
    return new OwnerReferenceBuilder()
        .withApiVersion(policy.getApiVersion())
        .withKind(policy.getKind())
        .withName(policy.getMetadata().getName())
        .withUid(policy.getMetadata().getUid())
        .withController(true)
        .withBlockOwnerDeletion(true)
        .build();
  }
}
