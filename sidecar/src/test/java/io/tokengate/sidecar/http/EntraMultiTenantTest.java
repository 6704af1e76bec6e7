package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.testing.SigningKey;
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
 * Multi-tenant Microsoft Entra issuers through the real sidecar. Two real issuers serve what
 * Entra's tenant-independent endpoints serve: discovery whose {@code issuer} is the template
 * ({@code .../{tenantid}/v2.0}, and v1's {@code .../{tenantid}/}), a JWKS of RSA keys without
 * {@code alg} and with Entra's {@code issuer} member; tokens name their own tenant in {@code iss}
 * and {@code tid}. The sidecar has no key snapshot, so it runs discovery itself and checks the
 * template there too.
 */
class EntraMultiTenantTest {
  static final String CONTOSO = "72f988bf-86f1-41af-91ab-2d7cd011db47";
  static final String FABRIKAM = "0b3c6a1e-8c7f-4a5e-9d2b-3f1e6c0a9b8d";
  static final String STRANGER = "d9e0f1a2-b3c4-4d5e-8f60-718293a4b5c6";
  static final String API = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

  static TestIssuer v2;
  static TestIssuer v1;
  static EchoUpstream app;
  static InProcessSidecar gate;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    v2 =
        TestIssuer.builder()
            .issuerPath("/organizations/v2.0")
            .tenantTemplate("/{tenantid}/v2.0")
            .key(SigningKey.rsa("entra-v2").withoutAlgOnJwk())
            .start();
    v1 =
        TestIssuer.builder()
            .issuerPath("/organizations/")
            .tenantTemplate("/{tenantid}/")
            .key(SigningKey.rsa("entra-v1").withoutAlgOnJwk())
            .start();
    app = EchoUpstream.start();
    Path dir = Files.createTempDirectory("entra");
    TokenIssuerSpec orgs = v2.spec();
    orgs.tenants = List.of(CONTOSO, FABRIKAM);
    TokenIssuerSpec anyTenantV1 = v1.spec();
    anyTenantV1.tenants = List.of("*");
    PolicyFiles.write(dir.resolve("v2.yaml"), PolicyFiles.issuerYaml("entra-v2", orgs));
    PolicyFiles.write(dir.resolve("v1.yaml"), PolicyFiles.issuerYaml("entra-v1", anyTenantV1));
    PolicyFiles.write(
        dir.resolve("policy.yaml"),
        """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: orders-api, namespace: shop}
        spec:
          selector: {matchLabels: {app: orders}}
          issuerRefs:
            - {name: entra-v2}
            - {name: entra-v1}
          audiences: ["%s", "api://%s"]
          upstream: {port: %d}
          forwardClaims: {tid: X-Tenant}
          rules:
            - paths: ["/v2-only/**"]
              require: {issuers: [entra-v2]}
        """
            .formatted(API, API, app.port()));
    gate = InProcessSidecar.start(dir);
  }

  @AfterAll
  static void stop() {
    gate.close();
    app.close();
    v2.close();
    v1.close();
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

  static void assertRefused(HttpResponse<String> r, String reason) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
    assertThat(reason(r)).isEqualTo(reason);
    assertThat(r.headers().firstValue("WWW-Authenticate").orElseThrow())
        .contains("error=\"invalid_token\"");
  }

  /** A v2 access token of {@code tid}, as Entra issues it to a multi-tenant app. */
  static io.tokengate.testing.TokenBuilder v2Token(String tid) {
    return v2.tenantToken(tid)
        .audience(API)
        .claim("azp", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c")
        .claim("scp", "orders.read")
        .claim("oid", "00000000-0000-0000-0000-000000000001")
        .claim("ver", "2.0");
  }

  /** A v1 access token of {@code tid}: {@code iss .../<tid>/}, {@code appid}, {@code ver 1.0}. */
  static io.tokengate.testing.TokenBuilder v1Token(String tid) {
    return v1.tenantToken(tid)
        .audience("api://" + API)
        .claim("appid", "1950a258-227b-4e31-a9cf-717495945fc2")
        .claim("scp", "orders.read")
        .claim("ver", "1.0");
  }

  @Test
  void discoveryNamesTheTemplateAndTheSidecarAcceptsIt() {
    assertThat(v2.issuer()).endsWith("/organizations/v2.0");
    assertThat(v2.issuerTemplate()).endsWith("/{tenantid}/v2.0");
    assertThat(v2.jwksJson()).contains("\"issuer\"").doesNotContain("\"alg\"");
    assertThat(v2.discoveryRequests()).isPositive();
    assertThat(gate.sidecar().state().notReadyReason()).isNull();
  }

  @Test
  void tokensOfTheListedTenantsAreAcceptedWithTheirOwnIssuer() throws Exception {
    HttpResponse<String> contoso = get("/orders", v2Token(CONTOSO).sign());
    assertThat(contoso.statusCode()).as(contoso.body()).isEqualTo(200);
    assertThat(app.next().header("X-Tenant")).isEqualTo(CONTOSO);
    assertThat(get("/orders", v2Token(FABRIKAM).sign()).statusCode()).isEqualTo(200);
    assertThat(gate.lastDecision("/orders").getString("issuer"))
        .isEqualTo(v2.issuerOfTenant(FABRIKAM));
  }

  @Test
  void aGenuineTokenOfATenantNotListedIsRefused() throws Exception {
    assertRefused(get("/orders", v2Token(STRANGER).sign()), "tenant_not_allowed");
  }

  @Test
  void theTenantListIsCheckedOnlyAfterTheSignatureSoItCannotBeProbed() throws Exception {
    SigningKey forger = v2.activeKey().sameKidNewMaterial();
    assertRefused(get("/orders", v2Token(STRANGER).signedBy(forger).sign()), "bad_signature");
    assertRefused(get("/orders", v2Token(CONTOSO).signedBy(forger).sign()), "bad_signature");
  }

  @Test
  void tidMustNameTheTenantOfIss() throws Exception {
    assertRefused(
        get("/orders", v2Token(STRANGER).claim("tid", CONTOSO).sign()), "tenant_mismatch");
    assertRefused(
        get("/orders", v2Token(CONTOSO).claim("tid", FABRIKAM).sign()), "tenant_mismatch");
    assertRefused(get("/orders", v2Token(CONTOSO).claim("tid", null).sign()), "tenant_mismatch");
    assertRefused(
        get("/orders", v2Token(CONTOSO).claim("tid", List.of(CONTOSO)).sign()), "tenant_mismatch");
  }

  @Test
  void anIssThatIsNotExactlyATenantOfTheTemplateIsAnotherIssuerAndCausesNoFetch() throws Exception {
    int jwks = v2.jwksRequests() + v1.jwksRequests();
    int discovery = v2.discoveryRequests() + v1.discoveryRequests();
    String origin = v2.origin();
    for (String iss :
        List.of(
            v2.issuerTemplate(),
            v2.issuer(),
            origin + "/" + CONTOSO.toUpperCase() + "/v2.0",
            origin + "/" + CONTOSO + "/v2.0/",
            origin + "/" + CONTOSO + "/v2.0/../x",
            origin + "/" + CONTOSO + "/" + CONTOSO + "/v2.0",
            origin + "/.*/v2.0",
            origin + "/" + CONTOSO.substring(0, 35) + "/v2.0",
            origin + "/{" + CONTOSO + "}/v2.0",
            origin.replace("127.0.0.1", "localhost") + "/" + CONTOSO + "/v2.0")) {
      HttpResponse<String> r =
          get("/orders", v2Token(CONTOSO).issuer(iss).kid("unknown-kid").sign());
      assertThat(r.statusCode()).as(iss).isEqualTo(401);
      assertThat(reason(r)).as(iss).isEqualTo("wrong_issuer");
    }
    assertThat(v2.jwksRequests() + v1.jwksRequests()).isEqualTo(jwks);
    assertThat(v2.discoveryRequests() + v1.discoveryRequests()).isEqualTo(discovery);
  }

  @Test
  void v1TokensGoToTheV1IssuerWhichAcceptsEveryTenantExplicitly() throws Exception {
    HttpResponse<String> r = get("/orders", v1Token(STRANGER).sign());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(app.next().header("X-Tenant")).isEqualTo(STRANGER);
    assertThat(get("/orders", v1Token(CONTOSO).sign()).statusCode()).isEqualTo(200);
    // '*' still needs a tenant: tid equal to the tenant of iss.
    assertRefused(
        get("/orders", v1Token(STRANGER).claim("tid", CONTOSO).sign()), "tenant_mismatch");
    // A v1 token signed with the v2 issuer's key: routed by iss to v1, whose keys do not verify it.
    assertRefused(get("/orders", v1Token(CONTOSO).signedBy(v2.activeKey()).sign()), "unknown_kid");
  }

  @Test
  void aRuleMayRequireOneOfTheMultiTenantIssuers() throws Exception {
    assertThat(get("/v2-only/x", v2Token(CONTOSO).sign()).statusCode()).isEqualTo(200);
    HttpResponse<String> r = get("/v2-only/x", v1Token(CONTOSO).sign());
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(reason(r)).isEqualTo("issuer_not_allowed");
  }
}
