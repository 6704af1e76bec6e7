package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.tokengate.operator.injection.Admission;
import io.tokengate.operator.injection.SidecarInjector;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.function.BooleanSupplier;
import org.jboss.logging.Logger;

/**
 * {@code POST /mutate-pods}: AdmissionReview in, AdmissionReview out, decided on the event loop
 * from memory (no blocking, no network). Whatever arrives, the answer is a 200 with an
 * AdmissionResponse echoing the request's uid, or a 4xx with a plain-text message when there is no
 * request to answer; never a 500.
 */
public final class AdmissionEndpoint {
  public static final String PATH = "/mutate-pods";

  /** Pods are at most 1.5 MiB in etcd; an AdmissionReview carries one, and a bit more. */
  static final long MAX_BODY = 4L * 1024 * 1024;

  private static final Logger LOG = Logger.getLogger(AdmissionEndpoint.class);

  private final SidecarInjector injector;
  private final PolicyIndex policies;
  private final BooleanSupplier nativeSidecars;
  private final AdmissionMetrics metrics;

  public AdmissionEndpoint(
      SidecarInjector injector,
      PolicyIndex policies,
      BooleanSupplier nativeSidecars,
      AdmissionMetrics metrics) {
    this.injector = injector;
    this.policies = policies;
    this.nativeSidecars = nativeSidecars;
    this.metrics = metrics;
  }

  public Router router(Vertx vertx) {
    Router router = Router.router(vertx);
    router
        .post(PATH)
        .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY))
        .handler(this::admit);
    router
        .route(PATH)
        .handler(ctx -> plain(ctx, 405, "use POST with an admission.k8s.io/v1 AdmissionReview"));
    router.route().handler(ctx -> plain(ctx, 404, "the sidecar injector serves POST " + PATH));
    router
        .route()
        .failureHandler(
            ctx -> {
              int status =
                  ctx.statusCode() >= 400 && ctx.statusCode() < 500 ? ctx.statusCode() : 400;
              if (ctx.failure() != null) {
                LOG.warnf(ctx.failure(), "admission request failed");
              }
              plain(
                  ctx, status, status == 413 ? "the AdmissionReview is too large" : "bad request");
            });
    return router;
  }

  private void admit(RoutingContext ctx) {
    long start = System.nanoTime();
    Buffer body = ctx.body().buffer();
    byte[] bytes = body == null ? new byte[0] : body.getBytes();
    AdmissionReviews.Decoded decoded = AdmissionReviews.decode(bytes);
    if (decoded instanceof AdmissionReviews.Malformed malformed) {
      plain(ctx, 400, malformed.message());
      metrics.record(AdmissionMetrics.MALFORMED, System.nanoTime() - start);
      return;
    }
    AdmissionResponse response =
        decoded instanceof AdmissionReviews.Answer answer
            ? answer.response()
            : decide(((AdmissionReviews.Request) decoded).request());
    ctx.response()
        .setStatusCode(200)
        .putHeader("Content-Type", "application/json")
        .end(Buffer.buffer(AdmissionReviews.encode(response)));
    metrics.record(response, System.nanoTime() - start);
  }

  private AdmissionResponse decide(AdmissionRequest request) {
    try {
      if (!policies.synced()) {
        // Fail closed: an empty index would admit every pod unprotected.
        return Admission.deny(
            request.getUid(),
            503,
            "tokengate's webhook has not loaded the ApiPolicies yet; the pod is refused rather than started unprotected, retry shortly");
      }
      return injector.admit(
          request, policies.inNamespace(request.getNamespace()), nativeSidecars.getAsBoolean());
    } catch (VirtualMachineError e) {
      throw e;
    } catch (RuntimeException | Error e) {
      // A bug (or a broken deployment) refuses the pod with the reason, never a 500.
      LOG.errorf(e, "admission request %s failed", request.getUid());
      return Admission.deny(request.getUid(), 403, "tokengate could not decide on this pod: " + e);
    }
  }

  private static void plain(RoutingContext ctx, int status, String message) {
    if (ctx.response().ended()) {
      return;
    }
    if (ctx.request().method() == HttpMethod.HEAD) {
      ctx.response().setStatusCode(status).end();
      return;
    }
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "text/plain; charset=utf-8")
        .end(message + "\n");
  }
}
