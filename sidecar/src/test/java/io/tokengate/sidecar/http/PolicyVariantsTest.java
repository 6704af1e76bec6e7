package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The policy switches: Audit mode, CORS preflights, query tokens, forwardToken: false, which
 * decisions are logged.
 */
class PolicyVariantsTest {
  static TestIssuer idp;
  static EchoUpstream app;
  static InProcessSidecar audit;
  static InProcessSidecar cors;
  static InProcessSidecar strict;
  static InProcessSidecar stripping;
  static InProcessSidecar sampled;
  static InProcessSidecar quiet;
  static final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static final String RULES =
      """
      forwardClaims: {sub: X-Auth-Subject}
      rules:
        - paths: ["/open/**"]
          action: Allow
        - paths: ["/closed/**"]
          action: Deny
        - paths: ["/**"]
          require: {scopes: [orders.read]}
      """;

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    audit = sidecar("mode: Audit\n" + RULES);
    cors = sidecar("allowCorsPreflight: true\n" + RULES);
    strict = sidecar(RULES);
    sampled = sidecar("decisionLog: {allowed: Sampled, sampledPerSecond: 2}\n" + RULES);
    quiet = sidecar("decisionLog: {allowed: None}\n" + RULES);
    stripping =
        sidecar(
            """
            forwardToken: false
            tokenSources:
              - header: {name: Authorization, prefix: "Bearer "}
              - cookie: {name: access_token}
              - query: {name: access_token}
            """
                + RULES);
  }

  static InProcessSidecar sidecar(String spec) throws Exception {
    Path dir = Files.createTempDirectory("variant");
    PolicyFiles.write(dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), spec));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    return InProcessSidecar.start(dir);
  }

  @AfterAll
  static void stop() {
    for (InProcessSidecar s :
        new InProcessSidecar[] {audit, cors, strict, stripping, sampled, quiet}) {
      s.close();
    }
    app.close();
    idp.close();
  }

  @BeforeEach
  void clear() {
    app.clear();
  }

  static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void allowedRequestsAreSampledOrSilencedAndRefusalsAlwaysLogged() throws Exception {
    for (InProcessSidecar gate : new InProcessSidecar[] {sampled, quiet}) {
      for (int i = 0; i < 20; i++) {
        assertThat(send(HttpRequest.newBuilder(gate.uri("/open/" + i))).statusCode())
            .isEqualTo(200);
        assertThat(send(HttpRequest.newBuilder(gate.uri("/closed/" + i))).statusCode())
            .isEqualTo(403);
      }
    }
    // Twenty allowed requests in well under a few seconds: the burst of two, plus at most two a
    // second of refill while they ran. Every one of the twenty refusals is there.
    assertThat(decisions(sampled, "allow")).isBetween(2L, 8L);
    assertThat(decisions(sampled, "deny")).isEqualTo(20);
    assertThat(decisions(quiet, "allow")).isZero();
    assertThat(decisions(quiet, "deny")).isEqualTo(20);
    // The metrics still count every decision.
    assertThat(quiet.admin("/metrics").body())
        .containsPattern("tokengate_requests_total\\{[^}]*decision=\"allow\"[^}]*} 20.0");
  }

  static long decisions(InProcessSidecar gate, String decision) {
    return gate.events("decision").stream()
        .filter(d -> decision.equals(d.getString("decision")))
        .count();
  }

  @Test
  void auditModeForwardsWhatItWouldDenyAndRecordsTheDecision() throws Exception {
    HttpResponse<String> r =
        send(HttpRequest.newBuilder(audit.uri("/orders")).header("X-Auth-Subject", "spoofed"));
    assertThat(r.statusCode()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.headers("X-Auth-Subject")).isEmpty();
    JsonObject d = audit.lastDecision("/orders");
    assertThat(d.getString("decision")).isEqualTo("audit_deny");
    assertThat(d.getString("reason")).isEqualTo("missing_token");

    String forged = idp.token().signedBy(idp.activeKey().sameKidNewMaterial()).sign();
    send(HttpRequest.newBuilder(audit.uri("/forged")).header("Authorization", "Bearer " + forged));
    assertThat(app.next().headers("X-Auth-Subject")).isEmpty();
    assertThat(audit.lastDecision("/forged").getString("reason")).isEqualTo("bad_signature");

    // A genuine token without the scope: identity is real, so it is forwarded.
    String noScope = idp.token().sign();
    send(HttpRequest.newBuilder(audit.uri("/scope")).header("Authorization", "Bearer " + noScope));
    assertThat(app.next().header("X-Auth-Subject")).isEqualTo("test-subject");
    assertThat(audit.lastDecision("/scope").getString("reason")).isEqualTo("insufficient_scope");

    assertThat(send(HttpRequest.newBuilder(audit.uri("/closed/x"))).statusCode()).isEqualTo(200);
    assertThat(audit.lastDecision("/closed/x").getString("decision")).isEqualTo("audit_deny");

    String metrics = audit.admin("/metrics").body();
    assertThat(metrics)
        .contains(
            "tokengate_requests_total{decision=\"audit_deny\",policy=\"shop/orders-api\",reason=\"missing_token\"} 1.0");
  }

  @Test
  void auditModeStillRefusesWhatCannotBeForwardedSafely() throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(audit.uri("/open/%2e%2e/%2e%2e/etc")));
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(app.pending()).isZero();
  }

  @Test
  void corsPreflightsPassWithoutATokenOnlyWhenThePolicySaysSo() throws Exception {
    HttpRequest.Builder preflight =
        HttpRequest.newBuilder(cors.uri("/orders"))
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .header("Origin", "https://shop.example")
            .header("Access-Control-Request-Method", "POST");
    assertThat(send(preflight).statusCode()).isEqualTo(200);
    assertThat(app.next().method()).isEqualTo("OPTIONS");
    assertThat(cors.lastDecision("/orders").getString("reason")).isEqualTo("cors_preflight");

    // Not a preflight (no Access-Control-Request-Method): a token is needed.
    HttpRequest.Builder plainOptions =
        HttpRequest.newBuilder(cors.uri("/orders"))
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .header("Origin", "https://shop.example");
    assertThat(send(plainOptions).statusCode()).isEqualTo(401);

    HttpRequest.Builder sameOnStrict =
        HttpRequest.newBuilder(strict.uri("/orders"))
            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
            .header("Origin", "https://shop.example")
            .header("Access-Control-Request-Method", "POST");
    assertThat(send(sameOnStrict).statusCode()).isEqualTo(401);
  }

  @Test
  void forwardTokenFalseStripsTheTokenFromEverySource() throws Exception {
    String t = idp.token().claim("scope", "orders.read").sign();
    send(HttpRequest.newBuilder(stripping.uri("/a")).header("Authorization", "Bearer " + t));
    EchoUpstream.Seen header = app.next();
    assertThat(header.headers("Authorization")).isEmpty();
    assertThat(header.header("X-Auth-Subject")).isEqualTo("test-subject");

    send(
        HttpRequest.newBuilder(stripping.uri("/b"))
            .header("Cookie", "theme=dark; access_token=" + t + "; lang=en"));
    EchoUpstream.Seen cookie = app.next();
    assertThat(cookie.header("Cookie")).isEqualTo("theme=dark; lang=en");

    HttpResponse<String> q =
        send(HttpRequest.newBuilder(stripping.uri("/c?x=1&access_token=" + t)));
    assertThat(q.statusCode()).isEqualTo(200);
    assertThat(app.next().uri()).isEqualTo("/c?x=1");
  }

  @Test
  void theTokenIsForwardedByDefault() throws Exception {
    String t = idp.token().claim("scope", "orders.read").sign();
    send(HttpRequest.newBuilder(strict.uri("/a")).header("Authorization", "Bearer " + t));
    assertThat(app.next().header("Authorization")).isEqualTo("Bearer " + t);
  }
}
