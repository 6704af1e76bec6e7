package io.tokengate.e2e.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where the repository and the tool cache are, for tests run by Maven or from an IDE. */
public final class Repo {
  private Repo() {}

  /** The repository root: {@code -Dtokengate.repo.root} (set by the e2e pom) or found upwards. */
  public static Path root() {
    String configured = System.getProperty("tokengate.repo.root");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("e2e/keycloak/fetch.sh"))) {
        return dir;
      }
    }
    throw new IllegalStateException(
        "cannot find the repository root: run from inside it or set -Dtokengate.repo.root");
  }

  /** {@code ${TOKENGATE_CACHE:-$HOME/.cache/tokengate}}, shared with the e2e scripts. */
  public static Path cache() {
    String env = System.getenv("TOKENGATE_CACHE");
    return env != null && !env.isBlank()
        ? Path.of(env)
        : Path.of(System.getProperty("user.home"), ".cache", "tokengate");
  }

  /**
   * The e2e's working directory ({@code -Dtokengate.e2e.workdir}, default {@code target/e2e}),
   * created, as an absolute path: clusters, Keycloak and sidecars each get a temporary directory
   * under it, kept after the run for their logs.
   */
  public static Path workDir() throws IOException {
    return Files.createDirectories(
            Path.of(System.getProperty("tokengate.e2e.workdir", "target/e2e")))
        .toAbsolutePath();
  }

  /** A built artifact of another module, with a clear error when it has not been built. */
  public static Path artifact(String relative, String buildHint) {
    Path path = root().resolve(relative);
    if (!Files.isRegularFile(path)) {
      throw new IllegalStateException(
          path + " does not exist: the e2e runs the built artifact. Build it first: " + buildHint);
    }
    return path;
  }
}
