package io.tokengate.api.v1alpha1.yaml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.tokengate.api.v1alpha1.Durations;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.apipolicy.Mode;
import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResourceReaderTest {
  private static final Path EXAMPLES = Path.of("..", "examples");

  @Test
  void readsTheExamplesAUserApplies() throws Exception {
    List<HasMetadata> issuer =
        ResourceReader.read(
            "tokenissuer.yaml", Files.readString(EXAMPLES.resolve("tokenissuer.yaml")));
    List<HasMetadata> policy =
        ResourceReader.read("apipolicy.yaml", Files.readString(EXAMPLES.resolve("apipolicy.yaml")));

    TokenIssuer ti = (TokenIssuer) issuer.get(0);
    assertThat(ti.getSpec().issuer).isEqualTo("https://idp.example.com/realms/corp");
    assertThat(ti.getSpec().discovery).isTrue();
    assertThat(Durations.parse(ti.getSpec().refreshInterval)).isEqualTo(Duration.ofMinutes(10));

    ApiPolicy ap = (ApiPolicy) policy.get(0);
    assertThat(ap.getMetadata().getNamespace()).isEqualTo("shop");
    assertThat(ap.getSpec().mode).isEqualTo(Mode.Enforce);
    assertThat(ap.getSpec().rules).hasSize(3);
    assertThat(ap.getSpec().rules.get(0).action).isEqualTo(RuleAction.Allow);
    assertThat(ap.getSpec().rules.get(2).action).isEqualTo(RuleAction.Authenticated);
    assertThat(ap.getSpec().rules.get(1).require.scopes).containsExactly("orders.admin");
    assertThat(ap.getSpec().tokenSources.get(1).cookie.name).isEqualTo("access_token");
    assertThat(ap.getSpec().forwardClaims).containsEntry("sub", "X-Auth-Subject");
  }

  @Test
  void multiDocumentFilesAndDefaults() {
    String yaml =
        """
        apiVersion: tokengate.io/v1alpha1
        kind: TokenIssuer
        metadata: {name: a}
        spec: {issuer: "https://a.example"}
        ---
        ---
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: p}
        spec:
          selector: {matchLabels: {app: x}}
          issuerRef: {name: a}
          upstream: {port: 8080}
        """;
    List<HasMetadata> docs = ResourceReader.read("inline", yaml);
    assertThat(docs).hasSize(2);
    ApiPolicy p = (ApiPolicy) docs.get(1);
    assertThat(p.getSpec().mode).isEqualTo(Mode.Enforce);
    assertThat(p.getSpec().forwardToken).isTrue();
    assertThat(p.getSpec().claimSources.scopesOrDefault()).contains("scope", "scp");
    assertThat(((TokenIssuer) docs.get(0)).getSpec().clockSkewSeconds).isEqualTo(60);
  }

  @Test
  void unknownFieldIsNamed() {
    String yaml =
        """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: p}
        spec:
          selector: {matchLabels: {app: x}}
          issuerRef: {name: a}
          upstream: {port: 8080}
          rules:
            - paths: [/a]
              requires: {scopes: [x]}
        """;
    assertThatThrownBy(() -> ResourceReader.read("policy.yaml", yaml))
        .isInstanceOf(InvalidResourceException.class)
        .hasMessageContaining("policy.yaml")
        .hasMessageContaining("ApiPolicy/p")
        .hasMessageContaining("spec.rules[0]")
        .hasMessageContaining("unknown field 'requires'");
  }

  @Test
  void badEnumValueNamesFieldAndAllowedValues() {
    String yaml =
        """
        apiVersion: tokengate.io/v1alpha1
        kind: ApiPolicy
        metadata: {name: p}
        spec:
          selector: {matchLabels: {app: x}}
          issuerRef: {name: a}
          upstream: {port: 8080}
          mode: Enforcing
        """;
    assertThatThrownBy(() -> ResourceReader.read("policy.yaml", yaml))
        .hasMessageContaining("spec.mode")
        .hasMessageContaining("'Enforcing' is not one of Enforce, Audit");
  }

  @Test
  void wrongKindOrVersionIsRefused() {
    assertThatThrownBy(
            () ->
                ResourceReader.read(
                    "x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"))
        .hasMessageContaining("apiVersion: expected tokengate.io/v1alpha1");
    assertThatThrownBy(
            () ->
                ResourceReader.read(
                    "x.yaml",
                    "apiVersion: tokengate.io/v1alpha1\nkind: Policy\nmetadata: {name: c}\n"))
        .hasMessageContaining("kind: expected one of ApiPolicy, ClusterTokenIssuer, TokenIssuer");
  }

  @Test
  void durations() {
    assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThatThrownBy(() -> Durations.parse("10 minutes"))
        .hasMessageContaining("invalid duration '10 minutes'");
  }
}
