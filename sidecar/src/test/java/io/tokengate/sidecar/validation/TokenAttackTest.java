package io.tokengate.sidecar.validation;

import static io.tokengate.sidecar.validation.Validation.accepted;
import static io.tokengate.sidecar.validation.Validation.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.EncryptionMethod;
import com.nimbusds.jose.JWEAlgorithm;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.JWEObject;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.RSAEncrypter;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import io.tokengate.api.v1alpha1.tokenissuer.Algorithm;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import io.tokengate.testing.TestTls;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every well-known JWT attack, against a real issuer with real RSA, EC and Ed25519 keys. */
class TokenAttackTest {
  private static Vertx vertx;
  private static TestIssuer idp;
  private static TestIssuer attacker;
  private static SigningKey rsa;
  private static SigningKey ec;
  private static SigningKey ed;
  private static JwtValidator validator;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    rsa = SigningKey.rsa("rsa-1");
    ec = SigningKey.ec("ec-1");
    ed = SigningKey.ed25519("ed-1");
    idp = TestIssuer.builder().key(rsa).key(ec).key(ed).start();
    attacker = TestIssuer.builder().key(SigningKey.rsa("evil-1")).start();
    validator = Validation.readyValidator(vertx, idp);
  }

  @AfterAll
  static void stop() {
    validator.close();
    idp.close();
    attacker.close();
    vertx.close();
  }

  @Test
  void aGenuineTokenOfEachKeyTypeIsAccepted() {
    for (SigningKey key : List.of(rsa, ec, ed)) {
      VerifiedToken t = accepted(validator, idp.token().signedBy(key).subject("alice").sign());
      assertThat(t.subject()).isEqualTo("alice");
      assertThat(t.issuer()).isEqualTo(idp.issuer());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "None", "NONE", "nOnE"})
  void algNoneInAnyCasingIsRefused(String alg) {
    assertRejected(
        validator,
        idp.token().header("alg", alg).unsigned(),
        RejectionReason.UNSUPPORTED_ALGORITHM);
    // ...also when a signature is attached.
    assertRejected(
        validator,
        idp.token().header("alg", alg).withSignature(new byte[256]),
        RejectionReason.UNSUPPORTED_ALGORITHM);
  }

  @ParameterizedTest
  @ValueSource(strings = {"HS256", "HS384", "HS512"})
  void hmacWithThePublicKeyAsSecretIsRefused(String alg) {
    RSAPublicKey pub;
    try {
      pub = ((RSAKey) rsa.publicJwk()).toRSAPublicKey();
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new AssertionError(e);
    }
    String pem =
        "-----BEGIN PUBLIC KEY-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(pub.getEncoded())
            + "\n-----END PUBLIC KEY-----\n";
    List<byte[]> secrets =
        List.of(
            pub.getEncoded(),
            pem.getBytes(StandardCharsets.US_ASCII),
            rsa.publicJwk().toJSONString().getBytes(StandardCharsets.UTF_8),
            idp.jwksJson().getBytes(StandardCharsets.UTF_8));
    int before = idp.jwksRequests();
    for (byte[] secret : secrets) {
      assertRejected(
          validator,
          idp.token().header("alg", alg).signWithHmac(secret),
          RejectionReason.UNSUPPORTED_ALGORITHM);
    }
    assertThat(idp.jwksRequests()).as("refused before any key lookup").isEqualTo(before);
  }

  @Test
  void algorithmNamesAreCaseSensitiveAndAllowListed() {
    assertRejected(
        validator,
        idp.token().header("alg", "rs256").sign(),
        RejectionReason.UNSUPPORTED_ALGORITHM);
    assertRejected(
        validator, idp.token().header("alg", "RS1").sign(), RejectionReason.UNSUPPORTED_ALGORITHM);
    TokenIssuerSpec onlyRs256 = idp.spec();
    onlyRs256.algorithms = List.of(Algorithm.RS256);
    JwtValidator strict = Validation.readyValidator(vertx, onlyRs256, Validation.registry());
    try {
      accepted(strict, idp.token().signedBy(rsa).sign());
      assertRejected(
          strict, idp.token().signedBy(ec).sign(), RejectionReason.UNSUPPORTED_ALGORITHM);
      assertRejected(
          strict,
          idp.token().signedBy(SigningKey.rsa("rsa-1", JWSAlgorithm.PS256)).sign(),
          RejectionReason.UNSUPPORTED_ALGORITHM);
    } finally {
      strict.close();
    }
  }

  @Test
  void aTamperedPayloadFailsTheSignature() {
    String genuine = idp.token().subject("alice").sign();
    String[] parts = genuine.split("\\.");
    String forgedPayload =
        idp.token().subject("admin").claim("scp", "everything").signingInput().split("\\.")[1];
    assertRejected(
        validator, parts[0] + "." + forgedPayload + "." + parts[2], RejectionReason.BAD_SIGNATURE);
  }

  @Test
  void aStrippedSignatureIsRefused() {
    String genuine = idp.token().sign();
    String withoutSignature = genuine.substring(0, genuine.lastIndexOf('.') + 1);
    assertRejected(validator, withoutSignature, RejectionReason.BAD_SIGNATURE);
    assertRejected(
        validator, genuine.substring(0, genuine.lastIndexOf('.')), RejectionReason.MALFORMED);
  }

  @Test
  void aSignatureOfAnotherKeyUnderAKnownKidIsRefused() {
    for (SigningKey key : List.of(rsa, ec, ed)) {
      assertRejected(
          validator,
          idp.token().signedBy(key.sameKidNewMaterial()).sign(),
          RejectionReason.BAD_SIGNATURE);
    }
  }

  @Test
  void keyUrlAndEmbeddedKeyHeadersAreNeverUsed() {
    SigningKey evil = attacker.activeKey();
    attacker.resetCounts();
    String x5c = Base64.getEncoder().encodeToString(pemBody(TestTls.get().certificatePem()));
    // Attacker-signed, pointing at the attacker's keys in every way a header can.
    String underKnownKid =
        idp.token()
            .signedBy(evil)
            .kid(rsa.kid())
            .header("jku", attacker.jwksUri())
            .header("x5u", attacker.jwksUri())
            .header("jwk", evil.publicJwk().toJSONObject())
            .header("x5c", List.of(x5c))
            .sign();
    assertRejected(validator, underKnownKid, RejectionReason.BAD_SIGNATURE);

    String underAttackerKid =
        idp.token()
            .signedBy(evil)
            .header("jku", attacker.jwksUri())
            .header("jwk", evil.publicJwk().toJSONObject())
            .sign();
    assertRejected(validator, underAttackerKid, RejectionReason.UNKNOWN_KID);

    String withoutKid =
        idp.token()
            .signedBy(evil)
            .kid(null)
            .header("jwk", evil.publicJwk().toJSONObject())
            .header("x5u", attacker.jwksUri())
            .sign();
    assertRejected(validator, withoutKid, RejectionReason.BAD_SIGNATURE);

    assertThat(attacker.jwksRequests() + attacker.discoveryRequests())
        .as("requests the validator sent to attacker URLs")
        .isZero();
  }

  @Test
  void anyCriticalHeaderIsRefused() {
    assertRejected(
        validator,
        idp.token().header("crit", List.of("exp")).header("exp", 1).sign(),
        RejectionReason.UNSUPPORTED_CRITICAL_HEADER);
    assertRejected(
        validator,
        idp.token().header("crit", List.of("b64")).header("b64", false).sign(),
        RejectionReason.UNSUPPORTED_CRITICAL_HEADER);
    assertRejected(
        validator,
        idp.token().header("crit", List.of()).sign(),
        RejectionReason.UNSUPPORTED_CRITICAL_HEADER);
  }

  @Test
  void theAllZeroEcdsaSignatureIsRefused() {
    // CVE-2022-21449: r = s = 0 verified as valid by broken ECDSA implementations.
    assertRejected(
        validator,
        idp.token().signedBy(ec).withSignature(new byte[64]),
        RejectionReason.BAD_SIGNATURE);
    // The same in DER form and with r = s = n (the curve order) fare no better.
    byte[] der = {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00};
    assertRejected(
        validator, idp.token().signedBy(ec).withSignature(der), RejectionReason.BAD_SIGNATURE);
    byte[] order =
        java.util.HexFormat.of()
            .parseHex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    byte[] rs = new byte[64];
    System.arraycopy(order, 0, rs, 0, 32);
    System.arraycopy(order, 0, rs, 32, 32);
    assertRejected(
        validator, idp.token().signedBy(ec).withSignature(rs), RejectionReason.BAD_SIGNATURE);
    assertRejected(
        validator,
        idp.token().signedBy(ed).withSignature(new byte[64]),
        RejectionReason.BAD_SIGNATURE);
  }

  @Test
  void anEncryptedTokenIsRefused() throws Exception {
    JWEObject jwe =
        new JWEObject(
            new JWEHeader(JWEAlgorithm.RSA_OAEP_256, EncryptionMethod.A256GCM),
            new Payload(Map.of("iss", idp.issuer(), "aud", TestIssuer.DEFAULT_AUDIENCE)));
    jwe.encrypt(new RSAEncrypter((RSAKey) rsa.publicJwk()));
    assertRejected(validator, jwe.serialize(), RejectionReason.JWE_NOT_SUPPORTED);
    assertRejected(
        validator, idp.token().header("enc", "A256GCM").sign(), RejectionReason.JWE_NOT_SUPPORTED);
  }

  @Test
  void malformedTokensAreRefusedAsMalformed() {
    String good = idp.token().sign();
    String[] p = good.split("\\.");
    String json = b64("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}");
    List<String> bad =
        List.of(
            "",
            "abc",
            p[0] + "." + p[1],
            good + ".x",
            good + ".x.y.z",
            p[0] + "!" + "." + p[1] + "." + p[2],
            p[0] + "." + p[1] + "." + p[2] + "=",
            p[0].replace('-', '+').replace('_', '/') + "x." + p[1] + "." + p[2],
            b64("not json") + "." + p[1] + "." + p[2],
            b64("[1,2]") + "." + p[1] + "." + p[2],
            b64("{\"alg\":256}") + "." + p[1] + "." + p[2],
            b64("{\"kid\":\"rsa-1\"}") + "." + p[1] + "." + p[2],
            json + "." + b64("not json") + "." + p[2],
            json + "." + b64("\"a string\"") + "." + p[2],
            json + "." + b64("{\"iss\":42}") + "." + p[2],
            "." + p[1] + "." + p[2],
            "a.b.c",
            Base64URL.encode(new byte[] {(byte) 0xff, (byte) 0xfe, '{', '}'})
                + "."
                + p[1]
                + "."
                + p[2],
            "x".repeat(70_000));
    for (String token : bad) {
      assertRejected(validator, token, RejectionReason.MALFORMED);
    }
    // A claim of the wrong type is as malformed as broken JSON.
    assertRejected(
        validator, idp.token().claim("exp", "tomorrow").sign(), RejectionReason.MALFORMED);
    assertRejected(validator, idp.token().claim("aud", 7).sign(), RejectionReason.MALFORMED);
  }

  @Test
  void nonCanonicalBase64OfAGenuineSignatureIsRefused() {
    String good = idp.token().signedBy(rsa).sign();
    accepted(validator, good);
    // RSA-2048 signatures are 256 bytes: 342 characters whose last one carries 4 unused bits.
    char last = good.charAt(good.length() - 1);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int v = alphabet.indexOf(last);
    String sameBytes = good.substring(0, good.length() - 1) + alphabet.charAt(v ^ 1);
    assertRejected(validator, sameBytes, RejectionReason.MALFORMED);
  }

  @Test
  void aKeyThatDoesNotFitTheAlgorithmIsRefused() {
    // Header says ES256 but names the RSA key (and the other way round): never verified.
    assertRejected(
        validator, idp.token().signedBy(ec).kid(rsa.kid()).sign(), RejectionReason.BAD_SIGNATURE);
    assertRejected(
        validator, idp.token().signedBy(rsa).kid(ec.kid()).sign(), RejectionReason.BAD_SIGNATURE);
    assertRejected(
        validator, idp.token().signedBy(rsa).kid(ed.kid()).sign(), RejectionReason.BAD_SIGNATURE);
    // The JWKS says rsa-1 is for RS256: a PS256 token under that kid is refused.
    SigningKey ps = SigningKey.rsa("rsa-1", JWSAlgorithm.PS256);
    assertRejected(validator, idp.token().signedBy(ps).sign(), RejectionReason.BAD_SIGNATURE);
  }

  @Test
  void encryptionKeysAreNeverUsedForSignatures() {
    try (TestIssuer withEncKey = TestIssuer.builder().key(SigningKey.rsa("sig-1")).start()) {
      SigningKey enc = SigningKey.rsa("enc-1").withUse(KeyUse.ENCRYPTION);
      withEncKey.publish(enc);
      JwtValidator v = Validation.readyValidator(vertx, withEncKey);
      try {
        assertThat(v.keys().keyCount()).isEqualTo(1);
        assertRejected(v, withEncKey.token().signedBy(enc).sign(), RejectionReason.UNKNOWN_KID);
      } finally {
        v.close();
      }
    }
  }

  @Test
  void aTokenWithoutKidIsTriedAgainstKeysOfItsType() {
    accepted(validator, idp.token().signedBy(rsa).kid(null).sign());
    accepted(validator, idp.token().signedBy(ed).kid(null).sign());
    assertRejected(
        validator,
        idp.token().signedBy(rsa.sameKidNewMaterial()).kid(null).sign(),
        RejectionReason.BAD_SIGNATURE);
  }

  private static String b64(String s) {
    return Base64URL.encode(s.getBytes(StandardCharsets.UTF_8)).toString();
  }

  private static byte[] pemBody(String pem) {
    String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return Base64.getDecoder().decode(body);
  }
}
