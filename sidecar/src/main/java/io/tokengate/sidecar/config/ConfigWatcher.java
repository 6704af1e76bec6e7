package io.tokengate.sidecar.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Watches PATH by polling what a load would read, on its own thread (never an event loop). Polling
 * contents rather than waiting for file events is what catches a kubelet ConfigMap update reliably:
 * the kubelet writes a new timestamped directory and atomically re-points the {@code ..data}
 * symlink, so no watched file is ever modified in place. A read that straddles such a swap (the
 * resolved targets changed while reading) is discarded and retried on the next tick, so a half-old,
 * half-new set of files is never applied.
 */
public final class ConfigWatcher implements AutoCloseable {
  private final Path path;
  private final Duration interval;
  private final Consumer<Map<Path, String>> onChange;
  private final Consumer<InvalidConfigException> onUnreadable;
  private final ScheduledExecutorService executor;
  private String last;

  /**
   * @param initial the files the serving configuration was loaded from
   * @param onChange called with the new files when their contents change
   * @param onUnreadable called once when PATH becomes unreadable (the old configuration stays)
   */
  public ConfigWatcher(
      Path path,
      Duration interval,
      Map<Path, String> initial,
      Consumer<Map<Path, String>> onChange,
      Consumer<InvalidConfigException> onUnreadable) {
    this.path = path;
    this.interval = interval;
    this.onChange = onChange;
    this.onUnreadable = onUnreadable;
    this.last = fingerprint(initial);
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "tokengate-config-watch");
              t.setDaemon(true);
              return t;
            });
  }

  public ConfigWatcher start() {
    long ms = interval.toMillis();
    executor.scheduleWithFixedDelay(this::poll, ms, ms, TimeUnit.MILLISECONDS);
    return this;
  }

  void poll() {
    try {
      List<Path> before = targets();
      Map<Path, String> files = ConfigLoader.read(path);
      if (!before.equals(targets())) {
        return;
      }
      String fp = fingerprint(files);
      if (fp.equals(last)) {
        return;
      }
      last = fp;
      onChange.accept(files);
    } catch (InvalidConfigException e) {
      String fp = "unreadable:" + e.getMessage();
      if (!fp.equals(last)) {
        last = fp;
        onUnreadable.accept(e);
      }
    } catch (RuntimeException e) {
      // Keep watching whatever a single round did; the next change gets a fresh attempt.
      onUnreadable.accept(
          new InvalidConfigException(
              new ConfigProblem(path.toString(), null, null, "reload failed: " + e)));
    }
  }

  /** Where every visible entry of PATH resolves to now (symlinks followed). */
  private List<Path> targets() {
    List<Path> out = new ArrayList<>();
    try {
      if (Files.isDirectory(path)) {
        try (var entries = Files.list(path)) {
          for (Path p : entries.sorted().toList()) {
            if (!p.getFileName().toString().startsWith(".")) {
              out.add(resolve(p));
            }
          }
        }
      } else {
        out.add(resolve(path));
      }
    } catch (IOException e) {
      out.add(path);
    }
    return out;
  }

  private static Path resolve(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException e) {
      return p;
    }
  }

  /** SHA-256 over the names and contents of {@code files}. */
  public static String fingerprint(Map<Path, String> files) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      for (Map.Entry<Path, String> e : files.entrySet()) {
        d.update(e.getKey().getFileName().toString().getBytes(StandardCharsets.UTF_8));
        d.update((byte) 0);
        d.update(e.getValue().getBytes(StandardCharsets.UTF_8));
        d.update((byte) 0);
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
