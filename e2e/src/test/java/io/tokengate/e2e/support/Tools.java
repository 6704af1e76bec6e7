package io.tokengate.e2e.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Where the e2e's command-line tools are: helm and the control plane from build.sh, kubectl. */
public final class Tools {
  private Tools() {}

  /**
   * The binaries {@code e2e/controlplane/build.sh --check} reports (TOKENGATE_HELM, TOKENGATE_ETCD,
   * ...); fails with what to run when they are not built.
   */
  public static Map<String, String> controlPlaneBinaries() {
    Path script = Repo.root().resolve("e2e/controlplane/build.sh");
    String exports;
    try {
      exports =
          Processes.run(
              List.of("bash", script.toString(), "--check"), Map.of(), Duration.ofMinutes(1));
    } catch (Processes.CommandFailedException e) {
      throw new IllegalStateException(
          "the control plane binaries and helm are not built: run e2e/controlplane/build.sh (the"
              + " e2e module's pre-integration-test phase does)\n"
              + e.output(),
          e);
    }
    Map<String, String> env = new HashMap<>();
    for (String line : exports.split("\n")) {
      if (line.startsWith("export TOKENGATE_")) {
        String assignment = line.substring("export ".length());
        int eq = assignment.indexOf('=');
        env.put(assignment.substring(0, eq), unquote(assignment.substring(eq + 1)));
      }
    }
    return env;
  }

  public static String helm() {
    return controlPlaneBinaries().get("TOKENGATE_HELM");
  }

  /** {@code $TOKENGATE_KUBECTL}, else the preinstalled /usr/bin/kubectl, else kubectl on PATH. */
  public static String kubectl() {
    String configured = System.getenv("TOKENGATE_KUBECTL");
    if (configured != null && !configured.isBlank()) {
      return configured;
    }
    return Files.isExecutable(Path.of("/usr/bin/kubectl")) ? "/usr/bin/kubectl" : "kubectl";
  }

  /** helm bound to {@code kubeconfig}, with its caches under {@code home}. */
  public static Cli helm(Path kubeconfig, Path home) {
    return new Cli(
        "helm",
        helm(),
        Map.of(
            "KUBECONFIG", kubeconfig.toString(),
            "HELM_CACHE_HOME", home.resolve("cache").toString(),
            "HELM_CONFIG_HOME", home.resolve("config").toString(),
            "HELM_DATA_HOME", home.resolve("data").toString()));
  }

  public static Cli kubectl(Path kubeconfig) {
    return new Cli("kubectl", kubectl(), Map.of("KUBECONFIG", kubeconfig.toString()));
  }

  static String unquote(String value) {
    String v = value.trim();
    if (v.length() >= 2
        && ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith("\"") && v.endsWith("\"")))) {
      return v.substring(1, v.length() - 1);
    }
    return v;
  }
}
