package io.tokengate.operator.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.operator.injection.SidecarInjector;
import io.tokengate.operator.testing.TestApiServer;
import io.tokengate.operator.webhook.tls.WebhookTls;
import io.tokengate.operator.webhook.tls.WebhookTlsMaterial;
import io.vertx.core.Vertx;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real kube-apiserver calls the real webhook: a MutatingWebhookConfiguration with {@code url:
 * https://127.0.0.1:<port>/mutate-pods} (the out-of-cluster mode), the operator's managed TLS
 * creating its Secret and patching the caBundle, and a Pod created in a labelled namespace is
 * stored with the sidecar. Skipped, saying so, where no kube-apiserver binary is present.
 */
class SidecarInjectionApiServerIT {
  static final String OPERATOR_NAMESPACE = "tokengate-system";
  static final String CONFIGURATION =
      "tokengate-sidecar-injector-" + UUID.randomUUID().toString().substring(0, 6);
  static final String SECRET =
      "tokengate-webhook-tls-" + UUID.randomUUID().toString().substring(0, 6);

  static TestApiServer api;
  static KubernetesClient client;
  static Vertx vertx;
  static SidecarInjectionWebhook webhook;
  static int port;
  static String namespace;
  static List<String> names;

  @BeforeAll
  static void start() throws Exception {
    api = TestApiServer.shared();
    if (!api.isReal()) {
      System.out.println(
          "[SidecarInjectionApiServerIT] SKIPPED: needs a real kube-apiserver to call the webhook; "
              + api.description());
    }
    Assumptions.assumeTrue(api.isReal(), "no kube-apiserver binary: " + api.description());
    client = api.client();
    if (client.namespaces().withName(OPERATOR_NAMESPACE).get() == null) {
      client
          .namespaces()
          .resource(
              new NamespaceBuilder()
                  .withNewMetadata()
                  .withName(OPERATOR_NAMESPACE)
                  .endMetadata()
                  .build())
          .create();
    }
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    String url = "https://127.0.0.1:" + port + AdmissionEndpoint.PATH;
    names = WebhookTls.servingNames("tokengate-webhook", OPERATOR_NAMESPACE, Optional.of(url));
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(configuration(url))
        .create();

    namespace = api.newNamespace("shop");
    client
        .namespaces()
        .withName(namespace)
        .edit(
            n ->
                new NamespaceBuilder(n)
                    .editMetadata()
                    .addToLabels(ApiGroup.INJECTION_LABEL, "enabled")
                    .endMetadata()
                    .build());
    // No kube-controller-manager here: the ServiceAccount admission plugin needs the default one.
    client
        .serviceAccounts()
        .inNamespace(namespace)
        .resource(
            new ServiceAccountBuilder().withNewMetadata().withName("default").endMetadata().build())
        .create();
    createRenderedPolicy(WebhookTestKit.policy(namespace, "orders-api", "orders", 8080));
    createPolicy(
        WebhookTestKit.policy(namespace, "billing-api", "billing", 8080)); // never rendered

    vertx = Vertx.vertx();
    WebhookOptions options =
        new WebhookOptions(
            "127.0.0.1",
            port,
            OPERATOR_NAMESPACE,
            SECRET,
            CONFIGURATION,
            true,
            names,
            Duration.ofDays(90),
            Duration.ofDays(30),
            Duration.ofSeconds(1), // certificate checks, fast for the rotation test
            Optional.empty(),
            WebhookTestKit.SIDECAR);
    // Aggregated admission Events write their count every second here (30 s in production).
    webhook =
        new SidecarInjectionWebhook(
            vertx, client, options, AdmissionMetrics.inMemory(), Duration.ofSeconds(1));
    webhook.start().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!webhook.ready() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(webhook.ready()).as("webhook state %s", webhook.state()).isTrue();
  }

  @AfterAll
  static void stop() throws Exception {
    if (webhook != null) {
      webhook.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      client
          .admissionRegistration()
          .v1()
          .mutatingWebhookConfigurations()
          .withName(CONFIGURATION)
          .delete();
    }
  }

  static MutatingWebhookConfiguration configuration(String url) {
    return new MutatingWebhookConfigurationBuilder()
        .withNewMetadata()
        .withName(CONFIGURATION)
        .endMetadata()
        .addNewWebhook()
        .withName("sidecar-injector.tokengate.io")
        .withAdmissionReviewVersions("v1")
        .withSideEffects("NoneOnDryRun")
        .withFailurePolicy("Fail")
        .withTimeoutSeconds(10)
        .addNewRule()
        .withOperations("CREATE")
        .withApiGroups("")
        .withApiVersions("v1")
        .withResources("pods")
        .withScope("Namespaced")
        .endRule()
        .withNewNamespaceSelector()
        .addToMatchLabels(ApiGroup.INJECTION_LABEL, "enabled")
        .endNamespaceSelector()
        .withNewClientConfig()
        .withUrl(url)
        .endClientConfig()
        .endWebhook()
        .build();
  }

  static void createPolicy(ApiPolicy policy) {
    var status = policy.getStatus();
    policy.setStatus(null);
    policy.getMetadata().setCreationTimestamp(null);
    ApiPolicy created =
        client
            .resources(ApiPolicy.class)
            .inNamespace(policy.getMetadata().getNamespace())
            .resource(policy)
            .create();
    policy.setStatus(status);
    policy.setMetadata(created.getMetadata());
  }

  static void createRenderedPolicy(ApiPolicy policy) {
    var status = policy.getStatus();
    createPolicy(policy);
    String ns = policy.getMetadata().getNamespace();
    ApiPolicy stored =
        client
            .resources(ApiPolicy.class)
            .inNamespace(ns)
            .withName(policy.getMetadata().getName())
            .get();
    stored.setStatus(status);
    client.resources(ApiPolicy.class).inNamespace(ns).resource(stored).updateStatus();
  }

  static Pod pod(String app) {
    return new PodBuilder()
        .withNewMetadata()
        .withGenerateName(app + "-")
        .withNamespace(namespace)
        .addToLabels("app", app)
        .endMetadata()
        .withNewSpec()
        .addNewContainer()
        .withName(app)
        .withImage("example/" + app + ":1.0")
        .addNewPort()
        .withName("http")
        .withContainerPort(8080)
        .endPort()
        .withNewReadinessProbe()
        .withNewHttpGet()
        .withPath("/ready")
        .withNewPort("http")
        .endHttpGet()
        .endReadinessProbe()
        .endContainer()
        .endSpec()
        .build();
  }

  /** The webhook's index follows the API server: retry until the policy's status arrived. */
  static Pod createUntilInjected(Pod pod) throws InterruptedException {
    return createUntilInjected(namespace, pod);
  }

  static Pod createUntilInjected(String ns, Pod pod) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try {
        Pod stored = client.pods().inNamespace(ns).resource(pod).create();
        if (SidecarInjector.CONTAINER_NAME.equals(
                stored.getSpec().getInitContainers().stream()
                    .map(Container::getName)
                    .findFirst()
                    .orElse(null))
            || System.nanoTime() > deadline) {
          return stored;
        }
      } catch (KubernetesClientException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
      }
      Thread.sleep(200);
    }
  }

  @Test
  void theApiServerStoresThePodWithTheSidecar() throws Exception {
    Pod stored = createUntilInjected(pod("orders"));
    Container sidecar = stored.getSpec().getInitContainers().get(0);
    assertThat(sidecar.getName()).isEqualTo(SidecarInjector.CONTAINER_NAME);
    assertThat(sidecar.getRestartPolicy())
        .as("native sidecar on Kubernetes %s", client.getKubernetesVersion().getGitVersion())
        .isEqualTo("Always");
    assertThat(sidecar.getArgs())
        .containsExactly(
            "--config",
            "/etc/tokengate",
            "--listen-port",
            "7450",
            "--admin-port",
            "7451",
            "--drain-seconds",
            "20",
            "--decision-log-allowed",
            "Sampled");
    assertThat(sidecar.getPorts())
        .anySatisfy(
            p -> {
              assertThat(p.getName()).isEqualTo("http");
              assertThat(p.getContainerPort()).isEqualTo(7450);
            });
    Container app = stored.getSpec().getContainers().get(0);
    assertThat(app.getPorts().get(0).getName()).isEqualTo("app-8080");
    assertThat(app.getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(8080);
    assertThat(stored.getMetadata().getAnnotations())
        .containsEntry(ApiGroup.POLICY_ANNOTATION, "orders-api")
        .containsKey(ApiGroup.CONFIG_HASH_ANNOTATION);
    assertThat(stored.getSpec().getVolumes())
        .anySatisfy(v -> assertThat(v.getConfigMap().getName()).isEqualTo("tokengate-orders-api"));
  }

  @Test
  void aNamespaceDefaultInjectsThePodsNoNarrowerPolicySelects() throws Exception {
    // A namespace of its own: the default covers every pod of its namespace.
    String ns = api.newNamespace("defaults");
    client
        .namespaces()
        .withName(ns)
        .edit(
            n ->
                new NamespaceBuilder(n)
                    .editMetadata()
                    .addToLabels(ApiGroup.INJECTION_LABEL, "enabled")
                    .endMetadata()
                    .build());
    client
        .serviceAccounts()
        .inNamespace(ns)
        .resource(
            new ServiceAccountBuilder().withNewMetadata().withName("default").endMetadata().build())
        .create();
    ApiPolicy fallback = WebhookTestKit.policy(ns, "shop-default", "unused", 8080);
    fallback.getSpec().selector = new LabelSelector();
    createRenderedPolicy(fallback);
    Thread.sleep(1100); // the narrower policy is newer (second resolution) and still wins
    createRenderedPolicy(WebhookTestKit.policy(ns, "orders-api", "orders", 8080));

    Pod orders = pod("orders");
    orders.getMetadata().setNamespace(ns);
    Pod cart = pod("cart");
    cart.getMetadata().setNamespace(ns);
    // Both policies must be in the webhook's index before the answer says anything.
    Pod storedCart = createUntilInjected(ns, cart);
    Pod storedOrders = createUntilInjected(ns, orders);
    // Until the index has seen orders-api the pod gets the default (protected either way).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!"orders-api"
            .equals(storedOrders.getMetadata().getAnnotations().get(ApiGroup.POLICY_ANNOTATION))
        && System.nanoTime() < deadline) {
      Thread.sleep(200);
      orders = pod("orders");
      orders.getMetadata().setNamespace(ns);
      storedOrders = createUntilInjected(ns, orders);
    }
    assertThat(storedCart.getMetadata().getAnnotations())
        .containsEntry(ApiGroup.POLICY_ANNOTATION, "shop-default");
    assertThat(storedOrders.getMetadata().getAnnotations())
        .as("the narrower policy wins over the older namespace default")
        .containsEntry(ApiGroup.POLICY_ANNOTATION, "orders-api");
  }

  @Test
  void aPodOfAnUnrenderedPolicyIsRefusedWithTheReason() {
    assertThatThrownBy(() -> client.pods().inNamespace(namespace).resource(pod("billing")).create())
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("sidecar-injector.tokengate.io")
        .hasMessageContaining("billing-api")
        .hasMessageContaining("not rendered yet");
  }

  @Test
  void optedOutAndUnselectedPodsAreStoredUnchanged() {
    Pod optedOut = pod("orders");
    optedOut.getMetadata().setAnnotations(Map.of(ApiGroup.INJECT_ANNOTATION, "false"));
    Pod stored = client.pods().inNamespace(namespace).resource(optedOut).create();
    assertThat(stored.getSpec().getInitContainers()).isEmpty();
    assertThat(stored.getSpec().getContainers()).hasSize(1);
    Pod other = client.pods().inNamespace(namespace).resource(pod("catalog")).create();
    assertThat(other.getSpec().getInitContainers()).isEmpty();
    assertThat(other.getSpec().getContainers().get(0).getPorts().get(0).getName())
        .isEqualTo("http");
  }

  @Test
  void declinedPodsOfAControllerAreStampedAndMakeOneEventOnThePolicy() throws Exception {
    String replicaSet = "orders-node-" + UUID.randomUUID().toString().substring(0, 5);
    List<Pod> stored = new java.util.ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (stored.size() < 6) {
      Pod p = pod("orders");
      p.getSpec().setHostNetwork(true);
      p.getSpec().getContainers().get(0).getPorts().get(0).setHostPort(8080);
      p.getMetadata()
          .setOwnerReferences(
              List.of(
                  new io.fabric8.kubernetes.api.model.OwnerReferenceBuilder()
                      .withApiVersion("apps/v1")
                      .withKind("ReplicaSet")
                      .withName(replicaSet)
                      .withUid(UUID.randomUUID().toString())
                      .withController(true)
                      .build()));
      Pod pod = client.pods().inNamespace(namespace).resource(p).create();
      var annotations = pod.getMetadata().getAnnotations();
      if (annotations != null && annotations.containsKey(ApiGroup.NOT_INJECTED_ANNOTATION)) {
        stored.add(pod);
      } else {
        // The webhook's index had not seen orders-api yet: nothing selected the pod.
        assertThat(System.nanoTime()).as("the webhook never selected the pod").isLessThan(deadline);
        Thread.sleep(200);
      }
    }
    assertThat(stored)
        .allSatisfy(
            pod -> {
              assertThat(pod.getMetadata().getAnnotations())
                  .containsEntry(
                      ApiGroup.NOT_INJECTED_ANNOTATION, ApiGroup.NOT_INJECTED_HOST_NETWORK);
              assertThat(pod.getSpec().getInitContainers()).isEmpty();
            });
    // A dry run has no side effects: no Event, no count.
    Pod dry = pod("orders");
    dry.getSpec().setHostNetwork(true);
    dry.getMetadata().setOwnerReferences(stored.get(0).getMetadata().getOwnerReferences());
    client.pods().inNamespace(namespace).resource(dry).dryRun().create();

    String uid =
        client
            .resources(ApiPolicy.class)
            .inNamespace(namespace)
            .withName("orders-api")
            .get()
            .getMetadata()
            .getUid();
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    List<io.fabric8.kubernetes.api.model.Event> events;
    do {
      Thread.sleep(300);
      events =
          client.v1().events().inNamespace(namespace).list().getItems().stream()
              .filter(e -> uid.equals(e.getInvolvedObject().getUid()))
              .filter(e -> e.getMessage().contains(replicaSet))
              .toList();
    } while ((events.size() != 1 || events.get(0).getCount() < stored.size())
        && System.nanoTime() < deadline);
    Thread.sleep(2500); // longer than the write interval: a count the dry run raised would show
    events =
        client.v1().events().inNamespace(namespace).list().getItems().stream()
            .filter(e -> uid.equals(e.getInvolvedObject().getUid()))
            .filter(e -> e.getMessage().contains(replicaSet))
            .toList();
    assertThat(events)
        .as("one aggregated Event for the controller's pods")
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getReason()).isEqualTo("PodNotInjected");
              assertThat(e.getType()).isEqualTo("Warning");
              assertThat(e.getInvolvedObject().getKind()).isEqualTo("ApiPolicy");
              assertThat(e.getMessage())
                  .startsWith("ReplicaSet " + namespace + "/" + replicaSet + ": ")
                  .contains("hostNetwork pods are never injected");
              assertThat(e.getCount()).as("one per stored pod, none for the dry run").isEqualTo(6);
            });
  }

  @Test
  void managedTlsSharesItsCaThroughTheSecretAndTheCaBundle() throws Exception {
    Secret secret = client.secrets().inNamespace(OPERATOR_NAMESPACE).withName(SECRET).get();
    assertThat(secret.getType()).isEqualTo("kubernetes.io/tls");
    WebhookTlsMaterial material = WebhookTlsMaterial.fromSecretData(secret.getData());
    String caBundle =
        client
            .admissionRegistration()
            .v1()
            .mutatingWebhookConfigurations()
            .withName(CONFIGURATION)
            .get()
            .getWebhooks()
            .get(0)
            .getClientConfig()
            .getCaBundle();
    assertThat(new String(Base64.getDecoder().decode(caBundle), StandardCharsets.US_ASCII))
        .isEqualTo(material.caBundlePem());
    try (SSLSocket socket =
        (SSLSocket)
            WebhookTestKit.trusting(material).getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.startHandshake();
      assertThat(socket.getSession().getPeerCertificates()[0]).isEqualTo(material.certificate());
    }
    // The URL is kept as it was: only the caBundle is the operator's.
    assertThat(
            client
                .admissionRegistration()
                .v1()
                .mutatingWebhookConfigurations()
                .withName(CONFIGURATION)
                .get()
                .getWebhooks()
                .get(0)
                .getClientConfig()
                .getUrl())
        .isEqualTo("https://127.0.0.1:" + port + AdmissionEndpoint.PATH);
  }

  @Test
  void aRenewalWrittenByAnotherReplicaIsServedWithoutRestart() throws Exception {
    Secret secret = client.secrets().inNamespace(OPERATOR_NAMESPACE).withName(SECRET).get();
    WebhookTlsMaterial current = WebhookTlsMaterial.fromSecretData(secret.getData());
    WebhookTlsMaterial renewed =
        WebhookTestKit.issuer()
            .renewal(current, List.of("localhost", "127.0.0.1")) // different names force a renewal
            .flatMap(r -> WebhookTestKit.issuer().renewal(r, names))
            .orElseThrow();
    secret.setData(renewed.toSecretData());
    client.secrets().inNamespace(OPERATOR_NAMESPACE).resource(secret).update();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    java.security.cert.Certificate served;
    do {
      Thread.sleep(200);
      try (SSLSocket socket =
          (SSLSocket)
              WebhookTestKit.trusting(current).getSocketFactory().createSocket("127.0.0.1", port)) {
        socket.startHandshake();
        served = socket.getSession().getPeerCertificates()[0];
      }
    } while (!served.equals(renewed.certificate()) && System.nanoTime() < deadline);
    assertThat(served).isEqualTo(renewed.certificate());
    // The API server still trusts it (same CA): pods keep being injected.
    assertThat(createUntilInjected(pod("orders")).getSpec().getInitContainers().get(0).getName())
        .isEqualTo(SidecarInjector.CONTAINER_NAME);
  }
}
