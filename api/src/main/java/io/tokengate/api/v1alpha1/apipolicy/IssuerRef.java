package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** Reference to a TokenIssuer (same namespace) or a ClusterTokenIssuer. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class IssuerRef {
  @Default("TokenIssuer")
  @JsonPropertyDescription("TokenIssuer (in the policy's namespace) or ClusterTokenIssuer.")
  public IssuerKind kind = IssuerKind.TokenIssuer;

  @Required
  @Size(min = 1, max = 253)
  @JsonPropertyDescription("Name of the issuer.")
  public String name;

  public IssuerRef() {}

  public IssuerRef(IssuerKind kind, String name) {
    this.kind = kind;
    this.name = name;
  }

  /** The kinds an ApiPolicy can reference. */
  public enum IssuerKind {
    TokenIssuer,
    ClusterTokenIssuer
  }
}
