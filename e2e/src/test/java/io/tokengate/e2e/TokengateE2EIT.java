package io.tokengate.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.KeyInfo;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.e2e.cluster.ControlPlane;
import io.tokengate.e2e.cluster.ControlPlaneExtension;
import io.tokengate.e2e.cluster.OperatorProcess;
import io.tokengate.e2e.idp.Jwt;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.idp.KeycloakExtension;
import io.tokengate.e2e.pod.PodRunner;
import io.tokengate.e2e.pod.PodRunner.RunningPod;
import io.tokengate.e2e.support.Await;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Ports;
import io.tokengate.e2e.support.Repo;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * The whole product, as a user meets it: the chart installed by helm into a real API server, the
 * operator running as the chart's ServiceAccount, examples applied with kubectl, a Deployment whose
 * Pod the webhook injects, and that Pod's sidecar run as a kubelet would run it, validating real
 * Keycloak tokens. Steps run in order and build on each other; a failed step fails the rest fast.
 */
// Keycloak first: it boots (most of a minute) while the control plane starts.
@ExtendWith({KeycloakExtension.class, ControlPlaneExtension.class})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TokengateE2EIT {
  static final String RELEASE = "tokengate";
  static final String SYSTEM_NS = "tokengate-system";
  static final String NS = "shop";
  static final String ISSUER = "corp-idp";
  static final String POLICY = "orders-api";
  // An unusual port, so the pod runner can give the upstream app the policy's real port.
  static final int UPSTREAM_PORT = 18080;
  static final ObjectMapper YAML = new YAMLMapper();
  static final ObjectMapper JSON = new ObjectMapper();

  static ControlPlane cluster;
  static KubernetesClient client;
  static Cli kubectl;
  static Keycloak keycloak;
  static OperatorProcess operator;
  static RunningPod orders;
  static Path work;
  static int webhookPort;
  static long t0 = System.nanoTime();

  static String failedStep;

  /** Steps build on each other: after a failure the rest are skipped, with diagnostics shown. */
  @RegisterExtension
  static final TestWatcher STEPWISE =
      new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
          failedStep = context.getDisplayName();
          if (operator != null) {
            System.out.println("[e2e] operator log (" + operator.log() + "):\n" + operator.tail());
          }
          if (orders != null) {
            System.out.println("[e2e] sidecar log (" + orders.log() + "):\n" + orders.tail());
          }
        }
      };

  @BeforeEach
  void previousStepsPassed() {
    assumeTrue(failedStep == null, () -> "skipped: the earlier step " + failedStep + " failed");
  }

  @BeforeAll
  static void setUp(Keycloak sharedKeycloak, ControlPlane controlPlane) throws IOException {
    work = Files.createTempDirectory(controlPlane.dir().getParent(), "scenario-");
    keycloak = sharedKeycloak;
    cluster = controlPlane;
    client = controlPlane.client();
    kubectl = controlPlane.kubectl();
  }

  @AfterAll
  static void tearDown() {
    Stream.<AutoCloseable>of(orders, operator)
        .filter(java.util.Objects::nonNull)
        .forEach(
            c -> {
              try {
                c.close();
              } catch (Exception e) {
                System.err.println("[e2e] closing " + c + ": " + e);
              }
            });
    System.out.printf("[e2e] scenario took %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @Test
  @Order(1)
  void helmInstallsTheChartAndTheOperatorRunsAsItsServiceAccount() throws IOException {
    webhookPort = Ports.free();
    int httpPort = Ports.free();
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
            "webhook.url=https://127.0.0.1:" + webhookPort + "/mutate-pods",
            "--set",
            "ports.webhook=" + webhookPort,
            "--set",
            "ports.http=" + httpPort,
            "--wait",
            "--timeout",
            "2m");
    assertThat(cluster.helm().run("status", RELEASE, "-n", SYSTEM_NS)).contains("STATUS: deployed");
    for (String crd : List.of("apipolicies", "tokenissuers", "clustertokenissuers")) {
      kubectl.run(
          "wait",
          "--for=condition=Established",
          "crd/" + crd + "." + ApiGroup.GROUP,
          "--timeout=60s");
    }

    // The operator authenticates as the chart's ServiceAccount: the chart's RBAC is under test.
    String serviceAccount =
        kubectl
            .run(
                "get",
                "serviceaccount",
                "-n",
                SYSTEM_NS,
                "-l",
                "app.kubernetes.io/instance=" + RELEASE,
                "-o",
                "jsonpath={.items[0].metadata.name}")
            .trim();
    String token =
        kubectl.run("create", "token", serviceAccount, "-n", SYSTEM_NS, "--duration=2h").trim();
    Path operatorKubeconfig =
        cluster.tokenKubeconfig(
            "system:serviceaccount:" + SYSTEM_NS + ":" + serviceAccount,
            token,
            work.resolve("operator.kubeconfig"));
    assertThat(
            cluster
                .kubectl(operatorKubeconfig)
                .runExpectingFailure(null, "auth", "can-i", "create", "clusterroles"))
        .as("the operator's account must not be cluster-admin")
        .contains("no");
    assertThat(
            cluster
                .kubectl(operatorKubeconfig)
                .run("auth", "can-i", "patch", "apipolicies." + ApiGroup.GROUP + "/status", "-A"))
        .contains("yes");

    Map<String, String> settings = settingsOfTheChart();
    assertThat(settings)
        .containsEntry(
            "TOKENGATE_WEBHOOK_URL", "https://127.0.0.1:" + webhookPort + "/mutate-pods");
    operator = OperatorProcess.start(settings, operatorKubeconfig, work, "operator-0");
    operator.awaitReady(Duration.ofMinutes(3));

    // The operator patches its webhook CA into the configuration the chart installed.
    Await.until(
        "the operator to publish its CA in the MutatingWebhookConfiguration",
        Duration.ofSeconds(60),
        () -> {
          var webhook =
              client
                  .admissionRegistration()
                  .v1()
                  .mutatingWebhookConfigurations()
                  .withName(settings.get("TOKENGATE_WEBHOOK_CONFIGURATION_NAME"))
                  .get()
                  .getWebhooks()
                  .get(0);
          assertThat(webhook.getClientConfig().getUrl())
              .isEqualTo("https://127.0.0.1:" + webhookPort + "/mutate-pods");
          return webhook.getClientConfig().getCaBundle() != null
              && !webhook.getClientConfig().getCaBundle().isBlank();
        });
  }

  @Test
  @Order(2)
  void theExampleIssuerAndPolicyBecomeReadyWithKeycloaksKeys() throws IOException {
    kubectl.run("create", "namespace", NS);
    keycloak.awaitReady(Duration.ofMinutes(5));

    kubectl.runWithInput(
        ScenarioResources.issuer(keycloak, NS, Duration.ofSeconds(20)), "apply", "-f", "-");
    kubectl.runWithInput(
        ScenarioResources.policy(NS, UPSTREAM_PORT, "orders.read"), "apply", "-f", "-");
    kubectl.run(
        "wait", "--for=condition=Ready", "tokenissuer/" + ISSUER, "-n", NS, "--timeout=120s");
    kubectl.run("wait", "--for=condition=Ready", "apipolicy/" + POLICY, "-n", NS, "--timeout=120s");

    TokenIssuer issuer = client.resources(TokenIssuer.class).inNamespace(NS).withName(ISSUER).get();
    Set<String> kids = issuer.getStatus().keys.stream().map(k -> k.kid).collect(Collectors.toSet());
    assertThat(kids).containsAll(keycloak.signingKids());
    assertThat(issuer.getStatus().jwksUri).isEqualTo(keycloak.jwksUri());
    assertThat(condition(issuer.getStatus().conditions, Conditions.DISCOVERY_SUCCEEDED))
        .isEqualTo(Conditions.TRUE);

    ConfigMap config = sidecarConfigMap();
    assertThat(config.getData()).containsKeys("policy.yaml", "issuer.yaml", ISSUER + ".jwks.json");
  }

  @Test
  @Order(3)
  void theWebhookInjectsTheSidecarIntoTheDeploymentsPod() {
    kubectl.run("label", "namespace", NS, ApiGroup.INJECTION_LABEL + "=enabled");
    kubectl.runWithInput(
        ScenarioResources.deployment(NS, UPSTREAM_PORT, "registry.example/orders:1.0", List.of()),
        "apply",
        "-f",
        "-");

    // No kubelet: the controller-manager creates the ReplicaSet and the Pod, which stays Pending.
    Pod pod =
        Await.until(
            "the Deployment's Pod",
            Duration.ofSeconds(90),
            () ->
                client.pods().inNamespace(NS).withLabel("app", "orders").list().getItems().stream()
                    .findFirst()
                    .orElse(null));

    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry(ApiGroup.POLICY_ANNOTATION, POLICY)
        .containsKey(ApiGroup.CONFIG_HASH_ANNOTATION);
    Container sidecar = sidecarOf(pod);
    assertThat(sidecar.getArgs())
        .containsExactly(
            "--config", "/etc/tokengate", "--listen-port", "7450", "--admin-port", "7451");
    assertThat(sidecar.getVolumeMounts())
        .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/etc/tokengate"));
    assertThat(sidecar.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    // The sidecar takes over the app port's name; the app's port is renamed.
    assertThat(sidecar.getPorts())
        .anySatisfy(
            p -> {
              assertThat(p.getName()).isEqualTo("http");
              assertThat(p.getContainerPort()).isEqualTo(7450);
            });
    Container app =
        pod.getSpec().getContainers().stream()
            .filter(c -> c.getName().equals("orders"))
            .findFirst()
            .orElseThrow();
    ContainerPort appPort =
        app.getPorts().stream()
            .filter(p -> p.getContainerPort() == UPSTREAM_PORT)
            .findFirst()
            .orElseThrow();
    assertThat(appPort.getName()).isNotEqualTo("http");
    // The app's readiness probe named port "http", which is now the sidecar's: it is rewritten
    // so the kubelet still reaches the app itself.
    var probePort = app.getReadinessProbe().getHttpGet().getPort();
    assertThat(
            probePort.getIntVal() != null
                ? probePort.getIntVal().toString()
                : probePort.getStrVal())
        .isIn(Integer.toString(UPSTREAM_PORT), appPort.getName());

    String hash = pod.getMetadata().getAnnotations().get(ApiGroup.CONFIG_HASH_ANNOTATION);
    Await.until(
        "the policy to count the injected pod",
        Duration.ofSeconds(60),
        () -> {
          var status = policy().getStatus();
          assertThat(status.matchedPods).isEqualTo(1);
          assertThat(status.injectedPods).isEqualTo(1);
          assertThat(status.pods).isEqualTo("1/1");
          assertThat(status.configHash).isEqualTo(hash);
          return true;
        });

    String table = kubectl.run("get", "apipolicy", "-n", NS);
    assertThat(table.lines().findFirst().orElseThrow().split("\\s+"))
        .containsExactly("NAME", "ISSUER", "MODE", "PODS", "READY", "PROTECTED", "AGE");
    assertThat(table).containsPattern(POLICY + "\\s+" + ISSUER + "\\s+Enforce\\s+1/1\\s+True");
  }

  @Test
  @Order(4)
  void aServiceTargetingTheAppPortByNumberIsReportedAsBypassRisk() {
    kubectl.runWithInput(
        ScenarioResources.service(NS, "orders-direct", Integer.toString(UPSTREAM_PORT)),
        "apply",
        "-f",
        "-");
    kubectl.run(
        "wait",
        "--for=condition=" + Conditions.BYPASS_RISK + "=True",
        "apipolicy/" + POLICY,
        "-n",
        NS,
        "--timeout=60s");
    kubectl.run("delete", "service", "orders-direct", "-n", NS);
    kubectl.run(
        "wait",
        "--for=condition=" + Conditions.BYPASS_RISK + "=False",
        "apipolicy/" + POLICY,
        "-n",
        NS,
        "--timeout=60s");
  }

  @Test
  @Order(5)
  void theInjectedSidecarValidatesKeycloakTokens() throws IOException {
    Pod pod = client.pods().inNamespace(NS).withLabel("app", "orders").list().getItems().get(0);
    orders = PodRunner.start(client, pod, work.resolve("pod-" + pod.getMetadata().getName()));

    HttpResponse<String> missing = orders.get("/orders", null);
    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(missing.headers().firstValue("WWW-Authenticate").orElse(""))
        .startsWith("Bearer")
        .doesNotContain("error=");

    HttpResponse<String> wrongScope = orders.get("/orders", keycloak.clientCredentialsToken());
    assertThat(wrongScope.statusCode()).isEqualTo(403);
    assertThat(wrongScope.headers().firstValue("WWW-Authenticate").orElse(""))
        .contains("error=\"insufficient_scope\"");

    String otherAudience =
        keycloak.clientCredentialsTokenOf(
            Keycloak.REPORTS_CLIENT, Keycloak.REPORTS_CLIENT_SECRET, "orders.read");
    HttpResponse<String> wrongAudience = orders.get("/orders", otherAudience);
    assertThat(wrongAudience.statusCode()).isEqualTo(401);
    assertThat(wrongAudience.headers().firstValue("WWW-Authenticate").orElse(""))
        .contains("error=\"invalid_token\"");

    String good = keycloak.clientCredentialsToken("orders.read");
    HttpResponse<String> ok =
        orders.send("GET", "/orders", good, Map.of("X-Auth-Subject", "spoofed-admin"));
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    JsonNode echo = JSON.readTree(ok.body());
    assertThat(echo.path("app").asText()).isEqualTo("orders");
    assertThat(echo.path("headers").path("x-auth-subject").asText())
        .isEqualTo(Jwt.decode(good).claims().path("sub").asText());
    assertThat(echo.path("headers").path("x-auth-client").asText())
        .isEqualTo(Keycloak.ORDERS_CLIENT);

    String alice = keycloak.passwordToken(Keycloak.USER, Keycloak.USER_PASSWORD, "orders.read");
    assertThat(orders.get("/orders/42", alice).statusCode()).isEqualTo(200);
    assertThat(orders.get("/healthz", null).statusCode()).isEqualTo(200);
    assertThat(orders.send("DELETE", "/admin/orders/42", good, Map.of()).statusCode())
        .isEqualTo(403);
    assertThat(
            orders
                .send(
                    "DELETE",
                    "/admin/orders/42",
                    keycloak.clientCredentialsToken("orders.read", "orders.admin"),
                    Map.of())
                .statusCode())
        .isEqualTo(200);
  }

  @Test
  @Order(6)
  void aPolicyChangeReachesTheRunningSidecarWithoutARestart() throws IOException {
    long pid = orders.pid();
    String before = sidecarConfigMap().getMetadata().getResourceVersion();
    String readOnly = keycloak.clientCredentialsToken("orders.read");
    assertThat(orders.get("/orders", readOnly).statusCode()).isEqualTo(200);

    // Now every request needs orders.admin.
    kubectl.runWithInput(
        ScenarioResources.policy(NS, UPSTREAM_PORT, "orders.admin"), "apply", "-f", "-");
    Await.until(
        "the operator to re-render the ConfigMap",
        Duration.ofSeconds(60),
        () -> !sidecarConfigMap().getMetadata().getResourceVersion().equals(before));
    orders.resync();
    Await.until(
        "the sidecar to apply the new rule",
        Duration.ofSeconds(30),
        () -> orders.get("/orders", readOnly).statusCode() == 403);
    assertThat(
            orders
                .get("/orders", keycloak.clientCredentialsToken("orders.read", "orders.admin"))
                .statusCode())
        .isEqualTo(200);
    assertThat(orders.pid()).isEqualTo(pid);
    assertThat(orders.isAlive()).isTrue();
  }

  @Test
  @Order(7)
  void rotatedKeycloakKeysAreAcceptedAtOnce() {
    String oldKid = Jwt.decode(keycloak.clientCredentialsToken("orders.admin")).kid();
    String newKid = keycloak.rotateKeys();
    String fresh = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    assertThat(Jwt.decode(fresh).kid()).isEqualTo(newKid).isNotEqualTo(oldKid);
    // The sidecar refetches the JWKS on the unknown kid: no 401 window until a refresh.
    HttpResponse<String> response = orders.get("/orders", fresh);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);

    // The issuer's status follows on its next refresh (refreshInterval 20s in the e2e issuer).
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
                .map((KeyInfo k) -> k.kid)
                .anyMatch(newKid::equals));
  }

  @Test
  @Order(8)
  void anInvalidPolicyIsRefusedWithAMessageNamingTheField() throws IOException {
    ObjectNode badMode =
        (ObjectNode) YAML.readTree(ScenarioResources.policy(NS, UPSTREAM_PORT, "orders.read"));
    ((ObjectNode) badMode.path("metadata")).put("name", "bad-mode");
    ((ObjectNode) badMode.path("spec")).put("mode", "Block");
    String out = kubectl.runExpectingFailure(YAML.writeValueAsString(badMode), "apply", "-f", "-");
    assertThat(out).contains("spec.mode").contains("Block");

    // A misspelt method would make a rule silently never match: refused, naming the field.
    ObjectNode misspeltMethod =
        (ObjectNode) YAML.readTree(ScenarioResources.policy(NS, UPSTREAM_PORT, "orders.read"));
    ((ObjectNode) misspeltMethod.path("metadata")).put("name", "misspelt-method");
    ((ObjectNode) misspeltMethod.path("spec"))
        .putArray("rules")
        .addObject()
        .<ObjectNode>set("paths", YAML.createArrayNode().add("/orders/**"))
        .set("methods", YAML.createArrayNode().add("PSOT"));
    out = kubectl.runExpectingFailure(YAML.writeValueAsString(misspeltMethod), "apply", "-f", "-");
    assertThat(out).contains("spec.rules[].methods").contains("spec.extensionMethods");

    assertThat(client.resources(ApiPolicy.class).inNamespace(NS).list().getItems())
        .extracting(p -> p.getMetadata().getName())
        .containsExactly(POLICY);
  }

  @Test
  @Order(9)
  void aPolicyWhoseIssuerIsMissingReportsIssuerResolvedFalse() throws IOException {
    ObjectNode orphan =
        (ObjectNode) YAML.readTree(ScenarioResources.policy(NS, UPSTREAM_PORT, "orders.read"));
    ((ObjectNode) orphan.path("metadata")).put("name", "orphan");
    ObjectNode spec = (ObjectNode) orphan.path("spec");
    ((ObjectNode) spec.path("issuerRef")).put("name", "no-such-idp");
    ((ObjectNode) spec.path("selector").path("matchLabels")).put("app", "reports");
    kubectl.runWithInput(YAML.writeValueAsString(orphan), "apply", "-f", "-");
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
  }

  @Test
  @Order(10)
  void deletingAPolicyKeepsItsInjectedPodsDenyingUntilTheyAreGone() {
    String admin = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    assertThat(orders.get("/orders", admin).statusCode()).isEqualTo(200);
    String before = sidecarConfigMap().getMetadata().getResourceVersion();

    kubectl.run("delete", "apipolicy", POLICY, "-n", NS, "--wait=false");
    // The finalizer holds the policy while a pod runs its sidecar; the config turns deny-all.
    Await.until(
        "the ConfigMap to turn deny-all",
        Duration.ofSeconds(60),
        () -> !sidecarConfigMap().getMetadata().getResourceVersion().equals(before));
    assertThat(policy()).isNotNull();
    assertThat(policy().getMetadata().getDeletionTimestamp()).isNotNull();
    orders.resync();
    Await.until(
        "the sidecar to refuse everything",
        Duration.ofSeconds(30),
        () -> orders.get("/orders", admin).statusCode() == 403);
    assertThat(orders.get("/healthz", null).statusCode())
        .as("deny-all leaves no path open")
        .isNotEqualTo(200);

    // Once no injected pod is left, the policy and its ConfigMap go.
    kubectl.run("delete", "deployment", "orders", "-n", NS, "--wait=true", "--timeout=60s");
    Await.until(
        "the Deployment's pods to be garbage-collected",
        Duration.ofSeconds(90),
        () -> client.pods().inNamespace(NS).withLabel("app", "orders").list().getItems().isEmpty());
    Await.until("the policy to be deleted", Duration.ofSeconds(90), () -> policy() == null);
    Await.until(
        "the policy's ConfigMap to be garbage-collected",
        Duration.ofSeconds(60),
        () -> sidecarConfigMapOrNull() == null);
  }

  @Test
  @Order(11)
  void helmUninstallLeavesNothingButTheCrds() {
    kubectl.run("delete", "tokenissuer", ISSUER, "-n", NS, "--timeout=60s");
    cluster.helm().run("uninstall", RELEASE, "-n", SYSTEM_NS, "--wait", "--timeout", "2m");
    operator.close();

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
                    "all,configmaps,secrets,serviceaccounts,roles,rolebindings,leases",
                    "-n",
                    SYSTEM_NS,
                    "-l",
                    selector,
                    "-o",
                    "name")
                .trim())
        .isEmpty();
    assertThat(
            client.secrets().inNamespace(SYSTEM_NS).list().getItems().stream()
                .map(s -> s.getMetadata().getName())
                .filter(n -> n.startsWith(RELEASE)))
        .isEmpty();
    // CRDs stay (Helm never deletes what it installed from crds/): no one loses their policies.
    assertThat(kubectl.run("get", "crd", "apipolicies." + ApiGroup.GROUP, "-o", "name").trim())
        .isEqualTo("customresourcedefinition.apiextensions.k8s.io/apipolicies." + ApiGroup.GROUP);
  }

  // ---- helpers ---------------------------------------------------------------------------

  static Map<String, String> settingsOfTheChart() {
    return client.configMaps().inNamespace(SYSTEM_NS).list().getItems().stream()
        .filter(cm -> cm.getMetadata().getName().endsWith("-settings"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("the chart installed no settings ConfigMap"))
        .getData();
  }

  static ApiPolicy policy() {
    return client.resources(ApiPolicy.class).inNamespace(NS).withName(POLICY).get();
  }

  static ConfigMap sidecarConfigMap() {
    return Optional.ofNullable(sidecarConfigMapOrNull())
        .orElseThrow(() -> new AssertionError("no ConfigMap tokengate-" + POLICY));
  }

  static ConfigMap sidecarConfigMapOrNull() {
    return client.configMaps().inNamespace(NS).withName("tokengate-" + POLICY).get();
  }

  static Container sidecarOf(Pod pod) {
    return Stream.concat(
            Optional.ofNullable(pod.getSpec().getInitContainers()).stream().flatMap(List::stream),
            pod.getSpec().getContainers().stream())
        .filter(c -> c.getName().equals(PodRunner.SIDECAR_CONTAINER))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no sidecar in " + pod.getSpec()));
  }

  static String condition(List<Condition> conditions, String type) {
    return conditions.stream()
        .filter(c -> c.getType().equals(type))
        .map(Condition::getStatus)
        .findFirst()
        .orElse(null);
  }
}
