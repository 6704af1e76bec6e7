package io.tokengate.e2e.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.e2e.ScenarioResources;
import io.tokengate.e2e.cluster.NodeImages;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.scenario.UserPathScenario;
import io.tokengate.e2e.support.Await;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Repo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Every {@code spec.interception} on the real node, one cluster, the chart's in-cluster operator,
 * Keycloak tokens: for each mode a namespace with its policy, the test app behind it, a Service by
 * the port's name and one by its number, and a client pod trying the app port directly. What each
 * mode must show:
 *
 * <ul>
 *   <li>{@code Redirect}: the init container programmed the pod, so {@code podIP:<app port>} and
 *       the Service by number land on the sidecar (401 without a token, 200 with one);
 *   <li>{@code Loopback}: the app listens on 127.0.0.1, so both are refused;
 *   <li>{@code NetworkPolicy}: both are dropped (no answer);
 *   <li>{@code PortName}, for contrast: both reach the app unchecked (200 without a token), and the
 *       policy says {@code Protected=False}.
 * </ul>
 *
 * In every mode the Service by name gives 401/403/200, and the pod is Ready with its probes
 * working: under Redirect and Loopback through the sidecar's admin port, which a client pod can ask
 * too. It runs on the {@link SharedNode} and leaves it as it found it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(SharedNode.ClosedAtTheEnd.class)
class InterceptionModesIT {
  static final String NODE_IP = NodeCluster.NODE_IP;
  static final String SYSTEM_NS = "tokengate-system";
  static final String POLICY = "orders-api";
  static final String ISSUER = "corp-idp";
  static final int APP_PORT = 18080;
  static final int LISTEN_PORT = 7450;
  static final int ADMIN_PORT = 7451;
  static final List<String> MODES = List.of("Redirect", "Loopback", "NetworkPolicy", "PortName");

  static NodeCluster cluster;
  static Keycloak keycloak;
  static Cli kubectl;

  @RegisterExtension
  static final TestWatcher DIAGNOSE =
      new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
          if (kubectl == null) {
            return;
          }
          List<List<String>> commands = new ArrayList<>();
          commands.add(List.of("get", "pods", "-A", "-o", "wide"));
          commands.add(List.of("logs", "-n", SYSTEM_NS, "-l", UserPathScenario.OPERATOR_SELECTOR));
          for (String mode : MODES) {
            commands.add(List.of("get", "apipolicy", "-n", ns(mode), "-o", "yaml"));
            commands.add(List.of("get", "events", "-n", ns(mode), "--sort-by=.lastTimestamp"));
          }
          for (List<String> args : commands) {
            try {
              System.out.println(kubectl.run(args.toArray(String[]::new)));
            } catch (RuntimeException e) {
              System.out.println("[modes] " + String.join(" ", args) + ": " + e.getMessage());
            }
          }
        }
      };

  @BeforeAll
  static void start() {
    cluster = SharedNode.acquire();
    keycloak = cluster.keycloak();
    kubectl = cluster.kubectl();
  }

  /**
   * Leaves the shared node as this suite found it: the release, the modes' namespaces and the
   * leader Lease gone. If that fails, the node is closed, so the next suite starts a fresh one.
   */
  @AfterAll
  static void stop() {
    if (cluster == null) {
      return;
    }
    try {
      cluster.helm().run("uninstall", "tokengate", "-n", SYSTEM_NS, "--wait", "--timeout", "3m");
      List<String> namespaces = new ArrayList<>();
      for (String mode : MODES) {
        namespaces.add("namespace/" + ns(mode));
      }
      List<String> delete = new ArrayList<>(List.of("delete", "--ignore-not-found"));
      delete.addAll(namespaces);
      delete.add("--timeout=180s");
      kubectl.run(delete.toArray(String[]::new));
      kubectl.run("delete", "leases", "--all", "-n", SYSTEM_NS, "--ignore-not-found");
      Await.until(
          "the operator pods to go",
          Duration.ofMinutes(2),
          () -> cluster.client().pods().inNamespace(SYSTEM_NS).list().getItems().isEmpty());
    } catch (RuntimeException | AssertionError e) {
      System.out.println("[modes] cleaning up failed, closing the node: " + e.getMessage());
      SharedNode.close();
    }
  }

  static String ns(String mode) {
    return "m-" + mode.toLowerCase(Locale.ROOT);
  }

  @Test
  @Order(1)
  void everyModeRunsItsPodReadyWithTheSidecar() {
    cluster
        .helm()
        .run(
            "install",
            "tokengate",
            Repo.root().resolve("helm/tokengate").toString(),
            "--namespace",
            SYSTEM_NS,
            "--create-namespace",
            "--set",
            "replicaCount=1",
            "--set",
            "image.pullPolicy=Never",
            "--set",
            "sidecar.image.pullPolicy=IfNotPresent",
            "--wait",
            "--timeout",
            "5m");
    keycloak.awaitReady(Duration.ofMinutes(5));
    for (String mode : MODES) {
      String ns = ns(mode);
      kubectl.run("create", "namespace", ns);
      kubectl.runWithInput(
          ScenarioResources.issuer(keycloak, ns, Duration.ofMinutes(5)), "apply", "-f", "-");
      kubectl.runWithInput(
          ScenarioResources.edited(
              ScenarioResources.policy(ns, APP_PORT, "orders.read"),
              p -> ((ObjectNode) p.path("spec")).put("interception", mode)),
          "apply",
          "-f",
          "-");
    }
    for (String mode : MODES) {
      String ns = ns(mode);
      kubectl.run(
          "wait", "--for=condition=Ready", "apipolicy/" + POLICY, "-n", ns, "--timeout=180s");
      kubectl.run("label", "namespace", ns, ApiGroup.INJECTION_LABEL + "=enabled");
      List<String> args = new ArrayList<>(List.of("--port=" + APP_PORT));
      if (mode.equals("Loopback")) {
        args.add("--listen=127.0.0.1");
      }
      // Readiness by the port's name (the scenario's deployment) and liveness by its number over
      // TCP, the kubelet's default period and threshold: under Redirect and Loopback both go
      // through the admin port.
      String deployment =
          ScenarioResources.edited(
              ScenarioResources.deployment(ns, 1, APP_PORT, NodeImages.TESTAPP, args),
              d ->
                  ((ObjectNode)
                          d.path("spec").path("template").path("spec").path("containers").get(0))
                      .putObject("livenessProbe")
                      .putObject("tcpSocket")
                      .put("port", APP_PORT));
      kubectl.runWithInput(deployment, "apply", "-f", "-");
      kubectl.runWithInput(ScenarioResources.service(ns, "orders", "http"), "apply", "-f", "-");
      kubectl.runWithInput(
          ScenarioResources.service(ns, "orders-by-number", Integer.toString(APP_PORT)),
          "apply",
          "-f",
          "-");
    }
    for (String mode : MODES) {
      kubectl.run("rollout", "status", "deployment/orders", "-n", ns(mode), "--timeout=300s");
      Pod pod = pod(mode);
      Container app = pod.getSpec().getContainers().get(0);
      ContainerStatus appStatus = pod.getStatus().getContainerStatuses().get(0);
      assertThat(appStatus.getReady()).as(mode + ": app ready").isTrue();
      assertThat(appStatus.getRestartCount()).as(mode + ": app restarts").isZero();
      assertThat(pod.getStatus().getInitContainerStatuses())
          .as(mode + ": the native sidecar")
          .anySatisfy(
              s -> {
                assertThat(s.getName()).isEqualTo(UserPathScenario.SIDECAR);
                assertThat(s.getReady()).isTrue();
              });
      boolean forwarded = mode.equals("Redirect") || mode.equals("Loopback");
      if (forwarded) {
        assertThat(app.getReadinessProbe().getHttpGet().getPort().getIntVal())
            .isEqualTo(ADMIN_PORT);
        assertThat(app.getReadinessProbe().getHttpGet().getPath())
            .isEqualTo("/app-health/orders/readyz");
        assertThat(app.getLivenessProbe().getHttpGet().getPath())
            .isEqualTo("/app-health/orders/livez");
      } else {
        assertThat(app.getLivenessProbe().getTcpSocket().getPort().getIntVal()).isEqualTo(APP_PORT);
      }
      if (mode.equals("Redirect")) {
        ContainerStatus redirect =
            pod.getStatus().getInitContainerStatuses().stream()
                .filter(s -> s.getName().equals("tokengate-redirect"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no tokengate-redirect init container"));
        assertThat(redirect.getState().getTerminated().getExitCode()).isZero();
        String log =
            kubectl.run(
                "logs", "-n", ns(mode), pod.getMetadata().getName(), "-c", "tokengate-redirect");
        System.out.println("[modes] tokengate-redirect printed:\n" + log);
        assertThat(log).contains("tcp dport " + APP_PORT + " redirect to :" + LISTEN_PORT);
      } else {
        assertThat(pod.getSpec().getInitContainers())
            .extracting(Container::getName)
            .doesNotContain("tokengate-redirect");
      }
    }
    System.out.println(kubectl.run("get", "pods", "-A", "-o", "wide"));
  }

  @Test
  @Order(2)
  void thePolicySaysWhichProtectionIsInForce() {
    for (String mode : MODES) {
      Condition protectedCondition =
          Await.until(
              mode + ": Protected settles",
              Duration.ofSeconds(90),
              () -> {
                Condition c = condition(mode, Conditions.PROTECTED);
                boolean expected =
                    mode.equals("PortName") ? c != null : c != null && "True".equals(c.getStatus());
                return expected ? c : null;
              });
      System.out.printf(
          "[modes] %s: Protected=%s %s: %s%n",
          mode,
          protectedCondition.getStatus(),
          protectedCondition.getReason(),
          protectedCondition.getMessage());
      if (mode.equals("PortName")) {
        assertThat(protectedCondition.getStatus()).isEqualTo("False");
        // The Service by number is a bypass under PortName, and only there.
        assertThat(protectedCondition.getReason()).isEqualTo(Conditions.Reasons.BYPASS_RISK);
        assertThat(condition(mode, Conditions.BYPASS_RISK).getStatus()).isEqualTo("True");
      } else {
        assertThat(protectedCondition.getReason()).isEqualTo(mode);
      }
    }
    assertThat(condition("Redirect", Conditions.BYPASS_RISK).getStatus()).isEqualTo("False");
    assertThat(condition("Loopback", Conditions.BYPASS_RISK).getStatus()).isEqualTo("False");
    assertThat(condition("NetworkPolicy", Conditions.BYPASS_RISK).getReason())
        .isEqualTo(Conditions.Reasons.SERVICE_TARGETS_PORT_NUMBER);
  }

  @Test
  @Order(3)
  void theServiceByNameGives401And403And200InEveryMode() {
    String readToken = keycloak.clientCredentialsToken("orders.read");
    String noScope = keycloak.clientCredentialsToken();
    for (String mode : MODES) {
      ClientPod clients = new ClientPod(cluster.client(), ns(mode));
      String url = "http://" + clusterIp(mode, "orders") + "/orders";
      JsonNode anonymous = clients.get(url, null);
      assertThat(anonymous.path("status").asInt()).as(mode + " " + anonymous).isEqualTo(401);
      JsonNode forbidden = clients.get(url, noScope);
      assertThat(forbidden.path("status").asInt()).as(mode + " " + forbidden).isEqualTo(403);
      JsonNode ok = clients.get(url, readToken);
      assertThat(ok.path("status").asInt()).as(mode + " " + ok).isEqualTo(200);
      assertThat(ok.path("json").path("headers").has("x-auth-subject")).as(mode).isTrue();
    }
  }

  @Test
  @Order(4)
  void theAppPortAndTheServiceByNumberReachNothingUnchecked() {
    String readToken = keycloak.clientCredentialsToken("orders.read");
    for (String mode : MODES) {
      ClientPod clients = new ClientPod(cluster.client(), ns(mode));
      Pod pod = pod(mode);
      List<String> urls =
          List.of(
              "http://" + pod.getStatus().getPodIP() + ":" + APP_PORT + "/orders",
              "http://" + clusterIp(mode, "orders-by-number") + "/orders");
      for (String url : urls) {
        JsonNode anonymous = clients.get(url, null);
        System.out.printf("[modes] %s: GET %s without a token: %s%n", mode, url, anonymous);
        switch (mode) {
          case "Redirect" -> {
            // Landed on the sidecar: the gate's RFC 6750 answer, and with a token the app.
            assertThat(anonymous.path("status").asInt()).as(mode + " " + url).isEqualTo(401);
            assertThat(anonymous.path("headers").path("Www-Authenticate").get(0).asText())
                .startsWith("Bearer");
            JsonNode ok = clients.get(url, readToken);
            assertThat(ok.path("status").asInt()).as(mode + " " + url + " " + ok).isEqualTo(200);
            assertThat(ok.path("json").path("headers").has("x-auth-subject")).isTrue();
          }
          case "Loopback" -> {
            // Nothing listens on the pod's address for the app port.
            assertThat(anonymous.has("status")).as(mode + " " + anonymous).isFalse();
            assertThat(anonymous.path("error").asText()).contains("refused");
          }
          case "NetworkPolicy" -> {
            // Refused by the NetworkPolicy before the pod (kube-router rejects; other network
            // plugins drop, which times out): no answer from the app.
            assertThat(anonymous.has("status")).as(mode + " " + anonymous).isFalse();
            assertThat(anonymous.path("error").asText())
                .containsAnyOf("connection refused", "timeout", "deadline exceeded");
          }
          default -> {
            // PortName, for contrast: the app answers without any token.
            assertThat(anonymous.path("status").asInt()).as(mode + " " + anonymous).isEqualTo(200);
            assertThat(anonymous.path("json").path("headers").has("x-auth-subject")).isFalse();
          }
        }
      }
    }
  }

  @Test
  @Order(5)
  void theForwardedProbesAnswerOnTheAdminPortAndNothingElseOfTheApp() {
    for (String mode : List.of("Redirect", "Loopback")) {
      ClientPod clients = new ClientPod(cluster.client(), ns(mode));
      String admin = "http://" + pod(mode).getStatus().getPodIP() + ":" + ADMIN_PORT;
      JsonNode ready = clients.get(admin + "/app-health/orders/readyz", null);
      assertThat(ready.path("status").asInt()).as(mode + " " + ready).isEqualTo(200);
      assertThat(ready.path("body").asText()).contains("application answered 200");
      JsonNode live = clients.get(admin + "/app-health/orders/livez", null);
      assertThat(live.path("status").asInt()).as(mode + " " + live).isEqualTo(200);
      JsonNode other = clients.get(admin + "/app-health/orders/orders", null);
      assertThat(other.path("status").asInt()).as(mode + " " + other).isEqualTo(404);
      Pod pod = pod(mode);
      assertThat(pod.getStatus().getContainerStatuses().get(0).getRestartCount())
          .as(mode + ": the app was never restarted by a failing probe")
          .isZero();
    }
  }

  /**
   * NetworkPolicies add up: another one admitting the app port re-opens the bypass. The policy
   * names it under BypassRisk, the app port really answers without a token while it exists, and
   * closes again once it is gone.
   */
  @Test
  @Order(6)
  void anotherNetworkPolicyAdmittingTheAppPortIsNamedAsBypassRisk() {
    String mode = "NetworkPolicy";
    String name = "let-in-app-port";
    String direct = "http://" + pod(mode).getStatus().getPodIP() + ":" + APP_PORT + "/orders";
    ClientPod clients = new ClientPod(cluster.client(), ns(mode));
    kubectl.runWithInput(
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: %s
          namespace: %s
        spec:
          podSelector:
            matchLabels:
              app: orders
          policyTypes: [Ingress]
          ingress:
            - ports:
                - port: %d
        """
            .formatted(name, ns(mode), APP_PORT),
        "apply",
        "-f",
        "-");
    Condition risk =
        Await.until(
            "BypassRisk names NetworkPolicy " + name,
            Duration.ofSeconds(90),
            () -> {
              Condition c = condition(mode, Conditions.BYPASS_RISK);
              return c != null && "True".equals(c.getStatus()) && c.getMessage().contains(name)
                  ? c
                  : null;
            });
    System.out.printf("[modes] BypassRisk %s: %s%n", risk.getReason(), risk.getMessage());
    assertThat(risk.getReason()).isEqualTo(Conditions.Reasons.NETWORK_POLICY_ADMITS_APP_PORT);
    JsonNode open =
        Await.until(
            "the app port open through " + name,
            Duration.ofSeconds(60),
            () -> {
              JsonNode answer = clients.get(direct, null);
              return answer.path("status").asInt() == 200 ? answer : null;
            });
    assertThat(open.path("json").path("headers").has("x-auth-subject")).isFalse();

    kubectl.run("delete", "networkpolicy", name, "-n", ns(mode));
    Await.until(
        "BypassRisk no longer names " + name,
        Duration.ofSeconds(90),
        () -> {
          Condition c = condition(mode, Conditions.BYPASS_RISK);
          return c != null && !c.getMessage().contains(name) ? c : null;
        });
    JsonNode closed =
        Await.until(
            "the app port closed again",
            Duration.ofSeconds(60),
            () -> {
              JsonNode answer = clients.get(direct, null);
              return answer.has("status") ? null : answer;
            });
    assertThat(closed.path("error").asText())
        .containsAnyOf("connection refused", "timeout", "deadline exceeded");
  }

  static Pod pod(String mode) {
    List<Pod> pods =
        cluster
            .client()
            .pods()
            .inNamespace(ns(mode))
            .withLabel("app", "orders")
            .list()
            .getItems()
            .stream()
            .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
            .toList();
    assertThat(pods).as(mode + ": orders pods").hasSize(1);
    return pods.get(0);
  }

  static String clusterIp(String mode, String service) {
    return cluster
        .client()
        .services()
        .inNamespace(ns(mode))
        .withName(service)
        .get()
        .getSpec()
        .getClusterIP();
  }

  static Condition condition(String mode, String type) {
    ApiPolicy policy =
        cluster.client().resources(ApiPolicy.class).inNamespace(ns(mode)).withName(POLICY).get();
    if (policy == null || policy.getStatus() == null || policy.getStatus().conditions == null) {
      return null;
    }
    return policy.getStatus().conditions.stream()
        .filter(c -> type.equals(c.getType()))
        .findFirst()
        .orElse(null);
  }
}
