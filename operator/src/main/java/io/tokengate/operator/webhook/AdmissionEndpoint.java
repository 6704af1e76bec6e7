package io.tokengate.operator.webhook;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.operator.injection.Admission;
import io.tokengate.operator.injection.PolicyNotice;
import io.tokengate.operator.injection.SidecarInjector;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * {@code POST /mutate-pods}: AdmissionReview in, AdmissionReview out. Decided on the event loop
 * from the in-memory policy index when that index names a rendered policy for the pod (or the pod
 * is not one to inject); when the index would let the pod start without the sidecar, the decision
 * is taken again from the API server's current policies on a worker thread (see {@link
 * PolicyIndex}), so a lagging index never admits a pod bare. Whatever arrives, the answer is a 200
 * with an AdmissionResponse echoing the request's uid, or a 4xx with a plain-text message when
 * there is no request to answer; never a 500.
 */
public final class AdmissionEndpoint {
  public static final String PATH = "/mutate-pods";

  /** Pods are at most 1.5 MiB in etcd; an AdmissionReview carries one, and a bit more. */
  static final long MAX_BODY = 4L * 1024 * 1024;

  /** The API server waits 10 s by default; a read that takes longer refuses the pod. */
  static final long CURRENT_POLICIES_TIMEOUT_MS = 5_000;

  private static final Logger LOG = Logger.getLogger(AdmissionEndpoint.class);

  private final SidecarInjector injector;
  private final PolicyIndex policies;
  private final BooleanSupplier nativeSidecars;
  private final AdmissionMetrics metrics;
  private final Consumer<List<PolicyNotice>> notices;
  private Vertx vertx;

  public AdmissionEndpoint(
      SidecarInjector injector,
      PolicyIndex policies,
      BooleanSupplier nativeSidecars,
      AdmissionMetrics metrics) {
    this(injector, policies, nativeSidecars, metrics, notices -> {});
  }

  /**
   * @param notices takes what each decision means for the selecting policy (Events on it); called
   *     on the deciding thread, so it must not block
   */
  public AdmissionEndpoint(
      SidecarInjector injector,
      PolicyIndex policies,
      BooleanSupplier nativeSidecars,
      AdmissionMetrics metrics,
      Consumer<List<PolicyNotice>> notices) {
    this.injector = injector;
    this.policies = policies;
    this.nativeSidecars = nativeSidecars;
    this.metrics = metrics;
    this.notices = notices;
  }

  public Router router(Vertx vertx) {
    this.vertx = vertx;
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
    Future<AdmissionResponse> response =
        decoded instanceof AdmissionReviews.Answer answer
            ? Future.succeededFuture(answer.response())
            : decide(((AdmissionReviews.Request) decoded).request());
    response.onComplete(
        r -> {
          AdmissionResponse answer = r.result();
          ctx.response()
              .setStatusCode(200)
              .putHeader("Content-Type", "application/json")
              .end(Buffer.buffer(AdmissionReviews.encode(answer)));
          metrics.record(answer, System.nanoTime() - start);
        });
  }

  /** Never fails: every problem becomes a refusal naming it. */
  private Future<AdmissionResponse> decide(AdmissionRequest request) {
    try {
      if (!policies.synced()) {
        // Fail closed: an empty index would admit every pod unprotected.
        return Future.succeededFuture(
            Admission.deny(
                request.getUid(),
                503,
                "tokengate's webhook has not loaded the ApiPolicies yet; the pod is refused rather than started unprotected, retry shortly"));
      }
      List<ApiPolicy> cached = policies.inNamespace(request.getNamespace());
      if (!injector.needsCurrentPolicies(request, cached)) {
        return Future.succeededFuture(answer(request, cached));
      }
      metrics.currentPoliciesRead();
      return withinTimeout(
              vertx.executeBlocking(() -> policies.current(request.getNamespace()), false))
          .map(current -> answer(request, current))
          .otherwise(
              e -> {
                LOG.warnf(
                    "admission request %s: cannot read the ApiPolicies of %s: %s",
                    request.getUid(), request.getNamespace(), e.toString());
                return Admission.deny(
                    request.getUid(),
                    503,
                    "tokengate could not read the ApiPolicies of namespace "
                        + request.getNamespace()
                        + " ("
                        + e.getMessage()
                        + "); the pod is refused rather than started unprotected, retry shortly");
              });
    } catch (VirtualMachineError e) {
      throw e;
    } catch (RuntimeException | Error e) {
      // A bug (or a broken deployment) refuses the pod with the reason, never a 500.
      LOG.errorf(e, "admission request %s failed", request.getUid());
      return Future.succeededFuture(
          Admission.deny(request.getUid(), 403, "tokengate could not decide on this pod: " + e));
    }
  }

  private AdmissionResponse answer(AdmissionRequest request, List<ApiPolicy> policies) {
    SidecarInjector.Decision decision =
        injector.decide(request, policies, nativeSidecars.getAsBoolean());
    if (!decision.notices().isEmpty()) {
      try {
        notices.accept(decision.notices());
      } catch (RuntimeException e) {
        LOG.warnf("cannot report admission notices: %s", e.toString());
      }
    }
    return decision.response();
  }

  private <T> Future<T> withinTimeout(Future<T> future) {
    Promise<T> promise = Promise.promise();
    long timer =
        vertx.setTimer(
            CURRENT_POLICIES_TIMEOUT_MS,
            t ->
                promise.tryFail(
                    "no answer from the API server within " + CURRENT_POLICIES_TIMEOUT_MS + " ms"));
    future.onComplete(
        r -> {
          vertx.cancelTimer(timer);
          if (r.succeeded()) {
            promise.tryComplete(r.result());
          } else {
            promise.tryFail(r.cause());
          }
        });
    return promise.future();
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
