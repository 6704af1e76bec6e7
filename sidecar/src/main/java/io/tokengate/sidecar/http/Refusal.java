package io.tokengate.sidecar.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.tokengate.sidecar.log.Json;
import io.tokengate.sidecar.validation.GateFailure;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
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

  private static final CharSequence GRPC = HttpHeaders.createOptimized("application/grpc");
  private static final CharSequence GRPC_STATUS = HttpHeaders.createOptimized("grpc-status");
  private static final CharSequence GRPC_MESSAGE = HttpHeaders.createOptimized("grpc-message");

  private Refusal() {}

  /**
   * Answers {@code f} to {@code req}.
   *
   * @param challenges the {@code WWW-Authenticate} values (policy decisions: 400/401/403), one
   *     header each, or empty
   * @param close the connection is not to be reused (an unread request body is pending, or load is
   *     shed): an HTTP/1.x client is told {@code Connection: close}. An HTTP/2 response carries no
   *     connection-specific field (RFC 9113 section 8.2.2), and its stream ends on its own.
   */
  public static void send(
      HttpServerRequest req, List<String> challenges, GateFailure f, boolean close) {
    HttpServerResponse res = req.response();
    res.setStatusCode(f.status());
    MultiMap h = res.headers();
    h.set(HttpHeaders.CONTENT_TYPE, PROBLEM_JSON);
    h.set(HttpHeaders.CACHE_CONTROL, NO_STORE);
    for (String c : challenges) {
      h.add(WWW_AUTHENTICATE, c);
    }
    if (close && req.version() != HttpVersion.HTTP_2) {
      h.set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    }
    res.end(Buffer.buffer(body(f)));
  }

  /**
   * Whether {@code req} is a gRPC call (HTTP/2 with {@code content-type: application/grpc} or
   * {@code application/grpc+<codec>}): its refusals are answered in gRPC's shape, which a gRPC
   * client reads as a status instead of a transport error.
   */
  public static boolean isGrpc(HttpServerRequest req) {
    if (req.version() != HttpVersion.HTTP_2) {
      return false;
    }
    String type = req.headers().get(HttpHeaders.CONTENT_TYPE);
    if (type == null || !type.regionMatches(true, 0, "application/grpc", 0, 16)) {
      return false;
    }
    if (type.length() == 16) {
      return true;
    }
    char next = type.charAt(16);
    // application/grpc-web carries its trailers in the body: not this shape.
    return next == '+' || next == ';';
  }

  /**
   * Answers {@code f} to a gRPC call as a "Trailers-Only" response: HTTP 200, {@code content-type:
   * application/grpc}, {@code grpc-status} and {@code grpc-message} in one header block that ends
   * the stream, and the same RFC 6750 challenges in {@code www-authenticate} as a plain refusal.
   */
  public static void sendGrpc(HttpServerResponse res, List<String> challenges, GateFailure f) {
    res.setStatusCode(200);
    MultiMap h = res.headers();
    h.set(HttpHeaders.CONTENT_TYPE, GRPC);
    h.set(GRPC_STATUS, Integer.toString(grpcStatus(f.status())));
    h.set(GRPC_MESSAGE, grpcMessage(f.description()));
    for (String c : challenges) {
      h.add(WWW_AUTHENTICATE, c);
    }
    res.end();
  }

  /**
   * The gRPC status code that stands for the HTTP status {@code status} of a refusal: 16
   * UNAUTHENTICATED for 401, 7 PERMISSION_DENIED for 403, 14 UNAVAILABLE where a retry may succeed
   * (502, 503, 504), and the closest code for the rest.
   */
  static int grpcStatus(int status) {
    return switch (status) {
      case 400 -> 3; // INVALID_ARGUMENT
      case 401 -> 16; // UNAUTHENTICATED
      case 403 -> 7; // PERMISSION_DENIED
      case 404, 405, 501 -> 12; // UNIMPLEMENTED
      case 429, 431 -> 8; // RESOURCE_EXHAUSTED
      case 502, 503, 504 -> 14; // UNAVAILABLE
      default -> 2; // UNKNOWN
    };
  }

  /** gRPC's percent-encoding of {@code grpc-message}: UTF-8, printable ASCII but '%' kept. */
  static String grpcMessage(String text) {
    if (text == null) {
      return "";
    }
    StringBuilder sb = new StringBuilder(text.length());
    for (byte b : text.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        sb.append((char) c);
      } else {
        sb.append('%').append(HEX[c >>> 4]).append(HEX[c & 0xf]);
      }
    }
    return sb.toString();
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

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
