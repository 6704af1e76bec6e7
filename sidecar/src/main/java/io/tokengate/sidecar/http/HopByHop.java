package io.tokengate.sidecar.http;

import io.vertx.core.MultiMap;
import java.util.Map;

/**
 * Classifies header names for forwarding (RFC 9110 section 7.6.1): hop-by-hop headers are consumed
 * by each hop and never passed on. Case-insensitive, without allocating: lengths are compared
 * before characters. Also copies the application's response fields on without them.
 */
final class HopByHop {
  static final int OTHER = 0;
  static final int DROP = 1;
  static final int CONNECTION = 2;
  static final int UPGRADE = 3;
  static final int TRANSFER_ENCODING = 4;
  static final int EXPECT = 5;
  static final int CONTENT_LENGTH = 6;
  static final int HOST = 7;

  /**
   * {@code TE}: hop-by-hop, but {@code TE: trailers} is the one value HTTP/2 allows, and gRPC
   * servers expect it (it says the proxy in front passes trailers on).
   */
  static final int TE = 8;

  static final String TE_NAME = "te";

  private HopByHop() {}

  static int classify(String name) {
    switch (name.length()) {
      case 2:
        return name.equalsIgnoreCase("te") ? TE : OTHER;
      case 4:
        return name.equalsIgnoreCase("host") ? HOST : OTHER;
      case 6:
        return name.equalsIgnoreCase("expect") ? EXPECT : OTHER;
      case 7:
        if (name.equalsIgnoreCase("upgrade")) {
          return UPGRADE;
        }
        return name.equalsIgnoreCase("trailer") ? DROP : OTHER;
      case 10:
        if (name.equalsIgnoreCase("connection")) {
          return CONNECTION;
        }
        return name.equalsIgnoreCase("keep-alive") ? DROP : OTHER;
      case 14:
        return name.equalsIgnoreCase("content-length") ? CONTENT_LENGTH : OTHER;
      case 16:
        return name.equalsIgnoreCase("proxy-connection") ? DROP : OTHER;
      case 17:
        return name.equalsIgnoreCase("transfer-encoding") ? TRANSFER_ENCODING : OTHER;
      case 18:
        return name.equalsIgnoreCase("proxy-authenticate") ? DROP : OTHER;
      case 19:
        return name.equalsIgnoreCase("proxy-authorization") ? DROP : OTHER;
      default:
        return OTHER;
    }
  }

  /** A header value may not carry CR, LF, NUL or other controls (header injection). */
  static boolean isSafeValue(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return false;
      }
    }
    return true;
  }

  /**
   * Copies the application's response header fields: end-to-end ones, framing ({@code
   * Content-Length}) kept, and none the application's {@code Connection} names.
   */
  static void copyResponseHeaders(MultiMap from, MultiMap to) {
    String connection = null;
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey();
      if (name.isEmpty() || name.charAt(0) == ':') {
        continue;
      }
      switch (classify(name)) {
        case CONNECTION -> connection = e.getValue();
        case OTHER, CONTENT_LENGTH, HOST, EXPECT -> to.add(name, e.getValue());
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

  /** Trailers are end-to-end fields only: no framing, routing or connection fields. */
  static void copyTrailers(MultiMap from, MultiMap to) {
    for (Map.Entry<String, String> e : from) {
      String name = e.getKey();
      if (!name.isEmpty()
          && name.charAt(0) != ':'
          && classify(name) == OTHER
          && isSafeValue(e.getValue())) {
        to.add(name, e.getValue());
      }
    }
  }
}
