package io.tokengate.sidecar.config;

/**
 * One thing wrong with a configuration, located well enough for a user to fix it: the file, the
 * resource in it and the field.
 *
 * @param source the file (or directory) the problem was found in
 * @param resource {@code Kind/name}, or null when the problem concerns no single resource
 * @param field dotted field path such as {@code spec.upstream.port}, or null
 * @param message what is wrong and, where it helps, what is expected
 */
public record ConfigProblem(String source, String resource, String field, String message) {

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(source);
    if (resource != null) {
      sb.append(": ").append(resource);
    }
    if (field != null) {
      sb.append(": ").append(field);
    }
    return sb.append(": ").append(message).toString();
  }
}
