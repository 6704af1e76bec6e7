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
@ValidationRule(
    value =
        "!has(self.tenants) || self.issuer.matches('"
            + IssuerTemplate.MULTI_TENANT_ISSUER_PATTERN
            + "')",
    message =
        "spec.tenants applies only to a multi-tenant issuer such as"
            + " https://login.microsoftonline.com/organizations/v2.0 (path /organizations or"
            + " /common, optionally followed by /v2.0); a single-tenant issuer names its tenant in"
            + " spec.issuer")
public class TokenIssuerSpec {

  @Required
  @Size(min = 1, max = 2048)
  @JsonPropertyDescription(
      "The issuer identifier. A token's `iss` claim must equal it exactly (including any"
          + " trailing slash). With discovery, `<issuer>/.well-known/openid-configuration` is"
          + " fetched and its `issuer` must match too. Exception: with spec.tenants (multi-tenant"
          + " Microsoft Entra), iss and discovery's issuer follow the tenant template, see"
          + " spec.tenants.")
  public String issuer;

  @Size(min = 1, max = 1000)
  @ValidationRule(
      value = "!self.exists(t, t == '*') || size(self) == 1",
      message =
          "spec.tenants: '*' (every tenant) must be the only entry; list tenant ids or '*', not"
              + " both")
  @ValidationRule(
      value = "self.all(t, t == '*' || t.matches('" + IssuerTemplate.TENANT_ID_PATTERN + "'))",
      message =
          "spec.tenants: every entry must be a tenant id, a lower-case GUID as in the tokens' tid"
              + " claim (e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47), or '*' alone")
  @JsonPropertyDescription(
      "For a multi-tenant Microsoft Entra issuer (spec.issuer"
          + " https://login.microsoftonline.com/organizations/v2.0 or /common/v2.0, or their v1"
          + " forms without /v2.0): the tenant ids (lower-case GUIDs) whose tokens are accepted,"
          + " or [\"*\"] for every tenant, explicitly. Discovery of such an issuer names a"
          + " template (https://login.microsoftonline.com/{tenantid}/v2.0, v1:"
          + " https://sts.windows.net/{tenantid}/); a token is accepted only if its iss is that"
          + " template with the token's own tid claim in place of {tenantid} and that tid is"
          + " listed here. Without it such an issuer is not Ready (reason TenantsRequired).")
  public List<@Size(max = 36) String> tenants;

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
