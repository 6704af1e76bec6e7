package io.tokengate.e2e.support;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts the processes a test needs so that none outlives the test JVM: each runs under a small
 * shell watchdog that stops it when this JVM goes away (even on {@code kill -9} of the JVM, when no
 * shutdown hook runs), and {@link #stopTree} ends the whole process tree, children first.
 */
public final class Processes {
  // $1: owner pid; the rest: the command. TERM/INT to the watchdog are passed on to the child.
  private static final String WATCHDOG =
      """
      owner=$1; shift
      "$@" &
      child=$!
      trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit $?' TERM INT
      while kill -0 "$owner" 2>/dev/null && kill -0 "$child" 2>/dev/null; do
        sleep 1 & wait $!
      done
      kill -TERM "$child" 2>/dev/null
      wait "$child"
      """;

  private Processes() {}

  /**
   * Starts {@code command} in {@code dir} with {@code env} added to this JVM's environment, stdout
   * and stderr appended to {@code log}, stdin from /dev/null; stopped automatically if this JVM
   * exits.
   */
  public static Process start(List<String> command, Map<String, String> env, Path dir, Path log) {
    List<String> full = new ArrayList<>(List.of("bash", "-c", WATCHDOG, "tokengate-e2e-watchdog"));
    full.add(Long.toString(ProcessHandle.current().pid()));
    full.addAll(command);
    ProcessBuilder builder = new ProcessBuilder(full);
    builder.environment().putAll(env);
    if (dir != null) {
      builder.directory(dir.toFile());
    }
    try {
      Files.createDirectories(log.toAbsolutePath().getParent());
      Files.writeString(
          log,
          "+ " + String.join(" ", command) + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      return builder
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  /**
   * Ends {@code process} and every descendant: SIGTERM to all (leaves first, so a wrapper script
   * does not exit before its child got the signal), then SIGKILL to whatever is left after {@code
   * grace}.
   */
  public static void stopTree(Process process, Duration grace) {
    if (process == null) {
      return;
    }
    List<ProcessHandle> tree = new ArrayList<>(process.toHandle().descendants().toList());
    Collections.reverse(tree);
    tree.add(process.toHandle());
    tree.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + grace.toNanos();
    for (ProcessHandle handle : tree) {
      long left = Math.max(0, deadline - System.nanoTime());
      try {
        handle.onExit().get(left, TimeUnit.NANOSECONDS);
      } catch (Exception timeoutOrInterrupt) {
        // forced below
      }
    }
    tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs a short command to completion; returns its output, fails with it on a non-zero exit. */
  public static String run(List<String> command, Map<String, String> env, Duration timeout) {
    return run(command, env, null, timeout);
  }

  /**
   * Runs a command to completion with {@code stdin} (may be null) as its input; returns stdout and
   * stderr together, fails with them on a non-zero exit.
   */
  public static String run(
      List<String> command, Map<String, String> env, String stdin, Duration timeout) {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(env);
    if (stdin == null) {
      builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    }
    try {
      Process process = builder.start();
      if (stdin != null) {
        try (var in = process.getOutputStream()) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      var output = new java.io.ByteArrayOutputStream();
      Thread reader =
          new Thread(
              () -> {
                try (var out = process.getInputStream()) {
                  out.transferTo(output);
                } catch (IOException ignored) {
                  // process ended
                }
              });
      reader.setDaemon(true);
      reader.start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        stopTree(process, Duration.ofSeconds(5));
        throw new IllegalStateException(
            "timed out after " + timeout + ": " + String.join(" ", command) + "\n" + output);
      }
      reader.join(5000);
      String text = output.toString(StandardCharsets.UTF_8);
      if (process.exitValue() != 0) {
        throw new CommandFailedException(command, process.exitValue(), text);
      }
      return text;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The last {@code lines} lines of a log, for failure messages. */
  public static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(no log at " + log + ")";
    }
  }

  /** A command that exited non-zero; carries its output. */
  public static final class CommandFailedException extends RuntimeException {
    private final int exitCode;
    private final String output;

    CommandFailedException(List<String> command, int exitCode, String output) {
      super(String.join(" ", command) + " exited " + exitCode + ":\n" + output);
      this.exitCode = exitCode;
      this.output = output;
    }

    public int exitCode() {
      return exitCode;
    }

    public String output() {
      return output;
    }
  }
}
