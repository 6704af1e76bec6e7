package io.tokengate.e2e.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigMapVolumeTest {
  @TempDir Path dir;

  @Test
  void laysOutRevisionsBehindAnAtomicallySwappedDataLink() throws Exception {
    ConfigMapVolume volume = new ConfigMapVolume(dir, null);
    volume.write(configMap(Map.of("policy.yaml", "a: 1\n", "old.jwks.json", "{}")));
    Path firstRevision = dir.resolve(Files.readSymbolicLink(dir.resolve("..data")));
    assertThat(firstRevision.getFileName().toString()).matches("\\.\\.\\d{4}_\\d\\d_.*");
    assertThat(Files.readSymbolicLink(dir.resolve("policy.yaml")))
        .isEqualTo(Path.of("..data/policy.yaml"));
    assertThat(volume.read()).containsEntry("policy.yaml", "a: 1\n");

    volume.write(configMap(Map.of("policy.yaml", "a: 2\n", "issuer.yaml", "b: 1\n")));
    assertThat(volume.read())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("policy.yaml", "a: 2\n", "issuer.yaml", "b: 1\n"));
    assertThat(firstRevision).doesNotExist();
    assertThat(dir.resolve("old.jwks.json")).doesNotExist();
    assertThat(dir.resolve("..data_tmp")).doesNotExist();
  }

  @Test
  void rewritesOnlyTheMountPathAndThePorts() {
    assertThat(
            PodRunner.rewriteArgs(
                List.of(
                    "--config",
                    "/etc/tokengate",
                    "--listen-port",
                    "15080",
                    "--admin-port",
                    "15021"),
                "/etc/tokengate",
                "/tmp/v",
                1,
                2))
        .containsExactly("--config", "/tmp/v", "--listen-port", "1", "--admin-port", "2");
  }

  private static ConfigMap configMap(Map<String, String> data) {
    return new ConfigMapBuilder()
        .withNewMetadata()
        .withName("x")
        .endMetadata()
        .withData(data)
        .build();
  }
}
