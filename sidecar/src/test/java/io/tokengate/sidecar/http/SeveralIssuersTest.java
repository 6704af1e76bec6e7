package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One policy trusting several issuers ({@code spec.issuerRefs}) through the real sidecar: two real
 * issuers with their own default audiences, a third whose keys never load (its server is gone
 * before the sidecar starts), and a stranger the policy does not trust.
 */
class SeveralIssuersTest {
  static TestIssuer corp;
  static TestIssuer partner;
  static TestIssuer gone;
  static TestIssuer stranger;
  static EchoUpstream app;
  static InProcessSidecar gate;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    corp = TestIssuer.start();
    partner = TestIssuer.start();
    gone = TestIssuer.start();
    stranger = TestIssuer.start();
    app = EchoUpstream.start();
    Path dir = Files.createTempDirectory("several-issuers");
    PolicyFiles.write(
        dir.resolve("corp.yaml"), PolicyFiles.issuerYaml("corp", spec(corp, "api://corp")));
    PolicyFiles.write(
        dir.resolve("partner.yaml"),
        PolicyFiles.issuerYaml("partner", spec(partner, "api://partner")));
    PolicyFiles.write(
        dir.resolve("gone.yaml"), PolicyFiles.issuerYaml("gone", spec(gone, "api://gone")));
    gone.close();
    PolicyFiles.write(
        dir.resolve("policy.yaml"),
        """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: orders-api, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          issuerRefs:
            - {name: corp}
            - {name: partner}
            - {name: gone}
          upstream: {port: %d}
          rules:
            - paths: ["/admin/**"]
              require: {issuers: [corp]}
        """
            .formatted(app.port()));
    gate = InProcessSidecar.start(dir);
    stranger.resetCounts();
  }

  static TokenIssuerSpec spec(TestIssuer idp, String audience) {
    TokenIssuerSpec s = idp.spec();
    s.audiences = List.of(audience);
    return s;
  }

  @AfterAll
  static void stop() {
    gate.close();
    app.close();
    corp.close();
    partner.close();
    stranger.close();
  }

  @BeforeEach
  void clear() {
    app.clear();
  }

  static HttpResponse<String> get(String path, String token) throws Exception {
    return http.send(
        HttpRequest.newBuilder(gate.uri(path)).header("Authorization", "Bearer " + token).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static String reason(HttpResponse<String> r) {
    String type = new JsonObject(r.body()).getString("type");
    return type.substring(type.lastIndexOf('/') + 1);
  }

  @Test
  void eachIssuersTokensAreAcceptedWithThatIssuersAudience() throws Exception {
    assertThat(get("/orders", corp.token().audience("api://corp").sign()).statusCode())
        .isEqualTo(200);
    assertThat(get("/orders", partner.token().audience("api://partner").sign()).statusCode())
        .isEqualTo(200);
    HttpResponse<String> crossed = get("/orders", corp.token().audience("api://partner").sign());
    assertThat(crossed.statusCode()).isEqualTo(401);
    assertThat(reason(crossed)).isEqualTo("wrong_audience");
  }

  @Test
  void aTokenOfAnIssuerThePolicyDoesNotTrustIsRefusedWithoutFetchingAnyKeys() throws Exception {
    HttpResponse<String> r = get("/orders", stranger.token().audience("api://corp").sign());
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(reason(r)).isEqualTo("wrong_issuer");
    assertThat(stranger.jwksRequests()).isZero();
    assertThat(stranger.discoveryRequests()).isZero();
  }

  @Test
  void aTokenIsVerifiedOnlyWithTheKeysOfTheIssuerItNames() throws Exception {
    // Claims corp as its issuer, signed by partner's key: only corp's key of that kid (both test
    // issuers name their first key alike) is tried, and it does not verify partner's signature.
    assertThat(partner.activeKey().kid()).isEqualTo(corp.activeKey().kid());
    String forged = partner.token().issuer(corp.issuer()).audience("api://corp").sign();
    HttpResponse<String> r = get("/orders", forged);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(reason(r)).isEqualTo("bad_signature");
  }

  @Test
  void aRuleMayRequireAParticularIssuer() throws Exception {
    assertThat(get("/admin/x", corp.token().audience("api://corp").sign()).statusCode())
        .isEqualTo(200);
    HttpResponse<String> r = get("/admin/x", partner.token().audience("api://partner").sign());
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(reason(r)).isEqualTo("issuer_not_allowed");
  }

  @Test
  void anIssuerWhoseKeysNeverLoadedLeavesTheOthersServing() throws Exception {
    assertThat(gate.sidecar().state().notReadyReason()).isNull();
    HttpResponse<String> r = get("/orders", gone.token().audience("api://gone").sign());
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(get("/orders", corp.token().audience("api://corp").sign()).statusCode())
        .isEqualTo(200);
  }

  @Test
  void theMetadataAndTheLogNameEveryIssuer() {
    assertThat(gate.events("startup").get(0).getString("issuer"))
        .contains(corp.issuer())
        .contains(partner.issuer())
        .contains(gone.issuer());
  }
}
