package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.api.v1alpha1.ApiGroup;
import java.util.Objects;
import java.util.Optional;

/**
 * Keeps a policy's NetworkPolicy equal to what {@link InterceptionNetworkPolicy} rendered: applied
 * (server-side, field manager {@value #FIELD_MANAGER}) when it is missing or differs from the
 * cached one, removed when the policy no longer uses NetworkPolicy interception. The cache is the
 * namespace's NetworkPolicy informer, which the bypass check reads as well: one watch for both.
 */
final class NetworkPolicyDependent {
  static final String FIELD_MANAGER = "tokengate";

  private NetworkPolicyDependent() {}

  /**
   * @param desired empty: the policy must have no NetworkPolicy
   * @param current the policy's NetworkPolicy as cached, if any
   */
  static void reconcile(
      KubernetesClient client, Optional<NetworkPolicy> desired, Optional<NetworkPolicy> current) {
    if (desired.isPresent()) {
      NetworkPolicy want = desired.get();
      if (current.isEmpty() || !same(want, current.get())) {
        client.resource(want).fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply();
      }
    } else if (current.isPresent() && ownedByTokengate(current.get())) {
      client.resource(current.get()).delete();
    }
  }

  private static boolean same(NetworkPolicy want, NetworkPolicy have) {
    return Objects.equals(want.getSpec(), have.getSpec())
        && Objects.equals(want.getMetadata().getLabels(), have.getMetadata().getLabels())
        && Objects.equals(
            want.getMetadata().getOwnerReferences(), have.getMetadata().getOwnerReferences());
  }

  private static boolean ownedByTokengate(NetworkPolicy np) {
    var labels = np.getMetadata().getLabels();
    return labels != null
        && SidecarConfigRenderer.MANAGER.equals(labels.get(SidecarConfigRenderer.MANAGED_BY))
        && labels.containsKey(ApiGroup.POLICY_ANNOTATION);
  }
}
