package io.tokengate.sidecar.testing;

import io.tokengate.api.v1alpha1.apipolicy.DecisionLog;
import io.tokengate.sidecar.LaunchOptions;
import io.tokengate.sidecar.Sidecar;
import io.tokengate.sidecar.admin.AppProbes;
import io.tokengate.sidecar.log.EventLog;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The real sidecar started in this JVM on loopback ports chosen by the OS, with its JSON log
 * captured so tests can read decisions (and check that no token is ever written).
 */
public final class InProcessSidecar implements AutoCloseable {
  private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
  private final EventLog log = new EventLog(logBytes);
  private final Sidecar sidecar;

  private InProcessSidecar(Path config, Sidecar.Tuning tuning) {
    LaunchOptions options =
        new LaunchOptions(
            config,
            "127.0.0.1",
            0,
            "127.0.0.1",
            0,
            5,
            AppProbes.NONE,
            DecisionLog.Allowed.All,
            false);
    sidecar = Sidecar.start(options, log, tuning);
  }

  private InProcessSidecar(Path config, Duration reloadInterval, ValidationTuning validation) {
    this(config, new Sidecar.Tuning(validation, reloadInterval, Duration.ofSeconds(5)));
  }

  /** Starts with explicit tuning and waits until ready. */
  public static InProcessSidecar start(Path config, Sidecar.Tuning tuning) {
    InProcessSidecar s = new InProcessSidecar(config, tuning);
    s.awaitReady();
    return s;
  }

  /** Starts and waits until ready (keys loaded). */
  public static InProcessSidecar start(Path config) {
    return start(config, Duration.ofMillis(200));
  }

  public static InProcessSidecar start(Path config, Duration reloadInterval) {
    InProcessSidecar s = new InProcessSidecar(config, reloadInterval, ValidationTuning.DEFAULTS);
    s.awaitReady();
    return s;
  }

  /** Starts without waiting for readiness (the issuer may be unreachable). */
  public static InProcessSidecar startUnready(Path config, ValidationTuning validation) {
    return new InProcessSidecar(config, Duration.ofMillis(200), validation);
  }

  public void awaitReady() {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (sidecar.state().notReadyReason() != null) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not ready: " + sidecar.state().notReadyReason());
      }
      sleep(20);
    }
  }

  public int port() {
    return sidecar.listenPort();
  }

  public int adminPort() {
    return sidecar.adminPort();
  }

  public URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
  }

  public Sidecar sidecar() {
    return sidecar;
  }

  /** GET on the admin port. */
  public HttpResponse<String> admin(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path)).build(),
            HttpResponse.BodyHandlers.ofString());
  }

  /** Everything logged so far. */
  public String logText() {
    log.flush(2000);
    return logBytes.toString(StandardCharsets.UTF_8);
  }

  /** Logged lines of {@code event}, parsed. */
  public List<JsonObject> events(String event) {
    return logText()
        .lines()
        .map(JsonObject::new)
        .filter(j -> event.equals(j.getString("event")))
        .toList();
  }

  /** The last decision line logged for {@code path}, waiting briefly for it to be written. */
  public JsonObject lastDecision(String path) {
    long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    while (true) {
      List<JsonObject> d =
          events("decision").stream().filter(j -> path.equals(j.getString("url.path"))).toList();
      if (!d.isEmpty()) {
        return d.get(d.size() - 1);
      }
      if (System.nanoTime() > deadline) {
        return null;
      }
      sleep(20);
    }
  }

  @Override
  public void close() {
    sidecar.drain();
    log.close();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
