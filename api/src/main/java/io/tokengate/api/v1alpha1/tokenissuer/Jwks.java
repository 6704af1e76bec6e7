package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.PreserveUnknownFields;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;
import java.util.Map;

/** A JSON Web Key Set (RFC 7517) as an object with a {@code keys} array. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Jwks {
  @Required
  @Size(min = 1, max = 64)
  @PreserveUnknownFields
  @JsonPropertyDescription("The public JSON Web Keys (kty, kid, alg, use, n/e, crv/x/y ...).")
  public List<Map<String, Object>> keys;

  public Jwks() {}

  public Jwks(List<Map<String, Object>> keys) {
    this.keys = keys;
  }
}
