package io.tokengate.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.BuildInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The packaged operator ({@code quarkus-run.jar}, as the image runs it) answers --version. */
class OperatorVersionIT {
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
}
