package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.sidecar.Sidecar;
import io.tokengate.sidecar.testing.EchoUpstream;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.sidecar.testing.RawH2;
import io.tokengate.sidecar.testing.RawHttp;
import io.tokengate.sidecar.validation.ValidationTuning;
import io.tokengate.testing.TestIssuer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Connections and request heads are bounded in count, bytes and time: a flood of unfinished heads,
 * a slow head, a silent connection and connections beyond the budget are shed or closed, and a
 * valid client is still served.
 */
class HeadFloodTest {
  static final String RULES =
      "rules:\n  - paths: [\"/public/**\"]\n    action: Allow\n  - paths: [\"/**\"]\n"
          + "    require: {scopes: [orders.read]}\n";

  static TestIssuer idp;
  static EchoUpstream app;
  static Path dir;

  @BeforeAll
  static void start() throws Exception {
    idp = TestIssuer.start();
    app = EchoUpstream.start();
    dir = Files.createTempDirectory("head-flood");
    PolicyFiles.write(dir.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), RULES));
    PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
  }

  @org.junit.jupiter.api.BeforeEach
  void clear() {
    app.clear();
  }

  @AfterAll
  static void stop() {
    app.close();
    idp.close();
  }

  static InProcessSidecar gate(GateHandler.Capacity capacity) {
    return InProcessSidecar.start(
        dir,
        new Sidecar.Tuning(
            ValidationTuning.DEFAULTS, Duration.ofSeconds(1), Duration.ofSeconds(5), capacity));
  }

  /**
   * As {@link #gate(GateHandler.Capacity)}, with an upstream timeout no loaded machine reaches: for
   * tests of the in-flight bound, whose requests wait for a slow application on purpose.
   */
  static InProcessSidecar patientGate(GateHandler.Capacity capacity) throws IOException {
    Path patient = Files.createTempDirectory("head-flood-patient");
    PolicyFiles.write(
        patient.resolve("policy.yaml"), PolicyFiles.policyYaml(app.port(), RULES, "30s"));
    PolicyFiles.write(patient.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
    return InProcessSidecar.start(
        patient,
        new Sidecar.Tuning(
            ValidationTuning.DEFAULTS, Duration.ofSeconds(1), Duration.ofSeconds(5), capacity));
  }

  /** Reads until the server closes; returns the status line it sent first, or "" for none. */
  static String untilClosed(Socket s) throws IOException {
    s.setSoTimeout(15_000);
    InputStream in = s.getInputStream();
    StringBuilder first = new StringBuilder();
    int c;
    try {
      while ((c = in.read()) != -1) {
        if (first.length() < 12) {
          first.append((char) c);
        }
      }
    } catch (java.net.SocketException e) {
      // A reset after the answer also means closed.
    }
    return first.toString();
  }

  static RawHttp.Response valid(InProcessSidecar gate) throws IOException {
    return RawHttp.get(gate.port(), "/public/valid");
  }

  @Test
  void aFloodOfUnfinishedHeadsIsShedAndAValidClientIsServed() throws Exception {
    // 2,000 connections x 60 KiB of headers without the final blank line: 120 MiB if held whole.
    // The shared allowance for large heads is 256 KiB per event loop.
    try (InProcessSidecar gate =
        gate(new GateHandler.Capacity(4000, 64, 4096, 256 * 1024, 3_000, 10_000))) {
      StringBuilder head = new StringBuilder("GET /public/flood HTTP/1.1\r\nHost: x\r\n");
      for (int i = 0; head.length() < 60 * 1024; i++) {
        head.append("X-Pad-").append(i).append(": ").append("a".repeat(100)).append("\r\n");
      }
      byte[] bytes = head.toString().getBytes(StandardCharsets.US_ASCII);
      List<SocketChannel> flood = new ArrayList<>();
      try {
        for (int i = 0; i < 2000; i++) {
          SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", gate.port()));
          ch.configureBlocking(false);
          // As much as the socket takes without blocking; the rest is never sent.
          ch.write(ByteBuffer.wrap(bytes));
          flood.add(ch);
        }
        RawHttp.Response r = valid(gate);
        assertThat(r.status()).isEqualTo(200);
        assertThat(app.next().uri()).isEqualTo("/public/valid");
        assertThat(gate.admin("/metrics").body()).contains("reason=\"overloaded\"");
        // Every unfinished head is closed: answered 503 when over the allowance, 408 when too
        // slow (a close with unread bytes may reach the client as a reset before the answer).
        int answered = 0;
        for (SocketChannel ch : flood) {
          ch.configureBlocking(true);
          String status = untilClosed(ch.socket());
          assertThat(status).matches("(HTTP/1.1 (503|408).*)|");
          if (!status.isEmpty()) {
            answered++;
          }
        }
        assertThat(answered).isPositive();
        assertThat(app.pending()).isZero();
        assertThat(valid(gate).status()).isEqualTo(200);
      } finally {
        for (SocketChannel ch : flood) {
          ch.close();
        }
      }
    }
  }

  @Test
  void aSlowHeadIsAnswered408AndAnIdleConnectionClosed() throws Exception {
    try (InProcessSidecar gate =
        gate(new GateHandler.Capacity(100, 64, 4096, 256 * 1024, 1_000, 2_000))) {
      try (Socket slow = new Socket("127.0.0.1", gate.port());
          Socket silent = new Socket("127.0.0.1", gate.port());
          Socket kept = new Socket("127.0.0.1", gate.port())) {
        slow.getOutputStream()
            .write("GET /public/slow HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n".getBytes());
        kept.getOutputStream().write("GET /public/kept HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
        kept.setSoTimeout(10_000);
        assertThat(RawHttp.read(kept.getInputStream()).status()).isEqualTo(200);
        assertThat(untilClosed(slow)).startsWith("HTTP/1.1 408");
        assertThat(untilClosed(silent)).isEmpty();
        // Kept alive after its answer, then idle: closed as well.
        assertThat(untilClosed(kept)).isEmpty();
      }
      assertThat(valid(gate).status()).isEqualTo(200);
      assertThat(gate.admin("/metrics").body()).contains("reason=\"header_timeout\"");
    }
  }

  @Test
  void anIdleHttp2ConnectionIsClosedAndOneWithAnOpenStreamIsKept() throws Exception {
    try (InProcessSidecar gate =
        gate(new GateHandler.Capacity(100, 64, 4096, 256 * 1024, 1_000, 1_000))) {
      try (RawH2 idle = new RawH2(gate.port());
          RawH2 busy = new RawH2(gate.port())) {
        assertThat(idle.outcome(idle.get("/public/one")).status()).isEqualTo(200);
        long t0 = System.nanoTime();
        // A stream open longer than the idle timeout (the application answers after 1.8 s).
        int slow = busy.get("/public/slow?mode=slow&ms=1800");
        busy.flush();
        assertThat(idle.goneAway()).as("idle HTTP/2 connection closed").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThan(Duration.ofMillis(900));
        RawH2.Outcome o = busy.outcome(slow);
        assertThat(o.status()).isEqualTo(200);
        assertThat(o.body()).isEqualTo("slow done");
      }
    }
  }

  @Test
  void connectionsBeyondTheBudgetAreAnswered503WhenAccepted() throws Exception {
    int loops = Runtime.getRuntime().availableProcessors();
    try (InProcessSidecar gate =
        gate(new GateHandler.Capacity(2, 64, 4096, 256 * 1024, 10_000, 60_000))) {
      List<Socket> idle = new ArrayList<>();
      try {
        int shed = 0;
        for (int i = 0; i < 3 * loops + 2; i++) {
          Socket s = new Socket("127.0.0.1", gate.port());
          idle.add(s);
        }
        // Silent connections: only those over the budget are answered, at once.
        for (Socket s : idle) {
          s.setSoTimeout(1_000);
          try {
            RawHttp.Response r = RawHttp.read(s.getInputStream());
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.header("retry-after")).isEqualTo("1");
            shed++;
          } catch (java.net.SocketTimeoutException e) {
            // Within the budget: waiting for its request.
          }
        }
        assertThat(shed).isGreaterThanOrEqualTo(loops);
      } finally {
        for (Socket s : idle) {
          s.close();
        }
      }
      // The budget is given back as the sidecar sees the closes (asynchronously).
      int status = 0;
      for (int i = 0; i < 100 && status != 200; i++) {
        status = valid(gate).status();
        if (status != 200) {
          Thread.sleep(50);
        }
      }
      assertThat(status).isEqualTo(200);
    }
  }

  @Test
  void anOverloadedHttp2StreamIsAnswered503WithoutConnectionSpecificFields() throws Exception {
    // One request waiting for the application per event loop; both streams of one connection are
    // on the same loop, so the second finds the first waiting and is shed.
    try (InProcessSidecar gate =
        patientGate(new GateHandler.Capacity(100, 1, 4096, 256 * 1024, 10_000, 60_000))) {
      try (RawH2 h2 = new RawH2(gate.port())) {
        int slow = h2.get("/public/slow?mode=slow&ms=500");
        int shed = h2.get("/public/shed");
        RawH2.Outcome o = h2.outcome(shed);
        assertThat(o.status()).isEqualTo(503);
        assertThat(o.headers().get("retry-after")).hasToString("1");
        assertThat(o.body()).contains("overloaded");
        // RFC 9113 section 8.2.2: an HTTP/2 response carries no connection-specific field.
        assertThat(o.headers().contains("connection")).as("connection field").isFalse();
        assertThat(o.headers().contains("keep-alive")).as("keep-alive field").isFalse();
        // The connection stays: the waiting stream is answered on it, and so is a new one.
        RawH2.Outcome first = h2.outcome(slow);
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.body()).isEqualTo("slow done");
        assertThat(h2.outcome(h2.get("/public/after")).status()).isEqualTo(200);
      }
    }
  }

  @Test
  void anOverloadedHttp11RequestIsAnswered503AndItsConnectionClosed() throws Exception {
    // One request waiting for the application per event loop: one more connection than loops
    // lands a second request on some loop, which is shed.
    int loops = Runtime.getRuntime().availableProcessors();
    try (InProcessSidecar gate =
        patientGate(new GateHandler.Capacity(100, 1, 4096, 256 * 1024, 10_000, 60_000))) {
      List<java.util.concurrent.CompletableFuture<RawHttp.Response>> all = new ArrayList<>();
      for (int i = 0; i <= loops; i++) {
        all.add(
            java.util.concurrent.CompletableFuture.supplyAsync(
                () -> {
                  try {
                    // Keep-alive: any Connection: close in the answer is the sidecar's own.
                    return RawHttp.exchange(
                        gate.port(),
                        "GET /public/slow?mode=slow&ms=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                  } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                  }
                }));
      }
      int shed = 0;
      for (var f : all) {
        RawHttp.Response r = f.get(60, java.util.concurrent.TimeUnit.SECONDS);
        if (r.status() == 503) {
          assertThat(r.header("retry-after")).isEqualTo("1");
          assertThat(r.header("connection")).isEqualTo("close");
          shed++;
        } else {
          assertThat(r.status()).isEqualTo(200);
          assertThat(r.header("connection")).isNotEqualTo("close");
        }
      }
      assertThat(shed).isPositive();
    }
  }
}
