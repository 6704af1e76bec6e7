package io.tokengate.sidecar.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A directory laid out as the kubelet lays out a ConfigMap volume: the data lives in a timestamped
 * hidden directory, {@code ..data} is a symlink to it, and each visible name is a symlink to {@code
 * ..data/<name>}. {@link #update} swaps in new contents exactly as the kubelet does: write a new
 * timestamped directory, point {@code ..data_tmp} at it, and rename that over {@code ..data} (one
 * atomic rename), then drop the old directory.
 */
public final class KubeletVolume {
  private final Path dir;
  private final AtomicInteger generation = new AtomicInteger();
  private Path current;

  public KubeletVolume(Path dir, Map<String, String> files) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      current = writeGeneration(files);
      Files.createSymbolicLink(dir.resolve("..data"), current.getFileName());
      for (String name : files.keySet()) {
        Files.createSymbolicLink(dir.resolve(name), Path.of("..data").resolve(name));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path dir() {
    return dir;
  }

  /** Replaces the contents; the set of names must stay the same. */
  public void update(Map<String, String> files) {
    try {
      Path next = writeGeneration(files);
      Path tmp = dir.resolve("..data_tmp");
      Files.deleteIfExists(tmp);
      Files.createSymbolicLink(tmp, next.getFileName());
      Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
      deleteTree(current);
      current = next;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Path writeGeneration(Map<String, String> files) throws IOException {
    Path g = dir.resolve("..2026_12_01_00_00_00." + generation.incrementAndGet());
    Files.createDirectories(g);
    for (Map.Entry<String, String> e : files.entrySet()) {
      Files.writeString(g.resolve(e.getKey()), e.getValue());
    }
    return g;
  }

  private static void deleteTree(Path p) throws IOException {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(x);
      }
    }
  }
}
