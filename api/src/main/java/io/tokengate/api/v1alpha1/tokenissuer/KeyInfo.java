package io.tokengate.api.v1alpha1.tokenissuer;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Objects;

/** What status shows of one public key: never key material. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class KeyInfo {
  @JsonPropertyDescription("Key id (kid).")
  public String kid;

  @JsonPropertyDescription("Key type (RSA, EC, OKP).")
  public String kty;

  @JsonPropertyDescription("Algorithm the key is published for, if the JWKS names one.")
  public String alg;

  @JsonPropertyDescription("Public key use (sig), if the JWKS names one.")
  public String use;

  public KeyInfo() {}

  public KeyInfo(String kid, String kty, String alg, String use) {
    this.kid = kid;
    this.kty = kty;
    this.alg = alg;
    this.use = use;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyInfo k
        && Objects.equals(kid, k.kid)
        && Objects.equals(kty, k.kty)
        && Objects.equals(alg, k.alg)
        && Objects.equals(use, k.use);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kid, kty, alg, use);
  }
}
