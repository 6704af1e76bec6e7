package io.tokengate.operator.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.smallrye.config.WithDefault;
import io.tokengate.operator.testing.TestApiServer;
import java.io.IOException;
import java.nio.file.Files;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class OperatorSettingsTest {

  /**
   * An operator started without {@code tokengate.sidecar.image} injects the image this repository
   * builds ({@code tokengate/sidecar:<appVersion>}, as the chart names it), not one from a registry
   * that does not publish it.
   */
  @Test
  void defaultSidecarImageIsTheOneTheBuildMakes() throws IOException, NoSuchMethodException {
    String image =
        OperatorSettings.Sidecar.class.getMethod("image").getAnnotation(WithDefault.class).value();
    String chart =
        Files.readString(TestApiServer.repositoryRoot().resolve("helm/tokengate/Chart.yaml"));
    Matcher appVersion = Pattern.compile("(?m)^appVersion:\\s*\"?([^\"\\s]+)\"?").matcher(chart);
    assertThat(appVersion.find()).as("Chart.yaml has an appVersion").isTrue();
    assertThat(image).isEqualTo("tokengate/sidecar:" + appVersion.group(1));
  }
}
