package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.tokengate.api.v1alpha1.schema.JwkSchema;
import java.util.List;
import java.util.Map;

/** A JSON Web Key Set (RFC 7517) as an object with a {@code keys} array. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Jwks {
  @Required
  @Size(min = 1, max = 64)
  @SchemaFrom(type = JwkSchema[].class)
  @ValidationRule(
      value = "self.all(k, has(k.kty) && k.kty in ['RSA', 'EC', 'OKP'])",
      message = "spec.jwks.keys[]: every key needs kty RSA, EC or OKP (asymmetric public keys)")
  @ValidationRule(
      value = "self.all(k, !has(k.d) && !has(k.k) && !has(k.p) && !has(k.q))",
      message =
          "spec.jwks.keys[]: private or symmetric key material (d, k, p, q) must not be put in"
              + " a resource; publish public keys only")
  @JsonPropertyDescription(
      "The public JSON Web Keys (kty, kid, alg, use, n/e, crv/x/y ...). In YAML quote the member"
          + " names \"n\" and \"y\": unquoted, YAML 1.1 readers take them for booleans.")
  public List<Map<String, Object>> keys;

  public Jwks() {}

  public Jwks(List<Map<String, Object>> keys) {
    this.keys = keys;
  }
}
