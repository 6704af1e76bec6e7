package io.tokengate.operator.webhook.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * What the HTTPS server presents: a PEM certificate chain and its PEM private key (PKCS#8, or
 * PKCS#1 and SEC1 as provided certificates often come).
 */
public record ServingCertificate(String certificateChainPem, String privateKeyPem) {
  public static ServingCertificate of(WebhookTlsMaterial material) {
    return new ServingCertificate(material.certificatePem(), material.keyPem());
  }

  /** The parsed chain, leaf first; throws IllegalArgumentException when unreadable. */
  public X509Certificate[] chain() {
    List<X509Certificate> chain = Pem.parseCertificates(certificateChainPem);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("the serving certificate PEM holds no certificate");
    }
    return chain.toArray(X509Certificate[]::new);
  }

  public PrivateKey privateKey() {
    return Pem.parsePrivateKey(privateKeyPem);
  }
}
