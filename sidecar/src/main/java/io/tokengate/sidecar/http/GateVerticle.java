package io.tokengate.sidecar.http;

import io.tokengate.sidecar.GateState;
import io.tokengate.sidecar.admin.GateMetrics;
import io.tokengate.sidecar.log.EventLog;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import java.util.concurrent.TimeUnit;

/**
 * One event loop's share of the listen port: an HTTP server (Vert.x spreads connections over the
 * instances bound to the same port) and its own pooled client to the application, so a proxied
 * exchange stays on one thread from end to end.
 */
public final class GateVerticle extends VerticleBase {
  /**
   * How long an idle upstream connection is kept: shorter than the keep-alive timeouts common
   * application servers use (5 s in Node.js and uvicorn), so the sidecar closes idle connections
   * before the application does and never sends a request onto a connection being closed.
   */
  static final int UPSTREAM_KEEP_ALIVE_SECONDS = 4;

  /**
   * HTTP/2 streams one client connection may have open at once (Vert.x's default, stated here
   * because it is a bound the gate relies on: each stream is one request, and what it may hold
   * before the decision is bounded by the flow-control windows below).
   */
  static final int MAX_CONCURRENT_STREAMS = 100;

  /**
   * Rapid reset (CVE-2023-44487): a client that resets more than this many streams per {@link
   * #RST_FLOOD_WINDOW_SECONDS} loses its connection (GOAWAY), so opening and cancelling streams
   * cannot keep the gate busy without limit.
   */
  static final int RST_FLOOD_MAX_RESETS = 200;

  static final int RST_FLOOD_WINDOW_SECONDS = 30;

  /** Response header bytes accepted from the application, as for HTTP/1.1. */
  static final int UPSTREAM_MAX_HEADER_BYTES = 256 * 1024;

  private final String host;
  private final int port;
  private final int maxHeaderBytes;
  private final GateHandler.Capacity capacity;
  private final GateState state;
  private final GateMetrics metrics;
  private final EventLog log;
  private HttpServer server;
  private HttpClient client;
  private HttpClient h2cClient;
  private GateHandler handler;

  /**
   * @param maxHeaderBytes the decoder's limit; set above the policy's limit so the sidecar answers
   *     431 itself instead of the connection being reset
   */
  public GateVerticle(
      String host,
      int port,
      int maxHeaderBytes,
      GateHandler.Capacity capacity,
      GateState state,
      GateMetrics metrics,
      EventLog log) {
    this.host = host;
    this.port = port;
    this.maxHeaderBytes = maxHeaderBytes;
    this.capacity = capacity;
    this.state = state;
    this.metrics = metrics;
    this.log = log;
  }

  @Override
  public Future<?> start() {
    client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setKeepAlive(true)
                .setKeepAliveTimeout(UPSTREAM_KEEP_ALIVE_SECONDS)
                .setTcpNoDelay(true)
                .setTcpQuickAck(true)
                .setMaxHeaderSize(UPSTREAM_MAX_HEADER_BYTES)
                .setMaxInitialLineLength(16 * 1024),
            new PoolOptions().setHttp1MaxSize(1024).setMaxWaitQueueSize(-1));
    handler = new GateHandler(vertx, client, this::h2cClient, state, metrics, log, capacity);
    server =
        vertx
            .createHttpServer(
                new HttpServerOptions()
                    .setMaxHeaderSize(maxHeaderBytes)
                    .setMaxInitialLineLength(maxHeaderBytes)
                    .setTcpNoDelay(true)
                    // Loopback peers on both sides: acknowledge at once rather than delaying ACKs
                    // (epoll only; ignored on NIO).
                    .setTcpQuickAck(true)
                    .setHandle100ContinueAutomatically(false)
                    // HTTP/2 (prior knowledge, or a well-formed h2c upgrade that
                    // H2cUpgradeFilter lets through) with the same bounds as HTTP/1.1: header
                    // blocks no larger than an HTTP/1.1 head may be (the policy's 431 is answered
                    // by the gate, not by the codec), a bounded number of streams, flow-control
                    // windows at the protocol's 64 KiB per stream and per connection (what a
                    // stream can buffer before its decision), and rapid-reset protection.
                    .setHttp2ClearTextEnabled(true)
                    .setInitialSettings(
                        new Http2Settings()
                            .setMaxConcurrentStreams(MAX_CONCURRENT_STREAMS)
                            .setMaxHeaderListSize(maxHeaderBytes)
                            .setInitialWindowSize(Http2Settings.DEFAULT_INITIAL_WINDOW_SIZE)
                            .setMaxFrameSize(Http2Settings.DEFAULT_MAX_FRAME_SIZE))
                    .setHttp2ConnectionWindowSize(Http2Settings.DEFAULT_INITIAL_WINDOW_SIZE)
                    .setHttp2RstFloodMaxRstFramePerWindow(RST_FLOOD_MAX_RESETS)
                    .setHttp2RstFloodWindowDuration(RST_FLOOD_WINDOW_SECONDS)
                    .setHttp2RstFloodWindowDurationTimeUnit(TimeUnit.SECONDS)
                    // WebSockets are tunnelled as bytes to the application, never terminated
                    // here: the compression-negotiation handler would only inspect every
                    // response on its way out.
                    .setPerMessageWebSocketCompressionSupported(false)
                    .setPerFrameWebSocketCompressionSupported(false))
            .requestHandler(handler);
    return server.listen(port, host);
  }

  /**
   * The pooled HTTP/2 client for {@code upstream.protocol: H2C}, created on first use (most
   * applications never need it): prior knowledge, no upgrade round trip, streams multiplexed over a
   * few connections to the application.
   */
  private HttpClient h2cClient() {
    if (h2cClient == null) {
      h2cClient =
          vertx.createHttpClient(
              new HttpClientOptions()
                  .setProtocolVersion(HttpVersion.HTTP_2)
                  .setHttp2ClearTextUpgrade(false)
                  .setHttp2KeepAliveTimeout(UPSTREAM_KEEP_ALIVE_SECONDS)
                  .setTcpNoDelay(true)
                  .setTcpQuickAck(true)
                  .setInitialSettings(
                      new Http2Settings().setMaxHeaderListSize(UPSTREAM_MAX_HEADER_BYTES)),
              new PoolOptions().setHttp2MaxSize(4).setMaxWaitQueueSize(-1));
    }
    return h2cClient;
  }

  /** Stops accepting, lets in-flight exchanges finish for up to {@code seconds}, then closes. */
  public Future<Void> drain(long seconds) {
    return server.shutdown(seconds, TimeUnit.SECONDS);
  }

  /** Requests this event loop forwarded that await the application's response head. */
  public int awaitingUpstream() {
    return handler == null ? 0 : handler.awaitingUpstream();
  }

  /** The bound port (useful with port 0 in tests). */
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> stop() {
    handler.close();
    if (h2cClient != null) {
      h2cClient.close();
    }
    return client.close();
  }
}
