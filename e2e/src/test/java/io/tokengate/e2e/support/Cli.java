package io.tokengate.e2e.support;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A command-line client (kubectl, helm) bound to one kubeconfig. */
public final class Cli {
  private final String name;
  private final String executable;
  private final Map<String, String> env;

  public Cli(String name, String executable, Map<String, String> env) {
    this.name = name;
    this.executable = executable;
    this.env = Map.copyOf(env);
  }

  /** Runs {@code executable args...}; returns its output; throws on a non-zero exit. */
  public String run(String... args) {
    return runWithInput(null, args);
  }

  /** Same, with {@code stdin} as the command's input (e.g. {@code kubectl apply -f -}). */
  public String runWithInput(String stdin, String... args) {
    List<String> command = new ArrayList<>();
    command.add(executable);
    command.addAll(List.of(args));
    System.out.println("[e2e] $ " + name + " " + String.join(" ", args));
    return Processes.run(command, env, stdin, Duration.ofMinutes(4));
  }

  /** Runs a command that must fail; returns its output. */
  public String runExpectingFailure(String stdin, String... args) {
    try {
      String out = runWithInput(stdin, args);
      throw new AssertionError(name + " " + String.join(" ", args) + " succeeded:\n" + out);
    } catch (Processes.CommandFailedException expected) {
      return expected.output();
    }
  }
}
