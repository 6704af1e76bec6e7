package io.tokengate.sidecar.http;

import io.tokengate.sidecar.GateState;
import io.tokengate.sidecar.admin.GateMetrics;
import io.tokengate.sidecar.log.EventLog;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
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

  private final String host;
  private final int port;
  private final int maxHeaderBytes;
  private final GateHandler.Capacity capacity;
  private final GateState state;
  private final GateMetrics metrics;
  private final EventLog log;
  private HttpServer server;
  private HttpClient client;
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
                .setMaxHeaderSize(256 * 1024)
                .setMaxInitialLineLength(16 * 1024),
            new PoolOptions().setHttp1MaxSize(1024).setMaxWaitQueueSize(-1));
    handler = new GateHandler(vertx, client, state, metrics, log, capacity);
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
                    // WebSockets are tunnelled as bytes to the application, never terminated
                    // here: the compression-negotiation handler would only inspect every
                    // response on its way out.
                    .setPerMessageWebSocketCompressionSupported(false)
                    .setPerFrameWebSocketCompressionSupported(false))
            .requestHandler(handler);
    return server.listen(port, host);
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
    return client.close();
  }
}
