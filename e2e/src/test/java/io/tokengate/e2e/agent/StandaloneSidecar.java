package io.tokengate.e2e.agent;

import io.tokengate.e2e.support.Ports;
import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The sidecar as a user runs it outside Kubernetes: {@code java -jar tokengate-sidecar.jar --config
 * DIR --listen-port N --admin-port M} on free loopback ports, with the YAML a user would apply.
 */
final class StandaloneSidecar implements AutoCloseable {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

  private final Process process;
  private final Path log;
  private final int port;

  private StandaloneSidecar(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
  }

  /**
   * A TokenIssuer document for a Keycloak realm as a user writes it for the standalone sidecar:
   * namespace {@code shop}, default audience {@code audience}, Keycloak's CA as {@code caBundle}.
   */
  static String issuerYaml(String name, String issuer, String audience, String caPem) {
    StringBuilder ca = new StringBuilder();
    caPem.lines().forEach(l -> ca.append("    ").append(l).append('\n'));
    return """
        apiVersion: tokengate.io/v1alpha1
        kind: TokenIssuer
        metadata: {name: %s, namespace: shop}
        spec:
          issuer: %s
          audiences: [%s]
          caBundle: |
        %s---
        """
        .formatted(name, issuer, audience, ca);
  }

  /** The listen port {@link #start} will use: known before the configuration is written. */
  static int reservePort() {
    return Ports.free();
  }

  /**
   * Writes {@code yaml} to {@code dir/gate.yaml}, starts the sidecar on it and waits until ready.
   */
  static StandaloneSidecar start(Path dir, int port, String yaml) {
    try {
      Files.createDirectories(dir.resolve("config"));
      Files.writeString(dir.resolve("config/gate.yaml"), yaml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path jar =
        Repo.artifact("sidecar/target/tokengate-sidecar.jar", "./mvnw -B package -pl sidecar -am");
    int admin = Ports.free();
    Path log = dir.resolve("sidecar.log");
    Process p =
        Processes.start(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString(),
                "--config",
                dir.resolve("config").toString(),
                "--listen-host",
                "127.0.0.1",
                "--admin-host",
                "127.0.0.1",
                "--listen-port",
                Integer.toString(port),
                "--admin-port",
                Integer.toString(admin)),
            Map.of(),
            dir,
            log);
    StandaloneSidecar s = new StandaloneSidecar(p, log, port);
    s.awaitReady(admin);
    return s;
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void awaitReady(int admin) {
    HttpClient http = HttpClient.newHttpClient();
    URI ready = URI.create("http://127.0.0.1:" + admin + "/healthz/ready");
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "the sidecar exited with " + process.exitValue() + ":\n" + Processes.tail(log, 40));
      }
      try {
        HttpResponse<Void> r =
            http.send(
                HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    close();
    throw new IllegalStateException(
        "the sidecar was not ready within " + READY_TIMEOUT + ":\n" + Processes.tail(log, 40));
  }

  @Override
  public void close() {
    Processes.stopTree(process, Duration.ofSeconds(10));
  }
}
