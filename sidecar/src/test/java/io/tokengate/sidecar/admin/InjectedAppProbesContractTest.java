package io.tokengate.sidecar.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * One contract, checked from both sides: every {@code TOKENGATE_APP_PROBES} the operator's
 * injection golden files give a sidecar ({@code operator/src/test/resources/inject/*.injected}) is
 * accepted here, and every probe or hook the injector pointed at the admin port names a path it
 * holds.
 */
class InjectedAppProbesContractTest {
  private static final Path GOLDEN =
      Path.of("..", "operator", "src", "test", "resources", "inject");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @Test
  void everyInjectedProbeTableParsesAndCoversTheRewrittenProbes() throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.list(GOLDEN)) {
      files = s.filter(p -> p.toString().endsWith(".yaml.injected")).sorted().toList();
    }
    int checked = 0;
    for (Path file : files) {
      JsonNode pod = YAML.readTree(file.toFile()).path("pod");
      List<JsonNode> containers = new ArrayList<>();
      pod.path("spec").path("initContainers").forEach(containers::add);
      pod.path("spec").path("containers").forEach(containers::add);
      for (JsonNode sidecar : containers) {
        for (JsonNode env : sidecar.path("env")) {
          if (!"TOKENGATE_APP_PROBES".equals(env.path("name").asText())) {
            continue;
          }
          AppProbes probes = AppProbes.parse(env.path("value").asText());
          for (JsonNode c : containers) {
            List<JsonNode> handlers = new ArrayList<>();
            for (String kind : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
              handlers.add(c.path(kind));
            }
            handlers.add(c.path("lifecycle").path("postStart"));
            handlers.add(c.path("lifecycle").path("preStop"));
            for (JsonNode handler : handlers) {
              String path = handler.path("httpGet").path("path").asText();
              if (path.startsWith(AppProbes.PREFIX)) {
                assertThat(probes.find(path)).as("%s: %s", file.getFileName(), path).isPresent();
                checked++;
              }
            }
          }
        }
      }
    }
    assertThat(checked).as("rewritten probes found in %s", GOLDEN).isGreaterThanOrEqualTo(5);
  }
}
