package io.tokengate.operator.webhook;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The ApiPolicies the webhook decides with, held in memory: looking a namespace up never touches
 * the network.
 */
public interface PolicyIndex {
  /** Whether the index holds the cluster's policies (the informer's first list completed). */
  boolean synced();

  /** The ApiPolicies of {@code namespace}, in no particular order. */
  List<ApiPolicy> inNamespace(String namespace);

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
    };
  }
}
