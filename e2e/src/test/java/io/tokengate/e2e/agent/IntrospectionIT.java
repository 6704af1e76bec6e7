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
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Token introspection (RFC 7662) against Keycloak's real endpoint, found through its discovery: the
 * standalone sidecar authenticates as the confidential {@code orders-gate} (which the tokens name
 * in {@code aud}, as Keycloak requires of an introspecting client) and, with {@code mode: Always},
 * asks about every token after its local checks. A user's token passes; once the user's sessions
 * are logged out in Keycloak the same, still validly signed, token is refused within the cache
 * ceiling; a random opaque string is refused; a wrong client secret fails closed.
 */
@ExtendWith(KeycloakExtension.class)
class IntrospectionIT {
  static Keycloak keycloak;
  static UpstreamApp app;
  static StandaloneSidecar gate;
  static int upstreamPort;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start(Keycloak shared) throws IOException {
    upstreamPort = Ports.free();
    app = UpstreamApp.start(upstreamPort);
    keycloak = shared.awaitReady(Duration.ofMinutes(5));
    gate = gate(Keycloak.GATE_CLIENT_SECRET);
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

  static StandaloneSidecar gate(String clientSecret) throws IOException {
    Path dir = Files.createTempDirectory(Repo.workDir(), "introspection-");
    Path secret = dir.resolve("client-secret");
    Files.writeString(secret, clientSecret + "\n");
    String issuer =
        StandaloneSidecar.issuerYaml(
                "corp", keycloak.issuer(), Keycloak.ORDERS_AUDIENCE, keycloak.caPem())
            .replace(
                "  caBundle: |",
                "  introspection:\n"
                    + "    clientId: "
                    + Keycloak.GATE_CLIENT
                    + "\n"
                    + "    clientSecretFile: "
                    + secret
                    + "\n"
                    + "    mode: Always\n"
                    + "    cacheTtl: 1s\n"
                    + "  caBundle: |");
    String policy =
        """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: orders-api, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          issuerRef: {name: corp}
          upstream: {port: %d}
          rules:
            - paths: ["/orders/**"]
              require: {scopes: [orders.read]}
        """
            .formatted(upstreamPort);
    return StandaloneSidecar.start(dir, StandaloneSidecar.reservePort(), issuer + policy);
  }

  static int status(StandaloneSidecar on, String token) throws Exception {
    return http.send(
            HttpRequest.newBuilder(on.uri("/orders/1"))
                .header("Authorization", "Bearer " + token)
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  @Test
  void aTokenOfALoggedOutSessionIsRefusedBeforeItExpires() throws Exception {
    String token = keycloak.passwordToken(Keycloak.USER, Keycloak.USER_PASSWORD, "orders.read");
    assertThat(status(gate, token)).isEqualTo(200);
    keycloak.logoutUser(Keycloak.USER);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    int last = status(gate, token);
    while (last != 401 && System.nanoTime() < deadline) {
      Thread.sleep(250);
      last = status(gate, token);
    }
    assertThat(last)
        .as("the logged-out session's token within the 1 s cache ceiling")
        .isEqualTo(401);
    assertThat(gate.logText()).doesNotContain(token).doesNotContain(Keycloak.GATE_CLIENT_SECRET);
    // A new session's token passes again.
    assertThat(
            status(
                gate, keycloak.passwordToken(Keycloak.USER, Keycloak.USER_PASSWORD, "orders.read")))
        .isEqualTo(200);
  }

  @Test
  void aRandomOpaqueTokenIsRefused() throws Exception {
    assertThat(status(gate, "opaque-" + UUID.randomUUID())).isEqualTo(401);
    assertThat(status(gate, UUID.randomUUID().toString().replace("-", ""))).isEqualTo(401);
  }

  @Test
  void aWrongClientSecretFailsClosed() throws Exception {
    try (StandaloneSidecar wrong = gate("not-the-secret")) {
      String token = keycloak.passwordToken(Keycloak.USER, Keycloak.USER_PASSWORD, "orders.read");
      assertThat(status(wrong, token)).isEqualTo(503);
      assertThat(wrong.logText()).doesNotContain("not-the-secret");
    }
  }
}
