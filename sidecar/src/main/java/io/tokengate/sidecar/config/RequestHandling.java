package io.tokengate.sidecar.config;

import io.tokengate.api.v1alpha1.apipolicy.RequestHandling.EscapedSlashes;
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

  public static final RequestHandling DEFAULTS =
      new RequestHandling(EscapedSlashes.Refuse, false, 0);

  /**
   * The resolved view of {@code spec.requestHandling} (absent: the defaults), adding a problem for
   * a value outside what the CRD admits, since a standalone sidecar reads files no API server
   * checked.
   */
  static RequestHandling from(
      io.tokengate.api.v1alpha1.apipolicy.RequestHandling spec,
      String file,
      String resource,
      List<ConfigProblem> out) {
    if (spec == null) {
      return DEFAULTS;
    }
    int hops = spec.trustedForwardedHops;
    if (hops < 0 || hops > 10) {
      out.add(
          new ConfigProblem(
              file,
              resource,
              "spec.requestHandling.trustedForwardedHops",
              "must be a whole number from 0 to 10"));
      hops = DEFAULTS.trustedForwardedHops();
    }
    EscapedSlashes escaped =
        spec.escapedSlashes == null ? DEFAULTS.escapedSlashes() : spec.escapedSlashes;
    return new RequestHandling(escaped, spec.allowMethodOverride, hops);
  }
}
