package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.testing.DpopKey;
import io.tokengate.testing.TestIssuer;
import io.tokengate.testing.TokenBuilder;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * DPoP (RFC 9449) through the real sidecar: real issuer keys, real client keys, real HTTP. One gate
 * allows bearer tokens ({@code dpop: Allowed}, the default), the other requires DPoP, serves RFC
 * 9728 metadata and trusts one proxy hop. Every attack the RFC names is tried against a token that
 * is otherwise valid, so each refusal is the proof check's doing.
 */
class DpopTest {
  static final String RESOURCE = "https://orders.example.com";

  static TestIssuer idp;
  static EchoUpstream app;
  static InProcessSidecar allowed;
  static InProcessSidecar required;
  static final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static final List<String> secrets = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    allowed =
        gate("dpop-allowed", "rules:\n  - paths: [\"/**\"]\n    require: {scopes: [orders.read]}");
    required =
        gate(
            "dpop-required",
            """
            dpop: Required
            resourceMetadata: {resource: "%s"}
            requestHandling: {trustedForwardedHops: 1}
            rules:
              - paths: ["/admin/**"]
                require: {scopes: [orders.admin]}
              - paths: ["/**"]
                require: {scopes: [orders.read]}
            """
                .formatted(RESOURCE));
  }

  static InProcessSidecar gate(String name, String spec) throws Exception {
    Path dir = Files.createTempDirectory(name);
    PolicyFiles.write(dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), spec));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    return InProcessSidecar.start(dir);
  }

  @AfterAll
  static void stop() {
    String log = allowed.logText() + required.logText();
    allowed.close();
    required.close();
    app.close();
    idp.close();
    for (String s : secrets) {
      assertThat(log).doesNotContain(s);
    }
  }

  @BeforeEach
  void clear() {
    app.clear();
  }

  static String boundToken(DpopKey key) {
    return remember(
        idp.token()
            .claim("scope", "orders.read")
            .claim("cnf", Map.of("jkt", key.thumbprint()))
            .sign());
  }

  static String bearerToken() {
    return remember(idp.token().claim("scope", "orders.read").sign());
  }

  static String remember(String secret) {
    secrets.add(secret);
    return secret;
  }

  static String sign(TokenBuilder proof) {
    return remember(proof.sign());
  }

  static HttpResponse<String> send(
      InProcessSidecar gate, String method, String path, String... headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(gate.uri(path)).method(method, HttpRequest.BodyPublishers.noBody());
    for (int i = 0; i + 1 < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String url(InProcessSidecar gate, String path) {
    return gate.uri(path).toString();
  }

  static void assertRefusedProof(HttpResponse<String> r, String reason) {
    assertThat(r.statusCode()).isEqualTo(401);
    String challenge = r.headers().firstValue("WWW-Authenticate").orElseThrow();
    assertThat(challenge).startsWith("DPoP realm=\"shop/orders-api\", algs=\"");
    assertThat(challenge).contains("error=\"invalid_dpop_proof\"");
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/" + reason);
    assertThat(app.pending()).isZero();
  }

  // ---- accepted ----

  @Test
  void aBoundTokenWithItsProofIsForwardedOnceAndTheSameProofIsThenAReplay() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    String proof = sign(key.proof("GET", url(allowed, "/orders/1"), token));
    HttpResponse<String> ok =
        send(allowed, "GET", "/orders/1", "Authorization", "DPoP " + token, "DPoP", proof);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(app.next().header("DPoP")).isEqualTo(proof);

    HttpResponse<String> replayed =
        send(allowed, "GET", "/orders/1", "Authorization", "DPoP " + token, "DPoP", proof);
    assertRefusedProof(replayed, "dpop_proof_replayed");
  }

  @Test
  void htuIsComparedWithoutQueryAndAfterNormalisation() throws Exception {
    DpopKey key = DpopKey.rsa();
    String token = boundToken(key);
    String htu = "HTTP://127.0.0.1:" + allowed.port() + "/orders/%7e1?ignored=yes#frag";
    HttpResponse<String> r =
        send(
            allowed,
            "GET",
            "/orders/~1?page=2",
            "Authorization",
            "DPoP " + token,
            "DPoP",
            sign(key.proof("GET", htu, token)));
    assertThat(r.statusCode()).isEqualTo(200);
  }

  @Test
  void anUnboundBearerTokenIsAcceptedWhereDpopIsOnlyAllowed() throws Exception {
    assertThat(
            send(allowed, "GET", "/orders", "Authorization", "Bearer " + bearerToken())
                .statusCode())
        .isEqualTo(200);
  }

  // ---- attacks ----

  @Test
  void aProofForAnotherMethodIsRefused() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    String proof = sign(key.proof("POST", url(allowed, "/orders"), token));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", proof),
        "dpop_proof_wrong_method");
  }

  @Test
  void aProofForAnotherUrlIsRefused() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    for (String htu :
        List.of(
            url(allowed, "/orders/2"),
            "https://127.0.0.1:" + allowed.port() + "/orders/1",
            "http://127.0.0.1:" + (allowed.port() + 1) + "/orders/1",
            "http://evil.example/orders/1",
            "/orders/1")) {
      String proof = sign(key.proof("GET", htu, token));
      assertRefusedProof(
          send(allowed, "GET", "/orders/1", "Authorization", "DPoP " + token, "DPoP", proof),
          "dpop_proof_wrong_uri");
    }
  }

  @Test
  void aProofSignedByAnotherKeyIsRefused() throws Exception {
    DpopKey owner = DpopKey.ec();
    DpopKey thief = DpopKey.ec();
    String token = boundToken(owner);
    String proof = sign(thief.proof("GET", url(allowed, "/orders"), token));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", proof),
        "dpop_proof_wrong_key");
    // The owner's public key in the header, signed by the thief: the signature does not verify.
    String forged =
        sign(
            thief
                .proof("GET", url(allowed, "/orders"), token)
                .header("jwk", owner.signingKey().publicJwk().toJSONObject()));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", forged),
        "dpop_proof_bad_signature");
  }

  @Test
  void aStaleOrFutureProofIsRefused() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    for (long offset : new long[] {-120, 60}) {
      String proof =
          sign(
              key.proof("GET", url(allowed, "/orders"), token)
                  .claim("iat", Instant.now().getEpochSecond() + offset));
      assertRefusedProof(
          send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", proof),
          "dpop_proof_stale");
    }
  }

  @Test
  void unsignedAndHmacProofsAreRefused() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    String none = key.proof("GET", url(allowed, "/orders"), token).header("alg", "none").unsigned();
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", none),
        "dpop_proof_unsigned");
    String noneSigned =
        sign(key.proof("GET", url(allowed, "/orders"), token).header("alg", "none"));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", noneSigned),
        "dpop_proof_algorithm");
    String hmac =
        remember(
            key.proof("GET", url(allowed, "/orders"), token)
                .header("alg", "HS256")
                .signWithHmac("a-shared-secret-of-at-least-32-bytes!".getBytes()));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", hmac),
        "dpop_proof_algorithm");
  }

  @Test
  void aProofOfAnotherTypeWithAPrivateKeyOrForAnotherTokenIsRefused() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    String jwt = sign(key.proof("GET", url(allowed, "/orders"), token).type("JWT"));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", jwt),
        "dpop_proof_type");
    String privateJwk =
        sign(
            key.proof("GET", url(allowed, "/orders"), token)
                .header("jwk", key.signingKey().privateJwk().toJSONObject()));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", privateJwk),
        "dpop_proof_private_key");
    String otherToken =
        remember(
            idp.token()
                .claim("scope", "orders.read")
                .claim("jti", "another-token")
                .claim("cnf", Map.of("jkt", key.thumbprint()))
                .sign());
    String forOther = sign(key.proof("GET", url(allowed, "/orders"), otherToken));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", forOther),
        "dpop_proof_wrong_token");
    String noAth = sign(key.proof("GET", url(allowed, "/orders"), null));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", noAth),
        "dpop_proof_wrong_token");
  }

  @Test
  void aBoundTokenWithoutProofOrWithTwoProofsIsRefused() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token), "dpop_proof_missing");
    String a = sign(key.proof("GET", url(allowed, "/orders"), token));
    String b = sign(key.proof("GET", url(allowed, "/orders"), token));
    assertRefusedProof(
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", a, "DPoP", b),
        "dpop_proof_multiple");
  }

  @Test
  void aBoundTokenPresentedAsBearerIsRefusedEvenWithAValidProof() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    String proof = sign(key.proof("GET", url(allowed, "/orders"), token));
    HttpResponse<String> r =
        send(allowed, "GET", "/orders", "Authorization", "Bearer " + token, "DPoP", proof);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().firstValue("WWW-Authenticate").orElseThrow())
        .startsWith("DPoP realm=\"shop/orders-api\"")
        .contains("error=\"invalid_token\"");
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/dpop_bound_token_as_bearer");
    assertThat(app.pending()).isZero();
  }

  @Test
  void anUnboundTokenWithTheDpopSchemeIsRefused() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = bearerToken();
    String proof = sign(key.proof("GET", url(allowed, "/orders"), token));
    HttpResponse<String> r =
        send(allowed, "GET", "/orders", "Authorization", "DPoP " + token, "DPoP", proof);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/dpop_token_unbound");
  }

  @Test
  void aMissingTokenIsChallengedWithBothSchemesWhereDpopIsAllowed() throws Exception {
    HttpResponse<String> r = send(allowed, "GET", "/orders");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().allValues("WWW-Authenticate"))
        .containsExactly(
            "Bearer realm=\"shop/orders-api\"",
            "DPoP realm=\"shop/orders-api\", algs=\"ES256 ES384 ES512 PS256 PS384 PS512 RS256"
                + " RS384 RS512 EdDSA\"");
  }

  // ---- dpop: Required, behind one trusted proxy, with resource metadata ----

  @Test
  void whereDpopIsRequiredABearerTokenIsRefusedAndTheChallengeNamesTheMetadata() throws Exception {
    HttpResponse<String> r =
        send(required, "GET", "/orders", "Authorization", "Bearer " + bearerToken());
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.headers().allValues("WWW-Authenticate"))
        .singleElement()
        .satisfies(
            c ->
                assertThat(c)
                    .startsWith("DPoP realm=\"shop/orders-api\"")
                    .contains("error=\"invalid_token\"")
                    .endsWith(
                        ", resource_metadata=\""
                            + RESOURCE
                            + "/.well-known/oauth-protected-resource\""));
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/dpop_required");
    HttpResponse<String> missing = send(required, "GET", "/orders");
    assertThat(missing.headers().allValues("WWW-Authenticate"))
        .containsExactly(
            "DPoP realm=\"shop/orders-api\", algs=\"ES256 ES384 ES512 PS256 PS384 PS512 RS256"
                + " RS384 RS512 EdDSA\", resource_metadata=\""
                + RESOURCE
                + "/.well-known/oauth-protected-resource\"");
  }

  @Test
  void behindATrustedProxyTheProofIsForTheExternalUrl() throws Exception {
    DpopKey key = DpopKey.ec();
    String token = boundToken(key);
    String external = sign(key.proof("GET", RESOURCE + "/orders/7", token));
    HttpResponse<String> ok =
        send(
            required,
            "GET",
            "/orders/7",
            "Authorization",
            "DPoP " + token,
            "DPoP",
            external,
            "X-Forwarded-Proto",
            "https",
            "X-Forwarded-Host",
            "orders.example.com");
    assertThat(ok.statusCode()).isEqualTo(200);
    app.clear();
    // The same request straight to the sidecar: the URL it sees is not the one the proof names.
    String direct = sign(key.proof("GET", RESOURCE + "/orders/7", token));
    assertRefusedProof(
        send(required, "GET", "/orders/7", "Authorization", "DPoP " + token, "DPoP", direct),
        "dpop_proof_wrong_uri");
    // And where no hop is trusted, forwarding headers change nothing.
    String spoofed = sign(key.proof("GET", RESOURCE + "/orders/7", token));
    assertRefusedProof(
        send(
            allowed,
            "GET",
            "/orders/7",
            "Authorization",
            "DPoP " + token,
            "DPoP",
            spoofed,
            "X-Forwarded-Proto",
            "https",
            "X-Forwarded-Host",
            "orders.example.com"),
        "dpop_proof_wrong_uri");
  }

  @Test
  void theMetadataIsServedWithoutATokenAndDescribesThePolicy() throws Exception {
    HttpResponse<String> r = send(required, "GET", "/.well-known/oauth-protected-resource");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    JsonObject doc = new JsonObject(r.body());
    assertThat(doc.getString("resource")).isEqualTo(RESOURCE);
    assertThat(doc.getJsonArray("authorization_servers").getList()).containsExactly(idp.issuer());
    assertThat(doc.getJsonArray("scopes_supported").getList())
        .containsExactly("orders.admin", "orders.read");
    assertThat(doc.getJsonArray("bearer_methods_supported").getList()).containsExactly("header");
    assertThat(doc.getBoolean("dpop_bound_access_tokens_required")).isTrue();
    assertThat(doc.getJsonArray("dpop_signing_alg_values_supported").getList())
        .contains("ES256", "PS256", "EdDSA")
        .doesNotContain("HS256", "none");
    assertThat(app.pending()).isZero();
    assertThat(send(required, "POST", "/.well-known/oauth-protected-resource").statusCode())
        .isEqualTo(405);
    // Where no metadata is configured, the path is the application's like any other.
    assertThat(send(allowed, "GET", "/.well-known/oauth-protected-resource").statusCode())
        .isEqualTo(401);
  }
}
