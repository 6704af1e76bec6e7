package io.tokengate.operator.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.operator.injection.SidecarInjector;
import io.tokengate.operator.injection.SidecarTemplate;
import io.tokengate.operator.webhook.tls.ServingCertificate;
import io.tokengate.operator.webhook.tls.WebhookTlsMaterial;
import io.vertx.core.Vertx;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real HTTPS endpoint on loopback, driven by a real HTTP client that trusts only the generated
 * CA and verifies the host name against the certificate's SANs.
 */
class AdmissionEndpointIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final List<ApiPolicy> POLICIES =
      List.of(WebhookTestKit.policy("shop", "orders-api", "orders", 8080));
  static final AtomicBoolean SYNCED = new AtomicBoolean(true);

  /** The in-memory view has not seen any policy yet (a watch event still in flight). */
  static final AtomicBoolean LAGGING = new AtomicBoolean(false);

  /** Reading the API server's current policies fails. */
  static final AtomicBoolean API_SERVER_DOWN = new AtomicBoolean(false);

  static final AdmissionMetrics METRICS = AdmissionMetrics.inMemory();

  static Vertx vertx;
  static WebhookServer server;
  static io.vertx.ext.web.Router router;
  static WebhookTlsMaterial material;
  static int port;
  static HttpClient http;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    material = WebhookTestKit.issuer().issue(List.of("localhost", "127.0.0.1"));
    PolicyIndex fixed = PolicyIndex.of(POLICIES);
    PolicyIndex index =
        new PolicyIndex() {
          @Override
          public boolean synced() {
            return SYNCED.get();
          }

          @Override
          public List<ApiPolicy> inNamespace(String namespace) {
            return LAGGING.get() ? List.of() : fixed.inNamespace(namespace);
          }

          @Override
          public List<ApiPolicy> current(String namespace) {
            if (API_SERVER_DOWN.get()) {
              throw new IllegalStateException("connection refused");
            }
            return fixed.inNamespace(namespace);
          }
        };
    var endpoint =
        new AdmissionEndpoint(
            new SidecarInjector(SidecarTemplate.bundled(), WebhookTestKit.SIDECAR),
            index,
            NativeSidecarSupport.fixed(true),
            METRICS);
    router = endpoint.router(vertx);
    server = new WebhookServer(vertx, router, "127.0.0.1", 0);
    port =
        server
            .start(ServingCertificate.of(material))
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    http =
        HttpClient.newBuilder()
            .sslContext(WebhookTestKit.trusting(material))
            .connectTimeout(Duration.ofSeconds(30))
            .build();
  }

  @AfterAll
  static void stop() throws Exception {
    server.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  static HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("https://localhost:" + port + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static JsonNode response(HttpResponse<String> r) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode review = JSON.readTree(r.body());
    assertThat(review.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
    assertThat(review.path("kind").asText()).isEqualTo("AdmissionReview");
    return review.path("response");
  }

  /** The chart's {@code helm test}: one AdmissionReview through TLS verified against the CA. */
  @Test
  void theHelmTestCheckGetsADecision(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.crt"), material.caBundlePem());
    String answer =
        WebhookCheck.check(URI.create("https://localhost:" + port + "/mutate-pods"), ca, null);
    assertThat(answer).contains("allowed=true").endsWith("unchanged");
  }

  /**
   * Where pods have no cluster DNS the check connects to the Service's IP and still verifies the
   * certificate for the Service's DNS name.
   */
  @Test
  void theHelmTestCheckConnectsToAnAddressAndVerifiesTheServiceName(@TempDir Path dir)
      throws Exception {
    String service = "tokengate-webhook.tokengate-system.svc";
    WebhookTlsMaterial named = WebhookTestKit.issuer().issue(List.of(service));
    WebhookServer other = new WebhookServer(vertx, router, "127.0.0.1", 0);
    int otherPort =
        other
            .start(ServingCertificate.of(named))
            .toCompletionStage()
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    try {
      Path ca = Files.writeString(dir.resolve("ca.crt"), named.caBundlePem());
      URI url = URI.create("https://" + service + ":" + otherPort + "/mutate-pods");
      assertThat(WebhookCheck.check(url, ca, "127.0.0.1")).contains("allowed=true");
      URI wrongName =
          URI.create("https://other.tokengate-system.svc:" + otherPort + "/mutate-pods");
      assertThatThrownBy(() -> WebhookCheck.check(wrongName, ca, "127.0.0.1"))
          .isInstanceOf(WebhookCheck.CheckFailed.class)
          .hasMessageContaining("at 127.0.0.1");
    } finally {
      other.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void theHelmTestCheckFailsOnAnotherCa(@TempDir Path dir) throws Exception {
    WebhookTlsMaterial other = WebhookTestKit.issuer().issue(List.of("localhost"));
    Path ca = Files.writeString(dir.resolve("ca.crt"), other.caBundlePem());
    assertThatThrownBy(
            () ->
                WebhookCheck.check(
                    URI.create("https://localhost:" + port + "/mutate-pods"), ca, null))
        .isInstanceOf(WebhookCheck.CheckFailed.class)
        .hasMessageContaining("no answer from https://localhost:" + port);
  }

  @Test
  void theHelmTestCheckFailsWithoutAnAdmissionAnswer(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.crt"), material.caBundlePem());
    assertThatThrownBy(
            () ->
                WebhookCheck.check(URI.create("https://localhost:" + port + "/nothing"), ca, null))
        .isInstanceOf(WebhookCheck.CheckFailed.class)
        .hasMessageContaining("answered HTTP 404, not 200");
    assertThat(
            WebhookCheck.run(
                new String[] {"http://localhost:" + port + "/mutate-pods", ca.toString()},
                System.out,
                System.err))
        .isEqualTo(1);
    assertThat(WebhookCheck.run(new String[0], System.out, System.err)).isEqualTo(2);
  }

  @Test
  void matchingPodGetsThePatch() throws Exception {
    long injected = METRICS.count(AdmissionMetrics.INJECTED);
    JsonNode response =
        response(
            post("/mutate-pods", WebhookTestKit.podCreateReview("u-1", "shop", "orders", 8080)));
    assertThat(response.path("uid").asText()).isEqualTo("u-1");
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
    JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.path("patch").asText()));
    assertThat(patch.toString())
        .contains("\"path\":\"/spec/initContainers\"")
        .contains(SidecarInjector.CONTAINER_NAME)
        .contains("\"path\":\"/spec/containers/0/readinessProbe/httpGet/port\",\"value\":8080");
    assertThat(METRICS.count(AdmissionMetrics.INJECTED)).isEqualTo(injected + 1);
  }

  @Test
  void aLaggingIndexIsCorrectedByTheApiServersCurrentPolicies() throws Exception {
    LAGGING.set(true);
    try {
      long reads = METRICS.currentPoliciesReads();
      JsonNode response =
          response(
              post("/mutate-pods", WebhookTestKit.podCreateReview("u-l", "shop", "orders", 8080)));
      assertThat(response.path("allowed").asBoolean()).isTrue();
      assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
      assertThat(new String(Base64.getDecoder().decode(response.path("patch").asText())))
          .contains(SidecarInjector.CONTAINER_NAME);
      assertThat(METRICS.currentPoliciesReads()).isEqualTo(reads + 1);
    } finally {
      LAGGING.set(false);
    }
  }

  @Test
  void aSelectedPodIsDecidedFromMemoryWithoutReadingTheApiServer() throws Exception {
    long reads = METRICS.currentPoliciesReads();
    JsonNode response =
        response(
            post("/mutate-pods", WebhookTestKit.podCreateReview("u-m", "shop", "orders", 8080)));
    assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
    assertThat(METRICS.currentPoliciesReads()).isEqualTo(reads);
  }

  @Test
  void aPodTheIndexWouldAdmitBareIsRefusedWhenTheApiServerCannotBeRead() throws Exception {
    API_SERVER_DOWN.set(true);
    try {
      JsonNode response =
          response(
              post("/mutate-pods", WebhookTestKit.podCreateReview("u-d", "shop", "billing", 8080)));
      assertThat(response.path("allowed").asBoolean()).isFalse();
      assertThat(response.path("status").path("code").asInt()).isEqualTo(503);
      assertThat(response.path("status").path("message").asText())
          .contains("could not read the ApiPolicies of namespace shop")
          .contains("connection refused");
    } finally {
      API_SERVER_DOWN.set(false);
    }
  }

  @Test
  void podNoPolicySelectsIsAllowedUnchanged() throws Exception {
    JsonNode response =
        response(
            post("/mutate-pods", WebhookTestKit.podCreateReview("u-2", "shop", "billing", 8080)));
    assertThat(response.path("uid").asText()).isEqualTo("u-2");
    assertThat(response.path("allowed").asBoolean()).isTrue();
    assertThat(response.has("patch")).isFalse();
  }

  @Test
  void bodiesThatAreNoAdmissionReviewGet400WithTheReason() throws Exception {
    long malformed = METRICS.count(AdmissionMetrics.MALFORMED);
    assertBadRequest("this is not json", "not JSON");
    assertBadRequest("[1,2]", "not a JSON object");
    assertBadRequest(
        "{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}",
        "expected an admission.k8s.io/v1 AdmissionReview");
    assertBadRequest(
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "has no request");
    assertBadRequest(
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
        "no uid");
    assertBadRequest("", "not");
    assertThat(METRICS.count(AdmissionMetrics.MALFORMED)).isEqualTo(malformed + 6);
  }

  void assertBadRequest(String body, String reason) throws Exception {
    HttpResponse<String> r = post("/mutate-pods", body);
    assertThat(r.statusCode()).as(body).isEqualTo(400);
    assertThat(r.body()).as(body).contains(reason);
  }

  @Test
  void requestWithABrokenPodIsRefusedWithItsUid() throws Exception {
    var tree =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            JSON.readTree(WebhookTestKit.podCreateReview("u-3", "shop", "orders", 8080));
    ((com.fasterxml.jackson.databind.node.ObjectNode)
            tree.path("request").path("object").path("spec"))
        .put("containers", 42);
    String review = tree.toString();
    JsonNode response = response(post("/mutate-pods", review));
    assertThat(response.path("uid").asText()).isEqualTo("u-3");
    assertThat(response.path("allowed").asBoolean()).isFalse();
    assertThat(response.path("status").path("code").asInt()).isEqualTo(400);
    assertThat(response.path("status").path("message").asText()).contains("not a valid Pod");
  }

  @Test
  void wrongKindIsRefusedWithAClearMessage() throws Exception {
    String review =
        WebhookTestKit.podCreateReview("u-4", "shop", "orders", 8080)
            .replace(
                "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}",
                "\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}");
    JsonNode response = response(post("/mutate-pods", review));
    assertThat(response.path("uid").asText()).isEqualTo("u-4");
    assertThat(response.path("allowed").asBoolean()).isFalse();
    assertThat(response.path("status").path("message").asText())
        .contains("admits Pods only", "apps/v1 Deployment");
  }

  @Test
  void beforeThePoliciesAreLoadedPodsAreRefused() throws Exception {
    SYNCED.set(false);
    try {
      JsonNode response =
          response(
              post("/mutate-pods", WebhookTestKit.podCreateReview("u-5", "shop", "orders", 8080)));
      assertThat(response.path("allowed").asBoolean()).isFalse();
      assertThat(response.path("status").path("code").asInt()).isEqualTo(503);
      assertThat(response.path("status").path("message").asText())
          .contains("not loaded the ApiPolicies");
    } finally {
      SYNCED.set(true);
    }
  }

  @Test
  void otherMethodsPathsAndOversizedBodiesGet4xx() throws Exception {
    HttpResponse<String> get =
        http.send(
            HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/mutate-pods"))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(post("/validate", "{}").statusCode()).isEqualTo(404);
    String huge = "{\"pad\":\"" + "x".repeat((int) AdmissionEndpoint.MAX_BODY) + "\"}";
    assertThat(post("/mutate-pods", huge).statusCode()).isEqualTo(413);
  }

  @Test
  void rotatedCertificateIsServedFromTheNextHandshake() throws Exception {
    BigInteger before = servedCertificate().getSerialNumber();
    assertThat(before).isEqualTo(material.certificate().getSerialNumber());
    WebhookTlsMaterial renewed =
        new WebhookTlsMaterial(
            material.caCertificates(), material.caKey(), material.certificate(), material.key());
    // A renewal by the same CA, as the rotation produces it.
    renewed =
        WebhookTestKit.issuer()
            .renewal(renewed, List.of("localhost", "127.0.0.1", "renewed.example"))
            .orElseThrow();
    server
        .updateCertificate(ServingCertificate.of(renewed))
        .toCompletionStage()
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
    X509Certificate after = servedCertificate();
    assertThat(after.getSerialNumber())
        .isEqualTo(renewed.certificate().getSerialNumber())
        .isNotEqualTo(before);
    // A new client (new connections) still trusts it through the same CA and gets answers.
    HttpClient fresh =
        HttpClient.newBuilder().sslContext(WebhookTestKit.trusting(material)).build();
    HttpResponse<String> r =
        fresh.send(
            HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/mutate-pods"))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        WebhookTestKit.podCreateReview("u-6", "shop", "orders", 8080)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response(r).path("allowed").asBoolean()).isTrue();
    server
        .updateCertificate(ServingCertificate.of(material))
        .toCompletionStage()
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
  }

  @Test
  void handshakesDuringRotationsNeverFail() throws Exception {
    var failures = new java.util.concurrent.ConcurrentLinkedQueue<Throwable>();
    var handshakes = new java.util.concurrent.atomic.AtomicInteger();
    AtomicBoolean running = new AtomicBoolean(true);
    Thread client =
        new Thread(
            () -> {
              while (running.get()) {
                try {
                  servedCertificate();
                  handshakes.incrementAndGet();
                } catch (Exception e) {
                  failures.add(e);
                }
              }
            });
    client.start();
    WebhookTlsMaterial next = material;
    for (int i = 0; i < 10; i++) {
      next =
          WebhookTestKit.issuer()
              .renewal(next, List.of("localhost", "127.0.0.1", "r" + i + ".example"))
              .orElseThrow();
      server
          .updateCertificate(ServingCertificate.of(next))
          .toCompletionStage()
          .toCompletableFuture()
          .get(5, TimeUnit.SECONDS);
      Thread.sleep(50);
    }
    running.set(false);
    client.join(10_000);
    server
        .updateCertificate(ServingCertificate.of(material))
        .toCompletionStage()
        .toCompletableFuture()
        .get(5, TimeUnit.SECONDS);
    assertThat(failures).isEmpty();
    assertThat(handshakes.get()).isPositive();
  }

  @Test
  void onlyModernTlsIsOffered() throws Exception {
    SSLContext context = WebhookTestKit.trusting(material);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setEnabledProtocols(new String[] {"TLSv1.1"});
      org.assertj.core.api.Assertions.assertThatThrownBy(socket::startHandshake)
          .isInstanceOf(javax.net.ssl.SSLException.class);
    } catch (IllegalArgumentException unsupportedByThisJdk) {
      // the JDK itself refuses TLS 1.1: nothing to check
    }
  }

  static X509Certificate servedCertificate() throws Exception {
    SSLContext context = WebhookTestKit.trusting(material);
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.startHandshake();
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    }
  }
}
