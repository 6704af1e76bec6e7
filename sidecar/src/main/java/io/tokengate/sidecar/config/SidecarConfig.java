package io.tokengate.sidecar.config;

import com.nimbusds.jose.jwk.JWKSet;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import java.util.List;

/**
 * A complete, checked sidecar configuration: the one policy, the issuer it references, and the key
 * snapshot for that issuer if one was given.
 *
 * @param source the PATH the configuration was read from
 * @param policy the ApiPolicy
 * @param policyFile the file the policy came from (for messages)
 * @param issuer the TokenIssuer or ClusterTokenIssuer named by {@code spec.issuerRef}
 * @param issuerFile the file the issuer came from
 * @param audiences the effective audiences: the policy's, else the issuer's (never empty)
 * @param snapshot keys from {@code <issuer-name>.jwks.json}, or null
 * @param snapshotFile the snapshot's file, or null
 * @param requestHandling {@code spec.requestHandling}, or its secure defaults
 */
public record SidecarConfig(
    String source,
    ApiPolicy policy,
    String policyFile,
    IssuerResource issuer,
    String issuerFile,
    List<String> audiences,
    JWKSet snapshot,
    String snapshotFile,
    RequestHandling requestHandling) {

  /** {@code <namespace>/<name>} of the policy; the realm of every challenge and a metric label. */
  public String policyId() {
    String ns = policy.getMetadata().getNamespace();
    return (ns == null || ns.isEmpty() ? "default" : ns) + "/" + policy.getMetadata().getName();
  }
}
