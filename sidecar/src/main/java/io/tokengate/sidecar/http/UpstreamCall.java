package io.tokengate.sidecar.http;

import io.tokengate.sidecar.metrics.GateMetrics;
import io.tokengate.sidecar.validation.GateFailure;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
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
import java.util.Map;
import java.util.function.Function;

/**
 * One request forwarded to the application: the upstream request built from what {@link
 * InboundHeaders} kept, the claim headers and the forwarding headers; the body streamed on with
 * back-pressure; the response head, body and trailers (or a WebSocket tunnel) relayed back; and the
 * application's failures answered 502, or 504 when no response head came within {@code
 * upstream.timeout}. Waits among the {@link InFlightRequests} from the request until the response
 * head.
 */
final class UpstreamCall extends InFlightRequests.Entry {
  private static final CharSequence DPOP = HttpHeaders.createOptimized("DPoP");

  private final Exchange x;
  private final HttpServerRequest req;
  private final ActivePolicy p;
  private final GateMetrics metrics;
  private HttpClientRequest upstreamRequest;
  private long upstreamStarted;

  private UpstreamCall(Exchange x, GateMetrics metrics) {
    this.x = x;
    this.req = x.req;
    this.p = x.p;
    this.metrics = metrics;
  }

  /**
   * Forwards the request of {@code x}, whose verdict is {@link Verdict.Action#FORWARD}, unless it
   * cannot be: a WebSocket upgrade to an HTTP/2 application (501), no room among the requests in
   * flight (503), a claim that cannot be a header value (401).
   *
   * @param clients the client that speaks to a policy's application
   */
  static void forward(
      Exchange x,
      InFlightRequests inFlight,
      Function<ActivePolicy, HttpClient> clients,
      GateMetrics metrics) {
    if (x.head.webSocketKey != null && x.p.upstreamH2c()) {
      x.refuse(
          GateFailure.of(
              501,
              "websocket_unsupported",
              "the application is spoken to in HTTP/2 (upstream.protocol H2C); WebSocket"
                  + " upgrades are not forwarded"));
      return;
    }
    if (inFlight.full()) {
      x.overloaded("the sidecar has too many requests waiting for the application");
      return;
    }
    GateDecision.Claims claims = GateDecision.claims(x.p, x.verdict());
    if (claims.verdict().action() == Verdict.Action.REFUSE) {
      x.refuse(claims.verdict().failure());
      return;
    }
    x.decided(claims.verdict());
    new UpstreamCall(x, metrics).send(claims, inFlight, clients.apply(x.p));
  }

  private void send(GateDecision.Claims claims, InFlightRequests inFlight, HttpClient client) {
    MultiMap out = x.head.out;
    for (Map.Entry<String, String> h : claims.headers()) {
      out.set(h.getKey(), h.getValue());
    }
    String query = x.verdict().path().query();
    if (!p.forwardToken()) {
      p.tokenSources().stripHeaders(out);
      out.remove(DPOP);
      query = p.tokenSources().stripQuery(query);
    }
    String path = x.verdict().path().path();
    String uri = query == null ? path : path + "?" + query;
    ForwardedHeaders.set(out, req, x.head.forwardedFor, p.trustedForwardedHops());
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
    inFlight.add(this, upstreamStarted + p.upstreamTimeoutMillis() * 1_000_000L);
    x.waitingAs(this);
    try {
      client.request(options).onComplete(ar -> requested(ar.result(), ar.cause()));
    } catch (RuntimeException e) {
      // A request the client library cannot write (it validates what we did not foresee):
      // answered at once, never left holding its place among the waiting.
      unavailable();
    }
  }

  private void requested(HttpClientRequest creq, Throwable failure) {
    if (x.answered()) {
      if (creq != null) {
        creq.reset();
      }
      return;
    }
    if (creq == null) {
      unavailable();
      return;
    }
    upstreamRequest = creq;
    HttpServerResponse res = req.response();
    res.closeHandler(v -> creq.reset());
    if (x.head.webSocketKey != null) {
      creq.connect().onComplete(ar -> upgraded(ar.result()));
      return;
    }
    Future<HttpClientResponse> response;
    if (x.head.hasBody) {
      if (x.head.expectContinue) {
        res.writeContinue();
      }
      response = creq.send(req);
    } else {
      response = creq.send();
    }
    response.onComplete(ar -> relay(ar.result()));
  }

  private void relay(HttpClientResponse cres) {
    if (cres == null) {
      unavailable();
      return;
    }
    if (x.answered()) {
      cres.request().reset();
      return;
    }
    x.markAnswered();
    metrics.upstream(p.id(), System.nanoTime() - upstreamStarted);
    HttpServerResponse res = req.response();
    if (res.closed()) {
      cres.request().reset();
      x.finish(cres.statusCode());
      return;
    }
    int status = cres.statusCode();
    res.setStatusCode(status);
    String message = cres.statusMessage();
    if (message != null) {
      res.setStatusMessage(message);
    }
    HopByHop.copyResponseHeaders(cres.headers(), res.headers());
    if (!cres.headers().contains(HttpHeaders.CONTENT_LENGTH)
        && bodyAllowed(status)
        && req.version() != HttpVersion.HTTP_1_0) {
      res.setChunked(true);
    }
    x.finish(status);
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
                HopByHop.copyTrailers(trailers, res.trailers());
              }
              if (!res.ended()) {
                res.end();
              }
            });
  }

  private void upgraded(HttpClientResponse cres) {
    if (cres == null) {
      unavailable();
      return;
    }
    if (cres.statusCode() != 101) {
      relay(cres);
      return;
    }
    if (x.answered()) {
      cres.request().reset();
      return;
    }
    if (!WebSocketAccept.matches(x.head.webSocketKey, cres.headers())) {
      // Not a WebSocket handshake the client asked for: tunnelling it would let the
      // application speak another protocol to the client behind the gate.
      cres.netSocket().close();
      x.upstreamError("bad_upgrade");
      x.refuseHead(
          GateFailure.of(
              502,
              "upstream_bad_upgrade",
              "the application answered 101 without a matching WebSocket handshake"),
          true);
      return;
    }
    x.markAnswered();
    metrics.upstream(p.id(), System.nanoTime() - upstreamStarted);
    HttpServerResponse res = req.response();
    res.setStatusCode(101);
    res.headers().addAll(cres.headers());
    x.finish(101);
    ConnectionBudget.tunnelled(req);
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

  /** The application refused or closed the connection, or the request could not be written. */
  private void unavailable() {
    if (x.answered()) {
      return;
    }
    x.markAnswered();
    x.upstreamError("unavailable");
    x.answer(
        GateFailure.of(
            502,
            "upstream_unavailable",
            "the application on port "
                + p.upstream().port()
                + " refused or closed the connection"));
    x.finish(502);
  }

  /** No response head within {@code upstream.timeout}. */
  @Override
  void expired() {
    if (x.answered()) {
      return;
    }
    x.markAnswered();
    x.upstreamError("timeout");
    if (upstreamRequest != null) {
      upstreamRequest.reset();
    }
    x.answer(
        GateFailure.of(
            504,
            "upstream_timeout",
            "the application did not answer within " + p.upstreamTimeoutMillis() + " ms"));
    x.finish(504);
  }

  private boolean bodyAllowed(int status) {
    return req.method() != HttpMethod.HEAD
        && status != 204
        && status != 304
        && (status < 100 || status >= 200);
  }
}
