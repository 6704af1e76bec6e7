package io.tokengate.operator.webhook.tls;

import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The webhook's CA and serving certificate, as stored in the shared Secret ({@code ca.crt}, {@code
 * ca.key}, {@code tls.crt}, {@code tls.key}: a {@code kubernetes.io/tls} Secret that also carries
 * its CA).
 *
 * @param caCertificates the current CA first; after a CA rotation the previous one follows until it
 *     expires, so certificates of both stay trusted while replicas pick up the new one
 * @param caKey the current CA's key
 * @param certificate the serving certificate, signed by the current CA
 * @param key the serving certificate's key
 */
public record WebhookTlsMaterial(
    List<X509Certificate> caCertificates,
    PrivateKey caKey,
    X509Certificate certificate,
    PrivateKey key) {
  public static final String CA_CERT = "ca.crt";
  public static final String CA_KEY = "ca.key";
  public static final String TLS_CERT = "tls.crt";
  public static final String TLS_KEY = "tls.key";

  public WebhookTlsMaterial {
    caCertificates = List.copyOf(caCertificates);
    if (caCertificates.isEmpty()) {
      throw new IllegalArgumentException("no CA certificate");
    }
  }

  public X509Certificate ca() {
    return caCertificates.get(0);
  }

  /** What the API server trusts: every CA certificate, PEM. */
  public String caBundlePem() {
    return Pem.certificates(caCertificates);
  }

  public String certificatePem() {
    return Pem.certificates(List.of(certificate));
  }

  public String keyPem() {
    return Pem.privateKey(key);
  }

  /** The Secret's {@code data} (base64 values). */
  public Map<String, String> toSecretData() {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(CA_CERT, base64(caBundlePem()));
    data.put(CA_KEY, base64(Pem.privateKey(caKey)));
    data.put(TLS_CERT, base64(certificatePem()));
    data.put(TLS_KEY, base64(keyPem()));
    return data;
  }

  /** Reads a Secret's {@code data}; throws IllegalArgumentException naming what is wrong. */
  public static WebhookTlsMaterial fromSecretData(Map<String, String> data) {
    if (data == null) {
      throw new IllegalArgumentException("the Secret has no data");
    }
    return new WebhookTlsMaterial(
        Pem.parseCertificates(text(data, CA_CERT)),
        Pem.parsePrivateKey(text(data, CA_KEY)),
        Pem.parseCertificates(text(data, TLS_CERT)).get(0),
        Pem.parsePrivateKey(text(data, TLS_KEY)));
  }

  static String text(Map<String, String> data, String key) {
    String value = data.get(key);
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException("the Secret has no " + key);
    }
    return new String(Base64.getDecoder().decode(value), StandardCharsets.US_ASCII);
  }

  private static String base64(String text) {
    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
  }
}
