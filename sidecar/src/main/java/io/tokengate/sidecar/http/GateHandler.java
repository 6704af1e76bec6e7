package io.tokengate.sidecar.http;

import io.tokengate.sidecar.log.EventLog;
import io.tokengate.sidecar.metrics.GateMetrics;
import io.tokengate.sidecar.validation.GateFailure;
import io.tokengate.sidecar.validation.TokenValidator;
import io.tokengate.sidecar.validation.VerifiedToken;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.internal.ContextInternal;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The request path of the sidecar on one event loop, with that loop's upstream clients, so a
 * request never changes threads (validation futures completing elsewhere are brought back). For
 * each request it reads the head ({@link InboundHeaders}), has {@link GateDecision} decide, has the
 * token validated where the rule needs one and decides on, then either answers ({@link Exchange})
 * or forwards ({@link UpstreamCall}). It also holds the loop's bounds: the connection budget (with
 * the bytes and time of heads in progress) and the requests in flight upstream, swept for their
 * deadlines every {@link #SWEEP_MILLIS}.
 */
public final class GateHandler implements Handler<HttpServerRequest> {
  private static final CharSequence DPOP = HttpHeaders.createOptimized("DPoP");

  static final long SWEEP_MILLIS = 100;

  private final Vertx vertx;
  private final GateState state;
  private final GateMetrics metrics;
  private final EventLog log;
  private final Function<ActivePolicy, HttpClient> clients;
  private final ConnectionBudget budget;
  private final InFlightRequests inFlight;
  private final long sweeper;
  private int sweeps;

  /**
   * What one event loop takes on before it sheds load with 503 instead of running out of memory:
   * open client connections, requests forwarded but not yet answered by the application, and bytes
   * and time of request heads in progress (see {@link ConnectionBudget}).
   *
   * @param connections open client connections
   * @param inFlight requests awaiting the application's response head
   * @param freeHeadBytes bytes of a head in progress each connection may hold
   * @param sharedHeadBytes bytes beyond that, over all heads in progress
   * @param headTimeoutMillis time from a head's first byte to its end (408 after)
   * @param idleTimeoutMillis time a kept-alive connection may wait for its next request
   */
  public record Capacity(
      int connections,
      int inFlight,
      int freeHeadBytes,
      long sharedHeadBytes,
      long headTimeoutMillis,
      long idleTimeoutMillis) {
    public static final int FREE_HEAD_BYTES = 4096;
    public static final long HEAD_TIMEOUT_MILLIS = 10_000;
    public static final long IDLE_TIMEOUT_MILLIS = 60_000;

    /** With the default head limits and 1 MiB of shared head bytes. */
    public Capacity(int connections, int inFlight) {
      this(
          connections,
          inFlight,
          FREE_HEAD_BYTES,
          1024 * 1024,
          HEAD_TIMEOUT_MILLIS,
          IDLE_TIMEOUT_MILLIS);
    }

    ConnectionBudget.Limits limits() {
      return new ConnectionBudget.Limits(
          connections, freeHeadBytes, sharedHeadBytes, headTimeoutMillis, idleTimeoutMillis);
    }
  }

  /** Must be created on the event loop it serves (a verticle's start). */
  public GateHandler(
      Vertx vertx,
      HttpClient client,
      Supplier<HttpClient> h2cClient,
      GateState state,
      GateMetrics metrics,
      EventLog log,
      Capacity capacity) {
    this.vertx = vertx;
    this.state = state;
    this.metrics = metrics;
    this.log = log;
    this.clients = p -> p.upstreamH2c() ? h2cClient.get() : client;
    this.inFlight = new InFlightRequests(capacity.inFlight());
    this.budget =
        new ConnectionBudget(
            capacity.limits(),
            reason -> {
              ActivePolicy p = state.current();
              metrics.decision(p == null ? "none" : p.id(), GateMetrics.DENY, reason);
            });
    this.budget.register(((ContextInternal) Vertx.currentContext()).nettyEventLoop());
    this.sweeper = vertx.setPeriodic(SWEEP_MILLIS, id -> sweep(System.nanoTime()));
  }

  /** Stops the timeout sweep. */
  public void close() {
    vertx.cancelTimer(sweeper);
    budget.unregister();
  }

  private void sweep(long now) {
    if (++sweeps % 5 == 0) {
      budget.sweep(now);
    }
    inFlight.expire(now);
  }

  /** Requests forwarded on this event loop whose response head has not arrived yet. */
  public int awaitingUpstream() {
    return inFlight.count();
  }

  /** Client connections open on this event loop. */
  int openConnections() {
    return budget.open();
  }

  @Override
  public void handle(HttpServerRequest req) {
    long started = System.nanoTime();
    budget.headComplete(req);
    ActivePolicy p = state.current();
    InboundHeaders head = p == null ? null : InboundHeaders.read(req, p);
    Verdict verdict = GateDecision.onHead(p, req.method(), req.uri(), req.headers(), head);
    if (verdict.path() != null && head.hasBody) {
      // Nothing of the body is read before the decision; an allowed request streams it on.
      req.pause();
    }
    proceed(new Exchange(req, p, head, verdict, started, metrics, log));
  }

  private void proceed(Exchange x) {
    Verdict v = x.verdict();
    switch (v.action()) {
      case REFUSE -> x.refuseHead(v.failure(), v.close());
      case SERVE_METADATA -> x.serveMetadata();
      case AUTHENTICATE -> validate(x);
      case FORWARD -> UpstreamCall.forward(x, inFlight, clients, metrics);
    }
  }

  private void validate(Exchange x) {
    TokenValidator validator = x.p.validator();
    Future<VerifiedToken> f;
    try {
      f = validator.validate(x.verdict().credential().token());
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    if (f.isComplete()) {
      validated(x, f);
    } else {
      Future<VerifiedToken> pending = f;
      f.onComplete(ar -> x.onContext(() -> validated(x, pending)));
    }
  }

  private void validated(Exchange x, Future<VerifiedToken> f) {
    ActivePolicy p = x.p;
    Verdict pending = x.verdict();
    if (f.failed()) {
      Throwable cause = f.cause();
      GateFailure refused;
      if (cause instanceof GateFailure g) {
        refused = g;
      } else {
        log.error(
            "validation_error",
            "the validator failed unexpectedly",
            "policy",
            p.id(),
            "error",
            cause.getClass().getName());
        refused = GateFailure.invalidToken("validation_error", "the token could not be validated");
      }
      x.decided(GateDecision.onRejectedToken(p, pending, refused));
    } else {
      HttpServerRequest req = x.req;
      x.decided(
          GateDecision.onToken(
              p,
              pending,
              f.result(),
              req.headers().getAll(DPOP),
              req.method().name(),
              pending.credential().dpop()
                  ? ForwardedHeaders.externalUrl(req, p.trustedForwardedHops())
                  : null));
    }
    proceed(x);
  }
}
