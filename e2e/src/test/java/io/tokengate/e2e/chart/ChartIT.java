package io.tokengate.e2e.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Helm chart {@code helm/tokengate}, checked with the real helm binary (no cluster needed).
 *
 * <p>Every values file {@code helm/tokengate/tests/values/NAME.yaml} is a case, discovered
 * automatically: it must lint clean with {@code --strict}, and {@code helm template} must render
 * exactly {@code helm/tokengate/tests/golden/NAME.yaml}. A golden without its values file fails
 * too. After an intended change, regenerate the goldens with {@code helm/test.sh --update} (which
 * runs this class with {@code -Dtokengate.golden.update=true}) and review the diff.
 *
 * <p>Named {@code *IT} because it runs the helm binary that the e2e module's pre-integration-test
 * phase builds ({@code e2e/controlplane/build.sh}).
 */
class ChartIT {
  static final Path ROOT =
      Path.of(System.getProperty("tokengate.repo.root", "..")).toAbsolutePath().normalize();
  static final Path CHART = ROOT.resolve("helm/tokengate");
  static final Path CASES = CHART.resolve("tests/values");
  static final Path GOLDEN = CHART.resolve("tests/golden");
  static final boolean UPDATE = Boolean.getBoolean("tokengate.golden.update");
  static final String RELEASE = "tokengate";
  static final String NAMESPACE = "tokengate-system";
  static final String REGENERATE = "helm/test.sh --update";

  static final YAMLMapper YAML = new YAMLMapper();
  static final Helm HELM = Helm.locate(ROOT);

  static List<String> cases() throws IOException {
    try (Stream<Path> files = Files.list(CASES)) {
      List<String> names =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.endsWith(".yaml"))
              .map(n -> n.substring(0, n.length() - ".yaml".length()))
              .sorted()
              .toList();
      assertThat(names).as("value sets in %s", CASES).contains("default");
      return names;
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void lintsCleanInStrictMode(String name) {
    Helm.Result lint = HELM.run("lint", "--strict", CHART.toString(), "-f", values(name));
    assertThat(lint.exitCode()).as("helm lint --strict -f %s:%n%s", name, lint).isZero();
    assertThat(lint.stdout()).doesNotContain("[WARNING]").doesNotContain("[ERROR]");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rendersItsGoldenManifests(String name) throws IOException {
    String rendered = header(name) + template(name);
    Path golden = GOLDEN.resolve(name + ".yaml");
    if (UPDATE) {
      Files.createDirectories(GOLDEN);
      Files.writeString(golden, rendered);
      return;
    }
    if (!Files.exists(golden)) {
      fail(ROOT.relativize(golden) + " is missing: run " + REGENERATE + " and review it");
    }
    assertThat(rendered)
        .as("%s is stale: run %s and review the diff", ROOT.relativize(golden), REGENERATE)
        .isEqualTo(Files.readString(golden));
  }

  @Test
  void everyGoldenHasItsValueSet() throws IOException {
    Set<String> cases = new TreeSet<>(cases());
    try (Stream<Path> files = Files.list(GOLDEN)) {
      List<String> orphans =
          files
              .map(p -> p.getFileName().toString().replaceFirst("\\.yaml$", ""))
              .filter(n -> !cases.contains(n))
              .toList();
      if (UPDATE) {
        for (String orphan : orphans) {
          Files.delete(GOLDEN.resolve(orphan + ".yaml"));
        }
        return;
      }
      assertThat(orphans)
          .as("goldens without a tests/values file: delete them or run %s", REGENERATE)
          .isEmpty();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void rbacNamesEveryVerbResourceAndGroup(String name) throws IOException {
    List<JsonNode> roles =
        documents(template(name)).stream()
            .filter(d -> Set.of("Role", "ClusterRole").contains(d.path("kind").asText()))
            .toList();
    assertThat(roles).isNotEmpty();
    for (JsonNode role : roles) {
      String what = role.path("kind").asText() + " " + role.path("metadata").path("name").asText();
      assertThat(role.has("aggregationRule")).as("%s aggregates other roles", what).isFalse();
      for (JsonNode rule : role.path("rules")) {
        assertThat(rule.path("verbs").size()).as("%s: a rule without verbs", what).isPositive();
        for (String field : List.of("apiGroups", "resources", "verbs", "resourceNames")) {
          for (JsonNode value : rule.path(field)) {
            assertThat(value.asText()).as("%s %s in %s", what, field, rule).doesNotContain("*");
          }
        }
        assertThat(strings(rule.path("verbs")))
            .as("%s: privilege-escalating verbs in %s", what, rule)
            .doesNotContain("escalate", "bind", "impersonate");
        if (strings(rule.path("resources")).contains("secrets")) {
          // Secrets are only ever read by name; anything else is limited to named Secrets.
          if (!rule.has("resourceNames")) {
            assertThat(strings(rule.path("verbs")))
                .as("%s: unrestricted verbs on secrets in %s", what, rule)
                .containsOnly("get");
          }
          assertThat(strings(rule.path("verbs")))
              .as("%s: listing or watching secrets in %s", what, rule)
              .doesNotContain("list", "watch");
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void operatorPodsRunRestrictedAndOutsideTheirOwnWebhook(String name) throws IOException {
    List<JsonNode> docs = documents(template(name));
    JsonNode webhook = only(docs, "MutatingWebhookConfiguration").path("webhooks").get(0);
    assertThat(webhook.path("sideEffects").asText()).isEqualTo("NoneOnDryRun");
    assertThat(strings(webhook.path("admissionReviewVersions"))).containsExactly("v1");
    assertThat(
            webhook
                .path("namespaceSelector")
                .path("matchLabels")
                .path("tokengate.io/injection")
                .asText())
        .isEqualTo("enabled");
    JsonNode exclusion = webhook.path("objectSelector").path("matchExpressions").get(0);
    assertThat(exclusion.path("key").asText()).isEqualTo("tokengate.io/inject");
    assertThat(exclusion.path("operator").asText()).isEqualTo("NotIn");
    assertThat(strings(exclusion.path("values"))).containsExactly("false");

    List<JsonNode> deployments = ofKind(docs, "Deployment");
    if (webhook.path("clientConfig").has("url")) {
      assertThat(deployments).as("webhook.url: the operator runs outside the cluster").isEmpty();
      return;
    }
    assertThat(webhook.path("clientConfig").path("service").path("port").asInt()).isEqualTo(443);
    assertThat(deployments).hasSize(1);
    JsonNode pod = deployments.get(0).path("spec").path("template");
    assertThat(pod.path("metadata").path("labels").path("tokengate.io/inject").asText())
        .as("the operator's pods must not depend on their own webhook")
        .isEqualTo("false");
    JsonNode podSecurity = pod.path("spec").path("securityContext");
    assertThat(podSecurity.path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(podSecurity.path("seccompProfile").path("type").asText())
        .isEqualTo("RuntimeDefault");
    for (JsonNode container : pod.path("spec").path("containers")) {
      JsonNode security = container.path("securityContext");
      assertThat(security.path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
      assertThat(security.path("readOnlyRootFilesystem").asBoolean()).isTrue();
      assertThat(strings(security.path("capabilities").path("drop"))).contains("ALL");
      assertThat(security.path("capabilities").has("add")).isFalse();
      assertThat(container.path("livenessProbe").path("httpGet").path("path").asText())
          .isEqualTo("/q/health/live");
      assertThat(container.path("readinessProbe").path("httpGet").path("path").asText())
          .isEqualTo("/q/health/ready");
      assertThat(container.path("resources").path("limits").has("memory")).isTrue();
    }
  }

  /** {@code helm test} proves the webhook answers, through its Service, with the trusted CA. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void helmTestSendsTheWebhookAReview(String name) throws IOException {
    List<JsonNode> docs = documents(template(name));
    List<JsonNode> tests =
        ofKind(docs, "Pod").stream()
            .filter(
                d ->
                    "test"
                        .equals(
                            d.path("metadata").path("annotations").path("helm.sh/hook").asText()))
            .toList();
    JsonNode webhook = only(docs, "MutatingWebhookConfiguration").path("webhooks").get(0);
    if (webhook.path("clientConfig").has("url")) {
      assertThat(tests).as("webhook.url: no operator in the cluster to test").isEmpty();
      return;
    }
    assertThat(tests).hasSize(1);
    JsonNode pod = tests.get(0);
    JsonNode service = webhook.path("clientConfig").path("service");
    JsonNode container = pod.path("spec").path("containers").get(0);
    assertThat(strings(container.path("command")))
        .contains("io.tokengate.operator.webhook.WebhookCheck")
        .contains(
            "https://"
                + service.path("name").asText()
                + "."
                + service.path("namespace").asText()
                + ".svc:443"
                + service.path("path").asText());
    JsonNode operator =
        only(docs, "Deployment").path("spec").path("template").path("spec").path("containers");
    assertThat(container.path("image").asText()).isEqualTo(operator.get(0).path("image").asText());
    assertThat(pod.path("metadata").path("labels").path("tokengate.io/inject").asText())
        .isEqualTo("false");
    assertThat(pod.path("spec").path("restartPolicy").asText()).isEqualTo("Never");
    assertThat(pod.path("spec").path("automountServiceAccountToken").asBoolean(true)).isFalse();
    assertThat(container.path("securityContext").path("readOnlyRootFilesystem").asBoolean())
        .isTrue();
    assertThat(container.path("resources").path("limits").has("memory")).isTrue();
    JsonNode ca = pod.path("spec").path("volumes").get(0).path("secret");
    assertThat(ca.path("secretName").asText()).isEqualTo(webhookTlsSecret(docs));
    assertThat(ca.path("items").get(0).path("key").asText()).isEqualTo("ca.crt");
  }

  /** The TLS Secret the operator's settings name. */
  static String webhookTlsSecret(List<JsonNode> docs) {
    return ofKind(docs, "ConfigMap").stream()
        .filter(d -> d.path("metadata").path("name").asText().endsWith("-settings"))
        .findFirst()
        .orElseThrow()
        .path("data")
        .path("TOKENGATE_WEBHOOK_TLS_SECRET_NAME")
        .asText();
  }

  /**
   * The sidecars' PodMonitor scrapes the admin port by the name the injected sidecar declares
   * (operator/src/main/resources/sidecar-template.yaml), so it finds every injected pod and no
   * other.
   */
  @Test
  void podMonitorScrapesTheInjectedSidecarsAdminPort() throws IOException {
    JsonNode monitor = only(documents(template("servicemonitor")), "PodMonitor");
    JsonNode endpoint = monitor.path("spec").path("podMetricsEndpoints").get(0);
    String template =
        Files.readString(ROOT.resolve("operator/src/main/resources/sidecar-template.yaml"));
    assertThat(template).contains("- name: " + endpoint.path("port").asText() + "\n");
    assertThat(endpoint.path("path").asText()).isEqualTo("/metrics");
    assertThat(monitor.path("spec").path("namespaceSelector").path("any").asBoolean()).isTrue();
    assertThat(monitor.path("metadata").path("labels").path("release").asText())
        .isEqualTo("prometheus");
    assertThat(ofKind(documents(template("default")), "PodMonitor")).isEmpty();
  }

  /** Chart metadata that Artifact Hub, umbrella charts and `helm show chart` users rely on. */
  @Test
  void chartNamesItsHomeSourcesAndMaintainers() throws IOException {
    JsonNode chart = YAML.readTree(CHART.resolve("Chart.yaml").toFile());
    assertThat(chart.path("home").asText()).startsWith("https://");
    assertThat(chart.path("sources")).isNotEmpty();
    chart.path("sources").forEach(s -> assertThat(s.asText()).startsWith("https://"));
    assertThat(chart.path("maintainers")).isNotEmpty();
    chart.path("maintainers").forEach(m -> assertThat(m.path("name").asText()).isNotBlank());
    assertThat(chart.path("appVersion").asText()).isEqualTo(chart.path("version").asText());
  }

  /** Umbrella charts and Argo CD pass {@code global}; the strict schema must admit it. */
  @Test
  void schemaAdmitsGlobalValues() {
    Helm.Result result =
        HELM.run(
            "template",
            RELEASE,
            CHART.toString(),
            "-n",
            NAMESPACE,
            "--set",
            "global.imageRegistry=registry.example",
            "--set",
            "global.labels.team=platform");
    assertThat(result.exitCode()).as("helm template with global values:%n%s", result).isZero();
  }

  /**
   * NOTES.txt points only at what the chart ships: no repository paths (a chart user has none),
   * every file to apply is the user's own placeholder, and the webhook check is {@code helm test}.
   * (Read from the template: rendering NOTES needs {@code helm install}, which needs a cluster.)
   */
  @Test
  void notesPointOnlyAtWhatTheChartShips() throws IOException {
    String notes = Files.readString(CHART.resolve("templates/NOTES.txt"));
    var files = java.util.regex.Pattern.compile("-f (\\S+)").matcher(notes);
    int applied = 0;
    while (files.find()) {
      applied++;
      assertThat(files.group(1))
          .as("a file NOTES.txt tells the user to apply")
          .matches("<[a-z-]+>\\.yaml");
    }
    assertThat(applied).isPositive();
    assertThat(notes)
        .doesNotContain("examples/")
        .contains("kubectl explain apipolicy.spec")
        .contains("helm test {{ .Release.Name }} -n {{ .Release.Namespace }}");
  }

  /** A wrong value is refused before anything reaches the cluster, naming the value. */
  @ParameterizedTest(name = "--set {0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "replicaCount=two              | at '/replicaCount': got string, want integer",
        "replicaCount=0                | at '/replicaCount': minimum: got 0, want 1",
        "webhook.failurePolicy=Maybe   | at '/webhook/failurePolicy': value must be one of 'Fail', 'Ignore'",
        "webhook.timeoutSeconds=60     | at '/webhook/timeoutSeconds': maximum: got 60, want 30",
        "webhook.url=http://10.0.0.5/x | at '/webhook/url': 'http://10.0.0.5/x' does not match pattern",
        "rbac.caSecrets.scope=All      | at '/rbac/caSecrets/scope': value must be one of 'Namespaces', 'Cluster', 'None'",
        "sidecar.image.digest=sha256:1 | at '/sidecar/image/digest': 'sha256:1' does not match pattern",
        "webhok.url=https://x/y        | additional properties 'webhok' not allowed",
      })
  void schemaRefusesAWrongValue(String set, String message) {
    Helm.Result result =
        HELM.run("template", RELEASE, CHART.toString(), "-n", NAMESPACE, "--set", set);
    assertThat(result.exitCode()).as("helm template --set %s", set).isNotZero();
    assertThat(result.stderr()).contains("values don't meet the specifications").contains(message);
  }

  @Test
  void providedCertificatesNeedTheirCa() {
    Helm.Result result =
        HELM.run(
            "template",
            RELEASE,
            CHART.toString(),
            "-n",
            NAMESPACE,
            "--set",
            "webhook.tls.provided=true");
    assertThat(result.exitCode()).isNotZero();
    assertThat(result.stderr()).contains("webhook.tls.provided needs webhook.tls.caBundle");
  }

  /** The README's values table names every value of values.yaml, and nothing else. */
  @Test
  void readmeDocumentsEveryValue() throws IOException {
    JsonNode values = YAML.readTree(CHART.resolve("values.yaml").toFile());
    Set<String> keys = new TreeSet<>();
    flatten("", values, keys);
    String readme = Files.readString(CHART.resolve("README.md"));
    Set<String> documented = new TreeSet<>();
    var row = java.util.regex.Pattern.compile("(?m)^\\| `([A-Za-z0-9.]+)` \\|").matcher(readme);
    while (row.find()) {
      documented.add(row.group(1));
    }
    documented.removeIf(k -> k.startsWith("TOKENGATE_") || k.startsWith("QUARKUS_"));
    assertThat(documented).as("values documented in helm/tokengate/README.md").isEqualTo(keys);
  }

  /** Values documented as one row: Kubernetes structures and small groups. */
  static final Set<String> DOCUMENTED_WHOLE =
      Set.of(
          "sidecar.resources",
          "podSecurityContext",
          "securityContext",
          "resources",
          "probes",
          "nodeSelector");

  static void flatten(String prefix, JsonNode node, Set<String> keys) {
    if (!node.isObject() || node.isEmpty() || DOCUMENTED_WHOLE.contains(prefix)) {
      keys.add(prefix);
      return;
    }
    node.fields()
        .forEachRemaining(
            e ->
                flatten(
                    prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), keys));
  }

  /** Helm installs the chart's crds/; they must be the CRDs generated from the Java model. */
  @Test
  void chartCrdsAreTheGeneratedCrds() throws IOException {
    Path generated = ROOT.resolve("crds");
    Path chart = CHART.resolve("crds");
    Set<String> names = new TreeSet<>(yamlFiles(generated));
    assertThat(names).as("CRDs generated into crds/").isNotEmpty();
    names.addAll(yamlFiles(chart));
    List<String> stale = new ArrayList<>();
    for (String file : names) {
      Path a = generated.resolve(file);
      Path b = chart.resolve(file);
      if (!Files.exists(a) || !Files.exists(b) || Files.mismatch(a, b) != -1) {
        stale.add(file);
      }
    }
    assertThat(stale)
        .as("helm/tokengate/crds differs from crds/ in these files; fix: helm/sync-crds.sh")
        .isEmpty();
  }

  // ---------------------------------------------------------------------------------------------

  static String values(String name) {
    return CASES.resolve(name + ".yaml").toString();
  }

  static String template(String name) {
    Helm.Result result =
        HELM.run("template", RELEASE, CHART.toString(), "-n", NAMESPACE, "-f", values(name));
    assertThat(result.exitCode()).as("helm template -f %s:%n%s", name, result).isZero();
    return result.stdout();
  }

  static String header(String name) {
    return "# helm template "
        + RELEASE
        + " helm/tokengate -n "
        + NAMESPACE
        + " -f helm/tokengate/tests/values/"
        + name
        + ".yaml\n# Do not edit: rendered by e2e ChartIT; regenerate with "
        + REGENERATE
        + "\n";
  }

  static List<JsonNode> documents(String yaml) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc != null && doc.isObject()) {
          docs.add(doc);
        }
      }
    }
    return docs;
  }

  static List<JsonNode> ofKind(List<JsonNode> docs, String kind) {
    return docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
  }

  static JsonNode only(List<JsonNode> docs, String kind) {
    List<JsonNode> found = ofKind(docs, kind);
    assertThat(found).as("rendered %s", kind).hasSize(1);
    return found.get(0);
  }

  static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  static Set<String> yamlFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return Set.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml") || n.endsWith(".yml"))
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  /** The helm binary, run with its own empty config, cache and data directories. */
  record Helm(Path binary, Path home) {
    record Result(int exitCode, String stdout, String stderr) {
      @Override
      public String toString() {
        return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
      }
    }

    /**
     * TOKENGATE_HELM if set, else the pinned version in the control-plane cache
     * (${TOKENGATE_CACHE:-~/.cache/tokengate}/bin/helm-VERSION, built by
     * e2e/controlplane/build.sh).
     */
    static Helm locate(Path root) {
      try {
        Path binary;
        String explicit = System.getenv("TOKENGATE_HELM");
        if (explicit != null && !explicit.isBlank()) {
          binary = Path.of(explicit);
        } else {
          String cache = System.getenv("TOKENGATE_CACHE");
          Path dir =
              cache != null && !cache.isBlank()
                  ? Path.of(cache)
                  : Path.of(System.getProperty("user.home"), ".cache", "tokengate");
          binary = dir.resolve("bin").resolve("helm-" + pinnedVersion(root));
        }
        if (!Files.isExecutable(binary)) {
          throw new IllegalStateException(
              "helm not found at "
                  + binary
                  + ": build it with e2e/controlplane/build.sh (or set TOKENGATE_HELM)");
        }
        Path home = root.resolve("e2e/target/chart-it-helm-home");
        Files.createDirectories(home);
        return new Helm(binary, home);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The helm version build.sh pins (HELM_VERSION="${TOKENGATE_HELM_VERSION:-vX.Y.Z}"). */
    static String pinnedVersion(Path root) throws IOException {
      String override = System.getenv("TOKENGATE_HELM_VERSION");
      if (override != null && !override.isBlank()) {
        return override;
      }
      String script = Files.readString(root.resolve("e2e/controlplane/build.sh"));
      var m =
          java.util.regex.Pattern.compile("HELM_VERSION=\"\\$\\{TOKENGATE_HELM_VERSION:-([^}]+)}\"")
              .matcher(script);
      if (!m.find()) {
        throw new IllegalStateException("no HELM_VERSION pin in e2e/controlplane/build.sh");
      }
      return m.group(1);
    }

    Result run(String... args) {
      List<String> command = new ArrayList<>();
      command.add(binary.toString());
      command.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile());
      // Reproducible: no user repositories, plugins or registry logins leak into the render.
      pb.environment().keySet().removeIf(k -> k.startsWith("HELM_"));
      pb.environment().put("HELM_CONFIG_HOME", home.resolve("config").toString());
      pb.environment().put("HELM_CACHE_HOME", home.resolve("cache").toString());
      pb.environment().put("HELM_DATA_HOME", home.resolve("data").toString());
      pb.environment().put("KUBECONFIG", home.resolve("no-kubeconfig").toString());
      try {
        Path out = Files.createTempFile(home, "out", ".txt");
        Path err = Files.createTempFile(home, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new IllegalStateException("helm " + String.join(" ", args) + " timed out");
        }
        return new Result(
            p.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }
}
