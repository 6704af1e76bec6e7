package io.tokengate.operator.issuer;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerTemplate;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Loads an issuer's keys the way its spec says: static keys, or discovery and a JWKS fetch. */
final class IssuerKeyLoader {
  /** The outcome of one successful load. */
  record Loaded(
      String jwksUri,
      KeySet keys,
      String caBundle,
      boolean discovered,
      String introspectionEndpoint) {}

  private final KubernetesClient client;
  private final IdentityProviderClient idp;

  IssuerKeyLoader(KubernetesClient client, IdentityProviderClient idp) {
    this.client = client;
    this.idp = idp;
  }

  /**
   * @param secretNamespace where {@code spec.caSecretRef} is looked up
   * @throws IssuerFailure with the reason of the first step that failed
   */
  Loaded load(TokenIssuerSpec spec, String secretNamespace) {
    IssuerTemplate.of(spec); // spec.tenants on an issuer that is not multi-tenant: InvalidSpec
    if (spec.jwks != null) {
      return new Loaded(
          null, KeySet.of(spec.jwks.keys), null, false, introspectionEndpoint(spec, null));
    }
    String ca = caBundle(spec, secretNamespace);
    String jwksUri = spec.jwksUri;
    IdentityProviderClient.Discovery discovery = null;
    if (spec.discovery) {
      discovery = idp.discover(spec, ca);
      if (jwksUri == null) {
        jwksUri = discovery.jwksUri();
      }
    }
    if (jwksUri == null) {
      throw new IssuerFailure(
          Reasons.INVALID_SPEC,
          "spec: no key source; set spec.discovery, spec.jwksUri or spec.jwks");
    }
    if (!jwksUri.startsWith("https://") && !spec.allowInsecureHttp) {
      throw new IssuerFailure(
          spec.discovery && spec.jwksUri == null ? Reasons.DISCOVERY_FAILED : Reasons.INVALID_SPEC,
          "the JWKS URI "
              + jwksUri
              + " is not https://; set spec.allowInsecureHttp: true only for development issuers");
    }
    String introspection = introspectionEndpoint(spec, discovery);
    return new Loaded(jwksUri, idp.fetchKeys(jwksUri, ca), ca, spec.discovery, introspection);
  }

  /**
   * The introspection endpoint of {@code spec.introspection}: its own, else discovery's; null
   * without introspection.
   */
  private static String introspectionEndpoint(
      TokenIssuerSpec spec, IdentityProviderClient.Discovery discovery) {
    if (spec.introspection == null) {
      return null;
    }
    String endpoint = spec.introspection.endpoint;
    if (endpoint == null && discovery != null) {
      endpoint = discovery.introspectionEndpoint();
    }
    if (endpoint == null) {
      throw new IssuerFailure(
          Reasons.INTROSPECTION_ENDPOINT_UNKNOWN,
          spec.discovery
              ? "spec.introspection sets no endpoint and the issuer's discovery publishes no"
                  + " introspection_endpoint; set spec.introspection.endpoint"
              : "spec.introspection.endpoint is required when discovery is off");
    }
    if (!endpoint.startsWith("https://") && !spec.allowInsecureHttp) {
      throw new IssuerFailure(
          Reasons.INTROSPECTION_ENDPOINT_UNKNOWN,
          "the introspection endpoint "
              + endpoint
              + " is not https://; set spec.allowInsecureHttp: true only for development issuers");
    }
    return endpoint;
  }

  private String caBundle(TokenIssuerSpec spec, String secretNamespace) {
    if (spec.caBundle != null) {
      IssuerTrust.sslContext(spec.caBundle); // fail early, with the spec's field named
      return spec.caBundle;
    }
    if (spec.caSecretRef == null) {
      return null;
    }
    String where = "Secret " + secretNamespace + "/" + spec.caSecretRef.name;
    Secret secret;
    try {
      secret = client.secrets().inNamespace(secretNamespace).withName(spec.caSecretRef.name).get();
    } catch (KubernetesClientException e) {
      throw new IssuerFailure(
          Reasons.CA_UNAVAILABLE, "cannot read " + where + ": " + e.getMessage());
    }
    if (secret == null) {
      throw new IssuerFailure(Reasons.CA_UNAVAILABLE, where + " (spec.caSecretRef) does not exist");
    }
    String key = spec.caSecretRef.key;
    String pem = null;
    if (secret.getData() != null && secret.getData().get(key) != null) {
      pem =
          new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
    } else if (secret.getStringData() != null) {
      pem = secret.getStringData().get(key);
    }
    if (pem == null) {
      throw new IssuerFailure(Reasons.CA_UNAVAILABLE, where + " has no key '" + key + "'");
    }
    IssuerTrust.sslContext(pem);
    return pem;
  }
}
