package io.tokengate.operator.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Optional;

/**
 * Finds the kube-apiserver and etcd that {@code e2e/controlplane/build.sh} caches, and lays them
 * out as kube-api-test expects ({@code <dir>/k8s/<version>-linux-amd64/{etcd,kube-apiserver,
 * kubectl}}) under {@code target/}, with symbolic links. Nothing is downloaded.
 */
final class ControlPlaneBinaries {
  static final String VERSION = "1.37.2";

  private ControlPlaneBinaries() {}

  static Optional<Path> kubeApiTestDir() {
    Path cache =
        Paths.get(
            Optional.ofNullable(System.getenv("TOKENGATE_CACHE"))
                .orElse(
                    System.getProperty(
                        "tokengate.cache", System.getProperty("user.home") + "/.cache/tokengate")));
    Optional<Path> apiserver =
        env("TOKENGATE_KUBE_APISERVER")
            .or(() -> existing(cache.resolve("bin/kube-apiserver-v" + VERSION)));
    Optional<Path> etcd = env("TOKENGATE_ETCD").or(() -> newestEtcd(cache.resolve("bin")));
    Optional<Path> kubectl = onPath("kubectl");
    if (apiserver.isEmpty() || etcd.isEmpty()) {
      return Optional.empty();
    }
    Path root = Paths.get("target", "kube-api-test").toAbsolutePath();
    Path dir = root.resolve("k8s").resolve(VERSION + "-linux-amd64");
    try {
      Files.createDirectories(dir);
      link(dir.resolve("kube-apiserver"), apiserver.get());
      link(dir.resolve("etcd"), etcd.get());
      // kube-api-test checks that kubectl exists; the tests never call it.
      link(dir.resolve("kubectl"), kubectl.orElse(apiserver.get()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lay out the kube-api-test binaries in " + dir, e);
    }
    return Optional.of(root);
  }

  private static void link(Path link, Path target) throws IOException {
    Files.deleteIfExists(link);
    Files.createSymbolicLink(link, target.toAbsolutePath());
  }

  private static Optional<Path> env(String name) {
    return Optional.ofNullable(System.getenv(name))
        .map(Paths::get)
        .flatMap(ControlPlaneBinaries::existing);
  }

  private static Optional<Path> existing(Path p) {
    return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
  }

  private static Optional<Path> newestEtcd(Path bin) {
    if (!Files.isDirectory(bin)) {
      return Optional.empty();
    }
    try (var files = Files.list(bin)) {
      return files
          .filter(p -> p.getFileName().toString().startsWith("etcd-v") && Files.isExecutable(p))
          .max(Path::compareTo);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static Optional<Path> onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(":")) {
      Path p = Paths.get(dir, tool);
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }
}
