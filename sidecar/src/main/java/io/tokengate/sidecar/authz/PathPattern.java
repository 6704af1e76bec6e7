package io.tokengate.sidecar.authz;

import java.util.ArrayList;
import java.util.List;

/**
 * A rule's path pattern: segments separated by {@code /}; {@code *} matches any characters within
 * one segment, {@code **} as a whole segment matches any number of segments, including none (so
 * {@code /admin/**} also covers {@code /admin} itself). A trailing slash is not significant on
 * either side: {@code /healthz} matches {@code /healthz/}. A pattern compiled to fold case matches
 * letters whatever their case, for applications whose router does the same.
 */
public final class PathPattern {
  private static final String GLOBSTAR = "**";

  private final String text;
  private final String[] segments;
  private final boolean hasGlobstar;
  private final boolean foldCase;

  private PathPattern(String text, String[] segments, boolean foldCase) {
    this.text = text;
    this.segments = segments;
    this.foldCase = foldCase;
    boolean g = false;
    for (String s : segments) {
      g |= s.equals(GLOBSTAR);
    }
    this.hasGlobstar = g;
  }

  /**
   * Compiles a pattern.
   *
   * @throws IllegalArgumentException with a message saying what is wrong with it
   */
  public static PathPattern parse(String text) {
    return parse(text, false);
  }

  /**
   * Compiles a pattern that matches letters case-sensitively, or whatever their case when {@code
   * foldCase} is set.
   *
   * @throws IllegalArgumentException with a message saying what is wrong with it
   */
  public static PathPattern parse(String text, boolean foldCase) {
    if (text == null || text.isEmpty() || text.charAt(0) != '/') {
      throw new IllegalArgumentException("must start with '/'");
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c <= 0x20 || c == 0x7f || c == '?' || c == '#') {
        throw new IllegalArgumentException("must not contain '?', '#', whitespace or controls");
      }
      if (c == ';') {
        throw new IllegalArgumentException(
            "must not contain ';': path parameters are ignored when matching");
      }
      if (c == '\\') {
        throw new IllegalArgumentException("must not contain '\\'");
      }
    }
    if (text.contains("//")) {
      throw new IllegalArgumentException("must not contain '//'");
    }
    String body = text.endsWith("/") ? text.substring(1, text.length() - 1) : text.substring(1);
    List<String> out = new ArrayList<>();
    if (!body.isEmpty()) {
      for (String seg : body.split("/", -1)) {
        if (seg.equals(".") || seg.equals("..")) {
          throw new IllegalArgumentException("must not contain '.' or '..' segments");
        }
        if (seg.contains("**") && !seg.equals(GLOBSTAR)) {
          throw new IllegalArgumentException("'**' must be a whole segment, as in /api/**");
        }
        if (seg.equals(GLOBSTAR)) {
          // Consecutive ** mean the same as one; collapsing keeps matching linear.
          if (!out.isEmpty() && out.get(out.size() - 1).equals(GLOBSTAR)) {
            continue;
          }
          out.add(GLOBSTAR);
          continue;
        }
        try {
          out.add(RequestPath.normaliseSegment(seg));
        } catch (RequestPath.InvalidPathException e) {
          throw new IllegalArgumentException(e.getMessage());
        }
      }
    }
    return new PathPattern(text, out.toArray(String[]::new), foldCase);
  }

  public boolean matches(RequestPath path) {
    return matches(path.segments());
  }

  /** Matches normalised segments (see {@link RequestPath#segments()}). */
  public boolean matches(String[] path) {
    if (!hasGlobstar) {
      if (path.length != segments.length) {
        return false;
      }
      for (int i = 0; i < segments.length; i++) {
        if (!segmentMatches(segments[i], path[i], foldCase)) {
          return false;
        }
      }
      return true;
    }
    // Dynamic programming over (pattern segment, path segment): linear in both, whatever
    // the number of ** (an attacker chooses the path length).
    boolean[] cur = new boolean[path.length + 1];
    boolean[] next = new boolean[path.length + 1];
    cur[0] = true;
    for (String p : segments) {
      if (p.equals(GLOBSTAR)) {
        boolean any = false;
        for (int i = 0; i <= path.length; i++) {
          any |= cur[i];
          next[i] = any;
        }
      } else {
        next[0] = false;
        for (int i = 0; i < path.length; i++) {
          next[i + 1] = cur[i] && segmentMatches(p, path[i], foldCase);
        }
      }
      boolean[] t = cur;
      cur = next;
      next = t;
    }
    return cur[path.length];
  }

  /** Glob within one segment: {@code *} matches any run of characters, including none. */
  static boolean segmentMatches(String pattern, String s) {
    return segmentMatches(pattern, s, false);
  }

  static boolean segmentMatches(String pattern, String s, boolean foldCase) {
    if (pattern.indexOf('*') < 0) {
      return foldCase ? pattern.equalsIgnoreCase(s) : pattern.equals(s);
    }
    int p = 0;
    int i = 0;
    int star = -1;
    int mark = 0;
    while (i < s.length()) {
      if (p < pattern.length() && pattern.charAt(p) == '*') {
        star = p++;
        mark = i;
      } else if (p < pattern.length() && sameChar(pattern.charAt(p), s.charAt(i), foldCase)) {
        p++;
        i++;
      } else if (star >= 0) {
        p = star + 1;
        i = ++mark;
      } else {
        return false;
      }
    }
    while (p < pattern.length() && pattern.charAt(p) == '*') {
      p++;
    }
    return p == pattern.length();
  }

  /** The comparison {@link String#equalsIgnoreCase} makes, one character at a time. */
  private static boolean sameChar(char a, char b, boolean foldCase) {
    if (a == b) {
      return true;
    }
    if (!foldCase) {
      return false;
    }
    char ua = Character.toUpperCase(a);
    char ub = Character.toUpperCase(b);
    return ua == ub || Character.toLowerCase(ua) == Character.toLowerCase(ub);
  }

  @Override
  public String toString() {
    return text;
  }
}
