package io.tokengate.sidecar.authz;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicySpec;
import io.tokengate.api.v1alpha1.apipolicy.DefaultAction;
import io.tokengate.api.v1alpha1.apipolicy.Rule;
import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Picks the rule that decides a request: the first whose path patterns and methods match the
 * normalised path, else the policy's {@code defaultAction}.
 */
public final class RuleMatcher {
  private final AccessRule[] rules;
  private final AccessRule fallback;

  private RuleMatcher(AccessRule[] rules, AccessRule fallback) {
    this.rules = rules;
    this.fallback = fallback;
  }

  /**
   * Compiles the rules of a checked spec.
   *
   * @throws IllegalArgumentException for a pattern that does not parse
   */
  public static RuleMatcher of(ApiPolicySpec spec) {
    return of(spec, Map.of());
  }

  /**
   * Compiles the rules of a checked spec; {@code issuerByName} maps the names {@code
   * require.issuers} may use to the issuers' identifiers.
   *
   * @throws IllegalArgumentException for a pattern that does not parse or an unknown issuer name
   */
  public static RuleMatcher of(ApiPolicySpec spec, Map<String, String> issuerByName) {
    List<AccessRule> out = new ArrayList<>();
    boolean foldCase = spec.requestHandling != null && spec.requestHandling.caseInsensitivePaths;
    if (spec.rules != null) {
      for (int i = 0; i < spec.rules.size(); i++) {
        Rule r = spec.rules.get(i);
        List<PathPattern> patterns = new ArrayList<>();
        for (String p : r.paths) {
          patterns.add(PathPattern.parse(p, foldCase));
        }
        RuleAction action = r.action == null ? RuleAction.Authenticated : r.action;
        out.add(
            new AccessRule(
                i,
                List.copyOf(patterns),
                r.methods == null ? null : Set.copyOf(r.methods),
                action,
                action == RuleAction.Authenticated
                    ? TokenRequirement.of(r.require, spec.claimSources, issuerByName)
                    : null));
      }
    }
    RuleAction fallbackAction =
        spec.defaultAction == DefaultAction.Deny ? RuleAction.Deny : RuleAction.Authenticated;
    return new RuleMatcher(
        out.toArray(AccessRule[]::new), new AccessRule(-1, List.of(), null, fallbackAction, null));
  }

  public AccessRule match(String method, RequestPath path) {
    for (AccessRule r : rules) {
      if (r.matches(method, path)) {
        return r;
      }
    }
    return fallback;
  }
}
