package io.tokengate.operator.issuer;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.tokengate.api.v1alpha1.apipolicy.IssuerRef;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;

/** Identifies one TokenIssuer ({@code namespace} set) or ClusterTokenIssuer ({@code null}). */
public record IssuerKey(String kind, String namespace, String name) {

  public static IssuerKey of(HasMetadata issuer) {
    return new IssuerKey(
        issuer.getKind(), issuer.getMetadata().getNamespace(), issuer.getMetadata().getName());
  }

  /** The issuer an ApiPolicy in {@code policyNamespace} refers to. */
  public static IssuerKey of(IssuerRef ref, String policyNamespace) {
    boolean cluster = ref.kind == IssuerRef.IssuerKind.ClusterTokenIssuer;
    return new IssuerKey(
        cluster ? ClusterTokenIssuer.KIND : IssuerRef.IssuerKind.TokenIssuer.name(),
        cluster ? null : policyNamespace,
        ref.name);
  }

  /** For indexes: {@code Kind/namespace/name}. */
  public String indexKey() {
    return kind + "/" + (namespace == null ? "" : namespace) + "/" + name;
  }

  @Override
  public String toString() {
    return namespace == null ? kind + " " + name : kind + " " + namespace + "/" + name;
  }
}
