package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.tokengate.api.v1alpha1.apipolicy.DecisionLog;
import io.tokengate.sidecar.ValidatorFactory;
import io.tokengate.sidecar.config.ConfigLoader;
import io.tokengate.sidecar.metrics.GateMetrics;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.validation.DpopReplayCache;
import io.tokengate.sidecar.validation.GateFailure;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.tokengate.sidecar.validation.VerifiedToken;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link GateDecision} on its own: request parts and a policy compiled from YAML as the sidecar
 * loads it, tokens signed by the test issuer's real key and verified by the real validator (keys
 * from a snapshot, so nothing is fetched), and no socket between them.
 */
class GateDecisionTest {
  static final String RULES =
      """
      limits: {maxHeaderBytes: 8192, maxTokenBytes: 2048}
      allowCorsPreflight: true
      requestHandling: {allowMethodOverride: true}
      resourceMetadata: {resource: "https://orders.example.com"}
      forwardClaims:
        sub: X-Auth-Subject
        name: X-Auth-Name
        note: X-Auth-Note
      rules:
        - paths: ["/public/**"]
          action: Allow
        - paths: ["/admin/**"]
          action: Deny
        - paths: ["/orders/**"]
          methods: [DELETE]
          require: {scopes: [orders.delete]}
        - paths: ["/**"]
          require: {scopes: [orders.read]}
      """;

  static TestIssuer idp;
  static Vertx vertx;
  static final List<ValidatorFactory> factories = new ArrayList<>();
  static ActivePolicy enforce;
  static ActivePolicy audit;

  @BeforeAll
  static void start() {
    idp = TestIssuer.start();
    vertx = Vertx.vertx();
    enforce = policy(RULES);
    audit = policy("mode: Audit\n" + RULES);
  }

  @AfterAll
  static void stop() {
    factories.forEach(ValidatorFactory::close);
    vertx.close();
    idp.close();
  }

  /** The policy as the sidecar compiles it, with the issuer's keys from a snapshot. */
  static ActivePolicy policy(String body) {
    Path dir = Path.of("/config");
    Map<Path, String> files =
        Map.of(
            dir.resolve("policy.yaml"), PolicyFiles.policyYaml(8080, body),
            dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()),
            dir.resolve("idp.jwks.json"), idp.jwksJson());
    var config = ConfigLoader.parse(dir, files);
    ValidatorFactory factory =
        new ValidatorFactory(vertx, new SimpleMeterRegistry(), ValidationTuning.DEFAULTS);
    factories.add(factory);
    ValidatorFactory.Built built = factory.build(config);
    factory.activate(built);
    return new ActivePolicy(
        config,
        built.validator(),
        new ActivePolicy.Presentation(new DpopReplayCache(1024), Clock.systemUTC()),
        new ActivePolicy.Defaults(DecisionLog.Allowed.All));
  }

  static MultiMap headers(String... nameValues) {
    MultiMap h = HttpHeaders.headers();
    for (int i = 0; i + 1 < nameValues.length; i += 2) {
      h.add(nameValues[i], nameValues[i + 1]);
    }
    return h;
  }

  static Verdict head(ActivePolicy p, HttpMethod method, String uri, String... nameValues) {
    MultiMap h = headers(nameValues);
    InboundHeaders in = InboundHeaders.read(HttpVersion.HTTP_1_1, method.name(), h, true, p);
    return GateDecision.onHead(p, method, uri, h, in);
  }

  /** The verdict once the token was validated by the policy's own validator. */
  static Verdict validated(ActivePolicy p, Verdict pending) throws Exception {
    assertThat(pending.action()).isEqualTo(Verdict.Action.AUTHENTICATE);
    Future<VerifiedToken> f = p.validator().validate(pending.credential().token());
    try {
      VerifiedToken token = f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(idp.jwksRequests() + idp.discoveryRequests()).as("requests to the IdP").isZero();
      return GateDecision.onToken(p, pending, token, List.of(), "GET", null);
    } catch (ExecutionException e) {
      return GateDecision.onRejectedToken(p, pending, (GateFailure) e.getCause());
    }
  }

  static String bearer(String token) {
    return "Bearer " + token;
  }

  static void assertRefused(Verdict v, int status, String reason) {
    assertThat(v.action()).isEqualTo(Verdict.Action.REFUSE);
    assertThat(v.decision()).isEqualTo(GateMetrics.DENY);
    assertThat(v.reason()).isEqualTo(reason);
    assertThat(v.failure().status()).isEqualTo(status);
    assertThat(v.failure().reason()).isEqualTo(reason);
  }

  @Test
  void withoutAPolicyEveryRequestIsRefusedNotReady() {
    Verdict v = GateDecision.onHead(null, HttpMethod.GET, "/public/x", headers(), null);
    assertRefused(v, 503, "not_ready");
    assertThat(v.path()).isNull();
  }

  @Test
  void anAmbiguousHeadIsRefusedAndItsConnectionClosed() {
    Verdict v =
        head(
            enforce,
            HttpMethod.POST,
            "/public/x",
            "Transfer-Encoding",
            "chunked",
            "Content-Length",
            "5");
    assertRefused(v, 400, "invalid_framing");
    assertThat(v.close()).isTrue();
  }

  @Test
  void headersAboveThePolicyLimitAreRefused431EvenOnAnAllowRule() {
    Verdict v = head(enforce, HttpMethod.GET, "/public/x", "X-Pad", "a".repeat(8200));
    assertRefused(v, 431, "headers_too_large");
    assertThat(v.close()).isFalse();
    assertThat(v.path()).isNull();
  }

  @Test
  void aPathThatCannotBeNormalisedIsRefusedInAuditModeToo() {
    for (ActivePolicy p : List.of(enforce, audit)) {
      Verdict v = head(p, HttpMethod.GET, "/public/a%2Fb");
      assertRefused(v, 400, "invalid_path");
      assertThat(v.path()).isNull();
    }
  }

  @Test
  void theNormalisedPathDecidesTheRule() {
    Verdict allowed = head(enforce, HttpMethod.GET, "/public/../public/./x?q=1");
    assertThat(allowed.action()).isEqualTo(Verdict.Action.FORWARD);
    assertThat(allowed.decision()).isEqualTo(GateMetrics.ALLOW);
    assertThat(allowed.reason()).isEqualTo("allow_rule");
    assertThat(allowed.rule().label()).isEqualTo("rules[0]");
    assertThat(allowed.path().path()).isEqualTo("/public/x");
    assertThat(allowed.path().query()).isEqualTo("q=1");

    // Dot segments cannot walk out of a denied prefix into an allowed one, nor the reverse.
    Verdict denied = head(enforce, HttpMethod.GET, "/public/../admin/users");
    assertRefused(denied, 403, "deny_rule");
    assertThat(denied.rule().label()).isEqualTo("rules[1]");
    assertThat(denied.path().path()).isEqualTo("/admin/users");
  }

  @Test
  void auditModeForwardsADenialAndRecordsIt() {
    Verdict v = head(audit, HttpMethod.GET, "/admin/users");
    assertThat(v.action()).isEqualTo(Verdict.Action.FORWARD);
    assertThat(v.decision()).isEqualTo(GateMetrics.AUDIT_DENY);
    assertThat(v.reason()).isEqualTo("deny_rule");
    assertThat(v.rule().label()).isEqualTo("rules[1]");
  }

  @Test
  void aMethodOverrideDecidesTheRuleAndMustBeAnUpperCaseToken() {
    Verdict v = head(enforce, HttpMethod.POST, "/orders/7", "X-HTTP-Method-Override", "DELETE");
    assertThat(v.action()).isEqualTo(Verdict.Action.REFUSE);
    assertThat(v.rule().label()).as("the DELETE rule").isEqualTo("rules[2]");
    assertThat(v.failure().status()).isEqualTo(401);

    Verdict lower = head(enforce, HttpMethod.POST, "/orders/7", "X-HTTP-Method-Override", "delete");
    assertRefused(lower, 400, "invalid_method");
    assertThat(lower.path().path()).isEqualTo("/orders/7");
    assertThat(lower.rule()).isNull();
  }

  @Test
  void theResourceMetadataIsServedWithoutATokenAndOnlyToGetAndHead() {
    String path = enforce.resourceMetadata().path();
    for (HttpMethod m : List.of(HttpMethod.GET, HttpMethod.HEAD)) {
      Verdict v = head(enforce, m, path);
      assertThat(v.action()).isEqualTo(Verdict.Action.SERVE_METADATA);
      assertThat(v.decision()).isEqualTo(GateMetrics.ALLOW);
      assertThat(v.reason()).isEqualTo("resource_metadata");
      assertThat(v.rule()).isNull();
    }
    assertRefused(head(enforce, HttpMethod.POST, path), 405, "method_not_allowed");
    // Audit mode does not forward it either: the metadata is the sidecar's own.
    assertRefused(head(audit, HttpMethod.POST, path), 405, "method_not_allowed");
  }

  @Test
  void aCorsPreflightPassesWithoutATokenOnlyWhenItIsOne() {
    Verdict preflight =
        head(
            enforce,
            HttpMethod.OPTIONS,
            "/orders/1",
            "Origin",
            "https://shop.example.com",
            "Access-Control-Request-Method",
            "GET");
    assertThat(preflight.action()).isEqualTo(Verdict.Action.FORWARD);
    assertThat(preflight.reason()).isEqualTo("cors_preflight");
    assertThat(preflight.rule()).isNull();

    Verdict plainOptions =
        head(enforce, HttpMethod.OPTIONS, "/orders/1", "Origin", "https://shop.example.com");
    assertRefused(plainOptions, 401, "missing_token");
    assertThat(plainOptions.rule().label()).isEqualTo("rules[3]");
  }

  @Test
  void theTokenSourcesDecideWhatIsPresented() {
    Verdict missing = head(enforce, HttpMethod.GET, "/orders/1", "Authorization", "Basic dTpw");
    assertRefused(missing, 401, "missing_token");
    assertThat(missing.credential()).isNull();

    String token = idp.token().claim("scope", "orders.read").sign();
    Verdict twice =
        head(
            enforce,
            HttpMethod.GET,
            "/orders/1",
            "Authorization",
            bearer(token),
            "Authorization",
            bearer(token));
    assertRefused(twice, 400, "duplicate_credentials");

    Verdict large =
        head(enforce, HttpMethod.GET, "/orders/1", "Authorization", bearer("a".repeat(2049)));
    assertRefused(large, 431, "token_too_large");
    assertThat(large.credential()).as("kept for the challenge").isNotNull();

    Verdict pending =
        head(enforce, HttpMethod.GET, "/orders/1", "Authorization", "bearer " + token);
    assertThat(pending.action()).isEqualTo(Verdict.Action.AUTHENTICATE);
    assertThat(pending.credential().token()).isEqualTo(token);
    assertThat(pending.credential().dpop()).isFalse();
    assertThat(pending.rule().label()).isEqualTo("rules[3]");
  }

  @Test
  void aVerifiedTokenWithTheRequiredScopeIsForwarded() throws Exception {
    String token = idp.token().subject("alice").claim("scope", "orders.read").sign();
    Verdict v =
        validated(
            enforce, head(enforce, HttpMethod.GET, "/orders/1", "Authorization", bearer(token)));
    assertThat(v.action()).isEqualTo(Verdict.Action.FORWARD);
    assertThat(v.decision()).isEqualTo(GateMetrics.ALLOW);
    assertThat(v.reason()).isEqualTo("authenticated");
    assertThat(v.token().subject()).isEqualTo("alice");
  }

  @Test
  void aMissingScopeIsRefused403AndRecordedInAuditMode() throws Exception {
    String token = idp.token().subject("bob").claim("scope", "orders.read").sign();
    Verdict refused =
        validated(
            enforce, head(enforce, HttpMethod.DELETE, "/orders/1", "Authorization", bearer(token)));
    assertRefused(refused, 403, "insufficient_scope");
    assertThat(refused.failure().requiredScopes()).containsExactly("orders.delete");
    assertThat(refused.token().subject()).as("logged with the refusal").isEqualTo("bob");

    Verdict audited =
        validated(
            audit, head(audit, HttpMethod.DELETE, "/orders/1", "Authorization", bearer(token)));
    assertThat(audited.action()).isEqualTo(Verdict.Action.FORWARD);
    assertThat(audited.decision()).isEqualTo(GateMetrics.AUDIT_DENY);
    assertThat(audited.reason()).isEqualTo(refused.reason());
  }

  @Test
  void aTokenTheValidatorRejectsIsRefused401() throws Exception {
    String expired =
        idp.token()
            .claim("scope", "orders.read")
            .issuedAt(Instant.now().minusSeconds(7200))
            .expiresAt(Instant.now().minusSeconds(3600))
            .sign();
    Verdict v =
        validated(
            enforce, head(enforce, HttpMethod.GET, "/orders/1", "Authorization", bearer(expired)));
    assertThat(v.action()).isEqualTo(Verdict.Action.REFUSE);
    assertThat(v.failure().status()).isEqualTo(401);
    assertThat(v.failure().error()).isEqualTo("invalid_token");
    assertThat(v.token()).isNull();
  }

  @Test
  void claimsBecomeHeadersAsBytesAndAClaimThatCannotBeOneIsRefused() throws Exception {
    String token =
        idp.token()
            .subject("carol")
            .claim("scope", "orders.read")
            .claim("name", "Zoë")
            .claim("note", "line\r\nX-Injected: 1")
            .sign();
    Verdict forward =
        validated(
            enforce, head(enforce, HttpMethod.GET, "/orders/1", "Authorization", bearer(token)));
    assertThat(forward.action()).isEqualTo(Verdict.Action.FORWARD);

    GateDecision.Claims refused = GateDecision.claims(enforce, forward);
    assertRefused(refused.verdict(), 401, "unforwardable_claim");
    assertThat(refused.verdict().failure().error()).isEqualTo("invalid_token");
    assertThat(refused.headers()).isEmpty();

    Verdict audited =
        validated(audit, head(audit, HttpMethod.GET, "/orders/1", "Authorization", bearer(token)));
    GateDecision.Claims kept = GateDecision.claims(audit, audited);
    assertThat(kept.verdict().action()).isEqualTo(Verdict.Action.FORWARD);
    assertThat(kept.verdict().decision()).isEqualTo(GateMetrics.AUDIT_DENY);
    assertThat(kept.verdict().reason()).isEqualTo("unforwardable_claim");
    // The others are forwarded; non-ASCII text as its UTF-8 bytes, one char per byte.
    assertThat(kept.headers())
        .containsExactlyInAnyOrder(
            Map.entry("X-Auth-Subject", "carol"), Map.entry("X-Auth-Name", "ZoÃ«"));
  }

  @Test
  void withoutATokenNoClaimHeadersAreForwarded() {
    Verdict allowed = head(enforce, HttpMethod.GET, "/public/x");
    GateDecision.Claims claims = GateDecision.claims(enforce, allowed);
    assertThat(claims.headers()).isEmpty();
    assertThat(claims.verdict()).isSameAs(allowed);
  }
}
