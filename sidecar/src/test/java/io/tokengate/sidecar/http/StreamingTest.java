package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.testing.RawHttp;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What a reverse proxy must carry through unharmed: large bodies both ways, server-sent events as
 * they happen, WebSocket upgrades; and what it answers when the application cannot: 502 and 504.
 */
class StreamingTest {
  static final long TWENTY_MIB = 20L * 1024 * 1024;

  static TestIssuer idp;
  static EchoUpstream app;
  static InProcessSidecar gate;
  static InProcessSidecar nobodyHome;
  static String token;
  static final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    String rules = "rules:\n  - paths: [\"/**\"]\n    require: {scopes: [orders.read]}\n";
    Path dir = Files.createTempDirectory("streaming");
    PolicyFiles.write(dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), rules));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    gate = InProcessSidecar.start(dir);

    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    Path down = Files.createTempDirectory("no-upstream");
    PolicyFiles.write(down.resolve("policy.yaml"), PolicyFiles.policyYaml(closedPort, rules));
    PolicyFiles.write(down.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    nobodyHome = InProcessSidecar.start(down);
    token = idp.token().claim("scope", "orders.read").sign();
  }

  @AfterAll
  static void stop() {
    gate.close();
    nobodyHome.close();
    app.close();
    idp.close();
  }

  @BeforeEach
  void clear() {
    app.clear();
  }

  static HttpRequest.Builder request(InProcessSidecar s, String path) {
    // A stalled exchange fails the test instead of hanging the build.
    return HttpRequest.newBuilder(s.uri(path))
        .timeout(java.time.Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + token);
  }

  @Test
  void aTwentyMebibyteUploadIsStreamedToTheApplicationAndBack() throws Exception {
    MessageDigest sent = MessageDigest.getInstance("SHA-256");
    HttpResponse<InputStream> r =
        http.send(
            request(gate, "/upload?mode=echo")
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new PatternStream(TWENTY_MIB, sent)))
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    MessageDigest received = MessageDigest.getInstance("SHA-256");
    long n = 0;
    try (InputStream in = r.body()) {
      byte[] buf = new byte[65536];
      int k;
      while ((k = in.read(buf)) > 0) {
        received.update(buf, 0, k);
        n += k;
      }
    }
    assertThat(n).isEqualTo(TWENTY_MIB);
    assertThat(received.digest()).isEqualTo(sent.digest());
    assertThat(app.next().header("Transfer-Encoding")).isEqualTo("chunked");
  }

  @Test
  void expectContinueIsAnsweredOnlyAfterTheDecision() throws Exception {
    HttpResponse<String> allowed =
        http.send(
            request(gate, "/upload?mode=echo")
                .expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofString("payload"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(allowed.statusCode()).isEqualTo(200);
    assertThat(allowed.body()).isEqualTo("payload");
    assertThat(app.next().header("Expect")).isNull();

    RawHttp.Response refused =
        RawHttp.exchange(
            gate.port(),
            ("POST /upload?mode=echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n"
                    + "Expect: 100-continue\r\n\r\n")
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.header("connection")).isEqualTo("close");
    assertThat(app.pending()).isZero();
  }

  @Test
  void aTwentyMebibyteDownloadArrivesIntact() throws Exception {
    HttpResponse<InputStream> r =
        http.send(
            request(gate, "/download?mode=bytes&n=" + TWENTY_MIB).build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    long n = 0;
    try (InputStream in = r.body()) {
      byte[] buf = new byte[65536];
      int k;
      while ((k = in.read(buf)) > 0) {
        d.update(buf, 0, k);
        n += k;
      }
    }
    assertThat(n).isEqualTo(TWENTY_MIB);
    assertThat(d.digest()).isEqualTo(EchoUpstream.bytesDigest(TWENTY_MIB));
  }

  @Test
  void serverSentEventsArriveAsTheyAreSentNotWhenTheStreamEnds() throws Exception {
    HttpResponse<Stream<String>> r =
        http.send(
            request(gate, "/events?mode=sse&events=4&gapMs=500").build(),
            HttpResponse.BodyHandlers.ofLines());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("text/event-stream");
    int events = 0;
    boolean streamStillOpenAtFirstEvent = false;
    Iterator<String> lines = r.body().iterator();
    while (lines.hasNext()) {
      String line = lines.next();
      if (line.startsWith("data: ")) {
        events++;
        if (events == 1) {
          // The application is still writing (1.5 s to go) when the first event is here:
          // nothing between it and the client buffered the stream.
          streamStillOpenAtFirstEvent = app.inFlight() == 1;
        }
      }
    }
    assertThat(events).isEqualTo(4);
    assertThat(streamStillOpenAtFirstEvent).isTrue();
  }

  @Test
  void aWebSocketUpgradeIsTunnelledToTheApplication() throws Exception {
    CompletableFuture<String> reply = new CompletableFuture<>();
    WebSocket ws =
        http.newWebSocketBuilder()
            .header("Authorization", "Bearer " + token)
            .buildAsync(
                URI.create("ws://127.0.0.1:" + gate.port() + "/socket?mode=ws"),
                new WebSocket.Listener() {
                  @Override
                  public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                    reply.complete(data.toString());
                    return null;
                  }
                })
            .get(10, TimeUnit.SECONDS);
    ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
    assertThat(reply.get(10, TimeUnit.SECONDS)).isEqualTo("echo: hello");
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    assertThat(app.next().header("Upgrade")).isEqualToIgnoringCase("websocket");

    assertThatThrownBy(
            () ->
                http.newWebSocketBuilder()
                    .buildAsync(
                        URI.create("ws://127.0.0.1:" + gate.port() + "/socket?mode=ws"),
                        new WebSocket.Listener() {})
                    .join())
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(WebSocketHandshakeException.class)
        .satisfies(
            e ->
                assertThat(((WebSocketHandshakeException) e.getCause()).getResponse().statusCode())
                    .isEqualTo(401));
  }

  @Test
  void anApplicationThatIsNotListeningIsAnswered502() throws Exception {
    HttpResponse<String> r =
        http.send(request(nobodyHome, "/orders").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/problem+json");
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/upstream_unavailable");
    JsonObject d = nobodyHome.lastDecision("/orders");
    assertThat(d.getString("decision")).isEqualTo("allow");
    assertThat(d.getString("upstream_error")).isEqualTo("unavailable");
  }

  @Test
  void anApplicationThatClosesTheConnectionIsAnswered502() throws Exception {
    HttpResponse<String> r =
        http.send(
            request(gate, "/orders?mode=close").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(502);
    assertThat(r.body()).contains("upstream_unavailable");
  }

  @Test
  void anApplicationSlowerThanTheUpstreamTimeoutIsAnswered504() throws Exception {
    long t0 = System.nanoTime();
    HttpResponse<String> r =
        http.send(
            request(gate, "/orders?mode=slow&ms=4000").build(),
            HttpResponse.BodyHandlers.ofString());
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(new JsonObject(r.body()).getString("type")).endsWith("/upstream_timeout");
    assertThat(ms).isBetween(1900L, 3900L);
    String metrics = gate.admin("/metrics").body();
    assertThat(metrics)
        .contains(
            "tokengate_upstream_failures_total{failure=\"timeout\",policy=\"shop/orders-api\"} 1.0");
  }

  @Test
  void slowRequestsInFlightDoNotHoldOnToFinishedOnes() throws Exception {
    List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> slow =
        new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      slow.add(
          http.sendAsync(
              request(gate, "/orders?mode=slow&ms=1900").build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    long deadline = System.nanoTime() + java.time.Duration.ofSeconds(5).toNanos();
    while (app.inFlight() < 3 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(upstreamInFlight()).isEqualTo(3.0);
    for (int i = 0; i < 20; i++) {
      assertThat(
              http.send(request(gate, "/orders").build(), HttpResponse.BodyHandlers.discarding())
                  .statusCode())
          .isEqualTo(200);
    }
    // At most the slow ones (fewer if they finished meanwhile on a busy machine): never the twenty
    // that are done.
    assertThat(upstreamInFlight()).isBetween(0.0, 3.0);
    for (var f : slow) {
      assertThat(f.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
    assertThat(upstreamInFlight()).isEqualTo(0.0);
  }

  private double upstreamInFlight() throws Exception {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?m)^tokengate_upstream_in_flight ([0-9.E]+)$")
            .matcher(gate.admin("/metrics").body());
    assertThat(m.find()).as("tokengate_upstream_in_flight in /metrics").isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  void overloadIsShedWith503InsteadOfQueueingWithoutBound() throws Exception {
    Path dir = Files.createTempDirectory("capacity");
    PolicyFiles.write(
        dir.resolve("policy.yaml"),
        PolicyFiles.policyYaml(
            app.port(), "rules:\n  - paths: [\"/**\"]\n    require: {scopes: [orders.read]}\n"));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    try (InProcessSidecar small =
        InProcessSidecar.start(
            dir,
            new io.tokengate.sidecar.Sidecar.Tuning(
                io.tokengate.sidecar.validation.ValidationTuning.DEFAULTS,
                java.time.Duration.ofSeconds(1),
                java.time.Duration.ofSeconds(5),
                new GateHandler.Capacity(1, 1)))) {
      // One connection and one waiting request per event loop: one more request than loops
      // lands a second connection on some loop.
      int loops = Runtime.getRuntime().availableProcessors();
      List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> all =
          new java.util.ArrayList<>();
      for (int i = 0; i < loops + 1; i++) {
        // A client of its own per request: its own connection.
        all.add(
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .build()
                .sendAsync(
                    request(small, "/orders?mode=slow&ms=1000").build(),
                    HttpResponse.BodyHandlers.ofString()));
      }
      int ok = 0;
      int shed = 0;
      for (var f : all) {
        HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
        if (r.statusCode() == 200) {
          ok++;
        } else {
          assertThat(r.statusCode()).isEqualTo(503);
          assertThat(r.headers().firstValue("retry-after")).hasValue("1");
          assertThat(r.body()).contains("overloaded");
          shed++;
        }
      }
      assertThat(ok).isPositive();
      assertThat(shed).isPositive();
      assertThat(small.admin("/metrics").body())
          .contains("reason=\"overloaded\"")
          .contains("tokengate_upstream_in_flight 0.0");
    }
  }

  /** A deterministic byte stream of {@code size} bytes that digests what it hands out. */
  static final class PatternStream extends InputStream {
    private long remaining;
    private final MessageDigest digest;
    private long pos;

    PatternStream(long size, MessageDigest digest) {
      this.remaining = size;
      this.digest = digest;
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (remaining == 0) {
        return -1;
      }
      int n = (int) Math.min(len, remaining);
      for (int i = 0; i < n; i++) {
        b[off + i] = (byte) ((pos++ * 131) ^ (pos >>> 11));
      }
      digest.update(b, off, n);
      remaining -= n;
      return n;
    }
  }
}
