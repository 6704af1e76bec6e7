package io.tokengate.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * What this build of tokengate is: the release version (the project version without {@code
 * -SNAPSHOT}, as image tags and the chart's {@code appVersion} carry it) and the Java runtime it
 * runs on. The sidecar and the operator print it for {@code --version} and at start, and export it
 * as the {@code tokengate_build_info} gauge.
 *
 * @param version the release version, e.g. {@code 0.1.0}
 * @param javaVersion the running JVM's version, e.g. {@code 25.0.1+8}
 */
public record BuildInfo(String version, String javaVersion) {
  private static final BuildInfo CURRENT = load();

  public static BuildInfo current() {
    return CURRENT;
  }

  /** {@code <program> <version> (Java <javaVersion>)}, the {@code --version} line. */
  public String describe(String program) {
    return program + " " + version + " (Java " + javaVersion + ")";
  }

  static BuildInfo load() {
    Properties properties = new Properties();
    try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
      if (in == null) {
        throw new IllegalStateException(
            "io/tokengate/api/build.properties is not on the class path");
      }
      properties.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read io/tokengate/api/build.properties", e);
    }
    String version = properties.getProperty("version", "");
    if (version.isBlank() || version.contains("${")) {
      throw new IllegalStateException(
          "io/tokengate/api/build.properties has no release version (was it filtered by Maven?)");
    }
    return new BuildInfo(version, Runtime.version().toString());
  }
}
