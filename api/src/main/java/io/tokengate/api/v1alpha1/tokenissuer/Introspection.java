package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.tokengate.api.v1alpha1.Durations;

/**
 * OAuth 2.0 token introspection (RFC 7662) for an issuer: tokens that are not JWTs (and, with mode
 * Always, JWTs as well) are checked by asking the issuer's introspection endpoint, authenticated
 * with a client id and secret. The secret never appears in the rendered sidecar configuration: in a
 * cluster it is a Secret the injected sidecar mounts read-only, standalone a file.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(
    value = "has(self.clientSecretRef)",
    message =
        "spec.introspection.clientSecretRef is required in a cluster (clientSecretFile is for the"
            + " standalone sidecar only)")
@ValidationRule(
    value = "!has(self.clientSecretFile)",
    message =
        "spec.introspection.clientSecretFile is for the standalone sidecar; in a cluster name the"
            + " Secret with clientSecretRef")
public class Introspection {
  /** Where the operator mounts the client Secrets in the sidecar: {@code <dir>/<secret>/<key>}. */
  public static final String SECRETS_DIR = "/etc/tokengate-secrets";

  @Size(max = 2048)
  @JsonPropertyDescription(
      "The introspection endpoint. Default: the introspection_endpoint of the issuer's OpenID"
          + " Connect discovery. https:// unless spec.allowInsecureHttp.")
  public String endpoint;

  @Required
  @Size(min = 1, max = 256)
  @JsonPropertyDescription(
      "The OAuth client the sidecar authenticates as (the IdP must allow it to introspect, e.g. a"
          + " confidential client in Keycloak).")
  public String clientId;

  @JsonPropertyDescription(
      "The Secret key holding the client secret. The Secret must exist in the namespace of the"
          + " protected pods (for a ClusterTokenIssuer: in every namespace whose policies use it);"
          + " the injected sidecar mounts it read-only and the rendered ConfigMap holds only its"
          + " file path. A missing Secret is reported on the ApiPolicy (IssuerResolved=False,"
          + " reason ClientSecretMissing).")
  public ClientSecretRef clientSecretRef;

  @Size(max = 4096)
  @JsonPropertyDescription(
      "Standalone sidecar only: a file holding the client secret (trailing newline ignored)."
          + " Refused by the API server; the operator sets it when it renders the configuration.")
  public String clientSecretFile;

  @Default("client_secret_basic")
  @JsonPropertyDescription(
      "Client authentication: client_secret_basic (default, HTTP Basic) or client_secret_post"
          + " (in the form body).")
  public ClientAuthMethod authMethod = ClientAuthMethod.client_secret_basic;

  @Default("OpaqueOnly")
  @JsonPropertyDescription(
      "OpaqueOnly (default): only tokens that are not JWTs are introspected. Always: JWTs too,"
          + " after they passed local validation, so a revoked token (for example of a logged-out"
          + " session) is refused before its exp; costs one IdP call per token per cacheTtl.")
  public IntrospectionMode mode = IntrospectionMode.OpaqueOnly;

  @Default("60s")
  @Pattern(Durations.PATTERN)
  @JsonPropertyDescription(
      "Longest time an answer is cached (keyed by the token's SHA-256, never the token): an"
          + " active token for min(its exp - now, cacheTtl), an inactive one for min(10s,"
          + " cacheTtl). A revoked token is refused at most this long after its revocation.")
  public String cacheTtl = "60s";
}
