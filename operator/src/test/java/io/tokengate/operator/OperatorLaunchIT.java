package io.tokengate.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.BuildInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The packaged operator ({@code quarkus-run.jar}) started the way the image starts it. */
class OperatorLaunchIT {
  @Test
  void versionPrintsTheReleaseAndTheRuntimeWithoutStarting() throws Exception {
    Path jar = Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath();
    assertThat(jar).as("the packaged operator (mvn package)").exists();
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString(),
                "--version")
            .redirectErrorStream(true)
            .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exits by itself").isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out.strip())
        .isEqualTo(BuildInfo.current().describe("tokengate-operator"))
        .doesNotContain("starting against");
  }

  /** With the chart's logFormat: json every console line is one JSON object. */
  @Test
  void jsonLogsAreOneObjectPerLine() throws Exception {
    Path jar = Path.of("target/quarkus-app/quarkus-run.jar").toAbsolutePath();
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString())
            .redirectErrorStream(true);
    pb.environment().put("TOKENGATE_LOG_JSON", "true");
    // Nowhere to connect to: the operator logs its start, then fails to reach the API server.
    pb.environment().put("KUBERNETES_MASTER", "https://127.0.0.1:9");
    pb.environment().put("QUARKUS_HTTP_PORT", "0");
    Process p = pb.start();
    try (var lines =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String first = lines.readLine();
      assertThat(first).as("the first line the operator writes").isNotNull().startsWith("{");
      var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(first);
      assertThat(json.path("level").asText()).isEqualTo("INFO");
      assertThat(json.path("message").asText())
          .startsWith(BuildInfo.current().describe("tokengate-operator") + " starting against");
    } finally {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
