package io.tokengate.sidecar.http;

import io.tokengate.sidecar.validation.GateFailure;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.util.Base64;
import java.util.Map;

/**
 * Reads a request head once, as the one place that decides what of it the application may see. A
 * head that cannot be forwarded with one meaning is refused here, before any rule, token or
 * upstream capacity is spent on it:
 *
 * <ul>
 *   <li>one framing per message: {@code Transfer-Encoding} together with {@code Content-Length},
 *       any {@code Transfer-Encoding} in HTTP/1.0 and any coding but {@code chunked} are refused
 *       and the connection closed (RFC 9112 section 6.3), so no body can hide a second request;
 *   <li>header values with control characters (HTTP/2 carries CR and LF where HTTP/1.1 cannot) and
 *       methods that are not upper-case tokens are refused;
 *   <li>hop-by-hop headers are consumed here; {@code TE: trailers} alone is passed on, and only to
 *       an HTTP/2 ({@code H2C}) application (gRPC servers expect it);
 *   <li>only a well-formed WebSocket upgrade is forwarded as an upgrade; {@code h2c} or any other
 *       protocol in {@code Upgrade} is dropped, so the application never switches protocols with
 *       the client behind the gate's back;
 *   <li>headers the sidecar sets (claim headers, {@code X-Forwarded-*}, {@code Forwarded}, {@code
 *       X-Real-IP}) and those that re-steer method or path ({@code X-HTTP-Method-Override}, {@code
 *       X-Original-URL}, ...) are dropped in every spelling a framework folds into the same name:
 *       case, and {@code _} for {@code -} (CGI, WSGI, Rack and PHP read both as {@code
 *       HTTP_X_AUTH_SUBJECT}).
 * </ul>
 */
final class InboundHeaders {
  /** Why a head is refused; {@code close} when the connection cannot be trusted afterwards. */
  record Refused(GateFailure failure, boolean close) {}

  final MultiMap out = HttpHeaders.headers();
  int bytes;
  boolean hasBody;
  boolean expectContinue;

  /** The client's {@code Sec-WebSocket-Key} when this is a WebSocket upgrade to forward. */
  String webSocketKey;

  /** The method the client asked to override to (kept only when the policy allows overrides). */
  String methodOverride;

  /** The client's X-Forwarded-For chain, kept when forwarded headers are trusted. */
  String forwardedFor;

  Refused refused;

  private InboundHeaders() {}

  /** Reads {@code req}'s head under policy {@code p}; check {@link #refused} first. */
  static InboundHeaders read(HttpServerRequest req, ActivePolicy p) {
    return read(req.version(), req.method().name(), req.headers(), req.isEnded(), p);
  }

  /**
   * Reads a head given as its parts: version, method, header fields, and whether the message ended
   * with its head (an HTTP/2 stream without a body); check {@link #refused} first.
   */
  static InboundHeaders read(
      HttpVersion version, String method, MultiMap headers, boolean ended, ActivePolicy p) {
    InboundHeaders h = new InboundHeaders();
    h.copy(version, method, headers, ended, p);
    return h;
  }

  private void refuse(int status, String reason, String description, boolean close) {
    if (refused == null) {
      refused = new Refused(GateFailure.of(status, reason, description), close);
    }
  }

  private void copy(
      HttpVersion version, String method, MultiMap in, boolean ended, ActivePolicy p) {
    if (!isUpperToken(method)) {
      refuse(
          400,
          "invalid_method",
          "the method must be an upper-case token (methods are case-sensitive)",
          false);
    }
    String connection = null;
    String upgradeTo = null;
    String transferEncoding = null;
    String contentLength = null;
    String wsKey = null;
    String wsVersion = null;
    boolean keepForwarded = p.trustedForwardedHops() > 0;
    for (Map.Entry<String, String> e : in) {
      String name = e.getKey();
      String value = e.getValue();
      bytes += name.length() + value.length() + 4;
      if (name.isEmpty() || name.charAt(0) == ':') {
        continue;
      }
      if (!HopByHop.isSafeValue(value)) {
        refuse(
            400,
            "invalid_header",
            "header '" + printable(name) + "' holds a control character",
            true);
        continue;
      }
      switch (HopByHop.classify(name)) {
        case HopByHop.CONNECTION ->
            connection = connection == null ? value : connection + "," + value;
        case HopByHop.UPGRADE -> upgradeTo = upgradeTo == null ? value : upgradeTo + "," + value;
        case HopByHop.TRANSFER_ENCODING ->
            transferEncoding = transferEncoding == null ? value : transferEncoding + "," + value;
        case HopByHop.EXPECT -> expectContinue = value.equalsIgnoreCase("100-continue");
        case HopByHop.CONTENT_LENGTH -> {
          if (contentLength != null && !contentLength.equals(value.trim())) {
            refuse(400, "invalid_framing", "the request has conflicting Content-Length", true);
          }
          contentLength = value.trim();
          out.add(name, value);
        }
        case HopByHop.TE -> {
          // Passed on only to an HTTP/2 application, where "trailers" is the one value allowed and
          // the sidecar relays the trailers; HTTP/1.1 would need it declared in Connection.
          if (p.upstreamH2c() && value.trim().equalsIgnoreCase("trailers")) {
            out.set(HopByHop.TE_NAME, "trailers");
          }
        }
        case HopByHop.DROP, HopByHop.HOST -> {}
        default -> {
          int kind = IdentityHeaders.classify(name, p);
          switch (kind) {
            case IdentityHeaders.WEBSOCKET_KEY -> {
              wsKey = value;
              out.add(name, value);
            }
            case IdentityHeaders.WEBSOCKET_VERSION -> {
              wsVersion = value;
              out.add(name, value);
            }
            case IdentityHeaders.METHOD_OVERRIDE -> {
              if (p.allowMethodOverride() && IdentityHeaders.isCanonical(name)) {
                methodOverride = value.trim();
                out.add(name, value);
              }
            }
            case IdentityHeaders.FORWARDED_FOR -> {
              if (keepForwarded && IdentityHeaders.isCanonical(name)) {
                forwardedFor = forwardedFor == null ? value : forwardedFor + ", " + value;
              }
            }
            case IdentityHeaders.FORWARDED -> {
              if (keepForwarded && IdentityHeaders.isCanonical(name)) {
                out.add(name, value);
              }
            }
            case IdentityHeaders.SET_BY_GATE -> {}
            default -> out.add(name, value);
          }
        }
      }
    }
    if (transferEncoding != null) {
      if (version == HttpVersion.HTTP_1_0) {
        refuse(
            400,
            "invalid_framing",
            "Transfer-Encoding is not allowed in an HTTP/1.0 request",
            true);
      } else if (contentLength != null) {
        refuse(
            400,
            "invalid_framing",
            "the request has both Transfer-Encoding and Content-Length",
            true);
      } else if (!transferEncoding.trim().equalsIgnoreCase("chunked")) {
        refuse(
            400,
            "invalid_framing",
            "the only transfer coding accepted in a request is 'chunked'",
            true);
      }
    }
    if (contentLength != null && parseLength(contentLength) < 0) {
      refuse(400, "invalid_framing", "the request has an invalid Content-Length", true);
    }
    boolean upgradeRequested = false;
    if (connection != null) {
      for (String token : connection.split(",")) {
        String t = token.trim();
        if (t.equalsIgnoreCase("upgrade")) {
          upgradeRequested = true;
        } else if (!t.isEmpty() && HopByHop.classify(t) == HopByHop.OTHER) {
          // A header the client declared hop-by-hop is not forwarded, unless it is an
          // end-to-end header the sidecar relies on being passed (then it simply stays).
          if (!t.equalsIgnoreCase("traceparent")) {
            out.remove(t);
          }
        }
      }
    }
    if (upgradeRequested
        && upgradeTo != null
        && upgradeTo.trim().equalsIgnoreCase("websocket")
        && version == HttpVersion.HTTP_1_1) {
      if (!isWebSocketKey(wsKey) || wsVersion == null || !wsVersion.trim().equals("13")) {
        refuse(
            400,
            "invalid_upgrade",
            "a WebSocket upgrade needs a valid Sec-WebSocket-Key and Sec-WebSocket-Version: 13",
            true);
      } else {
        webSocketKey = wsKey.trim();
        out.set(HttpHeaders.CONNECTION, HttpHeaders.UPGRADE);
        out.set(HttpHeaders.UPGRADE, "websocket");
      }
    }
    if (webSocketKey == null) {
      // Not forwarded as an upgrade: the WebSocket handshake headers mean nothing to the
      // application then, and must not let it believe one was accepted.
      out.remove("Sec-WebSocket-Key");
    }
    if (version == HttpVersion.HTTP_2) {
      hasBody = !ended;
    } else {
      hasBody =
          transferEncoding != null || (contentLength != null && parseLength(contentLength) > 0);
    }
  }

  /** RFC 9110 section 9.1 tokens, restricted to upper case: "get" is not GET. */
  static boolean isUpperToken(String m) {
    if (m.isEmpty()) {
      return false;
    }
    for (int i = 0; i < m.length(); i++) {
      char c = m.charAt(i);
      boolean ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** RFC 6455 section 4.1: the base64 encoding of 16 bytes. */
  static boolean isWebSocketKey(String key) {
    if (key == null) {
      return false;
    }
    String k = key.trim();
    if (k.length() != 24) {
      return false;
    }
    try {
      return Base64.getDecoder().decode(k).length == 16;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  static long parseLength(String value) {
    if (value.isEmpty() || value.length() > 18) {
      return -1;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
    }
    return Long.parseLong(value);
  }

  private static String printable(String name) {
    StringBuilder sb = new StringBuilder(Math.min(name.length(), 64));
    for (int i = 0; i < name.length() && i < 64; i++) {
      char c = name.charAt(i);
      sb.append(c > 0x20 && c < 0x7f ? c : '?');
    }
    return sb.toString();
  }
}
