package io.tokengate.sidecar.validation;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * The form in which a DPoP proof's {@code htu} and the request's URL are compared (RFC 9449 section
 * 4.3: without query and fragment, after RFC 3986 syntax- and scheme-based normalisation): scheme
 * and host in lower case, the scheme's default port dropped, an empty path as {@code /}, dot
 * segments removed, percent-escapes of unreserved characters decoded and the others in upper case.
 */
final class TargetUri {
  private TargetUri() {}

  /** The normal form of {@code url}, or null when it is not an absolute http(s) URL. */
  static String normalize(String url) {
    if (url == null) {
      return null;
    }
    URI u;
    try {
      u = new URI(url).normalize();
    } catch (URISyntaxException e) {
      return null;
    }
    String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
    String host = u.getHost();
    if (host == null || !("http".equals(scheme) || "https".equals(scheme))) {
      return null;
    }
    int port = u.getPort();
    if (("http".equals(scheme) && port == 80) || ("https".equals(scheme) && port == 443)) {
      port = -1;
    }
    String path = u.getRawPath();
    if (path == null || path.isEmpty()) {
      path = "/";
    }
    StringBuilder sb = new StringBuilder(url.length());
    sb.append(scheme).append("://").append(host.toLowerCase(Locale.ROOT));
    if (port >= 0) {
      sb.append(':').append(port);
    }
    return escapes(path, sb) ? sb.toString() : null;
  }

  private static boolean escapes(String path, StringBuilder sb) {
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c != '%') {
        sb.append(c);
        continue;
      }
      if (i + 2 >= path.length()) {
        return false;
      }
      int hi = Character.digit(path.charAt(i + 1), 16);
      int lo = Character.digit(path.charAt(i + 2), 16);
      if (hi < 0 || lo < 0) {
        return false;
      }
      char decoded = (char) (hi * 16 + lo);
      if (unreserved(decoded)) {
        sb.append(decoded);
      } else {
        sb.append('%')
            .append(Character.toUpperCase(path.charAt(i + 1)))
            .append(Character.toUpperCase(path.charAt(i + 2)));
      }
      i += 2;
    }
    return true;
  }

  private static boolean unreserved(char c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '.'
        || c == '_'
        || c == '~';
  }
}
