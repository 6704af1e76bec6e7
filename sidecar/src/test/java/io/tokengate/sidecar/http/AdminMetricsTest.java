package io.tokengate.sidecar.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tokengate.api.BuildInfo;
import io.tokengate.sidecar.testing.InProcessSidecar;
import io.tokengate.sidecar.testing.PolicyFiles;
import io.tokengate.testing.TestIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} on the admin port: build info, JVM and process meters, the negotiated format.
 */
class AdminMetricsTest {
  @Test
  void servesBuildInfoJvmAndProcessMetersInTheFormatAskedFor(@TempDir Path dir) throws Exception {
    try (TestIssuer idp = TestIssuer.start()) {
      PolicyFiles.write(dir.resolve("issuer.yaml"), PolicyFiles.issuerYaml("idp", idp.spec()));
      PolicyFiles.write(
          dir.resolve("policy.yaml"),
          PolicyFiles.policyYaml(9, "rules:\n  - paths: [\"/**\"]\n    action: Allow\n"));
      PolicyFiles.write(dir.resolve("idp.jwks.json"), idp.jwksJson());
      try (InProcessSidecar gate = InProcessSidecar.start(dir)) {
        HttpResponse<String> text = gate.admin("/metrics");
        assertThat(text.headers().firstValue("Content-Type"))
            .hasValueSatisfying(t -> assertThat(t).startsWith("text/plain; version=0.0.4"));
        assertThat(text.body())
            .contains(
                "tokengate_build_info{java_version=\""
                    + Runtime.version()
                    + "\",version=\""
                    + BuildInfo.current().version()
                    + "\"} 1")
            .contains("jvm_memory_used_bytes{")
            .contains("jvm_threads_live_threads")
            .contains("process_cpu_usage")
            .contains("process_uptime_seconds");

        HttpResponse<String> open =
            HttpClient.newHttpClient()
                .send(
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + gate.adminPort() + "/metrics"))
                        .header(
                            "Accept",
                            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
                        .build(),
                    HttpResponse.BodyHandlers.ofString());
        assertThat(open.headers().firstValue("Content-Type"))
            .hasValueSatisfying(
                t -> assertThat(t).startsWith("application/openmetrics-text; version=1.0.0"));
        // OpenMetrics types a *_info gauge as an info metric.
        assertThat(open.body())
            .contains("# TYPE tokengate_build info")
            .contains("tokengate_build_info{java_version=")
            .endsWith("# EOF\n");
      }
    }
  }
}
