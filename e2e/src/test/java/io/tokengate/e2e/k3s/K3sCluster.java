package io.tokengate.e2e.k3s;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.e2e.cluster.ControlPlane;
import io.tokengate.e2e.cluster.NodeImages;
import io.tokengate.e2e.idp.Keycloak;
import io.tokengate.e2e.node.ClientPod;
import io.tokengate.e2e.scenario.ScenarioCluster;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.Testcontainers;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * K3s in a container (Testcontainers) as a {@link ScenarioCluster}: the images of {@code
 * e2e/images/build.sh} imported into its containerd, Keycloak on this machine reached by pods as
 * {@value #HOST_ALIAS}. Pod IPs are inside the container, so {@link #statusFromNode} asks from a
 * client pod.
 */
final class K3sCluster implements ScenarioCluster {
  static final String K3S_IMAGE =
      System.getProperty("tokengate.k3s.image", "rancher/k3s:v1.33.4-k3s1");
  // The name pods use for this machine: Testcontainers' host-port exposure plus a CoreDNS entry.
  static final String HOST_ALIAS = "host.testcontainers.internal";
  static final String NO_DOCKER =
      "No Docker engine on this machine: the K3s run of the user-path scenario (a full cluster in"
          + " a container) is skipped. NodeScenarioIT runs the same scenario on the real node here;"
          + " run this one where Docker exists.";

  private final K3sContainer k3s;
  private final Keycloak keycloak;
  private final KubernetesClient client;
  private final Cli kubectl;
  private final Cli helm;

  private K3sCluster(
      K3sContainer k3s, Keycloak keycloak, KubernetesClient client, Cli kubectl, Cli helm) {
    this.k3s = k3s;
    this.keycloak = keycloak;
    this.client = client;
    this.kubectl = kubectl;
    this.helm = helm;
  }

  static K3sCluster start() throws Exception {
    boolean docker = DockerClientFactory.instance().isDockerAvailable();
    if (!docker) {
      System.out.println("[k3s] " + NO_DOCKER);
    }
    assumeTrue(docker, NO_DOCKER);
    Map<String, String> images = NodeImages.build();
    Path work = Files.createTempDirectory("tokengate-k3s-e2e");
    Keycloak keycloak = Keycloak.start(work.resolve("keycloak"), HOST_ALIAS);
    // Before any container starts: containers reach the port as HOST_ALIAS:<port>.
    Testcontainers.exposeHostPorts(keycloak.port());
    K3sContainer k3s = new K3sContainer(DockerImageName.parse(K3S_IMAGE));
    k3s.start();
    for (Map.Entry<String, String> image : images.entrySet()) {
      if (image.getKey().equals("TOKENGATE_IMAGE_PAUSE")) {
        continue; // K3s brings its own sandbox image.
      }
      String inContainer = "/tmp/" + image.getKey().toLowerCase(java.util.Locale.ROOT) + ".tar";
      k3s.copyFileToContainer(MountableFile.forHostPath(image.getValue()), inContainer);
      exec(k3s, "ctr", "-n", "k8s.io", "images", "import", inContainer);
    }
    Path kubeconfig = work.resolve("k3s.kubeconfig");
    Files.writeString(kubeconfig, k3s.getKubeConfigYaml());
    K3sCluster cluster =
        new K3sCluster(
            k3s,
            keycloak,
            ControlPlane.clientFor(kubeconfig),
            Tools.kubectl(kubeconfig),
            Tools.helm(kubeconfig, work.resolve("helm")));
    cluster.resolveHostAliasInPods();
    return cluster;
  }

  @Override
  public String name() {
    return "k3s";
  }

  @Override
  public KubernetesClient client() {
    return client;
  }

  @Override
  public Cli kubectl() {
    return kubectl;
  }

  @Override
  public Cli helm() {
    return helm;
  }

  @Override
  public Keycloak keycloak() {
    return keycloak;
  }

  /** Pod IPs live inside the K3s container: a client pod asks instead. */
  @Override
  public int statusFromNode(String url, String bearer) {
    return new ClientPod(client, "default").get(url, bearer).path("status").asInt(-1);
  }

  @Override
  public void close() {
    client.close();
    k3s.stop();
    keycloak.close();
  }

  /**
   * Pods resolve cluster DNS through CoreDNS, which knows nothing of the K3s container's /etc/hosts
   * entry for {@link #HOST_ALIAS}: serve that one name from a K3s {@code coredns-custom} server
   * block, pointing at the address the K3s container has for it.
   */
  private void resolveHostAliasInPods() throws Exception {
    String hostIp = exec(k3s, "getent", "hosts", HOST_ALIAS).trim().split("\\s+")[0];
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
            new ConfigMapBuilder()
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

  private static String exec(K3sContainer k3s, String... command) throws Exception {
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
