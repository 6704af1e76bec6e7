package io.tokengate.sidecar.http;

/**
 * Names of inbound headers that carry identity, origin or routing the application trusts, matched
 * the way frameworks fold them: case-insensitively and with {@code _} equal to {@code -} (CGI,
 * WSGI, Rack and PHP expose both {@code X-Auth-Subject} and {@code X_Auth_Subject} as {@code
 * HTTP_X_AUTH_SUBJECT}). Compared in place, without allocating.
 */
final class IdentityHeaders {
  static final int OTHER = 0;

  /** Set by the gate from what it verified or saw: every client copy is dropped. */
  static final int SET_BY_GATE = 1;

  /** {@code X-Forwarded-For}: replaced, or extended when hops are trusted. */
  static final int FORWARDED_FOR = 2;

  /** Other forwarding headers: replaced, or kept when hops are trusted. */
  static final int FORWARDED = 3;

  /** Method overrides: dropped unless the policy allows them. */
  static final int METHOD_OVERRIDE = 4;

  static final int WEBSOCKET_KEY = 5;
  static final int WEBSOCKET_VERSION = 6;

  private static final String[] SET_BY_GATE_NAMES = {
    "x-real-ip", "x-original-url", "x-rewrite-url", "x-original-method", "x-forwarded-method",
  };
  private static final String[] FORWARDED_NAMES = {
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-forwarded-scheme",
    "x-forwarded-ssl",
    "forwarded",
  };
  private static final String[] METHOD_OVERRIDE_NAMES = {
    "x-http-method-override", "x-http-method", "x-method-override",
  };

  private IdentityHeaders() {}

  static int classify(String name, ActivePolicy p) {
    if (name.length() < 9) {
      // Shorter than any fixed name; only a claim header can match.
      return isClaimHeader(name, p) ? SET_BY_GATE : OTHER;
    }
    if (folds(name, "x-forwarded-for")) {
      return FORWARDED_FOR;
    }
    for (String n : SET_BY_GATE_NAMES) {
      if (folds(name, n)) {
        return SET_BY_GATE;
      }
    }
    for (String n : FORWARDED_NAMES) {
      if (folds(name, n)) {
        return FORWARDED;
      }
    }
    for (String n : METHOD_OVERRIDE_NAMES) {
      if (folds(name, n)) {
        return METHOD_OVERRIDE;
      }
    }
    if (folds(name, "sec-websocket-key")) {
      return isCanonical(name) ? WEBSOCKET_KEY : SET_BY_GATE;
    }
    if (folds(name, "sec-websocket-version")) {
      return isCanonical(name) ? WEBSOCKET_VERSION : SET_BY_GATE;
    }
    return isClaimHeader(name, p) ? SET_BY_GATE : OTHER;
  }

  private static boolean isClaimHeader(String name, ActivePolicy p) {
    for (String h : p.claimHeaderNames()) {
      if (folds(name, h)) {
        return true;
      }
    }
    return false;
  }

  /** The spelling with hyphens (an underscore twin is never honoured, only dropped). */
  static boolean isCanonical(String name) {
    return name.indexOf('_') < 0;
  }

  /**
   * True when {@code name} equals {@code lower} (lower case, hyphenated) after case folding and
   * mapping {@code _} to {@code -}.
   */
  static boolean folds(String name, String lower) {
    if (name.length() != lower.length()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '_') {
        c = '-';
      } else if (c >= 'A' && c <= 'Z') {
        c = (char) (c + 32);
      }
      char t = lower.charAt(i);
      if (t == '_') {
        t = '-';
      }
      if (c != t) {
        return false;
      }
    }
    return true;
  }
}
