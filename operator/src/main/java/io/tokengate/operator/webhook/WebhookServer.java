package io.tokengate.operator.webhook;

import io.tokengate.operator.webhook.tls.RotatingKeyManager;
import io.tokengate.operator.webhook.tls.ServingCertificate;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.ext.web.Router;
import java.security.cert.X509Certificate;
import java.util.Set;

/**
 * The webhook's own HTTPS server, on the Vert.x instance Quarkus manages (Vert.x 4).
 *
 * <p>Why not Quarkus' HTTP server with the TLS registry: the operator generates its certificate at
 * run time and rotates it, and the registry reloads only from files, which would mean writing keys
 * to disk (the operator's root filesystem is read-only) and polling them. A dedicated server takes
 * the key and certificate from memory and swaps them in place: connections already open keep their
 * session, new handshakes get the new certificate, nothing is restarted. It also keeps the API
 * server's only way in (HTTPS, one path) apart from the plain HTTP port that serves health and
 * metrics to the kubelet and Prometheus.
 *
 * <p>The swap goes through a {@link RotatingKeyManager} that every handshake consults, not through
 * Vert.x's {@code updateSSLOptions}: rebuilding the SSL context that way made concurrent handshakes
 * fail during the update (the API server would see failed calls at every rotation), while a
 * key-manager swap is one atomic reference change.
 */
public final class WebhookServer {
  private static final Set<String> PROTOCOLS = Set.of("TLSv1.2", "TLSv1.3");

  private final Vertx vertx;
  private final Router router;
  private final String host;
  private final int port;
  private final RotatingKeyManager keys = new RotatingKeyManager();
  private volatile HttpServer server;

  public WebhookServer(Vertx vertx, Router router, String host, int port) {
    this.vertx = vertx;
    this.router = router;
    this.host = host;
    this.port = port;
  }

  /** Listens with {@code certificate}; completes with the bound port (useful with port 0). */
  public Future<Integer> start(ServingCertificate certificate) {
    try {
      keys.use(certificate);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    HttpServerOptions options =
        new HttpServerOptions()
            .setHost(host)
            .setPort(port)
            .setSsl(true)
            .setKeyCertOptions(KeyCertOptions.wrap(keys))
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
    if (server == null) {
      return Future.failedFuture("the webhook server is not listening");
    }
    try {
      keys.use(certificate);
      return Future.succeededFuture();
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
  }

  /** The leaf certificate handshakes get now. */
  public X509Certificate servedCertificate() {
    return keys.served();
  }

  public boolean listening() {
    return server != null;
  }

  public Future<Void> stop() {
    HttpServer current = server;
    server = null;
    return current == null ? Future.succeededFuture() : current.close();
  }
}
