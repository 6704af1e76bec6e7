package io.tokengate.sidecar.validation;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Set;

/**
 * EdDSA (Ed25519) signature verification with the JDK's own provider. nimbus' {@code
 * Ed25519Verifier} needs Google Tink on the classpath; the JDK has implemented Ed25519 since Java
 * 15, so the sidecar carries no extra crypto library for it.
 */
final class JdkEd25519Verifier implements JWSVerifier {
  // DER SubjectPublicKeyInfo for id-Ed25519 (1.3.101.112) up to the 32-byte raw key.
  private static final byte[] SPKI_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
  };

  private final PublicKey publicKey;
  private final JCAContext jcaContext = new JCAContext();

  JdkEd25519Verifier(OctetKeyPair key) throws JOSEException {
    if (!Curve.Ed25519.equals(key.getCurve())) {
      throw new JOSEException("only Ed25519 keys are supported, got " + key.getCurve());
    }
    byte[] x = key.getDecodedX();
    if (x.length != 32) {
      throw new JOSEException("an Ed25519 public key has 32 bytes, got " + x.length);
    }
    byte[] spki = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + 32);
    System.arraycopy(x, 0, spki, SPKI_PREFIX.length, 32);
    try {
      this.publicKey =
          KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
    } catch (GeneralSecurityException e) {
      throw new JOSEException("invalid Ed25519 public key", e);
    }
  }

  @Override
  public boolean verify(JWSHeader header, byte[] signingInput, Base64URL signature)
      throws JOSEException {
    if (!JWSAlgorithm.EdDSA.equals(header.getAlgorithm())) {
      return false;
    }
    byte[] sig = signature.decode();
    if (sig.length != 64) {
      return false;
    }
    try {
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(publicKey);
      verifier.update(signingInput);
      return verifier.verify(sig);
    } catch (GeneralSecurityException e) {
      // A signature the provider cannot even decode is simply not a valid signature.
      return false;
    }
  }

  @Override
  public Set<JWSAlgorithm> supportedJWSAlgorithms() {
    return Set.of(JWSAlgorithm.EdDSA);
  }

  @Override
  public JCAContext getJCAContext() {
    return jcaContext;
  }
}
