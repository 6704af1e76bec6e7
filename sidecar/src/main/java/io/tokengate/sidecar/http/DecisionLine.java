package io.tokengate.sidecar.http;

import io.tokengate.sidecar.log.EventLog;
import io.vertx.core.http.HttpServerRequest;

/**
 * The {@code decision} log line of one request. The product's own fields keep plain names; what
 * OpenTelemetry's semantic conventions name (HTTP, URL, client, end user, trace) carries the
 * convention's name, so log pipelines map them without rules. Never the token itself.
 */
final class DecisionLine {
  private static final String TRACEPARENT = "traceparent";

  private DecisionLine() {}

  /**
   * @param startedNanos when the request arrived ({@link System#nanoTime()})
   * @param upstreamError what went wrong with the application, or null
   */
  static String of(
      String policy,
      Verdict v,
      HttpServerRequest req,
      int status,
      long startedNanos,
      String upstreamError) {
    StringBuilder sb = EventLog.start("info", "decision");
    EventLog.field(sb, "policy", policy);
    EventLog.field(sb, "decision", v.decision());
    EventLog.field(sb, "reason", v.reason());
    EventLog.field(sb, "http.request.method", req.method().name());
    EventLog.field(sb, "url.path", v.path() != null ? v.path().path() : rawPath(req.uri()));
    EventLog.field(sb, "http.response.status_code", status);
    if (v.rule() != null) {
      EventLog.field(sb, "rule", v.rule().label());
    }
    if (v.token() != null) {
      EventLog.field(sb, "enduser.id", v.token().subject());
      EventLog.field(sb, "client_id", v.token().clientId());
      EventLog.field(sb, "issuer", v.token().issuer());
    }
    if (req.remoteAddress() != null) {
      EventLog.field(sb, "client.address", req.remoteAddress().hostAddress());
    }
    long micros = (System.nanoTime() - startedNanos) / 1000;
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
    return sb.append('}').toString();
  }

  /** The target without its query (the log never carries query parameters: tokens travel there). */
  static String rawPath(String uri) {
    if (uri == null) {
      return null;
    }
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }
}
