package io.tokengate.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Map;

/**
 * A real private signing key for tests: RSA 2048 (RS256..RS512, PS256..PS512), EC P-256/P-384/P-521
 * (ES256/ES384/ES512) or Ed25519 (EdDSA), with its key id. Ed25519 signing uses the JDK provider,
 * because nimbus' Ed25519 signer needs Google Tink, which the sidecar does not ship.
 *
 * <pre>{@code
 * SigningKey rsa = SigningKey.rsa("rsa-1");
 * SigningKey ec = SigningKey.ec("ec-1");               // ES256 on P-256
 * SigningKey ps = SigningKey.rsa("ps-1", JWSAlgorithm.PS256);
 * SigningKey ed = SigningKey.ed25519("ed-1");
 * SigningKey attacker = rsa.sameKidNewMaterial();        // same kid, different private key
 * }</pre>
 */
public final class SigningKey {
  private static final byte[] ED25519_PKCS8_PREFIX = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
  };

  private final String kid;
  private final JWSAlgorithm algorithm;
  private final JWK privateJwk;
  private final boolean publishAlg;
  private final KeyUse use;

  private SigningKey(
      String kid, JWSAlgorithm algorithm, JWK privateJwk, boolean publishAlg, KeyUse use) {
    this.kid = kid;
    this.algorithm = algorithm;
    this.privateJwk = privateJwk;
    this.publishAlg = publishAlg;
    this.use = use;
  }

  /** A fresh RSA 2048 key for RS256. */
  public static SigningKey rsa(String kid) {
    return rsa(kid, JWSAlgorithm.RS256);
  }

  /** A fresh RSA 2048 key for one of RS256/RS384/RS512/PS256/PS384/PS512. */
  public static SigningKey rsa(String kid, JWSAlgorithm alg) {
    try {
      RSAKey key = new RSAKeyGenerator(2048).keyID(kid).generate();
      return new SigningKey(kid, alg, key, true, KeyUse.SIGNATURE);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A fresh EC P-256 key for ES256. */
  public static SigningKey ec(String kid) {
    return ec(kid, JWSAlgorithm.ES256);
  }

  /** A fresh EC key on the curve {@code alg} needs (ES256 P-256, ES384 P-384, ES512 P-521). */
  public static SigningKey ec(String kid, JWSAlgorithm alg) {
    Curve curve = Curve.forJWSAlgorithm(alg).iterator().next();
    try {
      ECKey key = new ECKeyGenerator(curve).keyID(kid).generate();
      return new SigningKey(kid, alg, key, true, KeyUse.SIGNATURE);
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A fresh Ed25519 key for EdDSA. */
  public static SigningKey ed25519(String kid) {
    try {
      KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      byte[] spki = pair.getPublic().getEncoded();
      byte[] pkcs8 = pair.getPrivate().getEncoded();
      byte[] x = Arrays.copyOfRange(spki, spki.length - 32, spki.length);
      byte[] d = Arrays.copyOfRange(pkcs8, pkcs8.length - 32, pkcs8.length);
      OctetKeyPair key =
          new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(x))
              .d(Base64URL.encode(d))
              .keyID(kid)
              .build();
      return new SigningKey(kid, JWSAlgorithm.EdDSA, key, true, KeyUse.SIGNATURE);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A new key of the same type and algorithm under {@code newKid} (for rotations). */
  public SigningKey successor(String newKid) {
    return switch (privateJwk.getKeyType().getValue()) {
      case "RSA" -> rsa(newKid, algorithm);
      case "EC" -> ec(newKid, algorithm);
      default -> ed25519(newKid);
    };
  }

  /** A different private key that claims this key's {@code kid}: what an attacker would forge. */
  public SigningKey sameKidNewMaterial() {
    return successor(kid);
  }

  /** The same key published without an {@code alg} member (as Entra ID publishes its keys). */
  public SigningKey withoutAlgOnJwk() {
    return new SigningKey(kid, algorithm, privateJwk, false, use);
  }

  /** The same key published with {@code use}, e.g. {@link KeyUse#ENCRYPTION}; null omits it. */
  public SigningKey withUse(KeyUse newUse) {
    return new SigningKey(kid, algorithm, privateJwk, publishAlg, newUse);
  }

  public String kid() {
    return kid;
  }

  public JWSAlgorithm algorithm() {
    return algorithm;
  }

  /** The public JWK as an issuer publishes it in its JWKS. */
  public JWK publicJwk() {
    Map<String, Object> json = privateJwk.toPublicJWK().toJSONObject();
    if (publishAlg) {
      json.put("alg", algorithm.getName());
    }
    if (use != null) {
      json.put("use", use.identifier());
    }
    try {
      return JWK.parse(json);
    } catch (java.text.ParseException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The private JWK (tests that need raw key material, e.g. the HMAC-confusion attack). */
  public JWK privateJwk() {
    return privateJwk;
  }

  /** Signs {@code signingInput} (the ASCII of {@code header.payload}) with this key's algorithm. */
  public byte[] sign(byte[] signingInput) {
    try {
      if (privateJwk instanceof RSAKey rsaKey) {
        return new RSASSASigner(rsaKey).sign(new JWSHeader(algorithm), signingInput).decode();
      }
      if (privateJwk instanceof ECKey ecKey) {
        return new ECDSASigner(ecKey).sign(new JWSHeader(algorithm), signingInput).decode();
      }
      OctetKeyPair okp = (OctetKeyPair) privateJwk;
      byte[] d = okp.getDecodedD();
      byte[] pkcs8 = Arrays.copyOf(ED25519_PKCS8_PREFIX, ED25519_PKCS8_PREFIX.length + 32);
      System.arraycopy(d, 0, pkcs8, ED25519_PKCS8_PREFIX.length, 32);
      PrivateKey privateKey =
          KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      Signature signature = Signature.getInstance("Ed25519");
      signature.initSign(privateKey);
      signature.update(signingInput);
      return signature.sign();
    } catch (JOSEException | GeneralSecurityException e) {
      throw new IllegalStateException("signing with " + kid + " failed", e);
    }
  }

  @Override
  public String toString() {
    return "SigningKey[" + kid + ", " + algorithm + "]";
  }
}
