package io.tokengate.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.BuildInfo;
import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.KubeletVolume;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.testing.TestIssuer;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built jar, started as its own process through the command-line contract the operator relies
 * on: exit codes and messages, readiness from a key snapshot, SIGTERM drain, reload under load.
 */
class SidecarProcessIT {
  static Path jar;
  static Path work;
  static TestIssuer idp;
  static EchoUpstream app;
  static final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @BeforeAll
  static void setUp() throws Exception {
    Path built =
        Path.of(System.getProperty("tokengate.sidecar.jar", "target/tokengate-sidecar.jar"));
    assertThat(built).as("the shaded jar (run through mvn verify)").exists();
    work = Files.createTempDirectory("sidecar-it");
    // A private copy: a concurrent rebuild of target/ must not change the jar under a process.
    jar =
        Files.copy(
            built, work.resolve("tokengate-sidecar.jar"), StandardCopyOption.REPLACE_EXISTING);
    idp = TestIssuer.start();
    app = EchoUpstream.start();
  }

  @AfterAll
  static void tearDown() {
    app.close();
    idp.close();
  }

  /** A started sidecar process with its output captured to files. */
  record Running(Process process, int port, int adminPort, Path stdout, Path stderr) {
    String out() throws IOException {
      return Files.readString(stdout);
    }
  }

  static Process launch(Path stdout, Path stderr, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of("-XX:+UseSerialGC", "-Xmx96m", "-XX:TieredStopAtLevel=1"));
    cmd.add("-jar");
    cmd.add(jar.toString());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd)
        .redirectOutput(stdout.toFile())
        .redirectError(stderr.toFile())
        .start();
  }

  static Running start(Path config, String... extra) throws Exception {
    int port = freePort();
    int admin = freePort();
    Path out = Files.createTempFile(work, "stdout", ".log");
    Path err = Files.createTempFile(work, "stderr", ".log");
    List<String> args =
        new ArrayList<>(
            List.of(
                "--config", config.toString(),
                "--listen-port", Integer.toString(port),
                "--admin-port", Integer.toString(admin),
                "--listen-host", "127.0.0.1",
                "--admin-host", "127.0.0.1"));
    args.addAll(List.of(extra));
    return new Running(launch(out, err, args.toArray(String[]::new)), port, admin, out, err);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Milliseconds until /healthz/ready answered 200. */
  static long awaitReady(Running r) throws Exception {
    long t0 = System.nanoTime();
    long deadline = t0 + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      assertThat(r.process().isAlive()).as("sidecar alive: " + r.out()).isTrue();
      try {
        if (admin(r, "/healthz/ready").statusCode() == 200) {
          return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        }
      } catch (ConnectException notYet) {
        // not listening yet
      }
      Thread.sleep(10);
    }
    throw new AssertionError("not ready within 30 s: " + r.out());
  }

  static HttpResponse<String> admin(Running r, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.adminPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpRequest get(Running r, String pathAndQuery, String token) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.port() + pathAndQuery))
        .header("Authorization", "Bearer " + token)
        .timeout(Duration.ofSeconds(20))
        .build();
  }

  static String rules(String scope) {
    return "rules:\n  - paths: [\"/**\"]\n    require: {scopes: [" + scope + "]}\n";
  }

  static Path configDir(String policySpec) throws IOException {
    Path dir = Files.createTempDirectory(work, "config");
    PolicyFiles.write(
        dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), policySpec, "30s"));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    return dir;
  }

  @Test
  void aBadCommandLineExitsWithStatus2AndSaysWhy() throws Exception {
    Path out = Files.createTempFile(work, "o", ".log");
    Path err = Files.createTempFile(work, "e", ".log");
    Process p = launch(out, err, "--config", "/nowhere", "--listen-port", "http");
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    assertThat(Files.readString(err)).contains("--listen-port: 'http' is not a number");

    Process help = launch(out, err, "--help");
    assertThat(help.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(help.exitValue()).isZero();
    assertThat(Files.readString(out)).contains("--config PATH").contains("TOKENGATE_CONFIG");
  }

  /** The shaded jar knows its release version (the image's tag) and says so, whatever else. */
  @Test
  void versionPrintsTheReleaseAndTheRuntimeAndExits0() throws Exception {
    Path out = Files.createTempFile(work, "o", ".log");
    Path err = Files.createTempFile(work, "e", ".log");
    Process p = launch(out, err, "--config", "/nowhere", "--version");
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(Files.readString(err)).isZero();
    assertThat(Files.readString(out).strip())
        .isEqualTo(
            "tokengate-sidecar "
                + BuildInfo.current().version()
                + " (Java "
                + Runtime.version()
                + ")");
  }

  @Test
  void aBrokenConfigurationExitsWithStatus1NamingTheFileAndTheField() throws Exception {
    Path dir = configDir(rules("orders.read"));
    PolicyFiles.write(
        dir.resolve("policy.yaml"),
        PolicyFiles.policyYaml(app.port(), rules("orders.read") + "forwardClaims: {sub: Host}\n"));
    Running r = start(dir);
    assertThat(r.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(r.process().exitValue()).isEqualTo(1);
    String err = Files.readString(r.stderr());
    assertThat(err)
        .contains(dir.resolve("policy.yaml").toString())
        .contains("spec.forwardClaims.sub");
    assertThat(r.out()).contains("\"event\":\"config_invalid\"");

    Running missing = start(work.resolve("no-such-dir"));
    assertThat(missing.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(missing.process().exitValue()).isEqualTo(1);
    assertThat(Files.readString(missing.stderr()))
        .contains("no-such-dir")
        .contains("does not exist");
  }

  @Test
  void aPortInUseExitsWithStatus1NamingThePort() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Path out = Files.createTempFile(work, "o", ".log");
      Path err = Files.createTempFile(work, "e", ".log");
      Process p =
          launch(
              out,
              err,
              "--config",
              configDir(rules("orders.read")).toString(),
              "--listen-host",
              "127.0.0.1",
              "--listen-port",
              Integer.toString(taken.getLocalPort()),
              "--admin-port",
              Integer.toString(freePort()));
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(1);
      assertThat(Files.readString(err))
          .contains("listen port " + taken.getLocalPort())
          .containsIgnoringCase("in use");
    }
  }

  @Test
  void aKeySnapshotMakesItReadyWithoutTheIdentityProvider() throws Exception {
    try (TestIssuer offline = TestIssuer.start()) {
      String token = offline.token().claim("scope", "orders.read").sign();
      String jwks = offline.jwksJson();
      String issuer = PolicyFiles.issuerYaml("offline", offline.spec());
      offline.goDown(TestIssuer.Outage.REFUSE);
      Path dir = Files.createTempDirectory(work, "snapshot");
      PolicyFiles.write(
          dir.resolve("policy.yaml"),
          PolicyFiles.policyYaml(app.port(), rules("orders.read"))
              .replace("name: idp", "name: offline"));
      PolicyFiles.write(dir.resolve("issuer.yaml"), issuer);
      PolicyFiles.write(dir.resolve("offline.jwks.json"), jwks);
      Running r = start(dir);
      try {
        long readyMs = awaitReady(r);
        System.out.println(
            "sidecar process ready after " + readyMs + " ms (machine load permitting)");
        assertThat(
                http.send(get(r, "/orders", token), HttpResponse.BodyHandlers.ofString())
                    .statusCode())
            .isEqualTo(200);
        // The ready line is written by the readiness announcer, a few ms after the probe can
        // already see 200.
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!r.out().contains("\"event\":\"ready\"") && System.nanoTime() < until) {
          Thread.sleep(50);
        }
        assertThat(r.out()).contains("\"event\":\"ready\"");
      } finally {
        r.process().destroy();
        r.process().waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void sigtermDrainsInFlightRequestsThenExits0() throws Exception {
    Running r = start(configDir(rules("orders.read")), "--drain-seconds", "15");
    awaitReady(r);
    String token = idp.token().claim("scope", "orders.read").sign();
    app.clear();
    int n = 8;
    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      inFlight.add(
          http.sendAsync(
              get(r, "/slow?mode=slow&ms=1500", token), HttpResponse.BodyHandlers.ofString()));
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (app.inFlight() < n && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(app.inFlight()).isEqualTo(n);

    r.process().destroy(); // SIGTERM
    long notReady = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    int readiness = 200;
    while (System.nanoTime() < notReady) {
      try {
        readiness = admin(r, "/healthz/ready").statusCode();
      } catch (IOException closed) {
        readiness = -1;
      }
      if (readiness != 200) {
        break;
      }
      Thread.sleep(10);
    }
    assertThat(readiness).isIn(503, -1);
    assertThatNewConnectionsAreRefused(r);

    for (CompletableFuture<HttpResponse<String>> f : inFlight) {
      HttpResponse<String> resp = f.get(20, TimeUnit.SECONDS);
      assertThat(resp.statusCode()).isEqualTo(200);
      assertThat(resp.body()).isEqualTo("slow done");
    }
    assertThat(r.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(r.process().exitValue()).isZero();
    assertThat(r.out()).contains("\"event\":\"draining\"").contains("\"event\":\"stopped\"");
  }

  static void assertThatNewConnectionsAreRefused(Running r) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (System.nanoTime() < deadline) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", r.port())) {
        Thread.sleep(20);
      } catch (ConnectException refused) {
        return;
      }
    }
    throw new AssertionError("the listener still accepts connections while draining");
  }

  @Test
  void reloadUnderLoadFailsNoRequest() throws Exception {
    String a =
        PolicyFiles.policyYaml(
            app.port(), "forwardClaims: {sub: X-User-A}\n" + rules("orders.read"));
    String b =
        PolicyFiles.policyYaml(
            app.port(), "forwardClaims: {sub: X-User-B}\n" + rules("orders.read"));
    String issuer = PolicyFiles.issuerYaml("idp", idp.spec());
    KubeletVolume volume =
        new KubeletVolume(
            work.resolve("volume-" + System.nanoTime()),
            Map.of("policy.yaml", a, "issuer.yaml", issuer, "idp.jwks.json", idp.jwksJson()));
    Running r = start(volume.dir());
    try {
      awaitReady(r);
      String token = idp.token().claim("scope", "orders.read").sign();
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger ok = new AtomicInteger();
      List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      List<Thread> clients = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        Thread t =
            new Thread(
                () -> {
                  while (running.get()) {
                    try {
                      HttpResponse<String> resp =
                          http.send(get(r, "/orders", token), HttpResponse.BodyHandlers.ofString());
                      if (resp.statusCode() == 200) {
                        ok.incrementAndGet();
                      } else {
                        failures.add(resp.statusCode() + " " + resp.body());
                      }
                    } catch (Exception e) {
                      failures.add(e.toString());
                    }
                  }
                });
        t.start();
        clients.add(t);
      }
      // The watcher polls every second: swaps further apart than that are each applied.
      int swaps = 4;
      for (int i = 0; i < swaps; i++) {
        Thread.sleep(1300);
        volume.update(
            Map.of(
                "policy.yaml",
                i % 2 == 0 ? b : a,
                "issuer.yaml",
                issuer,
                "idp.jwks.json",
                idp.jwksJson()));
      }
      String applied = "tokengate_config_reloads_total{result=\"success\"} " + swaps + ".0";
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      while (!admin(r, "/metrics").body().contains(applied) && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      Thread.sleep(300);
      running.set(false);
      for (Thread t : clients) {
        t.join(30_000);
      }
      assertThat(failures).isEmpty();
      assertThat(ok.get()).isGreaterThan(swaps * 4);
      assertThat(admin(r, "/metrics").body())
          .contains(applied)
          .contains("tokengate_config_reloads_total{result=\"error\"} 0.0");
      app.clear();
      http.send(get(r, "/orders", token), HttpResponse.BodyHandlers.ofString());
      // An even number of swaps: back on policy a.
      assertThat(app.next().header("X-User-A")).isEqualTo("test-subject");
    } finally {
      r.process().destroy();
      r.process().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
