package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.tokengate.api.v1alpha1.Durations;
import java.util.List;

/** One identity provider; shared by {@link TokenIssuer} and {@link ClusterTokenIssuer}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "self.issuer.startsWith('https://') || self.allowInsecureHttp",
    message =
        "spec.issuer must be an https:// URL; set spec.allowInsecureHttp: true only for"
            + " development issuers on plain HTTP")
@ValidationRule(
    value = "!has(self.jwksUri) || self.jwksUri.startsWith('https://') || self.allowInsecureHttp",
    message =
        "spec.jwksUri must be an https:// URL; set spec.allowInsecureHttp: true only for"
            + " development issuers on plain HTTP")
@ValidationRule(
    value = "!(has(self.jwks) && (has(self.jwksUri) || self.discovery))",
    message =
        "spec.jwks (static keys) contradicts spec.jwksUri and spec.discovery: with static keys"
            + " set discovery: false and omit jwksUri")
@ValidationRule(
    value = "self.discovery || has(self.jwksUri) || has(self.jwks)",
    message = "spec: no key source; enable spec.discovery, or set spec.jwksUri or spec.jwks")
@ValidationRule(
    value =
        "!has(self.introspection) || !has(self.introspection.endpoint) ||"
            + " self.introspection.endpoint.startsWith('https://') || self.allowInsecureHttp",
    message =
        "spec.introspection.endpoint must be an https:// URL; set spec.allowInsecureHttp: true"
            + " only for development issuers on plain HTTP")
@ValidationRule(
    value = "!(has(self.caBundle) && has(self.caSecretRef))",
    message = "spec.caBundle and spec.caSecretRef are mutually exclusive")
public class TokenIssuerSpec {

  @Required
  @Size(min = 1, max = 2048)
  @JsonPropertyDescription(
      "The issuer identifier. A token's `iss` claim must equal it exactly (including any"
          + " trailing slash). With discovery, `<issuer>/.well-known/openid-configuration` is"
          + " fetched and its `issuer` must match too.")
  public String issuer;

  @Default("true")
  @JsonPropertyDescription(
      "Fetch OpenID Connect discovery from `<issuer>/.well-known/openid-configuration` to find"
          + " the JWKS URI. Set false for issuers without discovery (then give jwksUri or jwks).")
  public boolean discovery = true;

  @Size(max = 2048)
  @JsonPropertyDescription(
      "JWKS URI. Overrides the one found by discovery; required when discovery is false and no"
          + " static jwks is given.")
  public String jwksUri;

  @JsonPropertyDescription(
      "Static JSON Web Key Set for air-gapped clusters. Contradicts jwksUri and discovery.")
  public Jwks jwks;

  @Size(min = 1, max = 32)
  @JsonPropertyDescription(
      "Default audiences for policies that reference this issuer and set none of their own.")
  public List<String> audiences;

  @Size(min = 1, max = 16)
  @JsonPropertyDescription(
      "Allowed JWS algorithms. Default: the asymmetric algorithms RS256, RS384, RS512, PS256,"
          + " PS384, PS512, ES256, ES384, ES512 and EdDSA. `none` and HMAC algorithms are never"
          + " accepted.")
  public List<Algorithm> algorithms;

  @Default("60")
  @Min(0)
  @Max(600)
  @JsonPropertyDescription(
      "Clock skew in seconds tolerated when checking exp, nbf and iat. Default 60.")
  public int clockSkewSeconds = 60;

  @Default("10m")
  @Pattern(Durations.PATTERN)
  @JsonPropertyDescription(
      "How often the JWKS is refreshed (Kubernetes duration, e.g. 10m, 1h). The sidecar also"
          + " refetches at once, rate limited, when a token names an unknown key id.")
  public String refreshInterval = "10m";

  @Size(max = 262144)
  @JsonPropertyDescription(
      "PEM bundle of CA certificates trusted when talking to the issuer over TLS. Default: the"
          + " JVM's trust store.")
  public String caBundle;

  @JsonPropertyDescription(
      "A Secret key holding the PEM CA bundle (alternative to caBundle). The Secret must live"
          + " in the TokenIssuer's namespace, or in the operator's namespace for a"
          + " ClusterTokenIssuer.")
  public SecretKeyRef caSecretRef;

  @JsonPropertyDescription(
      "Token introspection (RFC 7662): tokens that are not JWTs (with mode Always, every token)"
          + " are checked at the issuer's introspection endpoint; `active: false` is refused as"
          + " invalid_token, an unreachable endpoint fails closed (503).")
  public Introspection introspection;

  @Default("false")
  @JsonPropertyDescription(
      "Allow a plain-HTTP issuer or jwksUri. For local development only: tokens and keys then"
          + " travel unauthenticated.")
  public boolean allowInsecureHttp = false;
}
