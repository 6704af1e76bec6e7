package io.tokengate.operator.policy;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.tokengate.api.v1alpha1.tokenissuer.ClientSecretRef;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The introspection client Secrets of a policy's issuers. The injected sidecar mounts each one
 * read-only from the pod's namespace (Kubernetes mounts no Secret of another namespace), so for a
 * ClusterTokenIssuer the Secret must exist in every namespace whose policies use it, as Istio's
 * {@code credentialName} expects its Secret beside the workload. Nothing is copied between
 * namespaces.
 */
final class ClientSecrets {
  /** Whether a Secret named by an issuer is usable in a namespace: a problem, or empty. */
  interface Check {
    Optional<String> problem(String namespace, IssuerResource issuer, ClientSecretRef ref);

    /** For a policy being deleted: nothing is checked, its pods already run. */
    Check NONE = (namespace, issuer, ref) -> Optional.empty();
  }

  private ClientSecrets() {}

  /** The issuer's client Secret reference, if it introspects. */
  static Optional<ClientSecretRef> of(IssuerResource issuer) {
    var introspection = issuer.getSpec().introspection;
    return introspection == null
        ? Optional.empty()
        : Optional.ofNullable(introspection.clientSecretRef);
  }

  /** The Secret names the sidecar mounts for {@code issuers}, sorted, or null for none. */
  static List<String> names(Collection<IssuerResource> issuers) {
    TreeSet<String> names = new TreeSet<>();
    issuers.forEach(i -> of(i).ifPresent(ref -> names.add(ref.name)));
    return names.isEmpty() ? null : List.copyOf(names);
  }

  /**
   * Reads the Secret by name. A Secret the operator may not read (its RBAC, {@code rbac.caSecrets},
   * does not cover the namespace) is not judged: the kubelet refuses to start a pod whose Secret is
   * missing, which fails closed too.
   */
  static Check reading(KubernetesClient client) {
    return (namespace, issuer, ref) -> {
      String where = "Secret " + namespace + "/" + ref.name;
      String field =
          issuer.getKind()
              + "/"
              + issuer.getMetadata().getName()
              + " spec.introspection.clientSecretRef";
      Secret secret;
      try {
        secret = client.secrets().inNamespace(namespace).withName(ref.name).get();
      } catch (KubernetesClientException e) {
        if (e.getCode() == 403) {
          return Optional.empty();
        }
        // Not known to exist: nothing is rendered until a later reconciliation can tell.
        return Optional.of("cannot read " + where + " (" + field + "): " + e.getMessage());
      }
      if (secret == null) {
        return Optional.of(
            where
                + " ("
                + field
                + ") does not exist; the sidecar mounts it from the pod's namespace, so create it"
                + " there");
      }
      boolean hasKey =
          (secret.getData() != null && secret.getData().containsKey(ref.key))
              || (secret.getStringData() != null && secret.getStringData().containsKey(ref.key));
      return hasKey
          ? Optional.empty()
          : Optional.of(where + " (" + field + ") has no key '" + ref.key + "'");
    };
  }
}
