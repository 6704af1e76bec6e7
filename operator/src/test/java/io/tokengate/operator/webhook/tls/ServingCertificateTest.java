package io.tokengate.operator.webhook.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringWriter;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;
import org.junit.jupiter.api.Test;

/** Provided certificates come in the key formats tools write: all of them must be served. */
class ServingCertificateTest {
  static final List<String> NAMES = List.of("localhost", "127.0.0.1");

  static String traditionalPem(PrivateKey key) throws Exception {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(key); // "RSA PRIVATE KEY" (PKCS#1)
    }
    return out.toString();
  }

  /** SEC1 as openssl writes it: the curve named inside the key. */
  static String sec1Pem(PrivateKey key) throws Exception {
    PrivateKeyInfo info = PrivateKeyInfo.getInstance(key.getEncoded());
    ECPrivateKey inner = ECPrivateKey.getInstance(info.parsePrivateKey());
    ECPrivateKey withCurve =
        new ECPrivateKey(256, inner.getKey(), info.getPrivateKeyAlgorithm().getParameters());
    StringWriter out = new StringWriter();
    try (PemWriter writer = new PemWriter(out)) {
      writer.writeObject(new PemObject("EC PRIVATE KEY", withCurve.getEncoded()));
    }
    return out.toString();
  }

  @Test
  void pkcs8AndSec1KeysAreRead() throws Exception {
    WebhookTlsMaterial material = WebhookCertificateIssuerTest.at(Instant.now()).issue(NAMES);
    String sec1 = sec1Pem(material.key());
    assertThat(sec1).contains("BEGIN EC PRIVATE KEY");
    RotatingKeyManager keys = new RotatingKeyManager();
    keys.use(new ServingCertificate(material.certificatePem(), sec1));
    assertThat(keys.served()).isEqualTo(material.certificate());
    keys.use(ServingCertificate.of(material)); // PKCS#8
    String alias = keys.chooseEngineServerAlias("EC", null, null);
    assertThat(keys.getPrivateKey(alias)).isEqualTo(material.key());
    assertThat(keys.chooseEngineServerAlias("RSA", null, null))
        .as("an EC key is never offered for an RSA handshake")
        .isNull();
  }

  @Test
  void pkcs1RsaKeysAreRead() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    KeyPair pair = rsa.generateKeyPair();
    String pkcs1 = traditionalPem(pair.getPrivate());
    assertThat(pkcs1).contains("BEGIN RSA PRIVATE KEY");
    assertThat(Pem.parsePrivateKey(pkcs1)).isEqualTo(pair.getPrivate());
  }

  @Test
  void aKeyOfAnotherCertificateIsRefusedAndTheOldOneKeepsServing() {
    WebhookTlsMaterial first = WebhookCertificateIssuerTest.at(Instant.now()).issue(NAMES);
    WebhookTlsMaterial other = WebhookCertificateIssuerTest.at(Instant.now()).issue(NAMES);
    RotatingKeyManager keys = new RotatingKeyManager();
    keys.use(ServingCertificate.of(first));
    assertThatThrownBy(
            () -> keys.use(new ServingCertificate(other.certificatePem(), first.keyPem())))
        .hasMessageContaining("does not belong");
    assertThat(keys.served()).isEqualTo(first.certificate());
    assertThatThrownBy(() -> keys.use(new ServingCertificate("nope", first.keyPem())))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
