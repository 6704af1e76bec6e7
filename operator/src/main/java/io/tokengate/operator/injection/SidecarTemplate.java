package io.tokengate.operator.injection;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Volume;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The injected container as data: {@code sidecar-template.yaml} rendered with the settings and the
 * policy. Placeholders are substituted in the parsed tree, never in the text, so no value can
 * change the YAML's structure.
 */
public final class SidecarTemplate {
  public static final String RESOURCE = "/sidecar-template.yaml";
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{([A-Za-z]+)}}");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final JsonNode template;

  private SidecarTemplate(JsonNode template) {
    if (!template.path("container").isObject() || !template.path("volumes").isArray()) {
      throw new IllegalArgumentException("a sidecar template needs 'container' and 'volumes'");
    }
    this.template = template;
  }

  /** The template shipped with the operator. */
  public static SidecarTemplate bundled() {
    try (InputStream in = SidecarTemplate.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the classpath");
      }
      return new SidecarTemplate(YAML.readTree(in));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  /** A template from YAML text (tests, or a template the user provides). */
  public static SidecarTemplate parse(String yaml) {
    try {
      return new SidecarTemplate(YAML.readTree(yaml));
    } catch (IOException e) {
      throw new IllegalArgumentException("not a valid sidecar template: " + e.getMessage(), e);
    }
  }

  /** The container and volumes for one policy's sidecar. */
  public Rendered render(SidecarSettings settings, String configMapName) {
    Map<String, Object> values = new HashMap<>();
    values.put("image", settings.image());
    values.put("imagePullPolicy", settings.imagePullPolicy());
    values.put("listenPort", settings.listenPort());
    values.put("adminPort", settings.adminPort());
    values.put("cpuRequest", settings.resources().cpuRequest());
    values.put("memoryRequest", settings.resources().memoryRequest());
    values.put("cpuLimit", settings.resources().cpuLimit());
    values.put("memoryLimit", settings.resources().memoryLimit());
    values.put("configMapName", configMapName);
    values.put("javaToolOptions", settings.javaToolOptions());
    values.put("redirectImage", settings.redirectImage());
    values.put("drainSeconds", settings.drainSeconds());
    values.put("decisionLogAllowed", settings.decisionLogAllowed());
    JsonNode rendered = substitute(template.deepCopy(), values);
    Container container = YAML.convertValue(rendered.get("container"), Container.class);
    List<Volume> volumes = new ArrayList<>();
    rendered.get("volumes").forEach(v -> volumes.add(YAML.convertValue(v, Volume.class)));
    Container redirectInit =
        rendered.path("redirectInit").isObject()
            ? YAML.convertValue(rendered.get("redirectInit"), Container.class)
            : null;
    return new Rendered(container, volumes, redirectInit);
  }

  /** Replaces placeholders in place; returns null when the node itself is an unset placeholder. */
  private static JsonNode substitute(JsonNode node, Map<String, Object> values) {
    if (node.isTextual()) {
      Matcher m = PLACEHOLDER.matcher(node.asText());
      if (!m.matches()) {
        if (PLACEHOLDER.matcher(node.asText()).find()) {
          throw new IllegalArgumentException(
              "a placeholder must be a whole scalar: '" + node.asText() + "'");
        }
        return node;
      }
      if (!values.containsKey(m.group(1))) {
        throw new IllegalArgumentException("unknown placeholder {{" + m.group(1) + "}}");
      }
      Object value = values.get(m.group(1));
      if (value == null || (value instanceof String s && s.isBlank())) {
        return null;
      }
      return value instanceof Integer i
          ? JsonNodeFactory.instance.numberNode(i)
          : TextNode.valueOf(value.toString());
    }
    if (node instanceof ObjectNode object) {
      for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        JsonNode replaced = substitute(field.getValue(), values);
        if (replaced == null) {
          it.remove();
        } else {
          field.setValue(replaced);
        }
      }
    } else if (node instanceof ArrayNode array) {
      for (int i = array.size() - 1; i >= 0; i--) {
        JsonNode replaced = substitute(array.get(i), values);
        if (replaced == null) {
          array.remove(i);
        } else {
          array.set(i, replaced);
        }
      }
    }
    return node;
  }

  /**
   * A rendered sidecar: the container (without its listen port), the volumes it mounts, and the
   * init container of {@code interception: Redirect} (without its arguments; null when the template
   * has none).
   */
  public record Rendered(Container container, List<Volume> volumes, Container redirectInit) {}
}
