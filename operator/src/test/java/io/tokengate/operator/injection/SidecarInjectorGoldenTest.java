package io.tokengate.operator.injection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.zjsonpatch.JsonPatch;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import io.tokengate.operator.webhook.AdmissionReviews;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every {@code src/test/resources/inject/<case>.yaml} (an AdmissionReview or a bare Pod, the
 * namespace's ApiPolicies, and optionally an {@code InjectionCase} document describing the API
 * server) is admitted by the real injector; the response, the decoded JSON Patch and the pod with
 * that patch applied by zjsonpatch must equal {@code <case>.yaml.injected}.
 *
 * <p>Regenerate the golden files after an intended change with {@code ./mvnw -pl operator test
 * -Dtest=SidecarInjectorGoldenTest -Dtokengate.golden.update=true} and review the diff.
 */
class SidecarInjectorGoldenTest {
  static final Path CASES =
      Path.of(System.getProperty("basedir", "."), "src", "test", "resources", "inject");
  static final boolean UPDATE = Boolean.getBoolean("tokengate.golden.update");
  static final String GOLDEN_SUFFIX = ".yaml.injected";

  static final SidecarSettings SETTINGS =
      new SidecarSettings(
          "tokengate/sidecar:0.1.0",
          "IfNotPresent",
          SidecarSettings.DEFAULT_LISTEN_PORT,
          SidecarSettings.DEFAULT_ADMIN_PORT,
          new SidecarSettings.Resources("50m", "64Mi", null, "128Mi"),
          "tokengate-system");

  private static final ObjectMapper YAML =
      new ObjectMapper(
          YAMLFactory.builder()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
              .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
              .build());
  private static final ObjectMapper JSON = new ObjectMapper();
  private final SidecarInjector injector = new SidecarInjector(SidecarTemplate.bundled(), SETTINGS);

  @TestFactory
  Stream<DynamicTest> everyCaseMatchesItsGoldenFile() throws IOException {
    List<Path> cases = cases();
    assertThat(cases).as("golden cases in " + CASES.toAbsolutePath()).isNotEmpty();
    return cases.stream()
        .map(c -> DynamicTest.dynamicTest(c.getFileName().toString(), () -> check(c)));
  }

  @Test
  void everyGoldenFileHasItsCase() throws IOException {
    Set<String> cases =
        cases().stream().map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    try (Stream<Path> files = Files.list(CASES)) {
      Set<String> orphans =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(GOLDEN_SUFFIX))
              .filter(n -> !cases.contains(n.substring(0, n.length() - ".injected".length())))
              .collect(Collectors.toCollection(TreeSet::new));
      assertThat(orphans).as("golden files whose case was removed: delete them").isEmpty();
    }
  }

  private static List<Path> cases() throws IOException {
    try (Stream<Path> files = Files.list(CASES)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".yaml")).sorted().toList();
    }
  }

  private void check(Path casePath) throws IOException {
    Case c = Case.read(casePath);
    AdmissionResponse response = admit(c);
    assertThat(response.getUid()).as("the response echoes the request's uid").isEqualTo(c.uid());
    String actual = render(casePath, c, response);
    Path golden = casePath.resolveSibling(casePath.getFileName() + ".injected");
    if (UPDATE) {
      Files.writeString(golden, actual);
      return;
    }
    if (!Files.exists(golden)) {
      fail(golden + " is missing: run with -Dtokengate.golden.update=true and review it");
    }
    assertThat(actual)
        .as("%s is stale: run with -Dtokengate.golden.update=true and review the diff", golden)
        .isEqualTo(Files.readString(golden));
  }

  private AdmissionResponse admit(Case c) {
    var decoded = AdmissionReviews.decode(c.review().toString().getBytes(StandardCharsets.UTF_8));
    if (decoded instanceof AdmissionReviews.Request r) {
      return injector.admit(r.request(), c.policies(), c.nativeSidecars());
    }
    if (decoded instanceof AdmissionReviews.Answer a) {
      return a.response();
    }
    throw new AssertionError("malformed case: " + ((AdmissionReviews.Malformed) decoded).message());
  }

  /** The golden text: the response (patch decoded), and the input pod with the patch applied. */
  private static String render(Path casePath, Case c, AdmissionResponse response)
      throws IOException {
    ObjectNode out = JSON.createObjectNode();
    ObjectNode responseNode = JSON.valueToTree(response);
    responseNode.remove("patch");
    out.set("response", responseNode);
    if (response.getPatch() != null) {
      assertThat(response.getPatchType()).isEqualTo("JSONPatch");
      JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.getPatch()));
      out.set("patch", patch);
      JsonNode admitted = c.review().path("request").path("object");
      JsonNode patched = JsonPatch.apply(patch, admitted);
      // The patched document is a valid Pod that runs the sidecar exactly once, or a declined pod
      // that only got the annotation saying why.
      Pod pod = JSON.treeToValue(patched, Pod.class);
      var annotations = pod.getMetadata().getAnnotations();
      if (annotations != null && annotations.containsKey(ApiGroup.NOT_INJECTED_ANNOTATION)) {
        assertThat(SidecarInjector.alreadyInjected(pod)).isFalse();
        assertThat(patch).hasSize(1);
      } else {
        assertThat(
                Stream.concat(
                        pod.getSpec().getInitContainers().stream(),
                        pod.getSpec().getContainers().stream())
                    .filter(ct -> ct.getName().equals(SidecarInjector.CONTAINER_NAME)))
            .hasSize(1);
        assertThat(SidecarInjector.alreadyInjected(pod)).isTrue();
      }
      out.set("pod", patched);
    }
    return "# Generated from "
        + casePath.getFileName()
        + " by SidecarInjectorGoldenTest. Do not edit: regenerate with\n"
        + "# ./mvnw -pl operator test -Dtest=SidecarInjectorGoldenTest -Dtokengate.golden.update=true\n"
        + YAML.writeValueAsString(out);
  }

  /** One case file: the review (a bare Pod is wrapped in a CREATE review), policies, server. */
  record Case(ObjectNode review, List<ApiPolicy> policies, boolean nativeSidecars) {
    String uid() {
      return review.path("request").path("uid").asText();
    }

    static Case read(Path path) throws IOException {
      ObjectNode review = null;
      List<ApiPolicy> policies = new ArrayList<>();
      boolean nativeSidecars = true;
      try (MappingIterator<JsonNode> docs =
          YAML.readerFor(JsonNode.class).readValues(path.toFile())) {
        while (docs.hasNext()) {
          JsonNode doc = docs.next();
          switch (doc.path("kind").asText()) {
            case "InjectionCase" -> nativeSidecars = doc.path("nativeSidecars").asBoolean(true);
            case "AdmissionReview" -> review = (ObjectNode) doc;
            case "Pod" -> review = wrap(path, (ObjectNode) doc);
            case "ApiPolicy" ->
                policies.add(
                    (ApiPolicy)
                        ResourceReader.read(path.toString(), YAML.writeValueAsString(doc)).get(0));
            default -> {
              if (review != null) {
                throw new IllegalArgumentException(path + ": unexpected document " + doc);
              }
              review = (ObjectNode) doc; // an AdmissionReview of some other kind, left as is
            }
          }
        }
      }
      if (review == null) {
        throw new IllegalArgumentException(path + " has no AdmissionReview or Pod");
      }
      return new Case(review, policies, nativeSidecars);
    }

    private static ObjectNode wrap(Path path, ObjectNode pod) {
      String name = path.getFileName().toString().replace(".yaml", "");
      ObjectNode review = JSON.createObjectNode();
      review.put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
      ObjectNode request = review.putObject("request");
      request.put(
          "uid", "00000000-0000-0000-0000-" + String.format("%012x", Math.abs(name.hashCode())));
      request.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
      request.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
      request.put("namespace", pod.path("metadata").path("namespace").asText("shop"));
      request.put("operation", "CREATE");
      request.set("object", pod);
      return review;
    }
  }
}
