package io.tokengate.e2e.k3s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.LocalPortForward;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.Conditions;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.e2e.ScenarioResources;
import io.tokengate.e2e.cluster.ControlPlane;
import io.tokengate.e2e.idp.Jwt;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.support.Await;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Repo;
import io.tokengate.e2e.support.Tools;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
import org.testcontainers.DockerClientFactory;
import org.testcontainers.Testcontainers;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * The scenario of {@code TokengateE2EIT} in a full K3s cluster (Testcontainers), where pods really
 * run: the operator from its Jib image as the chart's in-cluster Deployment (two replicas, leader
 * election, the webhook behind its Service), the sidecar image injected beside a real application
 * container, the kubelet syncing the ConfigMap volume, traffic through a port-forward.
 *
 * <p>Needs a Docker engine and the image tarballs {@code operator/target/jib-image.tar} and {@code
 * sidecar/target/jib-image.tar} ({@code ./mvnw -B package -Pimages -pl operator,sidecar -am}).
 * Without a Docker engine it is skipped with a message that says so: it is the only e2e suite
 * allowed to skip; the real-control-plane suite runs everywhere.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class K3sE2EIT {
  static final String K3S_IMAGE =
      System.getProperty("tokengate.k3s.image", "rancher/k3s:v1.33.4-k3s1");
  static final String APP_IMAGE =
      System.getProperty("tokengate.k3s.appImage", "registry.k8s.io/e2e-test-images/agnhost:2.53");
  static final String IMAGE_TAG = System.getProperty("tokengate.image.tag", "0.1.0-SNAPSHOT");
  // The name pods use for this machine: Testcontainers' host-port exposure plus a CoreDNS entry.
  static final String HOST_ALIAS = "host.testcontainers.internal";
  static final String SYSTEM_NS = "tokengate-system";
  static final String NS = "shop";
  static final String POLICY = "orders-api";
  static final int APP_PORT = 18080;
  static final int SIDECAR_PORT = 7450;

  static K3sContainer k3s;
  static Keycloak keycloak;
  static KubernetesClient client;
  static Cli kubectl;
  static Cli helm;
  static LocalPortForward forward;
  static Path work;
  static String failedStep;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension
  static final TestWatcher STEPWISE =
      new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
          failedStep = context.getDisplayName();
          if (kubectl != null) {
            try {
              System.out.println(
                  kubectl.run(
                      "logs",
                      "-n",
                      SYSTEM_NS,
                      "-l",
                      "app.kubernetes.io/component=operator",
                      "--tail=80"));
            } catch (RuntimeException e) {
              System.out.println("[k3s] no operator logs: " + e.getMessage());
            }
          }
        }
      };

  static final String NO_DOCKER =
      "No Docker engine on this machine: the K3s suite (a full cluster in a container) is"
          + " skipped. The real-control-plane e2e (TokengateE2EIT) covers the scenario here;"
          + " run this suite where Docker exists.";

  static boolean dockerAvailable;

  @BeforeAll
  static void start() throws Exception {
    dockerAvailable = DockerClientFactory.instance().isDockerAvailable();
    if (!dockerAvailable) {
      // Each step is then skipped with this message (an assumption in @BeforeEach), so the
      // report counts them as skipped and says why.
      System.out.println("[k3s] " + NO_DOCKER);
      return;
    }
    Path operatorImage =
        Repo.artifact(
            "operator/target/jib-image.tar", "./mvnw -B package -Pimages -pl operator -am");
    Path sidecarImage =
        Repo.artifact("sidecar/target/jib-image.tar", "./mvnw -B package -Pimages -pl sidecar -am");

    work = Files.createTempDirectory("tokengate-k3s-e2e");
    keycloak = Keycloak.start(work.resolve("keycloak"), HOST_ALIAS);
    // Before any container starts: containers reach the port as HOST_ALIAS:<port>.
    Testcontainers.exposeHostPorts(keycloak.port());

    k3s = new K3sContainer(DockerImageName.parse(K3S_IMAGE));
    k3s.start();
    for (Path image : List.of(operatorImage, sidecarImage)) {
      String inContainer = "/tmp/" + image.getParent().getParent().getFileName() + ".tar";
      k3s.copyFileToContainer(MountableFile.forHostPath(image), inContainer);
      exec("ctr", "-n", "k8s.io", "images", "import", inContainer);
    }
    Path kubeconfig = work.resolve("k3s.kubeconfig");
    Files.writeString(kubeconfig, k3s.getKubeConfigYaml());
    client = ControlPlane.clientFor(kubeconfig);
    kubectl = Tools.kubectl(kubeconfig);
    helm = Tools.helm(kubeconfig, work.resolve("helm"));
    resolveHostAliasInPods();
    keycloak.awaitReady(Duration.ofMinutes(5));
  }

  @AfterAll
  static void stop() throws Exception {
    if (forward != null) {
      forward.close();
    }
    if (client != null) {
      client.close();
    }
    if (k3s != null) {
      k3s.stop();
    }
    if (keycloak != null) {
      keycloak.close();
    }
  }

  @BeforeEach
  void previousStepsPassed() {
    assumeTrue(dockerAvailable, NO_DOCKER);
    assumeTrue(failedStep == null, () -> "skipped: the earlier step " + failedStep + " failed");
  }

  @Test
  @Order(1)
  void helmInstallsTheOperatorInTheCluster() {
    helm.run(
        "install",
        "tokengate",
        Repo.root().resolve("helm/tokengate").toString(),
        "--namespace",
        SYSTEM_NS,
        "--create-namespace",
        "--set",
        "image.tag=" + IMAGE_TAG,
        "--set",
        "image.pullPolicy=Never",
        "--set",
        "sidecar.image.tag=" + IMAGE_TAG,
        "--set",
        "sidecar.image.pullPolicy=Never",
        "--wait",
        "--timeout",
        "5m");
    kubectl.run(
        "wait",
        "--for=condition=Available",
        "deployment",
        "-n",
        SYSTEM_NS,
        "-l",
        "app.kubernetes.io/instance=tokengate",
        "--timeout=180s");
  }

  @Test
  @Order(2)
  void theExampleIssuerAndPolicyBecomeReady() {
    kubectl.run("create", "namespace", NS);
    kubectl.runWithInput(
        ScenarioResources.issuer(keycloak, NS, Duration.ofSeconds(20)), "apply", "-f", "-");
    kubectl.runWithInput(ScenarioResources.policy(NS, APP_PORT, "orders.read"), "apply", "-f", "-");
    kubectl.run(
        "wait", "--for=condition=Ready", "tokenissuer/corp-idp", "-n", NS, "--timeout=180s");
    kubectl.run("wait", "--for=condition=Ready", "apipolicy/" + POLICY, "-n", NS, "--timeout=120s");
    TokenIssuer issuer =
        client.resources(TokenIssuer.class).inNamespace(NS).withName("corp-idp").get();
    assertThat(issuer.getStatus().keys.stream().map(k -> k.kid).collect(Collectors.toSet()))
        .containsAll(keycloak.signingKids());
  }

  @Test
  @Order(3)
  void theInjectedPodRunsAndBecomesReady() {
    kubectl.run("label", "namespace", NS, ApiGroup.INJECTION_LABEL + "=enabled");
    kubectl.runWithInput(
        ScenarioResources.deployment(
            NS, APP_PORT, APP_IMAGE, List.of("netexec", "--http-port=" + APP_PORT)),
        "apply",
        "-f",
        "-");
    // Readiness through the rewritten probe: the kubelet reaches the app past the sidecar.
    kubectl.run("rollout", "status", "deployment/orders", "-n", NS, "--timeout=300s");
    Pod pod = orders();
    assertThat(pod.getMetadata().getAnnotations())
        .containsEntry(ApiGroup.POLICY_ANNOTATION, POLICY);
    Await.until(
        "the policy to count the injected pod",
        Duration.ofSeconds(60),
        () -> "1/1".equals(policy().getStatus().pods));
    forward =
        client
            .pods()
            .inNamespace(NS)
            .withName(pod.getMetadata().getName())
            .portForward(SIDECAR_PORT);
  }

  @Test
  @Order(4)
  void theSidecarAnswers401And403And200() {
    assertThat(get("/hostname", null).statusCode()).isEqualTo(401);
    assertThat(get("/hostname", keycloak.clientCredentialsToken()).statusCode()).isEqualTo(403);
    String good = keycloak.clientCredentialsToken("orders.read");
    HttpResponse<String> ok = get("/header?key=X-Auth-Client", good);
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).contains(Keycloak.ORDERS_CLIENT);
  }

  @Test
  @Order(5)
  void aPolicyChangeIsAppliedByTheRunningSidecar() {
    String readOnly = keycloak.clientCredentialsToken("orders.read");
    kubectl.runWithInput(
        ScenarioResources.policy(NS, APP_PORT, "orders.admin"), "apply", "-f", "-");
    // The kubelet syncs ConfigMap volumes periodically (about a minute plus its cache TTL).
    Await.until(
        "the kubelet-synced config to reach the sidecar",
        Duration.ofMinutes(3),
        () -> get("/hostname", readOnly).statusCode() == 403);
    assertThat(orders().getStatus().getInitContainerStatuses())
        .allSatisfy(s -> assertThat(s.getRestartCount()).isZero());
  }

  @Test
  @Order(6)
  void rotatedKeysAreAccepted() {
    String newKid = keycloak.rotateKeys();
    String fresh = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    assertThat(Jwt.decode(fresh).kid()).isEqualTo(newKid);
    assertThat(get("/hostname", fresh).statusCode()).isEqualTo(200);
  }

  @Test
  @Order(7)
  void invalidAndOrphanPoliciesAreReported() {
    String bad =
        ScenarioResources.edited(
            ScenarioResources.policy(NS, APP_PORT, "orders.read"),
            p -> {
              ((ObjectNode) p.path("metadata")).put("name", "bad");
              ((ObjectNode) p.path("spec")).put("mode", "Block");
            });
    assertThat(kubectl.runExpectingFailure(bad, "apply", "-f", "-")).contains("spec.mode");
    String orphan =
        ScenarioResources.edited(
            ScenarioResources.policy(NS, APP_PORT, "orders.read"),
            p -> {
              ((ObjectNode) p.path("metadata")).put("name", "orphan");
              ((ObjectNode) p.path("spec").path("issuerRef")).put("name", "no-such-idp");
              ((ObjectNode) p.path("spec").path("selector").path("matchLabels"))
                  .put("app", "reports");
            });
    kubectl.runWithInput(orphan, "apply", "-f", "-");
    kubectl.run(
        "wait",
        "--for=condition=" + Conditions.ISSUER_RESOLVED + "=False",
        "apipolicy/orphan",
        "-n",
        NS,
        "--timeout=60s");
    kubectl.run("delete", "apipolicy", "orphan", "-n", NS, "--timeout=60s");
  }

  @Test
  @Order(8)
  void deletingThePolicyDeniesUntilThePodsAreGoneThenUninstallLeavesNothing() throws Exception {
    String admin = keycloak.clientCredentialsToken("orders.read", "orders.admin");
    kubectl.run("delete", "apipolicy", POLICY, "-n", NS, "--wait=false");
    Await.until(
        "the deny-all config to reach the sidecar",
        Duration.ofMinutes(3),
        () -> get("/hostname", admin).statusCode() == 403);
    forward.close();
    forward = null;
    kubectl.run("delete", "deployment", "orders", "-n", NS, "--timeout=120s");
    Await.until("the policy to be deleted", Duration.ofMinutes(2), () -> policy() == null);
    kubectl.run("delete", "tokenissuer", "corp-idp", "-n", NS, "--timeout=60s");
    helm.run("uninstall", "tokengate", "-n", SYSTEM_NS, "--wait", "--timeout", "3m");
    assertThat(
            kubectl
                .run(
                    "get",
                    "clusterroles,clusterrolebindings,mutatingwebhookconfigurations",
                    "-l",
                    "app.kubernetes.io/instance=tokengate",
                    "-o",
                    "name")
                .trim())
        .isEmpty();
    assertThat(
            kubectl
                .run(
                    "get",
                    "all,configmaps,secrets,serviceaccounts,roles,rolebindings",
                    "-n",
                    SYSTEM_NS,
                    "-l",
                    "app.kubernetes.io/instance=tokengate",
                    "-o",
                    "name")
                .trim())
        .isEmpty();
  }

  // ---- helpers ---------------------------------------------------------------------------

  static HttpResponse<String> get(String path, String bearer) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + forward.getLocalPort() + path))
            .timeout(Duration.ofSeconds(30));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    try {
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException("GET " + path + " through the port-forward failed", e);
    }
  }

  static Pod orders() {
    return client.pods().inNamespace(NS).withLabel("app", "orders").list().getItems().stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
        .findFirst()
        .orElseThrow();
  }

  static ApiPolicy policy() {
    return client.resources(ApiPolicy.class).inNamespace(NS).withName(POLICY).get();
  }

  /**
   * Pods resolve cluster DNS through CoreDNS, which knows nothing of the K3s container's /etc/hosts
   * entry for {@link #HOST_ALIAS}: serve that one name from a K3s {@code coredns-custom} server
   * block, pointing at the address the K3s container has for it.
   */
  static void resolveHostAliasInPods() throws Exception {
    String hostIp = exec("getent", "hosts", HOST_ALIAS).trim().split("\\s+")[0];
    String server =
        """
        %s:53 {
            hosts {
                %s %s
            }
        }
        """
            .formatted(HOST_ALIAS, hostIp, HOST_ALIAS);
    client
        .configMaps()
        .inNamespace("kube-system")
        .resource(
            new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                .withNewMetadata()
                .withName("coredns-custom")
                .withNamespace("kube-system")
                .endMetadata()
                .addToData("tokengate-host.server", server)
                .build())
        .serverSideApply();
    kubectl.run("rollout", "restart", "deployment/coredns", "-n", "kube-system");
    kubectl.run("rollout", "status", "deployment/coredns", "-n", "kube-system", "--timeout=120s");
  }

  static String exec(String... command) throws Exception {
    ExecResult result = k3s.execInContainer(command);
    if (result.getExitCode() != 0) {
      throw new IllegalStateException(
          String.join(" ", command)
              + " in K3s exited "
              + result.getExitCode()
              + ": "
              + result.getStderr());
    }
    return result.getStdout();
  }
}
