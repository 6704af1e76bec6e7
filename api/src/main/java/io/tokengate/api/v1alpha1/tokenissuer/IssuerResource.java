package io.tokengate.api.v1alpha1.tokenissuer;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * What {@link TokenIssuer} and {@link ClusterTokenIssuer} have in common, so one reconciler and one
 * renderer serve both (the cert-manager Issuer/ClusterIssuer pattern).
 */
public interface IssuerResource extends HasMetadata {
  TokenIssuerSpec getSpec();

  TokenIssuerStatus getStatus();
}
