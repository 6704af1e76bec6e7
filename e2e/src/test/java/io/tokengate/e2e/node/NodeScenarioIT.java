package io.tokengate.e2e.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.e2e.ScenarioResources;
import io.tokengate.e2e.cluster.ControlPlane;
import io.tokengate.e2e.cluster.NodeImages;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.support.Await;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Repo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * The user path on the real node ({@code start.sh --node}): the chart installs the operator IN the
 * cluster (two replicas from the Jib image, leader election, the webhook reached through its
 * Service and kube-proxy), the examples are applied against a Keycloak on the node's bridge
 * address, and a Deployment of the test app runs with the injected sidecar under the kubelet, the
 * chart's default resources and the NetworkPolicy interception. All traffic comes from a client pod
 * (the client image) through the Service. Each step needs the previous ones; after a failure the
 * rest are skipped naming it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeScenarioIT {
  static final String NODE_IP = "10.244.0.1";
  static final String RELEASE = "tokengate";
  static final String SYSTEM_NS = "tokengate-system";
  static final String NS = "shop";
  static final String POLICY = "orders-api";
  static final String ISSUER = "corp-idp";
  static final String SIDECAR = "tokengate-sidecar";
  static final int APP_PORT = 18080;
  static final int SIDECAR_PORT = 7450;
  static final String OPERATOR_SELECTOR = "app.kubernetes.io/component=operator";

  static final HttpClient HOST_HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  static ControlPlane cluster;
  static Keycloak keycloak;
  static Cli kubectl;
  static ClientPod clients;
  static String serviceUrl;
  static String failedStep;

  @RegisterExtension
  static final TestWatcher STEPWISE =
      new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
          failedStep = context.getDisplayName();
          if (kubectl == null) {
            return;
          }
          printPods();
          for (List<String> args :
              List.of(
                  List.of("logs", "-n", SYSTEM_NS, "-l", OPERATOR_SELECTOR, "--tail=60"),
                  List.of("logs", "-n", NS, "-l", "app=orders", "-c", SIDECAR, "--tail=40"),
                  List.of("get", "events", "-n", NS, "--sort-by=.lastTimestamp"))) {
            try {
              System.out.println(kubectl.run(args.toArray(String[]::new)));
            } catch (RuntimeException e) {
              System.out.println("[node-e2e] " + String.join(" ", args) + ": " + e.getMessage());
            }
          }
        }
      };

  @BeforeAll
  static void start() throws Exception {
    Path base = Path.of(System.getProperty("tokengate.e2e.workdir", "target/e2e"));
    Files.createDirectories(base);
    Map<String, String> images = NodeImages.build();
    // Kept short: containerd's sockets live under it and a unix socket path has at most 104
    // bytes.
    cluster =
        ControlPlane.start(Files.createTempDirectory(base.toAbsolutePath(), "node-"), true, images);
    // The node's bridge (NODE_IP) exists now: Keycloak listens there, so pods and this test see
    // the same issuer URL. It boots while the chart installs.
    keycloak =
        Keycloak.startOn(Files.createTempDirectory(base.toAbsolutePath(), "keycloak-"), NODE_IP);
    kubectl = cluster.kubectl();
    clients = new ClientPod(cluster.client(), NS);
  }

  @AfterAll
  static void stop() {
    if (keycloak != null) {
      keycloak.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void previousStepsPassed() {
    assumeTrue(failedStep == null, () -> "skipped: the earlier step " + failedStep + " failed");
  }

  @Test
  @Order(1)
  void helmInstallsTheOperatorInTheClusterAndBothReplicasBecomeReady() {
    cluster
        .helm()
        .run(
            "install",
            RELEASE,
            Repo.root().resolve("helm/tokengate").toString(),
            "--namespace",
            SYSTEM_NS,
            "--create-namespace",
            "--set",
            "replicaCount=2",
            "--set",
            "image.pullPolicy=Never",
            "--set",
            "sidecar.image.pullPolicy=IfNotPresent",
            "--wait",
            "--timeout",
            "5m");
    kubectl.run(
        "wait",
        "--for=condition=Ready",
        "pod",
        "-n",
        SYSTEM_NS,
        "-l",
        OPERATOR_SELECTOR,
        "--timeout=180s");
    List<Pod> operators = operatorPods();
    assertThat(operators).hasSize(2);
    for (Pod pod : operators) {
      assertThat(pod.getSpec().getContainers().get(0).getImage())
          .isEqualTo("tokengate/operator:0.1.0");
      assertThat(pod.getStatus().getContainerStatuses())
          .allSatisfy(s -> assertThat(s.getRestartCount()).isZero());
    }
    // The API server reaches the webhook through its Service (kube-proxy), not a URL.
    MutatingWebhookConfiguration webhook =
        cluster
            .client()
            .admissionRegistration()
            .v1()
            .mutatingWebhookConfigurations()
            .withName("tokengate-sidecar-injector")
            .get();
    assertThat(webhook.getWebhooks())
        .allSatisfy(
            w -> {
              assertThat(w.getClientConfig().getUrl()).isNull();
              assertThat(w.getClientConfig().getService().getNamespace()).isEqualTo(SYSTEM_NS);
              assertThat(w.getClientConfig().getCaBundle()).isNotBlank();
            });
    printPods();
  }

  @Test
  @Order(2)
  void theExamplesPointedAtKeycloakBecomeReady() {
    keycloak.awaitReady(Duration.ofMinutes(5));
    assertThat(keycloak.issuer()).startsWith("https://" + NODE_IP + ":");
    kubectl.run("create", "namespace", NS);
    kubectl.runWithInput(
        ScenarioResources.issuer(keycloak, NS, Duration.ofSeconds(20)), "apply", "-f", "-");
    kubectl.runWithInput(ScenarioResources.policy(NS, APP_PORT, "orders.read"), "apply", "-f", "-");
    kubectl.run(
        "wait", "--for=condition=Ready", "tokenissuer/" + ISSUER, "-n", NS, "--timeout=180s");
    kubectl.run("wait", "--for=condition=Ready", "apipolicy/" + POLICY, "-n", NS, "--timeout=120s");
    TokenIssuer issuer =
        cluster.client().resources(TokenIssuer.class).inNamespace(NS).withName(ISSUER).get();
    assertThat(issuer.getStatus().keys.stream().map(k -> k.kid).collect(Collectors.toSet()))
        .containsAll(keycloak.signingKids());
  }

  @Test
  @Order(3)
  void theInjectedPodsRunWithTheSidecarStartedFirst() {
    kubectl.run("label", "namespace", NS, ApiGroup.INJECTION_LABEL + "=enabled");
    // Like any app behind a Service, it keeps serving a few seconds after deletion starts
    // (until kube-proxy drops its endpoint): the test app exits at once on SIGTERM, and no
    // sidecar drain can answer for an app that is gone.
    String deployment =
        ScenarioResources.edited(
            ScenarioResources.deployment(
                NS, 2, APP_PORT, NodeImages.TESTAPP, List.of("--port=" + APP_PORT)),
            d ->
                ((ObjectNode)
                        d.path("spec").path("template").path("spec").path("containers").get(0))
                    .putObject("lifecycle")
                    .putObject("preStop")
                    .putObject("sleep")
                    .put("seconds", 5));
    kubectl.runWithInput(deployment, "apply", "-f", "-");
    // Readiness through the rewritten probe on the named port: the kubelet reaches the app.
    kubectl.run("rollout", "status", "deployment/orders", "-n", NS, "--timeout=300s");
    List<Pod> pods = orders();
    assertThat(pods).hasSize(2);
    for (Pod pod : pods) {
      assertInjectedAndHealthy(pod);
    }
    Await.until(
        "the policy to count both injected pods",
        Duration.ofSeconds(60),
        () -> "2/2".equals(policy().getStatus().pods));
    printPods();
  }

  @Test
  @Order(4)
  void aClientPodGets401And403And200ThroughTheService() {
    kubectl.runWithInput(ScenarioResources.service(NS, "orders", "http"), "apply", "-f", "-");
    String clusterIp =
        cluster
            .client()
            .services()
            .inNamespace(NS)
            .withName("orders")
            .get()
            .getSpec()
            .getClusterIP();
    serviceUrl = "http://" + clusterIp + "/orders";

    JsonNode anonymous = clients.get(serviceUrl, null);
    assertThat(anonymous.path("status").asInt()).as(anonymous.toString()).isEqualTo(401);
    assertThat(anonymous.path("headers").path("Www-Authenticate").get(0).asText())
        .startsWith("Bearer");

    JsonNode noScope = clients.get(serviceUrl, keycloak.clientCredentialsToken());
    assertThat(noScope.path("status").asInt()).as(noScope.toString()).isEqualTo(403);
    assertThat(noScope.path("headers").path("Www-Authenticate").get(0).asText())
        .contains("insufficient_scope");

    JsonNode ok =
        clients.get(
            serviceUrl,
            keycloak.clientCredentialsToken("orders.read"),
            "X-Auth-Client: spoofed-client");
    assertThat(ok.path("status").asInt()).as(ok.toString()).isEqualTo(200);
    JsonNode seen = ok.path("json");
    assertThat(seen.path("path").asText()).isEqualTo("/orders");
    assertThat(seen.path("headers").path("x-auth-client").toString())
        .contains(Keycloak.ORDERS_CLIENT)
        .doesNotContain("spoofed-client");
    assertThat(seen.path("headers").path("x-auth-subject").size()).isEqualTo(1);
  }

  @Test
  @Order(5)
  void theAppPortIsClosedToOtherPods() {
    kubectl.run(
        "wait",
        "--for=condition=" + Conditions.PROTECTED,
        "apipolicy/" + POLICY,
        "-n",
        NS,
        "--timeout=60s");
    Pod pod = orders().get(0);
    String direct = "http://" + pod.getStatus().getPodIP() + ":" + APP_PORT + "/orders";
    JsonNode bypass = clients.get(direct, null);
    assertThat(bypass.has("status")).as("the app answered past the sidecar: " + bypass).isFalse();
    assertThat(bypass.path("error").asText()).isNotBlank();
    // The sidecar's port on the same pod stays open.
    JsonNode sidecar =
        clients.get(
            "http://" + pod.getStatus().getPodIP() + ":" + SIDECAR_PORT + "/orders",
            keycloak.clientCredentialsToken("orders.read"));
    assertThat(sidecar.path("status").asInt()).as(sidecar.toString()).isEqualTo(200);
  }

  @Test
  @Order(6)
  void aBurstOfAThousandConnectionsDoesNotKillTheSidecar() {
    Pod pod = orders().get(0);
    String name = pod.getMetadata().getName();
    String containerId = sidecarStatus(pod).getContainerID();
    String token = keycloak.clientCredentialsToken("orders.read");
    String url = "http://" + pod.getStatus().getPodIP() + ":" + SIDECAR_PORT + "/orders";
    JsonNode burst =
        clients.run(
            List.of(
                "burst",
                "-n",
                "1000",
                "--timeout",
                "90s",
                "-H",
                "Authorization: Bearer " + token,
                url),
            Duration.ofMinutes(3));
    System.out.println("[node-e2e] burst of 1000 connections at " + name + ": " + burst);
    assertThat(burst.path("connections").asInt()).isEqualTo(1000);
    Pod after = cluster.client().pods().inNamespace(NS).withName(name).get();
    ContainerStatus sidecar = sidecarStatus(after);
    assertThat(sidecar.getLastState().getTerminated())
        .as("the sidecar's last termination (OOMKilled?)")
        .isNull();
    assertThat(sidecar.getRestartCount()).isZero();
    assertThat(sidecar.getContainerID()).isEqualTo(containerId);
    JsonNode ok = clients.get(url, token);
    assertThat(ok.path("status").asInt()).as(ok.toString()).isEqualTo(200);
  }

  @Test
  @Order(7)
  void aPolicyChangeReachesThePodsThroughTheKubeletAndTheSidecarReloads() {
    List<Pod> pods = orders();
    Map<String, String> containerIds =
        pods.stream()
            .collect(
                Collectors.toMap(
                    p -> p.getMetadata().getName(), p -> sidecarStatus(p).getContainerID()));
    String readOnly = keycloak.clientCredentialsToken("orders.read");
    long applied = System.nanoTime();
    kubectl.runWithInput(
        ScenarioResources.policy(NS, APP_PORT, "orders.admin"), "apply", "-f", "-");
    // The test polls each sidecar from the node (no pod creation in the measured time).
    for (Pod pod : pods) {
      String url = "http://" + pod.getStatus().getPodIP() + ":" + SIDECAR_PORT + "/orders";
      Await.until(
          "the new rule to reach " + pod.getMetadata().getName(),
          Duration.ofMinutes(3),
          () -> hostGet(url, readOnly) == 403);
    }
    System.out.printf(
        "[node-e2e] policy change applied by both sidecars %.1f s after kubectl apply%n",
        (System.nanoTime() - applied) / 1e9);
    JsonNode fromPod = clients.get(serviceUrl, readOnly);
    assertThat(fromPod.path("status").asInt()).as(fromPod.toString()).isEqualTo(403);
    JsonNode admin =
        clients.get(serviceUrl, keycloak.clientCredentialsToken("orders.read", "orders.admin"));
    assertThat(admin.path("status").asInt()).as(admin.toString()).isEqualTo(200);
    for (Pod pod : orders()) {
      ContainerStatus sidecar = sidecarStatus(pod);
      assertThat(sidecar.getRestartCount()).isZero();
      assertThat(sidecar.getContainerID())
          .as("the same sidecar container reloaded")
          .isEqualTo(containerIds.get(pod.getMetadata().getName()));
    }
  }

  @Test
  @Order(8)
  void deletingAPodUnderSteadyLoadFailsNoNewConnection() {
    String token = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    ClientPod.Running load =
        clients.start(
            List.of(
                "load",
                "--rate",
                "20",
                "--duration",
                "45s",
                "--expect",
                "200",
                "--timeout",
                "5s",
                "-H",
                "Authorization: Bearer " + token,
                // A new connection per request: kube-proxy sends each to a serving endpoint.
                // Kept-alive connections to the deleted pod get 502 once its app has exited
                // (the sidecar outlives the app and learns of the termination too late).
                "-H",
                "Connection: close",
                serviceUrl));
    Await.until("the load to start", Duration.ofMinutes(1), load::running);
    sleep(Duration.ofSeconds(8));
    String victim = orders().get(0).getMetadata().getName();
    kubectl.run("delete", "pod", victim, "-n", NS, "--wait=false");
    JsonNode result = load.await(Duration.ofMinutes(3));
    System.out.println("[node-e2e] load while deleting " + victim + ": " + result);
    assertThat(result.path("sent").asInt()).isGreaterThan(500);
    assertThat(result.path("failures").asInt()).as(result.toString()).isZero();
    kubectl.run("rollout", "status", "deployment/orders", "-n", NS, "--timeout=180s");
    Await.until("two Ready pods again", Duration.ofMinutes(2), () -> orders().size() == 2);
  }

  @Test
  @Order(9)
  void deletingTheLeaderOperatorPodLeavesTheOtherInjecting() {
    String holder =
        cluster
            .client()
            .leases()
            .inNamespace(SYSTEM_NS)
            .withName("tokengate-operator")
            .get()
            .getSpec()
            .getHolderIdentity();
    Pod leader =
        operatorPods().stream()
            .filter(p -> holder.contains(p.getMetadata().getName()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no operator pod holds the lease: " + holder));
    String leaderName = leader.getMetadata().getName();
    kubectl.run("delete", "pod", leaderName, "-n", SYSTEM_NS, "--wait=false");
    Await.until(
        "another replica to take the lease",
        Duration.ofMinutes(2),
        () -> {
          String now =
              cluster
                  .client()
                  .leases()
                  .inNamespace(SYSTEM_NS)
                  .withName("tokengate-operator")
                  .get()
                  .getSpec()
                  .getHolderIdentity();
          return now != null && !now.contains(leaderName);
        });
    kubectl.run("scale", "deployment/orders", "-n", NS, "--replicas=3");
    kubectl.run("rollout", "status", "deployment/orders", "-n", NS, "--timeout=300s");
    List<Pod> pods = orders();
    assertThat(pods).hasSize(3);
    pods.forEach(NodeScenarioIT::assertInjectedAndHealthy);
    Await.until(
        "the new leader to count three pods",
        Duration.ofSeconds(90),
        () -> "3/3".equals(policy().getStatus().pods));
    printPods();
  }

  @Test
  @Order(10)
  void deletingThePolicyDeniesEverythingUntilThePodsAreGone() {
    String admin = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    kubectl.run("delete", "apipolicy", POLICY, "-n", NS, "--wait=false");
    // Documented: the finalizer keeps the policy while injected pods run; their config turns
    // deny-all, so the sidecars refuse everything rather than let traffic through unchecked.
    for (Pod pod : orders()) {
      String url = "http://" + pod.getStatus().getPodIP() + ":" + SIDECAR_PORT + "/orders";
      Await.until(
          "deny-all to reach " + pod.getMetadata().getName(),
          Duration.ofMinutes(3),
          () -> hostGet(url, admin) == 403);
    }
    JsonNode refused = clients.get(serviceUrl, admin);
    assertThat(refused.path("status").asInt()).as(refused.toString()).isEqualTo(403);
    assertThat(policy()).isNotNull();
    kubectl.run("delete", "deployment", "orders", "-n", NS, "--timeout=120s");
    Await.until(
        "the Deployment's pods to go",
        Duration.ofMinutes(2),
        () ->
            orders().isEmpty()
                && cluster
                    .client()
                    .pods()
                    .inNamespace(NS)
                    .withLabel("app", "orders")
                    .list()
                    .getItems()
                    .isEmpty());
    Await.until("the policy to be deleted", Duration.ofMinutes(2), () -> policy() == null);
    Await.until(
        "the policy's ConfigMap and NetworkPolicy to go",
        Duration.ofMinutes(1),
        () ->
            cluster.client().configMaps().inNamespace(NS).withName("tokengate-" + POLICY).get()
                    == null
                && cluster
                    .client()
                    .network()
                    .networkPolicies()
                    .inNamespace(NS)
                    .list()
                    .getItems()
                    .isEmpty());
  }

  @Test
  @Order(11)
  void helmUninstallLeavesNothing() {
    kubectl.run("delete", "tokenissuer", ISSUER, "-n", NS, "--timeout=60s");
    cluster.helm().run("uninstall", RELEASE, "-n", SYSTEM_NS, "--wait", "--timeout", "3m");
    // The Deployment is deleted in the background: its pods take their grace period to go.
    Await.until(
        "the operator pods to go",
        Duration.ofMinutes(2),
        () -> cluster.client().pods().inNamespace(SYSTEM_NS).list().getItems().isEmpty());
    String selector = "app.kubernetes.io/instance=" + RELEASE;
    assertThat(
            kubectl
                .run(
                    "get",
                    "clusterroles,clusterrolebindings,mutatingwebhookconfigurations",
                    "-l",
                    selector,
                    "-o",
                    "name")
                .trim())
        .isEmpty();
    assertThat(
            kubectl
                .run(
                    "get",
                    "all,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets",
                    "-n",
                    SYSTEM_NS,
                    "-o",
                    "name")
                .lines()
                .filter(
                    l ->
                        !l.equals("configmap/kube-root-ca.crt")
                            && !l.equals("serviceaccount/default"))
                .toList())
        .isEmpty();
    printPods();
    System.out.println(kubectl.run("get", "leases", "-n", SYSTEM_NS));
  }

  // ---- helpers ---------------------------------------------------------------------------

  static void assertInjectedAndHealthy(Pod pod) {
    String name = pod.getMetadata().getName();
    assertThat(pod.getStatus().getPhase()).as(name).isEqualTo("Running");
    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry(ApiGroup.POLICY_ANNOTATION, POLICY);
    ContainerStatus sidecar =
        pod.getStatus().getInitContainerStatuses().stream()
            .filter(s -> s.getName().equals(SIDECAR))
            .findFirst()
            .orElseThrow(() -> new AssertionError(name + " has no native sidecar " + SIDECAR));
    ContainerStatus app =
        pod.getStatus().getContainerStatuses().stream()
            .filter(s -> s.getName().equals("orders"))
            .findFirst()
            .orElseThrow();
    // READY 2/2: the native sidecar and the app.
    assertThat(sidecar.getReady()).as(name + " sidecar ready").isTrue();
    assertThat(app.getReady()).as(name + " app ready").isTrue();
    assertThat(sidecar.getRestartCount()).as(name + " sidecar restarts").isZero();
    assertThat(app.getRestartCount()).as(name + " app restarts").isZero();
    Instant sidecarStarted = Instant.parse(sidecar.getState().getRunning().getStartedAt());
    Instant appStarted = Instant.parse(app.getState().getRunning().getStartedAt());
    assertThat(sidecarStarted)
        .as(name + ": sidecar started before the app")
        .isBeforeOrEqualTo(appStarted);
  }

  static ContainerStatus sidecarStatus(Pod pod) {
    return pod.getStatus().getInitContainerStatuses().stream()
        .filter(s -> s.getName().equals(SIDECAR))
        .findFirst()
        .orElseThrow();
  }

  static List<Pod> orders() {
    return cluster
        .client()
        .pods()
        .inNamespace(NS)
        .withLabel("app", "orders")
        .list()
        .getItems()
        .stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .toList();
  }

  static List<Pod> operatorPods() {
    return cluster
        .client()
        .pods()
        .inNamespace(SYSTEM_NS)
        .withLabel("app.kubernetes.io/component", "operator")
        .list()
        .getItems()
        .stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .toList();
  }

  static ApiPolicy policy() {
    return cluster.client().resources(ApiPolicy.class).inNamespace(NS).withName(POLICY).get();
  }

  /** The issue's "done when": the injected sidecars Running, in the test log. */
  static void printPods() {
    try {
      System.out.println(kubectl.run("get", "pods", "-A", "-o", "wide"));
    } catch (RuntimeException e) {
      System.out.println("[node-e2e] kubectl get pods: " + e.getMessage());
    }
  }

  /** A GET from this machine (the node) straight to a pod's sidecar; the status code. */
  static int hostGet(String url, String bearer) {
    try {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
      if (bearer != null) {
        request.header("Authorization", "Bearer " + bearer);
      }
      return HOST_HTTP.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("GET " + url + " from the node", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
