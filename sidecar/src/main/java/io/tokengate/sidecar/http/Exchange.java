package io.tokengate.sidecar.http;

import io.tokengate.sidecar.log.EventLog;
import io.tokengate.sidecar.metrics.GateMetrics;
import io.tokengate.sidecar.validation.GateFailure;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.List;

/**
 * The books of one request on its event loop, from arrival to the response head: its {@link
 * Verdict} so far, whether it has been answered (exactly once: a refusal, the resource metadata,
 * the application's response or its failure), the answers the gate writes itself, and, at the
 * response head, the decision counted and its log line written.
 */
final class Exchange {
  final HttpServerRequest req;

  /** The policy the request is served with from start to end, or null when none is loaded. */
  final ActivePolicy p;

  /** The head as read under {@link #p}; null without a policy. */
  final InboundHeaders head;

  private final GateMetrics metrics;
  private final EventLog log;
  private final long started;
  private final Context context = Vertx.currentContext();
  private Verdict verdict;
  private boolean answered;
  private String upstreamError;
  private InFlightRequests.Entry waiting;

  /**
   * @param started when the request arrived ({@link System#nanoTime()})
   */
  Exchange(
      HttpServerRequest req,
      ActivePolicy p,
      InboundHeaders head,
      Verdict verdict,
      long started,
      GateMetrics metrics,
      EventLog log) {
    this.req = req;
    this.p = p;
    this.head = head;
    this.verdict = verdict;
    this.started = started;
    this.metrics = metrics;
    this.log = log;
  }

  Verdict verdict() {
    return verdict;
  }

  /** The decision went on (the token verified, or a forwarded request's claims were read). */
  void decided(Verdict next) {
    verdict = next;
  }

  boolean answered() {
    return answered;
  }

  /** Answered from now on: no second answer, and no longer among the requests in flight. */
  void markAnswered() {
    answered = true;
    if (waiting != null) {
      waiting.leave();
    }
  }

  /** Forwarded and waiting as {@code entry} for the application's response head. */
  void waitingAs(InFlightRequests.Entry entry) {
    waiting = entry;
  }

  /** What went wrong with the application ({@code unavailable}, {@code timeout}, ...). */
  void upstreamError(String error) {
    upstreamError = error;
  }

  /** Runs {@code r} on this request's event loop (validation may complete elsewhere). */
  void onContext(Runnable r) {
    if (context == null || Vertx.currentContext() == context) {
      r.run();
    } else {
      context.runOnContext(v -> r.run());
    }
  }

  /** Answers the RFC 9728 metadata of {@link #p}. */
  void serveMetadata() {
    ProtectedResourceMetadata metadata = p.resourceMetadata();
    markAnswered();
    HttpServerResponse res = req.response();
    if (bodyUnread()) {
      req.handler(null);
      req.resume();
    }
    res.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
    res.putHeader(HttpHeaders.CACHE_CONTROL, "max-age=300");
    finish(200);
    if (req.method() == HttpMethod.HEAD) {
      res.putHeader(HttpHeaders.CONTENT_LENGTH, Integer.toString(metadata.body().length()));
      res.end();
    } else {
      res.end(metadata.body());
    }
  }

  /**
   * Refuses a head. With {@code close} (framing in doubt) nothing more is read from an HTTP/1.x
   * connection: it is closed once the answer is written.
   */
  void refuseHead(GateFailure f, boolean close) {
    if (!close || req.version() == HttpVersion.HTTP_2) {
      refuse(f);
      return;
    }
    if (answered) {
      return;
    }
    markAnswered();
    verdict = verdict.refuse(f);
    HttpServerResponse res = req.response();
    if (!res.closed() && !res.headWritten()) {
      // Written below the HTTP codec and closed at once: a message whose framing is in doubt
      // leaves nothing behind to parse, and "Connection: close" stays what it says.
      ConnectionBudget.closeWith(req, Refusal.closing(f, ""));
    }
    finish(f.status());
  }

  /** Answers {@code f} without forwarding. */
  void refuse(GateFailure f) {
    if (answered) {
      return;
    }
    markAnswered();
    verdict = verdict.refuse(f);
    answer(f);
    finish(f.status());
  }

  /**
   * Load shedding: 503 with Retry-After; an HTTP/1.x connection is closed to move the client on.
   */
  void overloaded(String why) {
    if (answered) {
      return;
    }
    markAnswered();
    GateFailure f = GateFailure.of(503, "overloaded", why);
    if (verdict.reason() == null) {
      verdict = verdict.refuse(f);
    } else {
      upstreamError = "overloaded";
    }
    HttpServerResponse res = req.response();
    if (!res.closed() && !res.headWritten()) {
      res.putHeader(HttpHeaders.RETRY_AFTER, "1");
      if (Refusal.isGrpc(req)) {
        Refusal.sendGrpc(res, List.of(), f);
      } else {
        Refusal.send(req, List.of(), f, true);
      }
    }
    finish(503);
  }

  /** Writes {@code f} as the response, with the policy's challenges where it calls for them. */
  void answer(GateFailure f) {
    HttpServerResponse res = req.response();
    if (res.closed() || res.headWritten()) {
      return;
    }
    boolean close = false;
    if (bodyUnread()) {
      if (head.expectContinue) {
        // The client is waiting for 100 Continue and will not send the body: the connection
        // cannot be reused without it.
        close = true;
      } else {
        req.handler(null);
        req.resume();
      }
    }
    boolean challenge = (f.status() == 401 || f.error() != null) && p != null;
    TokenSources.Credential credential = verdict.credential();
    List<String> challenges =
        challenge ? p.challenges().of(f, credential != null && credential.dpop()) : List.of();
    if (Refusal.isGrpc(req)) {
      Refusal.sendGrpc(res, challenges, f);
    } else {
      Refusal.send(req, challenges, f, close);
    }
  }

  private boolean bodyUnread() {
    return head != null && head.hasBody && !req.isEnded();
  }

  /** Counts the decision and writes its log line: once per request, at the response head. */
  void finish(int status) {
    String policy = p == null ? "none" : p.id();
    metrics.decision(policy, verdict.decision(), verdict.reason());
    if (upstreamError != null) {
      metrics.upstreamFailure(policy, upstreamError);
    }
    if (p != null
        && GateMetrics.ALLOW.equals(verdict.decision())
        && !p.decisionLog().logAllowed()) {
      return; // counted above; refusals are always logged
    }
    log.line(DecisionLine.of(policy, verdict, req, status, started, upstreamError));
  }
}
