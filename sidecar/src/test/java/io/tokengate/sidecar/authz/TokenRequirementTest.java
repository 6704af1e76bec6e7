package io.tokengate.sidecar.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.JWTClaimsSet;
import io.tokengate.api.v1alpha1.apipolicy.ClaimSources;
import io.tokengate.api.v1alpha1.apipolicy.Requirement;
import io.tokengate.sidecar.validation.GateFailure;
import io.tokengate.sidecar.validation.VerifiedToken;
import java.text.ParseException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Scopes, roles and claim values in the shapes real identity providers put them. */
class TokenRequirementTest {

  static VerifiedToken token(String json) throws ParseException {
    JWTClaimsSet c = JWTClaimsSet.parse(json);
    return new VerifiedToken(c, c.getIssuer(), c.getSubject(), null, Instant.now().plusSeconds(60));
  }

  static Requirement scopes(String... s) {
    Requirement r = new Requirement();
    r.scopes = List.of(s);
    return r;
  }

  static Requirement roles(String... s) {
    Requirement r = new Requirement();
    r.roles = List.of(s);
    return r;
  }

  @Test
  void scopesFromStringsArraysAndPermissionsWithDefaultSources() throws Exception {
    TokenRequirement need = TokenRequirement.of(scopes("orders.read", "orders.write"), null);
    assertThat(need.check(token("{\"scope\":\"openid orders.read orders.write\"}"))).isNull();
    assertThat(need.check(token("{\"scp\":\"orders.write orders.read\"}"))).isNull();
    assertThat(need.check(token("{\"scp\":[\"orders.read\",\"orders.write\"]}"))).isNull();
    assertThat(need.check(token("{\"permissions\":[\"orders.read\",\"orders.write\"]}"))).isNull();
    assertThat(need.check(token("{\"scope\":\"orders.read\",\"scp\":[\"orders.write\"]}")))
        .isNull();
    GateFailure f = need.check(token("{\"scope\":\"orders.read\"}"));
    assertThat(f.status()).isEqualTo(403);
    assertThat(f.error()).isEqualTo("insufficient_scope");
    assertThat(f.requiredScopes()).containsExactly("orders.read", "orders.write");
  }

  @Test
  void configuredScopeSourcesReplaceTheDefaults() throws Exception {
    ClaimSources only = new ClaimSources();
    only.scopes = List.of("scp");
    TokenRequirement need = TokenRequirement.of(scopes("orders.read"), only);
    assertThat(need.check(token("{\"scp\":\"orders.read\"}"))).isNull();
    assertThat(need.check(token("{\"scope\":\"orders.read\"}"))).isNotNull();
  }

  @Test
  void rolesFromNestedPathsAndNamespacedClaims() throws Exception {
    ClaimSources s = new ClaimSources();
    s.roles =
        List.of("realm_access.roles", "resource_access.orders.roles", "https://shop.example/roles");
    TokenRequirement need = TokenRequirement.of(roles("auditor", "admin"), s);
    assertThat(need.check(token("{\"realm_access\":{\"roles\":[\"user\",\"admin\"]}}"))).isNull();
    assertThat(need.check(token("{\"resource_access\":{\"orders\":{\"roles\":[\"auditor\"]}}}")))
        .isNull();
    assertThat(need.check(token("{\"https://shop.example/roles\":[\"auditor\"]}"))).isNull();
    GateFailure f =
        need.check(token("{\"realm_access\":{\"roles\":[\"user\"]},\"roles\":[\"admin\"]}"));
    assertThat(f.reason()).isEqualTo("missing_role");
    assertThat(f.description()).doesNotContain("auditor");
  }

  @Test
  void claimValuesOfEveryJsonType() throws Exception {
    Requirement r = new Requirement();
    r.claims = Map.of("tid", List.of("t1", "t2"), "level", List.of("3"), "mfa", List.of("true"));
    TokenRequirement need = TokenRequirement.of(r, null);
    assertThat(need.check(token("{\"tid\":\"t2\",\"level\":3,\"mfa\":true}"))).isNull();
    assertThat(need.check(token("{\"tid\":[\"x\",\"t1\"],\"level\":3.0,\"mfa\":true}"))).isNull();
    assertThat(need.check(token("{\"tid\":\"t3\",\"level\":3,\"mfa\":true}")).reason())
        .isEqualTo("claim_mismatch");
    assertThat(need.check(token("{\"tid\":\"t1\",\"level\":3,\"mfa\":false}"))).isNotNull();
    assertThat(need.check(token("{\"tid\":\"t1\",\"mfa\":true}"))).isNotNull();
    // A space-delimited string is one value for claims (only scopes and roles are split).
    assertThat(need.check(token("{\"tid\":\"t1 t2\",\"level\":3,\"mfa\":true}"))).isNotNull();
  }

  @Test
  void anEmptyRequirementIsNoRequirement() {
    assertThat(TokenRequirement.of(new Requirement(), null)).isNull();
    assertThat(TokenRequirement.of(null, null)).isNull();
  }

  @Test
  void headerValuesJoinArraysAndRenderNumbersExactly() throws Exception {
    JWTClaimsSet c =
        JWTClaimsSet.parse(
            "{\"groups\":[\"a\",\"b\",1],\"n\":42,\"f\":1.5,\"o\":{\"k\":\"v\"},\"b\":false}");
    assertThat(ClaimValues.headerValue(ClaimValues.lookup(c, "groups"))).isEqualTo("a,b,1");
    assertThat(ClaimValues.headerValue(ClaimValues.lookup(c, "n"))).isEqualTo("42");
    assertThat(ClaimValues.headerValue(ClaimValues.lookup(c, "f"))).isEqualTo("1.5");
    assertThat(ClaimValues.headerValue(ClaimValues.lookup(c, "o"))).isEqualTo("{\"k\":\"v\"}");
    assertThat(ClaimValues.headerValue(ClaimValues.lookup(c, "o.k"))).isEqualTo("v");
    assertThat(ClaimValues.headerValue(ClaimValues.lookup(c, "b"))).isEqualTo("false");
    assertThat(ClaimValues.lookup(c, "missing")).isNull();
  }
}
