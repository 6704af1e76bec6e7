package io.tokengate.e2e.cluster;

import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The operator as a developer runs it outside the cluster: {@code java -jar
 * operator/target/quarkus-app/quarkus-run.jar}, with the environment the chart's settings ConfigMap
 * holds and a kubeconfig of the chart's ServiceAccount, so the chart's RBAC is what it runs with.
 */
public final class OperatorProcess implements AutoCloseable {
  private final Process process;
  private final Path log;
  private final int httpPort;

  private OperatorProcess(Process process, Path log, int httpPort) {
    this.process = process;
    this.log = log;
    this.httpPort = httpPort;
  }

  /**
   * @param settings the chart's settings ConfigMap data (TOKENGATE_*, QUARKUS_*)
   * @param kubeconfig the identity the operator runs as
   */
  public static OperatorProcess start(
      Map<String, String> settings, Path kubeconfig, Path workDir, String identity) {
    Path jar =
        Repo.artifact(
            "operator/target/quarkus-app/quarkus-run.jar", "./mvnw -B package -pl operator -am");
    Map<String, String> env = new LinkedHashMap<>(settings);
    env.put("KUBECONFIG", kubeconfig.toString());
    // The in-cluster Deployment sets these from the downward API.
    env.putIfAbsent("POD_NAME", identity);
    env.putIfAbsent("HOSTNAME", identity);
    int httpPort = Integer.parseInt(settings.getOrDefault("QUARKUS_HTTP_PORT", "8080"));
    Path log = workDir.resolve("operator-" + identity + ".log");
    Process process =
        Processes.start(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx384m",
                "-XX:TieredStopAtLevel=1",
                "-jar",
                jar.toString()),
            env,
            workDir,
            log);
    return new OperatorProcess(process, log, httpPort);
  }

  /** Waits for {@code /q/health/ready} (the webhook serves with a valid certificate). */
  public OperatorProcess awaitReady(Duration timeout) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    URI ready = URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready");
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "the operator exited with " + process.exitValue() + "; its log:\n" + tail());
      }
      try {
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return this;
        }
        last = response.body();
      } catch (java.io.IOException notYet) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    throw new IllegalStateException(
        "the operator was not ready within " + timeout + ": " + last + "\nits log:\n" + tail());
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path log() {
    return log;
  }

  public String tail() {
    return Processes.tail(log, 80);
  }

  @Override
  public void close() {
    Processes.stopTree(process, Duration.ofSeconds(30));
  }
}
