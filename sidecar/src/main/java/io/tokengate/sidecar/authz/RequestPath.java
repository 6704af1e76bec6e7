package io.tokengate.sidecar.authz;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A request path normalised once, before rules see it: dot segments resolved ({@code /a/../b},
 * {@code %2e%2e}), empty segments collapsed ({@code //}), percent-encoded unreserved characters
 * decoded and other escapes upper-cased (RFC 3986 section 6.2.2). The same {@link #path()} is what
 * the application receives, so the rule that decided and the resource that is served cannot drift
 * apart.
 *
 * <p>What cannot be normalised safely is refused: an undecodable escape, an encoded {@code /} or
 * {@code \} (an application may decode it into a separator after we matched), a backslash, a NUL or
 * control character, and a path that climbs above the root.
 *
 * @param path the normalised path, starting with {@code /}; a trailing slash is kept
 * @param query the raw query without {@code ?}, or null
 * @param segments the segments rules match against: path parameters ({@code ;jsessionid=..})
 *     stripped, no trailing empty segment
 */
public record RequestPath(String path, String query, String[] segments) {
  private static final String[] NO_SEGMENTS = new String[0];

  /** The request target as forwarded: normalised path plus the untouched query. */
  public String uri() {
    return query == null ? path : path + "?" + query;
  }

  /**
   * Parses a request target (origin form {@code /p?q}, or absolute form {@code http://h/p?q}).
   *
   * @throws InvalidPathException naming what is wrong
   */
  public static RequestPath parse(String target) {
    return parse(target, false);
  }

  /**
   * As {@link #parse(String)}; with {@code keepEscapedSeparators}, {@code %2F}, {@code %5C} and
   * {@code %25}-escapes of a dot or separator are kept as they are (never decoded) instead of
   * refused.
   */
  public static RequestPath parse(String target, boolean keepEscapedSeparators) {
    if (target == null || target.isEmpty()) {
      throw new InvalidPathException("the request target is empty");
    }
    String rest = target;
    if (rest.charAt(0) != '/') {
      rest = stripAuthority(rest);
    }
    int q = rest.indexOf('?');
    String rawPath = q < 0 ? rest : rest.substring(0, q);
    String query = q < 0 ? null : checkQuery(rest.substring(q + 1));
    if (isAlreadyNormal(rawPath)) {
      return new RequestPath(rawPath, query, split(rawPath));
    }
    return normalise(rawPath, query, keepEscapedSeparators);
  }

  private static String stripAuthority(String target) {
    int schemeEnd = target.indexOf("://");
    String scheme = schemeEnd < 0 ? "" : target.substring(0, schemeEnd);
    if (!scheme.equalsIgnoreCase("http") && !scheme.equalsIgnoreCase("https")) {
      throw new InvalidPathException("the request target must be a path starting with '/'");
    }
    int slash = target.indexOf('/', schemeEnd + 3);
    int query = target.indexOf('?', schemeEnd + 3);
    if (slash < 0 || (query >= 0 && query < slash)) {
      return query < 0 ? "/" : "/" + target.substring(query);
    }
    return target.substring(slash);
  }

  // The common case: nothing to decode, resolve or collapse. Avoids allocation on the hot path.
  private static boolean isAlreadyNormal(String p) {
    char prev = 0;
    for (int i = 0; i < p.length(); i++) {
      char c = p.charAt(i);
      if (c <= 0x20 || c >= 0x7f || c == '%' || c == '\\' || c == ';' || c == '#') {
        return false;
      }
      if (prev == '/' && (c == '/' || c == '.')) {
        return false;
      }
      prev = c;
    }
    return true;
  }

  private static String[] split(String path) {
    int end = path.length();
    if (end > 1 && path.charAt(end - 1) == '/') {
      end--;
    }
    if (end <= 1) {
      return NO_SEGMENTS;
    }
    int count = 1;
    for (int i = 1; i < end; i++) {
      if (path.charAt(i) == '/') {
        count++;
      }
    }
    String[] out = new String[count];
    int start = 1;
    int n = 0;
    for (int i = 1; i <= end; i++) {
      if (i == end || path.charAt(i) == '/') {
        out[n++] = path.substring(start, i);
        start = i + 1;
      }
    }
    return out;
  }

  /**
   * The query is forwarded as sent, so it is only checked: no control character or whitespace (an
   * HTTP/2 {@code :path} can carry what an HTTP/1.1 request line cannot), and non-ASCII bytes must
   * be UTF-8. The decoder hands bytes over as chars 0x80-0xFF; they are turned back into the
   * characters they encode, so the upstream request carries exactly the client's bytes.
   */
  static String checkQuery(String query) {
    boolean high = false;
    for (int i = 0; i < query.length(); i++) {
      char c = query.charAt(i);
      if (c < 0x21 || c == 0x7f || c == '#') {
        throw new InvalidPathException(
            "the query holds a control character, whitespace or a fragment ('#')");
      }
      if (c > 0xff) {
        throw new InvalidPathException("the query holds a character that is not a byte");
      }
      high |= c >= 0x80;
    }
    if (!high) {
      return query;
    }
    byte[] bytes = query.getBytes(StandardCharsets.ISO_8859_1);
    return decodeUtf8(bytes, "the query holds bytes that are not UTF-8");
  }

  private static String decodeUtf8(byte[] bytes, String problem) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new InvalidPathException(problem);
    }
  }

  /**
   * The bytes a normalised segment stands for must be UTF-8: overlong forms ({@code %C0%AE} for
   * '.', {@code %C0%AF} for '/') and other invalid sequences are what some decoders turn into
   * separators or dots after the rules matched.
   */
  private static void checkUtf8(String seg) {
    if (seg.indexOf('%') < 0) {
      return;
    }
    byte[] bytes = new byte[seg.length()];
    int n = 0;
    boolean high = false;
    for (int i = 0; i < seg.length(); i++) {
      char c = seg.charAt(i);
      if (c == '%' && i + 2 < seg.length()) {
        int b = hex(seg.charAt(i + 1)) * 16 + hex(seg.charAt(i + 2));
        high |= b >= 0x80;
        bytes[n++] = (byte) b;
        i += 2;
      } else {
        bytes[n++] = (byte) c;
      }
    }
    if (high) {
      decodeUtf8(
          Arrays.copyOf(bytes, n),
          "the path holds an escape sequence that is not UTF-8 (such as an overlong form)");
    }
  }

  private static RequestPath normalise(String rawPath, String query, boolean keepSeparators) {
    List<String> segments = new ArrayList<>();
    String[] raw = rawPath.split("/", -1);
    boolean trailingSlash = false;
    // raw[0] is the empty string before the leading '/'.
    for (int i = 1; i < raw.length; i++) {
      String seg = normaliseSegment(raw[i], keepSeparators);
      checkUtf8(seg);
      int semi = seg.indexOf(';');
      String bare = semi < 0 ? seg : seg.substring(0, semi);
      boolean last = i == raw.length - 1;
      if (seg.isEmpty()) {
        trailingSlash = last;
        continue;
      }
      if (bare.equals(".") || bare.equals("..")) {
        if (semi >= 0) {
          // Some servers (Tomcat) treat "..;x" as "..": refuse rather than guess.
          throw new InvalidPathException("a dot segment with path parameters is refused");
        }
        if (bare.equals("..")) {
          if (segments.isEmpty()) {
            throw new InvalidPathException("the path climbs above the root");
          }
          segments.remove(segments.size() - 1);
        }
        trailingSlash = last;
        continue;
      }
      segments.add(seg);
      trailingSlash = false;
    }
    StringBuilder sb = new StringBuilder(rawPath.length());
    for (String s : segments) {
      sb.append('/').append(s);
    }
    if (segments.isEmpty() || trailingSlash) {
      sb.append('/');
    }
    String[] match = new String[segments.size()];
    for (int i = 0; i < match.length; i++) {
      String s = segments.get(i);
      int semi = s.indexOf(';');
      match[i] = semi < 0 ? s : s.substring(0, semi);
    }
    return new RequestPath(sb.toString(), query, match);
  }

  /**
   * Decodes escapes of unreserved characters, upper-cases the others and percent-encodes raw
   * non-ASCII bytes. Also used for the literal parts of rule patterns, so both sides compare in the
   * same form.
   */
  static String normaliseSegment(String seg) {
    return normaliseSegment(seg, false);
  }

  static String normaliseSegment(String seg, boolean keepSeparators) {
    StringBuilder sb = null;
    for (int i = 0; i < seg.length(); i++) {
      char c = seg.charAt(i);
      if (c == '%') {
        if (i + 2 >= seg.length() || hex(seg.charAt(i + 1)) < 0 || hex(seg.charAt(i + 2)) < 0) {
          throw new InvalidPathException("the path holds a malformed percent-escape");
        }
        int b = hex(seg.charAt(i + 1)) * 16 + hex(seg.charAt(i + 2));
        if (sb == null) {
          sb = new StringBuilder(seg.length()).append(seg, 0, i);
        }
        boolean separator = b == '/' || b == '\\';
        boolean escapedEscape = b == '%' && isEscapedSeparatorOrDot(seg, i + 3);
        if (separator || escapedEscape) {
          if (!keepSeparators) {
            throw new InvalidPathException(
                separator
                    ? "an encoded '/' or '\\' in the path is refused: the application could decode"
                        + " it into a separator after the rules matched"
                    : "a double-encoded '.', '/' or '\\' (%25..) in the path is refused: the"
                        + " application could decode it twice");
          }
          // Kept as an escape, never decoded: rules see it as a literal, not a separator.
          sb.append('%').append(HEX[b >> 4]).append(HEX[b & 0xf]);
          i += 2;
          continue;
        }
        if (b < 0x20 || b == 0x7f) {
          throw new InvalidPathException("the path holds an encoded control character");
        }
        if (isUnreserved(b)) {
          sb.append((char) b);
        } else {
          sb.append('%').append(HEX[b >> 4]).append(HEX[b & 0xf]);
        }
        i += 2;
        continue;
      }
      if (c < 0x21 || c == 0x7f || c > 0xff) {
        throw new InvalidPathException("the path holds a control character or whitespace");
      }
      if (c == '\\') {
        throw new InvalidPathException("a backslash in the path is refused");
      }
      if (c == '#') {
        throw new InvalidPathException("a fragment ('#') is not part of a request target");
      }
      if (c >= 0x80) {
        // Raw bytes of a UTF-8 path, as the HTTP decoder hands them over: escape them.
        if (sb == null) {
          sb = new StringBuilder(seg.length() + 8).append(seg, 0, i);
        }
        sb.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
        continue;
      }
      if (sb != null) {
        sb.append(c);
      }
    }
    return sb == null ? seg : sb.toString();
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  /** True when {@code seg} at {@code at} reads {@code 2E}, {@code 2F} or {@code 5C}. */
  private static boolean isEscapedSeparatorOrDot(String seg, int at) {
    if (at + 1 >= seg.length()) {
      return false;
    }
    int b = hex(seg.charAt(at)) * 16 + hex(seg.charAt(at + 1));
    return hex(seg.charAt(at)) >= 0
        && hex(seg.charAt(at + 1)) >= 0
        && (b == '.' || b == '/' || b == '\\');
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  private static boolean isUnreserved(int b) {
    return (b >= 'a' && b <= 'z')
        || (b >= 'A' && b <= 'Z')
        || (b >= '0' && b <= '9')
        || b == '-'
        || b == '.'
        || b == '_'
        || b == '~';
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RequestPath r
        && r.path.equals(path)
        && java.util.Objects.equals(r.query, query)
        && Arrays.equals(r.segments, segments);
  }

  @Override
  public int hashCode() {
    return path.hashCode() * 31 + java.util.Objects.hashCode(query);
  }

  @Override
  public String toString() {
    return uri();
  }

  /** A request path that cannot be normalised safely; answered 400. */
  public static final class InvalidPathException extends RuntimeException {
    public InvalidPathException(String message) {
      super(message, null, false, false);
    }
  }
}
