package io.tokengate.operator.webhook.tls;

/**
 * What the HTTPS server presents: a PEM certificate chain and its PEM private key (PKCS#8, or
 * PKCS#1 and SEC1 from provided certificates).
 */
public record ServingCertificate(String certificateChainPem, String privateKeyPem) {
  public static ServingCertificate of(WebhookTlsMaterial material) {
    return new ServingCertificate(material.certificatePem(), material.keyPem());
  }
}
