package io.tokengate.e2e.idp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The decoded header and payload of a compact JWS, for assertions only: nothing here verifies a
 * signature (that is the sidecar's job, and what the e2e tests).
 */
public record Jwt(String compact, JsonNode header, JsonNode claims) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static Jwt decode(String compact) {
    String[] parts = compact.split("\\.");
    if (parts.length != 3) {
      throw new IllegalArgumentException("not a compact JWS: " + parts.length + " parts");
    }
    return new Jwt(compact, json(parts[0]), json(parts[1]));
  }

  public String kid() {
    return header.path("kid").asText(null);
  }

  public String issuer() {
    return claims.path("iss").asText(null);
  }

  /** {@code aud}, a string or an array, as a list. */
  public List<String> audiences() {
    return strings(claims.path("aud"));
  }

  /** The space-delimited {@code scope} claim as a list. */
  public List<String> scopes() {
    String scope = claims.path("scope").asText("");
    return scope.isBlank() ? List.of() : List.of(scope.trim().split("\\s+"));
  }

  public List<String> realmRoles() {
    return strings(claims.path("realm_access").path("roles"));
  }

  private static List<String> strings(JsonNode node) {
    List<String> out = new ArrayList<>();
    if (node.isTextual()) {
      out.add(node.asText());
    } else if (node.isArray()) {
      node.forEach(n -> out.add(n.asText()));
    }
    return out;
  }

  private static JsonNode json(String base64url) {
    try {
      return JSON.readTree(Base64.getUrlDecoder().decode(base64url));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
