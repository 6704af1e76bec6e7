package io.tokengate.e2e.pod;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.KeyToPath;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A ConfigMap volume laid out on disk exactly as the kubelet's atomic writer does it:
 *
 * <pre>
 *   DIR/..2026_12_01_07_00_00.000000001/policy.yaml    the files of one revision
 *   DIR/..data -> ..2026_12_01_07_00_00.000000001      swapped atomically on update
 *   DIR/policy.yaml -> ..data/policy.yaml              what the container sees
 * </pre>
 *
 * An update writes a new timestamped directory, re-points {@code ..data} with one rename (a reader
 * sees the old or the new revision, never a mix), adjusts the visible links and removes the old
 * directory, so the sidecar's reload is tested against the real update pattern.
 */
public final class ConfigMapVolume {
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("'..'yyyy_MM_dd_HH_mm_ss.");
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final Path dir;
  private final List<KeyToPath> items;

  /**
   * @param items the volume's {@code configMap.items} (null or empty: every key as a file)
   */
  public ConfigMapVolume(Path dir, List<KeyToPath> items) {
    this.dir = dir;
    this.items = items == null ? List.of() : List.copyOf(items);
  }

  public Path dir() {
    return dir;
  }

  /** Writes {@code configMap}'s data as the next revision. */
  public synchronized void write(ConfigMap configMap) {
    Map<String, byte[]> files = files(configMap);
    try {
      Files.createDirectories(dir);
      Path oldRevision = currentRevision();
      String name =
          ZonedDateTime.now(ZoneOffset.UTC).format(STAMP)
              + String.format("%09d", SEQUENCE.incrementAndGet());
      Path revision = dir.resolve(name);
      Files.createDirectory(revision);
      for (Map.Entry<String, byte[]> file : files.entrySet()) {
        Path target = revision.resolve(file.getKey());
        Files.createDirectories(target.getParent());
        Files.write(target, file.getValue());
      }
      Path tmp = dir.resolve("..data_tmp");
      Files.deleteIfExists(tmp);
      Files.createSymbolicLink(tmp, Path.of(name));
      Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);

      Set<String> visible = files.keySet();
      for (String path : visible) {
        String top = topLevel(path);
        Path link = dir.resolve(top);
        if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
          Files.createSymbolicLink(link, Path.of("..data").resolve(top));
        }
      }
      try (Stream<Path> entries = Files.list(dir)) {
        for (Path entry : entries.toList()) {
          String n = entry.getFileName().toString();
          if (!n.startsWith("..")
              && visible.stream().map(ConfigMapVolume::topLevel).noneMatch(n::equals)) {
            Files.delete(entry);
          }
        }
      }
      if (oldRevision != null) {
        deleteTree(oldRevision);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lay out ConfigMap volume " + dir, e);
    }
  }

  /** The files of the current revision as text, by visible name. */
  public Map<String, String> read() {
    Map<String, String> out = new LinkedHashMap<>();
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path entry : entries.sorted().toList()) {
        String n = entry.getFileName().toString();
        if (!n.startsWith("..") && Files.isRegularFile(entry)) {
          out.put(n, Files.readString(entry));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private Map<String, byte[]> files(ConfigMap configMap) {
    Map<String, byte[]> all = new LinkedHashMap<>();
    if (configMap.getData() != null) {
      configMap.getData().forEach((k, v) -> all.put(k, v.getBytes(StandardCharsets.UTF_8)));
    }
    if (configMap.getBinaryData() != null) {
      configMap.getBinaryData().forEach((k, v) -> all.put(k, Base64.getDecoder().decode(v)));
    }
    if (items.isEmpty()) {
      return all;
    }
    Map<String, byte[]> selected = new LinkedHashMap<>();
    for (KeyToPath item : items) {
      byte[] content = all.get(item.getKey());
      if (content == null) {
        throw new IllegalStateException(
            "ConfigMap "
                + configMap.getMetadata().getName()
                + " has no key "
                + item.getKey()
                + " named by the volume's items");
      }
      selected.put(item.getPath(), content);
    }
    return selected;
  }

  private Path currentRevision() throws IOException {
    Path data = dir.resolve("..data");
    if (!Files.isSymbolicLink(data)) {
      return null;
    }
    return dir.resolve(Files.readSymbolicLink(data));
  }

  private static String topLevel(String path) {
    int slash = path.indexOf('/');
    return slash < 0 ? path : path.substring(0, slash);
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
