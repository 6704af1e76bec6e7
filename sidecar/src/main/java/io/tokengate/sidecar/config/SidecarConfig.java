package io.tokengate.sidecar.config;

import com.nimbusds.jose.jwk.JWKSet;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import java.util.List;

/**
 * A complete, checked sidecar configuration: the one policy, the issuers it trusts, and a key
 * snapshot for each issuer if one was given.
 *
 * @param source the PATH the configuration was read from
 * @param policy the ApiPolicy
 * @param policyFile the file the policy came from (for messages)
 * @param issuers the issuers of {@code spec.issuerRef} or {@code spec.issuerRefs}, in that order
 *     (never empty; their {@code spec.issuer} identifiers are distinct)
 * @param requestHandling {@code spec.requestHandling}, or its secure defaults
 */
public record SidecarConfig(
    String source,
    ApiPolicy policy,
    String policyFile,
    List<TrustedIssuer> issuers,
    RequestHandling requestHandling) {

  /**
   * One issuer the policy trusts.
   *
   * @param issuer the TokenIssuer or ClusterTokenIssuer
   * @param issuerFile the file it came from
   * @param audiences the effective audiences: the policy's, else the issuer's (never empty)
   * @param snapshot keys from {@code <issuer-name>.jwks.json}, or null
   * @param snapshotFile the snapshot's file, or null
   * @param clientSecret the introspection client secret read from {@code
   *     spec.introspection.clientSecretFile}, or null without introspection (never printed)
   */
  public record TrustedIssuer(
      IssuerResource issuer,
      String issuerFile,
      List<String> audiences,
      JWKSet snapshot,
      String snapshotFile,
      String clientSecret) {

    @Override
    public String toString() {
      return "TrustedIssuer[" + ref() + " from " + issuerFile + "]";
    }

    /** The issuer's resource name, as {@code require.issuers} names it. */
    public String name() {
      return issuer.getMetadata().getName();
    }

    /** {@code spec.issuer}: what a token's {@code iss} must equal. */
    public String identifier() {
      return issuer.getSpec().issuer;
    }

    /** {@code <Kind>/<name>}, for messages. */
    public String ref() {
      return issuer.getKind() + "/" + name();
    }
  }

  /** The first (with {@code spec.issuerRef}, the only) issuer. */
  public TrustedIssuer firstIssuer() {
    return issuers.get(0);
  }

  /** {@code <namespace>/<name>} of the policy; the realm of every challenge and a metric label. */
  public String policyId() {
    String ns = policy.getMetadata().getNamespace();
    return (ns == null || ns.isEmpty() ? "default" : ns) + "/" + policy.getMetadata().getName();
  }
}
