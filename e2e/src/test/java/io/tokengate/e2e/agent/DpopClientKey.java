package io.tokengate.e2e.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

/**
 * An agent's DPoP key as a client library holds it (RFC 9449): a P-256 key pair made by the JDK,
 * its public JWK and RFC 7638 thumbprint, and ES256 proofs for a method and URL. Plain JDK crypto:
 * the e2e talks to the product as any client does, with none of the product's classes.
 */
final class DpopClientKey {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  private final KeyPair pair;
  private final String x;
  private final String y;

  private DpopClientKey(KeyPair pair) {
    this.pair = pair;
    ECPublicKey pub = (ECPublicKey) pair.getPublic();
    this.x = coordinate(pub.getW().getAffineX());
    this.y = coordinate(pub.getW().getAffineY());
  }

  static DpopClientKey generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return new DpopClientKey(g.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** base64url(SHA-256) of the JWK's required members in lexicographic order (RFC 7638). */
  String thumbprint() {
    String canonical = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"}";
    return B64.encodeToString(sha256(canonical));
  }

  /** A fresh proof for {@code method} on {@code url}; with {@code accessToken}, its {@code ath}. */
  String proof(String method, String url, String accessToken) {
    ObjectNode header = JSON.createObjectNode();
    header.put("typ", "dpop+jwt");
    header.put("alg", "ES256");
    ObjectNode jwk = header.putObject("jwk");
    jwk.put("kty", "EC");
    jwk.put("crv", "P-256");
    jwk.put("x", x);
    jwk.put("y", y);
    ObjectNode claims = JSON.createObjectNode();
    claims.put("jti", UUID.randomUUID().toString());
    claims.put("htm", method);
    claims.put("htu", url);
    claims.put("iat", Instant.now().getEpochSecond());
    if (accessToken != null) {
      claims.put("ath", B64.encodeToString(sha256(accessToken)));
    }
    String input =
        B64.encodeToString(header.toString().getBytes(StandardCharsets.UTF_8))
            + "."
            + B64.encodeToString(claims.toString().getBytes(StandardCharsets.UTF_8));
    try {
      Signature es256 = Signature.getInstance("SHA256withECDSAinP1363Format");
      es256.initSign(pair.getPrivate());
      es256.update(input.getBytes(StandardCharsets.US_ASCII));
      return input + "." + B64.encodeToString(es256.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String coordinate(BigInteger value) {
    byte[] raw = value.toByteArray();
    byte[] fixed = new byte[32];
    int copy = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - copy, fixed, 32 - copy, copy);
    return B64.encodeToString(fixed);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
