package io.tokengate.sidecar.http;

/**
 * The ids of a W3C Trace Context {@code traceparent} header ({@code
 * version-traceid-parentid-flags}), for the decision log's {@code trace_id} and {@code span_id}.
 * Only a well-formed header yields ids: lower-case hex of the exact lengths, not all zeros, version
 * not {@code ff}; anything else is ignored (the header itself is forwarded untouched).
 */
record TraceContext(String traceId, String parentId) {

  /** The ids of {@code header}, or null when it is absent or malformed. */
  static TraceContext parse(String header) {
    // 2 (version) + 1 + 32 (trace id) + 1 + 16 (parent id) + 1 + 2 (flags); a future version may
    // append fields after another '-'.
    if (header == null || header.length() < 55) {
      return null;
    }
    if (header.charAt(2) != '-' || header.charAt(35) != '-' || header.charAt(52) != '-') {
      return null;
    }
    if (header.length() > 55 && (header.startsWith("00") || header.charAt(55) != '-')) {
      return null;
    }
    String version = header.substring(0, 2);
    String traceId = header.substring(3, 35);
    String parentId = header.substring(36, 52);
    if (!hex(version) || version.equals("ff") || !hex(header.substring(53, 55))) {
      return null;
    }
    if (!hex(traceId) || !hex(parentId) || zeros(traceId) || zeros(parentId)) {
      return null;
    }
    return new TraceContext(traceId, parentId);
  }

  private static boolean hex(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  private static boolean zeros(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) != '0') {
        return false;
      }
    }
    return true;
  }
}
