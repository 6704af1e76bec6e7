package io.tokengate.sidecar.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tokengate.api.v1alpha1.apipolicy.RuleAction;
import io.tokengate.api.v1alpha1.tokenissuer.Introspection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * One contract, checked from both sides: every ConfigMap the operator's golden tests render ({@code
 * operator/src/test/resources/render/*.rendered}) is laid out the way a kubelet lays out a
 * ConfigMap volume and loaded by the sidecar's real configuration loader. A rendering the sidecar
 * cannot read fails here, not in a pod.
 */
class RenderedConfigMapContractTest {
  private static final Path GOLDEN =
      Path.of("..", "operator", "src", "test", "resources", "render");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @TempDir Path tmp;

  @TestFactory
  Stream<DynamicTest> everyRenderedConfigMapLoadsInTheSidecar() throws IOException {
    List<Path> rendered;
    try (Stream<Path> files = Files.list(GOLDEN)) {
      rendered = files.filter(p -> p.toString().endsWith(".rendered")).sorted().toList();
    }
    assertThat(rendered).as("operator golden renderings in %s", GOLDEN).isNotEmpty();
    return rendered.stream()
        .map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> loads(p)));
  }

  private void loads(Path golden) throws IOException {
    JsonNode configMap = YAML.readTree(golden.toFile());
    JsonNode data = configMap.path("data");
    assertThat(data.isObject()).as("data of %s", golden).isTrue();
    Path volume = kubeletVolume(golden.getFileName().toString(), data);

    SidecarConfig config = ConfigLoader.load(volume);

    String policyName =
        configMap.path("metadata").path("labels").path("tokengate.io/policy").asText();
    assertThat(config.policy().getMetadata().getName()).isEqualTo(policyName);
    assertThat(configMap.path("metadata").path("name").asText())
        .isEqualTo("tokengate-" + policyName);
    assertThat(config.issuers())
        .extracting(SidecarConfig.TrustedIssuer::name)
        .containsExactlyElementsOf(
            config.policy().getSpec().trustedIssuers().stream().map(r -> r.name).toList());
    for (SidecarConfig.TrustedIssuer issuer : config.issuers()) {
      assertThat(issuer.audiences()).isNotEmpty();
      if (issuer.issuer().getSpec().introspection != null) {
        assertThat(issuer.clientSecret()).isEqualTo("client-secret-value");
      }
      String snapshotKey = issuer.name() + ".jwks.json";
      if (data.has(snapshotKey)) {
        assertThat(issuer.snapshot()).as("snapshot from %s", snapshotKey).isNotNull();
        assertThat(issuer.snapshot().getKeys()).isNotEmpty();
        assertThat(issuer.snapshot().getKeys()).allMatch(k -> !k.isPrivate());
      } else {
        assertThat(issuer.snapshot()).isNull();
      }
    }
    if (golden.getFileName().toString().startsWith("deleting")) {
      // The deny-all rendering must actually deny: one catch-all Deny rule.
      assertThat(config.policy().getSpec().rules)
          .anySatisfy(
              r -> {
                assertThat(r.action).isEqualTo(RuleAction.Deny);
                assertThat(r.paths).contains("/**");
              });
    }
  }

  /**
   * The client Secrets the injector mounts under {@value Introspection#SECRETS_DIR}, laid out in
   * the test's directory instead (a Secret volume holds one file per key): the rendered path is
   * moved there and the file written, so the loader reads exactly the file the rendering names.
   */
  private String mountClientSecrets(String document) throws IOException {
    Matcher m =
        Pattern.compile("clientSecretFile: (" + Pattern.quote(Introspection.SECRETS_DIR) + "/\\S+)")
            .matcher(document);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      Path mounted = tmp.resolve("secrets").resolve(m.group(1).substring(1));
      Files.createDirectories(mounted.getParent());
      Files.writeString(mounted, "client-secret-value\n");
      m.appendReplacement(out, Matcher.quoteReplacement("clientSecretFile: " + mounted));
    }
    m.appendTail(out);
    return out.toString();
  }

  /**
   * {@code <dir>/..<ts>/<key>}, {@code <dir>/..data -> ..<ts>}, {@code <dir>/<key> ->
   * ..data/<key>}.
   */
  private Path kubeletVolume(String name, JsonNode data) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Path ts = Files.createDirectories(dir.resolve("..2026_12_01_00_00_00.000000001"));
    Files.createSymbolicLink(dir.resolve("..data"), ts.getFileName());
    for (Iterator<Map.Entry<String, JsonNode>> it = data.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String text = mountClientSecrets(e.getValue().asText());
      Files.writeString(ts.resolve(e.getKey()), text, StandardCharsets.UTF_8);
      Files.createSymbolicLink(dir.resolve(e.getKey()), Path.of("..data", e.getKey()));
    }
    return dir;
  }
}
