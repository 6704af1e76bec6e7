package io.tokengate.api.v1alpha1.apipolicy;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/** Where scopes and roles are read from; the defaults cover Entra, Okta, Auth0 and Keycloak. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ClaimSources {
  public static final List<String> DEFAULT_SCOPES = List.of("scope", "scp", "permissions");
  public static final List<String> DEFAULT_ROLES = List.of("roles", "realm_access.roles", "groups");

  @Size(min = 1, max = 8)
  @JsonPropertyDescription(
      "Claims holding scopes, space-delimited string or array. Default: scope, scp,"
          + " permissions.")
  public List<String> scopes;

  @Size(min = 1, max = 8)
  @JsonPropertyDescription(
      "Claims holding roles; dotted names reach nested claims. Default: roles,"
          + " realm_access.roles, groups.")
  public List<String> roles;

  public List<String> scopesOrDefault() {
    return scopes == null ? DEFAULT_SCOPES : scopes;
  }

  public List<String> rolesOrDefault() {
    return roles == null ? DEFAULT_ROLES : roles;
  }
}
