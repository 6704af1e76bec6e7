package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.v1alpha1.tokenissuer.ClientAuthMethod;
import io.tokengate.api.v1alpha1.tokenissuer.Introspection;
import io.tokengate.api.v1alpha1.tokenissuer.IntrospectionMode;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.Sidecar;
import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.tokengate.testing.TestIssuer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 7662 introspection through the real sidecar against a real HTTP introspection endpoint (the
 * test issuer's, which checks the client credentials and answers from the tokens it was told are
 * active): opaque tokens, the checks on the answer, the cache and its ceiling, coalescing, the
 * fail-closed outages, client authentication, and that neither token nor secret reaches the log.
 */
class IntrospectionTest {
  static final String SECRET = "gate-secret-" + UUID.randomUUID();
  static final HttpClient http = HttpClient.newHttpClient();

  TestIssuer idp;
  EchoUpstream app;
  InProcessSidecar gate;

  @AfterEach
  void stop() {
    if (gate != null) {
      gate.close();
      gate = null;
    }
    if (app != null) {
      app.close();
      app = null;
    }
    if (idp != null) {
      idp.close();
      idp = null;
    }
  }

  void start(IntrospectionMode mode, ClientAuthMethod auth, String cacheTtl, boolean endpoint)
      throws Exception {
    idp = TestIssuer.start();
    idp.introspectionClient("gate", SECRET);
    app = EchoUpstream.start();
    Path dir = Files.createTempDirectory("introspection");
    Path secretFile = Files.createTempDirectory("secrets").resolve("client-secret");
    Files.writeString(secretFile, SECRET + "\n");
    TokenIssuerSpec spec = idp.spec();
    spec.introspection = new Introspection();
    spec.introspection.clientId = "gate";
    spec.introspection.clientSecretFile = secretFile.toString();
    spec.introspection.mode = mode;
    spec.introspection.authMethod = auth;
    spec.introspection.cacheTtl = cacheTtl;
    if (endpoint) {
      spec.introspection.endpoint = idp.introspectionUri();
    }
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", spec));
    PolicyFiles.write(
        dir.resolve("policy.yaml"),
        PolicyFiles.policyYaml(
            app.port(),
            """
            rules:
              - paths: ["/orders/**"]
                require: {scopes: [orders.read]}
            forwardClaims: {sub: X-Auth-Subject}
            """));
    gate =
        InProcessSidecar.start(
            dir,
            new Sidecar.Tuning(
                ValidationTuning.DEFAULTS.withFetchTimeout(Duration.ofSeconds(1)),
                Duration.ofMillis(200),
                Duration.ofSeconds(15)));
  }

  void start() throws Exception {
    start(IntrospectionMode.OpaqueOnly, ClientAuthMethod.client_secret_basic, "60s", false);
  }

  static Map<String, Object> claims(String scope) {
    return Map.of(
        "scope",
        scope,
        "aud",
        TestIssuer.DEFAULT_AUDIENCE,
        "sub",
        "alice",
        "client_id",
        "orders-cli",
        "token_type",
        "Bearer",
        "exp",
        Instant.now().plusSeconds(300).getEpochSecond());
  }

  static String opaque() {
    return "opaque-" + UUID.randomUUID();
  }

  HttpResponse<String> get(String path, String token) throws Exception {
    return http.send(
        HttpRequest.newBuilder(gate.uri(path)).header("Authorization", "Bearer " + token).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anActiveOpaqueTokenPassesWithItsScopesAndClaims() throws Exception {
    start();
    String token = opaque();
    idp.activate(token, claims("orders.read profile"));
    HttpResponse<String> r = get("/orders/1", token);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(app.next().header("X-Auth-Subject")).isEqualTo("alice");
    // The endpoint came from discovery; the scope from the answer's scope member.
    String other = opaque();
    idp.activate(other, claims("profile"));
    HttpResponse<String> forbidden = get("/orders/1", other);
    assertThat(forbidden.statusCode()).isEqualTo(403);
    assertThat(forbidden.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("insufficient_scope");
  }

  @Test
  void inactiveForeignAndNonAccessTokensAreInvalid() throws Exception {
    start();
    HttpResponse<String> unknown = get("/orders/case-0", opaque());
    assertThat(unknown.statusCode()).isEqualTo(401);
    assertThat(unknown.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("error=\"invalid_token\"");
    assertThat(gate.lastDecision("/orders/case-0").getString("reason")).isEqualTo("inactive");

    String foreignAudience = opaque();
    var c = new java.util.HashMap<>(claims("orders.read"));
    c.put("aud", "api://someone-else");
    idp.activate(foreignAudience, c);
    assertThat(get("/orders/case-1", foreignAudience).statusCode()).isEqualTo(401);
    assertThat(gate.lastDecision("/orders/case-1").getString("reason")).isEqualTo("wrong_audience");

    String foreignIssuer = opaque();
    c = new java.util.HashMap<>(claims("orders.read"));
    c.put("iss", "https://elsewhere.example");
    idp.activate(foreignIssuer, c);
    assertThat(get("/orders/case-2", foreignIssuer).statusCode()).isEqualTo(401);
    assertThat(gate.lastDecision("/orders/case-2").getString("reason")).isEqualTo("wrong_issuer");

    String refresh = opaque();
    c = new java.util.HashMap<>(claims("orders.read"));
    c.put("token_type", "refresh_token");
    idp.activate(refresh, c);
    assertThat(get("/orders/case-3", refresh).statusCode()).isEqualTo(401);
    assertThat(gate.lastDecision("/orders/case-3").getString("reason"))
        .isEqualTo("not_an_access_token");

    String expired = opaque();
    c = new java.util.HashMap<>(claims("orders.read"));
    c.put("exp", Instant.now().minusSeconds(600).getEpochSecond());
    idp.activate(expired, c);
    assertThat(get("/orders/case-4", expired).statusCode()).isEqualTo(401);
    assertThat(gate.lastDecision("/orders/case-4").getString("reason")).isEqualTo("expired");
  }

  @Test
  void answersAreCachedNoLongerThanTheCeilingSoARevocationTakesEffect() throws Exception {
    start(IntrospectionMode.OpaqueOnly, ClientAuthMethod.client_secret_basic, "1s", true);
    String token = opaque();
    idp.activate(token, claims("orders.read"));
    assertThat(get("/orders/1", token).statusCode()).isEqualTo(200);
    assertThat(get("/orders/1", token).statusCode()).isEqualTo(200);
    assertThat(idp.introspectionRequests()).isEqualTo(1);
    idp.revoke(token);
    TestIssuer.await(
        "the revoked token is refused once the cached answer expired",
        Duration.ofSeconds(5),
        () -> {
          try {
            return get("/orders/1", token).statusCode() == 401;
          } catch (Exception e) {
            return false;
          }
        });
    // The refusal is cached too: asking again costs no call.
    int calls = idp.introspectionRequests();
    assertThat(get("/orders/1", token).statusCode()).isEqualTo(401);
    assertThat(idp.introspectionRequests()).isEqualTo(calls);
  }

  @Test
  void concurrentRequestsWithOneTokenShareOneCall() throws Exception {
    start();
    idp.introspectionDelay(Duration.ofMillis(500));
    String token = opaque();
    idp.activate(token, claims("orders.read"));
    List<CompletableFuture<HttpResponse<Void>>> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(
          http.sendAsync(
              HttpRequest.newBuilder(gate.uri("/orders/" + i))
                  .header("Authorization", "Bearer " + token)
                  .build(),
              HttpResponse.BodyHandlers.discarding()));
    }
    for (var f : all) {
      assertThat(f.get().statusCode()).isEqualTo(200);
    }
    assertThat(idp.introspectionRequests()).isEqualTo(1);
  }

  @Test
  void anUnreachableSlowOrFailingEndpointFailsClosed() throws Exception {
    start(IntrospectionMode.OpaqueOnly, ClientAuthMethod.client_secret_basic, "60s", true);
    for (TestIssuer.Outage outage :
        List.of(
            TestIssuer.Outage.HTTP_500,
            TestIssuer.Outage.HANG,
            TestIssuer.Outage.CLOSE_CONNECTION,
            TestIssuer.Outage.REFUSE)) {
      String token = opaque();
      idp.activate(token, claims("orders.read"));
      idp.goDown(outage);
      HttpResponse<String> r = get("/orders/" + outage, token);
      assertThat(r.statusCode()).as(outage.name()).isEqualTo(503);
      assertThat(gate.lastDecision("/orders/" + outage).getString("reason"))
          .isEqualTo("introspection_failed");
      idp.comeBack();
      // Failures are not cached: the same token passes once the endpoint answers.
      assertThat(get("/orders/1", token).statusCode()).as(outage.name()).isEqualTo(200);
    }
  }

  @Test
  void aRefusedClientSecretIsA503AndNeitherTokenNorSecretIsLogged() throws Exception {
    start();
    idp.introspectionClient("gate", "another-secret");
    String token = opaque();
    idp.activate(token, claims("orders.read"));
    assertThat(get("/orders/1", token).statusCode()).isEqualTo(503);
    assertThat(gate.logText()).doesNotContain(SECRET).doesNotContain(token);
  }

  @Test
  void clientSecretPostAuthenticatesInTheForm() throws Exception {
    start(IntrospectionMode.OpaqueOnly, ClientAuthMethod.client_secret_post, "60s", true);
    String token = opaque();
    idp.activate(token, claims("orders.read"));
    assertThat(get("/orders/1", token).statusCode()).isEqualTo(200);
  }

  @Test
  void jwtsAreIntrospectedOnlyInModeAlwaysAndOnlyAfterTheirLocalChecks() throws Exception {
    start();
    String jwt = idp.token().claim("scope", "orders.read").claim("jti", opaque()).sign();
    assertThat(get("/orders/1", jwt).statusCode()).isEqualTo(200);
    assertThat(idp.introspectionRequests()).isZero();
    stop();

    start(IntrospectionMode.Always, ClientAuthMethod.client_secret_basic, "60s", false);
    String active = idp.token().claim("scope", "orders.read").claim("jti", opaque()).sign();
    idp.activate(active, claims("orders.read"));
    assertThat(get("/orders/1", active).statusCode()).isEqualTo(200);
    assertThat(idp.introspectionRequests()).isEqualTo(1);
    // Validly signed, but the IdP says it is no longer active (revoked): refused.
    String revoked = idp.token().claim("scope", "orders.read").claim("jti", opaque()).sign();
    assertThat(get("/orders/revoked", revoked).statusCode()).isEqualTo(401);
    assertThat(gate.lastDecision("/orders/revoked").getString("reason")).isEqualTo("inactive");
    // A forged JWT is refused by the local checks without costing a call.
    int calls = idp.introspectionRequests();
    String forged = active.substring(0, active.lastIndexOf('.') + 1) + "AAAA";
    assertThat(get("/orders/1", forged).statusCode()).isEqualTo(401);
    assertThat(idp.introspectionRequests()).isEqualTo(calls);
  }
}
