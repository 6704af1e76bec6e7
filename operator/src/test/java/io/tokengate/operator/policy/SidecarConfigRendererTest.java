package io.tokengate.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.IssuerResource;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.operator.issuer.IssuerSnapshots.Snapshot;
import io.tokengate.operator.issuer.KeySet;
import io.tokengate.operator.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden files: every {@code render/X.yaml} (an ApiPolicy, its issuer and a test-only {@code
 * IssuerSnapshot} document with the fetched keys) renders to exactly {@code X.yaml.rendered}.
 * Regenerate with {@code -Dtokengate.golden.update=true}; a golden file without input fails.
 */
class SidecarConfigRendererTest {
  private static final Path DIR = Paths.get("src/test/resources/render");

  static Stream<Path> cases() throws IOException {
    return Files.list(DIR).filter(p -> p.toString().endsWith(".yaml")).sorted();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rendersTheGoldenConfigMap(Path input) throws IOException {
    Case c = Case.read(input);
    ConfigMap rendered = SidecarConfigRenderer.render(c.policy, c.issuers);
    String actual = ResourceReader.write(rendered);
    Path golden = Paths.get(input + ".rendered");
    if (Golden.updating() || !Files.exists(golden)) {
      assertThat(Golden.updating())
          .as("%s has no golden file; create it with -D%s=true", input, Golden.UPDATE_FLAG)
          .isTrue();
      Files.writeString(golden, actual);
    }
    assertThat(actual)
        .as("%s is stale; regenerate with -D%s=true", golden, Golden.UPDATE_FLAG)
        .isEqualTo(Files.readString(golden));

    // The contract with the sidecar: its documents read back with the strict reader.
    var data = rendered.getData();
    List<String> keys = new java.util.ArrayList<>(List.of("policy.yaml"));
    for (SidecarConfigRenderer.Trusted t : c.issuers) {
      keys.add(SidecarConfigRenderer.issuerKey(c.policy, t.issuer()));
      t.keys().ifPresent(k -> keys.add(t.issuer().getMetadata().getName() + ".jwks.json"));
    }
    assertThat(data.keySet()).containsExactlyInAnyOrderElementsOf(keys);
    assertThat(ResourceReader.read("policy.yaml", data.get("policy.yaml")))
        .singleElement()
        .isInstanceOfSatisfying(
            ApiPolicy.class,
            p -> assertThat(p.getMetadata().getName()).isEqualTo(c.policy.getMetadata().getName()));
    for (SidecarConfigRenderer.Trusted t : c.issuers) {
      IssuerResource expected = t.issuer();
      String key = SidecarConfigRenderer.issuerKey(c.policy, expected);
      assertThat(ResourceReader.read(key, data.get(key)))
          .singleElement()
          .isInstanceOfSatisfying(
              IssuerResource.class,
              r -> {
                assertThat(r.getSpec().caSecretRef).isNull();
                // The ConfigMap names where the mounted client secret is, never the Secret.
                if (r.getSpec().introspection != null) {
                  assertThat(r.getSpec().introspection.clientSecretRef).isNull();
                  assertThat(r.getSpec().introspection.clientSecretFile)
                      .startsWith("/etc/tokengate-secrets/");
                }
                assertThat(r.getKind()).isEqualTo(expected.getKind());
                assertThat(r.getMetadata().getName()).isEqualTo(expected.getMetadata().getName());
              });
    }
    assertThat(rendered.getMetadata().getAnnotations())
        .containsEntry("tokengate.io/config-hash", SidecarConfigRenderer.configHash(data));
  }

  @Test
  void everyGoldenFileHasAnInput() throws IOException {
    try (Stream<Path> files = Files.list(DIR)) {
      files
          .filter(p -> p.toString().endsWith(".rendered"))
          .forEach(
              g ->
                  assertThat(Paths.get(g.toString().replaceFirst("\\.rendered$", "")))
                      .as("%s has no input: delete it", g)
                      .exists());
    }
  }

  @Test
  void theHashChangesWithAnyValueAndNotWithOrder() {
    String a = SidecarConfigRenderer.configHash(Map.of("a", "1", "b", "2"));
    assertThat(
            SidecarConfigRenderer.configHash(new java.util.TreeMap<>(Map.of("b", "2", "a", "1"))))
        .isEqualTo(a);
    assertThat(SidecarConfigRenderer.configHash(Map.of("a", "1", "b", "3"))).isNotEqualTo(a);
    assertThat(SidecarConfigRenderer.configHash(Map.of("a", "1b", "", "2"))).isNotEqualTo(a);
    assertThat(a).matches("sha256:[0-9a-f]{64}");
  }

  /**
   * A policy and its issuers; an IssuerSnapshot document holds the keys of the issuer before it.
   */
  private record Case(ApiPolicy policy, List<SidecarConfigRenderer.Trusted> issuers) {
    static Case read(Path file) throws IOException {
      ApiPolicy policy = null;
      List<SidecarConfigRenderer.Trusted> issuers = new java.util.ArrayList<>();
      var mapper = ResourceReader.yaml();
      try (var docs =
          mapper.readerFor(JsonNode.class).<JsonNode>readValues(Files.readString(file))) {
        while (docs.hasNext()) {
          JsonNode doc = docs.next();
          switch (doc.path("kind").asText()) {
            case ApiPolicy.KIND -> policy = mapper.treeToValue(doc, ApiPolicy.class);
            case TokenIssuer.KIND ->
                issuers.add(
                    new SidecarConfigRenderer.Trusted(
                        mapper.treeToValue(doc, TokenIssuer.class), java.util.Optional.empty()));
            case ClusterTokenIssuer.KIND ->
                issuers.add(
                    new SidecarConfigRenderer.Trusted(
                        mapper.treeToValue(doc, ClusterTokenIssuer.class),
                        java.util.Optional.empty()));
            case "IssuerSnapshot" -> {
              List<Map<String, Object>> keys =
                  mapper.convertValue(doc.path("jwks").path("keys"), List.class);
              Snapshot snapshot =
                  new Snapshot(
                      KeySet.of(keys),
                      doc.path("caBundle").asText(null),
                      null,
                      1,
                      doc.path("introspectionEndpoint").asText(null));
              var last = issuers.remove(issuers.size() - 1);
              issuers.add(
                  new SidecarConfigRenderer.Trusted(
                      last.issuer(), java.util.Optional.of(snapshot)));
            }
            default -> throw new IllegalArgumentException(file + ": unexpected document " + doc);
          }
        }
      }
      return new Case(policy, List.copyOf(issuers));
    }
  }
}
