package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.testing.RawH2;
import io.tokengate.sidecar.testing.RawHttp;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code upstream.protocol: H2C}: the application is a real HTTP/2 cleartext server (Vert.x, prior
 * knowledge) and clients reach the sidecar in HTTP/1.1, in HTTP/2 after an {@code h2c} upgrade (the
 * JDK's client) and in HTTP/2 with prior knowledge (frames written by hand); plus the bounds HTTP/2
 * clients meet at the sidecar's port.
 */
class H2cUpstreamTest {
  static final String POLICY =
      """
      limits: {maxHeaderBytes: 16384}
      rules:
        - paths: ["/public/**"]
          action: Allow
        - paths: ["/**"]
          require: {scopes: [orders.read]}
      forwardClaims:
        sub: X-Auth-Subject
      """;

  static TestIssuer idp;
  static EchoUpstream app;
  static InProcessSidecar gate;
  static String readToken;
  static final HttpClient http1 =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  static final HttpClient h2c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    Path dir = Files.createTempDirectory("h2c-upstream-test");
    String policy =
        PolicyFiles.policyYaml(app.port(), POLICY)
            .replace("timeout: 2s}", "timeout: 2s, protocol: H2C}");
    assertThat(policy).contains("protocol: H2C");
    PolicyFiles.write(dir.resolve("policy.yaml"), policy);
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    gate = InProcessSidecar.start(dir);
    readToken = idp.token().claim("scope", "orders.read").sign();
  }

  @AfterAll
  static void stop() {
    gate.close();
    app.close();
    idp.close();
  }

  @BeforeEach
  void clear() {
    app.clear();
  }

  @Test
  void anHttp11ClientReachesTheApplicationInHttp2() throws Exception {
    HttpResponse<String> r =
        http1.send(
            HttpRequest.newBuilder(gate.uri("/orders/1?x=1"))
                .header("Authorization", "Bearer " + readToken)
                .header("X-Auth-Subject", "spoofed")
                .header("X-Custom", "kept")
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(r.body()).getString("version")).isEqualTo("HTTP_2");
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.version()).isEqualTo("HTTP_2");
    assertThat(seen.uri()).isEqualTo("/orders/1?x=1");
    assertThat(seen.headers("X-Auth-Subject")).containsExactly("test-subject");
    assertThat(seen.header("X-Custom")).isEqualTo("kept");
    assertThat(seen.header("X-Forwarded-For")).isEqualTo("127.0.0.1");
    // HTTP/2 carries no connection-specific fields.
    assertThat(seen.headers()).doesNotContainKeys("connection", "keep-alive", "upgrade");
  }

  @Test
  void anHttp2ClientUpgradingFromCleartextIsGatedAndForwarded() throws Exception {
    for (int i = 0; i < 2; i++) {
      HttpResponse<String> r =
          h2c.send(
              HttpRequest.newBuilder(gate.uri("/orders/h2"))
                  .header("Authorization", "Bearer " + readToken)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(app.next().version()).isEqualTo("HTTP_2");
    }
    HttpResponse<String> denied =
        h2c.send(
            HttpRequest.newBuilder(gate.uri("/orders/h2-denied")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(denied.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(denied.statusCode()).isEqualTo(401);
    assertThat(denied.headers().firstValue("www-authenticate"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer realm=\"shop/orders-api\""));
    assertThat(denied.headers().firstValue("content-type")).hasValue("application/problem+json");
    assertNotReached("/orders/h2-denied");
  }

  @Test
  void largeBodiesStreamBothWaysOverHttp2() throws Exception {
    byte[] body = new byte[3 * 1024 * 1024 + 17];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 7);
    }
    for (HttpClient client : List.of(http1, h2c)) {
      HttpResponse<byte[]> r =
          client.send(
              HttpRequest.newBuilder(gate.uri("/orders/upload?mode=echo"))
                  .header("Authorization", "Bearer " + readToken)
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(body);
      assertThat(app.next().version()).isEqualTo("HTTP_2");
    }
  }

  @Test
  void aRefusalOfAnHttp2RequestAwaiting100ContinueCarriesNoConnectionField() throws Exception {
    try (RawH2 h2 = new RawH2(gate.port())) {
      // The body is announced and never sent: the client waits for 100 Continue.
      int id =
          h2.request(
              List.of(
                  Map.entry(":method", "POST"),
                  Map.entry(":scheme", "http"),
                  Map.entry(":authority", "127.0.0.1"),
                  Map.entry(":path", "/orders/expecting"),
                  Map.entry("expect", "100-continue"),
                  Map.entry("content-length", "10")),
              false);
      RawH2.Outcome o = h2.outcome(id);
      assertThat(o.status()).isEqualTo(401);
      assertThat(o.headers().get("www-authenticate").toString())
          .startsWith("Bearer realm=\"shop/orders-api\"");
      // RFC 9113 section 8.2.2: no connection-specific field in an HTTP/2 response.
      assertThat(o.headers().contains("connection")).as("connection field").isFalse();
      // The connection goes on serving other streams.
      assertThat(h2.outcome(h2.get("/public/after-expect")).status()).isEqualTo(200);
    }
    assertNotReached("/orders/expecting");
  }

  @Test
  void teTrailersAloneIsPassedOnAndTrailersComeBack() throws Exception {
    try (RawH2 h2 = new RawH2(gate.port())) {
      RawH2.Outcome o =
          h2.outcome(h2.get("/public/t?mode=trailers", "te", "trailers", "x-one", "1"));
      assertThat(o.status()).isEqualTo(200);
      assertThat(o.body()).isEqualTo("with trailers");
      assertThat(o.trailers()).isNotNull();
      assertThat(o.trailers().get("x-checksum").toString()).isEqualTo("ok");
      EchoUpstream.Seen seen = app.next();
      assertThat(seen.headers("te")).containsExactly("trailers");
      assertThat(seen.header("x-one")).isEqualTo("1");
    }
    // Any other transfer coding in TE is this hop's business only.
    RawHttp.Response r = RawHttp.get(gate.port(), "/public/t?mode=trailers", "TE: gzip");
    assertThat(r.status()).isEqualTo(200);
    assertThat(app.next().headers("te")).isEmpty();
    // An HTTP/1.1 client gets the trailers in the last chunk.
    assertThat(r.body()).isEqualTo("with trailers");
    assertThat(r.header("x-checksum")).isEqualTo("ok");
  }

  @Test
  void aWebSocketUpgradeIsNotForwardedToAnHttp2Application() throws Exception {
    RawHttp.Response r =
        RawHttp.get(
            gate.port(),
            "/orders/ws?mode=ws",
            "Authorization: Bearer " + readToken,
            "Connection: Upgrade",
            "Upgrade: websocket",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13");
    assertThat(r.status()).isEqualTo(501);
    assertThat(r.body()).contains("websocket_unsupported");
    assertNotReached("/orders/ws?mode=ws");
    // Without a token the decision comes first: 401, not 501.
    RawHttp.Response anonymous =
        RawHttp.get(
            gate.port(),
            "/orders/ws?mode=ws",
            "Connection: Upgrade",
            "Upgrade: websocket",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13");
    assertThat(anonymous.status()).isEqualTo(401);
  }

  @Test
  void http2HeaderBlocksAreBoundLikeHttp11Heads() throws Exception {
    try (RawH2 h2 = new RawH2(gate.port())) {
      // Within the listener's limit but above the policy's 16 KiB: the gate answers 431 itself.
      RawH2.Outcome big = h2.outcome(h2.get("/public/big", "x-big", "a".repeat(20_000)));
      assertThat(big.status()).isEqualTo(431);
      assertThat(big.body()).contains("headers_too_large");
      // A token of 10 KB (above the HTTP/2 default list size of 8 KiB) is read, not refused.
      String longToken =
          idp.token().claim("scope", "orders.read").claim("pad", "p".repeat(7_000)).sign();
      assertThat(longToken.length()).isGreaterThan(9_000);
      RawH2.Outcome ok = h2.outcome(h2.get("/orders/long", "authorization", "Bearer " + longToken));
      assertThat(ok.status()).isEqualTo(200);
    }
    assertThat(app.next().uri()).isEqualTo("/orders/long");
  }

  @Test
  void aClientResettingStreamsRapidlyLosesItsConnection() throws Exception {
    try (RawH2 h2 = new RawH2(gate.port())) {
      for (int i = 0; i < 250; i++) {
        int id = h2.get("/public/rr?mode=slow&ms=20");
        h2.reset(id);
      }
      h2.flush();
      assertThat(h2.goneAway()).as("GOAWAY or close after 250 resets").isTrue();
    }
    // Others are still served.
    HttpResponse<String> r =
        http1.send(
            HttpRequest.newBuilder(gate.uri("/public/after")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
  }

  /** No request for {@code uri} reaches the application within 300 ms. */
  static void assertNotReached(String uri) throws InterruptedException {
    Thread.sleep(300);
    for (EchoUpstream.Seen s = app.next(0); s != null; s = app.next(0)) {
      assertThat(s.uri()).as("reached the application").isNotEqualTo(uri);
    }
  }

  @Test
  void theServerAnnouncesItsStreamAndHeaderLimits() throws Exception {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", gate.port())) {
      s.setSoTimeout(5_000);
      s.getOutputStream()
          .write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
      s.getOutputStream().flush();
      java.io.DataInputStream in = new java.io.DataInputStream(s.getInputStream());
      int len =
          (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
      int type = in.readUnsignedByte();
      in.readUnsignedByte();
      in.readInt();
      assertThat(type).as("the server's first frame is SETTINGS").isEqualTo(4);
      Map<Integer, Long> settings = new java.util.HashMap<>();
      for (int i = 0; i < len / 6; i++) {
        settings.put(in.readUnsignedShort(), in.readInt() & 0xffffffffL);
      }
      assertThat(settings.get(0x3)).as("SETTINGS_MAX_CONCURRENT_STREAMS").isEqualTo(100L);
      assertThat(settings.get(0x6))
          .as("SETTINGS_MAX_HEADER_LIST_SIZE: the listener's head limit")
          .isGreaterThanOrEqualTo(64 * 1024L);
    }
  }
}
