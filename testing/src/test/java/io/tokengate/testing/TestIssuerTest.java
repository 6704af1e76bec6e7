package io.tokengate.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.JSONObjectUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

/** The test issuer itself must behave like an IdP, or every test built on it proves nothing. */
class TestIssuerTest {
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private HttpResponse<String> get(HttpClient client, String uri) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create(uri)).timeout(Duration.ofSeconds(2)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void servesEntrasTenantIndependentDiscoveryAndTenantTokens() throws Exception {
    String tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    try (TestIssuer entra =
        TestIssuer.builder()
            .issuerPath("/organizations/v2.0")
            .tenantTemplate("/{tenantid}/v2.0")
            .key(SigningKey.rsa("entra-1").withoutAlgOnJwk())
            .start()) {
      Map<String, Object> doc = JSONObjectUtils.parse(get(http, entra.discoveryUri()).body());
      assertThat(entra.discoveryUri()).contains("/organizations/v2.0/.well-known/");
      assertThat(doc).containsEntry("issuer", entra.origin() + "/{tenantid}/v2.0");
      Map<String, Object> key =
          JSONObjectUtils.getJSONObjectArray(
              JSONObjectUtils.parse(get(http, entra.jwksUri()).body()), "keys")[0];
      assertThat(key).containsEntry("issuer", entra.issuerTemplate()).doesNotContainKey("alg");

      JWSObject token = JWSObject.parse(entra.tenantToken(tid).sign());
      assertThat(token.getPayload().toJSONObject())
          .containsEntry("iss", entra.origin() + "/" + tid + "/v2.0")
          .containsEntry("tid", tid);
      assertThat(token.verify(new RSASSAVerifier((RSAKey) entra.jwks().getKeyByKeyId("entra-1"))))
          .isTrue();
      assertThatThrownBy(() -> TestIssuer.builder().tenantTemplate("/common/v2.0"))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void servesDiscoveryAndJwksThatVerifyItsTokens() throws Exception {
    try (TestIssuer idp = TestIssuer.builder().issuerPath("/realms/corp").start()) {
      HttpResponse<String> discovery = get(http, idp.discoveryUri());
      assertThat(discovery.statusCode()).isEqualTo(200);
      Map<String, Object> doc = JSONObjectUtils.parse(discovery.body());
      assertThat(doc)
          .containsEntry("issuer", idp.issuer())
          .containsEntry("jwks_uri", idp.jwksUri());

      HttpResponse<String> jwks = get(http, idp.jwksUri());
      JWKSet set = JWKSet.parse(jwks.body());
      RSAKey key = (RSAKey) set.getKeyByKeyId("rsa-1");
      assertThat(key.isPrivate()).isFalse();

      JWSObject token = JWSObject.parse(idp.token().sign());
      assertThat(token.verify(new RSASSAVerifier(key))).isTrue();
      assertThat(idp.jwksRequests()).isEqualTo(1);
      assertThat(idp.discoveryRequests()).isEqualTo(1);
    }
  }

  @Test
  void trailingSlashIssuerDropsTheSlashForDiscovery() {
    try (TestIssuer idp = TestIssuer.builder().issuerPath("/tenant/").start()) {
      assertThat(idp.issuer()).endsWith("/tenant/");
      assertThat(idp.discoveryUri()).endsWith("/tenant/.well-known/openid-configuration");
    }
  }

  @Test
  void answersConditionalRequestsWith304() throws Exception {
    try (TestIssuer idp = TestIssuer.start()) {
      HttpResponse<String> first = get(http, idp.jwksUri());
      String etag = first.headers().firstValue("ETag").orElseThrow();
      HttpResponse<String> second =
          http.send(
              HttpRequest.newBuilder(URI.create(idp.jwksUri()))
                  .header("If-None-Match", etag)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(second.statusCode()).isEqualTo(304);
      idp.rotate();
      HttpResponse<String> third =
          http.send(
              HttpRequest.newBuilder(URI.create(idp.jwksUri()))
                  .header("If-None-Match", etag)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(third.statusCode()).isEqualTo(200);
      assertThat(JWKSet.parse(third.body()).getKeys()).hasSize(2);
    }
  }

  @Test
  void rotationPublishesTheNewKeyAndSignsWithIt() throws Exception {
    try (TestIssuer idp = TestIssuer.builder().key(SigningKey.ec("ec-1")).start()) {
      SigningKey next = idp.rotate();
      assertThat(JWSObject.parse(idp.token().sign()).getHeader().getKeyID()).isEqualTo(next.kid());
      idp.unpublish("ec-1");
      JWKSet set = JWKSet.parse(get(http, idp.jwksUri()).body());
      assertThat(set.getKeys()).extracting(k -> k.getKeyID()).containsExactly(next.kid());
      JWSObject token = JWSObject.parse(idp.token().sign());
      assertThat(token.verify(new ECDSAVerifier((ECKey) set.getKeys().get(0)))).isTrue();
    }
  }

  @Test
  void outagesBehaveAsNamedAndEnd() throws Exception {
    try (TestIssuer idp = TestIssuer.start()) {
      idp.goDown(TestIssuer.Outage.HTTP_500);
      assertThat(get(http, idp.jwksUri()).statusCode()).isEqualTo(500);

      idp.goDown(TestIssuer.Outage.CLOSE_CONNECTION);
      assertThatThrownBy(() -> get(http, idp.jwksUri())).isInstanceOf(IOException.class);

      idp.goDown(TestIssuer.Outage.HANG);
      assertThatThrownBy(() -> get(http, idp.jwksUri()))
          .isInstanceOf(java.net.http.HttpTimeoutException.class);

      idp.goDown(TestIssuer.Outage.REFUSE);
      assertThatThrownBy(() -> get(http, idp.jwksUri()))
          .isInstanceOf(java.net.ConnectException.class);

      idp.comeBack();
      assertThat(get(http, idp.jwksUri()).statusCode()).isEqualTo(200);
      // The JDK client retries a GET once when the connection is closed on it.
      assertThat(idp.jwksRequests()).isBetween(4, 5);
    }
  }

  @Test
  void httpsIsTrustedOnlyThroughItsCaBundle() throws Exception {
    try (TestIssuer idp = TestIssuer.builder().https().start()) {
      assertThat(idp.issuer()).startsWith("https://127.0.0.1:");
      assertThat(idp.spec().caBundle).isEqualTo(idp.caBundlePem());
      assertThat(idp.spec().allowInsecureHttp).isFalse();

      assertThatThrownBy(() -> get(http, idp.jwksUri())).isInstanceOf(IOException.class);

      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry(
          "idp",
          CertificateFactory.getInstance("X.509")
              .generateCertificate(
                  new ByteArrayInputStream(idp.caBundlePem().getBytes(StandardCharsets.US_ASCII))));
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      HttpClient trusting = HttpClient.newBuilder().sslContext(ctx).build();
      assertThat(get(trusting, idp.discoveryUri()).statusCode()).isEqualTo(200);
    }
  }
}
