package io.tokengate.sidecar.testing;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real application for the sidecar to protect: an HTTP server on a random loopback port that
 * records every request it receives and answers according to the {@code mode} query parameter:
 *
 * <ul>
 *   <li>(none): 200 with a JSON echo {@code {method, uri, headers}}
 *   <li>{@code mode=echo}: streams the request body back as it arrives
 *   <li>{@code mode=bytes&n=N}: streams N bytes (a repeating pattern), chunked
 *   <li>{@code mode=sse&events=N&gapMs=M}: N server-sent events, M ms apart
 *   <li>{@code mode=slow&ms=M}: answers 200 after M ms
 *   <li>{@code mode=close}: closes the connection without answering
 *   <li>{@code mode=ws}: accepts a WebSocket upgrade and echoes text messages with a prefix
 *   <li>{@code mode=status&code=C}: answers status C
 *   <li>{@code mode=trailers}: a chunked body {@code with trailers} and the trailer {@code
 *       x-checksum: ok}
 * </ul>
 */
public final class EchoUpstream implements AutoCloseable {
  /** What the application saw of one request ({@code version}: HTTP_1_1, HTTP_2, ...). */
  public record Seen(String method, String uri, Map<String, List<String>> headers, String version) {
    /** First value of a header (case-insensitive), or null. */
    public String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null || v.isEmpty() ? null : v.get(0);
    }

    public List<String> headers(String name) {
      return headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of());
    }

    /** The path part of the URI as received. */
    public String path() {
      int q = uri.indexOf('?');
      return q < 0 ? uri : uri.substring(0, q);
    }
  }

  private final Vertx vertx = Vertx.vertx();
  private final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final HttpServer server;

  private EchoUpstream() {
    // HTTP/2 header blocks up to 64 KiB (Vert.x's default is 8 KiB), for long tokens over H2C.
    server =
        vertx
            .createHttpServer(
                new io.vertx.core.http.HttpServerOptions()
                    .setInitialSettings(
                        new io.vertx.core.http.Http2Settings().setMaxHeaderListSize(64 * 1024)))
            .requestHandler(this::handle);
    try {
      server
          .listen(0, "127.0.0.1")
          .toCompletionStage()
          .toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("upstream did not start", e);
    }
  }

  public static EchoUpstream start() {
    return new EchoUpstream();
  }

  public int port() {
    return server.actualPort();
  }

  /** The next request the application received, waiting up to 5 s; null if none came. */
  public Seen next() {
    try {
      return seen.poll(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** The next request already received, waiting up to {@code millis}; null if none. */
  public Seen next(long millis) {
    try {
      return seen.poll(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** Requests received and not yet taken with {@link #next()}. */
  public int pending() {
    return seen.size();
  }

  public void clear() {
    seen.clear();
  }

  /** Requests being answered right now (slow ones, streams). */
  public int inFlight() {
    return inFlight.get();
  }

  private void handle(HttpServerRequest req) {
    Map<String, List<String>> headers = new LinkedHashMap<>();
    req.headers()
        .forEach(
            e ->
                headers
                    .computeIfAbsent(e.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(e.getValue()));
    seen.add(new Seen(req.method().name(), req.uri(), headers, req.version().name()));
    String mode = req.getParam("mode", "");
    HttpServerResponse res = req.response();
    switch (mode) {
      case "echo" -> {
        res.setChunked(true).putHeader("content-type", "application/octet-stream");
        req.pipeTo(res);
      }
      case "bytes" -> {
        long n = Long.parseLong(req.getParam("n", "0"));
        res.setChunked(true).putHeader("content-type", "application/octet-stream");
        req.end().onComplete(v -> writeBytes(res, n));
      }
      case "sse" -> {
        int events = Integer.parseInt(req.getParam("events", "3"));
        long gap = Long.parseLong(req.getParam("gapMs", "100"));
        res.setChunked(true)
            .putHeader("content-type", "text/event-stream")
            .putHeader("cache-control", "no-cache");
        inFlight.incrementAndGet();
        sendEvents(res, 1, events, gap);
      }
      case "slow" -> {
        long ms = Long.parseLong(req.getParam("ms", "1000"));
        inFlight.incrementAndGet();
        vertx.setTimer(
            ms,
            id -> {
              inFlight.decrementAndGet();
              if (!res.closed()) {
                res.putHeader("content-type", "text/plain").end("slow done");
              }
            });
      }
      case "close" -> req.connection().close();
      case "ws" ->
          req.toWebSocket()
              .onSuccess(ws -> ws.textMessageHandler(m -> ws.writeTextMessage("echo: " + m)))
              .onFailure(e -> res.setStatusCode(400).end());
      case "status" -> res.setStatusCode(Integer.parseInt(req.getParam("code", "200"))).end();
      case "trailers" ->
          req.end()
              .onComplete(
                  v -> {
                    res.setChunked(true).putHeader("content-type", "text/plain");
                    res.write("with trailers");
                    res.putTrailer("x-checksum", "ok");
                    res.end();
                  });
      default -> {
        JsonObject h = new JsonObject();
        headers.forEach((k, v) -> h.put(k, new JsonArray(new ArrayList<>(v))));
        String body =
            new JsonObject()
                .put("method", req.method().name())
                .put("uri", req.uri())
                .put("version", req.version().name())
                .put("headers", h)
                .encode();
        req.end().onComplete(v -> res.putHeader("content-type", "application/json").end(body));
      }
    }
  }

  private void sendEvents(HttpServerResponse res, int i, int events, long gap) {
    if (res.closed()) {
      inFlight.decrementAndGet();
      return;
    }
    res.write("id: " + i + "\ndata: event " + i + "\n\n");
    if (i == events) {
      res.end();
      inFlight.decrementAndGet();
      return;
    }
    vertx.setTimer(gap, id -> sendEvents(res, i + 1, events, gap));
  }

  /** Writes the pattern in 64 KiB chunks, honouring back-pressure. */
  private static void writeBytes(HttpServerResponse res, long remaining) {
    while (remaining > 0 && !res.writeQueueFull()) {
      int n = (int) Math.min(65536, remaining);
      res.write(pattern(n));
      remaining -= n;
    }
    if (remaining == 0) {
      res.end();
      return;
    }
    long left = remaining;
    res.drainHandler(v -> writeBytes(res, left));
  }

  /** SHA-256 of what {@code mode=bytes&n=N} sends. */
  public static byte[] bytesDigest(long n) {
    try {
      java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
      while (n > 0) {
        int c = (int) Math.min(65536, n);
        d.update(pattern(c).getBytes());
        n -= c;
      }
      return d.digest();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Buffer pattern(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + 7);
    }
    return Buffer.buffer(b);
  }

  @Override
  public void close() {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception ignored) {
      // A test is over; a slow close changes nothing.
    }
  }
}
