package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.testing.RawH2;
import io.tokengate.sidecar.testing.RawHttp;
import io.tokengate.testing.TestIssuer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The request path as a boundary, driven with raw bytes (HTTP/1.0, HTTP/1.1) and raw HTTP/2 frames:
 * smuggling, upgrades, identity-header twins, routing headers, and what ordinary clients refuse to
 * send. Each test proves that nothing the gate did not decide on reaches the application.
 */
class BoundaryTest {
  static final String POLICY =
      """
      rules:
        - paths: ["/public/**"]
          action: Allow
        - paths: ["/admin/**"]
          require: {scopes: [orders.admin]}
        - paths: ["/**"]
          methods: [GET, HEAD]
          require: {scopes: [orders.read]}
        - paths: ["/**"]
          require: {scopes: [orders.write]}
      forwardClaims:
        sub: X-Auth-Subject
      """;

  static TestIssuer idp;
  static EchoUpstream app;
  static InProcessSidecar gate;
  static String readToken;

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    Path dir = Files.createTempDirectory("boundary");
    PolicyFiles.write(dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), POLICY));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    gate = InProcessSidecar.start(dir);
    readToken = idp.token().claim("scope", "orders.read").sign();
  }

  @AfterAll
  static void stop() {
    String log = gate.logText();
    gate.close();
    app.close();
    idp.close();
    assertThat(log).doesNotContain(readToken);
  }

  @BeforeEach
  void clear() {
    app.clear();
  }

  /** What the application receives next is this sentinel: nothing was smuggled before it. */
  static void assertNothingElseReachedTheApp() throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(gate.uri("/public/sentinel")).build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen).isNotNull();
    assertThat(seen.uri()).isEqualTo("/public/sentinel");
    assertThat(app.pending()).isZero();
  }

  /** Writes {@code request}, reads one response, and reports whether the server then closed. */
  record Answer(RawHttp.Response response, boolean closed) {}

  static Answer send(String request) throws IOException {
    return send(request.getBytes(StandardCharsets.ISO_8859_1));
  }

  static Answer send(byte[] request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", gate.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request);
      out.flush();
      InputStream in = s.getInputStream();
      RawHttp.Response r = RawHttp.read(in);
      boolean closed;
      try {
        closed = in.read() == -1;
      } catch (IOException e) {
        closed = e.getMessage() != null && e.getMessage().contains("reset");
      }
      return new Answer(r, closed);
    }
  }

  static String problem(RawHttp.Response r) {
    return new JsonObject(r.body()).getString("type");
  }

  // --- 1. One framing per message ---------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "HTTP/1.0|chunked",
        "HTTP/1.0|chunked, identity",
        "HTTP/1.1|chunked",
        "HTTP/1.1|chunked, identity"
      })
  void aRequestWithContentLengthAndTransferEncodingIsRefusedAndTheConnectionClosed(String variant)
      throws Exception {
    String[] v = variant.split("\\|");
    String smuggled = "DELETE /admin/users/1 HTTP/1.1\r\nHost: x\r\n\r\n";
    String chunk = Integer.toHexString(smuggled.length()) + "\r\n" + smuggled + "\r\n0\r\n\r\n";
    Answer a =
        send(
            "POST /orders "
                + v[0]
                + "\r\nHost: x\r\nAuthorization: Bearer "
                + readToken
                + "\r\nContent-Length: 4\r\nTransfer-Encoding: "
                + v[1]
                + "\r\nConnection: keep-alive\r\n\r\n"
                + chunk);
    // Netty's decoder would drop the Content-Length of the HTTP/1.1 variants; the raw head is read
    // first, so every variant is refused and the connection closed (RFC 9112 section 6.3).
    assertThat(a.response().status()).isEqualTo(400);
    assertThat(problem(a.response())).endsWith("/invalid_framing");
    assertThat(a.response().header("connection")).isEqualToIgnoringCase("close");
    assertThat(a.closed()).isTrue();
    assertNothingElseReachedTheApp();
  }

  @Test
  void theConflictIsFoundInAnySpellingAndAcrossReadsAndBodiesAreNotReadAsHeaders()
      throws Exception {
    String head =
        "POST /public/x HTTP/1.1\r\nHost: x\r\ncOnTeNt-LeNgTh : 4\r\ntransfer-ENCODING: chunked"
            + "\r\n\r\n0\r\n\r\n";
    try (Socket s = new Socket("127.0.0.1", gate.port())) {
      s.setSoTimeout(10_000);
      s.setTcpNoDelay(true);
      OutputStream out = s.getOutputStream();
      byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
      for (int i = 0; i < bytes.length; i += 7) {
        out.write(bytes, i, Math.min(7, bytes.length - i));
        out.flush();
        Thread.sleep(2);
      }
      InputStream in = s.getInputStream();
      RawHttp.Response r = RawHttp.read(in);
      assertThat(r.status()).isEqualTo(400);
      assertThat(problem(r)).endsWith("/invalid_framing");
      assertThat(in.read()).isEqualTo(-1);
    }
    // A body that spells both header names after the head's blank line is only a body.
    String body = "x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    RawHttp.Response ok =
        RawHttp.exchange(
            gate.port(),
            ("POST /public/echo?mode=echo HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    + body.length()
                    + "\r\nConnection: close\r\n\r\n"
                    + body)
                .getBytes(StandardCharsets.ISO_8859_1));
    assertThat(ok.status()).isEqualTo(200);
  }

  @Test
  void anyTransferEncodingInHttp10IsRefused() throws Exception {
    String smuggled = "GET /admin/users HTTP/1.1\r\nHost: x\r\n\r\n";
    Answer a =
        send(
            "POST /public/x HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                + "Connection: keep-alive\r\n\r\n"
                + Integer.toHexString(smuggled.length())
                + "\r\n"
                + smuggled
                + "\r\n0\r\n\r\n");
    assertThat(a.response().status()).isEqualTo(400);
    assertThat(a.response().body()).contains("HTTP/1.0");
    assertThat(a.closed()).isTrue();
    assertNothingElseReachedTheApp();
  }

  @Test
  void aTransferCodingOtherThanChunkedIsRefused() throws Exception {
    Answer a =
        send(
            "POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                + "0\r\n\r\n");
    assertThat(a.response().status()).isEqualTo(400);
    assertThat(a.closed()).isTrue();
    assertNothingElseReachedTheApp();
  }

  @Test
  void aChunkedHttp11BodyStillReachesTheApplication() throws Exception {
    RawHttp.Response r =
        RawHttp.exchange(
            gate.port(),
            ("POST /public/echo?mode=echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    + "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("hello");
  }

  // --- 4. Identity headers in every spelling ----------------------------------------------

  @Test
  void underscoreAndCaseTwinsOfIdentityHeadersNeverReachTheApp() throws Exception {
    RawHttp.Response r =
        RawHttp.get(
            gate.port(),
            "/orders/1",
            "Authorization: Bearer " + readToken,
            "X_Auth_Subject: admin",
            "x_auth_subject: admin",
            "X-AUTH-SUBJECT: admin",
            "X-Auth_Subject: admin");
    assertThat(r.status()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.headers("X-Auth-Subject")).containsExactly("test-subject");
    assertThat(seen.headers().keySet())
        .filteredOn(k -> k.replace('_', '-').equalsIgnoreCase("x-auth-subject"))
        .containsExactly("x-auth-subject");
  }

  @Test
  void underscoreTwinsAreDroppedOverHttp2Too() throws Exception {
    try (RawH2 h2 = new RawH2(gate.port())) {
      int id =
          h2.get(
              "/orders/2",
              "authorization",
              "Bearer " + readToken,
              "x_auth_subject",
              "admin",
              "x-auth-subject",
              "admin");
      RawH2.Outcome o = h2.outcome(id);
      assertThat(o.status()).isEqualTo(200);
    }
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.headers("X-Auth-Subject")).containsExactly("test-subject");
    assertThat(seen.headers("x_auth_subject")).isEmpty();
  }

  // --- Routing headers --------------------------------------------------------------------

  @Test
  void forwardingHeadersAreWhatTheSidecarSawNotWhatTheClientSent() throws Exception {
    RawHttp.Response r =
        RawHttp.get(
            gate.port(),
            "/public/fwd",
            "X-Forwarded-For: 203.0.113.9",
            "X-Forwarded-Host: evil.example",
            "X-Forwarded-Proto: https",
            "X_Forwarded_Host: evil.example",
            "Forwarded: for=203.0.113.9;host=evil.example",
            "X-Real-IP: 203.0.113.9");
    assertThat(r.status()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.headers("X-Forwarded-For")).containsExactly("127.0.0.1");
    assertThat(seen.headers("X-Real-IP")).containsExactly("127.0.0.1");
    assertThat(seen.headers("X-Forwarded-Proto")).containsExactly("http");
    assertThat(seen.headers("X-Forwarded-Host")).containsExactly("127.0.0.1:" + gate.port());
    assertThat(seen.headers("X_Forwarded_Host")).isEmpty();
    assertThat(seen.headers("Forwarded"))
        .containsExactly("for=127.0.0.1;host=127.0.0.1:" + gate.port() + ";proto=http");
  }

  @Test
  void methodOverridesAndRewriteHeadersAreRemoved() throws Exception {
    RawHttp.Response r =
        RawHttp.get(
            gate.port(),
            "/orders/3",
            "Authorization: Bearer " + readToken,
            "X-HTTP-Method-Override: DELETE",
            "X-HTTP-Method: DELETE",
            "X-Method-Override: DELETE",
            "X_HTTP_Method_Override: DELETE",
            "X-Original-URL: /admin/users",
            "X-Rewrite-URL: /admin/users");
    assertThat(r.status()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.method()).isEqualTo("GET");
    assertThat(seen.headers().keySet())
        .noneMatch(k -> k.replace('_', '-').contains("method"))
        .doesNotContain("x-original-url", "x-rewrite-url");
  }

  @Test
  void aLowerCaseMethodIsRefusedNotForwardedAsAnotherMethod() throws Exception {
    Answer a = send("get /public/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(a.response().status()).isEqualTo(400);
    assertThat(problem(a.response())).endsWith("/invalid_method");
    assertNothingElseReachedTheApp();
  }

  // --- Paths and queries ------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/public/%c0%ae%c0%ae/admin/users",
        "/public/%c0%af..%c0%afadmin",
        "/public/%252e%252e/admin/users",
        "/public/a%2Fb",
        "/public/a%5cb",
        "/public/x?a=\u0001",
        "/public/x?a=\u007f"
      })
  void pathsAndQueriesThatCouldBeReadTwoWaysAreRefused(String target) throws Exception {
    Answer a = send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(a.response().status()).isEqualTo(400);
    assertNothingElseReachedTheApp();
  }

  @Test
  void nonAsciiQueryBytesReachTheAppExactlyAsSent() throws Exception {
    byte[] query = "q=caf\u00e9&r=%C3%A9".getBytes(StandardCharsets.UTF_8);
    String target = "/public/q?" + new String(query, StandardCharsets.ISO_8859_1);
    Answer a = send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assertThat(a.response().status()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    // The application server decodes the request line one char per byte, as the sidecar does.
    assertThat(seen.uri()).isEqualTo(target);
  }

  // --- 5. Upgrades ------------------------------------------------------------------------

  @Test
  void h2cInAnUpgradeListIsNeverTunnelled() throws Exception {
    Answer a =
        send(
            "GET /public/up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: websocket, h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Connection: close\r\n\r\n");
    assertThat(a.response().status()).isNotEqualTo(101);
    EchoUpstream.Seen seen = app.next();
    if (seen != null) {
      assertThat(seen.headers("Upgrade")).isEmpty();
      assertThat(seen.headers("HTTP2-Settings")).isEmpty();
      assertThat(seen.headers("Sec-WebSocket-Key")).isEmpty();
    }
    assertNothingElseReachedTheApp();
  }

  @Test
  void anUpgradeToAnotherProtocolIsDroppedAndTheRequestServedPlainly() throws Exception {
    Answer a =
        send(
            "GET /public/plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n"
                + "Connection: close\r\n\r\n");
    assertThat(a.response().status()).isEqualTo(200);
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.headers("Upgrade")).isEmpty();
    assertThat(seen.headers("Connection")).noneMatch(c -> c.toLowerCase().contains("upgrade"));
  }

  @Test
  void aWebSocketUpgradeWithoutAValidKeyIsRefused() throws Exception {
    Answer a =
        send(
            "GET /public/ws?mode=ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                + "Upgrade: websocket\r\nSec-WebSocket-Key: short\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n");
    assertThat(a.response().status()).isEqualTo(400);
    assertThat(problem(a.response())).endsWith("/invalid_upgrade");
    assertThat(a.closed()).isTrue();
    assertNothingElseReachedTheApp();
  }

  @Test
  void aMalformedH2cUpgradeAnsweredWithConnectionCloseIsReallyClosed() throws Exception {
    Answer a =
        send(
            "GET /public/h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: !!!not-base64!!!\r\n\r\n");
    assertThat(a.response().status()).isNotEqualTo(101);
    if ("close".equalsIgnoreCase(a.response().header("connection"))) {
      assertThat(a.closed()).isTrue();
    }
  }

  @Test
  void a101WithoutTheMatchingAcceptIsNotTunnelled() throws Exception {
    try (ServerSocket fake = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread t =
          new Thread(
              () -> {
                try (Socket s = fake.accept()) {
                  InputStream in = s.getInputStream();
                  // Read the head, then claim a switch the client never asked for.
                  byte[] buf = new byte[8192];
                  int n = 0;
                  while (n < 4
                      || !new String(buf, 0, n, StandardCharsets.ISO_8859_1).contains("\r\n\r\n")) {
                    int r = in.read(buf, n, buf.length - n);
                    if (r < 0) {
                      return;
                    }
                    n += r;
                  }
                  s.getOutputStream()
                      .write(
                          ("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                                  + "Upgrade: websocket\r\nSec-WebSocket-Accept: bm90LXRoZS1yaWdodC1vbmU=\r\n\r\n"
                                  + "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                              .getBytes(StandardCharsets.ISO_8859_1));
                  s.getOutputStream().flush();
                  Thread.sleep(2000);
                } catch (Exception ignored) {
                  // the test asserts on the client side
                }
              });
      t.setDaemon(true);
      t.start();
      Path dir = Files.createTempDirectory("fake-upgrade");
      PolicyFiles.write(
          dir.resolve("policy.yaml"),
          PolicyFiles.policyYaml(
              fake.getLocalPort(), "rules:\n  - paths: [\"/**\"]\n    action: Allow\n"));
      PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
      try (InProcessSidecar other = InProcessSidecar.start(dir);
          Socket s = new Socket("127.0.0.1", other.port())) {
        s.setSoTimeout(10_000);
        s.getOutputStream()
            .write(
                ("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        + "Sec-WebSocket-Version: 13\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
        RawHttp.Response r = RawHttp.read(s.getInputStream());
        assertThat(r.status()).isEqualTo(502);
        assertThat(r.body()).doesNotContain("PRI");
        assertThat(s.getInputStream().read()).isEqualTo(-1);
      }
    }
  }

  // --- 3. HTTP/2 streams that cannot be HTTP/1.1 ------------------------------------------

  @ParameterizedTest
  @ValueSource(
      strings = {
        "value|/public/x|a\r\nInjected: 1",
        "value|/public/x|a\nb",
        "value|/public/x|a\u0000b",
        "path|/public/x?a b|",
        "path|/public/x?a\r\nInjected: 1|",
        "path|/public/x y|",
        "path|/public/\u0001|"
      })
  void anHttp2StreamThatCannotBeForwardedIsAnsweredAtOnce(String c) throws Exception {
    String[] v = c.split("\\|", -1);
    try (RawH2 h2 = new RawH2(gate.port())) {
      int id = v[0].equals("value") ? h2.get(v[1], "x-custom", v[2]) : h2.get(v[1]);
      RawH2.Outcome o = h2.outcome(id);
      assertThat(o.reset() || o.status() == 400).as("answered 400 or reset: " + o).isTrue();
      // The connection still serves valid streams.
      RawH2.Outcome ok = h2.outcome(h2.get("/public/after"));
      assertThat(ok.status()).isEqualTo(200);
    }
    EchoUpstream.Seen seen = app.next();
    assertThat(seen.uri()).isEqualTo("/public/after");
  }

  @Test
  void aFloodOfBadHttp2StreamsHoldsNoCapacityAndValidClientsAreServed() throws Exception {
    java.util.List<RawH2> conns = new java.util.ArrayList<>();
    try {
      for (int c = 0; c < 21; c++) {
        RawH2 h2 = new RawH2(gate.port());
        conns.add(h2);
        int last = 0;
        for (int i = 0; i < 100; i++) {
          last = h2.get("/public/x?a b" + i);
        }
        // Streams are answered in order on one connection: the last one answered means all were.
        RawH2.Outcome o = h2.outcome(last);
        assertThat(o.reset() || o.status() == 400).isTrue();
      }
      String metrics = gate.admin("/metrics").body();
      assertThat(metrics).contains("tokengate_upstream_in_flight 0.0");
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(gate.uri("/orders/ok"))
                      .header("Authorization", "Bearer " + readToken)
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
    } finally {
      for (RawH2 h2 : conns) {
        h2.close();
      }
    }
  }
}
