package io.tokengate.operator.webhook.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WebhookCertificateIssuerTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final List<String> NAMES =
      WebhookTls.servingNames("tokengate-webhook", "tokengate-system", Optional.empty());

  static WebhookCertificateIssuer at(Instant now) {
    return new WebhookCertificateIssuer(
        Clock.fixed(now, ZoneOffset.UTC),
        Duration.ofDays(90),
        Duration.ofDays(30),
        WebhookCertificateIssuer.CA_VALIDITY);
  }

  @Test
  void servingCertificateNamesTheServiceAndLoopback() throws Exception {
    X509Certificate leaf = at(T0).issue(NAMES).certificate();
    assertThat(WebhookCertificateIssuer.subjectAltNames(leaf))
        .containsExactlyInAnyOrder(
            "tokengate-webhook.tokengate-system.svc",
            "tokengate-webhook.tokengate-system.svc.cluster.local",
            "localhost",
            "127.0.0.1");
    assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1"); // serverAuth
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1); // not a CA
  }

  @Test
  void urlHostIsAddedToTheNames() {
    assertThat(
            WebhookTls.servingNames("svc", "ns", Optional.of("https://10.0.0.5:8443/mutate-pods")))
        .contains("10.0.0.5", "127.0.0.1", "svc.ns.svc");
    assertThat(WebhookTls.servingNames("svc", "ns", Optional.of("https://127.0.0.1:8443/x")))
        .containsOnlyOnce("127.0.0.1");
  }

  @Test
  void validityCoversTheConfiguredLifetimesWithBackdating() {
    WebhookTlsMaterial material = at(T0).issue(NAMES);
    assertThat(material.certificate().getNotAfter())
        .isEqualTo(Date.from(T0.plus(Duration.ofDays(90))));
    assertThat(material.certificate().getNotBefore()).isBefore(Date.from(T0));
    assertThat(material.ca().getNotAfter())
        .isEqualTo(Date.from(T0.plus(WebhookCertificateIssuer.CA_VALIDITY)));
    assertThat(material.ca().getBasicConstraints()).isGreaterThanOrEqualTo(0);
  }

  @Test
  void caSignsTheServingCertificateAsAPkixPathValidatorSeesIt() throws Exception {
    WebhookTlsMaterial material = at(T0).issue(NAMES);
    var path =
        CertificateFactory.getInstance("X.509").generateCertPath(List.of(material.certificate()));
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(material.ca(), null)));
    params.setRevocationEnabled(false);
    params.setDate(Date.from(T0));
    CertPathValidator.getInstance("PKIX").validate(path, params); // throws when not signed
    WebhookTlsMaterial other = at(T0).issue(NAMES);
    assertThat(WebhookCertificateIssuer.signedBy(material.certificate(), other.ca())).isFalse();
  }

  @Test
  void secretDataRoundTrips() {
    WebhookTlsMaterial material = at(T0).issue(NAMES);
    Map<String, String> data = material.toSecretData();
    assertThat(data).containsOnlyKeys("ca.crt", "ca.key", "tls.crt", "tls.key");
    WebhookTlsMaterial read = WebhookTlsMaterial.fromSecretData(data);
    assertThat(read.certificate()).isEqualTo(material.certificate());
    assertThat(read.caCertificates()).isEqualTo(material.caCertificates());
    assertThat(read.key()).isEqualTo(material.key());
    assertThat(read.caKey()).isEqualTo(material.caKey());
    assertThatThrownBy(() -> WebhookTlsMaterial.fromSecretData(Map.of("tls.crt", "")))
        .hasMessageContaining("no ca.crt");
  }

  @Test
  void nothingIsRenewedEarly() {
    WebhookTlsMaterial material = at(T0).issue(NAMES);
    assertThat(at(T0.plus(Duration.ofDays(59))).renewal(material, NAMES)).isEmpty();
  }

  @Test
  void servingCertificateIsRenewedBeforeExpiryBySameCa() {
    WebhookTlsMaterial material = at(T0).issue(NAMES);
    Instant later = T0.plus(Duration.ofDays(61));
    WebhookTlsMaterial renewed = at(later).renewal(material, NAMES).orElseThrow();
    assertThat(renewed.caCertificates()).isEqualTo(material.caCertificates());
    assertThat(renewed.certificate().getSerialNumber())
        .isNotEqualTo(material.certificate().getSerialNumber());
    assertThat(renewed.certificate().getNotAfter())
        .isEqualTo(Date.from(later.plus(Duration.ofDays(90))));
    assertThat(WebhookCertificateIssuer.signedBy(renewed.certificate(), material.ca())).isTrue();
    assertThat(at(later).renewal(renewed, NAMES)).isEmpty();
  }

  @Test
  void changedNamesRenewTheServingCertificate() {
    WebhookTlsMaterial material = at(T0).issue(NAMES);
    List<String> moved = WebhookTls.servingNames("renamed", "tokengate-system", Optional.empty());
    WebhookTlsMaterial renewed = at(T0).renewal(material, moved).orElseThrow();
    assertThat(WebhookCertificateIssuer.subjectAltNames(renewed.certificate()))
        .contains("renamed.tokengate-system.svc");
  }

  @Test
  void caRotationKeepsTheOldCaTrustedUntilItExpires() {
    WebhookTlsMaterial material = at(T0).issue(NAMES);
    Instant late = T0.plus(WebhookCertificateIssuer.CA_VALIDITY.multipliedBy(3).dividedBy(4));
    WebhookTlsMaterial rotated = at(late).renewal(material, NAMES).orElseThrow();
    assertThat(rotated.caCertificates()).hasSize(2);
    assertThat(rotated.caCertificates().get(1)).isEqualTo(material.ca());
    assertThat(rotated.ca()).isNotEqualTo(material.ca());
    assertThat(WebhookCertificateIssuer.signedBy(rotated.certificate(), rotated.ca())).isTrue();
    assertThat(rotated.caBundlePem()).contains(Pem.certificates(List.of(material.ca())));
    // Once the old CA expired it leaves the bundle.
    Instant afterOldExpiry = T0.plus(WebhookCertificateIssuer.CA_VALIDITY).plus(Duration.ofDays(1));
    WebhookTlsMaterial pruned = at(afterOldExpiry).renewal(rotated, NAMES).orElseThrow();
    assertThat(pruned.caCertificates()).containsExactly(rotated.ca());
  }
}
