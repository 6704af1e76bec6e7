package io.tokengate.e2e.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.e2e.ScenarioResources;
import io.tokengate.e2e.cluster.NodeImages;
import io.tokengate.e2e.idp.Jwt;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.node.ClientPod;
import io.tokengate.e2e.support.Await;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Repo;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.opentest4j.TestAbortedException;

/**
 * The user path, written once and run on every {@link ScenarioCluster}: the chart installs the
 * operator IN the cluster (two replicas from the Jib image, leader election, the webhook reached
 * through its Service), the examples are applied against a real Keycloak, and a Deployment of the
 * test app runs with the injected sidecar under the kubelet, the chart's default resources and the
 * NetworkPolicy interception. Requests come from client pods (the client image) through the
 * Service. Each step needs the previous ones; after a failure the rest are skipped naming it, and
 * the operator's and sidecars' logs and the namespace's events are printed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
public abstract class UserPathScenario {
  static final String RELEASE = "tokengate";
  static final String SYSTEM_NS = "tokengate-system";
  static final String NS = "shop";
  static final String POLICY = "orders-api";
  static final String ISSUER = "corp-idp";
  public static final String SIDECAR = "tokengate-sidecar";
  static final int APP_PORT = 18080;
  static final int SIDECAR_PORT = 7450;
  public static final String OPERATOR_SELECTOR = "app.kubernetes.io/component=operator";
  static final String OPERATOR_IMAGE = "tokengate/operator:0.1.0";
  static final String RELEASE_VERSION = OPERATOR_IMAGE.substring(OPERATOR_IMAGE.indexOf(':') + 1);
  static final int SIDECAR_ADMIN_PORT = 7451;

  private ScenarioCluster cluster;
  private KubernetesClient client;
  private Cli kubectl;
  private Keycloak keycloak;
  private ClientPod clients;
  private String serviceUrl;
  private String failedStep;
  private String unavailable;
  private long startedNanos;

  /**
   * Starts the cluster and Keycloak. Where it cannot run here (K3s without Docker) it throws a
   * failed assumption, and every step is skipped with that reason.
   */
  protected abstract ScenarioCluster startCluster() throws Exception;

  @RegisterExtension
  final TestWatcher stepwise =
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
                  // A restarted operator's previous run (empty where none restarted).
                  List.of(
                      "logs",
                      "-n",
                      SYSTEM_NS,
                      "-l",
                      OPERATOR_SELECTOR,
                      "--previous",
                      "--ignore-errors",
                      "--tail=60"),
                  List.of("logs", "-n", NS, "-l", "app=orders", "-c", SIDECAR, "--tail=40"),
                  List.of("get", "events", "-n", NS, "--sort-by=.lastTimestamp"))) {
            try {
              System.out.println(kubectl.run(args.toArray(String[]::new)));
            } catch (RuntimeException e) {
              log(String.join(" ", args) + ": " + e.getMessage());
            }
          }
        }
      };

  @BeforeAll
  void start() throws Exception {
    startedNanos = System.nanoTime();
    try {
      cluster = startCluster();
    } catch (TestAbortedException e) {
      // Each step is then skipped with the reason, so the report counts and names them.
      unavailable = e.getMessage();
      return;
    }
    client = cluster.client();
    kubectl = cluster.kubectl();
    keycloak = cluster.keycloak();
    clients = new ClientPod(client, NS);
  }

  /** Ends the cluster once the scenario is done (a shared one may outlive it). */
  protected void closeCluster(ScenarioCluster cluster) {
    cluster.close();
  }

  @AfterAll
  void stop() {
    if (cluster != null) {
      closeCluster(cluster);
      log(String.format("scenario took %.1f s", (System.nanoTime() - startedNanos) / 1e9));
    }
  }

  @BeforeEach
  void previousStepsPassed() {
    assumeTrue(unavailable == null, () -> unavailable);
    assumeTrue(failedStep == null, () -> "skipped: the earlier step " + failedStep + " failed");
  }

  @Test
  @Order(1)
  void helmInstallsTheOperatorInTheClusterWithTheChartsRbacOnly() {
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
    assertThat(cluster.helm().run("status", RELEASE, "-n", SYSTEM_NS)).contains("STATUS: deployed");
    for (String crd : List.of("apipolicies", "tokenissuers", "clustertokenissuers")) {
      kubectl.run(
          "wait",
          "--for=condition=Established",
          "crd/" + crd + "." + ApiGroup.GROUP,
          "--timeout=60s");
    }
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
    String serviceAccount = operators.get(0).getSpec().getServiceAccountName();
    for (Pod pod : operators) {
      assertThat(pod.getSpec().getContainers().get(0).getImage()).isEqualTo(OPERATOR_IMAGE);
      assertThat(pod.getSpec().getServiceAccountName()).isEqualTo(serviceAccount);
      assertThat(pod.getStatus().getContainerStatuses())
          .allSatisfy(s -> assertThat(s.getRestartCount()).isZero());
    }
    // The operator pods run as the chart's ServiceAccount, with exactly the chart's RBAC.
    assertThat(
            kubectl
                .run(
                    "get",
                    "serviceaccount",
                    serviceAccount,
                    "-n",
                    SYSTEM_NS,
                    "-o",
                    "jsonpath={.metadata.labels.app\\.kubernetes\\.io/instance}")
                .trim())
        .isEqualTo(RELEASE);
    String as = "--as=system:serviceaccount:" + SYSTEM_NS + ":" + serviceAccount;
    assertThat(kubectl.runExpectingFailure(null, "auth", "can-i", "create", "clusterroles", as))
        .as("the operator's account must not be cluster-admin")
        .contains("no");
    assertThat(kubectl.runExpectingFailure(null, "auth", "can-i", "list", "secrets", "-A", as))
        .as("the operator's account must not list Secrets")
        .contains("no");
    assertThat(
            kubectl.run(
                "auth", "can-i", "patch", "apipolicies." + ApiGroup.GROUP + "/status", "-A", as))
        .contains("yes");
    // The API server reaches the webhook through its Service (kube-proxy), not a URL.
    MutatingWebhookConfiguration webhook =
        client
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
    // `helm test`: the chart's own check of the webhook, through its Service, with its CA.
    assertThat(cluster.helm().run("test", RELEASE, "-n", SYSTEM_NS, "--timeout", "3m"))
        .contains("Phase:          Succeeded");
    printPods();
  }

  @Test
  @Order(2)
  void theExamplesPointedAtKeycloakBecomeReady() {
    keycloak.awaitReady(Duration.ofMinutes(5));
    kubectl.run("create", "namespace", NS);
    kubectl.runWithInput(
        ScenarioResources.issuer(keycloak, NS, Duration.ofSeconds(20)), "apply", "-f", "-");
    kubectl.runWithInput(ScenarioResources.policy(NS, APP_PORT, "orders.read"), "apply", "-f", "-");
    kubectl.run(
        "wait", "--for=condition=Ready", "tokenissuer/" + ISSUER, "-n", NS, "--timeout=180s");
    kubectl.run("wait", "--for=condition=Ready", "apipolicy/" + POLICY, "-n", NS, "--timeout=120s");
    TokenIssuer issuer = client.resources(TokenIssuer.class).inNamespace(NS).withName(ISSUER).get();
    assertThat(issuer.getStatus().keys.stream().map(k -> k.kid).collect(Collectors.toSet()))
        .containsAll(keycloak.signingKids());
    assertThat(issuer.getStatus().jwksUri).isEqualTo(keycloak.jwksUri());
    assertThat(condition(issuer.getStatus().conditions, Conditions.DISCOVERY_SUCCEEDED))
        .isEqualTo(Conditions.TRUE);
    assertThat(sidecarConfigMap().getData())
        .containsKeys("policy.yaml", "issuer.yaml", ISSUER + ".jwks.json");
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
      InjectedPods.assertInjectedAndHealthy(pod);
    }
    InjectedPods.assertTheInjectedSpec(pods.get(0));
    String hash = pods.get(0).getMetadata().getAnnotations().get(ApiGroup.CONFIG_HASH_ANNOTATION);
    Await.until(
        "the policy to count both injected pods",
        Duration.ofSeconds(60),
        () -> {
          var status = policy().getStatus();
          return Integer.valueOf(2).equals(status.matchedPods)
              && Integer.valueOf(2).equals(status.injectedPods)
              && "2/2".equals(status.pods)
              && hash.equals(status.configHash);
        });
    String table = kubectl.run("get", "apipolicy", "-n", NS);
    assertThat(table.lines().findFirst().orElseThrow().split("\\s+"))
        .containsExactly("NAME", "ISSUER", "MODE", "PODS", "READY", "PROTECTED", "AGE");
    assertThat(table).containsPattern(POLICY + "\\s+" + ISSUER + "\\s+Enforce\\s+2/2\\s+True");
    printPods();
  }

  @Test
  @Order(4)
  void aServiceTargetingTheAppPortByNumberIsReportedAsBypassRisk() {
    kubectl.runWithInput(
        ScenarioResources.service(NS, "orders-direct", Integer.toString(APP_PORT)),
        "apply",
        "-f",
        "-");
    waitForCondition(Conditions.BYPASS_RISK + "=True");
    kubectl.run("delete", "service", "orders-direct", "-n", NS);
    waitForCondition(Conditions.BYPASS_RISK + "=False");
  }

  @Test
  @Order(5)
  void aClientPodGetsKeycloakTokensCheckedThroughTheService() {
    kubectl.runWithInput(ScenarioResources.service(NS, "orders", "http"), "apply", "-f", "-");
    String clusterIp =
        client.services().inNamespace(NS).withName("orders").get().getSpec().getClusterIP();
    serviceUrl = "http://" + clusterIp + "/orders";

    JsonNode anonymous = clients.get(serviceUrl, null);
    assertThat(anonymous.path("status").asInt()).as(anonymous.toString()).isEqualTo(401);
    assertThat(challenge(anonymous)).startsWith("Bearer").doesNotContain("error=");

    JsonNode noScope = clients.get(serviceUrl, keycloak.clientCredentialsToken());
    assertThat(noScope.path("status").asInt()).as(noScope.toString()).isEqualTo(403);
    assertThat(challenge(noScope)).contains("error=\"insufficient_scope\"");

    String otherAudience =
        keycloak.clientCredentialsTokenOf(
            Keycloak.REPORTS_CLIENT, Keycloak.REPORTS_CLIENT_SECRET, "orders.read");
    JsonNode wrongAudience = clients.get(serviceUrl, otherAudience);
    assertThat(wrongAudience.path("status").asInt()).as(wrongAudience.toString()).isEqualTo(401);
    assertThat(challenge(wrongAudience)).contains("error=\"invalid_token\"");

    String good = keycloak.clientCredentialsToken("orders.read");
    JsonNode ok =
        clients.get(
            serviceUrl, good, "X-Auth-Client: spoofed-client", "X-Auth-Subject: spoofed-admin");
    assertThat(ok.path("status").asInt()).as(ok.toString()).isEqualTo(200);
    JsonNode seen = ok.path("json");
    assertThat(seen.path("path").asText()).isEqualTo("/orders");
    JsonNode subject = seen.path("headers").path("x-auth-subject");
    assertThat(subject.size()).as(subject.toString()).isEqualTo(1);
    assertThat(subject.get(0).asText()).isEqualTo(Jwt.decode(good).claims().path("sub").asText());
    JsonNode clientHeader = seen.path("headers").path("x-auth-client");
    assertThat(clientHeader.size()).as(clientHeader.toString()).isEqualTo(1);
    assertThat(clientHeader.get(0).asText()).isEqualTo(Keycloak.ORDERS_CLIENT);

    String alice = keycloak.passwordToken(Keycloak.USER, Keycloak.USER_PASSWORD, "orders.read");
    assertStatus(clients.get(serviceUrl + "/42", alice), 200);
    assertStatus(clients.get(serviceUrl.replace("/orders", "/healthz"), null), 200);
    String adminUrl = serviceUrl.replace("/orders", "/admin/orders/42");
    assertStatus(delete(adminUrl, good), 403);
    assertStatus(
        delete(adminUrl, keycloak.clientCredentialsToken("orders.read", "orders.admin")), 200);

    // What Prometheus scrapes: both programs name their release, in the format it asks for.
    // The Accept header Prometheus sends: OpenMetrics preferred, Prometheus text acceptable.
    String openMetrics =
        "Accept: application/openmetrics-text;version=1.0.0;q=0.5,"
            + "application/openmetrics-text;version=0.0.1;q=0.4,"
            + "text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    String sidecarMetrics =
        "http://" + orders().get(0).getStatus().getPodIP() + ":" + SIDECAR_ADMIN_PORT + "/metrics";
    String operatorMetrics =
        "http://" + operatorPods().get(0).getStatus().getPodIP() + ":8080/q/metrics";
    for (String url : List.of(sidecarMetrics, operatorMetrics)) {
      JsonNode scrape = clients.get(url, null, openMetrics);
      assertThat(scrape.path("status").asInt()).as(url + ": " + scrape).isEqualTo(200);
      assertThat(scrape.path("headers").path("Content-Type").get(0).asText())
          .as(url)
          .startsWith("application/openmetrics-text");
      assertThat(scrape.path("body").asText())
          .as(url)
          .contains("tokengate_build_info{")
          .contains("version=\"" + RELEASE_VERSION + "\"")
          .contains("jvm_memory_used_bytes");
    }
    // The sidecar reports the configuration it runs, hashed as the policy's status.configHash
    // (the mounted ConfigMap's files; the kubelet may take a sync period to swap them).
    Await.until(
        "the sidecar to report the policy's configHash as tokengate_config_info",
        Duration.ofSeconds(90),
        () ->
            clients
                .get(sidecarMetrics, null, openMetrics)
                .path("body")
                .asText()
                .contains(
                    "tokengate_config_info{config_hash=\""
                        + policy().getStatus().configHash
                        + "\"}"));
  }

  @Test
  @Order(6)
  void theAppPortIsClosedToOtherPods() {
    waitForCondition(Conditions.PROTECTED);
    Pod pod = orders().get(0);
    String direct = "http://" + pod.getStatus().getPodIP() + ":" + APP_PORT + "/orders";
    JsonNode bypass = clients.get(direct, null);
    assertThat(bypass.has("status")).as("the app answered past the sidecar: " + bypass).isFalse();
    assertThat(bypass.path("error").asText()).isNotBlank();
    // The sidecar's port on the same pod stays open.
    assertStatus(
        clients.get(
            "http://" + pod.getStatus().getPodIP() + ":" + SIDECAR_PORT + "/orders",
            keycloak.clientCredentialsToken("orders.read")),
        200);
  }

  @Test
  @Order(7)
  void aBurstOfAThousandConnectionsDoesNotKillTheSidecar() {
    Pod pod = orders().get(0);
    String name = pod.getMetadata().getName();
    String containerId = InjectedPods.sidecarStatus(pod).getContainerID();
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
    log("burst of 1000 connections at " + name + ": " + burst);
    assertThat(burst.path("connections").asInt()).isEqualTo(1000);
    ContainerStatus sidecar =
        InjectedPods.sidecarStatus(client.pods().inNamespace(NS).withName(name).get());
    assertThat(sidecar.getLastState().getTerminated())
        .as("the sidecar's last termination (OOMKilled?)")
        .isNull();
    assertThat(sidecar.getRestartCount()).isZero();
    assertThat(sidecar.getContainerID()).isEqualTo(containerId);
    assertStatus(clients.get(url, token), 200);
  }

  @Test
  @Order(8)
  void aPolicyChangeReachesThePodsThroughTheKubeletAndTheSidecarReloads() {
    List<Pod> pods = orders();
    Map<String, String> containerIds =
        pods.stream()
            .collect(
                Collectors.toMap(
                    p -> p.getMetadata().getName(),
                    p -> InjectedPods.sidecarStatus(p).getContainerID()));
    String readOnly = keycloak.clientCredentialsToken("orders.read");
    long applied = System.nanoTime();
    kubectl.runWithInput(
        ScenarioResources.policy(NS, APP_PORT, "orders.admin"), "apply", "-f", "-");
    for (Pod pod : pods) {
      String url = "http://" + pod.getStatus().getPodIP() + ":" + SIDECAR_PORT + "/orders";
      Await.until(
          "the new rule to reach " + pod.getMetadata().getName(),
          Duration.ofMinutes(3),
          () -> cluster.statusFromNode(url, readOnly) == 403);
    }
    log(
        String.format(
            "policy change applied by both sidecars %.1f s after kubectl apply",
            (System.nanoTime() - applied) / 1e9));
    assertStatus(clients.get(serviceUrl, readOnly), 403);
    assertStatus(
        clients.get(serviceUrl, keycloak.clientCredentialsToken("orders.read", "orders.admin")),
        200);
    for (Pod pod : orders()) {
      ContainerStatus sidecar = InjectedPods.sidecarStatus(pod);
      assertThat(sidecar.getRestartCount()).isZero();
      assertThat(sidecar.getContainerID())
          .as("the same sidecar container reloaded")
          .isEqualTo(containerIds.get(pod.getMetadata().getName()));
    }
  }

  @Test
  @Order(9)
  void rotatedKeycloakKeysAreAcceptedAtOnce() {
    String oldKid = Jwt.decode(keycloak.clientCredentialsToken("orders.admin")).kid();
    String newKid = keycloak.rotateKeys();
    String fresh = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    assertThat(Jwt.decode(fresh).kid()).isEqualTo(newKid).isNotEqualTo(oldKid);
    // The sidecar refetches Keycloak's JWKS on the unknown kid: no 401 until the next refresh.
    assertStatus(clients.get(serviceUrl, fresh), 200);
    // The issuer's status follows on its next refresh (refreshInterval 20s here).
    Await.until(
        "the TokenIssuer status to list the new key",
        Duration.ofSeconds(90),
        () ->
            client
                .resources(TokenIssuer.class)
                .inNamespace(NS)
                .withName(ISSUER)
                .get()
                .getStatus()
                .keys
                .stream()
                .anyMatch(k -> newKid.equals(k.kid)));
  }

  @Test
  @Order(10)
  void invalidPoliciesAreRefusedAndAMissingIssuerIsReported() {
    String badMode = policyVariant("bad-mode", spec -> spec.put("mode", "Block"));
    assertThat(kubectl.runExpectingFailure(badMode, "apply", "-f", "-"))
        .contains("spec.mode")
        .contains("Block");
    // A misspelt method would make a rule silently never match: refused, naming the field.
    String misspelt =
        policyVariant(
            "misspelt-method",
            spec -> {
              ObjectNode rule = spec.putArray("rules").addObject();
              rule.putArray("paths").add("/orders/**");
              rule.putArray("methods").add("PSOT");
            });
    assertThat(kubectl.runExpectingFailure(misspelt, "apply", "-f", "-"))
        .contains("spec.rules[].methods")
        .contains("spec.extensionMethods");

    String orphan =
        policyVariant(
            "orphan",
            spec -> {
              ((ObjectNode) spec.path("issuerRef")).put("name", "no-such-idp");
              ((ObjectNode) spec.path("selector").path("matchLabels")).put("app", "reports");
            });
    kubectl.runWithInput(orphan, "apply", "-f", "-");
    kubectl.run(
        "wait",
        "--for=condition=" + Conditions.ISSUER_RESOLVED + "=False",
        "apipolicy/orphan",
        "-n",
        NS,
        "--timeout=60s");
    ApiPolicy policy = client.resources(ApiPolicy.class).inNamespace(NS).withName("orphan").get();
    Condition resolved =
        policy.getStatus().conditions.stream()
            .filter(c -> c.getType().equals(Conditions.ISSUER_RESOLVED))
            .findFirst()
            .orElseThrow();
    assertThat(resolved.getReason()).isEqualTo(Conditions.Reasons.ISSUER_NOT_FOUND);
    assertThat(resolved.getMessage()).contains("no-such-idp");
    assertThat(condition(policy.getStatus().conditions, Conditions.READY))
        .isEqualTo(Conditions.FALSE);
    kubectl.run("delete", "apipolicy", "orphan", "-n", NS, "--timeout=60s");
    assertThat(client.resources(ApiPolicy.class).inNamespace(NS).list().getItems())
        .extracting(p -> p.getMetadata().getName())
        .containsExactly(POLICY);
  }

  @Test
  @Order(11)
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
    log("load while deleting " + victim + ": " + result);
    assertThat(result.path("sent").asInt()).isGreaterThan(500);
    assertThat(result.path("failures").asInt()).as(result.toString()).isZero();
    kubectl.run("rollout", "status", "deployment/orders", "-n", NS, "--timeout=180s");
    Await.until("two Ready pods again", Duration.ofMinutes(2), () -> orders().size() == 2);
  }

  @Test
  @Order(12)
  void deletingTheLeaderOperatorPodLeavesTheOtherInjecting() {
    String holder = leaseHolder();
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
          String now = leaseHolder();
          return now != null && !now.contains(leaderName);
        });
    kubectl.run("scale", "deployment/orders", "-n", NS, "--replicas=3");
    kubectl.run("rollout", "status", "deployment/orders", "-n", NS, "--timeout=300s");
    List<Pod> pods = orders();
    assertThat(pods).hasSize(3);
    pods.forEach(InjectedPods::assertInjectedAndHealthy);
    Await.until(
        "the new leader to count three pods",
        Duration.ofSeconds(90),
        () -> "3/3".equals(policy().getStatus().pods));
    printPods();
  }

  @Test
  @Order(13)
  void deletingThePolicyDeniesEverythingUntilThePodsAreGone() {
    String admin = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    kubectl.run("delete", "apipolicy", POLICY, "-n", NS, "--wait=false");
    // Documented: the finalizer keeps the policy while injected pods run; their config turns
    // deny-all, so the sidecars refuse everything rather than let traffic through unchecked.
    for (Pod pod : orders()) {
      String base = "http://" + pod.getStatus().getPodIP() + ":" + SIDECAR_PORT;
      Await.until(
          "deny-all to reach " + pod.getMetadata().getName(),
          Duration.ofMinutes(3),
          () -> cluster.statusFromNode(base + "/orders", admin) == 403);
      assertThat(cluster.statusFromNode(base + "/healthz", null))
          .as("deny-all leaves no path open")
          .isNotEqualTo(200);
    }
    assertStatus(clients.get(serviceUrl, admin), 403);
    assertThat(policy()).isNotNull();
    assertThat(policy().getMetadata().getDeletionTimestamp()).isNotNull();
    kubectl.run("delete", "deployment", "orders", "-n", NS, "--timeout=120s");
    Await.until(
        "the Deployment's pods to go",
        Duration.ofMinutes(2),
        () -> client.pods().inNamespace(NS).withLabel("app", "orders").list().getItems().isEmpty());
    Await.until("the policy to be deleted", Duration.ofMinutes(2), () -> policy() == null);
    Await.until(
        "the policy's ConfigMap and NetworkPolicy to go",
        Duration.ofMinutes(1),
        () ->
            sidecarConfigMapOrNull() == null
                && client.network().networkPolicies().inNamespace(NS).list().getItems().isEmpty());
  }

  @Test
  @Order(14)
  void helmUninstallLeavesNothingButTheCrds() {
    kubectl.run("delete", "tokenissuer", ISSUER, "-n", NS, "--timeout=60s");
    cluster.helm().run("uninstall", RELEASE, "-n", SYSTEM_NS, "--wait", "--timeout", "3m");
    // The Deployment is deleted in the background: its pods take their grace period to go.
    Await.until(
        "the operator pods to go",
        Duration.ofMinutes(2),
        () -> client.pods().inNamespace(SYSTEM_NS).list().getItems().isEmpty());
    String selector = "app.kubernetes.io/instance=" + RELEASE;
    assertThat(
            kubectl
                .run(
                    "get",
                    "clusterroles,clusterrolebindings,mutatingwebhookconfigurations,"
                        + "validatingwebhookconfigurations",
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
    // CRDs stay (Helm never deletes what it installed from crds/): no one loses their policies.
    assertThat(kubectl.run("get", "crd", "apipolicies." + ApiGroup.GROUP, "-o", "name").trim())
        .isEqualTo("customresourcedefinition.apiextensions.k8s.io/apipolicies." + ApiGroup.GROUP);
    printPods();
    // Not Helm's: the leader Lease (the operator creates it) stays, like the namespace.
    System.out.println(kubectl.run("get", "leases", "-n", SYSTEM_NS));
  }

  // ---- helpers ---------------------------------------------------------------------------

  static String challenge(JsonNode response) {
    return response.path("headers").path("Www-Authenticate").path(0).asText("");
  }

  static void assertStatus(JsonNode response, int status) {
    assertThat(response.path("status").asInt()).as(response.toString()).isEqualTo(status);
  }

  static String condition(List<Condition> conditions, String type) {
    return conditions.stream()
        .filter(c -> c.getType().equals(type))
        .map(Condition::getStatus)
        .findFirst()
        .orElse(null);
  }

  /** The scenario's policy named {@code name}, its spec changed by {@code edit}. */
  static String policyVariant(String name, java.util.function.Consumer<ObjectNode> edit) {
    return ScenarioResources.edited(
        ScenarioResources.policy(NS, APP_PORT, "orders.read"),
        p -> {
          ((ObjectNode) p.path("metadata")).put("name", name);
          edit.accept((ObjectNode) p.path("spec"));
        });
  }

  JsonNode delete(String url, String bearer) {
    return clients.run(
        List.of(
            "get", "--timeout", "5s", "-X", "DELETE", "-H", "Authorization: Bearer " + bearer, url),
        Duration.ofMinutes(2));
  }

  void waitForCondition(String condition) {
    kubectl.run(
        "wait", "--for=condition=" + condition, "apipolicy/" + POLICY, "-n", NS, "--timeout=60s");
  }

  List<Pod> orders() {
    return client.pods().inNamespace(NS).withLabel("app", "orders").list().getItems().stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .toList();
  }

  List<Pod> operatorPods() {
    return client
        .pods()
        .inNamespace(SYSTEM_NS)
        .withLabel("app.kubernetes.io/component", "operator")
        .list()
        .getItems()
        .stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .toList();
  }

  String leaseHolder() {
    return client
        .leases()
        .inNamespace(SYSTEM_NS)
        .withName("tokengate-operator")
        .get()
        .getSpec()
        .getHolderIdentity();
  }

  ApiPolicy policy() {
    return client.resources(ApiPolicy.class).inNamespace(NS).withName(POLICY).get();
  }

  ConfigMap sidecarConfigMap() {
    return Optional.ofNullable(sidecarConfigMapOrNull())
        .orElseThrow(() -> new AssertionError("no ConfigMap tokengate-" + POLICY));
  }

  ConfigMap sidecarConfigMapOrNull() {
    return client.configMaps().inNamespace(NS).withName("tokengate-" + POLICY).get();
  }

  /** The issue's "done when": the injected sidecars Running, in the test log. */
  void printPods() {
    try {
      System.out.println(kubectl.run("get", "pods", "-A", "-o", "wide"));
    } catch (RuntimeException e) {
      log("kubectl get pods: " + e.getMessage());
    }
  }

  void log(String line) {
    System.out.println("[" + (cluster == null ? "e2e" : cluster.name()) + "-e2e] " + line);
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
