package io.tokengate.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BuildInfoTest {
  /** The version is the parent pom's without -SNAPSHOT: the one the images and the chart carry. */
  @Test
  void versionIsTheReleaseThePomsHeadFor() throws Exception {
    Path root = Path.of(System.getProperty("tokengate.repo.root", "..")).toAbsolutePath();
    Matcher pom =
        Pattern.compile("<artifactId>tokengate-parent</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(Files.readString(root.resolve("pom.xml")));
    assertThat(pom.find()).as("the parent pom's version").isTrue();
    String release = pom.group(1).replaceFirst("-SNAPSHOT$", "");
    assertThat(BuildInfo.current().version()).isEqualTo(release);
    Matcher chart =
        Pattern.compile("(?m)^appVersion: \"?([^\"\\s]+)\"?$")
            .matcher(Files.readString(root.resolve("helm/tokengate/Chart.yaml")));
    assertThat(chart.find()).as("the chart's appVersion").isTrue();
    assertThat(chart.group(1)).isEqualTo(release);
  }

  @Test
  void describesTheProgramVersionAndRuntime() {
    assertThat(BuildInfo.current().describe("tokengate-sidecar"))
        .isEqualTo(
            "tokengate-sidecar "
                + BuildInfo.current().version()
                + " (Java "
                + Runtime.version()
                + ")");
  }
}
