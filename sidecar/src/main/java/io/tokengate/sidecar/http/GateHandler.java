package io.tokengate.sidecar.http;

import io.tokengate.sidecar.ActivePolicy;
import io.tokengate.sidecar.GateFailure;
import io.tokengate.sidecar.GateState;
import io.tokengate.sidecar.admin.GateMetrics;
import io.tokengate.sidecar.authz.AccessRule;
import io.tokengate.sidecar.authz.ClaimValues;
import io.tokengate.sidecar.authz.RequestPath;
import io.tokengate.sidecar.log.EventLog;
import io.tokengate.sidecar.validation.TokenValidator;
import io.tokengate.sidecar.validation.VerifiedToken;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The request path of the sidecar: checks limits, normalises the path, picks the rule, validates
 * the token, and either answers the refusal or streams the request to the application and the
 * response back. One instance per event loop, with that loop's upstream client, so a request never
 * changes threads (validation futures completing elsewhere are brought back).
 */
public final class GateHandler implements Handler<HttpServerRequest> {
  private static final String TRACEPARENT = "traceparent";
  private static final CharSequence DPOP = HttpHeaders.createOptimized("DPoP");

  private final Vertx vertx;
  private final HttpClient client;
  private final java.util.function.Supplier<HttpClient> h2cClient;
  private final GateState state;
  private final GateMetrics metrics;
  private final EventLog log;
  private final Capacity capacity;

  private final ConnectionBudget budget;
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

  /**
   * Exchanges waiting for the application's response head: an intrusive doubly-linked list, one per
   * event loop and only touched on it. An exchange unlinks itself the moment it is answered, so the
   * list holds exactly the requests in flight upstream (bounded by concurrency, not by rate), and a
   * slow request never keeps finished ones alive. Timeouts are swept from it every {@link
   * #SWEEP_MILLIS} instead of arming and cancelling a timer per request, which costs more than the
   * sweep.
   */
  private Exchange waitingHead;

  private Exchange waitingTail;

  // Written on the event loop, read by the metrics gauge: a slightly stale value is fine there.
  private volatile int waitingCount;

  private final long sweeper;

  static final long SWEEP_MILLIS = 100;

  /** Must be created on the event loop it serves (a verticle's start). */
  public GateHandler(
      Vertx vertx,
      HttpClient client,
      java.util.function.Supplier<HttpClient> h2cClient,
      GateState state,
      GateMetrics metrics,
      EventLog log,
      Capacity capacity) {
    this.vertx = vertx;
    this.client = client;
    this.h2cClient = h2cClient;
    this.capacity = capacity;
    this.state = state;
    this.metrics = metrics;
    this.log = log;
    this.budget =
        new ConnectionBudget(
            capacity.limits(),
            reason -> {
              ActivePolicy p = state.current();
              metrics.decision(p == null ? "none" : p.id(), GateMetrics.DENY, reason);
            });
    this.budget.register(
        ((io.vertx.core.internal.ContextInternal) Vertx.currentContext()).nettyEventLoop());
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
    Exchange x = waitingHead;
    while (x != null) {
      Exchange next = x.nextWaiting;
      if (now - x.deadline >= 0) {
        unlink(x);
        x.timedOut();
      }
      x = next;
    }
  }

  private void enqueue(Exchange x) {
    x.prevWaiting = waitingTail;
    x.nextWaiting = null;
    if (waitingTail != null) {
      waitingTail.nextWaiting = x;
    } else {
      waitingHead = x;
    }
    waitingTail = x;
    x.waiting = true;
    waitingCount++;
  }

  /** Requests forwarded on this event loop whose response head has not arrived yet. */
  public int awaitingUpstream() {
    return waitingCount;
  }

  private void unlink(Exchange x) {
    if (!x.waiting) {
      return;
    }
    if (x.prevWaiting != null) {
      x.prevWaiting.nextWaiting = x.nextWaiting;
    } else {
      waitingHead = x.nextWaiting;
    }
    if (x.nextWaiting != null) {
      x.nextWaiting.prevWaiting = x.prevWaiting;
    } else {
      waitingTail = x.prevWaiting;
    }
    x.prevWaiting = null;
    x.nextWaiting = null;
    x.waiting = false;
    waitingCount--;
  }

  /** Client connections open on this event loop. */
  int openConnections() {
    return budget.open();
  }

  @Override
  public void handle(HttpServerRequest req) {
    budget.headComplete(req);
    new Exchange(req, state.current()).start();
  }

  /** The state of one request, from arrival to the response head. */
  private final class Exchange {
    final HttpServerRequest req;
    final ActivePolicy p;
    final long started = System.nanoTime();
    final Context context = Vertx.currentContext();
    MultiMap out;
    RequestPath path;
    AccessRule rule;
    boolean hasBody;
    boolean expectContinue;
    String webSocketKey;
    String forwardedFor;
    String decision = GateMetrics.ALLOW;
    String reason;
    VerifiedToken token;
    TokenSources.Credential credential;
    HttpClientRequest upstreamRequest;
    long deadline;
    boolean waiting;
    Exchange prevWaiting;
    Exchange nextWaiting;
    long upstreamStarted;
    boolean answered;
    String upstreamError;

    Exchange(HttpServerRequest req, ActivePolicy p) {
      this.req = req;
      this.p = p;
    }

    void start() {
      if (p == null) {
        refuse(GateFailure.of(503, "not_ready", "no configuration is loaded"));
        return;
      }
      InboundHeaders head = InboundHeaders.read(req, p);
      out = head.out;
      hasBody = head.hasBody;
      expectContinue = head.expectContinue;
      webSocketKey = head.webSocketKey;
      forwardedFor = head.forwardedFor;
      if (head.refused != null) {
        refuseHead(head.refused.failure(), head.refused.close());
        return;
      }
      if (head.bytes > p.maxHeaderBytes()) {
        refuse(
            GateFailure.of(
                431,
                "headers_too_large",
                "the request headers exceed " + p.maxHeaderBytes() + " bytes"));
        return;
      }
      try {
        path =
            RequestPath.parse(
                req.uri(),
                p.requestHandling().escapedSlashes()
                    == io.tokengate.api.v1alpha1.apipolicy.RequestHandling.EscapedSlashes.Keep);
      } catch (RequestPath.InvalidPathException e) {
        refuseHead(GateFailure.of(400, "invalid_path", e.getMessage()), false);
        return;
      }
      if (hasBody) {
        // Nothing of the body is read before the decision; an allowed request streams it on.
        req.pause();
      }
      HttpMethod method = req.method();
      String decidingMethod = method.name();
      if (head.methodOverride != null) {
        if (!InboundHeaders.isUpperToken(head.methodOverride)) {
          refuseHead(
              GateFailure.of(
                  400, "invalid_method", "the method override must be an upper-case token"),
              false);
          return;
        }
        decidingMethod = head.methodOverride;
      }
      ProtectedResourceMetadata metadata = p.resourceMetadata();
      if (metadata != null && metadata.path().equals(path.path())) {
        serveMetadata(metadata, method);
        return;
      }
      if (p.allowCorsPreflight()
          && method == HttpMethod.OPTIONS
          && req.headers().contains(HttpHeaders.ORIGIN)
          && req.headers().contains(HttpHeaders.ACCESS_CONTROL_REQUEST_METHOD)) {
        reason = "cors_preflight";
        forward();
        return;
      }
      rule = p.rules().match(decidingMethod, path);
      switch (rule.action()) {
        case Allow -> {
          reason = "allow_rule";
          forward();
        }
        case Deny -> deny(GateFailure.of(403, "deny_rule", "the policy denies this request"));
        default -> authenticate();
      }
    }

    /**
     * Answers the RFC 9728 metadata: to anyone, without a token (it is what a client reads to learn
     * where to get one), and never forwarded.
     */
    void serveMetadata(ProtectedResourceMetadata metadata, HttpMethod method) {
      if (method != HttpMethod.GET && method != HttpMethod.HEAD) {
        refuse(
            GateFailure.of(
                405, "method_not_allowed", "the resource metadata is read with GET or HEAD"));
        return;
      }
      markAnswered();
      reason = "resource_metadata";
      HttpServerResponse res = req.response();
      if (hasBody && !req.isEnded()) {
        req.handler(null);
        req.resume();
      }
      res.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
      res.putHeader(HttpHeaders.CACHE_CONTROL, "max-age=300");
      finish(200);
      if (method == HttpMethod.HEAD) {
        res.putHeader(HttpHeaders.CONTENT_LENGTH, Integer.toString(metadata.body().length()));
        res.end();
      } else {
        res.end(metadata.body());
      }
    }

    void authenticate() {
      try {
        credential = p.tokenSources().credential(req.headers(), path.query());
      } catch (GateFailure f) {
        deny(f);
        return;
      }
      if (credential == null) {
        deny(GateFailure.missingToken());
        return;
      }
      String raw = credential.token();
      if (raw.length() > p.maxTokenBytes()) {
        deny(
            GateFailure.of(
                431, "token_too_large", "the token exceeds " + p.maxTokenBytes() + " bytes"));
        return;
      }
      TokenValidator validator = p.validator();
      if (!validator.ready()) {
        deny(
            GateFailure.of(
                503, "keys_not_loaded", "the issuer's signing keys are not loaded yet; retry"));
        return;
      }
      Future<VerifiedToken> f;
      try {
        f = validator.validate(raw);
      } catch (RuntimeException e) {
        f = Future.failedFuture(e);
      }
      if (f.isComplete()) {
        validated(f);
      } else {
        Future<VerifiedToken> pending = f;
        f.onComplete(ar -> onContext(() -> validated(pending)));
      }
    }

    void validated(Future<VerifiedToken> f) {
      if (f.failed()) {
        Throwable cause = f.cause();
        if (cause instanceof GateFailure g) {
          deny(g);
        } else {
          log.error(
              "validation_error",
              "the validator failed unexpectedly",
              "policy",
              p.id(),
              "error",
              cause.getClass().getName());
          deny(GateFailure.invalidToken("validation_error", "the token could not be validated"));
        }
        return;
      }
      token = f.result();
      try {
        p.dpop()
            .check(
                token,
                credential.token(),
                credential.dpop(),
                req.headers().getAll(DPOP),
                req.method().name(),
                credential.dpop()
                    ? ForwardedHeaders.externalUrl(req, p.trustedForwardedHops())
                    : null);
      } catch (GateFailure unmet) {
        deny(unmet);
        return;
      }
      if (rule.requirement() != null) {
        GateFailure unmet = rule.requirement().check(token);
        if (unmet != null) {
          deny(unmet);
          return;
        }
      }
      reason = "authenticated";
      forward();
    }

    /** A policy decision against the request: refused, or in Audit mode recorded and forwarded. */
    void deny(GateFailure f) {
      reason = f.reason();
      if (p.audit()) {
        decision = GateMetrics.AUDIT_DENY;
        forward();
        return;
      }
      refuse(f);
    }

    /**
     * Refuses a head that cannot be forwarded with one meaning. With {@code close} (framing in
     * doubt) nothing more is read from the connection: it is closed once the answer is written.
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
      decision = GateMetrics.DENY;
      reason = f.reason();
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
      decision = GateMetrics.DENY;
      reason = f.reason();
      answer(f);
      finish(f.status());
    }

    void answer(GateFailure f) {
      HttpServerResponse res = req.response();
      if (res.closed() || res.headWritten()) {
        return;
      }
      boolean close = false;
      if (hasBody && !req.isEnded()) {
        if (expectContinue) {
          // The client is waiting for 100 Continue and will not send the body: the connection
          // cannot be reused without it.
          close = true;
        } else {
          req.handler(null);
          req.resume();
        }
      }
      boolean challenge = (f.status() == 401 || f.error() != null) && p != null;
      List<String> challenges =
          challenge ? p.challenges().of(f, credential != null && credential.dpop()) : List.of();
      if (Refusal.isGrpc(req)) {
        Refusal.sendGrpc(res, challenges, f);
      } else {
        Refusal.send(res, challenges, f, close);
      }
    }

    void forward() {
      if (webSocketKey != null && p.upstreamH2c()) {
        refuse(
            GateFailure.of(
                501,
                "websocket_unsupported",
                "the application is spoken to in HTTP/2 (upstream.protocol H2C); WebSocket"
                    + " upgrades are not forwarded"));
        return;
      }
      if (waitingCount >= capacity.inFlight()) {
        overloaded("the sidecar has too many requests waiting for the application");
        return;
      }
      if (token != null && !p.claimHeaders().isEmpty() && !addClaimHeaders()) {
        return;
      }
      String query = path.query();
      if (!p.forwardToken()) {
        p.tokenSources().stripHeaders(out);
        out.remove(DPOP);
        query = p.tokenSources().stripQuery(query);
      }
      String uri = query == null ? path.path() : path.path() + "?" + query;
      ForwardedHeaders.set(out, req, forwardedFor, p.trustedForwardedHops());
      HostAndPort authority = req.authority();
      RequestOptions options =
          new RequestOptions()
              .setServer(p.upstream())
              .setMethod(req.method())
              .setURI(uri)
              .setHeaders(out);
      if (authority != null) {
        options.setHost(authority.host());
        if (authority.port() > 0) {
          options.setPort(authority.port());
        }
      } else {
        options.setHost(p.upstream().host()).setPort(p.upstream().port());
      }
      upstreamStarted = System.nanoTime();
      deadline = upstreamStarted + p.upstreamTimeoutMillis() * 1_000_000L;
      enqueue(this);
      try {
        (p.upstreamH2c() ? h2cClient.get() : client)
            .request(options)
            .onComplete(ar -> sendUpstream(ar.result(), ar.cause()));
      } catch (RuntimeException e) {
        // A request the client library cannot write (it validates what we did not foresee):
        // answered at once, never left holding its place among the waiting.
        upstreamFailed(e);
      }
    }

    /** False when a claim cannot be forwarded and the request was refused. */
    boolean addClaimHeaders() {
      for (ActivePolicy.ClaimHeader h : p.claimHeaders()) {
        String value = ClaimValues.headerValue(ClaimValues.lookup(token.claims(), h.claim()));
        if (value == null) {
          continue;
        }
        if (!HopByHop.isSafeValue(value)) {
          if (p.audit()) {
            decision = GateMetrics.AUDIT_DENY;
            reason = "unforwardable_claim";
            continue;
          }
          refuse(
              GateFailure.invalidToken(
                  "unforwardable_claim",
                  "claim '"
                      + h.claim()
                      + "' holds characters that cannot be forwarded in a header"));
          return false;
        }
        out.set(h.header(), wireForm(value));
      }
      return true;
    }

    void sendUpstream(HttpClientRequest creq, Throwable failure) {
      if (answered) {
        if (creq != null) {
          creq.reset();
        }
        return;
      }
      if (creq == null) {
        upstreamFailed(failure);
        return;
      }
      upstreamRequest = creq;
      HttpServerResponse res = req.response();
      res.closeHandler(v -> creq.reset());
      if (webSocketKey != null) {
        creq.connect().onComplete(ar -> upgraded(ar.result(), ar.cause()));
        return;
      }
      Future<HttpClientResponse> response;
      if (hasBody) {
        if (expectContinue) {
          res.writeContinue();
        }
        response = creq.send(req);
      } else {
        response = creq.send();
      }
      response.onComplete(ar -> relay(ar.result(), ar.cause()));
    }

    void relay(HttpClientResponse cres, Throwable failure) {
      if (cres == null) {
        upstreamFailed(failure);
        return;
      }
      if (answered) {
        cres.request().reset();
        return;
      }
      markAnswered();
      metrics.upstream(p.id(), System.nanoTime() - upstreamStarted);
      HttpServerResponse res = req.response();
      if (res.closed()) {
        cres.request().reset();
        finish(cres.statusCode());
        return;
      }
      int status = cres.statusCode();
      res.setStatusCode(status);
      String message = cres.statusMessage();
      if (message != null) {
        res.setStatusMessage(message);
      }
      copyResponseHeaders(cres.headers(), res.headers());
      if (!cres.headers().contains(HttpHeaders.CONTENT_LENGTH)
          && bodyAllowed(status)
          && req.version() != HttpVersion.HTTP_1_0) {
        res.setChunked(true);
      }
      finish(status);
      cres.pipe()
          .endOnComplete(false)
          .to(res)
          .onComplete(
              ar -> {
                if (ar.failed()) {
                  res.reset();
                  return;
                }
                // Trailers (gRPC's grpc-status) come after the body: passed on once it is.
                MultiMap trailers = cres.trailers();
                if (!trailers.isEmpty() && !res.ended()) {
                  copyTrailers(trailers, res.trailers());
                }
                if (!res.ended()) {
                  res.end();
                }
              });
    }

    void upgraded(HttpClientResponse cres, Throwable failure) {
      if (cres == null) {
        upstreamFailed(failure);
        return;
      }
      if (cres.statusCode() != 101) {
        relay(cres, null);
        return;
      }
      if (answered) {
        cres.request().reset();
        return;
      }
      if (!WebSocketAccept.matches(webSocketKey, cres.headers())) {
        // Not a WebSocket handshake the client asked for: tunnelling it would let the
        // application speak another protocol to the client behind the gate.
        cres.netSocket().close();
        upstreamError = "bad_upgrade";
        refuseHead(
            GateFailure.of(
                502,
                "upstream_bad_upgrade",
                "the application answered 101 without a matching WebSocket handshake"),
            true);
        return;
      }
      markAnswered();
      metrics.upstream(p.id(), System.nanoTime() - upstreamStarted);
      HttpServerResponse res = req.response();
      res.setStatusCode(101);
      res.headers().addAll(cres.headers());
      finish(101);
      budget.tunnelled(req);
      req.toNetSocket()
          .onComplete(
              ar -> {
                NetSocket up = cres.netSocket();
                if (ar.failed()) {
                  up.close();
                  return;
                }
                NetSocket down = ar.result();
                down.pipeTo(up);
                up.pipeTo(down);
              });
    }

    /** Load shedding: 503 with Retry-After, and the connection closed to move the client on. */
    void overloaded(String why) {
      if (answered) {
        return;
      }
      markAnswered();
      if (reason == null) {
        decision = GateMetrics.DENY;
        reason = "overloaded";
      } else {
        upstreamError = "overloaded";
      }
      HttpServerResponse res = req.response();
      if (!res.closed() && !res.headWritten() && Refusal.isGrpc(req)) {
        res.putHeader(HttpHeaders.RETRY_AFTER, "1");
        Refusal.sendGrpc(res, List.of(), GateFailure.of(503, "overloaded", why));
      } else if (!res.closed() && !res.headWritten()) {
        res.putHeader(HttpHeaders.RETRY_AFTER, "1");
        res.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
        Refusal.send(res, List.of(), GateFailure.of(503, "overloaded", why), true);
      }
      finish(503);
    }

    void upstreamFailed(Throwable cause) {
      if (answered) {
        return;
      }
      markAnswered();
      upstreamError = "unavailable";
      answer(
          GateFailure.of(
              502,
              "upstream_unavailable",
              "the application on port "
                  + p.upstream().port()
                  + " refused or closed the connection"));
      finish(502);
    }

    void timedOut() {
      if (answered) {
        return;
      }
      markAnswered();
      upstreamError = "timeout";
      if (upstreamRequest != null) {
        upstreamRequest.reset();
      }
      answer(
          GateFailure.of(
              504,
              "upstream_timeout",
              "the application did not answer within " + p.upstreamTimeoutMillis() + " ms"));
      finish(504);
    }

    void markAnswered() {
      answered = true;
      unlink(this);
    }

    void onContext(Runnable r) {
      if (context == null || Vertx.currentContext() == context) {
        r.run();
      } else {
        context.runOnContext(v -> r.run());
      }
    }

    /** Counts the decision and writes its log line: once per request, at the response head. */
    void finish(int status) {
      String policy = p == null ? "none" : p.id();
      metrics.decision(policy, decision, reason);
      if (upstreamError != null) {
        metrics.upstreamFailure(policy, upstreamError);
      }
      if (p != null && GateMetrics.ALLOW.equals(decision) && !p.decisionLog().logAllowed()) {
        return; // counted above; refusals are always logged
      }
      StringBuilder sb = EventLog.start("info", "decision");
      // The product's own fields keep plain names; what OpenTelemetry's semantic conventions name
      // (HTTP, URL, client, end user, trace) carries the convention's name.
      EventLog.field(sb, "policy", policy);
      EventLog.field(sb, "decision", decision);
      EventLog.field(sb, "reason", reason);
      EventLog.field(sb, "http.request.method", req.method().name());
      EventLog.field(sb, "url.path", path != null ? path.path() : rawPath(req.uri()));
      EventLog.field(sb, "http.response.status_code", status);
      if (rule != null) {
        EventLog.field(sb, "rule", rule.label());
      }
      if (token != null) {
        EventLog.field(sb, "enduser.id", token.subject());
        EventLog.field(sb, "client_id", token.clientId());
        EventLog.field(sb, "issuer", token.issuer());
      }
      if (req.remoteAddress() != null) {
        EventLog.field(sb, "client.address", req.remoteAddress().hostAddress());
      }
      long micros = (System.nanoTime() - started) / 1000;
      sb.append(",\"latency_ms\":").append(micros / 1000).append('.');
      long frac = micros % 1000;
      if (frac < 100) {
        sb.append('0');
      }
      if (frac < 10) {
        sb.append('0');
      }
      sb.append(frac);
      TraceContext trace = TraceContext.parse(req.headers().get(TRACEPARENT));
      if (trace != null) {
        EventLog.field(sb, "trace_id", trace.traceId());
        EventLog.field(sb, "span_id", trace.parentId());
      }
      if (upstreamError != null) {
        EventLog.field(sb, "upstream_error", upstreamError);
      }
      log.line(sb.append('}').toString());
    }

    boolean bodyAllowed(int status) {
      return req.method() != HttpMethod.HEAD
          && status != 204
          && status != 304
          && (status < 100 || status >= 200);
    }
  }

  /** Trailers are end-to-end fields only: no framing, routing or connection fields. */
  private static void copyTrailers(MultiMap from, MultiMap to) {
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey();
      if (!name.isEmpty()
          && name.charAt(0) != ':'
          && HopByHop.classify(name) == HopByHop.OTHER
          && HopByHop.isSafeValue(e.getValue())) {
        to.add(name, e.getValue());
      }
    }
  }

  private static void copyResponseHeaders(MultiMap from, MultiMap to) {
    String connection = null;
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey();
      if (name.isEmpty() || name.charAt(0) == ':') {
        continue;
      }
      switch (HopByHop.classify(name)) {
        case HopByHop.CONNECTION -> connection = e.getValue();
        case HopByHop.OTHER, HopByHop.CONTENT_LENGTH, HopByHop.HOST, HopByHop.EXPECT ->
            to.add(name, e.getValue());
        default -> {}
      }
    }
    if (connection != null) {
      for (String t : connection.split(",")) {
        if (!t.isBlank()) {
          to.remove(t.trim());
        }
      }
    }
  }

  private static String rawPath(String uri) {
    if (uri == null) {
      return null;
    }
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }

  /**
   * Header values travel as bytes; Vert.x writes each char as one byte, so non-ASCII text is turned
   * into its UTF-8 bytes first (what applications reading headers as UTF-8 expect).
   */
  private static String wireForm(String value) {
    for (int i = 0; i < value.length(); i++) {
      if (value.charAt(i) > 0x7e) {
        return new String(value.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
      }
    }
    return value;
  }
}
