package io.tokengate.e2e.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.idp.KeycloakExtension;
import io.tokengate.e2e.support.Ports;
import io.tokengate.e2e.support.Repo;
import io.tokengate.e2e.support.UpstreamApp;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One policy trusting two real identity providers (two Keycloak realms, each its own issuer with
 * its own keys and audience): each one's tokens are accepted with that issuer's audience, a rule
 * can be kept for one of them, and tokens meant for neither are refused. The sidecar runs as the
 * standalone jar on the YAML a user would apply.
 */
@ExtendWith(KeycloakExtension.class)
class SeveralIssuersIT {
  static Keycloak keycloak;
  static UpstreamApp app;
  static StandaloneSidecar gate;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start(Keycloak shared) throws IOException {
    Path dir = Files.createTempDirectory(Repo.workDir(), "several-issuers-");
    int upstreamPort = Ports.free();
    app = UpstreamApp.start(upstreamPort);
    keycloak = shared.awaitReady(Duration.ofMinutes(5));
    int port = StandaloneSidecar.reservePort();
    gate = StandaloneSidecar.start(dir, port, config(upstreamPort));
  }

  @AfterAll
  static void stop() {
    if (gate != null) {
      gate.close();
    }
    if (app != null) {
      app.close();
    }
  }

  static String config(int upstreamPort) {
    return StandaloneSidecar.issuerYaml(
            "corp", keycloak.issuer(), Keycloak.ORDERS_AUDIENCE, keycloak.caPem())
        + StandaloneSidecar.issuerYaml(
            "partners",
            keycloak.issuerOf(Keycloak.PARTNERS_REALM),
            Keycloak.PARTNERS_AUDIENCE,
            keycloak.caPem())
        + """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: orders-api, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          issuerRefs:
            - {name: corp}
            - {name: partners}
          upstream: {port: %d}
          rules:
            - paths: ["/admin/**"]
              require: {issuers: [corp]}
            - paths: ["/orders/**"]
              require: {scopes: [orders.read]}
        """
            .formatted(upstreamPort);
  }

  static int status(String path, String token) throws Exception {
    return http.send(
            HttpRequest.newBuilder(gate.uri(path))
                .header("Authorization", "Bearer " + token)
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  @Test
  void eachIssuersTokensAreAcceptedWithItsOwnAudience() throws Exception {
    String corp = keycloak.clientCredentialsToken("orders.read");
    String partner =
        keycloak.clientCredentialsTokenIn(
            Keycloak.PARTNERS_REALM,
            Keycloak.PARTNER_CLIENT,
            Keycloak.PARTNER_CLIENT_SECRET,
            "orders.read");
    assertThat(status("/orders/1", corp)).isEqualTo(200);
    assertThat(status("/orders/1", partner)).isEqualTo(200);
    // A token of the corp realm not meant for the orders API (no api://orders audience).
    String reports =
        keycloak.clientCredentialsTokenOf(
            Keycloak.REPORTS_CLIENT, Keycloak.REPORTS_CLIENT_SECRET, "orders.read");
    assertThat(status("/orders/1", reports)).isEqualTo(401);
  }

  @Test
  void aRuleKeptForOneIssuerRefusesTheOther() throws Exception {
    assertThat(status("/admin/settings", keycloak.clientCredentialsToken())).isEqualTo(200);
    String partner =
        keycloak.clientCredentialsTokenIn(
            Keycloak.PARTNERS_REALM, Keycloak.PARTNER_CLIENT, Keycloak.PARTNER_CLIENT_SECRET);
    assertThat(status("/admin/settings", partner)).isEqualTo(403);
  }
}
