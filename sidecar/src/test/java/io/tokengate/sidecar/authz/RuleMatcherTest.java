package io.tokengate.sidecar.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RuleMatcherTest {

  @ParameterizedTest(name = "{0} ~ {1} = {2}")
  @CsvSource({
    "/api/*/items, /api/7/items, true",
    "/api/*/items, /api/7/8/items, false",
    "/api/*/items, /api//items, false",
    "/admin/**, /admin, true",
    "/admin/**, /admin/, true",
    "/admin/**, /admin/a/b/c, true",
    "/admin/**, /administrator, false",
    "/**, /, true",
    "/**, /anything/at/all, true",
    "/a/**/z, /a/z, true",
    "/a/**/z, /a/b/c/z, true",
    "/a/**/z, /a/b/c/y, false",
    "/files/*.json, /files/x.json, true",
    "/files/*.json, /files/x.jsonp, false",
    "/v*/orders, /v2/orders, true",
    "/healthz, /healthz/, true",
    "/healthz, /healthz/x, false",
    "/%61pi/x, /api/x, true",
    "/a/**/b/**/c, /a/1/b/2/b/3/c, true",
    "/a/**/b/**/c, /a/1/c/2/b, false",
  })
  void patterns(String pattern, String path, boolean matches) {
    assertThat(PathPattern.parse(pattern).matches(RequestPath.parse(path))).isEqualTo(matches);
  }

  @ParameterizedTest(name = "{0} ~ {1}: case-sensitive {2}, folding case {3}")
  @CsvSource({
    "/admin/**, /Admin/users, false, true",
    "/admin/**, /ADMIN, false, true",
    "/admin/**, /admin/x, true, true",
    "/files/*.JSON, /FILES/a.json, false, true",
    "/v*/orders, /V2/Orders, false, true",
    "/admin/**, /admins, false, false",
  })
  void foldingCaseMatchesLettersWhateverTheirCase(
      String pattern, String path, boolean sensitive, boolean folded) {
    assertThat(PathPattern.parse(pattern).matches(RequestPath.parse(path))).isEqualTo(sensitive);
    assertThat(PathPattern.parse(pattern, true).matches(RequestPath.parse(path))).isEqualTo(folded);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "admin", "/a//b", "/a/../b", "/a/./b", "/a**", "/***", "/a/**b", "/a?b", "/a#b", "/a b",
        "/a;x", "/a\\b", "/a%zz"
      })
  void invalidPatternsAreRefusedWithAReason(String pattern) {
    assertThatThrownBy(() -> PathPattern.parse(pattern))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageMatching(".{8,}");
  }

  @Test
  void aLongPathAgainstManyGlobstarsStaysLinear() {
    PathPattern p = PathPattern.parse("/**/a/**/a/**/a/**/a/**/b");
    String[] segments = new String[2000];
    java.util.Arrays.fill(segments, "a");
    long t0 = System.nanoTime();
    assertThat(p.matches(segments)).isFalse();
    assertThat(System.nanoTime() - t0).isLessThan(500_000_000L);
  }

  @Test
  void requestHandlingCaseInsensitivePathsFoldsCaseForEveryRule() {
    String yaml =
        """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: p, namespace: ns}
        spec:
          selector: {matchLabels: {app: x}}
          issuerRef: {name: idp}
          upstream: {port: 8080}
          requestHandling: {caseInsensitivePaths: %s}
          rules:
            - paths: ["/admin/**"]
              require: {scopes: [admin]}
            - paths: ["/**"]
              action: Allow
        """;
    RuleMatcher sensitive =
        RuleMatcher.of(
            ((ApiPolicy) ResourceReader.read("t", yaml.formatted("false")).get(0)).getSpec());
    RuleMatcher folding =
        RuleMatcher.of(
            ((ApiPolicy) ResourceReader.read("t", yaml.formatted("true")).get(0)).getSpec());
    assertThat(sensitive.match("GET", RequestPath.parse("/ADMIN/users")).index()).isEqualTo(1);
    assertThat(folding.match("GET", RequestPath.parse("/ADMIN/users")).index()).isEqualTo(0);
    assertThat(folding.match("GET", RequestPath.parse("/Admin")).index()).isEqualTo(0);
  }

  @Test
  void firstMatchWinsMethodsNarrowAndTheDefaultActionCatchesTheRest() {
    ApiPolicy policy =
        (ApiPolicy)
            ResourceReader.read(
                    "test",
                    """
                    apiVersion: tokengate.io/v1alpha1
                    kind: ApiPolicy
                    metadata: {name: p, namespace: ns}
                    spec:
                      selector: {matchLabels: {app: x}}
                      issuerRef: {name: idp}
                      upstream: {port: 8080}
                      defaultAction: Deny
                      rules:
                        - paths: ["/public/**"]
                          action: Allow
                        - paths: ["/orders/**"]
                          methods: [POST, DELETE]
                          require: {scopes: [orders.write]}
                        - paths: ["/orders/**"]
                        - paths: ["/public/secret"]
                          action: Deny
                    """)
                .get(0);
    RuleMatcher m = RuleMatcher.of(policy.getSpec());
    AccessRule pub = m.match("GET", RequestPath.parse("/public/secret"));
    assertThat(pub.index()).isEqualTo(0);
    assertThat(pub.action()).isEqualTo(RuleAction.Allow);
    AccessRule write = m.match("POST", RequestPath.parse("/orders/1"));
    assertThat(write.index()).isEqualTo(1);
    assertThat(write.requirement()).isNotNull();
    AccessRule read = m.match("GET", RequestPath.parse("/orders/1"));
    assertThat(read.index()).isEqualTo(2);
    assertThat(read.requirement()).isNull();
    AccessRule other = m.match("GET", RequestPath.parse("/elsewhere"));
    assertThat(other.index()).isEqualTo(-1);
    assertThat(other.action()).isEqualTo(RuleAction.Deny);
    assertThat(other.label()).isEqualTo("defaultAction");
  }
}
