package io.tokengate.sidecar.admin;

import io.tokengate.sidecar.http.GateState;
import io.tokengate.sidecar.log.Json;
import io.tokengate.sidecar.metrics.GateMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;

/**
 * The admin port, for the kubelet and Prometheus: {@code /healthz/live} (200 while the process
 * runs), {@code /healthz/ready} (200 once a configuration is loaded and its issuer's keys are held,
 * 503 with a JSON reason otherwise, and while draining), {@code /metrics} (Prometheus text, or
 * OpenMetrics when the scraper asks for it), and the application's own probes under {@code
 * /app-health/<container>/<probe>} when the operator configured them ({@link AppProbes}), forwarded
 * to the application on loopback without a token.
 */
public final class AdminServer {
  private final Vertx vertx;
  private final GateState state;
  private final GateMetrics metrics;
  private final AppProbes appProbes;
  private final AppProbeForwarder forwarder;
  private HttpServer server;

  public AdminServer(Vertx vertx, GateState state, GateMetrics metrics, AppProbes appProbes) {
    this.vertx = vertx;
    this.state = state;
    this.metrics = metrics;
    this.appProbes = appProbes;
    this.forwarder = appProbes.size() == 0 ? null : new AppProbeForwarder(vertx);
  }

  public Future<HttpServer> listen(String host, int port) {
    server = vertx.createHttpServer().requestHandler(this::handle);
    return server.listen(port, host);
  }

  public int actualPort() {
    return server.actualPort();
  }

  public Future<Void> close() {
    Future<Void> closed = server == null ? Future.succeededFuture() : server.close();
    return forwarder == null ? closed : Future.join(closed, forwarder.close()).mapEmpty();
  }

  private void handle(HttpServerRequest req) {
    if (req.method() != HttpMethod.GET && req.method() != HttpMethod.HEAD) {
      req.response().setStatusCode(405).putHeader(HttpHeaders.ALLOW, "GET, HEAD").end();
      return;
    }
    if (req.path().startsWith(AppProbes.PREFIX)) {
      appProbe(req);
      return;
    }
    switch (req.path()) {
      case "/healthz/live" -> json(req, 200, "{\"status\":\"live\"}");
      case "/healthz/ready" -> {
        String why = state.notReadyReason();
        if (why == null) {
          json(req, 200, "{\"status\":\"ready\"}");
        } else {
          json(req, 503, "{\"status\":\"not_ready\",\"reason\":" + Json.quote(why) + "}");
        }
      }
      case "/metrics" ->
          // Scraping walks every meter: done off the event loop so it never delays a probe.
          vertx
              .executeBlocking(() -> metrics.scrape(req.getHeader(HttpHeaders.ACCEPT)), false)
              .onComplete(
                  ar -> {
                    if (ar.failed()) {
                      req.response().setStatusCode(500).end();
                    } else {
                      req.response()
                          .putHeader(HttpHeaders.CONTENT_TYPE, ar.result().contentType())
                          .end(ar.result().body());
                    }
                  });
      default -> json(req, 404, "{\"status\":\"not_found\"}");
    }
  }

  /**
   * A configured application probe, forwarded; any other {@code /app-health/} path is 404, so the
   * admin port reaches nothing of the application's but the probes the pod declares.
   */
  private void appProbe(HttpServerRequest req) {
    var probe = appProbes.find(req.path());
    if (probe.isEmpty()) {
      json(req, 404, "{\"status\":\"not_found\"}");
      return;
    }
    forwarder
        .run(probe.get(), req.getHeader(HttpHeaders.USER_AGENT))
        .onComplete(
            ar -> {
              var outcome = ar.result();
              json(
                  req,
                  outcome.status(),
                  "{\"status\":"
                      + (outcome.status() == 200 ? "\"ok\"" : "\"failed\"")
                      + ",\"detail\":"
                      + Json.quote(outcome.detail())
                      + "}");
            });
  }

  private static void json(HttpServerRequest req, int status, String body) {
    req.response()
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(body);
  }
}
