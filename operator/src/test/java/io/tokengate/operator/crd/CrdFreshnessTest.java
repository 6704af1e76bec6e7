package io.tokengate.operator.crd;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.operator.testing.Golden;
import io.tokengate.operator.testing.TestApiServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code crds/} must be exactly what the generator makes of the current model. Fails when someone
 * changed the model without regenerating (or edited a CRD by hand). Regenerate with {@code
 * -Dtokengate.golden.update=true}.
 */
class CrdFreshnessTest {

  @Test
  void committedCrdsMatchTheModel() throws IOException {
    Path dir = TestApiServer.crdDir();
    Map<String, String> expected = CrdPublication.published();
    if (Golden.updating()) {
      for (var e : expected.entrySet()) {
        Files.writeString(dir.resolve(e.getKey()), e.getValue());
      }
    }
    for (var e : expected.entrySet()) {
      Path committed = dir.resolve(e.getKey());
      assertThat(committed)
          .as("crds/%s is missing; regenerate with -D%s=true", e.getKey(), Golden.UPDATE_FLAG)
          .exists();
      assertThat(Files.readString(committed))
          .as(
              "crds/%s is stale against the Java model in api/; regenerate with -D%s=true",
              e.getKey(), Golden.UPDATE_FLAG)
          .isEqualTo(e.getValue());
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml")))
          .as("crds/ holds only generated CRDs")
          .containsExactlyInAnyOrderElementsOf(expected.keySet());
    }
  }

  @Test
  void apiPolicyColumnsPrintInTheDocumentedOrder() throws IOException {
    String crd = CrdPublication.published().get("apipolicies.tokengate.io-v1.yml");
    assertThat(crd)
        .containsSubsequence(
            "name: Issuer", "name: Mode", "name: Pods", "name: Ready", "name: Age");
  }
}
