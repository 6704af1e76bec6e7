package io.tokengate.sidecar.authz;

import io.tokengate.api.v1alpha1.apipolicy.ClaimSources;
import io.tokengate.api.v1alpha1.apipolicy.Requirement;
import io.tokengate.sidecar.GateFailure;
import io.tokengate.sidecar.validation.VerifiedToken;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a verified token must also carry for a rule: every listed scope, at least one listed role,
 * and an allowed value for each listed claim. Scopes and roles are read from the policy's {@code
 * claimSources}, so {@code scope} strings, {@code scp} arrays, {@code permissions} and {@code
 * realm_access.roles} all work. With {@code issuers}, the token must come from one of them.
 */
public final class TokenRequirement {
  private final List<String> scopes;
  private final List<String> roles;
  private final Map<String, Set<String>> claims;
  private final List<String> scopeClaims;
  private final List<String> roleClaims;
  private final Set<String> issuers;

  private TokenRequirement(
      List<String> scopes,
      List<String> roles,
      Map<String, Set<String>> claims,
      List<String> scopeClaims,
      List<String> roleClaims,
      Set<String> issuers) {
    this.issuers = issuers;
    this.scopes = scopes;
    this.roles = roles;
    this.claims = claims;
    this.scopeClaims = scopeClaims;
    this.roleClaims = roleClaims;
  }

  /** Null when the rule sets no requirement: a valid token is enough. */
  public static TokenRequirement of(Requirement r, ClaimSources sources) {
    return of(r, sources, Map.of());
  }

  /**
   * Null when the rule sets no requirement; {@code issuerByName} resolves {@code r.issuers}.
   *
   * @throws IllegalArgumentException for an issuer name the policy does not trust
   */
  public static TokenRequirement of(
      Requirement r, ClaimSources sources, Map<String, String> issuerByName) {
    if (r == null) {
      return null;
    }
    List<String> scopes = r.scopes == null ? List.of() : List.copyOf(r.scopes);
    List<String> roles = r.roles == null ? List.of() : List.copyOf(r.roles);
    Map<String, Set<String>> claims = new LinkedHashMap<>();
    if (r.claims != null) {
      r.claims.forEach((k, v) -> claims.put(k, Set.copyOf(v)));
    }
    Set<String> issuers = new java.util.HashSet<>();
    if (r.issuers != null) {
      for (String name : r.issuers) {
        String identifier = issuerByName.get(name);
        if (identifier == null) {
          throw new IllegalArgumentException(
              "require.issuers: '" + name + "' is not an issuer of the policy");
        }
        issuers.add(identifier);
      }
    }
    if (scopes.isEmpty() && roles.isEmpty() && claims.isEmpty() && issuers.isEmpty()) {
      return null;
    }
    ClaimSources s = sources == null ? new ClaimSources() : sources;
    return new TokenRequirement(
        scopes,
        roles,
        Map.copyOf(claims),
        s.scopesOrDefault(),
        s.rolesOrDefault(),
        Set.copyOf(issuers));
  }

  /** Null when {@code token} meets the requirement, else the 403 to answer. */
  public GateFailure check(VerifiedToken token) {
    if (!issuers.isEmpty() && !issuers.contains(token.trustedIssuer())) {
      return GateFailure.forbidden(
          "issuer_not_allowed", "tokens of this issuer are not accepted for this request");
    }
    for (String scope : scopes) {
      if (!heldIn(token, scopeClaims, scope)) {
        return GateFailure.insufficientScope(
            scopes, "the token lacks a scope this request requires");
      }
    }
    if (!roles.isEmpty()) {
      boolean any = false;
      for (String role : roles) {
        if (heldIn(token, roleClaims, role)) {
          any = true;
          break;
        }
      }
      if (!any) {
        return GateFailure.forbidden(
            "missing_role", "the token carries none of the roles this request requires");
      }
    }
    for (Map.Entry<String, Set<String>> e : claims.entrySet()) {
      Object value = ClaimValues.lookup(token.claims(), e.getKey());
      boolean ok = false;
      for (String allowed : e.getValue()) {
        if (ClaimValues.holds(value, allowed, false)) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        return GateFailure.forbidden(
            "claim_mismatch", "claim '" + e.getKey() + "' does not hold an allowed value");
      }
    }
    return null;
  }

  private static boolean heldIn(VerifiedToken token, List<String> claimNames, String wanted) {
    for (String name : claimNames) {
      if (ClaimValues.holds(ClaimValues.lookup(token.claims(), name), wanted, true)) {
        return true;
      }
    }
    return false;
  }
}
