package io.tokengate.operator.issuer;

import static io.tokengate.operator.testing.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.Conditions.Reasons;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.KeyInfo;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerSpec;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuerStatus;
import io.tokengate.operator.status.StatusConditions;
import io.tokengate.operator.testing.RunningOperator;
import io.tokengate.operator.testing.TestApiServer;
import io.tokengate.testing.SigningKey;
import io.tokengate.testing.TestIssuer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The TokenIssuer and ClusterTokenIssuer reconcilers against a Kubernetes API (real kube-apiserver
 * when present, else the mock server) and a real OpenID Connect issuer on loopback.
 */
class IssuerReconcilerIT {
  private static TestApiServer api;
  private static KubernetesClient client;
  private static String namespace;
  private static RunningOperator operator;

  @BeforeAll
  static void start() {
    api = TestApiServer.shared();
    // The reconcilers patch status with server-side apply and use a Lease; the fabric8 mock
    // server implements neither faithfully, so these tests need the real kube-apiserver.
    assumeThat(api.isReal())
        .as("reconciler tests need a real kube-apiserver; running on " + api.description())
        .isTrue();
    client = api.client();
    namespace = api.newNamespace("issuers");
    operator =
        RunningOperator.start(
            client,
            Map.of(
                "tokengate.watched-namespaces", namespace,
                "tokengate.operator-namespace", namespace,
                "tokengate.leader-election.enabled", "true",
                "tokengate.leader-election.lease-name", "tokengate-issuers-it",
                "tokengate.issuers.fetch-timeout", "2s",
                "tokengate.issuers.max-retry-interval", "2s"));
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.close();
    }
  }

  @Test
  void loadsKeysThroughDiscoveryAndFollowsRotation() {
    try (TestIssuer idp = rsaAndEcIssuer()) {
      var kids = idp.keyIds();
      create(tokenIssuer("rotating", idp.issuer(), "1s"));

      TokenIssuerStatus ready = awaitReady(TokenIssuer.class, "rotating");
      assertThat(ready.keys).extracting(k -> k.kid).containsExactlyInAnyOrderElementsOf(kids);
      assertThat(ready.keys).extracting(k -> k.kty).containsExactlyInAnyOrder("RSA", "EC");
      assertThat(ready.keys).extracting(k -> k.alg).containsExactlyInAnyOrder("RS256", "ES256");
      assertThat(ready.keys).extracting(k -> k.use).containsOnly("sig");
      assertThat(ready.keyCount).isEqualTo(2);
      assertThat(ready.jwksUri).isEqualTo(idp.jwksUri());
      assertThat(ready.jwksHash).startsWith("sha256:");
      assertThat(ready.lastRefreshTime).isNotBlank();
      assertThat(ready.observedGeneration).isEqualTo(1L);
      assertCondition(ready, Conditions.DISCOVERY_SUCCEEDED, "True", Reasons.DISCOVERED);
      assertCondition(ready, Conditions.KEYS_LOADED, "True", Reasons.KEYS_FETCHED);

      var rotated = idp.replaceAllKeys();
      eventually(
          () -> {
            TokenIssuerStatus s = status(TokenIssuer.class, "rotating");
            assertThat(s.keys).extracting(k -> k.kid).containsExactlyInAnyOrderElementsOf(rotated);
            assertThat(s.jwksHash).isNotEqualTo(ready.jwksHash);
          });
      assertThat(
              client.v1().events().inNamespace(namespace).list().getItems().stream()
                  .filter(e -> "rotating".equals(e.getInvolvedObject().getName()))
                  .map(e -> e.getReason()))
          .contains(Reasons.READY, Reasons.KEYS_FETCHED);
    }
  }

  @Test
  void anUnreachableIssuerIsNotReadyAndKeepsItsLastKeys() {
    TestIssuer idp = rsaAndEcIssuer();
    create(tokenIssuer("goes-away", idp.issuer(), "1s"));
    TokenIssuerStatus ready = awaitReady(TokenIssuer.class, "goes-away");
    idp.close();

    eventually(
        () -> {
          TokenIssuerStatus s = status(TokenIssuer.class, "goes-away");
          Condition c = StatusConditions.find(s.conditions, Conditions.READY).orElseThrow();
          assertThat(c.getStatus()).isEqualTo("False");
          assertThat(c.getReason()).isEqualTo(Reasons.DISCOVERY_FAILED);
          assertThat(c.getMessage())
              .contains(idp.discoveryUri())
              .contains("policies keep the keys fetched at");
          assertThat(s.jwksHash).isEqualTo(ready.jwksHash);
          assertThat(s.keyCount).isEqualTo(2);
        });
  }

  @Test
  void misbehavingIssuersGetTheirReason() {
    try (TestIssuer wrongIssuer = TestIssuer.start();
        TestIssuer notJson = TestIssuer.start();
        TestIssuer failing = TestIssuer.start()) {
      wrongIssuer.discoveryOverrides(Map.of("issuer", wrongIssuer.issuer() + "/other"));
      notJson.serveJwksBody("<html>login</html>");
      failing.goDown(TestIssuer.Outage.HTTP_500);
      create(tokenIssuer("wrong-issuer", wrongIssuer.issuer(), "10m"));
      create(tokenIssuer("not-json", notJson.issuer(), "10m"));
      create(tokenIssuer("failing", failing.issuer(), "10m"));

      awaitNotReady("wrong-issuer", Reasons.ISSUER_MISMATCH, "names issuer");
      awaitNotReady("not-json", Reasons.JWKS_INVALID, "not a JSON object");
      awaitNotReady("failing", Reasons.DISCOVERY_FAILED, "answered HTTP 500");
      // Retried with backoff (at most 2 s here), never given up.
      int before = notJson.jwksRequests();
      eventually(
          Duration.ofSeconds(15), () -> assertThat(notJson.jwksRequests()).isGreaterThan(before));
    }
  }

  @Test
  void entraMultiTenantIssuersNeedTheirTenantsAndTheTemplateOfTheirOwnAuthority() {
    String tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    try (TestIssuer v2 = entra("/organizations/v2.0", "/{tenantid}/v2.0");
        TestIssuer v1 = entra("/organizations/", "/{tenantid}/");
        TestIssuer foreign = entra("/organizations/v2.0", "/{tenantid}/v2.0");
        TestIssuer singleTenant =
            TestIssuer.builder()
                .issuerPath("/organizations/v2.0")
                .key(SigningKey.rsa("single-1"))
                .start()) {
      assertThat(v2.issuerTemplate()).endsWith("/{tenantid}/v2.0");

      // Discovery names a template and spec.tenants is missing: fail closed, say so, and an Event.
      create(tokenIssuer("entra-no-tenants", v2.issuer(), "10m"));
      awaitNotReady(
          "entra-no-tenants",
          Reasons.TENANTS_REQUIRED,
          "names the issuer template '" + v2.issuerTemplate() + "'");
      TokenIssuerStatus refused = status(TokenIssuer.class, "entra-no-tenants");
      assertCondition(refused, Conditions.DISCOVERY_SUCCEEDED, "False", Reasons.TENANTS_REQUIRED);
      assertThat(StatusConditions.find(refused.conditions, Conditions.READY).get().getMessage())
          .contains("spec.tenants lists the tenant ids to accept");
      assertThat(refused.keys).as("no keys published for an issuer no token could match").isNull();
      eventually(
          () ->
              assertThat(
                      client.v1().events().inNamespace(namespace).list().getItems().stream()
                          .filter(e -> "entra-no-tenants".equals(e.getInvolvedObject().getName()))
                          .filter(e -> Reasons.TENANTS_REQUIRED.equals(e.getReason()))
                          .map(e -> e.getType()))
                  .contains("Warning"));

      // With the tenants listed, the same issuer is Ready and says which template it matches.
      TokenIssuer fixed =
          client
              .resources(TokenIssuer.class)
              .inNamespace(namespace)
              .withName("entra-no-tenants")
              .get();
      fixed.getSpec().tenants = java.util.List.of(tid);
      client.resource(fixed).update();
      TokenIssuerStatus ready = awaitReady(TokenIssuer.class, "entra-no-tenants");
      assertThat(ready.keyCount).isEqualTo(2);
      assertThat(ready.keys).extracting(k -> k.kid).containsExactlyInAnyOrder("entra-1", "entra-2");
      assertThat(ready.jwksUri).isEqualTo(v2.jwksUri());
      Condition discovered =
          StatusConditions.find(ready.conditions, Conditions.DISCOVERY_SUCCEEDED).orElseThrow();
      assertThat(discovered.getReason()).isEqualTo(Reasons.DISCOVERED);
      assertThat(discovered.getMessage())
          .contains(v2.issuerTemplate())
          .contains("1 listed tenant(s)");

      // v1: the template keeps v1's trailing slash; every tenant, explicitly.
      TokenIssuer anyV1 = tokenIssuer("entra-v1", v1.issuer(), "10m");
      anyV1.getSpec().tenants = java.util.List.of("*");
      create(anyV1);
      assertThat(
              StatusConditions.find(
                      awaitReady(TokenIssuer.class, "entra-v1").conditions,
                      Conditions.DISCOVERY_SUCCEEDED)
                  .orElseThrow()
                  .getMessage())
          .contains(v1.issuerTemplate())
          .contains("every tenant");

      // A template that is not spec.issuer's own is a mismatch, with or without spec.tenants.
      foreign.discoveryOverrides(Map.of("issuer", foreign.issuerTemplate() + "/other"));
      TokenIssuer widened = tokenIssuer("entra-foreign", foreign.issuer(), "10m");
      widened.getSpec().tenants = java.util.List.of("*");
      create(widened);
      awaitNotReady("entra-foreign", Reasons.ISSUER_MISMATCH, "/{tenantid}/v2.0/other");
      create(tokenIssuer("entra-foreign-bare", foreign.issuer(), "10m"));
      awaitNotReady(
          "entra-foreign-bare",
          Reasons.ISSUER_MISMATCH,
          "which is not the template of spec.issuer");

      // spec.tenants on an issuer whose discovery names one issuer: a mismatch saying what to do.
      TokenIssuer single = tokenIssuer("entra-single", singleTenant.issuer(), "10m");
      single.getSpec().tenants = java.util.List.of(tid);
      create(single);
      awaitNotReady("entra-single", Reasons.ISSUER_MISMATCH, "remove spec.tenants");
    }
  }

  @Test
  void clusterIssuerWithStaticKeysAndTheLeaseOfTheLeader() {
    ClusterTokenIssuer issuer = new ClusterTokenIssuer();
    issuer.setMetadata(new ObjectMetaBuilder().withName("static-" + namespace).build());
    issuer.setSpec(new TokenIssuerSpec());
    issuer.getSpec().issuer = "https://idp.internal/corp";
    issuer.getSpec().discovery = false;
    issuer.getSpec().jwks =
        new io.tokengate.api.v1alpha1.tokenissuer.Jwks(
            java.util.List.of(
                Map.of(
                    "kty",
                    "EC",
                    "kid",
                    "k1",
                    "crv",
                    "P-256",
                    "x",
                    "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                    "y",
                    "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")));
    client.resource(issuer).create();
    TokenIssuerStatus s = awaitReady(ClusterTokenIssuer.class, issuer.getMetadata().getName());
    assertThat(s.keys).containsExactly(new KeyInfo("k1", "EC", null, null));
    assertCondition(s, Conditions.KEYS_LOADED, "True", Reasons.STATIC_KEYS);
    assertCondition(s, Conditions.DISCOVERY_SUCCEEDED, "True", Reasons.DISCOVERY_DISABLED);
    // Events about a cluster-scoped issuer live in "default", the only namespace the API server
    // accepts them in.
    eventually(
        () ->
            assertThat(
                    client.v1().events().inNamespace("default").list().getItems().stream()
                        .filter(
                            e ->
                                issuer
                                    .getMetadata()
                                    .getName()
                                    .equals(e.getInvolvedObject().getName()))
                        .map(e -> e.getReason()))
                .contains(Reasons.READY));

    var lease = client.leases().inNamespace(namespace).withName("tokengate-issuers-it").get();
    assertThat(lease).as("the leader holds a Lease").isNotNull();
    assertThat(lease.getSpec().getHolderIdentity()).isNotBlank();
    client.resource(issuer).delete();
  }

  private static TokenIssuer tokenIssuer(String name, String url, String refresh) {
    TokenIssuer issuer = new TokenIssuer();
    issuer.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    issuer.setSpec(new TokenIssuerSpec());
    issuer.getSpec().issuer = url;
    issuer.getSpec().allowInsecureHttp = true;
    issuer.getSpec().refreshInterval = refresh;
    return issuer;
  }

  private static void create(TokenIssuer issuer) {
    client.resource(issuer).create();
  }

  private static void awaitNotReady(String name, String reason, String message) {
    eventually(
        () -> {
          Condition c =
              StatusConditions.find(status(TokenIssuer.class, name).conditions, Conditions.READY)
                  .orElseThrow();
          assertThat(c.getStatus()).isEqualTo("False");
          assertThat(c.getReason()).isEqualTo(reason);
          assertThat(c.getMessage()).contains(message);
        });
  }

  private static <
          R extends io.fabric8.kubernetes.client.CustomResource<TokenIssuerSpec, TokenIssuerStatus>>
      TokenIssuerStatus awaitReady(Class<R> kind, String name) {
    eventually(
        () ->
            assertThat(StatusConditions.isTrue(status(kind, name).conditions, Conditions.READY))
                .as("%s %s Ready", kind.getSimpleName(), name)
                .isTrue());
    return status(kind, name);
  }

  private static <
          R extends io.fabric8.kubernetes.client.CustomResource<TokenIssuerSpec, TokenIssuerStatus>>
      TokenIssuerStatus status(Class<R> kind, String name) {
    R r =
        ClusterTokenIssuer.class.equals(kind)
            ? client.resources(kind).withName(name).get()
            : client.resources(kind).inNamespace(namespace).withName(name).get();
    assertThat(r).isNotNull();
    assertThat(r.getStatus()).as("status of %s", name).isNotNull();
    return r.getStatus();
  }

  private static void assertCondition(
      TokenIssuerStatus status, String type, String value, String reason) {
    Condition c = StatusConditions.find(status.conditions, type).orElseThrow();
    assertThat(c.getStatus()).isEqualTo(value);
    assertThat(c.getReason()).isEqualTo(reason);
    assertThat(c.getLastTransitionTime()).isNotBlank();
  }

  /** An issuer publishing one RSA (RS256) and one EC (ES256) key, as Keycloak does by default. */
  /**
   * An issuer serving what Entra's tenant-independent endpoints serve: discovery naming the
   * template, RSA keys without alg carrying Entra's issuer member.
   */
  private static TestIssuer entra(String tenantIndependentPath, String templatePath) {
    return TestIssuer.builder()
        .issuerPath(tenantIndependentPath)
        .tenantTemplate(templatePath)
        .key(SigningKey.rsa("entra-1").withoutAlgOnJwk())
        .key(SigningKey.rsa("entra-2").withoutAlgOnJwk())
        .start();
  }

  private static TestIssuer rsaAndEcIssuer() {
    return TestIssuer.builder().key(SigningKey.rsa("rsa-1")).key(SigningKey.ec("ec-1")).start();
  }
}
