package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.testing.RawHttp;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gate end to end in Enforce mode: a real OIDC issuer, the real sidecar on loopback, a real
 * application behind it and real HTTP clients (the JDK's, and raw sockets for what it refuses to
 * send).
 */
class GateTest {
  static final String POLICY =
      """
      tokenSources:
        - header: {name: Authorization, prefix: "Bearer "}
        - cookie: {name: access_token}
      limits: {maxTokenBytes: 4096, maxHeaderBytes: 16384}
      claimSources:
        scopes: [scope, scp, permissions]
        roles: [roles, realm_access.roles]
      rules:
        - paths: ["/public/**", "/healthz"]
          action: Allow
        - paths: ["/closed/**"]
          action: Deny
        - paths: ["/admin/**"]
          require: {scopes: [orders.admin]}
        - paths: ["/reports/*/summary"]
          methods: [GET]
          require: {roles: [auditor, admin]}
        - paths: ["/tenant/**"]
          require: {claims: {tenant: [acme], level: ["3"], beta: ["true"], groups: [ops]}}
        - paths: ["/**"]
          require: {scopes: [orders.read]}
      forwardClaims:
        sub: X-Auth-Subject
        azp: X-Auth-Client
        groups: X-Auth-Groups
        name: X-Auth-Name
      """;

  static TestIssuer idp;
  static EchoUpstream app;
  static InProcessSidecar gate;
  static final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static final HttpClient h2c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
  static final List<String> tokensUsed = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    Path dir = Files.createTempDirectory("gate-test");
    PolicyFiles.write(dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), POLICY));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    gate = InProcessSidecar.start(dir);
  }

  @AfterAll
  static void stop() {
    String log = gate.logText();
    gate.close();
    app.close();
    idp.close();
    // Whatever happened above, no token ever reached the log.
    for (String t : tokensUsed) {
      assertThat(log).doesNotContain(t);
      assertThat(log).doesNotContain(t.substring(t.lastIndexOf('.') + 1));
    }
  }

  @BeforeEach
  void clear() {
    app.clear();
  }

  static String token(String... claims) {
    var b = idp.token();
    for (int i = 0; i + 1 < claims.length; i += 2) {
      b.claim(claims[i], claims[i + 1]);
    }
    String t = b.sign();
    tokensUsed.add(t);
    return t;
  }

  static String token(Map<String, Object> claims) {
    var b = idp.token();
    claims.forEach(b::claim);
    String t = b.sign();
    tokensUsed.add(t);
    return t;
  }

  static HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(gate.uri(path));
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void noTokenIsAnswered401WithAChallengeWithoutErrorCode() throws Exception {
    HttpResponse<String> r = get("/orders");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate"))
        .hasValue("Bearer realm=\"shop/orders-api\"");
    assertThat(r.headers().firstValue("content-type")).hasValue("application/problem+json");
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getInteger("status")).isEqualTo(401);
    assertThat(body.getString("type")).endsWith("/missing_token");
    assertThat(body.getString("title")).isEqualTo("Unauthorized");
    assertThat(body.getString("detail")).isNotBlank();
    assertThat(app.pending()).isZero();
  }

  @Test
  void aBadTokenIsAnswered401InvalidTokenWithoutEchoingIt() throws Exception {
    String forged =
        idp.token()
            .claim("scope", "orders.read")
            .signedBy(idp.activeKey().sameKidNewMaterial())
            .sign();
    String expired =
        idp.token()
            .claim("scope", "orders.read")
            .expiresAt(java.time.Instant.now().minusSeconds(3600))
            .sign();
    tokensUsed.add(forged);
    tokensUsed.add(expired);
    for (String bad : List.of(forged, expired, "not-a-jwt")) {
      HttpResponse<String> r = get("/orders", "Authorization", "Bearer " + bad);
      assertThat(r.statusCode()).isEqualTo(401);
      String challenge = r.headers().firstValue("WWW-Authenticate").orElseThrow();
      assertThat(challenge)
          .startsWith(
              "Bearer realm=\"shop/orders-api\", error=\"invalid_token\", error_description=\"");
      assertThat(challenge).doesNotContain(bad);
      assertThat(r.body()).doesNotContain(bad).contains("\"status\":401");
    }
    assertThat(app.pending()).isZero();
  }

  @Test
  void aMissingScopeIsAnswered403InsufficientScopeNamingTheScope() throws Exception {
    HttpResponse<String> r =
        get("/admin/users", "Authorization", "Bearer " + token("scope", "orders.read"));
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("error=\"insufficient_scope\"")
        .contains("scope=\"orders.admin\"");
    assertThat(new JsonObject(r.body()).getInteger("status")).isEqualTo(403);
    assertThat(app.pending()).isZero();
  }

  @Test
  void aGoodTokenReachesTheApplicationWithClaimHeadersAndForwardedHeaders() throws Exception {
    String t =
        token(
            Map.of(
                "scope", "orders.read profile",
                "azp", "web-shop",
                "groups", List.of("ops", "dev"),
                "name", "Zoë"));
    HttpResponse<String> r =
        get(
            "/orders/42?expand=items",
            "Authorization",
            "bearer " + t,
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assertThat(r.statusCode()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.uri()).isEqualTo("/orders/42?expand=items");
    assertThat(seen.header("X-Auth-Subject")).isEqualTo("test-subject");
    assertThat(seen.header("X-Auth-Client")).isEqualTo("web-shop");
    assertThat(seen.header("X-Auth-Groups")).isEqualTo("ops,dev");
    assertThat(
            new String(
                seen.header("X-Auth-Name").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1),
                java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo("Zoë");
    assertThat(seen.header("Authorization")).isEqualTo("bearer " + t);
    assertThat(seen.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
    assertThat(seen.header("X-Forwarded-Proto")).isEqualTo("http");
    assertThat(seen.header("X-Forwarded-Host")).isEqualTo("127.0.0.1:" + gate.port());
    assertThat(seen.header("Host")).isEqualTo("127.0.0.1:" + gate.port());
    assertThat(seen.header("traceparent"))
        .isEqualTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

    JsonObject d = gate.lastDecision("/orders/42");
    assertThat(d.getString("decision")).isEqualTo("allow");
    assertThat(d.getString("reason")).isEqualTo("authenticated");
    assertThat(d.getString("http.request.method")).isEqualTo("GET");
    assertThat(d.getString("url.path")).isEqualTo("/orders/42");
    assertThat(d.getInteger("http.response.status_code")).isEqualTo(200);
    assertThat(d.getString("enduser.id")).isEqualTo("test-subject");
    assertThat(d.getString("client_id")).isEqualTo("web-shop");
    assertThat(d.getString("client.address")).isEqualTo("127.0.0.1");
    assertThat(d.getString("issuer")).isEqualTo(idp.issuer());
    assertThat(d.getString("trace_id")).isEqualTo("0af7651916cd43dd8448eb211c80319c");
    assertThat(d.getString("span_id")).isEqualTo("b7ad6b7169203331");
    assertThat(d.getString("rule")).isEqualTo("rules[5]");
    assertThat(d.getValue("latency_ms")).isInstanceOf(Number.class);
  }

  @Test
  void http2ClientsUpgradingFromCleartextAreGatedTheSameWay() throws Exception {
    String t = token("scope", "orders.read");
    for (int i = 0; i < 2; i++) {
      HttpResponse<String> r =
          h2c.send(
              HttpRequest.newBuilder(gate.uri("/orders/h2"))
                  .header("Authorization", "Bearer " + t)
                  .header("X-Auth-Subject", "spoofed")
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      EchoUpstream.Seen seen = app.next();
      assertThat(seen.headers("X-Auth-Subject")).containsExactly("test-subject");
      assertThat(seen.header("X-Forwarded-Host")).isEqualTo("127.0.0.1:" + gate.port());
    }
    HttpResponse<String> denied =
        h2c.send(
            HttpRequest.newBuilder(gate.uri("/orders/h2")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(denied.statusCode()).isEqualTo(401);
    assertThat(denied.version()).isEqualTo(HttpClient.Version.HTTP_2);
  }

  @Test
  void spoofedIdentityHeadersAreRemovedOnEveryPath() throws Exception {
    String t = token("scope", "orders.read");
    get(
        "/orders",
        "Authorization",
        "Bearer " + t,
        "X-Auth-Subject",
        "admin",
        "x-auth-client",
        "evil");
    EchoUpstream.Seen authenticated = app.next();
    assertThat(authenticated.headers("X-Auth-Subject")).containsExactly("test-subject");
    assertThat(authenticated.headers("X-Auth-Client")).isEmpty();

    get("/public/info", "X-AUTH-SUBJECT", "admin", "X-Auth-Groups", "root");
    EchoUpstream.Seen open = app.next();
    assertThat(open.headers("X-Auth-Subject")).isEmpty();
    assertThat(open.headers("X-Auth-Groups")).isEmpty();
  }

  @Test
  void aClaimThatWouldInjectAHeaderIsRefusedAndNothingIsForwarded() throws Exception {
    String t = token("scope", "orders.read", "sub", "alice\r\nX-Admin: true");
    HttpResponse<String> r = get("/orders", "Authorization", "Bearer " + t);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("error=\"invalid_token\"");
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/unforwardable_claim");
    assertThat(app.pending()).isZero();
  }

  @Test
  void traversalAndDoubleSlashesCannotReachAProtectedPathThroughAPublicRule() throws Exception {
    for (String sneaky :
        List.of(
            "/public/../admin/users",
            "/public/%2e%2e/admin/users",
            "/public/%2E%2e/admin/users",
            "//admin/users",
            "/public/./../admin/users",
            "/./admin//users")) {
      RawHttp.Response r = RawHttp.get(gate.port(), sneaky);
      assertThat(r.status()).as(sneaky).isEqualTo(401);
      JsonObject d = gate.lastDecision("/admin/users");
      assertThat(d.getString("rule")).as(sneaky).isEqualTo("rules[2]");
    }
    assertThat(app.pending()).isZero();

    String admin = token("scope", "orders.admin");
    RawHttp.Response ok =
        RawHttp.get(
            gate.port(), "/public/%2e%2e/admin/users?x=1", "Authorization: Bearer " + admin);
    assertThat(ok.status()).isEqualTo(200);
    assertThat(app.next().uri()).isEqualTo("/admin/users?x=1");
  }

  @Test
  void pathsThatCannotBeNormalisedSafelyAreRefused400() throws Exception {
    for (String bad :
        List.of(
            "/public/..%2Fadmin",
            "/public/%5C..%5Cadmin",
            "/../etc/passwd",
            "/public/%zz",
            "/public/%00",
            "/public/..;/admin")) {
      RawHttp.Response r = RawHttp.get(gate.port(), bad);
      assertThat(r.status()).as(bad).isEqualTo(400);
      assertThat(r.header("content-type")).isEqualTo("application/problem+json");
    }
    assertThat(app.pending()).isZero();
  }

  @Test
  void anHttp10ClientGetsAStreamedResponseDelimitedByClose() throws Exception {
    RawHttp.Response r =
        RawHttp.exchange(
            gate.port(),
            "GET /public/big?mode=bytes&n=300000 HTTP/1.0\r\nHost: x\r\n\r\n"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("transfer-encoding")).isNull();
    assertThat(java.security.MessageDigest.getInstance("SHA-256").digest(r.bodyBytes()))
        .isEqualTo(EchoUpstream.bytesDigest(300_000));
  }

  @Test
  void headAndBodilessStatusesKeepTheirFraming() throws Exception {
    HttpResponse<String> head =
        http.send(
            HttpRequest.newBuilder(gate.uri("/public/doc"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(app.next().method()).isEqualTo("HEAD");
    for (int code : new int[] {204, 304, 404, 500}) {
      RawHttp.Response r = RawHttp.get(gate.port(), "/public/s?mode=status&code=" + code);
      assertThat(r.status()).isEqualTo(code);
      if (code == 204 || code == 304) {
        assertThat(r.header("transfer-encoding")).isNull();
      }
    }
    // The connection stays usable after a bodiless answer.
    assertThat(get("/public/after").statusCode()).isEqualTo(200);
  }

  @Test
  void publicAndDenyRules() throws Exception {
    assertThat(get("/healthz").statusCode()).isEqualTo(200);
    assertThat(app.next().path()).isEqualTo("/healthz");
    assertThat(get("/healthz/").statusCode()).isEqualTo(200);
    assertThat(app.next().path()).isEqualTo("/healthz/");

    HttpResponse<String> closed =
        get("/closed/x", "Authorization", "Bearer " + token("scope", "orders.read orders.admin"));
    assertThat(closed.statusCode()).isEqualTo(403);
    assertThat(new JsonObject(closed.body()).getString("type")).endsWith("/deny_rule");
    assertThat(app.pending()).isZero();
  }

  @Test
  void twoAuthorizationHeadersAreRefused400InvalidRequest() throws Exception {
    String t = token("scope", "orders.read");
    RawHttp.Response r =
        RawHttp.get(
            gate.port(), "/orders", "Authorization: Bearer " + t, "Authorization: Bearer " + t);
    assertThat(r.status()).isEqualTo(400);
    assertThat(r.header("www-authenticate")).contains("error=\"invalid_request\"");
    assertThat(app.pending()).isZero();
  }

  @Test
  void oversizedTokensAndHeadersAreAnswered431NotReset() throws Exception {
    String big = idp.token().claim("scope", "orders.read").claim("pad", "x".repeat(5000)).sign();
    tokensUsed.add(big);
    RawHttp.Response token = RawHttp.get(gate.port(), "/orders", "Authorization: Bearer " + big);
    assertThat(token.status()).isEqualTo(431);
    assertThat(token.body()).contains("token_too_large").doesNotContain(big);

    RawHttp.Response headers =
        RawHttp.get(gate.port(), "/public/x", "X-Big: " + "y".repeat(20_000));
    assertThat(headers.status()).isEqualTo(431);
    assertThat(headers.body()).contains("headers_too_large");
    assertThat(app.pending()).isZero();
  }

  @Test
  void theCookieSourceIsUsedWhenNoHeaderIsPresent() throws Exception {
    String t = token("scope", "orders.read");
    HttpResponse<String> r = get("/orders", "Cookie", "theme=dark; access_token=" + t);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(app.next().header("Cookie")).contains("theme=dark");
  }

  @Test
  void aQueryParameterIsNotATokenSourceUnlessConfigured() throws Exception {
    String t = token("scope", "orders.read");
    assertThat(get("/orders?access_token=" + t).statusCode()).isEqualTo(401);
  }

  @Test
  void rolesFromNestedClaimsAndMethodsOfARule() throws Exception {
    String keycloak =
        token(Map.of("realm_access", Map.of("roles", List.of("user", "auditor")), "typ", "Bearer"));
    assertThat(get("/reports/q3/summary", "Authorization", "Bearer " + keycloak).statusCode())
        .isEqualTo(200);
    String entra = token(Map.of("roles", List.of("admin")));
    assertThat(get("/reports/q3/summary", "Authorization", "Bearer " + entra).statusCode())
        .isEqualTo(200);
    String none = token(Map.of("roles", List.of("user"), "scope", "orders.read"));
    HttpResponse<String> r = get("/reports/q3/summary", "Authorization", "Bearer " + none);
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/missing_role");
    // Another method does not match the rule: the catch-all (orders.read) decides.
    HttpResponse<String> post =
        http.send(
            HttpRequest.newBuilder(gate.uri("/reports/q3/summary"))
                .header("Authorization", "Bearer " + none)
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(200);
  }

  @Test
  void scopesInTheShapesIdentityProvidersUse() throws Exception {
    Map<String, Object> entraScp = Map.of("scp", "orders.read user_impersonation");
    Map<String, Object> oktaScp = Map.of("scp", List.of("openid", "orders.read"));
    Map<String, Object> auth0Permissions = Map.of("permissions", List.of("orders.read"));
    for (Map<String, Object> shape : List.of(entraScp, oktaScp, auth0Permissions)) {
      assertThat(get("/orders", "Authorization", "Bearer " + token(shape)).statusCode())
          .as(shape.toString())
          .isEqualTo(200);
    }
    assertThat(
            get("/orders", "Authorization", "Bearer " + token("scope", "orders.readonly"))
                .statusCode())
        .isEqualTo(403);
  }

  @Test
  void claimRequirementsCompareStringsNumbersBooleansAndArrays() throws Exception {
    Map<String, Object> ok =
        Map.of("tenant", "acme", "level", 3, "beta", true, "groups", List.of("dev", "ops"));
    assertThat(get("/tenant/x", "Authorization", "Bearer " + token(ok)).statusCode())
        .isEqualTo(200);
    Map<String, Object> wrongTenant =
        Map.of("tenant", "globex", "level", 3, "beta", true, "groups", List.of("ops"));
    HttpResponse<String> r = get("/tenant/x", "Authorization", "Bearer " + token(wrongTenant));
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.body()).contains("claim_mismatch").contains("tenant").doesNotContain("acme");
    Map<String, Object> wrongLevel =
        Map.of("tenant", "acme", "level", 2, "beta", true, "groups", List.of("ops"));
    assertThat(get("/tenant/x", "Authorization", "Bearer " + token(wrongLevel)).statusCode())
        .isEqualTo(403);
  }

  @Test
  void theAdminPortReportsReadinessAndMetrics() throws Exception {
    get("/orders");
    assertThat(gate.admin("/healthz/live").statusCode()).isEqualTo(200);
    HttpResponse<String> ready = gate.admin("/healthz/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.body()).contains("ready");
    String metrics = gate.admin("/metrics").body();
    assertThat(metrics)
        .contains(
            "tokengate_requests_total{decision=\"deny\",policy=\"shop/orders-api\",reason=\"missing_token\"}")
        .contains("tokengate_config_reloads_total{result=\"success\"}")
        .contains("tokengate_token_validation_seconds");
    get("/orders", "Authorization", "Bearer " + token("scope", "orders.read"));
    assertThat(gate.admin("/metrics").body())
        .contains("tokengate_upstream_seconds_bucket{policy=\"shop/orders-api\"");
  }
}
