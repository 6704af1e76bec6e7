package io.tokengate.sidecar.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.tokengate.sidecar.GateFailure;
import io.tokengate.sidecar.log.Json;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import java.util.List;

/**
 * Writes a {@link GateFailure} as the client sees it: the status, an RFC 6750 {@code
 * WWW-Authenticate} challenge for 400/401/403 ({@code error} omitted when no token was presented),
 * and an RFC 9457 {@code application/problem+json} body. Descriptions come from the failure, which
 * never carries token contents or key material; they are reduced to the characters RFC 6750 allows
 * in {@code error_description} so a challenge can never be broken open.
 */
public final class Refusal {
  private static final CharSequence PROBLEM_JSON =
      HttpHeaders.createOptimized("application/problem+json");
  private static final CharSequence NO_STORE = HttpHeaders.createOptimized("no-store");
  private static final CharSequence WWW_AUTHENTICATE =
      HttpHeaders.createOptimized("WWW-Authenticate");

  private Refusal() {}

  /**
   * @param challenges the {@code WWW-Authenticate} values (policy decisions: 400/401/403), one
   *     header each, or empty
   * @param close ask the client to close the connection (an unread request body is pending)
   */
  public static void send(
      HttpServerResponse res, List<String> challenges, GateFailure f, boolean close) {
    res.setStatusCode(f.status());
    MultiMap h = res.headers();
    h.set(HttpHeaders.CONTENT_TYPE, PROBLEM_JSON);
    h.set(HttpHeaders.CACHE_CONTROL, NO_STORE);
    for (String c : challenges) {
      h.add(WWW_AUTHENTICATE, c);
    }
    if (close) {
      h.set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    res.end(Buffer.buffer(body(f)));
  }

  /**
   * The complete HTTP/1.1 response for {@code f} with {@code Connection: close}, as bytes to be
   * written straight to a connection that is closed afterwards (the HTTP/1.x response writer would
   * turn the header into {@code keep-alive} for an HTTP/1.0 client that asked for it).
   */
  public static byte[] closing(GateFailure f, String extraHeaders) {
    String body = body(f);
    byte[] b = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String head =
        "HTTP/1.1 "
            + f.status()
            + " "
            + HttpResponseStatus.valueOf(f.status()).reasonPhrase()
            + "\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            + "Cache-Control: no-store\r\n"
            + extraHeaders
            + "Content-Length: "
            + b.length
            + "\r\n\r\n";
    byte[] h = head.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    byte[] out = java.util.Arrays.copyOf(h, h.length + b.length);
    System.arraycopy(b, 0, out, h.length, b.length);
    return out;
  }

  /**
   * The {@code WWW-Authenticate} value for {@code f}.
   *
   * @param realm the scheme and its fixed parameters, e.g. {@code Bearer realm="ns/name"}
   */
  public static String challenge(String realm, GateFailure f) {
    if (f.error() == null) {
      return realm;
    }
    StringBuilder sb = new StringBuilder(realm.length() + 96).append(realm);
    sb.append(", error=\"").append(f.error()).append('"');
    if (f.description() != null && !f.description().isEmpty()) {
      sb.append(", error_description=\"").append(safe(f.description())).append('"');
    }
    if (!f.requiredScopes().isEmpty()) {
      sb.append(", scope=\"").append(safe(String.join(" ", f.requiredScopes()))).append('"');
    }
    return sb.toString();
  }

  static String body(GateFailure f) {
    StringBuilder sb = new StringBuilder(192);
    sb.append("{\"type\":");
    Json.quote(sb, "https://tokengate.io/problems/" + f.reason());
    sb.append(",\"title\":");
    Json.quote(sb, HttpResponseStatus.valueOf(f.status()).reasonPhrase());
    sb.append(",\"status\":").append(f.status());
    sb.append(",\"detail\":");
    Json.quote(sb, f.description());
    return sb.append('}').toString();
  }

  /** RFC 6750 section 3: error_description and scope use %x20-21 / %x23-5B / %x5D-7E only. */
  static String safe(String s) {
    StringBuilder sb = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
      if (!ok && sb == null) {
        sb = new StringBuilder(s.length()).append(s, 0, i);
      }
      if (sb != null) {
        sb.append(ok ? c : c == '"' ? '\'' : ' ');
      }
    }
    return sb == null ? s : sb.toString();
  }
}
