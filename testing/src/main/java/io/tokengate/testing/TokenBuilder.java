package io.tokengate.testing;

import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Builds a compact JWS with arbitrary header and claims, signed by a real key. Obtained from {@link
 * TestIssuer#token()}, pre-filled the way an IdP would issue it: header {@code alg} and {@code kid}
 * of the issuer's active key and {@code typ: JWT}; claims {@code iss} (the issuer), {@code sub},
 * {@code aud} ({@link TestIssuer#DEFAULT_AUDIENCE}), {@code iat} now, {@code exp} in five minutes.
 *
 * <pre>{@code
 * String ok = idp.token().audience("api://orders").claim("scp", "orders.read").sign();
 * String expired = idp.token().expiresAt(Instant.now().minusSeconds(3600)).sign();
 * String none = idp.token().header("alg", "none").unsigned();
 * String forged = idp.token().signedBy(idp.activeKey().sameKidNewMaterial()).sign();
 * }</pre>
 *
 * Nothing here checks that the result is valid: building invalid tokens is the point.
 */
public final class TokenBuilder {
  private final Map<String, Object> header = new LinkedHashMap<>();
  private final Map<String, Object> claims = new LinkedHashMap<>();
  private SigningKey key;

  TokenBuilder(SigningKey key, String issuer, String audience) {
    this.key = key;
    header.put("alg", key.algorithm().getName());
    header.put("typ", "JWT");
    header.put("kid", key.kid());
    long now = Instant.now().getEpochSecond();
    claims.put("iss", issuer);
    claims.put("sub", "test-subject");
    claims.put("aud", audience);
    claims.put("iat", now);
    claims.put("exp", now + 300);
  }

  /** Sign with {@code signer}; also sets header {@code alg} and {@code kid} to that key's. */
  public TokenBuilder signedBy(SigningKey signer) {
    this.key = signer;
    header.put("alg", signer.algorithm().getName());
    header.put("kid", signer.kid());
    return this;
  }

  /** Sets (or, with null, removes) a header parameter. */
  public TokenBuilder header(String name, Object value) {
    if (value == null) {
      header.remove(name);
    } else {
      header.put(name, value);
    }
    return this;
  }

  public TokenBuilder kid(String kid) {
    return header("kid", kid);
  }

  public TokenBuilder type(String typ) {
    return header("typ", typ);
  }

  /** Sets (or, with null, removes) a claim. Values: String, Number, Boolean, List, Map. */
  public TokenBuilder claim(String name, Object value) {
    if (value == null) {
      claims.remove(name);
    } else {
      claims.put(name, value);
    }
    return this;
  }

  public TokenBuilder issuer(String iss) {
    return claim("iss", iss);
  }

  public TokenBuilder subject(String sub) {
    return claim("sub", sub);
  }

  /** One audience is written as a string, several as an array. */
  public TokenBuilder audience(String... aud) {
    return claim("aud", aud.length == 1 ? aud[0] : List.of(aud));
  }

  /** The audience as an array even when there is only one. */
  public TokenBuilder audienceArray(String... aud) {
    return claim("aud", List.of(aud));
  }

  /** Sets exp (seconds since the epoch); null removes it. */
  public TokenBuilder expiresAt(Instant exp) {
    return claim("exp", exp == null ? null : exp.getEpochSecond());
  }

  public TokenBuilder expiresIn(Duration lifetime) {
    return expiresAt(Instant.now().plus(lifetime));
  }

  public TokenBuilder withoutExpiry() {
    return claim("exp", null);
  }

  /** Sets nbf (seconds since the epoch); null removes it. */
  public TokenBuilder notBefore(Instant nbf) {
    return claim("nbf", nbf == null ? null : nbf.getEpochSecond());
  }

  /** Sets iat (seconds since the epoch); null removes it. */
  public TokenBuilder issuedAt(Instant iat) {
    return claim("iat", iat == null ? null : iat.getEpochSecond());
  }

  /** The header as it will be serialized (mutable: tests may edit it directly). */
  public Map<String, Object> headerMap() {
    return header;
  }

  /** The claims as they will be serialized (mutable). */
  public Map<String, Object> claimsMap() {
    return claims;
  }

  /** {@code base64url(header).base64url(claims)}: the JWS signing input. */
  public String signingInput() {
    return encode(JSONObjectUtils.toJSONString(header))
        + "."
        + encode(JSONObjectUtils.toJSONString(claims));
  }

  /** Signed with the key's own algorithm, whatever the header's {@code alg} says. */
  public String sign() {
    String input = signingInput();
    byte[] signature = key.sign(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + Base64URL.encode(signature);
  }

  /** An unsecured JWS: {@code header.payload.} with an empty signature. */
  public String unsigned() {
    return signingInput() + ".";
  }

  /** Signed with HMAC (algorithm from the header's {@code alg}, HS256 if it is not HS*). */
  public String signWithHmac(byte[] secret) {
    String alg = String.valueOf(header.get("alg"));
    String mac =
        switch (alg) {
          case "HS384" -> "HmacSHA384";
          case "HS512" -> "HmacSHA512";
          default -> "HmacSHA256";
        };
    String input = signingInput();
    try {
      Mac hmac = Mac.getInstance(mac);
      hmac.init(new SecretKeySpec(secret, mac));
      return input
          + "."
          + Base64URL.encode(hmac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The signing input followed by exactly these signature bytes. */
  public String withSignature(byte[] signature) {
    return signingInput() + "." + Base64URL.encode(Arrays.copyOf(signature, signature.length));
  }

  private static String encode(String json) {
    return Base64URL.encode(json.getBytes(StandardCharsets.UTF_8)).toString();
  }
}
