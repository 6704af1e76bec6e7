package io.tokengate.sidecar.admin;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;

/**
 * Runs a forwarded application probe against {@code 127.0.0.1}: an HTTP GET (the probe's path,
 * scheme and headers; HTTPS without certificate checks, as the kubelet does) or a TCP connect. No
 * token is involved and nothing passes the gate: only the probes the operator configured exist. The
 * outcome keeps the kubelet's meaning: 200 when the application answered 200-399 (or accepted the
 * connection), its own status for 400-599, 503 when it could not be reached in time.
 */
final class AppProbeForwarder {
  /** A probe's result: the status to answer the kubelet with and a short reason. */
  record Outcome(int status, String detail) {}

  private final HttpClient http;
  private final HttpClient https;
  private final NetClient tcp;

  AppProbeForwarder(Vertx vertx) {
    HttpClientOptions plain = new HttpClientOptions().setKeepAlive(false);
    this.http = vertx.createHttpClient(plain);
    this.https =
        vertx.createHttpClient(
            new HttpClientOptions(plain).setSsl(true).setTrustAll(true).setVerifyHost(false));
    this.tcp = vertx.createNetClient(new NetClientOptions());
  }

  Future<Outcome> run(AppProbes.AppProbe probe, String userAgent) {
    return switch (probe.kind()) {
      case TCP_SOCKET -> connect(probe);
      case HTTP_GET -> get(probe, userAgent);
    };
  }

  private Future<Outcome> connect(AppProbes.AppProbe probe) {
    return tcp.connect(
            new ConnectOptions()
                .setHost("127.0.0.1")
                .setPort(probe.port())
                .setTimeout((int) probe.timeout().toMillis()))
        .compose(socket -> socket.close().map(new Outcome(200, "connected")))
        .otherwise(e -> new Outcome(503, "connect to 127.0.0.1:" + probe.port() + " failed"));
  }

  private Future<Outcome> get(AppProbes.AppProbe probe, String userAgent) {
    RequestOptions options =
        new RequestOptions()
            .setMethod(HttpMethod.GET)
            .setHost("127.0.0.1")
            .setPort(probe.port())
            .setURI(probe.pathAndQuery())
            .setTimeout(probe.timeout().toMillis());
    if (userAgent != null) {
      options.putHeader(HttpHeaders.USER_AGENT, userAgent);
    }
    options.putHeader(HttpHeaders.ACCEPT, "*/*");
    probe.headers().forEach(h -> options.putHeader(h.getKey(), h.getValue()));
    HttpClient client = probe.https() ? https : http;
    return client
        .request(options)
        .compose(request -> request.send())
        // The body is read and dropped, never held: a health page of any size costs nothing.
        .compose(response -> response.end().map(response.statusCode()))
        .map(
            status ->
                status >= 200 && status < 400
                    ? new Outcome(200, "application answered " + status)
                    : new Outcome(
                        status >= 400 && status < 600 ? status : 503,
                        "application answered " + status))
        .otherwise(
            e ->
                new Outcome(
                    503,
                    "GET 127.0.0.1:" + probe.port() + " failed: " + e.getClass().getSimpleName()));
  }

  Future<Void> close() {
    return Future.join(http.close(), https.close(), tcp.close()).mapEmpty();
  }
}
