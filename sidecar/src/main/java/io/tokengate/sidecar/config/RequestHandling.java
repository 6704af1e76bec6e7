package io.tokengate.sidecar.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * How strictly the request path is read, from {@code spec.requestHandling} of the ApiPolicy. Every
 * default is the secure one; a field only loosens a check for applications that need it.
 *
 * @param escapedSlashes {@code Refuse} (default): a path with {@code %2F}, {@code %5C} or a {@code
 *     %25}-encoded dot, slash or backslash is answered 400; {@code Keep}: such escapes are
 *     forwarded unchanged (never decoded, so they never become separators) and rules see them as
 *     literal characters
 * @param allowMethodOverride keep {@code X-HTTP-Method-Override}, {@code X-HTTP-Method} and {@code
 *     X-Method-Override}; the rule is then decided on the overriding method
 * @param trustedForwardedHops how many proxies in front of the sidecar are trusted: 0 (default)
 *     replaces the client's {@code X-Forwarded-*}, {@code Forwarded} and {@code X-Real-IP} with
 *     what the sidecar saw; N keeps them and takes the client address N entries from the right of
 *     {@code X-Forwarded-For}
 */
public record RequestHandling(
    EscapedSlashes escapedSlashes, boolean allowMethodOverride, int trustedForwardedHops) {

  /** What happens to a path with an encoded separator or an encoded escape of one. */
  public enum EscapedSlashes {
    Refuse,
    Keep
  }

  public static final RequestHandling DEFAULTS =
      new RequestHandling(EscapedSlashes.Refuse, false, 0);

  static final String FIELD = "requestHandling";

  /**
   * Reads {@code node} (the value of {@code spec.requestHandling}, or null), adding a problem for
   * every unknown field or wrong value.
   */
  static RequestHandling parse(
      JsonNode node, String file, String resource, List<ConfigProblem> out) {
    if (node == null || node.isNull()) {
      return DEFAULTS;
    }
    String at = "spec." + FIELD;
    if (!node.isObject()) {
      out.add(new ConfigProblem(file, resource, at, "must be an object"));
      return DEFAULTS;
    }
    EscapedSlashes escaped = DEFAULTS.escapedSlashes();
    boolean override = DEFAULTS.allowMethodOverride();
    int hops = DEFAULTS.trustedForwardedHops();
    List<String> unknown = new ArrayList<>();
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      JsonNode v = node.get(name);
      switch (name) {
        case "escapedSlashes" -> {
          if (v.isTextual() && v.asText().equals("Refuse")) {
            escaped = EscapedSlashes.Refuse;
          } else if (v.isTextual() && v.asText().equals("Keep")) {
            escaped = EscapedSlashes.Keep;
          } else {
            out.add(new ConfigProblem(file, resource, at + "." + name, "must be Refuse or Keep"));
          }
        }
        case "allowMethodOverride" -> {
          if (v.isBoolean()) {
            override = v.asBoolean();
          } else {
            out.add(new ConfigProblem(file, resource, at + "." + name, "must be true or false"));
          }
        }
        case "trustedForwardedHops" -> {
          if (v.isInt() && v.asInt() >= 0 && v.asInt() <= 10) {
            hops = v.asInt();
          } else {
            out.add(
                new ConfigProblem(
                    file, resource, at + "." + name, "must be a whole number from 0 to 10"));
          }
        }
        default -> unknown.add(name);
      }
    }
    for (String u : unknown) {
      out.add(new ConfigProblem(file, resource, at, "unknown field '" + u + "'"));
    }
    return new RequestHandling(escaped, override, hops);
  }
}
