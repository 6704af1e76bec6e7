package io.tokengate.api.v1alpha1.yaml;

/** A tokengate resource that cannot be read; the message names the source, resource and field. */
public class InvalidResourceException extends RuntimeException {
  private final String source;
  private final String resource;
  private final String problem;

  public InvalidResourceException(String source, String resource, String problem) {
    super(source + ": " + resource + ": " + problem);
    this.source = source;
    this.resource = resource;
    this.problem = problem;
  }

  public String source() {
    return source;
  }

  public String resource() {
    return resource;
  }

  public String problem() {
    return problem;
  }
}
