package io.tokengate.sidecar.config;

import java.util.List;
import java.util.stream.Collectors;

/** A configuration that cannot be served; each problem names its file and field. */
public final class InvalidConfigException extends RuntimeException {
  private final List<ConfigProblem> problems;

  public InvalidConfigException(List<ConfigProblem> problems) {
    super(problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("; ")));
    this.problems = List.copyOf(problems);
  }

  public InvalidConfigException(ConfigProblem problem) {
    this(List.of(problem));
  }

  public List<ConfigProblem> problems() {
    return problems;
  }
}
