package io.tokengate.api.v1alpha1.yaml;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.tokengate.api.v1alpha1.ApiGroup;
import io.tokengate.api.v1alpha1.apipolicy.ApiPolicy;
import io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer;
import io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads the YAML a user applies ({@code kubectl apply -f} documents, multi-document files allowed)
 * into typed resources, outside an API server. Unknown fields and wrong types are errors that name
 * the source and the field, so a broken file fails loudly rather than half-working.
 */
public final class ResourceReader {
  private static final Map<String, Class<? extends HasMetadata>> KINDS =
      Map.of(
          TokenIssuer.KIND, TokenIssuer.class,
          ClusterTokenIssuer.KIND, ClusterTokenIssuer.class,
          ApiPolicy.KIND, ApiPolicy.class);

  private static final ObjectMapper YAML =
      new ObjectMapper(
              YAMLFactory.builder()
                  .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                  .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                  .build())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private ResourceReader() {}

  /** The mapper used for tokengate YAML: strict on read, deterministic on write. */
  public static ObjectMapper yaml() {
    return YAML;
  }

  /**
   * Parses every document in {@code text}. Empty documents are skipped; documents of other kinds
   * are an error (a config directory holds tokengate resources only).
   *
   * @param source a name for error messages, usually the file path
   */
  public static List<HasMetadata> read(String source, String text) {
    List<HasMetadata> out = new ArrayList<>();
    int index = 0;
    try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(text)) {
      while (docs.hasNext()) {
        JsonNode doc = docs.next();
        index++;
        if (doc == null || doc.isNull() || doc.isMissingNode() || doc.isEmpty()) {
          continue;
        }
        out.add(convert(source, index, doc));
      }
    } catch (InvalidResourceException e) {
      throw e;
    } catch (JsonProcessingException e) {
      throw new InvalidResourceException(
          source, "document " + (index + 1), "not valid YAML: " + e.getOriginalMessage());
    } catch (IOException | RuntimeException e) {
      throw new InvalidResourceException(source, "document " + (index + 1), e.getMessage());
    }
    return out;
  }

  /** Serialises a resource as YAML, keys in a stable order. */
  public static String write(Object resource) {
    try {
      return YAML.writeValueAsString(resource);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + resource.getClass(), e);
    }
  }

  private static HasMetadata convert(String source, int index, JsonNode doc) {
    String where = "document " + index;
    String apiVersion = doc.path("apiVersion").asText("");
    String kind = doc.path("kind").asText("");
    String name = doc.path("metadata").path("name").asText("");
    if (!name.isEmpty()) {
      where = kind + "/" + name;
    }
    if (!ApiGroup.API_VERSION.equals(apiVersion)) {
      throw new InvalidResourceException(
          source,
          where,
          "apiVersion: expected " + ApiGroup.API_VERSION + ", got '" + apiVersion + "'");
    }
    Class<? extends HasMetadata> type = KINDS.get(kind);
    if (type == null) {
      throw new InvalidResourceException(
          source,
          where,
          "kind: expected one of "
              + KINDS.keySet().stream().sorted().collect(Collectors.joining(", "))
              + ", got '"
              + kind
              + "'");
    }
    if (name.isEmpty()) {
      throw new InvalidResourceException(source, where, "metadata.name: required");
    }
    if (!doc.has("spec") || !doc.get("spec").isObject()) {
      throw new InvalidResourceException(source, where, "spec: required");
    }
    try {
      return YAML.treeToValue(doc, type);
    } catch (JsonMappingException e) {
      throw new InvalidResourceException(source, where, describe(e));
    } catch (JsonProcessingException e) {
      throw new InvalidResourceException(source, where, e.getOriginalMessage());
    }
  }

  private static String describe(JsonMappingException e) {
    String path = path(e);
    if (e instanceof UnrecognizedPropertyException u) {
      return path + ": unknown field '" + u.getPropertyName() + "'";
    }
    if (e instanceof InvalidFormatException f && f.getTargetType() != null) {
      if (f.getTargetType().isEnum()) {
        String allowed =
            java.util.Arrays.stream(f.getTargetType().getEnumConstants())
                .map(Object::toString)
                .collect(Collectors.joining(", "));
        return path + ": '" + f.getValue() + "' is not one of " + allowed;
      }
      return path + ": '" + f.getValue() + "' is not a valid " + f.getTargetType().getSimpleName();
    }
    return path + ": " + e.getOriginalMessage();
  }

  private static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      } else if (ref.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      }
    }
    return sb.length() == 0 ? "(document)" : sb.toString();
  }
}
