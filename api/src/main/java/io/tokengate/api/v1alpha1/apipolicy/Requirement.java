package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.List;
import java.util.Map;

/** Scopes, roles and claim values a token must carry. All listed conditions must hold. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Requirement {
  @Size(max = 32)
  @JsonPropertyDescription(
      "Every one of these scopes must be present (read from claimSources.scopes).")
  public List<String> scopes;

  @Size(max = 32)
  @JsonPropertyDescription(
      "At least one of these roles must be present (read from claimSources.roles).")
  public List<String> roles;

  @Size(max = 32)
  @JsonPropertyDescription(
      "Claim name (dotted for nested) -> allowed values; the claim (string, number, boolean or"
          + " array) must hold one of them.")
  public Map<String, List<String>> claims;

  @Size(max = 16)
  @JsonPropertyDescription(
      "The token must come from one of these issuers (names in issuerRef or issuerRefs).")
  public List<@Size(max = 253) String> issuers;
}
