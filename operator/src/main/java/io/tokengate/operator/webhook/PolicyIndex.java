package io.tokengate.operator.webhook;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The ApiPolicies the webhook decides with. {@link #inNamespace} answers from memory and may lag
 * the API server (a watch event not delivered yet); {@link #current} reads the API server and is
 * asked whenever the memory view would let a pod start without the sidecar, so a lagging view can
 * never admit a pod bare that a Ready policy selects.
 */
public interface PolicyIndex {
  /** Whether the index holds the cluster's policies (the informer's first list completed). */
  boolean synced();

  /** The ApiPolicies of {@code namespace} as last seen, in no particular order. From memory. */
  List<ApiPolicy> inNamespace(String namespace);

  /**
   * The ApiPolicies of {@code namespace} as the API server has them now (a consistent read, not
   * served from a watch cache that may lag). Blocks on the network: never call it on an event loop.
   */
  List<ApiPolicy> current(String namespace);

  /** A fixed index (tests, benchmarks, standalone runs). */
  static PolicyIndex of(List<ApiPolicy> policies) {
    Map<String, List<ApiPolicy>> byNamespace =
        policies.stream().collect(Collectors.groupingBy(p -> p.getMetadata().getNamespace()));
    return new PolicyIndex() {
      @Override
      public boolean synced() {
        return true;
      }

      @Override
      public List<ApiPolicy> inNamespace(String namespace) {
        return byNamespace.getOrDefault(namespace, List.of());
      }

      @Override
      public List<ApiPolicy> current(String namespace) {
        return inNamespace(namespace);
      }
    };
  }
}
