package io.tokengate.operator.crd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.operator.testing.TestApiServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The published CRDs on a real kube-apiserver: every file in {@code crd/refused/} is refused with a
 * message naming the field (its first line {@code # refused: <text>} says which), and every file in
 * {@code crd/accepted/} and the repository's {@code examples/} (and {@code examples/agents/}) is
 * accepted. Needs the real API server: the mock server validates nothing, so there the cases are
 * skipped.
 */
class CrdValidationIT {
  private static KubernetesClient client;
  private static String namespace;

  @BeforeAll
  static void apiServer() {
    TestApiServer api = TestApiServer.shared();
    assumeThat(api.isReal())
        .as("CRD validation needs a real kube-apiserver; running on " + api.description())
        .isTrue();
    client = api.client();
    namespace = api.newNamespace("crd");
  }

  static Stream<Path> refused() throws IOException {
    return files(Paths.get("src/test/resources/crd/refused"));
  }

  static Stream<Path> accepted() throws IOException {
    Path examples = TestApiServer.repositoryRoot().resolve("examples");
    return Stream.of(
            files(Paths.get("src/test/resources/crd/accepted")),
            files(examples),
            files(examples.resolve("agents")))
        .flatMap(s -> s);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void refusesWithAMessageNamingTheField(Path file) throws IOException {
    String yaml = Files.readString(file);
    String expected = yaml.lines().findFirst().orElseThrow().replaceFirst("^# refused: ", "");
    assertThat(expected).as("first line of %s must be '# refused: <text>'", file).isNotBlank();
    assertThatThrownBy(() -> create(yaml))
        .as("%s must be refused", file.getFileName())
        .isInstanceOf(KubernetesClientException.class)
        .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
        .hasMessageContaining(expected);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("accepted")
  void acceptsValidResources(Path file) throws IOException {
    List<HasMetadata> created = create(Files.readString(file));
    assertThat(created).isNotEmpty();
  }

  @Test
  void everyKindIsInTheTokengateCategory() {
    // What kubectl get tokengate resolves through: the API server's discovery.
    var resources = client.getApiResources(ApiGroup.API_VERSION).getResources();
    assertThat(resources)
        .filteredOn(r -> !r.getName().contains("/"))
        .extracting(r -> r.getKind())
        .containsExactlyInAnyOrder("ApiPolicy", "TokenIssuer", "ClusterTokenIssuer");
    assertThat(resources)
        .filteredOn(r -> !r.getName().contains("/"))
        .allSatisfy(r -> assertThat(r.getCategories()).as(r.getKind()).contains(ApiGroup.CATEGORY));
  }

  @Test
  void kubectlExplainHasARootDescriptionForEveryKind() {
    // kubectl explain reads the API server's OpenAPI v3 document for the group version.
    String openApi = client.raw("/openapi/v3/apis/tokengate.io/v1alpha1");
    assertThat(openApi).isNotNull();
    for (var kind : List.of(ApiPolicy.class, TokenIssuer.class, ClusterTokenIssuer.class)) {
      String description = kind.getAnnotation(JsonClassDescription.class).value();
      assertThat(description).as(kind.getSimpleName()).isNotBlank();
      assertThat(openApi).as(kind.getSimpleName()).contains(description);
    }
  }

  private static List<HasMetadata> create(String yaml) {
    List<HasMetadata> items =
        client.load(new java.io.ByteArrayInputStream(yaml.getBytes())).items();
    return items.stream()
        .map(
            item -> {
              if (item.getMetadata().getNamespace() != null || isNamespaced(item)) {
                item.getMetadata().setNamespace(namespace);
              }
              return client.resource(item).dryRun().create();
            })
        .toList();
  }

  private static boolean isNamespaced(HasMetadata item) {
    return !"ClusterTokenIssuer".equals(item.getKind());
  }

  private static Stream<Path> files(Path dir) throws IOException {
    return Files.list(dir).filter(p -> p.toString().endsWith(".yaml")).sorted();
  }
}
