package io.tokengate.sidecar.validation;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyOperation;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import java.util.Set;

/**
 * One public key of an issuer that can verify signatures, with the algorithms it may verify and a
 * ready verifier. Built only from keys that pass {@link #from}: the type decides the algorithms
 * (RSA: RS*, PS*; EC: the one ES* of its curve; OKP Ed25519: EdDSA), and a key's own {@code alg}
 * narrows them further, so a token can never pick an algorithm its key was not made for.
 *
 * @param kid the key id, may be null
 * @param keyType {@code RSA}, {@code EC} or {@code OKP}
 * @param algorithms the algorithms this key verifies
 * @param thumbprint the RFC 7638 thumbprint (identifies the material, whatever the kid)
 * @param verifier a thread-safe verifier for this key
 */
record IssuerKey(
    String kid,
    String keyType,
    Set<JWSAlgorithm> algorithms,
    String thumbprint,
    JWSVerifier verifier) {

  private static final int MIN_RSA_BITS = 2048;
  private static final Set<JWSAlgorithm> RSA_ALGS =
      Set.of(
          JWSAlgorithm.RS256,
          JWSAlgorithm.RS384,
          JWSAlgorithm.RS512,
          JWSAlgorithm.PS256,
          JWSAlgorithm.PS384,
          JWSAlgorithm.PS512);

  boolean verifies(JWSAlgorithm alg) {
    return algorithms.contains(alg);
  }

  /**
   * The usable signing key in {@code jwk}, or an exception whose message says why it is skipped
   * (the message names no key material).
   */
  static IssuerKey from(JWK jwk) throws UnusableKeyException {
    if (jwk.getKeyUse() != null && !KeyUse.SIGNATURE.equals(jwk.getKeyUse())) {
      throw new UnusableKeyException("use is " + jwk.getKeyUse().identifier() + ", not sig");
    }
    if (jwk.getKeyOperations() != null && !jwk.getKeyOperations().contains(KeyOperation.VERIFY)) {
      throw new UnusableKeyException("key_ops does not include verify");
    }
    JWK pub = jwk.toPublicJWK();
    if (pub == null) {
      throw new UnusableKeyException("a symmetric (" + jwk.getKeyType() + ") key is never used");
    }
    Set<JWSAlgorithm> algs;
    JWSVerifier verifier;
    try {
      if (pub instanceof RSAKey rsa) {
        if (rsa.size() < MIN_RSA_BITS) {
          throw new UnusableKeyException(
              "RSA key of " + rsa.size() + " bits; at least " + MIN_RSA_BITS + " are required");
        }
        algs = RSA_ALGS;
        verifier = new RSASSAVerifier(rsa);
      } else if (pub instanceof ECKey ec) {
        JWSAlgorithm alg = ecAlgorithm(ec.getCurve());
        if (alg == null) {
          throw new UnusableKeyException("EC curve " + ec.getCurve() + " is not supported");
        }
        algs = Set.of(alg);
        verifier = new ECDSAVerifier(ec);
      } else if (pub instanceof OctetKeyPair okp) {
        if (!Curve.Ed25519.equals(okp.getCurve())) {
          throw new UnusableKeyException("OKP curve " + okp.getCurve() + " is not supported");
        }
        algs = Set.of(JWSAlgorithm.EdDSA);
        verifier = new JdkEd25519Verifier(okp);
      } else {
        throw new UnusableKeyException("key type " + pub.getKeyType() + " is not supported");
      }
    } catch (JOSEException e) {
      throw new UnusableKeyException("invalid key: " + e.getMessage());
    }
    if (jwk.getAlgorithm() != null) {
      String name = jwk.getAlgorithm().getName();
      // RFC 9864 names the Ed25519 instance of EdDSA "Ed25519"; tokens still say EdDSA.
      JWSAlgorithm declared =
          name.equals("Ed25519") && pub instanceof OctetKeyPair
              ? JWSAlgorithm.EdDSA
              : JWSAlgorithm.parse(name);
      if (!algs.contains(declared)) {
        throw new UnusableKeyException(
            "alg " + declared + " does not fit a " + pub.getKeyType() + " key");
      }
      algs = Set.of(declared);
    }
    try {
      String thumbprint = pub.computeThumbprint().toString();
      return new IssuerKey(jwk.getKeyID(), pub.getKeyType().getValue(), algs, thumbprint, verifier);
    } catch (JOSEException e) {
      throw new UnusableKeyException("invalid key: " + e.getMessage());
    }
  }

  private static JWSAlgorithm ecAlgorithm(Curve curve) {
    if (Curve.P_256.equals(curve)) {
      return JWSAlgorithm.ES256;
    }
    if (Curve.P_384.equals(curve)) {
      return JWSAlgorithm.ES384;
    }
    if (Curve.P_521.equals(curve)) {
      return JWSAlgorithm.ES512;
    }
    return null;
  }

  /** Why a published key cannot be used; the message is safe to log. */
  static final class UnusableKeyException extends Exception {
    UnusableKeyException(String message) {
      super(message, null, false, false);
    }
  }
}
