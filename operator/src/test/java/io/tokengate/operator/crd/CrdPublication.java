package io.tokengate.operator.crd;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import io.tokengate.api.v1alpha1.yaml.ResourceReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the crd-generator output ({@code target/generated-crds}, written by the build) into the
 * files published in {@code crds/}. Two steps on top of the generator: printer columns in the order
 * the model declares them (the generator sorts them by name, which would print AGE first), and the
 * schema's root description (what {@code kubectl explain <kind>} prints) from the kind's {@link
 * JsonClassDescription}, which the generator 7.5 does not read.
 */
public final class CrdPublication {
  static final List<Class<? extends CustomResource<?, ?>>> KINDS =
      List.of(TokenIssuer.class, ClusterTokenIssuer.class, ApiPolicy.class);
  static final String HEADER =
      "# Generated from the api/ model by the fabric8 crd-generator; do not edit.\n"
          + "# Regenerate: ./mvnw -B -pl operator -am test -Dtest=CrdFreshnessTest"
          + " -Dtokengate.golden.update=true -Dsurefire.failIfNoSpecifiedTests=false\n";

  private CrdPublication() {}

  /** File name to published content. */
  public static Map<String, String> published() throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    for (Class<? extends CustomResource<?, ?>> kind : KINDS) {
      String plural = io.fabric8.kubernetes.api.model.HasMetadata.getPlural(kind);
      String file =
          plural + "." + io.fabric8.kubernetes.api.model.HasMetadata.getGroup(kind) + "-v1.yml";
      Path generated = Paths.get("target", "generated-crds", file);
      if (!Files.exists(generated)) {
        throw new IllegalStateException(
            generated
                + " is missing: the crd-generator runs in process-classes; build with"
                + " ./mvnw -pl operator -am test");
      }
      ObjectNode crd = (ObjectNode) ResourceReader.yaml().readTree(Files.readString(generated));
      for (JsonNode version : crd.path("spec").path("versions")) {
        orderColumns((ObjectNode) version, kind);
        describeRoot((ObjectNode) version, kind);
      }
      out.put(file, HEADER + ResourceReader.yaml().writeValueAsString(crd));
    }
    return out;
  }

  private static void describeRoot(ObjectNode version, Class<?> kind) {
    JsonClassDescription description = kind.getAnnotation(JsonClassDescription.class);
    if (description == null) {
      throw new IllegalStateException(
          kind.getSimpleName() + " needs @JsonClassDescription: kubectl explain prints it");
    }
    ObjectNode schema = (ObjectNode) version.path("schema").path("openAPIV3Schema");
    // Keep "description" first, as the generator places it on every other object.
    ObjectNode described = ResourceReader.yaml().createObjectNode();
    described.put("description", description.value());
    schema
        .fields()
        .forEachRemaining(
            e -> {
              if (!e.getKey().equals("description")) {
                described.set(e.getKey(), e.getValue());
              }
            });
    schema.removeAll();
    schema.setAll(described);
  }

  private static void orderColumns(ObjectNode version, Class<?> kind) {
    JsonNode columns = version.get("additionalPrinterColumns");
    if (columns == null) {
      return;
    }
    List<String> declared =
        Arrays.stream(kind.getAnnotationsByType(AdditionalPrinterColumn.class))
            .map(AdditionalPrinterColumn::name)
            .toList();
    List<JsonNode> sorted = new ArrayList<>();
    columns.forEach(sorted::add);
    sorted.sort(
        (a, b) ->
            Integer.compare(
                declared.indexOf(a.path("name").asText()),
                declared.indexOf(b.path("name").asText())));
    ArrayNode ordered = version.putArray("additionalPrinterColumns");
    sorted.forEach(ordered::add);
  }
}
