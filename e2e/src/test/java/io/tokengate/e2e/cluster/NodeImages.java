package io.tokengate.e2e.cluster;

import io.tokengate.e2e.support.Processes;
import io.tokengate.e2e.support.Repo;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The images the real node runs ({@code e2e/images/build.sh}): docker-archive tarballs of the
 * pause, test app and client images, the operator's and sidecar's Jib images and the redirect init
 * image, as the {@code TOKENGATE_IMAGE_*} variables {@link ControlPlane#start(java.nio.file.Path,
 * boolean, Map)} imports into containerd.
 */
public final class NodeImages {
  /** The test app: echoes method, path and headers as JSON; {@code /healthz}. */
  public static final String TESTAPP = "tokengate.local/testapp:0.1.0";

  /** The client: {@code get}, {@code burst}, {@code load}; JSON on stdout. */
  public static final String CLIENT = "tokengate.local/client:0.1.0";

  /** The init program of {@code interception: Redirect} (the operator's default image). */
  public static final String REDIRECT_INIT = "tokengate/redirect-init:0.1.0";

  private NodeImages() {}

  /** Builds what is missing or stale (cached otherwise) and returns the variables. */
  public static Map<String, String> build() {
    String exports;
    try {
      exports =
          Processes.run(
              List.of("bash", Repo.root().resolve("e2e/images/build.sh").toString()),
              Map.of(),
              Duration.ofMinutes(15));
    } catch (Processes.CommandFailedException e) {
      throw new IllegalStateException("e2e/images/build.sh failed:\n" + e.output(), e);
    }
    Map<String, String> images = new LinkedHashMap<>();
    for (String line : exports.split("\n")) {
      if (line.startsWith("export TOKENGATE_IMAGE_")) {
        String assignment = line.substring("export ".length());
        int eq = assignment.indexOf('=');
        String value = assignment.substring(eq + 1).trim();
        if (value.length() >= 2 && value.startsWith("'") && value.endsWith("'")) {
          value = value.substring(1, value.length() - 1);
        }
        images.put(assignment.substring(0, eq), value);
      }
    }
    for (String name :
        List.of("PAUSE", "TESTAPP", "CLIENT", "OPERATOR", "SIDECAR", "REDIRECT_INIT")) {
      if (!images.containsKey("TOKENGATE_IMAGE_" + name)) {
        throw new IllegalStateException(
            "e2e/images/build.sh exported no TOKENGATE_IMAGE_" + name + ":\n" + exports);
      }
    }
    return images;
  }
}
