package io.tokengate.sidecar.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;

/**
 * Sets what the application learns about the client from the sidecar, not from the client: {@code
 * X-Forwarded-For}, {@code X-Forwarded-Proto}, {@code X-Forwarded-Host}, {@code X-Real-IP} and
 * {@code Forwarded}. With no trusted hops (the default) every client-sent copy was dropped by
 * {@link InboundHeaders} and these are written from the connection; with N trusted proxies in
 * front, their {@code X-Forwarded-*} and {@code Forwarded} are kept, the peer is appended to the
 * chain, and the client is the address N entries from the right (as Envoy's {@code
 * xff_num_trusted_hops}).
 */
final class ForwardedHeaders {
  static final CharSequence X_FORWARDED_FOR = HttpHeaders.createOptimized("X-Forwarded-For");
  static final CharSequence X_FORWARDED_PROTO = HttpHeaders.createOptimized("X-Forwarded-Proto");
  static final CharSequence X_FORWARDED_HOST = HttpHeaders.createOptimized("X-Forwarded-Host");
  static final CharSequence X_REAL_IP = HttpHeaders.createOptimized("X-Real-IP");
  static final CharSequence FORWARDED = HttpHeaders.createOptimized("Forwarded");

  private ForwardedHeaders() {}

  /**
   * @param chain the client's X-Forwarded-For (kept only with trusted hops), or null
   */
  static void set(MultiMap out, HttpServerRequest req, String chain, int trustedHops) {
    SocketAddress remote = req.remoteAddress();
    String peer = remote == null ? null : remote.hostAddress();
    String proto = req.isSSL() ? "https" : "http";
    String host = req.headers().get(HttpHeaders.HOST);
    HostAndPort authority = req.authority();
    if (host == null && authority != null) {
      // HTTP/2: the authority pseudo-header.
      host = authority.port() >= 0 ? authority.host() + ":" + authority.port() : authority.host();
    }
    if (trustedHops == 0) {
      if (peer != null) {
        out.set(X_FORWARDED_FOR, peer);
        out.set(X_REAL_IP, peer);
      }
      out.set(X_FORWARDED_PROTO, proto);
      if (host != null && HopByHop.isSafeValue(host)) {
        out.set(X_FORWARDED_HOST, host);
      }
      StringBuilder fwd = new StringBuilder(64);
      if (peer != null) {
        fwd.append("for=").append(peer.indexOf(':') >= 0 ? "\"[" + peer + "]\"" : peer).append(';');
      }
      if (host != null && isToken(host)) {
        fwd.append("host=").append(host).append(';');
      }
      fwd.append("proto=").append(proto);
      out.set(FORWARDED, fwd.toString());
      return;
    }
    String full = chain == null ? peer : peer == null ? chain : chain + ", " + peer;
    if (full != null) {
      out.set(X_FORWARDED_FOR, full);
      String client = fromRight(full, trustedHops);
      if (client != null) {
        out.set(X_REAL_IP, client);
      }
    }
    if (!out.contains(X_FORWARDED_PROTO)) {
      out.set(X_FORWARDED_PROTO, proto);
    }
    if (!out.contains(X_FORWARDED_HOST) && host != null && HopByHop.isSafeValue(host)) {
      out.set(X_FORWARDED_HOST, host);
    }
  }

  /**
   * The URL the client sent the request to, without query: scheme and host as the sidecar saw them
   * or, with trusted hops, as the outermost trusted proxy reports them in {@code X-Forwarded-Proto}
   * and {@code X-Forwarded-Host} (the entry {@code trustedHops - 1} from the right of each list);
   * the path exactly as sent. Null when the request gives no host.
   */
  static String externalUrl(HttpServerRequest req, int trustedHops) {
    String proto = req.isSSL() ? "https" : "http";
    String host = req.headers().get(HttpHeaders.HOST);
    HostAndPort authority = req.authority();
    if (host == null && authority != null) {
      host = authority.port() >= 0 ? authority.host() + ":" + authority.port() : authority.host();
    }
    if (trustedHops > 0) {
      String fwdProto = req.headers().get(X_FORWARDED_PROTO);
      if (fwdProto != null && !fwdProto.isBlank()) {
        proto = fromRight(fwdProto, trustedHops - 1);
      }
      String fwdHost = req.headers().get(X_FORWARDED_HOST);
      if (fwdHost != null && !fwdHost.isBlank()) {
        host = fromRight(fwdHost, trustedHops - 1);
      }
    }
    if (host == null || proto == null) {
      return null;
    }
    String uri = req.uri();
    String path;
    if (uri.startsWith("/")) {
      int q = uri.indexOf('?');
      path = q < 0 ? uri : uri.substring(0, q);
    } else {
      // Absolute form (a client talking to a proxy): its path, as sent.
      path = req.path();
    }
    return proto + "://" + host + (path == null ? "" : path);
  }

  /** The entry {@code n} places from the right of a comma list (0: the last), or the first. */
  static String fromRight(String list, int n) {
    String[] parts = list.split(",");
    int i = Math.max(0, parts.length - 1 - n);
    String v = parts[i].trim();
    return v.isEmpty() ? null : v;
  }

  private static boolean isToken(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '-'
              || c == ':'
              || c == '_';
      if (!ok) {
        return false;
      }
    }
    return !s.isEmpty();
  }
}
