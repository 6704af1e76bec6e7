package io.tokengate.sidecar.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.tokengate.sidecar.GateState;
import io.tokengate.testing.TestTls;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admin port forwards the application's probes to a real application on loopback (HTTP, HTTPS,
 * TCP), keeps the kubelet's meaning of the outcome, and reaches nothing else of the application.
 */
class AppProbeForwardingTest {
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
  private final Map<String, Integer> statusByPath = new ConcurrentHashMap<>();
  private Vertx vertx;
  private HttpServer app;
  private HttpsServer tlsApp;
  private AdminServer admin;

  @BeforeEach
  void start() throws Exception {
    statusByPath.putAll(Map.of("/healthz", 200, "/moved", 302, "/sick", 500, "/gone", 404));
    app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    app.createContext("/", this::answer);
    app.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    app.start();
    tlsApp = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    tlsApp.setHttpsConfigurator(new HttpsConfigurator(TestTls.get().serverContext()));
    tlsApp.createContext("/", this::answer);
    tlsApp.start();
    vertx = Vertx.vertx();
  }

  private void answer(HttpExchange exchange) throws IOException {
    Map<String, String> request = new java.util.HashMap<>();
    request.put("method", exchange.getRequestMethod());
    request.put("uri", exchange.getRequestURI().toString());
    exchange.getRequestHeaders().forEach((k, v) -> request.put(k.toLowerCase(), v.get(0)));
    seen.add(request);
    if (exchange.getRequestURI().getPath().equals("/slow")) {
      sleep(3000);
    }
    int status = statusByPath.getOrDefault(exchange.getRequestURI().getPath(), 200);
    byte[] body = "x".repeat(100_000).getBytes();
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
    exchange.close();
  }

  @AfterEach
  void stop() throws Exception {
    if (admin != null) {
      admin.close().await(5, TimeUnit.SECONDS);
    }
    vertx.close().await(5, TimeUnit.SECONDS);
    app.stop(0);
    tlsApp.stop(0);
  }

  private void admin(String probesJson) throws Exception {
    admin =
        new AdminServer(vertx, new GateState(null), new GateMetrics(), AppProbes.parse(probesJson));
    admin.listen("127.0.0.1", 0).await(5, TimeUnit.SECONDS);
  }

  private HttpResponse<String> call(String method, String path) throws Exception {
    return client.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.actualPort() + path))
            .method(method, HttpRequest.BodyPublishers.noBody())
            .header("User-Agent", "kube-probe/1.37")
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A probe with a timeout no busy machine reaches: only the timeout test waits for one. */
  private String httpProbe(String name, int port, String path, String extra) {
    return httpProbe(name, port, path, extra, 10);
  }

  private String httpProbe(String name, int port, String path, String extra, int timeoutSeconds) {
    return "\"/app-health/app/%s\": {\"httpGet\": {\"path\": \"%s\", \"port\": %d%s}, \"timeoutSeconds\": %d}"
        .formatted(name, path, port, extra, timeoutSeconds);
  }

  @Test
  void httpProbesReachTheApplicationWithTheirPathHeadersAndMeaning() throws Exception {
    int port = app.getAddress().getPort();
    admin(
        "{"
            + String.join(
                ",",
                httpProbe(
                    "livez",
                    port,
                    "/healthz?full=1",
                    ", \"httpHeaders\": [{\"name\": \"X-Probe\", \"value\": \"live\"}]"),
                httpProbe("readyz", port, "/sick", ""),
                httpProbe("startupz", port, "/moved", ""),
                httpProbe("gone", port, "/gone", ""),
                httpProbe("slow", port, "/slow", "", 1))
            + "}");

    HttpResponse<String> live = call("GET", "/app-health/app/livez");
    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(live.body()).contains("application answered 200");
    Map<String, String> request = seen.get(0);
    assertThat(request.get("method")).isEqualTo("GET");
    assertThat(request.get("uri")).isEqualTo("/healthz?full=1");
    assertThat(request.get("x-probe")).isEqualTo("live");
    assertThat(request.get("user-agent")).isEqualTo("kube-probe/1.37");
    assertThat(request).doesNotContainKey("authorization");

    // The kubelet's meaning: 200-399 succeed, 400 and above fail; a timeout fails.
    assertThat(call("GET", "/app-health/app/startupz").statusCode()).isEqualTo(200);
    assertThat(call("GET", "/app-health/app/readyz").statusCode()).isEqualTo(500);
    assertThat(call("GET", "/app-health/app/gone").statusCode()).isEqualTo(404);
    HttpResponse<String> slow = call("GET", "/app-health/app/slow");
    assertThat(slow.statusCode()).isEqualTo(503);
    assertThat(slow.body()).contains("failed");
    assertThat(call("HEAD", "/app-health/app/livez").statusCode()).isEqualTo(200);
  }

  @Test
  void nothingButTheConfiguredProbesAndOnlyGetOrHead() throws Exception {
    int port = app.getAddress().getPort();
    admin("{" + httpProbe("livez", port, "/healthz", "") + "}");
    int before = seen.size();
    assertThat(call("GET", "/app-health/app/readyz").statusCode()).isEqualTo(404);
    assertThat(call("GET", "/app-health/other/livez").statusCode()).isEqualTo(404);
    assertThat(call("GET", "/app-health/app/livez/../../healthz").statusCode()).isEqualTo(404);
    assertThat(call("GET", "/healthz").statusCode()).isEqualTo(404);
    assertThat(call("POST", "/app-health/app/livez").statusCode()).isEqualTo(405);
    assertThat(call("DELETE", "/app-health/app/livez").statusCode()).isEqualTo(405);
    assertThat(seen).hasSize(before);
    // The sidecar's own endpoints are unchanged.
    assertThat(call("GET", "/healthz/live").statusCode()).isEqualTo(200);
    assertThat(call("GET", "/healthz/ready").statusCode()).isEqualTo(503);
  }

  @Test
  void httpsProbesSkipCertificateChecksAsTheKubeletDoes() throws Exception {
    int port = tlsApp.getAddress().getPort();
    admin("{" + httpProbe("livez", port, "/healthz", ", \"scheme\": \"HTTPS\"") + "}");
    assertThat(call("GET", "/app-health/app/livez").statusCode()).isEqualTo(200);
    assertThat(seen).extracting(r -> r.get("uri")).containsExactly("/healthz");
  }

  @Test
  void tcpProbesConnect() throws Exception {
    int open = app.getAddress().getPort();
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    admin(
        "{\"/app-health/app/livez\": {\"tcpSocket\": {\"port\": %d}}, \"/app-health/app/readyz\": {\"tcpSocket\": {\"port\": %d}}}"
            .formatted(open, closed));
    assertThat(call("GET", "/app-health/app/livez").statusCode()).isEqualTo(200);
    HttpResponse<String> refused = call("GET", "/app-health/app/readyz");
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(refused.body()).contains("127.0.0.1:" + closed);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
