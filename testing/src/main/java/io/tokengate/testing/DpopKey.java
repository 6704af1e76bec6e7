package io.tokengate.testing;

import com.nimbusds.jose.JOSEException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

/**
 * A client's DPoP key (RFC 9449): a real key pair, its RFC 7638 thumbprint (what a bound token's
 * {@code cnf.jkt} holds) and proofs signed with it. A proof is a {@link TokenBuilder} pre-filled as
 * a client makes it ({@code typ: dpop+jwt}, {@code alg}, the public {@code jwk}; {@code jti},
 * {@code htm}, {@code htu}, {@code iat} now, {@code ath} of the token), so a test can change any
 * part of it to build an attack.
 */
public final class DpopKey {
  private final SigningKey key;

  private DpopKey(SigningKey key) {
    this.key = key;
  }

  /** A fresh P-256 key for ES256 proofs. */
  public static DpopKey ec() {
    return new DpopKey(SigningKey.ec(null));
  }

  /** A fresh RSA 2048 key for PS256 proofs. */
  public static DpopKey rsa() {
    return new DpopKey(SigningKey.rsa(null, com.nimbusds.jose.JWSAlgorithm.PS256));
  }

  public SigningKey signingKey() {
    return key;
  }

  /** The RFC 7638 SHA-256 thumbprint of the public key, base64url: a bound token's cnf.jkt. */
  public String thumbprint() {
    try {
      return key.publicJwk().computeThumbprint().toString();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A proof for {@code method} on {@code url} presenting {@code accessToken}. */
  public TokenBuilder proof(String method, String url, String accessToken) {
    TokenBuilder b = new TokenBuilder(key, null, null);
    b.headerMap().clear();
    b.header("typ", "dpop+jwt")
        .header("alg", key.algorithm().getName())
        .header("jwk", key.publicJwk().toJSONObject());
    b.claimsMap().clear();
    b.claim("jti", UUID.randomUUID().toString())
        .claim("htm", method)
        .claim("htu", url)
        .claim("iat", Instant.now().getEpochSecond());
    if (accessToken != null) {
      b.claim("ath", ath(accessToken));
    }
    return b;
  }

  /** base64url(SHA-256(token)). */
  public static String ath(String accessToken) {
    try {
      byte[] h =
          MessageDigest.getInstance("SHA-256")
              .digest(accessToken.getBytes(StandardCharsets.US_ASCII));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(h);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
