package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.tokengate.operator.injection.SidecarInjector;
import io.tokengate.operator.injection.SidecarTemplate;
import io.tokengate.operator.webhook.tls.CaBundlePublisher;
import io.tokengate.operator.webhook.tls.ServingCertificate;
import io.tokengate.operator.webhook.tls.WebhookCertificateIssuer;
import io.tokengate.operator.webhook.tls.WebhookTls;
import io.tokengate.operator.webhook.tls.WebhookTlsSecret;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The admission webhook of one operator replica, in plain Java (the Quarkus application and the
 * tests start the same thing): the ApiPolicy index, the API server's native-sidecar support, the
 * serving certificate, and the HTTPS server. Starting never fails: what cannot be had yet (the API
 * server, the Secret) is retried in the background, and {@link #ready()} says when pods can be
 * admitted.
 */
public final class SidecarInjectionWebhook {
  private static final Logger LOG = Logger.getLogger(SidecarInjectionWebhook.class);
  private static final Duration RETRY_MIN = Duration.ofSeconds(1);
  private static final Duration RETRY_MAX = Duration.ofSeconds(30);

  private final Vertx vertx;
  private final KubernetesClient client;
  private final WebhookOptions options;
  private final InformerPolicyIndex policies;
  private final NativeSidecarSupport nativeSidecars = new NativeSidecarSupport();
  private final WebhookTls tls;
  private final WebhookServer server;
  private final AdmissionEvents admissionEvents;
  private volatile ServingCertificate serving;
  private volatile boolean caBundlePublished;
  private volatile boolean stopped;
  private volatile int port = -1;

  public SidecarInjectionWebhook(
      Vertx vertx, KubernetesClient client, WebhookOptions options, AdmissionMetrics metrics) {
    this(vertx, client, options, metrics, AdmissionEvents.DEFAULT_INTERVAL);
  }

  /**
   * @param admissionEventInterval how often the count of an aggregated admission Event on a policy
   *     is written (see {@link AdmissionEvents})
   */
  public SidecarInjectionWebhook(
      Vertx vertx,
      KubernetesClient client,
      WebhookOptions options,
      AdmissionMetrics metrics,
      Duration admissionEventInterval) {
    this.vertx = vertx;
    this.client = client;
    this.options = options;
    this.policies = new InformerPolicyIndex(client, options.watchedNamespaces());
    var secret =
        new WebhookTlsSecret(
            client,
            options.namespace(),
            options.tlsSecretName(),
            new WebhookCertificateIssuer(
                Clock.systemUTC(),
                options.certValidity(),
                options.certRenewBefore(),
                WebhookCertificateIssuer.CA_VALIDITY));
    this.tls =
        options.manageTls()
            ? WebhookTls.managed(
                secret,
                new CaBundlePublisher(client, options.configurationName()),
                options.servingNames())
            : WebhookTls.provided(secret);
    var injector = new SidecarInjector(SidecarTemplate.bundled(), options.sidecar());
    this.admissionEvents = new AdmissionEvents(client, Clock.systemUTC(), admissionEventInterval);
    var endpoint =
        new AdmissionEndpoint(injector, policies, nativeSidecars, metrics, admissionEvents::report);
    this.server = new WebhookServer(vertx, endpoint.router(vertx), options.host(), options.port());
  }

  /** Starts in the background; the returned future completes once the server listens. */
  public Future<Integer> start() {
    policies.start();
    retry("read the API server version", () -> nativeSidecars.detect(client), RETRY_MIN);
    return firstCertificate(RETRY_MIN)
        .compose(server::start)
        .onSuccess(
            bound -> {
              port = bound;
              LOG.infof(
                  "sidecar injection webhook serving HTTPS on %s:%d%s",
                  options.host(), bound, AdmissionEndpoint.PATH);
              vertx.setTimer(nextCheck().toMillis(), t -> recheck());
            });
  }

  /** Every replica's readiness: serving, with the policies loaded and the server version known. */
  public boolean ready() {
    return server.listening() && policies.synced() && nativeSidecars.known();
  }

  public Map<String, Object> state() {
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("listening", server.listening());
    state.put("port", port);
    state.put("policiesLoaded", policies.synced());
    state.put("serverVersionKnown", nativeSidecars.known());
    state.put("nativeSidecars", nativeSidecars.getAsBoolean());
    state.put("tls", options.manageTls() ? "managed" : "provided");
    state.put("caBundlePublished", options.manageTls() ? caBundlePublished : "not managed");
    return state;
  }

  public Future<Void> stop() {
    stopped = true;
    policies.close();
    admissionEvents.close();
    return server.stop();
  }

  private Future<ServingCertificate> firstCertificate(Duration backoff) {
    return vertx
        .executeBlocking(tls::check, false)
        .map(
            check -> {
              caBundlePublished = check.caBundlePublished();
              serving = check.certificate();
              return serving;
            })
        .recover(
            e -> {
              if (stopped) {
                return Future.failedFuture(e);
              }
              LOG.warnf("no webhook certificate yet (%s); retrying in %s", e.getMessage(), backoff);
              return Future.<Void>future(p -> vertx.setTimer(backoff.toMillis(), t -> p.complete()))
                  .compose(v -> firstCertificate(longer(backoff)));
            });
  }

  /** Renews if due, picks up another replica's renewal, re-publishes a lost CA bundle. */
  private void recheck() {
    if (stopped) {
      return;
    }
    vertx
        .executeBlocking(tls::check, false)
        .compose(
            check -> {
              caBundlePublished = check.caBundlePublished();
              if (check.certificate().equals(serving)) {
                return Future.succeededFuture();
              }
              return server
                  .updateCertificate(check.certificate())
                  .onSuccess(
                      v -> {
                        serving = check.certificate();
                        LOG.info("the webhook now serves its renewed certificate");
                      });
            })
        .onFailure(e -> LOG.warnf("webhook certificate check failed: %s", e.getMessage()))
        .onComplete(r -> vertx.setTimer(nextCheck().toMillis(), t -> recheck()));
  }

  private Duration nextCheck() {
    return options.manageTls() && !caBundlePublished
        ? Duration.ofSeconds(10)
        : options.checkInterval();
  }

  private void retry(String what, java.util.function.BooleanSupplier attempt, Duration backoff) {
    vertx
        .executeBlocking(attempt::getAsBoolean, false)
        .onComplete(
            r -> {
              if (stopped || (r.succeeded() && r.result())) {
                return;
              }
              LOG.debugf("will %s again in %s", what, backoff);
              vertx.setTimer(backoff.toMillis(), t -> retry(what, attempt, longer(backoff)));
            });
  }

  private static Duration longer(Duration backoff) {
    Duration doubled = backoff.multipliedBy(2);
    return doubled.compareTo(RETRY_MAX) > 0 ? RETRY_MAX : doubled;
  }
}
