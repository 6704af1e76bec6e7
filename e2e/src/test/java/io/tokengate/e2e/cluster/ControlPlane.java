package io.tokengate.e2e.cluster;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.tokengate.e2e.support.Cli;
import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import io.tokengate.e2e.support.Tools;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A real control plane (etcd, kube-apiserver, kube-controller-manager from {@code
 * e2e/controlplane/}) on loopback, with an admin client and the kubectl and helm a user would use.
 * {@code start.sh --owner-pid} stops it if this JVM dies; {@link #close} stops it for real.
 */
public final class ControlPlane implements AutoCloseable {
  private final Path dir;
  private final Path kubeconfig;
  private final Properties cluster;
  private final KubernetesClient client;

  private ControlPlane(Path dir, Path kubeconfig, Properties cluster) {
    this.dir = dir;
    this.kubeconfig = kubeconfig;
    this.cluster = cluster;
    this.client = clientFor(kubeconfig);
  }

  /**
   * With {@code node}, also the node ({@code start.sh --node}: containerd, kubelet, kube-proxy,
   * ...; pods run); {@code images} are {@code TOKENGATE_IMAGE_*} variables naming docker-archive
   * tarballs it imports into containerd.
   */
  public static ControlPlane start(Path dir, boolean node, Map<String, String> images) {
    Path scripts = Repo.root().resolve("e2e/controlplane");
    Map<String, String> env = new java.util.HashMap<>(Tools.controlPlaneBinaries());
    env.putAll(images);
    List<String> command =
        new java.util.ArrayList<>(
            List.of(
                "bash",
                scripts.resolve("start.sh").toString(),
                dir.toString(),
                "--owner-pid",
                Long.toString(ProcessHandle.current().pid())));
    if (node) {
      command.add("--node");
    }
    long t0 = System.nanoTime();
    try {
      Processes.run(command, env, Duration.ofMinutes(4));
    } catch (Processes.CommandFailedException e) {
      throw new IllegalStateException(
          "the control plane did not start (logs in " + dir.resolve("logs") + "):\n" + e.output(),
          e);
    }
    System.out.printf(
        "[e2e] control plane ready in %.1f s (%s)%n", (System.nanoTime() - t0) / 1e9, dir);
    Properties cluster = new Properties();
    try (Reader in = Files.newBufferedReader(dir.resolve("cluster.env"))) {
      cluster.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new ControlPlane(dir, dir.resolve("admin.kubeconfig"), cluster);
  }

  /** A client with cluster-admin rights (user kubernetes-admin, group system:masters). */
  public KubernetesClient client() {
    return client;
  }

  public Path kubeconfig() {
    return kubeconfig;
  }

  public Path dir() {
    return dir;
  }

  /** {@code https://127.0.0.1:<port>}. */
  public String apiServerUrl() {
    return unquote(cluster.getProperty("APISERVER_URL"));
  }

  /** The cluster CA certificate file. */
  public Path caCertificate() {
    return Path.of(unquote(cluster.getProperty("CA_CERT")));
  }

  /** kubectl (the preinstalled one) as cluster admin. */
  public Cli kubectl() {
    return kubectl(kubeconfig);
  }

  public Cli kubectl(Path kubeconfig) {
    return Tools.kubectl(kubeconfig);
  }

  /** helm (built by build.sh) as cluster admin. */
  public Cli helm() {
    return Tools.helm(kubeconfig, dir.resolve("helm"));
  }

  public static KubernetesClient clientFor(Path kubeconfig) {
    try {
      Config config = Config.fromKubeconfig(Files.readString(kubeconfig));
      // Generous: the machine running the e2e is often busy building other things.
      config.setRequestTimeout(60_000);
      config.setConnectionTimeout(20_000);
      config.setRequestRetryBackoffLimit(5);
      return new KubernetesClientBuilder().withConfig(config).build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    client.close();
    try {
      Processes.run(
          List.of(
              "bash", Repo.root().resolve("e2e/controlplane/stop.sh").toString(), dir.toString()),
          Map.of(),
          Duration.ofMinutes(1));
    } catch (RuntimeException e) {
      System.err.println("[e2e] stopping the control plane: " + e.getMessage());
    }
  }

  private static String unquote(String value) {
    if (value == null) {
      return null;
    }
    String v = value.trim();
    if (v.length() >= 2
        && ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith("\"") && v.endsWith("\"")))) {
      return v.substring(1, v.length() - 1);
    }
    return v;
  }
}
