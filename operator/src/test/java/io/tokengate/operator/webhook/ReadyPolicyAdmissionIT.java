package io.tokengate.operator.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.operator.injection.SidecarInjector;
import io.tokengate.operator.status.StatusConditions;
import io.tokengate.operator.testing.LaggingProxy;
import io.tokengate.operator.testing.RunningOperator;
import io.tokengate.operator.testing.TestApiServer;
import io.tokengate.operator.webhook.tls.WebhookTls;
import io.vertx.core.Vertx;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a user does, in a loop, against the real kube-apiserver: create an ApiPolicy, wait for
 * {@code Ready} (a watch, as {@code kubectl wait} does), create a pod it selects at once. Two
 * webhook replicas serve, each with its own policy index; the MutatingWebhookConfiguration sends
 * alternate pods to each (by an object selector on a label). Replica b talks to the API server
 * through a proxy that delivers everything {@value #LAG_MS} ms late, so its index lags the way a
 * busy replica's does and regularly has not seen a policy that is already Ready. Every pod must be
 * stored with the sidecar: none admitted bare, none refused; and replica b must have met the lag.
 * {@code -Dtokengate.admission-loop.iterations=N} (default 1000), by {@code
 * -Dtokengate.admission-loop.users=N} users at once (default 4), each on its own policies.
 */
class ReadyPolicyAdmissionIT {
  static final String OPERATOR_NAMESPACE = "tokengate-system";
  static final String REPLICA_LABEL = "test.tokengate.io/webhook-replica";
  static final int ITERATIONS = Integer.getInteger("tokengate.admission-loop.iterations", 1000);
  static final int USERS = Integer.getInteger("tokengate.admission-loop.users", 4);
  static final String SUFFIX = UUID.randomUUID().toString().substring(0, 6);
  static final String CONFIGURATION = "tokengate-loop-" + SUFFIX;
  static final String SECRET = "tokengate-loop-tls-" + SUFFIX;
  static final long LAG_MS = 300;

  static KubernetesClient client;
  static String namespace;
  static Vertx vertx;
  static RunningOperator operator;
  static final List<SidecarInjectionWebhook> replicas = new ArrayList<>();
  static final List<AdmissionMetrics> metrics = new ArrayList<>();
  static LaggingProxy proxy;
  static KubernetesClient laggingClient;

  @BeforeAll
  static void start() throws Exception {
    TestApiServer api = TestApiServer.shared();
    if (!api.isReal()) {
      System.out.println(
          "[ReadyPolicyAdmissionIT] SKIPPED: needs a real kube-apiserver calling the webhooks; "
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
    namespace = api.newNamespace("loop");
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
    client
        .serviceAccounts()
        .inNamespace(namespace)
        .resource(
            new ServiceAccountBuilder().withNewMetadata().withName("default").endMetadata().build())
        .create();
    client.resource(issuer()).create();

    int[] ports = {freePort(), freePort()};
    List<MutatingWebhook> webhooks = new ArrayList<>();
    for (int i = 0; i < ports.length; i++) {
      webhooks.add(webhook(replica(i), url(ports[i])));
    }
    client
        .admissionRegistration()
        .v1()
        .mutatingWebhookConfigurations()
        .resource(
            new MutatingWebhookConfigurationBuilder()
                .withNewMetadata()
                .withName(CONFIGURATION)
                .endMetadata()
                .withWebhooks(webhooks)
                .build())
        .create();

    operator =
        RunningOperator.start(
            client,
            Map.of(
                "tokengate.watched-namespaces", namespace,
                "tokengate.operator-namespace", OPERATOR_NAMESPACE));
    vertx = Vertx.vertx();
    List<String> names = new ArrayList<>();
    for (int port : ports) {
      names.addAll(
          WebhookTls.servingNames("tokengate-webhook", OPERATOR_NAMESPACE, Optional.of(url(port))));
    }
    java.net.URI master = java.net.URI.create(client.getMasterUrl().toString());
    proxy = new LaggingProxy(master.getHost(), master.getPort(), Duration.ofMillis(LAG_MS));
    laggingClient =
        new KubernetesClientBuilder()
            .withConfig(
                new ConfigBuilder(client.getConfiguration())
                    .withMasterUrl("https://" + master.getHost() + ":" + proxy.port())
                    .build())
            .build();
    for (int i = 0; i < ports.length; i++) {
      int port = ports[i];
      AdmissionMetrics m = AdmissionMetrics.inMemory();
      metrics.add(m);
      SidecarInjectionWebhook replica =
          new SidecarInjectionWebhook(
              vertx,
              i == 0 ? client : laggingClient,
              new WebhookOptions(
                  "127.0.0.1",
                  port,
                  OPERATOR_NAMESPACE,
                  SECRET,
                  CONFIGURATION,
                  true,
                  names.stream().distinct().toList(),
                  Duration.ofDays(90),
                  Duration.ofDays(30),
                  Duration.ofSeconds(5),
                  Optional.of(java.util.Set.of(namespace)),
                  WebhookTestKit.SIDECAR),
              m);
      replicas.add(replica);
      replica.start().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!replicas.stream().allMatch(SidecarInjectionWebhook::ready)
        && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    for (SidecarInjectionWebhook r : replicas) {
      assertThat(r.ready()).as("webhook replica %s", r.state()).isTrue();
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (SidecarInjectionWebhook r : replicas) {
      r.stop().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
    if (operator != null) {
      operator.close();
    }
    if (laggingClient != null) {
      laggingClient.close();
    }
    if (proxy != null) {
      proxy.close();
    }
    if (client != null) {
      client
          .admissionRegistration()
          .v1()
          .mutatingWebhookConfigurations()
          .withName(CONFIGURATION)
          .delete();
    }
  }

  @Test
  void everyPodOfAReadyPolicyIsStoredWithTheSidecar() throws Exception {
    List<String> bare = Collections.synchronizedList(new ArrayList<>());
    List<String> refused = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger injectedCount = new AtomicInteger();
    // Several users at once, each doing the whole sequence on its own policies: the same 1,000
    // iterations in a fraction of the time, and more admissions racing the index than one user.
    ExecutorService users = Executors.newFixedThreadPool(USERS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int u = 0; u < USERS; u++) {
        int user = u;
        done.add(
            users.submit(
                () -> {
                  for (int i = user; i < ITERATIONS; i += USERS) {
                    iteration(i, bare, refused, injectedCount);
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.MINUTES);
      }
    } finally {
      users.shutdownNow();
    }
    int injected = injectedCount.get();
    long readsA = metrics.get(0).currentPoliciesReads();
    long readsB = metrics.get(1).currentPoliciesReads();
    System.out.printf(
        "[ReadyPolicyAdmissionIT] %d iterations by %d users over 2 webhook replicas: %d injected,"
            + " %d bare,"
            + " %d refused; admissions decided from a consistent read because the index lagged:"
            + " replica a %d, replica b (watch %d ms late) %d%n",
        ITERATIONS, USERS, injected, bare.size(), refused.size(), readsA, LAG_MS, readsB);
    assertThat(bare).as("pods admitted without the sidecar").isEmpty();
    assertThat(refused).as("pods refused").isEmpty();
    assertThat(injected).isEqualTo(ITERATIONS);
    assertThat(readsB)
        .as("replica b's index lagged behind Ready at least once (else the loop proved nothing)")
        .isPositive();
  }

  /** One user's sequence: policy, wait for Ready, a pod it selects at once, then clean up. */
  private static void iteration(
      int i, List<String> bare, List<String> refused, AtomicInteger injected) {
    String name = "p" + i;
    String app = "app" + i;
    client.resource(policy(name, app)).create();
    client
        .resources(ApiPolicy.class)
        .inNamespace(namespace)
        .withName(name)
        .waitUntilCondition(ReadyPolicyAdmissionIT::ready, 30, TimeUnit.SECONDS);
    Pod stored;
    try {
      stored = client.resource(pod(app, replica(i % 2))).create();
    } catch (KubernetesClientException e) {
      refused.add(name + ": " + e.getMessage());
      deletePolicy(name);
      return;
    }
    boolean withSidecar =
        stored.getSpec().getInitContainers().stream()
            .map(Container::getName)
            .anyMatch(SidecarInjector.CONTAINER_NAME::equals);
    if (withSidecar) {
      injected.incrementAndGet();
    } else {
      bare.add(stored.getMetadata().getName() + " (policy " + name + ")");
    }
    client.resource(stored).withGracePeriod(0).delete();
    deletePolicy(name);
  }

  private static boolean ready(ApiPolicy p) {
    return p != null
        && p.getStatus() != null
        && StatusConditions.isTrue(p.getStatus().conditions, Conditions.READY);
  }

  private static void deletePolicy(String name) {
    client.resources(ApiPolicy.class).inNamespace(namespace).withName(name).delete();
  }

  private static String replica(int i) {
    return i == 0 ? "a" : "b";
  }

  private static String url(int port) {
    return "https://127.0.0.1:" + port + AdmissionEndpoint.PATH;
  }

  private static int freePort() throws Exception {
    try (ServerSocket free = new ServerSocket(0)) {
      return free.getLocalPort();
    }
  }

  private static MutatingWebhook webhook(String replica, String url) {
    return new MutatingWebhookBuilder()
        .withName(replica + ".sidecar-injector.tokengate.io")
        .withAdmissionReviewVersions("v1")
        .withSideEffects("None")
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
        .withNewObjectSelector()
        .addToMatchLabels(REPLICA_LABEL, replica)
        .endObjectSelector()
        .withNewClientConfig()
        .withUrl(url)
        .endClientConfig()
        .build();
  }

  private static TokenIssuer issuer() {
    return (TokenIssuer)
        ResourceReader.read(
                "issuer",
                """
                apiVersion: tokengate.io/v1alpha1
                kind: TokenIssuer
                metadata: {name: corp, namespace: %s}
                spec:
                  issuer: https://idp.internal/corp
                  discovery: false
                  audiences: [api://loop]
                  jwks:
                    keys:
                      - {kty: EC, kid: k1, crv: P-256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, "y": x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0}
                """
                    .formatted(namespace))
            .get(0);
  }

  private static ApiPolicy policy(String name, String app) {
    return (ApiPolicy)
        ResourceReader.read(
                name,
                """
                apiVersion: tokengate.io/v1alpha1
                kind: ApiPolicy
                metadata: {name: %s, namespace: %s}
                spec:
                  selector: {matchLabels: {app: %s}}
                  issuerRef: {kind: TokenIssuer, name: corp}
                  upstream: {port: 8080}
                """
                    .formatted(name, namespace, app))
            .get(0);
  }

  private static Pod pod(String app, String replica) {
    return new PodBuilder()
        .withNewMetadata()
        .withGenerateName(app + "-")
        .withNamespace(namespace)
        .addToLabels("app", app)
        .addToLabels(REPLICA_LABEL, replica)
        .endMetadata()
        .withNewSpec()
        .addNewContainer()
        .withName("app")
        .withImage("example/app:1.0")
        .addNewPort()
        .withName("http")
        .withContainerPort(8080)
        .endPort()
        .endContainer()
        .endSpec()
        .build();
  }
}
