package io.tokengate.sidecar.authz;

import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import java.util.List;
import java.util.Set;

/**
 * One compiled rule: the patterns and methods it matches and what a match means. The synthetic
 * default rule (index -1) carries {@code defaultAction}.
 *
 * @param index position in {@code spec.rules}, or -1 for the default action
 * @param patterns path patterns, any of which matches
 * @param methods upper-case methods, or null for every method
 * @param action Allow, Authenticated or Deny
 * @param requirement for Authenticated: what the token must carry beyond validity, or null
 */
public record AccessRule(
    int index,
    List<PathPattern> patterns,
    Set<String> methods,
    RuleAction action,
    TokenRequirement requirement) {

  boolean matches(String method, RequestPath path) {
    if (methods != null && !methods.contains(method)) {
      return false;
    }
    for (PathPattern p : patterns) {
      if (p.matches(path)) {
        return true;
      }
    }
    return false;
  }

  /** For logs: {@code rules[2]} or {@code defaultAction}. */
  public String label() {
    return index < 0 ? "defaultAction" : "rules[" + index + "]";
  }
}
