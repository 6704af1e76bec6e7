package io.tokengate.api.v1alpha1.tokenissuer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class IssuerTemplateTest {
  static final String TID = "72f988bf-86f1-41af-91ab-2d7cd011db47";

  static TokenIssuerSpec spec(String issuer, String... tenants) {
    TokenIssuerSpec s = new TokenIssuerSpec();
    s.issuer = issuer;
    s.tenants = tenants.length == 0 ? null : List.of(tenants);
    return s;
  }

  @Test
  void entraV2EndpointsNameTheTemplateOfTheirOwnAuthority() {
    assertThat(template("https://login.microsoftonline.com/organizations/v2.0"))
        .isEqualTo("https://login.microsoftonline.com/{tenantid}/v2.0");
    assertThat(template("https://login.microsoftonline.com/common/v2.0"))
        .isEqualTo("https://login.microsoftonline.com/{tenantid}/v2.0");
    assertThat(template("https://login.microsoftonline.us/organizations/v2.0"))
        .isEqualTo("https://login.microsoftonline.us/{tenantid}/v2.0");
  }

  @Test
  void entraV1EndpointsOfThePublicCloudNameStsWindowsNet() {
    assertThat(template("https://login.microsoftonline.com/organizations"))
        .isEqualTo("https://sts.windows.net/{tenantid}/");
    assertThat(template("https://login.microsoftonline.com/common/"))
        .isEqualTo("https://sts.windows.net/{tenantid}/");
    // Elsewhere (a test issuer, another cloud) the tenant segment is replaced in place.
    assertThat(template("http://127.0.0.1:8080/organizations/"))
        .isEqualTo("http://127.0.0.1:8080/{tenantid}/");
  }

  @Test
  void otherIssuersAreNotMultiTenant() {
    for (String issuer :
        List.of(
            "https://login.microsoftonline.com/" + TID + "/v2.0",
            "https://login.microsoftonline.com/consumers/v2.0",
            "https://login.microsoftonline.com/organizations/v2.0/extra",
            "https://login.microsoftonline.com/organizations/v1.0",
            "https://idp.example.com/realms/organizations",
            "https://user@login.microsoftonline.com/organizations/v2.0",
            "https://login.microsoftonline.com/organizations/v2.0?x=1")) {
      assertThat(IssuerTemplate.forIssuer(issuer)).as(issuer).isEmpty();
      assertThat(IssuerTemplate.isMultiTenantIssuer(issuer)).as(issuer).isFalse();
    }
    assertThatThrownBy(() -> IssuerTemplate.of(spec("https://idp.example.com/realms/x", "*")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("spec.tenants applies only to a multi-tenant issuer");
    assertThat(IssuerTemplate.of(spec("https://login.microsoftonline.com/organizations/v2.0")))
        .as("without spec.tenants an issuer is matched exactly")
        .isEmpty();
  }

  @Test
  void aTenantIsReadOnlyInItsCanonicalFormAndPlace() {
    IssuerTemplate t = IssuerTemplate.parse("https://login.microsoftonline.com/{tenantid}/v2.0");
    assertThat(t.tenantOf("https://login.microsoftonline.com/" + TID + "/v2.0")).isEqualTo(TID);
    assertThat(t.issuerOf(TID)).isEqualTo("https://login.microsoftonline.com/" + TID + "/v2.0");
    for (String iss :
        List.of(
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/" + TID.toUpperCase() + "/v2.0",
            "https://login.microsoftonline.com/" + TID + "/v2.0/",
            "https://login.microsoftonline.com/" + TID + "x/v2.0",
            "https://login.microsoftonline.com/" + TID.replace('-', 'a') + "/v2.0",
            "https://login.microsoftonline.com/organizations/v2.0",
            "https://login.microsoftonline.com/../" + TID.substring(3) + "/v2.0",
            "https://login.microsoftonline.com/" + TID.substring(0, 35) + "/" + "/v2.0",
            "https://evil.example/" + TID + "/v2.0",
            "http://login.microsoftonline.com/" + TID + "/v2.0",
            "")) {
      assertThat(t.tenantOf(iss)).as(iss).isNull();
    }
    assertThat(t.tenantOf(null)).isNull();
  }

  @Test
  void routingKeysAndOverlaps() {
    TokenIssuerSpec orgs = spec("https://login.microsoftonline.com/organizations/v2.0", TID);
    TokenIssuerSpec common = spec("https://login.microsoftonline.com/common/v2.0", "*");
    TokenIssuerSpec v1 = spec("https://login.microsoftonline.com/organizations", "*");
    TokenIssuerSpec single = spec("https://login.microsoftonline.com/" + TID + "/v2.0");
    TokenIssuerSpec keycloak = spec("https://idp.example.com/realms/corp");
    assertThat(IssuerTemplate.routingKey(orgs))
        .isEqualTo("https://login.microsoftonline.com/{tenantid}/v2.0");
    assertThat(IssuerTemplate.routingKey(keycloak)).isEqualTo(keycloak.issuer);
    assertThat(IssuerTemplate.overlap(orgs, common)).as("same template").isTrue();
    assertThat(IssuerTemplate.overlap(orgs, single)).as("a tenant of the template").isTrue();
    assertThat(IssuerTemplate.overlap(single, orgs)).isTrue();
    assertThat(IssuerTemplate.overlap(orgs, v1)).as("v1 and v2 tokens differ in iss").isFalse();
    assertThat(IssuerTemplate.overlap(orgs, keycloak)).isFalse();
    assertThat(IssuerTemplate.overlap(keycloak, spec(keycloak.issuer))).isTrue();
  }

  @Test
  void aTemplateHoldsThePlaceholderOnce() {
    assertThatThrownBy(() -> IssuerTemplate.parse("https://x/{tenantid}/{tenantid}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> IssuerTemplate.parse("https://x/"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(IssuerTemplate.isTenantId(TID)).isTrue();
    assertThat(IssuerTemplate.isTenantId("*")).isFalse();
    assertThat(TID).matches(IssuerTemplate.TENANT_ID_PATTERN);
    assertThat("ABCDEF00-86f1-41af-91ab-2d7cd011db47")
        .doesNotMatch(IssuerTemplate.TENANT_ID_PATTERN);
  }

  private static String template(String issuer) {
    return IssuerTemplate.forIssuer(issuer).orElseThrow().template();
  }
}
