package io.tokengate.operator.webhook.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.operator.testing.TestApiServer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Replicas sharing the webhook certificate through one Secret, against the test Kubernetes API: a
 * real kube-apiserver when its binary is present, the fabric8 CRUD mock server otherwise.
 */
class WebhookTlsSecretIT {
  static final List<String> NAMES =
      WebhookTls.servingNames("tokengate-webhook", "tokengate-system", Optional.empty());
  static KubernetesClient client;
  static String namespace;
  static ExecutorService replicas = Executors.newFixedThreadPool(4);

  @BeforeAll
  static void api() {
    TestApiServer api = TestApiServer.shared();
    client = api.client();
    namespace = api.newNamespace("webhook-tls");
  }

  @AfterAll
  static void stop() {
    replicas.shutdownNow();
  }

  static WebhookTlsSecret replica(String name, Instant now) {
    return new WebhookTlsSecret(
        client,
        namespace,
        name,
        new WebhookCertificateIssuer(
            Clock.fixed(now, ZoneOffset.UTC),
            Duration.ofDays(90),
            Duration.ofDays(30),
            WebhookCertificateIssuer.CA_VALIDITY));
  }

  /** Runs {@code n} calls at once, released together, and returns their results. */
  static <T> List<T> concurrently(int n, Callable<T> call) throws Exception {
    CountDownLatch go = new CountDownLatch(1);
    List<Future<T>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      futures.add(
          replicas.submit(
              () -> {
                go.await();
                return call.call();
              }));
    }
    go.countDown();
    List<T> results = new ArrayList<>();
    for (Future<T> f : futures) {
      results.add(f.get());
    }
    return results;
  }

  static WebhookTlsMaterial stored(String name) {
    return WebhookTlsMaterial.fromSecretData(
        client.secrets().inNamespace(namespace).withName(name).get().getData());
  }

  @Test
  void replicasRacingToCreateAllServeTheWinnersCertificate() throws Exception {
    Instant now = Instant.now();
    List<WebhookTlsMaterial> results =
        concurrently(4, () -> replica("race-create", now).ensure(NAMES));
    WebhookTlsMaterial winner = stored("race-create");
    assertThat(results)
        .allSatisfy(
            m -> {
              assertThat(m.certificate()).isEqualTo(winner.certificate());
              assertThat(m.caCertificates()).isEqualTo(winner.caCertificates());
            });
    Secret secret = client.secrets().inNamespace(namespace).withName("race-create").get();
    assertThat(secret.getType()).isEqualTo("kubernetes.io/tls");
  }

  @Test
  void aCurrentCertificateIsReusedNotReissued() {
    Instant now = Instant.now();
    WebhookTlsMaterial first = replica("reuse", now).ensure(NAMES);
    String version =
        client
            .secrets()
            .inNamespace(namespace)
            .withName("reuse")
            .get()
            .getMetadata()
            .getResourceVersion();
    WebhookTlsMaterial again = replica("reuse", now.plus(Duration.ofDays(10))).ensure(NAMES);
    assertThat(again.certificate()).isEqualTo(first.certificate());
    assertThat(
            client
                .secrets()
                .inNamespace(namespace)
                .withName("reuse")
                .get()
                .getMetadata()
                .getResourceVersion())
        .as("no write when nothing is due")
        .isEqualTo(version);
  }

  @Test
  void replicasRacingToRenewAgreeOnOneRenewal() throws Exception {
    Instant now = Instant.now();
    WebhookTlsMaterial original = replica("race-renew", now).ensure(NAMES);
    Instant due = now.plus(Duration.ofDays(70));
    List<WebhookTlsMaterial> results =
        concurrently(4, () -> replica("race-renew", due).ensure(NAMES));
    WebhookTlsMaterial winner = stored("race-renew");
    assertThat(winner.certificate()).isNotEqualTo(original.certificate());
    assertThat(winner.caCertificates()).isEqualTo(original.caCertificates());
    assertThat(results)
        .allSatisfy(m -> assertThat(m.certificate()).isEqualTo(winner.certificate()));
  }

  @Test
  void aSecretWithoutUsableMaterialIsReplaced() {
    client
        .secrets()
        .inNamespace(namespace)
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName("broken")
                .endMetadata()
                .withType("kubernetes.io/tls")
                .withData(Map.of("tls.crt", base64("garbage"), "tls.key", base64("garbage")))
                .build())
        .create();
    WebhookTlsMaterial material = replica("broken", Instant.now()).ensure(NAMES);
    assertThat(stored("broken").certificate()).isEqualTo(material.certificate());
  }

  @Test
  void providedCertificatesAreOnlyRead() {
    WebhookTlsMaterial elsewhere = WebhookCertificateIssuerTest.at(Instant.now()).issue(NAMES);
    client
        .secrets()
        .inNamespace(namespace)
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName("provided")
                .endMetadata()
                .withType("kubernetes.io/tls")
                .withData(
                    Map.of(
                        "tls.crt", base64(elsewhere.certificatePem()),
                        "tls.key", base64(elsewhere.keyPem())))
                .build())
        .create();
    String version =
        client
            .secrets()
            .inNamespace(namespace)
            .withName("provided")
            .get()
            .getMetadata()
            .getResourceVersion();
    WebhookTls.Check check = WebhookTls.provided(replica("provided", Instant.now())).check();
    assertThat(check.certificate())
        .isEqualTo(new ServingCertificate(elsewhere.certificatePem(), elsewhere.keyPem()));
    assertThat(
            client
                .secrets()
                .inNamespace(namespace)
                .withName("provided")
                .get()
                .getMetadata()
                .getResourceVersion())
        .isEqualTo(version);
  }

  static String base64(String text) {
    return java.util.Base64.getEncoder()
        .encodeToString(text.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
  }
}
