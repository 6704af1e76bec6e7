package io.tokengate.api.v1alpha1.schema;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;

/**
 * The CRD schema of one JSON Web Key (RFC 7517/7518): the public members, plus the private ones
 * only so that the API server can refuse them. Only the schema comes from here; the model keeps a
 * plain map per key.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class JwkSchema {
  @Required
  @JsonPropertyDescription("Key type: RSA, EC or OKP.")
  public String kty;

  @Size(max = 256)
  @JsonPropertyDescription("Key id, matched against a token's kid header.")
  public String kid;

  @JsonPropertyDescription("Public key use; sig (or absent) for signing keys.")
  public String use;

  @JsonPropertyDescription("Algorithm the key is meant for, e.g. RS256.")
  public String alg;

  @JsonProperty("key_ops")
  @JsonPropertyDescription("Permitted operations, e.g. verify.")
  public List<String> keyOps;

  @JsonPropertyDescription("RSA modulus (base64url).")
  public String n;

  @JsonPropertyDescription("RSA public exponent (base64url).")
  public String e;

  @JsonPropertyDescription("Curve of an EC or OKP key: P-256, P-384, P-521, Ed25519.")
  public String crv;

  @JsonPropertyDescription("EC x coordinate or OKP public key (base64url).")
  public String x;

  @JsonPropertyDescription("EC y coordinate (base64url).")
  public String y;

  @JsonPropertyDescription("X.509 certificate chain (base64 DER).")
  public List<String> x5c;

  @JsonPropertyDescription("X.509 certificate SHA-1 thumbprint.")
  public String x5t;

  @JsonProperty("x5t#S256")
  @JsonPropertyDescription("X.509 certificate SHA-256 thumbprint.")
  public String x5tS256;

  @JsonPropertyDescription("Private member: refused.")
  public String d;

  @JsonPropertyDescription("Private member: refused.")
  public String p;

  @JsonPropertyDescription("Private member: refused.")
  public String q;

  @JsonPropertyDescription("Symmetric key value: refused.")
  public String k;
}
