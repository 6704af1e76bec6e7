package io.tokengate.operator.webhook;

import io.tokengate.operator.webhook.tls.ServingCertificate;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SSLOptions;
import io.vertx.ext.web.Router;
import java.util.Set;

/**
 * The webhook's own HTTPS server, on the Vert.x instance Quarkus manages (Vert.x 4).
 *
 * <p>Why not Quarkus' HTTP server with the TLS registry: the operator generates its certificate at
 * run time and rotates it, and the registry reloads only from files, which would mean writing keys
 * to disk (the operator's root filesystem is read-only) and polling them. A dedicated server takes
 * the PEM key and certificate from memory and swaps them in place with {@code updateSSLOptions}:
 * connections already open keep their session, new handshakes get the new certificate, and nothing
 * is restarted. It also keeps the API server's only way in (HTTPS, one path) apart from the plain
 * HTTP port that serves health and metrics to the kubelet and Prometheus.
 */
public final class WebhookServer {
  private static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

  private final Vertx vertx;
  private final Router router;
  private final String host;
  private final int port;
  private volatile HttpServer server;

  public WebhookServer(Vertx vertx, Router router, String host, int port) {
    this.vertx = vertx;
    this.router = router;
    this.host = host;
    this.port = port;
  }

  /** Listens with {@code certificate}; completes with the bound port (useful with port 0). */
  public Future<Integer> start(ServingCertificate certificate) {
    HttpServerOptions options =
        new HttpServerOptions()
            .setHost(host)
            .setPort(port)
            .setSsl(true)
            .setKeyCertOptions(keyCert(certificate))
            .setEnabledSecureTransportProtocols(PROTOCOLS)
            .setIdleTimeout(120)
            .setCompressionSupported(false);
    return vertx
        .createHttpServer(options)
        .requestHandler(router)
        .listen()
        .map(
            s -> {
              server = s;
              return s.actualPort();
            });
  }

  /** Serves {@code certificate} from the next TLS handshake on. */
  public Future<Void> updateCertificate(ServingCertificate certificate) {
    HttpServer current = server;
    if (current == null) {
      return Future.failedFuture("the webhook server is not listening");
    }
    SSLOptions ssl =
        new SSLOptions()
            .setKeyCertOptions(keyCert(certificate))
            .setEnabledSecureTransportProtocols(PROTOCOLS);
    return current
        .updateSSLOptions(ssl, true)
        .compose(
            updated ->
                updated
                    ? Future.<Void>succeededFuture()
                    : Future.failedFuture("the webhook server refused the new certificate"));
  }

  public boolean listening() {
    return server != null;
  }

  public Future<Void> stop() {
    HttpServer current = server;
    server = null;
    return current == null ? Future.succeededFuture() : current.close();
  }

  private static PemKeyCertOptions keyCert(ServingCertificate certificate) {
    return new PemKeyCertOptions()
        .setCertValue(Buffer.buffer(certificate.certificateChainPem()))
        .setKeyValue(Buffer.buffer(certificate.privateKeyPem()));
  }
}
